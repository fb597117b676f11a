"""The checkpoints in the Django admin: 中期报告, 验收申请, their attachments and 延期申请 are read-only, the bureau's
only (officers and supervisors view them, nobody else), list pages run a fixed number of queries; the one batch
action approves selected extension requests through the service and reports each refusal."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.models import AuditEvent
from projects.checkpoints import services as cs
from projects.models import AcceptanceReport, CheckpointAttachment, ExtensionRequest, MidtermReport, Project

from .test_checkpoint_api import filled_acceptance, filled_midterm, running_project

pytestmark = pytest.mark.django_db
MODELS = ("midtermreport", "acceptancereport", "checkpointattachment", "extensionrequest")


def admin_url(model, view, *args):
    return reverse(f"admin:projects_{model}_{view}", args=args)


def result_count(html) -> str:
    return re.search(r'<p class="paginator">\s*(.*?)\s*</p>', html, re.S).group(1).strip()


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True, real_name="刘局长")


def checkpoints(org, officer, applicant, rows):
    """``rows`` mid-term reports (each with its progress report), ``rows`` acceptance applications (each with three
    reports) and ``rows`` extension requests."""
    for _ in range(rows):
        project = running_project(org, officer)
        filled_midterm(project, officer, applicant)
        cs.request_extension(actor=applicant, project_id=project.pk, months=3, reason="设备到货延迟")
        filled_acceptance(running_project(org, officer), applicant)


@pytest.mark.parametrize("rows", [2, 5])
def test_changelists_and_change_pages_render_read_only_for_the_bureau(client, django_assert_max_num_queries, org,
                                                                      officer, supervisor, applicant, rows):
    checkpoints(org, officer, applicant, rows)
    counts = {"midtermreport": rows, "acceptancereport": rows, "checkpointattachment": 4 * rows,
              "extensionrequest": rows}
    objects = {"midtermreport": MidtermReport.objects.last(), "acceptancereport": AcceptanceReport.objects.last(),
               "checkpointattachment": CheckpointAttachment.objects.last(),
               "extensionrequest": ExtensionRequest.objects.last()}
    for user in (officer, supervisor):
        client.force_login(user)
        for model in MODELS:
            with django_assert_max_num_queries(12):
                response = client.get(admin_url(model, "changelist"))
            assert response.status_code == 200, model
            plural = response.context["cl"].model._meta.verbose_name_plural
            assert result_count(response.content.decode()) == f"{counts[model]} {plural}"
            with django_assert_max_num_queries(14):
                page = client.get(admin_url(model, "change", objects[model].pk))
            assert page.status_code == 200, model
            html = page.content.decode()
            assert 'name="_save"' not in html  # read-only
            assert client.get(admin_url(model, "delete", objects[model].pk)).status_code == 403
            assert client.get(admin_url(model, "add")).status_code == 403
            assert client.get(admin_url(model, "history", objects[model].pk)).status_code == 200
        for model in ("midtermreport", "acceptancereport", "extensionrequest"):
            filtered = client.get(admin_url(model, "changelist"), {"state__exact": "submitted"})
            assert filtered.status_code == 200
        search = client.get(admin_url("midtermreport", "changelist"), {"q": org.name})
        assert result_count(search.content.decode()).startswith(str(rows))


def test_the_change_pages_show_the_report_and_its_attachments(client, org, officer, applicant):
    report = filled_midterm(running_project(org, officer), officer, applicant)
    acceptance = filled_acceptance(running_project(org, officer), applicant)
    client.force_login(officer)
    html = client.get(admin_url("midtermreport", "change", report.pk)).content.decode()
    assert "完成样机设计" in html and "发明专利申请" in html and "20,000.50" in html and "30,000.50" in html
    attachment = report.attachments.get()
    assert reverse("checkpoints_office:attachment", args=[attachment.pk]) in html and "中期进展报告.pdf" in html
    assert reverse("checkpoints_office:midterm", args=[report.pk]) in html
    html = client.get(admin_url("acceptancereport", "change", acceptance.pk)).content.decode()
    assert "全面完成任务书约定的研究内容" in html and "final_report.pdf" in html and "audit_report.pdf" in html
    history = client.get(admin_url("midtermreport", "history", report.pk)).content.decode()
    assert "陈处长" in history and "张申报" in history


def test_everybody_else_is_refused(client, org, officer, applicant, org_admin, expert_user):
    checkpoints(org, officer, applicant, 1)
    finance = UserFactory(roles=["finance"], is_staff=True)
    for user in (org_admin, expert_user):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    for user in (org_admin, expert_user, finance):
        client.force_login(user)
        for model in MODELS:
            assert client.get(admin_url(model, "changelist")).status_code == 403, (user, model)
        assert client.get(admin_url("midtermreport", "change", MidtermReport.objects.get().pk)).status_code in (302,
                                                                                                                403)


# ---- approving extensions in bulk ------------------------------------------------------------------------------


def run_action(client, objs):
    return client.post(admin_url("extensionrequest", "changelist"),
                       {"action": "approve_selected", "_selected_action": [o.pk for o in objs]}, follow=True)


def test_approve_selected_extensions_through_the_service_and_report_refusals(client, org, officer, applicant):
    ready = cs.request_extension(actor=applicant, project_id=running_project(org, officer).pk, months=6,
                                 reason="设备到货延迟")
    decided = cs.request_extension(actor=applicant, project_id=running_project(org, officer).pk, months=3,
                                   reason="人员变动")
    cs.decide_extension(actor=officer, request_id=decided.pk, approve=False, note="理由不充分")
    client.force_login(officer)
    assert "批准所选延期申请" in client.get(admin_url("extensionrequest", "changelist")).content.decode()
    response = run_action(client, [ready, decided])
    assert response.status_code == 200
    msgs = messages_of(response)
    assert any(ready.project.number in m and "已批准延期" in m for m in msgs)
    assert any(decided.project.number in m and "不予批准" in m and "已批准延期" not in m for m in msgs)
    ready.refresh_from_db()
    decided.refresh_from_db()
    assert (ready.state, ready.decided_by, decided.state) == ("approved", officer, "rejected")
    assert Project.objects.get(pk=ready.project_id).end_date == ready.new_end_date
    assert Project.objects.get(pk=decided.project_id).end_date == decided.original_end_date
    extension_type = ContentType.objects.get_for_model(ExtensionRequest)
    assert list(AuditEvent.objects.filter(verb="approve", target_type=extension_type).values_list(
        "target_id", "actor")) == [(str(ready.pk), officer.pk)]


def test_a_supervisor_views_extensions_but_cannot_approve(client, org, officer, applicant, supervisor):
    ext = cs.request_extension(actor=applicant, project_id=running_project(org, officer).pk, months=6,
                               reason="设备到货延迟")
    client.force_login(supervisor)
    response = client.get(admin_url("extensionrequest", "changelist"))
    assert response.status_code == 200 and ext.project.number in response.content.decode()
    assert "批准所选延期申请" not in response.content.decode()
    run_action(client, [ext])
    ext.refresh_from_db()
    assert ext.state == "submitted"

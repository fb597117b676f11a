"""Security review of the checkpoint pages and API (中期报告, 验收申请, 延期申请 and their files): ids posted by a form or a
body never reach beyond what the page offered, odd input is refused (never a 500), files are served with a safe
Content-Disposition, supervisors read but never act, and nobody outside the organisation or the bureau sees a thing."""

import datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import InvalidInput
from accounts.tests.factories import UserFactory
from projects import services as project_services
from projects.checkpoints import services as cs
from projects.models import Application, ExtensionRequest, MidtermReport, PerformanceTarget, Project
from projects.tests.factories import ApplicationFactory, CallFactory, pdf_upload, set_state

pytestmark = pytest.mark.django_db

DUE = timezone.localdate() + datetime.timedelta(days=30)
OPEN = reverse("checkpoints_office:open_midterm")
HUGE = 2**64  # beyond any database integer
ASTRONOMICAL = "1e999999999"  # a Decimal whose arithmetic overflows the default context


def make_project(officer, *, organization, call) -> Project:
    app = ApplicationFactory(organization=organization, call=call,
                             created_by=UserFactory(organization=organization, roles=["applicant"]))
    PerformanceTarget.objects.create(application=app, kind="output", indicator="发明专利申请", target_value=3,
                                     unit="件", position=0)
    set_state(app, Application.State.ACCEPTED)
    return project_services.establish_project(actor=officer, application_id=app.pk,
                                              granted_amount=Decimal("300000.00"), source="测试立项清单")


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def call(db):
    return CallFactory()


@pytest.fixture
def project(officer, org, call):
    return make_project(officer, organization=org, call=call)


@pytest.fixture
def foreign(officer, other_org):
    """Another organisation's project of another call."""
    return make_project(officer, organization=other_org, call=CallFactory())


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def opened(officer, project) -> MidtermReport:
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


# ---- 发起中期检查: only the chosen call's projects ------------------------------------------------------------------


def test_the_opening_page_opens_no_project_of_another_call(client, officer, call, project, foreign):
    """A posted id of a project the page did not list (another call's) is skipped with the reason, never opened."""
    client.force_login(officer)
    r = client.post(OPEN, {"call": call.pk, "projects": [str(project.pk), str(foreign.pk)],
                           "due_date": DUE.isoformat()})
    assert r.status_code == 200
    page = r.content.decode()
    assert page.count('data-testid="opened"') == 1 and page.count('data-testid="skipped"') == 1
    assert "不属于所选申报指南" in page
    assert MidtermReport.objects.filter(project=project).exists()
    assert not MidtermReport.objects.filter(project=foreign).exists()


def test_the_service_skips_projects_outside_the_named_call(officer, call, project, foreign):
    opened_, skipped = cs.open_midterm(actor=officer, project_ids=[project.pk, foreign.pk], due_date=DUE,
                                       call_id=call.pk)
    assert [r.project_id for r in opened_] == [project.pk]
    assert [(p.pk, str(reason)) for p, reason in skipped] == [(foreign.pk, "不属于所选申报指南。")]
    assert not MidtermReport.objects.filter(project=foreign).exists()


@pytest.mark.parametrize("ids", [[str(HUGE)], [str(-HUGE)], ["abc"], ["0"], ["-1"], [""], ["1.5"]])
def test_odd_project_ids_on_the_opening_page_are_refused_not_a_crash(client, officer, call, project, ids):
    client.force_login(officer)
    r = client.post(OPEN, {"call": call.pk, "projects": ids, "due_date": DUE.isoformat()})
    assert r.status_code == 400
    assert not MidtermReport.objects.exists()


@pytest.mark.parametrize("ids", [[HUGE], [-HUGE], [0]])
def test_the_service_refuses_ids_no_project_can_have(officer, project, ids):
    with pytest.raises(InvalidInput):
        cs.open_midterm(actor=officer, project_ids=[project.pk, *ids], due_date=DUE)
    assert not MidtermReport.objects.exists()


def test_odd_calls_on_the_opening_page_are_refused(client, officer, call, project):
    client.force_login(officer)
    for value in (str(HUGE), "abc", "-1", ""):
        r = client.post(OPEN, {"call": value, "projects": [str(project.pk)], "due_date": DUE.isoformat()})
        assert r.status_code == 400, value
        assert client.get(OPEN, {"call": value}).status_code == 200
    assert not MidtermReport.objects.exists()


# ---- figures no Decimal context can hold ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["value_0", "fiscal_equipment", "self_business"])
@pytest.mark.parametrize("typed", [ASTRONOMICAL, "-" + ASTRONOMICAL])
def test_astronomical_figures_on_the_report_page_are_refused_not_a_crash(client, officer, project, applicant, field,
                                                                         typed):
    report = opened(officer, project)
    client.force_login(applicant)
    r = client.post(reverse("checkpoints:midterm", args=[report.pk]), {"action": "save", field: typed})
    assert r.status_code == 400
    fresh = MidtermReport.objects.get(pk=report.pk)
    assert (fresh.targets, fresh.spending) == (report.targets, report.spending)


@pytest.mark.parametrize("body", [
    {"targets": [{"value": ASTRONOMICAL}]},
    {"spending": {"equipment": {"fiscal": ASTRONOMICAL}}},
    {"spending": {"labour": {"self": "-" + ASTRONOMICAL}}},
])
def test_astronomical_figures_in_the_api_are_refused_not_a_crash(client, officer, project, applicant, body):
    report = opened(officer, project)
    client.force_login(applicant)
    r = client.post(reverse("api:midterm-save", args=[report.pk]), body, content_type="application/json")
    assert r.status_code == 400
    r = client.patch(reverse("api:midterm-detail", args=[report.pk]), body, content_type="application/json")
    assert r.status_code == 400
    fresh = MidtermReport.objects.get(pk=report.pk)
    assert (fresh.targets, fresh.spending) == (report.targets, report.spending)


def test_astronomical_acceptance_figures_are_refused(project, applicant):
    report = cs.start_acceptance(actor=applicant, project_id=project.pk)
    for kwargs in ({"targets": [{"value": ASTRONOMICAL}]}, {"spending": {"business": {"fiscal": ASTRONOMICAL}}}):
        with pytest.raises(InvalidInput):
            cs.save_acceptance(actor=applicant, report_id=report.pk, **kwargs)


# ---- files ---------------------------------------------------------------------------------------------------------


def test_a_hostile_file_name_cannot_inject_headers(client, officer, project, applicant):
    report = opened(officer, project)
    attachment = cs.add_attachment(actor=applicant, report_kind="midterm", report_id=report.pk,
                                   kind="progress_report", uploaded=pdf_upload('进展"\r\nSet-Cookie: x=1;报告.pdf'))
    for user, name in ((applicant, "checkpoints:attachment"), (officer, "checkpoints_office:attachment")):
        client.force_login(user)
        r = client.get(reverse(name, args=[attachment.pk]))
        assert r.status_code == 200
        disposition = r["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in r.headers
        assert disposition.startswith("attachment;")
        assert "进展" in unquote(disposition) and r["X-Content-Type-Options"] == "nosniff"


def test_an_attachment_of_another_report_is_not_removed_through_this_one(client, officer, org, project, applicant,
                                                                          call):
    mine = opened(officer, project)
    second = make_project(officer, organization=org, call=call)
    theirs = opened(officer, second)
    other = cs.add_attachment(actor=applicant, report_kind="midterm", report_id=theirs.pk, kind="progress_report",
                              uploaded=pdf_upload())
    client.force_login(applicant)
    r = client.post(reverse("api:midterm-remove-attachment", args=[mine.pk, other.pk]),
                    content_type="application/json")
    assert r.status_code == 404
    other.refresh_from_db()
    assert other.removed_at is None


# ---- who reaches what ----------------------------------------------------------------------------------------------


def _object_urls(report, attachment, ext):
    return [
        ("get", reverse("checkpoints:project", args=[report.project_id]), {}),
        ("post", reverse("checkpoints:project", args=[report.project_id]), {"action": "start_acceptance"}),
        ("get", reverse("checkpoints:midterm", args=[report.pk]), {}),
        ("post", reverse("checkpoints:midterm", args=[report.pk]), {"action": "save"}),
        ("get", reverse("checkpoints:attachment", args=[attachment.pk]), {}),
        ("post", reverse("checkpoints:attachment_remove", args=[attachment.pk]), {}),
        ("get", reverse("checkpoints_office:midterm", args=[report.pk]), {}),
        ("post", reverse("checkpoints_office:midterm", args=[report.pk]), {"conclusion": "pass"}),
        ("get", reverse("checkpoints_office:extension", args=[ext.pk]), {}),
        ("post", reverse("checkpoints_office:extension", args=[ext.pk]), {"decision": "approve"}),
        ("get", reverse("checkpoints_office:attachment", args=[attachment.pk]), {}),
        ("get", reverse("api:midterm-detail", args=[report.pk]), {}),
        ("post", reverse("api:midterm-submit", args=[report.pk]), {}),
        ("post", reverse("api:midterm-conclude", args=[report.pk]), {"conclusion": "pass"}),
        ("get", reverse("api:extension-detail", args=[ext.pk]), {}),
        ("post", reverse("api:extension-approve", args=[ext.pk]), {}),
    ]


@pytest.fixture
def scene(officer, org, project, applicant):
    report = opened(officer, project)
    attachment = cs.add_attachment(actor=applicant, report_kind="midterm", report_id=report.pk,
                                   kind="progress_report", uploaded=pdf_upload())
    Project.objects.filter(pk=project.pk).update(end_date=timezone.localdate() + datetime.timedelta(days=365))
    ext = cs.request_extension(actor=applicant, project_id=project.pk, months=3, reason="样机测试推迟")
    return report, attachment, ext


def _snapshot():
    return (list(MidtermReport.objects.values_list("state", "attempt", "updated_at")),
            list(ExtensionRequest.objects.values_list("state", "decided_at")),
            list(Project.objects.values_list("state", "end_date")))


@pytest.mark.parametrize("who", ["other_applicant", "expert_user", "finance_user"])
def test_strangers_get_404_on_every_page_and_endpoint(client, request, scene, who):
    report, attachment, ext = scene
    client.force_login(request.getfixturevalue(who))
    before = _snapshot()
    for method, url, data in _object_urls(report, attachment, ext):
        kw = {"content_type": "application/json"} if url.startswith("/api/") else {}
        assert getattr(client, method)(url, data, **kw).status_code == 404, (method, url)
    assert _snapshot() == before


def test_supervisors_read_but_never_act(client, scene, supervisor):
    report, attachment, ext = scene
    client.force_login(supervisor)
    before = _snapshot()
    assert client.get(reverse("checkpoints_office:midterm", args=[report.pk])).status_code == 200
    assert client.get(reverse("checkpoints_office:attachment", args=[attachment.pk])).status_code == 200
    assert client.get(OPEN).status_code == 404
    assert client.post(OPEN, {"call": report.project.call_id, "projects": [str(report.project_id)],
                              "due_date": DUE.isoformat()}).status_code == 404
    assert client.post(reverse("checkpoints_office:midterm", args=[report.pk]),
                       {"conclusion": "pass", "note": "好"}).status_code == 404
    assert client.post(reverse("checkpoints_office:extension", args=[ext.pk]),
                       {"decision": "approve"}).status_code == 404
    for url, body in ((reverse("api:extension-approve", args=[ext.pk]), {}),
                      (reverse("api:midterm-conclude", args=[report.pk]), {"conclusion": "pass"})):
        assert client.post(url, body, content_type="application/json").status_code == 403
    assert client.get(reverse("api:midterm-detail", args=[report.pk])).json()["available_actions"] == []
    assert _snapshot() == before


def test_state_changes_are_post_only(client, scene, officer, applicant):
    report, attachment, ext = scene
    client.force_login(applicant)
    assert client.get(reverse("checkpoints:attachment_remove", args=[attachment.pk])).status_code == 405
    client.force_login(officer)
    assert client.get(reverse("api:extension-approve", args=[ext.pk])).status_code == 405
    assert client.put(reverse("api:midterm-detail", args=[report.pk]), {},
                      content_type="application/json").status_code == 405
    assert ExtensionRequest.objects.get(pk=ext.pk).state == ExtensionRequest.State.SUBMITTED


def test_an_api_body_naming_another_organisations_project_is_refused(client, foreign, applicant):
    foreign.end_date = timezone.localdate() + datetime.timedelta(days=365)
    foreign.save(update_fields=["end_date"])
    client.force_login(applicant)
    r = client.post(reverse("api:acceptance-list"), {"project": foreign.pk}, content_type="application/json")
    assert r.status_code == 400 and "project" in r.json()
    r = client.post(reverse("api:extension-list"), {"project": foreign.pk, "months": 3, "reason": "x"},
                    content_type="application/json")
    assert r.status_code == 400 and "project" in r.json()
    assert not ExtensionRequest.objects.exists()

"""The checkpoint pages: the organisation's (``checkpoints``: a project's 中期检查, 验收申请 and 延期申请) and the
bureau's (``checkpoints_office``: the lists, opening 中期检查, conclusions, extensions). Happy paths through the
pages, refusals shown as messages with nothing changed, who may see what, and fixed query counts."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects import services as project_services
from projects.checkpoints import services as cs
from projects.models import (
    AcceptanceReport,
    Application,
    CheckpointAttachment,
    ExtensionRequest,
    MidtermReport,
    PerformanceTarget,
    Program,
    Project,
)
from projects.tests.factories import PDF_BYTES, ApplicationFactory, CallFactory, ProgramFactory, set_state

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DUE = TODAY + datetime.timedelta(days=30)
INDEX = reverse("checkpoints_office:index")
OPEN = reverse("checkpoints_office:open_midterm")
FILLED = {"value_0": "2", "evidence_0": "已申请发明专利2件", "fiscal_equipment": "10000", "self_equipment": "0",
          "fiscal_business": "20000.50", "self_business": "5000", "fiscal_labour": "0", "self_labour": "0"}


def body(response) -> str:
    return response.content.decode()


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def pdf(name="报告.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def make_project(officer, *, organization, call=None, title=None) -> Project:
    kw = {"organization": organization, "created_by": UserFactory(organization=organization, roles=["applicant"])}
    if call is not None:
        kw["call"] = call
    if title:
        kw["title"] = title
    app = ApplicationFactory(**kw)
    PerformanceTarget.objects.create(application=app, kind="output", indicator="发明专利申请", target_value=3,
                                     unit="件", position=0)
    set_state(app, Application.State.ACCEPTED)
    return project_services.establish_project(actor=officer, application_id=app.pk,
                                              granted_amount=Decimal("300000.00"), source="测试立项清单")


@pytest.fixture
def call(db):
    return CallFactory()


@pytest.fixture
def project(officer, org, call):
    return make_project(officer, organization=org, call=call)


@pytest.fixture
def reporter(org):
    return UserFactory(organization=org, roles=["applicant"], real_name="王填报")


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def open_midterm(officer, project) -> MidtermReport:
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


def submitted_midterm(officer, project, reporter) -> MidtermReport:
    report = open_midterm(officer, project)
    cs.save_midterm(actor=reporter, report_id=report.pk, progress="完成样机设计", targets=[{"value": "2"}],
                    spending={"equipment": {"fiscal": "1", "self": "0"}, "business": {"fiscal": "0", "self": "0"},
                              "labour": {"fiscal": "0", "self": "0"}})
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                      uploaded=pdf("中期进展报告.pdf"))
    return cs.submit_midterm(actor=reporter, report_id=report.pk)


def submitted_acceptance(project, reporter) -> AcceptanceReport:
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    cs.save_acceptance(actor=reporter, report_id=report.pk, summary="全面完成任务", targets=[{"value": "3",
                                                                                        "evidence": "专利"}],
                       spending={"equipment": {"fiscal": "1", "self": "0"}, "business": {"fiscal": "0", "self": "0"},
                                 "labour": {"fiscal": "0", "self": "0"}})
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind=kind,
                          uploaded=pdf(f"{kind}.pdf"))
    return cs.submit_acceptance(actor=reporter, report_id=report.pk)


def scored(report):
    kind = "midterm" if isinstance(report, MidtermReport) else "acceptance"
    cs.record_expert_scores(report_kind=kind, scores={report.pk: (Decimal("82.50"), 5)})
    return type(report).objects.get(pk=report.pk)


def portal(name, pk):
    return reverse(f"checkpoints:{name}", args=[pk])


def office(name, pk):
    return reverse(f"checkpoints_office:{name}", args=[pk])


# ---- 中期检查: open → fill → upload → submit --------------------------------------------------------------------


def test_the_officer_opens_the_midterm_of_a_calls_projects_and_sees_the_skipped_ones(client, officer, org, call,
                                                                                     project):
    post_subsidy = make_project(officer, organization=org, call=CallFactory(program=ProgramFactory(
        code="hbz", name="研发后补助", kind=Program.Kind.POST_SUBSIDY)))
    client.force_login(officer)
    page = body(client.get(OPEN, {"call": call.pk}))
    assert project.number in page and 'data-testid="candidate"' in page
    r = client.post(OPEN, {"call": call.pk, "projects": [project.pk, post_subsidy.pk], "due_date": DUE.isoformat()})
    assert r.status_code == 200
    page = body(r)
    assert page.count('data-testid="opened"') == 1 and page.count('data-testid="skipped"') == 1
    assert "后补助" in page
    report = MidtermReport.objects.get(project=project)
    assert report.state == "requested" and report.due_date == DUE
    assert any("已对 1 个项目发起中期检查" in m for m in flash(r))
    # the project is no longer offered
    assert 'data-testid="candidate"' not in body(client.get(OPEN, {"call": call.pk}))


def test_opening_with_a_past_due_date_is_refused_and_nothing_opens(client, officer, call, project):
    client.force_login(officer)
    r = client.post(OPEN, {"call": call.pk, "projects": [project.pk],
                           "due_date": (TODAY - datetime.timedelta(days=1)).isoformat()})
    assert r.status_code == 400 and any("不能早于今天" in m for m in flash(r))
    assert not MidtermReport.objects.exists()


def test_the_organisation_fills_uploads_and_submits_its_midterm_report(client, officer, project, reporter):
    report = open_midterm(officer, project)
    client.force_login(reporter)
    page = body(client.get(portal("project", project.pk)))
    assert portal("midterm", report.pk) in page and DUE.isoformat() in page
    page = body(client.get(portal("midterm", report.pk)))
    assert 'data-testid="report-form"' in page and "发明专利申请" in page and "200,000.00" in page  # budget beside
    # save
    r = client.post(portal("midterm", report.pk), {"action": "save", "progress": "完成样机设计", **FILLED})
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.progress == "完成样机设计" and report.targets[0]["value"] == "2"
    assert report.spent_fiscal == Decimal("30000.50") and report.spent_self == Decimal("5000.00")
    # submitting without the progress report is refused, and says what is missing
    r = client.post(portal("midterm", report.pk), {"action": "submit", "progress": "完成样机设计", **FILLED})
    assert any("中期进展报告" in m for m in flash(r))
    assert MidtermReport.objects.get(pk=report.pk).state == "requested"
    # upload
    r = client.post(portal("midterm", report.pk), {"action": "upload", "kind": "progress_report",
                                                   "file": pdf("中期进展报告.pdf")})
    assert r.status_code == 302
    attachment = CheckpointAttachment.objects.get(midterm=report)
    assert attachment.kind == "progress_report" and attachment.original_name == "中期进展报告.pdf"
    download = client.get(portal("attachment", attachment.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_BYTES
    # submit
    r = client.post(portal("midterm", report.pk), {"action": "submit", "progress": "完成样机设计", **FILLED})
    assert r.status_code == 302 and any("已提交" in m for m in flash(r))
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"
    page = body(client.get(portal("midterm", report.pk)))
    assert 'data-testid="report-form"' not in page and 'data-testid="readonly"' in page
    assert 'data-testid="upload-form"' not in page and 'data-testid="remove"' not in page
    assert "30,000.50" in page
    # a file can no longer be removed
    r = client.post(portal("attachment_remove", attachment.pk))
    assert any("不能移除" in m for m in flash(r))
    assert CheckpointAttachment.objects.get(pk=attachment.pk).removed_at is None


def test_a_bad_figure_is_refused_and_nothing_is_saved(client, officer, project, reporter):
    report = open_midterm(officer, project)
    client.force_login(reporter)
    r = client.post(portal("midterm", report.pk), {"action": "save", "progress": "进展", **FILLED,
                                                   "fiscal_business": "12.345"})
    assert r.status_code == 400 and any("最多精确到分" in m for m in flash(r))
    assert 'value="12.345"' in body(r)  # the form as it was typed
    report.refresh_from_db()
    assert report.progress == "" and report.targets[0]["value"] == ""


def test_an_attachment_is_removed_while_the_report_is_filled_in(client, officer, project, reporter):
    report = open_midterm(officer, project)
    a = cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="other",
                          uploaded=pdf("其他.pdf"))
    client.force_login(reporter)
    assert 'data-testid="remove"' in body(client.get(portal("midterm", report.pk)))
    r = client.post(portal("attachment_remove", a.pk))
    assert r.status_code == 302 and any("已移除" in m for m in flash(r))
    assert CheckpointAttachment.objects.get(pk=a.pk).removed_at is not None
    assert 'data-testid="attachment"' not in body(client.get(portal("midterm", report.pk)))


def test_an_upload_of_the_wrong_type_is_refused(client, officer, project, reporter):
    report = open_midterm(officer, project)
    client.force_login(reporter)
    r = client.post(portal("midterm", report.pk), {
        "action": "upload", "kind": "other",
        "file": SimpleUploadedFile("a.pdf", b"MZ" + b"\x00" * 100, content_type="application/pdf")})
    assert r.status_code == 400 and flash(r)
    assert not CheckpointAttachment.objects.exists()


# ---- 中期检查: conclusions -------------------------------------------------------------------------------------


def conclude(client, report, conclusion, **data):
    name = "midterm" if isinstance(report, MidtermReport) else "acceptance"
    return client.post(office(name, report.pk), {"conclusion": conclusion, **data})


def test_the_midterm_cannot_be_concluded_before_the_expert_review(client, officer, project, reporter):
    report = submitted_midterm(officer, project, reporter)
    client.force_login(officer)
    page = body(client.get(office("midterm", report.pk)))
    assert 'data-testid="no-score"' in page and 'data-testid="actions"' not in page
    assert reverse("experts:round_create") + f"?kind=midterm&amp;call={project.call_id}" in page
    r = conclude(client, report, "pass")
    assert r.status_code == 409 and any("专家评审尚未完成" in m for m in flash(r))
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"


def test_the_officer_passes_the_midterm(client, officer, project, reporter):
    report = scored(submitted_midterm(officer, project, reporter))
    client.force_login(officer)
    page = body(client.get(office("midterm", report.pk)))
    assert 'data-testid="expert-score">82.50<' in page and "5 位专家评审" in page
    assert 'data-action="pass"' in page and 'data-action="rectify"' in page and 'data-action="fail"' in page
    assert 'data-action="close"' not in page and 'data-testid="fail-warning"' in page
    r = conclude(client, report, "pass", note="进展良好")
    assert r.status_code == 302 and any("通过" in m for m in flash(r))
    report.refresh_from_db()
    assert report.state == "passed" and report.conclusion_note == "进展良好"
    client.force_login(reporter)
    page = body(client.get(portal("midterm", report.pk)))
    assert 'data-testid="conclusion-note">进展良好<' in page


def test_rectification_with_the_default_date_then_resubmitted_and_passed(client, officer, project, reporter):
    report = scored(submitted_midterm(officer, project, reporter))
    client.force_login(officer)
    # 整改 needs its requirements
    r = conclude(client, report, "rectify", note="", rectify_due="")
    assert r.status_code == 400 and any("必须填写理由" in m for m in flash(r))
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"
    r = conclude(client, report, "rectify", note="补充经费明细", rectify_due="")
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.state == "rectifying" and report.attempt == 2 and report.rectify_due == cs.add_months(TODAY, 3)
    # the organisation sees what to do and by when, and must upload a rectification report
    client.force_login(reporter)
    page = body(client.get(portal("midterm", report.pk)))
    assert 'data-testid="rectify"' in page and "补充经费明细" in page and report.rectify_due.isoformat() in page
    assert 'data-testid="report-form"' in page
    r = client.post(portal("midterm", report.pk), {"action": "submit", "progress": "已整改", **FILLED})
    assert any("整改报告" in m for m in flash(r)) and MidtermReport.objects.get(pk=report.pk).state == "rectifying"
    client.post(portal("midterm", report.pk), {"action": "upload", "kind": "rectification", "file": pdf("整改.pdf")})
    client.post(portal("midterm", report.pk), {"action": "submit", "progress": "已整改", **FILLED})
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"
    # the second round offers no second rectification
    client.force_login(officer)
    page = body(client.get(office("midterm", report.pk)))
    assert 'data-action="rectify"' not in page and 'data-action="pass"' in page
    r = conclude(client, report, "rectify", note="再整改")
    assert r.status_code == 409 and any("整改只能安排一次" in m for m in flash(r))
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"
    r = conclude(client, report, "pass", note="整改到位")
    assert r.status_code == 302 and MidtermReport.objects.get(pk=report.pk).state == "passed"


def test_a_failed_midterm_terminates_the_project(client, officer, project, reporter):
    report = scored(submitted_midterm(officer, project, reporter))
    client.force_login(officer)
    r = conclude(client, report, "fail", note="进度严重滞后", fault="on")
    assert r.status_code == 302 and any("项目已终止" in m for m in flash(r))
    report.refresh_from_db()
    assert report.state == "failed" and report.fault is True
    assert Project.objects.get(pk=project.pk).state == "terminated"
    page = body(client.get(office("midterm", report.pk)))
    assert 'data-testid="actions"' not in page


def test_a_supervisor_reads_but_cannot_conclude(client, officer, supervisor, project, reporter):
    report = scored(submitted_midterm(officer, project, reporter))
    client.force_login(supervisor)
    page = body(client.get(office("midterm", report.pk)))
    assert project.title in page and 'data-testid="actions"' not in page and "办理由业务处室进行" in page
    assert client.get(INDEX).status_code == 200
    assert conclude(client, report, "pass").status_code == 404
    assert client.get(OPEN).status_code == 404
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"


# ---- 验收 -------------------------------------------------------------------------------------------------------


def test_the_organisation_applies_for_acceptance_through_the_pages(client, project, reporter):
    client.force_login(reporter)
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="start-acceptance"' in page
    assert cs.acceptance_due_date(project).isoformat() in page
    r = client.post(portal("project", project.pk), {"action": "start_acceptance"})
    report = AcceptanceReport.objects.get(project=project)
    assert r.status_code == 302 and r.url == portal("acceptance", report.pk)
    page = body(client.get(r.url))
    assert 'data-testid="report-form"' in page and "项目总结报告" in page and "专项审计报告" in page
    data = {"summary": "全面完成", **FILLED, "evidence_0": ""}
    # evidence is required for each target at acceptance
    client.post(r.url, {"action": "save", **data})
    r2 = client.post(r.url, {"action": "submit", **data})
    assert any("佐证说明" in m and "项目总结报告" in m for m in flash(r2))
    for kind in ("final_report", "spending_report", "audit_report"):
        client.post(r.url, {"action": "upload", "kind": kind, "file": pdf(f"{kind}.pdf")})
    r2 = client.post(r.url, {"action": "submit", **data, "evidence_0": "专利受理通知书"})
    assert r2.status_code == 302
    report.refresh_from_db()
    assert report.state == "submitted" and report.targets[0]["evidence"] == "专利受理通知书"
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="acceptance-link"' in page and 'data-testid="start-acceptance"' not in page


def test_acceptance_waits_for_an_open_midterm(client, officer, project, reporter):
    open_midterm(officer, project)
    client.force_login(reporter)
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="start-acceptance"' not in page and "中期检查尚未结束" in page
    r = client.post(portal("project", project.pk), {"action": "start_acceptance"})
    assert any("中期检查尚未结束" in m for m in flash(r))
    assert not AcceptanceReport.objects.exists()


@pytest.mark.parametrize(("conclusion", "report_state", "project_state"), [
    ("pass", "passed", "completed"),
    ("fail", "failed", "failed"),
    ("close", "closed", "closed"),
])
def test_the_officer_concludes_the_acceptance(client, officer, project, reporter, conclusion, report_state,
                                              project_state):
    report = scored(submitted_acceptance(project, reporter))
    client.force_login(officer)
    page = body(client.get(office("acceptance", report.pk)))
    for name in ("pass", "rectify", "fail", "close"):
        assert f'data-action="{name}"' in page
    assert 'data-action="pass_rectified"' not in page
    r = conclude(client, report, conclusion, note="专家组意见")
    assert r.status_code == 302
    assert AcceptanceReport.objects.get(pk=report.pk).state == report_state
    assert Project.objects.get(pk=project.pk).state == project_state


def test_acceptance_rectified_then_passed_after_rectification(client, officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter))
    client.force_login(officer)
    due = TODAY + datetime.timedelta(days=40)
    conclude(client, report, "rectify", note="补充审计报告", rectify_due=due.isoformat())
    report.refresh_from_db()
    assert report.state == "rectifying" and report.rectify_due == due
    cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind="rectification",
                      uploaded=pdf("整改报告.pdf"))
    cs.submit_acceptance(actor=reporter, report_id=report.pk)
    page = body(client.get(office("acceptance", report.pk)))
    assert 'data-action="pass_rectified"' in page and 'data-action="pass"' not in page
    assert 'data-action="rectify"' not in page
    # 通过 is refused on the second round: the message, nothing changed
    r = conclude(client, report, "pass", note="x")
    assert r.status_code == 409 and any("整改后通过" in m for m in flash(r))
    assert AcceptanceReport.objects.get(pk=report.pk).state == "submitted"
    r = conclude(client, report, "pass_rectified", note="整改到位")
    assert r.status_code == 302
    assert AcceptanceReport.objects.get(pk=report.pk).state == "passed_rectified"
    assert Project.objects.get(pk=project.pk).state == "completed"


def test_a_rectification_date_beyond_three_months_is_refused(client, officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter))
    client.force_login(officer)
    r = conclude(client, report, "rectify", note="补充", rectify_due=(TODAY + datetime.timedelta(days=200)).isoformat())
    assert r.status_code == 400 and any("不得超过3个月" in m for m in flash(r))
    assert AcceptanceReport.objects.get(pk=report.pk).state == "submitted"


def test_the_bureau_downloads_a_report_file(client, officer, supervisor, project, reporter):
    report = submitted_acceptance(project, reporter)
    a = report.attachments.first()
    for user in (officer, supervisor):
        client.force_login(user)
        r = client.get(office("attachment", a.pk))
        assert r.status_code == 200 and b"".join(r.streaming_content) == PDF_BYTES
        assert "attachment;" in r["Content-Disposition"]


# ---- 延期 -------------------------------------------------------------------------------------------------------


def test_extension_requested_on_the_project_page_and_approved(client, officer, project, reporter):
    client.force_login(reporter)
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="extension-form"' in page and cs.extension_deadline(project).isoformat() in page
    r = client.post(portal("project", project.pk), {"action": "extension", "months": "6", "reason": "设备到货延迟"})
    assert r.status_code == 302
    ext = ExtensionRequest.objects.get(project=project)
    assert ext.state == "submitted" and ext.new_end_date == cs.add_months(project.end_date, 6)
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="extension-form"' not in page and ext.new_end_date.isoformat() in page
    # only once
    r = client.post(portal("project", project.pk), {"action": "extension", "months": "3", "reason": "再次"})
    assert any("只能申请一次" in m for m in flash(r)) and ExtensionRequest.objects.count() == 1
    # the bureau
    client.force_login(officer)
    index = body(client.get(INDEX, {"tab": "extension"}))
    assert office("extension", ext.pk) in index and 'data-testid="pending-extension">1<' in index
    r = client.post(office("extension", ext.pk), {"decision": "reject", "note": ""})
    assert r.status_code == 400 and any("必须填写理由" in m for m in flash(r))
    assert ExtensionRequest.objects.get(pk=ext.pk).state == "submitted"
    r = client.post(office("extension", ext.pk), {"decision": "approve", "note": "同意"})
    assert r.status_code == 302 and any(ext.new_end_date.isoformat() in m for m in flash(r))
    assert ExtensionRequest.objects.get(pk=ext.pk).state == "approved"
    assert Project.objects.get(pk=project.pk).end_date == ext.new_end_date


def test_extension_rejected_with_a_reason(client, officer, project, reporter):
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=3, reason="人员变动")
    client.force_login(officer)
    r = client.post(office("extension", ext.pk), {"decision": "reject", "note": "理由不充分"})
    assert r.status_code == 302
    ext.refresh_from_db()
    assert ext.state == "rejected" and ext.decision_note == "理由不充分"
    assert Project.objects.get(pk=project.pk).end_date == ext.original_end_date


def test_an_extension_too_late_is_refused(client, project, reporter):
    Project.objects.filter(pk=project.pk).update(end_date=TODAY + datetime.timedelta(days=30))
    client.force_login(reporter)
    page = body(client.get(portal("project", project.pk)))
    assert 'data-testid="extension-form"' not in page and 'data-testid="extension-blocked"' in page
    r = client.post(portal("project", project.pk), {"action": "extension", "months": "6", "reason": "来不及"})
    assert any("至少3个月" in m for m in flash(r)) and not ExtensionRequest.objects.exists()


# ---- lists, filters, entry points ------------------------------------------------------------------------------


def test_the_office_index_filters_by_call_state_and_overdue(client, officer, org, call, project, reporter):
    other_call = CallFactory()
    other = make_project(officer, organization=org, call=other_call, title="另一个指南的项目")
    open_midterm(officer, project)
    late = open_midterm(officer, other)
    MidtermReport.objects.filter(pk=late.pk).update(due_date=TODAY - datetime.timedelta(days=1))
    client.force_login(officer)
    page = body(client.get(INDEX))
    assert page.count('data-testid="row"') == 2 and page.count('data-testid="overdue"') == 1
    page = body(client.get(INDEX, {"tab": "midterm", "call": call.pk}))
    assert project.title in page and other.title not in page
    page = body(client.get(INDEX, {"tab": "midterm", "overdue": "on"}))
    assert other.title in page and project.title not in page
    page = body(client.get(INDEX, {"tab": "midterm", "state": "submitted"}))
    assert page.count('data-testid="row"') == 0


def test_the_project_list_links_call_projects_to_their_checkpoints(client, officer, org, project, reporter):
    post_subsidy = make_project(officer, organization=org, call=CallFactory(program=ProgramFactory(
        code="hbz", name="研发后补助", kind=Program.Kind.POST_SUBSIDY)))
    client.force_login(reporter)
    page = body(client.get(reverse("portal:project_list")))
    assert portal("project", project.pk) in page and portal("project", post_subsidy.pk) not in page
    # a 后补助 project's page says why it has no checkpoints
    page = body(client.get(portal("project", post_subsidy.pk)))
    assert 'data-testid="not-checkable"' in page and "后补助" in page


def test_the_officer_menu_has_the_checkpoints(client, officer):
    client.force_login(officer)
    assert 'data-testid="checkpoints-menu"' in body(client.get(INDEX))


# ---- who may see what ------------------------------------------------------------------------------------------


@pytest.fixture
def world(officer, project, reporter):
    """A submitted 中期报告 (with a file), a draft 验收申请 of another project (with a file) and an extension."""
    midterm = submitted_midterm(officer, project, reporter)
    second = make_project(officer, organization=project.organization, call=project.call)
    acceptance = cs.start_acceptance(actor=reporter, project_id=second.pk)
    file = cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=acceptance.pk, kind="other",
                             uploaded=pdf())
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=3, reason="人员变动")
    return {"project": project, "midterm": midterm, "acceptance": acceptance, "file": file, "ext": ext,
            "mfile": midterm.attachments.first()}


def portal_urls(w):
    gets = [portal("project", w["project"].pk), portal("midterm", w["midterm"].pk),
            portal("acceptance", w["acceptance"].pk), portal("attachment", w["file"].pk)]
    posts = [portal("project", w["project"].pk), portal("midterm", w["midterm"].pk),
             portal("acceptance", w["acceptance"].pk), portal("attachment_remove", w["file"].pk)]
    return gets, posts


def office_urls(w):
    gets = [INDEX, OPEN, office("midterm", w["midterm"].pk), office("acceptance", w["acceptance"].pk),
            office("extension", w["ext"].pk), office("attachment", w["mfile"].pk)]
    posts = [OPEN, office("midterm", w["midterm"].pk), office("acceptance", w["acceptance"].pk),
             office("extension", w["ext"].pk)]
    return gets, posts


def test_strangers_and_experts_get_404_on_every_url(client, world, other_applicant, expert_user, finance_user):
    gets, posts = portal_urls(world)
    ogets, oposts = office_urls(world)
    for user in (other_applicant, expert_user, finance_user):
        client.force_login(user)
        for url in gets + ogets:
            assert client.get(url).status_code == 404, (user, url)
        for url in posts + oposts:
            r = client.post(url, {"action": "extension", "months": "3", "reason": "x", "conclusion": "pass",
                                  "decision": "approve", "call": world["project"].call_id,
                                  "projects": [world["project"].pk], "due_date": DUE.isoformat()})
            assert r.status_code == 404, (user, url)
    assert ExtensionRequest.objects.get().state == "submitted"
    assert MidtermReport.objects.get().state == "submitted"
    assert CheckpointAttachment.objects.get(pk=world["file"].pk).removed_at is None


def test_the_organisation_gets_404_on_the_office_and_the_bureau_on_the_portal(client, world, reporter, officer):
    gets, posts = portal_urls(world)
    ogets, oposts = office_urls(world)
    client.force_login(reporter)
    for url in ogets:
        assert client.get(url).status_code == 404, url
    for url in oposts:
        assert client.post(url, {"conclusion": "pass", "decision": "approve"}).status_code == 404, url
    client.force_login(officer)
    for url in gets:
        assert client.get(url).status_code == 404, url
    assert ExtensionRequest.objects.get().state == "submitted"


def test_anonymous_users_are_sent_to_login(client, world):
    gets, posts = portal_urls(world)
    ogets, oposts = office_urls(world)
    login = reverse("accounts:login")
    for url in gets + ogets:
        r = client.get(url)
        assert r.status_code == 302 and login in r.url, url
    for url in posts + oposts:
        r = client.post(url, {})
        assert r.status_code == 302 and login in r.url, url


def test_the_organisations_own_users_see_every_portal_page(client, world, org_admin):
    gets, _posts = portal_urls(world)
    client.force_login(org_admin)
    for url in gets:
        assert client.get(url).status_code == 200, url


# ---- fixed query counts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tab", ["midterm", "acceptance", "extension"])
def test_the_office_index_runs_a_fixed_number_of_queries(client, officer, org, call, reporter, tab,
                                                         django_assert_max_num_queries):
    def add_one():
        p = make_project(officer, organization=org, call=call)
        if tab == "midterm":
            open_midterm(officer, p)
        elif tab == "acceptance":
            cs.start_acceptance(actor=reporter, project_id=p.pk)
        else:
            cs.request_extension(actor=reporter, project_id=p.pk, months=2, reason="延期")

    add_one()
    client.force_login(officer)
    client.get(INDEX, {"tab": tab})  # warm the session and content types
    with django_assert_max_num_queries(10) as one:
        assert client.get(INDEX, {"tab": tab}).status_code == 200
    for _ in range(4):
        add_one()
    with django_assert_max_num_queries(len(one.captured_queries)):
        r = client.get(INDEX, {"tab": tab})
    assert body(r).count('data-testid="row"') == 5


def test_the_portal_project_page_runs_a_fixed_number_of_queries(client, officer, project, reporter,
                                                                django_assert_max_num_queries):
    client.force_login(reporter)
    client.get(portal("project", project.pk))
    with django_assert_max_num_queries(6) as bare:
        assert client.get(portal("project", project.pk)).status_code == 200
    open_midterm(officer, project)
    cs.request_extension(actor=reporter, project_id=project.pk, months=2, reason="延期")
    with django_assert_max_num_queries(len(bare.captured_queries) + 1):  # + the extension's history
        assert client.get(portal("project", project.pk)).status_code == 200


def test_the_officer_sees_what_was_paid_beside_the_declared_spending(client, officer, project, reporter):
    report = submitted_midterm(officer, project, reporter)  # 1.00 of fiscal spending declared, nothing paid yet
    client.force_login(officer)
    page = body(client.get(office("midterm", report.pk)))
    assert "已拨付财政资金 0.00 元" in page and "超过已拨付金额" in page

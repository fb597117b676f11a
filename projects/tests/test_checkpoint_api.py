"""中期检查, 验收 and 延期 through the REST API: the bureau opens and concludes, the organisation fills in, attaches
and submits, asks for an extension that the bureau decides; refusals come back as 400/403/409 with the reason and
change nothing; another organisation, an expert and anonymous users see nothing; lists run a fixed number of
queries."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from funding.tests.factories import established_project
from funding.tests.test_money import pay, signed
from projects.checkpoints import services as cs
from projects.models import (
    AcceptanceReport,
    CheckpointAttachment,
    ExtensionRequest,
    MidtermReport,
    Project,
)
from projects.tests.factories import EXE_BYTES, PDF_BYTES, pdf_upload

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DUE = TODAY + datetime.timedelta(days=30)
SPENDING = {"equipment": {"fiscal": "10000.00", "self": "0"}, "business": {"fiscal": "20000.5", "self": "5000"},
            "labour": {"fiscal": "0", "self": "0"}}


def api(name, *args):
    return reverse(f"api:{name}", args=args)


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def upload(client, url, kind, name="材料.pdf", content=None):
    kw = {} if content is None else {"content": content}
    return client.post(url, {"kind": kind, "file": pdf_upload(name, **kw)})


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True, real_name="刘局长")


def running_project(org, officer, clerk=None, approver=None):
    """A call project of 100,000.00 (one target, three budget categories); signed and its first tranche paid when
    finance users are given."""
    project = established_project(organization=org, officer=officer, granted=Decimal("100000.00"))
    if clerk is not None:
        signed(project, officer)
        pay(project.agreement.tranches.get(position=1), clerk, approver)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def project(org, officer, clerk, approver):
    return running_project(org, officer, clerk, approver)


def opened(project, officer):
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


def filled_midterm(project, officer, reporter):
    report = opened(project, officer)
    cs.save_midterm(actor=reporter, report_id=report.pk, progress="完成样机设计", targets=[{"value": "2"}],
                    spending=SPENDING)
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                      uploaded=pdf_upload("中期进展报告.pdf"))
    return report


def submitted_midterm(project, officer, reporter):
    report = filled_midterm(project, officer, reporter)
    return cs.submit_midterm(actor=reporter, report_id=report.pk)


def scored(report, score="82.50"):
    kind = "midterm" if isinstance(report, MidtermReport) else "acceptance"
    cs.record_expert_scores(report_kind=kind, scores={report.pk: (Decimal(score), 5)})
    return type(report).objects.get(pk=report.pk)


def filled_acceptance(project, reporter):
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    cs.save_acceptance(actor=reporter, report_id=report.pk, summary="全面完成任务书约定的研究内容",
                       targets=[{"value": "3", "evidence": "专利申请号"}], spending=SPENDING)
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind=kind,
                          uploaded=pdf_upload(f"{kind}.pdf"))
    return report


def snapshot(report):
    report.refresh_from_db()
    return (report.state, report.attempt, report.targets, report.spending, report.updated_at,
            report.attachments.filter(removed_at__isnull=True).count())


# ---- 中期检查 ------------------------------------------------------------------------------------------------------


def test_midterm_from_opening_to_passing(client, officer, applicant, project):
    client.force_login(officer)
    response = post(client, api("midterm-open"), {"project_ids": [project.pk], "due_date": DUE.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["skipped"] == [] and len(body["opened"]) == 1
    row = body["opened"][0]
    assert (row["state"], row["state_display"], row["due_date"]) == ("requested", "待提交", DUE.isoformat())
    assert row["project"]["number"] == project.number and row["project"]["organization_name"] == project.organization.name
    again = post(client, api("midterm-open"), {"project_ids": [project.pk], "due_date": DUE.isoformat()}).json()
    assert again["opened"] == [] and again["skipped"] == [
        {"project": again["skipped"][0]["project"], "reason": "已发起过中期检查。"}]
    pk = row["id"]

    client.force_login(applicant)
    detail = client.get(api("midterm-detail", pk)).json()
    assert detail["available_actions"] == ["save", "submit", "attach"] and detail["conclusions"] == []
    assert [(t["indicator"], t["target_value"], t["value"]) for t in detail["targets"]] == [("发明专利申请", "3", None)]
    assert [(s["category"], s["fiscal"]) for s in detail["spending"]] == [
        ("equipment", None), ("business", None), ("labour", None)]
    saved = patch(client, api("midterm-detail", pk), {"progress": "完成样机设计", "spending": SPENDING,
                                                      "targets": [{"value": "2", "evidence": "已受理1件"}]})
    assert saved.status_code == 200, saved.content
    saved = saved.json()
    assert saved["progress"] == "完成样机设计" and saved["targets"][0]["value"] == "2"
    assert saved["spending"][1] == {"category": "business", "category_display": saved["spending"][1]["category_display"],
                                    "budget_fiscal": saved["spending"][1]["budget_fiscal"],
                                    "budget_self": saved["spending"][1]["budget_self"],
                                    "fiscal": "20000.50", "self": "5000.00"}
    assert (saved["spent_fiscal"], saved["spent_self"]) == ("30000.50", "5000.00")
    assert re.fullmatch(r"\d+\.\d\d", saved["spending"][0]["budget_fiscal"])
    # POST save is the same as PATCH
    assert post(client, api("midterm-save", pk), {"progress": "完成样机设计与测试"}).json()["progress"] == "完成样机设计与测试"

    missing = post(client, api("midterm-submit", pk))
    assert missing.status_code == 400 and "中期进展报告" in missing.json()["detail"]
    attached = upload(client, api("midterm-attachments", pk), "progress_report", "中期进展报告.pdf")
    assert attached.status_code == 201, attached.content
    [attachment] = attached.json()["attachments"]
    stored = CheckpointAttachment.objects.get()
    assert attachment == {"id": stored.pk, "kind": "progress_report", "kind_display": "中期进展报告",
                          "name": "中期进展报告.pdf", "content_type": "application/pdf", "size": stored.size,
                          "sha256": stored.sha256, "attempt": 1, "uploaded_by": "张申报",
                          "uploaded_at": attachment["uploaded_at"],
                          "download_url": "http://testserver" + reverse("checkpoints:attachment", args=[stored.pk])}
    assert b"".join(client.get(attachment["download_url"]).streaming_content) == PDF_BYTES
    submitted = post(client, api("midterm-submit", pk))
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["state"] == "submitted" and submitted.json()["available_actions"] == []
    assert submitted.json()["submitted_by"] == "张申报"

    client.force_login(officer)
    early = post(client, api("midterm-conclude", pk), {"conclusion": "pass"})
    assert early.status_code == 409 and early.json()["errors"] == ["专家评审尚未完成，请先组织专家评审。"]
    assert client.get(api("midterm-detail", pk)).json()["available_actions"] == []
    scored(MidtermReport.objects.get(pk=pk))
    detail = client.get(api("midterm-detail", pk)).json()
    office_url = "http://testserver" + reverse("checkpoints_office:attachment", args=[stored.pk])
    assert detail["attachments"][0]["download_url"] == office_url and client.get(office_url).status_code == 200
    assert detail["available_actions"] == ["conclude"] and detail["conclusions"] == ["pass", "rectify", "fail"]
    assert detail["expert_score"] == "82.50" and detail["expert_review_count"] == 5
    assert post(client, api("midterm-conclude", pk), {"conclusion": "close"}).status_code == 400
    no_reason = post(client, api("midterm-conclude", pk), {"conclusion": "fail"})
    assert no_reason.status_code == 400 and no_reason.json()["errors"]
    passed = post(client, api("midterm-conclude", pk), {"conclusion": "pass", "note": "进展符合任务书要求"})
    assert passed.status_code == 200, passed.content
    assert (passed.json()["state"], passed.json()["conclusion_note"]) == ("passed", "进展符合任务书要求")
    assert passed.json()["concluded_by"] == officer.display_name
    assert post(client, api("midterm-conclude", pk), {"conclusion": "pass"}).status_code == 409


def test_midterm_rectification_then_failure_ends_the_project(client, officer, applicant, project):
    report = scored(submitted_midterm(project, officer, applicant))
    client.force_login(officer)
    too_late = post(client, api("midterm-conclude", report.pk),
                    {"conclusion": "rectify", "note": "补充测试数据", "rectify_due": (TODAY + datetime.timedelta(
                        days=200)).isoformat()})
    assert too_late.status_code == 400 and "3个月" in too_late.json()["detail"]
    due = TODAY + datetime.timedelta(days=45)
    rectify = post(client, api("midterm-conclude", report.pk),
                   {"conclusion": "rectify", "note": "补充测试数据", "rectify_due": due.isoformat()})
    assert rectify.status_code == 200, rectify.content
    assert (rectify.json()["state"], rectify.json()["attempt"], rectify.json()["rectify_due"]) == (
        "rectifying", 2, due.isoformat())

    client.force_login(applicant)
    needs = post(client, api("midterm-submit", report.pk))
    assert needs.status_code == 400 and "整改报告" in needs.json()["detail"]
    assert upload(client, api("midterm-attachments", report.pk), "rectification", "整改报告.pdf").status_code == 201
    assert post(client, api("midterm-submit", report.pk)).json()["state"] == "submitted"

    client.force_login(officer)
    assert "rectify" not in client.get(api("midterm-detail", report.pk)).json()["conclusions"]
    again = post(client, api("midterm-conclude", report.pk), {"conclusion": "rectify", "note": "再整改"})
    assert again.status_code == 409 and again.json()["errors"] == ["整改只能安排一次，请给出最终结论。"]
    failed = post(client, api("midterm-conclude", report.pk),
                  {"conclusion": "fail", "note": "整改后仍未达到要求", "fault": True})
    assert failed.status_code == 200, failed.content
    assert failed.json()["state"] == "failed" and failed.json()["fault"] is True
    assert failed.json()["project"]["state"] == "terminated"


def test_midterm_refusals_change_nothing(client, officer, applicant, supervisor, project):
    client.force_login(officer)
    past = post(client, api("midterm-open"), {"project_ids": [project.pk],
                                             "due_date": (TODAY - datetime.timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and past.json()["errors"] == ["提交期限不能早于今天。"]
    unknown = post(client, api("midterm-open"), {"project_ids": [project.pk, 999999], "due_date": DUE.isoformat()})
    assert unknown.status_code == 400 and "999999" in str(unknown.json()["project_ids"])
    assert post(client, api("midterm-open"), {"project_ids": [], "due_date": DUE.isoformat()}).status_code == 400
    for user in (applicant, supervisor):
        client.force_login(user)
        refused = post(client, api("midterm-open"), {"project_ids": [project.pk], "due_date": DUE.isoformat()})
        assert refused.status_code == 403
        assert refused.json()["errors"] == ["只有科技局业务处室可以办理中期检查、验收和延期。"]
    assert not MidtermReport.objects.exists()

    report = filled_midterm(project, officer, applicant)
    before = snapshot(report)
    client.force_login(applicant)
    bad_money = patch(client, api("midterm-detail", report.pk), {"spending": {"equipment": {"fiscal": "1.234"}}})
    assert bad_money.status_code == 400 and "精确到分" in bad_money.json()["detail"]
    negative = patch(client, api("midterm-detail", report.pk), {"targets": [{"value": "-1"}]})
    assert negative.status_code == 400 and "不小于0" in negative.json()["detail"]
    wrong_rows = patch(client, api("midterm-detail", report.pk), {"targets": [{"value": "1"}, {"value": "2"}]})
    assert wrong_rows.status_code == 400 and wrong_rows.json()["errors"] == [
        "绩效指标与任务书不一致，请刷新页面后重新填写。"]
    unknown_category = patch(client, api("midterm-detail", report.pk), {"spending": {"travel": {"fiscal": "1"}}})
    assert unknown_category.status_code == 400 and "spending" in unknown_category.json()
    exe = client.post(api("midterm-attachments", report.pk), {"kind": "evidence", "file": pdf_upload(
        "病毒.pdf", EXE_BYTES)})
    assert exe.status_code == 400 and exe.json()["errors"]
    no_kind = client.post(api("midterm-attachments", report.pk), {"kind": "photo", "file": pdf_upload()})
    assert no_kind.status_code == 400 and "kind" in no_kind.json()
    for action in ("midterm-conclude",):
        refused = post(client, api(action, report.pk), {"conclusion": "pass"})
        assert refused.status_code == 403 and refused.json()["errors"] == [
            "只有科技局业务处室可以办理中期检查、验收和延期。"]
    client.force_login(officer)  # the bureau does not fill in the organisation's report
    refused = patch(client, api("midterm-detail", report.pk), {"progress": "代填"})
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有项目承担单位可以填写中期报告。"]
    assert post(client, api("midterm-submit", report.pk)).status_code == 403
    assert upload(client, api("midterm-attachments", report.pk), "evidence").status_code == 403
    assert snapshot(report) == before

    cs.submit_midterm(actor=applicant, report_id=report.pk)
    before = snapshot(report)
    client.force_login(applicant)
    late = patch(client, api("midterm-detail", report.pk), {"progress": "改"})
    assert late.status_code == 409 and late.json()["errors"] == ["中期报告已待评审，不能再修改。"]
    assert post(client, api("midterm-submit", report.pk)).status_code == 409
    assert upload(client, api("midterm-attachments", report.pk), "evidence").status_code == 409
    attachment = report.attachments.get()
    removed = post(client, api("midterm-remove-attachment", report.pk, attachment.pk))
    assert removed.status_code == 409 and removed.json()["errors"] == ["已提交的材料不能移除。"]
    assert snapshot(report) == before


def test_attachments_are_removed_from_their_own_report_only(client, org, officer, applicant, project):
    report = filled_midterm(project, officer, applicant)
    other = filled_midterm(running_project(org, officer), officer, applicant)
    client.force_login(applicant)
    evidence = upload(client, api("midterm-attachments", report.pk), "evidence", "测试报告.pdf").json()
    assert [a["kind"] for a in evidence["attachments"]] == ["evidence", "progress_report"]
    added = CheckpointAttachment.objects.get(midterm=report, kind="evidence")
    assert post(client, api("midterm-remove-attachment", other.pk, added.pk)).status_code == 404
    assert post(client, api("midterm-remove-attachment", report.pk, 10**17)).status_code == 404
    removed = post(client, api("midterm-remove-attachment", report.pk, added.pk))
    assert removed.status_code == 200
    assert [a["kind"] for a in removed.json()["attachments"]] == ["progress_report"]
    added.refresh_from_db()
    assert added.removed_at is not None and added.removed_by == applicant  # the row stays
    assert post(client, api("midterm-remove-attachment", report.pk, added.pk)).status_code == 404


# ---- 验收 ----------------------------------------------------------------------------------------------------------


def test_acceptance_from_start_to_passing_after_rectification(client, officer, applicant, project):
    client.force_login(applicant)
    created = post(client, api("acceptance-list"), {"project": project.pk})
    assert created.status_code == 201, created.content
    report = created.json()
    assert report["state"] == "draft" and report["created_by"] == "张申报"
    assert report["due_date"] == cs.acceptance_due_date(project).isoformat()
    assert report["available_actions"] == ["save", "submit", "attach"]
    again = post(client, api("acceptance-list"), {"project": project.pk})
    assert again.status_code == 200 and again.json()["id"] == report["id"]
    pk = report["id"]
    saved = post(client, api("acceptance-save", pk), {"summary": "全面完成研究内容", "spending": SPENDING,
                                                       "targets": [{"value": "3", "evidence": ""}]})
    assert saved.status_code == 200 and saved.json()["summary"] == "全面完成研究内容"
    missing = post(client, api("acceptance-submit", pk))
    assert missing.status_code == 400
    assert {"“发明专利申请”的佐证说明", "项目总结报告", "经费决算报告", "专项审计报告"} <= set(
        missing.json()["detail"].split("：", 1)[1].rstrip("。").split("、"))
    patch(client, api("acceptance-detail", pk), {"targets": [{"value": "3", "evidence": "专利申请号"}]})
    for kind in ("final_report", "spending_report", "audit_report"):
        assert upload(client, api("acceptance-attachments", pk), kind, f"{kind}.pdf").status_code == 201
    assert post(client, api("acceptance-submit", pk)).json()["state"] == "submitted"

    client.force_login(officer)
    scored(AcceptanceReport.objects.get(pk=pk))
    assert client.get(api("acceptance-detail", pk)).json()["conclusions"] == ["pass", "rectify", "fail", "close"]
    premature = post(client, api("acceptance-conclude", pk), {"conclusion": "pass_rectified"})
    assert premature.status_code == 409 and premature.json()["errors"] == ["只有整改后再次提交的材料可以“整改后通过”。"]
    rectify = post(client, api("acceptance-conclude", pk), {"conclusion": "rectify", "note": "补充审计报告"})
    assert rectify.status_code == 200 and rectify.json()["state"] == "rectifying"

    client.force_login(applicant)
    assert upload(client, api("acceptance-attachments", pk), "rectification", "整改报告.pdf").status_code == 201
    assert post(client, api("acceptance-submit", pk)).json()["state"] == "submitted"

    client.force_login(officer)
    assert client.get(api("acceptance-detail", pk)).json()["conclusions"] == ["pass_rectified", "fail", "close"]
    wrong = post(client, api("acceptance-conclude", pk), {"conclusion": "pass"})
    assert wrong.status_code == 409 and wrong.json()["errors"] == ["整改后的材料请选择“整改后通过”。"]
    passed = post(client, api("acceptance-conclude", pk), {"conclusion": "pass_rectified", "note": "整改到位"})
    assert passed.status_code == 200, passed.content
    assert passed.json()["state"] == "passed_rectified" and passed.json()["project"]["state"] == "completed"


@pytest.mark.parametrize(("conclusion", "state", "project_state"), [
    ("pass", "passed", "completed"), ("fail", "failed", "failed"), ("close", "closed", "closed")])
def test_each_acceptance_conclusion(client, officer, applicant, project, conclusion, state, project_state):
    report = filled_acceptance(project, applicant)
    report = scored(cs.submit_acceptance(actor=applicant, report_id=report.pk))
    client.force_login(officer)
    response = post(client, api("acceptance-conclude", report.pk), {"conclusion": conclusion, "note": "专家组意见"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == state and response.json()["project"]["state"] == project_state


def test_acceptance_refusals_change_nothing(client, org, officer, applicant, other_applicant, expert_user, project):
    opened(project, officer)
    client.force_login(applicant)
    waiting = post(client, api("acceptance-list"), {"project": project.pk})
    assert waiting.status_code == 409 and waiting.json()["errors"] == ["中期检查尚未结束，结束后方可申请验收。"]
    assert post(client, api("acceptance-list"), {"project": 999999}).status_code == 400
    assert post(client, api("acceptance-list"), {}).status_code == 400
    client.force_login(other_applicant)  # another organisation's project is not found
    unknown = post(client, api("acceptance-list"), {"project": project.pk})
    assert unknown.status_code == 400 and unknown.json()["project"] == ["项目不存在。"]
    for user in (officer, expert_user):
        client.force_login(user)
        refused = post(client, api("acceptance-list"), {"project": project.pk})
        assert refused.status_code == 403 and refused.json()["errors"] == ["只有项目承担单位可以申请验收。"]
    assert not AcceptanceReport.objects.exists()

    report = filled_acceptance(running_project(org, officer), applicant)
    before = snapshot(report)
    client.force_login(applicant)
    assert post(client, api("acceptance-conclude", report.pk), {"conclusion": "pass"}).status_code == 403
    assert post(client, api("acceptance-save", report.pk), {"spending": {"labour": {"self": "x"}}}).status_code == 400
    client.force_login(officer)
    assert post(client, api("acceptance-conclude", report.pk), {"conclusion": "pass"}).status_code == 409
    assert patch(client, api("acceptance-detail", report.pk), {"summary": "代填"}).status_code == 403
    assert snapshot(report) == before


# ---- 延期 ----------------------------------------------------------------------------------------------------------


def test_extension_requested_and_approved(client, officer, applicant, project):
    end = project.end_date
    client.force_login(applicant)
    too_long = post(client, api("extension-list"), {"project": project.pk, "months": 13, "reason": "设备到货延迟"})
    assert too_long.status_code == 400 and too_long.json()["errors"] == ["延期月数须为1至12的整数。"]
    no_reason = post(client, api("extension-list"), {"project": project.pk, "months": 6, "reason": " "})
    assert no_reason.status_code == 400 and no_reason.json()["errors"] == ["请填写延期理由。"]
    created = post(client, api("extension-list"), {"project": project.pk, "months": 6, "reason": "设备到货延迟"})
    assert created.status_code == 201, created.content
    ext = created.json()
    assert (ext["state"], ext["months"], ext["original_end_date"], ext["new_end_date"]) == (
        "submitted", 6, end.isoformat(), cs.add_months(end, 6).isoformat())
    assert ext["requested_by"] == "张申报" and ext["available_actions"] == []
    twice = post(client, api("extension-list"), {"project": project.pk, "months": 3, "reason": "再延"})
    assert twice.status_code == 409 and twice.json()["errors"] == ["每个项目只能申请一次延期，该项目已申请过。"]
    refused = post(client, api("extension-approve", ext["id"]))
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有科技局业务处室可以办理中期检查、验收和延期。"]

    client.force_login(officer)
    assert client.get(api("extension-detail", ext["id"])).json()["available_actions"] == ["approve", "reject"]
    approved = post(client, api("extension-approve", ext["id"]), {"note": "同意"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "approved" and approved.json()["decision_note"] == "同意"
    assert approved.json()["project"]["end_date"] == cs.add_months(end, 6).isoformat()
    assert approved.json()["decided_by"] == officer.display_name
    project.refresh_from_db()
    assert project.end_date == cs.add_months(end, 6)
    assert post(client, api("extension-reject", ext["id"]), {"note": "撤回"}).status_code == 409
    assert post(client, api("extension-approve", ext["id"])).status_code == 409


def test_extension_rejected_needs_a_note(client, officer, applicant, project):
    ext = cs.request_extension(actor=applicant, project_id=project.pk, months=3, reason="人员变动")
    client.force_login(officer)
    no_note = post(client, api("extension-reject", ext.pk))
    assert no_note.status_code == 400 and no_note.json()["code"] == "reason_required"
    ext.refresh_from_db()
    assert ext.state == "submitted"
    rejected = post(client, api("extension-reject", ext.pk), {"note": "理由不充分"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    project.refresh_from_db()
    assert project.end_date == ext.original_end_date


def test_extension_refusals(client, officer, other_applicant, expert_user, applicant, project):
    for user in (officer, expert_user):
        client.force_login(user)
        refused = post(client, api("extension-list"), {"project": project.pk, "months": 3, "reason": "x"})
        assert refused.status_code == 403 and refused.json()["errors"] == ["只有项目承担单位可以申请延期。"]
    client.force_login(other_applicant)
    assert post(client, api("extension-list"), {"project": project.pk, "months": 3,
                                                "reason": "x"}).status_code == 400
    client.force_login(applicant)
    Project.objects.filter(pk=project.pk).update(end_date=TODAY + datetime.timedelta(days=60))
    late = post(client, api("extension-list"), {"project": project.pk, "months": 3, "reason": "来不及"})
    assert late.status_code == 409 and "至少3个月" in late.json()["detail"]
    assert not ExtensionRequest.objects.exists()


# ---- scope ------------------------------------------------------------------------------------------------------


def test_strangers_get_404_and_empty_lists(client, officer, applicant, other_applicant, expert_user, project):
    midterm = filled_midterm(project, officer, applicant)
    attachment = midterm.attachments.get()
    other = running_project(applicant.organization, officer)
    acceptance = filled_acceptance(other, applicant)
    ext = cs.request_extension(actor=applicant, project_id=project.pk, months=3, reason="人员变动")
    before = (snapshot(midterm), snapshot(acceptance))
    body = {"conclusion": "pass", "note": "x", "progress": "x", "summary": "x"}
    for user in (other_applicant, expert_user):
        client.force_login(user)
        for name in ("midterm-list", "acceptance-list", "extension-list"):
            assert results(client.get(api(name))) == []
        for kind, pk in (("midterm", midterm.pk), ("acceptance", acceptance.pk)):
            assert client.get(api(f"{kind}-detail", pk)).status_code == 404
            assert patch(client, api(f"{kind}-detail", pk), body).status_code == 404
            for action in ("save", "submit", "conclude"):
                assert post(client, api(f"{kind}-{action}", pk), body).status_code == 404, action
            assert upload(client, api(f"{kind}-attachments", pk), "evidence").status_code == 404
        assert post(client, api("midterm-remove-attachment", midterm.pk, attachment.pk)).status_code == 404
        assert client.get(api("extension-detail", ext.pk)).status_code == 404
        for action in ("approve", "reject"):
            assert post(client, api(f"extension-{action}", ext.pk), {"note": "x"}).status_code == 404
    client.logout()
    for name in ("midterm-list", "acceptance-list", "extension-list"):
        assert client.get(api(name)).status_code in (401, 403)
    assert client.get(api("midterm-detail", midterm.pk)).status_code in (401, 403)
    assert post(client, api("midterm-open"), {"project_ids": [project.pk], "due_date": DUE.isoformat()}).status_code \
        in (401, 403)
    assert post(client, api("acceptance-list"), {"project": project.pk}).status_code in (401, 403)
    assert post(client, api("extension-approve", ext.pk)).status_code in (401, 403)
    assert client.get(api("midterm-detail", 99999999999999999999)).status_code in (401, 403)
    client.force_login(officer)
    assert client.get(api("midterm-detail", 99999999999999999999)).status_code == 404
    assert (snapshot(midterm), snapshot(acceptance)) == before
    ext.refresh_from_db()
    assert ext.state == "submitted"


def test_the_bureau_sees_everything_the_organisation_its_own(client, org, other_org, officer, supervisor, applicant,
                                                             org_admin, other_applicant, project):
    mine = opened(project, officer)
    theirs = opened(running_project(other_org, officer), officer)
    for user in (officer, supervisor):
        client.force_login(user)
        assert {r["id"] for r in results(client.get(api("midterm-list")))} == {mine.pk, theirs.pk}
        assert client.get(api("midterm-detail", theirs.pk)).json()["available_actions"] == []
    for user, report in ((applicant, mine), (org_admin, mine), (other_applicant, theirs)):
        client.force_login(user)
        assert [r["id"] for r in results(client.get(api("midterm-list")))] == [report.pk]


def test_filters(client, org, officer, applicant, project):
    passed = scored(submitted_midterm(project, officer, applicant))
    cs.conclude_midterm(actor=officer, report_id=passed.pk, conclusion="pass")
    second = running_project(org, officer)
    waiting = opened(second, officer)
    acceptance = cs.start_acceptance(actor=applicant, project_id=project.pk)
    ext = cs.request_extension(actor=applicant, project_id=second.pk, months=2, reason="设备")
    client.force_login(officer)
    ids = lambda name, **params: [r["id"] for r in results(client.get(api(name), params))]  # noqa: E731
    assert ids("midterm-list", state="requested") == [waiting.pk]
    assert ids("midterm-list", state="passed") == [passed.pk]
    assert ids("midterm-list", project=second.pk) == [waiting.pk]
    assert set(ids("midterm-list", call=project.call_id)) == {passed.pk}
    assert ids("acceptance-list", state="draft") == [acceptance.pk] and ids("acceptance-list", state="passed") == []
    assert ids("extension-list", state="submitted") == [ext.pk] and ids("extension-list", project=project.pk) == []
    assert ids("extension-list", call=second.call_id) == [ext.pk]
    for name in ("midterm-list", "acceptance-list", "extension-list"):
        assert client.get(api(name), {"state": "nonsense"}).status_code == 400
        assert client.get(api(name), {"project": "0"}).status_code == 400


# ---- fixed query counts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 6])
def test_lists_and_details_run_a_fixed_number_of_queries(client, django_assert_max_num_queries, org, officer,
                                                         applicant, rows):
    projects = [running_project(org, officer) for _ in range(rows)]
    cs.open_midterm(actor=officer, project_ids=[p.pk for p in projects[: rows // 2]], due_date=DUE)
    for p in projects[rows // 2:]:
        report = cs.start_acceptance(actor=applicant, project_id=p.pk)
    for p in projects:
        cs.request_extension(actor=applicant, project_id=p.pk, months=3, reason="延期")
    for i in range(rows):
        cs.add_attachment(actor=applicant, report_kind="acceptance", report_id=report.pk, kind="evidence",
                          uploaded=pdf_upload(f"佐证{i}.pdf"))
    for user in (officer, applicant):
        client.force_login(user)
        for name, count in (("midterm-list", rows // 2), ("acceptance-list", rows - rows // 2),
                            ("extension-list", rows)):
            with django_assert_max_num_queries(6):
                assert len(results(client.get(api(name)))) == count
        with django_assert_max_num_queries(8):
            body = client.get(api("acceptance-detail", report.pk)).json()
        assert len(body["attachments"]) == rows


def test_the_expert_score_is_the_bureaus_the_organisation_learns_the_conclusion(client, officer, applicant, project):
    report = scored(submitted_midterm(project, officer, applicant))
    client.force_login(officer)
    assert client.get(api("midterm-detail", report.pk)).json()["expert_score"] == "82.50"
    client.force_login(applicant)
    assert client.get(api("midterm-detail", report.pk)).json()["expert_score"] is None
    assert results(client.get(api("midterm-list")))[0]["expert_score"] is None

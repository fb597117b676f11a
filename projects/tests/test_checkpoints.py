"""中期检查, 验收 and 延期 through the services: every conclusion and its effect on the tranches and on recovery.

A call project is established (its 任务书 drafted by funding with the default 60/30/10 plan: signing, the "midterm"
checkpoint, acceptance), signed, and its first tranche paid; then the checkpoints run their course."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import Notification
from funding import services as fs
from funding.models import RecoveryOrder, TaskAgreement
from funding.tests.factories import established_project
from funding.tests.test_money import pay, signed
from projects import services as project_services
from projects.checkpoints import services as cs
from projects.models import AcceptanceReport, ExtensionRequest, MidtermReport, Program, Project
from projects.tests.factories import CallFactory, ProgramFactory, pdf_upload

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
DUE = TODAY + datetime.timedelta(days=30)
SPENDING = {"equipment": {"fiscal": "10000.00", "self": "0"}, "business": {"fiscal": "20000.50", "self": "5000"},
            "labour": {"fiscal": "0", "self": "0"}}  # 30,000.50 of fiscal funds spent


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def project(officer, clerk, approver):
    """Signed, first tranche (60,000.00 of 100,000.00) paid."""
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    pay(project.agreement.tranches.get(position=1), clerk, approver)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def reporter(project):
    return UserFactory(roles=["applicant"], organization=project.organization)


def tranche_states(project):
    return list(TaskAgreement.objects.get(project=project).tranches.order_by("position").values_list("state",
                                                                                                     flat=True))


def submitted_midterm(project, officer, reporter):
    (report,), skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    assert skipped == []
    cs.save_midterm(actor=reporter, report_id=report.pk, progress="完成样机设计",
                    targets=[{"value": "2"}], spending=SPENDING)
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                      uploaded=pdf_upload("中期进展报告.pdf"))
    return cs.submit_midterm(actor=reporter, report_id=report.pk)


def scored(report, score="82.50"):
    kind = "midterm" if isinstance(report, MidtermReport) else "acceptance"
    cs.record_expert_scores(report_kind=kind, scores={report.pk: (Decimal(score), 5)})
    return type(report).objects.get(pk=report.pk)


def submitted_acceptance(project, reporter, *, evidence="专利申请号 CN2027…"):
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    cs.save_acceptance(actor=reporter, report_id=report.pk, summary="全面完成任务书约定的研究内容",
                       targets=[{"value": "3", "evidence": evidence}], spending=SPENDING)
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind=kind,
                          uploaded=pdf_upload(f"{kind}.pdf"))
    return cs.submit_acceptance(actor=reporter, report_id=report.pk)


# ---- 中期检查 ------------------------------------------------------------------------------------------------------


def test_the_bureau_opens_the_midterm_and_the_organisation_is_told(officer, project, reporter):
    with pytest.raises(PermissionRefused):
        cs.open_midterm(actor=reporter, project_ids=[project.pk], due_date=DUE)
    with pytest.raises(InvalidInput):
        cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=TODAY - datetime.timedelta(days=1))
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    assert report.state == "requested" and report.due_date == DUE
    # measured against the signed 任务书's targets and budget
    assert [t["indicator"] for t in report.targets] == ["发明专利申请"]
    assert [r["category"] for r in report.spending] == ["equipment", "business", "labour"]
    assert Notification.objects.filter(recipient=reporter, kind="checkpoint_requested").count() == 1
    # opening again skips it, with the reason
    opened, skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    assert opened == [] and skipped[0][0].pk == project.pk and "已发起" in skipped[0][1]


def test_a_post_subsidy_project_has_no_midterm(officer):
    program = ProgramFactory(code="hbz", name="研发后补助", kind=Program.Kind.POST_SUBSIDY)
    project = established_project(officer=officer, call=CallFactory(program=program))
    opened, skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    assert opened == [] and "后补助" in skipped[0][1]
    assert not MidtermReport.objects.filter(project=project).exists()


def test_an_incomplete_report_cannot_be_submitted_and_says_what_is_missing(officer, project, reporter):
    (report,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    with pytest.raises(InvalidInput) as err:
        cs.submit_midterm(actor=reporter, report_id=report.pk)
    message = str(err.value)
    assert "总体进展情况" in message and "发明专利申请" in message and "中期进展报告" in message
    assert MidtermReport.objects.get(pk=report.pk).state == "requested"
    # bad figures change nothing
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=report.pk, spending={"equipment": {"fiscal": "1.001"}})
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=report.pk, targets=[{"value": "-1"}])
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=report.pk, targets=[{"value": "1"}, {"value": "2"}])
    assert MidtermReport.objects.get(pk=report.pk).spent_fiscal == Decimal("0.00")
    stranger = UserFactory(roles=["applicant"])
    with pytest.raises(PermissionRefused):
        cs.save_midterm(actor=stranger, report_id=report.pk, progress="x")


def test_spending_is_summed_to_the_fen(officer, project, reporter):
    report = submitted_midterm(project, officer, reporter)
    assert report.spent_fiscal == Decimal("30000.50") and report.spent_self == Decimal("5000.00")


def test_no_conclusion_before_the_expert_round(officer, project, reporter):
    report = submitted_midterm(project, officer, reporter)
    with pytest.raises(TransitionRefused, match="专家评审"):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass")
    assert MidtermReport.objects.get(pk=report.pk).state == "submitted"


def test_midterm_passed_makes_the_midterm_tranche_due(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    assert report.expert_score == Decimal("82.50") and report.expert_review_count == 5
    with pytest.raises(PermissionRefused):
        cs.conclude_midterm(actor=reporter, report_id=report.pk, conclusion="pass")
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass", note="进展符合预期")
    assert report.state == "passed"
    assert tranche_states(project) == ["paid", "due", "planned"]
    assert Notification.objects.filter(recipient=reporter, kind="checkpoint_concluded").exists()
    with pytest.raises(TransitionRefused):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="再次")


def test_midterm_rectification_once_then_pass_without_another_round(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    with pytest.raises(InvalidInput):  # a reason is required
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify")
    with pytest.raises(InvalidInput, match="3个月"):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充测试数据",
                            rectify_due=cs.add_months(TODAY, 3) + datetime.timedelta(days=1))
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充测试数据")
    assert report.state == "rectifying" and report.attempt == 2 and report.rectify_due == cs.add_months(TODAY, 3)
    assert tranche_states(project) == ["paid", "planned", "planned"]
    # the rectified report needs the rectification report
    with pytest.raises(InvalidInput, match="整改报告"):
        cs.submit_midterm(actor=reporter, report_id=report.pk)
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="rectification",
                      uploaded=pdf_upload("整改报告.pdf"))
    cs.submit_midterm(actor=reporter, report_id=report.pk)
    with pytest.raises(TransitionRefused, match="一次"):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="再整改")
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass")
    assert report.state == "passed" and tranche_states(project) == ["paid", "due", "planned"]


def test_midterm_failed_through_fault_terminates_and_recovers_everything_paid(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter), "41.00")
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="关键技术路线无法实现",
                                 fault=True)
    assert report.state == "failed" and report.fault
    project.refresh_from_db()
    assert project.state == "terminated" and "中期检查不通过" in project.end_reason
    assert tranche_states(project) == ["paid", "cancelled", "cancelled"]
    order = RecoveryOrder.objects.get(agreement__project=project)
    assert (order.rule, order.paid_at_order, order.amount_due) == ("all", Decimal("60000.00"), Decimal("60000.00"))
    assert order.due_date == TODAY + datetime.timedelta(days=30)


def test_midterm_failed_without_fault_recovers_the_unspent_part(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter), "55.00")
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="市场变化")
    order = RecoveryOrder.objects.get(agreement__project=project)
    # 60,000.00 paid less the 30,000.50 the report declared spent
    assert (order.rule, order.spent_amount, order.amount_due) == ("unspent", Decimal("30000.50"),
                                                                  Decimal("29999.50"))


def test_terminating_a_project_cancels_its_open_midterm(officer, project, reporter):
    report = submitted_midterm(project, officer, reporter)
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="单位注销")
    assert MidtermReport.objects.get(pk=report.pk).state == "cancelled"
    assert not RecoveryOrder.objects.filter(agreement__project=project).exists()  # the officer opens it by hand


# ---- 验收 ----------------------------------------------------------------------------------------------------------


def test_acceptance_waits_for_an_open_midterm(officer, project, reporter):
    (report,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    with pytest.raises(TransitionRefused, match="中期检查"):
        cs.start_acceptance(actor=reporter, project_id=project.pk)
    assert not AcceptanceReport.objects.filter(project=project).exists()


def test_acceptance_is_due_six_months_after_the_end_date(project):
    project.end_date = datetime.date(2028, 8, 31)
    assert cs.acceptance_due_date(project) == datetime.date(2029, 2, 28)
    project.end_date = datetime.date(2027, 8, 31)
    assert cs.acceptance_due_date(project) == datetime.date(2028, 2, 29)  # leap year
    project.end_date = datetime.date(9999, 12, 31)
    assert cs.acceptance_due_date(project) == datetime.date.max  # beyond the calendar: never overdue, no error


def test_the_acceptance_application_needs_the_reports_and_evidence(officer, project, reporter):
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    assert cs.start_acceptance(actor=reporter, project_id=project.pk).pk == report.pk  # one per project
    cs.save_acceptance(actor=reporter, report_id=report.pk, summary="总结", targets=[{"value": "3"}],
                       spending=SPENDING)
    with pytest.raises(InvalidInput) as err:
        cs.submit_acceptance(actor=reporter, report_id=report.pk)
    for missing in ("佐证说明", "项目总结报告", "经费决算报告", "专项审计报告"):
        assert missing in str(err.value)
    assert AcceptanceReport.objects.get(pk=report.pk).state == "draft"


def test_acceptance_passed_completes_the_project_and_makes_the_last_tranche_due(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter), "90.00")
    with pytest.raises(TransitionRefused):
        cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="pass_rectified")
    report = cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="pass")
    assert report.state == "passed"
    project.refresh_from_db()
    assert project.state == "completed"
    # no mid-term check was held: passing acceptance makes the mid-term tranche due with the last one
    assert tranche_states(project) == ["paid", "due", "due"]
    assert not RecoveryOrder.objects.filter(agreement__project=project).exists()


def test_acceptance_rectified_then_passed_after_rectification(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter))
    report = cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="rectify", note="补充用户报告",
                                    rectify_due=TODAY + datetime.timedelta(days=60))
    assert report.state == "rectifying" and report.rectify_due == TODAY + datetime.timedelta(days=60)
    cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind="rectification",
                      uploaded=pdf_upload("整改报告.pdf"))
    cs.submit_acceptance(actor=reporter, report_id=report.pk)
    with pytest.raises(TransitionRefused, match="整改后通过"):
        cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="pass")
    with pytest.raises(TransitionRefused, match="一次"):
        cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="rectify", note="again")
    report = cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="pass_rectified", note="已整改")
    assert report.state == "passed_rectified"
    project.refresh_from_db()
    assert project.state == "completed" and tranche_states(project) == ["paid", "due", "due"]


def test_acceptance_failed_through_fault_recovers_everything_paid(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter), "40.00")
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="fail", note="数据造假", fault=True)
    project.refresh_from_db()
    assert project.state == "failed"
    assert tranche_states(project) == ["paid", "cancelled", "cancelled"]
    order = RecoveryOrder.objects.get(agreement__project=project)
    assert (order.rule, order.amount_due) == ("all", Decimal("60000.00"))


def test_acceptance_closed_recovers_the_unspent_part(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter), "62.00")
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="close", note="部分指标未完成，已尽责")
    project.refresh_from_db()
    assert project.state == "closed" and project.end_reason.startswith("结题")
    assert TaskAgreement.objects.get(project=project).state == "terminated"
    order = RecoveryOrder.objects.get(agreement__project=project)
    assert (order.rule, order.amount_due) == ("unspent", Decimal("29999.50"))


def test_nothing_to_recover_when_everything_paid_was_spent(officer, project, reporter):
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    spent_all = {**SPENDING, "labour": {"fiscal": "30000.00", "self": "0"}}  # 60,000.50 ≥ 60,000.00 paid
    cs.save_acceptance(actor=reporter, report_id=report.pk, summary="总结",
                       targets=[{"value": "1", "evidence": "样机"}], spending=spent_all)
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind=kind,
                          uploaded=pdf_upload(f"{kind}.pdf"))
    report = scored(cs.submit_acceptance(actor=reporter, report_id=report.pk))
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="close", note="结题")
    assert not RecoveryOrder.objects.filter(agreement__project=project).exists()


def test_a_payment_awaiting_approval_defers_the_recovery_to_the_officer(officer, project, reporter, clerk):
    report = scored(submitted_midterm(project, officer, reporter))
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass")
    tranche = project.agreement.tranches.get(position=2)
    fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount=tranche.amount, voucher_no="V-2",
                           paid_on=TODAY, idempotency_key="pending-2")
    acc = scored(submitted_acceptance(project, reporter), "30.00")
    cs.conclude_acceptance(actor=officer, report_id=acc.pk, conclusion="fail", note="未完成", fault=True)
    assert Project.objects.get(pk=project.pk).state == "failed"
    assert not RecoveryOrder.objects.filter(agreement__project=project).exists()


# ---- 延期 ----------------------------------------------------------------------------------------------------------


def at(day: datetime.date):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))


def test_extension_at_least_three_months_before_the_end(officer, project, reporter):
    project.end_date = datetime.date(2027, 11, 30)
    project.save(update_fields=["end_date"])
    with pytest.raises(TransitionRefused, match="2027-08-30"):
        cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备到货延迟",
                             now=at(datetime.date(2027, 8, 31)))
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备到货延迟",
                               now=at(datetime.date(2027, 8, 30)))
    assert (ext.original_end_date, ext.new_end_date) == (datetime.date(2027, 11, 30), datetime.date(2028, 5, 30))


@pytest.mark.parametrize("months", [0, 13, "x", "1.5"])
def test_extension_is_one_to_twelve_months(project, reporter, months):
    with pytest.raises(InvalidInput):
        cs.request_extension(actor=reporter, project_id=project.pk, months=months, reason="r")
    assert not ExtensionRequest.objects.exists()


def test_one_extension_per_project_and_approval_moves_the_end_date(officer, project, reporter):
    end = project.end_date
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=12, reason="合作单位调整")
    with pytest.raises(TransitionRefused, match="一次"):
        cs.request_extension(actor=reporter, project_id=project.pk, months=3, reason="again")
    with pytest.raises(PermissionRefused):
        cs.decide_extension(actor=reporter, request_id=ext.pk, approve=True)
    ext = cs.decide_extension(actor=officer, request_id=ext.pk, approve=True, note="同意")
    assert ext.state == "approved"
    project.refresh_from_db()
    assert project.end_date == cs.add_months(end, 12)
    assert cs.acceptance_due_date(project) == cs.add_months(end, 18)


def test_a_rejected_extension_keeps_the_end_date_and_is_still_the_one(officer, project, reporter):
    end = project.end_date
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=2, reason="r")
    with pytest.raises(InvalidInput):
        cs.decide_extension(actor=officer, request_id=ext.pk, approve=False)
    cs.decide_extension(actor=officer, request_id=ext.pk, approve=False, note="理由不充分")
    assert Project.objects.get(pk=project.pk).end_date == end
    with pytest.raises(TransitionRefused):
        cs.request_extension(actor=reporter, project_id=project.pk, months=2, reason="again")


def test_the_signed_agreement_fixes_the_projects_period(officer):
    project = established_project(officer=officer)
    fs.update_agreement(actor=officer, agreement_id=project.agreement.pk,
                        data={"start_date": datetime.date(2027, 3, 1), "end_date": datetime.date(2029, 2, 28)})
    signed(project, officer)
    project.refresh_from_db()
    assert (project.start_date, project.end_date) == (datetime.date(2027, 3, 1), datetime.date(2029, 2, 28))
    assert cs.acceptance_due_date(project) == datetime.date(2029, 8, 28)


def test_an_extension_approved_before_signing_still_holds_after_it(officer):
    project = established_project(officer=officer)
    reporter = UserFactory(roles=["applicant"], organization=project.organization)
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备采购周期长")
    cs.decide_extension(actor=officer, request_id=ext.pk, approve=True)
    fs.update_agreement(actor=officer, agreement_id=project.agreement.pk,
                        data={"start_date": datetime.date(2027, 3, 1), "end_date": datetime.date(2029, 2, 28)})
    signed(project, officer)
    project.refresh_from_db()
    assert project.end_date == datetime.date(2029, 8, 28)


def test_a_rectification_left_unanswered_is_concluded_once_its_date_has_passed(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    due = TODAY + datetime.timedelta(days=20)
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充测试数据",
                                 rectify_due=due)
    assert cs.allowed_conclusions(report) == {}
    with pytest.raises(TransitionRefused, match="整改期限"):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="逾期未整改",
                            now=at(due))
    later = due + datetime.timedelta(days=1)
    assert list(cs.allowed_conclusions(report, later)) == ["fail"]
    with pytest.raises(TransitionRefused):
        cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass", now=at(later))
    report = cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="逾期未整改",
                                 fault=True, now=at(later))
    assert report.state == "failed"
    assert Project.objects.get(pk=project.pk).state == "terminated"
    assert RecoveryOrder.objects.get(agreement__project=project).rule == "all"


def test_an_acceptance_rectification_left_unanswered_may_be_closed(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter))
    report = cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="rectify", note="补充")
    later = report.rectify_due + datetime.timedelta(days=1)
    assert list(cs.allowed_conclusions(report, later)) == ["fail", "close"]
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="close", note="逾期未整改，予以结题",
                           now=at(later))
    assert Project.objects.get(pk=project.pk).state == "closed"


def test_each_report_takes_its_own_kinds_of_file(officer, project, reporter):
    (report,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    with pytest.raises(InvalidInput):
        cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="audit_report",
                          uploaded=pdf_upload("审计报告.pdf"))
    assert not report.attachments.exists()


def test_the_tranche_and_the_recovery_carry_the_conclusions_time(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    when = at(TODAY + datetime.timedelta(days=3))
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass", now=when)
    assert TaskAgreement.objects.get(project=project).tranches.get(position=2).due_at == when
    acc = scored(submitted_acceptance(project, reporter), "30.00")
    later = at(TODAY + datetime.timedelta(days=9))
    cs.conclude_acceptance(actor=officer, report_id=acc.pk, conclusion="fail", note="未完成", fault=True, now=later)
    order = RecoveryOrder.objects.get(agreement__project=project)
    assert order.created_at == later and order.due_date == TODAY + datetime.timedelta(days=39)

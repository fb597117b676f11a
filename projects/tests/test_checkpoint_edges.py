"""Edges of 中期检查, 验收 and 延期 found in review: malformed or odd input is refused (never a 500) or stored as
people write it, late (re)submissions are accepted but flagged, a second expert round never overwrites the first
score, a pending extension does not outlive its project nor move the end date under an acceptance review, a
recovery is never silently dropped while a payment awaits approval; and, on PostgreSQL, concurrent conclusions,
terminations and extension approvals leave one consistent outcome."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from accounts.exceptions import DomainError, InvalidInput, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import AuditEvent, Notification
from funding import services as fs
from funding.models import RecoveryOrder, TaskAgreement
from funding.tests.factories import established_project
from funding.tests.test_money import pay, signed
from projects import services as project_services
from projects.checkpoints import services as cs
from projects.models import AcceptanceReport, ExtensionRequest, MidtermReport, Project
from projects.tests.factories import pdf_upload
from projects.tests.test_checkpoints import DUE, SPENDING, TODAY, scored, submitted_acceptance, submitted_midterm
from projects.tests.test_concurrency import run_concurrently

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def project(officer, clerk, approver):
    """As in test_checkpoints: signed, first tranche (60,000.00 of 100,000.00) paid."""
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    pay(project.agreement.tranches.get(position=1), clerk, approver)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def reporter(project):
    return UserFactory(roles=["applicant"], organization=project.organization)


def opened_midterm(project, officer):
    (report,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


def audit(obj, verb):
    return AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk),
                                     verb=verb)


# ---- input that used to crash --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", [[999999999], ["abc"], [None], [[1]]])
def test_opening_midterms_of_unknown_or_malformed_projects_is_refused(officer, project, ids):
    with pytest.raises(InvalidInput):
        cs.open_midterm(actor=officer, project_ids=[project.pk, *ids], due_date=DUE)
    assert not MidtermReport.objects.exists()


@pytest.mark.parametrize("kwargs", [
    {"targets": {"0": {"value": "1"}}},  # a dict of one row instead of a list of one
    {"targets": "x"},
    {"targets": 5},
    {"targets": ["1"]},
    {"targets": [None]},
    {"targets": [["1"]]},
    {"targets": [{"value": "1", "evidence": 5}]},
    {"targets": [{"value": ["1"]}]},
    {"spending": [{"fiscal": "1"}]},  # a list instead of {category: {...}}
    {"spending": "x"},
    {"spending": {"equipment": "100"}},
    {"spending": {"equipment": None}},
    {"spending": {"equipment": {"fiscal": {"a": 1}}}},
    {"progress": ["进展"]},
    {"progress": 12},
])
def test_figures_of_the_wrong_shape_are_refused_and_change_nothing(officer, project, reporter, kwargs):
    report = opened_midterm(project, officer)
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=report.pk, **kwargs)
    fresh = MidtermReport.objects.get(pk=report.pk)
    assert (fresh.targets, fresh.spending, fresh.progress) == (report.targets, report.spending, "")


def test_acceptance_figures_of_the_wrong_shape_are_refused(project, reporter):
    report = cs.start_acceptance(actor=reporter, project_id=project.pk)
    for kwargs in ({"targets": {"0": {"value": "1"}}}, {"spending": [1]}, {"summary": ["x"]}):
        with pytest.raises(InvalidInput):
            cs.save_acceptance(actor=reporter, report_id=report.pk, **kwargs)
    assert AcceptanceReport.objects.get(pk=report.pk).summary == ""


def test_spending_beyond_any_budget_is_refused_not_a_crash(officer, project, reporter):
    report = opened_midterm(project, officer)
    huge = {c: {"fiscal": "900000000000000", "self": "0"} for c in ("equipment", "business", "labour")}
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=report.pk, spending=huge)
    assert MidtermReport.objects.get(pk=report.pk).spent_fiscal == Decimal("0.00")


@pytest.mark.parametrize("typed,stored", [
    ("1e3", "1000"), ("-0", "0"), ("0.00000001", "0.00000001"), ("１２", "12"), ("2.50", "2.5"), ("1E+2", "100"),
    (" 3 ", "3"), ("0", "0"),
])
def test_target_values_are_stored_as_people_write_them(officer, project, reporter, typed, stored):
    report = cs.save_midterm(actor=reporter, report_id=opened_midterm(project, officer).pk,
                             targets=[{"value": typed}])
    assert report.targets[0]["value"] == stored


@pytest.mark.parametrize("typed", ["NaN", "sNaN", "Infinity", "-1", "1e12", "1,2,3x", "一"])
def test_impossible_target_values_are_refused(officer, project, reporter, typed):
    with pytest.raises(InvalidInput):
        cs.save_midterm(actor=reporter, report_id=opened_midterm(project, officer).pk, targets=[{"value": typed}])


def test_odd_amounts_are_exact_and_never_negative_zero(officer, project, reporter):
    report = cs.save_midterm(actor=reporter, report_id=opened_midterm(project, officer).pk, spending={
        "equipment": {"fiscal": "1e3", "self": "-0"}, "business": {"fiscal": "0.10", "self": "-0.00"},
        "labour": {"fiscal": "１２", "self": "0"}})
    assert [(r["fiscal"], r["self"]) for r in report.spending] == [("1000.00", "0.00"), ("0.10", "0.00"),
                                                                  ("12.00", "0.00")]
    assert (report.spent_fiscal, report.spent_self) == (Decimal("1012.10"), Decimal("0.00"))
    for bad in ("NaN", "0.001", "-0.01", "Infinity"):
        with pytest.raises(InvalidInput):
            cs.save_midterm(actor=reporter, report_id=report.pk, spending={"business": {"fiscal": bad}})
    assert MidtermReport.objects.get(pk=report.pk).spent_fiscal == Decimal("1012.10")


# ---- late (re)submission: accepted, flagged ------------------------------------------------------------------------


def officer_notice(officer, report):
    return Notification.objects.filter(recipient=officer, kind="checkpoint_submitted",
                                       target_id=str(report.pk)).order_by("-id").first()


def test_a_midterm_report_after_its_due_date_is_accepted_and_flagged(officer, project, reporter):
    report = opened_midterm(project, officer)
    cs.save_midterm(actor=reporter, report_id=report.pk, progress="进展", targets=[{"value": "1"}], spending=SPENDING)
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                      uploaded=pdf_upload("中期进展报告.pdf"))
    late = timezone.now() + datetime.timedelta(days=31)  # DUE is 30 days away
    report = cs.submit_midterm(actor=reporter, report_id=report.pk, now=late)
    assert report.state == "submitted"
    assert DUE.isoformat() in officer_notice(officer, report).body and "已超过" in officer_notice(officer, report).body
    assert audit(report, "submit").get().data == {"attempt": 1, "late": True}


def test_an_on_time_midterm_report_is_not_flagged(officer, project, reporter):
    report = submitted_midterm(project, officer, reporter)
    assert "已超过" not in officer_notice(officer, report).body
    assert audit(report, "submit").get().data == {"attempt": 1, "late": False}


def test_a_rectified_midterm_after_its_rectification_date_is_accepted_and_flagged(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    due = TODAY + datetime.timedelta(days=10)
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充测试", rectify_due=due)
    cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="rectification",
                      uploaded=pdf_upload("整改报告.pdf"))
    report = cs.submit_midterm(actor=reporter, report_id=report.pk,
                               now=timezone.now() + datetime.timedelta(days=11))
    assert report.state == "submitted" and report.attempt == 2
    body = officer_notice(officer, report).body
    assert "整改期限" in body and due.isoformat() in body
    assert audit(report, "submit").order_by("-id").first().data == {"attempt": 2, "late": True}
    # the bureau still concludes it
    assert cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass").state == "passed"


def test_a_rectified_acceptance_after_its_rectification_date_is_accepted_and_flagged(officer, project, reporter):
    report = scored(submitted_acceptance(project, reporter))
    due = TODAY + datetime.timedelta(days=10)
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="rectify", note="补充", rectify_due=due)
    cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind="rectification",
                      uploaded=pdf_upload("整改报告.pdf"))
    report = cs.submit_acceptance(actor=reporter, report_id=report.pk,
                                  now=timezone.now() + datetime.timedelta(days=11))
    body = officer_notice(officer, report).body
    assert report.state == "submitted" and "整改期限" in body and due.isoformat() in body
    assert audit(report, "submit").order_by("-id").first().data["late"] is True


# ---- attachments ---------------------------------------------------------------------------------------------------


def test_removed_files_do_not_count_and_the_first_rounds_files_stay_through_the_rectification(officer, project,
                                                                                               reporter):
    report = opened_midterm(project, officer)
    cs.save_midterm(actor=reporter, report_id=report.pk, progress="进展", targets=[{"value": "1"}], spending=SPENDING)
    first = cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                              uploaded=pdf_upload("中期进展报告.pdf"))
    cs.remove_attachment(actor=reporter, attachment_id=first.pk)
    with pytest.raises(InvalidInput, match="中期进展报告"):
        cs.submit_midterm(actor=reporter, report_id=report.pk)
    kept = cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="progress_report",
                             uploaded=pdf_upload("中期进展报告v2.pdf"))
    report = scored(cs.submit_midterm(actor=reporter, report_id=report.pk))
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充")
    with pytest.raises(TransitionRefused):  # what the experts reviewed stays
        cs.remove_attachment(actor=reporter, attachment_id=kept.pk)
    with pytest.raises(InvalidInput, match="整改报告"):  # the first round's files do not answer the rectification
        cs.submit_midterm(actor=reporter, report_id=report.pk)
    again = cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="rectification",
                              uploaded=pdf_upload("整改报告.pdf"))
    assert (kept.attempt, again.attempt) == (1, 2)
    assert cs.submit_midterm(actor=reporter, report_id=report.pk).state == "submitted"


# ---- the expert score ----------------------------------------------------------------------------------------------


def test_a_later_round_never_overwrites_or_erases_the_score(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter), "82.50")
    cs.record_expert_scores(report_kind="midterm", scores={report.pk: (None, 0)})
    cs.record_expert_scores(report_kind="midterm", scores={report.pk: (Decimal("40.00"), 3)})
    report.refresh_from_db()
    assert (report.expert_score, report.expert_review_count) == (Decimal("82.50"), 5)
    assert audit(report, "expert_score").count() == 1


# ---- a pending extension when the project ends or its acceptance is under review -----------------------------------


def test_terminating_a_project_closes_its_pending_extension(officer, project, reporter):
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备到货延迟")
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="单位注销")
    ext.refresh_from_db()
    assert ext.state == "rejected" and "单位注销" in ext.decision_note and ext.decided_by == officer
    assert not ExtensionRequest.objects.filter(state="submitted").exists()  # no longer pending for the bureau
    assert Project.objects.get(pk=project.pk).end_date == ext.original_end_date


def test_a_failed_midterm_closes_the_pending_extension(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter), "30.00")
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备到货延迟")
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="路线不可行")
    assert ExtensionRequest.objects.get(pk=ext.pk).state == "rejected"


def test_no_extension_is_approved_under_an_acceptance_review(officer, project, reporter):
    end = project.end_date
    cs.start_acceptance(actor=reporter, project_id=project.pk)  # a draft does not stop the request
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="补充试验")
    report = submitted_acceptance(project, reporter)
    with pytest.raises(TransitionRefused, match="验收"):
        cs.decide_extension(actor=officer, request_id=ext.pk, approve=True)
    assert Project.objects.get(pk=project.pk).end_date == end
    assert cs.decide_extension(actor=officer, request_id=ext.pk, approve=False, note="已申请验收").state == "rejected"
    assert AcceptanceReport.objects.get(pk=report.pk).state == "submitted"


def test_passing_the_acceptance_closes_a_pending_extension(officer, project, reporter):
    cs.start_acceptance(actor=reporter, project_id=project.pk)
    ext = cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="补充试验")
    report = scored(submitted_acceptance(project, reporter), "90.00")
    cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="pass")
    assert ExtensionRequest.objects.get(pk=ext.pk).state == "rejected"


# ---- recovery while a payment awaits approval ----------------------------------------------------------------------


@pytest.fixture
def signed_unpaid(officer, clerk):
    """Signed; the first tranche (60,000.00) recorded by finance, not yet approved: nothing paid."""
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    tranche = project.agreement.tranches.get(position=1)
    fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount=tranche.amount, voucher_no="V-1",
                           paid_on=TODAY, idempotency_key="pending-first-1")
    return Project.objects.get(pk=project.pk)


def test_a_recovery_is_deferred_not_dropped_when_the_only_payment_awaits_approval(client, officer, signed_unpaid):
    project = signed_unpaid
    reporter = UserFactory(roles=["applicant"], organization=project.organization)
    report = scored(submitted_midterm(project, officer, reporter), "30.00")
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="数据造假", fault=True)
    agreement = TaskAgreement.objects.get(project=project)
    assert audit(agreement, "recovery_deferred").exists()
    # the bureau is told to open it once finance decided the payment
    notice = Notification.objects.get(recipient=officer, kind="recovery_opened", target_id=str(agreement.pk))
    assert "全额追回" in notice.title + notice.body and "60,000.00" in notice.body
    client.force_login(officer)
    assert client.get(notice.link).status_code == 200
    assert not Notification.objects.filter(recipient__organization=project.organization, kind="recovery_opened").exists()


def test_spending_covering_what_is_paid_does_not_close_the_matter_while_a_payment_awaits(officer, project, reporter,
                                                                                         clerk):
    report = scored(submitted_midterm(project, officer, reporter))
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass")
    tranche = project.agreement.tranches.get(position=2)
    fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount=tranche.amount, voucher_no="V-2",
                           paid_on=TODAY, idempotency_key="pending-second")
    acc = cs.start_acceptance(actor=reporter, project_id=project.pk)
    spent_all = {**SPENDING, "labour": {"fiscal": "30000.00", "self": "0"}}  # 60,000.50 ≥ 60,000.00 paid so far
    cs.save_acceptance(actor=reporter, report_id=acc.pk, summary="总结", targets=[{"value": "1", "evidence": "样机"}],
                       spending=spent_all)
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=acc.pk, kind=kind,
                          uploaded=pdf_upload(f"{kind}.pdf"))
    acc = scored(cs.submit_acceptance(actor=reporter, report_id=acc.pk))
    cs.conclude_acceptance(actor=officer, report_id=acc.pk, conclusion="close", note="结题")
    agreement = TaskAgreement.objects.get(project=project)
    # once the 30,000.00 is approved, 29,999.50 of it is unspent: the recovery waits for it, it is not written off
    assert audit(agreement, "recovery_deferred").exists() and not audit(agreement, "nothing_to_recover").exists()


def test_the_conclusions_audit_names_the_fault_only_for_a_failure(officer, project, reporter):
    report = scored(submitted_midterm(project, officer, reporter))
    cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass", fault=True)
    assert audit(report, "pass").get().data["fault"] is False
    assert MidtermReport.objects.get(pk=report.pk).fault is False


# ---- under concurrent requests (PostgreSQL row locks) --------------------------------------------------------------

on_postgres = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency is exercised on PostgreSQL"),
]


def _apply(marks):
    def wrap(fn):
        for m in reversed(marks):
            fn = m(fn)
        return fn
    return wrap


def _race_project():
    officer = UserFactory(roles=["officer"])
    clerk_, approver_ = UserFactory(roles=["finance"]), UserFactory(roles=["finance"])
    project_ = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project_, officer)
    pay(project_.agreement.tranches.get(position=1), clerk_, approver_)
    reporter_ = UserFactory(roles=["applicant"], organization=project_.organization)
    return Project.objects.get(pk=project_.pk), officer, reporter_


def _only_refusals(results, winners):
    assert all(isinstance(r, (*winners, DomainError)) for r in results), results
    return [r for r in results if not isinstance(r, DomainError)]


@_apply(on_postgres)
def test_conflicting_midterm_conclusions_at_once_give_one_outcome():
    project_, officer, reporter_ = _race_project()
    report = scored(submitted_midterm(project_, officer, reporter_))
    calls = [lambda: cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="pass"),
             lambda: cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="x", fault=True),
             lambda: cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="y")] * 3
    won = _only_refusals(run_concurrently(*calls), (MidtermReport,))
    assert len(won) == 1
    report.refresh_from_db()
    project_.refresh_from_db()
    orders = RecoveryOrder.objects.filter(agreement__project=project_).count()
    if report.state == "failed":
        assert project_.state == "terminated" and orders == 1
    else:
        assert project_.state == "established" and orders == 0


@_apply(on_postgres)
def test_ten_acceptance_failures_at_once_open_one_recovery():
    project_, officer, reporter_ = _race_project()
    report = scored(submitted_acceptance(project_, reporter_), "20.00")
    won = _only_refusals(run_concurrently(*[
        lambda: cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="fail", note="未完成",
                                       fault=True) for _ in range(10)]), (AcceptanceReport,))
    assert len(won) == 1
    assert RecoveryOrder.objects.filter(agreement__project=project_).count() == 1
    assert Project.objects.get(pk=project_.pk).state == "failed"


@_apply(on_postgres)
def test_termination_and_a_failing_conclusion_at_once_end_the_project_once():
    project_, officer, reporter_ = _race_project()
    report = scored(submitted_midterm(project_, officer, reporter_))
    results = run_concurrently(
        lambda: project_services.terminate_project(actor=officer, project_id=project_.pk, reason="单位注销"),
        lambda: cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="fail", note="不可行"))
    won = _only_refusals(results, (Project, MidtermReport))
    assert len(won) == 1
    report.refresh_from_db()
    assert Project.objects.get(pk=project_.pk).state == "terminated"
    assert report.state in ("cancelled", "failed")
    assert RecoveryOrder.objects.filter(agreement__project=project_).count() == (report.state == "failed")
    assert TaskAgreement.objects.get(project=project_).state == "terminated"


@_apply(on_postgres)
def test_extension_approval_and_acceptance_submission_at_once_never_move_the_end_under_review():
    project_, officer, reporter_ = _race_project()
    end = project_.end_date
    acc = cs.start_acceptance(actor=reporter_, project_id=project_.pk)
    ext = cs.request_extension(actor=reporter_, project_id=project_.pk, months=6, reason="补充试验")
    cs.save_acceptance(actor=reporter_, report_id=acc.pk, summary="总结", targets=[{"value": "3", "evidence": "x"}],
                       spending=SPENDING)
    for kind in ("final_report", "spending_report", "audit_report"):
        cs.add_attachment(actor=reporter_, report_kind="acceptance", report_id=acc.pk, kind=kind,
                          uploaded=pdf_upload(f"{kind}.pdf"))
    results = run_concurrently(
        lambda: cs.decide_extension(actor=officer, request_id=ext.pk, approve=True),
        lambda: cs.submit_acceptance(actor=reporter_, report_id=acc.pk))
    _only_refusals(results, (ExtensionRequest, AcceptanceReport))
    ext.refresh_from_db()
    submitted = audit(acc, "submit").first()
    approved = audit(ext, "approve").first()
    if ext.state == "approved":  # approved first, then the acceptance was submitted against the new end date
        assert submitted is None or approved.pk < submitted.pk
        assert Project.objects.get(pk=project_.pk).end_date == cs.add_months(end, 6)
    else:
        assert submitted is not None and Project.objects.get(pk=project_.pk).end_date == end



@_apply(on_postgres)
def test_signing_while_the_project_is_terminated_is_one_outcome_never_a_deadlock():
    officer = UserFactory(roles=["officer"])
    for _ in range(3):
        project_ = established_project(granted=Decimal("100000.00"), officer=officer)
        admin = UserFactory(roles=["org_admin"], organization=project_.organization)
        fs.confirm_agreement(actor=admin, agreement_id=project_.agreement.pk)
        results = run_concurrently(
            lambda p=project_: fs.confirm_agreement(actor=officer, agreement_id=p.agreement.pk),
            lambda p=project_: project_services.terminate_project(actor=officer, project_id=p.pk, reason="单位注销"))
        assert all(isinstance(r, (Project, TaskAgreement, DomainError)) for r in results), results

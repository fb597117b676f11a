"""Funding's dated obligations on the deadline sweeper (funding.obligations): each kind climbs the whole ladder to
exactly the right people; meeting the obligation resolves its 督办 item on the next sweep; the recorder of a payment
is never asked to approve it; a partial repayment keeps a recovery overdue; working-day deadlines follow the holiday
calendar and are computed per batch, not per row."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.deadlines import Stage, end_of_day, get_kind
from activity.models import CalendarDay, Escalation, Notification, Reminder, ReminderPolicy
from activity.sweeper import ensure_policies
from activity.tests.ladder import climb, escalation, sent, sweep_at
from activity.workdays import add_workdays
from funding import budget as fb
from funding import services as fs
from funding import subsidy as fsub
from funding.models import Disbursement, FundingScheme, TaskAgreement
from projects import services as project_services
from projects.tests.factories import CallFactory, ProgramFactory, pdf_upload

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def due_after(moment, working_days: int) -> datetime.datetime:
    """The deadline ``working_days`` working days after the day of ``moment``, as activity.workdays counts."""
    return end_of_day(add_workdays(timezone.localdate(moment), working_days))


def org_admins_of(project) -> list:
    return list(project.organization.users.filter(groups__name="org_admin"))


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def project(officer, org, org_admin):
    return established_project(granted=D("100000.00"), officer=officer, organization=org)


@pytest.fixture
def stranger_admin(other_org):
    """An organisation admin elsewhere: never on another organisation's ladder."""
    return UserFactory(roles=["org_admin"], organization=other_org)


# ---- 任务书签订 ---------------------------------------------------------------------------------------------------

AGREEMENT = "agreement_unsigned"


def test_an_unsigned_agreement_climbs_to_both_sides(project, officer, org_admin, supervisor, stranger_admin):
    agreement = project.agreement
    due = due_after(agreement.created_at, 20)
    seen = climb(AGREEMENT, agreement.pk, due, owners=[org_admin, officer], responsible=[officer, org_admin],
                 supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation(AGREEMENT, agreement.pk)
    assert esc.level == Escalation.Level.RED and agreement.number in esc.title
    assert esc.link.endswith(f"/agreements/{agreement.pk}/")
    note = Notification.objects.get(recipient=org_admin, reminder__stage="d7")
    assert note.link.endswith(f"/agreements/{agreement.pk}/") and project.title in note.title


def test_once_the_organisation_confirmed_only_the_officers_are_reminded(project, officer, org_admin, supervisor):
    agreement = fs.confirm_agreement(actor=org_admin, agreement_id=project.agreement.pk)
    assert agreement.state == TaskAgreement.State.ORG_CONFIRMED
    climb(AGREEMENT, agreement.pk, due_after(agreement.created_at, 20), owners=[officer],
          responsible=[officer, org_admin], supervisors=[supervisor])
    assert escalation(AGREEMENT, agreement.pk).holder == "业务处室"


def test_once_the_bureau_confirmed_only_the_organisation_is_reminded(project, officer, org_admin, supervisor):
    agreement = fs.confirm_agreement(actor=officer, agreement_id=project.agreement.pk)
    climb(AGREEMENT, agreement.pk, due_after(agreement.created_at, 20), owners=[org_admin],
          responsible=[officer, org_admin], supervisors=[supervisor])
    assert escalation(AGREEMENT, agreement.pk).holder == project.organization.name


def test_signing_resolves_the_agreements_escalation(project, officer, org_admin):
    agreement = project.agreement
    due = due_after(agreement.created_at, 20)
    sweep_at(due + 4 * DAY, kinds=[AGREEMENT])
    esc = escalation(AGREEMENT, agreement.pk)
    assert esc.level == Escalation.Level.YELLOW and esc.resolved_at is None
    fs.confirm_agreement(actor=org_admin, agreement_id=agreement.pk)
    sweep_at(due + 5 * DAY, kinds=[AGREEMENT])
    assert escalation(AGREEMENT, agreement.pk).resolved_at is None  # half confirmed is not signed
    fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
    sweep_at(due + 20 * DAY, kinds=[AGREEMENT])
    esc.refresh_from_db()
    assert esc.resolved_at is not None and esc.level == Escalation.Level.YELLOW
    assert sent(AGREEMENT, agreement.pk, Stage.RED) == set()


def test_nothing_before_the_first_window(project):
    agreement = project.agreement
    sweep_at(due_after(agreement.created_at, 20) - 7 * DAY - HOUR, kinds=[AGREEMENT])
    assert not Reminder.objects.filter(kind=AGREEMENT).exists()


# ---- 拨付复核 -----------------------------------------------------------------------------------------------------

PAYMENT = "disbursement_unapproved"


@pytest.fixture
def signed_project(project, officer):
    signed(project, officer)
    return project


def record(project, clerk, key="obl-pay-0001"):
    tranche = project.agreement.tranches.get(position=1)
    return fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="60000.00", voucher_no="V-OBL-1",
                                  paid_on=timezone.localdate(), idempotency_key=key)


def test_a_recorded_payment_climbs_and_its_recorder_is_never_asked_to_approve_it(
        signed_project, officer, clerk, approver, finance_user, supervisor):
    d = record(signed_project, clerk)
    seen = climb(PAYMENT, d.pk, due_after(d.recorded_at, 3), owners=[approver, finance_user],
                 responsible=[clerk, approver, finance_user, officer], supervisors=[supervisor])
    assert set(seen) == {"d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    assert clerk.pk not in seen["d1"] | seen[Stage.OVERDUE]
    note = Notification.objects.get(recipient=approver, reminder__stage=Stage.OVERDUE)
    assert "60,000.00 元" in note.title and note.link.endswith("/queue/")
    assert escalation(PAYMENT, d.pk).holder == "财务"


def test_a_lone_finance_user_is_not_reminded_to_approve_his_own_record(signed_project, officer, clerk, supervisor):
    d = record(signed_project, clerk)
    seen = climb(PAYMENT, d.pk, due_after(d.recorded_at, 3), owners=[], responsible=[clerk, officer],
                 supervisors=[supervisor])
    assert seen["d1"] == seen[Stage.OVERDUE] == set()


def test_approving_the_payment_resolves_its_escalation(signed_project, clerk, approver):
    d = record(signed_project, clerk)
    due = due_after(d.recorded_at, 3)
    sweep_at(due + HOUR, kinds=[PAYMENT])
    esc = escalation(PAYMENT, d.pk)
    assert esc.level == Escalation.Level.OVERDUE and esc.resolved_at is None
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    sweep_at(due + 2 * DAY + HOUR, kinds=[PAYMENT])
    esc.refresh_from_db()
    assert esc.resolved_at is not None
    assert sent(PAYMENT, d.pk, Stage.YELLOW) == set()


# ---- working days --------------------------------------------------------------------------------------------------


def test_a_payment_recorded_before_national_day_is_due_after_the_holiday(signed_project, clerk, approver):
    d = record(signed_project, clerk)
    recorded = datetime.datetime(2026, 9, 30, 16, 0, tzinfo=timezone.get_current_timezone())
    Disbursement.objects.filter(pk=d.pk).update(recorded_at=recorded)
    # 10-01..10-07 are off; 10-08, 10-09 and 10-10 (a Saturday worked in lieu) are the three working days
    due = end_of_day(datetime.date(2026, 10, 10))
    sweep_at(datetime.datetime(2026, 10, 9, 23, 0, tzinfo=recorded.tzinfo), kinds=[PAYMENT])
    assert not Reminder.objects.filter(kind=PAYMENT).exists()  # a calendar count would have been due on 10-03
    sweep_at(datetime.datetime(2026, 10, 10, 9, 0, tzinfo=recorded.tzinfo), kinds=[PAYMENT])
    assert sent(PAYMENT, d.pk, "d1") == {approver.pk}
    assert Reminder.objects.get(kind=PAYMENT, object_id=d.pk, stage="d1").due_at == due
    sweep_at(due - HOUR, kinds=[PAYMENT])
    assert not Reminder.objects.filter(kind=PAYMENT, stage=Stage.OVERDUE).exists()
    sweep_at(due + HOUR, kinds=[PAYMENT])
    assert sent(PAYMENT, d.pk, Stage.OVERDUE) == {approver.pk}


def test_the_bureaus_calendar_entries_and_the_policys_service_days_move_the_deadline(
        signed_project, clerk, approver):
    d = record(signed_project, clerk)
    kind = get_kind(PAYMENT)
    policy = ensure_policies()[PAYMENT]
    base = timezone.localdate(d.recorded_at)
    (before,) = kind.obligations([d], policy)
    assert before.due_at == due_after(d.recorded_at, 3)
    CalendarDay.objects.create(date=add_workdays(base, 1), is_workday=False, note="临时停工")
    (ob,) = kind.obligations([d], policy)
    assert ob.due_at > before.due_at and ob.due_at == due_after(d.recorded_at, 3)
    ReminderPolicy.objects.filter(kind=PAYMENT).update(service_days=10)
    policy.refresh_from_db()
    (ob,) = kind.obligations([d], policy)
    assert ob.due_at == due_after(d.recorded_at, 10)
    # the candidates' cutoff never leaves out a row that is due by the horizon
    assert list(kind.candidates(ob.due_at, policy)) == [d]
    assert list(kind.candidates(ob.due_at - 10 * DAY, policy)) == []


def test_the_number_of_queries_does_not_grow_with_the_batch(officer, clerk, approver):
    rows = []
    for i in range(4):
        project = established_project(granted=D("100000.00"), officer=officer)
        signed(project, officer)
        d = record(project, clerk, key=f"obl-batch-{i:04d}")
        Disbursement.objects.filter(pk=d.pk).update(recorded_at=d.recorded_at - datetime.timedelta(days=i * 9))
        rows.append(d)
    kind, policy = get_kind(PAYMENT), ensure_policies()[PAYMENT]
    with CaptureQueriesContext(connection) as one:
        kind.obligations(rows[:1], policy)
    with CaptureQueriesContext(connection) as four:
        obligations = kind.obligations(rows, policy)
    assert len(four) == len(one) and len(obligations) == 4
    assert len({ob.due_at for ob in obligations}) == 4


# ---- 追回 ----------------------------------------------------------------------------------------------------------

RECOVERY = "recovery_due"


@pytest.fixture
def order(signed_project, officer, clerk, approver):
    from .test_money import pay

    pay(signed_project.agreement.tranches.get(position=1), clerk, approver)  # 60,000.00 paid
    project_services.terminate_project(actor=officer, project_id=signed_project.pk, reason="技术路线不可行")
    return fs.open_recovery(actor=officer, agreement_id=signed_project.agreement.pk, rule="all", reason="全额追回",
                            due_date=timezone.localdate() + datetime.timedelta(days=30))


def repay(order, clerk, approver, amount, key):
    r = fs.record_repayment(actor=clerk, order_id=order.pk, amount=amount, voucher_no=f"HK-{key}",
                            received_on=timezone.localdate(), idempotency_key=f"obl-repay-{key}")
    return fs.approve_repayment(actor=approver, repayment_id=r.pk)


def test_a_recovery_order_climbs_to_the_organisation_then_the_bureau(
        order, officer, clerk, approver, supervisor, stranger_admin):
    admins = org_admins_of(order.agreement.project)
    assert len(admins) == 2  # the fixture's and the one who signed
    seen = climb(RECOVERY, order.pk, end_of_day(order.due_date), owners=admins,
                 responsible=[clerk, approver, officer, *admins], supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation(RECOVERY, order.pk)
    assert "60,000.00 元" in esc.title and esc.holder == order.agreement.project.organization.name
    note = Notification.objects.get(recipient=admins[0], reminder__stage="d7")
    assert note.link.endswith(f"/recoveries/{order.pk}/") and "60,000.00 元" in note.title


def test_a_partial_repayment_keeps_the_recovery_overdue_and_a_full_one_resolves_it(order, clerk, approver):
    due = end_of_day(order.due_date)
    sweep_at(due + HOUR, kinds=[RECOVERY])
    esc = escalation(RECOVERY, order.pk)
    assert esc.level == Escalation.Level.OVERDUE
    repay(order, clerk, approver, "10000.01", "1")
    sweep_at(due + 4 * DAY, kinds=[RECOVERY])
    esc.refresh_from_db()
    assert esc.resolved_at is None and esc.level == Escalation.Level.YELLOW
    assert "49,999.99 元" in esc.title  # what is still owed, to the fen
    repay(order, clerk, approver, "49999.99", "2")
    sweep_at(due + 5 * DAY, kinds=[RECOVERY])
    esc.refresh_from_db()
    assert esc.resolved_at is not None
    sweep_at(due + 30 * DAY, kinds=[RECOVERY])
    assert sent(RECOVERY, order.pk, Stage.RED) == set()


def test_a_repayment_awaiting_approval_does_not_count(order, clerk):
    fs.record_repayment(actor=clerk, order_id=order.pk, amount="60000.00", voucher_no="HK-X",
                        received_on=timezone.localdate(), idempotency_key="obl-repay-pending")
    sweep_at(end_of_day(order.due_date) + HOUR, kinds=[RECOVERY])
    assert escalation(RECOVERY, order.pk).resolved_at is None


# ---- 预算调整审批 ---------------------------------------------------------------------------------------------------

ADJUSTMENT = "budget_adjustment_decision"


@pytest.fixture
def adjustment(signed_project, applicant):
    own = {"equipment": "200000.00", "business": "150000.00", "labour": "50000.00"}
    agreement = signed_project.agreement
    lines = {line.category: {"fiscal": str(line.fiscal_amount), "self": own[line.category]}
             for line in agreement.budget_lines.all()}
    equipment = D(lines["equipment"]["fiscal"])
    business = D(lines["business"]["fiscal"])
    lines["equipment"]["fiscal"] = str(equipment - D("20000.00"))
    lines["business"]["fiscal"] = str(business + D("20000.00"))
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, lines=lines, reason="设备改为外协测试")
    assert adj.state == "pending"
    return adj


def test_a_pending_budget_adjustment_climbs_to_the_officers(adjustment, officer, org_admin, supervisor):
    other_officer = UserFactory(roles=["officer"])
    seen = climb(ADJUSTMENT, adjustment.pk, due_after(adjustment.requested_at, 5), owners=[officer, other_officer],
                 responsible=[officer, other_officer], supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    assert org_admin.pk not in set().union(*seen.values())
    assert adjustment.number in escalation(ADJUSTMENT, adjustment.pk).title


def test_deciding_the_adjustment_resolves_its_escalation(adjustment, officer):
    due = due_after(adjustment.requested_at, 5)
    sweep_at(due + HOUR, kinds=[ADJUSTMENT])
    esc = escalation(ADJUSTMENT, adjustment.pk)
    assert esc.resolved_at is None
    fb.reject_adjustment(actor=officer, adjustment_id=adjustment.pk, note="设备费调减依据不足")
    sweep_at(due + 3 * DAY + HOUR, kinds=[ADJUSTMENT])
    esc.refresh_from_db()
    assert esc.resolved_at is not None and sent(ADJUSTMENT, adjustment.pk, Stage.YELLOW) == set()


# ---- 后补助核定 -----------------------------------------------------------------------------------------------------

SUBSIDY = "subsidy_claim_verification"


@pytest.fixture
def claim(officer, org, org_admin, applicant):
    program = ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")
    FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=D("30"),
                                 subsidy_cap=D("200000.00"))
    project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    signed(project, officer)
    return fsub.submit_claim(actor=applicant, agreement_id=project.agreement.pk, claimed_expense="1000000.00",
                             audit_report=pdf_upload("专项审计报告.pdf"), note="2025年度研发费用")


def test_a_submitted_subsidy_claim_climbs_to_the_officers(claim, officer, supervisor):
    seen = climb(SUBSIDY, claim.pk, due_after(claim.submitted_at, 20), owners=[officer], responsible=[officer],
                 supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    note = Notification.objects.get(recipient=officer, reminder__stage=Stage.OVERDUE)
    assert note.link.endswith(f"/subsidy-claims/{claim.pk}/") and "1,000,000.00 元" in note.title


def test_verifying_the_claim_resolves_its_escalation(claim, officer):
    due = due_after(claim.submitted_at, 20)
    sweep_at(due + HOUR, kinds=[SUBSIDY])
    esc = escalation(SUBSIDY, claim.pk)
    assert esc.resolved_at is None
    fsub.verify_claim(actor=officer, claim_id=claim.pk, verified_expense="900000.00")
    sweep_at(due + DAY, kinds=[SUBSIDY])
    esc.refresh_from_db()
    assert esc.resolved_at is not None


def test_a_returned_claim_stops_the_clock_and_a_resubmission_starts_it_again(claim, officer, applicant):
    first_due = due_after(claim.submitted_at, 20)
    sweep_at(first_due + HOUR, kinds=[SUBSIDY])
    fsub.return_claim(actor=officer, claim_id=claim.pk, reason="审计报告缺少附表")
    sweep_at(first_due + DAY, kinds=[SUBSIDY])
    assert escalation(SUBSIDY, claim.pk).resolved_at is not None
    resubmitted_at = first_due + 2 * DAY
    with time_machine.travel(resubmitted_at, tick=False):
        again = fsub.submit_claim(actor=applicant, agreement_id=claim.agreement_id, claimed_expense="950000.00",
                                  audit_report=pdf_upload("专项审计报告（补正）.pdf"))
    new_due = due_after(again.submitted_at, 20)
    sweep_at(new_due - DAY + HOUR, kinds=[SUBSIDY])
    assert Reminder.objects.filter(kind=SUBSIDY, object_id=claim.pk, due_at=new_due, stage="d1").exists()

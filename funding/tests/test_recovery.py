"""终止 and 追回 through the services: terminating a project ends its 任务书 and cancels what is unpaid; a recovery
order takes back the unspent (or, through the organisation's fault, all) fiscal funds, repaid in two-person
records, to the fen; an optional 失信 record bars the organisation's next submissions."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.models import CreditRecord
from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import RecoveryOrder, Repayment, TaskAgreement, Tranche
from projects import services as project_services

from .factories import established_project
from .test_money import pay, signed

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
LATER = TODAY + datetime.timedelta(days=30)


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def paid_project(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    pay(project.agreement.tranches.get(position=1), clerk, approver)  # 60,000.00 paid
    return project


def test_terminating_a_project_ends_its_agreement_and_cancels_what_is_unpaid(officer, paid_project):
    applicant = UserFactory(roles=["applicant"], organization=paid_project.organization)
    with pytest.raises(PermissionRefused):
        project_services.terminate_project(actor=applicant, project_id=paid_project.pk, reason="x")
    with pytest.raises(InvalidInput):
        project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="")
    project = project_services.terminate_project(actor=officer, project_id=paid_project.pk,
                                                 reason="承担单位擅自变更研究内容", fault=True)
    assert project.state == "terminated" and project.end_reason == "承担单位擅自变更研究内容"
    agreement = TaskAgreement.objects.get(pk=paid_project.agreement.pk)
    assert agreement.state == "terminated"
    assert list(agreement.tranches.values_list("state", flat=True)) == ["paid", "cancelled", "cancelled"]
    with pytest.raises(TransitionRefused):
        project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="再次")


def test_a_payment_awaiting_approval_keeps_its_tranche_due(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="60000.00", voucher_no="V1", paid_on=TODAY,
                               idempotency_key="pending-0001")
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="终止")
    assert Tranche.objects.get(pk=first.pk).state == "due"
    with pytest.raises(TransitionRefused):  # a recovery waits for finance's decision on the pending payment
        fs.open_recovery(actor=officer, agreement_id=project.agreement.pk, rule="all", reason="追回", due_date=LATER)
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    order = fs.open_recovery(actor=officer, agreement_id=project.agreement.pk, rule="all", reason="追回",
                             due_date=LATER)
    assert order.amount_due == Decimal("60000.00")


def test_recovery_of_the_unspent_funds_to_the_fen(officer, paid_project, clerk, approver):
    project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="技术路线不可行")
    agreement = paid_project.agreement
    with pytest.raises(InvalidInput):  # the audited spending is needed
        fs.open_recovery(actor=officer, agreement_id=agreement.pk, rule="unspent", reason="结余追回", due_date=LATER)
    with pytest.raises(InvalidInput):  # not more than was paid
        fs.open_recovery(actor=officer, agreement_id=agreement.pk, rule="unspent", reason="结余追回",
                         due_date=LATER, spent_amount="60000.01")
    order = fs.open_recovery(actor=officer, agreement_id=agreement.pk, rule="unspent", reason="结余追回",
                             due_date=LATER, spent_amount="41234.56")
    assert (order.paid_at_order, order.spent_amount, order.amount_due) == (
        Decimal("60000.00"), Decimal("41234.56"), Decimal("18765.44"))
    with pytest.raises(TransitionRefused):  # one open order per agreement
        fs.open_recovery(actor=officer, agreement_id=agreement.pk, rule="all", reason="再开", due_date=LATER)
    r1 = fs.record_repayment(actor=clerk, order_id=order.pk, amount="10000.00", voucher_no="HK-1", received_on=TODAY,
                             idempotency_key="repay-00001")
    assert fs.record_repayment(actor=clerk, order_id=order.pk, amount="10000.00", voucher_no="HK-1",
                               received_on=TODAY, idempotency_key="repay-00001").pk == r1.pk  # idempotent
    with pytest.raises(InvalidInput):  # beyond what is outstanding with the pending one
        fs.record_repayment(actor=clerk, order_id=order.pk, amount="8765.45", voucher_no="HK-2", received_on=TODAY,
                            idempotency_key="repay-00002")
    with pytest.raises(PermissionRefused):  # two people
        fs.approve_repayment(actor=clerk, repayment_id=r1.pk)
    fs.approve_repayment(actor=approver, repayment_id=r1.pk)
    r2 = fs.record_repayment(actor=clerk, order_id=order.pk, amount="8765.44", voucher_no="HK-2", received_on=TODAY,
                             idempotency_key="repay-00002")
    fs.approve_repayment(actor=approver, repayment_id=r2.pk)
    order.refresh_from_db()
    assert order.state == "settled" and order.repaid_total == order.amount_due and order.settled_at
    with pytest.raises(TransitionRefused):
        fs.record_repayment(actor=clerk, order_id=order.pk, amount="0.01", voucher_no="HK-3", received_on=TODAY,
                            idempotency_key="repay-00003")
    # the database holds the line too
    with pytest.raises(IntegrityError), transaction.atomic():
        RecoveryOrder.objects.filter(pk=order.pk).update(repaid_total=Decimal("18765.45"))
    assert Repayment.objects.count() == 2


def test_all_of_it_through_the_organisations_fault_with_a_credit_record(officer, paid_project):
    project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="弄虚作假", fault=True)
    order = fs.open_recovery(actor=officer, agreement_id=paid_project.agreement.pk, rule="all", reason="弄虚作假，全额追回",
                             due_date=LATER, credit={"severity": "serious", "decision_no": "科信〔2026〕9号",
                                                     "penalty_end": (TODAY + datetime.timedelta(days=3 * 365))})
    assert order.amount_due == Decimal("60000.00")
    record = CreditRecord.objects.get(pk=order.credit_record_id)
    assert record.organization_id == paid_project.organization_id and record.is_running_on(TODAY)


def test_no_recovery_for_a_running_project_nor_by_finance(officer, paid_project, clerk):
    with pytest.raises(TransitionRefused):
        fs.open_recovery(actor=officer, agreement_id=paid_project.agreement.pk, rule="all", reason="x", due_date=LATER)
    project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="终止")
    with pytest.raises(PermissionRefused):
        fs.open_recovery(actor=clerk, agreement_id=paid_project.agreement.pk, rule="all", reason="x", due_date=LATER)
    with pytest.raises(InvalidInput):
        fs.open_recovery(actor=officer, agreement_id=paid_project.agreement.pk, rule="all", reason="x",
                         due_date=TODAY - datetime.timedelta(days=1))
    assert not RecoveryOrder.objects.exists()


def test_a_stopped_horse_race_team_ends_its_agreement_too(officer):
    from projects.challenges import services as jb
    from projects.tests.test_challenge_projects import awarded, fail_first_milestone

    _challenge, (a, _b) = awarded(officer, n=2)
    m1 = fail_first_milestone(a, officer)
    jb.stop_project(actor=officer, project_id=a.pk, milestone_id=m1.pk, reason="淘汰")
    assert TaskAgreement.objects.get(project=a).state == "terminated"
    assert set(Tranche.objects.filter(agreement__project=a).values_list("state", flat=True)) == {"cancelled"}

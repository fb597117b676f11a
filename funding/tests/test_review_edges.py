"""Review of the money's edges: the running totals equal the sums of the disbursement rows to the fen after any
sequence of record / approve / reject / reverse; one fen and the largest amount; idempotency keys across tranches,
rejected records and reversals; reversals of reversals and double reversals; who confirms an agreement."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q, Sum

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import Disbursement, TaskAgreement, Tranche
from projects.tests.test_concurrency import run_concurrently

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
D = Disbursement
CENT = Decimal("0.01")


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


def sign(agreement, officer):
    admin = UserFactory(roles=["org_admin"], organization=agreement.project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)


def one_tranche_agreement(officer, amount, condition="signing"):
    """A signed agreement of ``amount`` paid in one tranche on signing."""
    agreement = established_project(officer=officer, granted=Decimal(amount)).agreement
    fs.set_tranches(actor=officer, agreement_id=agreement.pk,
                    tranches=[{"name": "全额", "amount": str(amount), "condition": condition}])
    return sign(agreement, officer)


_n = iter(range(1, 10**6))


def record(clerk, tranche, amount, key=None, voucher=None):
    i = next(_n)
    return fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount=amount, voucher_no=voucher or f"V{i:06d}",
                                  paid_on=TODAY, idempotency_key=key or f"key-{i:08d}")


def reverse(clerk, d, key=None, voucher=None):
    i = next(_n)
    return fs.reverse_disbursement(actor=clerk, disbursement_id=d.pk, voucher_no=voucher or f"R{i:06d}",
                                   paid_on=TODAY, idempotency_key=key or f"rev-{i:08d}", note="银行退回")


def sums_from_rows(agreement_id) -> tuple[Decimal, Decimal]:
    """(recorded, paid) recomputed from the Disbursement rows alone."""
    zero = Decimal("0.00")
    rows = D.objects.filter(agreement_id=agreement_id)
    recorded = rows.filter(kind=D.Kind.PAYMENT, state=D.State.RECORDED).aggregate(s=Sum("amount"))["s"] or zero
    paid = rows.filter(kind=D.Kind.PAYMENT, state=D.State.APPROVED).aggregate(s=Sum("amount"))["s"] or zero
    taken_back = rows.filter(kind=D.Kind.REVERSAL, state=D.State.APPROVED).aggregate(s=Sum("amount"))["s"] or zero
    return recorded, paid - taken_back


def assert_totals_match_rows(agreement_id):
    agreement = TaskAgreement.objects.get(pk=agreement_id)
    recorded, paid = sums_from_rows(agreement_id)
    assert (agreement.recorded_total, agreement.paid_total) == (recorded, paid)
    assert agreement.paid_total + agreement.recorded_total <= agreement.fiscal_amount
    for t in agreement.tranches.all():
        approved = D.objects.filter(tranche=t, state=D.State.APPROVED)
        plus = approved.filter(kind=D.Kind.PAYMENT).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        minus = approved.filter(kind=D.Kind.REVERSAL).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
        assert t.paid_amount == plus - minus, t
        assert t.state == (Tranche.State.PAID if t.paid_amount == t.amount else Tranche.State.DUE), t
    return agreement


# ---- the running totals against the rows ----------------------------------------------------------------------


def test_after_any_sequence_the_totals_equal_the_sums_of_the_rows_to_the_fen(officer, clerk, approver):
    agreement = one_tranche_agreement(officer, "1000.03")
    t = agreement.tranches.get()
    a = record(clerk, t, "0.01")
    b = record(clerk, t, "333.33")
    c = record(clerk, t, "0.02")
    assert_totals_match_rows(agreement.pk)
    fs.approve_disbursement(actor=approver, disbursement_id=a.pk)
    fs.reject_disbursement(actor=approver, disbursement_id=b.pk, note="金额有误")
    fs.approve_disbursement(actor=approver, disbursement_id=c.pk)
    assert_totals_match_rows(agreement.pk)
    r = reverse(approver, a)  # recorded by the approver, so the clerk approves it
    assert_totals_match_rows(agreement.pk)  # a pending reversal changes nothing yet
    fs.approve_disbursement(actor=clerk, disbursement_id=r.pk)
    assert_totals_match_rows(agreement.pk)
    rest = record(clerk, t, "1000.01")  # 1000.03 − 0.02 paid
    with pytest.raises(InvalidInput):
        record(clerk, t, "0.01")  # not a fen more, while the rest awaits approval
    fs.approve_disbursement(actor=approver, disbursement_id=rest.pk)
    agreement = assert_totals_match_rows(agreement.pk)
    assert agreement.paid_total == agreement.fiscal_amount == Decimal("1000.03")
    assert agreement.tranches.get().state == Tranche.State.PAID
    r2 = reverse(clerk, c)
    fs.reject_disbursement(actor=approver, disbursement_id=r2.pk, note="不需冲正")
    assert_totals_match_rows(agreement.pk)
    r3 = reverse(clerk, c)  # a rejected reversal does not block a new one
    fs.approve_disbursement(actor=approver, disbursement_id=r3.pk)
    agreement = assert_totals_match_rows(agreement.pk)
    assert agreement.paid_total == Decimal("1000.01")
    assert agreement.tranches.get().state == Tranche.State.DUE


def test_one_fen_and_the_largest_amount_are_paid_exactly(officer, clerk, approver):
    big = "9999999999999.99"
    agreement = one_tranche_agreement(officer, big)
    t = agreement.tranches.get()
    with pytest.raises(InvalidInput):
        record(clerk, t, "10000000000000.00")
    with pytest.raises(InvalidInput):
        record(clerk, t, "0.001")
    tenth = record(clerk, t, 0.1)  # a float is taken at its decimal value, never its binary one
    assert tenth.amount == Decimal("0.10") and str(tenth.amount) == "0.10"
    fs.reject_disbursement(actor=approver, disbursement_id=tenth.pk, note="测试")
    d = record(clerk, t, "9999999999999.98")
    fen = record(clerk, t, "0.01")
    for x in (d, fen):
        fs.approve_disbursement(actor=approver, disbursement_id=x.pk)
    agreement = assert_totals_match_rows(agreement.pk)
    assert agreement.paid_total == Decimal(big) and agreement.unpaid == Decimal("0.00")
    r = reverse(clerk, fen)
    fs.approve_disbursement(actor=approver, disbursement_id=r.pk)
    agreement = assert_totals_match_rows(agreement.pk)
    assert agreement.paid_total == Decimal("9999999999999.98")


# ---- four eyes, twice, reversal of a reversal ------------------------------------------------------------------


def test_the_recorder_never_approves_and_nothing_is_decided_twice(officer, clerk, approver):
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    d = record(clerk, t, "100.00")
    with pytest.raises(PermissionRefused):
        fs.approve_disbursement(actor=clerk, disbursement_id=d.pk)
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    with pytest.raises(TransitionRefused):
        fs.approve_disbursement(actor=UserFactory(roles=["finance"]), disbursement_id=d.pk)
    with pytest.raises(TransitionRefused):
        fs.reject_disbursement(actor=UserFactory(roles=["finance"]), disbursement_id=d.pk, note="迟到的退回")
    r = reverse(clerk, d)
    with pytest.raises(PermissionRefused):
        fs.approve_disbursement(actor=clerk, disbursement_id=r.pk)
    assert_totals_match_rows(t.agreement_id)


def test_no_reversal_of_a_reversal_and_no_second_reversal(officer, clerk, approver):
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    d = record(clerk, t, "60.00")
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    r = reverse(clerk, d)
    with pytest.raises(TransitionRefused):
        reverse(approver, d)  # the first reversal is pending
    fs.approve_disbursement(actor=approver, disbursement_id=r.pk)
    with pytest.raises(TransitionRefused):
        reverse(approver, d)  # already reversed
    with pytest.raises(TransitionRefused):
        reverse(approver, r)  # a reversal is never reversed
    pending = record(clerk, t, "10.00")
    with pytest.raises(TransitionRefused):
        reverse(approver, pending)  # nor a payment not yet approved
    assert D.objects.filter(kind=D.Kind.REVERSAL).count() == 1
    assert_totals_match_rows(t.agreement_id)


# ---- idempotency keys ---------------------------------------------------------------------------------------


def test_a_key_is_one_record_across_tranches_agreements_and_a_rejection(officer, clerk, approver):
    t1 = one_tranche_agreement(officer, "100.00").tranches.get()
    t2 = one_tranche_agreement(officer, "100.00").tranches.get()
    d = record(clerk, t1, "50.00", key="same-key-0001", voucher="V-1")
    with pytest.raises(InvalidInput):  # the same key and figures on another agreement's tranche
        record(clerk, t2, "50.00", key="same-key-0001", voucher="V-1")
    fs.reject_disbursement(actor=approver, disbursement_id=d.pk, note="凭证号错")
    again = record(clerk, t1, "50.00", key="same-key-0001", voucher="V-1")  # a retry after the rejection
    assert again.pk == d.pk and again.state == D.State.REJECTED
    with pytest.raises(InvalidInput):  # a corrected record needs a new key
        record(clerk, t1, "50.00", key="same-key-0001", voucher="V-2")
    assert D.objects.count() == 1
    for t in (t1, t2):
        assert_totals_match_rows(t.agreement_id)


def test_a_reversal_key_reused_for_another_payment_is_refused_not_answered_with_the_first(officer, clerk,
                                                                                          approver):
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    p1 = record(clerk, t, "50.00", voucher="BANK-1")
    p2 = record(clerk, t, "50.00", voucher="BANK-2")
    for p in (p1, p2):
        fs.approve_disbursement(actor=approver, disbursement_id=p.pk)
    r1 = reverse(clerk, p1, key="rev-key-0001", voucher="RET-1")
    assert reverse(clerk, p1, key="rev-key-0001", voucher="RET-1").pk == r1.pk  # a retry: the one record
    with pytest.raises(InvalidInput):
        # the same key, voucher and amount, but for the other payment: not the same request
        reverse(clerk, p2, key="rev-key-0001", voucher="RET-1")
    assert list(D.objects.filter(kind=D.Kind.REVERSAL).values_list("reverses_id", flat=True)) == [p1.pk]


def test_a_reversal_dated_in_the_future_is_refused(officer, clerk, approver):
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    p = record(clerk, t, "100.00")
    fs.approve_disbursement(actor=approver, disbursement_id=p.pk)
    with pytest.raises(InvalidInput):
        fs.reverse_disbursement(actor=clerk, disbursement_id=p.pk, voucher_no="R-1",
                                paid_on=TODAY + datetime.timedelta(days=1), idempotency_key="rev-future-01",
                                note="银行退回")
    assert not D.objects.filter(kind=D.Kind.REVERSAL).exists()


# ---- who moves money and who signs ----------------------------------------------------------------------------


def test_a_superuser_without_the_finance_role_neither_records_nor_decides(officer, clerk):
    boss = UserFactory(is_superuser=True, is_staff=True)
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    with pytest.raises(PermissionRefused):
        record(boss, t, "10.00")
    d = record(clerk, t, "10.00")
    with pytest.raises(PermissionRefused):
        fs.approve_disbursement(actor=boss, disbursement_id=d.pk)
    with pytest.raises(PermissionRefused):
        fs.reject_disbursement(actor=boss, disbursement_id=d.pk, note="x")
    assert D.objects.get(pk=d.pk).state == D.State.RECORDED


@pytest.mark.parametrize("role", ["officer", "supervisor", "applicant", "org_admin", "expert"])
def test_only_finance_records_approves_and_reverses(officer, clerk, approver, role):
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    other = UserFactory(roles=[role], organization=t.agreement.project.organization)
    with pytest.raises(PermissionRefused):
        record(other, t, "10.00")
    d = record(clerk, t, "10.00")
    with pytest.raises(PermissionRefused):
        fs.approve_disbursement(actor=other, disbursement_id=d.pk)
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    with pytest.raises(PermissionRefused):
        reverse(other, d)
    assert_totals_match_rows(t.agreement_id)


def test_one_person_who_is_both_org_admin_and_officer_never_signs_alone(officer):
    agreement = established_project(officer=officer).agreement
    both = UserFactory(roles=["officer", "org_admin"], organization=agreement.project.organization)
    agreement = fs.confirm_agreement(actor=both, agreement_id=agreement.pk)
    assert agreement.state == TaskAgreement.State.ORG_CONFIRMED
    with pytest.raises(TransitionRefused):
        fs.confirm_agreement(actor=both, agreement_id=agreement.pk)
    assert TaskAgreement.objects.get(pk=agreement.pk).state == TaskAgreement.State.ORG_CONFIRMED
    assert fs.confirm_agreement(actor=officer, agreement_id=agreement.pk).state == TaskAgreement.State.SIGNED


def test_an_applicant_who_is_not_org_admin_cannot_confirm(officer, applicant):
    agreement = established_project(officer=officer, organization=applicant.organization).agreement
    with pytest.raises(PermissionRefused):
        fs.confirm_agreement(actor=applicant, agreement_id=agreement.pk)
    assert TaskAgreement.objects.get(pk=agreement.pk).state == TaskAgreement.State.DRAFT


def test_a_signed_agreements_terms_and_plan_never_change(officer):
    agreement = one_tranche_agreement(officer, "100.00")
    before = (agreement.start_date, agreement.end_date, agreement.self_amount, agreement.targets)
    with pytest.raises(TransitionRefused):
        fs.update_agreement(actor=officer, agreement_id=agreement.pk, data={"self_amount": "5.00"})
    with pytest.raises(TransitionRefused):
        fs.set_tranches(actor=officer, agreement_id=agreement.pk,
                        tranches=[{"amount": "100.00", "condition": "acceptance"}])
    agreement = TaskAgreement.objects.get(pk=agreement.pk)
    assert (agreement.start_date, agreement.end_date, agreement.self_amount, agreement.targets) == before
    assert list(agreement.tranches.values_list("condition", "state")) == [("signing", "due")]


def test_tranches_of_an_unsigned_agreement_never_become_due(officer):
    agreement = established_project(officer=officer).agreement
    fs.set_tranches(actor=officer, agreement_id=agreement.pk, tranches=[
        {"amount": str(agreement.fiscal_amount - 1), "condition": "signing"},
        {"amount": "1.00", "condition": "date", "due_on": "2000-01-01"}])
    fs.checkpoint_passed(project_id=agreement.project_id, checkpoint="acceptance")
    assert fs.make_dated_tranches_due() == 0
    assert set(Tranche.objects.filter(agreement=agreement).values_list("state", flat=True)) == {"planned"}
    assert not Tranche.objects.filter(~Q(state="planned"), agreement=agreement).exists()


# ---- under concurrent requests (PostgreSQL row locks) ---------------------------------------------------------

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


@_apply(on_postgres)
def test_twenty_reversals_of_one_payment_at_once_make_one():
    officer = UserFactory(roles=["officer"])
    clerk, approver = UserFactory(roles=["finance"]), UserFactory(roles=["finance"])
    t = one_tranche_agreement(officer, "100.00").tranches.get()
    p = fs.approve_disbursement(actor=approver, disbursement_id=record(clerk, t, "100.00").pk)
    results = run_concurrently(*[
        (lambda i=i: fs.reverse_disbursement(actor=clerk, disbursement_id=p.pk, voucher_no=f"R-{i}", paid_on=TODAY,
                                             idempotency_key=f"rev-race-{i:04d}", note="银行退回"))
        for i in range(20)])
    assert sum(isinstance(r, Disbursement) for r in results) == 1, results
    assert all(isinstance(r, (Disbursement, TransitionRefused)) for r in results), results
    assert_totals_match_rows(t.agreement_id)


@_apply(on_postgres)
def test_one_key_on_two_agreements_at_once_is_one_record_and_a_refusal_never_a_crash():
    officer = UserFactory(roles=["officer"])
    clerk, approver = UserFactory(roles=["finance"]), UserFactory(roles=["finance"])
    tranches = [one_tranche_agreement(officer, "100.00").tranches.get() for _ in range(2)]
    results = run_concurrently(*[
        (lambda t=t: fs.record_disbursement(actor=clerk, tranche_id=t.pk, amount="100.00", voucher_no="V-1",
                                            paid_on=TODAY, idempotency_key="shared-key-01"))
        for t in tranches for _ in range(5)])
    assert {type(r) for r in results} <= {Disbursement, InvalidInput}, results
    assert Disbursement.objects.filter(idempotency_key="shared-key-01").count() == 1
    tranches += [one_tranche_agreement(officer, "100.00").tranches.get() for _ in range(2)]
    payments = [fs.approve_disbursement(actor=approver, disbursement_id=record(clerk, t, "100.00").pk)
                for t in tranches[2:]]
    results = run_concurrently(*[
        (lambda p=p: fs.reverse_disbursement(actor=clerk, disbursement_id=p.pk, voucher_no="R-1", paid_on=TODAY,
                                             idempotency_key="shared-rev-01", note="银行退回"))
        for p in payments for _ in range(5)])
    assert {type(r) for r in results} <= {Disbursement, InvalidInput}, results
    assert Disbursement.objects.filter(idempotency_key="shared-rev-01").count() == 1
    for t in tranches:
        assert_totals_match_rows(t.agreement_id)

"""任务书 and disbursements through the services: drafting from the project, confirming in either order, tranches
becoming due, payments recorded and approved by two people, idempotency, never beyond the grant, reversals."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import Disbursement, FundingScheme, SchemeTranche, TaskAgreement, Tranche
from projects.tests.factories import ProgramFactory

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


def signed(project, officer):
    agreement = project.agreement
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)


def pay(tranche, clerk, approver, amount=None, key=None):
    d = fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount=amount or tranche.amount,
                               voucher_no=f"V-{tranche.pk}-{key or 'a'}", paid_on=TODAY,
                               idempotency_key=key or f"pay-{tranche.pk}-0001")
    return fs.approve_disbursement(actor=approver, disbursement_id=d.pk)


def test_a_new_project_gets_a_draft_agreement_with_the_default_plan(officer):
    project = established_project(granted=Decimal("300000.01"), officer=officer)
    agreement = project.agreement
    assert agreement.state == "draft" and agreement.fiscal_amount == Decimal("300000.01")
    assert agreement.targets == [{"kind": "output", "indicator": "发明专利申请", "target_value": "3", "unit": "件"}]
    rows = [(t.amount, t.condition, t.checkpoint, t.state) for t in agreement.tranches.all()]
    # 60/30/10 to the fen, adding up exactly
    assert rows == [(Decimal("180000.01"), "signing", "", "planned"), (Decimal("90000.00"), "checkpoint", "midterm",
                                                                       "planned"),
                    (Decimal("30000.00"), "acceptance", "", "planned")]
    assert fs.draft_agreement(project_id=project.pk).pk == agreement.pk  # idempotent


def test_the_calls_scheme_wins_over_the_programmes(officer):
    program = ProgramFactory()
    scheme = FundingScheme.objects.create(program=program, name="一次性拨付")
    SchemeTranche.objects.create(scheme=scheme, name="全额", percent=100, condition="signing")
    project = established_project(officer=officer)
    assert [t.condition for t in project.agreement.tranches.all()] == ["signing"]


def test_confirmed_in_either_order_then_signed_and_the_first_tranche_due(officer):
    project = established_project(officer=officer)
    agreement = project.agreement
    stranger = UserFactory(roles=["org_admin"])
    with pytest.raises(PermissionRefused):
        fs.confirm_agreement(actor=stranger, agreement_id=agreement.pk)
    agreement = fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
    assert agreement.state == "office_confirmed"
    with pytest.raises(TransitionRefused):  # the officer cannot confirm twice to sign alone
        fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    agreement = fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    assert agreement.state == "signed" and agreement.signed_at
    assert [t.state for t in agreement.tranches.all()] == ["due", "planned", "planned"]


def test_an_edit_after_one_confirmation_needs_both_again(officer):
    project = established_project(officer=officer)
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=project.agreement.pk)
    agreement = fs.update_agreement(actor=officer, agreement_id=project.agreement.pk, data={"self_amount": "1.00"})
    assert agreement.state == "draft" and agreement.org_confirmed_by is None


def test_the_tranche_plan_must_add_up_to_the_grant(officer):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    with pytest.raises(InvalidInput) as exc:
        fs.set_tranches(actor=officer, agreement_id=project.agreement.pk, tranches=[
            {"name": "首期", "amount": "60000.00", "condition": "signing"},
            {"name": "尾款", "amount": "39999.99", "condition": "acceptance"}])
    assert "100,000.00" in exc.value.message
    agreement = fs.set_tranches(actor=officer, agreement_id=project.agreement.pk, tranches=[
        {"name": "首期", "amount": "60000.00", "condition": "signing"},
        {"name": "按日期", "amount": "30000.00", "condition": "date", "due_on": "2026-01-01"},
        {"name": "尾款", "amount": "10000.00", "condition": "acceptance"}])
    assert [t.amount for t in agreement.tranches.all()] == [Decimal("60000.00"), Decimal("30000.00"),
                                                             Decimal("10000.00")]
    signed(project, officer)
    # signing makes the signing tranche and the date already reached due
    assert list(Tranche.objects.filter(agreement=agreement).values_list("state", flat=True)) == ["due", "due",
                                                                                                "planned"]


def test_two_people_pay_a_tranche_and_it_is_settled(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="60000.00", voucher_no="ZJ20261122001",
                               paid_on=TODAY, idempotency_key="idem-0000001")
    agreement = TaskAgreement.objects.get(pk=project.agreement.pk)
    assert (agreement.recorded_total, agreement.paid_total) == (Decimal("60000.00"), Decimal("0.00"))
    with pytest.raises(PermissionRefused):  # the clerk who recorded it cannot approve it
        fs.approve_disbursement(actor=clerk, disbursement_id=d.pk)
    with pytest.raises(PermissionRefused):  # nor can an officer
        fs.approve_disbursement(actor=officer, disbursement_id=d.pk)
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    agreement.refresh_from_db()
    assert (agreement.recorded_total, agreement.paid_total) == (Decimal("0.00"), Decimal("60000.00"))
    assert Tranche.objects.get(pk=first.pk).state == "paid"
    # the database refuses an approval by the recorder too (four eyes)
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.filter(pk=d.pk).update(decided_by=clerk)


def test_the_same_idempotency_key_twice_gives_one_disbursement(officer, clerk):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    args = {"actor": clerk, "tranche_id": first.pk, "amount": "1000.00", "voucher_no": "V1", "paid_on": TODAY,
            "idempotency_key": "same-key-123"}
    a = fs.record_disbursement(**args)
    b = fs.record_disbursement(**args)
    assert a.pk == b.pk and Disbursement.objects.count() == 1
    assert TaskAgreement.objects.get(pk=project.agreement.pk).recorded_total == Decimal("1000.00")
    with pytest.raises(InvalidInput):  # the key again for a different payment
        fs.record_disbursement(**{**args, "amount": "2000.00"})


def test_never_beyond_the_tranche_nor_the_grant(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)  # 60,000.00
    fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="59999.99", voucher_no="V1", paid_on=TODAY,
                           idempotency_key="key-000001")
    with pytest.raises(InvalidInput) as exc:
        fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="0.02", voucher_no="V2", paid_on=TODAY,
                               idempotency_key="key-000002")
    assert "0.01" in exc.value.message
    fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="0.01", voucher_no="V3", paid_on=TODAY,
                           idempotency_key="key-000003")
    planned = project.agreement.tranches.get(position=2)
    with pytest.raises(TransitionRefused):  # not due yet
        fs.record_disbursement(actor=clerk, tranche_id=planned.pk, amount="1.00", voucher_no="V4", paid_on=TODAY,
                               idempotency_key="key-000004")
    # and the database would refuse totals beyond the grant
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskAgreement.objects.filter(pk=project.agreement.pk).update(paid_total=Decimal("40000.01"))


def test_bad_input_is_refused_and_changes_nothing(officer, clerk):
    project = established_project(officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    for bad in ({"amount": "-1"}, {"amount": "1.001"}, {"amount": "abc"}, {"voucher_no": ""},
                {"paid_on": TODAY + datetime.timedelta(days=1)}, {"idempotency_key": "short"},
                {"paid_on": "2026-13-01"}):
        args = {"actor": clerk, "tranche_id": first.pk, "amount": "100.00", "voucher_no": "V1", "paid_on": TODAY,
                "idempotency_key": "valid-key-1", **bad}
        with pytest.raises(InvalidInput):
            fs.record_disbursement(**args)
    assert not Disbursement.objects.exists()


def test_a_reversal_takes_a_payment_back_and_the_tranche_is_due_again(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    d = pay(first, clerk, approver)
    rev = fs.reverse_disbursement(actor=clerk, disbursement_id=d.pk, voucher_no="TH-1", paid_on=TODAY,
                                  idempotency_key="reverse-0001", note="银行退票")
    with pytest.raises(TransitionRefused):
        fs.reverse_disbursement(actor=clerk, disbursement_id=d.pk, voucher_no="TH-2", paid_on=TODAY,
                                idempotency_key="reverse-0002", note="重复")
    fs.approve_disbursement(actor=approver, disbursement_id=rev.pk)
    agreement = TaskAgreement.objects.get(pk=project.agreement.pk)
    assert agreement.paid_total == Decimal("0.00")
    assert Tranche.objects.get(pk=first.pk).state == "due"
    assert Disbursement.objects.count() == 2  # nothing deleted: the payment and its reversal
    pay(first, clerk, approver, key="pay-again-0001")
    assert TaskAgreement.objects.get(pk=project.agreement.pk).paid_total == Decimal("60000.00")


def test_a_rejected_record_frees_its_amount(officer, clerk, approver):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="60000.00", voucher_no="WRONG",
                               paid_on=TODAY, idempotency_key="key-rej-001")
    with pytest.raises(InvalidInput):
        fs.reject_disbursement(actor=approver, disbursement_id=d.pk, note="")
    fs.reject_disbursement(actor=approver, disbursement_id=d.pk, note="凭证号有误")
    assert TaskAgreement.objects.get(pk=project.agreement.pk).recorded_total == Decimal("0.00")
    pay(first, clerk, approver, key="key-rej-002")


def test_split_amount_is_exact_to_the_fen():
    assert fs.split_amount(Decimal("100.00"), [Decimal(1)] * 3) == [Decimal("33.34"), Decimal("33.33"),
                                                                    Decimal("33.33")]
    assert sum(fs.split_amount(Decimal("0.05"), [Decimal(60), Decimal(30), Decimal(10)])) == Decimal("0.05")
    assert fs.split_amount(Decimal("9999999999999.99"), [Decimal(1), Decimal(2)]) == [
        Decimal("3333333333333.33"), Decimal("6666666666666.66")]


def test_a_challenge_project_is_paid_by_its_milestones_and_signing_catches_up(officer, clerk, approver):
    from projects.challenges import services as jb
    from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

    challenge = publish(ChallengeFactory(), max_winners=1)  # subsidy 1,000,000 of a 3,000,000 bounty
    bid = BidFactory(challenge=challenge)  # 2,400,000 in two milestones of 1,200,000
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    challenge.bid_deadline = challenge.published_at
    challenge.state = "reviewing"
    challenge.save(update_fields=["bid_deadline", "state"])
    from projects.models import Bid
    Bid.objects.filter(pk=bid.pk).update(state="reviewing", review_score=Decimal("90"))
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    agreement = project.agreement
    assert agreement.fiscal_amount == Decimal("800000.00")
    assert [(t.checkpoint, t.amount) for t in agreement.tranches.all()] == [
        ("milestone:1", Decimal("400000.00")), ("milestone:2", Decimal("400000.00"))]
    # milestone 1 passes before the agreement is signed: signing makes its tranche due
    m1 = project.milestones.get(position=1)
    jb.report_milestone(actor=bid.created_by, milestone_id=m1.pk, report="台架完成")
    jb.judge_milestone(actor=challenge.created_by, milestone_id=m1.pk, verdict="pass", opinion="同意")
    jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=True, conclusion="通过")
    assert agreement.tranches.get(position=1).state == "planned"
    signed(project, officer)
    assert [t.state for t in agreement.tranches.all()] == ["due", "planned"]
    # milestone 2 passing after signing makes the next tranche due at once
    m2 = project.milestones.get(position=2)
    jb.report_milestone(actor=bid.created_by, milestone_id=m2.pk, report="装车完成")
    jb.judge_milestone(actor=challenge.created_by, milestone_id=m2.pk, verdict="pass", opinion="同意")
    jb.conclude_milestone(actor=officer, milestone_id=m2.pk, passed=True, conclusion="通过")
    assert [t.state for t in agreement.tranches.all()] == ["due", "due"]


def test_target_values_are_written_as_people_write_them():
    assert [fs.plain_number(Decimal(v)) for v in ("270.0000", "90.0000", "2.5000", "0.0500", "1000000")] == [
        "270", "90", "2.5", "0.05", "1000000"]


def test_tranche_names_are_stored_in_chinese_whatever_language_is_active(officer):
    from django.utils import translation

    with translation.override("en"):
        project = established_project(officer=officer)
    assert project.agreement.tranches.get(position=1).name == "首期拨款（任务书签订后）"


def test_the_first_confirmation_asks_the_other_party(officer):
    from activity.models import Notification

    project = established_project(officer=officer)
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    fs.confirm_agreement(actor=officer, agreement_id=project.agreement.pk)
    asked = Notification.objects.filter(kind="agreement_to_confirm")
    assert list(asked.values_list("recipient", flat=True)) == [admin.pk]
    assert "科技局 已确认" in asked.get().body
    other = established_project(officer=officer)
    other_admin = UserFactory(roles=["org_admin"], organization=other.organization)
    fs.confirm_agreement(actor=other_admin, agreement_id=other.agreement.pk)
    assert officer.pk in set(Notification.objects.filter(kind="agreement_to_confirm", target_id=str(other.agreement.pk))
                             .values_list("recipient", flat=True))

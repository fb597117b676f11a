"""揭榜方案 through the services: who may bid, every submit check (bounty, milestone plan, 失信, verification,
deadline), one live bid per organisation per publication, and withdraw-then-bid-again."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.models import Organization
from accounts.tests.factories import CreditRecordFactory, OrganizationFactory, UserFactory
from accounts.workflow import run_transition
from activity.models import AuditEvent
from projects.challenges import services as jb
from projects.challenges.services import BID_WORKFLOW
from projects.models import Bid, BidMilestone, Challenge
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge():
    return publish(ChallengeFactory())


def submit(bid, **kw):
    return jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True, **kw)


def refused_submit(bid, **kw) -> str:
    """Submitting is refused with InvalidInput and nothing changes; returns the message."""
    with pytest.raises(InvalidInput) as exc:
        submit(bid, **kw)
    bid.refresh_from_db()
    assert bid.state == "draft" and bid.number is None and bid.submitted_at is None
    return exc.value.message


def plan(bid, *amounts_and_days):
    """Replace the bid's milestones by (amount, days after the deadline) pairs through the service."""
    start = bid.challenge.bid_deadline.date()
    return jb.set_bid_milestones(actor=bid.created_by, bid_id=bid.pk, milestones=[
        {"title": f"阶段{i + 1}", "targets": "指标", "due_date": (start + datetime.timedelta(days=d)).isoformat(),
         "amount": a}
        for i, (a, d) in enumerate(amounts_and_days)
    ])


def test_a_complete_bid_is_submitted_with_a_number(challenge):
    bid = submit(BidFactory(challenge=challenge))
    assert bid.state == "submitted" and bid.number == f"{challenge.number}-B01" and bid.submitted_at


def test_the_commitment_is_required(challenge):
    bid = BidFactory(challenge=challenge)
    with pytest.raises(InvalidInput) as exc:
        jb.submit_bid(actor=bid.created_by, bid_id=bid.pk)
    assert "军令状" in exc.value.message
    assert Bid.objects.get(pk=bid.pk).state == "draft"


# ---- who may bid ------------------------------------------------------------------------------------------


def test_the_poster_cannot_bid_on_its_own_challenge(challenge):
    with pytest.raises(PermissionRefused) as exc:
        jb.create_bid(actor=challenge.created_by, challenge_id=challenge.pk)
    assert "发榜单位不能揭自己发布的榜" in exc.value.message
    assert not Bid.objects.exists()


def test_the_posters_other_applicant_cannot_bid_either(challenge):
    colleague = UserFactory(organization=challenge.organization, roles=["applicant"])
    with pytest.raises(PermissionRefused):
        jb.create_bid(actor=colleague, challenge_id=challenge.pk)
    assert not Bid.objects.exists()


def test_the_poster_cannot_be_a_consortium_member(challenge):
    bid = BidFactory(challenge=challenge)
    jb.set_bid_partners(actor=bid.created_by, bid_id=bid.pk, partners=[
        {"name": challenge.organization.name, "credit_code": challenge.organization.credit_code,
         "kind": "enterprise", "role": "应用验证"}])
    assert "发榜单位不能揭自己发布的榜，也不能作为联合体成员" in refused_submit(bid)


@pytest.mark.parametrize("who", ["officer", "expert_user", "finance_user"])
def test_users_without_an_organisation_or_applicant_role_cannot_bid(challenge, who, request):
    with pytest.raises(PermissionRefused):
        jb.create_bid(actor=request.getfixturevalue(who), challenge_id=challenge.pk)
    assert not Bid.objects.exists()


def test_an_org_admin_without_the_applicant_role_cannot_bid(challenge, other_org):
    admin = UserFactory(organization=other_org, roles=["org_admin"])
    with pytest.raises(PermissionRefused):
        jb.create_bid(actor=admin, challenge_id=challenge.pk)


def test_another_organisation_cannot_touch_the_bid(challenge, other_applicant):
    bid = BidFactory(challenge=challenge)
    calls = [
        lambda: jb.update_bid(actor=other_applicant, bid_id=bid.pk, data={"title": "改"}),
        lambda: jb.set_bid_partners(actor=other_applicant, bid_id=bid.pk, partners=[]),
        lambda: jb.set_bid_members(actor=other_applicant, bid_id=bid.pk, members=[]),
        lambda: jb.set_bid_milestones(actor=other_applicant, bid_id=bid.pk, milestones=[]),
        lambda: jb.submit_bid(actor=other_applicant, bid_id=bid.pk, accept_commitment=True),
        lambda: jb.withdraw_bid(actor=other_applicant, bid_id=bid.pk),
        lambda: jb.withdraw_bid(actor=challenge.created_by, bid_id=bid.pk),
    ]
    for call in calls:
        with pytest.raises(PermissionRefused):
            call()
    bid.refresh_from_db()
    assert bid.state == "draft" and bid.title != "改" and bid.milestones.count() == 2


def test_bidding_only_while_the_challenge_accepts_bids(challenge, other_applicant):
    with pytest.raises(TransitionRefused):
        jb.create_bid(actor=other_applicant, challenge_id=challenge.pk, now=challenge.bid_deadline)
    draft = ChallengeFactory()
    with pytest.raises(TransitionRefused):
        jb.create_bid(actor=other_applicant, challenge_id=draft.pk)
    assert not Bid.objects.exists()


# ---- money and the milestone plan --------------------------------------------------------------------------


def test_a_bid_above_the_bounty_is_refused_naming_both_amounts(challenge):
    bid = BidFactory(challenge=challenge)
    jb.update_bid(actor=bid.created_by, bid_id=bid.pk, data={"amount": "3000000.01"})
    plan(bid, ("1500000.00", 100), ("1500000.01", 400))
    message = refused_submit(bid)
    assert "3000000.01" in message and "3000000.00" in message and "超过悬赏金额" in message


def test_a_bid_equal_to_the_bounty_is_accepted(challenge):
    bid = BidFactory(challenge=challenge)
    jb.update_bid(actor=bid.created_by, bid_id=bid.pk, data={"amount": "3000000.00"})
    plan(bid, ("1500000.00", 100), ("1500000.00", 400))
    assert submit(bid).state == "submitted"


@pytest.mark.parametrize(("second", "ok"), [("1199999.99", False), ("1200000.01", False), ("1200000.00", True)])
def test_milestone_amounts_must_add_up_to_the_bid_amount_to_the_fen(challenge, second, ok):
    bid = BidFactory(challenge=challenge)  # amount 2,400,000.00
    plan(bid, ("1200000.00", 100), (second, 400))
    if ok:
        assert submit(bid).state == "submitted"
    else:
        message = refused_submit(bid)
        total = Decimal("1200000.00") + Decimal(second)
        assert f"各里程碑金额合计 {total} 元" in message and "2400000.00" in message


def test_milestones_must_be_in_date_order(challenge):
    bid = BidFactory(challenge=challenge)
    plan(bid, ("1200000.00", 400), ("1200000.00", 100))
    assert "按完成时间先后排列" in refused_submit(bid)


@pytest.mark.parametrize("days", [0, -10])
def test_the_first_milestone_must_fall_after_the_deadline(challenge, days):
    bid = BidFactory(challenge=challenge)
    plan(bid, ("1200000.00", days), ("1200000.00", 400))
    assert "第一个里程碑的完成时间须晚于揭榜截止日" in refused_submit(bid)


def test_the_last_milestone_must_fit_the_challenges_period(challenge):
    bid = BidFactory(challenge=challenge)  # period 24 months (+6 months of grace)
    plan(bid, ("1200000.00", 100), ("1200000.00", 31 * 31))
    assert "超出榜单攻关周期" in refused_submit(bid)


def test_a_plan_without_milestones_is_refused(challenge):
    bid = BidFactory(challenge=challenge, milestones=[])
    assert "请至少填写一个里程碑" in refused_submit(bid)


def test_milestone_input_is_checked(challenge):
    bid = BidFactory(challenge=challenge)
    for bad in [{"title": "x", "targets": "y", "due_date": "2027-13-01", "amount": "1"},
                {"title": "x", "targets": "y", "due_date": "2027-01-01", "amount": "0"},
                {"title": "x", "targets": "y", "due_date": "2027-01-01", "amount": "1.001"},
                {"title": "", "targets": "y", "due_date": "2027-01-01", "amount": "1"}]:
        with pytest.raises(InvalidInput):
            jb.set_bid_milestones(actor=bid.created_by, bid_id=bid.pk, milestones=[bad])
    assert bid.milestones.count() == 2  # unchanged


# ---- 科研诚信, verification, deadline --------------------------------------------------------------------------


def test_a_credit_record_of_the_lead_bars_submission(challenge):
    bid = BidFactory(challenge=challenge)
    CreditRecordFactory(organization=bid.organization, penalty_start=datetime.date(2020, 1, 1))
    message = refused_submit(bid)
    assert bid.organization.name in message and "不得参与" in message


def test_a_credit_record_of_a_registered_consortium_member_bars_submission(challenge):
    member = OrganizationFactory(name="某失信大学")
    CreditRecordFactory(organization=member, penalty_start=datetime.date(2020, 1, 1))
    bid = BidFactory(challenge=challenge)
    jb.set_bid_partners(actor=bid.created_by, bid_id=bid.pk, partners=[
        {"name": "某失信大学", "credit_code": member.credit_code, "kind": "university"}])
    assert "某失信大学" in refused_submit(bid)


def test_a_credit_record_of_the_leader_bars_submission(challenge):
    bid = BidFactory(challenge=challenge, leader_name="钱失信")
    CreditRecordFactory(person_name="钱失信", person_id_number=bid.leader_id_number,
                        penalty_start=datetime.date(2020, 1, 1))
    assert "钱失信" in refused_submit(bid)


def test_a_credit_record_of_a_team_member_bars_submission(challenge):
    bid = BidFactory(challenge=challenge)
    jb.set_bid_members(actor=bid.created_by, bid_id=bid.pk,
                       members=[{"name": "孙成员", "id_number": "330106198001011237"}])
    CreditRecordFactory(person_name="孙成员", person_id_number="330106198001011237",
                        penalty_start=datetime.date(2020, 1, 1))
    assert "孙成员" in refused_submit(bid)


def test_an_ended_or_revoked_credit_record_does_not_bar_submission(challenge, officer):
    bid = BidFactory(challenge=challenge)
    CreditRecordFactory(organization=bid.organization, penalty_start=datetime.date(2020, 1, 1),
                        penalty_end=datetime.date(2021, 1, 1))
    CreditRecordFactory(person_id_number=bid.leader_id_number, penalty_start=datetime.date(2020, 1, 1),
                        revoked_at=datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC), revoked_by=officer)
    assert submit(bid).state == "submitted"


def test_an_unverified_organisation_cannot_submit(challenge):
    bid = BidFactory(challenge=challenge)
    Organization.objects.filter(pk=bid.organization_id).update(state=Organization.State.PENDING)
    assert "尚未通过科技局认证" in refused_submit(bid)


def test_submitting_after_the_deadline_is_refused(challenge):
    bid = BidFactory(challenge=challenge)
    message = refused_submit(bid, now=challenge.bid_deadline + datetime.timedelta(minutes=1))
    assert "揭榜已截止" in message


def test_the_same_leader_cannot_lead_two_live_bids_on_one_challenge(challenge):
    first = submit(BidFactory(challenge=challenge))
    second = BidFactory(challenge=challenge, leader_id_number=first.leader_id_number)
    assert "已负责该榜单的另一份揭榜方案" in refused_submit(second)


# ---- one live bid per organisation per publication ----------------------------------------------------------


def test_one_live_bid_per_organisation_per_publication(challenge, other_applicant):
    bid = jb.create_bid(actor=other_applicant, challenge_id=challenge.pk)
    with pytest.raises(InvalidInput) as exc:
        jb.create_bid(actor=other_applicant, challenge_id=challenge.pk)
    assert "草稿" in exc.value.message
    assert Bid.objects.filter(challenge=challenge).count() == 1
    # the database refuses a second live bid written around the service
    with pytest.raises(IntegrityError), transaction.atomic():
        Bid.objects.create(challenge=challenge, bid_round=1, organization=bid.organization, created_by=other_applicant)


def test_withdraw_then_bid_again(challenge):
    bid = submit(BidFactory(challenge=challenge))
    user = bid.created_by
    withdrawn = jb.withdraw_bid(actor=user, bid_id=bid.pk, reason="方案调整")
    assert withdrawn.state == "withdrawn"
    again = jb.create_bid(actor=user, challenge_id=challenge.pk)
    assert again.pk != bid.pk and again.state == "draft" and again.bid_round == 1
    jb.update_bid(actor=user, bid_id=again.pk, data={
        "plan": "新方案", "leader_name": "吴负责", "leader_phone": "13900002222", "amount": "1000000.00"})
    plan(again, ("1000000.00", 200))
    again = submit(again)
    assert again.state == "submitted" and again.number != bid.number
    assert Bid.objects.get(pk=bid.pk).state == "withdrawn"


def test_a_submitted_bid_cannot_be_withdrawn_after_the_deadline(challenge):
    bid = submit(BidFactory(challenge=challenge))
    with pytest.raises(TransitionRefused):
        jb.withdraw_bid(actor=bid.created_by, bid_id=bid.pk, now=challenge.bid_deadline)
    assert Bid.objects.get(pk=bid.pk).state == "submitted"


def test_a_submitted_bid_cannot_be_edited(challenge):
    bid = submit(BidFactory(challenge=challenge))
    with pytest.raises(TransitionRefused):
        jb.update_bid(actor=bid.created_by, bid_id=bid.pk, data={"amount": "1.00"})
    with pytest.raises(TransitionRefused):
        plan(bid, ("1.00", 100))
    assert Bid.objects.get(pk=bid.pk).amount == Decimal("2400000.00")
    assert BidMilestone.objects.filter(bid=bid).count() == 2


# ---- every BID_WORKFLOW transition from every state ---------------------------------------------------------

BS = Bid.State


def bid_row(bid):
    row = Bid.objects.get(pk=bid.pk)
    return row.state, row.updated_at, row.number, row.submitted_at, row.decided_at


def put(bid, state):
    values = {"state": state}
    if state != "draft":
        values["number"] = f"{bid.challenge.number}-T{bid.pk:02d}"
    Bid.objects.filter(pk=bid.pk).update(**values)
    bid.refresh_from_db()
    return bid


# submit and withdraw are the bidder's own services: from a state the table does not name they are refused.
OWN_CASES = [(n, s) for n in ("submit", "withdraw") for s in BS.values]


@pytest.mark.parametrize(("name", "state"), OWN_CASES, ids=[f"{n}-from-{s}" for n, s in OWN_CASES])
def test_every_bidder_transition_from_every_state(name, state, challenge):
    bid = put(BidFactory(challenge=challenge), state)
    before = bid_row(bid)

    def call():
        if name == "submit":
            return submit(bid)
        return jb.withdraw_bid(actor=bid.created_by, bid_id=bid.pk)

    if BID_WORKFLOW.allowed(name, state):
        assert call().state == BID_WORKFLOW.get(name).target
        assert AuditEvent.objects.filter(verb=name, from_state=state).exists()
    else:
        with pytest.raises(TransitionRefused) as exc:
            call()
        assert str(BS(state).label) in exc.value.message and str(BID_WORKFLOW.get(name).label) in exc.value.message
        assert bid_row(bid) == before


# review, win, lose and void are done to the bids by the challenge's services (start_review, award, fail):
# from the states the table names the bid moves; a bid in any other state is left as it is, and the table
# itself refuses the move with a message naming the state.
DRIVEN_CASES = [(n, s) for n in ("review", "win", "lose", "void") for s in BS.values]


@pytest.mark.parametrize(("name", "state"), DRIVEN_CASES, ids=[f"{n}-from-{s}" for n, s in DRIVEN_CASES])
def test_every_challenge_driven_bid_transition_from_every_state(name, state, challenge, officer):
    bid = put(BidFactory(challenge=challenge), state)
    Bid.objects.filter(pk=bid.pk).update(review_score=Decimal("80"))
    # another bid, so that the challenge's service has something to do whatever this bid's state
    other = put(BidFactory(challenge=challenge), "submitted" if name == "review" else "reviewing")
    Bid.objects.filter(pk=other.pk).update(review_score=Decimal("70"))
    challenge_state = {"review": "closed", "void": "closed"}.get(name, "reviewing")
    Challenge.objects.filter(pk=challenge.pk).update(state=challenge_state)
    before = bid_row(bid)
    allowed = BID_WORKFLOW.allowed(name, state)
    poster = challenge.created_by
    if name == "review":
        jb.start_review(actor=officer, challenge_id=challenge.pk)
    elif name == "win":
        if allowed:
            jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[bid.pk])
        else:
            with pytest.raises(InvalidInput) as exc:
                jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[bid.pk])
            assert "不在本次评审中" in exc.value.message
    elif name == "lose":
        jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[other.pk])
    else:
        jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="无合格方案")
    if allowed:
        assert Bid.objects.get(pk=bid.pk).state == BID_WORKFLOW.get(name).target
    else:
        assert bid_row(bid) == before
        with pytest.raises(TransitionRefused) as exc:
            run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.all(), pk=bid.pk, name=name, actor=officer,
                           reason="x")
        assert str(BS(state).label) in exc.value.message
        assert bid_row(bid) == before

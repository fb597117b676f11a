"""The challenge (需求 → 论证 → 榜单) through the services: every transition of CHALLENGE_WORKFLOW from every
state, who may call each service, choosing winners (max_winners, scores, 答辩 weighting), 流标 and
republishing, 答疑, and the money rules (fiscal share to the fen, bounty = enterprise + subsidy in the database)."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from activity.models import AuditEvent, Notification
from projects.challenges import services as jb
from projects.challenges.services import CHALLENGE_WORKFLOW
from projects.models import Bid, Challenge, ChallengeQuestion, Project
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db

CH = Challenge.State
LATER = datetime.timedelta(days=60)


def set_state(challenge: Challenge, state: str, **fields) -> Challenge:
    """Put a challenge straight into a state (bypasses the services on purpose)."""
    Challenge.objects.filter(pk=challenge.pk).update(state=state, **fields)
    challenge.refresh_from_db()
    return challenge


def bid_in(challenge: Challenge, state: str, **fields) -> Bid:
    bid = BidFactory(challenge=challenge)
    n = Bid.objects.filter(challenge=challenge).count()
    values = {"state": state, **fields}
    if state != "draft":
        values.setdefault("number", f"{challenge.number}-T{n:02d}")
    Bid.objects.filter(pk=bid.pk).update(**values)
    bid.refresh_from_db()
    return bid


def snapshot(challenge: Challenge):
    row = Challenge.objects.get(pk=challenge.pk)
    return (row.state, row.updated_at, row.last_reason, row.bid_round, row.bid_deadline, row.decided_at)


@pytest.fixture
def challenge():
    """Published with a deadline in 30 days (the state is then set by each test)."""
    return publish(ChallengeFactory())


def do(name, challenge, *, officer):
    """Run transition ``name`` with the actor entitled to it, its guard satisfied."""
    poster = challenge.created_by
    if name == "submit":
        return jb.submit_challenge(actor=poster, challenge_id=challenge.pk, accept_commitment=True)
    if name == "withdraw":
        return jb.withdraw_challenge(actor=poster, challenge_id=challenge.pk)
    if name == "start_vetting":
        return jb.start_vetting(actor=officer, challenge_id=challenge.pk)
    if name == "return":
        return jb.return_challenge(actor=officer, challenge_id=challenge.pk, reason="指标不可考核")
    if name == "reject":
        return jb.reject_challenge(actor=officer, challenge_id=challenge.pk, reason="非共性技术难题")
    if name == "publish":
        return jb.publish_challenge(actor=officer, challenge_id=challenge.pk, program_id=challenge.program_id,
                                    bid_deadline=timezone.now() + LATER)
    if name == "close":
        return jb.close_challenge(actor=officer, challenge_id=challenge.pk,
                                  now=challenge.bid_deadline + datetime.timedelta(minutes=1))
    if name == "start_review":
        return jb.start_review(actor=officer, challenge_id=challenge.pk)
    if name == "award":
        winner = Bid.objects.get(challenge=challenge, state="reviewing")
        jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[winner.pk])
        return Challenge.objects.get(pk=challenge.pk)
    if name == "fail":
        return jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="无合格方案")
    if name == "republish":
        return jb.republish_challenge(actor=officer, challenge_id=challenge.pk, bid_deadline=timezone.now() + LATER)
    if name == "cancel":
        return jb.cancel_challenge(actor=officer, challenge_id=challenge.pk, reason="企业需求变更")
    raise AssertionError(name)


CASES = [(name, state) for name in CHALLENGE_WORKFLOW.transitions for state in CH.values]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_every_challenge_transition_from_every_state(name, state, challenge, officer):
    # what each guard needs, present whatever the state
    if name == "start_review":
        bid_in(challenge, "submitted")
    if name == "award":
        bid_in(challenge, "reviewing", review_score=Decimal("85.00"))
    challenge = set_state(challenge, state)
    before = snapshot(challenge)
    events = AuditEvent.objects.count()
    if CHALLENGE_WORKFLOW.allowed(name, state):
        result = do(name, challenge, officer=officer)
        assert result.state == CHALLENGE_WORKFLOW.get(name).target
        event = AuditEvent.objects.filter(verb=name, from_state=state).latest("id")
        assert event.to_state == result.state and event.target == result
    else:
        with pytest.raises(TransitionRefused) as exc:
            do(name, challenge, officer=officer)
        assert str(CH(state).label) in exc.value.message
        assert str(CHALLENGE_WORKFLOW.get(name).label) in exc.value.message
        assert snapshot(challenge) == before
        assert AuditEvent.objects.count() == events


def test_closing_before_the_deadline_is_refused(challenge, officer):
    with pytest.raises(TransitionRefused) as exc:
        jb.close_challenge(actor=officer, challenge_id=challenge.pk)
    assert "未到" in exc.value.message
    assert Challenge.objects.get(pk=challenge.pk).state == "published"


def test_review_needs_a_submitted_bid(challenge, officer):
    challenge = set_state(challenge, "closed")
    bid_in(challenge, "withdrawn")
    with pytest.raises(InvalidInput):
        jb.start_review(actor=officer, challenge_id=challenge.pk)
    assert Challenge.objects.get(pk=challenge.pk).state == "closed"


def test_close_voids_drafts_and_review_takes_the_submitted_bids(challenge, officer):
    draft, submitted = bid_in(challenge, "draft"), bid_in(challenge, "submitted")
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    assert Bid.objects.get(pk=draft.pk).state == "void"
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    assert Bid.objects.get(pk=submitted.pk).state == "reviewing"


def test_reason_required_for_return_reject_fail_cancel(challenge, officer):
    for state, call in [
        ("submitted", lambda: jb.return_challenge(actor=officer, challenge_id=challenge.pk, reason=" ")),
        ("vetting", lambda: jb.reject_challenge(actor=officer, challenge_id=challenge.pk, reason="")),
        ("closed", lambda: jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="")),
        ("published", lambda: jb.cancel_challenge(actor=officer, challenge_id=challenge.pk, reason="")),
    ]:
        set_state(challenge, state)
        with pytest.raises(InvalidInput):
            call()
        assert Challenge.objects.get(pk=challenge.pk).state == state


# ---- who may call each service -----------------------------------------------------------------------------

ACTORS = ["poster", "officer", "bidder", "other", "expert"]

# service → (state it is called in, actors entitled, call)
SERVICES = {
    "update": ("draft", {"poster"}, lambda a, c: jb.update_challenge(actor=a, challenge_id=c.pk, data={"title": "改"})),
    "targets": ("draft", {"poster"}, lambda a, c: jb.set_challenge_targets(
        actor=a, challenge_id=c.pk, targets=[{"name": "效率", "target_value": "95%"}])),
    "submit": ("draft", {"poster"}, lambda a, c: jb.submit_challenge(actor=a, challenge_id=c.pk,
                                                                     accept_commitment=True)),
    "withdraw": ("submitted", {"poster"}, lambda a, c: jb.withdraw_challenge(actor=a, challenge_id=c.pk)),
    "start_vetting": ("submitted", {"officer"}, lambda a, c: jb.start_vetting(actor=a, challenge_id=c.pk)),
    "return": ("vetting", {"officer"}, lambda a, c: jb.return_challenge(actor=a, challenge_id=c.pk, reason="改")),
    "reject": ("vetting", {"officer"}, lambda a, c: jb.reject_challenge(actor=a, challenge_id=c.pk, reason="否")),
    "publish": ("vetting", {"officer"}, lambda a, c: jb.publish_challenge(
        actor=a, challenge_id=c.pk, program_id=c.program_id, bid_deadline=timezone.now() + LATER)),
    "extend": ("published", {"officer"}, lambda a, c: jb.extend_bid_deadline(
        actor=a, challenge_id=c.pk, bid_deadline=c.bid_deadline + LATER)),
    "close": ("published", {"officer"}, lambda a, c: jb.close_challenge(
        actor=a, challenge_id=c.pk, now=c.bid_deadline)),
    "start_review": ("closed", {"officer"}, lambda a, c: jb.start_review(actor=a, challenge_id=c.pk)),
    "defence": ("reviewing", {"officer"}, lambda a, c: jb.record_defence_scores(
        actor=a, challenge_id=c.pk, scores={b.pk: "80" for b in c.bids.all()})),
    "award": ("reviewing", {"poster"}, lambda a, c: jb.award_challenge(
        actor=a, challenge_id=c.pk, bid_ids=[c.bids.get().pk])),
    "fail_reviewing": ("reviewing", {"poster", "officer"}, lambda a, c: jb.fail_challenge(
        actor=a, challenge_id=c.pk, reason="无合格方案")),
    "fail_closed": ("closed", {"officer"}, lambda a, c: jb.fail_challenge(actor=a, challenge_id=c.pk, reason="无")),
    "cancel": ("published", {"officer"}, lambda a, c: jb.cancel_challenge(actor=a, challenge_id=c.pk, reason="撤")),
    "republish": ("failed", {"officer"}, lambda a, c: jb.republish_challenge(
        actor=a, challenge_id=c.pk, bid_deadline=timezone.now() + LATER)),
}
PERM_CASES = [(s, a) for s in SERVICES for a in ACTORS]


@pytest.mark.parametrize(("service", "who"), PERM_CASES, ids=[f"{s}-by-{a}" for s, a in PERM_CASES])
def test_who_may_call_each_challenge_service(service, who, challenge, officer, other_applicant, expert_user):
    state, entitled, call = SERVICES[service]
    challenge = set_state(challenge, state, defence_weight=Decimal("0.40"))
    bid = bid_in(challenge, "reviewing" if state == "reviewing" else "submitted", review_score=Decimal("80.00"),
                 defence_score=Decimal("80.00") if service != "defence" else None)
    actor = {"poster": challenge.created_by, "officer": officer, "bidder": bid.created_by,
             "other": other_applicant, "expert": expert_user}[who]

    def state():
        b = Bid.objects.get(pk=bid.pk)
        return snapshot(challenge), b.state, b.defence_score, Project.objects.count()

    before = state()
    if who in entitled:
        call(actor, challenge)
        assert state() != before
    else:
        with pytest.raises(PermissionRefused):
            call(actor, challenge)
        assert state() == before


@pytest.mark.parametrize("who", ["officer", "expert_user", "finance_user"])
def test_only_organisation_users_post_needs(who, request):
    with pytest.raises(PermissionRefused):
        jb.create_challenge(actor=request.getfixturevalue(who), data={"title": "需求"})
    assert not Challenge.objects.exists()


def test_a_need_is_drafted_for_the_users_organisation_with_the_bounty_computed(applicant):
    need = jb.create_challenge(actor=applicant, data={"title": " 高效电机 ", "field": "energy",
                                                      "enterprise_funding": "100.10", "subsidy_requested": "0.20"})
    assert need.organization == applicant.organization and need.title == "高效电机"
    assert need.bounty == Decimal("100.30") and need.state == "draft"


def test_a_need_is_not_editable_once_submitted(challenge):
    challenge = set_state(challenge, "submitted")
    with pytest.raises(TransitionRefused):
        jb.update_challenge(actor=challenge.created_by, challenge_id=challenge.pk, data={"title": "改"})
    assert Challenge.objects.get(pk=challenge.pk).title == challenge.title


# ---- choosing winners --------------------------------------------------------------------------------------


@pytest.fixture
def reviewing(challenge):
    """Under review: bids scored 90, 80 and unscored."""
    challenge = set_state(challenge, "reviewing")
    bids = [bid_in(challenge, "reviewing", review_score=s) for s in (Decimal("90.00"), Decimal("80.00"), None)]
    return challenge, bids


def refused_award(challenge, ids) -> str:
    with pytest.raises(InvalidInput) as exc:
        jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=ids)
    assert Challenge.objects.get(pk=challenge.pk).state == "reviewing"
    assert set(Bid.objects.filter(challenge=challenge).values_list("state", flat=True)) == {"reviewing"}
    assert not Project.objects.exists()
    return exc.value.message


def test_more_winners_than_max_winners_are_refused(reviewing):
    challenge, bids = reviewing  # max_winners 1
    assert "最多入选1个团队，您选择了2个" in refused_award(challenge, [bids[0].pk, bids[1].pk])


def test_no_winner_is_refused(reviewing):
    challenge, _bids = reviewing
    assert "请至少选择一个入选方案" in refused_award(challenge, [])


def test_a_bid_without_a_review_score_cannot_win(reviewing):
    challenge, bids = reviewing
    assert f"方案{bids[2].number}尚无专家评审结果" in refused_award(challenge, [bids[2].pk])


def test_a_bid_of_another_challenge_cannot_win(reviewing):
    challenge, _bids = reviewing
    stranger = bid_in(set_state(publish(ChallengeFactory()), "reviewing"), "reviewing", review_score=Decimal("99"))
    assert "不在本次评审中" in refused_award(challenge, [stranger.pk])


def test_the_winner_wins_and_the_others_lose(reviewing):
    challenge, bids = reviewing
    projects = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bids[1].pk])
    assert [p.bid_id for p in projects] == [bids[1].pk]
    assert [Bid.objects.get(pk=b.pk).state for b in bids] == ["lost", "won", "lost"]
    winner_note = Notification.objects.get(recipient=bids[1].created_by, kind="challenge_result")
    assert "已入选" in winner_note.body


def test_with_a_defence_a_missing_defence_score_is_refused(reviewing, officer):
    challenge, bids = reviewing
    set_state(challenge, "reviewing", defence_weight=Decimal("0.40"))
    jb.record_defence_scores(actor=officer, challenge_id=challenge.pk, scores={bids[1].pk: "70"})
    assert f"方案{bids[0].number}尚无答辩成绩" in refused_award(challenge, [bids[0].pk])
    jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bids[1].pk])
    assert Bid.objects.get(pk=bids[1].pk).total_score == Decimal("76.00")  # 80 × 0.6 + 70 × 0.4


@pytest.mark.parametrize(("review", "defence", "weight", "total"), [
    ("80.01", "90.00", "0.50", "85.01"),   # 85.005 rounds half up
    ("80.00", "90.00", "0.35", "83.50"),
    ("77.77", "88.88", "0.33", "81.44"),   # 52.1059 + 29.3304 = 81.4363
    ("90.00", "0", "0.00", "90.00"),       # no defence: the review score alone
])
def test_total_score_weights_review_and_defence_rounded_half_up(challenge, officer, review, defence, weight, total):
    challenge = set_state(challenge, "reviewing", defence_weight=Decimal(weight))
    bid = bid_in(challenge, "reviewing")
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={bid.pk: (Decimal(review), 5)})
    if Decimal(weight):
        assert Bid.objects.get(pk=bid.pk).total_score is None  # not before the defence
        jb.record_defence_scores(actor=officer, challenge_id=challenge.pk, scores={bid.pk: defence})
    assert Bid.objects.get(pk=bid.pk).total_score == Decimal(total)


@pytest.mark.parametrize("bad", ["101", "-1", "abc", "80.001", "NaN"])
def test_defence_scores_are_checked(reviewing, officer, bad):
    challenge, bids = reviewing
    set_state(challenge, "reviewing", defence_weight=Decimal("0.40"))
    with pytest.raises(InvalidInput):
        jb.record_defence_scores(actor=officer, challenge_id=challenge.pk, scores={bids[0].pk: bad})
    assert Bid.objects.get(pk=bids[0].pk).defence_score is None


def test_defence_scores_need_a_defence_and_a_review(reviewing, officer):
    challenge, bids = reviewing
    with pytest.raises(TransitionRefused):  # defence_weight 0: no 答辩
        jb.record_defence_scores(actor=officer, challenge_id=challenge.pk, scores={bids[0].pk: "80"})
    set_state(challenge, "closed", defence_weight=Decimal("0.40"))
    with pytest.raises(TransitionRefused):
        jb.record_defence_scores(actor=officer, challenge_id=challenge.pk, scores={bids[0].pk: "80"})
    assert Bid.objects.get(pk=bids[0].pk).defence_score is None


# ---- 流标 and republishing -----------------------------------------------------------------------------------


def test_fail_voids_the_bids_and_a_republished_challenge_takes_new_bids(challenge, officer):
    challenge = set_state(challenge, "reviewing")
    old = [bid_in(challenge, "reviewing", review_score=Decimal("50")) for _ in range(2)]
    jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="均未达到榜单要求")
    assert Challenge.objects.get(pk=challenge.pk).state == "failed"
    assert set(Bid.objects.filter(pk__in=[b.pk for b in old]).values_list("state", flat=True)) == {"void"}
    for b in old:
        note = Notification.objects.get(recipient=b.created_by, kind="challenge_result")
        assert "流标" in note.title and "均未达到榜单要求" in note.body
    assert Notification.objects.filter(recipient=challenge.created_by, kind="challenge_result").exists()

    challenge = jb.republish_challenge(actor=officer, challenge_id=challenge.pk, bid_deadline=timezone.now() + LATER)
    assert challenge.state == "published" and challenge.bid_round == 2
    # an earlier bidder bids again on the new publication
    again = jb.create_bid(actor=old[0].created_by, challenge_id=challenge.pk)
    assert again.bid_round == 2 and again.state == "draft"
    fresh = BidFactory(challenge=challenge)
    fresh = jb.submit_bid(actor=fresh.created_by, bid_id=fresh.pk, accept_commitment=True)
    assert fresh.bid_round == 2 and fresh.state == "submitted"
    assert set(Bid.objects.filter(pk__in=[b.pk for b in old]).values_list("state", flat=True)) == {"void"}

    # the second publication is reviewed: only its own bids
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    assert Bid.objects.get(pk=old[1].pk).state == "void"
    Bid.objects.filter(pk=fresh.pk).update(review_score=Decimal("88"))
    # awarding takes bids of the current publication only (the old ones are void and of round 1)
    with pytest.raises(InvalidInput) as exc:
        jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[old[1].pk])
    assert "不在本次评审中" in exc.value.message
    projects = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[fresh.pk])
    assert [p.bid_id for p in projects] == [fresh.pk]


def test_an_old_round_bid_still_reviewing_cannot_win_the_new_round(challenge, officer):
    """Even a bid of an earlier publication left in 评审中 (written around the services) is not the current round's."""
    challenge = set_state(challenge, "reviewing", bid_round=2)
    stale = bid_in(challenge, "reviewing", bid_round=1, review_score=Decimal("95"))
    current = bid_in(challenge, "reviewing", review_score=Decimal("80"))
    assert current.bid_round == 2
    assert "不在本次评审中" in refused_award(challenge, [stale.pk])


def test_the_poster_may_declare_fail_only_while_reviewing(challenge):
    challenge = set_state(challenge, "closed")
    with pytest.raises(PermissionRefused):
        jb.fail_challenge(actor=challenge.created_by, challenge_id=challenge.pk, reason="无")
    set_state(challenge, "reviewing")
    assert jb.fail_challenge(actor=challenge.created_by, challenge_id=challenge.pk, reason="无").state == "failed"


# ---- 答疑 --------------------------------------------------------------------------------------------------


@pytest.fixture
def question(challenge, other_applicant):
    return jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="样车由谁提供？")


def test_a_bidder_asks_while_bids_are_accepted_and_the_bureau_and_poster_hear(officer, question, challenge):
    assert question.state == "open" and question.organization == question.asked_by.organization
    assert Notification.objects.filter(kind="challenge_question", recipient=officer).exists()
    assert Notification.objects.filter(kind="challenge_question", recipient=challenge.created_by).exists()


@pytest.mark.parametrize("state", ["vetting", "closed", "reviewing", "awarded", "failed"])
def test_questions_only_while_accepting_bids(challenge, other_applicant, state):
    set_state(challenge, state)
    with pytest.raises(TransitionRefused):
        jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="?")
    assert not ChallengeQuestion.objects.exists()


def test_questions_after_the_deadline_are_refused(challenge, other_applicant):
    with pytest.raises(TransitionRefused):
        jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="?", now=challenge.bid_deadline)


def test_the_poster_and_users_without_an_organisation_cannot_ask(challenge, officer, expert_user):
    for actor in (challenge.created_by, officer, expert_user):
        with pytest.raises(PermissionRefused):
            jb.ask_question(actor=actor, challenge_id=challenge.pk, question="?")
    assert not ChallengeQuestion.objects.exists()


def test_an_empty_question_is_refused(challenge, other_applicant):
    with pytest.raises(InvalidInput):
        jb.ask_question(actor=other_applicant, challenge_id=challenge.pk, question="  ")


@pytest.mark.parametrize("who", ["officer", "poster"])
def test_the_officer_or_the_poster_answers(question, challenge, officer, who):
    actor = officer if who == "officer" else challenge.created_by
    q = jb.answer_question(actor=actor, question_id=question.pk, answer="由发榜单位提供两台。")
    assert q.state == "answered" and q.answered_by == actor
    assert Notification.objects.filter(kind="challenge_question", recipient=question.asked_by).exists()


@pytest.mark.parametrize("who", ["asker", "bidder", "expert_user"])
def test_others_cannot_answer(question, challenge, who, request, applicant):
    actor = {"asker": question.asked_by, "bidder": applicant}.get(who) or request.getfixturevalue(who)
    with pytest.raises(PermissionRefused):
        jb.answer_question(actor=actor, question_id=question.pk, answer="答")
    assert ChallengeQuestion.objects.get(pk=question.pk).state == "open"


def test_dismiss_by_the_officer_only_and_a_dismissed_question_stays_unanswered(question, challenge, officer):
    with pytest.raises(PermissionRefused):
        jb.dismiss_question(actor=challenge.created_by, question_id=question.pk, reason="无关")
    with pytest.raises(InvalidInput):
        jb.dismiss_question(actor=officer, question_id=question.pk, reason="")
    assert jb.dismiss_question(actor=officer, question_id=question.pk, reason="与榜单无关").state == "dismissed"
    with pytest.raises(TransitionRefused):
        jb.answer_question(actor=officer, question_id=question.pk, answer="答")
    with pytest.raises(TransitionRefused):
        jb.dismiss_question(actor=officer, question_id=question.pk, reason="再次")
    assert ChallengeQuestion.objects.get(pk=question.pk).answer == ""


def test_an_answered_question_cannot_be_dismissed(question, officer):
    jb.answer_question(actor=officer, question_id=question.pk, answer="答")
    with pytest.raises(TransitionRefused):
        jb.dismiss_question(actor=officer, question_id=question.pk, reason="x")
    assert ChallengeQuestion.objects.get(pk=question.pk).state == "answered"


# ---- money -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "share"), [
    ("1000000.01", "333333.34"),   # 333,333.336…
    ("3000000.00", "1000000.00"),  # the whole bounty: the whole subsidy
    ("1000000.00", "333333.33"),   # 333,333.333…
    ("0.02", "0.01"),              # 0.00666… rounds half up
])
def test_fiscal_share_is_exact_to_the_fen(challenge, amount, share):
    assert (challenge.subsidy_requested, challenge.bounty) == (Decimal("1000000.00"), Decimal("3000000.00"))
    assert jb.fiscal_share(Decimal(amount), challenge) == Decimal(share)


def test_the_bounty_is_the_sum_in_the_database(challenge):
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(bounty=Decimal("3000000.01"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Challenge.objects.filter(pk=challenge.pk).update(subsidy_requested=Decimal("999999.99"))
    Challenge.objects.filter(pk=challenge.pk).update(subsidy_requested=Decimal("999999.99"),
                                                     bounty=Decimal("2999999.99"))
    assert Challenge.objects.get(pk=challenge.pk).bounty == Decimal("2999999.99")


def test_the_service_keeps_the_bounty_the_sum(challenge):
    need = ChallengeFactory()
    need = jb.update_challenge(actor=need.created_by, challenge_id=need.pk,
                               data={"enterprise_funding": "1234567.89", "subsidy_requested": "0.11"})
    assert Challenge.objects.get(pk=need.pk).bounty == Decimal("1234568.00")
    for bad in ("-1", "1.001", "abc"):
        with pytest.raises(InvalidInput):
            jb.update_challenge(actor=need.created_by, challenge_id=need.pk, data={"subsidy_requested": bad})
    assert Challenge.objects.get(pk=need.pk).subsidy_requested == Decimal("0.11")


def test_a_poster_with_a_running_credit_record_cannot_submit_its_need():
    from accounts.tests.factories import CreditRecordFactory

    need = ChallengeFactory()
    CreditRecordFactory(organization=need.organization, penalty_start=datetime.date(2020, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)
    assert need.organization.name in exc.value.message and "不得参与" in exc.value.message
    assert Challenge.objects.get(pk=need.pk).state == "draft"


def test_an_unverified_poster_cannot_submit_its_need():
    need = ChallengeFactory()
    type(need.organization).objects.filter(pk=need.organization_id).update(state="pending")
    with pytest.raises(InvalidInput) as exc:
        jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)
    assert "尚未通过科技局认证" in exc.value.message
    assert Challenge.objects.get(pk=need.pk).state == "draft"

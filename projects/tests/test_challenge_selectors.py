"""What each user may see of 揭榜挂帅: a bidder sees only its own bids and never another bidder's plan; the poster
sees the bids only from review on; the public never sees bids or unanswered questions; projects are seen by the
team, the poster and the bureau."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects.challenges import selectors as sel
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeQuestion
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def set_state(obj, state, **fields):
    type(obj).objects.filter(pk=obj.pk).update(state=state, **fields)
    obj.refresh_from_db()
    return obj


@pytest.fixture
def challenge():
    return publish(ChallengeFactory())


@pytest.fixture
def two_bids(challenge):
    """Two organisations' submitted bids."""
    bids = []
    for _ in range(2):
        b = BidFactory(challenge=challenge)
        bids.append(jb.submit_bid(actor=b.created_by, bid_id=b.pk, accept_commitment=True))
    return bids


# ---- the bidder --------------------------------------------------------------------------------------------


def test_a_bidder_sees_only_its_own_bids(two_bids):
    mine, theirs = two_bids
    assert list(sel.bids_of(mine.created_by)) == [mine]
    assert list(sel.bids_of(theirs.created_by)) == [theirs]
    assert sel.bid_for_bidder(mine.created_by, mine.pk) == mine
    with pytest.raises(Http404):
        sel.bid_for_bidder(mine.created_by, theirs.pk)
    assert list(sel.bids_visible_to(mine.created_by)) == [mine]


def test_a_colleague_of_the_same_organisation_sees_the_bid(two_bids):
    mine, _theirs = two_bids
    colleague = UserFactory(organization=mine.organization, roles=["org_admin"])
    assert list(sel.bids_of(colleague)) == [mine]


@pytest.mark.parametrize("who", ["poster", "officer", "expert_user", "anonymous"])
def test_nobody_else_opens_a_bid_as_its_bidder(two_bids, challenge, who, request):
    user = {"poster": challenge.created_by, "anonymous": AnonymousUser()}.get(who) or request.getfixturevalue(who)
    assert not sel.bids_of(user).exists()
    with pytest.raises(Http404):
        sel.bid_for_bidder(user, two_bids[0].pk)


def test_own_bid_for_is_the_live_bid_of_the_current_publication(challenge, two_bids):
    mine, theirs = two_bids
    assert sel.own_bid_for(mine.created_by, challenge) == mine
    jb.withdraw_bid(actor=mine.created_by, bid_id=mine.pk)
    assert sel.own_bid_for(mine.created_by, challenge) is None
    assert sel.own_bid_for(challenge.created_by, challenge) is None


# ---- the poster --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["published", "closed", "failed", "cancelled"])
def test_the_poster_sees_no_bid_before_review(challenge, two_bids, state):
    set_state(challenge, state)
    assert not sel.bids_for_poster(challenge.created_by, challenge).exists()


def test_the_poster_sees_the_current_bids_from_review_on(challenge, two_bids, officer):
    draft = BidFactory(challenge=challenge)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    challenge.refresh_from_db()
    jb.record_bid_review_scores(challenge_id=challenge.pk,
                                scores={two_bids[0].pk: (Decimal("70"), 3), two_bids[1].pk: (Decimal("90"), 3)})
    seen = list(sel.bids_for_poster(challenge.created_by, challenge))
    assert seen == [two_bids[1], two_bids[0]]  # best first
    assert draft.pk not in {b.pk for b in seen}  # voided at the deadline
    # a bid of an earlier publication is not among them
    set_state(BidFactory(challenge=challenge), "reviewing", bid_round=0, number="OLD-1")
    assert len(sel.bids_for_poster(challenge.created_by, challenge)) == 2
    jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[two_bids[1].pk])
    challenge.refresh_from_db()
    assert [b.state for b in sel.bids_for_poster(challenge.created_by, challenge)] == ["won", "lost"]


@pytest.mark.parametrize("who", ["bidder", "other_applicant", "officer", "anonymous"])
def test_a_non_poster_gets_no_bids_as_the_poster(challenge, two_bids, who, request):
    set_state(challenge, "reviewing")
    Bid.objects.update(state="reviewing")
    user = {"bidder": two_bids[0].created_by, "anonymous": AnonymousUser()}.get(who) or request.getfixturevalue(who)
    assert not sel.bids_for_poster(user, challenge).exists()
    assert sel.bids_for_poster(challenge.created_by, challenge).count() == 2  # the test can fail


def test_the_poster_sees_its_own_needs_only(challenge, other_applicant):
    assert list(sel.needs_of(challenge.created_by)) == [challenge]
    assert sel.need_for_poster(challenge.created_by, challenge.pk) == challenge
    assert not sel.needs_of(other_applicant).exists()
    with pytest.raises(Http404):
        sel.need_for_poster(other_applicant, challenge.pk)


# ---- the public and 答疑 ------------------------------------------------------------------------------------


def test_the_public_list_shows_published_challenges_and_never_bids(challenge, two_bids):
    draft, vetting = ChallengeFactory(), set_state(ChallengeFactory(), "vetting")
    listed = list(sel.public_challenges())
    assert listed == [challenge]
    assert "bids" not in getattr(listed[0], "_prefetched_objects_cache", {})
    assert "projects_bid" not in str(sel.public_challenges().query)
    for hidden in (draft, vetting):
        with pytest.raises(Http404):
            sel.public_challenge(hidden.pk)
    assert sel.public_challenge(challenge.pk) == challenge
    assert list(sel.public_challenges(field="energy")) == []
    assert list(sel.public_challenges(q=challenge.number)) == [challenge]


@pytest.fixture
def questions(challenge, two_bids, officer):
    """Bidder A: one answered, one open, one dismissed; bidder B: one open."""
    a, b = (x.created_by for x in two_bids)
    answered = jb.ask_question(actor=a, challenge_id=challenge.pk, question="A 已答")
    jb.answer_question(actor=officer, question_id=answered.pk, answer="答复")
    open_a = jb.ask_question(actor=a, challenge_id=challenge.pk, question="A 待答")
    dismissed = jb.ask_question(actor=a, challenge_id=challenge.pk, question="A 无关")
    jb.dismiss_question(actor=officer, question_id=dismissed.pk, reason="无关")
    open_b = jb.ask_question(actor=b, challenge_id=challenge.pk, question="B 待答")
    return {"answered": answered, "open_a": open_a, "dismissed": dismissed, "open_b": open_b}


def test_questions_for_hides_other_organisations_open_questions(challenge, two_bids, questions, officer,
                                                               other_applicant):
    a, b = (x.created_by for x in two_bids)
    q = questions

    def seen(user):
        return {x.question for x in sel.questions_for(user, challenge)}

    assert seen(a) == {"A 已答", "A 待答", "A 无关"}
    assert seen(b) == {"A 已答", "B 待答"}
    assert seen(other_applicant) == {"A 已答"}
    assert seen(AnonymousUser()) == {"A 已答"}
    assert seen(challenge.created_by) == seen(officer) == {x.question for x in q.values()}
    assert list(sel.public_questions(challenge)) == [q["answered"]]


def test_a_poster_answers_only_its_own_challenges_questions(challenge, questions, other_applicant):
    assert sel.question_for_poster(challenge.created_by, questions["open_b"].pk) == questions["open_b"]
    with pytest.raises(Http404):
        sel.question_for_poster(other_applicant, questions["open_b"].pk)
    assert ChallengeQuestion.objects.count() == 4


# ---- the bureau --------------------------------------------------------------------------------------------


def test_the_bureau_sees_submitted_needs_and_submitted_bids(challenge, two_bids, officer, other_applicant):
    never_submitted = ChallengeFactory()
    returned = set_state(ChallengeFactory(), "draft", submitted_at=challenge.submitted_at)  # returned for changes
    supervisor = UserFactory(roles=["supervisor"])
    for user in (officer, supervisor):
        seen = set(sel.challenges_for_bureau(user))
        assert challenge in seen and returned in seen and never_submitted not in seen
    draft = BidFactory(challenge=challenge)
    assert set(sel.bids_for_bureau(officer, challenge)) == set(two_bids)
    assert draft not in set(sel.bids_visible_to(officer))
    assert not sel.challenges_for_bureau(other_applicant).exists()
    assert not sel.bids_for_bureau(challenge.created_by, challenge).exists()
    with pytest.raises(Http404):
        sel.challenge_for_bureau(challenge.created_by, challenge.pk)


# ---- the winners' projects ---------------------------------------------------------------------------------


def test_projects_are_seen_by_the_team_the_poster_and_the_bureau(challenge, two_bids, officer, other_applicant,
                                                                  finance_user, expert_user):
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={b.pk: (Decimal("80"), 3) for b in two_bids})
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[two_bids[0].pk])
    loser = two_bids[1].created_by
    for user in (two_bids[0].created_by, challenge.created_by, officer, finance_user):
        assert sel.challenge_project_for(user, project.pk) == project
        assert sel.challenge_milestone_for(user, project.milestones.first().pk).project_id == project.pk
    for user in (loser, other_applicant, expert_user, AnonymousUser()):
        assert not sel.challenge_projects_visible_to(user).exists()
        with pytest.raises(Http404):
            sel.challenge_project_for(user, project.pk)
        with pytest.raises(Http404):
            sel.challenge_milestone_for(user, project.milestones.first().pk)
    assert Challenge.objects.get(pk=challenge.pk).state == "awarded"


def test_the_public_list_shows_open_challenges_first_soonest_deadline_first(db):
    now = timezone.now()
    awarded = publish(ChallengeFactory(), deadline=now + datetime.timedelta(days=1))
    awarded.state = "awarded"
    awarded.save(update_fields=["state"])
    later = publish(ChallengeFactory(), deadline=now + datetime.timedelta(days=40))
    sooner = publish(ChallengeFactory(), deadline=now + datetime.timedelta(days=5))
    assert [c.pk for c in sel.public_challenges()] == [sooner.pk, later.pk, awarded.pk]

"""Edge cases of the 揭榜挂帅 services found in review: money at the fen (the winners' fiscal grants never exceed
the subsidy; a share below a fen is refused, not a 500), scores arriving from an expert round after the decision
(never rewriting a decided bid or a closed milestone), a deadline extension after the deadline passed, and an
empty draft need withdrawn."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.exceptions import InvalidInput, TransitionRefused
from projects.challenges import services as jb
from projects.models import Bid, Challenge, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

from .test_challenge_projects import awarded, bid_for, fail_first_milestone, pass_milestone, team, under_review

pytestmark = pytest.mark.django_db


# ---- money ---------------------------------------------------------------------------------------------------


def test_three_winners_fiscal_grants_never_exceed_the_subsidy(officer):
    # subsidy / bounty = 2/3: each winner's exact share is 666,666.666…; rounded half up each, three of them
    # would add up to 2,000,000.01, a fen more than the government granted
    challenge = publish(ChallengeFactory(enterprise_funding=Decimal("1000000.00"),
                                         subsidy_requested=Decimal("2000000.00"), bounty=Decimal("3000000.00")),
                        max_winners=3)
    bids = [bid_for(challenge) for _ in range(3)]
    under_review(challenge, officer, bids, ["90", "85", "80"])
    projects = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[b.pk for b in bids])
    grants = sorted(Project.objects.filter(pk__in=[p.pk for p in projects]).values_list("granted_amount", flat=True))
    assert sum(grants) == Decimal("2000000.00")
    # every share is within a fen of its exact value
    assert grants == [Decimal("666666.66"), Decimal("666666.67"), Decimal("666666.67")]


def test_a_single_winner_still_gets_its_share_rounded_half_up(officer):
    challenge = publish(ChallengeFactory(), max_winners=1)  # 1/3
    bid = bid_for(challenge, amount="1000000.01", first="500000.00")
    under_review(challenge, officer, [bid], ["90"])
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    assert Project.objects.get(pk=project.pk).granted_amount == Decimal("333333.34")


def test_a_fiscal_share_below_a_fen_is_refused_not_a_500(officer):
    # a tiny subsidy: the government's share of a 100-yuan bid is 0.0001 yuan; a project granted 0.00 would
    # break the database constraint (granted amount > 0)
    challenge = publish(ChallengeFactory(enterprise_funding=Decimal("9999.99"), subsidy_requested=Decimal("0.01"),
                                         bounty=Decimal("10000.00")))
    bid = bid_for(challenge, amount="100.00", first="40.00")
    under_review(challenge, officer, [bid], ["90"])
    with pytest.raises(InvalidInput) as e:
        jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    assert "0.01" in " ".join(e.value.messages)
    assert Challenge.objects.get(pk=challenge.pk).state == "reviewing"
    assert Bid.objects.get(pk=bid.pk).state == "reviewing"
    assert not Project.objects.filter(bid=bid).exists()


def test_the_largest_amounts_award_without_overflow(officer):
    # the largest amounts the forms accept: 9,999,999,999,999.99 from each side
    top = Decimal("9999999999999.99")
    challenge = publish(ChallengeFactory(enterprise_funding=top, subsidy_requested=top, bounty=top * 2))
    bid = bid_for(challenge, amount=str(top * 2), first="0.01")
    under_review(challenge, officer, [bid], ["90"])
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    assert Project.objects.get(pk=project.pk).granted_amount == top


# ---- scores arriving after the decision ------------------------------------------------------------------------


def test_bid_scores_arriving_after_the_award_leave_the_decided_bids_alone(officer):
    challenge, (project,) = awarded(officer, n=1)
    won = Bid.objects.get(pk=project.bid_id)
    before = (won.review_score, won.review_count, won.total_score)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={won.pk: (None, 0)})
    won.refresh_from_db()
    assert (won.review_score, won.review_count, won.total_score) == before


def test_bid_scores_of_an_earlier_publication_do_not_land_on_void_bids(officer):
    challenge = publish(ChallengeFactory())
    bid = bid_for(challenge)
    under_review(challenge, officer, [bid], ["70"])
    jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="无合适方案")
    jb.republish_challenge(actor=officer, challenge_id=challenge.pk,
                           bid_deadline=timezone.now() + datetime.timedelta(days=20))
    # the first publication's expert round closes late
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={bid.pk: (Decimal("95.00"), 5)})
    row = Bid.objects.get(pk=bid.pk)
    assert row.state == "void" and row.review_score == Decimal("70.00")


def test_milestone_expert_scores_do_not_land_on_cancelled_or_concluded_milestones(officer):
    _challenge, (a, b) = awarded(officer, n=2)
    failed = fail_first_milestone(b, officer)
    jb.stop_project(actor=officer, project_id=b.pk, milestone_id=failed.pk, reason="淘汰")
    cancelled = b.milestones.get(position=2)
    assert cancelled.state == "cancelled"
    reported = a.milestones.get(position=1)
    jb.report_milestone(actor=team(a), milestone_id=reported.pk, report="达到。")
    jb.record_milestone_expert_scores(scores={cancelled.pk: (Decimal("60.00"), 3), failed.pk: (Decimal("99.00"), 3),
                                              reported.pk: (Decimal("88.00"), 3)})
    assert ProjectMilestone.objects.get(pk=cancelled.pk).expert_score is None
    assert ProjectMilestone.objects.get(pk=failed.pk).expert_score is None
    assert ProjectMilestone.objects.get(pk=reported.pk).expert_score == Decimal("88.00")


# ---- lifecycle holes ---------------------------------------------------------------------------------------------


def test_a_deadline_that_already_passed_cannot_be_extended_before_the_sweeper_closes(officer):
    challenge = publish(ChallengeFactory())
    deadline = challenge.bid_deadline
    late = deadline + datetime.timedelta(hours=1)  # past the deadline, the sweeper has not run yet
    with pytest.raises(TransitionRefused):
        jb.extend_bid_deadline(actor=officer, challenge_id=challenge.pk, now=late,
                               bid_deadline=deadline + datetime.timedelta(days=7))
    assert Challenge.objects.get(pk=challenge.pk).bid_deadline == deadline


def test_an_empty_draft_need_may_be_withdrawn():
    need = ChallengeFactory(enterprise_funding=Decimal("0"), subsidy_requested=Decimal("0"), bounty=Decimal("0"))
    jb.withdraw_challenge(actor=need.created_by, challenge_id=need.pk)
    assert Challenge.objects.get(pk=need.pk).state == "cancelled"


def test_a_bid_drafted_before_close_cannot_be_submitted_after_close(officer):
    challenge = publish(ChallengeFactory())
    draft = BidFactory(challenge=challenge)
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    with pytest.raises(TransitionRefused):
        jb.submit_bid(actor=draft.created_by, bid_id=draft.pk, accept_commitment=True)
    assert Bid.objects.get(pk=draft.pk).state == "void"


# ---- races (PostgreSQL) --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency is exercised on PostgreSQL")
def test_two_needs_submitted_at_once_get_two_numbers():
    from .test_challenge_concurrency import run_concurrently

    needs = [ChallengeFactory() for _ in range(4)]
    results = run_concurrently(*[
        lambda n=n: jb.submit_challenge(actor=n.created_by, challenge_id=n.pk, accept_commitment=True) for n in needs
    ])
    assert all(isinstance(r, Challenge) for r in results), results
    numbers = sorted(Challenge.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 4 and all(n.startswith("XQ") for n in numbers)


def test_a_team_that_applied_for_acceptance_cannot_be_stopped(officer):
    challenge, (a, _b) = awarded(officer, n=2)
    for m in a.milestones.order_by("position"):
        pass_milestone(m, officer)
    jb.apply_acceptance(actor=team(a), project_id=a.pk, report="全部完成。",
                        results={t.pk: {"achieved": "达到"} for t in challenge.targets.all()})
    last = a.milestones.get(position=2)
    with pytest.raises(TransitionRefused):
        jb.stop_project(actor=officer, project_id=a.pk, milestone_id=last.pk, reason="淘汰")
    assert Project.objects.get(pk=a.pk).state == "established"

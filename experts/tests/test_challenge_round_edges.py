"""揭榜 review rounds that close late: a bid round closing after the poster has confirmed the winners, or after a
流标 and republication, does not rewrite the decided (or voided) bids; the round keeps its own results."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from experts.models import ReviewRound
from experts.services import rounds
from projects.challenges import services as jb
from projects.models import Bid

from .test_challenge_rounds import reviewing_challenge

pytestmark = pytest.mark.django_db


def open_bid_round(officer, challenge):
    rnd = rounds.create_round(actor=officer, challenge_id=challenge.pk, kind=ReviewRound.Kind.BID, data={})
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 2
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd


def test_a_bid_round_closed_after_the_award_leaves_the_winner_as_decided(officer):
    challenge, (won, other) = reviewing_challenge(officer)
    rnd = open_bid_round(officer, challenge)
    # the winner's score came in another way (the round is still open), and the poster confirmed it
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={won.pk: (Decimal("90.00"), 5)})
    jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[won.pk])
    rounds.close_round(actor=officer, round_id=rnd.pk, force=True, reason="结果已确认")
    won = Bid.objects.get(pk=won.pk)
    assert (won.state, won.review_score, won.review_count, won.total_score) == ("won", Decimal("90.00"), 5,
                                                                                   Decimal("90.00"))
    assert Bid.objects.get(pk=other.pk).state == "lost"


def test_a_bid_round_closed_after_a_republication_leaves_the_void_bids_and_the_new_ones_alone(officer):
    challenge, bids = reviewing_challenge(officer)
    rnd = open_bid_round(officer, challenge)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={b.pk: (Decimal("55.00"), 5) for b in bids})
    jb.fail_challenge(actor=officer, challenge_id=challenge.pk, reason="方案均不理想")
    jb.republish_challenge(actor=officer, challenge_id=challenge.pk,
                           bid_deadline=timezone.now() + datetime.timedelta(days=20))
    rounds.close_round(actor=officer, round_id=rnd.pk, force=True, reason="流标后结束")
    rows = Bid.objects.filter(pk__in=[b.pk for b in bids]).order_by("id")
    assert [(b.state, b.review_score, b.review_count) for b in rows] == [("void", Decimal("55.00"), 5)] * 2

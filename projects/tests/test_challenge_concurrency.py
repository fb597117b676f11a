"""揭榜挂帅 races (PostgreSQL row locks and the partial unique constraint): two posters awarding at once make one
award; one organisation bidding twice at once keeps one live bid."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections

from accounts.exceptions import DomainError, InvalidInput, TransitionRefused
from accounts.tests.factories import OrganizationFactory, UserFactory
from projects.challenges import services as jb
from projects.models import Bid, Challenge, Project
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency is exercised on PostgreSQL"),
]


def run_concurrently(*fns):
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:  # the test inspects what each thread got
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_posters_awarding_at_once_make_one_award(officer):
    challenge = publish(ChallengeFactory())
    bids = []
    for _ in range(2):
        b = BidFactory(challenge=challenge)
        bids.append(jb.submit_bid(actor=b.created_by, bid_id=b.pk, accept_commitment=True))
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={b.pk: (Decimal("80"), 3) for b in bids})
    posters = [challenge.created_by, UserFactory(organization=challenge.organization, roles=["applicant"])]

    results = run_concurrently(*[
        lambda u=u, b=b: jb.award_challenge(actor=u, challenge_id=challenge.pk, bid_ids=[b.pk])
        for u, b in zip(posters, bids, strict=True)
    ])
    assert sum(isinstance(r, list) for r in results) == 1, results
    assert sum(isinstance(r, TransitionRefused) for r in results) == 1, results
    assert Challenge.objects.get(pk=challenge.pk).state == "awarded"
    assert Project.objects.filter(challenge=challenge).count() == 1
    assert sorted(Bid.objects.filter(challenge=challenge).values_list("state", flat=True)) == ["lost", "won"]


def test_one_organisation_bidding_twice_at_once_keeps_one_live_bid():
    challenge = publish(ChallengeFactory())
    first = UserFactory(organization=OrganizationFactory(), roles=["applicant"])
    second = UserFactory(organization=first.organization, roles=["applicant"])

    results = run_concurrently(*[lambda u=u: jb.create_bid(actor=u, challenge_id=challenge.pk) for u in (first, second)])
    assert sum(isinstance(r, Bid) for r in results) == 1, results
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and isinstance(refused[0], InvalidInput), results
    assert Bid.objects.filter(challenge=challenge, organization=first.organization).count() == 1


def test_the_partial_unique_constraint_holds_under_concurrent_writes():
    """Written around the services (no challenge lock): the database still keeps one live bid per organisation
    per publication, while a withdrawn one does not count."""
    challenge = publish(ChallengeFactory())
    user = UserFactory(organization=OrganizationFactory(), roles=["applicant"])
    Bid.objects.create(challenge=challenge, bid_round=1, organization=user.organization, created_by=user,
                       state="withdrawn")

    def insert():
        return Bid.objects.create(challenge=challenge, bid_round=1, organization=user.organization, created_by=user)

    results = run_concurrently(insert, insert)
    assert sum(isinstance(r, Bid) for r in results) == 1, results
    assert sum(isinstance(r, IntegrityError) for r in results) == 1, results
    assert Bid.objects.filter(challenge=challenge).exclude(state="withdrawn").count() == 1


def test_one_bid_submitted_twice_at_once_is_submitted_once():
    challenge = publish(ChallengeFactory())
    bid = BidFactory(challenge=challenge)
    colleague = UserFactory(organization=bid.organization, roles=["applicant"])

    results = run_concurrently(*[
        lambda u=u: jb.submit_bid(actor=u, bid_id=bid.pk, accept_commitment=True) for u in (bid.created_by, colleague)
    ])
    assert sum(isinstance(r, Bid) for r in results) == 1, results
    assert sum(isinstance(r, TransitionRefused) for r in results) == 1, results
    bid.refresh_from_db()
    assert bid.state == "submitted" and bid.number == f"{challenge.number}-B01"

"""The 揭榜 deadline sweeper (Celery beat, every five minutes): published challenges close by themselves at their
bid deadline, the drafts nobody submitted are voided, and running it again changes nothing."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from activity.models import AuditEvent
from projects import tasks
from projects.challenges import services as jb
from projects.models import Bid, Challenge
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def events(obj, verb):
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(type(obj)), target_id=str(obj.pk), verb=verb
    )


def test_beat_schedule_runs_the_challenge_sweeper_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["close-due-challenges"]
    assert entry["task"] == tasks.close_due_challenges.name == "projects.close_due_challenges"
    assert entry["schedule"] == 300.0


@pytest.fixture
def due():
    """A published challenge due in an hour, with one submitted bid and one draft."""
    now = timezone.now()
    challenge = publish(ChallengeFactory(), deadline=now + datetime.timedelta(hours=1))
    submitted = BidFactory(challenge=challenge)
    jb.submit_bid(actor=submitted.created_by, bid_id=submitted.pk, accept_commitment=True)
    draft = BidFactory(challenge=challenge)
    return challenge, Bid.objects.get(pk=submitted.pk), draft


def test_the_task_closes_a_challenge_past_its_deadline_and_voids_its_drafts(due):
    challenge, submitted, draft = due
    deadline = challenge.bid_deadline
    now = timezone.now()
    later = publish(ChallengeFactory(), deadline=now + datetime.timedelta(days=10))
    need = ChallengeFactory()  # a draft need has no deadline: never touched

    with time_machine.travel(deadline + datetime.timedelta(minutes=3), tick=False):
        # .delay() runs the task as beat sends it (tests run tasks eagerly)
        closed = tasks.close_due_challenges.delay().get()
        swept_at = timezone.now()

    assert closed == [challenge.pk]
    challenge.refresh_from_db()
    assert challenge.state == Challenge.State.CLOSED and challenge.closed_at == swept_at
    # the published deadline stays what it was
    assert challenge.bid_deadline == deadline
    [close] = events(challenge, "close")
    assert close.actor is None and (close.from_state, close.to_state) == ("published", "closed")
    # the submitted bid goes on to review; the draft never submitted is void
    assert Bid.objects.get(pk=submitted.pk).state == Bid.State.SUBMITTED
    assert Bid.objects.get(pk=draft.pk).state == Bid.State.VOID
    later.refresh_from_db()
    need.refresh_from_db()
    assert later.state == Challenge.State.PUBLISHED and later.closed_at is None
    assert need.state == Challenge.State.DRAFT
    assert not events(later, "close").exists()


def test_the_task_run_twice_is_harmless(due):
    challenge, _submitted, draft = due
    now = timezone.now()
    with time_machine.travel(now + datetime.timedelta(hours=2), tick=False):
        assert tasks.close_due_challenges() == [challenge.pk]
    with time_machine.travel(now + datetime.timedelta(hours=2, minutes=5), tick=False):
        assert tasks.close_due_challenges() == []
    challenge.refresh_from_db()
    assert challenge.state == Challenge.State.CLOSED
    assert challenge.closed_at == now + datetime.timedelta(hours=2)
    assert events(challenge, "close").count() == 1
    assert events(draft, "void").count() == 1


def test_the_task_does_nothing_before_the_deadline(due):
    challenge, submitted, draft = due
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=55), tick=False):
        assert tasks.close_due_challenges() == []
    challenge.refresh_from_db()
    assert challenge.state == Challenge.State.PUBLISHED
    assert Bid.objects.get(pk=draft.pk).state == Bid.State.DRAFT
    assert not events(challenge, "close").exists()

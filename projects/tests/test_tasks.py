"""The periodic sweeper (Celery beat, every minute): calls close by themselves at closes_at."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from activity.models import AuditEvent
from projects import tasks
from projects.models import Call
from projects.tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def close_events(call):
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Call), target_id=str(call.pk), verb="close"
    )


def test_beat_schedule_runs_the_sweeper_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["close-due-calls"]
    assert entry["task"] == tasks.close_due_calls.name == "projects.tasks.close_due_calls"
    assert entry["schedule"] == 60.0


def test_close_due_calls_closes_a_call_whose_deadline_passed_and_leaves_others_alone():
    now = timezone.now()
    due = CallFactory(title="到期的指南", opens_at=now - datetime.timedelta(days=10),
                      closes_at=now + datetime.timedelta(hours=1))
    still_open = CallFactory(title="仍在申报期的指南", opens_at=now - datetime.timedelta(days=10),
                             closes_at=now + datetime.timedelta(days=5))
    draft = CallFactory(title="未发布的草稿指南", state=Call.State.DRAFT, published_at=None,
                        opens_at=now - datetime.timedelta(days=10), closes_at=now + datetime.timedelta(hours=1))

    with time_machine.travel(now + datetime.timedelta(hours=2), tick=False):
        # .delay() runs the task as beat would send it (tests run tasks eagerly)
        closed = tasks.close_due_calls.delay().get()
        swept_at = timezone.now()

    assert closed == [due.pk]
    due.refresh_from_db()
    still_open.refresh_from_db()
    draft.refresh_from_db()
    assert due.state == Call.State.CLOSED
    assert due.closed_at == swept_at
    # the sweeper closes at the deadline; it does not move the published deadline
    assert due.closes_at == now + datetime.timedelta(hours=1)
    assert still_open.state == Call.State.PUBLISHED and still_open.closed_at is None
    assert draft.state == Call.State.DRAFT

    [event] = close_events(due)
    assert event.actor is None  # done by the system, not by a person
    assert (event.from_state, event.to_state) == (Call.State.PUBLISHED, Call.State.CLOSED)
    assert not close_events(still_open).exists()
    assert not close_events(draft).exists()


def test_close_due_calls_is_idempotent():
    now = timezone.now()
    due = CallFactory(opens_at=now - datetime.timedelta(days=3), closes_at=now + datetime.timedelta(minutes=5))
    with time_machine.travel(now + datetime.timedelta(minutes=6), tick=False):
        assert tasks.close_due_calls() == [due.pk]
    with time_machine.travel(now + datetime.timedelta(minutes=7), tick=False):
        assert tasks.close_due_calls() == []
    assert close_events(due).count() == 1
    due.refresh_from_db()
    assert due.state == Call.State.CLOSED


def test_close_due_calls_does_nothing_before_the_deadline():
    now = timezone.now()
    call = CallFactory(opens_at=now - datetime.timedelta(days=3), closes_at=now + datetime.timedelta(minutes=5))
    with time_machine.travel(now + datetime.timedelta(minutes=4), tick=False):
        assert tasks.close_due_calls() == []
    call.refresh_from_db()
    assert call.state == Call.State.PUBLISHED
    assert not close_events(call).exists()

"""The sweeper's automatic actions (督办 ``act``) under retries, overlapping sweeps and failures: each action is
queued once per deadline, and an action that fails is queued again by the next sweep instead of being lost.

The kind is a test-only copy of 中期检查报告 (projects.obligations.MidtermDue) with an action that records its calls,
so these tests are about the engine, not about one app's action."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import TestCase

from activity import sweeper
from activity.deadlines import _REGISTRY, PolicyDefaults, end_of_day, register
from activity.models import Escalation, ReminderPolicy
from activity.tests.ladder import escalation
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from projects.checkpoints import services as cs
from projects.obligations import MidtermDue

pytestmark = pytest.mark.django_db
CODE = "test_midterm_acting"
DUE = datetime.date(2027, 3, 10)
DUE_AT = end_of_day(DUE)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


class ActingMidterm(MidtermDue):
    code = CODE
    # one overdue reminder, no 黄牌/红牌, the action two days late: a later sweep writes no reminder, only the action
    defaults = PolicyDefaults(windows=(), remind_overdue=True, yellow_after_days=None, red_after_days=None,
                              auto_action=True, action_after_days=2)
    calls: list = []
    failures = 0

    def act(self, pk, due_at, now):
        if type(self).failures:
            type(self).failures -= 1
            raise RuntimeError("the action's service failed")
        type(self).calls.append((pk, due_at))
        return True


@pytest.fixture
def acting():
    ActingMidterm.calls = []
    ActingMidterm.failures = 0
    register(ActingMidterm())
    yield ActingMidterm
    _REGISTRY.pop(CODE, None)


@pytest.fixture
def report(officer, acting):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


def sweep_and_act(moment, **kwargs):
    """Sweep at ``moment`` and run the actions it queues after commit (eager tasks)."""
    with time_machine.travel(moment, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return sweeper.sweep(kinds=[CODE], **kwargs)


def test_the_action_runs_once_however_often_the_sweep_runs(report, acting):
    sweep_and_act(DUE_AT + HOUR)
    assert acting.calls == []
    assert escalation(CODE, report.pk).acted_at is None
    result = sweep_and_act(DUE_AT + 2 * DAY + HOUR)
    assert result.actions == 1
    assert acting.calls == [(report.pk, DUE_AT)]
    sweep_and_act(DUE_AT + 2 * DAY + 2 * HOUR)
    sweep_and_act(DUE_AT + 5 * DAY)
    assert acting.calls == [(report.pk, DUE_AT)]


def test_a_batch_retried_after_a_concurrent_write_queues_the_action_once(report, acting, monkeypatch):
    """The retry on IntegrityError: the first attempt read no 督办 item (stale: another sweep opened it meanwhile),
    so it inserts one and the unique key refuses it. The attempt's savepoint is rolled back with the action it
    queued (on-commit callbacks of a rolled-back block are discarded), the batch is read again and the action is
    queued once, and counted once."""
    sweep_and_act(DUE_AT + HOUR)
    assert Escalation.objects.filter(kind=CODE).count() == 1
    real = sweeper._lock_escalations
    calls = {"n": 0}

    def stale_once(code, object_ids):
        calls["n"] += 1
        return [] if calls["n"] == 1 else real(code, object_ids)

    monkeypatch.setattr(sweeper, "_lock_escalations", stale_once)
    result = sweep_and_act(DUE_AT + 2 * DAY + HOUR)
    assert calls["n"] == 2, "read, refused by the unique key, read again"
    assert acting.calls == [(report.pk, DUE_AT)]
    assert (result.actions, result.escalations_opened) == (1, 0)
    assert Escalation.objects.filter(kind=CODE).count() == 1
    assert escalation(CODE, report.pk).acted_at is not None


def test_a_failed_action_is_queued_again_by_the_next_sweep(report, acting):
    """The sweep marks the action taken when it queues it. An action that raises (a deadlock, a bug) unmarks it,
    so the next sweep queues it again instead of the 督办 item staying "acted" with nothing done."""
    acting.failures = 1
    with pytest.raises(RuntimeError):  # eager tasks propagate; a worker logs it and the task fails
        sweep_and_act(DUE_AT + 2 * DAY + HOUR)
    assert acting.calls == []
    assert escalation(CODE, report.pk).acted_at is None
    result = sweep_and_act(DUE_AT + 2 * DAY + 2 * HOUR)
    assert result.actions == 1
    assert acting.calls == [(report.pk, DUE_AT)]
    assert escalation(CODE, report.pk).acted_at is not None
    sweep_and_act(DUE_AT + 3 * DAY)
    assert acting.calls == [(report.pk, DUE_AT)]


def test_an_action_that_does_nothing_is_not_queued_again(report, acting, monkeypatch):
    """An action that declines (returns False: nobody to reassign to, the obligation met meanwhile) is done: the
    next sweeps do not queue it again."""
    monkeypatch.setattr(ActingMidterm, "act", lambda self, pk, due_at, now: ActingMidterm.calls.append(pk) and False)
    sweep_and_act(DUE_AT + 2 * DAY + HOUR)
    sweep_and_act(DUE_AT + 4 * DAY)
    assert acting.calls == [report.pk]


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_queue_the_action_once(officer, acting):
    """Two sweeps of the same batch at the same moment, the 督办 item already open: both read it before either
    wrote. The item is locked by the first, so the second waits and then sees the action taken."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so two sweeps cannot overlap")
    reports = []
    for _i in range(3):
        project = established_project(granted=Decimal("100000.00"), officer=officer)
        signed(project, officer)
        (r,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
        reports.append(r)
    sweeper.sweep(kinds=[CODE], now=DUE_AT + HOUR)
    assert Escalation.objects.filter(kind=CODE, acted_at__isnull=True).count() == 3
    real = sweeper._lock_escalations
    meet = threading.Barrier(2)
    errors = []

    def lock_then_meet(code, object_ids):
        rows = real(code, object_ids)
        try:
            meet.wait(timeout=3)  # without the lock both sweeps get here with the item not yet acted on
        except threading.BrokenBarrierError:
            pass
        return rows

    def run():
        try:
            # ``now`` passed, not time-machine: its clock is the whole process's, not one thread's
            sweeper.sweep(kinds=[CODE], now=DUE_AT + 2 * DAY + HOUR)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    sweeper_lock = sweeper._lock_escalations
    sweeper._lock_escalations = lock_then_meet
    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sweeper._lock_escalations = sweeper_lock
    assert errors == []
    assert sorted(pk for pk, _due in acting.calls) == sorted(r.pk for r in reports)
    assert Escalation.objects.filter(kind=CODE, acted_at__isnull=False).count() == 3
    assert ReminderPolicy.objects.filter(kind=CODE).exists()

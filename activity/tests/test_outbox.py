"""The task outbox (activity.outbox): a task that cannot reach the broker is kept in the database, not lost,
and never fails the request that queued it; the flusher publishes the kept tasks once the broker is back.

No broker is needed: ``app.send_task`` (what ``Task.apply_async`` of DurableTask's parent calls to talk to the
broker) is replaced by a fake broker that is up or down.
"""

import threading
import time
import uuid

import pytest
from celery.result import AsyncResult
from django.core import mail
from django.db import connection, transaction
from kombu.exceptions import OperationalError

from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import Notification, TaskOutbox
from activity.outbox import flush
from activity.services import notify
from activity.tasks import flush_task_outbox, send_notification_email, sweep_deadlines
from kjproject.celery import app

pytestmark = pytest.mark.django_db
EMAIL_TASK = send_notification_email.name


class FakeBroker:
    """Stands in for ``app.send_task``: records what is published, or refuses like a stopped Redis."""

    def __init__(self):
        self.down = False
        self.fail_on: set[int] = set()  # 1-based publish attempts that fail
        self.delay = 0.0
        self.attempts = 0
        self.published: list[tuple[str, list, dict, str, dict]] = []
        self._lock = threading.Lock()

    def send_task(self, name, args=None, kwargs=None, task_id=None, **options):
        with self._lock:
            self.attempts += 1
            attempt = self.attempts
        if self.down or attempt in self.fail_on:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        if self.delay:
            time.sleep(self.delay)
        task_id = task_id or str(uuid.uuid4())
        with self._lock:
            self.published.append((name, list(args or ()), dict(kwargs or {}), task_id, options))
        return AsyncResult(task_id, app=app)

    def ids(self) -> list[str]:
        return [task_id for _name, _args, _kwargs, task_id, _opts in self.published]


@pytest.fixture
def broker(monkeypatch):
    fake = FakeBroker()
    monkeypatch.setattr(app, "send_task", fake.send_task)
    return fake


@pytest.fixture
def not_eager():
    """Tests run tasks eagerly; these need the publishing path a real deployment takes."""
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def user(db):
    return UserFactory(email="zhang@example.com", roles=["applicant"], real_name="张申报")


def _notify(user, key="outbox:1"):
    """A notification, written without queueing its e-mail (the tests queue what they need)."""
    return Notification.objects.create(recipient=user, kind=MessageKind.APPLICATION_ACCEPTED, title="已受理",
                                       dedupe_key=key)


def _notify_queued(user, key="outbox:1"):
    """A notification through the service, which queues its e-mail on commit (through the outbox)."""
    [n] = notify([user], kind=MessageKind.APPLICATION_ACCEPTED, title="已受理：工业质检关键技术研究",
                 body="申报书已通过形式审查，予以受理。", link="/portal/applications/1/", dedupe_key=key)
    return n


def test_a_task_the_broker_refuses_is_kept_with_its_id_and_the_transaction_goes_on(
        user, broker, not_eager, django_capture_on_commit_callbacks):
    broker.down = True
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notification = _notify_queued(user)  # queues the e-mail on commit, like every service does
        result = send_notification_email.apply_async(args=[notification.pk], countdown=30)
        # the refused publish left the transaction usable: the request carries on writing
        other = _notify_queued(user, key="outbox:2")

    assert isinstance(result, AsyncResult) and result.id
    rows = list(TaskOutbox.objects.order_by("id"))
    assert [(r.task, r.args) for r in rows] == [
        (EMAIL_TASK, [notification.pk]),  # the on-commit e-mail of the first notification, written in the transaction
        (EMAIL_TASK, [notification.pk]),  # the explicit call, kept when the broker refused it
        (EMAIL_TASK, [other.pk]),
    ]
    first = rows[1]
    assert first.options == {"countdown": 30, "task_id": result.id}
    assert "OperationalError" in first.error and "Connection refused" in first.error
    assert [r.attempts for r in rows] == [1, 1, 1]  # the on-commit publishes were tried too, and refused
    assert all(r.options["task_id"] for r in rows) and len({r.options["task_id"] for r in rows}) == 3
    assert Notification.objects.filter(recipient=user).count() == 2  # both committed
    assert broker.published == [] and mail.outbox == []


def test_flush_publishes_the_kept_tasks_oldest_first_with_their_ids_and_deletes_them(user, broker, not_eager):
    n1, n2 = _notify(user, "outbox:1"), _notify(user, "outbox:2")
    broker.down = True
    r1 = send_notification_email.delay(n1.pk)
    r2 = send_notification_email.apply_async(args=[n2.pk], countdown=5)
    r3 = sweep_deadlines.delay(kinds=["midterm_due"])
    assert TaskOutbox.objects.count() == 3

    broker.down = False
    assert flush_task_outbox() == 3  # what beat runs every minute
    assert TaskOutbox.objects.count() == 0
    assert [(name, args, kwargs) for name, args, kwargs, _id, _opts in broker.published] == [
        (EMAIL_TASK, [n1.pk], {}), (EMAIL_TASK, [n2.pk], {}), (sweep_deadlines.name, [], {"kinds": ["midterm_due"]}),
    ]
    assert broker.ids() == [r1.id, r2.id, r3.id]  # a worker that already got one by that id knows it
    assert broker.published[1][4]["countdown"] == 5
    assert flush_task_outbox() == 0


def test_flush_stops_at_the_first_refusal_and_counts_the_attempt(user, broker, not_eager):
    notes = [_notify(user, f"outbox:{i}") for i in range(3)]
    broker.down = True
    ids = [send_notification_email.delay(n.pk).id for n in notes]
    broker.down = False
    broker.fail_on = {broker.attempts + 2}  # Redis goes away again after the first publish

    assert flush(app) == 1
    left = list(TaskOutbox.objects.order_by("id"))
    assert [r.args for r in left] == [[notes[1].pk], [notes[2].pk]]
    assert [r.attempts for r in left] == [2, 1]  # the third was not even tried
    assert broker.ids() == [ids[0]]

    assert flush(app) == 2
    assert broker.ids() == ids and not TaskOutbox.objects.exists()


def test_a_row_that_cannot_be_published_never_blocks_the_others(user, broker, not_eager):
    TaskOutbox.objects.bulk_create(
        [TaskOutbox(task="activity.no_such_task", args=[i], error="OperationalError") for i in range(3)]
    )
    n = _notify(user)
    broker.down = True
    rid = send_notification_email.delay(n.pk).id
    broker.down = False

    assert flush(app, batch=2) == 1  # the unknown ones fill whole batches: the flusher still gets past them
    assert broker.ids() == [rid]
    kept = list(TaskOutbox.objects.order_by("id"))
    assert [r.task for r in kept] == ["activity.no_such_task"] * 3
    assert all(r.attempts == 2 and "unknown task" in r.error for r in kept)


def test_eager_mode_runs_the_task_and_never_touches_the_broker_or_the_outbox(user, broker):
    broker.down = True
    n = _notify(user)
    result = send_notification_email.delay(n.pk)  # test settings: eager, run here and now
    assert result.get() is True
    assert [m.to for m in mail.outbox] == [["zhang@example.com"]]
    assert broker.attempts == 0 and not TaskOutbox.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_flushers_never_publish_the_same_row_twice(user, broker, not_eager):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL (SQLite has no row locks; CI runs PostgreSQL)")
    broker.down = True
    for i in range(24):
        _notify_queued(user, f"outbox:{i}")  # committed at once: its e-mail goes to the outbox
    ids = [row.options["task_id"] for row in TaskOutbox.objects.all()]
    assert len(ids) == 24
    broker.down, broker.delay = False, 0.02
    counts, errors = [], []
    start = threading.Barrier(2)

    def flusher():
        try:
            start.wait()
            counts.append(flush(app, batch=4))
        except Exception as e:  # surfaced below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=flusher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(broker.ids()) == sorted(ids)  # each exactly once
    assert sum(counts) == 24 and all(counts)  # both took a share
    assert not TaskOutbox.objects.exists()


def test_a_task_queued_on_commit_is_written_with_the_change_and_deleted_once_published(
        user, broker, not_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        n = _notify_queued(user)
        [row] = TaskOutbox.objects.all()  # in the same transaction as the notification
        assert (row.task, row.args, row.attempts) == (EMAIL_TASK, [n.pk], 0)
    assert [(name, args) for name, args, *_rest in broker.published] == [(EMAIL_TASK, [n.pk])]
    assert broker.ids() == [row.options["task_id"]]
    assert not TaskOutbox.objects.exists()


def test_a_rolled_back_change_queues_nothing(user, broker, not_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        _notify_queued(user)
        raise RuntimeError("the request failed")
    assert not TaskOutbox.objects.exists() and broker.published == []


def test_a_process_that_dies_between_commit_and_publish_loses_nothing(
        user, broker, not_eager, django_capture_on_commit_callbacks):
    """The commit happened, the on-commit publish never ran (the worker was killed right then): the row written in
    the transaction is still there, the flusher leaves it alone while it may be in flight, then publishes it."""
    import datetime

    import time_machine
    from django.utils import timezone

    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        n = _notify_queued(user)
    [row] = TaskOutbox.objects.all()
    assert flush(app) == 0 and broker.published == []  # just committed: its own hook may still publish it
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61), tick=False):
        assert flush(app) == 1
    assert [(name, args, task_id) for name, args, _kw, task_id, _o in broker.published] == [
        (EMAIL_TASK, [n.pk], row.options["task_id"])
    ]
    assert not TaskOutbox.objects.exists()


def test_many_tasks_queued_on_commit_cost_one_insert_and_one_delete(
        user, broker, not_eager, django_capture_on_commit_callbacks, django_assert_num_queries):
    """A sweep batch queues its e-mail tasks together: one INSERT for all their outbox rows, one DELETE once they
    are published; when the broker goes away half-way, the rest stay in the outbox for the flusher."""
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with django_assert_num_queries(1):
            send_notification_email.delay_many_on_commit([(i,) for i in range(1, 6)])
        assert TaskOutbox.objects.filter(attempts=0).count() == 5
    assert [args for _name, args, *_rest in broker.published] == [[1], [2], [3], [4], [5]]
    assert not TaskOutbox.objects.exists()

    broker.fail_on = {broker.attempts + 3}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        send_notification_email.delay_many_on_commit([(i,) for i in range(6, 10)])
    assert [args for _name, args, *_rest in broker.published][5:] == [[6], [7]]
    assert [(r.args, r.attempts) for r in TaskOutbox.objects.order_by("id")] == [([8], 1), ([9], 1)]
    assert flush(app) == 2 and not TaskOutbox.objects.exists()


def test_beat_calling_periodic_tasks_while_redis_is_down_keeps_each_once(broker, not_eager):
    """Beat keeps calling the sweep (every 15 minutes) and the flusher (every minute) while Redis is down; each is
    kept once, so when Redis is back one sweep and one flush go, not one per tick of the outage. Tasks with
    arguments are all kept."""
    broker.down = True
    for _tick in range(3):
        sweep_deadlines.apply_async()  # what beat does
        flush_task_outbox.apply_async()
    sweep_deadlines.delay(kinds=["midterm_due"])
    sweep_deadlines.delay(kinds=["review_due"])
    assert sorted((r.task, r.kwargs.get("kinds", [""])[0]) for r in TaskOutbox.objects.all()) == [
        (flush_task_outbox.name, ""), (sweep_deadlines.name, ""), (sweep_deadlines.name, "midterm_due"),
        (sweep_deadlines.name, "review_due"),
    ]
    broker.down = False
    assert flush(app) == 4
    assert sorted(name for name, *_rest in broker.published) == [flush_task_outbox.name] + [sweep_deadlines.name] * 3

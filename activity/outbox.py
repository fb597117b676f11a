"""Nothing lost when the broker is down: a task that cannot be published is kept in the database.

Every task of the project is a :class:`DurableTask` (``kjproject.celery`` sets it as the app's task class).
Publishing goes as usual; when the broker does not answer (Redis stopped, network cut), the call does not
fail the web request that made it: the task, its arguments and options are written to ``TaskOutbox`` and
``activity.flush_task_outbox`` (beat, every minute) publishes them again once the broker is back. Tasks are
idempotent, so a task published twice (published, then the row's delete lost) does its work once.

Tasks queued "on commit" (``delay_on_commit``, as the services do) are a transactional outbox: the row is written
in the same transaction as the change that caused the task, published after commit and then deleted. A process
that dies between the commit and the publish (a killed worker in the middle of a sweep, a web process restarted)
leaves the row behind, and the flusher publishes it a minute later: the commit and the task cannot part.
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid

from celery.contrib.django.task import DjangoTask
from celery.result import AsyncResult
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import KombuError, OperationalError

logger = logging.getLogger(__name__)

#: what a broker that does not answer raises on publish (kombu wraps most of these in OperationalError)
BROKER_DOWN = (OperationalError, KombuError, ConnectionError, OSError, TimeoutError)
FLUSH_BATCH = 200
#: a row queued by a transaction is published by that transaction's on-commit hook; the flusher leaves it alone
#: this long, so the two never race for it
IN_FLIGHT = datetime.timedelta(seconds=60)


class DurableTask(DjangoTask):
    """A Celery task whose publishing falls back to the database outbox when the broker is unreachable."""

    def apply_async(self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None,
                    shadow=None, **options):
        if self.app.conf.task_always_eager or link or link_error:
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, link=link,
                                       link_error=link_error, shadow=shadow, **options)
        try:
            return super().apply_async(args, kwargs, task_id=task_id, producer=producer, shadow=shadow, **options)
        except BROKER_DOWN as exc:
            task_id = task_id or str(uuid.uuid4())
            store(self.name, args, kwargs, options, task_id=task_id, error=exc)
            return AsyncResult(task_id, app=self.app)

    def apply_async_on_commit(self, args=None, kwargs=None, **options):
        """Queue the task when the current transaction commits, through the outbox (see the module's doc)."""
        from .models import TaskOutbox

        if self.app.conf.task_always_eager or not transaction.get_connection().in_atomic_block:
            transaction.on_commit(functools.partial(self.apply_async, args, kwargs, **options))
            return
        task_id = options.pop("task_id", None) or str(uuid.uuid4())
        row = TaskOutbox.objects.create(
            task=self.name, args=list(args or ()), kwargs=dict(kwargs or {}),
            options=_jsonable_options(options, task_id), attempts=0,
        )
        transaction.on_commit(functools.partial(self._publish_kept, row.pk, args, kwargs, {**options,
                                                                                          "task_id": task_id}))

    def delay_on_commit(self, *args, **kwargs):
        self.apply_async_on_commit(args, kwargs)

    def delay_many_on_commit(self, calls) -> None:
        """``delay_on_commit`` for many calls of this task (each a tuple of positional arguments): the outbox rows
        are written in one INSERT and, once published after commit, deleted in one DELETE (a sweep batch queues
        dozens of e-mail tasks)."""
        from .models import TaskOutbox

        calls = [list(call) for call in calls]
        if not calls:
            return
        if self.app.conf.task_always_eager or not transaction.get_connection().in_atomic_block:
            for call in calls:
                self.delay_on_commit(*call)
            return
        rows = TaskOutbox.objects.bulk_create([
            TaskOutbox(task=self.name, args=call, kwargs={}, options={"task_id": str(uuid.uuid4())}, attempts=0)
            for call in calls
        ])
        transaction.on_commit(functools.partial(self._publish_many, [(r.pk, r.args, r.options) for r in rows]))

    def _publish_many(self, kept: list[tuple[int, list, dict]]) -> None:
        from .models import TaskOutbox

        done: list[int] = []
        for pk, args, options in kept:
            try:
                self.publish_now(args, {}, dict(options))
            except BROKER_DOWN as exc:
                TaskOutbox.objects.filter(pk__in=[k[0] for k in kept if k[0] not in set(done)]).update(
                    attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
                )
                logger.warning("broker unreachable (%s); %s task(s) %s kept in the outbox for later",
                               exc, len(kept) - len(done), self.name)
                break
            done.append(pk)
        if done:
            TaskOutbox.objects.filter(pk__in=done).delete()

    def _publish_kept(self, row_pk: int, args, kwargs, options) -> None:
        from .models import TaskOutbox

        try:
            self.publish_now(args, kwargs, options)
        except BROKER_DOWN as exc:
            TaskOutbox.objects.filter(pk=row_pk).update(
                attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            logger.warning("broker unreachable (%s); task %s kept in the outbox for later", exc, self.name)
            return
        TaskOutbox.objects.filter(pk=row_pk).delete()

    def publish_now(self, args, kwargs, options):
        """Publish without the outbox fallback (the flusher uses it: a failure leaves the row where it is)."""
        return super().apply_async(args, kwargs, **options)


def _jsonable_options(options: dict, task_id: str) -> dict:
    kept = {}
    for key in ("countdown", "queue", "priority", "expires"):
        value = options.get(key)
        if isinstance(value, (int, float, str)):
            kept[key] = value
    eta = options.get("eta")
    if eta is not None:
        kept["eta"] = eta.isoformat() if hasattr(eta, "isoformat") else str(eta)
    kept["task_id"] = task_id
    return kept


def store(name: str, args, kwargs, options: dict, *, task_id: str, error) -> None:
    """Keep one task the broker refused. A task without arguments is kept once: those are the periodic ones
    (beat's sweep every 15 minutes, the flusher itself every minute), which beat calls again and again while the
    broker is down; one run once it is back does what all of them would (they are idempotent), instead of a
    burst of hundreds of flushes and one full deadline sweep per quarter hour of the outage."""
    from .models import TaskOutbox

    if not args and not kwargs and TaskOutbox.objects.filter(task=name, args=[], kwargs={}).exists():
        logger.warning("broker unreachable (%s); task %s already kept in the outbox", error, name)
        return
    TaskOutbox.objects.create(
        task=name, args=list(args or ()), kwargs=dict(kwargs or {}), options=_jsonable_options(options, task_id),
        error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning("broker unreachable (%s); task %s kept in the outbox for later", error, name)


def flush(app, batch: int = FLUSH_BATCH) -> int:
    """Publish the kept tasks, oldest first; stop at the first broker failure (the broker is still down).
    Rows are locked (skip locked) so two flushers never publish the same row at once. A row that cannot be
    published for another reason (its task no longer exists, its arguments do not serialise) is kept with the
    error and skipped, so it never blocks the rows behind it. Returns how many were published."""
    from .models import TaskOutbox

    sent = 0
    last = 0
    while True:
        with transaction.atomic():
            settled = Q(attempts__gt=0) | Q(created_at__lt=timezone.now() - IN_FLIGHT)
            rows = list(
                TaskOutbox.objects.select_for_update(skip_locked=True).filter(settled, pk__gt=last)
                .order_by("id")[:batch]
            )
            if not rows:
                return sent
            last = rows[-1].pk
            done = []
            for row in rows:
                task = app.tasks.get(row.task)
                try:
                    if task is None:
                        raise LookupError(f"unknown task {row.task}")
                    options = dict(row.options)
                    if isinstance(task, DurableTask):
                        task.publish_now(row.args, row.kwargs, options)
                    else:
                        task.apply_async(row.args, row.kwargs, **options)
                except BROKER_DOWN as exc:
                    _failed(row, exc)
                    TaskOutbox.objects.filter(pk__in=done).delete()
                    return sent
                except Exception as exc:  # one bad row must not hold back the others
                    logger.exception("outbox: task %s (row %s) cannot be published; kept", row.task, row.pk)
                    _failed(row, exc)
                    continue
                done.append(row.pk)
                sent += 1
            TaskOutbox.objects.filter(pk__in=done).delete()
            if len(rows) < batch:
                return sent


def _failed(row, exc) -> None:
    from .models import TaskOutbox

    TaskOutbox.objects.filter(pk=row.pk).update(
        attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
    )

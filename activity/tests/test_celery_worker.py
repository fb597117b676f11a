"""Integration: a real Celery worker against Redis e-mails a submission exactly once, even when the
task is delivered more than once.

Skipped when Redis does not answer, unless REQUIRE_SERVICES=1 (CI), where that is a failure.
The broker is ``CELERY_TEST_BROKER_URL`` (default ``redis://127.0.0.1:6379/15``); each run uses its
own queue, so it never takes tasks from (or leaves tasks for) another worker on the same Redis.
"""

import os
import threading
import time
import uuid
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish, task_postrun
from django.conf import settings
from django.core import mail
from django.db import connections

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.models import Notification
from activity.tasks import send_notification_email
from kjproject.celery import app
from projects import services
from projects.models import Application
from projects.tests.factories import ApplicationFactory, CallFactory

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL") or "redis://127.0.0.1:6379/15"
TASK = send_notification_email.name


def redis_answers(url: str) -> str | None:
    """None when Redis answers PING, else why not."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def require_redis(url: str, required: bool) -> str:
    """Return ``url`` if Redis answers there; otherwise skip the test, or fail it when services are required."""
    problem = redis_answers(url)
    if problem is not None:
        message = f"Redis broker {url} does not answer ({problem})"
        if required:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(f"{message}; start Redis or set CELERY_TEST_BROKER_URL (REQUIRE_SERVICES=1 makes this fail)")
    return url


@pytest.fixture
def redis_broker():
    return require_redis(BROKER_URL, settings.REQUIRE_SERVICES)


def _reset_app_connections():
    """Forget pooled connections and cached queue/routing so a new broker configuration applies."""
    app._pool = None
    app.__dict__.pop("amqp", None)


@contextmanager
def celery_on_broker(url: str):
    """Point the project's Celery app at a real broker, not eager, on a queue of its own."""
    queue = f"kj-test-{uuid.uuid4().hex[:12]}"
    overrides = {
        "broker_url": url,
        "broker_transport_options": {},
        "task_always_eager": False,
        "task_default_queue": queue,
        "worker_hijack_root_logger": False,
    }
    saved = {key: app.conf[key] for key in overrides}
    app.conf.update(overrides)
    _reset_app_connections()
    try:
        yield queue
    finally:
        try:
            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(queue)
        finally:
            app.conf.update(saved)
            _reset_app_connections()


class TaskRecorder:
    """Collects what the worker ran (task_postrun) and what was published (before_task_publish)."""

    def __init__(self):
        self.runs: list[tuple[str, tuple, object]] = []
        self.published: list[tuple[str, str]] = []
        self._cond = threading.Condition()

    def on_postrun(self, sender=None, task_id=None, task=None, args=None, retval=None, **kwargs):
        with self._cond:
            self.runs.append((task_id, tuple(args or ()), retval))
            self._cond.notify_all()

    def on_publish(self, sender=None, headers=None, **kwargs):
        self.published.append((sender, (headers or {}).get("id")))

    def wait_for_runs(self, n: int, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.runs) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the worker ran {len(self.runs)} of {n} tasks within {timeout:.0f}s")
                self._cond.wait(left)
            return list(self.runs)


@pytest.fixture
def recorder():
    rec = TaskRecorder()
    task_postrun.connect(rec.on_postrun, weak=False)
    before_task_publish.connect(rec.on_publish, weak=False)
    yield rec
    task_postrun.disconnect(rec.on_postrun)
    before_task_publish.disconnect(rec.on_publish)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_submission_is_emailed_exactly_once_by_a_real_worker(redis_broker, recorder):
    org = OrganizationFactory(name="杭州云栖智能科技有限公司")
    applicant = UserFactory(organization=org, roles=["applicant"], real_name="张申报", email="zhang@example.com")
    org_admin = UserFactory(organization=org, roles=["applicant", "org_admin"], real_name="李管理",
                            email="li.admin@example.com")
    app_row = ApplicationFactory(call=CallFactory(), organization=org, created_by=applicant)
    mail.outbox = []

    with celery_on_broker(redis_broker), start_worker(app, pool="solo", perform_ping_check=False,
                                                      shutdown_timeout=30):
        # committed (transaction=True): on_commit publishes the e-mail task to Redis
        services.submit_application(actor=applicant, application_id=app_row.pk)
        notification = Notification.objects.get(recipient=org_admin)
        [(task_name, first_id)] = [p for p in recorder.published if p[0] == TASK]

        # the broker delivers the same message again (same task id), and somebody queues it once more
        send_notification_email.apply_async(args=[notification.pk], task_id=first_id)
        send_notification_email.delay(notification.pk)
        runs = recorder.wait_for_runs(3)

    connections.close_all()
    assert [args for _tid, args, _ret in runs] == [(notification.pk,)] * 3
    assert sorted(ret for _tid, _args, ret in runs) == [False, False, True]  # sent once, then refused
    assert len(mail.outbox) == 1
    [message] = mail.outbox
    assert message.to == ["li.admin@example.com"]
    assert app_row.title in message.subject
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert Application.objects.get(pk=app_row.pk).state == Application.State.SUBMITTED


UNREACHABLE = "redis://127.0.0.1:1/0"


def test_unreachable_redis_skips_with_the_reason():
    with pytest.raises(pytest.skip.Exception) as exc:
        require_redis(UNREACHABLE, required=False)
    assert "redis://127.0.0.1:1/0 does not answer" in str(exc.value)


def test_unreachable_redis_fails_when_services_are_required():
    with pytest.raises(pytest.fail.Exception) as exc:
        require_redis(UNREACHABLE, required=True)
    assert "REQUIRE_SERVICES=1" in str(exc.value)

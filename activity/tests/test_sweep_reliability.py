"""Reliability of the reminders (issue 6): nothing lost and nothing sent twice when things break.

- A worker killed (SIGKILL) in the middle of a deadline sweep: the sweep message was not acknowledged
  (``acks_late``), Redis delivers it again to the next worker after the visibility timeout, and the finished
  sweep has written every reminder once and e-mailed every notification once. A real ``celery worker``
  subprocess on the test database (PostgreSQL: SQLite's test database lives in this process's memory).
- Redis down during a web request that queues a task: the request succeeds, the task waits in the outbox, and
  once Redis is back the flusher hands it to a real worker, which e-mails once. Our own redis-server, so the
  shared one is never stopped.
- SMTP and the SMS provider failing: retried with growing delays, each message sent once.

The service tests are skipped when Redis does not answer, unless REQUIRE_SERVICES=1 (CI), where that fails.
"""

import datetime
import email
import email.policy
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from celery.app.trace import build_tracer
from celery.contrib.testing.worker import start_worker
from celery.signals import before_task_publish, task_postrun
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemEmailBackend
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.messaging import MessageKind
from activity.models import Notification, Reminder, TaskOutbox
from activity.services import notify
from activity.sms import LocmemBackend
from activity.tasks import (
    flush_task_outbox,
    send_notification_email,
    send_notification_emails,
    send_notification_sms,
    sweep_deadlines,
)
from activity.tests.test_celery_worker import (
    BROKER_URL,
    TaskRecorder,
    _reset_app_connections,
    celery_on_broker,
    redis_answers,
    require_redis,
)
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from kjproject.celery import app
from projects.checkpoints import services as cs
from projects.models import Application, MidtermReport
from projects.tests.factories import ApplicationFactory, CallFactory

KIND = "midterm_due"
REPO = Path(settings.BASE_DIR)
SUBJECT = "[科技项目管理系统] "


# --- delivery retried with backoff (no broker: the worker's tracer runs the task, the retry is captured) ------


class Retries:
    """Runs a task the way a worker does and collects the retry it publishes (``app.send_task`` replaced)."""

    def __init__(self, monkeypatch):
        self.published: list[dict] = []
        monkeypatch.setattr(app, "send_task", self._send_task)
        saved = app.conf.task_always_eager
        app.conf.task_always_eager = False  # a retry is published, as on a worker, not run inline
        self._restore = lambda: setattr(app.conf, "task_always_eager", saved)

    def _send_task(self, name, args=None, kwargs=None, task_id=None, **options):
        self.published.append({"name": name, "args": list(args or ()), "id": task_id, **options})

    def deliver(self, task, args, retries=0, task_id=None):
        """One delivery; returns the retry it published (or None when the task finished)."""
        before = len(self.published)
        tracer = build_tracer(task.name, task, eager=False, propagate=False, app=app, store_errors=False)
        tracer(task_id or str(uuid.uuid4()), list(args), {}, {"retries": retries, "id": task_id, "delivery_info": {}})
        new = self.published[before:]
        assert len(new) <= 1
        return new[0] if new else None

    def until_done(self, task, args) -> list[int]:
        """Deliver, and deliver each retry, until the task stops retrying; the countdowns it asked for."""
        countdowns, retries, task_id = [], 0, str(uuid.uuid4())
        while True:
            retry = self.deliver(task, args, retries, task_id)
            if retry is None:
                return countdowns
            assert retry["name"] == task.name and retry["args"] == list(args) and retry["id"] == task_id
            assert retry["retries"] == retries + 1
            countdowns.append(retry["countdown"])
            retries = retry["retries"]
            assert retries < 20, "never stops retrying"


@pytest.fixture
def retries(monkeypatch):
    r = Retries(monkeypatch)
    yield r
    r._restore()


class FlakySMTP(LocmemEmailBackend):
    """The SMTP server drops the connection on the listed send attempts (1-based), accepts the others."""

    fail_at: set[int] = set()
    attempts = 0

    def send_messages(self, messages):
        FlakySMTP.attempts += 1
        if FlakySMTP.attempts in FlakySMTP.fail_at:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky_smtp(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakySMTP"
    FlakySMTP.attempts, FlakySMTP.fail_at = 0, set()
    yield FlakySMTP
    FlakySMTP.fail_at = set()


class FlakySMS(LocmemBackend):
    """The SMS provider times out on the listed phone numbers once each, then accepts."""

    fail_once: set[str] = set()

    def send(self, phone, text):
        if phone in FlakySMS.fail_once:
            FlakySMS.fail_once.discard(phone)
            raise TimeoutError(f"SMS gateway timed out for {phone}")
        super().send(phone, text)


def _notes(users, key):
    return [
        n for i, u in enumerate(users)
        for n in notify([u], kind=MessageKind.DEADLINE_OVERDUE, title=f"【逾期】《工业质检关键技术研究{i}》中期检查报告",
                        body="已于到期日到期，至今未办理。", link="/portal/", dedupe_key=f"{key}:{i}")
    ]


@pytest.mark.django_db
def test_an_smtp_failure_is_retried_later_and_later_and_the_mail_goes_once(retries, flaky_smtp):
    user = UserFactory(email="li.admin@example.com", roles=["org_admin"])
    [n] = _notes([user], "smtp")
    flaky_smtp.fail_at = {1, 2, 3}

    assert retries.until_done(send_notification_email, [n.pk]) == [30, 60, 120]
    assert [m.to for m in mail.outbox] == [["li.admin@example.com"]]
    n.refresh_from_db()
    assert n.emailed_at is not None
    # the broker delivers the last message once more: nothing is sent again
    assert retries.deliver(send_notification_email, [n.pk]) is None
    assert len(mail.outbox) == 1 and flaky_smtp.attempts == 4


@pytest.mark.django_db
def test_an_smtp_server_that_stays_down_is_retried_for_about_an_hour_and_a_half(retries, flaky_smtp):
    [n] = _notes([UserFactory(email="li.admin@example.com")], "smtp-down")
    flaky_smtp.fail_at = set(range(1, 100))

    countdowns = retries.until_done(send_notification_email, [n.pk])
    assert countdowns == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert 80 * 60 < sum(countdowns) < 100 * 60
    n.refresh_from_db()
    assert n.emailed_at is None and mail.outbox == []  # given up: still unsent, still in the inbox


@pytest.mark.django_db
def test_a_batch_that_fails_half_way_e_mails_each_notification_once(retries, flaky_smtp):
    notes = _notes([UserFactory(email=f"u{i}@example.com") for i in range(3)], "batch")
    flaky_smtp.fail_at = {2}  # the first goes, the second fails: the whole batch is retried

    assert retries.until_done(send_notification_emails, [[n.pk for n in notes]]) == [30]
    assert sorted(m.to[0] for m in mail.outbox) == ["u0@example.com", "u1@example.com", "u2@example.com"]
    assert flaky_smtp.attempts == 4  # the retry did not try the first one again
    assert not Notification.objects.filter(pk__in=[n.pk for n in notes], emailed_at__isnull=True).exists()


@pytest.mark.django_db
def test_an_sms_gateway_timeout_is_retried_and_nobody_is_texted_twice(retries, settings):
    settings.SMS_BACKEND = f"{__name__}.FlakySMS"
    users = [UserFactory(phone=f"1390000000{i}") for i in range(3)]
    notes = _notes(users, "sms")
    LocmemBackend.outbox = []
    FlakySMS.fail_once = {"13900000001", "13900000002"}  # the 2nd number fails, then (on the retry) the 3rd

    assert retries.until_done(send_notification_sms, [[n.pk for n in notes]]) == [30, 60]
    assert sorted(phone for phone, _text in LocmemBackend.outbox) == ["13900000000", "13900000001", "13900000002"]
    assert not Notification.objects.filter(pk__in=[n.pk for n in notes], sms_sent_at__isnull=True).exists()
    assert retries.deliver(send_notification_sms, [[n.pk for n in notes]]) is None  # delivered again: no resend
    assert len(LocmemBackend.outbox) == 3


# --- a worker killed in the middle of a sweep ---------------------------------------------------------------

N_REPORTS = 60
SWEEP_BATCH = 5
PAUSE = 0.4  # seconds each batch of the worker's sweep keeps its transaction open (a slow database)
VISIBILITY = 5

#: imported by the subprocess worker (CELERY_IMPORTS): each sweep batch holds its transaction a little, so the
#: test can kill the worker while the sweep is half done (and most likely inside an uncommitted batch)
PAUSE_MODULE = '''
import os
import time

from celery.signals import task_prerun

PAUSE = float(os.environ.get("KJ_TEST_SWEEP_PAUSE", "0"))


@task_prerun.connect(weak=False)
def _slow_batches(**kwargs):
    from activity import sweeper

    if PAUSE and not getattr(sweeper._write, "paused", False):
        write = sweeper._write

        def _write(*args, **kw):
            out = write(*args, **kw)
            time.sleep(PAUSE)
            return out

        _write.paused = True
        sweeper._write = _write
'''

SETTINGS_MODULE = '''
from kjproject.settings import *

CELERY_TASK_DEFAULT_QUEUE = {queue!r}
CELERY_BROKER_TRANSPORT_OPTIONS = {transport!r}
CELERY_IMPORTS = ["kj_test_sweep_pause"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
EMAIL_FILE_PATH = {mail_dir!r}
'''


def database_url(settings_dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


class Workers:
    """``celery -A kjproject worker --pool=solo -Q <queue>`` subprocesses on the test database."""

    def __init__(self, tmp: Path, broker_url: str, queue: str, transport: dict):
        self.tmp, self.procs, self.logs = tmp, [], []
        (tmp / "mail").mkdir()
        (tmp / "kj_test_sweep_pause.py").write_text(PAUSE_MODULE)
        (tmp / "kj_test_worker_settings.py").write_text(
            SETTINGS_MODULE.format(queue=queue, transport=transport, mail_dir=str(tmp / "mail"))
        )
        self.queue = queue
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(tmp), str(REPO)]),
            "DJANGO_SETTINGS_MODULE": "kj_test_worker_settings",
            "DATABASE_URL": database_url(connection.settings_dict),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DEADLINE_SWEEP_BATCH": str(SWEEP_BATCH),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "KJ_TEST_SWEEP_PAUSE": str(PAUSE),
        }

    def start(self) -> subprocess.Popen:
        n = len(self.procs) + 1
        log = open(self.tmp / f"worker{n}.log", "wb")  # closed in stop_all
        self.logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kjproject", "worker", "--pool=solo", "-Q", self.queue,
             "-n", f"kjtest{n}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
             "--without-heartbeat", "--loglevel=INFO"],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for log in self.logs:
            log.close()

    def output(self) -> str:
        return "\n".join(
            f"--- worker{i + 1}.log ---\n" + (self.tmp / f"worker{i + 1}.log").read_text(errors="replace")[-3000:]
            for i in range(len(self.procs))
        )


def _words(text: str) -> str:
    return " ".join(text.split())  # a long header comes back folded


def sent_mails(mail_dir: Path) -> Counter:
    """(to, subject) of every message the file-based backend wrote."""
    seen = Counter()
    for path in mail_dir.iterdir():
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                msg = email.message_from_bytes(chunk, policy=email.policy.default)
                seen[(str(msg["To"]), _words(str(msg["Subject"])))] += 1
    return seen


def wait_until(predicate, timeout, what, workers=None, step=0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            detail = workers.output() if workers else ""
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s\n{detail}")
        time.sleep(step)


@pytest.fixture
def server_database(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the worker subprocess needs the test database on a server: SQLite's test database is this "
                    "process's memory (CI runs this on PostgreSQL)")


@pytest.fixture
def broker():
    return require_redis(BROKER_URL, settings.REQUIRE_SERVICES)


@pytest.fixture
def overdue_reports(officer):
    """N_REPORTS 中期检查报告 of as many organisations, due a month ago (time-machine cannot reach a subprocess)."""
    supervisor = UserFactory(roles=["supervisor"], real_name="王局长")
    projects = [established_project(granted=Decimal("100000.00"), officer=officer) for _ in range(N_REPORTS)]
    for project in projects:
        signed(project, officer)
    opened, skipped = cs.open_midterm(actor=officer, project_ids=[p.pk for p in projects],
                                      due_date=timezone.localdate() + datetime.timedelta(days=1))
    assert len(opened) == N_REPORTS and not skipped
    MidtermReport.objects.filter(pk__in=[r.pk for r in opened]).update(
        due_date=timezone.localdate() - datetime.timedelta(days=30))
    return opened, supervisor


def expected_reminders(reports, officer, supervisor) -> set:
    """(report, stage, user) the ladder owes a month after the deadline: 逾期 to the organisation's 单位管理员 and
    the author, 黄牌 to the officers and the 单位管理员, 红牌 to the 局领导."""
    out = set()
    for report in MidtermReport.objects.filter(pk__in=[r.pk for r in reports]).select_related(
            "project__application"):
        admins = set(report.project.organization.users.filter(groups__name="org_admin").values_list("pk", flat=True))
        author = report.project.application.created_by_id
        out |= {(report.pk, "overdue", u) for u in admins | {author}}
        out |= {(report.pk, "yellow", u) for u in admins | {officer.pk}}
        out |= {(report.pk, "red", supervisor.pk)}
    return out


def _delete_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sweep_loses_no_reminder_and_sends_none_twice(server_database, broker, overdue_reports,
                                                                          officer):
    reports, supervisor = overdue_reports
    expected = expected_reminders(reports, officer, supervisor)
    assert len(expected) == N_REPORTS * 5  # 2 + 2 + 1 per report: enough for a dozen batches
    # our own key namespace on the shared Redis: the short visibility timeout must never touch (re-deliver)
    # another worker's unacknowledged messages, and nobody else's worker may take ours
    prefix = f"kjtest-{uuid.uuid4().hex[:10]}:"
    transport = {"global_keyprefix": prefix, "visibility_timeout": VISIBILITY,
                 "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
    tmp = Path(tempfile.mkdtemp(prefix="kj-sweep-kill-"))
    workers = None
    try:
        with celery_on_broker(broker) as queue:
            app.conf.broker_transport_options = {"global_keyprefix": prefix}
            _reset_app_connections()
            workers = Workers(tmp, broker, queue, transport)
            sweep_deadlines.apply_async(kwargs={"kinds": [KIND]})  # the beat tick
            first = workers.start()

            def reminders():
                return Reminder.objects.filter(kind=KIND).count()

            wait_until(lambda: reminders() >= 2 * SWEEP_BATCH * 5, 40, "the first batches of the sweep", workers)
            time.sleep(PAUSE / 3)  # now inside a later batch, its transaction open
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            at_kill = reminders()
            assert 0 < at_kill < len(expected), f"the sweep was not half done when killed ({at_kill})"

            workers.start()  # the killed worker's message comes back after the visibility timeout
            wait_until(lambda: reminders() == len(expected), 45, "the redelivered sweep finishing", workers)
            want = Counter({
                (n.recipient.email, _words(SUBJECT + n.title)): 1
                for n in Notification.objects.filter(reminder__kind=KIND).select_related("recipient")
            })
            wait_until(lambda: sum(sent_mails(tmp / "mail").values()) >= len(want), 30,
                       "every reminder e-mailed", workers)
            time.sleep(1)  # anything sent twice would arrive now
            mails = sent_mails(tmp / "mail")
            workers.stop_all()
            redelivered = (tmp / "worker2.log").read_text(errors="replace")
    finally:
        if workers is not None:
            workers.stop_all()
        _delete_keys(broker, prefix)
        shutil.rmtree(tmp, ignore_errors=True)

    # the second worker finished the sweep because Redis gave it the killed worker's unacknowledged message
    assert re.search(rf"Task {re.escape(sweep_deadlines.name)}\[[-0-9a-f]+\] received", redelivered)
    rows = list(Reminder.objects.filter(kind=KIND).values_list("object_id", "stage", "recipient_id"))
    assert len(rows) == len(set(rows)) == len(expected)
    assert set(rows) == expected
    assert Notification.objects.filter(reminder__kind=KIND).count() == len(expected)
    assert len(want) == len(expected)  # one distinct (address, subject) per notification
    assert mails == want  # each one e-mailed, exactly once
    assert not Notification.objects.filter(reminder__kind=KIND, emailed_at__isnull=True).exists()


# --- Redis down during a web request ------------------------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A private redis-server (no persistence) that the test may stop and start again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: redis_answers(self.url) is None, 10, f"redis-server on port {self.port} answering")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


@contextmanager
def own_redis():
    if not os.access(REDIS_SERVER, os.X_OK):
        message = f"no redis-server executable at {REDIS_SERVER}"
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    server = OwnRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_request_that_queues_while_redis_is_down_succeeds_and_the_mail_goes_once_redis_is_back(client):
    org = OrganizationFactory(name="杭州云栖智能科技有限公司")
    applicant = UserFactory(organization=org, roles=["applicant"], real_name="张申报", email="zhang@example.com")
    org_admin = UserFactory(organization=org, roles=["applicant", "org_admin"], real_name="李管理",
                            email="li.admin@example.com")
    app_row = ApplicationFactory(call=CallFactory(), organization=org, created_by=applicant)
    client.force_login(applicant)
    mail.outbox = []
    recorder = TaskRecorder()
    task_postrun.connect(recorder.on_postrun, weak=False)
    before_task_publish.connect(recorder.on_publish, weak=False)
    try:
        with own_redis() as server, celery_on_broker(server.url):
            try:
                server.stop()
                assert redis_answers(server.url) is not None

                started = time.monotonic()
                response = client.post(reverse("portal:application_submit", args=[app_row.pk]))
                took = time.monotonic() - started
                assert response.status_code == 302, response.status_code
                assert response.url == reverse("portal:application_detail", args=[app_row.pk])
                assert took < 15, f"the request hung {took:.1f}s on the dead broker"
                assert Application.objects.get(pk=app_row.pk).state == Application.State.SUBMITTED
                notification = Notification.objects.get(recipient=org_admin)
                kept = list(TaskOutbox.objects.order_by("id"))
                assert (send_notification_email.name, [notification.pk]) in [(r.task, r.args) for r in kept]
                assert recorder.runs == [] and mail.outbox == []

                # a beat tick while Redis is still down: everything stays, one more attempt counted
                assert flush_task_outbox() == 0
                assert TaskOutbox.objects.filter(attempts=2).count() == 1

                server.start()  # same port
                _reset_app_connections()
                with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
                    flush_task_outbox.delay()  # the beat tick once Redis is back
                    runs = recorder.wait_for_runs(1 + len(kept), timeout=30)
                    time.sleep(0.5)  # a second delivery would run now
                    assert runs[0][2] == len(kept)  # the flusher published every kept task
                    assert flush_task_outbox() == 0
            finally:
                if server.proc is None:  # the queue is deleted on the way out
                    server.start()
    finally:
        task_postrun.disconnect(recorder.on_postrun)
        before_task_publish.disconnect(recorder.on_publish)
        connections.close_all()

    assert not TaskOutbox.objects.exists()
    assert len(recorder.runs) == 1 + len(kept)
    assert [m.to for m in mail.outbox] == [["li.admin@example.com"]]
    assert app_row.title in mail.outbox[0].subject
    notification.refresh_from_db()
    assert notification.emailed_at is not None

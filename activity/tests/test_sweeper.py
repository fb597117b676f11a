"""The deadline sweeper's engine, on a real kind (中期检查报告, projects.obligations.MidtermDue): the ladder,
once per stage and recipient, moved deadlines, resolution, overlapping sweeps, the channels, the query count."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from activity import sweeper
from activity.deadlines import Stage, end_of_day, reached_stages, shift
from activity.models import Escalation, Notification, Reminder, ReminderPolicy
from activity.sms import LocmemBackend
from activity.tests.ladder import climb, escalation, sent, sweep_at
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from projects.checkpoints import services as cs
from projects.models import MidtermReport

pytestmark = pytest.mark.django_db
KIND = "midterm_due"
TODAY = timezone.localdate()
DUE = TODAY + datetime.timedelta(days=30)


@pytest.fixture
def supervisor(supervisor):
    supervisor.phone = "13900000001"
    supervisor.save(update_fields=["phone"])
    return supervisor


@pytest.fixture
def midterm(officer):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
    return report


def org_admins(report):
    return list(report.project.organization.users.filter(groups__name="org_admin"))


def test_a_midterm_report_climbs_the_whole_ladder(midterm, officer, supervisor):
    admins = org_admins(midterm)
    author = midterm.project.application.created_by
    seen = climb(KIND, midterm.pk, end_of_day(DUE), owners=admins + [author],
                 responsible=[officer] + admins, supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation(KIND, midterm.pk)
    assert esc.level == Escalation.Level.RED and esc.holder == midterm.project.organization.name
    assert midterm.project.title in esc.title
    # the supervisor's inbox holds the 红牌, with a link to the 督办 board
    red = Notification.objects.get(recipient=supervisor, reminder__stage=Stage.RED)
    assert red.title.startswith("【红牌督办】") and red.link == "/office/duban/"


def test_only_the_nearest_window_is_sent_when_the_sweeper_was_stopped(midterm):
    sweep_at(end_of_day(DUE) - datetime.timedelta(days=2))
    stages = set(Reminder.objects.filter(kind=KIND, object_id=midterm.pk).values_list("stage", flat=True))
    assert stages == {"d3"}


def test_nothing_before_the_first_window(midterm):
    sweep_at(end_of_day(DUE) - datetime.timedelta(days=7, minutes=5))
    assert not Reminder.objects.filter(kind=KIND).exists()


def test_submitting_the_report_resolves_the_escalation_and_stops_the_ladder(midterm, officer, supervisor):
    due_at = end_of_day(DUE)
    sweep_at(due_at + datetime.timedelta(days=4))
    esc = escalation(KIND, midterm.pk)
    assert esc.level == Escalation.Level.YELLOW and esc.resolved_at is None
    MidtermReport.objects.filter(pk=midterm.pk).update(state=MidtermReport.State.SUBMITTED)
    sweep_at(due_at + datetime.timedelta(days=20))
    esc.refresh_from_db()
    assert esc.resolved_at is not None and esc.level == Escalation.Level.YELLOW
    assert sent(KIND, midterm.pk, Stage.RED) == set()


def test_a_moved_deadline_is_reminded_again_and_the_old_one_resolved(midterm):
    due_at = end_of_day(DUE)
    sweep_at(due_at + datetime.timedelta(hours=1))
    assert escalation(KIND, midterm.pk).level == Escalation.Level.OVERDUE
    new_due = DUE + datetime.timedelta(days=14)
    MidtermReport.objects.filter(pk=midterm.pk).update(due_date=new_due)
    sweep_at(end_of_day(new_due) - datetime.timedelta(days=1))
    old = Escalation.objects.get(kind=KIND, object_id=midterm.pk, due_at=due_at)
    assert old.resolved_at is not None
    assert Reminder.objects.filter(kind=KIND, object_id=midterm.pk, due_at=end_of_day(new_due), stage="d1").exists()


def test_the_policy_is_edited_in_the_database(midterm, officer):
    sweeper.ensure_policies()
    ReminderPolicy.objects.filter(kind=KIND).update(windows="10", yellow_after_days=1, red_after_days=None)
    due_at = end_of_day(DUE)
    sweep_at(due_at - datetime.timedelta(days=9))
    assert sent(KIND, midterm.pk, "d10")
    sweep_at(due_at + datetime.timedelta(days=30))
    assert escalation(KIND, midterm.pk).level == Escalation.Level.YELLOW
    assert not Reminder.objects.filter(stage=Stage.RED).exists()
    ReminderPolicy.objects.filter(kind=KIND).update(enabled=False)
    MidtermReport.objects.filter(pk=midterm.pk).update(due_date=DUE + datetime.timedelta(days=1))
    before = Reminder.objects.count()
    sweep_at(due_at + datetime.timedelta(days=31))
    assert Reminder.objects.count() == before
    # switched off, the kind sends nothing, but its 督办 item still closes once the report is in
    MidtermReport.objects.filter(pk=midterm.pk).update(state=MidtermReport.State.SUBMITTED)
    sweep_at(due_at + datetime.timedelta(days=32))
    assert Reminder.objects.count() == before
    assert not Escalation.objects.filter(kind=KIND, resolved_at__isnull=True).exists()


def test_e_mail_once_and_sms_from_the_overdue_stage(midterm, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "activity.sms.LocmemBackend"
    LocmemBackend.outbox = []
    admin = org_admins(midterm)[0]
    admin.phone = "13800000002"
    admin.save(update_fields=["phone"])
    User.objects.exclude(pk=admin.pk).update(phone="")
    due_at = end_of_day(DUE)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        sweep_at(due_at - datetime.timedelta(days=1))
    assert any(m.to == [admin.email] and "期限提醒" in m.subject for m in mail.outbox)
    assert LocmemBackend.outbox == []  # a reminder before the deadline is not texted
    with django_capture_on_commit_callbacks(execute=True):
        sweep_at(due_at + datetime.timedelta(minutes=5))
        sweep_at(due_at + datetime.timedelta(minutes=10))
    assert [phone for phone, _text in LocmemBackend.outbox] == ["13800000002"]
    assert "逾期" in LocmemBackend.outbox[0][1]
    overdue_mails = [m for m in mail.outbox if m.to == [admin.email] and "逾期" in m.subject]
    assert len(overdue_mails) == 1


def test_a_sweep_that_read_before_another_wrote_sends_nothing_twice(midterm, monkeypatch):
    """The race of two overlapping sweeps, made deterministic: the second sweep's read of what was already
    sent is stale (it ran before the first one committed), so it tries to write the same reminders; the unique
    key refuses them, the batch is read again and retried, and nobody gets a second message."""
    moment = end_of_day(DUE) + datetime.timedelta(days=4)
    sweep_at(moment)
    first = Reminder.objects.count()
    assert first > 0
    real_filter = Reminder.objects.filter
    calls = {"n": 0}

    def stale_once(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    monkeypatch.setattr(Reminder.objects, "filter", stale_once)
    sweep_at(moment)
    assert calls["n"] >= 2  # read, refused by the database, read again
    assert Reminder.objects.count() == first
    assert Notification.objects.filter(reminder__isnull=False).count() == first


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(officer, supervisor):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so two sweeps cannot overlap")
    reports = []
    for _i in range(6):
        project = established_project(granted=Decimal("100000.00"), officer=officer)
        signed(project, officer)
        (report,), _ = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=DUE)
        reports.append(report)
    moment = end_of_day(DUE) + datetime.timedelta(days=12)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            sweep_at(moment, batch_size=2)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    keys = list(Reminder.objects.values_list("kind", "object_id", "due_at", "stage", "recipient_id"))
    assert len(keys) == len(set(keys)) > 0
    assert Notification.objects.filter(reminder__isnull=False).count() == len(keys)
    assert Escalation.objects.filter(kind=KIND).count() == 6
    assert set(Escalation.objects.values_list("level", flat=True)) == {"red"}


def test_queries_grow_with_batches_not_rows(officer, supervisor):
    project_ids = []
    for _i in range(12):
        project = established_project(granted=Decimal("100000.00"), officer=officer)
        signed(project, officer)
        project_ids.append(project.pk)
    due_at = end_of_day(DUE)
    sweeper.ensure_policies()

    def queries_for(n):
        MidtermReport.objects.all().delete()
        cs.open_midterm(actor=officer, project_ids=project_ids[:n], due_date=DUE)
        Reminder.objects.all().delete()
        Escalation.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            sweep_at(due_at + datetime.timedelta(days=12), kinds=[KIND], batch_size=100)
        assert Reminder.objects.filter(stage="red").exists()
        return len(ctx.captured_queries)

    assert queries_for(2) == queries_for(12)


def test_reached_stages_edges():
    policy = ReminderPolicy(kind=KIND, windows="7,3,1", remind_overdue=True, yellow_after_days=3, red_after_days=7)
    due = end_of_day(datetime.date(2027, 1, 10))
    assert reached_stages(due, due - datetime.timedelta(days=8), policy) == []
    assert reached_stages(due, due - datetime.timedelta(days=7), policy) == [("d7", None)]
    assert reached_stages(due, due - datetime.timedelta(seconds=1), policy) == [("d1", None)]
    assert reached_stages(due, due, policy) == [("overdue", "overdue")]
    assert [s for s, _ in reached_stages(due, due + datetime.timedelta(days=7), policy)] == ["overdue", "yellow", "red"]
    far = end_of_day(datetime.date.max)
    assert far.date() == datetime.date.max
    assert reached_stages(far, timezone.now(), policy) == []
    assert shift(far, 30) > far


def test_messages_show_a_date_deadline_as_its_last_day_and_count_calendar_days(midterm, officer, supervisor):
    due_at = end_of_day(DUE)
    sweep_at(due_at - datetime.timedelta(days=2, hours=12))  # noon, three days before the last day's end
    admin = org_admins(midterm)[0]
    reminder = Notification.objects.get(recipient=admin, reminder__stage="d3")
    assert DUE.isoformat() in reminder.title and "00:00" not in reminder.title
    assert "还有 2 天" in reminder.body
    sweep_at(due_at + datetime.timedelta(days=4, hours=9))  # 09:00 on the 5th day after the last day
    yellow = Notification.objects.get(recipient=officer, reminder__stage=Stage.YELLOW)
    assert "已逾期 5 天" in yellow.title and DUE.isoformat() in yellow.body

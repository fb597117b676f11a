"""The admin of the reminder machinery: 期限提醒设置 (validated), 提醒与督办记录, 督办事项 and 待投递任务 (read-only,
with 立即投递), and django-celery-beat's periodic tasks synced from CELERY_BEAT_SCHEDULE."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity import deadlines
from activity.deadlines import ObligationKind, PolicyDefaults
from activity.models import Escalation, Notification, Reminder, ReminderPolicy, TaskOutbox
from activity.sweeper import ensure_policies

pytestmark = pytest.mark.django_db
MIDTERM = "midterm_due"


class ActingKind(ObligationKind):
    code = "admin_test_acting"
    label = "专家评审意见提交（测试）"
    owner_label = "评审专家"
    responsible_label = "业务处室"
    action_label = "改派其他专家"
    defaults = PolicyDefaults(windows=(2, 1), yellow_after_days=1, red_after_days=3, auto_action=True,
                              action_after_days=2)

    def act(self, pk, due_at, now):
        return True


@pytest.fixture
def acting_kind(monkeypatch):
    monkeypatch.setitem(deadlines._REGISTRY, ActingKind.code, ActingKind())
    return ActingKind.code


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, real_name="系统管理员")


def policy_data(policy, **changes):
    data = {
        "enabled": "on", "windows": policy.windows, "remind_overdue": "on",
        "yellow_after_days": policy.yellow_after_days or "", "red_after_days": policy.red_after_days or "",
        "service_days": policy.service_days or "", "action_after_days": policy.action_after_days, "sms": "on",
    }
    if policy.auto_action:
        data["auto_action"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- 期限提醒设置 ---------------------------------------------------------------------------------------------


def test_policy_list_and_change_page_show_the_kind_and_its_people(client, officer, acting_kind):
    policies = ensure_policies()
    client.force_login(officer)
    html = client.get(reverse("admin:activity_reminderpolicy_changelist")).content.decode()
    assert "中期检查报告提交" in html and "专家评审意见提交（测试）" in html
    html = client.get(reverse("admin:activity_reminderpolicy_change", args=[policies[acting_kind].pk])).content.decode()
    assert "评审专家" in html  # who owes it
    assert "业务处室" in html  # who is responsible above
    assert "改派其他专家" in html  # the automatic action
    assert "到期前 2,1 天提醒；逾期提醒；逾期 1 天黄牌；逾期 3 天红牌；逾期 2 天自动处理（默认开启）" in html
    # the kind is not editable once the row exists
    assert 'name="kind"' not in html


def test_policy_change_saves_valid_values(client, officer):
    policy = ensure_policies()[MIDTERM]
    client.force_login(officer)
    url = reverse("admin:activity_reminderpolicy_change", args=[policy.pk])
    response = client.post(url, policy_data(policy, windows="10，5,1", yellow_after_days=2, red_after_days=5))
    assert response.status_code == 302, response.content.decode()
    policy.refresh_from_db()
    assert policy.window_days == [10, 5, 1] and policy.yellow_after_days == 2 and policy.red_after_days == 5


@pytest.mark.parametrize("yellow,red", [(5, 5), (7, 3)])
def test_red_not_after_yellow_is_refused_with_a_clear_message(client, officer, yellow, red):
    policy = ensure_policies()[MIDTERM]
    before = (policy.yellow_after_days, policy.red_after_days)
    client.force_login(officer)
    url = reverse("admin:activity_reminderpolicy_change", args=[policy.pk])
    response = client.post(url, policy_data(policy, yellow_after_days=yellow, red_after_days=red))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"红牌须晚于黄牌：逾期几天后红牌督办须大于逾期几天后黄牌（现为黄牌 {yellow} 天）" in html
    assert "Constraint" not in html
    policy.refresh_from_db()
    assert (policy.yellow_after_days, policy.red_after_days) == before


def test_bad_windows_are_refused(client, officer):
    policy = ensure_policies()[MIDTERM]
    client.force_login(officer)
    url = reverse("admin:activity_reminderpolicy_change", args=[policy.pk])
    html = client.post(url, policy_data(policy, windows="7,三")).content.decode()
    assert "请填写以逗号分隔的天数，如 7,3,1" in html
    html = client.post(url, policy_data(policy, windows="400")).content.decode()
    assert "提醒天数须在 1 到 365 之间" in html
    policy.refresh_from_db()
    assert policy.windows == "7,3,1"


def test_automatic_handling_only_for_kinds_that_have_one(client, officer, acting_kind):
    policies = ensure_policies()
    policy = policies[MIDTERM]
    client.force_login(officer)
    url = reverse("admin:activity_reminderpolicy_change", args=[policy.pk])
    html = client.get(url).content.decode()
    # 中期检查 has no automatic action and its deadline is a date: neither 自动处理 nor 办理时限 is offered
    assert 'name="auto_action"' not in html and 'name="action_after_days"' not in html
    assert 'name="service_days"' not in html
    response = client.post(url, policy_data(policy, auto_action="on", action_after_days=3, service_days=5))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.auto_action is False and policy.action_after_days == 0 and policy.service_days is None
    # a kind that acts offers it
    html = client.get(reverse("admin:activity_reminderpolicy_change", args=[policies[acting_kind].pk])).content.decode()
    assert 'name="auto_action"' in html and 'name="action_after_days"' in html


def test_service_days_offered_for_a_kind_counted_from_a_date(client, officer):
    policy = ensure_policies()["formal_review"]
    client.force_login(officer)
    html = client.get(reverse("admin:activity_reminderpolicy_change", args=[policy.pk])).content.decode()
    assert 'name="service_days"' in html


def test_the_windows_are_stored_as_read(client, officer):
    policy = ensure_policies()[MIDTERM]
    client.force_login(officer)
    url = reverse("admin:activity_reminderpolicy_change", args=[policy.pk])
    assert client.post(url, policy_data(policy, windows="2,,5，2")).status_code == 302
    policy.refresh_from_db()
    assert policy.windows == "5,2"
    assert client.post(url, policy_data(policy, windows="")).status_code == 302
    policy.refresh_from_db()
    assert policy.windows == "" and policy.window_days == []


def test_adding_a_policy_offers_only_registered_kinds_without_one(client, superuser, acting_kind):
    ReminderPolicy.objects.create(kind=MIDTERM, yellow_after_days=3, red_after_days=10)
    client.force_login(superuser)
    url = reverse("admin:activity_reminderpolicy_add")
    html = client.get(url).content.decode()
    assert f'value="{acting_kind}"' in html and f'value="{MIDTERM}"' not in html
    base = {"enabled": "on", "windows": "3,1", "remind_overdue": "on", "yellow_after_days": 2,
            "red_after_days": 4, "action_after_days": 0, "sms": "on"}
    html = client.post(url, {**base, "kind": "no_such_kind"}).content.decode()
    assert "no_such_kind" not in set(ReminderPolicy.objects.values_list("kind", flat=True))
    assert "选择一个有效的选项" in html or "Select a valid choice" in html
    response = client.post(url, {**base, "kind": acting_kind})
    assert response.status_code == 302
    assert ReminderPolicy.objects.get(kind=acting_kind).window_days == [3, 1]


def test_policies_are_not_deleted_and_organisations_cannot_open_them(client, superuser, org_admin):
    policy = ensure_policies()[MIDTERM]
    client.force_login(superuser)
    assert client.get(reverse("admin:activity_reminderpolicy_delete", args=[policy.pk])).status_code == 403
    org_admin.is_staff = True
    org_admin.save()
    client.force_login(org_admin)
    assert client.get(reverse("admin:activity_reminderpolicy_changelist")).status_code == 403


# --- 提醒与督办记录, 督办事项 ------------------------------------------------------------------------------------


def make_reminders(n, recipient, stage="d3"):
    due = timezone.now() + datetime.timedelta(days=3)
    for i in range(n):
        note = Notification.objects.create(recipient=recipient, kind="deadline_reminder", title=f"提醒{i}",
                                           dedupe_key=f"test-{stage}-{recipient.pk}-{i}")
        Reminder.objects.create(kind=MIDTERM, object_id=500 + i, due_at=due, stage=stage, recipient=recipient,
                                notification=note)


@pytest.mark.parametrize("n", [3, 30])
def test_reminder_log_lists_with_labels_and_fixed_queries(client, superuser, applicant, n,
                                                         django_assert_max_num_queries):
    make_reminders(n, applicant)
    client.force_login(superuser)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("admin:activity_reminder_changelist"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "中期检查报告提交" in html and "到期前3天提醒" in html and "张申报" in html
    note = Notification.objects.get(title="提醒0")
    assert reverse("admin:activity_notification_change", args=[note.pk]) in html


def test_reminder_log_filters_and_is_read_only(client, superuser, applicant, org_admin):
    make_reminders(2, applicant, stage="d3")
    make_reminders(1, org_admin, stage="yellow")
    client.force_login(superuser)
    url = reverse("admin:activity_reminder_changelist")
    html = client.get(url, {"stage": "yellow"}).content.decode()
    assert "黄牌警示" in html and "李管理" in html and "张申报" not in html
    html = client.get(url, {"stage": "window"}).content.decode()
    assert "张申报" in html and "李管理" not in html
    html = client.get(url, {"q": "李管理"}).content.decode()
    assert "李管理" in html and "张申报" not in html
    assert client.get(url, {"kind": MIDTERM}).status_code == 200
    assert client.get(reverse("admin:activity_reminder_add")).status_code == 403
    reminder = Reminder.objects.first()
    response = client.post(reverse("admin:activity_reminder_change", args=[reminder.pk]), {"stage": "red"})
    assert response.status_code == 403
    reminder.refresh_from_db()
    assert reminder.stage != "red"


def test_escalation_admin_lists_and_filters(client, officer, org):
    now = timezone.now()
    for level, title, resolved in (("red", "红牌事项", None), ("yellow", "黄牌事项", None), ("red", "已解除事项", now)):
        Escalation.objects.create(kind=MIDTERM, object_id=hash(title) % 10000, due_at=now - datetime.timedelta(days=9),
                                  level=level, title=title, holder=org.name, organization=org, opened_at=now,
                                  level_at=now, resolved_at=resolved)
    client.force_login(officer)
    url = reverse("admin:activity_escalation_changelist")
    html = client.get(url).content.decode()
    assert "红牌事项" in html and "黄牌事项" in html and "已解除事项" in html
    html = client.get(url, {"level__exact": "yellow"}).content.decode()
    assert "黄牌事项" in html and "红牌事项" not in html
    html = client.get(url, {"resolved": "yes"}).content.decode()
    assert "已解除事项" in html and "黄牌事项" not in html
    html = client.get(url, {"resolved": "no", "kind": MIDTERM}).content.decode()
    assert "已解除事项" not in html and "红牌事项" in html
    assert client.get(reverse("admin:activity_escalation_add")).status_code == 403


# --- 待投递任务 --------------------------------------------------------------------------------------------------


def test_outbox_flush_now_publishes_the_kept_tasks(client, superuser, monkeypatch):
    from kjproject.celery import app

    TaskOutbox.objects.create(task="activity.sweep_deadlines", args=[], kwargs={}, options={},
                              error="OperationalError: connection refused")
    published = []
    task = app.tasks["activity.sweep_deadlines"]
    monkeypatch.setattr(type(task), "publish_now", lambda self, args, kwargs, options: published.append(self.name))
    client.force_login(superuser)
    url = reverse("admin:activity_taskoutbox_changelist")
    html = client.get(url).content.decode()
    assert "立即投递" in html and "connection refused" in html
    response = client.post(url, {"action": "flush_now", "_selected_action": list(
        TaskOutbox.objects.values_list("pk", flat=True))}, follow=True)
    assert "已投递 1 个任务。" in response.content.decode()
    assert published == ["activity.sweep_deadlines"]
    assert not TaskOutbox.objects.exists()


def test_outbox_flush_now_reports_a_broker_still_down(client, superuser, monkeypatch):
    from kombu.exceptions import OperationalError

    from kjproject.celery import app

    row = TaskOutbox.objects.create(task="activity.sweep_deadlines", args=[], kwargs={}, options={})

    def down(self, args, kwargs, options):
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(app.tasks["activity.sweep_deadlines"]), "publish_now", down)
    client.force_login(superuser)
    url = reverse("admin:activity_taskoutbox_changelist")
    response = client.post(url, {"action": "flush_now", "_selected_action": [row.pk]}, follow=True)
    assert "已投递 0 个任务；仍有 1 个未能投递" in response.content.decode()
    row.refresh_from_db()
    assert row.attempts == 2


def test_outbox_is_for_superusers_only(client, officer):
    client.force_login(officer)
    assert client.get(reverse("admin:activity_taskoutbox_changelist")).status_code == 403


# --- django-celery-beat ------------------------------------------------------------------------------------------


def test_beat_syncs_the_schedule_into_periodic_tasks_shown_in_the_admin(client, superuser, settings, monkeypatch):
    from django_celery_beat import schedulers
    from django_celery_beat.models import PeriodicTask

    from kjproject.celery import app

    # beat runs outside any transaction; inside the test's, closing "old" connections would drop it (PostgreSQL)
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    scheduler = schedulers.DatabaseScheduler(app=app)  # what `celery beat` does when it starts
    scheduler._finalize.cancel()  # no sync at garbage collection, in some later test
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {"sweep-deadlines", "flush-task-outbox"} <= names
    assert set(settings.CELERY_BEAT_SCHEDULE) <= names
    assert PeriodicTask.objects.get(name="sweep-deadlines").task == "activity.sweep_deadlines"
    client.force_login(superuser)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:django_celery_beat_periodictask_changelist") in index
    response = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    assert response.status_code == 200
    assert "sweep-deadlines" in response.content.decode()

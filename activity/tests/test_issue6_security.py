"""Security review of issue 6 (activity): who may open the 督办 board and the reminder admin, hostile filter input
on the board (never a 500, never a row it should not show), the escalation links rendered as hrefs, and the outbox
(task arguments) kept for superusers."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.models import Escalation, Notification, Reminder, TaskOutbox
from activity.sweeper import ensure_policies

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
URL = "/office/duban/"
MIDTERM = "midterm_due"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


def esc(*, level="red", title="《智能传感器研发》中期检查报告", holder="杭州示例智能科技有限公司", organization=None,
        link="/checkpoints/midterm/1/", object_id=1):
    due_at = NOW - datetime.timedelta(days=20)
    return Escalation.objects.create(kind=MIDTERM, object_id=object_id, due_at=due_at, level=level, title=title,
                                     holder=holder, link=link, organization=organization, opened_at=due_at,
                                     level_at=due_at)


# ---- who sees the board -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user", "finance_user"])
def test_a_staff_flag_does_not_open_the_board_to_organisations_experts_or_finance(client, request, who):
    """The staff flag is the Django admin's; an organisation user, an expert or a finance clerk who has it (set by
    mistake, or to let finance use the admin) is still not the bureau: 404, and no nav link."""
    esc()
    user = request.getfixturevalue(who)
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get(URL).status_code == 404
    assert client.get(URL, {"tab": "resolved"}).status_code == 404
    assert 'data-testid="duban-menu"' not in client.get("/").content.decode()


@pytest.mark.parametrize("who", ["supervisor", "officer", "superuser", "plain_staff"])
def test_the_bureau_and_a_roleless_staff_administrator_open_the_board(client, request, who):
    user = UserFactory(is_staff=True) if who == "plain_staff" else request.getfixturevalue(who)
    esc()
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200 and "中期检查报告" in response.content.decode()


def test_an_inactive_officer_is_not_let_in(client, officer):
    officer.is_active = False
    officer.save()
    client.force_login(officer)
    assert client.get(URL).status_code in (302, 404)  # logged out by the auth backend, or refused


# ---- hostile filters --------------------------------------------------------------------------------------------

HOSTILE = [
    {"page": str(10**30)},
    {"page": "-1"},
    {"page": "1e9"},
    {"page": "abc"},
    {"tab": "../../admin"},
    {"level": "nope"},
    {"level": "red' OR 1=1 --"},
    {"kind": "no_such_kind"},
    {"kind": "midterm_due' OR '1'='1"},
    {"org": "' OR 1=1 --"},
    {"org": "%"},
    {"org": "_"},
    {"org": "x" * 5000},
    {"org": "a\x00b"},
    {"org": "<script>alert(1)</script>"},
    {"kind": ["midterm_due", "other"], "level": ["red", "yellow"]},
]


@pytest.mark.parametrize("params", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_filters_never_fail_and_never_widen(client, supervisor, org, params):
    esc(title="甲项目", organization=org, object_id=1)
    esc(title="乙项目", holder="宁波另一家制造有限公司", object_id=2)
    client.force_login(supervisor)
    response = client.get(URL, params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    # a search for SQL or a LIKE wildcard finds nothing (it is a name, not a pattern); bad values fall back
    if params.get("org") in ("' OR 1=1 --", "%", "_", "a\x00b", "<script>alert(1)</script>"):
        if params["org"] == "a\x00b":
            assert "甲项目" in html and "乙项目" in html  # refused as input: the unfiltered board
        else:
            assert "甲项目" not in html and "乙项目" not in html


def test_non_utf8_query_string_is_not_a_500(client, supervisor):
    esc()
    client.force_login(supervisor)
    for query in ("org=%FF%FE", "kind=%C0%AF", "page=%FF", "tab=%FF"):
        assert client.get(f"{URL}?{query}").status_code == 200


# ---- the links --------------------------------------------------------------------------------------------------


def test_an_escalation_link_is_rendered_escaped_inside_the_attribute(client, supervisor):
    """The sweeper writes internal paths it reversed; should anything else ever get there, it stays one quoted
    attribute value (no new attribute, no tag)."""
    esc(link='/x/" onmouseover="alert(1)', title="<b>标题</b>")
    client.force_login(supervisor)
    html = client.get(URL).content.decode()
    assert 'onmouseover="alert(1)' not in html
    assert 'href="/x/&quot; onmouseover=&quot;alert(1)"' in html
    assert "<b>标题</b>" not in html and "&lt;b&gt;标题&lt;/b&gt;" in html


# ---- admin ------------------------------------------------------------------------------------------------------


def test_an_officer_edits_a_policy_but_cannot_delete_it(client, officer):
    policy = ensure_policies()[MIDTERM]
    client.force_login(officer)
    assert client.get(reverse("admin:activity_reminderpolicy_change", args=[policy.pk])).status_code == 200
    assert client.get(reverse("admin:activity_reminderpolicy_delete", args=[policy.pk])).status_code == 403
    changelist = reverse("admin:activity_reminderpolicy_changelist")
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [policy.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert type(policy).objects.filter(pk=policy.pk).exists()


@pytest.mark.parametrize("who", ["supervisor", "finance_user", "org_admin", "expert_user"])
def test_only_officers_and_superusers_reach_the_reminder_admin(client, request, who):
    user = request.getfixturevalue(who)
    user.is_staff = True
    user.save()
    ensure_policies()
    client.force_login(user)
    for name in ("reminderpolicy", "reminder", "escalation", "taskoutbox"):
        assert client.get(reverse(f"admin:activity_{name}_changelist")).status_code == 403, name


def test_the_outbox_stays_superuser_only_even_with_a_model_permission(client, officer):
    """Task arguments are internals: a staff user given activity.view_taskoutbox by hand still cannot browse them
    (as with the notifications, which are private)."""
    TaskOutbox.objects.create(task="activity.tasks.send_notification_emails", args=[[1]], kwargs={}, options={})
    officer.user_permissions.add(Permission.objects.get(codename="view_taskoutbox"))
    officer = type(officer).objects.get(pk=officer.pk)
    client.force_login(officer)
    assert client.get(reverse("admin:activity_taskoutbox_changelist")).status_code == 403
    assert "待投递任务" not in client.get(reverse("admin:index")).content.decode()


def test_the_reminder_log_does_not_link_officers_to_notifications_they_may_not_open(client, officer, applicant):
    note = Notification.objects.create(recipient=applicant, kind="deadline_reminder", title="中期检查报告提醒",
                                       dedupe_key="sec-1")
    Reminder.objects.create(kind=MIDTERM, object_id=1, due_at=NOW, stage="d3", recipient=applicant,
                            notification=note)
    client.force_login(officer)
    html = client.get(reverse("admin:activity_reminder_changelist")).content.decode()
    assert "中期检查报告提醒" in html
    assert reverse("admin:activity_notification_change", args=[note.pk]) not in html
    assert client.get(reverse("admin:activity_notification_change", args=[note.pk])).status_code in (302, 403)

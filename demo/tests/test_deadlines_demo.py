"""The deadline demo (demo/deadlines.py): after seed_demo the 督办 board shows 红牌 and 黄牌 items to 局领导, the
organisations' admins and the officers have their reminders in the inbox, a second seed sends nothing twice, and
``sweep_deadlines --days 30`` moves the open items up the ladder."""

import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from activity.messaging import MessageKind
from activity.models import Escalation, Notification, Reminder
from projects.models import MidtermReport

pytestmark = pytest.mark.django_db
DEADLINE_KINDS = {MessageKind.DEADLINE_REMINDER, MessageKind.DEADLINE_OVERDUE, MessageKind.DEADLINE_YELLOW,
                  MessageKind.DEADLINE_RED}
ORG_NAMES = {"qtxc": "杭州钱塘新材料科技有限公司", "xszb": "杭州萧山智能装备制造有限公司", "wjsj": "杭州望江数据服务有限公司",
             "qtkj": "钱塘科技学院", "lpzx": "杭州市临平区中西医结合医院"}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def board(client, username: str, **params) -> str:
    client.force_login(User.objects.get(username=username))
    response = client.get(reverse("supervision:board"), params)
    assert response.status_code == 200
    return response.content.decode()


def levels(html: str) -> list[str]:
    return re.findall(r'data-testid="row" data-level="(\w+)"', html)


def count_badge(html: str, level: str) -> int:
    return int(re.search(rf'data-testid="count-{level}">[^<]*?(\d+)<', html).group(1))


def inbox(client, username: str) -> str:
    client.force_login(User.objects.get(username=username))
    response = client.get(reverse("inbox:list"))
    assert response.status_code == 200
    return response.content.decode()


def midterm_escalation(slug: str) -> Escalation | None:
    report = MidtermReport.objects.get(project__organization__name=ORG_NAMES[slug],
                                       project__call__title__contains="社会发展专项")
    return Escalation.objects.filter(kind="midterm_due", object_id=report.pk, resolved_at__isnull=True).first()


def test_seeded_deadlines_light_the_board_fill_the_inboxes_and_climb_when_time_moves_on(client):
    # mid-morning, so that no reminder window or ladder step is crossed at midnight between the two seeds
    local = timezone.localtime()
    with time_machine.travel(local.replace(hour=10, minute=0, second=0, microsecond=0), tick=True):
        output = seed()
        assert re.search(r"reminders [1-9]", output)

        # 局领导 sees red and yellow items on the 督办 board, red first; the midterm stories at their stages
        page = board(client, "leader")
        seen = levels(page)
        assert "red" in seen and "yellow" in seen and seen == sorted(seen, key=["red", "yellow"].index)
        assert "杭州钱塘新材料科技有限公司" in page and "杭州萧山智能装备制造有限公司" in page
        assert count_badge(page, "red") >= 1 and count_badge(page, "yellow") >= 1
        assert midterm_escalation("qtxc").level == "red"
        assert midterm_escalation("xszb").level == "yellow"
        assert midterm_escalation("wjsj").level == "overdue"
        assert midterm_escalation("qtkj") is None and midterm_escalation("lpzx") is None  # not due yet
        assert "杭州望江数据服务有限公司" in board(client, "leader", level="overdue")
        # the red card reached the leader's inbox, linking to the board
        red = Notification.objects.get(recipient__username="leader", kind=MessageKind.DEADLINE_RED,
                                       title__contains="全生物降解聚酯包装材料")
        assert red.link == reverse("supervision:board")
        assert "红牌督办" in inbox(client, "leader")

        # the organisations' admins: reminders before the deadline, 逾期 after it, 黄牌 for their own overdue report
        mine = {slug: set(Notification.objects.filter(recipient__username=f"{slug}-admin", kind__in=DEADLINE_KINDS)
                          .values_list("kind", flat=True)) for slug in ORG_NAMES}
        assert mine["qtkj"] == mine["lpzx"] == {MessageKind.DEADLINE_REMINDER}
        assert mine["wjsj"] == {MessageKind.DEADLINE_OVERDUE}
        assert mine["xszb"] == mine["qtxc"] == {MessageKind.DEADLINE_OVERDUE, MessageKind.DEADLINE_YELLOW}
        assert "期限提醒" in inbox(client, "qtkj-admin") and "逾期" in inbox(client, "wjsj-admin")
        assert Notification.objects.filter(recipient__username="bjgd-admin", kind=MessageKind.DEADLINE_REMINDER,
                                           title__contains="硅光集成800G").exists()  # the existing 6-day story
        # the officers get the 黄牌 of every yellow or red item
        officer_yellow = Notification.objects.filter(recipient__username="officer", kind=MessageKind.DEADLINE_YELLOW)
        for project in ("全生物降解聚酯包装材料", "城市地下综合管廊"):
            assert officer_yellow.filter(title__contains=project).exists(), project
        assert not officer_yellow.filter(title__contains="城市公共卫生事件").exists()  # only 逾期: the owner's
        # nobody outside the ladder was told: an organisation never sees the board
        client.force_login(User.objects.get(username="qtxc-admin"))
        assert client.get(reverse("supervision:board")).status_code == 404

        # seeding again sends nothing twice and changes nothing
        reminders, notifications = Reminder.objects.count(), Notification.objects.count()
        assert "未作改动" in seed()
        assert (Reminder.objects.count(), Notification.objects.count()) == (reminders, notifications)

        # 30 days on, the open midterm items and those not yet due are all 红牌; a dry run only counts them
        red_before = count_badge(board(client, "leader"), "red")
        out = StringIO()
        call_command("sweep_deadlines", "--days", "30", "--dry-run", stdout=out, stderr=StringIO())
        assert "dry-run" in out.getvalue() and re.search(r"^total\s+\d+\s+[1-9]", out.getvalue(), re.M)
        assert (Reminder.objects.count(), count_badge(board(client, "leader"), "red")) == (reminders, red_before)
        out = StringIO()
        call_command("sweep_deadlines", "--days", "30", stdout=out, stderr=StringIO())
        text = out.getvalue()
        assert "+30" in text and re.search(r"^midterm_due\s+\d+\s+[1-9]", text, re.M)
        page = board(client, "leader")
        assert count_badge(page, "red") >= red_before + 4
        for slug in ("qtxc", "xszb", "wjsj", "qtkj", "lpzx"):
            assert midterm_escalation(slug).level == "red", slug
        assert Reminder.objects.count() > reminders
        assert Notification.objects.filter(recipient__username="leader", kind=MessageKind.DEADLINE_RED).count() > 1


def test_sweep_deadlines_refuses_an_unknown_kind_and_a_bad_moment():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown kind"):
        call_command("sweep_deadlines", "--kind", "no_such_kind", stdout=StringIO())
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("sweep_deadlines", "--at", "next tuesday", stdout=StringIO())

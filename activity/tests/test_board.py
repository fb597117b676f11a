"""The 督办 board (/office/duban/): who sees it, what each row says, the filters, the counts, the order, the
已解除 tab, the pages and the query count."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory
from activity import deadlines
from activity.deadlines import ObligationKind, PolicyDefaults
from activity.models import Escalation
from activity.sweeper import ensure_policies
from activity.tests.ladder import escalation, sweep_at

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)
URL = "/office/duban/"
MIDTERM = "midterm_due"


class ReviewDue(ObligationKind):
    """A second kind, for the kind filter (registered only while a test runs)."""

    code = "board_test_review"
    label = "专家评审意见提交"
    owner_label = "评审专家"
    responsible_label = "业务处室"
    defaults = PolicyDefaults()


@pytest.fixture
def second_kind(monkeypatch):
    monkeypatch.setitem(deadlines._REGISTRY, ReviewDue.code, ReviewDue())
    return ReviewDue.code


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def esc(level, *, days_overdue, days_at_level=None, kind=MIDTERM, title="《智能传感器研发》中期检查报告",
        holder="杭州示例智能科技有限公司", organization=None, acted=False, resolved_days_ago=None, link="/x/1/"):
    due_at = NOW - datetime.timedelta(days=days_overdue)
    level_at = NOW - datetime.timedelta(days=days_overdue if days_at_level is None else days_at_level)
    return Escalation.objects.create(
        kind=kind, object_id=Escalation.objects.count() + 1000, due_at=due_at, level=level, title=title,
        holder=holder, link=link, organization=organization, opened_at=due_at, level_at=level_at,
        acted_at=NOW - datetime.timedelta(days=1) if acted else None,
        resolved_at=None if resolved_days_ago is None else NOW - datetime.timedelta(days=resolved_days_ago),
    )


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="row" data-level="(\w+)"', html)


def titles(html: str) -> list[str]:
    return re.findall(r'data-testid="title">([^<]+)<', html)


def get(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_url_name():
    assert reverse("supervision:board") == URL


def test_the_supervisor_sees_red_first_then_the_oldest_deadline(client, supervisor, org):
    esc("yellow", days_overdue=30, title="黄牌旧")
    esc("red", days_overdue=12, title="红牌新")
    esc("red", days_overdue=20, title="红牌旧")
    esc("yellow", days_overdue=5, title="黄牌新")
    esc("overdue", days_overdue=1, title="刚逾期")
    html = get(client, supervisor)
    assert titles(html) == ["红牌旧", "红牌新", "黄牌旧", "黄牌新"]  # 逾期 only under its filter
    assert rows(html) == ["red", "red", "yellow", "yellow"]
    assert 'class="badge kj-level kj-level-red" data-testid="level">红牌<' in html
    assert 'class="badge kj-level kj-level-yellow" data-testid="level">黄牌<' in html


def test_a_row_shows_kind_title_link_holder_organisation_deadline_and_ages(client, officer):
    company = OrganizationFactory(name="宁波甲乙新材料有限公司")
    esc("red", days_overdue=12, days_at_level=2, title="《高分子材料》中期检查报告", holder="专家 张三",
        organization=company, link="/office/checkpoints/midterm/7/", acted=True)
    html = get(client, officer)
    assert "中期检查报告提交" in html  # the kind's label
    assert '<a href="/office/checkpoints/midterm/7/" data-testid="title">《高分子材料》中期检查报告</a>' in html
    assert "专家 张三" in html and "宁波甲乙新材料有限公司" in html
    due = timezone.localtime(NOW - datetime.timedelta(days=12))
    assert due.strftime("%Y-%m-%d %H:%M") in html
    assert "逾期 12 天" in html
    assert "红牌 2 天" in html  # how long at the current level
    assert "已自动处理（2026-11-22）" in html


@pytest.mark.parametrize("hour", [0, 9, 15, 23])
def test_a_date_deadline_shows_its_last_day_and_calendar_days_as_its_own_page_does(client, officer, hour):
    """中期报告 due 11-11 (met until the end of that day): on 11-23, at any hour, the board says 11-11 and 12 days,
    not "11-12 00:00" and 11 days; an item raised to 黄牌 yesterday evening has been 黄牌 for 1 day."""
    moment = timezone.make_aware(datetime.datetime(2026, 11, 23, hour, 30))
    with time_machine.travel(moment, tick=False):
        Escalation.objects.create(
            kind=MIDTERM, object_id=1, due_at=deadlines.end_of_day(datetime.date(2026, 11, 11)), level="yellow",
            title="《高分子材料》中期检查报告", holder="宁波甲乙新材料有限公司", link="/x/1/",
            opened_at=moment - datetime.timedelta(days=11),
            level_at=timezone.make_aware(datetime.datetime(2026, 11, 22, 23, 50)))
        html = get(client, officer)
    assert re.search(r'data-testid="due">2026-11-11<', html)
    assert "2026-11-12" not in html
    assert "逾期 12 天" in html
    assert "黄牌 1 天" in html


def test_an_item_swept_ahead_says_not_yet_due_and_a_fresh_one_less_than_a_day(client, officer):
    """sweep_deadlines --days 30 opens items whose deadline is still ahead: the board says so instead of
    "逾期 0 天"; a datetime deadline passed an hour ago is "逾期不足 1 天"."""
    ahead = esc("red", days_overdue=0, title="未来事项")
    Escalation.objects.filter(pk=ahead.pk).update(due_at=NOW + datetime.timedelta(days=14))
    esc("overdue", days_overdue=0, title="刚刚逾期")
    Escalation.objects.filter(title="刚刚逾期").update(due_at=NOW - datetime.timedelta(hours=1))
    html = get(client, officer, level="all")
    assert html.count('data-testid="not-due"') == 1
    assert "尚未到期" in html and "逾期不足 1 天" in html
    assert "逾期 0 天" not in html


def test_no_automatic_action_shows_a_dash(client, officer):
    esc("yellow", days_overdue=4)
    html = get(client, officer)
    assert 'data-testid="acted"' not in html


def test_counts_per_level_and_level_filters(client, supervisor):
    for days in (8, 9, 10):
        esc("red", days_overdue=days)
    for days in (4, 5):
        esc("yellow", days_overdue=days)
    esc("overdue", days_overdue=1, title="刚逾期")
    esc("red", days_overdue=40, resolved_days_ago=2, title="已办结")  # resolved: counted nowhere
    html = get(client, supervisor)
    assert 'data-testid="count-red">红牌 3<' in html
    assert 'data-testid="count-yellow">黄牌 2<' in html
    assert 'data-testid="count-overdue">逾期 1<' in html
    assert rows(html) == ["red"] * 3 + ["yellow"] * 2
    assert rows(get(client, supervisor, level="red")) == ["red"] * 3
    assert rows(get(client, supervisor, level="yellow")) == ["yellow"] * 2
    assert titles(get(client, supervisor, level="overdue")) == ["刚逾期"]
    assert rows(get(client, supervisor, level="all")) == ["red"] * 3 + ["yellow"] * 2 + ["overdue"]
    assert "已办结" not in get(client, supervisor, level="all")
    # an unknown level is the default (黄牌 and 红牌), not an error
    assert rows(get(client, supervisor, level="purple")) == ["red"] * 3 + ["yellow"] * 2


def test_filter_by_kind(client, officer, second_kind):
    esc("red", days_overdue=9, title="中期报告逾期")
    esc("yellow", days_overdue=4, kind=second_kind, title="评审意见逾期")
    html = get(client, officer)
    assert titles(html) == ["中期报告逾期", "评审意见逾期"]
    assert "专家评审意见提交" in html
    html = get(client, officer, kind=second_kind)
    assert titles(html) == ["评审意见逾期"]
    # the counts follow the kind filter
    assert 'data-testid="count-red">红牌 0<' in html and 'data-testid="count-yellow">黄牌 1<' in html


def test_filter_by_organisation_name_or_holder(client, officer):
    esc("red", days_overdue=9, title="甲", organization=OrganizationFactory(name="杭州甲科技有限公司"), holder="")
    esc("red", days_overdue=8, title="乙", organization=OrganizationFactory(name="宁波乙制造有限公司"), holder="")
    esc("yellow", days_overdue=4, title="丙", holder="专家 宁波某某")
    assert titles(get(client, officer, org="宁波")) == ["乙", "丙"]
    assert titles(get(client, officer, org="甲科技")) == ["甲"]


def test_resolved_tab_lists_recently_resolved_items(client, supervisor):
    esc("red", days_overdue=20, title="仍在督办")
    esc("red", days_overdue=20, resolved_days_ago=3, title="三天前解除")
    esc("yellow", days_overdue=10, resolved_days_ago=1, title="昨天解除")
    esc("yellow", days_overdue=90, resolved_days_ago=45, title="早已解除")
    html = get(client, supervisor, tab="resolved")
    assert titles(html) == ["昨天解除", "三天前解除"]  # the latest first; older than 30 days left out
    assert "逾期 17 天" in html  # overdue until it was resolved, not until now
    open_html = get(client, supervisor)
    assert titles(open_html) == ["仍在督办"]


def test_the_board_pages(client, officer):
    for days in range(35):
        esc("red", days_overdue=days + 8, title=f"事项{days:02d}")
    first = get(client, officer)
    assert len(rows(first)) == 30 and "共 35 项，第 1 / 2 页" in first
    assert titles(first)[0] == "事项34"  # the oldest deadline first
    second = get(client, officer, page=2)
    assert titles(second) == [f"事项{d:02d}" for d in range(4, -1, -1)]


@pytest.mark.parametrize("n", [3, 30])
def test_fixed_number_of_queries(client, supervisor, django_assert_max_num_queries, n, second_kind):
    for i in range(n):
        esc("red" if i % 2 else "yellow", days_overdue=5 + i, organization=OrganizationFactory(),
            kind=second_kind if i % 3 else MIDTERM, acted=bool(i % 4))
    client.force_login(supervisor)
    with django_assert_max_num_queries(7):
        response = client.get(URL)
    assert response.status_code == 200 and len(rows(response.content.decode())) == n
    with django_assert_max_num_queries(7):
        assert client.get(URL, {"tab": "resolved"}).status_code == 200


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user", "finance_user"])
def test_organisations_and_experts_are_refused(client, request, who):
    esc("red", days_overdue=10, title="不可见")
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert response.status_code == 404
    assert "不可见" not in response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_nav_links_to_the_board_for_the_bureau_only(client, supervisor, officer, applicant, expert_user):
    for user, shown in ((supervisor, True), (officer, True), (applicant, False), (expert_user, False)):
        client.force_login(user)
        html = client.get("/").content.decode()
        assert ('data-testid="duban-menu"' in html) is shown, user


def test_a_swept_midterm_report_appears_on_the_board(client, supervisor, officer):
    """End to end: the sweeper's 红牌 item is what the board lists, linked to the office page."""
    from decimal import Decimal

    from funding.tests.factories import established_project
    from funding.tests.test_money import signed
    from projects.checkpoints import services as cs

    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    due = timezone.localdate() + datetime.timedelta(days=5)
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=due)
    ensure_policies()
    sweep_at(deadlines.end_of_day(due) + datetime.timedelta(days=11), kinds=[MIDTERM])
    item = escalation(MIDTERM, report.pk)
    assert item.level == "red"
    with time_machine.travel(deadlines.end_of_day(due) + datetime.timedelta(days=11, hours=1), tick=False):
        html = get(client, supervisor)
    assert rows(html) == ["red"]
    assert project.title in html and project.organization.name in html
    assert f'href="{item.link}"' in html
    assert f'data-testid="due">{due.isoformat()}<' in html  # the due date the organisation was given
    assert "逾期 12 天" in html  # due on day D, now D+12 01:00: calendar days, as on the checkpoint pages

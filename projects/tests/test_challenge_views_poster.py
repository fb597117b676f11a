"""The poster's pages (发榜单位): needs list and form, submitting with the 发榜承诺, 答疑 answers, the reviewed bids,
confirming the winners and 流标; another organisation gets 404 everywhere and changes nothing."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from projects.models import Bid, Challenge, ChallengeQuestion, ChallengeTarget, Project
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def need_data(**overrides):
    data = {
        "title": "高精度减速器寿命提升", "field": "manufacturing", "discipline_code": "460.15",
        "keywords": "减速器，寿命", "problem": "寿命不足 5000 小时。", "expected_outcome": "寿命达到 20000 小时。",
        "period_months": "24", "enterprise_funding": "1500000", "subsidy_requested": "500000",
        "max_winners": "1", "contact_name": "王工", "contact_phone": "0571-88880000", "action": "next",
    }
    data.update(overrides)
    return data


def formset_data(prefix, rows, **extra):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000", "action": "save", **extra}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def under_review(need, n_bids=2, **publish_kwargs):
    """A published need whose bids have been reviewed (scores in), ready for the poster's decision."""
    publish(need, **publish_kwargs)
    bids = [BidFactory(challenge=need) for _ in range(n_bids)]
    for i, b in enumerate(bids):
        Bid.objects.filter(pk=b.pk).update(state=Bid.State.REVIEWING, number=f"{need.number}-B{i + 1:02d}",
                                           review_score=Decimal(90 - i * 5), total_score=Decimal(90 - i * 5),
                                           review_count=3)
    Challenge.objects.filter(pk=need.pk).update(state=Challenge.State.REVIEWING)
    need.refresh_from_db()
    return [Bid.objects.get(pk=b.pk) for b in bids]


@pytest.fixture
def need():
    return ChallengeFactory()


@pytest.fixture
def poster(need):
    return need.created_by


# ---- list ---------------------------------------------------------------------------------------------------


def test_need_list_shows_own_needs_with_state_badges_in_fixed_queries(client, poster, need, other_applicant):
    ChallengeFactory(organization=other_applicant.organization, created_by=other_applicant, title="别家的需求")
    client.force_login(poster)
    url = reverse("challenges:needs")
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    page = body(response)
    assert need.title in page and "别家的需求" not in page
    assert f'badge kj-state kj-state-{need.state}' in page
    assert "发布新需求" in page and reverse("challenges:need_create") in page
    for _ in range(6):
        ChallengeFactory(organization=need.organization, created_by=poster)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert body(response).count("kj-state-draft") == 7
    assert len(many) == len(few)


def test_need_list_is_paginated(client, poster, need, django_assert_max_num_queries):
    for _ in range(21):
        ChallengeFactory(organization=need.organization, created_by=poster)
    client.force_login(poster)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("challenges:needs"))
    assert "共 22 项" in body(response)
    assert client.get(reverse("challenges:needs") + "?page=2").status_code == 200


def test_non_portal_users_get_404(client, officer, expert_user):
    for user in (officer, expert_user):
        client.force_login(user)
        assert client.get(reverse("challenges:needs")).status_code == 404
        assert client.get(reverse("challenges:need_create")).status_code == 404


# ---- the form -----------------------------------------------------------------------------------------------


def test_create_need_then_targets_and_bounty_is_the_sum(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("challenges:need_create")).status_code == 200
    response = client.post(reverse("challenges:need_create"), need_data())
    need = Challenge.objects.get(organization=applicant.organization)
    assert response.status_code == 302
    assert response["Location"] == reverse("challenges:need_edit", args=[need.pk, "targets"])
    assert need.state == "draft" and need.bounty == Decimal("2000000.00") and need.created_by == applicant
    page = body(client.get(reverse("challenges:need_edit", args=[need.pk, "basic"])))
    assert "2,000,000.00" in page

    response = client.post(reverse("challenges:need_edit", args=[need.pk, "targets"]), formset_data("targets", [
        {"name": "额定寿命", "target_value": "≥20000", "unit": "h", "verification": "第三方寿命试验"},
        {"name": "", "target_value": "", "unit": "", "verification": ""},
    ]))
    assert response.status_code == 302
    assert list(need.targets.values_list("name", "target_value")) == [("额定寿命", "≥20000")]


def test_create_need_with_bad_money_changes_nothing(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("challenges:need_create"), need_data(enterprise_funding="-5", max_winners="9"))
    assert response.status_code == 200
    assert "金额不能为负数" in body(response)
    assert not Challenge.objects.exists()


def test_race_choice_is_offered_and_saved(client, poster, need):
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_edit", args=[need.pk, "basic"])))
    assert "赛马制" in page
    client.post(reverse("challenges:need_edit", args=[need.pk, "basic"]), need_data(max_winners="3", action="save"))
    need.refresh_from_db()
    assert need.max_winners == 3 and need.title == "高精度减速器寿命提升"


def test_target_row_without_value_is_refused(client, poster, need):
    client.force_login(poster)
    response = client.post(reverse("challenges:need_edit", args=[need.pk, "targets"]), formset_data("targets", [
        {"name": "额定寿命", "target_value": "", "unit": "h", "verification": ""}]))
    assert response.status_code == 200
    assert need.targets.count() == 2  # unchanged


def test_editing_after_submit_is_refused_with_a_message(client, poster, need):
    client.force_login(poster)
    client.post(reverse("challenges:need_submit", args=[need.pk]), {"accept_commitment": "on"})
    need.refresh_from_db()
    assert need.state == "submitted"
    response = client.post(reverse("challenges:need_edit", args=[need.pk, "basic"]), need_data(title="改名"))
    assert response.status_code == 302 and response["Location"] == reverse("challenges:need_detail", args=[need.pk])
    assert any("不能修改" in m for m in messages_of(response))
    need.refresh_from_db()
    assert need.title != "改名"


# ---- detail, submit, withdraw -------------------------------------------------------------------------------


def test_detail_shows_submit_checks_and_the_commitment(client, poster, need):
    need.targets.all().delete()
    Challenge.objects.filter(pk=need.pk).update(contact_phone="")
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "请至少填写一项技术指标" in page and "联系电话" in page
    assert "发榜承诺" in page and "企业出资按期足额到位" in page and "接受经专家评审" in page


def test_submit_needs_the_commitment(client, poster, need):
    client.force_login(poster)
    response = client.post(reverse("challenges:need_submit", args=[need.pk]), {}, follow=True)
    assert "请阅读并同意发榜承诺" in body(response)
    need.refresh_from_db()
    assert need.state == "draft"
    response = client.post(reverse("challenges:need_submit", args=[need.pk]), {"accept_commitment": "on"}, follow=True)
    need.refresh_from_db()
    assert need.state == "submitted" and need.number in body(response)


def test_returned_need_shows_the_reason(client, poster, need):
    Challenge.objects.filter(pk=need.pk).update(last_reason="请补充验证方式。")
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "科技局退回修改意见" in page and "请补充验证方式。" in page
    assert reverse("challenges:need_withdraw", args=[need.pk]) in page


def test_withdraw_an_unpublished_need(client, poster, need):
    client.force_login(poster)
    client.post(reverse("challenges:need_withdraw", args=[need.pk]), {"reason": "不再需要"})
    need.refresh_from_db()
    assert need.state == "cancelled"
    response = client.post(reverse("challenges:need_withdraw", args=[need.pk]), {}, follow=True)
    assert response.status_code == 200 and messages_of(response)  # refused with a message, not a 500


# ---- 答疑 ---------------------------------------------------------------------------------------------------


def test_poster_answers_an_open_question(client, poster, need, other_applicant):
    publish(need)
    q = ChallengeQuestion.objects.create(challenge=need, asked_by=other_applicant,
                                         organization=other_applicant.organization, question="样机数量有要求吗？")
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "样机数量有要求吗？" in page and reverse("challenges:question_answer", args=[q.pk]) in page
    response = client.post(reverse("challenges:question_answer", args=[q.pk]), {f"q{q.pk}-answer": ""})
    q.refresh_from_db()
    assert q.state == "open" and any("请填写答复" in m for m in messages_of(response))
    client.post(reverse("challenges:question_answer", args=[q.pk]), {f"q{q.pk}-answer": "至少两台。"})
    q.refresh_from_db()
    assert q.state == "answered" and q.answer == "至少两台。" and q.answered_by == poster


# ---- bids, award, 流标 --------------------------------------------------------------------------------------


def test_bids_are_shown_only_once_under_review(client, poster, need):
    publish(need)
    bid = BidFactory(challenge=need, title="保密的揭榜方案")
    Bid.objects.filter(pk=bid.pk).update(state=Bid.State.SUBMITTED, number="B-1")
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "保密的揭榜方案" not in page and 'data-testid="bids"' not in page
    Challenge.objects.filter(pk=need.pk).update(state=Challenge.State.REVIEWING)
    Bid.objects.filter(pk=bid.pk).update(state=Bid.State.REVIEWING, review_score=Decimal("88.5"),
                                         total_score=Decimal("88.5"))
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "保密的揭榜方案" in page and "88.5" in page and "2,400,000.00" in page
    assert "样机设计与台架验证" in page  # the milestones


def test_need_detail_runs_a_fixed_number_of_queries(client, poster, need):
    bids = under_review(need, n_bids=2)
    client.force_login(poster)
    url = reverse("challenges:need_detail", args=[need.pk])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(3):
        b = BidFactory(challenge=need)
        Bid.objects.filter(pk=b.pk).update(state=Bid.State.REVIEWING, review_score=Decimal(70))
    with CaptureQueriesContext(connection) as many:
        page = body(client.get(url))
    assert bids[0].title in page
    assert len(many) == len(few)


def test_award_refuses_more_than_max_winners(client, poster, need):
    bids = under_review(need, n_bids=2, max_winners=1)
    client.force_login(poster)
    page = body(client.get(reverse("challenges:need_award", args=[need.pk])))
    assert "单一揭榜" in page and bids[0].number in page and bids[1].number in page
    response = client.post(reverse("challenges:need_award", args=[need.pk]), {"bids": [b.pk for b in bids]})
    assert response.status_code == 200
    assert "本榜单最多入选1个团队，您选择了2个。" in body(response)
    need.refresh_from_db()
    assert need.state == "reviewing" and not Project.objects.exists()


def test_award_in_race_creates_projects_linked_from_the_need_and_the_bid(client, poster, need):
    bids = under_review(need, n_bids=3, max_winners=2)
    for b in bids:
        Bid.objects.filter(pk=b.pk).update(amount=Decimal("1500000.00"))
        b.milestones.update(amount=Decimal("750000.00"))
    client.force_login(poster)
    assert "赛马制" in body(client.get(reverse("challenges:need_award", args=[need.pk])))
    response = client.post(reverse("challenges:need_award", args=[need.pk]),
                           {"bids": [bids[0].pk, bids[1].pk], "opinion": "两队并行。"})
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.state == "awarded"
    projects = list(Project.objects.filter(challenge=need).order_by("number"))
    assert len(projects) == 2
    assert set(Bid.objects.filter(challenge=need).values_list("state", flat=True)) == {"won", "lost"}
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    for p in projects:
        assert reverse("challenges:project", args=[p.pk]) in page
    # the winner sees the link to its project
    winner = bids[0].created_by
    client.force_login(winner)
    page = body(client.get(reverse("challenges:bid_detail", args=[bids[0].pk])))
    assert reverse("challenges:project", args=[bids[0].project.pk]) in page
    # awarding twice is refused with a message
    client.force_login(poster)
    response = client.get(reverse("challenges:need_award", args=[need.pk]))
    assert response.status_code == 302 and any("不能确认揭榜结果" in m for m in messages_of(response))


def test_award_without_a_choice_is_refused(client, poster, need):
    under_review(need, n_bids=1)
    client.force_login(poster)
    response = client.post(reverse("challenges:need_award", args=[need.pk]), {"opinion": "x"})
    assert "请至少选择一个入选方案" in body(response)
    assert not Project.objects.exists()


def test_poster_declares_failure_with_a_reason(client, poster, need):
    bids = under_review(need, n_bids=1)
    client.force_login(poster)
    response = client.post(reverse("challenges:need_fail", args=[need.pk]), {"reason": ""}, follow=True)
    assert "必须填写理由" in body(response)
    need.refresh_from_db()
    assert need.state == "reviewing"
    client.post(reverse("challenges:need_fail", args=[need.pk]), {"reason": "方案均未达到指标要求。"})
    need.refresh_from_db()
    assert need.state == "failed" and need.last_reason == "方案均未达到指标要求。"
    assert Bid.objects.get(pk=bids[0].pk).state == "void"
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "流标理由" in page and "方案均未达到指标要求。" in page


# ---- another organisation -----------------------------------------------------------------------------------


def test_another_organisation_gets_404_everywhere_and_changes_nothing(client, need, other_applicant):
    bids = under_review(need, n_bids=1)
    q = ChallengeQuestion.objects.create(challenge=need, asked_by=other_applicant,
                                         organization=other_applicant.organization, question="问题？")
    colleague = UserFactory(organization=other_applicant.organization, roles=["applicant"])
    client.force_login(colleague)
    gets = [reverse("challenges:need_detail", args=[need.pk]),
            reverse("challenges:need_edit", args=[need.pk, "basic"]),
            reverse("challenges:need_edit", args=[need.pk, "targets"]),
            reverse("challenges:need_award", args=[need.pk])]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = {
        reverse("challenges:need_edit", args=[need.pk, "basic"]): need_data(title="篡改"),
        reverse("challenges:need_edit", args=[need.pk, "targets"]): formset_data("targets", [
            {"name": "x", "target_value": "1"}]),
        reverse("challenges:need_submit", args=[need.pk]): {"accept_commitment": "on"},
        reverse("challenges:need_withdraw", args=[need.pk]): {"reason": "x"},
        reverse("challenges:need_award", args=[need.pk]): {"bids": [bids[0].pk]},
        reverse("challenges:need_fail", args=[need.pk]): {"reason": "x"},
        reverse("challenges:question_answer", args=[q.pk]): {f"q{q.pk}-answer": "篡改"},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
    need.refresh_from_db()
    q.refresh_from_db()
    assert need.state == "reviewing" and need.title != "篡改"
    assert ChallengeTarget.objects.filter(challenge=need).count() == 2
    assert q.state == "open" and Bid.objects.get(pk=bids[0].pk).state == "reviewing"
    assert not Project.objects.exists()


def test_enterprise_navigation_and_dashboard_link_the_challenge_pages(client, applicant, officer):
    client.force_login(applicant)
    page = body(client.get(reverse("portal:dashboard")))
    for name in ("challenges:needs", "challenges:bids", "jiebang:list"):
        assert page.count(f'href="{reverse(name)}"') == 2, name  # the menu and the dashboard card
    client.force_login(officer)  # not an enterprise user: no enterprise entries
    assert f'href="{reverse("challenges:needs")}"' not in body(client.get(reverse("portal:review_queue")))

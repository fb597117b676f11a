"""The bidder's pages (揭榜方): 我要揭榜, the four-step plan, submitting with the 军令状, withdrawing, the result;
another organisation (another bidder or the poster) never sees or changes a bid."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory, make_credit_code
from projects.models import Bid, BidMilestone, BidPartner, Challenge
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def edit_url(bid, step):
    return reverse("challenges:bid_edit", args=[bid.pk, step])


def detail_url(bid):
    return reverse("challenges:bid_detail", args=[bid.pk])


def formset_data(prefix, rows, initial=0, **extra):
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000", "action": "save", **extra}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def plan_data(bid, **overrides):
    data = {f: getattr(bid, f) for f in ("title", "plan", "foundation", "discipline_code", "keywords", "leader_name",
                                         "leader_id_number", "leader_title", "leader_phone")}
    data.update({"amount": str(bid.amount), "action": "save"})
    data.update(overrides)
    return data


def milestone_rows(bid, amounts):
    start = timezone.localdate(bid.challenge.bid_deadline)
    return [{"title": f"阶段{i + 1}", "targets": f"指标{i + 1}", "due_date": (start + datetime.timedelta(days=120 * (i + 1))
                                                                        ).isoformat(), "amount": a}
            for i, a in enumerate(amounts)]


@pytest.fixture
def challenge():
    return publish(ChallengeFactory())


@pytest.fixture
def bid(challenge):
    return BidFactory(challenge=challenge)


@pytest.fixture
def bidder(bid):
    return bid.created_by


# ---- list ---------------------------------------------------------------------------------------------------


def test_bid_list_shows_own_bids_in_fixed_queries(client, bid, bidder, django_assert_max_num_queries):
    BidFactory(challenge=bid.challenge, title="别家的方案")
    client.force_login(bidder)
    url = reverse("challenges:bids")
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    page = body(response)
    assert bid.title in page and "别家的方案" not in page
    assert "badge kj-state kj-state-draft" in page and "2,400,000.00" in page and bid.challenge.title in page
    for _ in range(5):
        BidFactory(challenge=publish(ChallengeFactory()), organization=bid.organization, created_by=bidder)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert body(response).count("kj-state-draft") == 6
    assert len(many) == len(few)
    with django_assert_max_num_queries(len(few)):
        client.get(url)


# ---- 我要揭榜 -----------------------------------------------------------------------------------------------


def test_create_bid_then_the_existing_one_is_reused(client, challenge, applicant):
    client.force_login(applicant)
    response = client.post(reverse("challenges:bid_create", args=[challenge.pk]))
    bid = Bid.objects.get(organization=applicant.organization)
    assert response["Location"] == edit_url(bid, "plan")
    assert bid.state == "draft" and bid.title == challenge.title
    response = client.post(reverse("challenges:bid_create", args=[challenge.pk]))
    assert response["Location"] == edit_url(bid, "plan")
    assert any("请在原方案上继续" in m for m in messages_of(response))
    assert Bid.objects.count() == 1
    assert client.get(reverse("challenges:bid_create", args=[challenge.pk])).status_code == 405


def test_poster_cannot_bid_on_its_own_challenge(client, challenge):
    poster = challenge.created_by
    client.force_login(poster)
    response = client.post(reverse("challenges:bid_create", args=[challenge.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("jiebang:detail", args=[challenge.pk])
    assert "发榜单位不能揭自己发布的榜。" in messages_of(response)
    assert not Bid.objects.exists()


def test_unpublished_challenge_is_404_for_bid_create(client, applicant):
    need = ChallengeFactory()
    client.force_login(applicant)
    assert client.post(reverse("challenges:bid_create", args=[need.pk])).status_code == 404
    assert not Bid.objects.exists()


# ---- the steps ----------------------------------------------------------------------------------------------


def test_steps_render_and_save(client, bid, bidder):
    client.force_login(bidder)
    for step in ("plan", "team", "partners", "milestones"):
        response = client.get(edit_url(bid, step))
        assert response.status_code == 200, step
    assert "3,000,000.00" in body(client.get(edit_url(bid, "plan")))  # the bounty is shown
    client.post(edit_url(bid, "plan"), plan_data(bid, title="改进的方案", amount="2000000"))
    bid.refresh_from_db()
    assert bid.title == "改进的方案" and bid.amount == Decimal("2000000.00")
    client.post(edit_url(bid, "team"), formset_data("team", [
        {"name": "钱工", "id_number": "", "organization_name": "揭榜研究院", "title": "高工", "role": "控制器"}]))
    assert list(bid.members.values_list("name", flat=True)) == ["钱工"]
    code = make_credit_code(region="330000")
    client.post(edit_url(bid, "partners"), formset_data("partners", [
        {"name": "浙江某大学", "credit_code": code, "kind": "university", "role": "电机设计"}]))
    assert list(BidPartner.objects.filter(bid=bid).values_list("name", "kind")) == [("浙江某大学", "university")]


def test_invalid_partner_code_is_refused_and_changes_nothing(client, bid, bidder):
    client.force_login(bidder)
    response = client.post(edit_url(bid, "partners"), formset_data("partners", [
        {"name": "某公司", "credit_code": "123", "kind": "enterprise", "role": ""}]))
    assert response.status_code == 200
    assert "统一社会信用代码无效" in body(response)
    assert not BidPartner.objects.filter(bid=bid).exists()


def test_milestones_not_adding_up_are_refused_on_submit(client, bid, bidder):
    client.force_login(bidder)
    response = client.post(edit_url(bid, "milestones"), formset_data(
        "milestones", milestone_rows(bid, ["1000000", "1000000"])), follow=True)
    assert BidMilestone.objects.filter(bid=bid).count() == 2
    page = body(response)
    assert "已保存的里程碑金额合计 2,000,000.00 元，揭榜金额 2,400,000.00 元" in page and "相差 400,000.00 元" in page
    response = client.post(reverse("challenges:bid_submit", args=[bid.pk]), {"accept_commitment": "on"}, follow=True)
    assert "各里程碑金额合计 2000000.00 元，须等于揭榜金额 2400000.00 元。" in body(response)
    bid.refresh_from_db()
    assert bid.state == "draft" and bid.number is None


def test_bid_above_the_bounty_is_refused_on_submit(client, bid, bidder):
    client.force_login(bidder)
    client.post(edit_url(bid, "plan"), plan_data(bid, amount="3500000"))
    client.post(edit_url(bid, "milestones"), formset_data("milestones", milestone_rows(bid, ["1750000", "1750000"])))
    page = body(client.get(detail_url(bid)))
    assert "揭榜金额 3500000.00 元超过悬赏金额 3000000.00 元。" in page  # shown before submitting
    response = client.post(reverse("challenges:bid_submit", args=[bid.pk]), {"accept_commitment": "on"}, follow=True)
    assert "揭榜金额 3500000.00 元超过悬赏金额 3000000.00 元。" in messages_of(response)
    bid.refresh_from_db()
    assert bid.state == "draft"


def test_submit_needs_the_commitment_then_editing_is_refused(client, bid, bidder):
    client.force_login(bidder)
    page = body(client.get(detail_url(bid)))
    assert "揭榜军令状" in page and "提交检查已通过" in page and "峰值功率密度" in page  # the challenge's targets
    response = client.post(reverse("challenges:bid_submit", args=[bid.pk]), {}, follow=True)
    assert "请阅读并签署揭榜军令状。" in body(response)
    bid.refresh_from_db()
    assert bid.state == "draft"
    response = client.post(reverse("challenges:bid_submit", args=[bid.pk]), {"accept_commitment": "on"}, follow=True)
    bid.refresh_from_db()
    assert bid.state == "submitted" and bid.number in body(response)
    title = bid.title
    for step in ("plan", "milestones"):
        response = client.get(edit_url(bid, step))
        assert response.status_code == 302 and response["Location"] == detail_url(bid)
        assert any("不能修改" in m for m in messages_of(response))
    response = client.post(edit_url(bid, "plan"), plan_data(bid, title="提交后偷改"))
    assert any("不能修改" in m for m in messages_of(response))
    bid.refresh_from_db()
    assert bid.title == title


def test_withdraw_then_bid_again(client, bid, bidder):
    client.force_login(bidder)
    client.post(reverse("challenges:bid_withdraw", args=[bid.pk]), {"reason": "团队调整"})
    bid.refresh_from_db()
    assert bid.state == "withdrawn"
    page = body(client.get(detail_url(bid)))
    assert "本方案已撤回" in page
    response = client.post(reverse("challenges:bid_withdraw", args=[bid.pk]), {}, follow=True)
    assert response.status_code == 200 and messages_of(response)  # refused with a message
    response = client.post(reverse("challenges:bid_create", args=[bid.challenge_id]))
    assert Bid.objects.filter(organization=bid.organization).count() == 2
    assert response["Location"] == edit_url(Bid.objects.exclude(pk=bid.pk).get(), "plan")


def test_bid_detail_runs_a_fixed_number_of_queries(client, bid, bidder):
    client.force_login(bidder)
    with CaptureQueriesContext(connection) as few:
        assert client.get(detail_url(bid)).status_code == 200
    client.post(edit_url(bid, "team"), formset_data("team", [
        {"name": f"成员{i}", "organization_name": "院"} for i in range(5)]))
    client.post(edit_url(bid, "milestones"), formset_data(
        "milestones", milestone_rows(bid, ["400000"] * 6)))
    with CaptureQueriesContext(connection) as many:
        assert "成员4" in body(client.get(detail_url(bid)))
    assert len(many) == len(few)


# ---- another organisation -----------------------------------------------------------------------------------


def test_another_bidder_gets_404_everywhere_and_changes_nothing(client, bid, other_applicant):
    rival = BidFactory(challenge=bid.challenge, title="对手方案")
    client.force_login(rival.created_by)
    gets = [detail_url(bid)] + [edit_url(bid, s) for s in ("plan", "team", "partners", "milestones")]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = {
        edit_url(bid, "plan"): plan_data(bid, title="篡改"),
        edit_url(bid, "team"): formset_data("team", [{"name": "间谍", "organization_name": "x"}]),
        edit_url(bid, "partners"): formset_data("partners", [
            {"name": "x", "credit_code": make_credit_code(), "kind": "enterprise"}]),
        edit_url(bid, "milestones"): formset_data("milestones", milestone_rows(bid, ["1"])),
        reverse("challenges:bid_submit", args=[bid.pk]): {"accept_commitment": "on"},
        reverse("challenges:bid_withdraw", args=[bid.pk]): {},
    }
    for url, data in posts.items():
        assert client.post(url, data).status_code == 404, url
    # the rival's own list never shows the other plan
    assert bid.title not in body(client.get(reverse("challenges:bids")))
    bid.refresh_from_db()
    assert bid.state == "draft" and bid.title != "篡改"
    assert not bid.members.exists() and not bid.partners.exists() and bid.milestones.count() == 2


def test_the_poster_cannot_open_a_bid_from_the_bidder_pages(client, bid):
    poster = bid.challenge.created_by
    client.force_login(poster)
    assert client.get(detail_url(bid)).status_code == 404
    assert client.post(reverse("challenges:bid_withdraw", args=[bid.pk])).status_code == 404
    assert bid.title not in body(client.get(reverse("challenges:bids")))


def test_a_colleague_of_the_same_organisation_sees_the_bid(client, bid):
    colleague = UserFactory(organization=bid.organization, roles=["applicant"])
    client.force_login(colleague)
    assert client.get(detail_url(bid)).status_code == 200


def test_non_portal_users_get_404(client, officer, bid):
    client.force_login(officer)
    assert client.get(reverse("challenges:bids")).status_code == 404
    assert client.get(detail_url(bid)).status_code == 404
    assert client.post(reverse("challenges:bid_create", args=[bid.challenge_id])).status_code == 404
    assert Bid.objects.count() == 1
    assert Challenge.objects.get(pk=bid.challenge_id).state == "published"

"""The public 榜单 (projects.challenges.views.public): what anybody may read, who may ask and who may bid."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects.challenges import services as jb
from projects.models import Challenge, ChallengeQuestion
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db

LIST = reverse("jiebang:list")


def body(response) -> str:
    return response.content.decode()


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def detail(c) -> str:
    return reverse("jiebang:detail", args=[c.pk])


def in_state(state, **kwargs):
    c = publish(ChallengeFactory(**kwargs))
    Challenge.objects.filter(pk=c.pk).update(state=state)
    c.refresh_from_db()
    return c


# ---- the list ------------------------------------------------------------------------------------------------


def test_list_shows_only_published_challenges(client):
    shown = {s: in_state(s, title=f"公开榜单{s}") for s in Challenge.PUBLIC_STATES}
    draft = ChallengeFactory(title="草稿需求甲")
    submitted = ChallengeFactory(title="已提交需求乙")
    jb.submit_challenge(actor=submitted.created_by, challenge_id=submitted.pk, accept_commitment=True)
    hidden = [draft, submitted]
    for s in ("vetting", "rejected"):
        c = ChallengeFactory(title=f"不公开需求{s}")
        Challenge.objects.filter(pk=c.pk).update(state=s)
        hidden.append(c)
    response = client.get(LIST)
    assert response.status_code == 200
    text = body(response)
    for c in shown.values():
        assert c.title in text
    for c in hidden:
        assert c.title not in text


def test_list_filters_by_field_and_status(client):
    energy = publish(ChallengeFactory(title="储能电池热失控预警", field="energy"))
    manuf = publish(ChallengeFactory(title="高精度减速器", field="manufacturing"))
    failed = in_state("failed", title="流标的新材料榜单", field="materials")

    text = body(client.get(LIST, {"field": "energy"}))
    assert energy.title in text and manuf.title not in text and failed.title not in text

    text = body(client.get(LIST, {"status": "failed"}))
    assert failed.title in text and energy.title not in text and manuf.title not in text

    text = body(client.get(LIST, {"q": "减速器"}))
    assert manuf.title in text and energy.title not in text

    # a status outside the 榜单 (a draft) is not a filter anybody can use to see drafts
    ChallengeFactory(title="某草稿需求")
    response = client.get(LIST, {"status": "draft"})
    assert response.status_code == 200 and "某草稿需求" not in body(response)


def test_card_shows_bounty_in_wan_deadline_race_badge_and_targets(client):
    c = publish(ChallengeFactory(title="赛马榜单"), max_winners=3,
                deadline=timezone.now() + datetime.timedelta(days=10, hours=1))
    text = body(client.get(LIST))
    assert "300.00" in text  # 3,000,000 元 = 300.00 万元
    assert "赛马制" in text and 'data-testid="race-badge"' in text
    assert "峰值功率密度" in text and "≥4.5" in text
    assert "剩余 11 天" in text
    assert c.organization.name in text


def test_list_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for _ in range(2):
        publish(ChallengeFactory())
    with django_assert_max_num_queries(4) as few:
        client.get(LIST)
    for _ in range(10):
        publish(ChallengeFactory(), max_winners=2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert len(response.context["challenges"]) == 12


# ---- the detail ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["draft", "submitted", "vetting", "rejected", "cancelled"])
def test_unpublished_need_is_404(client, applicant, state):
    if state == "cancelled":  # a 榜单 withdrawn by the bureau
        c = in_state(state)
    else:
        c = ChallengeFactory()
        Challenge.objects.filter(pk=c.pk).update(state=state)
    assert client.get(detail(c)).status_code == 404
    client.force_login(applicant)
    assert client.get(detail(c)).status_code == 404


def test_detail_shows_the_challenge_and_never_a_bid(client):
    c = publish(ChallengeFactory(), max_winners=2)
    bid = BidFactory(challenge=c, title="机密揭榜方案标题")
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    text = body(client.get(detail(c)))
    assert c.title in text and c.problem in text and c.expected_outcome in text
    assert "第三方检测报告" in text  # the verification column of the targets
    assert "200.00" in text and "100.00" in text  # enterprise 200 万, government 100 万
    assert "赛马制" in text and "揭榜挂帅项目" in text  # the programme
    assert "机密揭榜方案标题" not in text and bid.organization.name not in text


def test_answered_questions_shown_without_the_asker_open_ones_only_to_the_asker(
        client, applicant, other_applicant, officer):
    c = publish(ChallengeFactory())
    asked = jb.ask_question(actor=applicant, challenge_id=c.pk, question="样机是否需要装车验证？")
    jb.answer_question(actor=officer, question_id=asked.pk, answer="需要在样车上验证。")
    pending = jb.ask_question(actor=applicant, challenge_id=c.pk, question="能否使用进口芯片？")

    text = body(client.get(detail(c)))  # anonymous
    assert "样机是否需要装车验证？" in text and "需要在样车上验证。" in text
    assert applicant.organization.name not in text and applicant.real_name not in text
    assert "能否使用进口芯片？" not in text

    client.force_login(other_applicant)
    text = body(client.get(detail(c)))
    assert "需要在样车上验证。" in text and "能否使用进口芯片？" not in text

    client.force_login(applicant)
    text = body(client.get(detail(c)))
    assert "能否使用进口芯片？" in text and "待答复" in text
    assert ChallengeQuestion.objects.get(pk=pending.pk).state == "open"


def test_anonymous_cannot_ask(client):
    c = publish(ChallengeFactory())
    text = body(client.get(detail(c)))
    assert 'data-testid="ask-login"' in text and 'data-testid="ask-form"' not in text
    response = client.post(reverse("jiebang:ask", args=[c.pk]), {"question": "匿名提问"})
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert not ChallengeQuestion.objects.exists()


def test_org_user_asks_and_poster_or_closed_challenge_is_refused(client, applicant):
    c = publish(ChallengeFactory())
    client.force_login(applicant)
    assert 'data-testid="ask-form"' in body(client.get(detail(c)))
    response = client.post(reverse("jiebang:ask", args=[c.pk]), {"question": "指标如何检测？"})
    assert response.status_code == 302
    q = ChallengeQuestion.objects.get()
    assert q.organization == applicant.organization and q.question == "指标如何检测？"

    # an empty question changes nothing
    response = client.post(reverse("jiebang:ask", args=[c.pk]), {"question": "  "}, follow=True)
    assert ChallengeQuestion.objects.count() == 1 and "请填写问题。" in body(response)

    # the poster may not ask on its own challenge
    client.force_login(c.created_by)
    assert 'data-testid="ask-form"' not in body(client.get(detail(c)))
    response = client.post(reverse("jiebang:ask", args=[c.pk]), {"question": "自问自答"}, follow=True)
    assert "发榜单位不能对自己的榜单提问。" in body(response)
    assert ChallengeQuestion.objects.count() == 1

    # after the deadline: no form, and a POST is refused
    Challenge.objects.filter(pk=c.pk).update(state="closed")
    client.force_login(applicant)
    assert 'data-testid="ask-form"' not in body(client.get(detail(c)))
    response = client.post(reverse("jiebang:ask", args=[c.pk]), {"question": "还能问吗？"}, follow=True)
    assert "榜单不在揭榜期内，不能提问。" in body(response)
    assert ChallengeQuestion.objects.count() == 1


def test_bid_button_for_other_organisations_and_link_to_own_bid(client, applicant, expert_user):
    c = publish(ChallengeFactory())
    bid_create = reverse("challenges:bid_create", args=[c.pk])

    text = body(client.get(detail(c)))
    assert bid_create not in text and "登录后揭榜" in text

    client.force_login(applicant)
    text = body(client.get(detail(c)))
    assert 'data-testid="bid-form"' in text and bid_create in text

    bid = BidFactory(challenge=c, organization=applicant.organization, created_by=applicant)
    text = body(client.get(detail(c)))
    assert bid_create not in text and reverse("challenges:bid_detail", args=[bid.pk]) in text

    # the poster's own users and an expert get no button
    for user in (c.created_by, expert_user):
        client.force_login(user)
        assert bid_create not in body(client.get(detail(c)))

    # after the deadline nobody gets it
    other = UserFactory(roles=["applicant"])
    Challenge.objects.filter(pk=c.pk).update(state="closed")
    client.force_login(other)
    assert bid_create not in body(client.get(detail(c)))


def test_detail_runs_a_fixed_number_of_queries(client, applicant, officer, django_assert_max_num_queries):
    c = publish(ChallengeFactory())
    client.force_login(applicant)
    q = jb.ask_question(actor=applicant, challenge_id=c.pk, question="问题0")
    jb.answer_question(actor=officer, question_id=q.pk, answer="答复0")
    with django_assert_max_num_queries(12) as few:
        client.get(detail(c))
    for i in range(1, 8):
        q = jb.ask_question(actor=applicant, challenge_id=c.pk, question=f"问题{i}")
        jb.answer_question(actor=officer, question_id=q.pk, answer=f"答复{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(detail(c))
    assert len(response.context["questions"]) == 8

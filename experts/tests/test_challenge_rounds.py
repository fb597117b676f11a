"""揭榜挂帅 review rounds through the pages: the officer creates a need / bid / milestone round from a challenge,
the expert reads the material of the kind (blind rounds hide who is behind it), and the 立项清单 stays with
application rounds."""

import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.exceptions import InvalidInput
from accounts.tests.factories import make_credit_code
from experts.models import Assignment, ReviewItem, ReviewRound
from experts.services import assign, funding, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

from .factories import ExpertFactory

pytestmark = pytest.mark.django_db

ALL = [code for code, _label in COMMITMENT_ITEMS]
CREATE = reverse("experts:round_create")


def body(response) -> str:
    return response.content.decode()


def reviewing_challenge(officer, *, teams=2):
    """A closed challenge whose bids are under review: the first bid is a consortium with a named team."""
    challenge = publish(ChallengeFactory())
    bids = []
    for i in range(teams):
        draft = BidFactory(challenge=challenge, plan=f"方案{i}：油冷定子与碳纤维转子护套。", foundation=f"基础{i}：两代样机。")
        if i == 0:
            jb.set_bid_partners(actor=draft.created_by, bid_id=draft.pk, partners=[
                {"name": "浙江联合大学", "credit_code": make_credit_code(region="330000"), "kind": "university",
                 "role": "电机设计"}])
            jb.set_bid_members(actor=draft.created_by, bid_id=draft.pk, members=[
                {"name": "钱攻关", "id_number": "", "organization_name": "揭榜研究院", "title": "高级工程师",
                 "role": "热管理"}])
        jb.submit_bid(actor=draft.created_by, bid_id=draft.pk, accept_commitment=True)
        bids.append(Bid.objects.get(pk=draft.pk))
    # a draft of a third organisation is voided at the close and never reviewed
    BidFactory(challenge=challenge)
    Challenge.objects.filter(pk=challenge.pk).update(bid_deadline=timezone.now() - datetime.timedelta(hours=1))
    jb.close_challenge(actor=officer, challenge_id=challenge.pk)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    return Challenge.objects.get(pk=challenge.pk), bids


@pytest.fixture
def pool():
    return [ExpertFactory(discipline_codes=["580.20"]) for _ in range(8)]


def started_round(officer, challenge, kind, *, blind=True):
    rnd = rounds.create_round(actor=officer, challenge_id=challenge.pk, kind=kind,
                              data={"experts_per_item": 3, "blind": blind})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assert not assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7).shortfall
    return rnd


def accepted(rnd, subject_id):
    a = Assignment.objects.filter(round=rnd, item__subject_id=subject_id).select_related("expert__user").first()
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.9")
    return a


def review_url(a):
    return reverse("experts:review", args=[a.pk])


# ---- creating the round --------------------------------------------------------------------------------------


def test_officer_creates_a_bid_round_from_a_challenge_under_review(client, officer, pool):
    challenge, bids = reviewing_challenge(officer)
    client.force_login(officer)
    r = client.get(CREATE, {"challenge": challenge.pk, "kind": "bid"})
    assert r.status_code == 200
    html = body(r)
    assert challenge.title in html and 'name="kind"' in html
    assert "技术方案先进性与可行性" in html  # the bid rubric, not the application one

    form = r.context["form"]
    data = {"kind": "bid", "challenge": challenge.pk, "name": "", "experts_per_item": 3,
            "response_deadline": form.initial["response_deadline"].strftime("%Y-%m-%dT%H:%M"),
            "review_deadline": form.initial["review_deadline"].strftime("%Y-%m-%dT%H:%M"),
            "blind": "on", "aggregation": "trimmed_mean", "dispersion_threshold": "10", "deviation_threshold": "20",
            "comment_threshold": "60", "criteria-TOTAL_FORMS": 1, "criteria-INITIAL_FORMS": 0,
            "criteria-0-name": "技术方案", "criteria-0-description": "", "criteria-0-max_score": "100"}
    r = client.post(CREATE, data)
    assert r.status_code == 302, r.context["form"].errors if r.context else r
    rnd = ReviewRound.objects.get()
    assert (rnd.kind, rnd.challenge_id, rnd.call_id) == ("bid", challenge.pk, None)

    r = client.post(reverse("experts:round_add_items", args=[rnd.pk]), follow=True)
    assert sorted(ReviewItem.objects.filter(round=rnd).values_list("subject_id", flat=True)) == sorted(
        b.pk for b in bids)
    html = body(r)
    assert 'data-testid="round-challenge"' in html and challenge.title in html
    assert 'data-testid="funding-list-link"' not in html
    # the list of rounds names the challenge too
    assert challenge.title in body(client.get(reverse("experts:round_list")))


def test_round_creation_refuses_a_challenge_in_the_wrong_state(client, officer):
    challenge = publish(ChallengeFactory())  # still 揭榜中, not under review
    client.force_login(officer)
    r = client.get(CREATE, {"challenge": challenge.pk, "kind": "bid"})
    form = r.context["form"]
    data = {"kind": "bid", "challenge": challenge.pk, "experts_per_item": 3,
            "response_deadline": form.initial["response_deadline"].strftime("%Y-%m-%dT%H:%M"),
            "review_deadline": form.initial["review_deadline"].strftime("%Y-%m-%dT%H:%M"),
            "aggregation": "mean", "dispersion_threshold": "10", "deviation_threshold": "20",
            "comment_threshold": "60", "criteria-TOTAL_FORMS": 1, "criteria-INITIAL_FORMS": 0,
            "criteria-0-name": "技术方案", "criteria-0-description": "", "criteria-0-max_score": "100"}
    r = client.post(CREATE, data)
    assert r.status_code == 200
    assert "“揭榜方案评审”须在榜单处于“评审中”时组织，当前为“揭榜中”。" in body(r)
    assert not ReviewRound.objects.exists()


def test_round_creation_page_refuses_an_unknown_kind(client, officer):
    client.force_login(officer)
    assert client.get(CREATE, {"kind": "nonsense"}).status_code == 404


# ---- the expert's review page --------------------------------------------------------------------------------


def test_expert_sees_the_bid_but_not_who_is_behind_it_in_a_blind_round(client, officer, pool):
    challenge, bids = reviewing_challenge(officer)
    rnd = started_round(officer, challenge, "bid", blind=True)
    bid = bids[0]
    a = accepted(rnd, bid.pk)
    client.force_login(a.expert.user)
    r = client.get(review_url(a))
    assert r.status_code == 200
    html = body(r)
    assert "方案0：油冷定子与碳纤维转子护套。" in html and "基础0：两代样机。" in html
    assert "样机设计与台架验证" in html and "装车验证与定型" in html  # the bid's milestones
    assert "峰值功率密度" in html  # the challenge's targets
    assert "2,400,000.00" in html  # the amount
    for hidden in (bid.organization.name, bid.leader_name, "钱攻关", "浙江联合大学"):
        assert hidden not in html
    assert 'data-testid="review-form"' in html


def test_expert_sees_the_team_in_an_open_round(client, officer, pool):
    challenge, bids = reviewing_challenge(officer)
    rnd = started_round(officer, challenge, "bid", blind=False)
    bid = bids[0]
    a = accepted(rnd, bid.pk)
    client.force_login(a.expert.user)
    html = body(client.get(review_url(a)))
    for shown in (bid.organization.name, bid.leader_name, "钱攻关", "浙江联合大学"):
        assert shown in html


def test_an_expert_not_assigned_gets_404(client, officer, pool):
    challenge, bids = reviewing_challenge(officer)
    rnd = started_round(officer, challenge, "bid")
    a = accepted(rnd, bids[0].pk)
    others = [e for e in pool if not Assignment.objects.filter(round=rnd, expert=e, item=a.item).exists()]
    client.force_login(others[0].user)
    assert client.get(review_url(a)).status_code == 404
    assert client.post(review_url(a), {"action": "submit"}).status_code == 404
    # nor before accepting: an invitation still open shows no material
    pending = Assignment.objects.filter(round=rnd, state="invited").select_related("expert__user").first()
    client.force_login(pending.expert.user)
    assert client.get(review_url(pending)).status_code == 404


@pytest.mark.parametrize("members", [1, 12])
def test_bid_review_page_query_count_is_fixed(client, officer, pool, django_assert_max_num_queries, members):
    challenge, bids = reviewing_challenge(officer)
    bid = bids[0]
    Bid.objects.filter(pk=bid.pk).update(state="draft")
    jb.set_bid_members(actor=bid.created_by, bid_id=bid.pk, members=[
        {"name": f"成员{i}", "organization_name": "揭榜研究院", "title": "工程师", "role": "试验"}
        for i in range(members)])
    Bid.objects.filter(pk=bid.pk).update(state="reviewing")
    rnd = started_round(officer, challenge, "bid", blind=False)
    a = accepted(rnd, bid.pk)
    client.force_login(a.expert.user)
    with django_assert_max_num_queries(12):
        assert client.get(review_url(a)).status_code == 200


def test_need_round_hides_the_poster_when_blind(client, officer, pool):
    need = ChallengeFactory()
    jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)
    jb.start_vetting(actor=officer, challenge_id=need.pk)
    rnd = started_round(officer, need, "need", blind=True)
    a = accepted(rnd, need.pk)
    client.force_login(a.expert.user)
    html = body(client.get(review_url(a)))
    assert "现有轮毂电机功率密度低、散热差" in html and "峰值功率密度" in html
    assert "3,000,000.00" in html and "24 个月" in html
    assert need.organization.name not in html and "周联络" not in html
    # the invitation page works for the kind too
    assert need.title in body(client.get(reverse("experts:invitation", args=[a.pk])))


def test_milestone_round_shows_the_report_and_the_targets(client, officer, pool):
    challenge, bids = reviewing_challenge(officer, teams=1)
    Bid.objects.filter(pk=bids[0].pk).update(review_score=Decimal("80.00"))
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bids[0].pk])
    m1 = project.milestones.get(position=1)
    jb.report_milestone(actor=project.bid.created_by, milestone_id=m1.pk, report="台架测试功率密度 4.1 kW/kg。")
    rnd = started_round(officer, Challenge.objects.get(pk=challenge.pk), "milestone", blind=True)
    a = accepted(rnd, m1.pk)
    client.force_login(a.expert.user)
    html = body(client.get(review_url(a)))
    assert "台架测试功率密度 4.1 kW/kg。" in html and "功率密度≥4.0kW/kg" in html and "峰值功率密度" in html
    assert project.organization.name not in html


# ---- closing, and the 立项清单 ---------------------------------------------------------------------------------


def test_a_closed_bid_round_writes_the_review_score_and_has_no_funding_list(client, officer, pool):
    challenge, bids = reviewing_challenge(officer)
    rnd = started_round(officer, challenge, "bid")
    for a in Assignment.objects.filter(round=rnd).select_related("round", "expert__user", "item"):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.9")
        pct = 90 if a.item.subject_id == bids[0].pk else 70
        scores = {str(c.pk): (c.max_score * pct / 100).quantize(Decimal("0.1")) for c in rnd.criteria.all()}
        reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, scores=scores, comment="",
                              recommendation="fund")
    rounds.close_round(actor=officer, round_id=rnd.pk)
    assert [Bid.objects.get(pk=b.pk).review_score for b in bids] == [Decimal("90.00"), Decimal("70.00")]
    assert ProjectMilestone.objects.count() == 0

    with pytest.raises(InvalidInput) as e:
        funding.build_funding_list(actor=officer, round_id=rnd.pk)
    assert "立项清单只适用于申报书评审" in e.value.messages[0]

    client.force_login(officer)
    r = client.post(reverse("experts:funding_build", args=[rnd.pk]), {"cutoff_score": "", "publicity_workdays": 5},
                    follow=True)
    assert "立项清单只适用于申报书评审" in body(r)
    # the ranking and its export name the challenge
    xlsx = client.get(reverse("experts:round_ranking_xlsx", args=[rnd.pk]))
    assert xlsx.status_code == 200
    cells = [c.value for row in load_workbook(BytesIO(xlsx.content)).active.iter_rows() for c in row]
    assert any(challenge.title in str(v) for v in cells if v)
    html = body(client.get(reverse("experts:round_ranking", args=[rnd.pk])))
    assert reverse("experts:funding_list", args=[rnd.pk]) not in html
    r = client.get(reverse("experts:funding_list", args=[rnd.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("experts:round_detail", args=[rnd.pk])


def test_the_expert_recommends_in_the_words_of_a_bid_round():
    from experts.forms_expert import ReviewForm
    from experts.models import Review

    labels = dict(ReviewForm(kind="bid").fields["recommendation"].choices)
    assert labels == {"fund": "建议入选", "revise": "可考虑入选", "reject": "不建议入选"}
    assert dict(ReviewForm().fields["recommendation"].choices)["fund"] == "同意立项"
    assert dict(Review.recommendation_choices("milestone"))["reject"] == "不同意通过"

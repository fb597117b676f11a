"""The bureau's review-round pages: who may see them, every POST action (done and refused), conflicts, ranking
and the 立项 list."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from experts.models import Assignment, Draw, FundingList, FundingListEntry, Objection, ReviewRound
from experts.services import assign, funding, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.models import Application, Project

from .factories import ExpertFactory, RoundFactory, accepted_application

ALL = [code for code, _label in COMMITMENT_ITEMS]
TZ = timezone.get_current_timezone()
R = ReviewRound.State


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(name, rnd, *args):
    return reverse(f"experts:{name}", args=[rnd.pk, *args])


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def make_round(officer, call, n_items=2, n_experts=4, start=True, **data):
    apps = [accepted_application(call) for _ in range(n_items)]
    experts = [ExpertFactory() for _ in range(n_experts)]
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3, **data})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    if start:
        rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd, apps, experts


def score_everything(rnd, totals_by_subject=None):
    """Every invited expert accepts and submits; ``totals_by_subject`` maps an application id to the five
    criterion scores (default 25/16/16/16/8 = 81)."""
    crit = list(rnd.criteria.all())
    for a in Assignment.objects.filter(round=rnd, state="invited").select_related("item", "expert__user"):
        user = a.expert.user
        reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL)
        values = (totals_by_subject or {}).get(a.item.subject_id, [25, 16, 16, 16, 8])
        reviews.submit_review(actor=user, assignment_id=a.pk, scores={str(c.pk): v for c, v in zip(crit, values,
                                                                                              strict=True)},
                              comment="意见", recommendation="fund")


@pytest.fixture
def reviewing(officer, open_call):
    rnd, apps, experts = make_round(officer, open_call)
    return rnd


@pytest.fixture
def scored(officer, open_call):
    """A closed round: two applications, three reviews each."""
    rnd, apps, experts = make_round(officer, open_call, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7)
    score_everything(rnd, {apps[0].pk: [28, 18, 18, 18, 9], apps[1].pk: [20, 15, 15, 15, 7]})
    rounds.close_round(actor=officer, round_id=rnd.pk)
    rnd.apps = apps
    return rnd


# ---- access ------------------------------------------------------------------------------------------


GET_PAGES = ["round_detail", "round_conflicts", "round_ranking", "funding_list"]
POST_ACTIONS = ["round_add_items", "round_start", "round_close", "round_draw", "funding_build", "funding_submit",
                "funding_sign_off", "funding_return", "funding_publish", "funding_approve"]


@pytest.mark.parametrize("who", ["applicant", "expert_user", "finance_user", "other_applicant"])
def test_other_roles_get_404_everywhere(client, request, reviewing, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("experts:round_list")).status_code == 404
    assert client.get(reverse("experts:round_create")).status_code == 404
    for name in [*GET_PAGES, "round_edit", "round_criteria"]:
        assert client.get(url(name, reviewing)).status_code == 404, name
    item = reviewing.items.first()
    assert client.get(url("round_item", reviewing, item.pk)).status_code == 404
    for name in POST_ACTIONS:
        assert client.post(url(name, reviewing), {"method": "random", "reason": "x"}).status_code == 404, name
    assert client.post(url("round_assign", reviewing, item.pk), {"expert": 1}).status_code == 404
    assert not Draw.objects.exists()
    reviewing.refresh_from_db()
    assert reviewing.state == R.REVIEWING


def test_an_invited_expert_gets_404_on_the_round(client, officer, reviewing):
    assign.run_draw(actor=officer, round_id=reviewing.pk, method="optimal")
    expert = Assignment.objects.filter(round=reviewing).first().expert
    client.force_login(expert.user)
    for name in GET_PAGES:
        assert client.get(url(name, reviewing)).status_code == 404


def test_anonymous_is_sent_to_login_and_changes_nothing(client, reviewing):
    for name in GET_PAGES:
        response = client.get(url(name, reviewing))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    response = client.post(url("round_draw", reviewing), {"method": "random"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))
    assert not Draw.objects.exists()


def test_unknown_round_is_404(client, officer):
    client.force_login(officer)
    assert client.get(reverse("experts:round_detail", args=[999999])).status_code == 404
    assert client.post(reverse("experts:round_start", args=[999999])).status_code == 404


def test_supervisor_views_but_cannot_run_the_round(client, supervisor, reviewing):
    client.force_login(supervisor)
    response = client.get(reverse("experts:round_list"))
    assert response.status_code == 200 and reviewing.name in response.content.decode()
    assert "新建评审轮次" not in response.content.decode()
    for name in GET_PAGES:
        assert client.get(url(name, reviewing)).status_code == 200, name
    detail = client.get(url("round_detail", reviewing)).content.decode()
    assert 'data-testid="draw-form"' not in detail
    assert client.post(url("round_draw", reviewing), {"method": "random"}).status_code == 404
    assert client.post(url("round_close", reviewing), {"force": "on", "reason": "x"}).status_code == 404
    assert client.get(reverse("experts:round_create")).status_code == 404
    assert not Draw.objects.exists()
    reviewing.refresh_from_db()
    assert reviewing.state == R.REVIEWING


# ---- list and create -------------------------------------------------------------------------------


def test_round_list_shows_rounds_with_counts(client, officer, reviewing, django_assert_max_num_queries):
    RoundFactory(created_by=officer)
    client.force_login(officer)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("experts:round_list"))
    body = response.content.decode()
    assert body.count('data-testid="round-row"') == 2
    assert reviewing.call.title in body and "新建评审轮次" in body


def _create_payload(call, criteria, **overrides):
    respond, review = rounds.default_deadlines()
    data = {
        "call": call.pk, "name": "2026年重点研发评审", "experts_per_item": 5,
        "response_deadline": timezone.localtime(respond).strftime("%Y-%m-%dT%H:%M"),
        "review_deadline": timezone.localtime(review).strftime("%Y-%m-%dT%H:%M"),
        "blind": "on", "aggregation": "trimmed_mean", "dispersion_threshold": "10", "deviation_threshold": "20",
        "comment_threshold": "60",
        "criteria-TOTAL_FORMS": str(len(criteria)), "criteria-INITIAL_FORMS": str(len(criteria)),
        "criteria-MIN_NUM_FORMS": "0", "criteria-MAX_NUM_FORMS": "30",
    }
    for i, (name, m) in enumerate(criteria):
        data[f"criteria-{i}-name"] = name
        data[f"criteria-{i}-description"] = ""
        data[f"criteria-{i}-max_score"] = str(m)
    data.update(overrides)
    return data


def test_create_form_prefills_the_default_rubric(client, officer, open_call):
    client.force_login(officer)
    body = client.get(reverse("experts:round_create")).content.decode()
    for name, _d, _m in rounds.DEFAULT_RUBRIC:
        assert str(name) in body
    assert open_call.title in body


def test_create_round(client, officer, open_call):
    client.force_login(officer)
    payload = _create_payload(open_call, [("创新性", 40), ("可行性", 40), ("效益", 20)])
    payload["criteria-3-name"] = ""  # a blank extra row is ignored
    payload["criteria-TOTAL_FORMS"] = "4"
    response = client.post(reverse("experts:round_create"), payload)
    rnd = ReviewRound.objects.get()
    assert response.status_code == 302 and response["Location"] == url("round_detail", rnd)
    assert rnd.name == "2026年重点研发评审" and rnd.experts_per_item == 5 and rnd.blind
    assert [(c.name, c.max_score) for c in rnd.criteria.all()] == [("创新性", 40), ("可行性", 40), ("效益", 20)]


def test_create_round_refused_when_the_rubric_is_not_100(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("experts:round_create"), _create_payload(open_call, [("创新性", 40), ("效益", 50)]))
    assert response.status_code == 200
    assert "评分指标满分合计须为100分，当前为90分" in response.content.decode()
    assert not ReviewRound.objects.exists()


def test_create_round_refuses_fewer_than_three_experts(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("experts:round_create"),
                           _create_payload(open_call, [("创新性", 100)], experts_per_item="2"))
    assert response.status_code == 200 and not ReviewRound.objects.exists()
    assert "is-invalid" in response.content.decode()


# ---- edit and rubric ---------------------------------------------------------------------------------


def test_edit_round_and_refusal_once_reviewing(client, officer, reviewing):
    client.force_login(officer)
    page = client.get(url("round_edit", reviewing)).content.decode()
    assert "disabled" in page  # experts per item etc. are fixed once reviewing
    later = timezone.localtime(reviewing.review_deadline + datetime.timedelta(days=2))
    base = {
        "name": "改名后的轮次",
        "response_deadline": timezone.localtime(reviewing.response_deadline).strftime("%Y-%m-%dT%H:%M"),
        "review_deadline": later.strftime("%Y-%m-%dT%H:%M"),
        "dispersion_threshold": "8", "deviation_threshold": "15",
    }
    response = client.post(url("round_edit", reviewing), base)
    assert response.status_code == 302
    reviewing.refresh_from_db()
    assert reviewing.name == "改名后的轮次" and reviewing.dispersion_threshold == Decimal("8")

    earlier = timezone.localtime(reviewing.review_deadline - datetime.timedelta(days=1))
    response = client.post(url("round_edit", reviewing), {**base, "review_deadline": earlier.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 200
    assert "截止时间只能延后" in response.content.decode()


def test_set_criteria_in_draft_and_refusal(client, officer, open_call):
    rnd = RoundFactory(call=open_call, created_by=officer)
    client.force_login(officer)
    payload = {"criteria-TOTAL_FORMS": "2", "criteria-INITIAL_FORMS": "2", "criteria-MIN_NUM_FORMS": "0",
               "criteria-MAX_NUM_FORMS": "30", "criteria-0-name": "创新", "criteria-0-max_score": "60",
               "criteria-1-name": "效益", "criteria-1-max_score": "30"}
    response = client.post(url("round_criteria", rnd), payload)
    assert response.status_code == 200 and "当前为90分" in response.content.decode()
    assert rnd.criteria.count() == 5
    payload["criteria-1-max_score"] = "40"
    response = client.post(url("round_criteria", rnd), payload)
    assert response.status_code == 302
    assert list(rnd.criteria.values_list("name", flat=True)) == ["创新", "效益"]


# ---- add items, start, close ------------------------------------------------------------------------


def test_add_items_and_start(client, officer, open_call):
    accepted_application(open_call)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    client.force_login(officer)
    response = client.post(url("round_start", rnd))
    assert "尚未加入评审对象" in " ".join(flash(response))
    rnd.refresh_from_db()
    assert rnd.state == R.DRAFT

    response = client.post(url("round_add_items", rnd))
    assert response["Location"] == url("round_detail", rnd)
    assert "已加入1项" in " ".join(flash(response))
    assert rnd.items.count() == 1
    response = client.post(url("round_start", rnd))
    assert "评审已开始" in " ".join(flash(response))
    rnd.refresh_from_db()
    assert rnd.state == R.REVIEWING


def test_add_items_refused_once_closed(client, officer, scored):
    client.force_login(officer)
    response = client.post(url("round_add_items", scored))
    assert "评审已结束，不能再加入评审对象。" in flash(response)


def test_close_needs_force_with_reason(client, officer, reviewing):
    client.force_login(officer)
    response = client.post(url("round_close", reviewing), {})
    assert "有2个评审对象提交的评审意见不足3份" in " ".join(flash(response))
    response = client.post(url("round_close", reviewing), {"force": "on"})
    assert "强制结束评审必须填写理由。" in flash(response)
    reviewing.refresh_from_db()
    assert reviewing.state == R.REVIEWING
    response = client.post(url("round_close", reviewing), {"force": "on", "reason": "专家不足，经处务会同意"})
    reviewing.refresh_from_db()
    assert reviewing.state == R.CLOSED


# ---- draws -----------------------------------------------------------------------------------------


def test_random_draw_with_a_seed_and_replay(client, officer, reviewing):
    client.force_login(officer)
    response = client.post(url("round_draw", reviewing), {"method": "random", "seed": "20261122"})
    draw = Draw.objects.get()
    assert draw.seed == 20261122 and draw.method == "random" and draw.created_by == officer
    assert Assignment.objects.filter(draw=draw).count() == 6
    assert "随机种子 20261122" in " ".join(flash(response))
    page = client.get(url("round_detail", reviewing)).content.decode()
    assert 'data-testid="draw-row"' in page and "20261122" in page and "陈处长" in page
    response = client.get(url("draw_verify", reviewing, draw.pk))
    assert any(m.startswith("复核一致") for m in flash(response))


def test_draw_without_a_seed_gets_one_for_one_panel(client, officer, open_call):
    rnd, apps, experts = make_round(officer, open_call, n_items=2, n_experts=6)
    panel = rnd.panels.get()
    client.force_login(officer)
    client.post(url("round_draw", rnd), {"method": "random", "seed": "", "panel": panel.pk})
    draw = Draw.objects.get()
    assert draw.seed is not None and draw.panel == panel


def test_draw_refused_when_everything_is_staffed(client, officer, reviewing):
    client.force_login(officer)
    client.post(url("round_draw", reviewing), {"method": "optimal"})
    assert Draw.objects.get().method == "optimal"
    response = client.post(url("round_draw", reviewing), {"method": "random"})
    assert "所选评审对象均已配齐专家，无需抽取。" in flash(response)
    assert Draw.objects.count() == 1


def test_draw_refused_in_draft(client, officer, open_call):
    rnd, _apps, _experts = make_round(officer, open_call, start=False)
    client.force_login(officer)
    response = client.post(url("round_draw", rnd), {"method": "random"})
    assert any("不能进行此操作" in m for m in flash(response))


@pytest.mark.parametrize("n_items", [2, 6])
def test_round_detail_shows_progress_with_expert_names(client, officer, open_call, n_items,
                                                       django_assert_max_num_queries):
    rnd, _apps, _experts = make_round(officer, open_call, n_items=n_items, n_experts=n_items * 2)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=3)
    client.force_login(officer)
    with django_assert_max_num_queries(16):
        response = client.get(url("round_detail", rnd))
    body = response.content.decode()
    assert body.count('data-testid="progress-row"') == n_items
    for a in Assignment.objects.filter(round=rnd).select_related("expert"):
        assert a.expert.name in body
    assert url("round_ranking", rnd) in body and url("funding_list", rnd) in body


# ---- manual assignment and reopening -------------------------------------------------------------------


def test_manual_assignment_refused_with_the_conflict_then_done(client, officer, reviewing):
    item = reviewing.items.first()
    app = Application.objects.select_related("organization").get(pk=item.subject_id)
    colleague = ExpertFactory(name="王同事", workplace_credit_code=app.organization.credit_code)
    free = ExpertFactory(name="李自由")
    client.force_login(officer)
    page = client.get(url("round_item", reviewing, item.pk)).content.decode()
    assert "王同事" in page and "与申报单位或合作单位" in page
    response = client.post(url("round_assign", reviewing, item.pk), {"expert": colleague.pk})
    messages = " ".join(flash(response))
    assert "不能指定王同事评审此项" in messages and "与申报单位或合作单位" in messages
    assert not Assignment.objects.filter(expert=colleague).exists()

    response = client.post(url("round_assign", reviewing, item.pk), {"expert": free.pk})
    assert response["Location"] == url("round_item", reviewing, item.pk)
    a = Assignment.objects.get(expert=free)
    assert a.item == item and a.draw.method == "manual"


def test_manual_assignment_search_finds_other_experts(client, officer, reviewing):
    item = reviewing.items.first()
    ExpertFactory(name="赵化学", discipline_codes=["150.10"])
    client.force_login(officer)
    page = client.get(url("round_item", reviewing, item.pk), {"q": "赵化"}).content.decode()
    assert "赵化学" in page


def test_item_of_another_round_is_404(client, officer, reviewing, open_call):
    other = RoundFactory(created_by=officer)
    item = reviewing.items.first()
    client.force_login(officer)
    assert client.get(url("round_item", other, item.pk)).status_code == 404
    assert client.post(url("round_assign", other, item.pk), {"expert": 1}).status_code == 404


def test_reopen_a_submitted_review(client, officer, reviewing):
    assign.run_draw(actor=officer, round_id=reviewing.pk, method="random", seed=1)
    a = Assignment.objects.filter(round=reviewing).select_related("expert__user").first()
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    client.force_login(officer)
    response = client.post(url("assignment_reopen", reviewing, a.pk), {"reason": "请补充意见"})
    assert any("不能" in m or "当前" in m for m in flash(response))  # accepted, not submitted: refused
    crit = list(reviewing.criteria.all())
    reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, recommendation="fund", comment="好",
                          scores={str(c.pk): 1 for c in crit})
    page = client.get(url("round_item", reviewing, a.item_id)).content.decode()
    assert url("assignment_reopen", reviewing, a.pk) in page
    response = client.post(url("assignment_reopen", reviewing, a.pk), {"reason": ""})
    assert "理由：请填写理由。" in flash(response)
    response = client.post(url("assignment_reopen", reviewing, a.pk), {"reason": "请补充意见"})
    a.refresh_from_db()
    assert a.state == "accepted"
    assert any("已将" in m for m in flash(response))


# ---- conflicts --------------------------------------------------------------------------------------


def test_conflicts_page_explains_each_exclusion(client, officer, reviewing, django_assert_max_num_queries):
    item = reviewing.items.order_by("id").first()
    app = Application.objects.select_related("organization").get(pk=item.subject_id)
    ExpertFactory(name="王同事", workplace_credit_code=app.organization.credit_code)
    client.force_login(officer)
    with django_assert_max_num_queries(22):
        response = client.get(url("round_conflicts", reviewing))
    body = response.content.decode()
    assert body.count('data-testid="conflict-item"') == 2
    assert "王同事" in body
    assert f"与申报单位或合作单位（{app.organization.name}）为同一单位" in body


# ---- ranking ---------------------------------------------------------------------------------------------


def _scored_round(officer, n_items):
    from projects.tests.factories import CallFactory

    call = CallFactory(total_budget=Decimal("700000.00"))
    rnd, apps, experts = make_round(officer, call, n_items=n_items, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=5)
    score_everything(rnd, {apps[0].pk: [30, 20, 20, 20, 10]})
    return rnd


@pytest.mark.parametrize("n_items", [2, 10])
def test_ranking_page_fixed_queries(client, officer, n_items, django_assert_max_num_queries):
    rnd = _scored_round(officer, n_items)
    client.force_login(officer)
    with django_assert_max_num_queries(10):
        response = client.get(url("round_ranking", rnd))
    body = response.content.decode()
    assert body.count('data-testid="ranking-row"') == n_items
    # each application asks 350,000 元; the budget of 700,000 covers the first two
    assert body.count('data-testid="over-budget"') == n_items - 2


def test_ranking_shows_scores_flags_and_deviating_experts(client, officer, open_call, supervisor):
    rnd, apps, experts = make_round(officer, open_call, n_items=1, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=9)
    first = Assignment.objects.filter(round=rnd).select_related("expert").order_by("id").first()
    crit = list(rnd.criteria.all())
    for a in Assignment.objects.filter(round=rnd).select_related("expert__user"):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
        values = [5, 5, 5, 5, 5] if a.pk == first.pk else [28, 18, 18, 18, 9]
        reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, comment="意见", recommendation="fund",
                              scores={str(c.pk): v for c, v in zip(crit, values, strict=True)})
    client.force_login(supervisor)
    body = client.get(url("round_ranking", rnd)).content.decode()
    assert "69.00" in body  # fewer than 5 scores: the trimmed mean is the mean of 25, 91, 91
    assert 'data-testid="dispersed"' in body
    assert 'data-testid="deviation"' in body and first.expert.name in body
    assert "同意立项 3" in body


def test_ranking_flags_insufficient_reviews(client, officer, reviewing):
    client.force_login(officer)
    body = client.get(url("round_ranking", reviewing)).content.decode()
    assert body.count('data-testid="insufficient"') == 2


# ---- 立项 list -----------------------------------------------------------------------------------------


def test_build_refused_while_reviewing_then_built(client, officer, reviewing, scored):
    client.force_login(officer)
    response = client.post(url("funding_build", reviewing), {"publicity_workdays": "5"})
    assert "评审结束后才能编制立项清单。" in flash(response)
    page = client.get(url("funding_list", scored)).content.decode()
    assert 'data-testid="build-form"' in page
    response = client.post(url("funding_build", scored), {"cutoff_score": "80", "publicity_workdays": "5"})
    assert response["Location"] == url("funding_list", scored)
    fl = FundingList.objects.get(round=scored)
    assert fl.entries.count() == 1 and fl.cutoff_score == Decimal("80")


def _built(officer, scored, cutoff=None):
    return funding.build_funding_list(actor=officer, round_id=scored.pk, cutoff_score=cutoff)


def test_amount_and_remove_in_draft(client, officer, scored):
    fl = _built(officer, scored)
    first, second = list(fl.entries.order_by("rank"))
    client.force_login(officer)
    response = client.post(url("funding_entry_amount", scored, first.pk), {"amount": "999999999"})
    assert any("不超过申请额" in m for m in flash(response))
    response = client.post(url("funding_entry_amount", scored, first.pk), {"amount": "300000"})
    first.refresh_from_db()
    assert first.granted_amount == Decimal("300000.00")
    response = client.post(url("funding_entry_remove", scored, second.pk), {"reason": ""})
    assert "理由：请填写理由。" in flash(response)
    response = client.post(url("funding_entry_remove", scored, second.pk), {"reason": "自筹资金未落实"})
    second.refresh_from_db()
    assert second.removed_at is not None
    page = client.get(url("funding_list", scored)).content.decode()
    assert "自筹资金未落实" in page and "30.00" in page  # 300,000 元 = 30.00 万元 in the totals


def test_entry_of_another_round_is_404(client, officer, scored, reviewing):
    fl = _built(officer, scored)
    entry = fl.entries.first()
    client.force_login(officer)
    assert client.post(url("funding_entry_amount", reviewing, entry.pk), {"amount": "1"}).status_code == 404


def test_submit_sign_off_publish_objection_approve(client, officer, supervisor, scored):
    fl = _built(officer, scored)
    client.force_login(officer)
    response = client.post(url("funding_sign_off", scored))
    assert response.status_code == 404  # officers do not sign off
    response = client.post(url("funding_publish", scored))
    assert any("不能" in m for m in flash(response))  # still a draft
    response = client.post(url("funding_submit", scored))
    assert "立项清单已提交局领导审签。" in flash(response)
    page = client.get(url("funding_list", scored)).content.decode()
    assert "等待局领导审签" in page

    client.force_login(supervisor)
    page = client.get(url("funding_list", scored)).content.decode()
    assert url("funding_sign_off", scored) in page
    assert client.post(url("funding_publish", scored)).status_code == 404
    response = client.post(url("funding_return", scored), {"reason": ""})
    assert "理由：请填写理由。" in flash(response)
    response = client.post(url("funding_sign_off", scored), {"comment": "同意"})
    fl.refresh_from_db()
    assert fl.state == FundingList.State.SIGNED_OFF and fl.signed_off_by == supervisor

    client.force_login(officer)
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, tzinfo=TZ)):
        response = client.post(url("funding_publish", scored))
        assert any("2026-09-30 至 2026-10-12" in m for m in flash(response))
        objection = funding.record_objection(list_id=fl.pk, name="某公司", contact="0571-1234567",
                                             content="该项目负责人同期承担其他财政项目，存在重复申报。",
                                             entry_id=fl.entries.first().pk)
        page = client.get(url("funding_list", scored)).content.decode()
        assert "某公司" in page and url("objection_resolve", scored, objection.pk) in page
        response = client.post(url("funding_approve", scored))
        assert any("期满后才能批准立项" in m for m in flash(response))
        response = client.post(url("objection_resolve", scored, objection.pk),
                               {"decision": "dismissed", "resolution": "经核查，不存在重复申报。"})
        objection.refresh_from_db()
        assert objection.state == Objection.State.DISMISSED
        response = client.post(url("objection_resolve", scored, objection.pk),
                               {"decision": "upheld", "resolution": "再次处理"})
        assert "该异议已处理。" in flash(response)
    with time_machine.travel(datetime.datetime(2026, 10, 13, 10, tzinfo=TZ)):
        response = client.post(url("funding_approve", scored))
        assert any("已批准立项" in m for m in flash(response))
        page = client.get(url("funding_list", scored)).content.decode()
    fl.refresh_from_db()
    assert fl.state == FundingList.State.APPROVED
    assert Project.objects.count() == 2
    assert page.count('data-testid="project-row"') == 2


def test_return_by_supervisor(client, officer, supervisor, scored):
    fl = _built(officer, scored)
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    client.force_login(supervisor)
    client.post(url("funding_return", scored), {"reason": "请核减第二项经费"})
    fl.refresh_from_db()
    assert fl.state == FundingList.State.DRAFT and fl.signoff_comment == "请核减第二项经费"
    client.force_login(officer)
    assert "请核减第二项经费" in client.get(url("funding_list", scored)).content.decode()


def test_submit_refused_over_budget(client, officer, scored):
    fl = _built(officer, scored)
    call = scored.call
    call.total_budget = Decimal("100000.00")
    call.save(update_fields=["total_budget"])
    client.force_login(officer)
    page = client.get(url("funding_list", scored)).content.decode()
    assert 'data-testid="over-budget"' in page
    response = client.post(url("funding_submit", scored))
    assert any("超过指南财政资金总额" in m for m in flash(response))
    fl.refresh_from_db()
    assert fl.state == FundingList.State.DRAFT


def test_funding_list_page_fixed_queries(client, officer, scored, django_assert_max_num_queries):
    _built(officer, scored)
    client.force_login(officer)
    with django_assert_max_num_queries(14):
        response = client.get(url("funding_list", scored))
    assert response.content.decode().count('data-testid="entry-row"') == FundingListEntry.objects.count()


def test_sign_off_refused_unless_submitted(client, officer, supervisor, scored):
    fl = _built(officer, scored)
    client.force_login(supervisor)
    page = client.get(url("funding_list", scored)).content.decode()
    assert url("funding_sign_off", scored) not in page
    response = client.post(url("funding_sign_off", scored), {"comment": "同意"})
    assert response["Location"] == url("funding_list", scored)
    assert any("不能" in m for m in flash(response))
    fl.refresh_from_db()
    assert fl.state == FundingList.State.DRAFT

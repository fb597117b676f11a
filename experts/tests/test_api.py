"""The expert review API: an expert's invitations and reviews, the bureau's rounds and pool."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from experts.models import Assignment, Commitment, Draw, Expert, ReviewRound
from experts.services import reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS

from .factories import ExpertFactory, RoundFactory, accepted_application

pytestmark = pytest.mark.django_db

AS = Assignment.State
ALL = [code for code, _label in COMMITMENT_ITEMS]


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def make_round(officer, call, n_items=1, *, start=True, **data):
    for _i in range(n_items):
        accepted_application(call)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3, **data})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    if start:
        rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd


def invite(rnd, expert, items=None) -> list[Assignment]:
    """Invitations straight into the table (what a draw writes), for reading tests."""
    now = timezone.now()
    return Assignment.objects.bulk_create(
        Assignment(round=rnd, item=item, expert=expert, invited_at=now, respond_by=rnd.response_deadline)
        for item in (items if items is not None else rnd.items.order_by("id"))
    )


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type="application/json", **extra)


def url(name, *args):
    return reverse(f"api:{name}", args=args)


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def scores_for(rnd, values):
    return {str(c.pk): v for c, v in zip(rnd.criteria.order_by("position"), values, strict=True)}


@pytest.fixture
def rnd(officer, open_call):
    return make_round(officer, open_call, n_items=2, name="2026年人工智能专项评审")


@pytest.fixture
def expert():
    return ExpertFactory(name="周专家")


@pytest.fixture
def invitation(rnd, expert):
    return invite(rnd, expert, [rnd.items.order_by("id").first()])[0]


# ---- invitations ---------------------------------------------------------------------------------


def test_expert_lists_only_own_invitations_and_gets_404_for_others(client, rnd, expert, invitation):
    other = ExpertFactory()
    (theirs,) = invite(rnd, other, [invitation.item])
    client.force_login(expert.user)

    rows = results(client.get(url("expert-invitation-list")))
    assert [r["id"] for r in rows] == [invitation.pk]
    row = rows[0]
    assert row["state"] == "invited" and row["state_display"] == "待答复"
    assert row["round_name"] == "2026年人工智能专项评审"
    assert row["item_title"] == invitation.item.title and row["discipline_code"] == "520.20"
    assert row["organization_name"] is None  # blind round

    assert client.get(url("expert-invitation-detail", theirs.pk)).status_code == 404
    assert post(client, url("expert-invitation-accept", theirs.pk), {"confirmed": ALL}).status_code == 404
    assert post(client, url("expert-invitation-decline", theirs.pk), {"reason": "没空"}).status_code == 404
    assert Assignment.objects.get(pk=theirs.pk).state == AS.INVITED
    assert client.get(url("expert-invitation-detail", "99999999999999999999")).status_code == 404


def test_organisation_is_shown_only_when_the_round_is_not_blind(client, rnd, expert, invitation):
    client.force_login(expert.user)
    assert client.get(url("expert-invitation-detail", invitation.pk)).json()["organization_name"] is None
    ReviewRound.objects.filter(pk=rnd.pk).update(blind=False)
    data = client.get(url("expert-invitation-detail", invitation.pk)).json()
    assert data["organization_name"] == invitation.item.organization_name != ""


@pytest.mark.parametrize("role", ["applicant", "finance", "officer"])
def test_non_experts_have_no_invitations(client, invitation, role):
    client.force_login(UserFactory(roles=[role], is_staff=role == "officer"))
    assert results(client.get(url("expert-invitation-list"))) == []
    assert client.get(url("expert-invitation-detail", invitation.pk)).status_code == 404


def test_accept_signs_the_commitment_from_the_client_address(client, expert, invitation):
    client.force_login(expert.user)
    accept = url("expert-invitation-accept", invitation.pk)

    response = post(client, accept, {"confirmed": ALL[:2]})
    assert response.status_code == 400
    assert "请逐项确认评审承诺" in response.json()["detail"]
    assert response.json()["code"] == "commitment"

    detail = client.get(url("expert-invitation-detail", invitation.pk)).json()
    assert [i["code"] for i in detail["commitment_items"]] == ALL
    assert detail["can_respond"] is True and detail["commitment_signed_at"] is None

    response = post(client, accept, {"confirmed": ALL}, REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="KJ-Client/1.0")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted"
    assert response.json()["commitment_signed_at"] is not None
    commitment = Commitment.objects.get(assignment=invitation)
    assert commitment.ip == "10.1.2.3" and commitment.user_agent == "KJ-Client/1.0"

    again = post(client, accept, {"confirmed": ALL})
    assert again.status_code == 409
    assert again.json()["detail"] == "当前状态为“已接受”，不能执行“接受邀请”。"
    decline = post(client, url("expert-invitation-decline", invitation.pk), {"reason": "临时出差"})
    assert decline.status_code == 409


def test_decline_needs_a_reason(client, expert, invitation):
    client.force_login(expert.user)
    decline = url("expert-invitation-decline", invitation.pk)
    response = post(client, decline, {"reason": "  "})
    assert response.status_code == 400
    assert "必须填写理由" in response.json()["detail"]
    response = post(client, decline, {"reason": "与申报单位有合作关系"})
    assert response.status_code == 200
    assert response.json()["state"] == "declined"
    assert Assignment.objects.get(pk=invitation.pk).decline_reason == "与申报单位有合作关系"


def test_accept_after_the_response_deadline_is_refused_with_409(client, expert, invitation):
    Assignment.objects.filter(pk=invitation.pk).update(respond_by=timezone.now() - datetime.timedelta(minutes=1))
    client.force_login(expert.user)
    assert client.get(url("expert-invitation-detail", invitation.pk)).json()["can_respond"] is False
    response = post(client, url("expert-invitation-accept", invitation.pk), {"confirmed": ALL})
    assert response.status_code == 409
    assert response.json()["detail"] == "已超过答复截止时间，不能再接受邀请。"


# ---- reviews ---------------------------------------------------------------------------------------


def review_urls(a):
    return url("expert-review-detail", a.pk), url("expert-review-save", a.pk), url("expert-review-submit", a.pk)


def test_review_endpoints_are_404_before_accepting_and_for_other_experts(client, rnd, expert, invitation):
    detail, save, submit = review_urls(invitation)
    client.force_login(expert.user)
    assert client.get(detail).status_code == 404
    assert post(client, save, {"scores": {}}).status_code == 404
    assert post(client, submit, {"scores": {}}).status_code == 404

    reviews.accept_invitation(actor=expert.user, assignment_id=invitation.pk, confirmed=ALL)
    assert client.get(detail).status_code == 200

    client.force_login(ExpertFactory().user)
    assert client.get(detail).status_code == 404
    assert post(client, save, {"scores": scores_for(rnd, [1, 1, 1, 1, 1])}).status_code == 404
    client.force_login(UserFactory(roles=["officer"], is_staff=True))
    assert client.get(detail).status_code == 404


def test_expert_scores_saves_and_submits_through_the_api(client, rnd, expert, invitation):
    reviews.accept_invitation(actor=expert.user, assignment_id=invitation.pk, confirmed=ALL)
    detail, save, submit = review_urls(invitation)
    client.force_login(expert.user)

    data = client.get(detail).json()
    assert [c["max_score"] for c in data["criteria"]] == ["30.0", "20.0", "20.0", "20.0", "10.0"]
    assert data["review"] is None and data["editable"] is True
    assert data["comment_threshold"] == "60.00"

    first = rnd.criteria.order_by("position").first()
    response = post(client, save, {"scores": {str(first.pk): 31}})
    assert response.status_code == 400
    assert len(response.json()["errors"]) == 1
    assert response.json()["errors"][0].startswith("“技术创新性”的得分须在0到30")
    response = post(client, save, {"scores": {str(first.pk): "很好"}})
    assert response.status_code == 400
    assert "必须是数字" in response.json()["detail"]
    assert post(client, save, {"scores": {"999999": 5}}).status_code == 400
    response = post(client, save, {"scores": {str(first.pk): 12.55}})
    assert response.status_code == 400 and "最多保留一位小数" in response.json()["detail"]

    response = post(client, save, {"scores": {str(first.pk): "27.5"}, "comment": "创新点明确"})
    assert response.status_code == 200, response.content
    review = response.json()["review"]
    assert review["scores"] == {str(first.pk): "27.5"} and review["total"] == "27.5"
    assert review["comment"] == "创新点明确"

    response = post(client, submit, {"scores": {str(first.pk): "27.5"}})
    assert response.status_code == 400
    assert any("尚未评分" in e for e in response.json()["errors"])
    assert any("总体意见" in e for e in response.json()["errors"])

    full = scores_for(rnd, ["27.5", 18, 18, 17, 9])
    response = post(client, submit, {"scores": full, "comment": "建议立项", "recommendation": "fund"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "submitted" and data["editable"] is False
    assert data["review"]["total"] == "89.5" and data["review"]["recommendation"] == "fund"

    # submitted: the task can still be read, never changed
    assert client.get(detail).status_code == 200
    refused = post(client, save, {"scores": full})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "评审任务当前状态为“已提交评审”，不能修改评分。"
    assert post(client, submit, {"scores": full, "recommendation": "fund"}).status_code == 409


def test_recommendation_must_be_one_of_the_choices(client, rnd, expert, invitation):
    reviews.accept_invitation(actor=expert.user, assignment_id=invitation.pk, confirmed=ALL)
    client.force_login(expert.user)
    response = post(client, review_urls(invitation)[1], {"scores": {}, "recommendation": "maybe"})
    assert response.status_code == 400
    assert "recommendation" in response.json()


# ---- review rounds -----------------------------------------------------------------------------------


def test_officer_reads_rounds_with_their_rubric(client, officer, rnd):
    client.force_login(officer)
    rows = results(client.get(url("review-round-list")))
    assert [r["id"] for r in rows] == [rnd.pk]
    row = rows[0]
    assert row["state"] == "reviewing" and row["item_count"] == 2
    assert row["call_id"] == rnd.call_id and row["created_by"] == "陈处长"
    assert [c["name"] for c in row["criteria"]][:2] == ["技术创新性", "研究基础与团队"]
    assert client.get(url("review-round-detail", rnd.pk)).json()["name"] == rnd.name
    assert results(client.get(url("review-round-list"), {"state": "draft"})) == []
    assert client.get(url("review-round-list"), {"call": "99999999999999999999"}).status_code == 400


def test_supervisor_reads_rounds_too(client, supervisor, rnd):
    client.force_login(supervisor)
    assert [r["id"] for r in results(client.get(url("review-round-list")))] == [rnd.pk]
    assert client.get(url("review-round-ranking", rnd.pk)).status_code == 200


@pytest.mark.parametrize("role", ["applicant", "finance", "expert"])
def test_others_get_nothing_of_the_rounds(client, rnd, role):
    client.force_login(UserFactory(roles=[role]))
    assert results(client.get(url("review-round-list"))) == []
    for name in ("review-round-detail", "review-round-progress", "review-round-ranking"):
        assert client.get(url(name, rnd.pk)).status_code == 404, name
    assert post(client, url("review-round-draw", rnd.pk), {"method": "random"}).status_code == 404
    assert not Draw.objects.exists()


def test_progress_counts_invitations_per_item(client, officer, rnd, expert):
    first, second = rnd.items.order_by("id")
    (a,) = invite(rnd, expert, [first])
    reviews.accept_invitation(actor=expert.user, assignment_id=a.pk, confirmed=ALL)
    invite(rnd, ExpertFactory(), [first])
    client.force_login(officer)
    rows = {r["item"]["id"]: r for r in results(client.get(url("review-round-progress", rnd.pk)))}
    assert rows[first.pk]["counts"] == {"invited": 1, "accepted": 1, "declined": 0, "expired": 0, "submitted": 0,
                                        "cancelled": 0}
    assert rows[first.pk]["active"] == 2 and rows[first.pk]["missing"] == 1
    assert rows[second.pk]["missing"] == 3 and set(rows[second.pk]["counts"].values()) == {0}
    assert rows[first.pk]["item"]["panel"] == "520 学科组"


def test_ranking_orders_items_by_score_with_budget_and_flags(client, officer, rnd):
    first, second = rnd.items.order_by("id")
    experts = ExpertFactory.create_batch(3)
    totals = {first.pk: [[20, 15, 15, 15, 5], [22, 15, 15, 15, 5], [21, 15, 15, 15, 5]],
              second.pk: [[28, 18, 18, 18, 9], [27, 18, 18, 18, 9], [29, 18, 18, 18, 9]]}
    for i, e in enumerate(experts):
        for item in (first, second):
            (a,) = invite(rnd, e, [item])
            reviews.accept_invitation(actor=e.user, assignment_id=a.pk, confirmed=ALL)
            reviews.submit_review(actor=e.user, assignment_id=a.pk, scores=scores_for(rnd, totals[item.pk][i]),
                                  comment="意见", recommendation="fund")
    client.force_login(officer)
    rows = results(client.get(url("review-round-ranking", rnd.pk)))
    assert [(r["rank"], r["item_id"]) for r in rows] == [(1, second.pk), (2, first.pk)]
    top = rows[0]
    assert top["score"] == "91.00" and top["count"] == 3 and top["std_dev"] == "0.82"
    assert top["dispersed"] is False and top["insufficient"] is False
    assert top["requested"] == f"{second.requested_amount:.2f}"
    assert Decimal(rows[1]["cumulative"]) == first.requested_amount + second.requested_amount
    assert top["within_budget"] is True
    assert top["recommendations"] == {"fund": 3}


def test_officer_draws_experts_and_gets_the_summary(client, officer, rnd):
    ExpertFactory.create_batch(4)
    client.force_login(officer)
    response = post(client, url("review-round-draw", rnd.pk), {"method": "random", "seed": 20261122})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["invited"] == 6 and data["needed"] == 6 and data["shortfall"] == {}
    assert data["seed"] == 20261122 and data["method"] == "random"
    draw = Draw.objects.get(pk=data["draw_id"])
    assert draw.created_by == officer and draw.seed == 20261122
    assert Assignment.objects.filter(draw=draw).count() == 6

    again = post(client, url("review-round-draw", rnd.pk), {"method": "optimal"})
    assert again.status_code == 400
    assert again.json()["detail"] == "所选评审对象均已配齐专家，无需抽取。"


def test_draw_input_is_checked(client, officer, rnd, open_call):
    other = make_round(officer, open_call, n_items=1, start=False)
    client.force_login(officer)
    draw = url("review-round-draw", rnd.pk)
    assert post(client, draw, {"method": "manual"}).status_code == 400
    assert post(client, draw, {"method": "random", "seed": -1}).status_code == 400
    response = post(client, draw, {"method": "random", "panel": other.panels.get().pk})
    assert response.status_code == 400
    assert response.json()["panel"] == ["该评审组不属于此评审轮次。"]
    # a round still in preparation: a refused transition, with the reason
    response = post(client, url("review-round-draw", other.pk), {"method": "random"})
    assert response.status_code == 409
    assert response.json()["detail"] == "评审轮次当前状态为“筹备中”，不能进行此操作。"
    assert not Draw.objects.exists()


def test_supervisor_may_not_draw(client, supervisor, rnd):
    ExpertFactory.create_batch(3)
    client.force_login(supervisor)
    response = post(client, url("review-round-draw", rnd.pk), {"method": "random"})
    assert response.status_code == 403
    assert response.json()["detail"] == "只有科技局业务人员可以组织专家评审。"
    assert not Draw.objects.exists()


# ---- the expert pool ---------------------------------------------------------------------------------


def test_bureau_reads_the_pool_with_masked_id_numbers(client, officer):
    expert = ExpertFactory(name="吴教授", id_number="330106198001011234", workplace="浙江工业大学")
    ExpertFactory(name="郑研究员", status=Expert.Status.PENDING)
    client.force_login(officer)
    rows = results(client.get(url("expert-list"), {"status": "active"}))
    assert [r["name"] for r in rows] == ["吴教授"]
    assert rows[0]["id_number"] == "330***********1234"
    response = client.get(url("expert-detail", expert.pk))
    assert response.json()["discipline_codes"] == ["520.20"]
    assert "198001011234" not in response.content.decode()
    assert [r["name"] for r in results(client.get(url("expert-list"), {"search": "工业大学"}))] == ["吴教授"]


@pytest.mark.parametrize("role", ["applicant", "finance", "expert"])
def test_others_cannot_read_the_pool(client, role):
    expert = ExpertFactory()
    client.force_login(UserFactory(roles=[role]))
    assert results(client.get(url("expert-list"))) == []
    assert client.get(url("expert-detail", expert.pk)).status_code == 404


def test_anonymous_gets_nothing(client, rnd, invitation):
    for target in (url("expert-invitation-list"), url("review-round-list"), url("expert-list"),
                   url("review-round-detail", rnd.pk)):
        assert client.get(target).status_code == 403


# ---- query counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 12])
def test_invitation_list_runs_a_fixed_number_of_queries(
    client, officer, open_call, django_assert_max_num_queries, rows
):
    rnd = make_round(officer, open_call, n_items=rows)
    expert = ExpertFactory(annual_cap=50)
    invite(rnd, expert)
    client.force_login(expert.user)
    with django_assert_max_num_queries(5):
        response = client.get(url("expert-invitation-list"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_round_list_runs_a_fixed_number_of_queries(client, officer, django_assert_max_num_queries, rows):
    RoundFactory.create_batch(rows)
    client.force_login(officer)
    with django_assert_max_num_queries(6):
        response = client.get(url("review-round-list"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_expert_list_runs_a_fixed_number_of_queries(client, officer, django_assert_max_num_queries, rows):
    ExpertFactory.create_batch(rows)
    client.force_login(officer)
    with django_assert_max_num_queries(5):
        response = client.get(url("expert-list"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [2, 12])
def test_progress_and_ranking_run_a_fixed_number_of_queries(
    client, officer, open_call, django_assert_max_num_queries, rows
):
    rnd = make_round(officer, open_call, n_items=rows)
    for e in ExpertFactory.create_batch(3, annual_cap=50):
        invite(rnd, e)
    client.force_login(officer)
    with django_assert_max_num_queries(7):
        assert client.get(url("review-round-progress", rnd.pk)).json()["count"] == rows
    with django_assert_max_num_queries(7):
        assert client.get(url("review-round-ranking", rnd.pk)).json()["count"] == rows


# ---- schema ------------------------------------------------------------------------------------------


def test_schema_documents_the_review_endpoints(client):
    response = client.get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/expert/invitations/",
        "/api/expert/invitations/{id}/accept/",
        "/api/expert/invitations/{id}/decline/",
        "/api/expert/reviews/{id}/",
        "/api/expert/reviews/{id}/save/",
        "/api/expert/reviews/{id}/submit/",
        "/api/review-rounds/",
        "/api/review-rounds/{id}/progress/",
        "/api/review-rounds/{id}/ranking/",
        "/api/review-rounds/{id}/draw/",
        "/api/experts/",
        "/api/experts/{id}/",
    ):
        assert path in paths, path


def test_schema_generates_without_warnings(tmp_path):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"),
                 stdout=out, stderr=out)
    assert (tmp_path / "schema.yaml").stat().st_size > 0

"""Regressions found in the access-control and input-handling review of expert review (issue 3)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import InvalidInput
from experts.models import ReviewItem, ReviewRound
from experts.services import assign, pool, rounds

from .factories import RoundFactory, accepted_application

pytestmark = pytest.mark.django_db


# ---- 回避: the expert's own account organisation -------------------------------------------------------


def test_an_applicant_user_registered_as_expert_never_reviews_their_own_organisation(officer, applicant, org,
                                                                                   open_call):
    """A user of an applicant organisation who registers as an expert naming another workplace (and no credit
    code) still works for that organisation: kept off its applications by the draw and by manual assignment."""
    accepted_application(open_call, organization=org, discipline_code="520.20")
    expert = pool.register_expert(user=applicant, data={
        "name": "张申报", "id_number": "110105194912310029", "workplace": "某某大学", "title": "教授",
        "title_level": "senior", "discipline_codes": "520.20"})
    pool.approve_expert(actor=officer, expert_id=expert.pk)
    rnd = RoundFactory(call=open_call, created_by=officer)
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    item = ReviewItem.objects.get(round=rnd)

    el = assign.eligibility(rnd, [item])
    assert expert.pk not in dict(el.candidates[item.pk])
    assert any(org.name in r for r in el.excluded[item.pk][expert.pk])
    with pytest.raises(InvalidInput, match="同一单位"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)


# ---- deadlines out of range ---------------------------------------------------------------------------

ROUND_FIELDS = {"experts_per_item": 3, "aggregation": "mean", "dispersion_threshold": "10",
                "deviation_threshold": "20", "comment_threshold": "60", "blind": "on"}
YEAR_ONE = "0001-01-01T00:00"  # Beijing time: 16:00 on 31 December of year 0 in UTC, which cannot be stored


def test_a_deadline_in_year_one_is_a_form_error_on_the_round_page(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("experts:round_create"), {
        "call": open_call.pk, **ROUND_FIELDS, "response_deadline": YEAR_ONE, "review_deadline": "2030-01-10T17:00",
        "criteria-TOTAL_FORMS": "1", "criteria-INITIAL_FORMS": "0", "criteria-0-name": "创新性",
        "criteria-0-max_score": "100"})
    assert response.status_code == 200
    assert "截止时间须在2000年至2999年之间" in response.content.decode()
    assert not ReviewRound.objects.exists()


def test_a_deadline_in_year_one_is_a_form_error_in_the_admin(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("admin:experts_reviewround_add"), {
        "call": open_call.pk, "name": "新一轮评审", **ROUND_FIELDS,
        "response_deadline_0": "0001-01-01", "response_deadline_1": "00:00:00",
        "review_deadline_0": "2030-01-10", "review_deadline_1": "17:00:00",
        "criteria-TOTAL_FORMS": 0, "criteria-INITIAL_FORMS": 0, "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
        "panels-TOTAL_FORMS": 0, "panels-INITIAL_FORMS": 0, "panels-MIN_NUM_FORMS": 0, "panels-MAX_NUM_FORMS": 1000})
    assert response.status_code == 200
    assert "截止时间须在2000年至2999年之间" in response.content.decode()
    assert not ReviewRound.objects.exists()


def test_the_round_service_refuses_a_deadline_out_of_range(officer, open_call):
    far = datetime.datetime(9999, 12, 31, 23, 0, tzinfo=timezone.get_current_timezone())
    with pytest.raises(InvalidInput, match="截止时间须在2000年至2999年之间"):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={"response_deadline": far - datetime.timedelta(
            hours=1), "review_deadline": far})
    assert not ReviewRound.objects.exists()

"""Regressions found in the access-control and input-handling review of expert review (issue 3)."""

import pytest

from accounts.exceptions import InvalidInput
from experts.models import ReviewItem
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

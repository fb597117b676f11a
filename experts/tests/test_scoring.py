"""Scoring: per-criterion maxima, one decimal, drafts, submit locks, reopen by the bureau only."""

from decimal import Decimal

import pytest

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from experts.models import Assignment, Criterion, Review, ReviewItem, Score
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS

from .factories import ExpertFactory, RoundFactory, accepted_application

pytestmark = pytest.mark.django_db

ALL = [code for code, _label in COMMITMENT_ITEMS]
FULL = [28, 18, 18, 18, 9]  # 91 over the 30/20/20/20/10 rubric
LOW = [15, 10, 10, 10, 5]  # 50: below the 60 comment threshold


@pytest.fixture
def task(officer, open_call):
    """An accepted assignment (the expert signed the 承诺书) in a reviewing round with the default rubric."""
    accepted_application(open_call)
    ExpertFactory.create_batch(3)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=1)
    a = Assignment.objects.select_related("round", "expert__user").order_by("id").first()
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    return a


def crit(a):
    return list(a.round.criteria.order_by("position"))


def scores(a, values):
    return {str(c.pk): v for c, v in zip(crit(a), values, strict=True)}


def state(a):
    return Assignment.objects.get(pk=a.pk).state


# ---- per-criterion rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["30.1", "31", "-1", "-0.1"])
def test_a_score_outside_its_criterion_range_is_refused(task, value):
    first = crit(task)[0]
    with pytest.raises(InvalidInput, match=f"“{first.name}”的得分须在0到30之间"):
        reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={str(first.pk): value})
    assert not Score.objects.exists()


@pytest.mark.parametrize("value", ["0", "30", "30.0", "12.5", 12.5, " 7.0 "])
def test_a_score_within_range_with_at_most_one_decimal_is_kept(task, value):
    first = crit(task)[0]
    review = reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={str(first.pk): value})
    assert Score.objects.get(review=review).score == Decimal(str(value).strip())
    assert review.total == Decimal(str(value).strip())


@pytest.mark.parametrize("value", ["12.55", "0.01", "29.99"])
def test_more_than_one_decimal_is_refused(task, value):
    first = crit(task)[0]
    with pytest.raises(InvalidInput, match="最多保留一位小数"):
        reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={str(first.pk): value})
    assert not Score.objects.exists()


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", "1/2"])
def test_a_score_that_is_not_a_number_is_refused(task, value):
    first = crit(task)[0]
    with pytest.raises(InvalidInput):
        reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={str(first.pk): value})
    assert not Score.objects.exists()


def test_an_unknown_criterion_is_refused(task, officer):
    other_round = RoundFactory(created_by=officer)
    foreign = Criterion.objects.filter(round=other_round).first()
    for key in (str(foreign.pk), "999999", "创新性", None):
        with pytest.raises(InvalidInput, match="评分指标不存在"):
            reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={key: "5"})
    assert not Score.objects.exists()


def test_an_invalid_recommendation_is_refused(task):
    with pytest.raises(InvalidInput, match="请选择总体意见"):
        reviews.save_review(actor=task.expert.user, assignment_id=task.pk, scores={}, recommendation="maybe")


# ---- drafts ------------------------------------------------------------------------------------------------------


def test_drafts_save_partial_scores_and_add_up_exactly(task):
    c = crit(task)
    user = task.expert.user
    review = reviews.save_review(actor=user, assignment_id=task.pk, scores={str(c[0].pk): "25.5", str(c[1].pk): "17.3"},
                                 comment="初步意见")
    assert review.total == Decimal("42.8")
    assert state(task) == Assignment.State.ACCEPTED
    review = reviews.save_review(actor=user, assignment_id=task.pk, scores={str(c[1].pk): "18.0", str(c[4].pk): "9.9"},
                                 comment="补充")
    assert review.total == Decimal("53.4")  # 25.5 + 18.0 + 9.9
    assert dict(Score.objects.filter(review=review).values_list("criterion_id", "score")) == {
        c[0].pk: Decimal("25.5"), c[1].pk: Decimal("18.0"), c[4].pk: Decimal("9.9")}
    assert Review.objects.get(pk=review.pk).comment == "补充"
    assert Review.objects.count() == 1


def test_scoring_needs_an_accepted_invitation_of_ones_own(task, officer):
    rnd_assignments = Assignment.objects.filter(round=task.round).exclude(pk=task.pk).select_related("expert__user")
    other = rnd_assignments.first()  # still invited
    with pytest.raises(TransitionRefused, match="不能修改评分"):
        reviews.save_review(actor=other.expert.user, assignment_id=other.pk, scores=scores(other, FULL))
    with pytest.raises(PermissionRefused):
        reviews.save_review(actor=other.expert.user, assignment_id=task.pk, scores=scores(task, FULL))
    with pytest.raises(PermissionRefused):
        reviews.submit_review(actor=officer, assignment_id=task.pk, scores=scores(task, FULL), recommendation="fund")
    assert not Score.objects.exists()


# ---- submit ------------------------------------------------------------------------------------------------------


def test_submit_needs_every_criterion(task):
    partial = scores(task, FULL)
    missing = crit(task)[-1]
    partial.pop(str(missing.pk))
    with pytest.raises(InvalidInput, match=f"以下指标尚未评分：{missing.name}"):
        reviews.submit_review(actor=task.expert.user, assignment_id=task.pk, scores=partial, recommendation="fund")
    assert state(task) == Assignment.State.ACCEPTED


def test_submit_needs_a_recommendation(task):
    with pytest.raises(InvalidInput, match="请选择总体意见"):
        reviews.submit_review(actor=task.expert.user, assignment_id=task.pk, scores=scores(task, FULL))
    assert state(task) == Assignment.State.ACCEPTED


def test_comment_required_below_the_threshold_only(task):
    user = task.expert.user
    with pytest.raises(InvalidInput, match="总分低于60.00分，必须填写评审意见"):
        reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, LOW), recommendation="reject",
                              comment="   ")
    assert state(task) == Assignment.State.ACCEPTED
    # exactly at the threshold no comment is needed
    done = reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, [18, 12, 12, 12, 6]),
                                 recommendation="revise")
    assert done.state == Assignment.State.SUBMITTED
    assert Review.objects.get(assignment=task).total == Decimal("60.0")


def test_submit_locks_the_review(task):
    user = task.expert.user
    done = reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, FULL), recommendation="fund")
    assert done.state == Assignment.State.SUBMITTED and done.submitted_at is not None
    review = Review.objects.get(assignment=task)
    assert review.total == Decimal("91.0") and review.recommendation == "fund"
    event = AuditEvent.objects.get(verb="review_scores", target_id=str(task.pk))
    assert event.data["total"] == "91.0"
    with pytest.raises(TransitionRefused):
        reviews.save_review(actor=user, assignment_id=task.pk, scores=scores(task, LOW))
    with pytest.raises(TransitionRefused):
        reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, LOW), recommendation="reject",
                              comment="改低")
    review.refresh_from_db()
    assert review.total == Decimal("91.0") and review.recommendation == "fund"


# ---- reopen ------------------------------------------------------------------------------------------------------


def test_officer_reopens_with_a_reason_and_the_expert_resubmits(task, officer):
    user = task.expert.user
    reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, FULL), recommendation="fund")
    with pytest.raises(InvalidInput, match="必须填写理由"):
        reviews.reopen_review(actor=officer, assignment_id=task.pk, reason=" ")
    assert state(task) == Assignment.State.SUBMITTED
    reopened = reviews.reopen_review(actor=officer, assignment_id=task.pk, reason="创新性评分与意见不符，请核实")
    assert reopened.state == Assignment.State.ACCEPTED
    assert Review.objects.get(assignment=task).reopen_count == 1
    note = Notification.objects.get(recipient=user, kind=MessageKind.REVIEW_REOPENED)
    assert "创新性评分与意见不符" in note.body
    event = AuditEvent.objects.get(verb="reopen", target_id=str(task.pk))
    assert event.actor == officer and event.reason == "创新性评分与意见不符，请核实"
    # the draft keeps the scores; the expert changes one and submits again
    first = crit(task)[0]
    reviews.save_review(actor=user, assignment_id=task.pk, scores={str(first.pk): "20"}, recommendation="revise")
    done = reviews.submit_review(actor=user, assignment_id=task.pk, scores={}, recommendation="revise")
    assert done.state == Assignment.State.SUBMITTED
    assert Review.objects.get(assignment=task).total == Decimal("83.0")


def test_expert_cannot_reopen(task):
    user = task.expert.user
    reviews.submit_review(actor=user, assignment_id=task.pk, scores=scores(task, FULL), recommendation="fund")
    with pytest.raises(PermissionRefused):
        reviews.reopen_review(actor=user, assignment_id=task.pk, reason="我想改分")
    assert state(task) == Assignment.State.SUBMITTED


def test_reopen_only_a_submitted_review_of_a_live_round(task, officer):
    with pytest.raises(TransitionRefused):
        reviews.reopen_review(actor=officer, assignment_id=task.pk, reason="尚未提交")
    reviews.submit_review(actor=task.expert.user, assignment_id=task.pk, scores=scores(task, FULL),
                          recommendation="fund")
    rounds.close_round(actor=officer, round_id=task.round_id, force=True, reason="专家不足，提前结束")
    with pytest.raises(TransitionRefused, match="不在评审中"):
        reviews.reopen_review(actor=officer, assignment_id=task.pk, reason="补充意见")
    assert state(task) == Assignment.State.SUBMITTED
    assert ReviewItem.objects.count() == 1

"""Review rounds: the rubric totals 100, at least three experts per item, items and panels, start and close."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from activity.models import AuditEvent, Notification
from experts.models import Assignment, Criterion, Panel, Review, ReviewItem, ReviewRound
from experts.services import assign, rounds
from projects.models import Application
from projects.tests.factories import ApplicationFactory, CallFactory, set_state

from .factories import ExpertFactory, accepted_application

pytestmark = pytest.mark.django_db

RUBRIC = [
    {"name": "创新性", "description": "技术路线先进", "max_score": "40"},
    {"name": "可行性", "description": "", "max_score": "35.5"},
    {"name": "效益", "description": "", "max_score": "24.5"},
]


# ---- rubric ------------------------------------------------------------------------------------------------------


def test_create_round_with_a_rubric_totalling_100(officer, open_call):
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={}, criteria=RUBRIC)
    assert [(c.name, c.max_score, c.position) for c in rnd.criteria.all()] == [
        ("创新性", Decimal("40.0"), 0), ("可行性", Decimal("35.5"), 1), ("效益", Decimal("24.5"), 2)]
    assert rnd.state == ReviewRound.State.DRAFT and rnd.created_by == officer
    assert rnd.experts_per_item == 5 and rnd.name == f"{open_call.title} 专家评审"
    assert AuditEvent.objects.filter(verb="create", target_id=str(rnd.pk)).exists()


def test_default_rubric_totals_100(officer, open_call):
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    assert sum(c.max_score for c in rnd.criteria.all()) == 100
    assert rnd.criteria.count() == 5


@pytest.mark.parametrize("total,rubric", [
    ("90", [{"name": "创新性", "max_score": "50"}, {"name": "可行性", "max_score": "40"}]),
    ("100.1", [{"name": "创新性", "max_score": "60.1"}, {"name": "可行性", "max_score": "40"}]),
])
def test_create_round_refused_when_the_rubric_does_not_total_100(officer, open_call, total, rubric):
    with pytest.raises(InvalidInput, match=f"评分指标满分合计须为100分，当前为{total}分"):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={}, criteria=rubric)
    assert not ReviewRound.objects.exists() and not Criterion.objects.exists()


@pytest.mark.parametrize("rubric,message", [
    ([{"name": "创新性", "max_score": "60"}, {"name": "创新性", "max_score": "40"}], "重复"),
    ([{"name": "", "max_score": "100"}], "名称不能为空"),
    ([{"name": "创新性", "max_score": "100.05"}], "最多一位小数"),
    ([{"name": "创新性", "max_score": "abc"}], "必须是数字"),
    ([{"name": "创新性", "max_score": "110"}, {"name": "扣分", "max_score": "-10"}], "大于0"),
])
def test_bad_criteria_refused(officer, open_call, rubric, message):
    with pytest.raises(InvalidInput, match=message):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={}, criteria=rubric)
    assert not ReviewRound.objects.exists()


def test_set_criteria_refused_unless_100_and_only_while_draft(officer, open_call):
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    before = list(rnd.criteria.values_list("name", "max_score"))
    with pytest.raises(InvalidInput, match="评分指标满分合计须为100分，当前为99.5分"):
        rounds.set_criteria(actor=officer, round_id=rnd.pk, criteria=[{"name": "a", "max_score": "99.5"}])
    assert list(rnd.criteria.values_list("name", "max_score")) == before
    rounds.set_criteria(actor=officer, round_id=rnd.pk, criteria=RUBRIC)
    assert list(rnd.criteria.values_list("name", flat=True)) == ["创新性", "可行性", "效益"]
    accepted_application(open_call)
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    with pytest.raises(TransitionRefused, match="评分指标不能再修改"):
        rounds.set_criteria(actor=officer, round_id=rnd.pk, criteria=RUBRIC[::-1])


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_experts_per_item_refused(officer, open_call, n):
    with pytest.raises(InvalidInput):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": n})
    assert not ReviewRound.objects.exists()
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    with pytest.raises(InvalidInput):
        rounds.update_round(actor=officer, round_id=rnd.pk, data={"experts_per_item": n})
    assert ReviewRound.objects.get(pk=rnd.pk).experts_per_item == 3


def test_review_deadline_must_follow_the_response_deadline(officer, open_call):
    now = timezone.now()
    with pytest.raises(InvalidInput, match="评审截止时间必须晚于答复截止时间"):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={
            "response_deadline": now + datetime.timedelta(days=5), "review_deadline": now + datetime.timedelta(days=4)})


def test_only_the_bureau_sets_up_rounds(expert_user, applicant, open_call):
    for user in (expert_user, applicant):
        with pytest.raises(PermissionRefused):
            rounds.create_round(actor=user, call_id=open_call.pk, data={})
    assert not ReviewRound.objects.exists()


# ---- items and panels -----------------------------------------------------------------------------------------


def test_add_items_takes_only_the_calls_accepted_applications_grouped_by_discipline(officer, open_call):
    ai = accepted_application(open_call, discipline_code="520.20")
    ml = accepted_application(open_call, discipline_code="520.10")
    eco = accepted_application(open_call, discipline_code="630.10")
    nocode = accepted_application(open_call, discipline_code="")
    ApplicationFactory(call=open_call)  # draft
    for state in (Application.State.SUBMITTED, Application.State.ENDORSED, Application.State.RETURNED,
                  Application.State.REJECTED, Application.State.APPROVED, Application.State.NOT_APPROVED):
        set_state(ApplicationFactory(call=open_call), state)
    accepted_application(CallFactory())  # another call's
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 4
    items = {i.subject_id: i for i in ReviewItem.objects.filter(round=rnd).select_related("panel")}
    assert set(items) == {ai.pk, ml.pk, eco.pk, nocode.pk}
    assert items[ai.pk].panel == items[ml.pk].panel
    assert items[ai.pk].panel.discipline_prefix == "520" and items[ai.pk].panel.name == "520 学科组"
    assert items[eco.pk].panel.discipline_prefix == "630"
    assert items[nocode.pk].panel.discipline_prefix == "" and items[nocode.pk].panel.name == "未填学科代码"
    with translation.override("en"):  # shown in the reader's language, whatever it was stored in
        assert str(items[ai.pk].panel) == translation.gettext("%(code)s 学科组") % {"code": "520"} != "520 学科组"
    assert Panel.objects.filter(round=rnd).count() == 3
    # what the item remembers of the application
    item = items[ai.pk]
    assert (item.number, item.title, item.organization_name) == (ai.number, ai.title, ai.organization.name)
    assert item.requested_amount == Decimal("350000.00")
    # a second run adds nothing; a newly accepted application joins its panel
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 0
    late = accepted_application(open_call, discipline_code="520.30")
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 1
    assert ReviewItem.objects.get(round=rnd, subject_id=late.pk).panel == items[ai.pk].panel
    assert Panel.objects.filter(round=rnd).count() == 3


def test_an_application_in_another_open_round_is_left_out(officer, open_call):
    accepted_application(open_call)
    first = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    assert rounds.add_items(actor=officer, round_id=first.pk) == 1
    second = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    assert rounds.add_items(actor=officer, round_id=second.pk) == 0


# ---- start and close ------------------------------------------------------------------------------------------


def test_start_refused_without_items(officer, open_call):
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    with pytest.raises(InvalidInput, match="尚未加入评审对象"):
        rounds.start_round(actor=officer, round_id=rnd.pk)
    assert ReviewRound.objects.get(pk=rnd.pk).state == ReviewRound.State.DRAFT


def test_start_refused_after_the_response_deadline(officer, open_call):
    accepted_application(open_call)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    with pytest.raises(InvalidInput, match="答复截止时间已过"):
        rounds.start_round(actor=officer, round_id=rnd.pk, now=rnd.response_deadline)
    started = rounds.start_round(actor=officer, round_id=rnd.pk)
    assert started.state == ReviewRound.State.REVIEWING and started.started_at is not None
    with pytest.raises(TransitionRefused):
        rounds.start_round(actor=officer, round_id=rnd.pk)


@pytest.fixture
def live(officer, open_call):
    """A reviewing round with two items and three experts on each (invited)."""
    accepted_application(open_call)
    accepted_application(open_call)
    ExpertFactory.create_batch(6)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal")
    return rnd


def submit(a, total="80"):
    Assignment.objects.filter(pk=a.pk).update(state=Assignment.State.SUBMITTED, submitted_at=timezone.now())
    Review.objects.create(assignment=a, total=Decimal(total), recommendation="fund")


def test_close_refused_with_fewer_than_three_submitted_reviews_unless_forced_with_a_reason(officer, live):
    items = list(live.items.order_by("id"))
    for a in Assignment.objects.filter(item=items[0]):
        submit(a)
    for a in Assignment.objects.filter(item=items[1])[:2]:
        submit(a)
    with pytest.raises(InvalidInput, match="有1个评审对象提交的评审意见不足3份"):
        rounds.close_round(actor=officer, round_id=live.pk)
    with pytest.raises(InvalidInput, match="强制结束评审必须填写理由"):
        rounds.close_round(actor=officer, round_id=live.pk, force=True, reason="  ")
    assert ReviewRound.objects.get(pk=live.pk).state == ReviewRound.State.REVIEWING
    closed = rounds.close_round(actor=officer, round_id=live.pk, force=True, reason="一位专家失联，时间紧迫")
    assert closed.state == ReviewRound.State.CLOSED and closed.closed_at is not None
    event = AuditEvent.objects.get(verb="close", target_id=str(live.pk))
    assert event.reason == "一位专家失联，时间紧迫"


def test_close_without_force_when_every_item_has_three_reviews_and_open_invitations_are_cancelled(officer, live):
    items = list(live.items.order_by("id"))
    for item in items:
        for a in Assignment.objects.filter(item=item):
            submit(a)
    # an extra expert on the first item is still invited, another has accepted: both are cancelled
    extra_invited = assign.assign_manually(actor=officer, round_id=live.pk, item_id=items[0].pk,
                                           expert_id=ExpertFactory().pk)
    extra_accepted = assign.assign_manually(actor=officer, round_id=live.pk, item_id=items[1].pk,
                                            expert_id=ExpertFactory().pk)
    Assignment.objects.filter(pk=extra_accepted.pk).update(state=Assignment.State.ACCEPTED)
    closed = rounds.close_round(actor=officer, round_id=live.pk)
    assert closed.state == ReviewRound.State.CLOSED
    states = dict(Assignment.objects.values_list("pk", "state"))
    assert states[extra_invited.pk] == states[extra_accepted.pk] == Assignment.State.CANCELLED
    assert sum(1 for s in states.values() if s == Assignment.State.SUBMITTED) == 6
    assert AuditEvent.objects.filter(verb="cancel_open_assignments", target_id=str(live.pk)).exists()
    # the two experts whose work was cancelled are told, nobody else is
    told = Notification.objects.filter(kind="review_cancelled")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
        [extra_invited.expert.user_id, extra_accepted.expert.user_id])
    assert "已取消" in told.first().body
    with pytest.raises(TransitionRefused):
        rounds.close_round(actor=officer, round_id=live.pk)


def test_nothing_changes_in_a_closed_round(officer, live):
    rounds.close_round(actor=officer, round_id=live.pk, force=True, reason="测试")
    with pytest.raises(TransitionRefused):
        rounds.update_round(actor=officer, round_id=live.pk, data={"name": "新名称"})
    with pytest.raises(TransitionRefused):
        rounds.add_items(actor=officer, round_id=live.pk)
    with pytest.raises(TransitionRefused):
        assign.run_draw(actor=officer, round_id=live.pk, method="random", seed=1)
    assert not Assignment.objects.exclude(state=Assignment.State.CANCELLED).exists()


def test_once_reviewing_only_deadlines_move_and_only_later(officer, live):
    with pytest.raises(InvalidInput, match="不能再修改"):
        rounds.update_round(actor=officer, round_id=live.pk, data={"aggregation": "median"})
    with pytest.raises(InvalidInput, match="截止时间只能延后"):
        rounds.update_round(actor=officer, round_id=live.pk,
                            data={"review_deadline": live.review_deadline - datetime.timedelta(days=1)})
    later = live.response_deadline + datetime.timedelta(days=2)
    rounds.update_round(actor=officer, round_id=live.pk, data={"response_deadline": later})
    # open invitations follow the new response deadline
    assert set(Assignment.objects.values_list("respond_by", flat=True)) == {later}


def test_an_application_is_reviewed_in_one_round_only(officer, open_call):
    """An application already in a round, even a closed one, is not taken into a second round of its call, so
    approving one round's 立项 list never decides an application another round is still ranking."""
    app = accepted_application(open_call)
    first = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    assert rounds.add_items(actor=officer, round_id=first.pk) == 1
    ReviewRound.objects.filter(pk=first.pk).update(state=ReviewRound.State.CLOSED)
    later = accepted_application(open_call)
    second = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    assert rounds.add_items(actor=officer, round_id=second.pk) == 1
    assert list(second.items.values_list("subject_id", flat=True)) == [later.pk]
    assert app.pk in first.items.values_list("subject_id", flat=True)

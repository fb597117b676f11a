"""The expert pool through its services: registration, approval, status changes (with refusals and audit
events), eligibility of a suspended expert, and the evaluation figures on a constructed history."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import AuditEvent, Notification
from experts.models import Assignment, Expert, Review, ReviewItem
from experts.selectors import expert_evaluation
from experts.services import assign, pool, rounds
from projects.models import Application

from .factories import ExpertFactory, RoundFactory, accepted_application

pytestmark = pytest.mark.django_db

S = Expert.Status
AS = Assignment.State

PROFILE = {
    "name": "吴 评审", "id_number": "11010519491231002x", "workplace": "浙江工业大学", "title": "教授",
    "title_level": "senior", "discipline_codes": "520.20，520.60", "keywords": "人工智能", "region": "杭州市",
    "phone": "13900000001",
}


def events(expert, verb):
    return AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(Expert),
                                     target_id=str(expert.pk), verb=verb)


def audited(expert, verb, from_state, to_state, reason=""):
    e = events(expert, verb).get()
    assert (e.from_state, e.to_state, e.reason) == (from_state, to_state, reason)
    return e


@pytest.fixture
def pending(expert_user):
    return pool.register_expert(user=expert_user, data=PROFILE)


# ---- registration and approval ---------------------------------------------------------------------------


def test_registration_is_pending_normalised_and_tells_the_officers(officer, expert_user, pending):
    assert pending.status == S.PENDING and pending.approved_at is None
    assert pending.name == "吴 评审" and pending.id_number == "11010519491231002X"
    assert pending.discipline_codes == ["520.20", "520.60"]
    audited(pending, "register", "", S.PENDING)
    assert events(pending, "register").get().actor == expert_user
    assert Notification.objects.filter(recipient=officer, kind="expert_registered").count() == 1


def test_same_id_number_cannot_register_twice(pending):
    with pytest.raises(InvalidInput, match="已登记为专家"):
        pool.register_expert(user=UserFactory(), data={**PROFILE, "id_number": " 110105194912310 02X"})


def test_approve_puts_the_expert_in_the_pool(pending, officer):
    pending.user.groups.clear()
    expert = pool.approve_expert(actor=officer, expert_id=pending.pk)
    assert expert.status == S.ACTIVE and expert.approved_at is not None
    assert expert.user.groups.filter(name="expert").exists()
    audited(expert, "approve", S.PENDING, S.ACTIVE)
    assert Notification.objects.filter(recipient=pending.user, kind="expert_approved").exists()
    with pytest.raises(TransitionRefused, match="在库"):
        pool.approve_expert(actor=officer, expert_id=pending.pk)


def test_reject_needs_a_reason_and_is_final(pending, officer):
    with pytest.raises(InvalidInput, match="必须填写理由"):
        pool.reject_expert(actor=officer, expert_id=pending.pk, reason="  ")
    assert not events(pending, "reject").exists()
    expert = pool.reject_expert(actor=officer, expert_id=pending.pk, reason="职称不符合入库条件")
    assert expert.status == S.REJECTED and expert.status_reason == "职称不符合入库条件"
    audited(expert, "reject", S.PENDING, S.REJECTED, "职称不符合入库条件")
    for change in (pool.approve_expert, pool.reinstate_expert):
        with pytest.raises(TransitionRefused, match="未通过"):
            change(actor=officer, expert_id=expert.pk)


def test_only_the_bureau_manages_the_pool(pending, applicant, expert_user):
    for actor in (applicant, expert_user):
        with pytest.raises(PermissionRefused):
            pool.approve_expert(actor=actor, expert_id=pending.pk)
    assert Expert.objects.get(pk=pending.pk).status == S.PENDING
    assert not events(pending, "approve").exists()


# ---- suspend, reinstate, retire -----------------------------------------------------------------------


def test_a_pending_expert_cannot_be_suspended_retired_or_reinstated(pending, officer):
    with pytest.raises(TransitionRefused, match="待审核"):
        pool.suspend_expert(actor=officer, expert_id=pending.pk, reason="多次谢绝")
    with pytest.raises(TransitionRefused):
        pool.retire_expert(actor=officer, expert_id=pending.pk, reason="退休")
    with pytest.raises(TransitionRefused):
        pool.reinstate_expert(actor=officer, expert_id=pending.pk)
    assert Expert.objects.get(pk=pending.pk).status == S.PENDING
    assert AuditEvent.objects.filter(verb__in=["suspend", "retire", "reinstate"]).count() == 0


def test_suspend_reinstate_retire(officer):
    expert = ExpertFactory()
    with pytest.raises(InvalidInput, match="必须填写理由"):
        pool.suspend_expert(actor=officer, expert_id=expert.pk, reason="")
    expert = pool.suspend_expert(actor=officer, expert_id=expert.pk, reason="本年度三次逾期未答复")
    assert expert.status == S.SUSPENDED
    audited(expert, "suspend", S.ACTIVE, S.SUSPENDED, "本年度三次逾期未答复")
    with pytest.raises(TransitionRefused, match="暂停"):
        pool.suspend_expert(actor=officer, expert_id=expert.pk, reason="再次暂停")

    expert = pool.reinstate_expert(actor=officer, expert_id=expert.pk)
    assert expert.status == S.ACTIVE and expert.status_reason == ""
    audited(expert, "reinstate", S.SUSPENDED, S.ACTIVE)

    expert = pool.suspend_expert(actor=officer, expert_id=expert.pk, reason="出国一年")
    with pytest.raises(InvalidInput, match="必须填写理由"):
        pool.retire_expert(actor=officer, expert_id=expert.pk, reason="")
    expert = pool.retire_expert(actor=officer, expert_id=expert.pk, reason="本人申请退出")
    assert expert.status == S.RETIRED
    audited(expert, "retire", S.SUSPENDED, S.RETIRED, "本人申请退出")
    for change in (pool.reinstate_expert, pool.approve_expert):
        with pytest.raises(TransitionRefused, match="退出"):
            change(actor=officer, expert_id=expert.pk)
    assert Notification.objects.filter(recipient=expert.user, kind="expert_status_changed").count() == 4


def test_suspended_expert_is_no_longer_drawn_and_reinstated_is_again(officer, open_call):
    accepted_application(open_call)
    kept, suspended = ExpertFactory(), ExpertFactory()
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    item = rnd.items.get()

    def candidates():
        return {pk for pk, _a in assign.eligibility(rnd, [item]).candidates[item.pk]}

    assert candidates() == {kept.pk, suspended.pk}
    pool.suspend_expert(actor=officer, expert_id=suspended.pk, reason="多次谢绝")
    assert candidates() == {kept.pk}
    assert assign.why_not(rnd, item, Expert.objects.get(pk=suspended.pk)) == ["专家状态为“暂停”，不能参加评审"]
    pool.reinstate_expert(actor=officer, expert_id=suspended.pk)
    assert candidates() == {kept.pk, suspended.pk}


def test_officer_sets_the_cap_the_expert_cannot(officer):
    expert = ExpertFactory(annual_cap=10)
    pool.update_expert_profile(actor=officer, expert_id=expert.pk, data={"annual_cap": 25})
    assert Expert.objects.get(pk=expert.pk).annual_cap == 25
    assert events(expert, "update_profile").get().actor == officer
    pool.update_expert_profile(actor=expert.user, expert_id=expert.pk, data={"annual_cap": 200, "region": "宁波市"})
    expert.refresh_from_db()
    assert (expert.annual_cap, expert.region) == (25, "宁波市")
    with pytest.raises(InvalidInput):
        pool.update_expert_profile(actor=officer, expert_id=expert.pk, data={"annual_cap": 0})


# ---- evaluation ---------------------------------------------------------------------------------------


def make_item(rnd, n=1):
    ct = ContentType.objects.get_for_model(Application)
    return ReviewItem.objects.create(round=rnd, subject_type=ct, subject_id=10_000 + ReviewItem.objects.count() + n,
                                     title=f"评审对象{n}", discipline_code="520.20")


def make_assignment(rnd, item, expert, state, *, total=None, late=False):
    """One invitation in ``state``; a submitted one gets a review with ``total``, before or after the deadline."""
    invited = rnd.review_deadline - datetime.timedelta(days=10)
    a = Assignment.objects.create(
        round=rnd, item=item, expert=expert, state=state, invited_at=invited,
        respond_by=invited + datetime.timedelta(days=3),
        decline_reason="时间冲突" if state == AS.DECLINED else "",
        submitted_at=(rnd.review_deadline + datetime.timedelta(hours=2 if late else -2)
                      if state == AS.SUBMITTED else None),
    )
    if state == AS.SUBMITTED:
        Review.objects.create(assignment=a, total=Decimal(total))
    return a


def test_evaluation_figures_exact():
    """X: 4 invitations — 1 declined, 1 expired, 2 submitted (one late). On item A X gave 80 against 70 and 60
    (others' mean 65: deviation 15); on item B X gave 70 against 90 (deviation 20)."""
    rnd = RoundFactory()
    x, y, z = ExpertFactory(name="甲"), ExpertFactory(name="乙"), ExpertFactory(name="丙")
    a, b, c, d = (make_item(rnd, n) for n in range(4))
    make_assignment(rnd, c, x, AS.DECLINED)
    make_assignment(rnd, d, x, AS.EXPIRED)
    make_assignment(rnd, a, x, AS.SUBMITTED, total="80")
    make_assignment(rnd, b, x, AS.SUBMITTED, total="70", late=True)
    make_assignment(rnd, a, y, AS.SUBMITTED, total="70")
    make_assignment(rnd, a, z, AS.SUBMITTED, total="60")
    make_assignment(rnd, b, y, AS.SUBMITTED, total="90")
    make_assignment(rnd, c, y, AS.ACCEPTED)

    stats = {s["expert"].pk: s for s in expert_evaluation()}
    sx, sy, sz = stats[x.pk], stats[y.pk], stats[z.pk]
    assert (sx["invited"], sx["declined"], sx["expired"], sx["submitted"], sx["on_time"]) == (4, 1, 1, 2, 1)
    assert sx["decline_rate"] == Decimal("50.0")
    assert sx["on_time_rate"] == Decimal("50.0")
    assert sx["mean_deviation"] == Decimal("17.50")
    # Y: on A |70 − (80+60)/2| = 0, on B |90 − 70| = 20; 3 invitations, none declined, both submitted on time
    assert (sy["decline_rate"], sy["on_time_rate"], sy["mean_deviation"]) == (Decimal("0.0"), Decimal("100.0"),
                                                                              Decimal("10.00"))
    # Z: |60 − (80+70)/2| = 15
    assert sz["mean_deviation"] == Decimal("15.00")


def test_decline_rate_counts_only_invitations_with_a_known_outcome():
    """1 declined, 1 accepted, plus 2 still open and 1 cancelled by the bureau: the rate is 1 of 2, not 1 of 5."""
    rnd = RoundFactory()
    x = ExpertFactory()
    items = [make_item(rnd, n) for n in range(5)]
    for item, state in zip(items, [AS.DECLINED, AS.ACCEPTED, AS.INVITED, AS.INVITED, AS.CANCELLED], strict=True):
        make_assignment(rnd, item, x, state)
    s = expert_evaluation(Expert.objects.filter(pk=x.pk))[0]
    assert (s["invited"], s["decline_rate"]) == (5, Decimal("50.0"))


def test_bureau_staff_cannot_register_as_experts(db):
    for roles in (["officer"], ["supervisor"], ["finance"]):
        user = UserFactory(roles=roles)
        with pytest.raises(PermissionRefused, match="科技局工作人员不能登记为评审专家"):
            pool.register_expert(user=user, data=PROFILE)
    assert not Expert.objects.exists()


def test_nobody_decides_on_their_own_expert_status(officer):
    """A user who is an officer and (registered before becoming one) an expert cannot approve or suspend
    themself."""
    expert = ExpertFactory(user=officer, status=Expert.Status.PENDING)
    with pytest.raises(PermissionRefused, match="本人"):
        pool.approve_expert(actor=officer, expert_id=expert.pk)
    expert.refresh_from_db()
    assert expert.status == Expert.Status.PENDING


def test_evaluation_of_an_expert_without_history_is_empty_not_zero():
    s = expert_evaluation(Expert.objects.filter(pk=ExpertFactory().pk))[0]
    assert (s["invited"], s["decline_rate"], s["on_time_rate"], s["mean_deviation"]) == (0, None, None, None)


@pytest.mark.parametrize("n", [2, 20])
def test_evaluation_runs_a_fixed_number_of_queries(n, django_assert_num_queries):
    rnd = RoundFactory()
    item = make_item(rnd)
    for i in range(n):
        make_assignment(rnd, item, ExpertFactory(), AS.SUBMITTED, total=str(60 + i))
        make_assignment(rnd, make_item(rnd, i + 10), ExpertFactory(), AS.DECLINED)
    with django_assert_num_queries(3):
        rows = expert_evaluation(Expert.objects.filter(status=S.ACTIVE))
    assert len(rows) == 2 * n


def test_evaluation_counts_only_the_given_experts(officer):
    rnd = RoundFactory()
    item = make_item(rnd)
    kept, other = ExpertFactory(), ExpertFactory()
    make_assignment(rnd, item, kept, AS.SUBMITTED, total="80")
    make_assignment(rnd, item, other, AS.SUBMITTED, total="60")
    rows = expert_evaluation(Expert.objects.filter(pk=kept.pk))
    assert [r["expert"].pk for r in rows] == [kept.pk]
    assert rows[0]["mean_deviation"] == Decimal("20.00")  # the other expert's score still counts as "others"

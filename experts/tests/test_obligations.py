"""The experts app's dated obligations on the deadline sweeper (experts.obligations): invitations to answer,
reviews to submit (reassigned when overdue) and the 立项公示 ending; who is reminded at each stage, what
resolves the 督办 item, and the automatic reassignment of an overdue review."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.deadlines import Stage, end_of_day, get_kind, shift
from activity.messaging import MessageKind
from activity.models import AuditEvent, Escalation, Notification, Reminder
from activity.sweeper import sweep
from activity.tests.ladder import MINUTE, climb, escalation, sent, sweep_at
from experts.models import Assignment, Draw, FundingList, Review, ReviewItem, ReviewRound
from experts.services import assign, funding, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS, LATE_REVIEW_TIME

from .factories import ExpertFactory, accepted_application

pytestmark = pytest.mark.django_db

INVITATION, REVIEW, PUBLICITY = "invitation_unanswered", "review_due", "publicity_end"
ALL = [code for code, _label in COMMITMENT_ITEMS]
AS = Assignment.State


def drawn_round(officer, call, *, experts=3, conflicted=0):
    """A reviewing round over one application after a random draw from ``experts`` experts; ``conflicted`` more
    experts work for the applicant (回避: never eligible). Returns (round, item, conflicted experts)."""
    app = accepted_application(call)
    ExpertFactory.create_batch(experts)
    blocked = [ExpertFactory(organization=app.organization, workplace=app.organization.name)
               for _ in range(conflicted)]
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7)
    return rnd, ReviewItem.objects.get(round=rnd), blocked


def of_item(item, state):
    return list(Assignment.objects.filter(item=item, state=state).select_related("expert__user").order_by("id"))


def accept_all(item):
    for a in of_item(item, AS.INVITED):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    return of_item(item, AS.ACCEPTED)


def full_scores(rnd):
    return {str(c.pk): str(c.max_score) for c in rnd.criteria.all()}


def submit(a, now):
    return reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, scores=full_scores(a.round),
                                 comment="方案可行", recommendation=Review.Recommendation.FUND, now=now)


def sweep_acting(moment, kinds, django_capture_on_commit_callbacks):
    """Sweep at ``moment`` and run what it queued after commit (the automatic action) at that same moment."""
    with time_machine.travel(moment, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            return sweep(kinds=kinds)


# ---- 评审邀请答复 ------------------------------------------------------------------------------------------------


def test_an_unanswered_invitation_reminds_its_expert_only_before_it_lapses(officer, open_call):
    _rnd, item, _b = drawn_round(officer, open_call)
    a = of_item(item, AS.INVITED)[0]
    seen = climb(INVITATION, a.pk, a.respond_by, owners=[a.expert.user], expect_escalation=False)
    assert set(seen) == {"d2", "d1"}
    note = Notification.objects.get(recipient=a.expert.user, reminder__kind=INVITATION, reminder__object_id=a.pk,
                                    reminder__stage="d1")
    assert note.link == reverse("experts:invitation", args=[a.pk]) and item.title in note.title
    # past respond_by it is the expiry sweeper's: no overdue reminder, no 督办 item
    sweep_at(a.respond_by + datetime.timedelta(hours=1), kinds=[INVITATION])
    assert not Escalation.objects.filter(kind=INVITATION).exists()
    assert set(Reminder.objects.filter(kind=INVITATION, object_id=a.pk).values_list("stage", flat=True)) == {
        "d2", "d1"}


def test_answering_the_invitation_stops_its_reminders(officer, open_call):
    _rnd, item, _b = drawn_round(officer, open_call)
    first, second, _third = of_item(item, AS.INVITED)
    due = first.respond_by
    sweep_at(due - datetime.timedelta(days=2) + MINUTE, kinds=[INVITATION])
    assert sent(INVITATION, first.pk, "d2") == {first.expert.user_id}
    reviews.accept_invitation(actor=first.expert.user, assignment_id=first.pk, confirmed=ALL)
    reviews.decline_invitation(actor=second.expert.user, assignment_id=second.pk, reason="出差在外")
    sweep_at(due - datetime.timedelta(days=1) + MINUTE, kinds=[INVITATION])
    assert sent(INVITATION, first.pk, "d1") == set() and sent(INVITATION, second.pk, "d1") == set()
    assert len(Reminder.objects.filter(kind=INVITATION, stage="d1")) == 1  # the third, still unanswered


# ---- 专家评审意见提交 ------------------------------------------------------------------------------------------


def test_a_review_not_submitted_climbs_to_the_officers_and_the_supervisor(officer, supervisor, open_call):
    rnd, item, _b = drawn_round(officer, open_call)
    a = accept_all(item)[0]
    seen = climb(REVIEW, a.pk, rnd.review_deadline, owners=[a.expert.user], responsible=[officer],
                 supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation(REVIEW, a.pk)
    assert esc.holder == f"专家 {a.expert.name}" and item.title in esc.title
    overdue = Notification.objects.get(recipient=a.expert.user, reminder__kind=REVIEW, reminder__object_id=a.pk,
                                       reminder__stage=Stage.OVERDUE)
    assert overdue.link == reverse("experts:review", args=[a.pk])


def test_submitting_the_review_resolves_the_escalation(officer, supervisor, open_call):
    rnd, item, _b = drawn_round(officer, open_call)
    a = accept_all(item)[0]
    due = rnd.review_deadline
    sweep_at(shift(due, 1) + MINUTE, kinds=[REVIEW])
    esc = escalation(REVIEW, a.pk)
    assert esc.level == Escalation.Level.YELLOW and esc.resolved_at is None
    submit(a, now=shift(due, 1) + datetime.timedelta(hours=1))  # late, but the round still takes it
    sweep_at(shift(due, 1) + datetime.timedelta(hours=2), kinds=[REVIEW])
    esc.refresh_from_db()
    assert esc.resolved_at is not None
    sweep_at(shift(due, 5), kinds=[REVIEW])
    assert sent(REVIEW, a.pk, Stage.RED) == set()


def test_an_overdue_review_is_reassigned_once_to_an_eligible_expert(officer, open_call,
                                                                     django_capture_on_commit_callbacks):
    rnd, item, (conflicted,) = drawn_round(officer, open_call, experts=3, conflicted=1)
    assert Assignment.objects.filter(item=item).count() == 3  # the conflicted expert was never drawn
    late, *others = accept_all(item)
    reviews.save_review(actor=late.expert.user, assignment_id=late.pk, scores={str(rnd.criteria.first().pk): "20"})
    newcomer = ExpertFactory()  # joined the pool after the draw: the only one eligible
    due = rnd.review_deadline
    for other in others:
        submit(other, now=due - datetime.timedelta(hours=1))
    sweep_acting(shift(due, 1) + MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    late.refresh_from_db()
    assert late.state == AS.ACCEPTED  # 黄牌 first; the system waits for the action's day

    moment = shift(due, 2) + MINUTE
    sweep_acting(moment, [REVIEW], django_capture_on_commit_callbacks)
    sweep_acting(moment + MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    assert get_kind(REVIEW).act(late.pk, due, moment + datetime.timedelta(hours=1)) is False
    late.refresh_from_db()
    assert late.state == AS.CANCELLED and late.replaced_at is not None
    new = late.replacement
    assert new.expert_id == newcomer.pk and new.expert_id not in (late.expert_id, conflicted.pk)
    assert new.state == AS.INVITED and new.draw.method == Draw.Method.REPLACEMENT
    assert Assignment.objects.filter(item=item).count() == 4  # exactly one replacement
    # the late expert's draft is kept, and they are told
    assert Review.objects.get(assignment=late).total == Decimal("20")
    told = Notification.objects.get(recipient=late.expert.user, kind=MessageKind.REVIEW_CANCELLED)
    assert "改派" in told.body and "草稿予以保留" in told.body
    [note] = Notification.objects.filter(recipient=officer, kind=MessageKind.REVIEW_REPLACED)
    assert late.expert.name in note.body and newcomer.name in note.body and "逾期未提交" in note.body
    assert AuditEvent.objects.filter(verb="cancel", target_id=str(late.pk), to_state=AS.CANCELLED).exists()
    assert AuditEvent.objects.filter(verb="replace", target_id=str(late.pk)).count() == 1
    # the replacement has time to answer and its own review deadline (the round's has passed)
    assert new.respond_by == moment + assign.REPLACEMENT_RESPONSE_TIME
    invite = Notification.objects.get(recipient=newcomer.user, kind=MessageKind.REVIEW_INVITED)
    assert "逾期改派" in invite.body
    # the overdue item is resolved on the next sweep; the reminders now follow the new assignment
    sweep_at(moment + datetime.timedelta(hours=1), kinds=[REVIEW, INVITATION])
    assert escalation(REVIEW, late.pk).resolved_at is not None
    assert sent(INVITATION, new.pk, "d2") == {newcomer.user_id}
    reviews.accept_invitation(actor=newcomer.user, assignment_id=new.pk, confirmed=ALL,
                              now=moment + datetime.timedelta(hours=2))
    own_due = moment + LATE_REVIEW_TIME
    sweep_at(own_due - datetime.timedelta(days=1) + MINUTE, kinds=[REVIEW])
    assert Reminder.objects.get(kind=REVIEW, object_id=new.pk, stage="d1").due_at == own_due
    assert sent(REVIEW, new.pk, "d1") == {newcomer.user_id}
    assert not Escalation.objects.filter(kind=REVIEW, object_id=new.pk).exists()


def test_a_review_submitted_before_the_action_is_not_reassigned(officer, open_call,
                                                                 django_capture_on_commit_callbacks):
    rnd, item, _b = drawn_round(officer, open_call, experts=3)
    a, *others = accept_all(item)
    ExpertFactory()  # someone eligible exists
    due = rnd.review_deadline
    for other in others:
        submit(other, now=due - datetime.timedelta(hours=1))
    sweep_at(shift(due, 1) + MINUTE, kinds=[REVIEW])
    submit(a, now=shift(due, 2))
    # the action queued for it runs late: nothing happens
    assert get_kind(REVIEW).act(a.pk, due, shift(due, 2) + MINUTE) is False
    sweep_acting(shift(due, 2) + MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    a.refresh_from_db()
    assert a.state == AS.SUBMITTED and a.replacement is None
    assert Assignment.objects.filter(item=item).count() == 3
    assert not Notification.objects.filter(kind__in=[MessageKind.REVIEW_REPLACED, MessageKind.REVIEW_CANCELLED])
    assert escalation(REVIEW, a.pk).resolved_at is not None


def test_an_action_for_a_moved_deadline_does_nothing(officer, open_call):
    rnd, item, _b = drawn_round(officer, open_call, experts=3)
    a = accept_all(item)[0]
    ExpertFactory()
    due = rnd.review_deadline
    ReviewRound.objects.filter(pk=rnd.pk).update(review_deadline=due + datetime.timedelta(days=7))
    assert get_kind(REVIEW).act(a.pk, due, shift(due, 2)) is False
    a.refresh_from_db()
    assert a.state == AS.ACCEPTED


def test_when_nobody_eligible_remains_the_officer_is_told_and_the_expert_keeps_the_review(
        officer, supervisor, open_call, django_capture_on_commit_callbacks):
    rnd, item, _conflicted = drawn_round(officer, open_call, experts=3, conflicted=2)
    a, *others = accept_all(item)
    due = rnd.review_deadline
    for other in others:
        submit(other, now=due - datetime.timedelta(hours=1))
    sweep_acting(shift(due, 2) + MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    sweep_acting(shift(due, 2) + 2 * MINUTE, [REVIEW], django_capture_on_commit_callbacks)
    assert get_kind(REVIEW).act(a.pk, due, shift(due, 2) + 3 * MINUTE) is False
    a.refresh_from_db()
    assert a.state == AS.ACCEPTED and a.replacement is None
    assert Assignment.objects.filter(item=item).count() == 3
    [note] = Notification.objects.filter(recipient=officer, kind=MessageKind.REVIEW_SHORTFALL)
    assert a.expert.name in note.body and "没有符合条件的专家" in note.body
    assert not Notification.objects.filter(kind=MessageKind.REVIEW_CANCELLED).exists()
    assert AuditEvent.objects.filter(verb="reassign_shortfall", target_id=str(a.pk)).exists()
    # the ladder goes on to the supervisor
    sweep_at(shift(due, 3) + MINUTE, kinds=[REVIEW])
    assert sent(REVIEW, a.pk, Stage.RED) == {supervisor.pk}
    assert escalation(REVIEW, a.pk).level == Escalation.Level.RED


def test_the_review_kind_reads_a_batch_in_a_fixed_number_of_queries(officer, open_call):
    rnd, item, _b = drawn_round(officer, open_call, experts=3)
    rows = accept_all(item)
    kind = get_kind(REVIEW)
    policy = None
    with CaptureQueriesContext(connection) as one:
        kind.obligations(rows[:1], policy)
    with CaptureQueriesContext(connection) as three:
        obligations = kind.obligations(rows, policy)
    assert len(three) == len(one)
    assert {ob.due_at for ob in obligations} == {rnd.review_deadline}


# ---- 立项公示期满 ------------------------------------------------------------------------------------------------


@pytest.fixture
def publicized(officer, supervisor, open_call):
    """A 立项清单 of one application, signed off and in 公示 from today."""
    app = accepted_application(open_call)
    experts = ExpertFactory.create_batch(3)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    item = ReviewItem.objects.get(round=rnd, subject_id=app.pk)
    now = timezone.now()
    for expert in experts:
        a = Assignment.objects.create(round=rnd, item=item, expert=expert, state=AS.SUBMITTED, invited_at=now,
                                      respond_by=now, submitted_at=now)
        Review.objects.create(assignment=a, total=Decimal(85), recommendation="fund")
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.CLOSED, closed_at=now)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk)
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk)
    return funding.publish_list(actor=officer, list_id=fl.pk)


def test_the_end_of_publicity_climbs_to_the_officers_and_the_supervisor(officer, supervisor, publicized):
    other_officer = UserFactory(roles=["officer"])
    seen = climb(PUBLICITY, publicized.pk, end_of_day(publicized.publicity_end), owners=[officer, other_officer],
                 responsible=[officer, other_officer], supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    note = Notification.objects.get(recipient=officer, reminder__kind=PUBLICITY, reminder__stage="d1")
    assert note.link == reverse("experts:funding_list", args=[publicized.round_id])
    assert publicized.title in escalation(PUBLICITY, publicized.pk).title


def test_approving_the_list_resolves_the_escalation(officer, supervisor, publicized):
    due = end_of_day(publicized.publicity_end)
    sweep_at(shift(due, 3) + MINUTE, kinds=[PUBLICITY])
    esc = escalation(PUBLICITY, publicized.pk)
    assert esc.level == Escalation.Level.YELLOW and esc.resolved_at is None
    with time_machine.travel(shift(due, 3) + datetime.timedelta(hours=1), tick=False):
        assert funding.approve_list(actor=officer, list_id=publicized.pk).state == FundingList.State.APPROVED
    sweep_at(shift(due, 3) + datetime.timedelta(hours=2), kinds=[PUBLICITY])
    esc.refresh_from_db()
    assert esc.resolved_at is not None
    sweep_at(shift(due, 10), kinds=[PUBLICITY])
    assert sent(PUBLICITY, publicized.pk, Stage.RED) == set()

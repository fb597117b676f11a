"""Integrity of expert review under suspension, concurrency and retries: a suspended expert's open invitations,
the sweeper over many rows, 立项 lists rebuilt or approved after their applications were decided elsewhere, the
call budget shared by several lists; and, on PostgreSQL, draws, closes and approvals running at the same time."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts.exceptions import InvalidInput, TransitionRefused
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from experts.models import (
    Alternate,
    Assignment,
    Commitment,
    Expert,
    FundingList,
    FundingListEntry,
    Review,
    ReviewItem,
    ReviewRound,
)
from experts.services import assign, funding, pool, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.models import Application, Project
from projects.services import establish_project
from projects.tests.factories import CallFactory

from .factories import ExpertFactory, accepted_application

AS = Assignment.State
ALL = [code for code, _label in COMMITMENT_ITEMS]
TZ = timezone.get_current_timezone()
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql",
                                 reason="row-lock concurrency is exercised on PostgreSQL")


def live_round(officer, call, *, apps=1, experts=6, per_item=3, seed=11):
    for _ in range(apps):
        accepted_application(call)
    ExpertFactory.create_batch(experts)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": per_item})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=seed)
    return rnd


def scored(assignment, total=Decimal("80")):
    """Scores adding up to ``total`` on the round's 30/20/20/20/10 rubric (proportionally)."""
    criteria = list(assignment.round.criteria.all())
    return {str(c.pk): str((c.max_score * total / 100).quantize(Decimal("0.1"))) for c in criteria}


# ---- a suspended or retired expert ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_expert_no_longer_active_cannot_accept(officer, open_call):
    rnd = live_round(officer, open_call)
    a = Assignment.objects.filter(round=rnd, state=AS.INVITED).select_related("expert__user").first()
    Expert.objects.filter(pk=a.expert_id).update(status=Expert.Status.SUSPENDED)
    with pytest.raises(TransitionRefused, match="专家状态为“暂停”"):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    a.refresh_from_db()
    assert a.state == AS.INVITED
    # declining stays possible
    reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="已暂停")


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["suspend", "retire"])
def test_leaving_the_pool_cancels_unanswered_invitations_and_replaces_them(
        officer, open_call, action, django_capture_on_commit_callbacks):
    rnd = live_round(officer, open_call, experts=6)
    first, second, _third = Assignment.objects.filter(round=rnd).select_related("expert__user").order_by("id")
    reviews.accept_invitation(actor=first.expert.user, assignment_id=first.pk, confirmed=ALL)
    alternates = list(Alternate.objects.filter(item=second.item).order_by("rank").values_list("expert_id", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        getattr(pool, f"{action}_expert")(actor=officer, expert_id=second.expert_id, reason="违反评审纪律")
    second.refresh_from_db()
    assert second.state == AS.CANCELLED
    assert AuditEvent.objects.filter(verb="cancel", target_id=str(second.pk), actor=officer).exists()
    assert second.replacement is not None and second.replacement.expert_id == alternates[0]
    assert second.replacement.state == AS.INVITED
    assert Assignment.objects.filter(item=second.item, state__in=Assignment.ACTIVE_STATES).count() == 3
    [note] = Notification.objects.filter(recipient=officer, kind=MessageKind.REVIEW_REPLACED)
    assert second.expert.name in note.body and second.replacement.expert.name in note.body
    told = Notification.objects.get(recipient=second.expert.user, kind=MessageKind.EXPERT_STATUS_CHANGED)
    assert "违反评审纪律。" in told.body and "1项评审邀请已取消" in told.body
    # an accepted review stays with its expert, who may still finish it
    with django_capture_on_commit_callbacks(execute=True):
        getattr(pool, f"{action}_expert")(actor=officer, expert_id=first.expert_id, reason="个人原因")
    first.refresh_from_db()
    assert first.state == AS.ACCEPTED
    done = reviews.submit_review(actor=first.expert.user, assignment_id=first.pk, scores=scored(first),
                                 recommendation="fund")
    assert done.state == AS.SUBMITTED


# ---- the sweeper ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sweeper_expires_more_than_one_batch_in_a_run(officer, open_call, django_capture_on_commit_callbacks):
    rnd = live_round(officer, open_call, apps=3, experts=9)
    due = sorted(Assignment.objects.filter(round=rnd, state=AS.INVITED).values_list("id", flat=True))
    assert len(due) == 9
    later = rnd.response_deadline + datetime.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=False):
        expired = reviews.expire_due_invitations(now=later, batch=2)
    assert sorted(expired) == due
    assert Assignment.objects.filter(pk__in=due, state=AS.EXPIRED).count() == 9


# ---- 立项 lists -----------------------------------------------------------------------------------------------------


def closed_round(officer, call, *, n=2, total=Decimal("85")):
    """A closed round over ``n`` new accepted applications of ``call``, each scored ``total`` by three experts."""
    apps = [accepted_application(call) for _ in range(n)]
    experts = ExpertFactory.create_batch(3)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
    now = timezone.now()
    for app in apps:
        item = ReviewItem.objects.create(round=rnd, subject=app, number=app.number or "", title=app.title,
                                         discipline_code=app.discipline_code, requested_amount=Decimal("350000.00"))
        for expert in experts:
            a = Assignment.objects.create(round=rnd, item=item, expert=expert, state=AS.SUBMITTED, invited_at=now,
                                          respond_by=now, submitted_at=now)
            Review.objects.create(assignment=a, total=total, recommendation="fund")
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.CLOSED, closed_at=now)
    return rnd, apps


@pytest.fixture
def supervisor(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(roles=["supervisor"], real_name="刘局长")


@pytest.mark.django_db
def test_an_entry_rebuilt_away_is_refused_not_a_crash(officer, open_call):
    rnd, _apps = closed_round(officer, open_call)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk)
    stale = fl.entries.first().pk
    funding.build_funding_list(actor=officer, round_id=rnd.pk)  # a rebuild replaces the entries
    assert not FundingListEntry.objects.filter(pk=stale).exists()
    with pytest.raises(InvalidInput, match="已不在立项清单中"):
        funding.set_granted_amount(actor=officer, entry_id=stale, amount="1000")
    with pytest.raises(InvalidInput, match="已不在立项清单中"):
        funding.remove_entry(actor=officer, entry_id=stale, reason="重复")


@pytest.mark.django_db
def test_the_call_budget_is_shared_by_the_lists_of_its_rounds(officer, supervisor):
    call = CallFactory(total_budget=Decimal("1000000.00"))
    first, _ = closed_round(officer, call, n=2)  # 700,000
    second, _ = closed_round(officer, call, n=1)  # 350,000
    fl1 = funding.build_funding_list(actor=officer, round_id=first.pk)
    funding.submit_for_signoff(actor=officer, list_id=fl1.pk)
    fl2 = funding.build_funding_list(actor=officer, round_id=second.pk)
    with pytest.raises(InvalidInput, match="加上本指南其他立项清单的 700000.00 元"):
        funding.submit_for_signoff(actor=officer, list_id=fl2.pk)
    entry = fl2.entries.get()
    funding.set_granted_amount(actor=officer, entry_id=entry.pk, amount="300000")
    assert funding.submit_for_signoff(actor=officer, list_id=fl2.pk).state == FundingList.State.PENDING_SIGNOFF


@pytest.mark.django_db
def test_approval_skips_an_application_decided_meanwhile_and_approves_the_rest(officer, supervisor, open_call):
    rnd, (decided, other) = closed_round(officer, open_call)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk)
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk)
    funding.publish_list(actor=officer, list_id=fl.pk, start=datetime.date(2026, 9, 30))
    earlier = establish_project(actor=officer, application_id=decided.pk, granted_amount=Decimal("100000"))
    approved = funding.approve_list(actor=officer, list_id=fl.pk,
                                    now=datetime.datetime(2026, 10, 13, 9, tzinfo=TZ))
    assert approved.state == FundingList.State.APPROVED
    assert list(Project.objects.filter(application=decided)) == [earlier]  # not established twice
    assert Project.objects.get(application=other).granted_amount == Decimal("350000.00")
    assert Application.objects.get(pk=other.pk).state == Application.State.APPROVED
    entry = fl.entries.get(item__subject_id=decided.pk)
    assert entry.removed_at is not None and "已立项" in entry.removed_reason
    assert AuditEvent.objects.filter(verb="approve_skipped", target_id=str(fl.pk)).exists()


# ---- at the same time (PostgreSQL) -----------------------------------------------------------------------------------


def run_concurrently(*fns):
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:  # the test inspects what each thread got
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_draws_on_two_rounds_at_once_keep_every_expert_within_the_cap(officer):
    experts = ExpertFactory.create_batch(3, annual_cap=1)
    rnds = []
    for _ in range(2):
        call = CallFactory()
        accepted_application(call)
        rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
        rounds.add_items(actor=officer, round_id=rnd.pk)
        rounds.start_round(actor=officer, round_id=rnd.pk)
        rnds.append(rnd)
    results = run_concurrently(
        *[lambda r=r: assign.run_draw(actor=officer, round_id=r.pk, method="random", seed=7) for r in rnds]
    )
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, InvalidInput)], results
    for e in experts:
        assert Assignment.objects.filter(expert=e, state__in=Assignment.ACTIVE_STATES).count() <= 1
    assert Assignment.objects.count() == 3  # one round got the three experts, the other a shortfall


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_review_submitted_while_the_round_closes_is_kept(officer, open_call):
    rnd = live_round(officer, open_call)
    a = Assignment.objects.filter(round=rnd).select_related("expert__user", "round").first()
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    locked = threading.Event()

    def submit():
        with transaction.atomic():
            Assignment.objects.select_for_update().get(pk=a.pk)  # the expert's submit holds the row…
            locked.set()
            time.sleep(0.5)  # …while the officer closes the round
            return reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, scores=scored(a),
                                         recommendation="fund")

    def close():
        locked.wait(5)
        return rounds.close_round(actor=officer, round_id=rnd.pk, force=True, reason="时间紧")

    results = run_concurrently(submit, close)
    assert not [r for r in results if isinstance(r, Exception)], results
    a.refresh_from_db()
    assert a.state == AS.SUBMITTED
    assert ReviewRound.objects.get(pk=rnd.pk).state == ReviewRound.State.CLOSED
    assert not Assignment.objects.filter(round=rnd, state__in=[AS.INVITED, AS.ACCEPTED]).exists()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_projects_established_at_once_in_two_calls_of_a_programme_get_distinct_numbers(officer):
    apps = [accepted_application(CallFactory()) for _ in range(2)]
    results = run_concurrently(
        *[lambda a=a: establish_project(actor=officer, application_id=a.pk, granted_amount=Decimal("1000"))
          for a in apps]
    )
    assert all(isinstance(r, Project) for r in results), results
    assert len({r.number for r in results}) == 2


@pytest.mark.django_db
def test_no_manual_assignment_after_the_review_deadline(officer, open_call):
    rnd = live_round(officer, open_call, experts=4)
    item = ReviewItem.objects.get(round=rnd)
    spare = Expert.objects.exclude(assignments__item=item).first()
    with pytest.raises(TransitionRefused, match="评审截止时间已过"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=spare.pk,
                               now=rnd.review_deadline)
    assert not Assignment.objects.filter(expert=spare).exists()
    assert assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=spare.pk).state == AS.INVITED


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_draws_on_one_round_at_once_fill_each_item_once(officer, open_call):
    accepted_application(open_call)
    ExpertFactory.create_batch(8)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    results = run_concurrently(
        lambda: assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=1),
        lambda: assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal"),
    )
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(refused) == 1 and "均已配齐专家" in refused[0].message, results
    assert Assignment.objects.filter(round=rnd, state=AS.INVITED).count() == 3


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_an_expert_accepting_while_the_sweeper_expires_the_invitation(officer, open_call):
    rnd = live_round(officer, open_call)
    a = Assignment.objects.filter(round=rnd).select_related("expert__user").first()
    results = run_concurrently(
        lambda: reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, now=a.respond_by),
        lambda: reviews.expire_invitation(assignment_id=a.pk, now=a.respond_by + datetime.timedelta(seconds=1)),
    )
    assert sum(isinstance(r, TransitionRefused) for r in results) == 1, results
    a.refresh_from_db()
    assert a.state in (AS.ACCEPTED, AS.EXPIRED)
    assert Commitment.objects.filter(assignment=a).exists() == (a.state == AS.ACCEPTED)

"""Invitations: accept with the 承诺书, decline with a reason, expiry; automatic replacement afterwards."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from experts.models import Alternate, Assignment, Commitment, Draw, ReviewItem, ReviewRound, Unavailability
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS, COMMITMENT_VERSION, commitment_text

from .factories import ExpertFactory, accepted_application

pytestmark = pytest.mark.django_db

ALL = [code for code, _label in COMMITMENT_ITEMS]


def drawn_round(officer, call, *, experts=5, per_item=3, seed=11, method="random"):
    """A reviewing round over one application, ``experts`` experts in the pool, after one draw."""
    accepted_application(call)
    pool = ExpertFactory.create_batch(experts)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": per_item})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=seed)
    item = ReviewItem.objects.get(round=rnd)
    return rnd, item, pool, outcome


def invited(item):
    return list(Assignment.objects.filter(item=item, state=Assignment.State.INVITED)
                .select_related("expert__user").order_by("id"))


def officer_notes(officer, kind):
    return list(Notification.objects.filter(recipient=officer, kind=kind).order_by("id"))


# ---- accept -------------------------------------------------------------------------------------------------


def test_accept_signs_the_commitment_with_text_version_ip_and_time(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    at = timezone.now().replace(microsecond=0)
    done = reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, ip="10.1.2.3",
                                     user_agent="Mozilla/5.0 测试", now=at)
    assert done.state == Assignment.State.ACCEPTED and done.responded_at == at
    c = Commitment.objects.get(assignment=a)
    assert c.text == commitment_text() and "保密" in c.text and "无利益冲突" in c.text
    assert c.version == COMMITMENT_VERSION
    assert c.ip == "10.1.2.3" and c.user_agent == "Mozilla/5.0 测试"
    assert c.signed_at == at
    assert AuditEvent.objects.filter(verb="accept", target_id=str(a.pk), actor=a.expert.user).exists()


def test_accept_needs_every_statement_confirmed(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    with pytest.raises(InvalidInput, match="请逐项确认评审承诺"):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL[:-1])
    a.refresh_from_db()
    assert a.state == Assignment.State.INVITED and not Commitment.objects.exists()


def test_accept_refused_after_the_response_deadline(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    with pytest.raises(TransitionRefused, match="已超过答复截止时间"):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL,
                                  now=a.respond_by + datetime.timedelta(minutes=1))
    a.refresh_from_db()
    assert a.state == Assignment.State.INVITED and not Commitment.objects.exists()
    # right at the deadline it is still on time
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL, now=a.respond_by)


def test_another_expert_cannot_answer_someone_elses_invitation(officer, open_call, expert_user):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    mine, theirs = invited(item)[:2]
    for actor in (theirs.expert.user, expert_user, officer):
        with pytest.raises(PermissionRefused):
            reviews.accept_invitation(actor=actor, assignment_id=mine.pk, confirmed=ALL)
        with pytest.raises(PermissionRefused):
            reviews.decline_invitation(actor=actor, assignment_id=mine.pk, reason="替他谢绝")
    mine.refresh_from_db()
    assert mine.state == Assignment.State.INVITED


def test_answers_refused_when_the_round_is_not_reviewing(officer, open_call):
    rnd, item, _pool, _o = drawn_round(officer, open_call)
    first, second = invited(item)[:2]
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.CLOSED)
    with pytest.raises(TransitionRefused, match="不在评审中"):
        reviews.accept_invitation(actor=first.expert.user, assignment_id=first.pk, confirmed=ALL)
    with pytest.raises(TransitionRefused, match="不在评审中"):
        reviews.decline_invitation(actor=second.expert.user, assignment_id=second.pk, reason="出差")
    assert set(Assignment.objects.values_list("state", flat=True)) == {Assignment.State.INVITED}


def test_an_answered_invitation_cannot_be_answered_again(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    with pytest.raises(TransitionRefused):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="改主意了")
    with pytest.raises(TransitionRefused):
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
    assert Commitment.objects.count() == 1


# ---- decline and replacement ------------------------------------------------------------------------------------


def test_decline_needs_a_reason(officer, open_call, django_capture_on_commit_callbacks):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput, match="必须填写理由"):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="  ")
    a.refresh_from_db()
    assert a.state == Assignment.State.INVITED
    assert Assignment.objects.count() == 3


def test_decline_after_the_response_deadline_is_refused(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    with pytest.raises(TransitionRefused, match="邀请已失效"):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差",
                                   now=a.respond_by + datetime.timedelta(seconds=1))


def test_decline_is_replaced_by_the_next_alternate_and_the_officer_is_told(officer, open_call,
                                                                            django_capture_on_commit_callbacks):
    rnd, item, _pool, outcome = drawn_round(officer, open_call, experts=6)
    alternates = list(Alternate.objects.filter(item=item).order_by("rank"))
    assert len(alternates) == 3
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="近期出国，无法参加")
    a.refresh_from_db()
    assert a.state == Assignment.State.DECLINED and a.decline_reason == "近期出国，无法参加"
    assert a.replaced_at is not None and a.replacement is not None
    new = a.replacement
    assert new.expert_id == alternates[0].expert_id and new.item_id == item.pk
    assert new.state == Assignment.State.INVITED
    assert new.draw.method == Draw.Method.REPLACEMENT and new.draw.summary["from"] == "alternate"
    alternates[0].refresh_from_db()
    assert alternates[0].used_at is not None
    assert Assignment.objects.filter(item=item, state=Assignment.State.INVITED).count() == 3
    [note] = officer_notes(officer, MessageKind.REVIEW_REPLACED)
    assert a.expert.name in note.body and new.expert.name in note.body and "谢绝" in note.body
    assert Notification.objects.filter(recipient=new.expert.user, kind=MessageKind.REVIEW_INVITED).exists()
    assert rnd.created_by == officer


def test_an_alternate_no_longer_eligible_is_skipped(officer, open_call, django_capture_on_commit_callbacks):
    rnd, item, _pool, _o = drawn_round(officer, open_call, experts=6)
    first, second = Alternate.objects.filter(item=item).order_by("rank")[:2]
    Unavailability.objects.create(expert_id=first.expert_id, start_date=timezone.localdate(),
                                  end_date=timezone.localdate(rnd.review_deadline))
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差")
    a.refresh_from_db()
    assert a.replacement.expert_id == second.expert_id
    assert not Assignment.objects.filter(expert_id=first.expert_id).exists()


def test_expiry_is_replaced_too(officer, open_call, django_capture_on_commit_callbacks):
    rnd, item, _pool, _o = drawn_round(officer, open_call, experts=5)
    first = invited(item)
    accepted = first[1]
    reviews.accept_invitation(actor=accepted.expert.user, assignment_id=accepted.pk, confirmed=ALL)
    late = [first[0], first[2]]
    alternates = list(Alternate.objects.filter(item=item).order_by("rank").values_list("expert_id", flat=True))
    with time_machine.travel(rnd.response_deadline + datetime.timedelta(minutes=5), tick=False):
        with pytest.raises(TransitionRefused):
            reviews.expire_invitation(assignment_id=accepted.pk)
        with django_capture_on_commit_callbacks(execute=True):
            expired = reviews.expire_due_invitations()
        now = timezone.now()
    assert sorted(expired) == sorted(a.pk for a in late)
    for a in late:
        a.refresh_from_db()
        assert a.state == Assignment.State.EXPIRED and a.replacement is not None
    replacements = {a.replacement.expert_id for a in late}
    assert replacements == set(alternates)
    for a in late:
        # a replacement gets its own time to answer, within the review deadline
        assert a.replacement.respond_by == min(rnd.review_deadline, now + assign.REPLACEMENT_RESPONSE_TIME)
    notes = officer_notes(officer, MessageKind.REVIEW_REPLACED)
    assert len(notes) == 2 and all("逾期未答复" in n.body for n in notes)
    # the sweeper again: nothing more to expire, nothing replaced twice
    with time_machine.travel(rnd.response_deadline + datetime.timedelta(minutes=6), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert reviews.expire_due_invitations() == []
    assert Assignment.objects.filter(item=item).count() == 5


def test_a_replacement_invited_just_before_the_response_deadline_still_gets_time_to_answer(
        officer, open_call, django_capture_on_commit_callbacks):
    rnd, item, _pool, _o = drawn_round(officer, open_call, experts=6)
    a = invited(item)[0]
    with time_machine.travel(rnd.response_deadline - datetime.timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差")
        now = timezone.now()
    a.refresh_from_db()
    assert a.replacement.respond_by == now + assign.REPLACEMENT_RESPONSE_TIME > rnd.response_deadline
    # and the sweeper leaves it alone at the round's response deadline
    with time_machine.travel(rnd.response_deadline + datetime.timedelta(minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            expired = reviews.expire_due_invitations()
    assert a.replacement_id not in expired and len(expired) == 2


def test_expire_refused_before_the_response_deadline(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call)
    a = invited(item)[0]
    with pytest.raises(TransitionRefused, match="尚未到答复截止时间"):
        reviews.expire_invitation(assignment_id=a.pk)
    assert reviews.expire_due_invitations() == []


def test_when_alternates_are_used_up_a_new_draw_with_a_new_seed(officer, open_call,
                                                               django_capture_on_commit_callbacks):
    rnd, item, pool, outcome = drawn_round(officer, open_call, experts=4)
    [alternate] = Alternate.objects.filter(item=item)
    newcomer = ExpertFactory()  # joined the pool after the draw: not among the alternates
    first, second = invited(item)[:2]
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=first.expert.user, assignment_id=first.pk, reason="出差")
    first.refresh_from_db()
    assert first.replacement.expert_id == alternate.expert_id
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=second.expert.user, assignment_id=second.pk, reason="生病")
    second.refresh_from_db()
    new = second.replacement
    assert new.expert_id == newcomer.pk
    assert new.draw.method == Draw.Method.REPLACEMENT and new.draw.summary["from"] == "draw"
    assert new.draw.seed is not None and new.draw.seed != outcome.draw.seed
    assert Assignment.objects.filter(item=item, state=Assignment.State.INVITED).count() == 3
    assert len(officer_notes(officer, MessageKind.REVIEW_REPLACED)) == 2
    # the replacement draw is reproducible from its stored seed, like any random draw
    assert new.draw.candidates["candidates"] == [[newcomer.pk]]
    assert assign.replay_draw(new.draw) is True
    new.draw.candidates["candidates"], new.draw.candidates["affinity"] = [[]], [[]]
    assert assign.replay_draw(new.draw) is False


def test_nobody_eligible_tells_the_officer_of_the_shortfall(officer, open_call, django_capture_on_commit_callbacks):
    rnd, item, _pool, _o = drawn_round(officer, open_call, experts=3)
    assert not Alternate.objects.filter(item=item).exists()
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差")
    a.refresh_from_db()
    assert a.replaced_at is not None and a.replacement is None
    [note] = officer_notes(officer, MessageKind.REVIEW_SHORTFALL)
    assert "没有符合条件的专家可替补" in note.body and a.expert.name in note.body
    assert not officer_notes(officer, MessageKind.REVIEW_REPLACED)
    assert Assignment.objects.filter(item=item, state=Assignment.State.INVITED).count() == 2


def test_replacement_is_idempotent(officer, open_call, django_capture_on_commit_callbacks):
    _rnd, item, _pool, _o = drawn_round(officer, open_call, experts=6)
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差")
    assert len(callbacks) >= 1  # the replacement task waits for the commit
    assert Assignment.objects.filter(item=item).count() == 3
    new = assign.replace_assignment(assignment_id=a.pk)
    assert new is not None
    assert assign.replace_assignment(assignment_id=a.pk) is None
    with django_capture_on_commit_callbacks(execute=True):
        for cb in callbacks:  # the task the decline scheduled, running late
            cb()
    assert Assignment.objects.filter(item=item).count() == 4
    assert Assignment.objects.filter(item=item, state=Assignment.State.INVITED).count() == 3
    assert len(officer_notes(officer, MessageKind.REVIEW_REPLACED)) == 1


def test_an_invitation_still_open_is_not_replaced(officer, open_call):
    _rnd, item, _pool, _o = drawn_round(officer, open_call, experts=6)
    a = invited(item)[0]
    assert assign.replace_assignment(assignment_id=a.pk) is None
    a.refresh_from_db()
    assert a.replaced_at is None and Assignment.objects.count() == 3


def test_the_replacement_task_is_registered_in_a_fresh_process():
    """The web process queues the task by name after a decline; it must be known there, not only in a worker."""
    import subprocess
    import sys

    code = ("import django; django.setup(); from celery import current_app; "
            "from experts.services.reviews import REPLACE_TASK; print(current_app.tasks[REPLACE_TASK].name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "kjproject.settings_test"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "experts.replace_assignment"


def test_a_replacement_drawn_at_random_is_replayable_from_its_seed(officer, open_call,
                                                                   django_capture_on_commit_callbacks):
    _rnd, item, _pool, _o = drawn_round(officer, open_call, experts=3)  # no alternates
    newcomers = {e.pk for e in ExpertFactory.create_batch(10)}
    a = invited(item)[0]
    with django_capture_on_commit_callbacks(execute=True):
        reviews.decline_invitation(actor=a.expert.user, assignment_id=a.pk, reason="出差")
    a.refresh_from_db()
    draw = a.replacement.draw
    assert a.replacement.expert_id in newcomers and set(draw.candidates["experts"]) == newcomers
    assert assign.replay_draw(draw) is True
    seed = draw.seed
    replays = []
    for other in range(seed + 1, seed + 6):
        draw.seed = other
        replays.append(assign.replay_draw(draw))
    assert not all(replays)  # another seed would (typically) have drawn someone else

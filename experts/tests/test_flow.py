"""The whole review, through the services: round → draw → accept → score → rank → 立项 list → 公示 → Projects."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import Notification
from experts.models import Assignment, FundingList, Objection
from experts.selectors import ranking
from experts.services import assign, funding, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.models import Application, Project

from .factories import ExpertFactory, accepted_application

ALL = [code for code, _label in COMMITMENT_ITEMS]


def score_all(assignment, total_by_criterion):
    crit = list(assignment.round.criteria.all())
    return {str(c.pk): v for c, v in zip(crit, total_by_criterion, strict=True)}


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


@pytest.mark.django_db(transaction=False)
def test_round_to_projects(officer, supervisor, open_call):
    apps = [accepted_application(open_call) for _ in range(3)]
    [ExpertFactory() for _ in range(6)]
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    assert rounds.add_items(actor=officer, round_id=rnd.pk) == 3
    rounds.start_round(actor=officer, round_id=rnd.pk)

    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=20261122)
    assert outcome.invited == 9 and not outcome.shortfall
    assert assign.replay_draw(outcome.draw)
    invitations = Notification.objects.filter(kind="review_invited")
    assert invitations.count() == len({a.expert_id for a in Assignment.objects.all()})

    # every invited expert accepts and scores; the first item gets the best scores
    for a in Assignment.objects.select_related("round", "item", "expert__user"):
        user = a.expert.user
        reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.8")
        base = {apps[0].pk: [28, 18, 18, 18, 9], apps[1].pk: [20, 15, 15, 15, 7], apps[2].pk: [10, 8, 8, 8, 4]}
        scores = score_all(a, base[a.item.subject_id])
        comment = "创新性不足，方案不具体。" if a.item.subject_id == apps[2].pk else ""
        reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores, comment=comment, recommendation="fund")
    assert Assignment.objects.filter(state="submitted").count() == 9

    rows = ranking(rnd)
    assert [r.item.subject_id for r in rows] == [apps[0].pk, apps[1].pk, apps[2].pk]
    assert rows[0].result.score == Decimal("91.00")

    rounds.close_round(actor=officer, round_id=rnd.pk)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="60")
    assert fl.entries.count() == 2
    with pytest.raises(PermissionRefused):
        funding.sign_off(actor=officer, list_id=fl.pk)
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk, comment="同意")
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, tzinfo=timezone.get_current_timezone())):
        fl = funding.publish_list(actor=officer, list_id=fl.pk)
    assert fl.publicity_end == datetime.date(2026, 10, 12)  # 5 working days across National Day
    with time_machine.travel(datetime.datetime(2026, 10, 9, 10, tzinfo=timezone.get_current_timezone())):
        objection = funding.record_objection(list_id=fl.pk, name="某公司", contact="0571-1234567",
                                             content="该项目负责人同期承担其他财政项目，存在重复申报。")
        with pytest.raises(TransitionRefused):
            funding.approve_list(actor=officer, list_id=fl.pk)
        funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=False,
                                  resolution="经核查，不存在重复申报。")
    with time_machine.travel(datetime.datetime(2026, 10, 13, 10, tzinfo=timezone.get_current_timezone())):
        fl = funding.approve_list(actor=officer, list_id=fl.pk)
    assert fl.state == FundingList.State.APPROVED
    assert Objection.objects.get().state == "dismissed"
    states = dict(Application.objects.values_list("pk", "state"))
    assert states[apps[0].pk] == states[apps[1].pk] == "approved"
    assert states[apps[2].pk] == "not_approved"
    assert Project.objects.count() == 2
    assert Project.objects.get(application=apps[0]).granted_amount == apps[0].project.requested_amount


@pytest.mark.django_db
def test_submit_needs_every_score_and_comment_below_threshold(officer, open_call):
    accepted_application(open_call)
    [ExpertFactory() for _ in range(3)]
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal")
    a = Assignment.objects.select_related("round", "expert__user").first()
    user = a.expert.user
    with pytest.raises(InvalidInput):
        reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL[:2])
    reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL)
    low = score_all(a, [10, 8, 8, 8, 4])
    with pytest.raises(InvalidInput, match="必须填写评审意见"):
        reviews.submit_review(actor=user, assignment_id=a.pk, scores=low, recommendation="reject")
    over = score_all(a, [31, 8, 8, 8, 4])
    with pytest.raises(InvalidInput, match="0到30"):
        reviews.save_review(actor=user, assignment_id=a.pk, scores=over)
    reviews.submit_review(actor=user, assignment_id=a.pk, scores=low, recommendation="reject", comment="不足")
    with pytest.raises(TransitionRefused):
        reviews.save_review(actor=user, assignment_id=a.pk, scores=low)
    reviews.reopen_review(actor=officer, assignment_id=a.pk, reason="请补充意见")
    reviews.save_review(actor=user, assignment_id=a.pk, scores=low, comment="补充意见", recommendation="reject")

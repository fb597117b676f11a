"""揭榜挂帅 end to end through the services: a need is posted, vetted (with an expert 论证 round) and published;
two teams bid; experts review the bids; the poster confirms two winners under 赛马制; one team is stopped at its
first milestone and the other goes on to the final acceptance judged with the poster."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import make_credit_code
from activity.models import Notification
from experts.models import Assignment
from experts.services import assign, reviews, rounds
from experts.services.reviews import COMMITMENT_ITEMS
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeAcceptance, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, challenge_program

from .factories import ExpertFactory

ALL = [code for code, _label in COMMITMENT_ITEMS]
TZ = timezone.get_current_timezone()


def review_everything(rnd, score_for):
    """Every invited expert accepts and scores ``score_for(subject_id)`` percent of each criterion's maximum."""
    for a in Assignment.objects.filter(round=rnd).select_related("round", "item", "expert__user"):
        user = a.expert.user
        reviews.accept_invitation(actor=user, assignment_id=a.pk, confirmed=ALL, ip="10.0.0.9")
        pct = score_for(a.item.subject_id)
        scores = {str(c.pk): (c.max_score * pct / 100).quantize(Decimal("0.1")) for c in a.round.criteria.all()}
        reviews.submit_review(actor=user, assignment_id=a.pk, scores=scores,
                              comment="" if pct >= 60 else "方案不够具体。", recommendation="fund")


def run_round(officer, challenge, kind, score_for):
    rnd = rounds.create_round(actor=officer, challenge_id=challenge.pk, kind=kind, data={"experts_per_item": 3})
    assert rounds.add_items(actor=officer, round_id=rnd.pk) >= 1
    rounds.start_round(actor=officer, round_id=rnd.pk)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7)
    assert not outcome.shortfall
    review_everything(rnd, score_for)
    rounds.close_round(actor=officer, round_id=rnd.pk)
    return rnd


@pytest.mark.django_db
def test_need_to_race_with_a_team_stopped(officer):
    program = challenge_program()
    for _ in range(8):
        ExpertFactory(discipline_codes=["580.20"])
    with time_machine.travel(datetime.datetime(2026, 11, 2, 9, tzinfo=TZ)):
        need = ChallengeFactory()
        poster = need.created_by
        # the poster's commitment is required
        with pytest.raises(InvalidInput):
            jb.submit_challenge(actor=poster, challenge_id=need.pk)
        need = jb.submit_challenge(actor=poster, challenge_id=need.pk, accept_commitment=True)
        assert need.state == "submitted" and need.number.startswith("XQ2026-")
        assert Notification.objects.filter(kind="challenge_submitted", recipient=officer).exists()
        jb.start_vetting(actor=officer, challenge_id=need.pk)

        # 论证 by experts through the review machinery: the score comes back to the need
        run_round(officer, need, "need", lambda _pk: 85)
        need.refresh_from_db()
        assert need.vetting_score == Decimal("85.00")

        need = jb.publish_challenge(actor=officer, challenge_id=need.pk, program_id=program.pk,
                                    bid_deadline=datetime.datetime(2026, 11, 30, 17, tzinfo=TZ), max_winners=3,
                                    opinion="需求真实，指标可考核。")
        assert need.state == "published" and need.is_race

        # the poster cannot bid on its own challenge
        with pytest.raises(PermissionRefused):
            jb.create_bid(actor=poster, challenge_id=need.pk)

        # two teams bid: one alone, one as a consortium
        bids = []
        for i in range(2):
            draft = BidFactory(challenge=need)
            user = draft.created_by
            if i == 1:
                jb.set_bid_partners(actor=user, bid_id=draft.pk, partners=[
                    {"name": "浙江某大学", "credit_code": make_credit_code(region="330000"), "kind": "university", "role": "电机设计"}])
            jb.submit_bid(actor=user, bid_id=draft.pk, accept_commitment=True)
            bids.append(Bid.objects.get(pk=draft.pk))
        assert [b.state for b in bids] == ["submitted", "submitted"]

    with time_machine.travel(datetime.datetime(2026, 12, 1, 9, tzinfo=TZ)):
        assert jb.close_due_challenges() == [need.pk]
        jb.start_review(actor=officer, challenge_id=need.pk)
        run_round(officer, need, "bid", lambda pk: 90 if pk == bids[0].pk else 75)
        bids = [Bid.objects.get(pk=b.pk) for b in bids]
        assert [b.review_score for b in bids] == [Decimal("90.00"), Decimal("75.00")]

        # the officer cannot confirm for the poster; the sum of winners may not exceed the bounty
        with pytest.raises(PermissionRefused):
            jb.award_challenge(actor=officer, challenge_id=need.pk, bid_ids=[b.pk for b in bids])
        with pytest.raises(InvalidInput):
            jb.award_challenge(actor=poster, challenge_id=need.pk, bid_ids=[b.pk for b in bids])
        Bid.objects.filter(pk__in=[b.pk for b in bids]).update(amount=Decimal("1500000.00"))
        for b in bids:
            b.milestones.update(amount=Decimal("750000.00"))
        projects = jb.award_challenge(actor=poster, challenge_id=need.pk, bid_ids=[b.pk for b in bids],
                                      opinion="两个团队并行攻关。")
    need.refresh_from_db()
    assert need.state == "awarded"
    assert len(projects) == 2 and all(p.milestones.count() == 2 for p in projects)
    # the government pays its share of each winner's amount (1/3 of 1,500,000)
    assert [p.granted_amount for p in projects] == [Decimal("500000.00"), Decimal("500000.00")]
    assert set(Bid.objects.values_list("state", flat=True)) == {"won"}

    # first milestone: both report; the poster judges; one passes, the other fails and is stopped
    team_a, team_b = projects
    with time_machine.travel(datetime.datetime(2027, 5, 20, 9, tzinfo=TZ)):
        for p in projects:
            m1 = p.milestones.get(position=1)
            member = p.bid.created_by
            with pytest.raises(TransitionRefused):  # in order
                jb.report_milestone(actor=member, milestone_id=p.milestones.get(position=2).pk, report="提前")
            jb.report_milestone(actor=member, milestone_id=m1.pk, report="台架测试功率密度 4.1 kW/kg。")
            with pytest.raises(InvalidInput):  # the poster first
                jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=True)
            jb.judge_milestone(actor=poster, milestone_id=m1.pk, verdict="pass" if p == team_a else "fail",
                               opinion="达到" if p == team_a else "功率密度仅 3.2 kW/kg")
            jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=p == team_a,
                                  conclusion="通过" if p == team_a else "未达到第一阶段指标")
        stopped = jb.stop_project(actor=officer, project_id=team_b.pk,
                                  milestone_id=team_b.milestones.get(position=1).pk, reason="第一阶段考核未通过，淘汰。")
        assert stopped.state == "terminated"
        assert team_b.milestones.get(position=2).state == "cancelled"
        # the last team running cannot be stopped this way
        with pytest.raises(TransitionRefused):
            jb.stop_project(actor=officer, project_id=team_a.pk,
                            milestone_id=team_a.milestones.get(position=1).pk, reason="x")
        assert Notification.objects.filter(kind="project_stopped").exists()

    # the remaining team finishes and the poster judges the targets at the final acceptance
    with time_machine.travel(datetime.datetime(2028, 6, 1, 9, tzinfo=TZ)):
        m2 = team_a.milestones.get(position=2)
        jb.report_milestone(actor=team_a.bid.created_by, milestone_id=m2.pk, report="装车验证完成。")
        jb.judge_milestone(actor=poster, milestone_id=m2.pk, verdict="pass", opinion="装车效果良好")
        jb.conclude_milestone(actor=officer, milestone_id=m2.pk, passed=True, conclusion="通过")
        targets = list(need.targets.all())
        acc = jb.apply_acceptance(actor=team_a.bid.created_by, project_id=team_a.pk, report="全部完成。",
                                  results={t.pk: {"achieved": "4.7" if i == 0 else "IP67", "evidence": "检测报告"}
                                           for i, t in enumerate(targets)})
        jb.judge_acceptance(actor=poster, project_id=team_a.pk, met={t.pk: True for t in targets}, opinion="达到榜单要求")
        acc = jb.conclude_acceptance(actor=officer, project_id=team_a.pk, passed=True, conclusion="验收通过")
    assert acc.state == ChallengeAcceptance.State.PASSED and acc.targets_met == 2
    assert Project.objects.get(pk=team_a.pk).state == "completed"
    assert ProjectMilestone.objects.filter(project=team_a, state="passed").count() == 2
    assert Challenge.objects.get(pk=need.pk).state == "awarded"

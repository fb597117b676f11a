"""The winners' projects through the services: 赛马制 with three winners and one team stopped at a milestone,
every transition of MILESTONE_WORKFLOW, PROJECT_WORKFLOW and ACCEPTANCE_WORKFLOW from every state, who may call
each project service, and the granted amount (the government's share of the bid, to the fen)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.workflow import run_transition
from activity.models import AuditEvent, Notification
from projects import services as project_services
from projects.challenges import services as jb
from projects.challenges.services import ACCEPTANCE_WORKFLOW, MILESTONE_WORKFLOW, PROJECT_WORKFLOW
from projects.models import Bid, Challenge, ChallengeAcceptance, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db

M = ProjectMilestone.State
P = Project.State
ACC = ChallengeAcceptance.State


def bid_for(challenge, amount="1000000.00", first="400000.00", score="80.00") -> Bid:
    start = challenge.bid_deadline.date()
    bid = BidFactory(challenge=challenge, amount=Decimal(amount), milestones=[
        ("样机", "功率密度≥4.0", start + datetime.timedelta(days=180), Decimal(first)),
        ("定型", "功率密度≥4.5", start + datetime.timedelta(days=540), Decimal(amount) - Decimal(first)),
    ])
    return jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)


def under_review(challenge, officer, bids, scores):
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    jb.record_bid_review_scores(challenge_id=challenge.pk,
                                scores={b.pk: (Decimal(s), 5) for b, s in zip(bids, scores, strict=True)})


def awarded(officer, n=2, max_winners=None):
    """A challenge awarded to ``n`` teams (each bid 1,000,000: milestones 400,000 + 600,000)."""
    challenge = publish(ChallengeFactory(), max_winners=max_winners or n)
    bids = [bid_for(challenge) for _ in range(n)]
    under_review(challenge, officer, bids, ["80"] * n)
    projects = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[b.pk for b in bids])
    return Challenge.objects.get(pk=challenge.pk), projects


def team(project):
    return project.bid.created_by


def fail_first_milestone(project, officer):
    m1 = project.milestones.get(position=1)
    jb.report_milestone(actor=team(project), milestone_id=m1.pk, report="功率密度 3.2 kW/kg。")
    jb.judge_milestone(actor=project.challenge.created_by, milestone_id=m1.pk, verdict="fail", opinion="未达到")
    jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=False, conclusion="未达到第一阶段指标")
    return m1


def pass_milestone(m, officer):
    project = m.project
    jb.report_milestone(actor=team(project), milestone_id=m.pk, report="达到。")
    jb.judge_milestone(actor=project.challenge.created_by, milestone_id=m.pk, verdict="pass", opinion="同意")
    jb.conclude_milestone(actor=officer, milestone_id=m.pk, passed=True, conclusion="通过")


# ---- 赛马制 --------------------------------------------------------------------------------------------------


def test_race_with_three_winners_and_one_team_stopped_at_its_first_milestone(officer):
    challenge = publish(ChallengeFactory(), max_winners=3)  # bounty 3,000,000
    bids = [bid_for(challenge) for _ in range(3)] + [bid_for(challenge, amount="1000000.01")]
    under_review(challenge, officer, bids, ["91", "88", "85", "95"])
    poster = challenge.created_by

    # more than max_winners, and winners whose amounts exceed the bounty, are refused
    with pytest.raises(InvalidInput):
        jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[b.pk for b in bids])
    with pytest.raises(InvalidInput) as exc:
        jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[bids[0].pk, bids[1].pk, bids[3].pk])
    assert "3000000.01" in exc.value.message and "超过悬赏金额" in exc.value.message
    assert not Project.objects.exists()

    # three winners adding up to exactly the bounty
    projects = jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[b.pk for b in bids[:3]],
                                  opinion="三个团队并行攻关。")
    assert Challenge.objects.get(pk=challenge.pk).state == "awarded"
    assert [p.bid_id for p in projects] == [b.pk for b in bids[:3]]
    assert [Bid.objects.get(pk=b.pk).state for b in bids] == ["won", "won", "won", "lost"]
    for p in projects:
        assert p.state == "established" and p.challenge_id == challenge.pk
        assert p.granted_amount == Decimal("333333.33")  # a third of 1,000,000
        assert [(m.position, m.amount, m.state) for m in p.milestones.order_by("position")] == [
            (1, Decimal("400000.00"), "pending"), (2, Decimal("600000.00"), "pending")]
    assert len({p.number for p in projects}) == 3

    first, second, third = projects
    # the third team fails its first milestone and is stopped; its later milestone is cancelled
    m1 = fail_first_milestone(third, officer)
    assert ProjectMilestone.objects.get(pk=m1.pk).state == "failed"
    stopped = jb.stop_project(actor=officer, project_id=third.pk, milestone_id=m1.pk, reason="第一阶段考核未通过，淘汰。")
    assert stopped.state == "terminated" and stopped.end_reason == "第一阶段考核未通过，淘汰。"
    assert third.milestones.get(position=2).state == "cancelled"
    assert Notification.objects.filter(kind="project_stopped", recipient=team(third)).exists()
    # the other two go on
    pass_milestone(first.milestones.get(position=1), officer)
    assert [Project.objects.get(pk=p.pk).state for p in projects] == ["established", "established", "terminated"]
    assert first.milestones.get(position=2).state == "pending"
    assert list(second.milestones.values_list("state", flat=True)) == ["pending", "pending"]

    # a stopped team's milestones are closed: it reports nothing more
    with pytest.raises(TransitionRefused):
        jb.report_milestone(actor=team(third), milestone_id=third.milestones.get(position=2).pk, report="继续")

    # the second team is stopped too; the first, the last one running, cannot be
    jb.stop_project(actor=officer, project_id=second.pk, milestone_id=fail_first_milestone(second, officer).pk,
                    reason="淘汰")
    with pytest.raises(TransitionRefused) as exc:
        jb.stop_project(actor=officer, project_id=first.pk, milestone_id=first.milestones.get(position=1).pk,
                        reason="淘汰")
    assert "最后一个在研团队" in exc.value.message
    assert Project.objects.get(pk=first.pk).state == "established"


def test_stopping_needs_a_concluded_milestone_check(officer):
    _challenge, (a, _b) = awarded(officer, n=2)
    m1 = a.milestones.get(position=1)
    with pytest.raises(InvalidInput):
        jb.stop_project(actor=officer, project_id=a.pk, milestone_id=m1.pk, reason="x")
    with pytest.raises(InvalidInput):  # a milestone of another project
        jb.stop_project(actor=officer, project_id=a.pk, milestone_id=_b.milestones.get(position=1).pk, reason="x")
    with pytest.raises(InvalidInput):  # a reason is required
        jb.stop_project(actor=officer, project_id=a.pk, milestone_id=m1.pk, reason="")
    assert Project.objects.get(pk=a.pk).state == "established"


def test_a_single_winner_that_passed_its_milestone_cannot_be_eliminated(officer):
    _challenge, (project,) = awarded(officer, n=1)
    m1 = project.milestones.get(position=1)
    pass_milestone(m1, officer)
    with pytest.raises(TransitionRefused) as exc:
        jb.stop_project(actor=officer, project_id=project.pk, milestone_id=m1.pk, reason="淘汰")
    assert "赛马制" in exc.value.message
    assert Project.objects.get(pk=project.pk).state == "established"
    assert project.milestones.get(position=2).state == "pending"


def test_a_single_winner_that_failed_its_milestone_is_stopped_not_left_hanging(officer):
    # a failed milestone is final and the next one cannot be reported: the only way on is 终止
    _challenge, (project,) = awarded(officer, n=1)
    m1 = fail_first_milestone(project, officer)
    with pytest.raises(TransitionRefused):
        jb.report_milestone(actor=team(project), milestone_id=project.milestones.get(position=2).pk, report="继续")
    stopped = jb.stop_project(actor=officer, project_id=project.pk, milestone_id=m1.pk, reason="第一阶段考核未通过")
    assert stopped.state == "terminated"
    assert project.milestones.get(position=2).state == "cancelled"


def test_the_last_team_of_a_race_is_not_eliminated_after_passing(officer):
    _challenge, (project,) = awarded(officer, n=1, max_winners=3)
    m1 = project.milestones.get(position=1)
    pass_milestone(m1, officer)
    with pytest.raises(TransitionRefused) as exc:
        jb.stop_project(actor=officer, project_id=project.pk, milestone_id=m1.pk, reason="淘汰")
    assert "最后一个在研团队" in exc.value.message
    assert Project.objects.get(pk=project.pk).state == "established"


def test_milestones_are_reported_in_order_and_concluded_after_the_posters_opinion(officer):
    _challenge, (project,) = awarded(officer, n=1)
    m1, m2 = project.milestones.order_by("position")
    with pytest.raises(TransitionRefused):
        jb.report_milestone(actor=team(project), milestone_id=m2.pk, report="提前")
    with pytest.raises(InvalidInput):
        jb.report_milestone(actor=team(project), milestone_id=m1.pk, report=" ")
    jb.report_milestone(actor=team(project), milestone_id=m1.pk, report="台架完成")
    with pytest.raises(InvalidInput):
        jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=True)
    with pytest.raises(InvalidInput):
        jb.judge_milestone(actor=project.challenge.created_by, milestone_id=m1.pk, verdict="maybe", opinion="x")
    assert ProjectMilestone.objects.get(pk=m1.pk).state == "reported"


def test_the_granted_amount_is_the_fiscal_share_to_the_fen(officer):
    challenge = publish(ChallengeFactory(), max_winners=1)  # subsidy / bounty = 1/3
    bid = bid_for(challenge, amount="1000000.01", first="500000.00")
    under_review(challenge, officer, [bid], ["90"])
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    assert project.granted_amount == Decimal("333333.34") == jb.fiscal_share(Decimal("1000000.01"), challenge)
    assert Project.objects.get(pk=project.pk).granted_amount == Decimal("333333.34")
    assert project.requested_amount == Decimal("333333.34")
    assert sum(project.milestones.values_list("amount", flat=True)) == Decimal("1000000.01")


# ---- every transition from every state -------------------------------------------------------------------


@pytest.fixture
def race(officer):
    _challenge, projects = awarded(officer, n=2)
    return projects


def set_milestone(m, state, **fields):
    ProjectMilestone.objects.filter(pk=m.pk).update(state=state, **fields)
    m.refresh_from_db()
    return m


def milestone_row(m):
    row = ProjectMilestone.objects.get(pk=m.pk)
    return row.state, row.report, row.conclusion, row.poster_verdict, row.poster_opinion


MILESTONE_CASES = [(n, s) for n in MILESTONE_WORKFLOW.transitions for s in M.values]


@pytest.mark.parametrize(("name", "state"), MILESTONE_CASES, ids=[f"{n}-from-{s}" for n, s in MILESTONE_CASES])
def test_every_milestone_transition_from_every_state(name, state, race, officer):
    project = race[0]
    m1, m2 = project.milestones.order_by("position")
    target = MILESTONE_WORKFLOW.get(name).target
    allowed = MILESTONE_WORKFLOW.allowed(name, state)
    if name == "cancel":
        # cancelling is what stopping a team does to its open milestones: only those move
        set_milestone(m1, "failed", poster_verdict="fail")
        set_milestone(m2, state)
        before = milestone_row(m2)
        jb.stop_project(actor=officer, project_id=project.pk, milestone_id=m1.pk, reason="淘汰")
        assert milestone_row(m2) == ((target, *before[1:]) if allowed else before)
        if not allowed:  # and the table itself refuses, naming the state
            with pytest.raises(TransitionRefused) as exc:
                run_transition(workflow=MILESTONE_WORKFLOW, queryset=ProjectMilestone.objects.all(), pk=m2.pk,
                               name="cancel", actor=officer)
            assert str(M(state).label) in exc.value.message
        return
    set_milestone(m1, state, poster_verdict="pass")

    def call():
        if name == "report":
            return jb.report_milestone(actor=team(project), milestone_id=m1.pk, report="进展报告")
        return jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=name == "pass", conclusion="考核结论")

    before = milestone_row(m1)
    events = AuditEvent.objects.count()
    if allowed:
        result = call()
        assert result.state == target
        assert AuditEvent.objects.filter(verb=name, from_state=state, to_state=target).exists()
    else:
        with pytest.raises(TransitionRefused) as exc:
            call()
        assert str(M(state).label) in exc.value.message
        assert milestone_row(m1) == before and AuditEvent.objects.count() == events


@pytest.mark.parametrize("state", [s for s in M.values if s != "reported"])
def test_the_poster_judges_only_a_reported_milestone(state, race):
    project = race[0]
    m1 = set_milestone(project.milestones.get(position=1), state)
    with pytest.raises(TransitionRefused) as exc:
        jb.judge_milestone(actor=project.challenge.created_by, milestone_id=m1.pk, verdict="pass", opinion="好")
    assert str(M(state).label) in exc.value.message
    assert ProjectMilestone.objects.get(pk=m1.pk).poster_verdict == ""


def set_project(p, state):
    Project.objects.filter(pk=p.pk).update(state=state)
    p.refresh_from_db()
    return p


def acceptance(project, state):
    return ChallengeAcceptance.objects.create(
        project=project, report="总结", state=state, applied_by=team(project), applied_at=timezone.now(),
        results=[{"target_id": t.pk, "name": t.name, "target_value": t.target_value, "unit": t.unit,
                  "verification": t.verification, "achieved": "达到", "evidence": "报告", "met": None}
                 for t in project.challenge.targets.all()])


def project_row(p):
    row = Project.objects.get(pk=p.pk)
    acc = ChallengeAcceptance.objects.filter(project=p).first()
    return row.state, row.ended_at, row.end_reason, acc.state if acc else None


# 结题 ("close") is a conclusion of a call project's 验收 (projects/tests/test_checkpoints.py), not a 揭榜 path
PROJECT_CASES = [(n, s) for n in PROJECT_WORKFLOW.transitions if n != "close" for s in P.values]


@pytest.mark.parametrize(("name", "state"), PROJECT_CASES, ids=[f"{n}-from-{s}" for n, s in PROJECT_CASES])
def test_every_project_transition_from_every_state(name, state, race, officer):
    project = set_project(race[0], state)
    if name == "stop":
        m1 = set_milestone(project.milestones.get(position=1), "failed")

        def call():
            return jb.stop_project(actor=officer, project_id=project.pk, milestone_id=m1.pk, reason="淘汰")
    elif name == "terminate":
        def call():
            return project_services.terminate_project(actor=officer, project_id=project.pk, reason="终止")
    else:
        acceptance(project, ACC.JUDGED)

        def call():
            jb.conclude_acceptance(actor=officer, project_id=project.pk, passed=name == "complete", conclusion="结论")
            return Project.objects.get(pk=project.pk)

    before = project_row(project)
    if PROJECT_WORKFLOW.allowed(name, state):
        result = call()
        assert result.state == PROJECT_WORKFLOW.get(name).target and result.ended_at is not None
        assert AuditEvent.objects.filter(verb=name, from_state=state, to_state=result.state).exists()
    else:
        with pytest.raises(TransitionRefused) as exc:
            call()
        assert str(P(state).label) in exc.value.message
        assert project_row(project) == before  # the acceptance too: all or nothing


ACCEPTANCE_CASES = [(n, s) for n in ACCEPTANCE_WORKFLOW.transitions for s in ACC.values]


@pytest.mark.parametrize(("name", "state"), ACCEPTANCE_CASES, ids=[f"{n}-from-{s}" for n, s in ACCEPTANCE_CASES])
def test_every_acceptance_transition_from_every_state(name, state, race, officer):
    project = race[0]
    acc = acceptance(project, state)
    targets = list(project.challenge.targets.all())

    def call():
        if name == "judge":
            return jb.judge_acceptance(actor=project.challenge.created_by, project_id=project.pk,
                                       met={t.pk: True for t in targets}, opinion="达到")
        return jb.conclude_acceptance(actor=officer, project_id=project.pk, passed=name == "pass", conclusion="结论")

    before = (ChallengeAcceptance.objects.get(pk=acc.pk).state, project_row(project))
    if ACCEPTANCE_WORKFLOW.allowed(name, state):
        result = call()
        assert result.state == ACCEPTANCE_WORKFLOW.get(name).target
        if name == "judge":
            assert [r["met"] for r in ChallengeAcceptance.objects.get(pk=acc.pk).results] == [True] * len(targets)
        else:
            assert Project.objects.get(pk=project.pk).state == ("completed" if name == "pass" else "failed")
    else:
        with pytest.raises(TransitionRefused) as exc:
            call()
        assert str(ACC(state).label) in exc.value.message
        assert (ChallengeAcceptance.objects.get(pk=acc.pk).state, project_row(project)) == before


def test_acceptance_needs_every_milestone_passed_and_every_target_reported(race, officer):
    project = race[0]
    targets = list(project.challenge.targets.all())
    results = {t.pk: {"achieved": "4.6", "evidence": "检测"} for t in targets}
    with pytest.raises(TransitionRefused):
        jb.apply_acceptance(actor=team(project), project_id=project.pk, report="完成", results=results)
    for m in project.milestones.order_by("position"):
        pass_milestone(m, officer)
    with pytest.raises(InvalidInput) as exc:
        jb.apply_acceptance(actor=team(project), project_id=project.pk, report="完成", results={targets[0].pk: {
            "achieved": "4.6"}})
    assert targets[1].name in exc.value.message
    assert not ChallengeAcceptance.objects.exists()
    acc = jb.apply_acceptance(actor=team(project), project_id=project.pk, report="完成", results=results)
    assert acc.state == "applied"
    with pytest.raises(TransitionRefused):
        jb.apply_acceptance(actor=team(project), project_id=project.pk, report="再次", results=results)
    with pytest.raises(InvalidInput):  # every target judged
        jb.judge_acceptance(actor=project.challenge.created_by, project_id=project.pk, met={targets[0].pk: True},
                            opinion="部分")
    assert ChallengeAcceptance.objects.get(pk=acc.pk).state == "applied"


# ---- who may call each project service ---------------------------------------------------------------------

ACTORS = ["team", "poster", "officer", "rival", "other", "expert"]
# service → (milestone-1 state, acceptance state or None, entitled actors, call(actor, project, m1))
PROJECT_SERVICES = {
    "report": ("pending", None, {"team"},
               lambda a, p, m: jb.report_milestone(actor=a, milestone_id=m.pk, report="进展")),
    "judge": ("reported", None, {"poster"},
              lambda a, p, m: jb.judge_milestone(actor=a, milestone_id=m.pk, verdict="pass", opinion="好")),
    "conclude": ("reported", None, {"officer"},
                 lambda a, p, m: jb.conclude_milestone(actor=a, milestone_id=m.pk, passed=True, conclusion="过")),
    "stop": ("failed", None, {"officer"},
             lambda a, p, m: jb.stop_project(actor=a, project_id=p.pk, milestone_id=m.pk, reason="淘汰")),
    "apply": ("passed", None, {"team"}, lambda a, p, m: jb.apply_acceptance(
        actor=a, project_id=p.pk, report="完成",
        results={t.pk: {"achieved": "达到"} for t in p.challenge.targets.all()})),
    "judge_acceptance": ("passed", ACC.APPLIED, {"poster"}, lambda a, p, m: jb.judge_acceptance(
        actor=a, project_id=p.pk, met={t.pk: True for t in p.challenge.targets.all()}, opinion="达到")),
    "conclude_acceptance": ("passed", ACC.JUDGED, {"officer"}, lambda a, p, m: jb.conclude_acceptance(
        actor=a, project_id=p.pk, passed=True, conclusion="通过")),
}
PERM_CASES = [(s, a) for s in PROJECT_SERVICES for a in ACTORS]


@pytest.mark.parametrize(("service", "who"), PERM_CASES, ids=[f"{s}-by-{a}" for s, a in PERM_CASES])
def test_who_may_call_each_project_service(service, who, race, officer, other_applicant, expert_user):
    m_state, acc_state, entitled, call = PROJECT_SERVICES[service]
    project, rival = race
    m1, m2 = project.milestones.order_by("position")
    set_milestone(m1, m_state, poster_verdict="pass" if m_state != "pending" else "")
    if m_state == "passed":
        set_milestone(m2, "passed", poster_verdict="pass")
    if acc_state:
        acceptance(project, acc_state)
    actor = {"team": team(project), "poster": project.challenge.created_by, "officer": officer,
             "rival": team(rival), "other": other_applicant, "expert": expert_user}[who]

    def rows():
        return milestone_row(m1), project_row(project), ChallengeAcceptance.objects.count()

    before = rows()
    if who in entitled:
        call(actor, project, m1)
        assert rows() != before
    else:
        with pytest.raises(PermissionRefused):
            call(actor, project, m1)
        assert rows() == before


def test_an_application_project_is_not_a_challenge_project(officer, race):
    from projects.tests.factories import ApplicationFactory

    app = ApplicationFactory()
    project = Project.objects.create(application=app, call=app.call, organization=app.organization, number="X-1",
                                     title="t", granted_amount=Decimal("1"), established_at=timezone.now())
    with pytest.raises(InvalidInput):
        jb.stop_project(actor=officer, project_id=project.pk, milestone_id=0, reason="x")
    with pytest.raises(InvalidInput):
        jb.apply_acceptance(actor=officer, project_id=project.pk, report="x", results={})
    assert Project.objects.get(pk=project.pk).state == "established"

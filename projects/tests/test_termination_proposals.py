"""验收申请期限 and its automatic action, the 项目终止建议: the ladder of kind ``acceptance_due`` (who is reminded at each
window and level), the sweep past the date making exactly one proposal, an acceptance applied in time making none,
the officer's two decisions (终止项目 through the existing termination service, 不予终止 with a reason), once; the
office pages, the API and the admin, who may see them, and their query counts."""

import calendar
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.test import TestCase
from django.urls import reverse

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.deadlines import Stage, end_of_day, get_kind
from activity.models import AuditEvent, Escalation, Notification, ReminderPolicy
from activity.sweeper import ensure_policies, sweep
from activity.tests.ladder import climb, escalation, sweep_at
from funding.models import RecoveryOrder, TaskAgreement
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from projects import services as project_services
from projects.checkpoints import proposals
from projects.checkpoints import services as cs
from projects.checkpoints.models import TerminationProposal
from projects.checkpoints.obligations import latest_end_date
from projects.models import AcceptanceReport, Program, Project
from projects.tests.factories import CallFactory, ProgramFactory
from projects.tests.test_checkpoints import submitted_acceptance

pytestmark = pytest.mark.django_db
KIND = "acceptance_due"
END = datetime.date(2027, 8, 31)
DUE = datetime.date(2028, 2, 29)  # six months after the end date, clamped to February's last day (a leap year)
DUE_AT = end_of_day(DUE)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
TP = TerminationProposal.State


def running_project(officer, *, end=END, **kwargs) -> Project:
    project = established_project(granted=Decimal("100000.00"), officer=officer, **kwargs)
    Project.objects.filter(pk=project.pk).update(end_date=end)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def project(officer):
    """Signed (its 任务书 in force, the first tranche due), ending on END."""
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    Project.objects.filter(pk=project.pk).update(end_date=END)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def reporter(project):
    return UserFactory(roles=["applicant"], organization=project.organization)


def org_admins(project):
    return list(project.organization.users.filter(groups__name="org_admin").order_by("pk"))


def sweep_and_act(moment):
    """Sweep at ``moment`` and run the automatic actions it queues (eager tasks, at the same moment)."""
    with time_machine.travel(moment, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return sweep(kinds=[KIND])


def set_policy(**fields):
    ensure_policies()
    ReminderPolicy.objects.filter(kind=KIND).update(**fields)


def propose(project, moment=DUE_AT + DAY) -> TerminationProposal:
    assert get_kind(KIND).act(project.pk, DUE_AT, moment) is True
    return TerminationProposal.objects.get(project=project, state=TP.PROPOSED)


# ---- the deadline ----------------------------------------------------------------------------------------------


def test_the_acceptance_due_date_is_six_months_after_the_end_date(project):
    assert cs.acceptance_due_date(project) == DUE
    policy = ensure_policies()[KIND]
    assert policy.window_days == [30, 7, 1] and policy.auto_action and policy.action_after_days == 0


def test_latest_end_date_is_exact_at_month_ends_and_the_calendar_edges():
    # every day of two years (with a leap day) against every end date that could be due by it
    start = datetime.date(2027, 1, 1)
    for offset in range(0, 760, 1):
        horizon = start + datetime.timedelta(days=offset)
        limit = latest_end_date(horizon)
        for back in range(170, 200):
            end = horizon - datetime.timedelta(days=back)
            assert (cs.add_months(end, 6) <= horizon) == (end <= limit), (horizon, end, limit)
    assert latest_end_date(datetime.date(2028, 2, 29)) == datetime.date(2027, 8, 31)
    assert latest_end_date(datetime.date(2027, 2, 28)) == datetime.date(2026, 8, 31)
    assert latest_end_date(datetime.date(2027, 3, 30)) == datetime.date(2026, 9, 30)
    assert latest_end_date(datetime.date(9999, 12, 30)) == datetime.date(9999, 6, 30)
    assert latest_end_date(datetime.date.max) == datetime.date.max  # what ends after 9999-06 is due on the last day
    assert latest_end_date(datetime.date.min) is None
    assert latest_end_date(datetime.date(1, 6, 30)) is None
    assert calendar.isleap(2028)


def test_candidates_use_the_end_date_and_survive_the_calendar_edges(officer, project):
    kind, policy = get_kind(KIND), ensure_policies()[KIND]
    assert list(kind.candidates(DUE_AT - DAY - HOUR, policy)) == []  # the 28th: ended 08-31, not due yet
    assert list(kind.candidates(DUE_AT - HOUR, policy)) == [project]
    edge = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    assert list(kind.candidates(edge, policy)) == [project]
    assert list(kind.candidates(datetime.datetime.min.replace(tzinfo=datetime.UTC), policy)) == []
    # a project ending at the end of the calendar is due at its last day, without overflowing
    Project.objects.filter(pk=project.pk).update(end_date=datetime.date(9999, 12, 31))
    assert cs.acceptance_due_date(Project.objects.get(pk=project.pk)) == datetime.date.max
    assert list(kind.candidates(edge, policy)) == [project]
    (ob,) = kind.obligations([project], policy)
    assert ob.due_at == end_of_day(datetime.date.max)
    # the SQL filters by the column, not by arithmetic on it
    sql = str(kind.candidates(DUE_AT, policy).query)
    assert '"end_date" <=' in sql


def test_only_running_call_projects_without_an_application_are_candidates(officer, project, reporter):
    kind, policy = get_kind(KIND), ensure_policies()[KIND]
    post = running_project(officer, call=CallFactory(program=ProgramFactory(
        code="hbz", name="研发后补助", kind=Program.Kind.POST_SUBSIDY)))
    ended = running_project(officer)
    project_services.terminate_project(actor=officer, project_id=ended.pk, reason="单位注销")
    draft = cs.start_acceptance(actor=reporter, project_id=project.pk)
    found = set(kind.candidates(DUE_AT + DAY, policy))
    assert found == {project}, "a draft is not an application; 后补助 and ended projects owe none"
    assert post not in found and ended not in found
    submitted_acceptance(project, reporter)
    assert AcceptanceReport.objects.get(pk=draft.pk).state == "submitted"
    assert list(kind.candidates(DUE_AT + DAY, policy)) == []


# ---- the ladder ------------------------------------------------------------------------------------------------


def test_the_acceptance_deadline_climbs_the_whole_ladder(project, officer, supervisor):
    admins = org_admins(project)
    author = project.application.created_by
    assert admins and author not in admins
    seen = climb(KIND, project.pk, DUE_AT, owners=admins + [author], responsible=[officer] + admins,
                 supervisors=[supervisor])
    assert set(seen) == {"d30", "d7", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation(KIND, project.pk)
    assert esc.level == Escalation.Level.RED and esc.holder == project.organization.name
    assert project.title in esc.title
    # the organisation is sent to its project page, the bureau to its acceptance list
    reminder = Notification.objects.get(recipient=author, reminder__stage="d30")
    assert reminder.link == reverse("checkpoints:project", args=[project.pk])
    yellow = Notification.objects.get(recipient=officer, reminder__stage=Stage.YELLOW)
    assert yellow.link == reverse("checkpoints_office:index") + "?tab=acceptance"


# ---- the automatic action --------------------------------------------------------------------------------------


def test_the_sweep_past_the_date_makes_exactly_one_proposal(project, officer, supervisor):
    set_policy(action_after_days=2)
    sweep_and_act(DUE_AT + DAY)
    assert not TerminationProposal.objects.exists(), "not before action_after_days"
    sweep_and_act(DUE_AT + 2 * DAY + HOUR)
    sweep_and_act(DUE_AT + 3 * DAY)
    proposal = TerminationProposal.objects.get()
    assert (proposal.project, proposal.state, proposal.due_date) == (project, TP.PROPOSED, DUE)
    assert proposal.reason == TerminationProposal.Reason.ACCEPTANCE_NOT_APPLIED
    # the action again, twice: nothing more
    kind = get_kind(KIND)
    assert kind.act(project.pk, DUE_AT, DUE_AT + 4 * DAY) is False
    assert kind.act(project.pk, DUE_AT, DUE_AT + 4 * DAY) is False
    assert TerminationProposal.objects.count() == 1
    # the officers were told once, with a link to the proposal; the audit trail says the system proposed it
    told = Notification.objects.filter(kind="termination_proposed")
    assert [n.recipient for n in told] == [officer]
    assert told.get().link == reverse("checkpoints_office:termination", args=[proposal.pk])
    event = AuditEvent.objects.get(target_type=ContentType.objects.get_for_model(TerminationProposal),
                                   target_id=str(proposal.pk))
    assert (event.verb, event.actor, event.to_state, event.data["due_date"]) == ("propose", None, "proposed",
                                                                                  "2028-02-29")
    # the 督办 item points the bureau to the proposal (from its next change of level)
    sweep_and_act(DUE_AT + 8 * DAY)
    assert TerminationProposal.objects.count() == 1
    assert escalation(KIND, project.pk).link == reverse("checkpoints_office:termination", args=[proposal.pk])


def test_a_dismissed_proposal_is_not_made_again_for_the_same_date(project, officer):
    proposal = propose(project)
    proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="单位已说明情况，限期补交")
    sweep_and_act(DUE_AT + 40 * DAY)
    assert get_kind(KIND).act(project.pk, DUE_AT, DUE_AT + 40 * DAY) is False
    assert list(TerminationProposal.objects.values_list("state", flat=True)) == [TP.DISMISSED]


def test_applying_for_acceptance_in_time_makes_none_and_resolves_the_escalation(project, reporter):
    set_policy(action_after_days=10)
    sweep_and_act(DUE_AT + DAY)
    esc = escalation(KIND, project.pk)
    assert esc.resolved_at is None and esc.level == Escalation.Level.OVERDUE
    with time_machine.travel(DUE_AT + 2 * DAY, tick=False):
        submitted_acceptance(project, reporter)  # late, but before the action
    sweep_and_act(DUE_AT + 20 * DAY)
    assert not TerminationProposal.objects.exists()
    esc.refresh_from_db()
    assert esc.resolved_at is not None and esc.acted_at is None
    assert get_kind(KIND).act(project.pk, DUE_AT, DUE_AT + 20 * DAY) is False


def test_the_action_does_nothing_for_an_ended_project_or_a_moved_deadline(officer, project):
    kind = get_kind(KIND)
    assert kind.act(project.pk, DUE_AT, DUE_AT - HOUR) is False, "not overdue yet"
    # an extension moved the deadline: the old one is no longer the project's
    Project.objects.filter(pk=project.pk).update(end_date=datetime.date(2028, 2, 29))
    assert kind.act(project.pk, DUE_AT, DUE_AT + 30 * DAY) is False
    Project.objects.filter(pk=project.pk).update(end_date=END)
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="单位注销")
    assert kind.act(project.pk, DUE_AT, DUE_AT + DAY) is False
    assert kind.act(987654321, DUE_AT, DUE_AT + DAY) is False
    assert not TerminationProposal.objects.exists()


# ---- the officer's decision ------------------------------------------------------------------------------------


def test_accepting_the_proposal_terminates_the_project_through_the_termination_service(project, officer, reporter):
    draft = cs.start_acceptance(actor=reporter, project_id=project.pk)
    sweep_at(DUE_AT + HOUR, kinds=[KIND])
    assert escalation(KIND, project.pk).resolved_at is None
    proposal = propose(project)
    with pytest.raises(PermissionRefused):
        proposals.decide_proposal(actor=reporter, proposal_id=proposal.pk, accept=True, reason="x")
    with pytest.raises(InvalidInput):
        proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=True, reason="  ")
    done = proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=True,
                                     reason="逾期半年以上未申请验收", fault=True)
    assert (done.state, done.decided_by, done.note) == (TP.ACCEPTED, officer, "逾期半年以上未申请验收")
    project.refresh_from_db()
    assert project.state == Project.State.TERMINATED and "逾期未申请验收" in project.end_reason
    # what termination does, as it always did: the draft is cancelled, the 任务书 ends, the unpaid tranches too,
    # the organisation is told; the recovery order is then opened by the bureau as for any termination
    assert AcceptanceReport.objects.get(pk=draft.pk).state == "cancelled"
    agreement = TaskAgreement.objects.get(project=project)
    assert agreement.state == "terminated"
    assert set(agreement.tranches.values_list("state", flat=True)) == {"cancelled"}
    assert not RecoveryOrder.objects.exists()
    assert Notification.objects.filter(kind="project_stopped", recipient__in=org_admins(project)).exists()
    terminate = AuditEvent.objects.get(target_type=ContentType.objects.get_for_model(Project),
                                       target_id=str(project.pk), verb="terminate")
    assert terminate.actor == officer and terminate.data == {"fault": True}
    # decided once
    with pytest.raises(TransitionRefused):
        proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="撤回")
    # and the 督办 item opened before is resolved by the next sweep
    sweep_at(DUE_AT + 2 * DAY, kinds=[KIND])
    assert escalation(KIND, project.pk).resolved_at is not None


def test_dismissing_needs_a_reason_and_keeps_the_project(project, officer):
    proposal = propose(project)
    with pytest.raises(InvalidInput) as err:
        proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="")
    assert "不予终止" in str(err.value)
    done = proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="已批准延期")
    assert (done.state, done.note, done.decided_by) == (TP.DISMISSED, "已批准延期", officer)
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED
    with pytest.raises(TransitionRefused):
        proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=True, reason="终止")
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED


def test_terminating_is_refused_once_the_organisation_applied(project, officer, reporter):
    proposal = propose(project)
    submitted_acceptance(project, reporter)
    with pytest.raises(TransitionRefused) as err:
        proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=True, reason="终止")
    assert "已提交验收申请" in str(err.value)
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED


def test_one_open_proposal_per_project_in_the_database(project):
    propose(project)
    with pytest.raises(IntegrityError), transaction.atomic():
        TerminationProposal.objects.create(project=project, due_date=DUE + DAY)


# ---- pages -----------------------------------------------------------------------------------------------------


def page(proposal):
    return reverse("checkpoints_office:termination", args=[proposal.pk])


INDEX = reverse("checkpoints_office:index")


def test_the_office_index_shows_the_pending_proposals(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    html = client.get(INDEX).content.decode()
    assert 'data-testid="pending-terminations"' in html and page(proposal) in html
    html = client.get(INDEX, {"tab": "termination"}).content.decode()
    assert html.count('data-testid="row"') == 1 and "kj-state-proposed" in html
    assert 'data-testid="pending-termination-count">1<' in html
    proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="已补交")
    html = client.get(INDEX).content.decode()
    assert 'data-testid="pending-terminations"' not in html


def test_the_officer_terminates_the_project_on_the_page(client, officer, project):
    proposal = propose(project)
    with time_machine.travel(DUE_AT + 10 * DAY, tick=False):
        client.force_login(officer)
        html = client.get(page(proposal)).content.decode()
    assert "2028-02-29" in html and "已逾期 11 天" in html  # due 02-29, on 03-11
    assert "系统提出终止建议" in html  # the history
    client.force_login(officer)
    assert 'data-testid="terminate-form"' in html and 'data-testid="dismiss-form"' in html
    # no reason: a form error, nothing changed
    r = client.post(page(proposal), {"decision": "terminate", "terminate-reason": ""})
    assert r.status_code == 400 and "请填写终止理由" in r.content.decode()
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED
    r = client.post(page(proposal), {"decision": "terminate", "terminate-reason": "逾期未申请验收",
                                     "terminate-fault": "on"})
    assert r.status_code == 302 and r.url == page(proposal)
    assert Project.objects.get(pk=project.pk).state == Project.State.TERMINATED
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.ACCEPTED
    html = client.get(page(proposal)).content.decode()
    assert 'data-testid="terminate-form"' not in html and "逾期未申请验收" in html
    # a second decision is refused on the form (409)
    r = client.post(page(proposal), {"decision": "dismiss", "dismiss-reason": "撤回"})
    assert r.status_code == 409 and "不能执行" in r.content.decode()


def test_dismissing_on_the_page_needs_a_reason(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    r = client.post(page(proposal), {"decision": "dismiss", "dismiss-reason": " "})
    assert r.status_code == 400 and "请填写不予终止的理由" in r.content.decode()
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED
    r = client.post(page(proposal), {"decision": "dismiss", "dismiss-reason": "单位已补交验收申请"})
    assert r.status_code == 302
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.DISMISSED


def test_a_supervisor_reads_but_does_not_decide(client, supervisor, project):
    proposal = propose(project)
    client.force_login(supervisor)
    html = client.get(page(proposal)).content.decode()
    assert 'data-testid="terminate-form"' not in html
    assert client.post(page(proposal), {"decision": "dismiss", "dismiss-reason": "x"}).status_code == 404
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED


def api(name, *args):
    return reverse(f"api:termination-proposal-{name}", args=args)


@pytest.mark.parametrize("who", ["own_org_admin", "other_applicant", "expert_user"])
def test_organisations_and_experts_get_404_everywhere(client, who, project, request):
    proposal = propose(project)
    user = org_admins(project)[0] if who == "own_org_admin" else request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(page(proposal)).status_code == 404
    assert client.post(page(proposal), {"decision": "dismiss", "dismiss-reason": "x"}).status_code == 404
    assert client.get(INDEX, {"tab": "termination"}).status_code == 404
    assert client.get(api("list")).status_code == 404
    assert client.get(api("detail", proposal.pk)).status_code == 404
    assert client.post(api("accept", proposal.pk), {"reason": "x"}, content_type="application/json").status_code == 404
    assert client.post(api("dismiss", proposal.pk), {"reason": "x"}, content_type="application/json").status_code == 404
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED


# ---- API -------------------------------------------------------------------------------------------------------


def test_the_api_lists_and_decides_like_the_extensions(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    rows = client.get(api("list"), {"state": "proposed"}).json()["results"]
    assert [(r["id"], r["due_date"], r["available_actions"]) for r in rows] == [
        (proposal.pk, "2028-02-29", ["accept", "dismiss"])]
    assert rows[0]["project"]["number"] == project.number and rows[0]["reason"] == "acceptance_not_applied"
    blank = client.post(api("dismiss", proposal.pk), {"reason": ""}, content_type="application/json")
    assert blank.status_code == 400
    done = client.post(api("dismiss", proposal.pk), {"reason": "已批准延期"}, content_type="application/json")
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["note"], done.json()["available_actions"]) == ("dismissed", "已批准延期", [])
    again = client.post(api("accept", proposal.pk), {"reason": "终止", "fault": True}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "transition_refused"
    assert client.get(api("detail", 987654321)).status_code == 404


def test_the_api_terminates(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    r = client.post(api("accept", proposal.pk), {"reason": "逾期未申请验收", "fault": True},
                    content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert r.json()["project"]["state"] == "terminated"


# ---- admin -----------------------------------------------------------------------------------------------------


def test_the_admin_is_read_only_with_history(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    listing = client.get(reverse("admin:projects_terminationproposal_changelist"))
    assert listing.status_code == 200 and project.number in listing.content.decode()
    change = client.get(reverse("admin:projects_terminationproposal_change", args=[proposal.pk]))
    assert change.status_code == 200 and page(proposal) in change.content.decode()
    history = client.get(reverse("admin:projects_terminationproposal_history", args=[proposal.pk]))
    assert history.status_code == 200 and "待处理" in history.content.decode()
    assert client.get(reverse("admin:projects_terminationproposal_add")).status_code == 403


# ---- query counts and badges -----------------------------------------------------------------------------------


def test_the_pages_run_a_fixed_number_of_queries(client, officer, project, django_assert_max_num_queries):
    proposal = propose(project)
    client.force_login(officer)
    client.get(page(proposal))  # warm the session and content types
    with django_assert_max_num_queries(12) as one:
        assert client.get(page(proposal)).status_code == 200
    proposals.decide_proposal(actor=officer, proposal_id=proposal.pk, accept=False, reason="已补交")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(page(proposal)).status_code == 200
    client.get(INDEX, {"tab": "termination"})
    with django_assert_max_num_queries(12) as listed:
        assert client.get(INDEX, {"tab": "termination"}).status_code == 200
    for _ in range(4):
        propose(running_project(officer))
    with django_assert_max_num_queries(len(listed.captured_queries)):
        r = client.get(INDEX, {"tab": "termination"})
    html = r.content.decode()
    assert html.count('data-testid="row"') == 5 and html.count('data-testid="pending-termination"') == 4


def test_every_proposal_state_has_a_badge_colour():
    css = Path(settings.BASE_DIR, "static", "css", "app.css").read_text(encoding="utf-8")
    for state in TP.values:
        assert f".kj-state-{state} " in css or f".kj-state-{state}," in css, state


def test_a_project_ended_otherwise_answers_its_open_proposal(project, officer):
    """The officer terminates the project from its own page while the proposal waits: the proposal is answered
    不予终止 with the reason, audited, and no longer waits on the office index."""
    proposal = propose(project)
    project_services.terminate_project(actor=officer, project_id=project.pk, fault=False, reason="承担单位申请终止")
    proposal.refresh_from_db()
    assert proposal.state == TP.DISMISSED and proposal.decided_by == officer
    assert "项目已结束" in proposal.note and "承担单位申请终止" in proposal.note
    assert AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(TerminationProposal),
                                     target_id=str(proposal.pk), verb="dismiss").exists()
    assert not TerminationProposal.objects.filter(state=TP.PROPOSED).exists()

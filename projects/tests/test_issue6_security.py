"""Security review of issue 6 (projects): the 项目终止建议 page and API refuse everyone but the bureau, bad ids and
filters are 404/400 (never 500), CSRF is enforced, a second decision is a clear refusal; and the links the deadline
sweeper puts in each reminder of the projects' kinds open for the person who receives it (an organisation user is
never sent to an office page)."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.deadlines import Stage, end_of_day
from activity.models import Notification, Reminder
from activity.tests.ladder import OFFICE_PREFIXES, sweep_every_stage
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from projects.checkpoints import services as cs
from projects.checkpoints.models import TerminationProposal
from projects.models import Project
from projects.tests.test_challenge_projects import awarded
from projects.tests.test_obligations import D, at, submitted
from projects.tests.test_termination_proposals import DUE_AT, END, org_admins, propose

pytestmark = pytest.mark.django_db
TP = TerminationProposal.State


@pytest.fixture
def project(officer):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    Project.objects.filter(pk=project.pk).update(end_date=END)
    return Project.objects.get(pk=project.pk)


def page(pk):
    return f"/office/checkpoints/termination/{pk}/"


def api(pk=None, action=None):
    base = "/api/termination-proposals/"
    return base if pk is None else f"{base}{pk}/" + (f"{action}/" if action else "")


def test_the_page_url_is_the_one_tested():
    assert reverse("checkpoints_office:termination", args=[7]) == page(7)
    assert reverse("api:termination-proposal-accept", args=[7]) == api(7, "accept")


# ---- 项目终止建议: who ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["own_org_admin", "own_applicant", "expert_user", "finance_user", "staff_org_admin"])
def test_no_one_outside_the_bureau_reaches_a_proposal(client, who, project, request):
    proposal = propose(project)
    if who in ("own_org_admin", "staff_org_admin"):
        user = org_admins(project)[0]
        if who == "staff_org_admin":
            user.is_staff = True
            user.save()
    elif who == "own_applicant":
        user = project.application.created_by
    else:
        user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(page(proposal.pk)).status_code == 404
    assert client.post(page(proposal.pk), {"decision": "terminate", "terminate-reason": "x"}).status_code == 404
    assert client.get("/office/checkpoints/", {"tab": "termination"}).status_code == 404
    assert client.get(api()).status_code == 404
    assert client.get(api(proposal.pk)).status_code == 404
    for action in ("accept", "dismiss"):
        r = client.post(api(proposal.pk, action), {"reason": "x", "fault": True}, content_type="application/json")
        assert r.status_code == 404
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED
    # nor is anything about it in their inbox: the proposal is told to the officers only
    assert not Notification.objects.filter(recipient=user, link__contains="/termination/").exists()


def test_anonymous_is_sent_to_login_or_refused(client, project):
    proposal = propose(project)
    assert client.get(page(proposal.pk)).status_code == 302
    assert client.get(api(proposal.pk)).status_code in (401, 403)
    assert client.post(api(proposal.pk, "accept"), {"reason": "x"}, content_type="application/json").status_code in (
        401, 403)


def test_a_supervisor_reads_the_api_but_is_refused_a_decision(client, supervisor, project):
    proposal = propose(project)
    client.force_login(supervisor)
    assert client.get(api(proposal.pk)).json()["available_actions"] == []
    for action in ("accept", "dismiss"):
        r = client.post(api(proposal.pk, action), {"reason": "x", "fault": True}, content_type="application/json")
        assert r.status_code == 403 and r.json()["detail"]
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED


# ---- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pk", ["0", "-1", str(10**30), str(2**63), "abc", "1.5", "1e3", "%FF"])
def test_bad_ids_are_404_on_the_page_and_the_api(client, officer, project, pk):
    propose(project)
    client.force_login(officer)
    assert client.get(page(pk)).status_code == 404
    assert client.post(page(pk), {"decision": "dismiss", "dismiss-reason": "x"}).status_code == 404
    assert client.get(api(pk)).status_code == 404
    assert client.post(api(pk, "dismiss"), {"reason": "x"}, content_type="application/json").status_code == 404


@pytest.mark.parametrize("params", [
    {"state": "nope"}, {"call": "abc"}, {"call": str(10**30)}, {"project": "-5"}, {"project": str(2**63)},
    {"ordering": "project__organization__users__password"}, {"page": str(10**30)}, {"page_size": "-1"},
])
def test_bad_api_filters_are_400_or_ignored_never_500(client, officer, project, params):
    propose(project)
    client.force_login(officer)
    r = client.get(api(), params)
    assert r.status_code in (200, 400, 404), r.status_code
    if r.status_code == 200:
        assert "password" not in r.content.decode()


@pytest.mark.parametrize("params", [
    {"tab": "termination", "call": str(10**30)}, {"tab": "termination", "call": "x"},
    {"tab": "termination", "state": "'; drop table x"}, {"tab": "termination", "page": str(10**30)},
    {"tab": "no_such_tab"},
])
def test_bad_office_list_filters_are_never_500(client, officer, project, params):
    propose(project)
    client.force_login(officer)
    assert client.get("/office/checkpoints/", params).status_code in (200, 400)


def test_bad_decision_input_is_a_form_error(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    r = client.post(page(proposal.pk), {"decision": "terminate", "terminate-reason": "x" * 5001})
    assert r.status_code == 400
    r = client.post(page(proposal.pk), {"decision": "???", "dismiss-reason": ""})
    assert r.status_code == 400
    r = client.post(api(proposal.pk, "accept"), {"reason": "x", "fault": "maybe"}, content_type="application/json")
    assert r.status_code == 400
    r = client.post(api(proposal.pk, "accept"), "not json", content_type="application/json")
    assert r.status_code == 400
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED


# ---- CSRF and a second decision ---------------------------------------------------------------------------------


def test_the_page_and_the_api_need_the_csrf_token(officer, project):
    proposal = propose(project)
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    assert client.post(page(proposal.pk), {"decision": "dismiss", "dismiss-reason": "已批准延期"}).status_code == 403
    r = client.post(api(proposal.pk, "dismiss"), {"reason": "已批准延期"}, content_type="application/json")
    assert r.status_code == 403
    assert TerminationProposal.objects.get(pk=proposal.pk).state == TP.PROPOSED


def test_a_decision_posted_twice_on_the_page_is_refused_clearly(client, officer, project):
    proposal = propose(project)
    client.force_login(officer)
    form = {"decision": "dismiss", "dismiss-reason": "已批准延期"}
    assert client.post(page(proposal.pk), form).status_code == 302
    again = client.post(page(proposal.pk), {"decision": "terminate", "terminate-reason": "逾期", "terminate-fault": "on"})
    assert again.status_code == 409
    assert 'data-testid="refused"' in again.content.decode()
    proposal.refresh_from_db()
    assert proposal.state == TP.DISMISSED and proposal.note == "已批准延期"
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED


# ---- the links in the reminders of the projects' kinds ----------------------------------------------------------





def assert_each_link_opens_for_its_recipient(code, pk, *, but=lambda reminder: False):
    reminders = list(Reminder.objects.filter(kind=code, object_id=pk).select_related("recipient", "notification"))
    assert reminders, f"{code}: nothing was sent"
    failures = []
    for r in reminders:
        if but(r):
            continue
        user, link = r.recipient, r.notification.link
        if user.organization_id is not None and link.startswith(OFFICE_PREFIXES):
            failures.append((r.stage, user.username, link, "office page for an organisation user"))
            continue
        client = Client()
        client.force_login(user)
        status = client.get(link).status_code
        if status != 200:
            failures.append((r.stage, user.username, link, status))
    assert not failures, f"{code}: {failures}"


def test_call_drafts_links(draft_app):
    sweep_every_stage("call_drafts", draft_app.call.closes_at)
    assert_each_link_opens_for_its_recipient("call_drafts", draft_app.pk)


def endorsement_swept(org, applicant):
    from projects.tests.factories import CallFactory

    call = CallFactory(opens_at=at(D(2026, 9, 1)), closes_at=at(D(2026, 12, 31), 17))
    app = submitted(call, org, applicant, at(D(2026, 11, 16)))
    sweep_every_stage("endorsement", end_of_day(D(2026, 11, 23)))
    return app


def test_endorsement_links(org, applicant, org_admin, officer, supervisor):
    app = endorsement_swept(org, applicant)
    assert_each_link_opens_for_its_recipient("endorsement", app.pk)


def test_endorsement_links_of_the_organisation(org, applicant, org_admin, officer, supervisor):
    """What works today: the organisation's admins are sent to their endorsement queue at every stage."""
    app = endorsement_swept(org, applicant)
    assert Reminder.objects.filter(kind="endorsement", recipient=org_admin).count() >= 3
    assert_each_link_opens_for_its_recipient("endorsement", app.pk, but=lambda r: r.recipient_id == officer.pk)


def test_midterm_due_links(project, officer, supervisor):
    due = datetime.date.today() + datetime.timedelta(days=30)
    (report,), _skipped = cs.open_midterm(actor=officer, project_ids=[project.pk], due_date=due)
    UserFactory(roles=["applicant"], organization=project.organization)
    sweep_every_stage("midterm_due", end_of_day(due))
    assert_each_link_opens_for_its_recipient("midterm_due", report.pk)


def test_acceptance_due_links(project, officer, supervisor):
    sweep_every_stage("acceptance_due", DUE_AT)
    assert_each_link_opens_for_its_recipient("acceptance_due", project.pk)


def test_milestone_due_links(officer, supervisor):
    _challenge, (project,) = awarded(officer, n=1)
    UserFactory(organization=project.organization, roles=["applicant", "org_admin"])
    milestone = project.milestones.get(position=1)
    sweep_every_stage("milestone_due", end_of_day(milestone.due_date))
    assert_each_link_opens_for_its_recipient("milestone_due", milestone.pk)


def test_milestone_due_links_of_the_team_and_the_bureau(officer, supervisor):
    """What works today: every reminder but the poster's 黄牌 opens for its recipient."""
    _challenge, (project,) = awarded(officer, n=1)
    UserFactory(organization=project.organization, roles=["applicant", "org_admin"])
    milestone = project.milestones.get(position=1)
    poster_org = project.challenge.organization_id
    sweep_every_stage("milestone_due", end_of_day(milestone.due_date))
    assert_each_link_opens_for_its_recipient(
        "milestone_due", milestone.pk,
        but=lambda r: r.stage == Stage.YELLOW and r.recipient.organization_id == poster_org)

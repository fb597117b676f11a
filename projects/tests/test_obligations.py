"""The dated obligations of projects (projects.obligations) on the deadline sweeper: for every kind, who is
reminded at every window and level, that meeting the obligation stops the reminders and resolves the 督办 item,
that a moved deadline is reminded again, and that holidays move a 办理时限 counted in working days."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.deadlines import Stage, end_of_day, get_kind
from activity.models import CalendarDay, Escalation, Reminder, ReminderPolicy
from activity.sweeper import ensure_policies, sweep
from activity.tests.ladder import climb, escalation, sent, sweep_at
from funding.tests.factories import established_project
from funding.tests.test_money import signed
from projects import services
from projects.challenges import services as jb
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.checkpoints import services as cs
from projects.models import Application, MidtermReport, Project
from projects.tests.factories import ApplicationFactory, CallFactory, pdf_upload, set_state
from projects.tests.test_challenge_projects import awarded, team
from projects.tests.test_checkpoints import scored, submitted_acceptance, submitted_midterm

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
MINUTE = datetime.timedelta(minutes=1)
D = datetime.date


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def days(n: float) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def reminded(code: str, pk: int) -> set[tuple[str, datetime.datetime]]:
    return set(Reminder.objects.filter(kind=code, object_id=pk).values_list("stage", "due_at"))


@pytest.fixture
def autumn_call(db):
    """A call open from September to the end of the year (submissions in the past of the tests' clock)."""
    return CallFactory(opens_at=at(D(2026, 9, 1)), closes_at=at(D(2026, 12, 31), 17))


def submitted(call, org, applicant, when: datetime.datetime) -> Application:
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    with time_machine.travel(when, tick=False):
        return services.submit_application(actor=applicant, application_id=app.pk)


def endorsed(call, org, applicant, org_admin, when: datetime.datetime) -> Application:
    app = submitted(call, org, applicant, when - days(1))
    with time_machine.travel(when, tick=False):
        return services.endorse_application(actor=org_admin, application_id=app.pk)


def org_admins_of(project):
    admins = list(project.organization.users.filter(groups__name="org_admin").order_by("pk"))
    assert admins, "the fixture should give the organisation an admin"
    return admins


def assert_met(code: str, pk: int, due_at: datetime.datetime, meet, *, red_after: int):
    """Let the obligation reach 黄牌, meet it, and check the next sweep resolves the 督办 item and sends nothing."""
    sweep_at(due_at + days(4), kinds=[code])
    esc = escalation(code, pk)
    assert esc.level == Escalation.Level.YELLOW and esc.resolved_at is None
    before = Reminder.objects.filter(kind=code, object_id=pk).count()
    meet()
    sweep_at(due_at + days(red_after + 1), kinds=[code])
    esc.refresh_from_db()
    assert esc.resolved_at is not None and esc.level == Escalation.Level.YELLOW
    assert sent(code, pk, Stage.RED) == set()
    assert Reminder.objects.filter(kind=code, object_id=pk).count() == before


# ---- call_drafts: the call closes while an application is not yet submitted ---------------------------------


def test_call_drafts_climb_reminds_the_author_and_the_org_admins_and_never_escalates(draft_app, applicant, org_admin):
    call = draft_app.call
    seen = climb("call_drafts", draft_app.pk, call.closes_at, owners=[applicant, org_admin])
    assert set(seen) == {"d3", "d1"}
    # after the closing time (before close_due_calls has run, and after) nothing more: there is nothing to chase
    sweep_at(call.closes_at + MINUTE, kinds=["call_drafts"])
    sweep(now=call.closes_at + MINUTE, kinds=["call_drafts"])  # a simulated sweep (sweep_deadlines --at)
    services.close_due_calls(now=call.closes_at + MINUTE)
    sweep_at(call.closes_at + days(10), kinds=["call_drafts"])
    assert {stage for stage, _due in reminded("call_drafts", draft_app.pk)} == {"d3", "d1"}
    assert escalation("call_drafts", draft_app.pk) is None


def test_an_application_returned_by_its_organisation_is_reminded_but_not_one_submitted(
    open_call, org, applicant, org_admin
):
    returned = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant),
                         Application.State.ORG_RETURNED)
    pending = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant),
                        Application.State.SUBMITTED)
    sweep_at(open_call.closes_at - days(1) + MINUTE, kinds=["call_drafts"])
    assert sent("call_drafts", returned.pk, "d1") == {applicant.pk, org_admin.pk}
    assert not Reminder.objects.filter(kind="call_drafts", object_id=pending.pk).exists()


def test_submitting_the_draft_stops_the_reminders(draft_app, applicant, org_admin):
    call = draft_app.call
    sweep_at(call.closes_at - days(3) + MINUTE, kinds=["call_drafts"])
    assert sent("call_drafts", draft_app.pk, "d3") == {applicant.pk, org_admin.pk}
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    sweep_at(call.closes_at - days(1) + MINUTE, kinds=["call_drafts"])
    sweep_at(call.closes_at + MINUTE, kinds=["call_drafts"])
    assert reminded("call_drafts", draft_app.pk) == {("d3", call.closes_at)}
    assert escalation("call_drafts", draft_app.pk) is None


def test_extending_the_call_reminds_again_for_the_new_closing_time(draft_app, applicant, org_admin, officer):
    call = draft_app.call
    old = call.closes_at
    sweep_at(old - days(1) + MINUTE, kinds=["call_drafts"])
    assert reminded("call_drafts", draft_app.pk) == {("d1", old)}
    new = old + days(7)
    with time_machine.travel(old - days(1) + days(0.5), tick=False):
        services.update_call(actor=officer, call_id=call.pk, data={"closes_at": new})
    sweep_at(old + MINUTE, kinds=["call_drafts"])  # the old closing time passes: the call is still open
    assert reminded("call_drafts", draft_app.pk) == {("d1", old)}
    sweep_at(new - days(3) + MINUTE, kinds=["call_drafts"])
    sweep_at(new - days(1) + MINUTE, kinds=["call_drafts"])
    assert reminded("call_drafts", draft_app.pk) == {("d1", old), ("d3", new), ("d1", new)}
    assert sent("call_drafts", draft_app.pk, "d1") == {applicant.pk, org_admin.pk}


# ---- endorsement: 单位审核 within 5 working days of the submission ------------------------------------------------

# submitted on Monday 2026-11-16: the fifth working day after it is Monday 2026-11-23
ENDORSE_DUE = end_of_day(D(2026, 11, 23))


def test_endorsement_climb(autumn_call, org, applicant, org_admin, officer, supervisor):
    app = submitted(autumn_call, org, applicant, at(D(2026, 11, 16)))
    seen = climb("endorsement", app.pk, ENDORSE_DUE, owners=[org_admin], responsible=[officer, org_admin],
                 supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation("endorsement", app.pk)
    assert esc.holder == org.name and esc.organization_id == org.pk and app.title in esc.title


def test_endorsing_resolves_the_endorsement_escalation(autumn_call, org, applicant, org_admin, officer, supervisor):
    app = submitted(autumn_call, org, applicant, at(D(2026, 11, 16)))
    assert_met("endorsement", app.pk, ENDORSE_DUE,
               lambda: services.endorse_application(actor=org_admin, application_id=app.pk), red_after=7)


def test_returning_to_the_applicant_also_meets_the_endorsement(autumn_call, org, applicant, org_admin, officer):
    app = submitted(autumn_call, org, applicant, at(D(2026, 11, 16)))
    assert_met("endorsement", app.pk, ENDORSE_DUE,
               lambda: services.org_return_application(actor=org_admin, application_id=app.pk, reason="预算需调整"),
               red_after=7)


def test_national_day_moves_the_endorsement_due_date(autumn_call, org, applicant, org_admin):
    # submitted Tuesday 2026-09-29; 10-01..07 are off and Saturday 10-10 is worked: 09-30, 10-08, 10-09, 10-10, 10-12
    app = submitted(autumn_call, org, applicant, at(D(2026, 9, 29)))
    due = end_of_day(D(2026, 10, 12))
    sweep_at(end_of_day(D(2026, 10, 6)) + days(1), kinds=["endorsement"])  # Monday–Friday counting would be late
    assert reminded("endorsement", app.pk) == set() and escalation("endorsement", app.pk) is None
    sweep_at(due - days(1) + MINUTE, kinds=["endorsement"])
    assert reminded("endorsement", app.pk) == {("d1", due)}


def test_a_day_off_entered_by_the_bureau_moves_the_due_date(autumn_call, org, applicant, org_admin):
    app = submitted(autumn_call, org, applicant, at(D(2026, 11, 16)))
    CalendarDay.objects.create(date=D(2026, 11, 18), is_workday=False, note="临时停工")
    due = end_of_day(D(2026, 11, 24))
    sweep_at(ENDORSE_DUE + MINUTE, kinds=["endorsement"])
    assert escalation("endorsement", app.pk) is None
    sweep_at(due + MINUTE, kinds=["endorsement"])
    assert escalation("endorsement", app.pk).due_at == due


def test_the_service_days_are_the_policys(autumn_call, org, applicant, org_admin):
    app = submitted(autumn_call, org, applicant, at(D(2026, 11, 16)))
    ensure_policies()
    ReminderPolicy.objects.filter(kind="endorsement").update(service_days=1)
    sweep_at(end_of_day(D(2026, 11, 17)) + MINUTE, kinds=["endorsement"])
    assert escalation("endorsement", app.pk).due_at == end_of_day(D(2026, 11, 17))


# ---- formal_review: 形式审查 within 10 working days of the endorsement ---------------------------------------------

# endorsed on Monday 2026-11-16: the tenth working day after it is Monday 2026-11-30
REVIEW_DUE = end_of_day(D(2026, 11, 30))


def test_formal_review_climb(autumn_call, org, applicant, org_admin, officer, supervisor):
    app = endorsed(autumn_call, org, applicant, org_admin, at(D(2026, 11, 16)))
    seen = climb("formal_review", app.pk, REVIEW_DUE, owners=[officer], responsible=[officer],
                 supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation("formal_review", app.pk)
    assert esc.holder == autumn_call.program.managing_office and esc.organization_id is None


def test_accepting_resolves_the_formal_review_escalation(autumn_call, org, applicant, org_admin, officer, supervisor):
    app = endorsed(autumn_call, org, applicant, org_admin, at(D(2026, 11, 16)))
    checklist = {code: True for code, _label in FORMAL_REVIEW_CHECKLIST}
    assert_met("formal_review", app.pk, REVIEW_DUE,
               lambda: services.formal_review(actor=officer, application_id=app.pk, decision="accept",
                                              checklist=checklist), red_after=7)


def test_a_revision_endorsed_again_starts_a_new_review_period(autumn_call, org, applicant, org_admin, officer):
    app = endorsed(autumn_call, org, applicant, org_admin, at(D(2026, 11, 2)))
    with time_machine.travel(at(D(2026, 11, 5)), tick=False):
        services.formal_review(actor=officer, application_id=app.pk, decision="return", reason="补充合作协议")
    with time_machine.travel(at(D(2026, 11, 13)), tick=False):
        services.submit_application(actor=applicant, application_id=app.pk)
    with time_machine.travel(at(D(2026, 11, 16)), tick=False):
        services.endorse_application(actor=org_admin, application_id=app.pk)
    # first reached the bureau 11-02 (due 11-16), but the period runs from the latest endorsement
    sweep_at(end_of_day(D(2026, 11, 16)) + days(1), kinds=["formal_review"])
    assert escalation("formal_review", app.pk) is None
    sweep_at(REVIEW_DUE - days(1) + MINUTE, kinds=["formal_review"])
    assert reminded("formal_review", app.pk) == {("d1", REVIEW_DUE)}


def test_national_day_moves_the_formal_review_due_date(autumn_call, org, applicant, org_admin, officer):
    # endorsed 2026-09-29: 09-30, 10-08, 10-09, 10-10, 10-12 … 10-16, 10-19 are the ten working days
    app = endorsed(autumn_call, org, applicant, org_admin, at(D(2026, 9, 29)))
    due = end_of_day(D(2026, 10, 19))
    sweep_at(end_of_day(D(2026, 10, 13)) + MINUTE, kinds=["formal_review"])  # Monday–Friday counting
    assert escalation("formal_review", app.pk) is None
    sweep_at(due + MINUTE, kinds=["formal_review"])
    assert escalation("formal_review", app.pk).due_at == due


# ---- milestone_due: a 揭榜挂帅 project's milestone ----------------------------------------------------------------


@pytest.fixture
def challenge_project(officer):
    challenge, (project,) = awarded(officer, n=1)
    UserFactory(organization=project.organization, roles=["applicant", "org_admin"])
    return Project.objects.get(pk=project.pk)


def test_milestone_due_climb(challenge_project, officer, supervisor):
    project = challenge_project
    milestone = project.milestones.get(position=1)
    team_admins = org_admins_of(project)
    poster = project.challenge.created_by  # the poster's org admin
    seen = climb("milestone_due", milestone.pk, end_of_day(milestone.due_date),
                 owners=team_admins + [team(project)], responsible=[officer, *team_admins, poster],
                 supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    assert escalation("milestone_due", milestone.pk).holder == project.organization.name


def test_reporting_the_milestone_resolves_its_escalation(challenge_project, officer, supervisor):
    project = challenge_project
    milestone = project.milestones.get(position=1)
    assert_met("milestone_due", milestone.pk, end_of_day(milestone.due_date),
               lambda: jb.report_milestone(actor=team(project), milestone_id=milestone.pk, report="样机功率密度4.1。"),
               red_after=10)


# ---- midterm_rectify and acceptance_rectify: 整改 by rectify_due ---------------------------------------------------


@pytest.fixture
def running_project(officer):
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    return Project.objects.get(pk=project.pk)


@pytest.fixture
def reporter(running_project):
    return UserFactory(roles=["applicant"], organization=running_project.organization)


def rectifying_midterm(project, officer, reporter) -> MidtermReport:
    report = scored(submitted_midterm(project, officer, reporter))
    return cs.conclude_midterm(actor=officer, report_id=report.pk, conclusion="rectify", note="补充测试数据",
                               rectify_due=TODAY + days(20))


def test_midterm_rectify_climb(running_project, officer, reporter, supervisor):
    report = rectifying_midterm(running_project, officer, reporter)
    admins = org_admins_of(running_project)
    author = running_project.application.created_by
    seen = climb("midterm_rectify", report.pk, end_of_day(report.rectify_due), owners=admins + [author],
                 responsible=[officer, *admins], supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    # the first deadline's kind does not see the report in 整改
    assert not Reminder.objects.filter(kind="midterm_due", object_id=report.pk).exists()


def test_resubmitting_the_rectified_midterm_resolves_its_escalation(running_project, officer, reporter, supervisor):
    report = rectifying_midterm(running_project, officer, reporter)

    def resubmit():
        cs.add_attachment(actor=reporter, report_kind="midterm", report_id=report.pk, kind="rectification",
                          uploaded=pdf_upload("整改报告.pdf"))
        cs.submit_midterm(actor=reporter, report_id=report.pk)

    assert_met("midterm_rectify", report.pk, end_of_day(report.rectify_due), resubmit, red_after=10)


def rectifying_acceptance(project, officer, reporter):
    report = scored(submitted_acceptance(project, reporter))
    return cs.conclude_acceptance(actor=officer, report_id=report.pk, conclusion="rectify", note="补充用户报告",
                                  rectify_due=TODAY + days(60))


def test_acceptance_rectify_climb(running_project, officer, reporter, supervisor):
    report = rectifying_acceptance(running_project, officer, reporter)
    admins = org_admins_of(running_project)
    author = running_project.application.created_by
    seen = climb("acceptance_rectify", report.pk, end_of_day(report.rectify_due), owners=admins + [author],
                 responsible=[officer, *admins], supervisors=[supervisor])
    assert set(seen) == {"d7", "d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}


def test_resubmitting_the_rectified_acceptance_resolves_its_escalation(running_project, officer, reporter,
                                                                        supervisor):
    report = rectifying_acceptance(running_project, officer, reporter)

    def resubmit():
        cs.add_attachment(actor=reporter, report_kind="acceptance", report_id=report.pk, kind="rectification",
                          uploaded=pdf_upload("整改报告.pdf"))
        cs.submit_acceptance(actor=reporter, report_id=report.pk)

    assert_met("acceptance_rectify", report.pk, end_of_day(report.rectify_due), resubmit, red_after=10)


def test_a_terminated_project_owes_no_rectification(running_project, officer, reporter):
    report = rectifying_midterm(running_project, officer, reporter)
    due_at = end_of_day(report.rectify_due)
    sweep_at(due_at + MINUTE, kinds=["midterm_rectify"])
    assert escalation("midterm_rectify", report.pk).resolved_at is None
    services.terminate_project(actor=officer, project_id=running_project.pk, reason="承担单位注销")
    sweep_at(due_at + days(1), kinds=["midterm_rectify"])
    assert escalation("midterm_rectify", report.pk).resolved_at is not None


# ---- extension_decision: the officer decides a 延期申请 within 5 working days -------------------------------------


def extension(project, reporter, when: datetime.datetime):
    return cs.request_extension(actor=reporter, project_id=project.pk, months=6, reason="设备到货延迟", now=when)


def test_extension_decision_climb(running_project, officer, reporter, supervisor):
    ext = extension(running_project, reporter, at(D(2026, 11, 16)))
    seen = climb("extension_decision", ext.pk, ENDORSE_DUE, owners=[officer], responsible=[officer],
                 supervisors=[supervisor])
    assert set(seen) == {"d3", "d1", Stage.OVERDUE, Stage.YELLOW, Stage.RED}
    esc = escalation("extension_decision", ext.pk)
    assert esc.holder == running_project.call.program.managing_office and running_project.title in esc.title


def test_deciding_the_extension_resolves_its_escalation(running_project, officer, reporter, supervisor):
    ext = extension(running_project, reporter, at(D(2026, 11, 16)))
    assert_met("extension_decision", ext.pk, ENDORSE_DUE,
               lambda: cs.decide_extension(actor=officer, request_id=ext.pk, approve=True, note="同意"),
               red_after=7)


def test_national_day_moves_the_extension_decision_due_date(running_project, reporter):
    ext = extension(running_project, reporter, at(D(2026, 9, 29)))
    due = end_of_day(D(2026, 10, 12))
    sweep_at(end_of_day(D(2026, 10, 6)) + days(1), kinds=["extension_decision"])
    assert escalation("extension_decision", ext.pk) is None
    sweep_at(due + MINUTE, kinds=["extension_decision"])
    assert escalation("extension_decision", ext.pk).due_at == due


# ---- batches ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["endorsement", "formal_review"])
def test_a_batch_costs_the_same_queries_for_one_application_or_many(code, autumn_call, org, applicant, org_admin,
                                                                     officer):
    make = submitted if code == "endorsement" else endorsed
    extra = () if code == "endorsement" else (org_admin,)
    apps = [make(autumn_call, org, applicant, *extra, at(D(2026, 10, 12) + days(i))) for i in range(5)]
    kind = get_kind(code)
    policy = ensure_policies()[code]

    def cost(rows):
        with CaptureQueriesContext(connection) as queries:
            obligations = kind.obligations(rows, policy)
        assert len(obligations) == len(rows)
        return len(queries)

    kind.obligations(apps, policy)  # the content type of the audit events is cached from here on
    assert cost(apps[:1]) == cost(apps)

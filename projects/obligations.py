"""The dated obligations projects owns, described for the deadline sweeper (activity.deadlines).

Each kind says which open rows have a deadline at or before a horizon, and who owes each one and who is
responsible above them. Registered in ProjectsConfig.ready; the catalogue is README's "期限与督办".

Deadlines of two sorts:
- a date or a time on the row: a report's ``due_date``, a rectification's ``rectify_due``, a milestone's
  ``due_date``, a call's ``closes_at`` (an extension of the call moves it, and the reminders start again);
- a 办理时限 (``ReminderPolicy.service_days`` working days) counted from when the matter reached its holder: an
  application waiting for 单位审核 or for 形式审查, an extension request waiting for the officer's decision. Their
  ``candidates`` filter with a superset cutoff (n working days are at least n calendar days, so whatever is due
  by the horizon started at least n days before it) and ``obligations`` computes the exact day on the holiday
  calendar, once per batch.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from activity.deadlines import (
    Obligation,
    ObligationKind,
    PolicyDefaults,
    active_user,
    end_of_day,
    horizon_date,
    org_admins_by_org,
    register,
    role_users,
    service_cutoff,
    service_days,
    shift,
    unique_users,
    users_by_pk,
)
from activity.models import AuditEvent
from activity.workdays import add_workdays_many

from .models import AcceptanceReport, Application, Call, ExtensionRequest, MidtermReport, Project, ProjectMilestone

A = Application.State
DAY = datetime.timedelta(days=1)


def _office(program) -> str:
    """Who holds a matter at the bureau, as the 督办 page shows it: the programme's 主管处室."""
    return (program.managing_office if program is not None else "") or _("业务处室")


# --- 办理时限 in working days ------------------------------------------------------------------------------------


# --- 申报: the call closes while applications are unsubmitted ----------------------------------------------------


class CallDrafts(ObligationKind):
    """An application not yet submitted (草稿, or 单位退回 to its author) while its call's closing time approaches.
    Reminders only: after the call closes nothing can be submitted, so there is nothing to escalate. Extending
    the call (延期) moves the deadline, and the reminders start again."""

    code = "call_drafts"
    label = gettext_lazy("申报书截止前提交")
    model = Application
    owner_label = gettext_lazy("申报人、申报单位管理员")
    responsible_label = gettext_lazy("不升级（截止后不能再提交）")
    defaults = PolicyDefaults(windows=(3, 1), remind_overdue=False, yellow_after_days=None, red_after_days=None)

    def candidates(self, horizon, policy):
        # Only while the call is open: between its closing time and the minute close_due_calls closes it, a draft
        # is neither remindable nor a 督办 matter. The sweeper looks ``max(windows)`` days ahead of its clock, so
        # the call still open at the sweep's (possibly simulated) now is the one closing after horizon - that.
        # (Asked with horizon=now, to resolve 督办 items, this admits calls that closed lately: there are none.)
        opened_until = shift(horizon, -max(policy.window_days, default=0))
        return Application.objects.filter(
            state__in=(A.DRAFT, A.ORG_RETURNED), call__state=Call.State.PUBLISHED,
            call__closes_at__lte=horizon, call__closes_at__gt=opened_until,
        )

    def obligations(self, rows, policy):
        rows = Application.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "call", "organization", "created_by"
        )
        admins = org_admins_by_org(app.organization_id for app in rows)
        out = []
        for app in rows:
            out.append(Obligation(
                pk=app.pk,
                due_at=app.call.closes_at,
                title=_("申报书《%(title)s》（%(call)s）") % {"title": str(app), "call": app.call.title},
                owners=unique_users(active_user(app.created_by), admins.get(app.organization_id, [])),
                responsible=[],
                holder=app.organization.name,
                link=reverse("portal:application_detail", args=[app.pk]),
                office_link=reverse("public:call_detail", args=[app.call_id]),
                organization_id=app.organization_id,
            ))
        return out


class Endorsement(ObligationKind):
    """A submitted application waiting for 单位审核 beyond its 办理时限 (working days from the submission)."""

    code = "endorsement"
    label = gettext_lazy("申报书单位审核")
    model = Application
    owner_label = gettext_lazy("申报单位管理员")
    responsible_label = gettext_lazy("业务处室、申报单位管理员")
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=3, red_after_days=7, service_days=5)

    def candidates(self, horizon, policy):
        return Application.objects.filter(
            state=A.SUBMITTED, submitted_at__lt=service_cutoff(horizon, service_days(self, policy))
        )

    def obligations(self, rows, policy):
        rows = list(Application.objects.filter(pk__in=[r.pk for r in rows]).select_related("organization"))
        dues = add_workdays_many((timezone.localdate(app.submitted_at) for app in rows), service_days(self, policy))
        admins = org_admins_by_org(app.organization_id for app in rows)
        officers = role_users(Role.OFFICER)
        board = f"{reverse('supervision:board')}?kind={self.code}"
        out = []
        for app in rows:
            org_admins = admins.get(app.organization_id, [])
            out.append(Obligation(
                pk=app.pk,
                due_at=end_of_day(dues[timezone.localdate(app.submitted_at)]),
                title=_("申报书《%(title)s》（%(no)s）单位审核") % {"title": str(app), "no": app.number or "-"},
                owners=list(org_admins),
                responsible=unique_users(officers, org_admins),
                holder=app.organization.name,
                link=reverse("portal:endorsement_queue"),
                # the bureau does not see an application before its organisation endorses it: the 督办 board does
                office_link=board,
                organization_id=app.organization_id,
            ))
        return out


class FormalReview(ObligationKind):
    """An endorsed application waiting for the bureau's 形式审查 beyond its 办理时限 (working days from the
    endorsement: the latest ``endorse`` event, so a revision endorsed again starts a new period)."""

    code = "formal_review"
    label = gettext_lazy("申报书形式审查")
    model = Application
    owner_label = gettext_lazy("业务处室")
    responsible_label = gettext_lazy("业务处室")
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=3, red_after_days=7, service_days=10)

    def candidates(self, horizon, policy):
        # endorsed after it was submitted: the submission time bounds the endorsement's from below
        return Application.objects.filter(
            state=A.ENDORSED, submitted_at__lt=service_cutoff(horizon, service_days(self, policy))
        )

    def obligations(self, rows, policy):
        rows = list(Application.objects.filter(pk__in=[r.pk for r in rows]).select_related("call__program"))
        endorsed = dict(
            AuditEvent.objects.filter(
                target_type=ContentType.objects.get_for_model(Application),
                target_id__in=[str(app.pk) for app in rows], verb="endorse",
            ).order_by().values("target_id").annotate(at=Max("created_at")).values_list("target_id", "at")
        )
        since = {
            # without an event (rows written outside the services) the latest known time before the endorsement
            app.pk: endorsed.get(str(app.pk)) or max(t for t in (app.reached_bureau_at, app.submitted_at) if t)
            for app in rows
        }
        dues = add_workdays_many((timezone.localdate(t) for t in since.values()), service_days(self, policy))
        officers = role_users(Role.OFFICER)
        out = []
        for app in rows:
            link = reverse("portal:review_detail", args=[app.pk])
            out.append(Obligation(
                pk=app.pk,
                due_at=end_of_day(dues[timezone.localdate(since[app.pk])]),
                title=_("申报书《%(title)s》（%(no)s）形式审查") % {"title": str(app), "no": app.number or "-"},
                owners=list(officers),
                responsible=list(officers),
                holder=_office(app.call.program),
                link=link,
                office_link=link,
                organization_id=None,
            ))
        return out


# --- checkpoints of a running project ----------------------------------------------------------------------------


def checkpoint_people(projects: Iterable[Project]):
    """Who is on the ladder of a project's checkpoint report, fetched once per batch. Returns
    ``people(project) -> (owners, responsible)``: the organisation's admins and the application's author owe it;
    the officers and the organisation's admins are responsible (黄牌)."""
    projects = list(projects)
    admins = org_admins_by_org(p.organization_id for p in projects)
    # the authors once each (active ones only), not a User row per report
    authors = users_by_pk(p.application.created_by_id for p in projects if p.application_id)
    officers = role_users(Role.OFFICER)

    def people(project: Project) -> tuple[list, list]:
        org_admins = admins.get(project.organization_id, [])
        author = authors.get(project.application.created_by_id) if project.application_id else None
        return unique_users(org_admins, active_user(author)), unique_users(officers, org_admins)

    return people


def _pk_url(name: str):
    """``reverse(name, args=[pk])`` for a batch: the URL is reversed once and each pk put in place of a marker
    (reversing costs ~0.1 ms, two per report)."""
    marker = "918273645546372819"
    head, tail = reverse(name, args=[marker]).split(marker)
    return lambda pk: f"{head}{pk}{tail}"


class _CheckpointReportKind(ObligationKind):
    """A 中期报告 or 验收申请 owed by the project's organisation by a date on the report."""

    due_field = ""
    what = ""  # "中期检查报告"
    portal_url = office_url = ""

    owner_label = gettext_lazy("承担单位（单位管理员、项目申报人）")
    responsible_label = gettext_lazy("业务处室、单位管理员")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=10)
    open_state = ""  # the report's state while it is owed

    def candidates(self, horizon, policy):
        return self.model.objects.filter(
            state=self.open_state, **{f"{self.due_field}__lte": horizon_date(horizon)},
            project__state=Project.State.ESTABLISHED,
        )

    def obligations(self, rows, policy):
        # only the columns read here: the reports' progress and spending, the applications' texts are large
        rows = list(self.model.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "project__organization", "project__application"
        ).only(
            self.due_field, "project__title", "project__organization__name", "project__application__created_by_id"
        ))
        people = checkpoint_people(report.project for report in rows)
        title, what = _("《%(title)s》%(what)s"), str(self.what)
        portal_link, office_link = _pk_url(self.portal_url), _pk_url(self.office_url)
        out = []
        for report in rows:
            project = report.project
            owners, responsible = people(project)
            out.append(Obligation(
                pk=report.pk,
                due_at=end_of_day(getattr(report, self.due_field)),
                title=title % {"title": project.title, "what": what},
                owners=owners,
                responsible=responsible,
                holder=project.organization.name,
                link=portal_link(report.pk),
                office_link=office_link(report.pk),
                organization_id=project.organization_id,
            ))
        return out

    def deadlines(self, rows, policy):
        return {report.pk: end_of_day(getattr(report, self.due_field)) for report in rows}


class MidtermDue(_CheckpointReportKind):
    """中期检查报告 requested and not yet submitted by its due date."""

    code = "midterm_due"
    label = gettext_lazy("中期检查报告提交")
    model = MidtermReport
    open_state = MidtermReport.State.REQUESTED
    due_field = "due_date"
    what = gettext_lazy("中期检查报告")
    portal_url, office_url = "checkpoints:midterm", "checkpoints_office:midterm"


class MidtermRectify(_CheckpointReportKind):
    """中期检查 concluded 整改: the rectified report is owed by ``rectify_due``."""

    code = "midterm_rectify"
    label = gettext_lazy("中期检查整改材料提交")
    model = MidtermReport
    open_state = MidtermReport.State.RECTIFYING
    due_field = "rectify_due"
    what = gettext_lazy("中期检查整改材料")
    portal_url, office_url = "checkpoints:midterm", "checkpoints_office:midterm"


class AcceptanceRectify(_CheckpointReportKind):
    """验收 concluded 整改: the rectified acceptance application is owed by ``rectify_due``."""

    code = "acceptance_rectify"
    label = gettext_lazy("验收整改材料提交")
    model = AcceptanceReport
    open_state = AcceptanceReport.State.RECTIFYING
    due_field = "rectify_due"
    what = gettext_lazy("验收整改材料")
    portal_url, office_url = "checkpoints:acceptance", "checkpoints_office:acceptance"


class ExtensionDecision(ObligationKind):
    """A 延期申请 waiting for the officer's decision beyond its 办理时限 (working days from the request)."""

    code = "extension_decision"
    label = gettext_lazy("延期申请审批")
    model = ExtensionRequest
    owner_label = gettext_lazy("业务处室")
    responsible_label = gettext_lazy("业务处室")
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=3, red_after_days=7, service_days=5)

    def candidates(self, horizon, policy):
        return ExtensionRequest.objects.filter(
            state=ExtensionRequest.State.SUBMITTED, requested_at__lt=service_cutoff(horizon, service_days(self, policy)),
            project__state=Project.State.ESTABLISHED,
        )

    def obligations(self, rows, policy):
        rows = list(ExtensionRequest.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "project__call__program"
        ))
        dues = add_workdays_many((timezone.localdate(ext.requested_at) for ext in rows), service_days(self, policy))
        officers = role_users(Role.OFFICER)
        out = []
        for ext in rows:
            project = ext.project
            link = reverse("checkpoints_office:extension", args=[ext.pk])
            out.append(Obligation(
                pk=ext.pk,
                due_at=end_of_day(dues[timezone.localdate(ext.requested_at)]),
                title=_("《%(title)s》延期申请（%(months)d个月）审批") % {"title": project.title, "months": ext.months},
                owners=list(officers),
                responsible=list(officers),
                holder=_office(project.call.program if project.call_id else None),
                link=link,
                office_link=link,
                organization_id=None,
            ))
        return out


# --- 揭榜挂帅 --------------------------------------------------------------------------------------------------------


class MilestoneDue(ObligationKind):
    """A 揭榜挂帅 project's milestone not reported by its date (完成时间)."""

    code = "milestone_due"
    label = gettext_lazy("揭榜挂帅里程碑报告")
    model = ProjectMilestone
    owner_label = gettext_lazy("揭榜单位（单位管理员、揭榜方案填报人）")
    responsible_label = gettext_lazy("业务处室、揭榜单位管理员、发榜单位管理员")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=10)

    def candidates(self, horizon, policy):
        return ProjectMilestone.objects.filter(
            state=ProjectMilestone.State.PENDING, due_date__lte=horizon_date(horizon),
            project__state=Project.State.ESTABLISHED,
        )

    def obligations(self, rows, policy):
        rows = list(ProjectMilestone.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "project__organization", "project__bid__created_by", "project__challenge"
        ))
        admins = org_admins_by_org(
            [m.project.organization_id for m in rows]
            + [m.project.challenge.organization_id for m in rows if m.project.challenge_id]
        )
        officers = role_users(Role.OFFICER)
        out = []
        for milestone in rows:
            project = milestone.project
            team_admins = admins.get(project.organization_id, [])
            poster_admins = admins.get(project.challenge.organization_id, []) if project.challenge_id else []
            author = project.bid.created_by if project.bid_id else None
            out.append(Obligation(
                pk=milestone.pk,
                due_at=end_of_day(milestone.due_date),
                title=_("《%(title)s》第%(n)d个里程碑“%(m)s”报告")
                % {"title": project.title, "n": milestone.position, "m": milestone.title},
                owners=unique_users(team_admins, active_user(author)),
                responsible=unique_users(officers, team_admins, poster_admins),
                holder=project.organization.name,
                link=reverse("challenges:project", args=[project.pk]),
                office_link=reverse("jiebang_office:project", args=[project.pk]),
                organization_id=project.organization_id,
            ))
        return out


for _kind in (MidtermDue(), CallDrafts(), Endorsement(), FormalReview(), MilestoneDue(), MidtermRectify(),
              AcceptanceRectify(), ExtensionDecision()):
    register(_kind)

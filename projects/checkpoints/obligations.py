"""The checkpoint deadlines the sweeper knows about (activity.deadlines): the 验收申请 due 6 months after a project's
(possibly extended) end date, and its automatic action, the 项目终止建议 (``proposals``).

Registered in ProjectsConfig.ready next to ``projects.obligations``; the catalogue is README's "期限与督办".
"""

from __future__ import annotations

import calendar
import datetime

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput
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
    unique_users,
)
from activity.selectors import register_visibility

from ..models import Program, Project
from . import proposals
from .models import TerminationProposal
from .services import ACCEPTANCE_DUE_MONTHS, acceptance_due_date, add_months


def _safe_horizon_date(horizon: datetime.datetime) -> datetime.date:
    try:
        return horizon_date(horizon)
    except OverflowError:  # a horizon clamped at the calendar's ends cannot be moved to local time
        return datetime.date.max if horizon.year > 1 else datetime.date.min


def latest_end_date(day: datetime.date) -> datetime.date | None:
    """The last end date whose acceptance due date (end date + 6 months, clamped to the month's last day) is on or
    before ``day``; None when no end date can be that early. At a month's end the whole month 6 months before
    qualifies (08-29, 08-30 and 08-31 are all due on 02-28); elsewhere it is the same day 6 months before."""
    if day >= datetime.date.max:  # acceptance_due_date clamps a date past the calendar to its last day
        return datetime.date.max
    try:
        if day.day == calendar.monthrange(day.year, day.month)[1]:
            first = add_months(day.replace(day=1), -ACCEPTANCE_DUE_MONTHS)
            return first.replace(day=calendar.monthrange(first.year, first.month)[1])
        return add_months(day, -ACCEPTANCE_DUE_MONTHS)
    except InvalidInput:  # before year 1: nothing is due that early
        return None


class AcceptanceDue(ObligationKind):
    """验收申请 not applied for by a running call project within 6 months after its end date. Past the date (plus
    ``action_after_days``) the project becomes a 终止建议 for the officer."""

    code = "acceptance_due"
    label = gettext_lazy("验收申请")
    model = Project
    owner_label = gettext_lazy("承担单位（单位管理员、项目申报人）")
    responsible_label = gettext_lazy("业务处室、单位管理员")
    action_label = gettext_lazy("生成项目终止建议，由业务处室决定终止项目或不予终止")
    defaults = PolicyDefaults(windows=(30, 7, 1), yellow_after_days=7, red_after_days=30, auto_action=True,
                              action_after_days=0)

    def candidates(self, horizon, policy):
        # a superset by the end date (indexable: no arithmetic on the column); obligations() computes each date
        limit = latest_end_date(_safe_horizon_date(horizon))
        if limit is None:
            return Project.objects.none()
        return (
            Project.objects.filter(state=Project.State.ESTABLISHED, application__isnull=False, end_date__lte=limit)
            .exclude(call__program__kind=Program.Kind.POST_SUBSIDY)
            .filter(proposals.not_applied())
        )

    def obligations(self, rows, policy):
        ids = [r.pk for r in rows]
        rows = Project.objects.filter(pk__in=ids).select_related(
            "organization", "application__created_by", "acceptance_report")
        admins = org_admins_by_org(p.organization_id for p in rows)
        officers = role_users(Role.OFFICER)
        open_proposals = dict(TerminationProposal.objects.filter(
            project_id__in=ids, state=TerminationProposal.State.PROPOSED).values_list("project_id", "pk"))
        index = reverse("checkpoints_office:index")
        out = []
        for project in rows:
            due = acceptance_due_date(project)
            if due is None:
                continue
            org_admins = admins.get(project.organization_id, [])
            author = project.application.created_by if project.application_id else None
            report = getattr(project, "acceptance_report", None)
            if project.pk in open_proposals:
                office = reverse("checkpoints_office:termination", args=[open_proposals[project.pk]])
            elif report is not None:
                office = reverse("checkpoints_office:acceptance", args=[report.pk])
            else:
                office = f"{index}?tab=acceptance"
            out.append(Obligation(
                pk=project.pk,
                due_at=end_of_day(due),
                title=_("《%(title)s》验收申请") % {"title": project.title},
                owners=unique_users(org_admins, active_user(author)),
                responsible=unique_users(officers, org_admins),
                holder=project.organization.name,
                link=reverse("checkpoints:project", args=[project.pk]),
                office_link=office,
                organization_id=project.organization_id,
            ))
        return out

    def act(self, pk, due_at, now):
        return proposals.propose_termination(project_id=pk, due_at=due_at, now=now) is not None


register(AcceptanceDue())
# the audit trail of a proposal is the bureau's, like the proposal itself
register_visibility(TerminationProposal, proposals.proposals_visible_to)

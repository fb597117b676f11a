"""The dated obligations projects owns, described for the deadline sweeper (activity.deadlines).

Each kind says which open rows have a deadline at or before a horizon, and who owes each one and who is
responsible above them. Registered in ProjectsConfig.ready; the catalogue is README's "期限与督办".
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.roles import Role
from activity.deadlines import (
    Obligation,
    ObligationKind,
    PolicyDefaults,
    end_of_day,
    horizon_date,
    org_admins_by_org,
    register,
    role_users,
)

from .models import MidtermReport, Project


def _unique(*groups) -> list:
    seen, out = set(), []
    for group in groups:
        for user in group:
            if user is not None and user.pk not in seen:
                seen.add(user.pk)
                out.append(user)
    return out


class MidtermDue(ObligationKind):
    """中期检查报告 requested and not yet submitted by its due date."""

    code = "midterm_due"
    label = _lazy("中期检查报告提交")
    model = MidtermReport
    owner_label = _lazy("承担单位（单位管理员、项目申报人）")
    responsible_label = _lazy("业务处室、单位管理员")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=10)

    def candidates(self, horizon, policy):
        return MidtermReport.objects.filter(
            state=MidtermReport.State.REQUESTED, due_date__lte=horizon_date(horizon),
            project__state=Project.State.ESTABLISHED,
        )

    def obligations(self, rows, policy):
        rows = MidtermReport.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "project__organization", "project__application__created_by"
        )
        admins = org_admins_by_org(r.project.organization_id for r in rows)
        officers = role_users(Role.OFFICER)
        out = []
        for report in rows:
            project = report.project
            org_admins = admins.get(project.organization_id, [])
            author = project.application.created_by if project.application_id else None
            out.append(Obligation(
                pk=report.pk,
                due_at=end_of_day(report.due_date),
                title=_("《%(title)s》中期检查报告") % {"title": project.title},
                owners=_unique(org_admins, [author] if author and author.is_active else []),
                responsible=_unique(officers, org_admins),
                holder=project.organization.name,
                link=reverse("checkpoints:midterm", args=[report.pk]),
                office_link=reverse("checkpoints_office:midterm", args=[report.pk]),
                organization_id=project.organization_id,
            ))
        return out


register(MidtermDue())

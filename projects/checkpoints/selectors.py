"""Reads of the checkpoints (中期报告, 验收申请, 延期申请 and their attachments), scoped to the user.

- Officers, supervisors and superusers see every report and extension request.
- An organisation's users (applicant, org admin) see their own organisation's, never another's.
- Experts and everybody else see none (an expert reads a report through the review round assigned to them).

The organisation's pages (``checkpoints``) are for its users only; the bureau's (``checkpoints_office``) for the
bureau only; anyone else gets 404. The office lists select what their rows show, so a page runs a fixed number of
queries whatever the row count.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import CharField, Count, Q, QuerySet, Value
from django.http import Http404

from accounts.roles import Role

from ..models import Call, Program, Project
from .models import AcceptanceReport, CheckpointAttachment, ExtensionRequest, MidtermReport, TerminationProposal
from .services import ACCEPTANCE_DUE_MONTHS, add_months

BUREAU_ROLES = (Role.OFFICER, Role.SUPERVISOR)
_PROJECT = ("project__organization", "project__call__program")
MS = MidtermReport.State
AS = AcceptanceReport.State
ES = ExtensionRequest.State


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_all(user) -> bool:
    """The bureau (officers, supervisors) and superusers see every checkpoint."""
    return _active(user) and (user.is_superuser or any(user.has_role(r) for r in BUREAU_ROLES))


def org_of(user) -> int | None:
    """The organisation whose checkpoints the user reports (None when they report none)."""
    if _active(user) and user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return user.organization_id
    return None


def _scoped(qs: QuerySet, user) -> QuerySet:
    if sees_all(user):
        return qs
    organization_id = org_of(user)
    if organization_id is not None:
        return qs.filter(project__organization_id=organization_id)
    return qs.none()


def midterms_visible_to(user) -> QuerySet[MidtermReport]:
    return _scoped(MidtermReport.objects.select_related(*_PROJECT), user)


def acceptances_visible_to(user) -> QuerySet[AcceptanceReport]:
    return _scoped(AcceptanceReport.objects.select_related(*_PROJECT), user)


def extensions_visible_to(user) -> QuerySet[ExtensionRequest]:
    return _scoped(ExtensionRequest.objects.select_related(*_PROJECT), user)


def attachments_visible_to(user) -> QuerySet[CheckpointAttachment]:
    qs = CheckpointAttachment.objects.all()
    if sees_all(user):
        return qs
    org = org_of(user)
    if org is not None:
        return qs.filter(Q(midterm__project__organization_id=org) | Q(acceptance__project__organization_id=org))
    return qs.none()


# ---- the organisation's pages ----------------------------------------------------------------------------


def _get(qs: QuerySet, pk):
    try:
        return qs.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _org_only(qs: QuerySet, user, org_field: str) -> QuerySet:
    """The organisation's own rows, for its users only (the bureau has its own pages)."""
    org = org_of(user)
    if org is None:
        return qs.none()
    return qs.filter(**{org_field: org})


def project_for_org(user, pk) -> Project:
    """The organisation's project with its checkpoints (one query): 404 for anyone else."""
    qs = Project.objects.select_related("call__program", "organization", "midterm", "acceptance_report",
                                        "extension_request")
    return _get(_org_only(qs, user, "organization_id"), pk)


def midterm_for_org(user, pk) -> MidtermReport:
    qs = MidtermReport.objects.select_related("project__call__program", "project__organization")
    return _get(_org_only(qs, user, "project__organization_id"), pk)


def acceptance_for_org(user, pk) -> AcceptanceReport:
    qs = AcceptanceReport.objects.select_related("project__call__program", "project__organization")
    return _get(_org_only(qs, user, "project__organization_id"), pk)


def attachment_for_org(user, pk) -> CheckpointAttachment:
    qs = CheckpointAttachment.objects.select_related("midterm__project", "acceptance__project")
    org = org_of(user)
    if org is None:
        raise Http404
    return _get(qs.filter(Q(midterm__project__organization_id=org) | Q(acceptance__project__organization_id=org)),
                pk)


def attachments_of(report) -> list[CheckpointAttachment]:
    """The report's files still attached, the current round's first."""
    return list(report.attachments.filter(removed_at__isnull=True).select_related("uploaded_by")
                .order_by("-attempt", "kind", "id"))


def related(project: Project, name: str):
    """``project.midterm`` / ``acceptance_report`` / ``extension_request`` or None (selected with the project)."""
    try:
        return getattr(project, name)
    except ObjectDoesNotExist:
        return None


# ---- the bureau's pages ----------------------------------------------------------------------------------


def _bureau_only(qs: QuerySet, user) -> QuerySet:
    return qs if sees_all(user) else qs.none()


def midterm_for_bureau(user, pk) -> MidtermReport:
    qs = MidtermReport.objects.select_related("project__call__program", "project__organization", "requested_by",
                                              "submitted_by", "concluded_by")
    return _get(_bureau_only(qs, user), pk)


def acceptance_for_bureau(user, pk) -> AcceptanceReport:
    qs = AcceptanceReport.objects.select_related("project__call__program", "project__organization", "created_by",
                                                 "submitted_by", "concluded_by")
    return _get(_bureau_only(qs, user), pk)


def extension_for_bureau(user, pk) -> ExtensionRequest:
    qs = ExtensionRequest.objects.select_related("project__call__program", "project__organization", "requested_by",
                                                 "decided_by")
    return _get(_bureau_only(qs, user), pk)


def attachment_for_bureau(user, pk) -> CheckpointAttachment:
    return _get(_bureau_only(CheckpointAttachment.objects.all(), user), pk)


def checkpoint_calls(user) -> QuerySet[Call]:
    """The calls that have projects with checkpoints (not 后补助), for the office filters and the opening page."""
    qs = Call.objects.filter(projects__isnull=False).exclude(program__kind=Program.Kind.POST_SUBSIDY).distinct()
    return _bureau_only(qs.select_related("program").order_by("-year", "-id"), user)


def _overdue_midterm(today: datetime.date) -> Q:
    return Q(state=MS.REQUESTED, due_date__lt=today) | Q(state=MS.RECTIFYING, rectify_due__lt=today)


def _overdue_acceptance(today: datetime.date) -> Q:
    # due ACCEPTANCE_DUE_MONTHS after the (possibly extended) end date: overdue when the end date lies before that
    # many months ago and it is still being filled in
    ended_before = add_months(today, -ACCEPTANCE_DUE_MONTHS)
    return (Q(state=AS.DRAFT, project__end_date__lt=ended_before)
            | Q(state=AS.RECTIFYING, rectify_due__lt=today))


def office_midterms(user, *, call=None, state: str = "", overdue: bool = False, today=None) -> QuerySet:
    qs = _bureau_only(MidtermReport.objects.select_related("project__organization", "project__call__program"), user)
    if call:
        qs = qs.filter(project__call_id=call)
    if state:
        qs = qs.filter(state=state)
    if overdue and today:
        qs = qs.filter(_overdue_midterm(today))
    return qs.order_by("due_date", "id")


def office_acceptances(user, *, call=None, state: str = "", overdue: bool = False, today=None) -> QuerySet:
    qs = _bureau_only(AcceptanceReport.objects.select_related("project__organization", "project__call__program"),
                      user)
    if call:
        qs = qs.filter(project__call_id=call)
    if state:
        qs = qs.filter(state=state)
    if overdue and today:
        qs = qs.filter(_overdue_acceptance(today))
    return qs.order_by("-created_at", "-id")


def office_extensions(user, *, call=None, state: str = "", overdue: bool = False, today=None) -> QuerySet:
    qs = _bureau_only(ExtensionRequest.objects.select_related("project__organization", "project__call__program",
                                                              "requested_by"), user)
    if call:
        qs = qs.filter(project__call_id=call)
    if state:
        qs = qs.filter(state=state)
    if overdue and today:  # not decided within a month of the request
        qs = qs.filter(state=ES.SUBMITTED, requested_at__date__lt=today - datetime.timedelta(days=30))
    return qs.order_by("-requested_at", "-id")


def _pending(model, tab: str, state: str) -> QuerySet:
    # one row, (tab, how many): an aggregate without GROUP BY (a constant is not grouped by)
    return (model.objects.filter(state=state).order_by().values(tab=Value(tab, output_field=CharField()))
            .annotate(n=Count("id")).values_list("tab", "n"))


def pending_counts(user) -> dict[str, int]:
    """What waits for the bureau on each tab: reports submitted, extensions not yet decided and termination
    proposals not yet decided (one query)."""
    counts = {"midterm": 0, "acceptance": 0, "extension": 0, "termination": 0}
    if not sees_all(user):
        return counts
    parts = [_pending(MidtermReport, "midterm", MS.SUBMITTED), _pending(AcceptanceReport, "acceptance", AS.SUBMITTED),
             _pending(ExtensionRequest, "extension", ES.SUBMITTED),
             _pending(TerminationProposal, "termination", TerminationProposal.State.PROPOSED)]
    counts.update(dict(parts[0].union(*parts[1:], all=True)))
    return counts


def state_counts(qs: QuerySet) -> dict[str, int]:
    return dict(qs.order_by().values_list("state").annotate(n=Count("id")))


def projects_to_open(user, call_id) -> QuerySet[Project]:
    """The call's projects still running without a 中期检查 (the opening page ticks them)."""
    qs = Project.objects.filter(call_id=call_id, state=Project.State.ESTABLISHED, midterm__isnull=True)
    return _bureau_only(qs.select_related("organization").order_by("number", "id"), user)

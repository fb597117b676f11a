"""项目终止建议: a running project that has not applied for acceptance by its acceptance due date (6 months after its
possibly extended end date, ``services.acceptance_due_date``) becomes a termination proposal for the officer.

The deadline sweeper (``obligations.AcceptanceDue``) reminds the organisation before the date, climbs the 督办 ladder
after it, and, when the kind's ReminderPolicy says so, calls ``propose_termination`` (its automatic action). The
officer then decides once (``decide_proposal``):

- 终止项目 (``accept``): the project is terminated through the existing service (``projects.services.
  terminate_project``: its open checkpoints are cancelled, funding ends the 任务书, the recovery follows as for any
  termination), with the reason and whether it was the organisation's fault;
- 不予终止 (``dismiss``): with the reason (the organisation applied late, an extension was granted...).

The reads the office pages and the API use are at the end (bureau only: anyone else sees nothing).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import PermissionRefused, TransitionRefused
from accounts.models import User
from accounts.workflow import record_audit, run_transition
from activity.deadlines import end_of_day
from activity.messaging import MessageKind
from activity.services import notify

from ..models import Project
from ..services import terminate_project
from .models import AcceptanceReport, TerminationProposal
from .selectors import sees_all
from .services import TERMINATION_PROPOSAL_WORKFLOW, _lock_project, _officers, acceptance_due_date, checkable

TP = TerminationProposal.State
AS = AcceptanceReport.State
P = Project.State

#: an acceptance report in these states has not been applied for (still being filled in, or never started)
NOT_APPLIED_STATES = (AS.DRAFT, AS.CANCELLED)

def not_applied(prefix: str = "") -> Q:
    """The projects (or, with ``prefix``, the rows of a project relation) without an acceptance application."""
    return (Q(**{f"{prefix}acceptance_report__isnull": True})
            | Q(**{f"{prefix}acceptance_report__state__in": NOT_APPLIED_STATES}))


def acceptance_applied(project: Project) -> bool:
    return AcceptanceReport.objects.filter(project=project).exclude(state__in=NOT_APPLIED_STATES).exists()


def overdue_days(due_date: datetime.date | None, today: datetime.date | None = None) -> int:
    """Whole days since the acceptance due date passed (0 on the day itself or before it)."""
    if due_date is None:
        return 0
    today = today or timezone.localdate()
    return max((today - due_date).days, 0) if due_date < today else 0


def office_link(proposal: TerminationProposal) -> str:
    return reverse("checkpoints_office:termination", args=[proposal.pk])


# ---- the automatic action --------------------------------------------------------------------------------------


def propose_termination(*, project_id: int, due_at: datetime.datetime | None = None,
                        now: datetime.datetime | None = None) -> TerminationProposal | None:
    """The sweeper's automatic action for a project past its acceptance due date: propose its termination to the
    officers. Nothing happens (None) when the project no longer runs, has applied for acceptance meanwhile, its
    deadline moved (an extension) or is not past, or a proposal is open, or one was already made for this deadline
    (a dismissed one is not made again). The officers are told once; the audit trail records it."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            project = _lock_project(project_id)
        except Project.DoesNotExist:
            return None
        if project.state != P.ESTABLISHED or checkable(project) or acceptance_applied(project):
            return None
        due = acceptance_due_date(project)
        if due is None:
            return None
        deadline = end_of_day(due)
        if deadline > now or (due_at is not None and deadline != due_at):
            return None
        if TerminationProposal.objects.filter(project=project).filter(Q(state=TP.PROPOSED) | Q(due_date=due)).exists():
            return None
        proposal = TerminationProposal.objects.create(project=project, due_date=due, created_at=now)
        days = overdue_days(due, timezone.localdate(now))
        reason = str(TerminationProposal.Reason.ACCEPTANCE_NOT_APPLIED.label)
        record_audit(actor=None, verb="propose", target=proposal, to_state=proposal.state, reason=reason,
                     data={"project": project.pk, "due_date": due.isoformat(), "overdue_days": days})
        notify(_officers(), kind=MessageKind.TERMINATION_PROPOSED,
               title=_("项目终止建议：%(p)s") % {"p": project.number},
               body=_("项目《%(t)s》（%(o)s）的验收申请期限为 %(d)s，已逾期 %(n)s 天仍未申请验收，系统建议终止该项目。"
                      "请核实后作出终止项目或不予终止的决定。")
               % {"t": project.title, "o": project.organization.name, "d": due.isoformat(), "n": days},
               link=office_link(proposal), target=proposal,
               dedupe_key=f"termination_proposal:{proposal.pk}:proposed")
    return proposal


# ---- the officer's decision ------------------------------------------------------------------------------------


def decide_proposal(*, actor: User, proposal_id: int, accept: bool, reason: str = "", fault: bool = False,
                    now=None) -> TerminationProposal:
    """终止项目 (``accept``: the project is terminated by ``projects.services.terminate_project`` with ``reason`` and
    ``fault``) or 不予终止 (the reason is required). Decided once: a second decision is refused (409)."""
    if actor is None or not actor.has_perm("projects.manage_checkpoints"):
        raise PermissionRefused(_("只有科技局业务处室可以处理终止建议。"))
    now, reason, fault = now or timezone.now(), (reason or "").strip(), bool(fault) and accept
    proposal = TerminationProposal.objects.get(pk=proposal_id)
    with transaction.atomic():
        project = _lock_project(proposal.project_id)  # the project first, as the automatic action locks it

        def guard(locked):
            if not accept:
                return
            if project.state != P.ESTABLISHED:
                raise TransitionRefused(_("项目当前状态为“%(s)s”，无需终止，请作出不予终止的决定。")
                                        % {"s": project.get_state_display()})
            if acceptance_applied(project):
                raise TransitionRefused(_("承担单位已提交验收申请，不能再据此终止项目，请作出不予终止的决定。"))

        def apply(locked):
            locked.decided_by, locked.decided_at, locked.note = actor, now, reason
            return ["decided_by", "decided_at", "note"]

        def after(locked, from_state):
            if accept:
                terminate_project(actor=actor, project_id=project.pk, fault=fault, now=now,
                                  reason=_("逾期未申请验收（验收申请期限 %(d)s）：%(r)s")
                                  % {"d": locked.due_date.isoformat(), "r": reason})

        return run_transition(workflow=TERMINATION_PROPOSAL_WORKFLOW, queryset=TerminationProposal.objects.all(),
                              pk=proposal_id, name="accept" if accept else "dismiss", actor=actor, reason=reason,
                              guard=guard, apply=apply, after=after,
                              data={"fault": fault} if accept else None)


# ---- reads (bureau only) ---------------------------------------------------------------------------------------


def proposals_visible_to(user) -> QuerySet[TerminationProposal]:
    """Every proposal for the bureau (officers, supervisors, superusers); none for anyone else."""
    qs = TerminationProposal.objects.select_related("project__organization", "project__call__program")
    return qs if sees_all(user) else qs.none()


def proposal_for_bureau(user, pk) -> TerminationProposal:
    try:
        return proposals_visible_to(user).select_related("decided_by").get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404 from None


def office_proposals(user, *, call=None, state: str = "", overdue: bool = False, today=None) -> QuerySet:
    """The office list's tab: pending first, then by when they were made (``overdue``: the pending ones)."""
    qs = proposals_visible_to(user)
    if call:
        qs = qs.filter(project__call_id=call)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state=TP.PROPOSED)
    return qs.order_by("-created_at", "-id")


def pending_proposals(user, limit: int = 5) -> list[TerminationProposal]:
    """The oldest proposals awaiting a decision, at most ``limit`` (one query; ``selectors.pending_counts`` says how
    many there are)."""
    if not sees_all(user):
        return []
    return list(proposals_visible_to(user).filter(state=TP.PROPOSED).order_by("created_at", "id")[:limit])

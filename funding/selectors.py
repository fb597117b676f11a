"""Reads of 任务书 and the money, scoped to the user.

- Finance, officers, supervisors and superusers see every agreement and the whole ledger.
- An organisation's users (applicant, org admin) see their own organisation's agreements (read-only but for the
  admin's confirmation), never another's.
- Experts and everybody else see none.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from accounts.roles import Role
from projects.models import Project

from .models import (
    AgreementBudgetLine,
    BudgetAdjustment,
    Disbursement,
    PostSubsidyClaim,
    RecoveryOrder,
    Repayment,
    TaskAgreement,
    Tranche,
)

BUREAU_ROLES = (Role.FINANCE, Role.OFFICER, Role.SUPERVISOR)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_all(user) -> bool:
    return _active(user) and (user.is_superuser or any(user.has_role(r) for r in BUREAU_ROLES))


def is_finance(user) -> bool:
    return _active(user) and user.has_role(Role.FINANCE)


def agreements_visible_to(user) -> QuerySet[TaskAgreement]:
    base = TaskAgreement.objects.select_related("project__organization", "project__call__program",
                                                "project__challenge__program")
    if sees_all(user):
        return base
    if _active(user) and user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return base.filter(project__organization_id=user.organization_id)
    return base.none()


def agreement_list(user, *, state: str = "", q: str = "") -> QuerySet[TaskAgreement]:
    qs = agreements_visible_to(user)
    if state:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(Q(number__icontains=q) | Q(project__title__icontains=q)
                       | Q(project__organization__name__icontains=q))
    return qs.order_by("-created_at", "-id")


def agreement_for(user, pk) -> TaskAgreement:
    """One agreement with its tranches and disbursements (a fixed number of queries), or 404."""
    qs = agreements_visible_to(user).prefetch_related(
        Prefetch("tranches", queryset=Tranche.objects.order_by("position")),
        Prefetch("budget_lines", queryset=AgreementBudgetLine.objects.order_by("id")),
        Prefetch("disbursements", queryset=Disbursement.objects.select_related(
            "tranche", "recorded_by", "decided_by", "reverses").order_by("recorded_at", "id")),
    )
    return get_object_or_404(qs, pk=pk)


def due_tranches(user) -> QuerySet[Tranche]:
    """Tranches whose condition is met and that are not fully paid (finance's work list)."""
    if not sees_all(user):
        return Tranche.objects.none()
    return (Tranche.objects.filter(state=Tranche.State.DUE, agreement__state=TaskAgreement.State.SIGNED)
            .select_related("agreement__project__organization")
            .annotate(pending=Sum("disbursements__amount",
                                  filter=Q(disbursements__state=Disbursement.State.RECORDED,
                                           disbursements__kind=Disbursement.Kind.PAYMENT)))
            .order_by("due_at", "id"))


def tranche_for_finance(user, pk) -> Tranche:
    if not is_finance(user):
        from django.http import Http404

        raise Http404
    return get_object_or_404(
        Tranche.objects.select_related("agreement__project__organization").annotate(
            pending=Sum("disbursements__amount", filter=Q(disbursements__state=Disbursement.State.RECORDED,
                                                          disbursements__kind=Disbursement.Kind.PAYMENT))),
        pk=pk)


def approval_queue(user) -> QuerySet[Disbursement]:
    """Disbursements recorded and waiting for a second finance user."""
    if not sees_all(user):
        return Disbursement.objects.none()
    return (Disbursement.objects.filter(state=Disbursement.State.RECORDED)
            .select_related("agreement__project__organization", "tranche", "recorded_by", "reverses")
            .order_by("recorded_at", "id"))


def disbursement_list(user, *, state: str = "") -> QuerySet[Disbursement]:
    """Every disbursement (payments and reversals), newest first, for the bureau (finance, officers, supervisors);
    none for anybody else. ``state=recorded`` is the approval queue."""
    if not sees_all(user):
        return Disbursement.objects.none()
    qs = Disbursement.objects.select_related("agreement__project__organization", "tranche", "recorded_by",
                                             "decided_by", "reverses")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-recorded_at", "-id")


def disbursement_for_finance(user, pk) -> Disbursement:
    if not is_finance(user):
        from django.http import Http404

        raise Http404
    return get_object_or_404(Disbursement.objects.select_related("agreement__project", "tranche", "recorded_by"),
                             pk=pk)


def projects_without_agreement(user) -> QuerySet[Project]:
    """Projects established before agreements existed (the officer drafts theirs)."""
    if not sees_all(user):
        return Project.objects.none()
    return Project.objects.filter(agreement__isnull=True, state=Project.State.ESTABLISHED).select_related(
        "organization").order_by("number")


def ledger_totals(agreements: QuerySet[TaskAgreement]) -> dict[str, Decimal]:
    """Planned (the fiscal amounts), committed (due or recorded, not yet paid), and paid, to the fen."""
    agg = agreements.aggregate(planned=Sum("fiscal_amount"), paid=Sum("paid_total"), recorded=Sum("recorded_total"),
                               n=Count("id"))
    due = Tranche.objects.filter(agreement__in=agreements, state=Tranche.State.DUE).aggregate(
        amount=Sum("amount"), paid=Sum("paid_amount"))
    zero = Decimal("0.00")
    return {
        "count": agg["n"] or 0,
        "planned": agg["planned"] or zero,
        "paid": agg["paid"] or zero,
        "recorded": agg["recorded"] or zero,
        "due_unpaid": (due["amount"] or zero) - (due["paid"] or zero),
    }


def ledger_agreements(user, *, program_id=None, year=None, year_basis: str = "signed",
                      state: str = "") -> QuerySet[TaskAgreement]:
    """经费台账: the agreements the user may see, by programme (of the call or the challenge), by year (of signing,
    or of the project's establishment) and by state; ordered by number."""
    qs = agreements_visible_to(user) if sees_all(user) else TaskAgreement.objects.none()
    if program_id:
        qs = qs.filter(Q(project__call__program_id=program_id) | Q(project__challenge__program_id=program_id))
    if year:
        qs = qs.filter(signed_at__year=year) if year_basis == "signed" else qs.filter(
            project__established_at__year=year)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("number", "id")


def with_ledger_figures(agreements: QuerySet[TaskAgreement]) -> QuerySet[TaskAgreement]:
    """Each agreement with ``due_amount`` and ``due_paid``: its due tranches' amounts and what is paid on them."""
    due = Q(tranches__state=Tranche.State.DUE)
    return agreements.annotate(due_amount=Sum("tranches__amount", filter=due),
                               due_paid=Sum("tranches__paid_amount", filter=due))


def disbursements_of(agreements: QuerySet[TaskAgreement]) -> QuerySet[Disbursement]:
    return Disbursement.objects.filter(agreement__in=agreements)


# ---- 追回 (recovery orders and repayments) ---------------------------------------------------------------------


def recovery_orders_visible_to(user) -> QuerySet[RecoveryOrder]:
    """The bureau (finance, officers, supervisors) sees every recovery order, an organisation's users their own,
    everybody else none."""
    base = RecoveryOrder.objects.select_related("agreement__project__organization", "credit_record", "created_by")
    if sees_all(user):
        return base
    if _active(user) and user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return base.filter(agreement__project__organization_id=user.organization_id)
    return base.none()


def recovery_list(user, *, state: str = "") -> QuerySet[RecoveryOrder]:
    """追回单 newest first, with ``pending`` (recorded repayments awaiting approval) annotated."""
    qs = recovery_orders_visible_to(user).annotate(
        pending=Sum("repayments__amount", filter=Q(repayments__state=Repayment.State.RECORDED)))
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-id")


def recovery_orders_of(user, agreement: TaskAgreement) -> list[RecoveryOrder]:
    """The agreement's recovery orders the user may see (one query)."""
    return list(recovery_orders_visible_to(user).filter(agreement=agreement).order_by("created_at", "id"))


def recovery_for(user, pk) -> RecoveryOrder:
    """One recovery order with its repayments (a fixed number of queries), or 404."""
    qs = recovery_orders_visible_to(user).prefetch_related(
        Prefetch("repayments", queryset=Repayment.objects.select_related("recorded_by", "decided_by").order_by(
            "recorded_at", "id")))
    return get_object_or_404(qs, pk=pk)


def repayment_for_finance(user, pk) -> Repayment:
    if not is_finance(user):
        from django.http import Http404

        raise Http404
    return get_object_or_404(Repayment.objects.select_related("order"), pk=pk)


# ---- 预算调整 and 后补助 ---------------------------------------------------------------------------------------------


def is_org_user(user) -> bool:
    return _active(user) and bool(user.organization_id) and (
        user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN))


def adjustments_visible_to(user) -> QuerySet[BudgetAdjustment]:
    """The bureau sees every budget adjustment, an organisation's users their own, everybody else none."""
    base = BudgetAdjustment.objects.select_related("agreement__project__organization", "requested_by",
                                                   "decided_by")
    if sees_all(user):
        return base
    if is_org_user(user):
        return base.filter(agreement__project__organization_id=user.organization_id)
    return base.none()


def adjustment_list(user, *, state: str = "") -> QuerySet[BudgetAdjustment]:
    qs = adjustments_visible_to(user)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-requested_at", "-id")


def adjustment_for(user, pk) -> BudgetAdjustment:
    return get_object_or_404(adjustments_visible_to(user), pk=pk)


def adjustments_of(user, agreement: TaskAgreement) -> list[BudgetAdjustment]:
    """The agreement's adjustments, oldest first (one query)."""
    return list(adjustments_visible_to(user).filter(agreement=agreement).order_by("requested_at", "id"))


def claims_visible_to(user) -> QuerySet[PostSubsidyClaim]:
    """The bureau sees every 后补助 claim, an organisation's users their own, everybody else none."""
    base = PostSubsidyClaim.objects.select_related("agreement__project__organization", "submitted_by",
                                                   "decided_by")
    if sees_all(user):
        return base
    if is_org_user(user):
        return base.filter(agreement__project__organization_id=user.organization_id)
    return base.none()


def claim_list(user, *, state: str = "") -> QuerySet[PostSubsidyClaim]:
    qs = claims_visible_to(user)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-submitted_at", "-id")


def claim_for(user, pk) -> PostSubsidyClaim:
    return get_object_or_404(claims_visible_to(user).select_related("agreement__project__call__program"), pk=pk)


def claim_of(user, agreement: TaskAgreement) -> PostSubsidyClaim | None:
    return claims_visible_to(user).filter(agreement=agreement).first()

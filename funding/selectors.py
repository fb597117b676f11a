"""Reads of 任务书 and the money, scoped to the user.

- Finance, officers, supervisors and superusers see every agreement and the whole ledger.
- An organisation's users (applicant, org admin) see their own organisation's agreements (read-only but for the
  admin's confirmation), never another's.
- Experts and everybody else see none.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404

from accounts.fields import MoneyField
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


# ---- 经费台账 (the ledger) ------------------------------------------------------------------------------------
#
# The figures of one agreement, and of a set of them, to the fen (what the page, its totals and the .xlsx show):
#
#   planned      计划安排: the fiscal amount (财政资金)
#   paid         已拨付: approved payments less approved reversals (``paid_total``)
#   recorded     待审核: payments recorded and awaiting the second finance user (``recorded_total``)
#   due_unpaid   应拨未拨: what is open on tranches now due (amount − paid), recorded payments included
#   committed    已承诺: paid + due_unpaid
#   unpaid       未拨付: what may still be paid: the open amounts of tranches neither paid nor cancelled
#                (planned or due: amount − paid)
#   cancelled    已取消: what cancelled tranches will never pay (amount − paid on them; a terminated agreement's rest)
#   recovery_due 应追回: the amounts due of its recovery orders (追回单)
#   recovered    已追回: approved repayments on them (``repaid_total``)
#   net_paid     净拨付: paid − recovered
#
# planned = paid + unpaid + cancelled for every agreement (its tranches add up to its fiscal amount, and what is paid
# on them to its paid total), and so for every total.

_TRANCHE_OPEN = F("amount") - F("paid_amount")
_OPEN_STATES = (Tranche.State.PLANNED, Tranche.State.DUE)


def _money_sum(expression, **kwargs) -> Sum:
    return Sum(expression, output_field=MoneyField(), **kwargs)


def _recovery_sum(field: str) -> Subquery:
    # a subquery, not a join: joined with the tranches, the orders would count once per tranche
    return Subquery(RecoveryOrder.objects.filter(agreement=OuterRef("pk")).order_by().values("agreement")
                    .annotate(s=Sum(field)).values("s"), output_field=MoneyField())


def _figures(*, planned, paid, recorded, due_unpaid, unpaid, cancelled, recovery_due, recovered) -> dict[str, Decimal]:
    zero = Decimal("0.00")
    planned, paid, recorded = planned or zero, paid or zero, recorded or zero
    due_unpaid, unpaid, cancelled = due_unpaid or zero, unpaid or zero, cancelled or zero
    recovery_due, recovered = recovery_due or zero, recovered or zero
    return {
        "planned": planned, "paid": paid, "recorded": recorded, "due_unpaid": due_unpaid,
        "committed": paid + due_unpaid, "unpaid": unpaid, "cancelled": cancelled,
        "recovery_due": recovery_due, "recovered": recovered, "net_paid": paid - recovered,
    }


def ledger_totals(agreements: QuerySet[TaskAgreement]) -> dict:
    """The ledger's totals over ``agreements`` (two queries whatever their number): ``count`` and every figure
    above, to the fen."""
    agg = agreements.annotate(
        ledger_recovery_due=_recovery_sum("amount_due"), ledger_recovered=_recovery_sum("repaid_total"),
    ).aggregate(planned=Sum("fiscal_amount"), paid=Sum("paid_total"), recorded=Sum("recorded_total"), n=Count("id"),
                recovery_due=_money_sum("ledger_recovery_due"), recovered=_money_sum("ledger_recovered"))
    tranches = Tranche.objects.filter(agreement__in=agreements).aggregate(
        due_unpaid=_money_sum(_TRANCHE_OPEN, filter=Q(state=Tranche.State.DUE)),
        unpaid=_money_sum(_TRANCHE_OPEN, filter=Q(state__in=_OPEN_STATES)),
        cancelled=_money_sum(_TRANCHE_OPEN, filter=Q(state=Tranche.State.CANCELLED)))
    return {"count": agg.pop("n") or 0, **_figures(**agg, **tranches)}


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


LEDGER_ANNOTATIONS = ("ledger_due_unpaid", "ledger_unpaid", "ledger_cancelled", "ledger_recovery_due",
                      "ledger_recovered")


def with_ledger_figures(agreements: QuerySet[TaskAgreement]) -> QuerySet[TaskAgreement]:
    """Each agreement annotated with what ``ledger_figures`` needs (``LEDGER_ANNOTATIONS``), in the same query."""
    return agreements.annotate(
        ledger_due_unpaid=_money_sum(F("tranches__amount") - F("tranches__paid_amount"),
                                     filter=Q(tranches__state=Tranche.State.DUE)),
        ledger_unpaid=_money_sum(F("tranches__amount") - F("tranches__paid_amount"),
                                 filter=Q(tranches__state__in=_OPEN_STATES)),
        ledger_cancelled=_money_sum(F("tranches__amount") - F("tranches__paid_amount"),
                                    filter=Q(tranches__state=Tranche.State.CANCELLED)),
        ledger_recovery_due=_recovery_sum("amount_due"),
        ledger_recovered=_recovery_sum("repaid_total"),
    )


def ledger_figures(planned, paid, recorded, due_unpaid, unpaid, cancelled, recovery_due,
                   recovered) -> dict[str, Decimal]:
    """One agreement's figures from its fields and ``with_ledger_figures``' annotations, in that order."""
    return _figures(planned=planned, paid=paid, recorded=recorded, due_unpaid=due_unpaid, unpaid=unpaid,
                    cancelled=cancelled, recovery_due=recovery_due, recovered=recovered)


def ledger_figures_of(agreement: TaskAgreement) -> dict[str, Decimal]:
    """``ledger_figures`` of an agreement read through ``with_ledger_figures``."""
    return ledger_figures(agreement.fiscal_amount, agreement.paid_total, agreement.recorded_total,
                          *(getattr(agreement, name) for name in LEDGER_ANNOTATIONS))


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

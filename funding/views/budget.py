"""预算调整 pages: the organisation asks for an adjustment from its 任务书 page (the budget after the change, one row per
category; "检查" says whether it will be recorded at once or go to the officer), the list (the bureau: every
adjustment, pending first by default; an organisation: its own), one adjustment (before → after per category) where
the officer approves or rejects it.

Who sees what is the selectors' (``adjustments_visible_to``): another organisation's user, an expert: 404;
anonymous: the login page. Every POST calls one service; a refusal is shown on the page, never a 500.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import DomainError

from .. import budget, selectors
from ..forms_budget import AdjustmentApproveForm, AdjustmentForm, AdjustmentRejectForm
from ..models import BudgetAdjustment
from ..services import BUDGET_CATEGORIES
from ._messages import _flash, _form_messages

PAGE_SIZE = 20
MANAGE = "funding.manage_agreements"
ADJUST = "funding.adjust_budget_obj"
BA = BudgetAdjustment.State
CATEGORY_LABELS = budget.CATEGORY_LABELS
ZERO = Decimal("0.00")


def budget_rows(lines) -> dict:
    """The agreement's budget lines in category order with their totals (for the agreement and print pages)."""
    by_category = {line.category: line for line in lines}
    lines = [by_category[c] for c in BUDGET_CATEGORIES if c in by_category]
    fiscal = sum((r.fiscal_amount for r in lines), ZERO)
    own = sum((r.self_amount for r in lines), ZERO)
    return {"rows": [{"line": line, "total": line.fiscal_amount + line.self_amount} for line in lines],
            "fiscal": fiscal, "self": own, "total": fiscal + own}


def change_rows(adjustment: BudgetAdjustment) -> list[dict]:
    """Before → after of each category the adjustment changes (amounts as Decimal, with the label)."""
    out = []
    for c in adjustment.changes or []:
        row = {"category": c["category"], "label": CATEGORY_LABELS.get(c["category"], c["category"])}
        for key in ("fiscal_before", "fiscal_after", "self_before", "self_after"):
            row[key] = Decimal(c[key])
        row["fiscal_delta"] = row["fiscal_after"] - row["fiscal_before"]
        row["self_delta"] = row["self_after"] - row["self_before"]
        out.append(row)
    return out


def adjustment_rows(adjustments) -> list[dict]:
    return [{"a": a, "changes": change_rows(a)} for a in adjustments]


def can_request(user, agreement, adjustments) -> bool:
    return user.has_perm(ADJUST, agreement) and not budget.why_not_adjustable(
        agreement, pending=any(a.state == BA.PENDING for a in adjustments))


# ---- the organisation asks ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def adjustment_create(request, pk):
    user = request.user
    agreement = selectors.agreement_for(user, pk)
    if not user.has_perm(ADJUST, agreement):
        raise Http404
    current = {line.category: (line.fiscal_amount, line.self_amount) for line in agreement.budget_lines.all()}
    delegation = budget.Delegation.of(agreement.project)
    blocked = budget.why_not_adjustable(agreement)
    assessment = None
    problems: list[str] = []
    status = 200
    if request.method == "POST" and not blocked:
        form = AdjustmentForm(request.POST)
        if form.is_valid():
            try:
                proposed = budget.parse_lines(form.lines())
            except DomainError as e:
                problems = list(e.messages)
            else:
                assessment = budget.assess(current, proposed, delegation, budget.baseline_of(agreement, current))
                problems = budget.totals_problems(assessment)
            if not problems and "submit" in request.POST:
                try:
                    adjustment = budget.request_adjustment(actor=user, agreement_id=agreement.pk,
                                                           lines=form.lines(), reason=form.cleaned_data["reason"])
                except DomainError as e:
                    problems = list(e.messages)
                    status = e.http_status
                else:
                    if adjustment.state == BA.RECORDED:
                        messages.success(request, _("预算调整 %(no)s 在单位自主调整权限内，已备案生效。")
                                         % {"no": adjustment.number})
                    else:
                        messages.success(request, _("预算调整 %(no)s 已提交，超出单位自主调整权限，待科技局审批。")
                                         % {"no": adjustment.number})
                    return redirect("funding:agreement", agreement.pk)
            if problems and status == 200:
                status = 400
        else:
            problems = _form_messages(form)
            status = 400
        _flash(request, problems)
    else:
        form = AdjustmentForm(initial=AdjustmentForm.initial_from(current))
    return render(request, "funding/budget/adjust.html", {
        "agreement": agreement, "project": agreement.project, "form": form, "budget": budget_rows(
            agreement.budget_lines.all()),
        "delegation": delegation,
        "assessment": assessment if not problems else None, "blocked": blocked,
        "limit_rows": [(CATEGORY_LABELS[c], current[c][0], delegation.limit(current[c][0]))
                       for c in BUDGET_CATEGORIES if c in current],
    }, status=status)


# ---- the list and one adjustment ---------------------------------------------------------------------------------


def _may_list(user) -> bool:
    return selectors.sees_all(user) or selectors.is_org_user(user)


@login_required
@require_GET
def adjustment_list(request):
    user = request.user
    if not _may_list(user):
        raise Http404
    bureau = selectors.sees_all(user)
    state = request.GET.get("state", "pending" if bureau else "")
    if state not in BA.values and state != "":
        state = ""
    qs = selectors.adjustment_list(user, state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "funding/budget/list.html", {
        "page": page, "adjustments": adjustment_rows(page.object_list), "state": state, "states": BA.choices,
        "bureau": bureau,
    })


def _render_detail(request, adjustment, *, approve_form=None, reject_form=None, status=200):
    pending = adjustment.state == BA.PENDING
    return render(request, "funding/budget/detail.html", {
        "adjustment": adjustment, "agreement": adjustment.agreement, "project": adjustment.agreement.project,
        "changes": change_rows(adjustment),
        "can_decide": pending and request.user.has_perm(MANAGE),
        "approve_form": approve_form or AdjustmentApproveForm(),
        "reject_form": reject_form or AdjustmentRejectForm(),
    }, status=status)


@login_required
@require_GET
def adjustment_detail(request, pk):
    return _render_detail(request, selectors.adjustment_for(request.user, pk))


def _decision(request, pk, form_class, service, done):
    user = request.user
    adjustment = selectors.adjustment_for(user, pk)
    if not user.has_perm(MANAGE):
        raise Http404
    form = form_class(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        key = "reject_form" if form_class is AdjustmentRejectForm else "approve_form"
        return _render_detail(request, adjustment, status=400, **{key: form})
    try:
        service(actor=user, adjustment_id=adjustment.pk, note=form.cleaned_data["note"])
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:adjustment", adjustment.pk)
    messages.success(request, done % {"no": adjustment.number})
    return redirect("funding:adjustment", adjustment.pk)


@login_required
@require_POST
def adjustment_approve(request, pk):
    return _decision(request, pk, AdjustmentApproveForm, budget.approve_adjustment,
                     _("预算调整 %(no)s 已批准，任务书预算已按调整后的金额更新。"))


@login_required
@require_POST
def adjustment_reject(request, pk):
    return _decision(request, pk, AdjustmentRejectForm, budget.reject_adjustment,
                     _("预算调整 %(no)s 不予批准，任务书预算不变。"))

"""The finance desk (财务): tranches due for payment, recording a payment, the approval queue (a second finance user
approves or rejects), reversing entries, and the ledger (经费台账).

- Recording, approving, rejecting and reversing are for finance users only: everybody else gets 404 (the selectors
  ``tranche_for_finance`` / ``disbursement_for_finance`` say so), and nothing changes.
- The lists (due tranches, the approval queue) and the ledger are read by the bureau (finance, officers,
  supervisors); applicants and experts get 404.
- Every POST calls one service; a refusal (DomainError) is shown on the form or as a message, never a 500.
- Every page runs a fixed number of queries whatever the row count.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import DomainError

from .. import selectors, services
from ..forms_finance import ApproveForm, LedgerFilterForm, RecordForm, RejectForm, ReverseForm, new_key
from ..models import ZERO, Condition, Disbursement, TaskAgreement, Tranche
from ._messages import _flash, _form_messages

PAGE_SIZE = 20
VIEW = "funding.view_ledger"


# ---- helpers -------------------------------------------------------------------------------------------


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise Http404


def _next_or(request, default: str, *args):
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(url)
    return redirect(default, *args)


def condition_text(tranche: Tranche) -> str:
    """拨付条件 in words: 任务书签订后 / 中期检查通过后 / 第2个里程碑通过后 / 2025-06-30."""
    if tranche.condition == Condition.CHECKPOINT:
        cp = tranche.checkpoint or ""
        if cp == "midterm":
            return _("中期检查通过后")
        if cp.startswith("milestone:"):
            return _("第%(n)s个里程碑通过后") % {"n": cp.split(":", 1)[1]}
        return f"{tranche.get_condition_display()}（{cp}）" if cp else tranche.get_condition_display()
    if tranche.condition == Condition.DATE and tranche.due_on:
        return _("%(d)s 起") % {"d": f"{tranche.due_on:%Y-%m-%d}"}
    return tranche.get_condition_display()


def _open_amount(tranche: Tranche) -> Decimal:
    """What may still be recorded on the tranche: its amount less what is paid and what awaits approval."""
    return max(tranche.amount - tranche.paid_amount - (tranche.pending or ZERO), ZERO)


def _dress(tranche: Tranche) -> Tranche:
    tranche.pending = tranche.pending or ZERO
    tranche.open_amount = _open_amount(tranche)
    tranche.condition_text = condition_text(tranche)
    return tranche


# ---- 应拨付 -------------------------------------------------------------------------------------------


@login_required
@require_GET
def due_tranches(request):
    user = request.user
    _require(user, VIEW)
    qs = selectors.due_tranches(user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_dress(t) for t in page.object_list]
    return render(request, "funding/finance/due_tranches.html", {
        "page": page, "tranches": rows, "can_disburse": selectors.is_finance(user),
    })


# ---- 登记拨付 ------------------------------------------------------------------------------------------


def _recordable(tranche: Tranche) -> str:
    """Why the tranche cannot be recorded now ("" when it can)."""
    agreement = tranche.agreement
    if agreement.state != TaskAgreement.State.SIGNED:
        return _("任务书%(s)s，不能拨付。") % {"s": agreement.get_state_display()}
    if tranche.state != Tranche.State.DUE:
        return _("该期拨款当前为“%(s)s”，不能登记拨付。") % {"s": tranche.get_state_display()}
    if tranche.open_amount <= 0:
        return _("本期已全部登记（含待审核），无可登记金额。")
    return ""


def _render_record(request, tranche, form, status=200):
    return render(request, "funding/finance/record.html", {
        "tranche": tranche, "agreement": tranche.agreement, "form": form, "blocked": _recordable(tranche),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record(request, pk):
    user = request.user
    tranche = _dress(selectors.tranche_for_finance(user, pk))
    if request.method == "GET":
        return _render_record(request, tranche, RecordForm(open_amount=tranche.open_amount or None))
    form = RecordForm(request.POST)
    if not form.is_valid():
        return _render_record(request, tranche, form, status=400)
    data = form.cleaned_data
    try:
        d = services.record_disbursement(actor=user, tranche_id=tranche.pk, amount=data["amount"],
                                         voucher_no=data["voucher_no"], paid_on=data["paid_on"],
                                         idempotency_key=data["idempotency_key"], note=data["note"])
    except DomainError as e:
        if e.code == "idempotency_conflict":
            # the page was submitted before with other figures: a new key lets the corrected form go through
            post = request.POST.copy()
            post["idempotency_key"] = new_key()
            form = RecordForm(post)
            form.is_valid()
        for m in e.messages:
            form.add_error(None, m)
        tranche = _dress(selectors.tranche_for_finance(user, pk))
        return _render_record(request, tranche, form, status=e.http_status)
    if d.state != Disbursement.State.RECORDED:  # the same form posted again after its record was decided
        messages.info(request, _("该表单已提交过，未重复登记：拨付记录（凭证号 %(v)s，%(a)s 元）当前为“%(s)s”。")
                      % {"v": d.voucher_no, "a": f"{d.amount:,.2f}", "s": d.get_state_display()})
        return redirect("funding:agreement", d.agreement_id)
    messages.success(request, _("已登记拨付 %(a)s 元（凭证号 %(v)s），待另一位财务人员审核。")
                     % {"a": f"{d.amount:,.2f}", "v": d.voucher_no})
    return redirect("funding:agreement", d.agreement_id)


# ---- 待审核 -------------------------------------------------------------------------------------------


@login_required
@require_GET
def approval_queue(request):
    user = request.user
    _require(user, VIEW)
    page = Paginator(selectors.approval_queue(user), PAGE_SIZE).get_page(request.GET.get("page"))
    can_disburse = selectors.is_finance(user)
    rows = list(page.object_list)
    for d in rows:
        d.own = d.recorded_by_id == user.pk
        d.can_decide = can_disburse and not d.own
    return render(request, "funding/finance/queue.html", {
        "page": page, "disbursements": rows, "can_disburse": can_disburse,
    })


@login_required
@require_POST
def approve(request, pk):
    user = request.user
    d = selectors.disbursement_for_finance(user, pk)
    form = ApproveForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _next_or(request, "funding:queue")
    try:
        d = services.approve_disbursement(actor=user, disbursement_id=d.pk, note=form.cleaned_data["note"])
    except DomainError as e:
        _flash(request, e.messages)
        return _next_or(request, "funding:queue")
    messages.success(request, _("已审核通过：%(k)s %(a)s 元（凭证号 %(v)s）。")
                     % {"k": d.get_kind_display(), "a": f"{d.amount:,.2f}", "v": d.voucher_no})
    return _next_or(request, "funding:queue")


@login_required
@require_POST
def reject(request, pk):
    user = request.user
    d = selectors.disbursement_for_finance(user, pk)
    form = RejectForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return _next_or(request, "funding:queue")
    try:
        d = services.reject_disbursement(actor=user, disbursement_id=d.pk, note=form.cleaned_data["note"])
    except DomainError as e:
        _flash(request, e.messages)
        return _next_or(request, "funding:queue")
    messages.success(request, _("已退回：%(k)s %(a)s 元（凭证号 %(v)s），登记人将收到通知。")
                     % {"k": d.get_kind_display(), "a": f"{d.amount:,.2f}", "v": d.voucher_no})
    return _next_or(request, "funding:queue")


# ---- 冲正 ---------------------------------------------------------------------------------------------


def _render_reverse(request, original, form, status=200):
    reversible = original.kind == Disbursement.Kind.PAYMENT and original.state == Disbursement.State.APPROVED
    return render(request, "funding/finance/reverse.html", {
        "original": original, "agreement": original.agreement, "form": form, "reversible": reversible,
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def reverse_payment(request, pk):
    user = request.user
    original = selectors.disbursement_for_finance(user, pk)
    if request.method == "GET":
        return _render_reverse(request, original, ReverseForm())
    form = ReverseForm(request.POST)
    if not form.is_valid():
        return _render_reverse(request, original, form, status=400)
    data = form.cleaned_data
    try:
        d = services.reverse_disbursement(actor=user, disbursement_id=original.pk, voucher_no=data["voucher_no"],
                                          paid_on=data["paid_on"], idempotency_key=data["idempotency_key"],
                                          note=data["reason"])
    except DomainError as e:
        if e.code == "idempotency_conflict":
            post = request.POST.copy()
            post["idempotency_key"] = new_key()
            form = ReverseForm(post)
            form.is_valid()
        for m in e.messages:
            form.add_error(None, m)
        original = selectors.disbursement_for_finance(user, pk)
        return _render_reverse(request, original, form, status=e.http_status)
    if d.state != Disbursement.State.RECORDED:
        messages.info(request, _("该表单已提交过，未重复登记：冲正记录（凭证号 %(v)s，%(a)s 元）当前为“%(s)s”。")
                      % {"v": d.voucher_no, "a": f"{d.amount:,.2f}", "s": d.get_state_display()})
        return redirect("funding:agreement", d.agreement_id)
    messages.success(request, _("已登记冲正 %(a)s 元（凭证号 %(v)s），待另一位财务人员审核。")
                     % {"a": f"{d.amount:,.2f}", "v": d.voucher_no})
    return redirect("funding:agreement", d.agreement_id)


# ---- 经费台账 ------------------------------------------------------------------------------------------


def _percent(part: Decimal, whole: Decimal) -> str:
    if not whole or whole <= 0 or not part or part <= 0:
        return "0"
    value = min(part / whole * 100, Decimal(100))
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _chart(totals: dict) -> list[dict]:
    planned = totals["planned"]
    bars = [
        ("planned", _("计划安排（财政资金）"), planned),
        ("committed", _("已承诺（已拨付 + 应拨未拨）"), totals["committed"]),
        ("paid", _("已拨付"), totals["paid"]),
        ("net_paid", _("净拨付（已拨付 − 已追回）"), totals["net_paid"]),
        ("cancelled", _("已取消"), totals["cancelled"]),
    ]
    return [{"key": key, "label": label, "value": value, "percent": _percent(value, planned)}
            for key, label, value in bars]


@login_required
@require_GET
def ledger(request):
    user = request.user
    _require(user, VIEW)
    form = LedgerFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    agreements = selectors.ledger_agreements(user, **filters)
    totals = selectors.ledger_totals(agreements)
    page = Paginator(selectors.with_ledger_figures(agreements), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for a in rows:
        a.figures = selectors.ledger_figures_of(a)
        project = a.project
        a.program = project.call.program if project.call_id else (
            project.challenge.program if project.challenge_id else None)
    return render(request, "funding/finance/ledger.html", {
        "form": form, "page": page, "agreements": rows, "totals": totals, "chart": _chart(totals),
        "filtered": bool(filters) and any(v for k, v in filters.items() if k != "year_basis"),
    })

"""终止 and 追回 pages: the officer terminates a project from its 任务书 page and opens a recovery order (追回单) for
the unspent or all of the fiscal funds, optionally with a 失信 record; finance records the repayments and a second
finance user approves or rejects them until the order is settled.

- Who sees a recovery order is the selectors' (``funding.selectors.recovery_for``): the bureau (finance, officers,
  supervisors) every order, the organisation its own, everybody else 404, on every URL and method.
- Terminating and opening an order are for officers; recording, approving and rejecting repayments for finance.
  Everybody else gets 404 and nothing changes.
- Every POST calls one service; a refusal (DomainError) is shown on the form or as a message, never a 500.
- Every page runs a fixed number of queries whatever the row count.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.roles import Role
from projects import services as project_services
from projects.models import Project

from .. import selectors, services
from ..forms_finance import ApproveForm, RejectForm, new_key
from ..forms_recovery import RecoveryForm, RepaymentForm, TerminateForm
from ..models import ZERO, RecoveryOrder, Repayment, TaskAgreement
from ._messages import _flash, _form_messages

PAGE_SIZE = 20
MANAGE = "funding.manage_agreements"
TERMINATE = "projects.formal_review"  # what projects.services.terminate_project asks of the officer


# ---- helpers -------------------------------------------------------------------------------------------


def _may_list(user) -> bool:
    """The bureau, or an organisation's users (applicant, org admin); experts and everybody else: 404."""
    return selectors.sees_all(user) or bool(
        user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)))


def can_terminate(user, agreement: TaskAgreement) -> bool:
    return user.has_perm(TERMINATE) and agreement.project.state == Project.State.ESTABLISHED


def recoverable(agreement: TaskAgreement) -> bool:
    """A terminated agreement, or a project that failed its acceptance, may get a recovery order."""
    return agreement.state == TaskAgreement.State.TERMINATED or agreement.project.state == Project.State.FAILED


def why_not_recoverable(agreement: TaskAgreement, orders=()) -> str:
    """Why no recovery order can be opened now ("" when one can)."""
    if not recoverable(agreement):
        return _("只有已终止或验收不通过的项目可以开具追回单。")
    if any(o.state == RecoveryOrder.State.OPEN for o in orders):
        return _("该任务书已有未完成的追回单。")
    if agreement.recorded_total > 0:
        return _("该任务书有待审核的拨付 %(r)s 元，请财务先审核或退回。") % {"r": f"{agreement.recorded_total:,.2f}"}
    if agreement.paid_total <= 0:
        return _("该任务书尚未拨付财政资金，无需追回。")
    return ""


# ---- 终止项目 (from the agreement page) ------------------------------------------------------------------


@login_required
@require_POST
def agreement_terminate(request, pk):
    user = request.user
    if not user.has_perm(TERMINATE):
        raise Http404
    agreement = selectors.agreement_for(user, pk)
    form = TerminateForm(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return redirect("funding:agreement", agreement.pk)
    try:
        project_services.terminate_project(actor=user, project_id=agreement.project_id,
                                           reason=form.cleaned_data["reason"], fault=form.cleaned_data["fault"])
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:agreement", agreement.pk)
    messages.success(request, _("项目已终止，任务书不再执行，未拨付的拨款已取消。如需追回已拨财政资金，请开具追回单。"))
    return redirect("funding:agreement", agreement.pk)


# ---- 开具追回单 ----------------------------------------------------------------------------------------


def _render_create(request, agreement, form, status=200):
    orders = selectors.recovery_orders_of(request.user, agreement)
    return render(request, "funding/recovery/create.html", {
        "agreement": agreement, "project": agreement.project, "form": form,
        "blocked": why_not_recoverable(agreement, orders),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def recovery_create(request, pk):
    user = request.user
    if not user.has_perm(MANAGE):
        raise Http404
    agreement = selectors.agreement_for(user, pk)
    if request.method == "GET":
        return _render_create(request, agreement, RecoveryForm(initial={
            "rule": RecoveryOrder.Rule.UNSPENT, "reason": agreement.project.end_reason}))
    form = RecoveryForm(request.POST)
    if not form.is_valid():
        return _render_create(request, agreement, form, status=400)
    data = form.cleaned_data
    try:
        order = services.open_recovery(actor=user, agreement_id=agreement.pk, rule=data["rule"], reason=data["reason"],
                                       due_date=data["due_date"], spent_amount=form.spent(),
                                       credit=form.credit_dict())
    except DomainError as e:
        for m in e.messages:
            form.add_error(None, m)
        agreement = selectors.agreement_for(user, pk)
        return _render_create(request, agreement, form, status=e.http_status)
    messages.success(request, _("已开具追回单 %(no)s：应追回 %(a)s 元，缴回期限 %(d)s。")
                     % {"no": order.number, "a": f"{order.amount_due:,.2f}", "d": f"{order.due_date:%Y-%m-%d}"})
    return redirect("funding:recovery", order.pk)


# ---- 追回单列表 ----------------------------------------------------------------------------------------


@login_required
@require_GET
def recovery_list(request):
    user = request.user
    if not _may_list(user):
        raise Http404
    state = request.GET.get("state", "")
    if state not in RecoveryOrder.State.values:
        state = ""
    page = Paginator(selectors.recovery_list(user, state=state), PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = list(page.object_list)
    for o in rows:
        o.pending = o.pending or ZERO
        o.overdue = o.state == RecoveryOrder.State.OPEN and o.due_date < today
    return render(request, "funding/recovery/list.html", {
        "page": page, "orders": rows, "states": RecoveryOrder.State.choices, "current_state": state,
        "is_bureau": selectors.sees_all(user),
    })


# ---- 追回单 ---------------------------------------------------------------------------------------------


def _render_detail(request, order, form=None, status=200):
    user = request.user
    finance = selectors.is_finance(user)
    repayments = list(order.repayments.all())
    pending = sum((r.amount for r in repayments if r.state == Repayment.State.RECORDED), Decimal("0.00"))
    open_amount = max(order.outstanding - pending, ZERO)
    rows = [{"r": r, "own": r.recorded_by_id == user.pk,
             "can_decide": finance and r.state == Repayment.State.RECORDED and r.recorded_by_id != user.pk}
            for r in repayments]
    can_record = finance and order.state == RecoveryOrder.State.OPEN and open_amount > 0
    if can_record and form is None:
        form = RepaymentForm(outstanding=open_amount)
    return render(request, "funding/recovery/detail.html", {
        "order": order, "agreement": order.agreement, "project": order.agreement.project,
        "repayments": rows, "pending": pending, "open_amount": open_amount, "is_finance": finance,
        "can_record": can_record, "form": form,
        "overdue": order.state == RecoveryOrder.State.OPEN and order.due_date < timezone.localdate(),
    }, status=status)


@login_required
@require_GET
def recovery_detail(request, pk):
    return _render_detail(request, selectors.recovery_for(request.user, pk))


@login_required
@require_POST
def repayment_record(request, pk):
    user = request.user
    order = selectors.recovery_for(user, pk)
    if not selectors.is_finance(user):
        raise Http404
    form = RepaymentForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, order, form, status=400)
    data = form.cleaned_data
    try:
        r = services.record_repayment(actor=user, order_id=order.pk, amount=data["amount"],
                                      voucher_no=data["voucher_no"], received_on=data["received_on"],
                                      idempotency_key=data["idempotency_key"])
    except DomainError as e:
        if e.code == "idempotency_conflict":
            # submitted before with other figures: a new key lets the corrected form go through
            post = request.POST.copy()
            post["idempotency_key"] = new_key()
            form = RepaymentForm(post)
            form.is_valid()
        for m in e.messages:
            form.add_error(None, m)
        return _render_detail(request, selectors.recovery_for(user, pk), form, status=e.http_status)
    if r.state != Repayment.State.RECORDED:  # the same form posted again after its record was decided
        messages.info(request, _("该表单已提交过，未重复登记：缴回记录（凭证号 %(v)s，%(a)s 元）当前为“%(s)s”。")
                      % {"v": r.voucher_no, "a": f"{r.amount:,.2f}", "s": r.get_state_display()})
    else:
        messages.success(request, _("已登记缴回 %(a)s 元（凭证号 %(v)s），待另一位财务人员审核。")
                         % {"a": f"{r.amount:,.2f}", "v": r.voucher_no})
    return redirect("funding:recovery", order.pk)


def _decide(request, pk, *, form_class, service, done: str):
    user = request.user
    repayment = selectors.repayment_for_finance(user, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        _flash(request, _form_messages(form))
        return redirect("funding:recovery", repayment.order_id)
    try:
        r = service(actor=user, repayment_id=repayment.pk, note=form.cleaned_data["note"])
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:recovery", repayment.order_id)
    messages.success(request, done % {"a": f"{r.amount:,.2f}", "v": r.voucher_no})
    if selectors.recovery_orders_visible_to(user).filter(pk=r.order_id, state=RecoveryOrder.State.SETTLED).exists():
        messages.success(request, _("应追回金额已全部缴回，追回单已完成。"))
    return redirect("funding:recovery", r.order_id)


@login_required
@require_POST
def repayment_approve(request, pk):
    return _decide(request, pk, form_class=ApproveForm, service=services.approve_repayment,
                   done=_("已审核通过缴回 %(a)s 元（凭证号 %(v)s）。"))


@login_required
@require_POST
def repayment_reject(request, pk):
    return _decide(request, pk, form_class=RejectForm, service=services.reject_repayment,
                   done=_("已退回缴回记录 %(a)s 元（凭证号 %(v)s）。"))

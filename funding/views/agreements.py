"""任务书 pages: the list, one agreement (its terms, tranche plan, disbursements, totals and history), the officer's
edits of the terms and the tranche plan, the online confirmation by both parties, and the print view that looks
like the paper document.

Who sees what is the selectors' (``funding.selectors.agreement_for``): the bureau (officers, finance,
supervisors) every agreement, an organisation's users their own, everybody else 404. Officers edit while the
agreement is not signed; the organisation's admin and an officer confirm. Every write calls one service; a refusal
(DomainError) is shown as a message on the page and changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.roles import Role
from accounts.workflow import object_history

from .. import selectors, services, subsidy
from ..forms import AgreementFilterForm, AgreementTargetFormSet, AgreementTermsForm, TrancheFormSet
from ..forms_budget import BudgetLinesForm
from ..forms_recovery import TerminateForm
from ..models import Condition, Disbursement, RecoveryOrder, TaskAgreement, Tranche
from . import budget as budget_views
from . import recovery
from ._messages import _flash, _form_messages

PAGE_SIZE = 20
WITHOUT_AGREEMENT_SHOWN = 20
MANAGE = "funding.manage_agreements"
CONFIRM = "funding.confirm_agreement_obj"
AG = TaskAgreement.State

#: audit verbs of the agreement that are not transitions of its workflow
VERB_LABELS = {
    "create": gettext_lazy("起草任务书"),
    "edit": gettext_lazy("修改任务书内容"),
    "set_tranches": gettext_lazy("调整拨付计划"),
}


# ---- helpers -------------------------------------------------------------------------------------------


def _may_list(user) -> bool:
    """The bureau, or an organisation's users (applicant, org admin); experts and everybody else: 404."""
    return selectors.sees_all(user) or bool(
        user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)))


def _require_manage(user) -> None:
    if not user.has_perm(MANAGE):
        raise Http404


def _formset_messages(formset, row_label) -> list[str]:
    out = [str(e) for e in formset.non_form_errors()]
    for i, form in enumerate(formset.forms):
        out.extend(f"{row_label % {'n': i + 1}}{m}" for m in _form_messages(form))
    return out


def checkpoint_text(checkpoint: str) -> str:
    if checkpoint == "midterm":
        return pgettext("tranche condition", "中期检查")
    if checkpoint.startswith("milestone:"):
        return _("第%(n)s个里程碑") % {"n": checkpoint.split(":", 1)[1]}
    return checkpoint


def condition_text(tranche: Tranche) -> str:
    """The tranche's condition in words: 任务书签订后, 中期检查通过后, 第2个里程碑考核通过后, 2026-06-30…"""
    if tranche.condition == Condition.CHECKPOINT:
        if tranche.checkpoint.startswith("milestone:"):
            return _("%(c)s考核通过后") % {"c": checkpoint_text(tranche.checkpoint)}
        return _("%(c)s通过后") % {"c": checkpoint_text(tranche.checkpoint)}
    if tranche.condition == Condition.DATE:
        return _("%(d)s起") % {"d": f"{tranche.due_on:%Y-%m-%d}"} if tranche.due_on else _("指定日期")
    return str(Condition(tranche.condition).label)


def _can_confirm(user, agreement: TaskAgreement) -> str:
    """'org' or 'office' if the user may confirm now (and has not confirmed yet), else ''."""
    if agreement.state not in TaskAgreement.EDITABLE_STATES:
        return ""
    if user.has_perm(CONFIRM, agreement):
        return "org" if agreement.org_confirmed_at is None else ""
    if user.has_perm(MANAGE):
        return "office" if agreement.office_confirmed_at is None else ""
    return ""


def _is_editable(agreement: TaskAgreement) -> bool:
    return agreement.state in TaskAgreement.EDITABLE_STATES


def _history(agreement: TaskAgreement) -> list:
    events = object_history(agreement, services.AGREEMENT_WORKFLOW)
    for e in events:
        if e.verb in VERB_LABELS:
            e.verb_label = VERB_LABELS[e.verb]
    return events


def _plan_sum(tranches) -> Decimal:
    return sum((t.amount for t in tranches if t.state != Tranche.State.CANCELLED), Decimal("0.00"))


# ---- the list ------------------------------------------------------------------------------------------


@login_required
@require_GET
def agreement_list(request):
    user = request.user
    if not _may_list(user):
        raise Http404
    form = AgreementFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {"state": "", "q": ""}
    qs = selectors.agreement_list(user, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    can_manage = user.has_perm(MANAGE)
    without = []
    without_count = 0
    if can_manage:
        pending = selectors.projects_without_agreement(user)
        without = list(pending[:WITHOUT_AGREEMENT_SHOWN])
        without_count = len(without) if len(without) < WITHOUT_AGREEMENT_SHOWN else pending.count()
    return render(request, "funding/agreements/list.html", {
        "form": form,
        "page": page,
        "agreements": page.object_list,
        "filtered": bool(filters["state"] or filters["q"]),
        "can_manage": can_manage,
        "without": without,
        "without_count": without_count,
        "states": TaskAgreement.State.choices,
        "current_state": filters["state"],
    })


@login_required
@require_POST
def draft_for_project(request, pk):
    """The officer drafts the 任务书 of a project established before agreements existed."""
    user = request.user
    _require_manage(user)
    project = selectors.projects_without_agreement(user).filter(pk=pk).first()
    if project is None:
        existing = selectors.agreements_visible_to(user).filter(project_id=pk).first()
        if existing is None:
            raise Http404
        messages.info(request, _("该项目已有任务书。"))
        return redirect("funding:agreement", existing.pk)
    try:
        agreement = services.draft_agreement(project_id=project.pk, actor=user)
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:agreements")
    messages.success(request, _("已起草任务书 %(no)s，请核对内容和拨付计划后确认。") % {"no": agreement.number})
    return redirect("funding:agreement", agreement.pk)


# ---- one agreement -------------------------------------------------------------------------------------


def _disbursement_rows(agreement: TaskAgreement, finance: bool) -> list[dict]:
    disbursements = list(agreement.disbursements.all())
    reversed_ids = {d.reverses_id for d in disbursements
                    if d.kind == Disbursement.Kind.REVERSAL and d.state != Disbursement.State.REJECTED}
    return [{
        "d": d,
        "can_reverse": (finance and d.kind == Disbursement.Kind.PAYMENT and d.state == Disbursement.State.APPROVED
                        and d.pk not in reversed_ids),
    } for d in disbursements]


def _tranche_rows(agreement: TaskAgreement, finance: bool) -> list[dict]:
    signed = agreement.state == AG.SIGNED
    return [{
        "t": t,
        "condition": condition_text(t),
        "can_record": finance and signed and t.state == Tranche.State.DUE and t.paid_amount < t.amount,
    } for t in agreement.tranches.all()]


@login_required
@require_GET
def agreement_detail(request, pk):
    user = request.user
    agreement = selectors.agreement_for(user, pk)
    finance = selectors.is_finance(user)
    can_manage = user.has_perm(MANAGE)
    editable = _is_editable(agreement)
    orders = selectors.recovery_orders_of(user, agreement)
    adjustments = selectors.adjustments_of(user, agreement)
    post_subsidy = subsidy.is_post_subsidy(agreement.project)
    claim = selectors.claim_of(user, agreement) if post_subsidy else None
    return render(request, "funding/agreements/detail.html", {
        "agreement": agreement,
        "project": agreement.project,
        "tranches": _tranche_rows(agreement, finance),
        "plan_sum": _plan_sum(agreement.tranches.all()),
        "disbursements": _disbursement_rows(agreement, finance),
        "is_finance": finance,
        "can_edit": can_manage and editable,
        "confirm_as": _can_confirm(user, agreement),
        "editable": editable,
        "events": _history(agreement),
        # 终止 and 追回
        "can_terminate": recovery.can_terminate(user, agreement),
        "terminate_form": TerminateForm(),
        "recovery_orders": orders,
        "can_open_recovery": can_manage and recovery.recoverable(agreement)
        and not any(o.state == RecoveryOrder.State.OPEN for o in orders),
        # 预算 and 预算调整
        "budget": budget_views.budget_rows(agreement.budget_lines.all()),
        "adjustments": budget_views.adjustment_rows(adjustments),
        "can_adjust": budget_views.can_request(user, agreement, adjustments),
        # 后补助
        "post_subsidy": post_subsidy,
        "claim": claim,
        "can_claim": post_subsidy and user.has_perm("funding.claim_subsidy_obj", agreement)
        and not subsidy.why_no_claim(agreement, claim),
    })


@login_required
@require_GET
def agreement_print(request, pk):
    agreement = selectors.agreement_for(request.user, pk)
    tranches = [{"t": t, "condition": condition_text(t)} for t in agreement.tranches.all()
                if t.state != Tranche.State.CANCELLED]
    return render(request, "funding/agreements/print.html", {
        "agreement": agreement,
        "project": agreement.project,
        "tranches": tranches,
        "plan_sum": _plan_sum(agreement.tranches.all()),
        "total_amount": agreement.fiscal_amount + agreement.self_amount,
        "budget": budget_views.budget_rows(agreement.budget_lines.all()),
    })


@login_required
@require_POST
def agreement_confirm(request, pk):
    user = request.user
    agreement = selectors.agreement_for(user, pk)
    try:
        agreement = services.confirm_agreement(actor=user, agreement_id=agreement.pk)
    except DomainError as e:
        _flash(request, e.messages)
        return redirect("funding:agreement", pk)
    if agreement.state == AG.SIGNED:
        messages.success(request, _("双方均已确认，任务书已签订生效。"))
    else:
        messages.success(request, _("您已确认任务书，等待另一方确认后签订生效。"))
    return redirect("funding:agreement", agreement.pk)


# ---- the officer's edits -------------------------------------------------------------------------------


def _editable_agreement(request, pk) -> TaskAgreement:
    _require_manage(request.user)
    return selectors.agreement_for(request.user, pk)


def _not_editable(request, agreement) -> bool:
    """A signed (or terminated) agreement: say so and send the officer back to it."""
    if _is_editable(agreement):
        return False
    messages.error(request, _("任务书%(s)s，不能修改。") % {"s": agreement.get_state_display()})
    return True


def _budget_of(agreement: TaskAgreement) -> dict:
    return {line.category: (line.fiscal_amount, line.self_amount) for line in agreement.budget_lines.all()}


def _targets_initial(agreement: TaskAgreement) -> list[dict]:
    return [{"kind": t.get("kind") or "output", "indicator": t.get("indicator", ""),
             "target_value": t.get("target_value", ""), "unit": t.get("unit", "")} for t in agreement.targets or []]


@login_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request, pk):
    user = request.user
    agreement = _editable_agreement(request, pk)
    if _not_editable(request, agreement):
        return redirect("funding:agreement", agreement.pk)
    status = 200
    if request.method == "POST":
        form = AgreementTermsForm(request.POST)
        formset = AgreementTargetFormSet(request.POST, prefix="targets")
        with_budget = "budget-fiscal_business" in request.POST
        budget_form = BudgetLinesForm(request.POST if with_budget else None, prefix="budget",
                                      initial=BudgetLinesForm.initial_from(_budget_of(agreement)))
        if form.is_valid() and formset.is_valid() and (not with_budget or budget_form.is_valid()):
            data = {**form.cleaned_data, "targets": formset.rows()}
            if data.get("self_amount") is None:
                data.pop("self_amount", None)
            if with_budget:
                data["budget"] = budget_form.lines()
            was_confirmed = agreement.state in (AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED)
            try:
                services.update_agreement(actor=user, agreement_id=agreement.pk, data=data)
            except DomainError as e:
                _flash(request, e.messages)
                status = e.http_status
            else:
                messages.success(request, _("任务书已保存。") + (_("修改后需承担单位和科技局重新确认。")
                                                          if was_confirmed else ""))
                return redirect("funding:agreement", agreement.pk)
        else:
            _flash(request, _form_messages(form) + _formset_messages(formset, _("第%(n)d项绩效指标："))
                   + (_form_messages(budget_form) if with_budget else []))
            status = 400
    else:
        form = AgreementTermsForm(initial={"start_date": agreement.start_date, "end_date": agreement.end_date,
                                           "self_amount": agreement.self_amount})
        formset = AgreementTargetFormSet(initial=_targets_initial(agreement), prefix="targets")
        budget_form = BudgetLinesForm(prefix="budget", initial=BudgetLinesForm.initial_from(_budget_of(agreement)))
    return render(request, "funding/agreements/edit.html", {
        "agreement": agreement, "project": agreement.project, "form": form, "formset": formset,
        "budget_form": budget_form,
        "confirmed": agreement.state in (AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED),
    }, status=status)


def _tranches_initial(agreement: TaskAgreement) -> list[dict]:
    return [{"name": t.name, "amount": t.amount, "condition": t.condition, "checkpoint": t.checkpoint,
             "due_on": t.due_on} for t in agreement.tranches.all() if t.state != Tranche.State.CANCELLED]


@login_required
@require_http_methods(["GET", "POST"])
def agreement_tranches(request, pk):
    user = request.user
    agreement = _editable_agreement(request, pk)
    if _not_editable(request, agreement):
        return redirect("funding:agreement", agreement.pk)
    status = 200
    if request.method == "POST":
        formset = TrancheFormSet(request.POST, prefix="tranches")
        if formset.is_valid():
            was_confirmed = agreement.state in (AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED)
            rows = [{**r, "amount": str(r["amount"]),
                     "due_on": r["due_on"].isoformat() if r.get("due_on") else None} for r in formset.rows()]
            try:
                services.set_tranches(actor=user, agreement_id=agreement.pk, tranches=rows)
            except DomainError as e:
                _flash(request, e.messages)
                status = e.http_status
            else:
                messages.success(request, _("拨付计划已保存。") + (_("修改后需承担单位和科技局重新确认。")
                                                          if was_confirmed else ""))
                return redirect("funding:agreement", agreement.pk)
        else:
            _flash(request, _formset_messages(formset, _("第%(n)d期：")))
            status = 400
        entered = sum((f.cleaned_data.get("amount") or Decimal("0.00") for f in formset.forms
                       if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")), Decimal("0.00"))
    else:
        formset = TrancheFormSet(initial=_tranches_initial(agreement), prefix="tranches")
        entered = _plan_sum(agreement.tranches.all())
    return render(request, "funding/agreements/tranches.html", {
        "agreement": agreement, "project": agreement.project, "formset": formset,
        "entered": entered, "difference": agreement.fiscal_amount - entered,
        "confirmed": agreement.state in (AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED),
        "conditions": Condition.choices,
    }, status=status)

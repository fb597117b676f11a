"""The bureau's checkpoint pages (业务处室): the lists of 中期检查, 验收, 延期 and 终止建议 (the pending ones also shown
above every tab), opening the 中期检查 of a call's projects, concluding a report and deciding an extension (a
termination proposal is decided in ``office_proposals``).

Officers (and superusers) act; supervisors (局领导) read; everybody else gets 404 on every URL. Every POST calls one
service; a refusal (DomainError) is shown as a message with the form as it was typed and changes nothing.
Every page runs a fixed number of queries whatever the row count.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from accounts.exceptions import DomainError
from accounts.workflow import object_history

from ...hooks import agreed_terms
from ...models import Project
from ...views.files import file_download
from .. import proposals, selectors, services
from ..forms import ConcludeForm, DecideExtensionForm, OfficeFilterForm, OpenMidtermForm
from ..models import AcceptanceReport, ExtensionRequest, MidtermReport, TerminationProposal
from .common import allowed_conclusions, file_checklist, flash, form_messages, is_midterm, report_due, spending_rows

PAGE_SIZE = 20
MANAGE = "projects.manage_checkpoints"
VIEW = "projects.view_checkpoints_bureau"

#: tab → (label, model, list selector)
TABS = {
    "midterm": (gettext_lazy("中期检查"), MidtermReport, selectors.office_midterms),
    "acceptance": (gettext_lazy("验收"), AcceptanceReport, selectors.office_acceptances),
    "extension": (gettext_lazy("延期"), ExtensionRequest, selectors.office_extensions),
    "termination": (gettext_lazy("终止建议"), TerminationProposal, proposals.office_proposals),
}


def _require(user, perm: str) -> None:
    if not user.has_perm(perm):
        raise Http404


# ---- the lists ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def index(request):
    user = request.user
    _require(user, VIEW)
    tab = request.GET.get("tab", "midterm")
    if tab not in TABS:
        tab = "midterm"
    _label, model, list_selector = TABS[tab]
    calls = list(selectors.checkpoint_calls(user))
    form = OfficeFilterForm(request.GET if any(k in request.GET for k in ("call", "state", "overdue")) else None,
                            calls=calls, states=model.State.choices)
    filters = form.filters()
    today = timezone.localdate()
    page = Paginator(list_selector(user, today=today, **filters), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for r in rows:
        if tab == "extension":
            r.overdue = False
        elif tab == "termination":
            r.due, r.overdue = r.due_date, r.state == TerminationProposal.State.PROPOSED
            r.overdue_days = proposals.overdue_days(r.due_date, today)
        else:
            r.due, r.overdue = report_due(r, today)
    pending = selectors.pending_counts(user)
    proposed = proposals.pending_proposals(user)
    return render(request, "projects/checkpoints/office/index.html", {
        "tab": tab,
        "tabs": [(name, label) for name, (label, _m, _s) in TABS.items()],
        "pending": pending,
        "proposed": proposed,
        "proposed_more": pending["termination"] - len(proposed),
        "form": form,
        "filtered": bool(filters["call"] or filters["state"] or filters["overdue"]),
        "page": page,
        "rows": rows,
        "can_manage": user.has_perm(MANAGE),
    })


# ---- 发起中期检查 --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def open_midterm(request):
    user = request.user
    _require(user, MANAGE)
    calls = list(selectors.checkpoint_calls(user))
    data = request.POST if request.method == "POST" else request.GET
    try:
        call_id = int(data.get("call") or 0)
    except ValueError:
        call_id = 0
    call = next((c for c in calls if c.pk == call_id), None)
    form = OpenMidtermForm(request.POST if request.method == "POST" else None)
    opened, skipped, status = [], [], 200
    if request.method == "POST":
        ids = request.POST.getlist("projects")
        if call is None:
            flash(request, [_("请选择申报指南。")])
            status = 400
        elif not form.is_valid():
            flash(request, form_messages(form))
            status = 400
        else:
            try:
                # only the chosen call's projects (the ones the page lists), whatever ids were posted
                opened, skipped = services.open_midterm(actor=user, project_ids=ids, call_id=call.pk,
                                                        due_date=form.cleaned_data["due_date"])
            except (DomainError, ValueError) as e:
                flash(request, e.messages if isinstance(e, DomainError) else [_("所选项目无效。")])
                status = getattr(e, "http_status", 400)
            else:
                if opened:
                    messages.success(request, _("已对 %(n)d 个项目发起中期检查，提交期限 %(d)s，并通知承担单位。")
                                     % {"n": len(opened), "d": form.cleaned_data["due_date"].isoformat()})
                if skipped:
                    messages.warning(request, _("%(n)d 个项目未发起，原因见下方。") % {"n": len(skipped)})
                form = OpenMidtermForm(initial={"due_date": form.cleaned_data["due_date"]})
    projects = list(selectors.projects_to_open(user, call.pk)) if call else []
    return render(request, "projects/checkpoints/office/open.html", {
        "calls": calls, "call": call, "form": form, "projects": projects,
        "ticked": set(request.POST.getlist("projects")) if status != 200 else set(),
        "opened": opened, "skipped": skipped,
    }, status=status)


# ---- one report --------------------------------------------------------------------------------------------


def _report(user, kind: str, pk):
    return selectors.midterm_for_bureau(user, pk) if kind == "midterm" else selectors.acceptance_for_bureau(user, pk)


#: the button colour of each conclusion
STYLES = {"pass": "success", "pass_rectified": "success", "rectify": "warning", "fail": "danger", "close": "secondary"}


def _conclusion_form(data, conclusions: dict) -> ConcludeForm:
    """The bound form of the conclusion posted (its fields' ids carry the conclusion, as on the page)."""
    name = data.get("conclusion", "")
    return ConcludeForm(data, conclusions=conclusions, auto_id=f"id_{name if name in conclusions else 'c'}_%s")


def _actions(conclusions: dict, bound: ConcludeForm | None) -> list[dict]:
    """One accordion item per conclusion the report's round allows, each with its own small form."""
    actions = []
    for name, label in conclusions.items():
        if bound is not None and bound.data.get("conclusion") == name:
            form = bound
        else:
            form = ConcludeForm(conclusions=conclusions, auto_id=f"id_{name}_%s")
        actions.append({"name": name, "label": label, "form": form, "style": STYLES.get(name, "primary")})
    return actions


def _render_report(request, report, *, form=None, status=200):
    user = request.user
    midterm = is_midterm(report)
    can_manage = user.has_perm(MANAGE)
    running = report.project.state == Project.State.ESTABLISHED
    awaiting = report.state == MidtermReport.State.SUBMITTED and running
    needs_score = awaiting and report.attempt == 1 and report.expert_score is None
    conclusions = allowed_conclusions(report) if running else {}
    show_form = can_manage and bool(conclusions)
    attachments = selectors.attachments_of(report)
    due, overdue = report_due(report)
    terms = agreed_terms(report.project)  # what funding paid so far, beside the fiscal spending declared
    paid = terms.paid if terms is not None else None
    return render(request, "projects/checkpoints/office/report.html", {
        "report": report,
        "project": report.project,
        "is_midterm": midterm,
        "title": _("中期报告") if midterm else _("验收申请"),
        "can_manage": can_manage,
        "actions": _actions(conclusions, form) if show_form else [],
        "open_action": form.data.get("conclusion", "") if form is not None else "",
        "needs_score": needs_score,
        "conclusions": conclusions,
        "spending_rows": spending_rows(report),
        "attachments": attachments,
        "checklist": file_checklist(report, attachments),
        "due": due,
        "overdue": overdue,
        "acceptance_due": services.acceptance_due_date(report.project),
        "paid": paid,
        "overspent": paid is not None and report.spent_fiscal > paid,
        "events": object_history(report, services.MIDTERM_WORKFLOW if midterm else services.ACCEPTANCE_WORKFLOW),
    }, status=status)


def _report_view(request, pk, kind: str):
    user = request.user
    _require(user, VIEW)
    report = _report(user, kind, pk)
    if request.method == "GET":
        return _render_report(request, report)
    _require(user, MANAGE)
    # any conclusion of the kind validates here; the service says why one is not possible now (409)
    every = services.MIDTERM_CONCLUSIONS if is_midterm(report) else services.ACCEPTANCE_CONCLUSIONS
    form = _conclusion_form(request.POST, dict(every))
    if not form.is_valid():
        flash(request, form_messages(form))
        return _render_report(request, report, form=form, status=400)
    data = form.cleaned_data
    conclude = services.conclude_midterm if kind == "midterm" else services.conclude_acceptance
    try:
        done = conclude(actor=user, report_id=report.pk, conclusion=data["conclusion"], note=data["note"],
                        rectify_due=data.get("rectify_due"), fault=data.get("fault", False))
    except DomainError as e:
        flash(request, e.messages)
        return _render_report(request, _report(user, kind, pk), form=form, status=e.http_status)
    label = form.fields["conclusion"].choices
    label = dict(label).get(data["conclusion"], data["conclusion"])
    text = _("已作出结论“%(c)s”，并通知承担单位。") % {"c": label}
    if done.state in (MidtermReport.State.RECTIFYING, AcceptanceReport.State.RECTIFYING):
        text += " " + _("整改期限 %(d)s。") % {"d": done.rectify_due.isoformat()}
    elif data["conclusion"] in ("fail", "close"):
        text += " " + _("项目已终止，财政资金按规定追回。")
    messages.success(request, text)
    return redirect("checkpoints_office:midterm" if kind == "midterm" else "checkpoints_office:acceptance", done.pk)


@login_required
@require_http_methods(["GET", "POST"])
def midterm(request, pk):
    return _report_view(request, pk, "midterm")


@login_required
@require_http_methods(["GET", "POST"])
def acceptance(request, pk):
    return _report_view(request, pk, "acceptance")


# ---- 延期申请 ----------------------------------------------------------------------------------------------


def _render_extension(request, ext, *, form=None, status=200):
    can_manage = request.user.has_perm(MANAGE)
    show_form = can_manage and ext.state == ExtensionRequest.State.SUBMITTED
    if show_form and form is None:
        form = DecideExtensionForm()
    return render(request, "projects/checkpoints/office/extension.html", {
        "ext": ext, "project": ext.project, "can_manage": can_manage, "form": form if show_form else None,
        "deadline": services.extension_deadline(ext.project),
        "events": object_history(ext, services.EXTENSION_WORKFLOW),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def extension(request, pk):
    user = request.user
    _require(user, VIEW)
    ext = selectors.extension_for_bureau(user, pk)
    if request.method == "GET":
        return _render_extension(request, ext)
    _require(user, MANAGE)
    form = DecideExtensionForm(request.POST)
    if not form.is_valid():
        flash(request, form_messages(form))
        return _render_extension(request, ext, form=form, status=400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        done = services.decide_extension(actor=user, request_id=ext.pk, approve=approve,
                                         note=form.cleaned_data["note"])
    except DomainError as e:
        flash(request, e.messages)
        return _render_extension(request, selectors.extension_for_bureau(user, pk), form=form, status=e.http_status)
    if approve:
        messages.success(request, _("已批准延期，项目结束日期调整为 %(d)s。") % {"d": done.new_end_date.isoformat()})
    else:
        messages.success(request, _("已作出不予批准的决定，并通知承担单位。"))
    return redirect("checkpoints_office:extension", done.pk)


# ---- files -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def attachment(request, pk):
    _require(request.user, VIEW)
    a = selectors.attachment_for_bureau(request.user, pk)
    return file_download(a.file, filename=a.original_name, content_type=a.content_type)

"""The bureau's expert-pool pages (专家库): the list with pending registrations, an expert's page with the
status actions and evaluation, the Excel import and the evaluation table. Officers and superusers only;
everyone else gets 404. Review rounds are in views.officer_rounds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from accounts.exceptions import DomainError, InvalidInput
from accounts.roles import Role
from activity.selectors import history

from .. import exports, selectors
from ..forms_pool import EVALUATION_SORTS, CapForm, EvaluationSortForm, ImportForm, PoolFilterForm, ReasonForm
from ..models import Expert
from ..services import importer
from ..services import pool as pool_services
from ..services.assign import annual_load

POOL_PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 20
EVALUATION_PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATUS_ACTIONS = {
    "approve": pool_services.approve_expert,
    "reject": pool_services.reject_expert,
    "suspend": pool_services.suspend_expert,
    "reinstate": pool_services.reinstate_expert,
    "retire": pool_services.retire_expert,
}
#: Bootstrap button colour of each status action
ACTION_STYLES = {"approve": "success", "reject": "danger", "suspend": "warning", "reinstate": "success",
                 "retire": "outline-danger"}


def _require_pool_officer(user) -> None:
    if not (user.is_superuser or user.has_role(Role.OFFICER)):
        raise Http404


def _form_errors(form) -> list[str]:
    return [str(m) for errors in form.errors.values() for m in errors]


def _run_action(request, expert: Expert, allowed) -> None:
    """Run the posted action on ``expert`` through its service and say how it went."""
    user, action = request.user, request.POST.get("action", "")
    try:
        if action not in allowed:
            raise InvalidInput(_("无效的操作。"))
        if action in STATUS_ACTIONS:
            form = ReasonForm(request.POST)
            if not form.is_valid():
                raise InvalidInput(_form_errors(form))
            STATUS_ACTIONS[action](actor=user, expert_id=expert.pk, reason=form.cleaned_data["reason"])
            label = pool_services.EXPERT_WORKFLOW.get(action).label
            messages.success(request, _("%(name)s：已%(action)s。") % {"name": expert.name, "action": label})
        elif action == "cap":
            form = CapForm(request.POST)
            if not form.is_valid():
                raise InvalidInput(_form_errors(form))
            cap = form.cleaned_data["annual_cap"]
            pool_services.update_expert_profile(actor=user, expert_id=expert.pk, data={"annual_cap": cap})
            messages.success(request, _("%(name)s 的年度评审上限已改为 %(cap)d 项。") % {"name": expert.name, "cap": cap})
        elif action == "login_link":
            importer.send_login_link(actor=user, expert_id=expert.pk)
            messages.success(request, _("已向 %(email)s 发送设置密码链接。") % {"email": expert.user.email})
    except DomainError as e:
        messages.error(request, _("%(name)s：%(msg)s") % {"name": expert.name, "msg": e.message})


@login_required
def pool(request):
    """专家库: pending registrations first (approve / reject inline), filters, pagination, current-year load."""
    user = request.user
    _require_pool_officer(user)
    if request.method == "POST":
        expert = selectors.expert_for(user, request.POST.get("expert"))
        _run_action(request, expert, allowed=("approve", "reject"))
        return redirect(request.get_full_path())
    filter_form = PoolFilterForm(request.GET or None)
    filters = filter_form.filters()
    page = Paginator(selectors.pool_list(user, **filters), POOL_PAGE_SIZE).get_page(request.GET.get("page"))
    experts = list(page.object_list)
    load = annual_load([e.pk for e in experts], timezone.localdate())
    for e in experts:
        e.load = load.get(e.pk, 0)
    counts = selectors.pool_status_counts(user)
    return render(request, "experts/pool/list.html", {
        "page": page,
        "experts": experts,
        "filter_form": filter_form,
        "filtered": bool(filters),
        "counts": counts,
        "total": sum(counts.values()),
        "pending_count": counts.get(Expert.Status.PENDING, 0),
        "status_choices": Expert.Status.choices,
    })


@login_required
def expert_detail(request, pk):
    """One expert: profile (ID masked), load against cap, unavailability, declared relations, evaluation,
    review history, the status actions the transition table allows, the cap and the audit trail."""
    user = request.user
    _require_pool_officer(user)
    expert = selectors.expert_for(user, pk)
    if request.method == "POST":
        _run_action(request, expert, allowed=(*STATUS_ACTIONS, "cap", "login_link"))
        return redirect("experts:expert_detail", pk=expert.pk)
    today = timezone.localdate()
    actions = [
        {"name": t.name, "label": t.label, "needs_reason": t.needs_reason, "style": ACTION_STYLES[t.name]}
        for t in pool_services.EXPERT_WORKFLOW.available(expert.status)
    ]
    page = Paginator(selectors.expert_assignments(expert), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "experts/pool/detail.html", {
        "expert": expert,
        "load": annual_load([expert.pk], today).get(expert.pk, 0),
        "year": today.year,
        "evaluation": selectors.expert_evaluation(Expert.objects.filter(pk=expert.pk))[0],
        "unavailabilities": list(expert.unavailabilities.filter(end_date__gte=today)),
        "relations": list(expert.relations.all()),
        "page": page,
        "actions": actions,
        "cap_form": CapForm(initial={"annual_cap": expert.annual_cap}),
        "can_send_link": not expert.user.has_usable_password() and bool(expert.user.email),
        "events": history(expert, pool_services.EXPERT_WORKFLOW),
    })


@login_required
def pool_import(request):
    """批量导入: upload an .xlsx; the report lists every row, refused rows with their reasons."""
    user = request.user
    _require_pool_officer(user)
    report = refused = imported = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = importer.import_experts(actor=user, uploaded=form.cleaned_data["file"])
            except DomainError as e:
                for message in e.messages:
                    form.add_error("file", message)
            else:
                refused = [r for r in report.rows if not r.ok]
                imported = list(zip([r for r in report.rows if r.ok], report.expert_ids, strict=True))
                summary = _("共 %(total)d 行：导入 %(created)d 人，未导入 %(refused)d 行。") % {
                    "total": report.total, "created": report.created, "refused": report.refused}
                (messages.warning if report.refused else messages.success)(request, summary)
    else:
        form = ImportForm()
    return render(request, "experts/pool/import.html", {
        "form": form,
        "report": report,
        "refused": refused,
        "imported": imported,
        "columns": importer.COLUMNS,
        "max_rows": importer.MAX_ROWS,
        "max_mb": importer.MAX_BYTES // (1024 * 1024),
    })


@login_required
def pool_import_template(request):
    _require_pool_officer(request.user)
    response = HttpResponse(importer.import_template(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, _("专家导入模板") + ".xlsx")
    return response


def _evaluation_sort(key: str):
    if key == "on_time":
        return lambda s: (s["on_time_rate"] is None, s["on_time_rate"] or 0, s["expert"].name)
    if key == "deviation":
        return lambda s: (s["mean_deviation"] is None, -(s["mean_deviation"] or 0), s["expert"].name)
    if key == "invited":
        return lambda s: (-s["invited"], s["expert"].name)
    if key == "name":
        return lambda s: (s["expert"].name, s["expert"].pk)
    return lambda s: (s["decline_rate"] is None, -(s["decline_rate"] or 0), s["expert"].name)


@login_required
def pool_evaluation(request):
    """专家评价: every active expert's on-time rate, decline rate (expiries included) and mean deviation."""
    user = request.user
    _require_pool_officer(user)
    sort_form = EvaluationSortForm(request.GET or None)
    key = sort_form.sort_key()
    rows = selectors.expert_evaluation(selectors.experts_visible_to(user).filter(status=Expert.Status.ACTIVE))
    rows.sort(key=_evaluation_sort(key))
    page = Paginator(rows, EVALUATION_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "experts/pool/evaluation.html", {
        "page": page, "sort_form": sort_form, "sort": key, "sorts": EVALUATION_SORTS,
    })


@login_required
def pool_evaluation_xlsx(request):
    """The evaluation table as .xlsx, in the order the page was sorted by."""
    user = request.user
    _require_pool_officer(user)
    key = EvaluationSortForm(request.GET or None).sort_key()
    rows = selectors.expert_evaluation(selectors.experts_visible_to(user).filter(status=Expert.Status.ACTIVE))
    rows.sort(key=_evaluation_sort(key))
    content = exports.evaluation_xlsx(rows, sort_label=str(EVALUATION_SORTS.get(key, "")))
    return exports.xlsx_response(content, exports.export_filename(_("专家评价")))

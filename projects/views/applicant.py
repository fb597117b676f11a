"""The enterprise portal (申报单位): dashboard, the application list, the multi-step form, submit, status.

Every object comes from a selector scoped to the user; anything the user may not see is a 404. Every
write goes through the matching service; a DomainError becomes a form error or a message and
changes nothing.
"""

from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError, InvalidInput
from accounts.roles import Role
from activity import selectors as activity_selectors

from .. import selectors, services
from ..forms import (
    ApplicationCreateForm,
    ApplicationFilterForm,
    AttachmentUploadForm,
    AvoidanceFormSet,
    BasicForm,
    BudgetForm,
    PartnerFormSet,
    TargetFormSet,
    TeamFormSet,
    WithdrawForm,
)
from ..models import Application, Attachment, AttachmentKind, AvoidanceRequest, Call
from ..rules import is_member_of_application_org
from ..uploads import ALLOWED_LABEL
from .files import file_download

PAGE_SIZE = 20

STEPS = [
    ("basic", gettext_lazy("基本信息")),
    ("team", gettext_lazy("项目组成员")),
    ("budget", gettext_lazy("项目预算")),
    ("targets", gettext_lazy("绩效指标")),
    ("partners", gettext_lazy("合作单位")),
    ("avoid", gettext_lazy("回避专家")),
    ("attachments", gettext_lazy("附件材料")),
    ("review", gettext_lazy("预览并提交")),
]
STEP_NAMES = [s for s, _label in STEPS]


def _is_portal_user(user) -> bool:
    return user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)


def portal_user_required(view):
    """Login required; only applicant / org_admin users have an enterprise portal (others get 404)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _is_portal_user(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _own_application(user, pk) -> Application:
    try:
        return selectors.own_application_detail(user, pk)
    except Application.DoesNotExist:
        raise Http404 from None


def _error_messages(request, error: DomainError) -> None:
    for message in error.messages:
        messages.error(request, message)


def plain_number(value: Decimal) -> str:
    """10.0000 → '10', 3.5000 → '3.5' (never scientific notation)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def content_context(user, app: Application) -> dict:
    """What the application content partial needs (ID numbers unmasked only for the owning organisation)."""
    return {
        "app": app,
        "show_ids": is_member_of_application_org.test(user, app),
        # the submit checks' own judgement of the money rules and the required attachments
        "budget": services.budget_summary(app),
        "required_kinds": services.required_attachments(app),
        "targets": [
            {"kind": t.get_kind_display(), "indicator": t.indicator, "value": plain_number(t.target_value), "unit": t.unit}
            for t in app.targets.all()
        ],
    }


# ---- dashboard and list --------------------------------------------------------------------------


@login_required
def dashboard(request):
    user = request.user
    if not _is_portal_user(user):
        if user.is_superuser or user.has_role(Role.OFFICER):
            return redirect("portal:review_queue")
        return render(
            request,
            "projects/applicant/dashboard_other.html",
            {
                "notifications": list(activity_selectors.inbox_for(user).filter(read_at__isnull=True)[:5]),
                "open_calls": list(selectors.open_calls()[:6]),
                "roles": [Role(r).label for r in sorted(user.role_names) if r in Role.values],
            },
        )
    counts = selectors.organization_state_counts(user)
    state_counts = [(value, label, counts.get(value, 0)) for value, label in Application.State.choices]
    recent = list(
        selectors.organization_application_list(user).filter(created_by=user).order_by("-updated_at", "-id")[:5]
    )
    return render(
        request,
        "projects/applicant/dashboard.html",
        {
            "organization": user.organization,
            "state_counts": state_counts,
            "total_count": sum(counts.values()),
            "recent": recent,
            "open_calls": list(selectors.open_calls()[:6]),
            "notifications": list(activity_selectors.inbox_for(user).filter(read_at__isnull=True)[:5]),
            "can_create": user.has_perm("projects.create_application"),
        },
    )


@portal_user_required
def application_list(request):
    form = ApplicationFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {}
    page = Paginator(
        selectors.organization_application_list(request.user, filters=filters), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "projects/applicant/application_list.html",
        {"form": form, "page": page, "applications": page.object_list, "filtered": bool(filters)},
    )


# ---- create --------------------------------------------------------------------------------------


@portal_user_required
@require_POST
def application_create(request, call_pk):
    try:
        call = selectors.public_calls().get(pk=call_pk)
    except Call.DoesNotExist:
        raise Http404 from None
    form = ApplicationCreateForm(request.POST)
    title = form.cleaned_data["title"] if form.is_valid() else ""
    try:
        app = services.create_application(actor=request.user, call_id=call.pk, title=title)
    except DomainError as e:
        _error_messages(request, e)
        return redirect("public:call_detail", pk=call.pk)
    messages.success(request, _("已创建申报书草稿，请逐步填写并保存。"))
    return redirect("portal:application_edit", pk=app.pk, step="basic")


# ---- the multi-step form ---------------------------------------------------------------------------


def _step_url(app, step):
    return reverse("portal:application_edit", kwargs={"pk": app.pk, "step": step})


def _after_save(request, app, step, message=None):
    messages.success(request, message or _("已保存。"))
    if request.POST.get("action") == "next":
        index = STEP_NAMES.index(step)
        return redirect(_step_url(app, STEP_NAMES[min(index + 1, len(STEP_NAMES) - 1)]))
    return redirect(_step_url(app, step))


def _step_basic(request, app):
    form = BasicForm(request.POST or None, instance=app)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.update_application(actor=request.user, application_id=app.pk, data=form.service_data())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, app, "basic")
    return {"form": form, "domain_errors": errors}


def _rows_step(request, app, step, formset_class, initial, save):
    formset = formset_class(request.POST or None, initial=initial, prefix=step)
    errors = []
    if request.method == "POST" and formset.is_valid():
        try:
            save(formset.rows())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, app, step)
    return {"formset": formset, "domain_errors": errors}


def _step_team(request, app):
    initial = [
        {"name": m.name, "id_number": m.id_number, "title": m.title, "organization_name": m.organization_name,
         "role": m.role, "work_months": m.work_months}
        for m in app.team_members.all()
    ]
    return _rows_step(
        request, app, "team", TeamFormSet, initial,
        lambda rows: services.set_team(actor=request.user, application_id=app.pk, members=rows),
    )


def _step_targets(request, app):
    initial = [
        {"kind": t.kind, "indicator": t.indicator, "target_value": plain_number(t.target_value), "unit": t.unit}
        for t in app.targets.all()
    ]
    return _rows_step(
        request, app, "targets", TargetFormSet, initial,
        lambda rows: services.set_targets(actor=request.user, application_id=app.pk, targets=rows),
    )


def _step_partners(request, app):
    initial = [{"name": p.name, "credit_code": p.credit_code, "role": p.role} for p in app.partners.all()]
    return _rows_step(
        request, app, "partners", PartnerFormSet, initial,
        lambda rows: services.set_partners(actor=request.user, application_id=app.pk, partners=rows),
    )


def _step_avoid(request, app):
    initial = [
        {"name": a.name, "organization_name": a.organization_name, "reason": a.reason}
        for a in app.avoidance_requests.all()
    ]
    formset = AvoidanceFormSet(request.POST or None, initial=initial, prefix="avoid")
    errors = []
    if request.method == "POST" and formset.is_valid():
        try:
            services.set_avoidance_requests(actor=request.user, application_id=app.pk, requests=formset.requests())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, app, "avoid")
    return {"formset": formset, "domain_errors": errors, "max_avoid": AvoidanceRequest.MAX_PER_APPLICATION}


def _step_budget(request, app):
    form = BudgetForm(request.POST or None, initial=BudgetForm.initial_for(app.budget_lines.all()))
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            services.set_budget(actor=request.user, application_id=app.pk, lines=form.service_lines())
        except DomainError as e:
            errors = e.messages
        else:
            return _after_save(request, app, "budget")
    return {"form": form, "domain_errors": errors}


def _step_attachments(request, app):
    form = AttachmentUploadForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST":
        if request.POST.get("action") == "next" and not request.FILES and not request.POST.get("kind"):
            return redirect(_step_url(app, "review"))
        if form.is_valid():
            try:
                attachment = services.add_attachment(
                    actor=request.user, application_id=app.pk, kind=form.cleaned_data["kind"],
                    uploaded=form.cleaned_data["file"],
                )
            except DomainError as e:
                errors = e.messages
            else:
                return _after_save(request, app, "attachments", _("已上传：%(name)s") % {"name": attachment.original_name})
    return {
        "form": form,
        "domain_errors": errors,
        "allowed_types": ALLOWED_LABEL,
        "max_mb": settings.ATTACHMENT_MAX_BYTES // 1048576,
    }


def _step_review(request, app):
    if request.method == "POST":
        # The review step only shows; submitting posts to application_submit.
        return redirect(_step_url(app, "review"))
    return {
        "problems": services.submission_problems(app),
        "avoidance_requests": selectors.own_avoidance_requests(request.user, app),
    }


STEP_HANDLERS = {
    "basic": _step_basic,
    "team": _step_team,
    "budget": _step_budget,
    "targets": _step_targets,
    "partners": _step_partners,
    "avoid": _step_avoid,
    "attachments": _step_attachments,
    "review": _step_review,
}


@portal_user_required
@require_http_methods(["GET", "POST"])
def application_edit(request, pk, step):
    if step not in STEP_HANDLERS:
        raise Http404
    app = _own_application(request.user, pk)
    if not app.is_editable:
        messages.warning(
            request, _("申报书当前状态为“%(state)s”，不能修改。") % {"state": app.get_state_display()}
        )
        return redirect("portal:application_detail", pk=app.pk)
    if not request.user.has_perm("projects.edit_application_obj", app):
        messages.error(request, _("只有本单位的申报用户可以修改申报书。"))
        return redirect("portal:application_detail", pk=app.pk)
    result = STEP_HANDLERS[step](request, app)
    if not isinstance(result, dict):
        return result
    index = STEP_NAMES.index(step)
    context = {
        **content_context(request.user, app),
        **result,
        "step": step,
        "step_label": dict(STEPS)[step],
        "steps": [{"name": s, "label": label, "url": _step_url(app, s), "active": s == step} for s, label in STEPS],
        "next_step": STEP_NAMES[index + 1] if index + 1 < len(STEP_NAMES) else None,
        "prev_url": _step_url(app, STEP_NAMES[index - 1]) if index > 0 else None,
        "attachment_kinds": AttachmentKind.choices,
    }
    return render(request, f"projects/applicant/edit_{step}.html", context)


# ---- transitions ----------------------------------------------------------------------------------


@portal_user_required
@require_POST
def application_submit(request, pk):
    app = _own_application(request.user, pk)
    try:
        app = services.submit_application(actor=request.user, application_id=app.pk)
    except InvalidInput as e:
        _error_messages(request, e)
        if app.is_editable:
            return redirect(_step_url(app, "review"))
        return redirect("portal:application_detail", pk=app.pk)
    except DomainError as e:
        _error_messages(request, e)
        return redirect("portal:application_detail", pk=app.pk)
    messages.success(
        request, _("申报书已提交，申报编号：%(no)s。请等待本单位管理员审核。") % {"no": app.number}
    )
    return redirect("portal:application_detail", pk=app.pk)


@portal_user_required
@require_POST
def application_withdraw(request, pk):
    app = _own_application(request.user, pk)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_application(actor=request.user, application_id=app.pk, reason=reason)
    except DomainError as e:
        _error_messages(request, e)
    else:
        messages.success(request, _("申报书已撤回。"))
    return redirect("portal:application_detail", pk=app.pk)


# ---- status page -----------------------------------------------------------------------------------


@login_required
def application_detail(request, pk):
    try:
        app = selectors.application_detail(request.user, pk)
    except Application.DoesNotExist:
        raise Http404 from None
    user = request.user
    workflow = services.APPLICATION_WORKFLOW
    can_withdraw = workflow.allowed("withdraw", app.state) and user.has_perm("projects.withdraw_application_obj", app)
    context = {
        **content_context(user, app),
        "versions": list(app.versions.select_related("submitted_by").order_by("-revision")),
        "events": activity_selectors.history(app, workflow),
        "can_edit": app.is_editable and user.has_perm("projects.edit_application_obj", app),
        "can_withdraw": can_withdraw,
        "withdraw_form": WithdrawForm() if can_withdraw else None,
        "can_endorse": app.state == Application.State.SUBMITTED
        and user.has_perm("projects.endorse_application_obj", app),
        "can_review": app.state == Application.State.ENDORSED and user.has_perm("projects.formal_review"),
        "show_reason": app.last_reason
        and app.state in (Application.State.RETURNED, Application.State.ORG_RETURNED, Application.State.REJECTED),
        "is_owner": is_member_of_application_org.test(user, app),
        # 不适宜评审专家: the applicant's own organisation only
        "avoidance_requests": selectors.own_avoidance_requests(user, app),
        "project": selectors.project_of_application(user, app) if app.state == Application.State.APPROVED else None,
    }
    return render(request, "projects/applicant/application_detail.html", context)


# ---- 立项 projects --------------------------------------------------------------------------------------


def _sees_projects(user) -> bool:
    return _is_portal_user(user) or user.is_superuser or any(
        user.has_role(r) for r in (Role.OFFICER, Role.SUPERVISOR, Role.FINANCE)
    )


@login_required
def project_list(request):
    """我的项目: the organisation's projects (bureau staff: all projects). Anyone else: 404."""
    user = request.user
    if not _sees_projects(user):
        raise Http404
    # challenge projects (揭榜挂帅) have no call: their challenge and its programme are shown instead
    page = Paginator(selectors.project_list(user).select_related("challenge__program", "agreement"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(
        request,
        "projects/applicant/project_list.html",
        {
            "page": page,
            "projects": page.object_list,
            "is_portal": _is_portal_user(user),
            # finance users see projects but not applications: no link to the application page for them
            "links_applications": _is_portal_user(user)
            or user.is_superuser
            or user.has_role(Role.OFFICER)
            or user.has_role(Role.SUPERVISOR),
        },
    )


# ---- attachments -------------------------------------------------------------------------------------


@login_required
def attachment_download(request, pk):
    try:
        attachment = selectors.attachment_for_download(request.user, pk)
    except Attachment.DoesNotExist:
        raise Http404 from None
    return file_download(attachment.file, filename=attachment.original_name, content_type=attachment.content_type)


@portal_user_required
@require_POST
def attachment_remove(request, pk):
    try:
        attachment = selectors.own_attachment(request.user, pk)
    except Attachment.DoesNotExist:
        raise Http404 from None
    app = attachment.application
    try:
        services.remove_attachment(actor=request.user, attachment_id=attachment.pk)
    except DomainError as e:
        _error_messages(request, e)
        return redirect("portal:application_detail", pk=app.pk)
    messages.success(request, _("已移除附件：%(name)s") % {"name": attachment.original_name})
    return redirect(_step_url(app, "attachments"))

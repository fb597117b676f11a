"""The organisation's checkpoint pages (企业门户): one project's 中期检查, 验收申请 and 延期申请, the report forms and
their files.

Only the users of the project's organisation (applicant, org admin) see them; everybody else gets 404 on every URL
(the bureau works on ``checkpoints_office``). Every write goes through ``projects.checkpoints.services``; a refusal
(DomainError) is shown as a message or on the form and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import DomainError
from accounts.workflow import object_history

from ...models import Project
from ...views.applicant import portal_user_required
from ...views.files import file_download
from .. import selectors, services
from ..forms import ACCEPTANCE_KINDS, MIDTERM_KINDS, ExtensionForm, ReportForm, UploadForm
from ..models import AcceptanceReport, MidtermReport
from .common import file_checklist, flash, form_messages, is_midterm, report_due, spending_rows

REPORT = "projects.report_checkpoint_obj"
MS = MidtermReport.State
AS = AcceptanceReport.State


# ---- one project's checkpoints -----------------------------------------------------------------------------


def _extension_blocked(project, extension, acceptance, today) -> str:
    """Why no extension can be asked for now ('' when it can)."""
    if extension is not None:
        return _("每个项目只能申请一次延期，该项目已申请过。")
    if project.state != Project.State.ESTABLISHED:
        return _("项目当前为“%(s)s”，不能申请延期。") % {"s": project.get_state_display()}
    if project.end_date is None:
        return _("项目没有结束日期，无需延期。")
    deadline = services.extension_deadline(project)
    if deadline is None or today > deadline:
        return _("延期须在项目结束日期前至少3个月申请（本项目最晚 %(d)s）。") % {
            "d": deadline.isoformat() if deadline else "—"}
    if acceptance is not None and acceptance.state != AS.DRAFT:
        return _("项目已提交验收申请，不能再申请延期。")
    return ""


def _render_project(request, project, *, extension_form=None, status=200):
    user = request.user
    today = timezone.localdate()
    reason = services.checkable(project)
    midterm = selectors.related(project, "midterm")
    acceptance = selectors.related(project, "acceptance_report")
    extension = selectors.related(project, "extension_request")
    can_report = not reason and user.has_perm(REPORT, project)
    running = project.state == Project.State.ESTABLISHED
    midterm_open = midterm is not None and midterm.state in MidtermReport.OPEN_STATES
    ext_blocked = _extension_blocked(project, extension, acceptance, today) if can_report else ""
    if can_report and not ext_blocked and extension_form is None:
        extension_form = ExtensionForm()
    midterm_due = report_due(midterm, today) if midterm is not None else (None, False)
    acceptance_due = services.acceptance_due_date(project)
    return render(request, "projects/checkpoints/portal/project.html", {
        "project": project,
        "reason": reason,
        "midterm": midterm,
        "midterm_due": midterm_due[0],
        "midterm_overdue": midterm_due[1],
        "acceptance": acceptance,
        "acceptance_due": acceptance_due,
        "acceptance_overdue": (acceptance is None or acceptance.state == AS.DRAFT) and running
        and acceptance_due is not None and acceptance_due < today,
        "can_start_acceptance": can_report and running and acceptance is None and not midterm_open,
        "acceptance_waits_for_midterm": can_report and running and acceptance is None and midterm_open,
        "extension": extension,
        "extension_deadline": services.extension_deadline(project),
        "extension_form": extension_form if can_report and not ext_blocked else None,
        "extension_blocked": ext_blocked,
        "extension_events": object_history(extension, services.EXTENSION_WORKFLOW) if extension else [],
    }, status=status)


@portal_user_required
@require_http_methods(["GET", "POST"])
def project_page(request, pk):
    user = request.user
    project = selectors.project_for_org(user, pk)
    if request.method == "GET":
        return _render_project(request, project)
    action = request.POST.get("action")
    if action == "start_acceptance":
        try:
            report = services.start_acceptance(actor=user, project_id=project.pk)
        except DomainError as e:
            flash(request, e.messages)
            return redirect("checkpoints:project", project.pk)
        messages.success(request, _("已开始填写验收申请，请逐项填写绩效指标完成情况和经费支出，并上传所需材料后提交。"))
        return redirect("checkpoints:acceptance", report.pk)
    if action == "extension":
        form = ExtensionForm(request.POST)
        if not form.is_valid():
            flash(request, form_messages(form))
            return _render_project(request, project, extension_form=form, status=400)
        try:
            ext = services.request_extension(actor=user, project_id=project.pk, months=form.cleaned_data["months"],
                                             reason=form.cleaned_data["reason"])
        except DomainError as e:
            flash(request, e.messages)
            return _render_project(request, selectors.project_for_org(user, pk), extension_form=form,
                                   status=e.http_status)
        messages.success(request, _("延期申请已提交：申请将结束日期由 %(a)s 延至 %(b)s，等待科技局审批。")
                         % {"a": ext.original_end_date.isoformat(), "b": ext.new_end_date.isoformat()})
        return redirect("checkpoints:project", project.pk)
    flash(request, [_("未知的操作。")])
    return redirect("checkpoints:project", project.pk)


# ---- the report pages (中期报告 and 验收申请) ------------------------------------------------------------------


def _spec(report) -> dict:
    if is_midterm(report):
        return {"kind": "midterm", "text_field": "progress", "text_label": _("总体进展情况"), "kinds": MIDTERM_KINDS,
                "url": "checkpoints:midterm", "workflow": services.MIDTERM_WORKFLOW, "title": _("中期报告")}
    return {"kind": "acceptance", "text_field": "summary", "text_label": _("项目总结"), "kinds": ACCEPTANCE_KINDS,
            "url": "checkpoints:acceptance", "workflow": services.ACCEPTANCE_WORKFLOW, "title": _("验收申请")}


def _render_report(request, report, *, form=None, upload_form=None, status=200):
    user = request.user
    spec = _spec(report)
    project = report.project
    editable = (report.state in type(report).EDITABLE_STATES and project.state == Project.State.ESTABLISHED
                and user.has_perm(REPORT, project))
    if editable:
        form = form or ReportForm(report=report, text_field=spec["text_field"], text_label=spec["text_label"])
        upload_form = upload_form or UploadForm(kinds=spec["kinds"])
    attachments = selectors.attachments_of(report)
    for a in attachments:
        a.removable = editable and a.attempt == report.attempt
    due, overdue = report_due(report)
    return render(request, "projects/checkpoints/portal/report.html", {
        "report": report,
        "project": project,
        "spec": spec,
        "is_midterm": spec["kind"] == "midterm",
        "editable": editable,
        "form": form if editable else None,
        "upload_form": upload_form if editable else None,
        "spending_rows": spending_rows(report),
        "attachments": attachments,
        "checklist": file_checklist(report, attachments),
        "due": due,
        "overdue": overdue,
        "events": object_history(report, spec["workflow"]),
    }, status=status)


def _report_page(request, report):
    user = request.user
    spec = _spec(report)
    if request.method == "GET":
        return _render_report(request, report)
    action = request.POST.get("action")
    back = reverse(spec["url"], args=[report.pk])
    if action == "upload":
        upload_form = UploadForm(request.POST, request.FILES, kinds=spec["kinds"])
        if not upload_form.is_valid():
            flash(request, form_messages(upload_form))
            return _render_report(request, report, upload_form=upload_form, status=400)
        uploaded = upload_form.cleaned_data["file"]
        try:
            services.add_attachment(actor=user, report_kind=spec["kind"], report_id=report.pk,
                                    kind=upload_form.cleaned_data["kind"], uploaded=uploaded)
        except DomainError as e:
            flash(request, e.messages)
            return _render_report(request, _reload(user, report), upload_form=upload_form, status=e.http_status)
        messages.success(request, _("已上传附件：%(n)s") % {"n": uploaded.name})
        return redirect(back + "#attachments")
    if action not in ("save", "submit"):
        flash(request, [_("未知的操作。")])
        return redirect(back)
    form = ReportForm(request.POST, report=report, text_field=spec["text_field"], text_label=spec["text_label"])
    if not form.is_valid():
        flash(request, form_messages(form) or [_("请检查填写的内容。")])
        return _render_report(request, report, form=form, status=400)
    save = services.save_midterm if spec["kind"] == "midterm" else services.save_acceptance
    try:
        save(actor=user, report_id=report.pk, targets=form.targets(), spending=form.spending(),
             **{spec["text_field"]: form.text()})
    except DomainError as e:
        flash(request, e.messages)
        return _render_report(request, _reload(user, report), form=form, status=e.http_status)
    if action == "save":
        messages.success(request, _("%(t)s已保存。") % {"t": spec["title"]})
        return redirect(back)
    submit = services.submit_midterm if spec["kind"] == "midterm" else services.submit_acceptance
    try:
        submit(actor=user, report_id=report.pk)
    except DomainError as e:
        messages.info(request, _("填写的内容已保存，但尚未提交。"))
        flash(request, e.messages)
        return redirect(back)
    messages.success(request, _("%(t)s已提交，等待科技局组织专家评审。") % {"t": spec["title"]})
    return redirect(back)


def _reload(user, report):
    if is_midterm(report):
        return selectors.midterm_for_org(user, report.pk)
    return selectors.acceptance_for_org(user, report.pk)


@portal_user_required
@require_http_methods(["GET", "POST"])
def midterm_page(request, pk):
    return _report_page(request, selectors.midterm_for_org(request.user, pk))


@portal_user_required
@require_http_methods(["GET", "POST"])
def acceptance_page(request, pk):
    return _report_page(request, selectors.acceptance_for_org(request.user, pk))


# ---- files -------------------------------------------------------------------------------------------------


@portal_user_required
def attachment_download(request, pk):
    attachment = selectors.attachment_for_org(request.user, pk)
    return file_download(attachment.file, filename=attachment.original_name, content_type=attachment.content_type)


@portal_user_required
@require_POST
def attachment_remove(request, pk):
    user = request.user
    attachment = selectors.attachment_for_org(user, pk)
    back = (reverse("checkpoints:midterm", args=[attachment.midterm_id]) if attachment.midterm_id
            else reverse("checkpoints:acceptance", args=[attachment.acceptance_id]))
    try:
        services.remove_attachment(actor=user, attachment_id=attachment.pk)
    except DomainError as e:
        flash(request, e.messages)
    else:
        messages.success(request, _("已移除附件：%(n)s") % {"n": attachment.original_name})
    return redirect(back + "#attachments")


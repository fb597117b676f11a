"""Django admin for programmes, calls and applications (the officers' back office).

Applications are read-only here: every change of state goes through ``projects.services`` (the batch
formal-review actions call ``services.batch_formal_review``, the call actions ``publish_call`` /
``close_call``). Calls and their guide documents are written by ``create_call`` / ``update_call`` /
``add_call_document`` / ``remove_call_document``; a refusal shows on the form (ServiceErrorFormMixin). Querysets come from ``projects.selectors``, so the admin shows what the portal shows
(never another organisation's draft). Nothing an audit depends on can be deleted here.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceErrorFormMixin
from accounts.exceptions import DomainError, InvalidInput
from accounts.fields import fmt_yuan
from accounts.models import Organization
from accounts.validators import mask_id_number
from activity.admin import register_workflow
from activity.selectors import history

from . import selectors, services
from .challenges import admin as challenges_admin  # noqa: F401  (registers the 揭榜挂帅 models)
from .challenges.selectors import challenge_projects_visible_to
from .checklists import FORMAL_REVIEW_CHECKLIST
from .checkpoints import admin as checkpoints_admin  # noqa: F401  (registers the 中期检查, 验收 and 延期 models)
from .exports import export_applications_xlsx
from .models import (
    Application,
    ApplicationVersion,
    Attachment,
    AttachmentKind,
    AvoidanceRequest,
    BudgetLine,
    Call,
    CallDocument,
    FormalReview,
    Partner,
    PerformanceTarget,
    Program,
    Project,
    TeamMember,
)
from .uploads import inspect_upload

register_workflow(services.CALL_WORKFLOW)
register_workflow(services.APPLICATION_WORKFLOW)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yuan(value) -> str:
    return "—" if value is None else f"{fmt_yuan(value)}"


def _state_badge(obj):
    return format_html('<span class="kj-state kj-state-{}">{}</span>', obj.state, obj.get_state_display())


def _history_table(obj, workflow):
    events = history(obj, workflow)
    if not events:
        return "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                e.actor.display_name if e.actor_id else _("系统"),
                e.verb_label,
                f"{e.from_label or '—'} → {e.to_label or '—'}" if (e.from_state or e.to_state) else "—",
                e.reason or "",
            )
            for e in events
        ),
    )
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("时间"),
        _("操作人"),
        _("操作"),
        _("状态变化"),
        _("理由"),
        rows,
    )


def _report(modeladmin, request, rows, results, done_label):
    """Tell the officer, row by row, what a batch action did. ``rows`` maps pk → display name."""
    done = [rows[pk] for pk, ok, _msg in results if ok]
    if done:
        modeladmin.message_user(
            request,
            _("%(action)s %(n)d 项：%(items)s") % {"action": done_label, "n": len(done), "items": "；".join(done)},
            messages.SUCCESS,
        )
    for pk, ok, msg in results:
        if not ok:
            modeladmin.message_user(request, _("%(item)s：%(reason)s") % {"item": rows[pk], "reason": msg}, messages.ERROR)


# ---- programmes -------------------------------------------------------------------------------


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "managing_office", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "code", "managing_office"]


# ---- calls ------------------------------------------------------------------------------------


class CallAdminForm(forms.ModelForm):
    eligible_org_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("可申报单位性质"),
        choices=Organization.Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("不选表示不限"),
    )
    required_qualifications = forms.MultipleChoiceField(
        label=gettext_lazy("须具备的资质"),
        choices=Organization.Qualification.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("以提交当日有效为准"),
    )
    required_attachment_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("必传附件类型"),
        choices=AttachmentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Call
        fields = [
            "program",
            "year",
            "title",
            "guide",
            "opens_at",
            "closes_at",
            "total_budget",
            "cap_per_project",
            "min_self_funding_ratio",
            "max_applications_per_org",
            "eligible_org_kinds",
            "required_qualifications",
            "required_attachment_kinds",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.state != Call.State.DRAFT:
            # Published rules are fixed (services.update_call refuses changes): show them, greyed out.
            for name in services.CALL_RULE_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = gettext_lazy("指南已发布，申报条件不能修改。")


class CallDocumentForm(forms.ModelForm):
    """A guide file: its type is checked by content (projects.uploads), never trusted from its name."""

    class Meta:
        model = CallDocument
        fields = ["title", "file"]
        # Private files have no URL, so the "currently: <link>" of ClearableFileInput cannot be shown.
        widgets = {"file": forms.FileInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A document on record is never edited in place: upload a new one (补充通知) instead.
            for field in self.fields.values():
                field.disabled = True

    def clean_file(self):
        # Checked here too so a bad file is an error on its own row; services.add_call_document
        # checks it again and fills in the name, type and size.
        uploaded = self.cleaned_data.get("file")
        if isinstance(uploaded, UploadedFile):
            try:
                inspect_upload(uploaded)
            except InvalidInput as e:
                raise ValidationError(e.messages) from None
        return uploaded


class CallDocumentInline(admin.TabularInline):
    model = CallDocument
    form = CallDocumentForm
    extra = 1
    fields = ["title", "file", "download_link", "content_type", "size", "uploaded_at"]
    readonly_fields = ["download_link", "content_type", "size", "uploaded_at"]

    def has_delete_permission(self, request, obj=None):
        # A published guide's files stay on record; only a draft call's files may be removed.
        return obj is not None and obj.state == Call.State.DRAFT and super().has_delete_permission(request, obj)

    @admin.display(description=gettext_lazy("原文件"))
    def download_link(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("public:call_document", args=[obj.pk]), obj.original_name)


@admin.register(Call)
class CallAdmin(ServiceErrorFormMixin, admin.ModelAdmin):
    form = CallAdminForm
    inlines = [CallDocumentInline]
    list_display = ["title", "program", "year", "state_display", "opens_at", "closes_at", "cap_display"]
    list_filter = ["state", "program", "year"]
    search_fields = ["title", "program__name", "program__code"]
    list_select_related = ["program"]
    autocomplete_fields = ["program"]
    date_hierarchy = "opens_at"
    actions = ["publish_selected", "close_selected"]
    readonly_fields = ["state", "published_at", "closed_at", "created_by", "created_at", "updated_at", "history_table"]
    fieldsets = [
        (None, {"fields": ["program", "year", "title", "guide"]}),
        (gettext_lazy("申报时间"), {"fields": ["opens_at", "closes_at"]}),
        (
            gettext_lazy("资金与限制"),
            {"fields": ["total_budget", "cap_per_project", "min_self_funding_ratio", "max_applications_per_org"]},
        ),
        (
            gettext_lazy("申报条件"),
            {"fields": ["eligible_org_kinds", "required_qualifications", "required_attachment_kinds"]},
        ),
        (
            gettext_lazy("状态"),
            {"fields": ["state", "published_at", "closed_at", "created_by", "created_at", "updated_at"]},
        ),
        (gettext_lazy("操作记录"), {"fields": ["history_table"]}),
    ]

    def get_queryset(self, request):
        return selectors.calls_visible_to(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_calls_permission(self, request):
        return request.user.has_perm("projects.manage_calls")

    def save_model(self, request, obj, form, change):
        # Through the services: the published-call rules, validation and the audit event are theirs.
        # A refusal (DomainError) is shown on the form by ServiceErrorFormMixin, nothing saved.
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in services.CALL_FIELDS}
            call = services.update_call(actor=request.user, call_id=obj.pk, data=data)
        else:
            data = {f: form.cleaned_data[f] for f in services.CALL_FIELDS if f in form.cleaned_data}
            call = services.create_call(actor=request.user, data=data)
        # The admin goes on with ``obj`` (inlines, log entry, redirect): make it the stored call.
        for field in Call._meta.concrete_fields:
            setattr(obj, field.attname, getattr(call, field.attname))
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model is not CallDocument:
            return super().save_formset(request, form, formset, change)
        # What Django's formset.save() would record, for the change message of the log entry.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for doc_form in formset.deleted_forms:
            if doc_form.instance.pk:
                services.remove_call_document(actor=request.user, document_id=doc_form.instance.pk)
                formset.deleted_objects.append(doc_form.instance)
        for doc_form in formset.extra_forms:
            if doc_form.has_changed() and doc_form not in formset.deleted_forms:
                document = services.add_call_document(
                    actor=request.user,
                    call_id=form.instance.pk,
                    title=doc_form.cleaned_data["title"],
                    uploaded=doc_form.cleaned_data["file"],
                )
                formset.new_objects.append(document)
        return None

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    @admin.display(description=gettext_lazy("单项上限（元）"), ordering="cap_per_project")
    def cap_display(self, obj):
        return _yuan(obj.cap_per_project)

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.CALL_WORKFLOW) if obj.pk else "—"

    def _run(self, request, queryset, service, done_label):
        rows = {c.pk: str(c) for c in queryset}
        results = []
        for pk in sorted(rows):
            try:
                service(actor=request.user, call_id=pk)
            except DomainError as e:
                results.append((pk, False, e.message))
            else:
                results.append((pk, True, ""))
        _report(self, request, rows, results, done_label)

    @admin.action(description=gettext_lazy("发布"), permissions=["manage_calls"])
    def publish_selected(self, request, queryset):
        self._run(request, queryset, services.publish_call, _("已发布"))

    @admin.action(description=gettext_lazy("截止"), permissions=["manage_calls"])
    def close_selected(self, request, queryset):
        self._run(request, queryset, services.close_call, _("已截止"))


# ---- applications -----------------------------------------------------------------------------


class TeamMemberInline(ReadOnlyInline):
    model = TeamMember
    fields = ["name", "masked_id_number", "title", "organization_name", "role", "work_months"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("证件号码"))
    def masked_id_number(self, obj):
        return obj.masked_id_number


class BudgetLineInline(ReadOnlyInline):
    model = BudgetLine
    fields = ["category", "fiscal_display", "self_display", "total_display", "note"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("财政资金（元）"))
    def fiscal_display(self, obj):
        return _yuan(obj.fiscal_amount)

    @admin.display(description=gettext_lazy("自筹资金（元）"))
    def self_display(self, obj):
        return _yuan(obj.self_amount)

    @admin.display(description=gettext_lazy("小计（元）"))
    def total_display(self, obj):
        return _yuan(obj.total)


class PerformanceTargetInline(ReadOnlyInline):
    model = PerformanceTarget
    fields = ["kind", "indicator", "target_value", "unit"]
    readonly_fields = fields


class PartnerInline(ReadOnlyInline):
    model = Partner
    fields = ["name", "credit_code", "role", "organization"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization")


def _attachment_link(obj):
    return format_html(
        '<a href="{}">{}</a>', reverse("portal:attachment_download", args=[obj.pk]), obj.original_name
    )


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["kind", "download_link", "content_type", "size", "uploaded_by", "uploaded_at", "removed_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description=gettext_lazy("文件"))
    def download_link(self, obj):
        return _attachment_link(obj)


class AvoidanceRequestInline(ReadOnlyInline):
    """不适宜专家 the applicant asked the bureau not to use (the draw avoids them)."""

    model = AvoidanceRequest
    fields = ["name", "organization_name", "reason"]
    readonly_fields = fields


class FormalReviewInline(ReadOnlyInline):
    model = FormalReview
    fields = ["created_at", "reviewer", "revision", "decision", "comment"]
    readonly_fields = fields

    def get_queryset(self, request):
        # each row is labelled with str(review), which names its application
        return super().get_queryset(request).select_related("application", "reviewer")


class FormalReviewActionForm(forms.Form):
    """The intermediate page of the batch 受理 / 退回修改 / 不予受理 actions."""

    reason = forms.CharField(
        label=gettext_lazy("审查意见"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        required=False,
        max_length=2000,
    )
    checklist = forms.MultipleChoiceField(
        label=gettext_lazy("审查要点"),
        choices=FORMAL_REVIEW_CHECKLIST,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, decision: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision = decision
        if decision == FormalReview.Decision.ACCEPT:
            self.fields["checklist"].help_text = _("受理前须逐项确认全部审查要点。")
            self.fields["reason"].help_text = _("选填。")
        else:
            self.fields["reason"].label = _("理由")
            self.fields["reason"].required = True
            self.fields["reason"].help_text = _("必填，将通知申报单位。")
            self.fields["checklist"].help_text = _("勾选已通过的要点，未勾选的视为未通过。")

    def clean(self):
        cleaned = super().clean()
        if self.decision == FormalReview.Decision.ACCEPT:
            checked = set(cleaned.get("checklist") or [])
            missing = [str(label) for code, label in FORMAL_REVIEW_CHECKLIST if code not in checked]
            if missing:
                self.add_error(
                    "checklist", _("以下审查要点尚未确认，不能受理：%(items)s。") % {"items": "、".join(missing)}
                )
        return cleaned


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "title",
        "organization",
        "call",
        "state_display",
        "fiscal_total_display",
        "self_total_display",
        "submitted_at",
    ]
    list_display_links = ["number", "title"]
    list_filter = ["state", "call__program", "call__year"]
    search_fields = ["number", "title", "leader_name", "organization__name", "organization__credit_code"]
    list_select_related = ["call", "call__program", "organization"]
    ordering = ["-submitted_at", "-id"]
    actions = ["accept_selected", "return_selected", "reject_selected", "export_xlsx"]
    inlines = [
        TeamMemberInline,
        BudgetLineInline,
        PerformanceTargetInline,
        PartnerInline,
        AttachmentInline,
        AvoidanceRequestInline,
        FormalReviewInline,
    ]
    fieldsets = [
        (None, {"fields": ["number", "title", "organization", "call", "state_display", "revision", "created_by"]}),
        (
            gettext_lazy("项目信息"),
            {"fields": ["summary", "keywords", "discipline_code", "start_date", "end_date"]},
        ),
        (
            gettext_lazy("项目负责人"),
            {"fields": ["leader_name", "leader_title", "leader_phone", "leader_email", "masked_leader_id"]},
        ),
        (gettext_lazy("经费（元）"), {"fields": ["fiscal_total_display", "self_total_display", "total_display"]}),
        (
            gettext_lazy("办理情况"),
            {"fields": ["submitted_at", "decided_at", "last_reason", "created_at", "updated_at"]},
        ),
        (gettext_lazy("操作记录"), {"fields": ["history_table"]}),
    ]
    readonly_fields = [
        "number",
        "title",
        "organization",
        "call",
        "state_display",
        "revision",
        "created_by",
        "summary",
        "keywords",
        "discipline_code",
        "start_date",
        "end_date",
        "leader_name",
        "leader_title",
        "leader_phone",
        "leader_email",
        "masked_leader_id",
        "fiscal_total_display",
        "self_total_display",
        "total_display",
        "submitted_at",
        "decided_at",
        "last_reason",
        "created_at",
        "updated_at",
        "history_table",
    ]

    def get_queryset(self, request):
        return selectors.with_totals(selectors.applications_visible_to(request.user)).select_related("created_by")

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="projects_application_export",
            ),
            *super().get_urls(),
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_formal_review_permission(self, request):
        return request.user.has_perm("projects.formal_review")

    # -- columns

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    @admin.display(description=gettext_lazy("财政资金（元）"), ordering="fiscal_total")
    def fiscal_total_display(self, obj):
        return _yuan(obj.fiscal_total)

    @admin.display(description=gettext_lazy("自筹资金（元）"), ordering="self_total")
    def self_total_display(self, obj):
        return _yuan(obj.self_total)

    @admin.display(description=gettext_lazy("合计（元）"))
    def total_display(self, obj):
        return _yuan(obj.fiscal_total + obj.self_total)

    @admin.display(description=gettext_lazy("负责人证件号码"))
    def masked_leader_id(self, obj):
        return obj.masked_leader_id or "—"

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.APPLICATION_WORKFLOW)

    # -- batch formal review (形式审查), through an intermediate page

    def _formal_review(self, request, queryset, decision, action_name):
        applying = "apply" in request.POST
        form = FormalReviewActionForm(request.POST if applying else None, decision=decision)
        apps = list(queryset.order_by("submitted_at", "id"))
        if applying and form.is_valid():
            rows = {a.pk: f"《{a.title}》（{a.number or _('无编号')}）" for a in apps}
            results = services.batch_formal_review(
                actor=request.user,
                application_ids=[a.pk for a in apps],
                decision=decision,
                reason=form.cleaned_data["reason"],
                checklist={code: True for code in form.cleaned_data["checklist"]},
            )
            label = FormalReview.Decision(decision).label
            _report(self, request, rows, results, _("已%(label)s") % {"label": label})
            return None
        decision_label = FormalReview.Decision(decision).label
        context = {
            **self.admin_site.each_context(request),
            "title": _("批量形式审查：%(label)s") % {"label": decision_label},
            "subtitle": None,
            "opts": self.model._meta,
            "media": self.media + form.media,
            "form": form,
            "applications": apps,
            "not_ready": [a for a in apps if a.state != Application.State.ENDORSED],
            "decision": decision,
            "decision_label": decision_label,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/projects/application/formal_review_action.html", context)

    @admin.action(description=gettext_lazy("受理"), permissions=["formal_review"])
    def accept_selected(self, request, queryset):
        return self._formal_review(request, queryset, FormalReview.Decision.ACCEPT, "accept_selected")

    @admin.action(description=gettext_lazy("退回修改"), permissions=["formal_review"])
    def return_selected(self, request, queryset):
        return self._formal_review(request, queryset, FormalReview.Decision.RETURN, "return_selected")

    @admin.action(description=gettext_lazy("不予受理"), permissions=["formal_review"])
    def reject_selected(self, request, queryset):
        return self._formal_review(request, queryset, FormalReview.Decision.REJECT, "reject_selected")

    # -- Excel export: the selected rows (action) or everything the current filters match (button)

    def _xlsx_response(self, queryset):
        response = HttpResponse(export_applications_xlsx(queryset), content_type=XLSX_CONTENT_TYPE)
        filename = _("申报书清单-%(d)s.xlsx") % {"d": timezone.localdate().strftime("%Y%m%d")}
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response

    @admin.action(description=gettext_lazy("导出Excel"), permissions=["view"])
    def export_xlsx(self, request, queryset):
        return self._xlsx_response(queryset)

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self._xlsx_response(changelist.get_queryset(request))


# ---- records kept for the audit: read-only ----------------------------------------------------




class ApplicationRecordAdmin(ReadOnlyAdmin):
    """Records of an application: only those of applications the user may see."""

    def get_queryset(self, request):
        visible = selectors.applications_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(application__in=visible)

    @admin.display(description=gettext_lazy("申报编号"), ordering="application__number")
    def application_number(self, obj):
        return obj.application.number


@admin.register(FormalReview)
class FormalReviewAdmin(ApplicationRecordAdmin):
    list_display = ["created_at", "application", "application_number", "decision", "revision", "reviewer"]
    list_filter = ["decision", "application__call__program"]
    search_fields = ["application__number", "application__title", "comment"]
    list_select_related = ["application", "reviewer"]
    date_hierarchy = "created_at"
    fields = ["application", "revision", "decision", "checklist_display", "comment", "reviewer", "created_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("审查要点"))
    def checklist_display(self, obj):
        return format_html_join(
            "",
            "<div>{} {}</div>",
            (("✔" if obj.checklist.get(code) else "✘", label) for code, label in FORMAL_REVIEW_CHECKLIST),
        )


@admin.register(ApplicationVersion)
class ApplicationVersionAdmin(ApplicationRecordAdmin):
    list_display = ["application", "application_number", "revision", "submitted_by", "submitted_at"]
    search_fields = ["application__number", "application__title"]
    list_select_related = ["application", "submitted_by"]
    date_hierarchy = "submitted_at"
    fields = ["application", "revision", "submitted_by", "submitted_at", "snapshot_display"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("内容快照"))
    def snapshot_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(masked_snapshot(obj.snapshot), ensure_ascii=False, indent=2))


def masked_snapshot(snapshot):
    """A copy of a submitted snapshot with every ID number (负责人、成员证件号码) masked for display.

    The stored snapshot stays exactly as submitted (a new structure is built); only what the officer sees is masked.
    """
    def mask(value):
        if isinstance(value, dict):
            return {
                k: mask_id_number(v) if k.endswith("id_number") and isinstance(v, str) and v else mask(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    return mask(snapshot)


@admin.register(Attachment)
class AttachmentAdmin(ApplicationRecordAdmin):
    list_display = ["original_name", "kind", "application", "size", "uploaded_by", "uploaded_at", "removed_at"]
    list_filter = ["kind"]
    search_fields = ["original_name", "application__number", "application__title", "sha256"]
    list_select_related = ["application", "uploaded_by"]
    fields = [
        "application",
        "kind",
        "download_link",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "uploaded_at",
        "removed_by",
        "removed_at",
    ]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("文件"))
    def download_link(self, obj):
        return _attachment_link(obj)


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    """立项项目, created by the approval of a 立项 list (services.establish_project) or by a winning 揭榜 bid
    (challenges.services.award_challenge): read-only here. A project has either an application and its call or a
    bid and its challenge."""

    list_display = ["number", "title", "organization", "source_display", "leader_name", "granted_display", "state",
                    "established_at"]
    list_display_links = ["number", "title"]
    list_filter = ["state", "call", "call__year", "challenge__field"]
    search_fields = ["number", "title", "organization__name"]
    list_select_related = ["organization", "call", "challenge"]
    date_hierarchy = "established_at"
    fields = [
        "number",
        "title",
        "application",
        "call",
        "challenge",
        "bid",
        "organization",
        "leader_name",
        "requested_display",
        "granted_display",
        "start_date",
        "end_date",
        "state",
        "established_at",
        "established_by",
        "source",
        "ended_at",
        "end_reason",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # the projects of applications the user may see (the bureau: all of them), and the challenge projects
        # the user may see
        visible = selectors.applications_visible_to(request.user).values("pk")
        challenge_projects = challenge_projects_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(Q(application__in=visible) | Q(pk__in=challenge_projects))

    def get_fields(self, request, obj=None):
        # only the source the project has: an application and its call, or a bid and its challenge
        if obj is not None and obj.challenge_id:
            return [f for f in self.fields if f not in ("application", "call")]
        return [f for f in self.fields if f not in ("challenge", "bid")]

    @admin.display(description=gettext_lazy("申报指南 / 揭榜挂帅项目"))
    def source_display(self, obj):
        if obj.challenge_id:
            return format_html("{}：{}", _("揭榜挂帅"), obj.challenge)
        return str(obj.call) if obj.call_id else "—"

    @admin.display(description=gettext_lazy("申请财政资金（元）"), ordering="requested_amount")
    def requested_display(self, obj):
        return _yuan(obj.requested_amount)

    @admin.display(description=gettext_lazy("立项财政资金（元）"), ordering="granted_amount")
    def granted_display(self, obj):
        return _yuan(obj.granted_amount)

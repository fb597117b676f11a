"""Django admin for the checkpoints of call projects: 中期报告, 验收申请, their attachments and 延期申请.

Everything here is read-only (the 终止建议 too: the officer decides it on the office page): the organisation fills in and submits its reports on the portal, and the bureau
opens, concludes and decides through ``projects.checkpoints.services`` (the office pages and the API), because a
conclusion needs the expert round's score and a judgement. The one batch action approves selected extension
requests (``decide_extension``), row by row, each refusal reported with its reason; rejecting needs a reason per
request and is done on the office page. Querysets come from ``projects.checkpoints.selectors`` and are the
bureau's only (officers, supervisors, superusers). Nothing is ever deleted. Imported by ``projects.admin``.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import AuditHistoryMixin, ReadOnlyAdmin, ReadOnlyInline, run_per_row
from accounts.fields import fmt_yuan
from activity.admin import register_workflow

from ..models import BudgetLine
from . import proposals, selectors, services
from .models import AcceptanceReport, CheckpointAttachment, ExtensionRequest, MidtermReport, TerminationProposal

for _workflow in (services.MIDTERM_WORKFLOW, services.ACCEPTANCE_WORKFLOW, services.EXTENSION_WORKFLOW,
                  proposals.TERMINATION_PROPOSAL_WORKFLOW):
    register_workflow(_workflow)

CATEGORY_LABELS = dict(BudgetLine.Category.choices)


def _yuan(value) -> str:
    return "—" if value in (None, "") else fmt_yuan(value)


def _state_badge(obj):
    return format_html('<span class="kj-state kj-state-{}">{}</span>', obj.state, obj.get_state_display())


def _bureau_only(request, queryset):
    return queryset if selectors.sees_all(request.user) else queryset.none()


def _download_link(obj):
    return format_html('<a href="{}">{}</a>', reverse("checkpoints_office:attachment", args=[obj.pk]),
                       obj.original_name)


# ---- attachments ----------------------------------------------------------------------------------------------


class AttachmentInline(ReadOnlyInline):
    model = CheckpointAttachment
    fields = ["kind", "download", "size", "sha256", "attempt", "uploaded_by", "uploaded_at", "removed_at"]
    readonly_fields = fields
    ordering = ["attempt", "kind", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")

    @admin.display(description=gettext_lazy("文件"))
    def download(self, obj):
        return _download_link(obj)


class MidtermAttachmentInline(AttachmentInline):
    fk_name = "midterm"


class AcceptanceAttachmentInline(AttachmentInline):
    fk_name = "acceptance"


@admin.register(CheckpointAttachment)
class CheckpointAttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "report", "kind", "size", "attempt", "uploaded_by", "uploaded_at", "removed_at"]
    list_filter = ["kind", "attempt"]
    search_fields = ["original_name", "=sha256", "midterm__project__number", "acceptance__project__number",
                     "midterm__project__organization__name", "acceptance__project__organization__name"]
    ordering = ["-uploaded_at", "-id"]
    fields = ["report", "kind", "download", "content_type", "size", "sha256", "attempt", "uploaded_by", "uploaded_at",
              "removed_at", "removed_by"]
    readonly_fields = fields

    def get_queryset(self, request):
        # (a queryset with select_related already set makes the changelist ignore list_select_related)
        return _bureau_only(request, super().get_queryset(request)).select_related(
            "midterm__project", "acceptance__project", "uploaded_by", "removed_by")

    @admin.display(description=gettext_lazy("中期报告 / 验收申请"))
    def report(self, obj):
        return obj.midterm or obj.acceptance

    @admin.display(description=gettext_lazy("文件"))
    def download(self, obj):
        return _download_link(obj)


# ---- 中期报告 and 验收申请 ------------------------------------------------------------------------------------------


class ProjectColumns:
    """The columns every checkpoint record's admin shows about its project, and its state badge."""

    @admin.display(description=gettext_lazy("项目名称"), ordering="project__title")
    def project_title(self, obj):
        return obj.project.title

    @admin.display(description=gettext_lazy("项目编号"), ordering="project__number")
    def project_number(self, obj):
        return obj.project.number

    @admin.display(description=gettext_lazy("承担单位"), ordering="project__organization__name")
    def organization(self, obj):
        return obj.project.organization.name

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)


class ReportAdmin(ProjectColumns, AuditHistoryMixin, ReadOnlyAdmin):
    """What the 中期报告 and 验收申请 admins share."""

    list_filter = ["state", "attempt", "project__call"]
    search_fields = ["project__number", "project__title", "project__organization__name",
                     "project__organization__credit_code"]
    office_url = ""
    report_fields = ["project", "organization", "state_display", "attempt", "office_link"]
    result_fields = ["targets_table", "spending_table", "spent_fiscal_display", "spent_self_display"]
    conclusion_fields = ["expert_score", "expert_review_count", "conclusion_note", "rectify_due", "rectify_note",
                         "fault", "submitted_by", "submitted_at", "concluded_by", "concluded_at", "created_at",
                         "updated_at"]

    def get_queryset(self, request):
        return _bureau_only(request, self.visible(request.user)).select_related("submitted_by", "concluded_by")

    @admin.display(description=gettext_lazy("已支出财政资金（元）"), ordering="spent_fiscal")
    def spent_fiscal_display(self, obj):
        return _yuan(obj.spent_fiscal)

    @admin.display(description=gettext_lazy("已支出自筹资金（元）"), ordering="spent_self")
    def spent_self_display(self, obj):
        return _yuan(obj.spent_self)

    @admin.display(description=gettext_lazy("业务系统"))
    def office_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse(self.office_url, args=[obj.pk]),
                           _("在业务系统中查看、组织评审或给出结论"))

    @admin.display(description=gettext_lazy("绩效指标完成情况"))
    def targets_table(self, obj):
        if not obj.targets:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (t.get("indicator", ""), t.get("target_value", ""), t.get("unit", ""), t.get("value") or "—",
             t.get("evidence", "")) for t in obj.targets))
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
                           "<tbody>{}</tbody></table>", _("指标名称"), _("目标值"), _("单位"), _("完成值"),
                           _("佐证说明"), rows)

    @admin.display(description=gettext_lazy("经费支出（元）"))
    def spending_table(self, obj):
        if not obj.spending:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (CATEGORY_LABELS.get(r.get("category"), r.get("category")), _yuan(r.get("budget_fiscal")),
             _yuan(r.get("fiscal")), _yuan(r.get("budget_self")), _yuan(r.get("self"))) for r in obj.spending))
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
                           "<tbody>{}</tbody></table>", _("预算科目"), _("预算财政资金"), _("已支出财政资金"),
                           _("预算自筹资金"), _("已支出自筹资金"), rows)


@admin.register(MidtermReport)
class MidtermReportAdmin(ReportAdmin):
    history_workflow = services.MIDTERM_WORKFLOW
    office_url = "checkpoints_office:midterm"
    list_display = ["project_number", "project_title", "organization", "due_date", "state_display", "attempt",
                    "expert_score", "submitted_at", "concluded_at"]
    list_display_links = ["project_number", "project_title"]
    ordering = ["due_date", "id"]
    inlines = [MidtermAttachmentInline]
    fieldsets = [
        (None, {"fields": [*ReportAdmin.report_fields, "due_date", "requested_by"]}),
        (gettext_lazy("中期报告"), {"fields": ["progress", *ReportAdmin.result_fields]}),
        (gettext_lazy("评审与结论"), {"fields": ReportAdmin.conclusion_fields}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def visible(self, user):
        return selectors.midterms_visible_to(user).select_related("requested_by")


@admin.register(AcceptanceReport)
class AcceptanceReportAdmin(ReportAdmin):
    history_workflow = services.ACCEPTANCE_WORKFLOW
    office_url = "checkpoints_office:acceptance"
    list_display = ["project_number", "project_title", "organization", "due_display", "state_display", "attempt",
                    "expert_score", "submitted_at", "concluded_at"]
    list_display_links = ["project_number", "project_title"]
    ordering = ["-created_at", "-id"]
    inlines = [AcceptanceAttachmentInline]
    fieldsets = [
        (None, {"fields": [*ReportAdmin.report_fields, "due_display", "created_by"]}),
        (gettext_lazy("验收申请"), {"fields": ["summary", *ReportAdmin.result_fields]}),
        (gettext_lazy("评审与结论"), {"fields": ReportAdmin.conclusion_fields}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def visible(self, user):
        return selectors.acceptances_visible_to(user).select_related("created_by")

    @admin.display(description=gettext_lazy("验收申请期限"))
    def due_display(self, obj):
        return services.acceptance_due_date(obj.project) or "—"


# ---- 延期申请 ------------------------------------------------------------------------------------------------------


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(ProjectColumns, AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.EXTENSION_WORKFLOW
    list_display = ["project_number", "project_title", "organization", "months", "original_end_date", "new_end_date",
                    "state_display", "requested_at", "decided_by"]
    list_display_links = ["project_number", "project_title"]
    list_filter = ["state", "project__call"]
    search_fields = ["project__number", "project__title", "project__organization__name",
                     "project__organization__credit_code"]
    ordering = ["-requested_at", "-id"]
    actions = ["approve_selected"]
    fieldsets = [
        (None, {"fields": ["project", "organization", "state_display", "office_link"]}),
        (gettext_lazy("申请"), {"fields": ["months", "reason", "original_end_date", "new_end_date", "requested_by",
                                         "requested_at"]}),
        (gettext_lazy("审批"), {"fields": ["decided_by", "decided_at", "decision_note", "updated_at"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        return _bureau_only(request, selectors.extensions_visible_to(request.user)).select_related(
            "requested_by", "decided_by")

    def has_manage_checkpoints_permission(self, request):
        return request.user.has_perm("projects.manage_checkpoints")

    @admin.display(description=gettext_lazy("业务系统"))
    def office_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("checkpoints_office:extension", args=[obj.pk]),
                           _("在业务系统中审批（不予批准须填写意见）"))

    @admin.action(description=gettext_lazy("批准所选延期申请"), permissions=["manage_checkpoints"])
    def approve_selected(self, request, queryset):
        run_per_row(request, queryset.order_by("id"),
                    lambda ext: services.decide_extension(actor=request.user, request_id=ext.pk, approve=True),
                    done=_("已批准延期"))


@admin.register(TerminationProposal)
class TerminationProposalAdmin(ProjectColumns, AuditHistoryMixin, ReadOnlyAdmin):
    """项目终止建议, read-only with its history: the sweeper makes them, the officer decides on the office page."""

    history_workflow = proposals.TERMINATION_PROPOSAL_WORKFLOW
    list_display = ["project_number", "project_title", "organization", "due_date", "state_display", "created_at",
                    "decided_by", "decided_at"]
    list_display_links = ["project_number", "project_title"]
    list_filter = ["state", "project__call"]
    search_fields = ["project__number", "project__title", "project__organization__name",
                     "project__organization__credit_code"]
    ordering = ["-created_at", "-id"]
    fieldsets = [
        (None, {"fields": ["project", "organization", "state_display", "office_link"]}),
        (gettext_lazy("建议"), {"fields": ["reason", "due_date", "created_at"]}),
        (gettext_lazy("处理"), {"fields": ["decided_by", "decided_at", "note", "updated_at"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        return _bureau_only(request, proposals.proposals_visible_to(request.user)).select_related("decided_by")

    @admin.display(description=gettext_lazy("业务系统"))
    def office_link(self, obj):
        return format_html('<a href="{}">{}</a>', proposals.office_link(obj), _("在业务系统中处理（终止项目或不予终止）"))

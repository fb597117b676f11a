"""Django admin for 任务书 and the money.

The bureau configures here the default tranche plans (拨付方案) of a programme or of one call: the steps' percentages
must total 100 and each names its condition (a scheme has no dates: a dated tranche is set on the agreement itself).
Everything else is read-only: agreements, tranches, disbursements, recovery orders (追回单) and their repayments
change through ``funding.services`` alone (the pages and the API), and money records are never deleted here, not even
by a superuser. Querysets are scoped by
``funding.selectors`` (the bureau — officers, finance, supervisors — and superusers see them; nobody else).
"""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import AuditHistoryMixin, ReadOnlyAdmin, ReadOnlyInline, yuan_column, yuan_text
from accounts.workflow import record_audit
from activity.admin import register_workflow

from . import budget, selectors, services, subsidy
from .models import (
    AgreementBudgetLine,
    BudgetAdjustment,
    Condition,
    Disbursement,
    FundingScheme,
    PostSubsidyClaim,
    RecoveryOrder,
    Repayment,
    SchemeTranche,
    TaskAgreement,
    Tranche,
)

for _workflow in (services.AGREEMENT_WORKFLOW, services.TRANCHE_WORKFLOW, services.DISBURSEMENT_WORKFLOW,
                  services.RECOVERY_WORKFLOW, services.REPAYMENT_WORKFLOW, budget.ADJUSTMENT_WORKFLOW,
                  subsidy.CLAIM_WORKFLOW):
    register_workflow(_workflow)

HUNDRED = Decimal("100")


def _state_badge(obj):
    return format_html('<span class="kj-state kj-state-{}">{}</span>', obj.state, obj.get_state_display())


def _bureau_only(request, queryset):
    return queryset if selectors.sees_all(request.user) else queryset.none()




# ---- 拨付方案: the default tranche plans ----------------------------------------------------------------------


class FundingSchemeForm(forms.ModelForm):
    class Meta:
        model = FundingScheme
        fields = ["name", "program", "call", "adjust_percent", "adjust_equipment_up", "subsidy_percent",
                  "subsidy_cap"]
        help_texts = {
            "program": gettext_lazy("适用于该计划类别下所有指南（指南另有方案的除外）"),
            "call": gettext_lazy("仅适用于该指南，优先于计划类别的方案"),
        }

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("program")) == bool(cleaned.get("call")):
            raise forms.ValidationError(_("请选择计划类别或申报指南中的一项（不能都选，也不能都不选）。"))
        return cleaned


class SchemeTrancheForm(forms.ModelForm):
    class Meta:
        model = SchemeTranche
        fields = ["position", "name", "percent", "condition", "checkpoint"]

    def clean(self):
        cleaned = super().clean()
        condition = cleaned.get("condition")
        checkpoint = (cleaned.get("checkpoint") or "").strip()
        if condition == Condition.DATE:
            self.add_error("condition", _("拨付方案不能使用“指定日期”条件：具体日期请在任务书的拨付计划中设置。"))
        elif condition == Condition.CHECKPOINT:
            if not services.CHECKPOINT_RE.match(checkpoint):
                self.add_error("checkpoint", _("请填写考核节点：midterm（中期检查）或 milestone:序号。"))
        else:
            cleaned["checkpoint"] = ""
        return cleaned


class SchemeTrancheFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = [f.cleaned_data for f in self.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("percent") is not None]
        if not rows:
            raise forms.ValidationError(_("请至少设置一个拨付步骤。"))
        total = sum((r["percent"] for r in rows), Decimal(0))
        if total != HUNDRED:
            raise forms.ValidationError(_("各步骤比例合计须为100%%，当前为%(t)s%%。") % {"t": f"{total.normalize():f}"})


class SchemeTrancheInline(admin.TabularInline):
    model = SchemeTranche
    form = SchemeTrancheForm
    formset = SchemeTrancheFormSet
    extra = 0
    fields = ["position", "name", "percent", "condition", "checkpoint"]


@admin.register(FundingScheme)
class FundingSchemeAdmin(AuditHistoryMixin, admin.ModelAdmin):
    form = FundingSchemeForm
    inlines = [SchemeTrancheInline]
    list_display = ["name", "program", "call", "plan", "adjust_percent", "adjust_equipment_up", "subsidy_rule",
                    "updated_at"]
    list_select_related = ["program", "call"]
    search_fields = ["name", "program__name", "program__code", "call__title"]
    autocomplete_fields = ["program", "call"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "program", "call"]}),
        (gettext_lazy("预算调整"), {"fields": ["adjust_percent", "adjust_equipment_up"]}),
        (gettext_lazy("后补助"), {"fields": ["subsidy_percent", "subsidy_cap"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return _bureau_only(request, super().get_queryset(request)).prefetch_related("steps")

    def has_delete_permission(self, request, obj=None):
        # a scheme only seeds new agreements; removing one silently changes future plans: superusers only
        return request.user.is_superuser

    @admin.display(description=gettext_lazy("拨付步骤"))
    def plan(self, obj):
        return "；".join(f"{s.name} {s.percent.normalize():f}%" for s in obj.steps.all()) or "—"

    @admin.display(description=gettext_lazy("后补助"))
    def subsidy_rule(self, obj):
        if obj.subsidy_percent is None:
            return "—"
        text = f"{obj.subsidy_percent.normalize():f}%"
        return text + (_("，上限 %(c)s 元") % {"c": yuan_text(obj.subsidy_cap)} if obj.subsidy_cap else "")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        scheme = form.instance
        record_audit(actor=request.user, verb="edit" if change else "create", target=scheme,
                     data={"program": scheme.program_id, "call": scheme.call_id,
                           "adjust_percent": str(scheme.adjust_percent),
                           "adjust_equipment_up": scheme.adjust_equipment_up,
                           "subsidy_percent": str(scheme.subsidy_percent or ""),
                           "subsidy_cap": str(scheme.subsidy_cap or ""),
                           "steps": [[s.name, str(s.percent), s.condition, s.checkpoint]
                                     for s in scheme.steps.order_by("position", "id")]})


# ---- 任务书 ---------------------------------------------------------------------------------------------------


class TrancheInline(ReadOnlyInline):
    model = Tranche
    fields = ["position", "name", "amount_display", "condition", "checkpoint", "due_on", "state", "due_at",
              "paid_display"]
    readonly_fields = fields
    ordering = ["position"]

    amount_display = yuan_column("amount", gettext_lazy("金额（元）"))
    paid_display = yuan_column("paid_amount", gettext_lazy("已拨付（元）"))


class DisbursementInline(ReadOnlyInline):
    model = Disbursement
    fields = ["recorded_at", "tranche_position", "kind", "amount_display", "voucher_no", "paid_on", "state",
              "recorded_by", "decided_by", "decided_at", "note", "decision_note"]
    readonly_fields = fields
    ordering = ["recorded_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tranche", "recorded_by", "decided_by")

    @admin.display(description=gettext_lazy("期次"))
    def tranche_position(self, obj):
        return _("第%(n)d期") % {"n": obj.tranche.position}

    amount_display = yuan_column("signed_amount", gettext_lazy("金额（元）"))


class BudgetLineInline(ReadOnlyInline):
    model = AgreementBudgetLine
    fields = ["category", "fiscal_display", "self_display"]
    readonly_fields = fields
    ordering = ["id"]

    fiscal_display = yuan_column("fiscal_amount", gettext_lazy("财政资金（元）"))
    self_display = yuan_column("self_amount", gettext_lazy("自筹资金（元）"))


@admin.register(TaskAgreement)
class TaskAgreementAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.AGREEMENT_WORKFLOW
    list_display = ["number", "project_title", "organization", "fiscal_display", "paid_display", "state_display",
                    "signed_at"]
    list_filter = ["state"]
    search_fields = ["number", "project__number", "project__title", "project__organization__name"]
    ordering = ["-created_at", "-id"]
    inlines = [BudgetLineInline, TrancheInline, DisbursementInline]
    fieldsets = [
        (None, {"fields": ["number", "project", "organization", "state_display", "portal_link"]}),
        (gettext_lazy("经费"), {"fields": ["fiscal_display", "self_display", "paid_display", "recorded_display",
                                         "unpaid_display"]}),
        (gettext_lazy("期限与绩效指标"), {"fields": ["start_date", "end_date", "targets_table"]}),
        (gettext_lazy("确认与签订"), {"fields": ["org_confirmed_by", "org_confirmed_at", "office_confirmed_by",
                                              "office_confirmed_at", "signed_at", "created_at", "updated_at"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        return selectors.agreements_visible_to(request.user).select_related("org_confirmed_by",
                                                                            "office_confirmed_by")

    @admin.display(description=gettext_lazy("项目名称"), ordering="project__title")
    def project_title(self, obj):
        return obj.project.title

    @admin.display(description=gettext_lazy("承担单位"), ordering="project__organization__name")
    def organization(self, obj):
        return obj.project.organization.name

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    fiscal_display = yuan_column("fiscal_amount", gettext_lazy("财政资金（元）"), ordering="fiscal_amount")
    self_display = yuan_column("self_amount", gettext_lazy("自筹资金（元）"))
    paid_display = yuan_column("paid_total", gettext_lazy("已拨付（元）"), ordering="paid_total")
    recorded_display = yuan_column("recorded_total", gettext_lazy("已登记待审核（元）"))
    unpaid_display = yuan_column("unpaid", gettext_lazy("尚未拨付（元）"))

    @admin.display(description=gettext_lazy("业务系统"))
    def portal_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("funding:agreement", args=[obj.pk]),
                           _("在业务系统中查看、修改或确认"))

    @admin.display(description=gettext_lazy("绩效指标"))
    def targets_table(self, obj):
        if not obj.targets:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (t.get("indicator", ""), t.get("target_value", ""), t.get("unit", "")) for t in obj.targets))
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
                           "</table>", _("指标名称"), _("目标值"), _("单位"), rows)


# ---- tranches and disbursements -------------------------------------------------------------------------------


@admin.register(Tranche)
class TrancheAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.TRANCHE_WORKFLOW
    list_display = ["__str__", "organization", "amount_display", "paid_display", "condition", "checkpoint",
                    "due_on", "state_display", "due_at"]
    list_filter = ["state", "condition"]
    list_select_related = ["agreement__project__organization"]
    search_fields = ["agreement__number", "agreement__project__title", "name"]
    ordering = ["-agreement__created_at", "agreement_id", "position"]
    fields = ["agreement", "position", "name", "amount_display", "paid_display", "condition", "checkpoint",
              "due_on", "state_display", "due_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return _bureau_only(request, super().get_queryset(request))

    @admin.display(description=gettext_lazy("承担单位"))
    def organization(self, obj):
        return obj.agreement.project.organization.name

    amount_display = yuan_column("amount", gettext_lazy("金额（元）"), ordering="amount")
    paid_display = yuan_column("paid_amount", gettext_lazy("已拨付（元）"))

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)


@admin.register(Disbursement)
class DisbursementAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.DISBURSEMENT_WORKFLOW
    list_display = ["voucher_no", "agreement", "tranche_position", "kind", "amount_display", "paid_on",
                    "state_display", "recorded_by", "decided_by", "recorded_at"]
    list_filter = ["state", "kind"]
    search_fields = ["voucher_no", "agreement__number", "agreement__project__title", "=idempotency_key"]
    ordering = ["-recorded_at", "-id"]
    fields = ["agreement", "tranche", "kind", "reverses", "amount_display", "voucher_no", "paid_on",
              "idempotency_key", "state_display", "note", "recorded_by", "recorded_at", "decided_by", "decided_at",
              "decision_note"]
    readonly_fields = fields

    def get_queryset(self, request):
        # (a queryset with select_related already set makes the changelist ignore list_select_related)
        return _bureau_only(request, super().get_queryset(request)).select_related(
            "agreement", "tranche__agreement", "recorded_by", "decided_by", "reverses")

    @admin.display(description=gettext_lazy("期次"))
    def tranche_position(self, obj):
        return _("第%(n)d期") % {"n": obj.tranche.position}

    amount_display = yuan_column("signed_amount", gettext_lazy("金额（元）"), ordering="amount")

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)


# ---- 追回单 and 缴回记录 ----------------------------------------------------------------------------------------


class RepaymentInline(ReadOnlyInline):
    model = Repayment
    fields = ["recorded_at", "amount_display", "voucher_no", "received_on", "state", "recorded_by", "decided_by",
              "decided_at", "decision_note"]
    readonly_fields = fields
    ordering = ["recorded_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("recorded_by", "decided_by")

    amount_display = yuan_column("amount", gettext_lazy("金额（元）"))


@admin.register(RecoveryOrder)
class RecoveryOrderAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.RECOVERY_WORKFLOW
    list_display = ["number", "agreement_number", "organization", "rule", "due_display", "repaid_display",
                    "outstanding_display", "due_date", "state_display", "created_at"]
    list_filter = ["state", "rule"]
    search_fields = ["number", "agreement__number", "agreement__project__title",
                     "agreement__project__organization__name"]
    ordering = ["-created_at", "-id"]
    inlines = [RepaymentInline]
    fieldsets = [
        (None, {"fields": ["number", "agreement", "organization", "state_display", "rule", "reason",
                           "credit_record"]}),
        (gettext_lazy("金额"), {"fields": ["paid_display", "spent_display", "due_display", "repaid_display",
                                         "outstanding_display", "due_date"]}),
        (gettext_lazy("开具与完成"), {"fields": ["created_by", "created_at", "settled_at"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        # (a queryset with select_related already set makes the changelist ignore list_select_related)
        return _bureau_only(request, selectors.recovery_orders_visible_to(request.user))

    @admin.display(description=gettext_lazy("任务书编号"), ordering="agreement__number")
    def agreement_number(self, obj):
        return obj.agreement.number

    @admin.display(description=gettext_lazy("承担单位"), ordering="agreement__project__organization__name")
    def organization(self, obj):
        return obj.agreement.project.organization.name

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    paid_display = yuan_column("paid_at_order", gettext_lazy("已拨付财政资金（元）"))
    spent_display = yuan_column("spent_amount", gettext_lazy("经审计已合规使用（元）"))
    due_display = yuan_column("amount_due", gettext_lazy("应追回（元）"), ordering="amount_due")
    repaid_display = yuan_column("repaid_total", gettext_lazy("已追回（元）"), ordering="repaid_total")
    outstanding_display = yuan_column("outstanding", gettext_lazy("尚未追回（元）"))


@admin.register(Repayment)
class RepaymentAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = services.REPAYMENT_WORKFLOW
    list_display = ["voucher_no", "order", "organization", "amount_display", "received_on", "state_display",
                    "recorded_by", "decided_by", "recorded_at"]
    list_filter = ["state"]
    search_fields = ["voucher_no", "order__number", "order__agreement__number", "=idempotency_key"]
    ordering = ["-recorded_at", "-id"]
    fields = ["order", "amount_display", "voucher_no", "received_on", "idempotency_key", "state_display",
              "recorded_by", "recorded_at", "decided_by", "decided_at", "decision_note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return _bureau_only(request, super().get_queryset(request)).select_related(
            "order__agreement__project__organization", "recorded_by", "decided_by")

    @admin.display(description=gettext_lazy("承担单位"))
    def organization(self, obj):
        return obj.order.agreement.project.organization.name

    amount_display = yuan_column("amount", gettext_lazy("金额（元）"), ordering="amount")

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)


# ---- 预算 and 预算调整 ----------------------------------------------------------------------------------------------


@admin.register(AgreementBudgetLine)
class AgreementBudgetLineAdmin(ReadOnlyAdmin):
    list_display = ["agreement", "organization", "category", "fiscal_display", "self_display"]
    list_filter = ["category"]
    search_fields = ["agreement__number", "agreement__project__title"]
    ordering = ["-agreement__created_at", "agreement_id", "id"]
    fields = ["agreement", "category", "fiscal_display", "self_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        return _bureau_only(request, super().get_queryset(request)).select_related(
            "agreement__project__organization")

    @admin.display(description=gettext_lazy("承担单位"))
    def organization(self, obj):
        return obj.agreement.project.organization.name

    fiscal_display = yuan_column("fiscal_amount", gettext_lazy("财政资金（元）"), ordering="fiscal_amount")
    self_display = yuan_column("self_amount", gettext_lazy("自筹资金（元）"), ordering="self_amount")


@admin.register(BudgetAdjustment)
class BudgetAdjustmentAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = budget.ADJUSTMENT_WORKFLOW
    list_display = ["number", "agreement", "organization", "within_delegation", "state_display", "requested_by",
                    "requested_at", "decided_by", "decided_at"]
    list_filter = ["state", "within_delegation"]
    search_fields = ["number", "agreement__number", "agreement__project__title",
                     "agreement__project__organization__name"]
    ordering = ["-requested_at", "-id"]
    fields = ["number", "agreement", "state_display", "within_delegation", "changes_table", "reason",
              "requested_by", "requested_at", "decided_by", "decided_at", "decision_note", "portal_link"]
    readonly_fields = fields

    def get_queryset(self, request):
        return _bureau_only(request, selectors.adjustments_visible_to(request.user))

    @admin.display(description=gettext_lazy("承担单位"))
    def organization(self, obj):
        return obj.agreement.project.organization.name

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    @admin.display(description=gettext_lazy("调整明细"))
    def changes_table(self, obj):
        labels = dict(AgreementBudgetLine._meta.get_field("category").choices)
        rows = format_html_join("", "<tr><td>{}</td><td>{} → {}</td><td>{} → {}</td></tr>", (
            (labels.get(c["category"], c["category"]), yuan_text(c["fiscal_before"]), yuan_text(c["fiscal_after"]),
             yuan_text(c["self_before"]), yuan_text(c["self_after"])) for c in obj.changes or []))
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
                           "</table>", _("预算科目"), _("财政资金（元）"), _("自筹资金（元）"), rows)

    @admin.display(description=gettext_lazy("业务系统"))
    def portal_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("funding:adjustment", args=[obj.pk]),
                           _("在业务系统中查看或审批"))


@admin.register(PostSubsidyClaim)
class PostSubsidyClaimAdmin(AuditHistoryMixin, ReadOnlyAdmin):
    history_workflow = subsidy.CLAIM_WORKFLOW
    list_display = ["agreement", "organization", "claimed_display", "verified_display", "subsidy_display",
                    "state_display", "submitted_at", "decided_at"]
    list_filter = ["state"]
    search_fields = ["agreement__number", "agreement__project__title", "agreement__project__organization__name"]
    ordering = ["-submitted_at", "-id"]
    fields = ["agreement", "state_display", "claimed_display", "report_link", "audit_report_sha256", "note",
              "submitted_by", "submitted_at", "verified_display", "percent", "cap_display", "subsidy_display",
              "decided_by", "decided_at", "decision_note"]
    readonly_fields = fields

    def get_queryset(self, request):
        return _bureau_only(request, selectors.claims_visible_to(request.user))

    @admin.display(description=gettext_lazy("承担单位"))
    def organization(self, obj):
        return obj.agreement.project.organization.name

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    claimed_display = yuan_column("claimed_expense", gettext_lazy("申报研发费用（元）"), ordering="claimed_expense")
    verified_display = yuan_column("verified_expense", gettext_lazy("核定研发费用（元）"))
    cap_display = yuan_column("cap", gettext_lazy("补助上限（元）"))
    subsidy_display = yuan_column("subsidy_amount", gettext_lazy("核定补助金额（元）"), ordering="subsidy_amount")

    @admin.display(description=gettext_lazy("专项审计报告"))
    def report_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("funding:subsidy_report", args=[obj.pk]),
                           obj.audit_report_name)

"""Django admin for the expert pool, review rounds and the records of a review.

Officers set up what they own here: an expert's profile (through ``services.pool.update_expert_profile``; the
status only through the batch actions 审核入库 / 不予入库 / 暂停 / 恢复 / 退出, which call ``services.pool``),
unavailable dates, and a round with its rubric (``services.rounds``; the rubric is fixed once the review has
started). Everything a review leaves behind — draws, invitations, 承诺书, scores, 立项 lists, objections — is
read-only here and can never be deleted: those change through the officer pages and the services alone.
A refusal of a service is shown on the form (ServiceErrorFormMixin) or per row (batch actions).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import AuditHistoryMixin, ReadOnlyInline, ServiceErrorFormMixin, run_per_row
from accounts.exceptions import DomainError
from accounts.fields import fmt_yuan
from accounts.validators import mask_id_number
from activity.admin import register_workflow

from . import selectors
from .models import (
    Alternate,
    Assignment,
    Commitment,
    Criterion,
    DeclaredRelation,
    Draw,
    Expert,
    FundingList,
    FundingListEntry,
    Objection,
    Panel,
    Review,
    ReviewItem,
    ReviewRound,
    Score,
    Unavailability,
)
from .services import assign, funding, pool, reviews, rounds

register_workflow(pool.EXPERT_WORKFLOW)
register_workflow(rounds.ROUND_WORKFLOW)
register_workflow(reviews.ASSIGNMENT_WORKFLOW)
register_workflow(funding.FUNDING_LIST_WORKFLOW)


def _yuan(value) -> str:
    return "—" if value is None else fmt_yuan(value)


def _badge(value, label):
    return format_html('<span class="kj-state kj-state-{}">{}</span>', value, label)


def _bureau_only(request, queryset):
    """What the bureau sees (officers, supervisors, superusers); nothing for anyone else."""
    return queryset if selectors.is_bureau(request.user) else queryset.none()


class RecordAdmin(admin.ModelAdmin):
    """The record of a review: viewed, never added, changed or deleted in the admin."""

    actions = None

    def get_queryset(self, request):
        return _bureau_only(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---- the expert pool -----------------------------------------------------------------------------------


class ExpertReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("理由"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        error_messages={"required": gettext_lazy("请填写理由，专家将收到此理由。")},
    )


def _reason_action(modeladmin, request, queryset, *, action, title, intro, do, done):
    """A batch action that asks for a reason on an intermediate page, then calls the service per row."""
    form = ExpertReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        run_per_row(request, queryset, lambda obj: do(obj, reason), done=done)
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "objects": list(queryset),
        "opts": opts,
        "app_label": opts.app_label,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "accounts/admin/reason_action.html", context)


#: what the officer may correct in the admin (the ID number is fixed once registered)
EXPERT_FORM_FIELDS = [f for f in pool.PROFILE_FIELDS if f != "id_number"]


class ExpertAdminForm(forms.ModelForm):
    discipline_codes = forms.CharField(
        label=gettext_lazy("学科代码"),
        max_length=300,
        help_text=gettext_lazy("GB/T 13745 代码，多个以逗号分隔，如 520, 520.20"),
    )

    class Meta:
        model = Expert
        fields = EXPERT_FORM_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["discipline_codes"] = ", ".join(self.instance.discipline_codes or [])


class UnavailabilityForm(forms.ModelForm):
    class Meta:
        model = Unavailability
        fields = ["start_date", "end_date", "reason"]


class UnavailabilityInline(admin.TabularInline):
    """不可参评时段: added and removed through ``services.pool`` (existing rows are not edited)."""

    model = Unavailability
    form = UnavailabilityForm
    extra = 0
    fields = ["start_date", "end_date", "reason"]

    def has_change_permission(self, request, obj=None):
        return False  # existing rows read-only; a wrong one is removed and added again

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("experts.manage_pool") and super().has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("experts.manage_pool")


class DeclaredRelationInline(admin.TabularInline):
    """利益关系申报, as the expert declared them (ID numbers masked); an officer may withdraw a wrong one."""

    model = DeclaredRelation
    extra = 0
    fields = ["kind", "organization_name", "credit_code", "person_name", "masked_person_id", "relation", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("experts.manage_pool")

    @admin.display(description=gettext_lazy("证件号码"))
    def masked_person_id(self, obj):
        return mask_id_number(obj.person_id_number) if obj.person_id_number else "—"


@admin.register(Expert)
class ExpertAdmin(ServiceErrorFormMixin, AuditHistoryMixin, admin.ModelAdmin):
    form = ExpertAdminForm
    inlines = [UnavailabilityInline, DeclaredRelationInline]
    list_display = ["name", "workplace", "title", "title_level", "disciplines", "region", "status_display",
                    "annual_cap", "approved_at"]
    list_filter = ["status", "title_level", "region"]
    search_fields = ["name", "workplace", "keywords", "=id_number"]
    search_help_text = gettext_lazy("可按姓名、工作单位、研究方向或完整证件号码查找。")
    list_select_related = ["organization"]
    actions = ["approve_selected", "reject_selected", "suspend_selected", "reinstate_selected", "retire_selected"]
    readonly_fields = ["user", "masked_id", "organization", "status_display", "status_reason", "approved_at",
                       "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["user", "name", "masked_id", "phone"]}),
        (
            gettext_lazy("工作单位与专业"),
            {"fields": ["workplace", "workplace_credit_code", "organization", "title", "title_level",
                        "discipline_codes", "keywords", "region", "annual_cap"]},
        ),
        (
            gettext_lazy("入库状态（只能通过列表页的操作改变）"),
            {"fields": ["status_display", "status_reason", "approved_at", "created_at", "updated_at"]},
        ),
    ]
    history_workflow = pool.EXPERT_WORKFLOW

    def get_queryset(self, request):
        return selectors.experts_visible_to(request.user)

    def has_add_permission(self, request):
        return False  # experts register themselves (or are imported on the officer pages)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_pool_permission(self, request):
        return request.user.has_perm("experts.manage_pool")

    def save_model(self, request, obj, form, change):
        # Through the service: normalisation, validation and the audit event are its own. A refusal is
        # shown on the form by ServiceErrorFormMixin, nothing saved.
        data = {f: form.cleaned_data[f] for f in form.changed_data if f in EXPERT_FORM_FIELDS}
        expert = pool.update_expert_profile(actor=request.user, expert_id=obj.pk, data=data) if data else None
        if expert is not None:
            for field in Expert._meta.concrete_fields:
                setattr(obj, field.attname, getattr(expert, field.attname))

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        expert = form.instance
        for row in formset.deleted_forms:
            if not row.instance.pk:
                continue
            if formset.model is Unavailability:
                pool.remove_unavailability(actor=request.user, unavailability_id=row.instance.pk)
            elif formset.model is DeclaredRelation:
                pool.withdraw_relation(actor=request.user, relation_id=row.instance.pk)
            formset.deleted_objects.append(row.instance)
        if formset.model is Unavailability:
            for row in formset.extra_forms:
                if row.has_changed() and row not in formset.deleted_forms:
                    data = row.cleaned_data
                    formset.new_objects.append(pool.add_unavailability(
                        actor=request.user, expert_id=expert.pk, start_date=data["start_date"],
                        end_date=data["end_date"], reason=data.get("reason", ""),
                    ))

    @admin.display(description=gettext_lazy("学科代码"))
    def disciplines(self, obj):
        return ", ".join(obj.discipline_codes or []) or "—"

    @admin.display(description=gettext_lazy("证件号码"))
    def masked_id(self, obj):
        return obj.masked_id_number or "—"

    @admin.display(description=gettext_lazy("状态"), ordering="status")
    def status_display(self, obj):
        return _badge(obj.status, obj.get_status_display())

    @admin.action(description=gettext_lazy("审核入库"), permissions=["manage_pool"])
    def approve_selected(self, request, queryset):
        run_per_row(request, queryset, lambda e: pool.approve_expert(actor=request.user, expert_id=e.pk),
                    done=_("已审核入库"))

    @admin.action(description=gettext_lazy("恢复"), permissions=["manage_pool"])
    def reinstate_selected(self, request, queryset):
        run_per_row(request, queryset, lambda e: pool.reinstate_expert(actor=request.user, expert_id=e.pk),
                    done=_("已恢复"))

    @admin.action(description=gettext_lazy("不予入库（需填写理由）"), permissions=["manage_pool"])
    def reject_selected(self, request, queryset):
        return _reason_action(
            self, request, queryset, action="reject_selected", title=_("不予入库"),
            intro=_("以下专家的入库申请将不予通过，专家会收到通知和理由。"),
            do=lambda e, reason: pool.reject_expert(actor=request.user, expert_id=e.pk, reason=reason),
            done=_("已不予入库"),
        )

    @admin.action(description=gettext_lazy("暂停（需填写理由）"), permissions=["manage_pool"])
    def suspend_selected(self, request, queryset):
        return _reason_action(
            self, request, queryset, action="suspend_selected", title=_("暂停专家"),
            intro=_("以下专家将暂停参加评审抽取；已接受的评审任务仍由其完成。专家会收到通知和理由。"),
            do=lambda e, reason: pool.suspend_expert(actor=request.user, expert_id=e.pk, reason=reason),
            done=_("已暂停"),
        )

    @admin.action(description=gettext_lazy("退出专家库（需填写理由）"), permissions=["manage_pool"])
    def retire_selected(self, request, queryset):
        return _reason_action(
            self, request, queryset, action="retire_selected", title=_("退出专家库"),
            intro=_("以下专家将退出专家库，不再参加评审抽取。专家会收到通知和理由。"),
            do=lambda e, reason: pool.retire_expert(actor=request.user, expert_id=e.pk, reason=reason),
            done=_("已退出专家库"),
        )


# ---- review rounds -------------------------------------------------------------------------------------


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = ["position", "name", "description", "max_score"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2, "cols": 40})}


class CriterionInline(admin.TabularInline):
    """评分指标: written by ``services.rounds.set_criteria`` while the round is 筹备中, read-only after."""

    model = Criterion
    form = CriterionForm
    extra = 0
    fields = ["position", "name", "description", "max_score"]

    def _editable(self, request, obj) -> bool:
        return request.user.has_perm("experts.manage_rounds") and (obj is None or obj.state == ReviewRound.State.DRAFT)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("experts.view_rounds") or super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


class PanelInline(ReadOnlyInline):
    model = Panel
    fields = ["name", "discipline_prefix"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("experts.view_rounds") or super().has_view_permission(request, obj)


class ReviewRoundForm(forms.ModelForm):
    class Meta:
        model = ReviewRound
        fields = ["call", *rounds.ROUND_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("response_deadline", "review_deadline"):
            if name in self.fields:  # before the model's own checks, which cannot store year 1 in UTC
                self.fields[name].validators.append(rounds.validate_deadline)
        if "call" in self.fields:
            self.fields["call"].required = True
            self.fields["call"].help_text = _("评审该指南已受理的申报书；不填写评分指标时使用默认评分指标。")


@admin.register(ReviewRound)
class ReviewRoundAdmin(ServiceErrorFormMixin, AuditHistoryMixin, admin.ModelAdmin):
    form = ReviewRoundForm
    inlines = [CriterionInline, PanelInline]
    list_display = ["name", "call", "state_display", "item_count", "experts_per_item", "response_deadline",
                    "review_deadline", "blind"]
    list_filter = ["state", "kind", "call__year", "blind"]
    search_fields = ["name", "call__title"]
    autocomplete_fields = ["call"]
    actions = ["add_items_selected", "start_selected"]
    date_hierarchy = "review_deadline"
    fieldsets = [
        (None, {"fields": ["call", "name", "kind", "state_display"]}),
        (
            gettext_lazy("评审安排"),
            {"fields": ["experts_per_item", "response_deadline", "review_deadline", "blind"]},
        ),
        (
            gettext_lazy("计分"),
            {"fields": ["aggregation", "dispersion_threshold", "deviation_threshold", "comment_threshold"]},
        ),
        (
            gettext_lazy("办理情况"),
            {"fields": ["created_by", "started_at", "closed_at", "created_at", "updated_at"]},
        ),
    ]
    history_workflow = rounds.ROUND_WORKFLOW
    BASE_READONLY = ["kind", "state_display", "created_by", "started_at", "closed_at", "created_at", "updated_at"]

    def get_queryset(self, request):
        return selectors.rounds_visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.BASE_READONLY
        if obj.state == ReviewRound.State.DRAFT:
            editable = rounds.ROUND_FIELDS
        elif obj.state == ReviewRound.State.REVIEWING:
            editable = rounds.LIVE_FIELDS  # deadlines (only later), name and the warning thresholds
        else:
            editable = ()
        return [*self.BASE_READONLY, "call", *(f for f in rounds.ROUND_FIELDS if f not in editable)]

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_rounds_permission(self, request):
        return request.user.has_perm("experts.manage_rounds")

    def save_model(self, request, obj, form, change):
        # Through the services (validation, the fields fixed once started, the audit event); a refusal is
        # shown on the form by ServiceErrorFormMixin, nothing saved.
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in rounds.ROUND_FIELDS}
            rnd = rounds.update_round(actor=request.user, round_id=obj.pk, data=data) if data else obj
        else:
            data = {f: form.cleaned_data[f] for f in rounds.ROUND_FIELDS if f in form.cleaned_data}
            rnd = rounds.create_round(actor=request.user, call_id=form.cleaned_data["call"].pk, data=data)
        for field in ReviewRound._meta.concrete_fields:
            setattr(obj, field.attname, getattr(rnd, field.attname))
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is not Criterion or not formset.has_changed():
            return
        kept = [
            row for row in formset.forms
            if row not in formset.deleted_forms and (row.instance.pk or row.has_changed()) and row.cleaned_data
        ]
        kept.sort(key=lambda row: (row.cleaned_data.get("position") or 0, formset.forms.index(row)))
        criteria = [
            {"name": row.cleaned_data.get("name", ""), "description": row.cleaned_data.get("description", ""),
             "max_score": row.cleaned_data.get("max_score")}
            for row in kept
        ]
        rounds.set_criteria(actor=request.user, round_id=form.instance.pk, criteria=criteria)

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _badge(obj.state, obj.get_state_display())

    @admin.display(description=gettext_lazy("评审对象数"), ordering="item_count")
    def item_count(self, obj):
        return getattr(obj, "item_count", None)

    @admin.action(description=gettext_lazy("加入评审对象（已受理的申报书）"), permissions=["manage_rounds"])
    def add_items_selected(self, request, queryset):
        for rnd in queryset:
            try:
                n = rounds.add_items(actor=request.user, round_id=rnd.pk)
            except DomainError as e:
                messages.error(request, _("%(obj)s：%(reason)s") % {"obj": rnd, "reason": e.message})
            else:
                messages.success(request, _("%(obj)s：加入%(n)d个评审对象") % {"obj": rnd, "n": n})

    @admin.action(description=gettext_lazy("开始评审"), permissions=["manage_rounds"])
    def start_selected(self, request, queryset):
        run_per_row(request, queryset, lambda r: rounds.start_round(actor=request.user, round_id=r.pk),
                    done=_("已开始评审"))


class AssignmentInline(ReadOnlyInline):
    model = Assignment
    fk_name = "item"
    fields = ["expert", "state", "invited_at", "respond_by", "responded_at", "submitted_at", "decline_reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        # each row is labelled with str(assignment), which names the expert and the item
        return super().get_queryset(request).select_related("expert", "item")


class AlternateInline(ReadOnlyInline):
    model = Alternate
    fields = ["rank", "expert", "affinity", "used_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("expert", "item")


@admin.register(ReviewItem)
class ReviewItemAdmin(RecordAdmin):
    """评审对象 come from ``services.rounds.add_items``: their details are copied from the application."""

    inlines = [AssignmentInline, AlternateInline]
    list_display = ["number", "title", "organization_name", "round", "panel", "discipline_code", "requested_display"]
    list_display_links = ["number", "title"]
    list_filter = ["round__state", "round"]
    search_fields = ["number", "title", "organization_name"]
    list_select_related = ["round", "panel"]
    fields = ["round", "panel", "number", "title", "organization_name", "discipline_code", "keywords",
              "requested_display", "created_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("申请财政资金（元）"), ordering="requested_amount")
    def requested_display(self, obj):
        return _yuan(obj.requested_amount)


# ---- records of a review: read-only ------------------------------------------------------------------


@admin.register(Draw)
class DrawAdmin(RecordAdmin):
    list_display = ["__str__", "round", "method", "seed", "invited", "created_by", "created_at"]
    list_filter = ["method", "round"]
    search_fields = ["round__name", "note"]
    list_select_related = ["round", "created_by"]
    fields = ["round", "panel", "method", "seed", "created_by", "created_at", "summary", "note", "replay"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("邀请人次"))
    def invited(self, obj):
        return (obj.summary or {}).get("invited", "—")

    @admin.display(description=gettext_lazy("复核"))
    def replay(self, obj):
        if not assign.is_replayable(obj):
            return "—"
        if assign.replay_draw(obj):
            return _("按随机种子和候选专家快照重新抽取，结果与本次抽取一致。")
        return _("重新抽取的结果与本次抽取不一致，请核查。")


@admin.register(Assignment)
class AssignmentAdmin(RecordAdmin):
    list_display = ["expert", "item", "round", "state_display", "invited_at", "respond_by", "responded_at",
                    "submitted_at"]
    list_filter = ["state", "round"]
    search_fields = ["expert__name", "item__number", "item__title"]
    list_select_related = ["expert", "item", "round"]
    date_hierarchy = "invited_at"
    fields = ["round", "item", "expert", "draw", "state_display", "affinity", "invited_at", "respond_by",
              "responded_at", "decline_reason", "submitted_at", "replaced_at", "replacement"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _badge(obj.state, obj.get_state_display())


@admin.register(Commitment)
class CommitmentAdmin(RecordAdmin):
    list_display = ["assignment", "version", "signed_at", "ip"]
    search_fields = ["assignment__expert__name", "assignment__item__title"]
    list_select_related = ["assignment__expert", "assignment__item"]
    date_hierarchy = "signed_at"
    fields = ["assignment", "version", "text", "signed_at", "ip", "user_agent"]
    readonly_fields = fields


class ScoreInline(ReadOnlyInline):
    model = Score
    fields = ["criterion", "score"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("criterion")


@admin.register(Review)
class ReviewAdmin(RecordAdmin):
    """评审意见 are never edited here: an officer sends one back to its expert (退回修改) on the officer pages."""

    inlines = [ScoreInline]
    list_display = ["assignment", "round", "total", "recommendation", "reopen_count", "updated_at"]
    list_filter = ["recommendation", "assignment__round"]
    search_fields = ["assignment__expert__name", "assignment__item__number", "assignment__item__title"]
    list_select_related = ["assignment__expert", "assignment__item", "assignment__round"]
    fields = ["assignment", "total", "recommendation", "comment", "reopen_count", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("评审轮次"), ordering="assignment__round")
    def round(self, obj):
        return obj.assignment.round


class FundingListEntryInline(ReadOnlyInline):
    model = FundingListEntry
    fields = ["rank", "item", "score", "requested_display", "granted_display", "removed_at", "removed_reason"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("experts.view_rounds") or super().has_view_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")

    @admin.display(description=gettext_lazy("申请财政资金（元）"))
    def requested_display(self, obj):
        return _yuan(obj.requested_amount)

    @admin.display(description=gettext_lazy("拟立项财政资金（元）"))
    def granted_display(self, obj):
        return _yuan(obj.granted_amount)


class ObjectionInline(ReadOnlyInline):
    model = Objection
    fields = ["created_at", "submitter_name", "entry", "state", "resolution", "resolved_by"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("experts.view_rounds") or super().has_view_permission(request, obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry__item", "resolved_by")


@admin.register(FundingList)
class FundingListAdmin(AuditHistoryMixin, RecordAdmin):
    inlines = [FundingListEntryInline, ObjectionInline]
    list_display = ["title", "round", "state_display", "cutoff_score", "publicity_start", "publicity_end",
                    "built_by", "signed_off_by", "approved_at"]
    list_filter = ["state"]
    search_fields = ["title", "round__name"]
    list_select_related = ["round", "built_by", "signed_off_by"]
    fields = ["title", "round", "state_display", "cutoff_score", "publicity_workdays", "built_by", "built_at",
              "signed_off_by", "signed_off_at", "signoff_comment", "publicity_start", "publicity_end",
              "published_at", "approved_by", "approved_at"]
    readonly_fields = fields
    history_workflow = funding.FUNDING_LIST_WORKFLOW

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _badge(obj.state, obj.get_state_display())


@admin.register(Objection)
class ObjectionAdmin(RecordAdmin):
    """公示异议 are resolved on the officer pages (``services.funding.resolve_objection``), not here."""

    list_display = ["submitter_name", "funding_list", "entry", "state", "created_at", "resolved_by", "resolved_at"]
    list_filter = ["state"]
    search_fields = ["submitter_name", "content", "funding_list__title"]
    list_select_related = ["funding_list", "entry__item", "resolved_by"]
    date_hierarchy = "created_at"
    fields = ["funding_list", "entry", "submitter_name", "submitter_contact", "content", "ip", "created_at", "state",
              "resolution", "resolved_by", "resolved_at"]
    readonly_fields = fields

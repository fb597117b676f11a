"""Django admin for 揭榜挂帅 (the officers' back office): needs and the 榜单, bids, 答疑, the winners' milestones and
their final acceptance.

Everything here is read-only: the needs and bids are their organisations' own and every change of state goes
through ``projects.challenges.services`` (the batch actions 开始论证 / 截止揭榜 / 开始评审 call ``start_vetting``,
``close_challenge`` and ``start_review`` row by row and report each refusal as a message). Querysets come from
``projects.challenges.selectors``, so the admin shows what the bureau's portal shows (never a draft need or a
draft bid). Nothing is ever deleted. Imported by ``projects.admin`` so that it registers.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin import ReadOnlyAdmin, ReadOnlyInline
from accounts.exceptions import DomainError
from accounts.fields import fmt_yuan
from activity.admin import register_workflow
from activity.selectors import history

from . import selectors, services
from .models import (
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeAcceptance,
    ChallengeQuestion,
    ChallengeTarget,
    ProjectMilestone,
)

for _workflow in (services.CHALLENGE_WORKFLOW, services.BID_WORKFLOW, services.MILESTONE_WORKFLOW,
                  services.ACCEPTANCE_WORKFLOW):
    register_workflow(_workflow)


def _yuan(value) -> str:
    return "—" if value is None else fmt_yuan(value)


def _state_badge(obj):
    return format_html('<span class="kj-state kj-state-{}">{}</span>', obj.state, obj.get_state_display())


def _history_table(obj, workflow):
    events = history(obj, workflow)
    if not events:
        return "—"
    rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
        (timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
         e.actor.display_name if e.actor_id else _("系统"),
         e.verb_label,
         f"{e.from_label or '—'} → {e.to_label or '—'}" if (e.from_state or e.to_state) else "—",
         e.reason or "")
        for e in events
    ))
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table>", _("时间"), _("操作人"), _("操作"), _("状态变化"), _("理由"), rows)




# ---- needs and the 榜单 -------------------------------------------------------------------------------------


class TargetInline(ReadOnlyInline):
    model = ChallengeTarget
    fields = ["position", "name", "target_value", "unit", "verification"]
    readonly_fields = fields


class QuestionInline(ReadOnlyInline):
    model = ChallengeQuestion
    fields = ["asked_at", "organization", "question", "state", "answer", "answered_by", "answered_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "answered_by")


@admin.register(Challenge)
class ChallengeAdmin(ReadOnlyAdmin):
    list_display = ["number", "title", "organization", "field", "bounty_display", "state_display", "bid_deadline"]
    list_display_links = ["number", "title"]
    list_filter = ["state", "field", "program", "max_winners"]
    search_fields = ["number", "title", "keywords", "organization__name", "organization__credit_code"]
    list_select_related = ["organization", "program"]
    ordering = ["-submitted_at", "-id"]
    actions = ["start_vetting_selected", "close_selected", "start_review_selected"]
    inlines = [TargetInline, QuestionInline]
    fieldsets = [
        (None, {"fields": ["number", "title", "organization", "created_by", "program", "state_display",
                           "bid_round"]}),
        (gettext_lazy("需求内容"), {"fields": ["field", "discipline_code", "keywords", "problem", "expected_outcome",
                                          "period_months"]}),
        (gettext_lazy("悬赏与揭榜规则"), {"fields": ["enterprise_funding_display", "subsidy_display", "bounty_display",
                                              "max_winners", "defence_weight", "bid_deadline"]}),
        (gettext_lazy("联系方式"), {"fields": ["contact_name", "contact_phone"]}),
        (gettext_lazy("办理情况"), {"fields": ["commitment_accepted_at", "submitted_at", "published_at", "closed_at",
                                          "decided_at", "vetting_opinion", "vetting_score", "last_reason",
                                          "created_at", "updated_at"]}),
        (gettext_lazy("操作记录"), {"fields": ["history_table"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        return selectors.challenges_for_bureau(request.user).select_related("created_by")

    def has_manage_challenges_permission(self, request):
        return request.user.has_perm("projects.manage_challenges")

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    @admin.display(description=gettext_lazy("悬赏金额（元）"), ordering="bounty")
    def bounty_display(self, obj):
        return _yuan(obj.bounty)

    @admin.display(description=gettext_lazy("企业出资（元）"))
    def enterprise_funding_display(self, obj):
        return _yuan(obj.enterprise_funding)

    @admin.display(description=gettext_lazy("申请政府补助（元）"))
    def subsidy_display(self, obj):
        return _yuan(obj.subsidy_requested)

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.CHALLENGE_WORKFLOW)

    # -- batch actions: one service call per row, each refusal reported with its reason

    def _run(self, request, queryset, call, done_label):
        rows = {c.pk: f"《{c.title}》（{c.number or _('无编号')}）" for c in queryset.order_by("id")}
        done = []
        for pk, label in rows.items():
            try:
                call(pk)
            except DomainError as e:
                self.message_user(request, _("%(item)s：%(reason)s") % {"item": label, "reason": e.message},
                                  messages.ERROR)
            else:
                done.append(label)
        if done:
            self.message_user(request, _("%(action)s %(n)d 项：%(items)s")
                              % {"action": done_label, "n": len(done), "items": "；".join(done)}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("开始论证"), permissions=["manage_challenges"])
    def start_vetting_selected(self, request, queryset):
        self._run(request, queryset, lambda pk: services.start_vetting(actor=request.user, challenge_id=pk),
                  _("已开始论证"))

    @admin.action(description=gettext_lazy("截止揭榜"), permissions=["manage_challenges"])
    def close_selected(self, request, queryset):
        self._run(request, queryset, lambda pk: services.close_challenge(actor=request.user, challenge_id=pk),
                  _("已截止揭榜"))

    @admin.action(description=gettext_lazy("开始评审"), permissions=["manage_challenges"])
    def start_review_selected(self, request, queryset):
        self._run(request, queryset, lambda pk: services.start_review(actor=request.user, challenge_id=pk),
                  _("已开始评审"))


# ---- bids ---------------------------------------------------------------------------------------------------


class BidPartnerInline(ReadOnlyInline):
    model = BidPartner
    fields = ["position", "name", "credit_code", "kind", "role"]
    readonly_fields = fields


class BidMemberInline(ReadOnlyInline):
    model = BidMember
    fields = ["position", "name", "masked_id_number", "organization_name", "title", "role"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("证件号码"))
    def masked_id_number(self, obj):
        return obj.masked_id_number or "—"


class BidMilestoneInline(ReadOnlyInline):
    model = BidMilestone
    fields = ["position", "title", "targets", "due_date", "amount_display"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("对应金额（元）"))
    def amount_display(self, obj):
        return _yuan(obj.amount)


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    """揭榜方案 are the bidders' own: shown here, never edited."""

    list_display = ["number", "title", "challenge", "organization", "bid_round", "state_display", "amount_display",
                    "review_score", "defence_score", "total_score", "submitted_at"]
    list_display_links = ["number", "title"]
    list_filter = ["state", "challenge__field", "bid_round"]
    search_fields = ["number", "title", "leader_name", "organization__name", "challenge__number", "challenge__title"]
    list_select_related = ["challenge", "organization"]
    ordering = ["-submitted_at", "-id"]
    inlines = [BidPartnerInline, BidMemberInline, BidMilestoneInline]
    fieldsets = [
        (None, {"fields": ["number", "title", "challenge", "bid_round", "organization", "created_by",
                           "state_display"]}),
        (gettext_lazy("方案"), {"fields": ["plan", "foundation", "discipline_code", "keywords", "amount_display"]}),
        (gettext_lazy("团队负责人"), {"fields": ["leader_name", "masked_leader_id", "leader_title", "leader_phone"]}),
        (gettext_lazy("评审"), {"fields": ["review_score", "review_count", "defence_score", "total_score"]}),
        (gettext_lazy("办理情况"), {"fields": ["commitment_accepted_at", "submitted_at", "decided_at", "last_reason",
                                          "created_at", "updated_at"]}),
        (gettext_lazy("操作记录"), {"fields": ["history_table"]}),
    ]
    readonly_fields = [f for _name, opts in fieldsets for f in opts["fields"]]

    def get_queryset(self, request):
        return selectors.bids_visible_to(request.user).select_related("challenge", "organization", "created_by")

    @admin.display(description=gettext_lazy("状态"), ordering="state")
    def state_display(self, obj):
        return _state_badge(obj)

    @admin.display(description=gettext_lazy("揭榜金额（元）"), ordering="amount")
    def amount_display(self, obj):
        return _yuan(obj.amount)

    @admin.display(description=gettext_lazy("负责人证件号码"))
    def masked_leader_id(self, obj):
        return obj.masked_leader_id_number or "—"

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.BID_WORKFLOW)


# ---- 答疑, milestones, acceptance -------------------------------------------------------------------------


@admin.register(ChallengeQuestion)
class ChallengeQuestionAdmin(ReadOnlyAdmin):
    list_display = ["asked_at", "challenge", "organization", "question_excerpt", "state", "answered_at"]
    list_filter = ["state"]
    search_fields = ["question", "answer", "challenge__number", "challenge__title", "organization__name"]
    list_select_related = ["challenge", "organization"]
    ordering = ["-asked_at", "-id"]
    fields = ["challenge", "organization", "asked_by", "asked_at", "question", "state", "answer", "answered_by",
              "answered_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        visible = selectors.challenges_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(challenge__in=visible)

    @admin.display(description=gettext_lazy("问题"))
    def question_excerpt(self, obj):
        return obj.question[:60]


def _visible_projects(request):
    return selectors.challenge_projects_visible_to(request.user).values("pk")


@admin.register(ProjectMilestone)
class ProjectMilestoneAdmin(ReadOnlyAdmin):
    list_display = ["project", "position", "title", "due_date", "amount_display", "state", "poster_verdict",
                    "expert_score", "concluded_at"]
    list_filter = ["state", "poster_verdict"]
    search_fields = ["title", "project__number", "project__title", "project__organization__name"]
    list_select_related = ["project"]
    ordering = ["project", "position"]
    fields = ["project", "position", "title", "targets", "due_date", "amount_display", "state", "report",
              "reported_by", "reported_at", "poster_verdict", "poster_opinion", "poster_by", "poster_at",
              "expert_score", "expert_review_count", "conclusion", "concluded_by", "concluded_at", "history_table"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(project__in=_visible_projects(request))

    @admin.display(description=gettext_lazy("对应金额（元）"), ordering="amount")
    def amount_display(self, obj):
        return _yuan(obj.amount)

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.MILESTONE_WORKFLOW)


@admin.register(ChallengeAcceptance)
class ChallengeAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["project", "state", "targets_met_display", "applied_at", "poster_at", "concluded_at"]
    list_filter = ["state"]
    search_fields = ["project__number", "project__title", "project__organization__name"]
    list_select_related = ["project"]
    ordering = ["-applied_at", "-id"]
    fields = ["project", "state", "report", "results_table", "applied_by", "applied_at", "poster_opinion",
              "poster_by", "poster_at", "conclusion", "concluded_by", "concluded_at", "history_table"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(project__in=_visible_projects(request))

    @admin.display(description=gettext_lazy("达到的指标数"))
    def targets_met_display(self, obj):
        return f"{obj.targets_met}/{len(obj.results)}"

    @admin.display(description=gettext_lazy("指标完成情况"))
    def results_table(self, obj):
        met = {True: _("达到"), False: _("未达到"), None: _("待评价")}
        rows = format_html_join("", "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (r.get("name", ""), r.get("target_value", ""), r.get("unit", ""), r.get("achieved", ""),
             r.get("evidence", ""), met.get(r.get("met")))
            for r in obj.results
        ))
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>", _("指标"), _("目标值"), _("完成值"), _("佐证"), _("发榜方评价"), rows)

    @admin.display(description=gettext_lazy("操作记录"))
    def history_table(self, obj):
        return _history_table(obj, services.ACCEPTANCE_WORKFLOW)

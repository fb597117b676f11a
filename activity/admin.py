"""Admin for the audit log and notifications: read-only, always.

The audit log is append-only (see activity.models): nobody, not even a superuser, may add, change or
delete an event here. Verb and state labels come from the workflows that apps register with
``register_workflow`` (activity may not import the apps to its right, so they register themselves).
"""

import json

from django import forms
from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdmin
from accounts.rules import is_officer
from accounts.services import ORGANIZATION_WORKFLOW
from accounts.workflow import Workflow

from .deadlines import Stage, get_kind, kind_label, registry
from .models import AuditEvent, CalendarDay, Escalation, Notification, Reminder, ReminderPolicy, TaskOutbox
from .selectors import VERB_LABELS, audit_events_visible_to

_WORKFLOWS: dict[str, Workflow] = {}


def register_workflow(workflow: Workflow) -> None:
    """Let the audit admin show the Chinese labels of this workflow's verbs and states."""
    _WORKFLOWS[workflow.model_label.lower()] = workflow


register_workflow(ORGANIZATION_WORKFLOW)


def _workflow_of(event: AuditEvent) -> Workflow | None:
    ct = event.target_type
    return _WORKFLOWS.get(f"{ct.app_label}.{ct.model}")


def verb_label(verb: str, workflow: Workflow | None = None) -> str:
    if workflow is not None and verb in workflow.transitions:
        return str(workflow.transitions[verb].label)
    if verb in VERB_LABELS:
        return str(VERB_LABELS[verb])
    labels = sorted({str(w.transitions[verb].label) for w in _WORKFLOWS.values() if verb in w.transitions})
    return " / ".join(labels) or verb


def state_label(event: AuditEvent, state: str) -> str:
    if not state:
        return ""
    workflow = _workflow_of(event)
    if workflow is not None and state in workflow.state_choices.values:
        return workflow.state_label(state)
    return state




class VerbFilter(admin.SimpleListFilter):
    title = _("操作")
    parameter_name = "verb"

    def lookups(self, request, model_admin):
        verbs = AuditEvent.objects.order_by("verb").values_list("verb", flat=True).distinct()
        return [(v, verb_label(v)) for v in verbs]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(verb=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_display", "verb_display", "target_display", "transition_display", "ip"]
    list_filter = [VerbFilter, ("target_type", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["target_repr", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "target_type"]
    list_per_page = 50
    fields = [
        "created_at",
        "actor_display",
        "verb_display",
        "target_type",
        "target_id",
        "target_display",
        "transition_display",
        "reason",
        "data_display",
        "ip",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return audit_events_visible_to(request.user)

    @admin.display(description=_("操作人"), ordering="actor__username")
    def actor_display(self, obj):
        return obj.actor.display_name if obj.actor_id else _("系统")

    @admin.display(description=_("操作"), ordering="verb")
    def verb_display(self, obj):
        return verb_label(obj.verb, _workflow_of(obj))

    @admin.display(description=_("对象"), ordering="target_repr")
    def target_display(self, obj):
        ct = obj.target_type
        try:
            url = reverse(f"admin:{ct.app_label}_{ct.model}_change", args=[obj.target_id])
        except NoReverseMatch:
            return obj.target_repr
        return format_html('<a href="{}">{}</a>', url, obj.target_repr)

    @admin.display(description=_("状态变化"))
    def transition_display(self, obj):
        if not obj.from_state and not obj.to_state:
            return "—"
        return f"{state_label(obj, obj.from_state) or '—'} → {state_label(obj, obj.to_state) or '—'}"

    @admin.display(description=_("附加数据"))
    def data_display(self, obj):
        if not obj.data:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(obj.data, ensure_ascii=False, indent=2, sort_keys=True))


class ReadFilter(admin.SimpleListFilter):
    title = _("阅读状态")
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("no", _("未读")), ("yes", _("已读"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=False)
        return queryset


class EmailedFilter(admin.SimpleListFilter):
    title = _("邮件")
    parameter_name = "emailed"

    def lookups(self, request, model_admin):
        return [("no", _("未发送")), ("yes", _("已发送"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(emailed_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(emailed_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "kind", "title", "created_at", "is_read_display", "is_emailed_display"]
    list_filter = ["kind", ReadFilter, EmailedFilter]
    search_fields = ["title", "recipient__username", "recipient__real_name"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    list_per_page = 50
    fields = ["recipient", "kind", "title", "body", "link", "created_at", "read_at", "emailed_at", "dedupe_key"]
    readonly_fields = fields

    # Other people's messages are private: only superusers browse them here (each user has an inbox).
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.display(description=_("已读"), boolean=True, ordering="read_at")
    def is_read_display(self, obj):
        return obj.read_at is not None

    @admin.display(description=_("已发邮件"), boolean=True, ordering="emailed_at")
    def is_emailed_display(self, obj):
        return obj.emailed_at is not None


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """节假日安排: days the bureau sets by hand; they override the holiday package (activity.workdays)."""

    list_display = ["date", "weekday", "is_workday", "note"]
    list_filter = ["is_workday"]
    search_fields = ["note"]
    date_hierarchy = "date"

    @admin.display(description=_("星期"))
    def weekday(self, obj):
        return date_format(obj.date, "l")

    def _may_edit(self, request):
        return request.user.is_active and (request.user.is_superuser or is_officer(request.user))

    def has_module_permission(self, request):
        return self._may_edit(request)

    def has_view_permission(self, request, obj=None):
        return self._may_edit(request)

    def has_add_permission(self, request):
        return self._may_edit(request)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request)


# --- reminders and 督办 ----------------------------------------------------------------------------------------


def _is_bureau_admin(request) -> bool:
    return request.user.is_active and (request.user.is_superuser or is_officer(request.user))


class KindFilter(admin.SimpleListFilter):
    """期限类型, by the registered kinds' labels (no query)."""

    title = _("期限类型")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return sorted(((code, str(kind.label)) for code, kind in registry().items()), key=lambda c: c[0])

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class StageFilter(admin.SimpleListFilter):
    title = _("阶段")
    parameter_name = "stage"

    def lookups(self, request, model_admin):
        return [("window", _("到期前提醒")), *((s, Stage.label(s)) for s in Stage.LEVELS)]

    def queryset(self, request, queryset):
        if self.value() == "window":
            return queryset.filter(stage__startswith="d")
        if self.value() in Stage.LEVELS:
            return queryset.filter(stage=self.value())
        return queryset


class ResolvedFilter(admin.SimpleListFilter):
    title = _("解除状态")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("督办中")), ("yes", _("已解除"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


def _kind_help(code: str) -> dict[str, str]:
    kind = get_kind(code)
    if kind is None:
        return {"label": code, "owner": "—", "responsible": "—", "action": "—"}
    return {
        "label": str(kind.label),
        "owner": str(kind.owner_label) or "—",
        "responsible": str(kind.responsible_label) or "—",
        "action": str(kind.action_label) if kind.can_act and kind.action_label else "—",
    }


class ReminderPolicyForm(forms.ModelForm):
    """期限提醒设置: the kind is one of the registered kinds; 红牌 comes after 黄牌; automatic handling only
    for kinds that have an automatic action."""

    kind = forms.ChoiceField(label=_("期限类型"))

    class Meta:
        model = ReminderPolicy
        fields = ["kind", "enabled", "windows", "remind_overdue", "yellow_after_days", "red_after_days", "sms",
                  "service_days", "auto_action", "action_after_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            taken = set(ReminderPolicy.objects.values_list("kind", flat=True))
            self.fields["kind"].choices = [
                (code, f"{kind.label}（{code}）") for code, kind in sorted(registry().items()) if code not in taken
            ]

    def clean_windows(self):
        """Stored as it is read: distinct days, the farthest first ("3,7,,3" → "7,3")."""
        value = self.cleaned_data.get("windows") or ""
        try:
            days = sorted({int(p) for p in value.replace("，", ",").split(",") if p.strip()}, reverse=True)
        except ValueError:
            return value  # the model's validator says what is wrong
        return ",".join(str(d) for d in days)

    def clean_kind(self):
        code = self.cleaned_data["kind"]
        if get_kind(code) is None:
            raise forms.ValidationError(_("没有这种期限类型"))
        return code

    def clean(self):
        data = super().clean()
        yellow, red = data.get("yellow_after_days"), data.get("red_after_days")
        if yellow is not None and red is not None and red <= yellow:
            self.add_error("red_after_days", _("红牌须晚于黄牌：逾期几天后红牌督办须大于逾期几天后黄牌（现为黄牌 %(y)s 天）")
                           % {"y": yellow})
        code = data.get("kind") or (self.instance.kind if self.instance.pk else None)
        kind = get_kind(code) if code else None
        if data.get("auto_action") and kind is not None and not kind.can_act:
            self.add_error("auto_action", _("此类期限没有自动处理"))
        return data


@admin.register(ReminderPolicy)
class ReminderPolicyAdmin(admin.ModelAdmin):
    """期限提醒设置: one row per registered kind (the sweeper creates it with the kind's defaults)."""

    form = ReminderPolicyForm
    list_display = ["kind_display", "kind", "enabled", "windows", "remind_overdue", "yellow_after_days",
                    "red_after_days", "service_days", "auto_action", "sms", "updated_at"]
    list_display_links = ["kind_display"]
    list_filter = ["enabled", "auto_action", "sms"]
    help_fields = ["owner_display", "responsible_display", "action_display", "defaults_display"]
    fieldsets = [
        (None, {"fields": ["kind", "kind_display", *help_fields[:3], "enabled"]}),
        (_("提醒与升级"), {"fields": ["windows", "remind_overdue", "yellow_after_days", "red_after_days", "sms"]}),
        (_("期限与自动处理"), {"fields": ["service_days", "auto_action", "action_after_days"]}),
        (_("默认设置"), {"fields": ["defaults_display", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = ["kind_display", *self.help_fields, "updated_at"]
        return ["kind", *fields] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # a new row: the kind is chosen first, its labels show once saved
            return [(None, {"fields": ["kind", "enabled"]}), *self.fieldsets[1:3]]
        # only what the kind uses: 办理时限 for a deadline counted from a date, 自动处理 for a kind that has one
        kind = get_kind(obj.kind)
        used = [f for f in self.fieldsets[2][1]["fields"] if kind is None
                or (f == "service_days" and kind.defaults.service_days is not None)
                or (f != "service_days" and kind.can_act)]
        middle = [(self.fieldsets[2][0], {"fields": used})] if used else []
        return [*self.fieldsets[:2], *middle, self.fieldsets[3]]

    @admin.display(description=_("期限类型名称"))
    def kind_display(self, obj):
        return _kind_help(obj.kind)["label"] if obj else "—"

    @admin.display(description=_("责任方（谁欠办）"))
    def owner_display(self, obj):
        return _kind_help(obj.kind)["owner"]

    @admin.display(description=_("黄牌通知（上级责任）"))
    def responsible_display(self, obj):
        return _kind_help(obj.kind)["responsible"]

    @admin.display(description=_("自动处理"))
    def action_display(self, obj):
        return _kind_help(obj.kind)["action"]

    @admin.display(description=_("默认值"))
    def defaults_display(self, obj):
        kind = get_kind(obj.kind)
        if kind is None:
            return _("（未注册的期限类型，系统不再处理）")
        return describe_defaults(kind)

    def has_module_permission(self, request):
        return _is_bureau_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_bureau_admin(request)

    def has_add_permission(self, request):
        return _is_bureau_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_bureau_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False


def describe_defaults(kind) -> str:
    d = kind.defaults
    parts = [
        _("到期前 %(w)s 天提醒") % {"w": ",".join(str(n) for n in d.windows)} if d.windows else _("不提前提醒"),
        _("逾期提醒") if d.remind_overdue else _("不逾期提醒"),
        _("逾期 %(n)s 天黄牌") % {"n": d.yellow_after_days} if d.yellow_after_days is not None else _("不黄牌"),
        _("逾期 %(n)s 天红牌") % {"n": d.red_after_days} if d.red_after_days is not None else _("不红牌"),
    ]
    if d.service_days:
        parts.append(_("办理时限 %(n)s 个工作日") % {"n": d.service_days})
    if kind.can_act:
        parts.append(_("逾期 %(n)s 天自动处理（%(on)s）") % {
            "n": d.action_after_days, "on": _("默认开启") if d.auto_action else _("默认关闭")})
    return "；".join(str(p) for p in parts)


class BureauReadOnlyAdmin(ReadOnlyAdmin):
    def has_module_permission(self, request):
        return _is_bureau_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_bureau_admin(request)


@admin.register(Reminder)
class ReminderAdmin(BureauReadOnlyAdmin):
    """提醒与督办记录: every reminder the sweeper sent, once per deadline, stage and recipient."""

    list_display = ["created_at", "kind_display", "object_id", "due_at", "stage_display", "recipient",
                    "notification_display"]
    list_filter = [KindFilter, StageFilter]
    search_fields = ["recipient__username", "recipient__real_name", "notification__title"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient", "notification"]
    list_per_page = 50
    fields = ["created_at", "kind_display", "object_id", "due_at", "stage_display", "recipient",
              "notification_display"]
    readonly_fields = fields

    @admin.display(description=_("期限类型"), ordering="kind")
    def kind_display(self, obj):
        return kind_label(obj.kind)

    @admin.display(description=_("阶段"), ordering="stage")
    def stage_display(self, obj):
        return Stage.label(obj.stage)

    def get_list_display(self, request):
        # the notification admin is the superusers' (messages are private): others get its title, not a link to a 403
        if request.user.is_superuser:
            return self.list_display
        return [("notification_title" if f == "notification_display" else f) for f in self.list_display]

    def get_fields(self, request, obj=None):
        return self.get_list_display(request)

    def get_readonly_fields(self, request, obj=None):
        return self.get_list_display(request)

    @admin.display(description=_("通知"))
    def notification_display(self, obj):
        n = obj.notification
        if n is None:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:activity_notification_change", args=[n.pk]), n.title)

    @admin.display(description=_("通知"))
    def notification_title(self, obj):
        return obj.notification.title if obj.notification is not None else "—"


@admin.register(Escalation)
class EscalationAdmin(BureauReadOnlyAdmin):
    """督办事项: what the sweeper opened, raised and resolved (the board is /office/duban/)."""

    list_display = ["level", "kind_display", "title", "holder", "organization", "due_at", "level_at", "acted_at",
                    "resolved_at"]
    list_filter = ["level", KindFilter, ResolvedFilter]
    search_fields = ["title", "holder", "organization__name"]
    date_hierarchy = "due_at"
    list_select_related = ["organization"]
    list_per_page = 50
    fields = ["kind_display", "object_id", "title", "holder", "organization", "link", "due_at", "level",
              "opened_at", "level_at", "acted_at", "resolved_at"]
    readonly_fields = fields

    @admin.display(description=_("期限类型"), ordering="kind")
    def kind_display(self, obj):
        return kind_label(obj.kind)


@admin.register(TaskOutbox)
class TaskOutboxAdmin(ReadOnlyAdmin):
    """待投递任务: tasks kept while the broker was down; the beat publishes them every minute, or now."""

    actions = ["flush_now"]
    list_display = ["created_at", "task", "attempts", "error"]
    search_fields = ["task", "error"]
    fields = ["task", "args", "kwargs", "options", "error", "attempts", "created_at"]
    readonly_fields = fields

    # Task arguments are internals: superusers only, whatever model permission a staff user was given.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.action(description=_("立即投递（全部待投递任务）"))
    def flush_now(self, request, queryset):
        from .tasks import flush_task_outbox

        sent = flush_task_outbox()
        left = TaskOutbox.objects.count()
        if left:
            self.message_user(request, _("已投递 %(n)s 个任务；仍有 %(left)s 个未能投递，消息队列可能仍不可用。")
                              % {"n": sent, "left": left}, messages.WARNING)
        else:
            self.message_user(request, _("已投递 %(n)s 个任务。") % {"n": sent}, messages.SUCCESS)

"""Admin for the audit log and notifications: read-only, always.

The audit log is append-only (see activity.models): nobody, not even a superuser, may add, change or
delete an event here. Verb and state labels come from the workflows that apps register with
``register_workflow`` (activity may not import the apps to its right, so they register themselves).
"""

import json

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin import ReadOnlyAdmin
from accounts.rules import is_officer
from accounts.services import ORGANIZATION_WORKFLOW
from accounts.workflow import Workflow

from .models import AuditEvent, CalendarDay, Notification
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

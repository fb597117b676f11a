"""Django admin for organisations, users and credit records.

State changes happen only through batch actions that call the same services as the portal;
every refusal is reported per row. Saving a change form goes through a service too (an organisation
correction, a credit record, a user account), and a refusal is shown on the form, nothing saved. Bureau staff (officers) get access through the rules
predicates of ``accounts.rules``, not through hand-assigned model permissions.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .exceptions import DomainError
from .fields import fmt_yuan
from .forms import ReasonForm
from .models import CreditRecord, Organization, User
from .roles import Role
from .selectors import running_credit_filter
from .services import (
    ADMIN_USER_FIELDS,
    ORGANIZATION_WORKFLOW,
    PROFILE_FIELDS,
    admin_create_user,
    admin_update_user,
    correct_organization,
    record_admin_password_change,
    record_credit,
    return_organization,
    revoke_credit,
    verify_organization,
)
from .workflow import object_history

ROLE_LABELS = {r.value: r.label for r in Role}


def _is_bureau(request) -> bool:
    return request.user.has_perm("accounts.verify_organization")


def run_per_row(request, queryset, do, *, done: str) -> None:
    """Call ``do(obj)`` for every selected row; one message per row, success or the refusal."""
    for obj in queryset:
        try:
            do(obj)
        except DomainError as e:
            messages.error(request, _("%(obj)s：%(reason)s") % {"obj": obj, "reason": e.message})
        else:
            messages.success(request, _("%(obj)s：%(done)s") % {"obj": obj, "done": done})


def reason_action(modeladmin, request, queryset, *, action: str, title: str, intro: str, do, done: str):
    """An admin action that asks for a reason on an intermediate page, then runs per row."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        run_per_row(request, queryset, lambda obj: do(obj, reason), done=done)
        return None  # back to the change list, which shows the messages
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


def yuan_text(value) -> str:
    """An amount in 元 as the admin shows it ("—" when there is none)."""
    return "—" if value is None else fmt_yuan(value)


def yuan_column(attr: str, description, *, ordering: str | None = None):
    """A read-only column (or field) of a ModelAdmin or inline showing the object's ``attr`` in 元."""

    @admin.display(description=description, ordering=ordering)
    def column(modeladmin, obj) -> str:
        return yuan_text(getattr(obj, attr))

    return column


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records shown, never added, changed or deleted here: the services write them."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows related records and never adds, changes or deletes them."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceErrorFormMixin:
    """A DomainError raised by a service while the admin saves (``save_model``, ``save_formset``) is
    shown on the form, with the officer's input kept and nothing saved: never a 403 or a 500.

    Django runs a change-form POST in one transaction, so the refused save is rolled back entirely;
    the same POST is then processed once more with the refusal attached to the form as a non-field
    error, which makes the form invalid and renders it again.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            if request.method != "POST" or hasattr(request, "_kj_service_error"):
                raise
            request._kj_service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        error = getattr(request, "_kj_service_error", None)
        if error is None:
            return form

        class RefusedForm(form):
            def clean(self):
                super().clean()
                raise ValidationError(error.messages)

        RefusedForm.__name__ = form.__name__
        return RefusedForm


class AuditHistoryMixin:
    """The change page's “历史” button shows the business audit trail of the object."""

    object_history_template = "accounts/admin/object_history.html"
    history_workflow = None

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if obj is not None and self.has_view_or_change_permission(request, obj):
            extra["audit_events"] = object_history(obj, self.history_workflow)
        return super().history_view(request, object_id, extra_context=extra)


# ---- Organization --------------------------------------------------------------------------


class OrganizationUserInline(admin.TabularInline):
    model = User
    fields = ("username", "real_name", "email", "phone", "is_active", "last_login")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = gettext_lazy("单位用户")
    verbose_name_plural = gettext_lazy("单位用户")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return _is_bureau(request) or super().has_view_permission(request, obj)


@admin.register(Organization)
class OrganizationAdmin(ServiceErrorFormMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "credit_code", "kind", "region", "state", "verified_at")
    list_filter = ("state", "kind", "region")
    search_fields = ("name", "credit_code")
    readonly_fields = ("state", "state_reason", "verified_at", "created_at", "updated_at")
    fieldsets = (
        (gettext_lazy("单位基本信息"), {"fields": ("name", "credit_code", "kind", "region", "address", "legal_representative")}),
        (gettext_lazy("联系方式"), {"fields": ("contact_name", "contact_phone", "contact_email")}),
        (
            gettext_lazy("资质"),
            {"fields": ("high_tech_cert_no", "high_tech_expires", "tech_sme_no", "tech_sme_year")},
        ),
        (
            gettext_lazy("认证状态（只能通过列表页的“认证通过”“退回”操作改变）"),
            {"fields": ("state", "state_reason", "verified_at", "created_at", "updated_at")},
        ),
    )
    inlines = [OrganizationUserInline]
    actions = ["verify_selected", "return_selected"]
    date_hierarchy = "created_at"
    history_workflow = ORGANIZATION_WORKFLOW

    # Bureau staff use this admin through the rules predicates; registration is the only way in.
    def has_module_permission(self, request):
        return _is_bureau(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _is_bureau(request) or super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _is_bureau(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_verify_permission(self, request):
        return _is_bureau(request)

    def save_model(self, request, obj, form, change):
        if not change:
            raise PermissionDenied
        data = {f: form.cleaned_data[f] for f in PROFILE_FIELDS if f in form.cleaned_data}
        # A refusal (DomainError) is shown on the form by ServiceErrorFormMixin, nothing saved.
        correct_organization(actor=request.user, organization_id=obj.pk, data=data)

    @admin.action(description=gettext_lazy("认证通过"), permissions=["verify"])
    def verify_selected(self, request, queryset):
        run_per_row(
            request,
            queryset,
            lambda org: verify_organization(actor=request.user, organization_id=org.pk),
            done=_("已认证通过"),
        )

    @admin.action(description=gettext_lazy("退回（需填写理由）"), permissions=["verify"])
    def return_selected(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            action="return_selected",
            title=_("退回单位认证"),
            intro=_("以下单位的认证将被退回，单位管理员会收到通知和退回理由，修改单位信息后可重新提交认证。"),
            do=lambda org, reason: return_organization(actor=request.user, organization_id=org.pk, reason=reason),
            done=_("已退回"),
        )


# ---- User ----------------------------------------------------------------------------------


class KjUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class KjUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


@admin.register(User)
class UserAdmin(ServiceErrorFormMixin, AuditHistoryMixin, DjangoUserAdmin):
    form = KjUserChangeForm
    add_form = KjUserCreationForm
    list_display = ("username", "real_name", "organization", "roles", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "real_name", "email", "phone", "organization__name")
    autocomplete_fields = ("organization",)
    list_select_related = ("organization",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (gettext_lazy("个人信息"), {"fields": ("real_name", "email", "phone", "organization")}),
        (
            gettext_lazy("角色与权限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (
            gettext_lazy("个人信息与角色"),
            {"classes": ("wide",), "fields": ("real_name", "email", "phone", "organization", "groups")},
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    # Bureau staff may look users up (and pick them in other admins' autocompletes), not edit them.
    def has_module_permission(self, request):
        return _is_bureau(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _is_bureau(request) or super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        # Only a superuser may touch a superuser's account (e-mail, password, active flag…).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        # Django's page writes the password; the audit event is recorded in the same transaction.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            succeeded = (
                request.method == "POST" and response.status_code == 302 and response.url != request.get_full_path()
            )
            if succeeded:
                record_admin_password_change(actor=request.user, user_id=int(unquote(id)))
        return response

    def save_model(self, request, obj, form, change):
        # Roles (groups), organisation, active and staff flags change only through the services,
        # which record who changed what. A refusal is shown on the form (ServiceErrorFormMixin).
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in ADMIN_USER_FIELDS}
            user = admin_update_user(actor=request.user, user_id=obj.pk, data=data)
        else:
            data = {f: form.cleaned_data[f] for f in ADMIN_USER_FIELDS if f in form.cleaned_data and f != "username"}
            password = form.cleaned_data["password1"] if form.cleaned_data.get("set_usable_password") else None
            user = admin_create_user(
                actor=request.user, username=form.cleaned_data["username"], password=password, data=data
            )
        for field in User._meta.concrete_fields:
            setattr(obj, field.attname, getattr(user, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # Groups and permissions were set by the service (the form's save_m2m would bypass the audit).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.display(description=gettext_lazy("角色"))
    def roles(self, obj):
        return "、".join(str(ROLE_LABELS.get(g.name, g.name)) for g in obj.groups.all()) or "—"


# ---- CreditRecord --------------------------------------------------------------------------


CREDIT_INPUT_FIELDS = (
    "organization",
    "person_name",
    "person_id_number",
    "severity",
    "reason",
    "decision_no",
    "penalty_start",
    "penalty_end",
)
CREDIT_VIEW_FIELDS = (
    "organization",
    "person_name",
    "masked_id",
    "severity",
    "reason",
    "decision_no",
    "penalty_start",
    "penalty_end",
    "status",
    "recorded_by",
    "created_at",
    "revoked_at",
    "revoked_by",
    "revoke_reason",
)


class CreditStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("惩戒状态")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (
            ("running", _("惩戒中")),
            ("upcoming", _("未开始")),
            ("ended", _("已到期")),
            ("revoked", _("已撤销")),
        )

    def queryset(self, request, queryset):
        # the same rule as CreditRecord.is_running_on and the submit check (accounts.selectors)
        today = timezone.localdate()
        running = running_credit_filter(today)
        live = queryset.filter(revoked_at__isnull=True)
        if self.value() == "running":
            return queryset.filter(running)
        if self.value() == "upcoming":
            return live.filter(penalty_start__gt=today)
        if self.value() == "ended":
            return live.exclude(running).filter(penalty_start__lte=today)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(CreditRecord)
class CreditRecordAdmin(ServiceErrorFormMixin, AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("subject", "masked_id", "severity", "penalty_start", "penalty_end", "status", "decision_no")
    list_filter = (CreditStatusFilter, "severity")
    search_fields = ("organization__name", "organization__credit_code", "person_name", "=person_id_number", "decision_no")
    search_help_text = gettext_lazy("可按单位名称、统一社会信用代码、人员姓名、完整证件号码或文号查找。")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    actions = ["revoke_selected"]
    date_hierarchy = "penalty_start"

    def get_fields(self, request, obj=None):
        return CREDIT_VIEW_FIELDS if obj is not None else CREDIT_INPUT_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return CREDIT_VIEW_FIELDS if obj is not None else ()

    def has_module_permission(self, request):
        return request.user.has_perm("accounts.record_credit") or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("accounts.record_credit") or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return request.user.has_perm("accounts.record_credit")

    def has_change_permission(self, request, obj=None):
        # Records are never edited: a wrong one is revoked (撤销) with a reason and stays on file.
        return obj is None and request.user.has_perm("accounts.record_credit")

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.record_credit")

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        # A refusal (DomainError) is shown on the form by ServiceErrorFormMixin, nothing saved.
        record = record_credit(actor=request.user, data={f: form.cleaned_data[f] for f in CREDIT_INPUT_FIELDS})
        obj.pk = record.pk
        obj.recorded_by = record.recorded_by
        obj.created_at = record.created_at

    @admin.display(description=gettext_lazy("失信主体"))
    def subject(self, obj):
        if obj.organization_id:
            return obj.organization.name if not obj.person_name else f"{obj.organization.name} / {obj.person_name}"
        return obj.person_name or "—"

    @admin.display(description=gettext_lazy("证件号码"))
    def masked_id(self, obj):
        return obj.masked_person_id or "—"

    @admin.display(description=gettext_lazy("状态"))
    def status(self, obj):
        today = timezone.localdate()
        if obj.revoked_at is not None:
            return _("已撤销")
        if obj.is_running_on(today):
            return _("惩戒中")
        if obj.penalty_start > today:
            return _("未开始")
        return _("已到期")  # not revoked, started, not running: its penalty period is over

    @admin.action(description=gettext_lazy("撤销（需填写理由）"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        return reason_action(
            self,
            request,
            queryset,
            action="revoke_selected",
            title=_("撤销失信记录"),
            intro=_("以下失信记录将被撤销，撤销后不再限制申报；记录及撤销理由将永久保留。"),
            do=lambda rec, reason: revoke_credit(actor=request.user, record_id=rec.pk, reason=reason),
            done=_("已撤销"),
        )


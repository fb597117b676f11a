"""Pages of the accounts app: login, registration, the organisation profile and its users.

Views parse input and show results; every write goes through ``accounts.services`` and every read
through a selector scoped to the user. Someone who may not manage an organisation gets a 404.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .exceptions import DomainError
from .forms import (
    AccountForm,
    KjPasswordChangeForm,
    KjPasswordResetForm,
    KjSetPasswordForm,
    LoginForm,
    OrganizationForm,
    OrganizationUserForm,
)
from .models import Organization
from .roles import Role
from .selectors import organization_of, organization_users
from .services import (
    ORGANIZATION_WORKFLOW,
    add_organization_user,
    register_organization,
    resubmit_organization,
    set_organization_user_active,
    update_organization,
)
from .workflow import object_history

USERS_PER_PAGE = 20
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def home_url_for(user) -> str:
    """Where a user lands after logging in when no ``next`` was asked for."""
    if user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN):
        return resolve_url("portal:dashboard")
    if user.has_role(Role.OFFICER) or user.is_superuser:
        return resolve_url("portal:review_queue")
    if user.has_role(Role.FINANCE):
        return resolve_url("funding:due")
    if user.has_role(Role.EXPERT):
        return resolve_url("experts:dashboard")
    if user.is_staff:
        return resolve_url("admin:index")
    return resolve_url("public:home")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "failure_limit": settings.AXES_FAILURE_LIMIT}

    def get_default_redirect_url(self):
        if self.next_page:
            return resolve_url(self.next_page)
        return home_url_for(self.request.user)


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("您已安全退出系统。"))
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = KjPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    """忘记密码: a one-time link to the account's e-mail (the same page whether or not the address exists)."""

    template_name = "accounts/password_reset_form.html"
    form_class = KjPasswordResetForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = KjSetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def register(request):
    """Self-registration of an organisation and its first user, who becomes 单位管理员."""
    if request.user.is_authenticated:
        messages.info(request, _("您已登录，无需重复注册。如需为本单位添加用户，请由单位管理员在“用户管理”中添加。"))
        return redirect(home_url_for(request.user))
    org_form = OrganizationForm(request.POST or None)
    account_form = AccountForm(request.POST or None)
    page_errors: list[str] = []
    if request.method == "POST":
        org_ok = org_form.is_valid()
        account_ok = account_form.is_valid()
        if org_ok and account_ok:
            try:
                org, user = register_organization(
                    organization=org_form.profile_data(), **account_form.account_data()
                )
            except DomainError as e:
                page_errors = e.messages
            else:
                auth_login(request, user, backend=MODEL_BACKEND)
                messages.success(
                    request,
                    _("注册成功。“%(name)s”的单位信息已提交科技局审核，审核通过后即可提交申报。") % {"name": org.name},
                )
                return redirect("accounts:organization")
        if not page_errors:
            page_errors = [_("提交的信息有误，请根据下方提示修改后重新提交。")]
    return render(
        request,
        "accounts/register.html",
        {"org_form": org_form, "account_form": account_form, "page_errors": page_errors},
    )


def _own_organization(request) -> Organization:
    org = organization_of(request.user).first()
    if org is None:
        raise Http404(_("您的账号未关联单位。"))
    return org


def _administered_organization(request) -> Organization:
    """The user's organisation if they are its 单位管理员; a 404 for everybody else."""
    org = _own_organization(request)
    if not request.user.has_perm("accounts.manage_org_users", org):
        raise Http404(_("只有本单位管理员可以访问此页面。"))
    return org


@login_required
def organization(request):
    org = _own_organization(request)
    can_edit = request.user.has_perm("accounts.edit_organization", org)
    today = timezone.localdate()
    return render(
        request,
        "accounts/organization.html",
        {
            "org": org,
            "can_edit": can_edit,
            "can_resubmit": can_edit and ORGANIZATION_WORKFLOW.allowed("resubmit", org.state),
            "events": object_history(org, ORGANIZATION_WORKFLOW),
            "State": Organization.State,
            "high_tech_valid": org.has_qualification(Organization.Qualification.HIGH_TECH, today),
            "tech_sme_valid": org.has_qualification(Organization.Qualification.TECH_SME, today),
        },
    )


@login_required
def organization_edit(request):
    org = _own_organization(request)
    if not request.user.has_perm("accounts.edit_organization", org):
        raise Http404(_("只有本单位管理员可以修改单位信息。"))
    lock_identity = org.state == Organization.State.VERIFIED
    form = OrganizationForm(request.POST or None, instance=org, lock_identity=lock_identity)
    if request.method == "POST" and form.is_valid():
        try:
            update_organization(actor=request.user, organization_id=org.pk, data=form.profile_data())
        except DomainError as e:
            for message in e.messages:
                form.add_error(None, message)
        else:
            if org.state == Organization.State.RETURNED:
                messages.success(request, _("单位信息已保存。确认无误后请点击“重新提交认证”。"))
            else:
                messages.success(request, _("单位信息已保存。"))
            return redirect("accounts:organization")
    # The form validated against a copy; show the stored organisation in the header.
    stored = organization_of(request.user).get()
    return render(request, "accounts/organization_edit.html", {"form": form, "org": stored})


@login_required
@require_POST
def organization_resubmit(request):
    org = _administered_organization(request)
    try:
        resubmit_organization(actor=request.user, organization_id=org.pk)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("已重新提交认证，请等待科技局审核。"))
    return redirect("accounts:organization")


ROLE_LABELS = {r.value: r.label for r in Role}


@login_required
def users(request):
    org = _administered_organization(request)
    page = Paginator(organization_users(org), USERS_PER_PAGE).get_page(request.GET.get("page"))
    for u in page.object_list:
        u.role_labels = [str(ROLE_LABELS[g.name]) for g in u.groups.all() if g.name in ROLE_LABELS]
    return render(request, "accounts/users.html", {"org": org, "page": page})


@login_required
def user_add(request):
    org = _administered_organization(request)
    form = OrganizationUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = add_organization_user(
                actor=request.user,
                organization_id=org.pk,
                is_org_admin=form.cleaned_data["is_org_admin"],
                **form.account_data(),
            )
        except DomainError as e:
            for message in e.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("已添加用户“%(name)s”（%(username)s），请将初始密码告知本人并提醒其登录后修改。")
                % {"name": user.display_name, "username": user.username},
            )
            return redirect("accounts:users")
    return render(request, "accounts/user_add.html", {"org": org, "form": form})


@login_required
@require_POST
def user_toggle(request, pk: int):
    org = _administered_organization(request)
    target = organization_users(org).filter(pk=pk).first()
    if target is None:
        raise Http404(_("本单位没有该用户。"))
    activate = not target.is_active
    try:
        set_organization_user_active(actor=request.user, user_id=target.pk, active=activate)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        if activate:
            text = _("已启用用户“%(name)s”。")
        else:
            text = _("已停用用户“%(name)s”，该用户将无法登录。")
        messages.success(request, text % {"name": target.display_name})
    return redirect("accounts:users")

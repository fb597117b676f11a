"""Forms of the accounts pages. They validate input and render it; the services decide."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Organization, User
from .services import LOCKED_WHEN_VERIFIED, PROFILE_FIELDS
from .validators import normalize_credit_code, validate_credit_code


class BootstrapMixin:
    """Bootstrap 5 classes on every widget, and ``is-invalid`` on the fields that failed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LoginForm(BootstrapMixin, AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。连续输错 %(limit)s 次，账号将被临时锁定。"),
        "inactive": _("该账号已被停用，请联系本单位管理员。"),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = _("用户名")
        self.fields["password"].label = _("密码")
        self.fields["username"].widget.attrs.update({"autofocus": True, "placeholder": _("请输入用户名")})
        self.fields["password"].widget.attrs["placeholder"] = _("请输入密码")

    def get_invalid_login_error(self):
        return ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": getattr(settings, "AXES_FAILURE_LIMIT", 5)},
        )


class KjPasswordChangeForm(BootstrapMixin, PasswordChangeForm):
    pass


class KjPasswordResetForm(BootstrapMixin, PasswordResetForm):
    pass


class KjSetPasswordForm(BootstrapMixin, SetPasswordForm):
    pass


class OrganizationForm(BootstrapMixin, forms.ModelForm):
    """The organisation's profile: registration and the org admin's edits share it."""

    class Meta:
        model = Organization
        fields = list(PROFILE_FIELDS)
        widgets = {"high_tech_expires": DATE_WIDGET}
        help_texts = {
            "credit_code": _("18位，见营业执照或法人证书，末位为校验位。"),
            "high_tech_cert_no": _("非高新技术企业请留空。"),
            "tech_sme_no": _("未入库请留空。"),
            "tech_sme_year": _("如：2026"),
        }
        error_messages = {
            "credit_code": {"unique": _("该统一社会信用代码已注册，请联系本单位管理员为您开通账号。")},
        }

    def __init__(self, *args, lock_identity: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit_code"].widget.attrs.update({"maxlength": 18, "autocomplete": "off"})
        if lock_identity:
            for name in LOCKED_WHEN_VERIFIED:
                self.fields[name].disabled = True
                self.fields[name].help_text = _("单位已认证，此项不能自行修改，如需变更请联系科技局。")

    def clean_credit_code(self):
        code = normalize_credit_code(self.cleaned_data.get("credit_code", ""))
        validate_credit_code(code)
        return code

    def profile_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class AccountFieldsMixin(forms.Form):
    """The person's account: used for the first user at registration and for added users."""

    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("用于登录，150个字符以内，可使用字母、数字和 @/./+/-/_。"),
    )
    real_name = forms.CharField(label=_("姓名"), max_length=50)
    email = forms.EmailField(label=_("电子邮箱"), help_text=_("接收系统通知。"))
    phone = forms.CharField(label=_("手机号码"), max_length=30, required=False)
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("确认密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("请再次输入相同的密码。"),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("用户名已被使用。"), code="username_taken")
        return username

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif p1:
            probe = User(
                username=cleaned.get("username", ""),
                email=cleaned.get("email", ""),
                real_name=cleaned.get("real_name", ""),
            )
            try:
                validate_password(p1, probe)
            except ValidationError as e:
                self.add_error("password1", e)
        return cleaned

    def account_data(self) -> dict:
        c = self.cleaned_data
        return {
            "username": c["username"],
            "password": c["password1"],
            "real_name": c["real_name"],
            "email": c["email"],
            "phone": c.get("phone", ""),
        }


class AccountForm(BootstrapMixin, AccountFieldsMixin):
    pass


class OrganizationUserForm(BootstrapMixin, AccountFieldsMixin):
    is_org_admin = forms.BooleanField(
        label=_("同时设为单位管理员"),
        required=False,
        help_text=_("单位管理员可以管理本单位用户、修改单位信息并审核本单位的申报书。"),
    )


class ReasonForm(forms.Form):
    """The reason asked by an admin batch action that needs one (退回, 撤销)."""

    reason = forms.CharField(
        label=_("理由"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        error_messages={"required": _("请填写理由，申请单位将看到此理由。")},
    )

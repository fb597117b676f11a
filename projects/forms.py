"""Forms of the enterprise portal and the public pages.

Forms only parse and check the shape of what was typed; every rule that matters is checked again by
the service the view calls (``projects.services``), whose DomainError becomes a form error.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.validators import normalize_credit_code, validate_credit_code

from .models import Application, AttachmentKind, AvoidanceRequest, BudgetLine, PerformanceTarget
from .services import BASIC_FIELDS

MONEY_ERRORS = {
    "invalid": _("请输入有效的金额。"),
    "max_decimal_places": _("金额最多精确到分（两位小数）。"),
    "max_digits": _("金额过大，请核对。"),
    "max_whole_digits": _("金额过大，请核对。"),
    "min_value": _("金额不能为负数。"),
}


def money_field(label, required=False):
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0"),
        max_digits=16,
        decimal_places=2,
        error_messages=MONEY_ERRORS,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control kj-money", "placeholder": "0.00"}),
    )


class BootstrapMixin:
    """Give every widget Bootstrap classes (no inline styles anywhere: the CSP forbids them)."""

    def _bootstrap(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            existing = widget.attrs.get("class", "")
            if css not in existing.split():
                widget.attrs["class"] = f"{existing} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        # Mark the inputs that have errors so Bootstrap shows them (and their invalid-feedback) in red.
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                classes = widget.attrs.get("class", "").split()
                if "is-invalid" not in classes:
                    widget.attrs["class"] = " ".join([*classes, "is-invalid"])


# ---- public ------------------------------------------------------------------------------------


class CallFilterForm(BootstrapMixin, forms.Form):
    year = forms.TypedChoiceField(label=_("年度"), required=False, coerce=int, empty_value=None)
    program = forms.TypedChoiceField(label=_("计划类别"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, years=(), programs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", _("全部年度"))] + [(y, _("%(y)s年") % {"y": y}) for y in years]
        self.fields["program"].choices = [("", _("全部计划类别"))] + [(p.pk, p.name) for p in programs]
        self._bootstrap()

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


# ---- enterprise portal: list -------------------------------------------------------------------


class ApplicationFilterForm(BootstrapMixin, forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False)
    q = forms.CharField(
        label=_("搜索"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("项目名称或申报编号")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("全部状态")), *Application.State.choices]
        self._bootstrap()

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {k: v.strip() if isinstance(v, str) else v for k, v in self.cleaned_data.items() if v}


# ---- enterprise portal: the application steps ---------------------------------------------------


class ApplicationCreateForm(forms.Form):
    title = forms.CharField(label=_("项目名称"), required=False, max_length=200)


class BasicForm(BootstrapMixin, forms.ModelForm):
    """基本信息 & 项目负责人. Saved by services.update_application, never by form.save()."""

    class Meta:
        model = Application
        fields = list(BASIC_FIELDS)
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 6}),
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = True
        self._bootstrap()

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in BASIC_FIELDS}

    def _post_clean(self):
        # The service validates the model (full_clean) when it saves; here only the fields are checked,
        # so the in-memory instance is not half-updated by a form that fails.
        pass


class TeamMemberForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50, error_messages={"required": _("请填写成员姓名。")})
    id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False)
    title = forms.CharField(label=_("职称"), max_length=50, required=False)
    organization_name = forms.CharField(
        label=_("工作单位"), max_length=200, error_messages={"required": _("请填写工作单位。")}
    )
    role = forms.CharField(label=_("项目分工"), max_length=200, required=False)
    work_months = forms.IntegerField(
        label=_("投入月数"), min_value=0, max_value=600, required=False, initial=0,
        error_messages={"min_value": _("投入月数不能为负数。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class TargetForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("指标类型"), choices=PerformanceTarget.Kind.choices)
    indicator = forms.CharField(label=_("指标名称"), max_length=200)
    target_value = forms.DecimalField(
        label=_("目标值"), max_digits=16, decimal_places=4,
        error_messages={"max_decimal_places": _("目标值最多保留四位小数。"), "invalid": _("请输入数字。")},
    )
    unit = forms.CharField(label=_("计量单位"), max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class PartnerForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=200)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30)
    role = forms.CharField(label=_("合作内容"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()

    def clean_credit_code(self):
        code = normalize_credit_code(self.cleaned_data["credit_code"])
        try:
            validate_credit_code(code)
        except ValidationError as e:
            raise ValidationError(e.messages) from None
        return code


class BaseRowFormSet(forms.BaseFormSet):
    """A formset of table rows: blank rows are ignored, rows ticked 删除 are dropped."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"
            form.fields["DELETE"].label = _("删除")

    def rows(self) -> list[dict]:
        out = []
        initial_count = self.initial_form_count()
        for i, form in enumerate(self.forms):
            if self.can_delete and self._should_delete_form(form):
                continue
            if i >= initial_count and not form.has_changed():
                continue  # an untouched blank row
            data = dict(form.cleaned_data)
            data.pop("DELETE", None)
            out.append(data)
        return out


def _formset(form, max_num):
    return forms.formset_factory(
        form, formset=BaseRowFormSet, extra=1, can_delete=True, max_num=max_num, validate_max=True, absolute_max=max_num
    )


TeamFormSet = _formset(TeamMemberForm, 50)
TargetFormSet = _formset(TargetForm, 50)
PartnerFormSet = _formset(PartnerForm, 20)


class AvoidanceForm(BootstrapMixin, forms.Form):
    """One 不适宜评审专家 row. Every field is optional here: a blank row means "none", and the
    service (set_avoidance_requests) decides whether a half-filled row, a duplicate or a fourth
    expert is acceptable."""

    name = forms.CharField(label=_("专家姓名"), max_length=50, required=False)
    organization_name = forms.CharField(label=_("工作单位"), max_length=200, required=False)
    reason = forms.CharField(label=_("回避理由"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class BaseAvoidanceFormSet(forms.BaseFormSet):
    def get_form_kwargs(self, index):
        # Every row is read, also one that looks "unchanged" against the initial data (a row's
        # place can shift; what was posted is what is saved). All fields are optional anyway.
        return {**super().get_form_kwargs(index), "empty_permitted": False}

    def requests(self) -> list[dict]:
        """Every row as typed, blank ones included (the service skips them, and numbers its
        messages by the row the user sees)."""
        return [dict(form.cleaned_data) for form in self.forms]


# Three rows are shown (AvoidanceRequest.MAX_PER_APPLICATION); a crafted fourth row is parsed and
# refused by the service with its own message.
AvoidanceFormSet = forms.formset_factory(
    AvoidanceForm, formset=BaseAvoidanceFormSet, extra=AvoidanceRequest.MAX_PER_APPLICATION,
    max_num=AvoidanceRequest.MAX_PER_APPLICATION, absolute_max=10,
)


class BudgetForm(BootstrapMixin, forms.Form):
    """3 fixed rows (设备费 / 业务费 / 劳务费) × 财政资金 / 自筹资金, and a 测算说明 per row."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, _label in BudgetLine.Category.choices:
            self.fields[f"{value}_fiscal"] = money_field(_("财政资金（元）"))
            self.fields[f"{value}_self"] = money_field(_("自筹资金（元）"))
            self.fields[f"{value}_note"] = forms.CharField(label=_("测算说明"), max_length=500, required=False)
        self._bootstrap()

    @classmethod
    def initial_for(cls, lines) -> dict:
        initial = {}
        for line in lines:
            initial[f"{line.category}_fiscal"] = line.fiscal_amount
            initial[f"{line.category}_self"] = line.self_amount
            initial[f"{line.category}_note"] = line.note
        return initial

    def rows(self):
        for value, label in BudgetLine.Category.choices:
            yield {
                "category": value,
                "label": label,
                "fiscal": self[f"{value}_fiscal"],
                "self": self[f"{value}_self"],
                "note": self[f"{value}_note"],
            }

    def service_lines(self) -> dict[str, dict]:
        return {
            value: {
                "fiscal_amount": self.cleaned_data.get(f"{value}_fiscal") or Decimal("0"),
                "self_amount": self.cleaned_data.get(f"{value}_self") or Decimal("0"),
                "note": self.cleaned_data.get(f"{value}_note") or "",
            }
            for value in BudgetLine.Category.values
        }


class AttachmentUploadForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("附件类型"), choices=[("", _("请选择附件类型")), *AttachmentKind.choices])
    file = forms.FileField(label=_("选择文件"), error_messages={"required": _("请选择要上传的文件。"),
                                                            "empty": _("文件为空，请重新选择。")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].error_messages["required"] = _("请选择附件类型。")
        self._bootstrap()


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("撤回理由"), required=False, max_length=500)

"""Forms of the officer's expert-pool pages. They only shape input; the services in experts.services decide."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Expert


class BootstrapMixin:
    """Bootstrap classes on every widget (no inline styles: the CSP forbids them)."""

    def _bootstrap(self):
        for f in self.fields.values():
            w = f.widget
            css = "form-select" if isinstance(w, forms.Select) else "form-control"
            if css not in w.attrs.get("class", "").split():
                w.attrs["class"] = f"{w.attrs.get('class', '')} {css}".strip()


class PoolFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部状态")), *Expert.Status.choices])
    discipline = forms.CharField(
        label=_("学科代码"), required=False, max_length=20,
        widget=forms.TextInput(attrs={"placeholder": _("如 520 或 520.20"), "inputmode": "decimal"}),
    )
    q = forms.CharField(
        label=_("关键词"), required=False, max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("姓名、单位、职称、研究方向或证件号码")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()

    def clean_discipline(self):
        value = (self.cleaned_data.get("discipline") or "").strip()
        if value and not re.fullmatch(r"\d[\d.]*", value):
            raise forms.ValidationError(_("学科代码只能包含数字和小数点。"))
        return value

    def filters(self) -> dict:
        """The cleaned filters ({} for a bound form with errors: show everything rather than fail)."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v.strip() for k, v in self.cleaned_data.items() if v and v.strip()}


class ReasonForm(forms.Form):
    """A status decision on one expert; whether a reason is required is the transition table's business."""

    reason = forms.CharField(label=_("理由"), required=False, max_length=500,
                             widget=forms.TextInput(attrs={"class": "form-control"}))


class CapForm(forms.Form):
    annual_cap = forms.IntegerField(
        label=_("年度评审上限"), min_value=1, max_value=500,
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 500}),
        error_messages={"required": _("请填写年度评审上限。"), "invalid": _("年度评审上限应为整数。"),
                        "min_value": _("年度评审上限至少为1。"), "max_value": _("年度评审上限最多为500。")},
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Excel 文件（.xlsx）"),
        widget=forms.ClearableFileInput(attrs={"class": "form-control",
                                               "accept": ".xlsx,application/vnd.openxmlformats-officedocument"
                                                         ".spreadsheetml.sheet"}),
        error_messages={"required": _("请选择要导入的 Excel 文件。"), "empty": _("文件为空，请重新选择。")},
    )


EVALUATION_SORTS = {
    "decline": _("谢绝率从高到低"),
    "on_time": _("按时率从低到高"),
    "deviation": _("平均偏离从大到小"),
    "invited": _("邀请次数从多到少"),
    "name": _("姓名"),
}


class EvaluationSortForm(BootstrapMixin, forms.Form):
    sort = forms.ChoiceField(label=_("排序"), required=False, choices=list(EVALUATION_SORTS.items()))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()

    def sort_key(self) -> str:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("sort"):
            return self.cleaned_data["sort"]
        return "decline"

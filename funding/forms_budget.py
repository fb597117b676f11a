"""Forms of 预算调整 and 后补助: the organisation's adjustment request (one row per category) and 后补助 claim, the
officer's decisions. They only shape what was typed; ``funding.budget`` and ``funding.subsidy`` check every rule again
(the totals, the delegation, the states, the upload's content) and their DomainError is shown on the form."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import BootstrapMixin
from projects.models import BudgetLine

from .forms_finance import _note_field

CATEGORIES = BudgetLine.Category.choices
MONEY_ERRORS = {"invalid": _("请输入金额数字。"), "max_decimal_places": _("金额最多精确到分。"),
                "min_value": _("金额不能小于0。"), "required": _("请填写金额（可为0）。")}


def _money_field(label, *, minimum=Decimal("0"), required=True, **attrs) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=15, decimal_places=2, min_value=minimum, required=required,
                              error_messages=MONEY_ERRORS,
                              widget=forms.NumberInput(attrs={"step": "0.01", "min": str(minimum), **attrs}))


class BudgetLinesForm(BootstrapMixin, forms.Form):
    """The budget by category: 财政资金 and 自筹资金 of 设备费, 业务费, 劳务费."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        css = {"class": "form-control form-control-sm text-end"}  # added after BootstrapMixin styled the rest
        for category, label in CATEGORIES:
            self.fields[f"fiscal_{category}"] = _money_field(_("%(c)s财政资金") % {"c": label},
                                                             **css, **{"data-budget-fiscal": category})
            self.fields[f"self_{category}"] = _money_field(_("%(c)s自筹资金") % {"c": label},
                                                           **css, **{"data-budget-self": category})

    @staticmethod
    def initial_from(budget: dict) -> dict:
        out = {}
        for category, _label in CATEGORIES:
            fiscal, own = budget.get(category, (Decimal("0.00"), Decimal("0.00")))
            out[f"fiscal_{category}"], out[f"self_{category}"] = fiscal, own
        return out

    def rows(self):
        """(category, label, fiscal field, self field) for the template."""
        return [(c, label, self[f"fiscal_{c}"], self[f"self_{c}"]) for c, label in CATEGORIES]

    def lines(self) -> dict[str, dict[str, str]]:
        data = self.cleaned_data
        return {c: {"fiscal": str(data[f"fiscal_{c}"]), "self": str(data[f"self_{c}"])} for c, _label in CATEGORIES}


class AdjustmentForm(BudgetLinesForm):
    """申请预算调整: the budget after the adjustment, and why."""

    reason = forms.CharField(label=_("调整理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写调整理由。")})

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写调整理由。"))
        return reason


class AdjustmentApproveForm(BootstrapMixin, forms.Form):
    note = _note_field(_("审批意见"), required=False)


class AdjustmentRejectForm(BootstrapMixin, forms.Form):
    note = _note_field(_("不予批准的理由"), required=True, message=_("不予批准须填写理由。"))

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("不予批准须填写理由。"))
        return note


class ClaimForm(BootstrapMixin, forms.Form):
    """申报后补助."""

    claimed_expense = _money_field(_("研发费用（元）"), minimum=Decimal("0.01"))
    audit_report = forms.FileField(label=_("专项审计报告"), error_messages={"required": _("请上传专项审计报告。")},
                                   help_text=_("PDF、Word、Excel 或图片，按文件内容识别类型"))
    note = forms.CharField(label=_("说明"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class VerifyForm(BootstrapMixin, forms.Form):
    """核定后补助."""

    verified_expense = _money_field(_("核定研发费用（元）"), minimum=Decimal("0.01"))
    note = forms.CharField(label=_("核定意见"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReturnForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("退回理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("退回须填写理由。")})

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("退回须填写理由。"))
        return reason

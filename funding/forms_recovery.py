"""Forms of 终止 and 追回: terminating a project, opening a recovery order (with an optional 失信 record), recording a
repayment.

They only shape what was typed; ``projects.services.terminate_project`` and ``funding.services`` check every rule
again (the states, the audited spending against what was paid, the outstanding amount, the four-eyes rule, the
idempotency key) and their DomainError is shown on the form.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, BootstrapMixin
from accounts.models import CreditRecord

from .forms_finance import _date_field, _key_field, _no_future, _voucher_field, new_key
from .models import RecoveryOrder


class TerminateForm(BootstrapMixin, forms.Form):
    """终止项目 (on the agreement page, for officers)."""

    reason = forms.CharField(label=_("终止理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写终止理由。")})
    fault = forms.BooleanField(label=_("因承担单位原因"), required=False,
                               help_text=_("如因承担单位弄虚作假、擅自变更等原因终止，可全额追回已拨财政资金。"))

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写终止理由。"))
        return reason


class RecoveryForm(BootstrapMixin, forms.Form):
    """开具追回单."""

    rule = forms.ChoiceField(label=_("追回规则"), choices=RecoveryOrder.Rule.choices, widget=forms.RadioSelect,
                             error_messages={"required": _("请选择追回规则。")})
    spent_amount = forms.DecimalField(label=_("经审计已合规使用的财政资金（元）"), required=False, max_digits=15,
                                      decimal_places=2, min_value=Decimal("0.00"),
                                      help_text=_("按结余追回时必填：应追回 = 已拨付 − 已合规使用。"))
    reason = forms.CharField(label=_("追回理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写追回理由。")})
    due_date = forms.DateField(label=_("缴回期限"), widget=DATE_WIDGET, input_formats=["%Y-%m-%d"],
                               error_messages={"required": _("请填写缴回期限。"), "invalid": _("请输入有效的日期。")})
    credit = forms.BooleanField(label=_("同时记录失信行为"), required=False)
    severity = forms.ChoiceField(label=_("失信程度"), required=False,
                                 choices=[("", "—"), *CreditRecord.Severity.choices])
    decision_no = forms.CharField(label=_("处理决定文号"), max_length=100, required=False)
    penalty_end = forms.DateField(label=_("惩戒结束日期"), required=False, widget=DATE_WIDGET,
                                  input_formats=["%Y-%m-%d"], help_text=_("留空表示长期"),
                                  error_messages={"invalid": _("请输入有效的日期。")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["spent_amount"].widget.attrs.update({"step": "0.01", "min": "0"})
        # radios are laid out by the template (form-check), not as a form-control
        self.fields["rule"].widget.attrs["class"] = "form-check-input"

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写追回理由。"))
        return reason

    def clean_due_date(self):
        value = self.cleaned_data["due_date"]
        if value and value < timezone.localdate():
            raise forms.ValidationError(_("缴回期限不能早于今天。"))
        return value

    def clean(self):
        data = super().clean()
        if data.get("rule") == RecoveryOrder.Rule.UNSPENT and data.get("spent_amount") is None \
                and "spent_amount" not in self.errors:
            self.add_error("spent_amount", _("按结余追回时须填写经审计已合规使用的财政资金。"))
        if data.get("credit") and not data.get("severity"):
            self.add_error("severity", _("记录失信行为时须选择失信程度。"))
        return data

    def spent(self):
        data = self.cleaned_data
        return data["spent_amount"] if data["rule"] == RecoveryOrder.Rule.UNSPENT else None

    def credit_dict(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("credit"):
            return None
        return {"severity": data["severity"], "decision_no": data["decision_no"].strip(),
                "penalty_start": timezone.localdate(), "penalty_end": data.get("penalty_end")}


class RepaymentForm(BootstrapMixin, forms.Form):
    """登记缴回. The hidden key makes a double click or a browser retry one record."""

    amount = forms.DecimalField(label=_("缴回金额（元）"), max_digits=15, decimal_places=2, min_value=Decimal("0.01"),
                                error_messages={"required": _("请填写缴回金额。")})
    voucher_no = _voucher_field()
    received_on = _date_field(_("到账日期"))
    idempotency_key = _key_field()

    def __init__(self, *args, outstanding: Decimal | None = None, **kwargs):
        kwargs["initial"] = {"amount": outstanding, "received_on": timezone.localdate(), "idempotency_key": new_key(),
                             **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.update({"step": "0.01", "min": "0.01"})

    def clean_received_on(self):
        return _no_future(self.cleaned_data["received_on"])

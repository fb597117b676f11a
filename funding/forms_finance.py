"""Forms of the finance desk: recording a payment, approving, rejecting, reversing, and the ledger's filter.

They only shape what was typed; ``funding.services`` checks every rule again (the amount against the tranche and
the grant, the four-eyes rule, the idempotency key) and its DomainError is shown on the form.

The idempotency key is a hidden field filled with a fresh ``uuid4().hex`` when the form is first rendered; a
double click or a browser retry posts the same key, and the service returns the one disbursement.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, BootstrapMixin
from projects.models import Program

from .models import TaskAgreement


def new_key() -> str:
    return uuid.uuid4().hex


def _key_field() -> forms.CharField:
    return forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=8,
                           error_messages={"required": _("页面已过期，请刷新后重新填写。")})


def _voucher_field(label=None) -> forms.CharField:
    return forms.CharField(label=label or _("银行凭证号"), max_length=60,
                           error_messages={"required": _("请填写银行凭证号。")})


def _date_field(label) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE_WIDGET, input_formats=["%Y-%m-%d"],
                           error_messages={"required": _("请填写日期。"), "invalid": _("请输入有效的日期。")})


def _note_field(label, *, required: bool, message=None) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": message} if message else None)


def _no_future(value: datetime.date) -> datetime.date:
    if value and value > timezone.localdate():
        raise forms.ValidationError(_("日期不能晚于今天。"))
    return value


class RecordForm(BootstrapMixin, forms.Form):
    """登记拨付."""

    amount = forms.DecimalField(label=_("拨付金额（元）"), max_digits=15, decimal_places=2, min_value=Decimal("0.01"),
                                error_messages={"required": _("请填写拨付金额。")})
    voucher_no = _voucher_field()
    paid_on = _date_field(_("支付日期"))
    note = _note_field(_("说明"), required=False)
    idempotency_key = _key_field()

    def __init__(self, *args, open_amount: Decimal | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"amount": open_amount, "paid_on": timezone.localdate(), "idempotency_key": new_key(),
                             **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.update({"step": "0.01", "min": "0.01"})

    def clean_paid_on(self):
        return _no_future(self.cleaned_data["paid_on"])


class ApproveForm(BootstrapMixin, forms.Form):
    note = _note_field(_("审核意见"), required=False)


class RejectForm(BootstrapMixin, forms.Form):
    note = _note_field(_("退回理由"), required=True, message=_("退回必须填写理由。"))

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("退回必须填写理由。"))
        return note


class ReverseForm(BootstrapMixin, forms.Form):
    """冲正 an approved payment."""

    voucher_no = _voucher_field(_("冲正凭证号"))
    paid_on = _date_field(_("冲正日期"))
    reason = _note_field(_("冲正理由"), required=True, message=_("冲正必须填写理由。"))
    idempotency_key = _key_field()

    def __init__(self, *args, **kwargs):
        kwargs["initial"] = {"paid_on": timezone.localdate(), "idempotency_key": new_key(), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)

    def clean_paid_on(self):
        return _no_future(self.cleaned_data["paid_on"])


YEAR_BASIS = [("signed", _("签订年度")), ("established", _("立项年度"))]


class LedgerFilterForm(BootstrapMixin, forms.Form):
    program = forms.ModelChoiceField(label=_("计划类别"), queryset=Program.objects.order_by("code"), required=False,
                                     empty_label=_("全部计划"))
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100)
    year_basis = forms.ChoiceField(label=_("年度口径"), choices=YEAR_BASIS, required=False)
    state = forms.ChoiceField(label=_("任务书状态"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("全部状态")), *TaskAgreement.State.choices]
        self.fields["year"].widget.attrs["placeholder"] = _("如 2025")

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"program_id": data["program"].pk if data["program"] else None, "year": data["year"],
                "year_basis": data["year_basis"] or "signed", "state": data["state"]}

"""Forms of the 任务书 pages. They only shape the input: every rule (dates in order, the tranche amounts adding up
to the fiscal amount, a checkpoint's name, who may edit and when) is the service's, whose refusal is shown on the
page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, BootstrapMixin
from projects.forms import BaseRowFormSet
from projects.models import PerformanceTarget

from .models import Condition, TaskAgreement
from .services import MAX_TRANCHES

MAX_TARGETS = 50
MONEY = {"max_digits": 15, "decimal_places": 2}
MONEY_ERRORS = {"invalid": _("请输入金额数字。"), "max_decimal_places": _("金额最多精确到分。")}


class AgreementFilterForm(BootstrapMixin, forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False,
                              choices=[("", _("全部状态")), *TaskAgreement.State.choices])
    q = forms.CharField(label=_("关键词"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("任务书编号、项目名称或承担单位")}))

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {"state": "", "q": ""}
        return {"state": self.cleaned_data["state"], "q": self.cleaned_data["q"].strip()}


class AgreementTermsForm(BootstrapMixin, forms.Form):
    """实施期限 and 自筹资金 (the fiscal amount is the 立项 decision's and is not edited here)."""

    start_date = forms.DateField(label=_("开始日期"), widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("结束日期"), widget=DATE_WIDGET)
    #: not on the page (the budget lines carry the self-raised amounts); kept for posts that set it alone
    self_amount = forms.DecimalField(label=_("自筹资金（元）"), min_value=Decimal("0"), error_messages=MONEY_ERRORS,
                                     required=False, **MONEY)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("结束日期不能早于开始日期。"))
        return data


class AgreementTargetForm(BootstrapMixin, forms.Form):
    """One 绩效指标 row (the target value is text: a challenge's targets are not always numbers)."""

    kind = forms.ChoiceField(label=_("指标类型"), choices=PerformanceTarget.Kind.choices,
                             initial=PerformanceTarget.Kind.OUTPUT)
    indicator = forms.CharField(label=_("指标名称"), max_length=200)
    target_value = forms.CharField(label=_("目标值"), max_length=100)
    unit = forms.CharField(label=_("计量单位"), max_length=20, required=False)


class TrancheForm(BootstrapMixin, forms.Form):
    """One instalment of the plan."""

    name = forms.CharField(label=_("名称"), max_length=100, required=False,
                           widget=forms.TextInput(attrs={"placeholder": _("如：首期拨款")}))
    amount = forms.DecimalField(label=_("金额（元）"), min_value=Decimal("0.01"), error_messages=MONEY_ERRORS,
                                widget=forms.NumberInput(attrs={"step": "0.01", "data-tranche-amount": ""}),
                                **MONEY)
    condition = forms.ChoiceField(label=_("拨付条件"), choices=Condition.choices, initial=Condition.SIGNING)
    checkpoint = forms.CharField(label=_("考核节点"), max_length=30, required=False,
                                 widget=forms.TextInput(attrs={"placeholder": "midterm / milestone:1"}))
    due_on = forms.DateField(label=_("拨付日期"), required=False, widget=DATE_WIDGET)


def _formset(form, max_num):
    return forms.formset_factory(form, formset=BaseRowFormSet, extra=1, can_delete=True, max_num=max_num,
                                 validate_max=True, absolute_max=max_num)


AgreementTargetFormSet = _formset(AgreementTargetForm, MAX_TARGETS)
TrancheFormSet = _formset(TrancheForm, MAX_TRANCHES)

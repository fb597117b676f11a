"""Forms of the enterprise portal's 揭榜挂帅 pages: the poster's need and the bidder's plan.

Forms only parse and check the shape of what was typed; every rule that matters (money, the bounty, the
milestone sum, who may do what) is checked again by ``projects.challenges.services``, whose DomainError becomes a
form error or a message.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.fields import fmt_yuan
from accounts.models import Organization

from ..forms import BaseRowFormSet, BootstrapMixin, money_field
from .models import MAX_WINNERS, Bid, Challenge
from .services import BID_FIELDS, CHALLENGE_FIELDS, MAX_MEMBERS, MAX_MILESTONES, MAX_PARTNERS, MAX_TARGETS


def _winner_choices():
    choices = [(1, _("1（单一揭榜）"))]
    choices += [(n, _("%(n)d（赛马制）") % {"n": n}) for n in range(2, MAX_WINNERS + 1)]
    return choices


class NeedForm(BootstrapMixin, forms.ModelForm):
    """需求征集: the need's description and money. Saved by services.create/update_challenge, never form.save()."""

    enterprise_funding = money_field(_("企业出资（元）"), required=True)
    subsidy_requested = money_field(_("申请政府补助（元）"), required=True)
    max_winners = forms.TypedChoiceField(
        label=_("拟入选团队数"), coerce=int, choices=_winner_choices, initial=1,
        help_text=_("1 为单一揭榜；大于 1 为赛马制，多个团队并行攻关、按里程碑考核淘汰。科技局发榜时可调整。"),
    )

    class Meta:
        model = Challenge
        fields = list(CHALLENGE_FIELDS)
        widgets = {
            "problem": forms.Textarea(attrs={"rows": 6}),
            "expected_outcome": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = True
        self.fields["enterprise_funding"].help_text = _("发榜企业投入的攻关资金，须大于0。")
        self.fields["subsidy_requested"].help_text = _("悬赏金额 = 企业出资 + 政府补助。")
        self._bootstrap()

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in CHALLENGE_FIELDS}

    def _post_clean(self):
        # The service validates the model when it saves; the in-memory instance stays as it was.
        pass


class NeedTargetForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("指标名称"), max_length=200)
    target_value = forms.CharField(label=_("目标值"), max_length=100)
    unit = forms.CharField(label=_("单位"), max_length=30, required=False)
    verification = forms.CharField(label=_("验证方式"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class CommitmentForm(forms.Form):
    accept_commitment = forms.BooleanField(label=_("我单位已阅读并同意上述承诺"), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("理由"), required=False, max_length=2000)


class AnswerForm(BootstrapMixin, forms.Form):
    answer = forms.CharField(label=_("答复"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写答复。")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class AwardForm(BootstrapMixin, forms.Form):
    """确认揭榜结果: the chosen bids (checked against ``max_winners`` by the service) and the poster's opinion."""

    bids = forms.TypedMultipleChoiceField(label=_("入选方案"), coerce=int, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    opinion = forms.CharField(label=_("确认意见"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, bids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bids"].choices = [(b.pk, b.number or b.pk) for b in bids]
        self.fields["bids"].error_messages["invalid_choice"] = _("所选方案不在本次评审中。")
        self._bootstrap()
        self.fields["bids"].widget.attrs["class"] = "form-check-input"


# ---- the bidder --------------------------------------------------------------------------------------------


class BidPlanForm(BootstrapMixin, forms.ModelForm):
    """揭榜方案 and the team leader. Saved by services.update_bid, never form.save()."""

    amount = money_field(_("揭榜金额（元）"), required=True)

    class Meta:
        model = Bid
        fields = list(BID_FIELDS)
        widgets = {
            "plan": forms.Textarea(attrs={"rows": 8}),
            "foundation": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, bounty=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].required = True
        if bounty is not None:
            self.fields["amount"].help_text = _("不得超过悬赏金额 %(b)s 元，须等于各里程碑金额之和。") % {
                "b": fmt_yuan(bounty)}
        self._bootstrap()

    def service_data(self) -> dict:
        return {f: self.cleaned_data.get(f) for f in BID_FIELDS}

    def _post_clean(self):
        pass


class BidMemberForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False)
    organization_name = forms.CharField(label=_("工作单位"), max_length=200, required=False)
    title = forms.CharField(label=_("职称"), max_length=50, required=False)
    role = forms.CharField(label=_("分工"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class BidPartnerForm(BootstrapMixin, forms.Form):
    """A consortium member; the credit code is checked by the service (set_bid_partners)."""

    name = forms.CharField(label=_("成员单位名称"), max_length=200)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30)
    kind = forms.ChoiceField(label=_("单位性质"), choices=Organization.Kind.choices,
                             initial=Organization.Kind.ENTERPRISE)
    role = forms.CharField(label=_("分工"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


class BidMilestoneForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("里程碑"), max_length=200)
    targets = forms.CharField(label=_("考核指标"), widget=forms.Textarea(attrs={"rows": 2}))
    due_date = forms.DateField(label=_("完成时间"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                               error_messages={"invalid": _("日期格式无效，应为 YYYY-MM-DD。")})
    amount = money_field(_("对应金额（元）"), required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bootstrap()


def _formset(form, max_num):
    return forms.formset_factory(form, formset=BaseRowFormSet, extra=1, can_delete=True, max_num=max_num,
                                 validate_max=True, absolute_max=max_num)


NeedTargetFormSet = _formset(NeedTargetForm, MAX_TARGETS)
BidMemberFormSet = _formset(BidMemberForm, MAX_MEMBERS)
BidPartnerFormSet = _formset(BidPartnerForm, MAX_PARTNERS)
BidMilestoneFormSet = _formset(BidMilestoneForm, MAX_MILESTONES)

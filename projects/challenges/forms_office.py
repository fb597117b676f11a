"""Forms of the public 榜单 and of the bureau's 揭榜挂帅 pages.

They only shape what was typed; the services (``projects.challenges.services``) check every rule again and their
DomainError becomes a form error or a flash message.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import BootstrapMixin

from ..models import Program
from .models import MAX_WINNERS, Challenge, ChallengeField, ProjectMilestone

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
DATETIME_FORMATS = [DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
YES, NO = "yes", "no"


def _deadline_field(label=None) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label or _("揭榜截止时间"), input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
        error_messages={"required": _("请填写揭榜截止时间。"), "invalid": _("请输入有效的日期和时间。")},
    )


def _text(label, *, required=True, max_length=2000, rows=2, required_message=None) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=max_length, widget=forms.Textarea(attrs={"rows": rows}),
        error_messages={"required": required_message} if required_message else None,
    )


def _winners_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("入选团队数"), min_value=1, max_value=MAX_WINNERS, initial=1,
        help_text=_("1 为单一揭榜；大于 1 为赛马制"),
    )


def _weight_field() -> forms.DecimalField:
    return forms.DecimalField(
        label=_("答辩成绩权重"), min_value=Decimal("0"), max_value=Decimal("1"), max_digits=3, decimal_places=2,
        initial=Decimal("0"), help_text=_("0 表示不组织答辩；0.4 表示综合得分 = 专家评审 60% + 答辩 40%"),
    )


# ---- the public 榜单 -------------------------------------------------------------------------------------


PUBLIC_STATUS_CHOICES = [(s, label) for s, label in Challenge.State.choices if s in Challenge.PUBLIC_STATES]


class PublicFilterForm(BootstrapMixin, forms.Form):
    field = forms.ChoiceField(label=_("技术领域"), required=False)
    status = forms.ChoiceField(label=_("状态"), required=False)
    q = forms.CharField(label=_("搜索"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("需求名称、关键词或编号")}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", _("全部领域")), *ChallengeField.choices]
        self.fields["status"].choices = [("", _("全部状态")), *PUBLIC_STATUS_CHOICES]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"field": data["field"], "state": data["status"], "q": data["q"].strip()}


class AskForm(BootstrapMixin, forms.Form):
    question = _text(_("问题"), rows=3, required_message=_("请填写问题。"))


# ---- the bureau's list ------------------------------------------------------------------------------------


class OfficeFilterForm(BootstrapMixin, forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False)
    field = forms.ChoiceField(label=_("技术领域"), required=False)
    q = forms.CharField(label=_("搜索"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("名称、编号或发榜单位")}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("全部状态")), *Challenge.State.choices]
        self.fields["field"].choices = [("", _("全部领域")), *ChallengeField.choices]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"state": data["state"], "field": data["field"], "q": data["q"].strip()}


# ---- the bureau's actions on a challenge ------------------------------------------------------------------


class OpinionForm(BootstrapMixin, forms.Form):
    opinion = _text(_("受理意见"), required=False)


class ReasonForm(BootstrapMixin, forms.Form):
    reason = _text(_("理由"), required_message=_("请填写理由。"))


def challenge_programs():
    return Program.objects.filter(kind=Program.Kind.CHALLENGE, is_active=True).order_by("code", "id")


class PublishForm(BootstrapMixin, forms.Form):
    program = forms.ModelChoiceField(
        label=_("计划类别"), queryset=Program.objects.none(), empty_label=_("请选择“揭榜挂帅”类计划"),
        error_messages={"required": _("请选择一个启用的“揭榜挂帅”类计划。"),
                        "invalid_choice": _("请选择一个启用的“揭榜挂帅”类计划。")},
    )
    bid_deadline = _deadline_field()
    max_winners = _winners_field()
    defence_weight = _weight_field()
    opinion = _text(_("论证意见"), required=False, max_length=4000, rows=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = challenge_programs()


class ExtendForm(BootstrapMixin, forms.Form):
    bid_deadline = _deadline_field(_("新的揭榜截止时间"))
    reason = _text(_("延期理由"), required=False)


class RepublishForm(BootstrapMixin, forms.Form):
    bid_deadline = _deadline_field(_("新的揭榜截止时间"))
    max_winners = _winners_field()
    defence_weight = _weight_field()
    opinion = _text(_("意见"), required=False)


class EmptyForm(forms.Form):
    """Actions that take nothing but the click (截止揭榜, 开始评审)."""


# ---- 答辩 and 答疑 -------------------------------------------------------------------------------------------


class DefenceScoresForm(BootstrapMixin, forms.Form):
    """One score field per bid under review (``score_<bid id>``), blank to leave a bid unscored."""

    def __init__(self, *args, bids=(), **kwargs):
        self.bids = list(bids)
        super().__init__(*args, **kwargs)
        for bid in self.bids:
            self.fields[f"score_{bid.pk}"] = forms.DecimalField(
                label=bid.number or bid.organization.name, required=False, min_value=Decimal("0"),
                max_value=Decimal("100"), max_digits=5, decimal_places=2, initial=bid.defence_score,
                widget=forms.NumberInput(attrs={"step": "0.01", "class": "form-control form-control-sm"}),
            )

    def scores(self) -> dict[int, Decimal]:
        return {bid.pk: self.cleaned_data[f"score_{bid.pk}"] for bid in self.bids
                if self.cleaned_data.get(f"score_{bid.pk}") is not None}

    def bound_rows(self):
        return [(bid, self[f"score_{bid.pk}"]) for bid in self.bids]


class AnswerForm(BootstrapMixin, forms.Form):
    answer = _text(_("答复"), max_length=5000, rows=3, required_message=_("请填写答复。"))


class DismissForm(BootstrapMixin, forms.Form):
    reason = _text(_("不予公开的理由"), required_message=_("请填写不予公开的理由。"))


# ---- the winners' projects ----------------------------------------------------------------------------------


class ConcludeForm(BootstrapMixin, forms.Form):
    """里程碑考核结论 / 验收结论: passed or not, with the conclusion (required when not passed)."""

    passed = forms.ChoiceField(label=_("结论"), choices=[(YES, _("通过")), (NO, _("不通过"))],
                               error_messages={"required": _("请选择通过或不通过。")})
    conclusion = _text(_("结论意见"), required=False, max_length=4000, rows=2)

    def clean(self):
        data = super().clean()
        if data.get("passed") == NO and not (data.get("conclusion") or "").strip():
            raise forms.ValidationError(_("不通过时必须填写结论意见。"), code="reason_required")
        return data

    @property
    def is_passed(self) -> bool:
        return self.cleaned_data["passed"] == YES


class StopForm(BootstrapMixin, forms.Form):
    """赛马制淘汰: at which concluded milestone, and why."""

    milestone = forms.TypedChoiceField(label=_("依据的里程碑考核"), coerce=int,
                                       error_messages={"required": _("请选择已考核的里程碑。"),
                                                       "invalid_choice": _("请选择已考核的里程碑。")})
    reason = _text(_("终止理由"), required_message=_("请填写终止理由。"))

    def __init__(self, *args, milestones=(), **kwargs):
        super().__init__(*args, **kwargs)
        concluded = [m for m in milestones if m.state in (ProjectMilestone.State.PASSED, ProjectMilestone.State.FAILED)]
        self.fields["milestone"].choices = [
            (m.pk, f"{m.position}. {m.title}（{m.get_state_display()}）") for m in concluded]

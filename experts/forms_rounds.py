"""Forms of the bureau's review-round and 立项 pages and of the public 公示 page.

They only shape what was typed; the services (experts.services.*) check every rule again and their
DomainError becomes a form error or a flash message.
"""

from decimal import Decimal

from django import forms
from django.forms.models import fields_for_model
from django.utils.translation import gettext_lazy as _

from accounts.forms import BootstrapMixin
from projects.models import Call, Challenge

from .models import Draw, ReviewRound
from .services.rounds import (
    CHALLENGE_RUBRICS,
    CHECKPOINT_RUBRICS,
    DEFAULT_RUBRIC,
    LIVE_FIELDS,
    ROUND_FIELDS,
    validate_deadline,
)

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
MAX_SEED = 2**63 - 1


def _datetime_field(model_field: str) -> forms.DateTimeField:
    f = ReviewRound._meta.get_field(model_field)
    return forms.DateTimeField(
        label=f.verbose_name,
        help_text=f.help_text,
        input_formats=[DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        validators=[validate_deadline],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_INPUT),
    )


_MODEL_FIELDS = fields_for_model(ReviewRound, fields=ROUND_FIELDS)


class RoundFieldsForm(BootstrapMixin, forms.Form):
    """The round's parameters (ROUND_FIELDS of experts.services.rounds)."""

    name = _MODEL_FIELDS["name"]
    experts_per_item = forms.IntegerField(
        label=ReviewRound._meta.get_field("experts_per_item").verbose_name, min_value=3, max_value=15, initial=5,
        help_text=_("至少3位，最多15位。"),
    )
    response_deadline = _datetime_field("response_deadline")
    review_deadline = _datetime_field("review_deadline")
    blind = _MODEL_FIELDS["blind"]
    aggregation = _MODEL_FIELDS["aggregation"]
    dispersion_threshold = _MODEL_FIELDS["dispersion_threshold"]
    deviation_threshold = _MODEL_FIELDS["deviation_threshold"]
    comment_threshold = _MODEL_FIELDS["comment_threshold"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = _("留空则按指南名称自动命名。")
        for name in ("dispersion_threshold", "deviation_threshold", "comment_threshold"):
            self.fields[name].min_value = Decimal("0")

    def clean(self):
        data = super().clean()
        respond, review = data.get("response_deadline"), data.get("review_deadline")
        if respond and review and review <= respond:
            self.add_error("review_deadline", _("评审截止时间必须晚于答复截止时间。"))
        return data

    def round_data(self) -> dict:
        data = {f: self.cleaned_data[f] for f in ROUND_FIELDS if f in self.cleaned_data}
        data["name"] = (data.get("name") or "").strip()
        if not data["name"]:
            data.pop("name")
        return data


class RoundCreateForm(RoundFieldsForm):
    call = forms.ModelChoiceField(label=_("申报指南"), queryset=Call.objects.none(), empty_label=_("请选择指南"))

    field_order = ["call", *ROUND_FIELDS]

    def __init__(self, *args, calls, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = calls


class ChallengeRoundCreateForm(RoundFieldsForm):
    """A 揭榜 round (需求论证, 方案评审 or 里程碑考核) of one challenge. The list offers the challenges in the state the
    kind needs (and the one asked for by ``?challenge=``); any challenge the bureau sees is accepted, so that the
    service says clearly why one in another state is refused."""

    kind = forms.ChoiceField(choices=[(k, label) for k, label in ReviewRound.Kind.choices
                                      if k in ReviewRound.CHALLENGE_KINDS], widget=forms.HiddenInput)
    challenge = forms.ModelChoiceField(label=_("揭榜挂帅项目"), queryset=Challenge.objects.none(),
                                       empty_label=_("请选择榜单"))

    field_order = ["kind", "challenge", *ROUND_FIELDS]

    def __init__(self, *args, challenges, offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].help_text = _("留空则按榜单名称自动命名。")
        field = self.fields["challenge"]
        field.queryset = challenges
        field.widget.choices = [("", field.empty_label)] + [
            (c.pk, f"{c.number or '—'} {c.title}（{c.get_state_display()}）") for c in offered]


class RoundEditForm(RoundFieldsForm):
    """Editing a round: once it is reviewing only LIVE_FIELDS may change (the others are shown, disabled)."""

    def __init__(self, *args, rnd: ReviewRound, **kwargs):
        kwargs.setdefault("initial", {f: getattr(rnd, f) for f in ROUND_FIELDS})
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["name"].help_text = ""
        if rnd.state != ReviewRound.State.DRAFT:
            for name in ROUND_FIELDS:
                if name not in LIVE_FIELDS:
                    self.fields[name].disabled = True

    def round_data(self) -> dict:
        return {f: self.cleaned_data[f] for f in ROUND_FIELDS if f in self.cleaned_data}


class CriterionForm(BootstrapMixin, forms.Form):
    """One row of the rubric editor. A blank row is ignored."""

    name = forms.CharField(label=_("指标名称"), max_length=100, required=False)
    description = forms.CharField(label=_("评分说明"), max_length=1000, required=False)
    max_score = forms.DecimalField(
        label=_("满分"), required=False, max_digits=4, decimal_places=1, min_value=Decimal("0.1"),
        max_value=Decimal("100"), widget=forms.NumberInput(attrs={"step": "0.1", "class": "kj-money"}),
    )


CriterionFormSet = forms.formset_factory(CriterionForm, extra=0, can_delete=True, max_num=30, validate_max=True)


def default_rubric_initial(kind: str = ReviewRound.Kind.APPLICATION) -> list[dict]:
    rubric = CHALLENGE_RUBRICS.get(kind) or CHECKPOINT_RUBRICS.get(kind) or DEFAULT_RUBRIC
    return [{"name": str(n), "description": str(d), "max_score": m} for n, d, m in rubric]


def criteria_from(formset) -> list[dict]:
    """The rubric rows typed into a valid formset (blank and deleted rows left out), in order."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        name = (data.get("name") or "").strip()
        if not name and data.get("max_score") is None and not (data.get("description") or "").strip():
            continue
        rows.append({"name": name, "description": data.get("description") or "",
                     "max_score": data.get("max_score") if data.get("max_score") is not None else ""})
    return rows


class CloseRoundForm(BootstrapMixin, forms.Form):
    force = forms.BooleanField(label=_("评审意见不足3份的项目也结束评审（强制结束）"), required=False)
    reason = forms.CharField(label=_("理由"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("强制结束时必须填写。"))


class DrawForm(BootstrapMixin, forms.Form):
    method = forms.ChoiceField(
        label=_("抽取方式"),
        choices=[(Draw.Method.RANDOM, Draw.Method.RANDOM.label), (Draw.Method.OPTIMAL, Draw.Method.OPTIMAL.label)],
        initial=Draw.Method.RANDOM,
    )
    seed = forms.IntegerField(label=_("随机种子"), required=False, min_value=0, max_value=MAX_SEED,
                              help_text=_("仅用于随机抽取；留空由系统生成。同一种子可复现同一抽取结果。"))
    panel = forms.TypedChoiceField(label=_("评审组"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, panels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["panel"].choices = [("", _("全部评审组"))] + [(p.pk, p.label) for p in panels]


class ManualAssignForm(forms.Form):
    expert = forms.IntegerField(min_value=1, max_value=MAX_SEED,
                                error_messages={"required": _("请选择专家。"), "invalid": _("请选择专家。")})


class ExpertSearchForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("按姓名查找专家"), required=False, max_length=50)


class ReasonForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(label=_("理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("请填写理由。")})


class OptionalCommentForm(BootstrapMixin, forms.Form):
    comment = forms.CharField(label=_("审签意见"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class BuildListForm(BootstrapMixin, forms.Form):
    cutoff_score = forms.DecimalField(label=_("入围分数线"), required=False, min_value=Decimal("0"),
                                      max_value=Decimal("100"), max_digits=5, decimal_places=2,
                                      help_text=_("留空则列入全部评审意见不少于3份的项目。"))
    publicity_workdays = forms.IntegerField(label=_("公示期（工作日）"), min_value=1, max_value=30, initial=5)


class AmountForm(forms.Form):
    amount = forms.DecimalField(
        label=_("拟立项财政资金（元）"), max_digits=16, decimal_places=2, min_value=Decimal("0.01"),
        error_messages={"invalid": _("请输入有效的金额。"), "max_decimal_places": _("金额最多精确到分（两位小数）。"),
                        "required": _("请填写金额。"), "min_value": _("金额须大于0。")},
    )


class ResolveObjectionForm(BootstrapMixin, forms.Form):
    UPHELD = "upheld"
    DISMISSED = "dismissed"

    decision = forms.ChoiceField(label=_("处理结论"), choices=[(UPHELD, _("异议成立（涉及项目移出清单）")),
                                                           (DISMISSED, _("异议不成立"))])
    resolution = forms.CharField(label=_("处理意见"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}),
                                 error_messages={"required": _("请填写处理意见。")})


class ObjectionForm(BootstrapMixin, forms.Form):
    """The public 异议 form of a 公示."""

    name = forms.CharField(label=_("异议人（姓名或单位）"), max_length=100)
    contact = forms.CharField(label=_("联系方式"), max_length=100, help_text=_("电话或电子邮箱，仅用于核实和答复，不公开。"))
    entry = forms.TypedChoiceField(label=_("所涉项目"), required=False, coerce=int, empty_value=None)
    content = forms.CharField(label=_("异议内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}),
                              help_text=_("请写明事实、理由和依据，不少于10个字。"))

    def __init__(self, *args, entries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry"].choices = [("", _("（不针对具体项目）"))] + [(pk, title) for pk, title in entries]

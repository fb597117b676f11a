"""Forms of the expert portal. They only shape input; the services in experts.services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, BootstrapMixin

from .models import Assignment, DeclaredRelation, Expert, Review
from .services.reviews import COMMITMENT_ITEMS


class PortalFormMixin(BootstrapMixin):
    """Bootstrap classes, with ``form-check-input`` on radio buttons and checkbox lists."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):  # CheckboxSelectMultiple is one too
                field.widget.attrs["class"] = "form-check-input"


class ExpertProfileForm(PortalFormMixin, forms.Form):
    """What an expert keeps up to date: everything but the ID number and the annual cap."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    workplace = forms.CharField(label=_("工作单位"), max_length=200)
    workplace_credit_code = forms.CharField(
        label=_("工作单位统一社会信用代码"), max_length=18, required=False,
        help_text=_("选填；填写后用于回避核查（同单位回避）。"),
    )
    title = forms.CharField(label=_("职称"), max_length=50, help_text=_("如：教授、研究员、高级工程师"))
    title_level = forms.ChoiceField(label=_("职称级别"), choices=Expert.TitleLevel.choices)
    discipline_codes = forms.CharField(
        label=_("学科代码"), max_length=200,
        help_text=_("GB/T 13745 学科代码，可填多个，以逗号分隔，如：520.20, 520.30"),
    )
    keywords = forms.CharField(label=_("研究方向关键词"), max_length=300, required=False,
                               help_text=_("以逗号分隔，用于匹配评审项目"))
    region = forms.CharField(label=_("所在地区"), max_length=100, required=False)
    phone = forms.CharField(label=_("手机号码"), max_length=30, required=False)

    FIELDS = ("name", "workplace", "workplace_credit_code", "title", "title_level", "discipline_codes", "keywords",
              "region", "phone")

    @classmethod
    def initial_for(cls, expert: Expert) -> dict:
        initial = {f: getattr(expert, f) for f in cls.FIELDS}
        initial["discipline_codes"] = ", ".join(expert.discipline_codes or [])
        return initial

    def service_data(self) -> dict:
        """The cleaned values for register_expert / update_expert_profile (which normalise and judge them)."""
        return {f: self.cleaned_data[f] for f in self.fields if f in self.cleaned_data}


class ExpertRegisterForm(ExpertProfileForm):
    """登记为评审专家: the profile plus the ID number (fixed afterwards)."""

    id_number = forms.CharField(label=_("证件号码"), max_length=30,
                                help_text=_("用于回避核查，不对外显示；登记后不能修改。"))

    field_order = ["name", "id_number", "workplace", "workplace_credit_code", "title", "title_level",
                   "discipline_codes", "keywords", "region", "phone"]


class UnavailabilityForm(PortalFormMixin, forms.Form):
    start_date = forms.DateField(label=_("开始日期"), widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("结束日期"), widget=DATE_WIDGET)
    reason = forms.CharField(label=_("事由"), max_length=200, required=False)


class RelationForm(PortalFormMixin, forms.Form):
    """申报利益关系: an organisation (name or credit code) or a person (name, ID number if known)."""

    kind = forms.ChoiceField(label=_("关系对象"), choices=DeclaredRelation.Kind.choices)
    organization_name = forms.CharField(label=_("单位名称"), max_length=200, required=False)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=18, required=False)
    person_name = forms.CharField(label=_("姓名"), max_length=50, required=False)
    person_id_number = forms.CharField(label=_("证件号码"), max_length=30, required=False)
    relation = forms.CharField(label=_("关系说明"), max_length=200,
                               help_text=_("如：曾任职、兼职、亲属、师生、合作研究等"))


class AcceptForm(PortalFormMixin, forms.Form):
    """接受邀请: each statement of the 承诺书 confirmed one by one (the service refuses any missing)."""

    confirmed = forms.MultipleChoiceField(
        label=_("逐项确认"), choices=COMMITMENT_ITEMS, required=False, widget=forms.CheckboxSelectMultiple
    )


class DeclineForm(PortalFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("谢绝理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("谢绝邀请必须填写理由。")},
    )


class InvitationFilterForm(PortalFormMixin, forms.Form):
    state = forms.ChoiceField(label=_("状态"), required=False,
                              choices=[("", _("全部状态")), *Assignment.State.choices])


class ReviewForm(PortalFormMixin, forms.Form):
    """评分表: one field per criterion (the service judges the ranges), a comment and the recommendation."""

    comment = forms.CharField(label=_("评审意见"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 6}))
    recommendation = forms.ChoiceField(label=_("总体意见"), required=False,
                                       choices=Review.Recommendation.choices, widget=forms.RadioSelect)

    def __init__(self, *args, criteria=(), kind: str = "application", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recommendation"].choices = Review.recommendation_choices(kind)
        self.criteria = list(criteria)
        for c in self.criteria:
            field = forms.CharField(
                label=c.name, required=False, max_length=20, help_text=c.description,
                widget=forms.NumberInput(attrs={"min": "0", "max": str(c.max_score), "step": "0.1",
                                                "class": "form-control"}),
            )
            field.criterion = c
            self.fields[self.score_field(c)] = field
        self.order_fields([self.score_field(c) for c in self.criteria] + ["comment", "recommendation"])

    @staticmethod
    def score_field(criterion) -> str:
        return f"score_{criterion.pk}"

    @classmethod
    def initial_for(cls, review) -> dict:
        if review is None:
            return {}
        initial = {"comment": review.comment, "recommendation": review.recommendation}
        for s in review.scores.all():
            initial[f"score_{s.criterion_id}"] = s.score
        return initial

    def score_fields(self):
        return [self[self.score_field(c)] for c in self.criteria]

    def service_args(self) -> dict:
        data = self.cleaned_data
        return {
            "scores": {str(c.pk): data.get(self.score_field(c), "") for c in self.criteria},
            "comment": data.get("comment", ""),
            "recommendation": data.get("recommendation", ""),
        }

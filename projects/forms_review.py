"""Forms of the 单位审核 and 形式审查 pages. They only shape input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors
from .checklists import FORMAL_REVIEW_CHECKLIST
from .filters import MAX_ID
from .models import FormalReview
from .services import APPLICATION_WORKFLOW


class EndorsementForm(forms.Form):
    """单位审核: 通过 (optional comment) or 退回 (reason required by the workflow)."""

    ENDORSE = "endorse"
    RETURN = "return"

    decision = forms.ChoiceField(
        label=_("审核结论"), choices=[(ENDORSE, _("通过")), (RETURN, _("退回"))], widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("审核意见 / 退回理由"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.RETURN and not (data.get("comment") or "").strip():
            raise forms.ValidationError(_("退回申报书必须填写退回理由。"), code="reason_required")
        return data


class FormalReviewForm(forms.Form):
    """形式审查 of one application: decision, reason and the checklist (every item a checkbox)."""

    decision = forms.ChoiceField(
        label=_("审查结论"), choices=FormalReview.Decision.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("审查意见 / 理由"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("退回修改或不予受理时必须填写，将通知申报单位。"),
    )
    checklist = forms.MultipleChoiceField(
        label=_("审查要点"),
        choices=FORMAL_REVIEW_CHECKLIST,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("受理须全部审查要点通过。"),
    )

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        # Decision values are the workflow's transition names; the table says which need a reason.
        if decision and APPLICATION_WORKFLOW.get(decision).needs_reason and not (data.get("reason") or "").strip():
            label = FormalReview.Decision(decision).label
            self.add_error("reason", _("“%(d)s”必须填写理由。") % {"d": label})
        return data

    def checklist_dict(self) -> dict[str, bool]:
        selected = set(self.cleaned_data.get("checklist") or ())
        return {code: code in selected for code, _label in FORMAL_REVIEW_CHECKLIST}


class BatchReviewForm(FormalReviewForm):
    """One decision, reason and checklist applied to every selected application."""

    applications = forms.TypedMultipleChoiceField(
        label=_("选中的申报书"), coerce=int, required=True,
        error_messages={
            "required": _("请至少选择一项申报书。"),
            "invalid_choice": _("申报书编号“%(value)s”无效。"),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any well-formed id (1..2^63-1) is accepted here; the view and the service report each one
        # that does not exist or cannot be decided. Anything else is a form error, not a query.
        raw = self.data.getlist("applications") if hasattr(self.data, "getlist") else []
        self.fields["applications"].choices = [(v, v) for v in raw if _is_id(v)]


def _is_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID


class ReviewQueueFilterForm(forms.Form):
    call = forms.ModelChoiceField(label=_("申报指南"), queryset=None, required=False, empty_label=_("全部指南"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = selectors.calls_visible_to(user).order_by("-year", "-opens_at", "-id")

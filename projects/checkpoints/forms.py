"""Forms of the checkpoint pages (中期报告, 验收申请, 延期申请, and the bureau's conclusions).

They only shape what was typed; the services (``projects.checkpoints.services``) check every rule again (numbers,
amounts to the fen, dates, what may be concluded when), and their DomainError becomes a form error or a message.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.forms import DATE_WIDGET, BootstrapMixin

from ..models import BudgetLine
from .models import CheckpointAttachmentKind
from .services import ATTACHMENT_KINDS, EXTENSION_MAX_MONTHS, RECTIFY_MAX_MONTHS, add_months

AK = CheckpointAttachmentKind
TEXT_MAX = 20000

#: the kinds of file each report takes (the required ones are listed on the page)
MIDTERM_KINDS = ATTACHMENT_KINDS["midterm"]
ACCEPTANCE_KINDS = ATTACHMENT_KINDS["acceptance"]


def required_kinds(report) -> list[str]:
    """The files the service asks for before the report may be submitted (this round)."""
    if report.attempt > 1:
        return [AK.RECTIFICATION]
    if report._meta.model_name == "midtermreport":
        return [AK.PROGRESS_REPORT]
    return [AK.FINAL_REPORT, AK.SPENDING_REPORT, AK.AUDIT_REPORT]


class ReportForm(forms.Form):
    """The report's text, one value (and evidence) per agreed target, and the spending of each budget category.
    Blanks are allowed while it is being filled in; the service says what is missing at submission."""

    def __init__(self, *args, report, text_field: str, text_label, **kwargs):
        self.report = report
        self.text_field = text_field
        initial = {text_field: getattr(report, text_field)}
        for i, row in enumerate(report.targets):
            initial[f"value_{i}"] = row.get("value", "")
            initial[f"evidence_{i}"] = row.get("evidence", "")
        for row in report.spending:
            initial[f"fiscal_{row['category']}"] = row.get("fiscal", "")
            initial[f"self_{row['category']}"] = row.get("self", "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields[text_field] = forms.CharField(label=text_label, required=False, max_length=TEXT_MAX,
                                                  widget=forms.Textarea(attrs={"rows": 6}))
        for i, _row in enumerate(report.targets):
            self.fields[f"value_{i}"] = forms.CharField(required=False, max_length=40)
            self.fields[f"evidence_{i}"] = forms.CharField(required=False, max_length=2000)
        for row in report.spending:
            self.fields[f"fiscal_{row['category']}"] = forms.CharField(required=False, max_length=30)
            self.fields[f"self_{row['category']}"] = forms.CharField(required=False, max_length=30)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm" if field is not self.fields[text_field] \
                else "form-control"
        for i, row in enumerate(report.targets):
            self.fields[f"value_{i}"].widget.attrs.update({"inputmode": "decimal", "aria-label": row["indicator"]})
        for row in report.spending:
            self.fields[f"fiscal_{row['category']}"].widget.attrs["inputmode"] = "decimal"
            self.fields[f"self_{row['category']}"].widget.attrs["inputmode"] = "decimal"

    def target_rows(self):
        return [(row, self[f"value_{i}"], self[f"evidence_{i}"]) for i, row in enumerate(self.report.targets)]

    def spending_rows(self):
        labels = dict(BudgetLine.Category.choices)
        return [(row, labels.get(row["category"], row["category"]), self[f"fiscal_{row['category']}"],
                 self[f"self_{row['category']}"]) for row in self.report.spending]

    def text(self) -> str:
        return self.cleaned_data.get(self.text_field, "")

    def targets(self) -> list[dict]:
        return [{"value": self.cleaned_data.get(f"value_{i}", ""), "evidence": self.cleaned_data.get(f"evidence_{i}", "")}
                for i in range(len(self.report.targets))]

    def spending(self) -> dict[str, dict]:
        return {row["category"]: {"fiscal": self.cleaned_data.get(f"fiscal_{row['category']}", ""),
                                  "self": self.cleaned_data.get(f"self_{row['category']}", "")}
                for row in self.report.spending}


class UploadForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("附件类型"))
    file = forms.FileField(label=_("文件"), error_messages={"required": _("请选择要上传的文件。")})

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("请选择")), *((k.value, k.label) for k in kinds)]


class ExtensionForm(BootstrapMixin, forms.Form):
    months = forms.IntegerField(label=_("延期月数"), min_value=1, max_value=EXTENSION_MAX_MONTHS,
                                help_text=_("1 至 12 个月，每个项目只能申请一次。"))
    reason = forms.CharField(label=_("延期理由"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}),
                             error_messages={"required": _("请填写延期理由。")})


class OpenMidtermForm(BootstrapMixin, forms.Form):
    due_date = forms.DateField(label=_("提交期限"), widget=DATE_WIDGET,
                               error_messages={"required": _("请填写提交期限。"), "invalid": _("请输入有效的日期。")})


def default_rectify_due(today=None):
    return add_months(today or timezone.localdate(), RECTIFY_MAX_MONTHS)


class ConcludeForm(BootstrapMixin, forms.Form):
    """The bureau's conclusion: only the conclusions the report's round allows are offered."""

    conclusion = forms.ChoiceField(label=_("结论"), widget=forms.RadioSelect,
                                   error_messages={"required": _("请选择结论。")})
    note = forms.CharField(label=_("结论意见"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("整改、不通过和结题须填写意见（整改时即为整改要求）。"))
    rectify_due = forms.DateField(label=_("整改期限"), required=False, widget=DATE_WIDGET,
                                  help_text=_("选择“整改”时适用，最长3个月。"),
                                  error_messages={"invalid": _("请输入有效的日期。")})
    fault = forms.BooleanField(label=_("因承担单位原因"), required=False,
                               help_text=_("选择“不通过”时适用：勾选则全额追回已拨财政资金，否则追回结余部分。"))

    def __init__(self, *args, conclusions: dict, **kwargs):
        kwargs.setdefault("initial", {"rectify_due": default_rectify_due()})
        super().__init__(*args, **kwargs)
        self.fields["conclusion"].choices = list(conclusions.items())
        self.fields["conclusion"].widget.attrs["class"] = "form-check-input"
        if "rectify" not in conclusions:
            del self.fields["rectify_due"]
        if "fail" not in conclusions:
            del self.fields["fault"]


class DecideExtensionForm(BootstrapMixin, forms.Form):
    decision = forms.ChoiceField(label=_("审批意见"), widget=forms.RadioSelect,
                                 choices=[("approve", _("批准延期")), ("reject", _("不予批准"))],
                                 error_messages={"required": _("请选择是否批准。")})
    note = forms.CharField(label=_("意见说明"), required=False, max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}), help_text=_("不予批准时须说明理由。"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].widget.attrs["class"] = "form-check-input"


class OfficeFilterForm(BootstrapMixin, forms.Form):
    call = forms.TypedChoiceField(label=_("申报指南"), required=False, coerce=int, empty_value=None)
    state = forms.ChoiceField(label=_("状态"), required=False)
    overdue = forms.BooleanField(label=_("只看逾期"), required=False)

    def __init__(self, *args, calls, states, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].choices = [("", _("全部指南")), *((c.pk, f"{c.year} · {c.title}") for c in calls)]
        self.fields["state"].choices = [("", _("全部状态")), *states]

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {"call": None, "state": "", "overdue": False}
        data = self.cleaned_data
        return {"call": data["call"], "state": data["state"], "overdue": data["overdue"]}

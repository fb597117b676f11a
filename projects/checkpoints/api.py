"""REST API for the checkpoints of projects funded through a call: 中期报告, 验收申请 (with their attachments), 延期申请 and
the 项目终止建议 of a project that did not apply for acceptance (the bureau's only: 404 for anyone else).

Every queryset comes from ``projects.checkpoints.selectors`` (scoped: another organisation's report is a 404, and a
user who may see nothing — an expert — gets empty lists); every write calls the same
``projects.checkpoints.services`` function as the pages, and a refusal comes back as 400/403/409 with the reason
(accounts.exceptions.api_exception_handler). The organisation fills in, attaches and submits; the bureau opens the
中期检查, concludes and decides extensions. Money is in 元, as decimal strings with two places.
"""

from decimal import Decimal

import django_filters
from django.db.models import Prefetch
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.exceptions import PermissionRefused
from projects.api import RowViewSet, action_schema, enum_field, error_responses, money_field, request_user
from projects.filters import MAX_ID

from .. import selectors as project_selectors
from ..models import BudgetLine, Project
from . import proposals, selectors, services
from .models import (
    AcceptanceReport,
    CheckpointAttachment,
    CheckpointAttachmentKind,
    ExtensionRequest,
    MidtermReport,
    TerminationProposal,
)

MIDTERM_ERRORS = error_responses(gettext_lazy("中期报告不存在或无权查看"))
ACCEPTANCE_ERRORS = error_responses(gettext_lazy("验收申请不存在或无权查看"))
EXTENSION_ERRORS = error_responses(gettext_lazy("延期申请不存在或无权查看"))
TERMINATION_ERRORS = error_responses(gettext_lazy("终止建议不存在或无权查看"))
NO_404 = {code: response for code, response in MIDTERM_ERRORS.items() if code != 404}
CATEGORY_LABELS = dict(BudgetLine.Category.choices)


def _money(value) -> str | None:
    """A stored amount ("12.5", "", None) as a string with two places, or None when not filled in."""
    if value in (None, ""):
        return None
    return f"{Decimal(str(value)):.2f}"


def _may_report(user, report) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("projects.report_checkpoint_obj", report.project))


def _is_officer(user) -> bool:
    # (only the bureau may be: asking the permission backends of anybody else would cost queries per request)
    return selectors.sees_all(user) and user.has_perm("projects.manage_checkpoints")


# ---- filters: they narrow a selector's queryset, never widen it -----------------------------------------------


def _id_filter(field_name, label):
    return django_filters.NumberFilter(field_name=field_name, min_value=1, max_value=MAX_ID, label=label)


class MidtermFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=MidtermReport.State.choices,
                                        label=gettext_lazy("状态"))
    call = _id_filter("project__call_id", gettext_lazy("申报指南 ID"))
    project = _id_filter("project_id", gettext_lazy("项目 ID"))

    class Meta:
        model = MidtermReport
        fields = ["state", "call", "project"]


class AcceptanceFilter(MidtermFilter):
    state = django_filters.ChoiceFilter(field_name="state", choices=AcceptanceReport.State.choices,
                                        label=gettext_lazy("状态"))

    class Meta:
        model = AcceptanceReport
        fields = ["state", "call", "project"]


class ExtensionFilter(MidtermFilter):
    state = django_filters.ChoiceFilter(field_name="state", choices=ExtensionRequest.State.choices,
                                        label=gettext_lazy("状态"))

    class Meta:
        model = ExtensionRequest
        fields = ["state", "call", "project"]


# ---- output ---------------------------------------------------------------------------------------------------


class CheckpointProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True, help_text=gettext_lazy("项目编号"))
    title = serializers.CharField(read_only=True, help_text=gettext_lazy("项目名称"))
    organization_name = serializers.CharField(source="organization.name", read_only=True,
                                              help_text=gettext_lazy("承担单位"))
    call_id = serializers.IntegerField(read_only=True, allow_null=True, help_text=gettext_lazy("申报指南 ID"))
    call_title = serializers.CharField(source="call.title", read_only=True, allow_null=True, default=None,
                                       help_text=gettext_lazy("申报指南"))
    start_date = serializers.DateField(read_only=True, allow_null=True)
    end_date = serializers.DateField(read_only=True, allow_null=True, help_text=gettext_lazy("结束日期（延期后为新日期）"))
    state = serializers.CharField(read_only=True, help_text=gettext_lazy("项目状态"))
    state_display = serializers.CharField(source="get_state_display", read_only=True)


class TargetRowSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True, help_text=gettext_lazy("指标类型"))
    indicator = serializers.CharField(read_only=True, help_text=gettext_lazy("指标名称"))
    target_value = serializers.CharField(read_only=True, help_text=gettext_lazy("目标值"))
    unit = serializers.CharField(read_only=True, help_text=gettext_lazy("计量单位"))
    value = serializers.CharField(read_only=True, allow_null=True,
                                  help_text=gettext_lazy("进展值（中期）或完成值（验收）；未填写为 null"))
    evidence = serializers.CharField(read_only=True, help_text=gettext_lazy("佐证说明"))

    def to_representation(self, row):
        return {"kind": row.get("kind", ""), "indicator": row.get("indicator", ""),
                "target_value": str(row.get("target_value", "")), "unit": row.get("unit", ""),
                "value": row.get("value") or None, "evidence": row.get("evidence", "")}


class SpendingRowSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=BudgetLine.Category.choices, read_only=True,
                                       help_text=gettext_lazy("预算科目"))
    category_display = serializers.CharField(read_only=True)
    budget_fiscal = money_field(help_text=gettext_lazy("预算财政资金（元）"))
    budget_self = money_field(help_text=gettext_lazy("预算自筹资金（元）"))
    fiscal = money_field(allow_null=True, help_text=gettext_lazy("已支出财政资金（元）；未填写为 null"))
    self = money_field(allow_null=True, help_text=gettext_lazy("已支出自筹资金（元）；未填写为 null"))

    def to_representation(self, row):
        category = row.get("category", "")
        return {"category": category, "category_display": str(CATEGORY_LABELS.get(category, category)),
                "budget_fiscal": _money(row.get("budget_fiscal")) or "0.00",
                "budget_self": _money(row.get("budget_self")) or "0.00",
                "fiscal": _money(row.get("fiscal")), "self": _money(row.get("self"))}


class CheckpointAttachmentSerializer(serializers.ModelSerializer):
    kind = enum_field("CheckpointAttachmentKind", CheckpointAttachmentKind)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    name = serializers.CharField(source="original_name", read_only=True, help_text=gettext_lazy("原文件名"))
    size = serializers.IntegerField(read_only=True, help_text=gettext_lazy("大小（字节）"))
    uploaded_by = serializers.CharField(source="uploaded_by.display_name", read_only=True,
                                        help_text=gettext_lazy("上传人"))
    download_url = serializers.SerializerMethodField(help_text=gettext_lazy("下载地址（需登录）"))

    class Meta:
        model = CheckpointAttachment
        fields = ["id", "kind", "kind_display", "name", "content_type", "size", "sha256", "attempt", "uploaded_by",
                  "uploaded_at", "download_url"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_download_url(self, obj) -> str:
        # the bureau downloads through its office pages, the organisation through its portal
        name = "checkpoints_office:attachment" if selectors.sees_all(request_user(self)) else "checkpoints:attachment"
        url = reverse(name, args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ReportListSerializer(serializers.ModelSerializer):
    """What a 中期报告 and a 验收申请 show in a list."""

    project = CheckpointProjectSerializer(read_only=True)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    spent_fiscal = money_field(help_text=gettext_lazy("已支出财政资金合计（元）"))
    spent_self = money_field(help_text=gettext_lazy("已支出自筹资金合计（元）"))
    expert_score = serializers.DecimalField(
        max_digits=6, decimal_places=2, coerce_to_string=True, read_only=True, allow_null=True,
        help_text=gettext_lazy("专家评审得分，仅科技局可见（承担单位看到的是结论）；尚未评审为 null"))

    common_fields = ["id", "project", "state", "state_display", "attempt", "spent_fiscal", "spent_self",
                     "expert_score", "expert_review_count", "rectify_due", "submitted_at", "concluded_at",
                     "created_at", "updated_at"]


    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not selectors.sees_all(request_user(self)):
            data["expert_score"] = None  # as on the portal: the organisation learns the conclusion, not the score
        return data


class ReportDetailMixin(serializers.Serializer):
    targets = serializers.SerializerMethodField(help_text=gettext_lazy("绩效指标完成情况（与任务书指标一一对应，顺序相同）"))
    spending = serializers.SerializerMethodField(help_text=gettext_lazy("经费支出（按预算科目）"))
    attachments = serializers.SerializerMethodField(help_text=gettext_lazy("附件（不含已移除的）"))
    submitted_by = serializers.CharField(source="submitted_by.display_name", read_only=True, allow_null=True,
                                         default=None, help_text=gettext_lazy("提交人"))
    concluded_by = serializers.CharField(source="concluded_by.display_name", read_only=True, allow_null=True,
                                         default=None, help_text=gettext_lazy("结论人"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：save、submit、attach、conclude"))
    conclusions = serializers.SerializerMethodField(
        help_text=gettext_lazy("科技局此刻可给出的结论代码（conclude 的 conclusion）"))

    detail_fields = ["targets", "spending", "attachments", "conclusion_note", "rectify_note", "fault",
                     "submitted_by", "concluded_by", "available_actions", "conclusions"]

    @extend_schema_field(TargetRowSerializer(many=True))
    def get_targets(self, obj):
        return TargetRowSerializer(obj.targets, many=True).data

    @extend_schema_field(SpendingRowSerializer(many=True))
    def get_spending(self, obj):
        return SpendingRowSerializer(obj.spending, many=True).data

    @extend_schema_field(CheckpointAttachmentSerializer(many=True))
    def get_attachments(self, obj):
        rows = [a for a in obj.attachments.all() if a.removed_at is None]
        return CheckpointAttachmentSerializer(rows, many=True, context=self.context).data

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        actions = []
        if obj.state in obj.EDITABLE_STATES and _may_report(user, obj):
            actions += ["save", "submit", "attach"]
        if self.get_conclusions(obj):
            actions.append("conclude")
        return actions

    def get_conclusions(self, obj) -> list[str]:
        if obj.project.state != Project.State.ESTABLISHED or not _is_officer(request_user(self)):
            return []
        return list(services.allowed_conclusions(obj))


class MidtermListSerializer(ReportListSerializer):
    state = enum_field("MidtermState", MidtermReport.State)

    class Meta:
        model = MidtermReport
        fields = [*ReportListSerializer.common_fields, "due_date"]
        read_only_fields = fields


class MidtermSerializer(ReportDetailMixin, MidtermListSerializer):
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True,
                                         help_text=gettext_lazy("发起人"))

    class Meta(MidtermListSerializer.Meta):
        fields = [*MidtermListSerializer.Meta.fields, "progress", "requested_by", *ReportDetailMixin.detail_fields]
        read_only_fields = fields


class AcceptanceReportListSerializer(ReportListSerializer):
    state = enum_field("AcceptanceState", AcceptanceReport.State)
    due_date = serializers.SerializerMethodField(help_text=gettext_lazy("验收申请期限（项目结束后6个月）"))

    class Meta:
        model = AcceptanceReport
        fields = [*ReportListSerializer.common_fields, "due_date"]
        read_only_fields = fields

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_due_date(self, obj):
        due = services.acceptance_due_date(obj.project)
        return due.isoformat() if due else None


class AcceptanceReportSerializer(ReportDetailMixin, AcceptanceReportListSerializer):
    created_by = serializers.CharField(source="created_by.display_name", read_only=True,
                                       help_text=gettext_lazy("填报人"))

    class Meta(AcceptanceReportListSerializer.Meta):
        fields = [*AcceptanceReportListSerializer.Meta.fields, "summary", "created_by", *ReportDetailMixin.detail_fields]
        read_only_fields = fields


class ExtensionSerializer(serializers.ModelSerializer):
    project = CheckpointProjectSerializer(read_only=True)
    state = enum_field("ExtensionState", ExtensionRequest.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True,
                                         help_text=gettext_lazy("申请人"))
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("审批人"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：approve、reject"))

    class Meta:
        model = ExtensionRequest
        fields = ["id", "project", "months", "reason", "original_end_date", "new_end_date", "state", "state_display",
                  "requested_by", "requested_at", "decided_by", "decided_at", "decision_note", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, obj) -> list[str]:
        if obj.state == ExtensionRequest.State.SUBMITTED and _is_officer(request_user(self)):
            return ["approve", "reject"]
        return []


class MidtermSkippedSerializer(serializers.Serializer):
    project = CheckpointProjectSerializer(read_only=True)
    reason = serializers.CharField(read_only=True, help_text=gettext_lazy("未发起的原因"))


class MidtermOpenedSerializer(serializers.Serializer):
    opened = MidtermListSerializer(many=True, read_only=True, help_text=gettext_lazy("已发起的中期检查"))
    skipped = MidtermSkippedSerializer(many=True, read_only=True, help_text=gettext_lazy("未发起的项目及原因"))


# ---- input ----------------------------------------------------------------------------------------------------


def _id_field(**kwargs):
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class MidtermOpenSerializer(serializers.Serializer):
    """发起中期检查：一次可选多个项目；不能开展的项目列入 skipped 并说明原因。"""

    project_ids = serializers.ListField(child=_id_field(), min_length=1, max_length=500,
                                        help_text=gettext_lazy("项目 ID 列表"))
    due_date = serializers.DateField(help_text=gettext_lazy("中期报告提交期限（不早于今天）"))


class ReportTargetInputSerializer(serializers.Serializer):
    value = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True,
                                  help_text=gettext_lazy("进展值或完成值（不小于0的数值；可暂不填写）"))
    evidence = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                     help_text=gettext_lazy("佐证说明"))


class SpendingInputSerializer(serializers.Serializer):
    fiscal = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True,
                                   help_text=gettext_lazy("已支出财政资金（元，最多两位小数；可暂不填写）"))
    self = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True,
                                 help_text=gettext_lazy("已支出自筹资金（元，最多两位小数；可暂不填写）"))


class ReportInputSerializer(serializers.Serializer):
    targets = ReportTargetInputSerializer(many=True, required=False, max_length=200,
                                    help_text=gettext_lazy("每个绩效指标一项，顺序与详情中的 targets 相同"))
    spending = serializers.DictField(child=SpendingInputSerializer(), required=False,
                                     help_text=gettext_lazy("预算科目代码 → 支出；未列出的科目保持不变为空"))

    def validate_spending(self, value):
        unknown = sorted(set(value) - set(BudgetLine.Category.values))
        if unknown:
            raise serializers.ValidationError(_("未知的预算科目：%(c)s。") % {"c": "、".join(unknown)})
        return value


class MidtermInputSerializer(ReportInputSerializer):
    """填写中期报告（待提交或整改中）；未提交前各项可暂不填写。"""

    progress = serializers.CharField(max_length=50000, required=False, allow_blank=True,
                                     help_text=gettext_lazy("总体进展情况"))


class AcceptanceInputSerializer(ReportInputSerializer):
    """填写验收申请（草稿或整改中）；未提交前各项可暂不填写。"""

    summary = serializers.CharField(max_length=50000, required=False, allow_blank=True,
                                    help_text=gettext_lazy("项目总结"))


class ConcludeInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                 help_text=gettext_lazy("结论意见；整改、不通过（结题）时必填"))
    rectify_due = serializers.DateField(required=False, allow_null=True,
                                        help_text=gettext_lazy("整改期限（整改时；不填为3个月后，最长3个月）"))
    fault = serializers.BooleanField(default=False,
                                     help_text=gettext_lazy("不通过时：是否因承担单位原因（是则全额追回财政资金）"))


class MidtermConcludeSerializer(ConcludeInputSerializer):
    """中期检查结论：pass 通过（中期拨付批次到期）；rectify 整改（一次）；fail 不通过（项目终止，追回财政资金）。"""

    conclusion = serializers.ChoiceField(choices=list(services.MIDTERM_CONCLUSIONS.items()),
                                         help_text=gettext_lazy("pass 通过；rectify 整改；fail 不通过"))


class AcceptanceConcludeSerializer(ConcludeInputSerializer):
    """验收结论：pass 通过；rectify 整改（一次）；pass_rectified 整改后通过；fail 不通过；close 结题。"""

    conclusion = serializers.ChoiceField(
        choices=list(services.ACCEPTANCE_CONCLUSIONS.items()),
        help_text=gettext_lazy("pass 通过；rectify 整改；pass_rectified 整改后通过；fail 不通过；close 结题"))


class CheckpointAttachmentInputSerializer(serializers.Serializer):
    """上传附件（multipart/form-data）：类型按文件内容判断，支持 PDF、Word、Excel、JPG、PNG。"""

    kind = serializers.ChoiceField(choices=CheckpointAttachmentKind.choices, help_text=gettext_lazy("附件类型"))
    file = serializers.FileField(help_text=gettext_lazy("文件"))


class AcceptanceStartSerializer(serializers.Serializer):
    """申请验收：打开项目的验收申请供填写（已有未取消的验收申请时返回该申请）。"""

    project = _id_field(help_text=gettext_lazy("项目 ID"))


class ExtensionInputSerializer(serializers.Serializer):
    """延期申请：每个项目一次，1至12个月，须在项目结束日期前至少3个月申请。"""

    project = _id_field(help_text=gettext_lazy("项目 ID"))
    months = serializers.IntegerField(help_text=gettext_lazy("延期月数（1至12）"))
    reason = serializers.CharField(max_length=5000, allow_blank=True, help_text=gettext_lazy("延期理由"))


class ExtensionDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                 help_text=gettext_lazy("审批意见；不予批准时必填"))


# ---- viewsets -------------------------------------------------------------------------------------------------


def _require_org_user(user, refusal: str) -> None:
    if selectors.org_of(user) is None:
        raise PermissionRefused(refusal)


def _visible_project(user, project_id) -> int:
    """The id of a project the user may see (400 for an unknown or another organisation's project)."""
    if not project_selectors.projects_visible_to(user).filter(pk=project_id).exists():
        raise serializers.ValidationError({"project": [_("项目不存在。")]})
    return project_id


def _report_input(data) -> dict:
    kwargs = {}
    if "targets" in data:
        kwargs["targets"] = [dict(t) for t in data["targets"]]
    if "spending" in data:
        kwargs["spending"] = {category: dict(values) for category, values in data["spending"].items()}
    return kwargs


class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, RowViewSet):
    """What the 中期报告 and 验收申请 endpoints share: the scoped rows, save, submit, conclude and the attachments."""

    report_kind = ""
    search_fields = []
    http_method_names = ["get", "post", "patch", "head", "options"]
    list_serializer = detail_serializer = input_serializer = conclude_serializer = None

    def visible(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible().select_related("project__organization", "project__call")

    def get_serializer_class(self):
        return {"list": self.list_serializer, "partial_update": self.input_serializer,
                "save": self.input_serializer, "conclude": self.conclude_serializer,
                "attachments": CheckpointAttachmentInputSerializer}.get(self.action, self.detail_serializer)

    def _detail_queryset(self):
        model = self.visible().model
        return self.visible().select_related("submitted_by", "concluded_by").prefetch_related(
            Prefetch("attachments", queryset=CheckpointAttachment.objects.select_related("uploaded_by")
                     .filter(removed_at__isnull=True).order_by("kind", "id"))
        ).select_related(*(["requested_by"] if model is MidtermReport else ["created_by"]))

    def row(self, pk):
        try:
            return self._detail_queryset().get(pk=pk)
        except self.visible().model.DoesNotExist:
            raise Http404 from None

    def _save(self, report, data):
        raise NotImplementedError

    def update(self, request, *args, **kwargs):
        report = self.get_object()
        self._save(report, self._input(self.input_serializer))
        return self._respond(report.pk)

    def _attach(self, request):
        report = self.get_object()
        data = self._input(CheckpointAttachmentInputSerializer)
        services.add_attachment(actor=request.user, report_kind=self.report_kind, report_id=report.pk,
                                kind=data["kind"], uploaded=data["file"])
        return self._respond(report.pk, status.HTTP_201_CREATED)

    def _remove(self, request, attachment_id):
        report = self.get_object()
        if not report.attachments.filter(pk=attachment_id, removed_at__isnull=True).exists():  # removed, or not its own
            raise Http404
        services.remove_attachment(actor=request.user, attachment_id=attachment_id)
        return self._respond(report.pk)


_midterm_action = action_schema(MidtermSerializer, MIDTERM_ERRORS)


ATTACHMENT_PATH = r"attachments/(?P<attachment_id>[0-9]{1,18})/remove"


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("中期报告列表"),
        description=gettext_lazy("科技局（业务处室、局领导）看到全部中期报告；承担单位用户看到本单位的；专家等其他用户为空列表。"
                                 "按提交期限排序；可按状态、申报指南、项目筛选。"),
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("中期报告详情"),
        description=gettext_lazy("含绩效指标进展、经费支出、附件、专家评审得分和结论。"),
        responses={200: MidtermSerializer, 404: MIDTERM_ERRORS[404]},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("填写中期报告"),
        description=gettext_lazy("承担单位在待提交或整改中状态保存进展、各指标进展值和佐证、各科目支出；提交前可暂不填写。"),
        request=MidtermInputSerializer,
        responses={200: MidtermSerializer, **MIDTERM_ERRORS},
    ),
)
class MidtermViewSet(ReportViewSet):
    # 中期报告, scoped by selectors.midterms_visible_to; the services check who may fill in, open and conclude.

    report_kind = "midterm"
    filterset_class = MidtermFilter
    ordering_fields = ["due_date", "submitted_at", "created_at"]
    ordering = ["due_date", "id"]
    list_serializer, detail_serializer = MidtermListSerializer, MidtermSerializer
    input_serializer, conclude_serializer = MidtermInputSerializer, MidtermConcludeSerializer

    def visible(self):
        return selectors.midterms_visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action == "open":
            return MidtermOpenSerializer
        return super().get_serializer_class()

    def _save(self, report, data):
        services.save_midterm(actor=self.request.user, report_id=report.pk, progress=data.get("progress"),
                              **_report_input(data))

    @_midterm_action(
        gettext_lazy("发起中期检查"),
        gettext_lazy("科技局业务处室对选定项目发起中期检查并设定提交期限，通知承担单位。已结束、揭榜挂帅、后补助、"
                     "已发起过或已进入验收的项目不发起，列入 skipped 并说明原因。"),
        MidtermOpenSerializer,
        {200: MidtermOpenedSerializer, **NO_404},
    )
    @action(detail=False, methods=["post"])
    def open(self, request):
        if not _is_officer(request.user):
            raise PermissionRefused(_("只有科技局业务处室可以办理中期检查、验收和延期。"))
        data = self._input(MidtermOpenSerializer)
        ids = set(data["project_ids"])
        known = set(project_selectors.projects_visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        if ids - known:
            raise serializers.ValidationError(
                {"project_ids": [_("项目不存在：%(ids)s。") % {"ids": "、".join(str(i) for i in sorted(ids - known))}]})
        opened, skipped = services.open_midterm(actor=request.user, project_ids=sorted(ids),
                                                due_date=data["due_date"])
        rows = self.get_queryset().filter(pk__in=[r.pk for r in opened]).order_by("project__number", "id")
        context = self.get_serializer_context()
        return Response({
            "opened": MidtermListSerializer(rows, many=True, context=context).data,
            "skipped": [{"project": CheckpointProjectSerializer(project, context=context).data, "reason": str(reason)}
                        for project, reason in skipped],
        })

    @_midterm_action(gettext_lazy("填写中期报告"), gettext_lazy("同 PATCH：保存进展、指标进展值和支出。"),
                     MidtermInputSerializer)
    @action(detail=True, methods=["post"])
    def save(self, request, pk=None):
        return self.update(request)

    @_midterm_action(gettext_lazy("提交中期报告"),
                     gettext_lazy("承担单位提交（整改后再次提交）。进展、每个指标的进展值、各科目支出和中期进展报告"
                                  "（整改后为整改报告）须齐全，否则返回 400 并逐项列出。"))
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = self.get_object()
        services.submit_midterm(actor=request.user, report_id=report.pk)
        return self._respond(report.pk)

    @_midterm_action(gettext_lazy("中期检查结论"),
                     gettext_lazy("科技局业务处室在专家评审后给出结论：通过（中期拨付批次到期）、整改（一次，最长3个月）"
                                  "或不通过（项目终止，追回未使用的财政资金，因承担单位原因则全额追回）。"),
                     MidtermConcludeSerializer)
    @action(detail=True, methods=["post"])
    def conclude(self, request, pk=None):
        report = self.get_object()
        data = self._input(MidtermConcludeSerializer)
        services.conclude_midterm(actor=request.user, report_id=report.pk, conclusion=data["conclusion"],
                                  note=data.get("note", ""), rectify_due=data.get("rectify_due"), fault=data["fault"])
        return self._respond(report.pk)

    @_midterm_action(gettext_lazy("上传中期报告附件"),
                     gettext_lazy("承担单位在待提交或整改中状态上传（multipart/form-data：kind、file）。"),
                     {"multipart/form-data": CheckpointAttachmentInputSerializer},
                     {201: MidtermSerializer, **MIDTERM_ERRORS})
    @action(detail=True, methods=["post"])
    def attachments(self, request, pk=None):
        return self._attach(request)

    @_midterm_action(gettext_lazy("移除中期报告附件"), gettext_lazy("只能移除本轮尚未提交的附件。"))
    @action(detail=True, methods=["post"], url_path=ATTACHMENT_PATH)
    def remove_attachment(self, request, pk=None, attachment_id=None):
        return self._remove(request, attachment_id)


_acceptance_action = action_schema(AcceptanceReportSerializer, ACCEPTANCE_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("验收申请列表"),
        description=gettext_lazy("科技局（业务处室、局领导）看到全部验收申请；承担单位用户看到本单位的；专家等其他用户为空列表。"
                                 "新建的在前；可按状态、申报指南、项目筛选。"),
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("验收申请详情"),
        description=gettext_lazy("含项目总结、绩效指标完成情况、经费支出、附件、专家评审得分和结论。"),
        responses={200: AcceptanceReportSerializer, 404: ACCEPTANCE_ERRORS[404]},
    ),
    create=extend_schema(
        summary=gettext_lazy("申请验收"),
        description=gettext_lazy("承担单位为在研项目打开验收申请（中期检查须已结束），新建返回 201；"
                                 "已有验收申请时返回该申请（200）。"),
        request=AcceptanceStartSerializer,
        responses={201: AcceptanceReportSerializer, 200: AcceptanceReportSerializer, **NO_404},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("填写验收申请"),
        description=gettext_lazy("承担单位在草稿或整改中状态保存项目总结、各指标完成值和佐证、各科目支出；提交前可暂不填写。"),
        request=AcceptanceInputSerializer,
        responses={200: AcceptanceReportSerializer, **ACCEPTANCE_ERRORS},
    ),
)
class AcceptanceViewSet(mixins.CreateModelMixin, ReportViewSet):
    # 验收申请, scoped by selectors.acceptances_visible_to; the services check who may fill in and conclude.

    report_kind = "acceptance"
    filterset_class = AcceptanceFilter
    ordering_fields = ["submitted_at", "created_at"]
    ordering = ["-created_at", "-id"]
    list_serializer, detail_serializer = AcceptanceReportListSerializer, AcceptanceReportSerializer
    input_serializer, conclude_serializer = AcceptanceInputSerializer, AcceptanceConcludeSerializer

    def visible(self):
        return selectors.acceptances_visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action == "create":
            return AcceptanceStartSerializer
        return super().get_serializer_class()

    def _save(self, report, data):
        services.save_acceptance(actor=self.request.user, report_id=report.pk, summary=data.get("summary"),
                                 **_report_input(data))

    def create(self, request, *args, **kwargs):
        _require_org_user(request.user, _("只有项目承担单位可以申请验收。"))
        data = self._input(AcceptanceStartSerializer)
        project_id = _visible_project(request.user, data["project"])
        existed = AcceptanceReport.objects.filter(project_id=project_id).exists()
        report = services.start_acceptance(actor=request.user, project_id=project_id)
        return self._respond(report.pk, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @_acceptance_action(gettext_lazy("填写验收申请"), gettext_lazy("同 PATCH：保存项目总结、指标完成值和支出。"),
                        AcceptanceInputSerializer)
    @action(detail=True, methods=["post"])
    def save(self, request, pk=None):
        return self.update(request)

    @_acceptance_action(gettext_lazy("提交验收申请"),
                        gettext_lazy("承担单位提交（整改后再次提交）。项目总结、每个指标的完成值和佐证、各科目支出，以及项目"
                                     "总结报告、经费决算报告、专项审计报告（整改后为整改报告）须齐全，否则返回 400 并逐项列出。"))
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        report = self.get_object()
        services.submit_acceptance(actor=request.user, report_id=report.pk)
        return self._respond(report.pk)

    @_acceptance_action(gettext_lazy("验收结论"),
                        gettext_lazy("科技局业务处室在专家评审后给出结论：通过（项目完成，验收拨付批次到期）、整改（一次，"
                                     "最长3个月）、整改后通过、不通过（追回财政资金，因承担单位原因则全额追回）或结题"
                                     "（追回未使用的财政资金）。"),
                        AcceptanceConcludeSerializer)
    @action(detail=True, methods=["post"])
    def conclude(self, request, pk=None):
        report = self.get_object()
        data = self._input(AcceptanceConcludeSerializer)
        services.conclude_acceptance(actor=request.user, report_id=report.pk, conclusion=data["conclusion"],
                                     note=data.get("note", ""), rectify_due=data.get("rectify_due"),
                                     fault=data["fault"])
        return self._respond(report.pk)

    @_acceptance_action(gettext_lazy("上传验收申请附件"),
                        gettext_lazy("承担单位在草稿或整改中状态上传（multipart/form-data：kind、file）。"),
                        {"multipart/form-data": CheckpointAttachmentInputSerializer},
                        {201: AcceptanceReportSerializer, **ACCEPTANCE_ERRORS})
    @action(detail=True, methods=["post"])
    def attachments(self, request, pk=None):
        return self._attach(request)

    @_acceptance_action(gettext_lazy("移除验收申请附件"), gettext_lazy("只能移除本轮尚未提交的附件。"))
    @action(detail=True, methods=["post"], url_path=ATTACHMENT_PATH)
    def remove_attachment(self, request, pk=None, attachment_id=None):
        return self._remove(request, attachment_id)


_extension_action = action_schema(ExtensionSerializer, EXTENSION_ERRORS, request=ExtensionDecisionSerializer)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("延期申请列表"),
        description=gettext_lazy("科技局（业务处室、局领导）看到全部延期申请；承担单位用户看到本单位的；专家等其他用户为空列表。"
                                 "新申请的在前；state=submitted 为待审批。"),
    ),
    retrieve=extend_schema(summary=gettext_lazy("延期申请详情"),
                           responses={200: ExtensionSerializer, 404: EXTENSION_ERRORS[404]}),
    create=extend_schema(
        summary=gettext_lazy("申请延期"),
        description=gettext_lazy("承担单位为在研项目申请延期：每个项目一次，1至12个月，须在结束日期前至少3个月申请；"
                                 "已提交验收申请的项目不能申请。"),
        request=ExtensionInputSerializer,
        responses={201: ExtensionSerializer, **NO_404},
    ),
)
class ExtensionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RowViewSet):
    # 延期申请, scoped by selectors.extensions_visible_to; the organisation asks, the bureau decides.

    filterset_class = ExtensionFilter
    search_fields = []
    ordering_fields = ["requested_at", "decided_at"]
    ordering = ["-requested_at", "-id"]
    detail_serializer = ExtensionSerializer
    action_serializers = {"create": ExtensionInputSerializer, "approve": ExtensionDecisionSerializer,
                          "reject": ExtensionDecisionSerializer}

    def get_queryset(self):
        return selectors.extensions_visible_to(self.request.user).select_related(
            "project__call", "requested_by", "decided_by")

    def row(self, pk):
        try:
            return self.get_queryset().get(pk=pk)
        except ExtensionRequest.DoesNotExist:
            raise Http404 from None

    def create(self, request, *args, **kwargs):
        _require_org_user(request.user, _("只有项目承担单位可以申请延期。"))
        data = self._input(ExtensionInputSerializer)
        project_id = _visible_project(request.user, data["project"])
        ext = services.request_extension(actor=request.user, project_id=project_id, months=data["months"],
                                         reason=data["reason"])
        return self._respond(ext.pk, status.HTTP_201_CREATED)

    @_extension_action(gettext_lazy("批准延期"),
                       gettext_lazy("科技局业务处室批准：项目结束日期调整为申请的日期，验收申请期限相应顺延。"))
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        ext = self.get_object()
        data = self._input(ExtensionDecisionSerializer)
        services.decide_extension(actor=request.user, request_id=ext.pk, approve=True, note=data.get("note", ""))
        return self._respond(ext.pk)

    @_extension_action(gettext_lazy("不予批准延期"), gettext_lazy("科技局业务处室不予批准，须填写审批意见。"))
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        ext = self.get_object()
        data = self._input(ExtensionDecisionSerializer)
        services.decide_extension(actor=request.user, request_id=ext.pk, approve=False, note=data.get("note", ""))
        return self._respond(ext.pk)


# ---- 项目终止建议 ------------------------------------------------------------------------------------------------


class TerminationProposalFilter(MidtermFilter):
    state = django_filters.ChoiceFilter(field_name="state", choices=TerminationProposal.State.choices,
                                        label=gettext_lazy("状态"))

    class Meta:
        model = TerminationProposal
        fields = ["state", "call", "project"]


class TerminationProposalSerializer(serializers.ModelSerializer):
    project = CheckpointProjectSerializer(read_only=True)
    reason = enum_field("TerminationProposalReason", TerminationProposal.Reason)
    reason_display = serializers.CharField(source="get_reason_display", read_only=True)
    due_date = serializers.DateField(read_only=True, help_text=gettext_lazy("建议所针对的验收申请期限"))
    overdue_days = serializers.SerializerMethodField(help_text=gettext_lazy("验收申请期限已过去的天数"))
    state = enum_field("TerminationProposalState", TerminationProposal.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("处理人"))
    note = serializers.CharField(read_only=True, help_text=gettext_lazy("终止理由或不予终止的理由"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：accept（终止项目）、dismiss（不予终止）"))

    class Meta:
        model = TerminationProposal
        fields = ["id", "project", "reason", "reason_display", "due_date", "overdue_days", "state", "state_display",
                  "created_at", "decided_by", "decided_at", "note", "available_actions"]
        read_only_fields = fields

    def get_overdue_days(self, obj) -> int:
        return proposals.overdue_days(obj.due_date)

    def get_available_actions(self, obj) -> list[str]:
        if obj.state == TerminationProposal.State.PROPOSED and _is_officer(request_user(self)):
            return ["accept", "dismiss"]
        return []


class TerminationAcceptSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, allow_blank=True, help_text=gettext_lazy("终止理由（必填）"))
    fault = serializers.BooleanField(default=False,
                                     help_text=gettext_lazy("是否因承担单位原因（逾期未申请验收一般为是）"))


class TerminationDismissSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, allow_blank=True,
                                   help_text=gettext_lazy("不予终止的理由（必填），如已补交验收申请、已批准延期"))


_termination_action = action_schema(TerminationProposalSerializer, TERMINATION_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("项目终止建议列表"),
        description=gettext_lazy("逾期未申请验收的在研项目由系统提出终止建议，科技局业务处室决定终止项目或不予终止。"
                                 "仅科技局（业务处室、局领导）可查看，其他用户为404。新提出的在前；state=proposed 为待处理。"),
        responses={200: TerminationProposalSerializer(many=True), 404: TERMINATION_ERRORS[404]},
    ),
    retrieve=extend_schema(summary=gettext_lazy("项目终止建议详情"),
                           responses={200: TerminationProposalSerializer, 404: TERMINATION_ERRORS[404]}),
)
class TerminationProposalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RowViewSet):
    # 项目终止建议, the bureau's only (projects.checkpoints.proposals); the officer decides once.

    filterset_class = TerminationProposalFilter
    search_fields = []
    ordering_fields = ["created_at", "due_date", "decided_at"]
    ordering = ["-created_at", "-id"]
    detail_serializer = TerminationProposalSerializer
    action_serializers = {"accept": TerminationAcceptSerializer, "dismiss": TerminationDismissSerializer}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return TerminationProposal.objects.none()
        if not selectors.sees_all(self.request.user):
            raise Http404  # not even an empty list: the proposals are the bureau's business
        return proposals.proposals_visible_to(self.request.user).select_related("project__call", "decided_by")

    def row(self, pk):
        try:
            return self.get_queryset().get(pk=pk)
        except TerminationProposal.DoesNotExist:
            raise Http404 from None

    @_termination_action(gettext_lazy("终止项目"),
                         gettext_lazy("科技局业务处室采纳终止建议：按项目终止的规定终止项目（须填写终止理由，注明是否因承担单位原因），"
                                      "未结束的考核一并结束，任务书终止。已处理的建议再次处理返回409。"),
                         request=TerminationAcceptSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        proposal = self.get_object()
        data = self._input(TerminationAcceptSerializer)
        proposals.decide_proposal(actor=request.user, proposal_id=proposal.pk, accept=True, reason=data["reason"],
                                  fault=data["fault"])
        return self._respond(proposal.pk)

    @_termination_action(gettext_lazy("不予终止"),
                         gettext_lazy("科技局业务处室不予终止，须填写理由（如已补交验收申请、已批准延期）。已处理的建议再次处理返回409。"),
                         request=TerminationDismissSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        proposal = self.get_object()
        data = self._input(TerminationDismissSerializer)
        proposals.decide_proposal(actor=request.user, proposal_id=proposal.pk, accept=False, reason=data["reason"])
        return self._respond(proposal.pk)

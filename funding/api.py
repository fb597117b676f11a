"""REST API for 任务书 and the money: agreements (the organisation, the bureau), the finance desk's due tranches
and disbursements, termination (终止) and recovery orders (追回单) with their repayments.

Every queryset comes from ``funding.selectors`` (scoped: another organisation's agreement is a 404, and a user who
may see nothing — an expert — gets empty lists); every write calls the same ``funding.services`` function as the
pages, and a refusal comes back as 400/403/409 with the reason (accounts.exceptions.api_exception_handler).
Recording and deciding disbursements and repayments is for finance only (403 with the reason; the services check
too); terminating a project and opening a recovery order is the officers' (the services refuse anybody else). Money
is in 元, as decimal strings with two places.
"""

from decimal import Decimal

import django_filters
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.exceptions import PermissionRefused
from accounts.models import CreditRecord
from projects import services as project_services
from projects.api import (
    MONEY_SCHEMA,
    RowViewSet,
    ScopedViewSet,
    action_schema,
    enum_field,
    error_responses,
    money_field,
    pk_of,
    request_user,
)
from projects.filters import MAX_ID
from projects.models import BudgetLine, PerformanceTarget

from . import budget, selectors, services, subsidy
from .models import (
    AgreementBudgetLine,
    BudgetAdjustment,
    Condition,
    Disbursement,
    PostSubsidyClaim,
    RecoveryOrder,
    Repayment,
    TaskAgreement,
    Tranche,
)

AG = TaskAgreement.State
ZERO = Decimal("0.00")

AGREEMENT_ERRORS = error_responses(gettext_lazy("任务书不存在或无权查看"))
DISBURSEMENT_ERRORS = error_responses(gettext_lazy("拨付记录不存在或无权查看"))
RECORD_ERRORS = {k: v for k, v in DISBURSEMENT_ERRORS.items() if k != 404}
RECOVERY_ERRORS = error_responses(gettext_lazy("追回单不存在或无权查看"))
OPEN_RECOVERY_ERRORS = {k: v for k, v in RECOVERY_ERRORS.items() if k != 404}
REPAYMENT_ERRORS = error_responses(gettext_lazy("缴回记录不存在或无权查看"))

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=gettext_lazy("幂等键（8至64位字母、数字或 . _ : -）；请求体中未填写 idempotency_key 时使用"),
)


def _yuan(value) -> str:
    return f"{value:.2f}"


# ---- filters: they narrow a selector's queryset, never widen it -----------------------------------------------


def _search(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    return queryset.filter(Q(number__icontains=value) | Q(project__title__icontains=value)
                           | Q(project__organization__name__icontains=value))


class AgreementFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=AG.choices, label=gettext_lazy("状态"))
    q = django_filters.CharFilter(method=_search, label=gettext_lazy("任务书编号、项目名称或承担单位"))

    class Meta:
        model = TaskAgreement
        fields = ["state", "q"]


class DisbursementFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=Disbursement.State.choices,
                                        label=gettext_lazy("状态；recorded 为待审核队列"))
    kind = django_filters.ChoiceFilter(field_name="kind", choices=Disbursement.Kind.choices,
                                       label=gettext_lazy("类型"))
    agreement = django_filters.NumberFilter(field_name="agreement_id", min_value=1, max_value=MAX_ID,
                                            label=gettext_lazy("任务书 ID"))

    class Meta:
        model = Disbursement
        fields = ["state", "kind", "agreement"]


class RecoveryFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=RecoveryOrder.State.choices,
                                        label=gettext_lazy("状态；open 为追回中"))
    agreement = django_filters.NumberFilter(field_name="agreement_id", min_value=1, max_value=MAX_ID,
                                            label=gettext_lazy("任务书 ID"))

    class Meta:
        model = RecoveryOrder
        fields = ["state", "agreement"]


# ---- output ---------------------------------------------------------------------------------------------------


class AgreementBriefSerializer(serializers.ModelSerializer):
    project_id = serializers.IntegerField(source="project.id", read_only=True)
    project_number = serializers.CharField(source="project.number", read_only=True, help_text=gettext_lazy("项目编号"))
    project_title = serializers.CharField(source="project.title", read_only=True, help_text=gettext_lazy("项目名称"))
    organization_name = serializers.CharField(source="project.organization.name", read_only=True,
                                              help_text=gettext_lazy("承担单位"))

    class Meta:
        model = TaskAgreement
        fields = ["id", "number", "project_id", "project_number", "project_title", "organization_name"]
        read_only_fields = fields


class AgreementListSerializer(AgreementBriefSerializer):
    state = enum_field("AgreementState", AG)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    fiscal_amount = money_field(help_text=gettext_lazy("财政资金（元）"))
    self_amount = money_field(help_text=gettext_lazy("自筹资金（元）"))
    paid_total = money_field(help_text=gettext_lazy("已拨付（元，已审核，扣除冲正）"))
    recorded_total = money_field(help_text=gettext_lazy("已登记待审核（元）"))
    unpaid = money_field(help_text=gettext_lazy("尚未拨付（元）= 财政资金 − 已拨付"))

    class Meta(AgreementBriefSerializer.Meta):
        fields = [*AgreementBriefSerializer.Meta.fields, "state", "state_display", "fiscal_amount", "self_amount",
                  "paid_total", "recorded_total", "unpaid", "start_date", "end_date", "signed_at", "created_at",
                  "updated_at"]
        read_only_fields = fields


class TrancheSerializer(serializers.ModelSerializer):
    state = enum_field("TrancheState", Tranche.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    condition = enum_field("TrancheCondition", Condition)
    condition_display = serializers.CharField(source="get_condition_display", read_only=True)
    amount = money_field(help_text=gettext_lazy("金额（元）"))
    paid_amount = money_field(help_text=gettext_lazy("已拨付（元）"))

    class Meta:
        model = Tranche
        fields = ["id", "position", "name", "amount", "paid_amount", "condition", "condition_display", "checkpoint",
                  "due_on", "state", "state_display", "due_at"]
        read_only_fields = fields


class DisbursementRowSerializer(serializers.ModelSerializer):
    """A disbursement as it appears on its agreement."""

    kind = enum_field("DisbursementKind", Disbursement.Kind)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    state = enum_field("DisbursementState", Disbursement.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    amount = money_field(help_text=gettext_lazy("金额（元）；冲正记录也为正数"))
    tranche_position = serializers.IntegerField(source="tranche.position", read_only=True,
                                                help_text=gettext_lazy("第几期"))
    tranche_name = serializers.CharField(source="tranche.name", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.display_name", read_only=True,
                                        help_text=gettext_lazy("登记人"))
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("审核人"))

    class Meta:
        model = Disbursement
        fields = ["id", "kind", "kind_display", "reverses", "tranche", "tranche_position", "tranche_name", "amount",
                  "voucher_no", "paid_on", "state", "state_display", "note", "recorded_by", "recorded_at",
                  "decided_by", "decided_at", "decision_note"]
        read_only_fields = fields


class DisbursementSerializer(DisbursementRowSerializer):
    """A disbursement on the finance desk."""

    agreement = AgreementBriefSerializer(read_only=True)
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：approve、reject、reverse"))

    class Meta(DisbursementRowSerializer.Meta):
        fields = [*DisbursementRowSerializer.Meta.fields, "agreement", "idempotency_key", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not selectors.is_finance(user):  # the role: a superuser is not a finance clerk (the services agree)
            return []
        if obj.state == Disbursement.State.RECORDED:
            return [] if obj.recorded_by_id == user.pk else ["approve", "reject"]
        if obj.state == Disbursement.State.APPROVED and obj.kind == Disbursement.Kind.PAYMENT:
            return ["reverse"]
        return []


@extend_schema_field({"type": "string", "enum": list(PerformanceTarget.Kind.values),
                      "description": "；".join(f"{v} {label}" for v, label in PerformanceTarget.Kind.choices)},
                     component_name="AgreementTargetKind")
class TargetKindField(serializers.ChoiceField):
    """绩效指标类型 (its own enum component: several models have a "kind")."""


class AgreementTargetSerializer(serializers.Serializer):
    kind = TargetKindField(choices=PerformanceTarget.Kind.choices, required=False, help_text=gettext_lazy("指标类型"))
    indicator = serializers.CharField(max_length=200, allow_blank=True, help_text=gettext_lazy("指标名称"))
    target_value = serializers.CharField(max_length=100, allow_blank=True, help_text=gettext_lazy("目标值"))
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text=gettext_lazy("计量单位"))


class AgreementBudgetLineSerializer(serializers.ModelSerializer):
    category = enum_field("BudgetCategory", BudgetLine.Category)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    fiscal_amount = money_field(help_text=gettext_lazy("财政资金（元）"))
    self_amount = money_field(help_text=gettext_lazy("自筹资金（元）"))

    class Meta:
        model = AgreementBudgetLine
        fields = ["category", "category_display", "fiscal_amount", "self_amount"]
        read_only_fields = fields


class AgreementSerializer(AgreementListSerializer):
    targets = AgreementTargetSerializer(many=True, read_only=True)
    budget_lines = AgreementBudgetLineSerializer(many=True, read_only=True,
                                        help_text=gettext_lazy("预算（按科目）；财政资金合计等于任务书财政资金"))
    org_confirmed_by = serializers.CharField(source="org_confirmed_by.display_name", read_only=True,
                                             allow_null=True, default=None, help_text=gettext_lazy("承担单位确认人"))
    office_confirmed_by = serializers.CharField(source="office_confirmed_by.display_name", read_only=True,
                                                allow_null=True, default=None, help_text=gettext_lazy("科技局确认人"))
    tranches = TrancheSerializer(many=True, read_only=True)
    disbursements = DisbursementRowSerializer(many=True, read_only=True)
    planned_total = serializers.SerializerMethodField(help_text=gettext_lazy("各期金额合计（元）"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：confirm、edit、tranches"))

    class Meta(AgreementListSerializer.Meta):
        fields = [*AgreementListSerializer.Meta.fields, "targets", "budget_lines", "org_confirmed_by",
                  "org_confirmed_at",
                  "office_confirmed_by", "office_confirmed_at", "planned_total", "tranches", "disbursements",
                  "available_actions"]
        read_only_fields = fields

    @extend_schema_field(MONEY_SCHEMA)
    def get_planned_total(self, obj):
        return _yuan(sum((t.amount for t in obj.tranches.all()), ZERO))

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not (user and user.is_authenticated) or obj.state not in TaskAgreement.EDITABLE_STATES:
            return []
        actions = []
        as_office = user.has_perm("funding.manage_agreements")
        as_org = user.has_perm("funding.confirm_agreement_obj", obj)
        # as services.confirm_agreement: the organisation's admin confirms as the organisation, even if an officer
        if (as_org and obj.state != AG.ORG_CONFIRMED) or (not as_org and as_office
                                                          and obj.state != AG.OFFICE_CONFIRMED):
            actions.append("confirm")
        if as_office:
            actions += ["edit", "tranches"]
        return actions


class DueTrancheSerializer(TrancheSerializer):
    agreement = AgreementBriefSerializer(read_only=True)
    pending = serializers.SerializerMethodField(help_text=gettext_lazy("已登记待审核（元）"))
    open_amount = serializers.SerializerMethodField(help_text=gettext_lazy("尚可登记（元）= 金额 − 已拨付 − 待审核"))

    class Meta(TrancheSerializer.Meta):
        fields = [*TrancheSerializer.Meta.fields, "agreement", "pending", "open_amount"]
        read_only_fields = fields

    @staticmethod
    def _pending(obj):
        return getattr(obj, "pending", None) or ZERO

    @extend_schema_field(MONEY_SCHEMA)
    def get_pending(self, obj):
        return _yuan(self._pending(obj))

    @extend_schema_field(MONEY_SCHEMA)
    def get_open_amount(self, obj):
        return _yuan(obj.amount - obj.paid_amount - self._pending(obj))


class RecoveryBriefSerializer(serializers.ModelSerializer):
    """A recovery order's figures (on a repayment: where the order stands after it)."""

    state = enum_field("RecoveryState", RecoveryOrder.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    amount_due = money_field(help_text=gettext_lazy("应追回（元）"))
    repaid_total = money_field(help_text=gettext_lazy("已追回（元，已审核的缴回）"))
    outstanding = money_field(help_text=gettext_lazy("尚未追回（元）= 应追回 − 已追回"))

    class Meta:
        model = RecoveryOrder
        fields = ["id", "number", "state", "state_display", "amount_due", "repaid_total", "outstanding",
                  "due_date", "settled_at"]
        read_only_fields = fields


class RecoveryListSerializer(RecoveryBriefSerializer):
    agreement = AgreementBriefSerializer(read_only=True)
    rule = enum_field("RecoveryRule", RecoveryOrder.Rule)
    rule_display = serializers.CharField(source="get_rule_display", read_only=True)
    paid_at_order = money_field(help_text=gettext_lazy("开具时已拨付的财政资金（元）"))
    spent_amount = money_field(help_text=gettext_lazy("经审计已合规使用（元）；全额追回时为0"))
    pending = serializers.SerializerMethodField(help_text=gettext_lazy("已登记待审核的缴回（元）"))
    credit_record = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True,
                                                       help_text=gettext_lazy("同时录入的失信记录 ID"))
    created_by = serializers.CharField(source="created_by.display_name", read_only=True,
                                       help_text=gettext_lazy("开具人"))

    class Meta(RecoveryBriefSerializer.Meta):
        fields = ["id", "number", "agreement", "rule", "rule_display", "reason", "paid_at_order", "spent_amount",
                  "amount_due", "repaid_total", "pending", "outstanding", "due_date", "state", "state_display",
                  "credit_record", "created_by", "created_at", "settled_at"]
        read_only_fields = fields

    @staticmethod
    def pending_of(obj) -> Decimal:
        pending = getattr(obj, "pending", None)  # annotated by selectors.recovery_list
        if pending is None and "repayments" in getattr(obj, "_prefetched_objects_cache", {}):
            pending = sum((r.amount for r in obj.repayments.all() if r.state == Repayment.State.RECORDED), ZERO)
        return pending or ZERO

    @extend_schema_field(MONEY_SCHEMA)
    def get_pending(self, obj):
        return _yuan(self.pending_of(obj))


class RepaymentRowSerializer(serializers.ModelSerializer):
    """A repayment as it appears on its recovery order."""

    state = enum_field("RepaymentState", Repayment.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    amount = money_field(help_text=gettext_lazy("缴回金额（元）"))
    recorded_by = serializers.CharField(source="recorded_by.display_name", read_only=True,
                                        help_text=gettext_lazy("登记人"))
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("审核人"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：approve、reject"))

    class Meta:
        model = Repayment
        fields = ["id", "amount", "voucher_no", "received_on", "idempotency_key", "state", "state_display",
                  "recorded_by", "recorded_at", "decided_by", "decided_at", "decision_note", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if not selectors.is_finance(user) or obj.state != Repayment.State.RECORDED or obj.recorded_by_id == user.pk:
            return []
        return ["approve", "reject"]


class RepaymentSerializer(RepaymentRowSerializer):
    order = RecoveryBriefSerializer(read_only=True)

    class Meta(RepaymentRowSerializer.Meta):
        fields = [*RepaymentRowSerializer.Meta.fields, "order"]
        read_only_fields = fields


class RecoverySerializer(RecoveryListSerializer):
    repayments = RepaymentRowSerializer(many=True, read_only=True)
    open_amount = serializers.SerializerMethodField(
        help_text=gettext_lazy("尚可登记（元）= 应追回 − 已追回 − 待审核"))
    available_actions = serializers.SerializerMethodField(help_text=gettext_lazy("当前用户此刻可执行的操作：record"))

    class Meta(RecoveryListSerializer.Meta):
        fields = [*RecoveryListSerializer.Meta.fields, "open_amount", "repayments", "available_actions"]
        read_only_fields = fields

    def _open(self, obj) -> Decimal:
        return obj.amount_due - obj.repaid_total - self.pending_of(obj)

    @extend_schema_field(MONEY_SCHEMA)
    def get_open_amount(self, obj):
        return _yuan(self._open(obj))

    def get_available_actions(self, obj) -> list[str]:
        if (selectors.is_finance(request_user(self)) and obj.state == RecoveryOrder.State.OPEN and self._open(obj) > 0):
            return ["record"]
        return []


# ---- input ----------------------------------------------------------------------------------------------------


def input_money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=15, decimal_places=2, **kwargs)


class AgreementBudgetLineInputSerializer(serializers.Serializer):
    fiscal = input_money(min_value=0, help_text=gettext_lazy("财政资金（元）"))
    self = input_money(min_value=0, help_text=gettext_lazy("自筹资金（元）"))


class AgreementTermsSerializer(serializers.Serializer):
    """任务书条款（签订前，科技局业务处室可改；一方确认后修改须双方重新确认）。"""

    start_date = serializers.DateField(required=False, help_text=gettext_lazy("开始日期"))
    end_date = serializers.DateField(required=False, help_text=gettext_lazy("结束日期"))
    self_amount = input_money(required=False, min_value=0, help_text=gettext_lazy("自筹资金（元）"))
    targets = AgreementTargetSerializer(many=True, required=False, max_length=100,
                                        help_text=gettext_lazy("全部绩效指标（整体替换）"))
    budget = serializers.DictField(child=AgreementBudgetLineInputSerializer(), required=False,
                                   help_text=gettext_lazy("预算：科目（equipment、business、labour）→ 金额；财政资金合计须等于"
                                                          "任务书财政资金，自筹资金合计即为自筹资金"))


class TrancheInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text=gettext_lazy("名称"))
    amount = input_money(help_text=gettext_lazy("金额（元）"))
    condition = serializers.ChoiceField(choices=Condition.choices, help_text=gettext_lazy("拨付条件"))
    checkpoint = serializers.CharField(max_length=30, required=False, allow_blank=True,
                                       help_text=gettext_lazy("考核节点：midterm 或 milestone:序号（条件为 checkpoint 时）"))
    due_on = serializers.DateField(required=False, allow_null=True,
                                   help_text=gettext_lazy("拨付日期（条件为 date 时）"))


class TranchesInputSerializer(serializers.Serializer):
    tranches = TrancheInputSerializer(many=True, max_length=services.MAX_TRANCHES * 2,
                                      help_text=gettext_lazy("全部拨付批次（整体替换），金额合计须等于财政资金"))


class RecordInputSerializer(serializers.Serializer):
    """登记拨付：同一幂等键重复提交只产生一条记录。"""

    tranche = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=gettext_lazy("拨付批次 ID"))
    amount = input_money(help_text=gettext_lazy("拨付金额（元）"))
    voucher_no = serializers.CharField(max_length=60, help_text=gettext_lazy("银行凭证号"))
    paid_on = serializers.DateField(help_text=gettext_lazy("支付日期"))
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                            help_text=gettext_lazy("幂等键；也可用请求头 Idempotency-Key"))
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text=gettext_lazy("说明"))


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                 help_text=gettext_lazy("审核意见；退回时必填"))


class ReverseInputSerializer(serializers.Serializer):
    """冲正：对已审核的拨付登记一笔等额的冲正记录，由另一位财务人员审核。"""

    voucher_no = serializers.CharField(max_length=60, help_text=gettext_lazy("冲正凭证号"))
    paid_on = serializers.DateField(help_text=gettext_lazy("冲正日期"))
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                            help_text=gettext_lazy("幂等键；也可用请求头 Idempotency-Key"))
    note = serializers.CharField(max_length=500, allow_blank=True, help_text=gettext_lazy("冲正理由"))


class TerminateInputSerializer(serializers.Serializer):
    """终止项目：科技局业务处室填写理由，并说明是否因承担单位原因；任务书随之终止，未拨付的批次取消。"""

    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text=gettext_lazy("终止理由"))
    fault = serializers.BooleanField(default=False, help_text=gettext_lazy("是否因承担单位原因（过错）终止"))


class CreditInputSerializer(serializers.Serializer):
    """同时对承担单位录入的失信记录。"""

    severity = serializers.ChoiceField(choices=CreditRecord.Severity.choices, help_text=gettext_lazy("失信程度"))
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                   help_text=gettext_lazy("失信行为；不填时使用追回理由"))
    decision_no = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                        help_text=gettext_lazy("处理决定文号"))
    penalty_start = serializers.DateField(required=False, allow_null=True,
                                          help_text=gettext_lazy("惩戒开始日期；不填为今天"))
    penalty_end = serializers.DateField(required=False, allow_null=True,
                                        help_text=gettext_lazy("惩戒结束日期；不填表示长期"))


class RecoveryInputSerializer(serializers.Serializer):
    """开具追回单：已终止或验收不通过的项目，按结余（已拨付 − 经审计已合规使用）或全额追回已拨付的财政资金。"""

    agreement = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=gettext_lazy("任务书 ID"))
    rule = serializers.ChoiceField(choices=RecoveryOrder.Rule.choices, help_text=gettext_lazy("追回规则"))
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text=gettext_lazy("追回理由"))
    due_date = serializers.DateField(help_text=gettext_lazy("缴回期限"))
    spent_amount = input_money(required=False, allow_null=True,
                               help_text=gettext_lazy("经审计已合规使用的财政资金（元）；按结余追回时必填"))
    credit = CreditInputSerializer(required=False, allow_null=True,
                                   help_text=gettext_lazy("同时录入失信记录（可选）"))


class RepaymentInputSerializer(serializers.Serializer):
    """登记缴回：同一幂等键重复提交只产生一条记录。"""

    amount = input_money(help_text=gettext_lazy("缴回金额（元）"))
    voucher_no = serializers.CharField(max_length=60, help_text=gettext_lazy("银行凭证号"))
    received_on = serializers.DateField(help_text=gettext_lazy("到账日期"))
    idempotency_key = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                            help_text=gettext_lazy("幂等键；也可用请求头 Idempotency-Key"))


# ---- viewsets -------------------------------------------------------------------------------------------------


_agreement_action = action_schema(AgreementSerializer, AGREEMENT_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("任务书列表"),
        description=gettext_lazy("科技局（业务处室、财务、局领导）看到全部任务书；承担单位用户看到本单位的任务书；"
                                 "专家等其他用户为空列表。"),
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("任务书详情"),
        description=gettext_lazy("含绩效指标、拨付批次、拨付记录和合计。"),
        responses={200: AgreementSerializer, 404: AGREEMENT_ERRORS[404]},
    ),
    partial_update=extend_schema(
        summary=gettext_lazy("修改任务书条款"),
        description=gettext_lazy("科技局业务处室在签订前修改起止日期、自筹资金和绩效指标；一方已确认的，修改后须双方重新确认。"),
        request=AgreementTermsSerializer,
        responses={200: AgreementSerializer, **AGREEMENT_ERRORS},
    ),
)
class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, RowViewSet):
    # 任务书, scoped by selectors.agreements_visible_to; the services check who may edit and confirm.

    filterset_class = AgreementFilter
    search_fields = []
    ordering_fields = ["created_at", "signed_at", "number", "fiscal_amount"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    detail_serializer = AgreementSerializer
    action_serializers = {"list": AgreementListSerializer, "partial_update": AgreementTermsSerializer}

    def get_queryset(self):
        return selectors.agreement_list(self.request.user)

    def row(self, pk):
        return selectors.agreement_for(self.request.user, pk)

    def update(self, request, *args, **kwargs):
        agreement = self.get_object()
        data = self._input(AgreementTermsSerializer, partial=True)
        if "targets" in data:
            data["targets"] = [dict(t) for t in data["targets"]]
        if "budget" in data:
            data["budget"] = {c: {"fiscal": v["fiscal"], "self": v["self"]} for c, v in data["budget"].items()}
        services.update_agreement(actor=request.user, agreement_id=agreement.pk, data=data)
        return self._respond(agreement.pk)

    @_agreement_action(gettext_lazy("确认任务书"),
                       gettext_lazy("承担单位管理员和科技局业务处室分别在线确认，先后不限；双方都确认后任务书签订，"
                                    "签订即拨付的批次成为应拨付。"))
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        agreement = self.get_object()
        services.confirm_agreement(actor=request.user, agreement_id=agreement.pk)
        return self._respond(agreement.pk)

    @_agreement_action(gettext_lazy("设置拨付计划"),
                       gettext_lazy("科技局业务处室在签订前整体替换拨付批次；各期金额合计须等于财政资金。"),
                       TranchesInputSerializer)
    @action(detail=True, methods=["post"])
    def tranches(self, request, pk=None):
        agreement = self.get_object()
        data = self._input(TranchesInputSerializer)
        services.set_tranches(actor=request.user, agreement_id=agreement.pk,
                              tranches=[dict(t) for t in data["tranches"]])
        return self._respond(agreement.pk)

    @_agreement_action(gettext_lazy("终止项目"),
                       gettext_lazy("科技局业务处室终止任务书所属的项目（须填写理由，并说明是否因承担单位原因）："
                                    "项目终止，未完成的里程碑取消，任务书终止，尚未拨付的批次取消（有待审核拨付的批次待财务审核后处理）。"
                                    "其后可开具追回单。"),
                       TerminateInputSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request, pk=None):
        agreement = self.get_object()
        data = self._input(TerminateInputSerializer)
        project_services.terminate_project(actor=request.user, project_id=agreement.project_id,
                                           reason=data["reason"], fault=data["fault"])
        return self._respond(agreement.pk)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("应拨付批次"),
        description=gettext_lazy("已签订任务书中达到拨付条件、尚未拨付完毕的批次（财务、业务处室、局领导）；"
                                 "其他用户为空列表。"),
    ),
)
class DueTrancheViewSet(mixins.ListModelMixin, ScopedViewSet):
    serializer_class = DueTrancheSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.due_tranches(self.request.user)


_disbursement_action = action_schema(DisbursementSerializer, DISBURSEMENT_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("拨付记录"),
        description=gettext_lazy("全部拨付与冲正记录（财务、业务处室、局领导），新登记的在前；state=recorded 为待审核队列。"
                                 "其他用户为空列表。"),
    ),
    retrieve=extend_schema(summary=gettext_lazy("拨付记录详情"),
                           responses={200: DisbursementSerializer, 404: DISBURSEMENT_ERRORS[404]}),
    create=extend_schema(
        summary=gettext_lazy("登记拨付"),
        description=gettext_lazy("财务人员对应拨付批次登记一笔拨付（金额、银行凭证号、支付日期、幂等键），待另一位财务人员审核。"
                                 "同一幂等键再次提交返回原记录（200），不会重复登记；不能超过本期尚可登记金额和财政资金。"),
        parameters=[IDEMPOTENCY_HEADER],
        request=RecordInputSerializer,
        responses={201: DisbursementSerializer, 200: DisbursementSerializer, **RECORD_ERRORS},
    ),
)
class DisbursementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RowViewSet):
    # 拨付记录: the bureau reads (selectors.disbursement_list); finance alone writes, one records and another approves.

    filterset_class = DisbursementFilter
    search_fields = []
    ordering_fields = ["recorded_at", "paid_on", "amount"]
    ordering = ["-recorded_at", "-id"]
    detail_serializer = DisbursementSerializer
    action_serializers = {"create": RecordInputSerializer, "approve": DecisionSerializer, "reject": DecisionSerializer,
                          "reverse": ReverseInputSerializer}

    def get_queryset(self):
        return selectors.disbursement_list(self.request.user)

    def row(self, pk):
        try:
            return selectors.disbursement_list(self.request.user).get(pk=pk)
        except Disbursement.DoesNotExist:
            raise Http404 from None

    def _require_finance(self):
        if not selectors.is_finance(self.request.user):
            raise PermissionRefused(_("只有财务人员可以登记或审核拨付。"))

    def create(self, request, *args, **kwargs):
        self._require_finance()
        data = self._input(RecordInputSerializer)
        try:
            tranche = selectors.tranche_for_finance(request.user, data["tranche"])
        except Http404:
            raise serializers.ValidationError({"tranche": [_("拨付批次不存在。")]}) from None
        now = timezone.now()
        d = services.record_disbursement(actor=request.user, tranche_id=tranche.pk, amount=data["amount"],
                                         voucher_no=data["voucher_no"], paid_on=data["paid_on"],
                                         idempotency_key=self._idempotency_key(data), note=data.get("note", ""),
                                         now=now)
        # the same key again returns the first record (recorded earlier): 200, not 201
        return self._respond(d.pk, status.HTTP_201_CREATED if d.recorded_at == now else status.HTTP_200_OK)

    @_disbursement_action(gettext_lazy("审核通过"),
                          gettext_lazy("另一位财务人员审核通过，计入已拨付；登记人不能审核自己登记的拨付（403）。"),
                          DecisionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        d = self.get_object()
        self._require_finance()
        data = self._input(DecisionSerializer)
        services.approve_disbursement(actor=request.user, disbursement_id=d.pk, note=data.get("note", ""))
        return self._respond(d.pk)

    @_disbursement_action(gettext_lazy("退回"), gettext_lazy("登记有误的拨付退回，释放其金额；须填写审核意见。"),
                          DecisionSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        d = self.get_object()
        self._require_finance()
        data = self._input(DecisionSerializer)
        services.reject_disbursement(actor=request.user, disbursement_id=d.pk, note=data.get("note", ""))
        return self._respond(d.pk)

    @_disbursement_action(
        gettext_lazy("冲正"),
        gettext_lazy("对已审核的拨付登记等额冲正记录（须填写理由），由另一位财务人员审核后冲减已拨付。"
                     "同一幂等键再次提交返回原冲正记录（200）。"),
        ReverseInputSerializer,
        {201: DisbursementSerializer, 200: DisbursementSerializer, **DISBURSEMENT_ERRORS},
        [IDEMPOTENCY_HEADER],
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        d = self.get_object()
        self._require_finance()
        data = self._input(ReverseInputSerializer)
        now = timezone.now()
        reversal = services.reverse_disbursement(actor=request.user, disbursement_id=d.pk,
                                                 voucher_no=data["voucher_no"], paid_on=data["paid_on"],
                                                 idempotency_key=self._idempotency_key(data), note=data["note"],
                                                 now=now)
        return self._respond(reversal.pk,
                             status.HTTP_201_CREATED if reversal.recorded_at == now else status.HTTP_200_OK)


def _require_visible_agreement(user, agreement_id: int) -> None:
    """An agreement named in a body must be one the user may see: a 400 on the field otherwise (never a 404)."""
    if not selectors.agreements_visible_to(user).filter(pk=agreement_id).exists():
        raise serializers.ValidationError({"agreement": [_("任务书不存在。")]})


_recovery_action = action_schema(RecoverySerializer, RECOVERY_ERRORS)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("追回单列表"),
        description=gettext_lazy("科技局（业务处室、财务、局领导）看到全部追回单；承担单位用户看到本单位的追回单；"
                                 "专家等其他用户为空列表。新开具的在前；state=open 为追回中。"),
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("追回单详情"),
        description=gettext_lazy("含缴回记录、待审核金额和尚可登记金额。"),
        responses={200: RecoverySerializer, 404: RECOVERY_ERRORS[404]},
    ),
    create=extend_schema(
        summary=gettext_lazy("开具追回单"),
        description=gettext_lazy("科技局业务处室对已终止或验收不通过项目的任务书开具追回单：按结余追回（已拨付 − "
                                 "经审计已合规使用）或全额追回（如因承担单位原因终止），可同时录入失信记录。"
                                 "任务书有待审核的拨付或已有未完成的追回单时拒绝（409）。"),
        request=RecoveryInputSerializer,
        responses={201: RecoverySerializer, **OPEN_RECOVERY_ERRORS},
    ),
)
class RecoveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RowViewSet):
    # 追回单, scoped by selectors.recovery_orders_visible_to; officers open them, finance records the repayments.

    filterset_class = RecoveryFilter
    search_fields = []
    ordering_fields = ["created_at", "due_date", "amount_due"]
    ordering = ["-created_at", "-id"]
    detail_serializer = RecoverySerializer
    action_serializers = {"list": RecoveryListSerializer, "create": RecoveryInputSerializer,
                          "repayments": RepaymentInputSerializer}

    def get_queryset(self):
        return selectors.recovery_list(self.request.user)

    def row(self, pk):
        return selectors.recovery_for(self.request.user, pk)

    def create(self, request, *args, **kwargs):
        if not request.user.has_perm("funding.manage_agreements"):
            raise PermissionRefused(_("只有科技局业务处室可以开具追回单。"))
        data = self._input(RecoveryInputSerializer)
        _require_visible_agreement(request.user, data["agreement"])
        credit = data.get("credit")
        order = services.open_recovery(actor=request.user, agreement_id=data["agreement"], rule=data["rule"],
                                       reason=data["reason"], due_date=data["due_date"],
                                       spent_amount=data.get("spent_amount"),
                                       credit=dict(credit) if credit else None)
        return self._respond(order.pk, status.HTTP_201_CREATED)

    @_recovery_action(
        gettext_lazy("登记缴回"),
        gettext_lazy("财务人员登记承担单位缴回的款项（金额、银行凭证号、到账日期、幂等键），待另一位财务人员审核；"
                     "不能超过尚可登记金额。同一幂等键再次提交返回原记录（200），不会重复登记。"),
        RepaymentInputSerializer,
        {201: RepaymentSerializer, 200: RepaymentSerializer, **RECOVERY_ERRORS},
        [IDEMPOTENCY_HEADER],
    )
    @action(detail=True, methods=["post"])
    def repayments(self, request, pk=None):
        order = self.get_object()
        _require_finance_for_repayments(request.user)
        data = self._input(RepaymentInputSerializer)
        now = timezone.now()
        repayment = services.record_repayment(
            actor=request.user, order_id=order.pk, amount=data["amount"], voucher_no=data["voucher_no"],
            received_on=data["received_on"], idempotency_key=self._idempotency_key(data), now=now)
        # the same key again returns the first record (recorded earlier): 200, not 201
        return _repayment_response(self, repayment.pk,
                                   status.HTTP_201_CREATED if repayment.recorded_at == now else status.HTTP_200_OK)


def _require_finance_for_repayments(user):
    if not selectors.is_finance(user):
        raise PermissionRefused(_("只有财务人员可以登记或审核缴回。"))


def _repayments_visible_to(user):
    return Repayment.objects.filter(order__in=selectors.recovery_orders_visible_to(user)).select_related(
        "order", "recorded_by", "decided_by")


def _repayment_response(view, pk, status_code=status.HTTP_200_OK) -> Response:
    repayment = _repayments_visible_to(view.request.user).get(pk=pk)
    return Response(RepaymentSerializer(repayment, context=view.get_serializer_context()).data, status=status_code)


_repayment_action = action_schema(RepaymentSerializer, REPAYMENT_ERRORS, request=DecisionSerializer)


@extend_schema_view(
    retrieve=extend_schema(summary=gettext_lazy("缴回记录详情"),
                           responses={200: RepaymentSerializer, 404: REPAYMENT_ERRORS[404]}),
)
class RepaymentViewSet(mixins.RetrieveModelMixin, ScopedViewSet):
    # 缴回记录: seen with their order; finance alone decides them, and never the one who recorded it.

    serializer_class = RepaymentSerializer
    filter_backends = []

    def get_queryset(self):
        return _repayments_visible_to(self.request.user)

    def get_serializer_class(self):
        return DecisionSerializer if self.action in ("approve", "reject") else RepaymentSerializer

    def get_object(self):
        try:
            return self.get_queryset().get(pk=pk_of(self))
        except Repayment.DoesNotExist:
            raise Http404 from None

    @_repayment_action(gettext_lazy("缴回审核通过"),
                       gettext_lazy("另一位财务人员审核通过，计入已追回；已追回达到应追回金额时追回单完成。"
                                    "登记人不能审核自己登记的缴回（403）。"))
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        repayment = self.get_object()
        _require_finance_for_repayments(request.user)
        data = self._input(DecisionSerializer)
        services.approve_repayment(actor=request.user, repayment_id=repayment.pk, note=data.get("note", ""))
        return _repayment_response(self, repayment.pk)

    @_repayment_action(gettext_lazy("缴回退回"), gettext_lazy("登记有误的缴回退回，释放其金额；须填写审核意见。"))
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        repayment = self.get_object()
        _require_finance_for_repayments(request.user)
        data = self._input(DecisionSerializer)
        services.reject_repayment(actor=request.user, repayment_id=repayment.pk, note=data.get("note", ""))
        return _repayment_response(self, repayment.pk)


# ---- 预算调整 (budget adjustments) ------------------------------------------------------------------------------

ADJUSTMENT_ERRORS = error_responses(gettext_lazy("预算调整不存在或无权查看"))
REQUEST_ADJUSTMENT_ERRORS = {k: v for k, v in ADJUSTMENT_ERRORS.items() if k != 404}
CLAIM_ERRORS = error_responses(gettext_lazy("后补助申报不存在或无权查看"))
SUBMIT_CLAIM_ERRORS = {k: v for k, v in CLAIM_ERRORS.items() if k != 404}


class AdjustmentFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=BudgetAdjustment.State.choices,
                                        label=gettext_lazy("状态；pending 为待审批"))
    agreement = django_filters.NumberFilter(field_name="agreement_id", min_value=1, max_value=MAX_ID,
                                            label=gettext_lazy("任务书 ID"))

    class Meta:
        model = BudgetAdjustment
        fields = ["state", "agreement"]


class ClaimFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="state", choices=PostSubsidyClaim.State.choices,
                                        label=gettext_lazy("状态；submitted 为待核定"))
    agreement = django_filters.NumberFilter(field_name="agreement_id", min_value=1, max_value=MAX_ID,
                                            label=gettext_lazy("任务书 ID"))

    class Meta:
        model = PostSubsidyClaim
        fields = ["state", "agreement"]


class AdjustmentChangeSerializer(serializers.Serializer):
    category = enum_field("BudgetCategory", BudgetLine.Category)
    fiscal_before = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True,
                                             help_text=gettext_lazy("调整前财政资金（元）"))
    fiscal_after = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True,
                                            help_text=gettext_lazy("调整后财政资金（元）"))
    self_before = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True,
                                           help_text=gettext_lazy("调整前自筹资金（元）"))
    self_after = serializers.DecimalField(max_digits=16, decimal_places=2, read_only=True,
                                          help_text=gettext_lazy("调整后自筹资金（元）"))


class BudgetAdjustmentSerializer(serializers.ModelSerializer):
    agreement = AgreementBriefSerializer(read_only=True)
    state = enum_field("BudgetAdjustmentState", BudgetAdjustment.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    changes = AdjustmentChangeSerializer(many=True, read_only=True,
                                         help_text=gettext_lazy("各调整科目的调整前后金额"))
    requested_by = serializers.CharField(source="requested_by.display_name", read_only=True,
                                         help_text=gettext_lazy("申请人"))
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("审批人"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：approve、reject"))

    class Meta:
        model = BudgetAdjustment
        fields = ["id", "number", "agreement", "state", "state_display", "within_delegation", "changes", "reason",
                  "requested_by", "requested_at", "decided_by", "decided_at", "decision_note", "available_actions"]
        read_only_fields = fields

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if obj.state == BudgetAdjustment.State.PENDING and user and user.has_perm("funding.manage_agreements"):
            return ["approve", "reject"]
        return []


class AdjustmentInputSerializer(serializers.Serializer):
    """申请预算调整：调整后的各科目金额（未列出的科目不变），财政资金合计和自筹资金合计须保持不变。"""

    agreement = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=gettext_lazy("任务书 ID"))
    lines = serializers.DictField(child=AgreementBudgetLineInputSerializer(),
                                  help_text=gettext_lazy("科目（equipment、business、labour）→ 调整后金额"))
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text=gettext_lazy("调整理由"))


class AdjustmentDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                 help_text=gettext_lazy("审批意见；不予批准时必填"))


_adjustment_action = action_schema(BudgetAdjustmentSerializer, ADJUSTMENT_ERRORS, request=AdjustmentDecisionSerializer)


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("预算调整列表"),
        description=gettext_lazy("科技局看到全部预算调整，承担单位用户看到本单位的；专家等其他用户为空列表。"
                                 "state=pending 为待审批。"),
    ),
    retrieve=extend_schema(summary=gettext_lazy("预算调整详情"),
                           responses={200: BudgetAdjustmentSerializer, 404: ADJUSTMENT_ERRORS[404]}),
    create=extend_schema(
        summary=gettext_lazy("申请预算调整"),
        description=gettext_lazy("承担单位用户对已签订任务书申请在科目之间调剂预算（合计不变）。各科目财政资金增减不超过"
                                 "计划规定比例（且不调增设备费，除非计划允许）的即备案生效（state=recorded），否则待科技局"
                                 "审批（state=pending）。已有待审批的调整时拒绝（409）。"),
        request=AdjustmentInputSerializer,
        responses={201: BudgetAdjustmentSerializer, **REQUEST_ADJUSTMENT_ERRORS},
    ),
)
class BudgetAdjustmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                              RowViewSet):
    # 预算调整, scoped by selectors.adjustments_visible_to; the organisation asks, officers decide.

    filterset_class = AdjustmentFilter
    search_fields = []
    ordering_fields = ["requested_at"]
    ordering = ["-requested_at", "-id"]
    detail_serializer = BudgetAdjustmentSerializer
    action_serializers = {"create": AdjustmentInputSerializer, "approve": AdjustmentDecisionSerializer,
                          "reject": AdjustmentDecisionSerializer}

    def get_queryset(self):
        return selectors.adjustment_list(self.request.user)

    def row(self, pk):
        return selectors.adjustment_for(self.request.user, pk)

    def create(self, request, *args, **kwargs):
        data = self._input(AdjustmentInputSerializer)
        _require_visible_agreement(request.user, data["agreement"])
        adjustment = budget.request_adjustment(
            actor=request.user, agreement_id=data["agreement"], reason=data["reason"],
            lines={c: {"fiscal": v["fiscal"], "self": v["self"]} for c, v in data["lines"].items()})
        return self._respond(adjustment.pk, status.HTTP_201_CREATED)

    @_adjustment_action(gettext_lazy("批准预算调整"),
                        gettext_lazy("科技局业务处室批准待审批的预算调整，任务书预算随即更新；预算在申请后已变化的拒绝（409）。"))
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        adjustment = self.get_object()
        data = self._input(AdjustmentDecisionSerializer)
        budget.approve_adjustment(actor=request.user, adjustment_id=adjustment.pk, note=data.get("note", ""))
        return self._respond(adjustment.pk)

    @_adjustment_action(gettext_lazy("不予批准预算调整"), gettext_lazy("须填写理由；任务书预算不变。"))
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        adjustment = self.get_object()
        data = self._input(AdjustmentDecisionSerializer)
        budget.reject_adjustment(actor=request.user, adjustment_id=adjustment.pk, note=data.get("note", ""))
        return self._respond(adjustment.pk)


# ---- 后补助 (post-subsidy claims) -------------------------------------------------------------------------------


class SubsidyClaimSerializer(serializers.ModelSerializer):
    agreement = AgreementBriefSerializer(read_only=True)
    state = enum_field("SubsidyClaimState", PostSubsidyClaim.State)
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    claimed_expense = money_field(help_text=gettext_lazy("申报研发费用（元）"))
    verified_expense = money_field(allow_null=True, help_text=gettext_lazy("核定研发费用（元）"))
    cap = money_field(allow_null=True, help_text=gettext_lazy("补助上限（元）"))
    subsidy_amount = money_field(allow_null=True, help_text=gettext_lazy("核定补助金额（元）"))
    audit_report_url = serializers.SerializerMethodField(help_text=gettext_lazy("专项审计报告下载地址"))
    submitted_by = serializers.CharField(source="submitted_by.display_name", read_only=True,
                                         help_text=gettext_lazy("申报人"))
    decided_by = serializers.CharField(source="decided_by.display_name", read_only=True, allow_null=True,
                                       default=None, help_text=gettext_lazy("核定（退回）人"))
    available_actions = serializers.SerializerMethodField(
        help_text=gettext_lazy("当前用户此刻可执行的操作：verify、return"))

    class Meta:
        model = PostSubsidyClaim
        fields = ["id", "agreement", "state", "state_display", "claimed_expense", "audit_report_name",
                  "audit_report_sha256", "audit_report_url", "note", "submitted_by", "submitted_at",
                  "verified_expense", "percent", "cap", "subsidy_amount", "decided_by", "decided_at",
                  "decision_note", "available_actions"]
        read_only_fields = fields

    def get_audit_report_url(self, obj) -> str:
        return reverse("funding:subsidy_report", args=[obj.pk])

    def get_available_actions(self, obj) -> list[str]:
        user = request_user(self)
        if obj.state == PostSubsidyClaim.State.SUBMITTED and user and user.has_perm("funding.manage_agreements"):
            return ["verify", "return"]
        return []


class ClaimInputSerializer(serializers.Serializer):
    """申报后补助（multipart/form-data）：研发费用和专项审计报告；被退回后再次提交即补正（新报告替换原报告）。"""

    agreement = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=gettext_lazy("任务书 ID"))
    claimed_expense = input_money(help_text=gettext_lazy("研发费用（元）"))
    audit_report = serializers.FileField(help_text=gettext_lazy("专项审计报告（PDF、Word、Excel 或图片）"))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, help_text=gettext_lazy("说明"))


class VerifyInputSerializer(serializers.Serializer):
    verified_expense = input_money(help_text=gettext_lazy("核定研发费用（元），不超过申报金额"))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                 help_text=gettext_lazy("核定意见"))


class ReturnInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True, help_text=gettext_lazy("退回理由"))


@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("后补助申报列表"),
        description=gettext_lazy("科技局看到全部后补助申报，承担单位用户看到本单位的；专家等其他用户为空列表。"
                                 "state=submitted 为待核定。"),
    ),
    retrieve=extend_schema(summary=gettext_lazy("后补助申报详情"),
                           responses={200: SubsidyClaimSerializer, 404: CLAIM_ERRORS[404]}),
    create=extend_schema(
        summary=gettext_lazy("申报后补助"),
        description=gettext_lazy("承担单位用户对已签订的后补助类任务书申报研发费用并上传专项审计报告（multipart/form-data）。"
                                 "每个任务书只有一份申报：待核定或已核定时拒绝（409）；被退回后再次提交即补正。"),
        request={"multipart/form-data": ClaimInputSerializer},
        responses={201: SubsidyClaimSerializer, **SUBMIT_CLAIM_ERRORS},
    ),
)
class SubsidyClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, RowViewSet):
    # 后补助, scoped by selectors.claims_visible_to; the organisation claims, officers verify or return.

    filterset_class = ClaimFilter
    search_fields = []
    ordering_fields = ["submitted_at"]
    ordering = ["-submitted_at", "-id"]
    detail_serializer = SubsidyClaimSerializer
    action_serializers = {"create": ClaimInputSerializer, "verify": VerifyInputSerializer,
                          "return_claim": ReturnInputSerializer}

    def get_queryset(self):
        return selectors.claim_list(self.request.user)

    def row(self, pk):
        return selectors.claim_for(self.request.user, pk)

    def create(self, request, *args, **kwargs):
        data = self._input(ClaimInputSerializer)
        _require_visible_agreement(request.user, data["agreement"])
        existed = PostSubsidyClaim.objects.filter(agreement_id=data["agreement"]).exists()
        claim = subsidy.submit_claim(actor=request.user, agreement_id=data["agreement"],
                                     claimed_expense=data["claimed_expense"], audit_report=data["audit_report"],
                                     note=data.get("note", ""))
        return self._respond(claim.pk, status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("核定后补助"),
                   description=gettext_lazy("科技局业务处室核定研发费用（不超过申报金额）：补助 = 核定研发费用 × 计划比例"
                                            "（四舍五入到分），不超过计划上限和任务书财政资金；“后补助”批次随即成为应拨付。"
                                            "计划未设置后补助比例时拒绝（409）。"),
                   request=VerifyInputSerializer, responses={200: SubsidyClaimSerializer, **CLAIM_ERRORS})
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        claim = self.get_object()
        data = self._input(VerifyInputSerializer)
        subsidy.verify_claim(actor=request.user, claim_id=claim.pk, verified_expense=data["verified_expense"],
                             note=data.get("note", ""))
        return self._respond(claim.pk)

    @extend_schema(summary=gettext_lazy("退回后补助申报"), description=gettext_lazy("须填写理由；承担单位补正后重新提交。"),
                   request=ReturnInputSerializer, responses={200: SubsidyClaimSerializer, **CLAIM_ERRORS})
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_claim(self, request, pk=None):
        claim = self.get_object()
        data = self._input(ReturnInputSerializer)
        subsidy.return_claim(actor=request.user, claim_id=claim.pk, reason=data["reason"])
        return self._respond(claim.pk)

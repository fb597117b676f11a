"""任务书 (task agreements), tranche plans and disbursements.

Every yuan is traceable from the agreement to the bank voucher: an agreement fixes the fiscal amount and splits it
into tranches; a tranche becomes due when its condition is met; a finance clerk records a disbursement against a
due tranche (with the voucher number and an idempotency key) and a different finance user approves it. Nothing is
edited or deleted: a mistaken payment is corrected by a reversing entry, itself recorded and approved.

The agreement row carries the running totals (``recorded_total``: recorded, awaiting approval; ``paid_total``:
approved, net of reversals), updated under its row lock by the services, and the database checks that together
they never exceed the fiscal amount.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.fields import MoneyField
from projects.models import BudgetLine, Call, Program, Project
from projects.storage import private_storage

ZERO = Decimal("0.00")


class Condition(models.TextChoices):
    """When a tranche becomes due."""

    SIGNING = "signing", _("任务书签订后")
    CHECKPOINT = "checkpoint", _("指定考核通过后")
    ACCEPTANCE = "acceptance", _("验收通过后")
    DATE = "date", _("指定日期")
    VERIFIED = "verified", _("后补助核定后")


class FundingScheme(models.Model):
    """拨付方案: the default tranche plan of a programme or of one call (the call's wins)."""

    program = models.OneToOneField(Program, verbose_name=_("计划类别"), on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="funding_scheme")
    call = models.OneToOneField(Call, verbose_name=_("申报指南"), on_delete=models.PROTECT, null=True, blank=True,
                                related_name="funding_scheme")
    name = models.CharField(_("方案名称"), max_length=100)
    #: 预算调整: what the programme delegates to the organisation (beyond it, the officer approves)
    adjust_percent = models.DecimalField(
        _("单位可自行调整比例（%）"), max_digits=5, decimal_places=2, default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("各科目财政资金调增或调减不超过该科目当前预算的此比例时，由承担单位自行调整并备案"))
    adjust_equipment_up = models.BooleanField(
        _("单位可自行调增设备费"), default=False, help_text=_("不勾选时，调增设备费一律报科技局审批"))
    #: 后补助: the subsidy is this percentage of the verified R&D expense, capped
    subsidy_percent = models.DecimalField(
        _("后补助比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text=_("后补助类计划：补助金额 = 核定研发费用 × 比例"))
    subsidy_cap = MoneyField(_("后补助上限（元）"), null=True, blank=True,
                             help_text=_("后补助类计划：单个项目补助金额上限"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("拨付方案")
        verbose_name_plural = _("拨付方案")
        constraints = [
            models.CheckConstraint(
                condition=(Q(program__isnull=False) & Q(call__isnull=True)) | (Q(program__isnull=True)
                                                                                & Q(call__isnull=False)),
                name="funding_scheme_one_scope",
            ),
            models.CheckConstraint(condition=Q(adjust_percent__gte=0) & Q(adjust_percent__lte=100),
                                   name="funding_scheme_adjust_percent"),
            models.CheckConstraint(condition=Q(subsidy_percent__isnull=True)
                                   | (Q(subsidy_percent__gt=0) & Q(subsidy_percent__lte=100)),
                                   name="funding_scheme_subsidy_percent"),
            models.CheckConstraint(condition=Q(subsidy_cap__isnull=True) | Q(subsidy_cap__gt=0),
                                   name="funding_scheme_subsidy_cap_positive"),
        ]

    def __str__(self):
        return self.name


class SchemeTranche(models.Model):
    """One step of a scheme: a percentage of the fiscal amount and its condition."""

    scheme = models.ForeignKey(FundingScheme, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("名称"), max_length=100)
    percent = models.DecimalField(_("比例（%）"), max_digits=5, decimal_places=2,
                                  validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))])
    condition = models.CharField(_("拨付条件"), max_length=20, choices=Condition.choices)
    checkpoint = models.CharField(_("考核节点"), max_length=30, blank=True, help_text=_("如 midterm（中期检查）"))

    class Meta:
        verbose_name = _("拨付步骤")
        verbose_name_plural = _("拨付步骤")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(percent__gt=0) & Q(percent__lte=100), name="scheme_step_percent"),
        ]

    def __str__(self):
        return f"{self.name} {self.percent}%"


class TaskAgreement(models.Model):
    """任务书 of a project: what the bureau grants, for what, and how it is paid."""

    class State(models.TextChoices):
        DRAFT = "draft", _("待确认")
        ORG_CONFIRMED = "org_confirmed", _("承担单位已确认")
        OFFICE_CONFIRMED = "office_confirmed", _("科技局已确认")
        SIGNED = "signed", _("已签订")
        TERMINATED = "terminated", _("已终止")

    EDITABLE_STATES = (State.DRAFT, State.ORG_CONFIRMED, State.OFFICE_CONFIRMED)

    project = models.OneToOneField(Project, verbose_name=_("项目"), on_delete=models.PROTECT,
                                   related_name="agreement")
    number = models.CharField(_("任务书编号"), max_length=50, unique=True)
    fiscal_amount = MoneyField(_("财政资金（元）"))
    self_amount = MoneyField(_("自筹资金（元）"), default=ZERO)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    #: 绩效指标 carried over from the application (or the challenge's targets), editable until signed:
    #: [{"kind", "indicator", "target_value", "unit"}]
    targets = models.JSONField(_("绩效指标"), default=list, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    org_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("承担单位确认人"),
                                         on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    org_confirmed_at = models.DateTimeField(_("承担单位确认时间"), null=True, blank=True)
    office_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("科技局确认人"),
                                            on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    office_confirmed_at = models.DateTimeField(_("科技局确认时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签订时间"), null=True, blank=True)
    recorded_total = MoneyField(_("已登记待审核（元）"), default=ZERO)
    paid_total = MoneyField(_("已拨付（元）"), default=ZERO)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("任务书")
        verbose_name_plural = _("任务书")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "org_confirmed", "office_confirmed", "signed", "terminated"]),
                name="agreement_state_valid",
            ),
            models.CheckConstraint(condition=Q(fiscal_amount__gt=0), name="agreement_fiscal_positive"),
            models.CheckConstraint(condition=Q(self_amount__gte=0), name="agreement_self_nonnegative"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="agreement_dates_ordered",
                                   violation_error_message=_("结束日期不能早于开始日期。")),
            # the money: never negative, and what is paid plus what awaits approval never exceeds the grant
            models.CheckConstraint(condition=Q(recorded_total__gte=0) & Q(paid_total__gte=0),
                                   name="agreement_totals_nonnegative"),
            models.CheckConstraint(condition=Q(paid_total__lte=F("fiscal_amount") - F("recorded_total")),
                                   name="agreement_never_beyond_grant",
                                   violation_error_message=_("拨付金额不得超过财政资金。")),
        ]
        # the deadline sweeper: agreements not yet signed, oldest first (funding.obligations)
        indexes = [models.Index(fields=["state", "created_at"], name="agreement_state_created")]

    def __str__(self):
        return self.number

    @property
    def unpaid(self) -> Decimal:
        return self.fiscal_amount - self.paid_total


class Tranche(models.Model):
    """One instalment of the fiscal amount."""

    class State(models.TextChoices):
        PLANNED = "planned", _("计划中")
        DUE = "due", _("应拨付")
        PAID = "paid", _("已拨付")
        CANCELLED = "cancelled", _("已取消")

    agreement = models.ForeignKey(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                  related_name="tranches")
    position = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("名称"), max_length=100)
    amount = MoneyField(_("金额（元）"))
    condition = models.CharField(_("拨付条件"), max_length=20, choices=Condition.choices)
    checkpoint = models.CharField(_("考核节点"), max_length=30, blank=True,
                                  help_text=_("midterm 为中期检查；milestone:1 为第1个里程碑"))
    due_on = models.DateField(_("拨付日期"), null=True, blank=True, help_text=_("条件为“指定日期”时填写"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.PLANNED)
    due_at = models.DateTimeField(_("应拨付时间"), null=True, blank=True)
    paid_amount = MoneyField(_("已拨付（元）"), default=ZERO)

    class Meta:
        verbose_name = _("拨付批次")
        verbose_name_plural = _("拨付批次")
        ordering = ["agreement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "position"], name="tranche_position_unique"),
            models.CheckConstraint(condition=Q(state__in=["planned", "due", "paid", "cancelled"]),
                                   name="tranche_state_valid"),
            models.CheckConstraint(condition=Q(condition__in=["signing", "checkpoint", "acceptance", "date", "verified"]),
                                   name="tranche_condition_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tranche_amount_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                                   name="tranche_paid_within_amount"),
            models.CheckConstraint(condition=~Q(condition="date") | Q(due_on__isnull=False),
                                   name="tranche_date_condition_has_date"),
        ]

    def __str__(self):
        return f"{self.agreement.number} #{self.position} {self.name}"


class Disbursement(models.Model):
    """拨付记录: a payment recorded by one finance user and approved by another; or a reversing entry."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("拨付")
        REVERSAL = "reversal", _("冲正")

    class State(models.TextChoices):
        RECORDED = "recorded", _("待审核")
        APPROVED = "approved", _("已审核")
        REJECTED = "rejected", _("已退回")

    agreement = models.ForeignKey(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                  related_name="disbursements")
    tranche = models.ForeignKey(Tranche, verbose_name=_("拨付批次"), on_delete=models.PROTECT,
                                related_name="disbursements")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    reverses = models.ForeignKey("self", verbose_name=_("冲正的拨付记录"), on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="reversals")
    amount = MoneyField(_("金额（元）"), help_text=_("冲正记录也填正数"))
    voucher_no = models.CharField(_("银行凭证号"), max_length=60)
    paid_on = models.DateField(_("支付日期"))
    idempotency_key = models.CharField(_("幂等键"), max_length=64, unique=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RECORDED)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.CharField(_("审核意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("拨付记录")
        verbose_name_plural = _("拨付记录")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_amount_positive"),
            models.CheckConstraint(condition=Q(kind__in=["payment", "reversal"]), name="disbursement_kind_valid"),
            models.CheckConstraint(condition=Q(state__in=["recorded", "approved", "rejected"]),
                                   name="disbursement_state_valid"),
            # two people: whoever recorded it never approves it
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("recorded_by")),
                                   name="disbursement_four_eyes",
                                   violation_error_message=_("登记人不能审核自己登记的拨付。")),
            models.CheckConstraint(condition=(Q(kind="payment") & Q(reverses__isnull=True))
                                   | (Q(kind="reversal") & Q(reverses__isnull=False)),
                                   name="disbursement_reversal_points_back"),
        ]
        indexes = [models.Index(fields=["state", "recorded_at"], name="disbursement_queue")]

    def __str__(self):
        return f"{self.voucher_no} {self.amount}"

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.kind == self.Kind.REVERSAL else self.amount


class RecoveryOrder(models.Model):
    """追回单: what an organisation must return after its project was terminated or failed acceptance, under the
    programme's rule (the unspent fiscal funds, or all of them when it was the organisation's fault)."""

    class Rule(models.TextChoices):
        UNSPENT = "unspent", _("追回结余财政资金")
        ALL = "all", _("全额追回已拨财政资金")

    class State(models.TextChoices):
        OPEN = "open", _("追回中")
        SETTLED = "settled", _("已追回")

    agreement = models.ForeignKey(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                  related_name="recovery_orders")
    number = models.CharField(_("追回单编号"), max_length=60, unique=True)
    rule = models.CharField(_("追回规则"), max_length=10, choices=Rule.choices)
    reason = models.TextField(_("追回理由"))
    paid_at_order = MoneyField(_("已拨付财政资金（元）"))
    spent_amount = MoneyField(_("经审计已合规使用（元）"), default=ZERO)
    amount_due = MoneyField(_("应追回（元）"))
    repaid_total = MoneyField(_("已追回（元）"), default=ZERO)
    due_date = models.DateField(_("缴回期限"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    credit_record = models.ForeignKey("accounts.CreditRecord", verbose_name=_("失信记录"), on_delete=models.PROTECT,
                                      null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("开具人"), on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(_("开具时间"))
    settled_at = models.DateTimeField(_("追回完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("追回单")
        verbose_name_plural = _("追回单")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rule__in=["unspent", "all"]), name="recovery_rule_valid"),
            models.CheckConstraint(condition=Q(state__in=["open", "settled"]), name="recovery_state_valid"),
            models.CheckConstraint(condition=Q(amount_due__gt=0), name="recovery_amount_positive"),
            models.CheckConstraint(condition=Q(spent_amount__gte=0) & Q(spent_amount__lte=F("paid_at_order")),
                                   name="recovery_spent_within_paid"),
            models.CheckConstraint(condition=Q(amount_due__lte=F("paid_at_order")), name="recovery_within_paid"),
            models.CheckConstraint(condition=Q(repaid_total__gte=0) & Q(repaid_total__lte=F("amount_due")),
                                   name="recovery_repaid_within_due",
                                   violation_error_message=_("缴回金额不得超过应追回金额。")),
            models.UniqueConstraint(fields=["agreement"], condition=Q(state="open"), name="recovery_one_open",
                                    violation_error_message=_("该任务书已有未完成的追回单。")),
        ]
        indexes = [models.Index(fields=["state", "due_date"], name="recovery_state_due")]

    def __str__(self):
        return self.number

    @property
    def outstanding(self) -> Decimal:
        return self.amount_due - self.repaid_total


class Repayment(models.Model):
    """缴回记录: money the organisation returned, recorded by one finance user and approved by another."""

    class State(models.TextChoices):
        RECORDED = "recorded", _("待审核")
        APPROVED = "approved", _("已审核")
        REJECTED = "rejected", _("已退回")

    order = models.ForeignKey(RecoveryOrder, verbose_name=_("追回单"), on_delete=models.PROTECT,
                              related_name="repayments")
    amount = MoneyField(_("金额（元）"))
    voucher_no = models.CharField(_("银行凭证号"), max_length=60)
    received_on = models.DateField(_("到账日期"))
    idempotency_key = models.CharField(_("幂等键"), max_length=64, unique=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RECORDED)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("登记人"), on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(_("登记时间"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审核人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.CharField(_("审核意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("缴回记录")
        verbose_name_plural = _("缴回记录")
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive"),
            models.CheckConstraint(condition=Q(state__in=["recorded", "approved", "rejected"]),
                                   name="repayment_state_valid"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("recorded_by")),
                                   name="repayment_four_eyes",
                                   violation_error_message=_("登记人不能审核自己登记的缴回。")),
        ]

    def __str__(self):
        return f"{self.voucher_no} {self.amount}"


class AgreementBudgetLine(models.Model):
    """The agreement's budget by category (设备费, 业务费, 劳务费), copied from the application when the 任务书 is
    drafted and changed afterwards only by 预算调整 (each adjustment keeps the before and after)."""

    agreement = models.ForeignKey(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                  related_name="budget_lines")
    category = models.CharField(_("预算科目"), max_length=20, choices=BudgetLine.Category.choices)
    fiscal_amount = MoneyField(_("财政资金（元）"), default=ZERO)
    self_amount = MoneyField(_("自筹资金（元）"), default=ZERO)

    class Meta:
        verbose_name = _("任务书预算")
        verbose_name_plural = _("任务书预算")
        ordering = ["agreement", "id"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "category"], name="agreement_budget_unique_category"),
            models.CheckConstraint(condition=Q(fiscal_amount__gte=0) & Q(self_amount__gte=0),
                                   name="agreement_budget_nonnegative"),
            models.CheckConstraint(condition=Q(category__in=["equipment", "business", "labour"]),
                                   name="agreement_budget_category_valid"),
        ]

    def __str__(self):
        return self.get_category_display()


class BudgetAdjustment(models.Model):
    """预算调整: the organisation moves amounts between categories (the totals stay). Within what the programme
    delegates it takes effect at once (备案); beyond it the officer approves or rejects."""

    class State(models.TextChoices):
        RECORDED = "recorded", _("已备案")
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("不予批准")

    agreement = models.ForeignKey(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                  related_name="budget_adjustments")
    number = models.CharField(_("调整单编号"), max_length=60, unique=True)
    #: [{"category", "fiscal_before", "fiscal_after", "self_before", "self_after"}] (元 as strings)
    changes = models.JSONField(_("调整明细"), default=list)
    reason = models.TextField(_("调整理由"))
    within_delegation = models.BooleanField(_("在单位自主调整权限内"), default=False)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.CharField(_("审批意见"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("预算调整")
        verbose_name_plural = _("预算调整")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["recorded", "pending", "approved", "rejected"]),
                                   name="budget_adjustment_state_valid"),
            # one adjustment awaiting the officer at a time: the next is measured against the budget it leaves
            models.UniqueConstraint(fields=["agreement"], condition=Q(state="pending"),
                                    name="budget_adjustment_one_pending",
                                    violation_error_message=_("该任务书已有待审批的预算调整。")),
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="budget_adjustment_queue")]

    def __str__(self):
        return self.number


def subsidy_audit_path(instance, filename):
    return f"subsidies/{instance.agreement_id}/{uuid.uuid4().hex}"


class PostSubsidyClaim(models.Model):
    """后补助核定: the organisation claims its R&D expense with the 专项审计报告; the bureau verifies the expense; the
    subsidy is the programme's percentage of the verified expense, capped (by the programme and by the grant), and
    paid once: the agreement's single tranche takes that amount and becomes due."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("待核定")
        RETURNED = "returned", _("退回补正")
        VERIFIED = "verified", _("已核定")

    agreement = models.OneToOneField(TaskAgreement, verbose_name=_("任务书"), on_delete=models.PROTECT,
                                     related_name="subsidy_claim")
    claimed_expense = MoneyField(_("申报研发费用（元）"))
    audit_report = models.FileField(_("专项审计报告"), upload_to=subsidy_audit_path, storage=private_storage,
                                    max_length=255)
    audit_report_name = models.CharField(_("原文件名"), max_length=255)
    audit_report_sha256 = models.CharField(_("SHA-256"), max_length=64)
    note = models.TextField(_("说明"), blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.SUBMITTED)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申报人"), on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(_("申报时间"))
    verified_expense = MoneyField(_("核定研发费用（元）"), null=True, blank=True)
    percent = models.DecimalField(_("补助比例（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    cap = MoneyField(_("补助上限（元）"), null=True, blank=True)
    subsidy_amount = MoneyField(_("核定补助金额（元）"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("核定人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("核定时间"), null=True, blank=True)
    decision_note = models.TextField(_("核定意见"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("后补助核定")
        verbose_name_plural = _("后补助核定")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["submitted", "returned", "verified"]),
                                   name="subsidy_claim_state_valid"),
            models.CheckConstraint(condition=Q(claimed_expense__gt=0), name="subsidy_claim_expense_positive"),
            models.CheckConstraint(
                condition=~Q(state="verified") | (Q(verified_expense__isnull=False) & Q(subsidy_amount__gt=0)
                                                  & Q(percent__isnull=False)),
                name="subsidy_claim_verified_complete"),
            models.CheckConstraint(condition=Q(verified_expense__isnull=True)
                                   | Q(verified_expense__lte=F("claimed_expense")),
                                   name="subsidy_claim_verified_within_claim",
                                   violation_error_message=_("核定研发费用不得超过申报研发费用。")),
            models.CheckConstraint(condition=Q(subsidy_amount__isnull=True) | Q(cap__isnull=True)
                                   | Q(subsidy_amount__lte=F("cap")),
                                   name="subsidy_claim_within_cap"),
        ]
        indexes = [models.Index(fields=["state", "submitted_at"], name="subsidy_claim_queue")]

    def __str__(self):
        return _("后补助核定 %(a)s") % {"a": self.agreement.number}

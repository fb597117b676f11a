"""中期报告, 验收申请, 延期申请, their attachments and the 终止建议 of a project that did not apply for acceptance.
Re-exported by ``projects.models`` (except TerminationProposal: import it from here)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.fields import MoneyField

from ..storage import private_storage

ZERO = Decimal("0.00")


class CheckpointReport(models.Model):
    """What a 中期报告 and a 验收申请 share: progress against each target, spending by budget category, the expert
    round's score, the bureau's conclusion and the one rectification (整改) the bureau may ask for."""

    #: progress (mid-term) or achieved value (acceptance) against each agreed target:
    #: [{"kind", "indicator", "target_value", "unit", "value", "evidence"}] (values as decimal strings)
    targets = models.JSONField(_("绩效指标完成情况"), default=list, blank=True)
    #: spending by budget category: [{"category", "budget_fiscal", "budget_self", "fiscal", "self"}] (元 as strings)
    spending = models.JSONField(_("经费支出"), default=list, blank=True)
    spent_fiscal = MoneyField(_("已支出财政资金（元）"), default=ZERO)
    spent_self = MoneyField(_("已支出自筹资金（元）"), default=ZERO)
    attempt = models.PositiveSmallIntegerField(_("提交轮次"), default=1,
                                               validators=[MinValueValidator(1), MaxValueValidator(2)],
                                               help_text=_("整改后再次提交为第2轮"))
    expert_score = models.DecimalField(_("专家评审得分"), max_digits=6, decimal_places=2, null=True, blank=True)
    expert_review_count = models.PositiveSmallIntegerField(_("专家评审人数"), default=0)
    conclusion_note = models.TextField(_("结论意见"), blank=True)
    rectify_due = models.DateField(_("整改期限"), null=True, blank=True)
    rectify_note = models.TextField(_("整改要求"), blank=True)
    fault = models.BooleanField(_("因承担单位原因"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提交人"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    concluded_at = models.DateTimeField(_("结论时间"), null=True, blank=True)
    concluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("结论人"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True

    def _budget_total(self, key: str) -> Decimal:
        return sum((Decimal(str(r.get(key) or "0")) for r in self.spending), ZERO)

    @property
    def budget_fiscal_total(self) -> Decimal:
        """The agreed fiscal budget the spending is measured against (the rows' budget column, summed)."""
        return self._budget_total("budget_fiscal")

    @property
    def budget_self_total(self) -> Decimal:
        return self._budget_total("budget_self")


class MidtermReport(CheckpointReport):
    """中期报告: the bureau opens the mid-term check of a project with a due date; the organisation reports and
    submits; an expert round scores it; the bureau concludes 通过 (the mid-term tranche becomes due), 整改 (once:
    the organisation reports again by the rectification date) or 不通过 (the project is terminated and the unspent
    or all fiscal funds recovered)."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("待提交")
        SUBMITTED = "submitted", _("待评审")
        RECTIFYING = "rectifying", _("整改中")
        PASSED = "passed", _("通过")
        FAILED = "failed", _("不通过")
        CANCELLED = "cancelled", _("已取消")

    OPEN_STATES = (State.REQUESTED, State.SUBMITTED, State.RECTIFYING)
    EDITABLE_STATES = (State.REQUESTED, State.RECTIFYING)

    project = models.OneToOneField("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                   related_name="midterm")
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.REQUESTED)
    due_date = models.DateField(_("提交期限"))
    progress = models.TextField(_("总体进展情况"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发起人"), on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        verbose_name = _("中期报告")
        verbose_name_plural = _("中期报告")
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["requested", "submitted", "rectifying", "passed", "failed", "cancelled"]),
                name="midterm_state_valid"),
            models.CheckConstraint(condition=Q(attempt__gte=1) & Q(attempt__lte=2), name="midterm_attempt_range"),
            models.CheckConstraint(condition=Q(spent_fiscal__gte=0) & Q(spent_self__gte=0),
                                   name="midterm_spent_nonnegative"),
            models.CheckConstraint(condition=~Q(state="rectifying") | Q(rectify_due__isnull=False),
                                   name="midterm_rectify_has_due"),
        ]
        indexes = [models.Index(fields=["state", "due_date"], name="midterm_state_due")]

    def __str__(self):
        return _("中期报告 %(p)s") % {"p": self.project.number}


class AcceptanceReport(CheckpointReport):
    """验收申请: due within 6 months after the project's end date. An expert round scores it; the bureau concludes
    通过, 整改 (once, within 3 months; then 整改后通过 or 不通过), 不通过 or 结题. Passing makes the acceptance tranche due;
    不通过 and 结题 end the project and open the recovery of the fiscal funds."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待评审")
        RECTIFYING = "rectifying", _("整改中")
        PASSED = "passed", _("验收通过")
        PASSED_AFTER_RECTIFICATION = "passed_rectified", _("整改后通过")
        FAILED = "failed", _("验收不通过")
        CLOSED = "closed", _("结题")
        CANCELLED = "cancelled", _("已取消")

    OPEN_STATES = (State.DRAFT, State.SUBMITTED, State.RECTIFYING)
    EDITABLE_STATES = (State.DRAFT, State.RECTIFYING)

    project = models.OneToOneField("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                   related_name="acceptance_report")
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    summary = models.TextField(_("项目总结"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("验收申请")
        verbose_name_plural = _("验收申请")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "submitted", "rectifying", "passed", "passed_rectified", "failed",
                                       "closed", "cancelled"]),
                name="acceptance_state_valid"),
            models.CheckConstraint(condition=Q(attempt__gte=1) & Q(attempt__lte=2), name="acceptance_attempt_range"),
            models.CheckConstraint(condition=Q(spent_fiscal__gte=0) & Q(spent_self__gte=0),
                                   name="acceptance_spent_nonnegative"),
            models.CheckConstraint(condition=~Q(state="rectifying") | Q(rectify_due__isnull=False),
                                   name="acceptance_rectify_has_due"),
            # 整改后通过 only after the one rectification
            models.CheckConstraint(condition=~Q(state="passed_rectified") | Q(attempt=2),
                                   name="acceptance_rectified_second_attempt"),
        ]
        indexes = [models.Index(fields=["state"], name="acceptance_state")]

    def __str__(self):
        return _("验收申请 %(p)s") % {"p": self.project.number}


class CheckpointAttachmentKind(models.TextChoices):
    PROGRESS_REPORT = "progress_report", _("中期进展报告")
    FINAL_REPORT = "final_report", _("项目总结报告")
    SPENDING_REPORT = "spending_report", _("经费决算报告")
    AUDIT_REPORT = "audit_report", _("专项审计报告")
    EVIDENCE = "evidence", _("佐证材料")
    RECTIFICATION = "rectification", _("整改报告")
    OTHER = "other", _("其他")


def checkpoint_attachment_path(instance, filename):
    return f"checkpoints/{instance.midterm_id or instance.acceptance_id}/{uuid.uuid4().hex}"


class CheckpointAttachment(models.Model):
    """A file of a 中期报告 or a 验收申请. Removing one keeps the row (removed_at)."""

    midterm = models.ForeignKey(MidtermReport, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="attachments")
    acceptance = models.ForeignKey(AcceptanceReport, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="attachments")
    kind = models.CharField(_("附件类型"), max_length=30, choices=CheckpointAttachmentKind.choices)
    file = models.FileField(_("文件"), upload_to=checkpoint_attachment_path, storage=private_storage, max_length=255)
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    attempt = models.PositiveSmallIntegerField(_("提交轮次"), default=1)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    removed_at = models.DateTimeField(_("移除时间"), null=True, blank=True)
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("移除人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("考核附件")
        verbose_name_plural = _("考核附件")
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="checkpoint_attachment_not_empty"),
            models.CheckConstraint(
                condition=(Q(midterm__isnull=False) & Q(acceptance__isnull=True))
                | (Q(midterm__isnull=True) & Q(acceptance__isnull=False)),
                name="checkpoint_attachment_one_report"),
        ]

    def __str__(self):
        return self.original_name


class ExtensionRequest(models.Model):
    """延期申请: one per project, at most 12 months, applied for at least 3 months before the end date. Approval
    moves the project's end date (and with it the acceptance deadline); the request keeps the original date."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("待审批")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("不予批准")

    project = models.OneToOneField("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                   related_name="extension_request")
    months = models.PositiveSmallIntegerField(_("延期月数"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    reason = models.TextField(_("延期理由"))
    original_end_date = models.DateField(_("原结束日期"))
    new_end_date = models.DateField(_("申请结束日期"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.SUBMITTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(_("申请时间"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审批人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decision_note = models.TextField(_("审批意见"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(months__gte=1) & Q(months__lte=12), name="extension_at_most_12_months",
                                   violation_error_message=_("延期不得超过12个月。")),
            models.CheckConstraint(condition=Q(state__in=["submitted", "approved", "rejected"]),
                                   name="extension_state_valid"),
            models.CheckConstraint(condition=Q(new_end_date__gt=models.F("original_end_date")),
                                   name="extension_moves_forward"),
        ]
        indexes = [models.Index(fields=["state", "requested_at"], name="extension_pending")]

    def __str__(self):
        return _("延期申请 %(p)s") % {"p": self.project.number}


class TerminationProposal(models.Model):
    """项目终止建议: a running project that did not apply for acceptance by its acceptance due date (6 months after its
    end date) is proposed to the officer for termination by the deadline sweeper's automatic action. The officer
    terminates the project (through the existing termination service) or dismisses the proposal with a reason (the
    organisation applied late, an extension was granted). One open proposal per project; the rows are kept."""

    class State(models.TextChoices):
        PROPOSED = "proposed", _("待处理")
        ACCEPTED = "accepted", _("已终止项目")
        DISMISSED = "dismissed", _("不予终止")

    class Reason(models.TextChoices):
        ACCEPTANCE_NOT_APPLIED = "acceptance_not_applied", _("逾期未申请验收")

    project = models.ForeignKey("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                related_name="termination_proposals")
    reason = models.CharField(_("建议原因"), max_length=40, choices=Reason.choices,
                              default=Reason.ACCEPTANCE_NOT_APPLIED)
    due_date = models.DateField(_("验收申请期限"), help_text=_("建议所针对的期限（项目结束日期后6个月）"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.PROPOSED)
    created_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    note = models.TextField(_("处理意见"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("项目终止建议")
        verbose_name_plural = _("项目终止建议")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(state="proposed"),
                                    name="termination_proposal_one_open",
                                    violation_error_message=_("该项目已有待处理的终止建议。")),
            models.CheckConstraint(condition=Q(state__in=["proposed", "accepted", "dismissed"]),
                                   name="termination_proposal_state_valid"),
            models.CheckConstraint(condition=Q(reason__in=["acceptance_not_applied"]),
                                   name="termination_proposal_reason_valid"),
            models.CheckConstraint(condition=Q(state="proposed") | Q(decided_at__isnull=False),
                                   name="termination_proposal_decided_at"),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="termination_proposal_state")]

    def __str__(self):
        return _("终止建议 %(p)s") % {"p": self.project.number}

import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.fields import MoneyField
from accounts.models import Organization
from accounts.validators import mask_id_number

from .storage import private_storage

ZERO = Decimal("0.00")


def split_terms(text: str) -> list[str]:
    """Keywords as typed: separated by commas, semicolons, 、 or spaces, in either width."""
    return [k for k in (s.strip() for s in re.split(r"[,，;；、\s]+", text or "")) if k]


class Program(models.Model):
    """计划类别, e.g. 重点研发计划, 揭榜挂帅."""

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("一般科技计划项目")
        CHALLENGE = "challenge", _("揭榜挂帅")
        POST_SUBSIDY = "post_subsidy", _("后补助")

    name = models.CharField(_("计划名称"), max_length=100)
    code = models.SlugField(_("计划代码"), max_length=20, unique=True, help_text=_("用于申报编号，如 ZDYF"))
    kind = models.CharField(_("计划类型"), max_length=20, choices=Kind.choices, default=Kind.ORDINARY)
    managing_office = models.CharField(_("主管处室"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("计划类别")
        verbose_name_plural = _("计划类别")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["ordinary", "challenge", "post_subsidy"]), name="program_kind_valid"
            )
        ]

    def __str__(self):
        return self.name


class AttachmentKind(models.TextChoices):
    FEASIBILITY = "feasibility", _("项目可行性报告")
    BUSINESS_LICENSE = "business_license", _("营业执照或法人证书")
    FINANCIAL_STATEMENT = "financial_statement", _("上年度财务审计报告")
    COOPERATION_AGREEMENT = "cooperation_agreement", _("合作协议")
    SELF_FUNDING_PROOF = "self_funding_proof", _("自筹资金承诺或证明")
    QUALIFICATION = "qualification", _("资质证明")
    ETHICS = "ethics", _("伦理审查或安全承诺")
    OTHER = "other", _("其他材料")


class Call(models.Model):
    """申报指南 / 批次: one call for proposals under a programme."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        CLOSED = "closed", _("已截止")

    program = models.ForeignKey(Program, verbose_name=_("计划类别"), on_delete=models.PROTECT, related_name="calls")
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("指南名称"), max_length=200)
    guide = models.TextField(_("指南正文"), blank=True)
    opens_at = models.DateTimeField(_("申报开始时间"))
    closes_at = models.DateTimeField(_("申报截止时间"))
    total_budget = MoneyField(_("财政资金总额（元）"), validators=[MinValueValidator(ZERO)])
    cap_per_project = MoneyField(
        _("单项财政资金上限（元）"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    min_self_funding_ratio = models.DecimalField(
        _("自筹资金最低比例"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("自筹资金占项目总经费的最低比例，0.5 表示 50%"),
    )
    eligible_org_kinds = models.JSONField(
        _("可申报单位性质"), default=list, blank=True, help_text=_("为空表示不限")
    )
    required_qualifications = models.JSONField(_("须具备的资质"), default=list, blank=True)
    max_applications_per_org = models.PositiveSmallIntegerField(
        _("每单位限报项数"), null=True, blank=True, help_text=_("为空表示不限")
    )
    required_attachment_kinds = models.JSONField(_("必传附件类型"), default=list, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("截止处理时间"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("申报指南")
        verbose_name_plural = _("申报指南")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="call_closes_after_opens",
                                   violation_error_message=_("截止时间必须晚于开始时间。")),
            models.CheckConstraint(condition=Q(total_budget__gte=0), name="call_budget_nonnegative"),
            models.CheckConstraint(condition=Q(cap_per_project__gt=0), name="call_cap_positive"),
            models.CheckConstraint(
                condition=Q(min_self_funding_ratio__gte=0) & Q(min_self_funding_ratio__lte=1),
                name="call_self_ratio_in_range",
            ),
            models.CheckConstraint(
                condition=Q(max_applications_per_org__isnull=True) | Q(max_applications_per_org__gte=1),
                name="call_max_per_org_positive",
            ),
            models.CheckConstraint(condition=Q(state__in=["draft", "published", "closed"]), name="call_state_valid"),
        ]
        indexes = [models.Index(fields=["state", "closes_at"])]

    def __str__(self):
        return self.title

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.state == self.State.PUBLISHED and self.opens_at <= now < self.closes_at

    def accepted_submissions_at(self, when) -> bool:
        """Whether the window was open at ``when`` (closing a call early moves closes_at back, so
        the times alone decide; the state only rules out drafts)."""
        return self.state != self.State.DRAFT and self.opens_at <= when < self.closes_at

    @property
    def eligible_org_kind_labels(self) -> list[str]:
        return [str(Organization.Kind(k).label) for k in self.eligible_org_kinds if k in Organization.Kind.values]

    @property
    def required_qualification_labels(self) -> list[str]:
        return [
            str(Organization.Qualification(q).label)
            for q in self.required_qualifications
            if q in Organization.Qualification.values
        ]

    @property
    def required_attachment_labels(self) -> list[str]:
        return [str(AttachmentKind(k).label) for k in self.required_attachment_kinds if k in AttachmentKind.values]


def call_document_path(instance, filename):
    return f"calls/{instance.call_id}/{uuid.uuid4().hex}"


class CallDocument(models.Model):
    """A file published with a call's guide (指南附件)."""

    call = models.ForeignKey(Call, verbose_name=_("申报指南"), on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(_("文件名称"), max_length=200)
    file = models.FileField(_("文件"), upload_to=call_document_path, storage=private_storage, max_length=255)
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("指南附件")
        verbose_name_plural = _("指南附件")
        ordering = ["id"]

    def __str__(self):
        return self.title


class Application(models.Model):
    """申报书."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待单位审核")
        ORG_RETURNED = "org_returned", pgettext_lazy("state", "单位退回")
        ENDORSED = "endorsed", _("待形式审查")
        ACCEPTED = "accepted", _("已受理")
        RETURNED = "returned", pgettext_lazy("state", "退回修改")
        REJECTED = "rejected", pgettext_lazy("state", "不予受理")
        WITHDRAWN = "withdrawn", _("已撤回")
        APPROVED = "approved", _("已立项")
        NOT_APPROVED = "not_approved", _("未立项")

    EDITABLE_STATES = (State.DRAFT, State.ORG_RETURNED, State.RETURNED)
    # States that count toward the per-organisation limit and 多头申报.
    ACTIVE_STATES = (State.SUBMITTED, State.ORG_RETURNED, State.ENDORSED, State.ACCEPTED, State.RETURNED,
                     State.APPROVED)

    call = models.ForeignKey(Call, verbose_name=_("申报指南"), on_delete=models.PROTECT, related_name="applications")
    organization = models.ForeignKey(
        Organization, verbose_name=_("申报单位"), on_delete=models.PROTECT, related_name="applications"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT, related_name="+"
    )
    number = models.CharField(_("申报编号"), max_length=40, unique=True, null=True, blank=True)
    title = models.CharField(_("项目名称"), max_length=200)
    summary = models.TextField(_("项目简介"), blank=True)
    keywords = models.CharField(_("关键词"), max_length=200, blank=True, help_text=_("以逗号或分号分隔"))
    discipline_code = models.CharField(_("学科代码"), max_length=20, blank=True, help_text=_("GB/T 13745，如 520.20"))
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    leader_name = models.CharField(_("项目负责人"), max_length=50, blank=True)
    leader_title = models.CharField(_("负责人职称"), max_length=50, blank=True)
    leader_phone = models.CharField(_("负责人电话"), max_length=30, blank=True)
    leader_email = models.EmailField(_("负责人邮箱"), blank=True)
    leader_id_number = models.CharField(_("负责人证件号码"), max_length=30, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT, db_index=True)
    revision = models.PositiveSmallIntegerField(_("提交次数"), default=0)
    submitted_at = models.DateTimeField(_("最近提交时间"), null=True, blank=True)
    reached_bureau_at = models.DateTimeField(
        _("报送科技局时间"), null=True, blank=True, help_text=_("首次通过单位审核的时间；此后科技局可见")
    )
    decided_at = models.DateTimeField(_("形式审查时间"), null=True, blank=True)
    last_reason = models.TextField(_("最近退回或不予受理理由"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("申报书")
        verbose_name_plural = _("申报书")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "submitted", "org_returned", "endorsed", "accepted", "returned",
                                       "rejected", "withdrawn", "approved", "not_approved"]),
                name="application_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(start_date__isnull=True) | Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="application_period_ordered",
                violation_error_message=_("结束日期不能早于开始日期。"),
            ),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "withdrawn"]) | Q(number__isnull=False),
                name="application_submitted_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["call", "organization", "state"]),
            # the lists are ordered newest first: these let a page stop after its 20 rows
            models.Index(fields=["organization", "updated_at", "id"], name="application_org_recent"),
            models.Index(fields=["updated_at", "id"], name="application_recent"),
            models.Index(fields=["state", "submitted_at", "id"], name="application_queue"),
        ]

    def __str__(self):
        return self.title or str(_("（未命名申报书）"))

    @property
    def is_editable(self) -> bool:
        return self.state in self.EDITABLE_STATES

    @property
    def masked_leader_id(self) -> str:
        return mask_id_number(self.leader_id_number)

    @property
    def keyword_list(self) -> list[str]:
        return split_terms(self.keywords)


class TeamMember(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="team_members")
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("证件号码"), max_length=30, blank=True)
    title = models.CharField(_("职称"), max_length=50, blank=True)
    organization_name = models.CharField(_("工作单位"), max_length=200)
    role = models.CharField(_("项目分工"), max_length=200, blank=True)
    work_months = models.PositiveSmallIntegerField(_("投入月数"), default=0)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("项目组成员")
        verbose_name_plural = _("项目组成员")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class BudgetLine(models.Model):
    """One budget category, split into 财政资金 and 自筹资金, in 元 (exact decimals)."""

    class Category(models.TextChoices):
        EQUIPMENT = "equipment", _("设备费")
        BUSINESS = "business", _("业务费")
        LABOUR = "labour", _("劳务费")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="budget_lines")
    category = models.CharField(_("预算科目"), max_length=20, choices=Category.choices)
    fiscal_amount = MoneyField(_("财政资金（元）"), default=ZERO, validators=[MinValueValidator(ZERO)])
    self_amount = MoneyField(_("自筹资金（元）"), default=ZERO, validators=[MinValueValidator(ZERO)])
    note = models.CharField(_("测算说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("预算明细")
        verbose_name_plural = _("预算明细")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "category"], name="budget_line_unique_category"),
            models.CheckConstraint(condition=Q(fiscal_amount__gte=0) & Q(self_amount__gte=0),
                                   name="budget_line_nonnegative"),
            models.CheckConstraint(condition=Q(category__in=["equipment", "business", "labour"]),
                                   name="budget_line_category_valid"),
        ]

    def __str__(self):
        return self.get_category_display()

    @property
    def total(self) -> Decimal:
        return self.fiscal_amount + self.self_amount


class PerformanceTarget(models.Model):
    """绩效指标."""

    class Kind(models.TextChoices):
        OUTPUT = "output", _("产出指标")
        EFFECT = "effect", _("效益指标")
        SATISFACTION = "satisfaction", _("满意度指标")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(_("指标类型"), max_length=20, choices=Kind.choices)
    indicator = models.CharField(_("指标名称"), max_length=200)
    target_value = models.DecimalField(_("目标值"), max_digits=16, decimal_places=4)
    unit = models.CharField(_("计量单位"), max_length=20)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("绩效指标")
        verbose_name_plural = _("绩效指标")
        ordering = ["position", "id"]

    def __str__(self):
        return self.indicator


class Partner(models.Model):
    """合作单位."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="partners")
    organization = models.ForeignKey(
        Organization, verbose_name=_("已注册单位"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("单位名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18)
    role = models.CharField(_("合作内容"), max_length=500, blank=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("合作单位")
        verbose_name_plural = _("合作单位")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "credit_code"], name="partner_unique_per_application")
        ]

    def __str__(self):
        return self.name


def attachment_path(instance, filename):
    # Never trust the uploaded name on disk.
    return f"applications/{instance.application_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A typed file of an application. Removing one from a draft keeps the row (removed_at)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="attachments")
    kind = models.CharField(_("附件类型"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(_("文件"), upload_to=attachment_path, storage=private_storage, max_length=255)
    original_name = models.CharField(_("原文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    removed_at = models.DateTimeField(_("移除时间"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("移除人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("申报附件")
        verbose_name_plural = _("申报附件")
        ordering = ["kind", "id"]
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty")]

    def __str__(self):
        return self.original_name


class ApplicationVersion(models.Model):
    """What was submitted each time (submission history survives revisions)."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="versions")
    revision = models.PositiveSmallIntegerField(_("版本"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    snapshot = models.JSONField(_("内容快照"))

    class Meta:
        verbose_name = _("申报书版本")
        verbose_name_plural = _("申报书版本")
        ordering = ["application", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["application", "revision"], name="application_version_unique")
        ]

    def __str__(self):
        return f"{self.application} v{self.revision}"


class FormalReview(models.Model):
    """形式审查 record: the officer's checklist and decision."""

    class Decision(models.TextChoices):
        ACCEPT = "accept", _("受理")
        RETURN = "return", _("退回修改")
        REJECT = "reject", _("不予受理")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="formal_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审查人"), on_delete=models.PROTECT,
                                 related_name="+")
    revision = models.PositiveSmallIntegerField(_("审查的版本"))
    decision = models.CharField(_("审查结论"), max_length=10, choices=Decision.choices)
    checklist = models.JSONField(_("审查要点"), default=dict)
    comment = models.TextField(_("审查意见"), blank=True)
    created_at = models.DateTimeField(_("审查时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("形式审查记录")
        verbose_name_plural = _("形式审查记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision__in=["accept", "return", "reject"]),
                                   name="formal_review_decision_valid")
        ]

    def __str__(self):
        return f"{self.application} · {self.get_decision_display()}"


class AvoidanceRequest(models.Model):
    """不适宜专家: an expert the applicant asks the bureau not to use, with the reason (at most 3)."""

    MAX_PER_APPLICATION = 3

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="avoidance_requests")
    name = models.CharField(_("专家姓名"), max_length=50)
    organization_name = models.CharField(_("工作单位"), max_length=200)
    reason = models.CharField(_("回避理由"), max_length=500)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("不适宜评审专家")
        verbose_name_plural = _("不适宜评审专家")
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.name}（{self.organization_name}）"


class Project(models.Model):
    """立项项目: created when an application on an approved 立项 list is approved, or when a 揭榜 bid wins."""

    class State(models.TextChoices):
        ESTABLISHED = "established", _("在研")
        TERMINATED = "terminated", _("已终止")
        COMPLETED = "completed", _("验收通过")
        FAILED = "failed", _("验收不通过")
        CLOSED = "closed", _("已结题")

    application = models.OneToOneField(
        Application, verbose_name=_("申报书"), on_delete=models.PROTECT, related_name="project", null=True, blank=True
    )
    bid = models.OneToOneField(
        "projects.Bid", verbose_name=_("揭榜方案"), on_delete=models.PROTECT, related_name="project", null=True,
        blank=True,
    )
    call = models.ForeignKey(Call, verbose_name=_("申报指南"), on_delete=models.PROTECT, related_name="projects",
                             null=True, blank=True)
    challenge = models.ForeignKey(
        "projects.Challenge", verbose_name=_("揭榜挂帅项目"), on_delete=models.PROTECT, related_name="projects",
        null=True, blank=True,
    )
    organization = models.ForeignKey(
        Organization, verbose_name=_("承担单位"), on_delete=models.PROTECT, related_name="projects"
    )
    number = models.CharField(_("项目编号"), max_length=40, unique=True)
    title = models.CharField(_("项目名称"), max_length=200)
    leader_name = models.CharField(_("项目负责人"), max_length=50, blank=True)
    requested_amount = MoneyField(_("申请财政资金（元）"), default=ZERO)
    granted_amount = MoneyField(_("立项财政资金（元）"))
    start_date = models.DateField(_("开始日期"), null=True, blank=True)
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.ESTABLISHED)
    established_at = models.DateTimeField(_("立项时间"))
    established_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("立项操作人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    source = models.CharField(_("立项依据"), max_length=200, blank=True, help_text=_("如立项清单编号"))
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    end_reason = models.TextField(_("终止或结题说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("立项项目")
        verbose_name_plural = _("立项项目")
        ordering = ["-established_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(granted_amount__gt=0), name="project_granted_positive"),
            models.CheckConstraint(
                condition=Q(state__in=["established", "terminated", "completed", "failed", "closed"]),
                name="project_state_valid",
            ),
            # from exactly one source: an application (with its call) or a winning bid (with its challenge)
            models.CheckConstraint(
                condition=(Q(application__isnull=False) & Q(call__isnull=False) & Q(bid__isnull=True)
                           & Q(challenge__isnull=True))
                | (Q(application__isnull=True) & Q(call__isnull=True) & Q(bid__isnull=False)
                   & Q(challenge__isnull=False)),
                name="project_one_source",
            ),
        ]
        indexes = [
            models.Index(fields=["established_at"], name="project_established"),
            models.Index(fields=["state", "end_date"], name="project_running_end"),  # the acceptance deadline sweep
        ]

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_challenge(self) -> bool:
        return self.bid_id is not None


from .challenges.models import (  # noqa: E402, F401  (the 揭榜挂帅 models live in their own module of this app)
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeAcceptance,
    ChallengeField,
    ChallengeQuestion,
    ChallengeTarget,
    ProjectMilestone,
)
from .checkpoints.models import (  # noqa: E402, F401  (the 中期/验收/延期 models live in their own module)
    AcceptanceReport,
    CheckpointAttachment,
    CheckpointAttachmentKind,
    ExtensionRequest,
    MidtermReport,
)

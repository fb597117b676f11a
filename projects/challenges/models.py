"""揭榜挂帅: needs posted by enterprises, the published 榜单, 答疑, bids (揭榜方案), and the winners' milestone plans.

"企业出题、政府立题、揭榜攻关": a ``Challenge`` starts as an enterprise's need (需求征集), is vetted (论证) by the
bureau, published with its bounty (悬赏金额) and bid deadline, takes ``Bid``\\ s alone or as a consortium, and
ends awarded to one team (or up to ``max_winners`` in 赛马制), failed (流标, may be republished) or cancelled.
Each winning bid becomes a ``projects.Project`` with the bid's milestones as ``ProjectMilestone``\\ s.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.fields import MoneyField
from accounts.models import Organization
from accounts.validators import mask_id_number, validate_credit_code

ZERO = Decimal("0.00")
MAX_WINNERS = 5


class ChallengeField(models.TextChoices):
    """技术领域 of the 榜单 (the filters of the public list)."""

    ELECTRONICS = "electronics", _("电子信息")
    MANUFACTURING = "manufacturing", _("先进制造与自动化")
    MATERIALS = "materials", _("新材料")
    ENERGY = "energy", _("新能源与节能环保")
    BIOMEDICINE = "biomedicine", _("生物与医药")
    AGRICULTURE = "agriculture", _("现代农业")
    SOCIAL = "social", _("社会发展")
    OTHER = "other", _("其他")


class Challenge(models.Model):
    """揭榜挂帅项目: an enterprise's need (需求), and once vetted, the published challenge (榜单)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        VETTING = "vetting", _("论证中")
        REJECTED = "rejected", _("论证未通过")
        PUBLISHED = "published", _("揭榜中")
        CLOSED = "closed", _("揭榜截止")
        REVIEWING = "reviewing", _("评审中")
        AWARDED = "awarded", _("已揭榜")
        FAILED = "failed", _("流标")
        CANCELLED = "cancelled", pgettext_lazy("challenge", "已撤销")

    #: the poster may edit the need in these states
    EDITABLE_STATES = (State.DRAFT,)
    #: on the public 榜单
    PUBLIC_STATES = (State.PUBLISHED, State.CLOSED, State.REVIEWING, State.AWARDED, State.FAILED)

    organization = models.ForeignKey(
        Organization, verbose_name=_("发榜单位"), on_delete=models.PROTECT, related_name="challenges"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT, related_name="+"
    )
    program = models.ForeignKey(
        "projects.Program", verbose_name=_("计划类别"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="challenges", help_text=_("发榜时由科技局指定（揭榜挂帅类计划）"),
    )
    number = models.CharField(_("需求编号"), max_length=40, unique=True, null=True, blank=True)
    title = models.CharField(_("需求名称"), max_length=200)
    field = models.CharField(_("技术领域"), max_length=20, choices=ChallengeField.choices, default=ChallengeField.OTHER)
    discipline_code = models.CharField(
        _("学科代码"), max_length=20, blank=True, help_text=_("GB/T 13745 学科代码，用于匹配评审专家，如 580（机械工程）")
    )
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    problem = models.TextField(_("技术难题描述"), blank=True, help_text=_("需要解决的关键技术问题、现状与瓶颈"))
    expected_outcome = models.TextField(_("预期成果"), blank=True)
    period_months = models.PositiveSmallIntegerField(
        _("预期攻关周期（月）"), default=24, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    enterprise_funding = MoneyField(_("企业出资（元）"), default=ZERO, validators=[MinValueValidator(ZERO)])
    subsidy_requested = MoneyField(_("申请政府补助（元）"), default=ZERO, validators=[MinValueValidator(ZERO)])
    bounty = MoneyField(_("悬赏金额（元）"), default=ZERO, help_text=_("企业出资与政府补助之和"))
    max_winners = models.PositiveSmallIntegerField(
        _("入选团队数"), default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_WINNERS)],
        help_text=_("1 为单一揭榜；大于 1 为赛马制，多个团队并行攻关、按里程碑考核淘汰"),
    )
    defence_weight = models.DecimalField(
        _("答辩成绩权重"), max_digits=3, decimal_places=2, default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("0 表示不组织答辩；0.4 表示综合得分 = 专家评审 60% + 答辩 40%"),
    )
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    commitment_accepted_at = models.DateTimeField(_("发榜承诺时间"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    bid_round = models.PositiveSmallIntegerField(_("发榜轮次"), default=1)
    bid_deadline = models.DateTimeField(_("揭榜截止时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发榜时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("截止处理时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("结果确定时间"), null=True, blank=True)
    vetting_opinion = models.TextField(_("论证意见"), blank=True)
    vetting_score = models.DecimalField(_("论证专家评分"), max_digits=6, decimal_places=2, null=True, blank=True)
    last_reason = models.TextField(_("最近一次处理意见"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("揭榜挂帅需求")
        verbose_name_plural = _("揭榜挂帅需求")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "submitted", "vetting", "rejected", "published", "closed",
                                       "reviewing", "awarded", "failed", "cancelled"]),
                name="challenge_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(enterprise_funding__gte=0) & Q(subsidy_requested__gte=0),
                name="challenge_funding_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(bounty=F("enterprise_funding") + F("subsidy_requested")),
                name="challenge_bounty_is_sum",
                violation_error_message=_("悬赏金额须等于企业出资与政府补助之和。"),
            ),
            models.CheckConstraint(
                # a need withdrawn as a draft, never published, may have had no money entered yet
                condition=Q(state="draft") | (Q(state="cancelled") & Q(published_at__isnull=True)) | Q(bounty__gt=0),
                name="challenge_bounty_positive",
                violation_error_message=_("悬赏金额必须大于0。"),
            ),
            models.CheckConstraint(
                condition=Q(max_winners__gte=1) & Q(max_winners__lte=MAX_WINNERS), name="challenge_winners_range"
            ),
            models.CheckConstraint(
                condition=Q(defence_weight__gte=0) & Q(defence_weight__lte=1), name="challenge_defence_weight_range"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["draft", "submitted", "vetting", "rejected"])
                | (Q(state="cancelled") & Q(published_at__isnull=True))
                | (Q(bid_deadline__isnull=False) & Q(program__isnull=False)),
                name="challenge_published_has_deadline",
            ),
        ]
        indexes = [models.Index(fields=["state", "bid_deadline"], name="challenge_state_deadline")]

    def __str__(self):
        return self.title

    @property
    def is_race(self) -> bool:
        """赛马制: several teams in parallel."""
        return self.max_winners > 1

    @property
    def has_defence(self) -> bool:
        return self.defence_weight > 0

    def accepts_bids_at(self, when) -> bool:
        return self.state == self.State.PUBLISHED and self.bid_deadline is not None and when < self.bid_deadline


class ChallengeTarget(models.Model):
    """技术指标 the challenge sets: name, target value, unit, how it will be verified."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="targets")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("指标名称"), max_length=200)
    target_value = models.CharField(_("目标值"), max_length=100)
    unit = models.CharField(_("单位"), max_length=30, blank=True)
    verification = models.CharField(_("验证方式"), max_length=300, blank=True,
                                    help_text=_("如：第三方检测报告、现场测试、用户试用报告"))

    class Meta:
        verbose_name = _("技术指标")
        verbose_name_plural = _("技术指标")
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.name} {self.target_value}{self.unit}"


class ChallengeQuestion(models.Model):
    """答疑: a bidder's clarification question, answered publicly by the officer or the poster."""

    class State(models.TextChoices):
        OPEN = "open", _("待答复")
        ANSWERED = "answered", _("已答复")
        DISMISSED = "dismissed", _("不予公开")

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="questions")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("提问人"), on_delete=models.PROTECT,
                                 related_name="+")
    organization = models.ForeignKey(Organization, verbose_name=_("提问单位"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    question = models.TextField(_("问题"))
    answer = models.TextField(_("答复"), blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.OPEN)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("答复人"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    asked_at = models.DateTimeField(_("提问时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("答疑")
        verbose_name_plural = _("答疑")
        ordering = ["asked_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["open", "answered", "dismissed"]),
                                   name="question_state_valid"),
            models.CheckConstraint(condition=~Q(state="answered") | ~Q(answer=""), name="question_answered_has_text"),
        ]

    def __str__(self):
        return self.question[:40]


class Bid(models.Model):
    """揭榜方案: one team's (or consortium's) plan for a published challenge."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        WITHDRAWN = "withdrawn", _("已撤回")
        REVIEWING = "reviewing", _("评审中")
        WON = "won", _("揭榜成功")
        LOST = "lost", _("未入选")
        VOID = "void", _("已作废")

    EDITABLE_STATES = (State.DRAFT,)

    challenge = models.ForeignKey(Challenge, verbose_name=_("揭榜挂帅项目"), on_delete=models.PROTECT,
                                  related_name="bids")
    bid_round = models.PositiveSmallIntegerField(_("发榜轮次"), default=1)
    organization = models.ForeignKey(Organization, verbose_name=_("揭榜单位（牵头）"), on_delete=models.PROTECT,
                                     related_name="bids")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("填报人"), on_delete=models.PROTECT,
                                   related_name="+")
    number = models.CharField(_("方案编号"), max_length=50, unique=True, null=True, blank=True)
    title = models.CharField(_("方案名称"), max_length=200, blank=True)
    plan = models.TextField(_("技术方案"), blank=True, help_text=_("技术路线、关键技术、实施计划"))
    foundation = models.TextField(_("研究基础"), blank=True)
    discipline_code = models.CharField(_("学科代码"), max_length=20, blank=True)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    leader_name = models.CharField(_("团队负责人"), max_length=50, blank=True)
    leader_id_number = models.CharField(_("负责人证件号码"), max_length=30, blank=True)
    leader_title = models.CharField(_("负责人职称"), max_length=50, blank=True)
    leader_phone = models.CharField(_("负责人电话"), max_length=30, blank=True)
    amount = MoneyField(_("揭榜金额（元）"), default=ZERO, validators=[MinValueValidator(ZERO)],
                        help_text=_("不得超过悬赏金额，须等于各里程碑金额之和"))
    commitment_accepted_at = models.DateTimeField(_("军令状签署时间"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_at = models.DateTimeField(_("结果时间"), null=True, blank=True)
    review_score = models.DecimalField(_("专家评审得分"), max_digits=6, decimal_places=2, null=True, blank=True)
    review_count = models.PositiveSmallIntegerField(_("有效评审意见数"), default=0)
    defence_score = models.DecimalField(
        _("答辩得分"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    total_score = models.DecimalField(_("综合得分"), max_digits=6, decimal_places=2, null=True, blank=True)
    last_reason = models.TextField(_("最近一次处理意见"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("揭榜方案")
        verbose_name_plural = _("揭榜方案")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "submitted", "withdrawn", "reviewing", "won", "lost", "void"]),
                name="bid_state_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="bid_amount_nonnegative"),
            models.CheckConstraint(condition=Q(state__in=["draft", "withdrawn", "void"]) | Q(amount__gt=0),
                                   name="bid_amount_positive_when_submitted"),
            models.CheckConstraint(
                condition=Q(defence_score__isnull=True) | (Q(defence_score__gte=0) & Q(defence_score__lte=100)),
                name="bid_defence_score_range",
            ),
            # one live bid per organisation per publication of a challenge
            models.UniqueConstraint(
                fields=["challenge", "bid_round", "organization"], condition=~Q(state__in=["withdrawn", "void"]),
                name="bid_one_per_org_per_round",
                violation_error_message=_("贵单位已对该榜单提交或起草了揭榜方案。"),
            ),
        ]
        indexes = [models.Index(fields=["challenge", "state"], name="bid_challenge_state")]

    def __str__(self):
        return self.title or (self.number or _("揭榜方案"))

    @property
    def masked_leader_id_number(self) -> str:
        return mask_id_number(self.leader_id_number)


class BidPartner(models.Model):
    """联合体成员: a member organisation of a consortium bid (the lead is ``Bid.organization``)."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="partners")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("成员单位名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, validators=[validate_credit_code])
    kind = models.CharField(_("单位性质"), max_length=20, choices=Organization.Kind.choices,
                            default=Organization.Kind.ENTERPRISE)
    role = models.CharField(_("分工"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("联合体成员")
        verbose_name_plural = _("联合体成员")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["bid", "credit_code"], name="bid_partner_unique")]

    def __str__(self):
        return self.name


class BidMember(models.Model):
    """攻关团队成员."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="members")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("证件号码"), max_length=30, blank=True)
    organization_name = models.CharField(_("工作单位"), max_length=200, blank=True)
    title = models.CharField(_("职称"), max_length=50, blank=True)
    role = models.CharField(_("分工"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("团队成员")
        verbose_name_plural = _("团队成员")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class BidMilestone(models.Model):
    """A milestone of a bid's plan: what it will show by when, and its share of the amount asked."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(_("序号"), default=0)
    title = models.CharField(_("里程碑"), max_length=200)
    targets = models.TextField(_("考核指标"))
    due_date = models.DateField(_("完成时间"))
    amount = MoneyField(_("对应金额（元）"), validators=[MinValueValidator(Decimal("0.01"))])

    class Meta:
        verbose_name = _("里程碑")
        verbose_name_plural = _("里程碑")
        ordering = ["position", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="bid_milestone_amount_positive")]

    def __str__(self):
        return self.title


class ProjectMilestone(models.Model):
    """里程碑考核 of a challenge project: reported by the team, judged by the poster (and experts), concluded by
    the bureau."""

    class State(models.TextChoices):
        PENDING = "pending", _("进行中")
        REPORTED = "reported", _("待考核")
        PASSED = "passed", pgettext_lazy("milestone", "通过")
        FAILED = "failed", pgettext_lazy("milestone", "未通过")
        CANCELLED = "cancelled", _("已取消")

    class Verdict(models.TextChoices):
        PASS = "pass", _("同意通过")
        FAIL = "fail", _("不同意通过")

    project = models.ForeignKey("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                related_name="milestones")
    position = models.PositiveSmallIntegerField(_("序号"))
    title = models.CharField(_("里程碑"), max_length=200)
    targets = models.TextField(_("考核指标"))
    due_date = models.DateField(_("完成时间"))
    amount = MoneyField(_("对应金额（元）"))
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.PENDING)
    report = models.TextField(_("进展报告"), blank=True)
    reported_at = models.DateTimeField(_("报告时间"), null=True, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("报告人"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    poster_verdict = models.CharField(_("发榜方意见"), max_length=10, choices=Verdict.choices, blank=True)
    poster_opinion = models.TextField(_("发榜方评价"), blank=True)
    poster_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发榜方评价人"), on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    poster_at = models.DateTimeField(_("发榜方评价时间"), null=True, blank=True)
    expert_score = models.DecimalField(_("专家考核得分"), max_digits=6, decimal_places=2, null=True, blank=True)
    expert_review_count = models.PositiveSmallIntegerField(_("专家考核意见数"), default=0)
    conclusion = models.TextField(_("考核结论"), blank=True)
    concluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("考核人"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    concluded_at = models.DateTimeField(_("考核时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("项目里程碑")
        verbose_name_plural = _("项目里程碑")
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="project_milestone_position_unique"),
            models.CheckConstraint(condition=Q(state__in=["pending", "reported", "passed", "failed", "cancelled"]),
                                   name="project_milestone_state_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="project_milestone_amount_positive"),
            models.CheckConstraint(condition=Q(poster_verdict__in=["", "pass", "fail"]),
                                   name="project_milestone_verdict_valid"),
        ]
        indexes = [models.Index(fields=["state", "due_date"], name="project_milestone_due")]

    def __str__(self):
        return f"{self.position}. {self.title}"


class ChallengeAcceptance(models.Model):
    """最终验收 of a challenge project: the team reports each target's achieved value; the poster judges each
    target; the bureau concludes."""

    class State(models.TextChoices):
        APPLIED = "applied", _("待发榜方评价")
        JUDGED = "judged", _("待科技局确认")
        PASSED = "passed", _("验收通过")
        FAILED = "failed", _("验收不通过")

    project = models.OneToOneField("projects.Project", verbose_name=_("项目"), on_delete=models.PROTECT,
                                   related_name="challenge_acceptance")
    report = models.TextField(_("总结报告"))
    #: [{"target_id", "name", "target_value", "unit", "verification", "achieved", "evidence", "met": bool|None}]
    results = models.JSONField(_("指标完成情况"), default=list)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.APPLIED)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.PROTECT,
                                   related_name="+")
    applied_at = models.DateTimeField(_("申请时间"))
    poster_opinion = models.TextField(_("发榜方意见"), blank=True)
    poster_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("发榜方评价人"), on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="+")
    poster_at = models.DateTimeField(_("发榜方评价时间"), null=True, blank=True)
    conclusion = models.TextField(_("验收结论"), blank=True)
    concluded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("确认人"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")
    concluded_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("揭榜项目验收")
        verbose_name_plural = _("揭榜项目验收")
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["applied", "judged", "passed", "failed"]),
                                   name="challenge_acceptance_state_valid"),
        ]

    def __str__(self):
        return str(self.project)

    @property
    def targets_met(self) -> int:
        return sum(1 for r in self.results if r.get("met") is True)

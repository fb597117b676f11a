"""Expert pool, review rounds, invitations, scores and the 立项 list.

A review round reviews *items*; an item points at the reviewed thing (an application, a project's 中期报告 or
验收申请, a 揭榜 need, bid or milestone) through a generic relation, and ``experts.subjects`` says, per
kind of thing, what the conflict rules, the affinity and the pages need to know about it.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.fields import MoneyField
from accounts.models import Organization
from accounts.validators import mask_id_number
from projects.models import Call, Challenge, split_terms

ZERO = Decimal("0.00")


class Expert(models.Model):
    """A reviewer in the pool (专家库), linked to a user account."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        ACTIVE = "active", _("在库")
        SUSPENDED = "suspended", _("暂停")
        RETIRED = "retired", _("退出")
        REJECTED = "rejected", _("未通过")

    class TitleLevel(models.TextChoices):
        SENIOR = "senior", _("正高级")
        VICE_SENIOR = "vice_senior", _("副高级")
        INTERMEDIATE = "intermediate", _("中级")
        OTHER = "other", _("其他")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("用户"), on_delete=models.PROTECT, related_name="expert_profile"
    )
    name = models.CharField(_("姓名"), max_length=50)
    id_number = models.CharField(_("证件号码"), max_length=30, help_text=_("用于回避核查，不对外显示"))
    organization = models.ForeignKey(
        Organization, verbose_name=_("已注册单位"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="experts",
    )
    workplace = models.CharField(_("工作单位"), max_length=200)
    workplace_credit_code = models.CharField(_("工作单位统一社会信用代码"), max_length=18, blank=True)
    title = models.CharField(_("职称"), max_length=50)
    title_level = models.CharField(_("职称级别"), max_length=20, choices=TitleLevel.choices, default=TitleLevel.SENIOR)
    discipline_codes = models.JSONField(_("学科代码"), default=list, help_text=_("GB/T 13745，可填多个"))
    keywords = models.CharField(_("研究方向关键词"), max_length=300, blank=True)
    region = models.CharField(_("所在地区"), max_length=100, blank=True)
    phone = models.CharField(_("手机号码"), max_length=30, blank=True)
    annual_cap = models.PositiveSmallIntegerField(
        _("年度评审上限"), default=10, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.TextField(_("状态说明"), blank=True)
    approved_at = models.DateTimeField(_("入库时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("评审专家")
        verbose_name_plural = _("评审专家")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "suspended", "retired", "rejected"]),
                name="expert_status_valid",
            ),
            models.CheckConstraint(condition=Q(annual_cap__gte=1), name="expert_cap_positive"),
            models.UniqueConstraint(fields=["id_number"], name="expert_unique_id_number"),
        ]
        indexes = [models.Index(fields=["status", "name"], name="expert_status_name")]

    def __str__(self):
        return f"{self.name}（{self.workplace}）"

    @property
    def keyword_list(self) -> list[str]:
        return split_terms(self.keywords)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


class Unavailability(models.Model):
    """Dates when an expert cannot review (出差、出国…)."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="unavailabilities")
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"))
    reason = models.CharField(_("事由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("不可参评时段")
        verbose_name_plural = _("不可参评时段")
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="unavailability_ordered",
                                   violation_error_message=_("结束日期不能早于开始日期。"))
        ]

    def __str__(self):
        return f"{self.start_date} ~ {self.end_date}"


class DeclaredRelation(models.Model):
    """A relationship the expert declared (任职、兼职、亲属、师生…): reviews touching it are avoided."""

    class Kind(models.TextChoices):
        ORGANIZATION = "organization", _("单位")
        PERSON = "person", _("个人")

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="relations")
    kind = models.CharField(_("关系对象"), max_length=20, choices=Kind.choices)
    organization_name = models.CharField(_("单位名称"), max_length=200, blank=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    person_name = models.CharField(_("姓名"), max_length=50, blank=True)
    person_id_number = models.CharField(_("证件号码"), max_length=30, blank=True)
    relation = models.CharField(_("关系说明"), max_length=200)
    created_at = models.DateTimeField(_("申报时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("利益关系申报")
        verbose_name_plural = _("利益关系申报")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="organization") & (~Q(organization_name="") | ~Q(credit_code="")))
                | (Q(kind="person") & ~Q(person_name="")),
                name="relation_has_subject",
                violation_error_message=_("单位关系须填写单位名称或信用代码，个人关系须填写姓名。"),
            )
        ]

    def __str__(self):
        if self.kind == self.Kind.ORGANIZATION:
            return self.organization_name or self.credit_code
        return self.person_name


class ReviewRound(models.Model):
    """评审轮次: one review of a set of items: a call's accepted applications, the 中期报告 or 验收申请 of the call's
    projects, or for a 揭榜 challenge its need, bids or reported milestones."""

    class Kind(models.TextChoices):
        APPLICATION = "application", _("申报书评审")
        NEED = "need", _("揭榜需求论证")
        BID = "bid", _("揭榜方案评审")
        MILESTONE = "milestone", _("揭榜项目里程碑考核")
        MIDTERM = "midterm", _("中期检查评审")
        ACCEPTANCE = "acceptance", _("验收评审")

    #: kinds organised for a call (the call's applications, or its projects' checkpoint reports)
    CALL_KINDS = (Kind.APPLICATION, Kind.MIDTERM, Kind.ACCEPTANCE)
    #: kinds that review a project's 中期报告 or 验收申请 (the score goes back to the report when the round closes)
    CHECKPOINT_KINDS = (Kind.MIDTERM, Kind.ACCEPTANCE)
    #: kinds organised for a 揭榜挂帅 challenge
    CHALLENGE_KINDS = (Kind.NEED, Kind.BID, Kind.MILESTONE)

    class State(models.TextChoices):
        DRAFT = "draft", _("筹备中")
        REVIEWING = "reviewing", _("评审中")
        CLOSED = "closed", _("评审结束")

    class Aggregation(models.TextChoices):
        MEAN = "mean", _("算术平均")
        TRIMMED_MEAN = "trimmed_mean", _("去掉最高最低分后平均")
        MEDIAN = "median", _("中位数")

    kind = models.CharField(_("评审对象"), max_length=20, choices=Kind.choices, default=Kind.APPLICATION)
    call = models.ForeignKey(
        Call, verbose_name=_("申报指南"), on_delete=models.PROTECT, null=True, blank=True, related_name="review_rounds"
    )
    name = models.CharField(_("轮次名称"), max_length=200)
    experts_per_item = models.PositiveSmallIntegerField(
        _("每项评审专家数"), default=5, validators=[MinValueValidator(3), MaxValueValidator(15)]
    )
    response_deadline = models.DateTimeField(_("答复截止时间"), help_text=_("专家须在此前接受或谢绝邀请"))
    review_deadline = models.DateTimeField(_("评审截止时间"))
    blind = models.BooleanField(_("盲评"), default=True, help_text=_("盲评时专家看不到申报单位和项目组成员"))
    aggregation = models.CharField(
        _("得分计算方法"), max_length=20, choices=Aggregation.choices, default=Aggregation.TRIMMED_MEAN
    )
    dispersion_threshold = models.DecimalField(
        _("离散度预警阈值（标准差）"), max_digits=5, decimal_places=2, default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    deviation_threshold = models.DecimalField(
        _("专家偏离预警阈值（分）"), max_digits=5, decimal_places=2, default=Decimal("20.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("某专家打分与其他专家平均分相差超过此值时标记"),
    )
    comment_threshold = models.DecimalField(
        _("须填写意见的分数线"), max_digits=5, decimal_places=2, default=Decimal("60.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("总分低于此分数时必须填写评审意见"),
    )
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("负责人"), on_delete=models.PROTECT, related_name="+"
    )
    challenge = models.ForeignKey(
        Challenge, verbose_name=_("揭榜挂帅项目"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="review_rounds",
    )
    started_at = models.DateTimeField(_("开始评审时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("评审结束时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("评审轮次")
        verbose_name_plural = _("评审轮次")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["draft", "reviewing", "closed"]),
                                   name="round_state_valid"),
            models.CheckConstraint(
                condition=Q(kind__in=["application", "need", "bid", "milestone", "midterm", "acceptance"]),
                name="round_kind_valid"),
            # an application round belongs to a call, and so do the rounds of its projects' 中期检查 and 验收;
            # the 揭榜 rounds belong to a challenge
            models.CheckConstraint(
                condition=(Q(kind="application") & Q(challenge__isnull=True))
                | (Q(kind__in=["midterm", "acceptance"]) & Q(call__isnull=False) & Q(challenge__isnull=True))
                | (Q(kind__in=["need", "bid", "milestone"]) & Q(challenge__isnull=False) & Q(call__isnull=True)),
                name="round_scope_matches_kind",
            ),
            models.CheckConstraint(condition=Q(aggregation__in=["mean", "trimmed_mean", "median"]),
                                   name="round_aggregation_valid"),
            models.CheckConstraint(condition=Q(experts_per_item__gte=3), name="round_at_least_three_experts",
                                   violation_error_message=_("每项至少由3位专家评审。")),
            models.CheckConstraint(condition=Q(review_deadline__gt=F("response_deadline")),
                                   name="round_review_after_response",
                                   violation_error_message=_("评审截止时间必须晚于答复截止时间。")),
        ]

    def __str__(self):
        return self.name


class Criterion(models.Model):
    """评分指标 of a round's rubric; the maxima total 100."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(_("指标名称"), max_length=100)
    description = models.TextField(_("评分说明"), blank=True)
    max_score = models.DecimalField(
        _("满分"), max_digits=5, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("评分指标")
        verbose_name_plural = _("评分指标")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_score__gt=0) & Q(max_score__lte=100), name="criterion_max_range"),
            models.UniqueConstraint(fields=["round", "name"], name="criterion_unique_name"),
        ]

    def __str__(self):
        return f"{self.name}（{self.max_score}）"


class Panel(models.Model):
    """评审组: similar items of a round, grouped by discipline; experts are drawn from that discipline."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="panels")
    name = models.CharField(_("评审组"), max_length=100)
    discipline_prefix = models.CharField(_("学科代码前缀"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("评审组")
        verbose_name_plural = _("评审组")
        ordering = ["discipline_prefix", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "discipline_prefix"], name="panel_unique_prefix")]

    def __str__(self):
        return str(self.label)

    @property
    def label(self) -> str:
        """The panel's name in the reader's language (the stored ``name`` is the one of the day it was made)."""
        if self.discipline_prefix:
            return gettext("%(code)s 学科组") % {"code": self.discipline_prefix}
        return gettext("未填学科代码")


class ReviewItem(models.Model):
    """One reviewed thing in a round. The subject's descriptive fields are copied when the item is added."""

    round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="items")
    panel = models.ForeignKey(Panel, verbose_name=_("评审组"), on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="items")
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    number = models.CharField(_("编号"), max_length=40, blank=True)
    title = models.CharField(_("名称"), max_length=200)
    organization_name = models.CharField(_("申报单位"), max_length=200, blank=True)
    discipline_code = models.CharField(_("学科代码"), max_length=20, blank=True)
    keywords = models.CharField(_("关键词"), max_length=300, blank=True)
    requested_amount = MoneyField(_("申请财政资金（元）"), default=ZERO)
    created_at = models.DateTimeField(_("加入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("评审对象")
        verbose_name_plural = _("评审对象")
        ordering = ["round", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "subject_type", "subject_id"], name="item_unique_subject"),
        ]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="item_subject")]

    def __str__(self):
        return f"{self.number} {self.title}".strip()

    @property
    def keyword_list(self) -> list[str]:
        return split_terms(self.keywords)


class Draw(models.Model):
    """One assignment run (抽取记录): how experts were chosen, with the seed that reproduces a random draw."""

    class Method(models.TextChoices):
        RANDOM = "random", _("随机抽取")
        OPTIMAL = "optimal", _("智能匹配")
        MANUAL = "manual", _("人工指定")
        REPLACEMENT = "replacement", _("自动替补")

    round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="draws")
    panel = models.ForeignKey(Panel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    method = models.CharField(_("方式"), max_length=20, choices=Method.choices)
    seed = models.BigIntegerField(_("随机种子"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("抽取时间"), auto_now_add=True)
    candidates = models.JSONField(
        _("候选专家快照"), default=dict, blank=True,
        help_text=_("抽取时每个评审对象的合格专家（按编号），用于复核随机抽取"),
    )
    summary = models.JSONField(_("结果摘要"), default=dict, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("抽取记录")
        verbose_name_plural = _("抽取记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(method__in=["random", "optimal", "manual", "replacement"]),
                                   name="draw_method_valid"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} #{self.pk}"


#: how long an expert who takes over an overdue review has for it, counted from the invitation. The round keeps
#: its one review deadline (nobody else's changes); an expert invited after it has this much time instead.
LATE_REVIEW_TIME = datetime.timedelta(days=7)


def review_due_at(*, invited_at: datetime.datetime, review_deadline: datetime.datetime) -> datetime.datetime:
    """When an assignment's review is due: the round's review deadline; for an expert invited at or after it
    (someone who took over an overdue review: nothing else invites once the deadline has passed) the invitation
    time plus LATE_REVIEW_TIME."""
    if invited_at >= review_deadline:
        return invited_at + LATE_REVIEW_TIME
    return review_deadline


class Assignment(models.Model):
    """评审邀请 / 任务: one expert on one item, from invitation to submitted review."""

    class State(models.TextChoices):
        INVITED = "invited", _("待答复")
        ACCEPTED = "accepted", _("已接受")
        DECLINED = "declined", _("已谢绝")
        EXPIRED = "expired", _("逾期未答复")
        SUBMITTED = "submitted", _("已提交评审")
        CANCELLED = "cancelled", _("已取消")

    #: states that hold a slot on the item and count toward the expert's annual cap
    ACTIVE_STATES = (State.INVITED, State.ACCEPTED, State.SUBMITTED)

    round = models.ForeignKey(ReviewRound, on_delete=models.PROTECT, related_name="assignments")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="assignments")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="assignments")
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments")
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.INVITED)
    affinity = models.FloatField(_("匹配度"), default=0)
    invited_at = models.DateTimeField(_("邀请时间"))
    respond_by = models.DateTimeField(_("答复截止"))
    responded_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    decline_reason = models.CharField(_("谢绝理由"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(_("提交评审时间"), null=True, blank=True)
    replaced_at = models.DateTimeField(_("替补处理时间"), null=True, blank=True)
    replacement = models.ForeignKey(
        "self", verbose_name=_("替补任务"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("评审任务")
        verbose_name_plural = _("评审任务")
        ordering = ["-invited_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "expert"], name="assignment_unique_expert_item"),
            models.CheckConstraint(
                condition=Q(state__in=["invited", "accepted", "declined", "expired", "submitted", "cancelled"]),
                name="assignment_state_valid",
            ),
            models.CheckConstraint(condition=~Q(state="declined") | ~Q(decline_reason=""),
                                   name="assignment_decline_has_reason"),
        ]
        indexes = [
            models.Index(fields=["expert", "state", "invited_at"], name="assignment_expert_queue"),
            models.Index(fields=["state", "respond_by"], name="assignment_due"),
        ]

    def __str__(self):
        return f"{self.expert.name} · {self.item}"

    @property
    def review_due(self) -> datetime.datetime:
        """This assignment's review deadline (the round's, or a late replacement's own: review_due_at)."""
        return review_due_at(invited_at=self.invited_at, review_deadline=self.round.review_deadline)


class Alternate(models.Model):
    """备选专家 for an item, in order, computed by a draw; used when an invited expert declines or lapses."""

    item = models.ForeignKey(ReviewItem, on_delete=models.CASCADE, related_name="alternates")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="+")
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveSmallIntegerField(_("顺位"))
    affinity = models.FloatField(_("匹配度"), default=0)
    used_at = models.DateTimeField(_("使用时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("备选专家")
        verbose_name_plural = _("备选专家")
        ordering = ["item", "rank", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "expert"], name="alternate_unique_expert_item")]

    def __str__(self):
        return f"{self.item} #{self.rank} {self.expert.name}"


class Commitment(models.Model):
    """承诺书 signed when an expert accepts: the text as shown, when, and from where."""

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="commitment")
    text = models.TextField(_("承诺内容"))
    version = models.CharField(_("承诺书版本"), max_length=20)
    signed_at = models.DateTimeField(_("签署时间"))
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("评审承诺书")
        verbose_name_plural = _("评审承诺书")
        ordering = ["-signed_at", "-id"]

    def __str__(self):
        return f"{self.assignment} · {self.signed_at:%Y-%m-%d %H:%M}"


class Review(models.Model):
    """The expert's scores and opinion for one assignment. Locked once the assignment is submitted."""

    class Recommendation(models.TextChoices):
        FUND = "fund", _("同意立项")
        REVISE = "revise", _("修改后立项")
        REJECT = "reject", _("不同意立项")

    #: what the three recommendations say in the 揭榜 and checkpoint rounds (the stored values are the same)
    KIND_LABELS = {
        "need": {"fund": _("同意发榜"), "revise": _("修改后发榜"), "reject": _("不同意发榜")},
        "bid": {"fund": _("建议入选"), "revise": _("可考虑入选"), "reject": _("不建议入选")},
        "milestone": {"fund": _("同意通过"), "revise": _("整改后通过"), "reject": _("不同意通过")},
        "midterm": {"fund": _("建议通过"), "revise": _("建议限期整改"), "reject": _("建议不通过")},
        "acceptance": {"fund": _("建议通过验收"), "revise": _("建议限期整改"), "reject": _("建议不通过验收")},
    }

    assignment = models.OneToOneField(Assignment, on_delete=models.PROTECT, related_name="review")
    total = models.DecimalField(_("总分"), max_digits=5, decimal_places=1, default=Decimal("0"))
    comment = models.TextField(_("评审意见"), blank=True)
    recommendation = models.CharField(_("总体意见"), max_length=20, choices=Recommendation.choices, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("退回修改次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("保存时间"), auto_now=True)

    class Meta:
        verbose_name = _("评审意见")
        verbose_name_plural = _("评审意见")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(total__lte=100), name="review_total_range"),
            models.CheckConstraint(condition=Q(recommendation__in=["", "fund", "revise", "reject"]),
                                   name="review_recommendation_valid"),
        ]

    def __str__(self):
        return str(self.assignment)

    @classmethod
    def recommendation_choices(cls, kind: str) -> list[tuple[str, str]]:
        labels = cls.KIND_LABELS.get(kind, {})
        return [(value, labels.get(value, label)) for value, label in cls.Recommendation.choices]

    @property
    def recommendation_label(self) -> str:
        """The recommendation in the words of its round's kind (needs ``assignment__round`` loaded)."""
        if not self.recommendation:
            return ""
        return dict(self.recommendation_choices(self.assignment.round.kind)).get(
            self.recommendation, self.get_recommendation_display())


class Score(models.Model):
    review = models.ForeignKey(Review, on_delete=models.PROTECT, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    score = models.DecimalField(_("得分"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("指标得分")
        verbose_name_plural = _("指标得分")
        ordering = ["criterion__position", "criterion_id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="score_unique_criterion"),
            models.CheckConstraint(condition=Q(score__gte=0), name="score_nonnegative"),
        ]

    def __str__(self):
        return f"{self.criterion.name}: {self.score}"


class FundingList(models.Model):
    """立项清单 of a round: built by the officer from the ranking, signed off, publicised, approved."""

    class State(models.TextChoices):
        DRAFT = "draft", _("编制中")
        PENDING_SIGNOFF = "pending_signoff", _("待局领导审签")
        SIGNED_OFF = "signed_off", _("已审签")
        PUBLICIZING = "publicizing", _("公示中")
        APPROVED = "approved", _("已批准立项")

    round = models.OneToOneField(ReviewRound, on_delete=models.PROTECT, related_name="funding_list")
    title = models.CharField(_("清单名称"), max_length=200)
    cutoff_score = models.DecimalField(_("入围分数线"), max_digits=5, decimal_places=2, null=True, blank=True)
    publicity_workdays = models.PositiveSmallIntegerField(
        _("公示期（工作日）"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.DRAFT)
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("编制人"), on_delete=models.PROTECT,
                                 related_name="+")
    built_at = models.DateTimeField(_("编制时间"))
    signed_off_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("审签人"), on_delete=models.PROTECT,
                                      null=True, blank=True, related_name="+")
    signed_off_at = models.DateTimeField(_("审签时间"), null=True, blank=True)
    signoff_comment = models.TextField(_("审签意见"), blank=True)
    publicity_start = models.DateField(_("公示开始日期"), null=True, blank=True)
    publicity_end = models.DateField(_("公示截止日期"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布公示时间"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("批准人"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("立项清单")
        verbose_name_plural = _("立项清单")
        ordering = ["-built_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "pending_signoff", "signed_off", "publicizing", "approved"]),
                name="funding_list_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(publicity_start__isnull=True) | Q(publicity_end__gte=F("publicity_start")),
                name="funding_list_publicity_ordered",
            ),
        ]
        indexes = [models.Index(fields=["state", "publicity_start"], name="funding_list_public")]

    def __str__(self):
        return self.title


class FundingListEntry(models.Model):
    """One item on a 立项 list, with the amount the bureau intends to grant."""

    funding_list = models.ForeignKey(FundingList, on_delete=models.PROTECT, related_name="entries")
    item = models.ForeignKey(ReviewItem, on_delete=models.PROTECT, related_name="+")
    rank = models.PositiveIntegerField(_("排名"))
    score = models.DecimalField(_("评审得分"), max_digits=5, decimal_places=2)
    requested_amount = MoneyField(_("申请财政资金（元）"))
    granted_amount = MoneyField(_("拟立项财政资金（元）"))
    removed_at = models.DateTimeField(_("移出时间"), null=True, blank=True)
    removed_reason = models.CharField(_("移出理由"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("立项清单项目")
        verbose_name_plural = _("立项清单项目")
        ordering = ["rank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["funding_list", "item"], name="entry_unique_item"),
            models.CheckConstraint(condition=Q(granted_amount__gt=0), name="entry_granted_positive"),
            models.CheckConstraint(condition=Q(granted_amount__lte=F("requested_amount")),
                                   name="entry_granted_within_request"),
        ]

    def __str__(self):
        return f"{self.rank}. {self.item}"


class Objection(models.Model):
    """异议 raised during 公示, and how the bureau resolved it."""

    class State(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("异议成立")
        DISMISSED = "dismissed", _("异议不成立")

    funding_list = models.ForeignKey(FundingList, on_delete=models.PROTECT, related_name="objections")
    entry = models.ForeignKey(FundingListEntry, verbose_name=_("所涉项目"), on_delete=models.PROTECT,
                              null=True, blank=True, related_name="objections")
    submitter_name = models.CharField(_("异议人"), max_length=100)
    submitter_contact = models.CharField(_("联系方式"), max_length=100)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    content = models.TextField(_("异议内容"))
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.OPEN)
    resolution = models.TextField(_("处理意见"), blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("处理人"), on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("公示异议")
        verbose_name_plural = _("公示异议")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["open", "upheld", "dismissed"]),
                                   name="objection_state_valid"),
            models.CheckConstraint(condition=Q(state="open") | ~Q(resolution=""), name="objection_resolved_reason"),
        ]

    def __str__(self):
        return f"{self.submitter_name} · {self.created_at:%Y-%m-%d}"

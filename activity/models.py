from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .messaging import MessageKind


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """One transition or money movement: who, what, from, to, why, when, from where. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("为空表示系统自动执行"),
    )
    verb = models.CharField(_("操作"), max_length=50)
    target_type = models.ForeignKey(ContentType, verbose_name=_("对象类型"), on_delete=models.PROTECT)
    target_id = models.CharField(_("对象编号"), max_length=64)
    target = GenericForeignKey("target_type", "target_id")
    target_repr = models.CharField(_("对象"), max_length=255)
    from_state = models.CharField(_("原状态"), max_length=30, blank=True)
    to_state = models.CharField(_("新状态"), max_length=30, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    data = models.JSONField(_("附加数据"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.target_repr} {self.verb}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")


class Notification(models.Model):
    """One message to one user, kept forever: the inbox shows it, a task e-mails it once.

    ``dedupe_key`` is unique: notifying twice for the same fact (a retried task, a re-run sweeper)
    creates one row and one e-mail.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("收件人"),
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=50, choices=MessageKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=255, blank=True)
    target_type = models.ForeignKey(
        ContentType, verbose_name=_("对象类型"), on_delete=models.PROTECT, null=True, blank=True
    )
    target_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    dedupe_key = models.CharField(_("去重键"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("邮件发送时间"), null=True, blank=True)
    sms_sent_at = models.DateTimeField(_("短信发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class CalendarDay(models.Model):
    """A day whose working status the bureau sets by hand (法定节假日安排 the calendar library does not know
    yet, e.g. next year's schedule published by the State Council in the autumn, or a local closure).
    It overrides the chinese-calendar package; see activity.workdays."""

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=100, blank=True, help_text=_("如：2027年元旦、调休上班"))

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {_('工作日') if self.is_workday else _('休息日')}"


def _parse_windows(value: str) -> list[int]:
    return sorted({int(part) for part in value.replace("，", ",").split(",") if part.strip()}, reverse=True)


def validate_windows(value: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        days = _parse_windows(value)
    except ValueError:
        raise ValidationError(_("请填写以逗号分隔的天数，如 7,3,1")) from None
    if any(d < 1 or d > 365 for d in days):
        raise ValidationError(_("提醒天数须在 1 到 365 之间"))


class ReminderPolicy(models.Model):
    """How one kind of deadline is reminded and escalated (期限提醒设置), one row per kind.

    Rows are created with the kind's defaults the first time the sweeper meets the kind; the bureau edits
    them in the admin. ``kind`` is an activity.deadlines registry code.
    """

    kind = models.CharField(_("期限类型"), max_length=50, unique=True)
    enabled = models.BooleanField(_("启用"), default=True)
    windows = models.CharField(
        _("到期前提醒（天）"), max_length=100, blank=True, default="7,3,1", validators=[validate_windows],
        help_text=_("以逗号分隔，如 7,3,1：到期前7天、3天、1天各提醒一次；留空则不提前提醒"),
    )
    remind_overdue = models.BooleanField(_("逾期提醒责任人"), default=True)
    yellow_after_days = models.PositiveSmallIntegerField(
        _("逾期几天后黄牌"), null=True, blank=True, help_text=_("黄牌：通知业务处室和单位管理员；留空则不升级")
    )
    red_after_days = models.PositiveSmallIntegerField(
        _("逾期几天后红牌督办"), null=True, blank=True, help_text=_("红牌：报局领导督办；留空则不升级")
    )
    service_days = models.PositiveSmallIntegerField(
        _("办理时限（工作日）"), null=True, blank=True, help_text=_("自提交之日起计算期限的事项（如单位审核、形式审查）")
    )
    auto_action = models.BooleanField(_("逾期自动处理"), default=False)
    action_after_days = models.PositiveSmallIntegerField(_("逾期几天后自动处理"), default=0)
    sms = models.BooleanField(_("同时发短信"), default=True, help_text=_("逾期、黄牌和红牌同时以短信通知有手机号码的收件人"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("期限提醒设置")
        verbose_name_plural = _("期限提醒设置")
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(yellow_after_days__isnull=True)
                | models.Q(red_after_days__isnull=True)
                | models.Q(red_after_days__gt=models.F("yellow_after_days")),
                name="reminder_policy_red_after_yellow",
            ),
            models.CheckConstraint(
                condition=models.Q(service_days__isnull=True) | models.Q(service_days__gte=1),
                name="reminder_policy_service_days_positive",
            ),
        ]

    def __str__(self):
        from .deadlines import kind_label

        return kind_label(self.kind)

    @property
    def window_days(self) -> list[int]:
        try:
            return _parse_windows(self.windows or "")
        except ValueError:
            return []


class Reminder(models.Model):
    """One reminder or escalation sent for one deadline, at one stage, to one person (提醒与督办记录).

    The unique key (kind, object, deadline, stage, recipient) is the guarantee that nobody is reminded
    twice: retries, restarted workers and overlapping sweeps all meet it. A deadline moved (an extension)
    is a new deadline and is reminded again.
    """

    kind = models.CharField(_("期限类型"), max_length=50)
    object_id = models.BigIntegerField(_("对象编号"))
    due_at = models.DateTimeField(_("期限"))
    stage = models.CharField(_("阶段"), max_length=20)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("收件人"), on_delete=models.PROTECT, related_name="+"
    )
    notification = models.OneToOneField(
        Notification, verbose_name=_("通知"), on_delete=models.PROTECT, null=True, blank=True, related_name="reminder"
    )
    created_at = models.DateTimeField(_("发送时间"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("提醒与督办记录")
        verbose_name_plural = _("提醒与督办记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "due_at", "stage", "recipient"], name="reminder_once_per_stage"
            ),
        ]

    def __str__(self):
        from .deadlines import Stage, kind_label

        return f"{kind_label(self.kind)} #{self.object_id} · {Stage.label(self.stage)}"


class Escalation(models.Model):
    """One overdue obligation on the ladder (督办事项): its level, since when, who holds it, until resolved.

    Opened by the sweeper when the deadline passes, raised to 黄牌 and 红牌 as the intervals pass, resolved
    when the obligation is met (or its deadline moved). Never deleted.
    """

    class Level(models.TextChoices):
        OVERDUE = "overdue", _("逾期")
        YELLOW = "yellow", _("黄牌")
        RED = "red", _("红牌")

    kind = models.CharField(_("期限类型"), max_length=50)
    object_id = models.BigIntegerField(_("对象编号"))
    due_at = models.DateTimeField(_("期限"))
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    title = models.CharField(_("事项"), max_length=255)
    holder = models.CharField(_("责任方"), max_length=255, blank=True)
    link = models.CharField(_("链接"), max_length=255, blank=True)
    organization = models.ForeignKey(
        "accounts.Organization", verbose_name=_("单位"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("逾期发现时间"))
    level_at = models.DateTimeField(_("升级时间"))
    acted_at = models.DateTimeField(_("自动处理时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解除时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("督办事项")
        verbose_name_plural = _("督办事项")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "due_at"], name="escalation_once_per_deadline"),
            models.CheckConstraint(condition=models.Q(level__in=["overdue", "yellow", "red"]), name="escalation_level_valid"),
        ]
        indexes = [
            models.Index(fields=["kind", "resolved_at", "object_id"], name="escalation_open"),
            models.Index(fields=["resolved_at", "level", "due_at"], name="escalation_board"),
        ]

    def __str__(self):
        return f"{self.get_level_display()} · {self.title}"


class TaskOutbox(models.Model):
    """A task that could not be handed to the broker (Redis down): kept here and published again by the
    ``activity.flush_task_outbox`` beat task once the broker answers. Rows are deleted once published."""

    task = models.CharField(_("任务"), max_length=200)
    args = models.JSONField(_("参数"), default=list)
    kwargs = models.JSONField(_("关键字参数"), default=dict)
    options = models.JSONField(_("选项"), default=dict)
    error = models.TextField(_("错误"), blank=True)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=1)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待投递任务")
        verbose_name_plural = _("待投递任务")
        ordering = ["id"]

    def __str__(self):
        return self.task

import datetime
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .roles import Role
from .validators import mask_id_number, validate_credit_code


class Organization(models.Model):
    """申报单位 / 依托单位. Identified by its 统一社会信用代码."""

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("企业")
        UNIVERSITY = "university", _("高等院校")
        INSTITUTE = "institute", _("科研院所")
        HOSPITAL = "hospital", _("医疗卫生机构")
        OTHER = "other", _("其他")

    class State(models.TextChoices):
        PENDING = "pending", _("待审核")
        VERIFIED = "verified", _("已认证")
        RETURNED = "returned", pgettext_lazy("state", "已退回")

    class Qualification(models.TextChoices):
        HIGH_TECH = "high_tech", _("高新技术企业")
        TECH_SME = "tech_sme", _("科技型中小企业")

    name = models.CharField(_("单位名称"), max_length=200)
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    kind = models.CharField(_("单位性质"), max_length=20, choices=Kind.choices, default=Kind.ENTERPRISE)
    region = models.CharField(_("所在地区"), max_length=100, help_text=_("如：杭州市西湖区"))
    address = models.CharField(_("通讯地址"), max_length=255, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50)
    contact_phone = models.CharField(_("联系电话"), max_length=30)
    contact_email = models.EmailField(_("联系邮箱"), blank=True)
    high_tech_cert_no = models.CharField(_("高新技术企业证书编号"), max_length=30, blank=True)
    high_tech_expires = models.DateField(_("高新技术企业证书有效期至"), null=True, blank=True)
    tech_sme_no = models.CharField(_("科技型中小企业入库登记编号"), max_length=30, blank=True)
    tech_sme_year = models.PositiveSmallIntegerField(_("科技型中小企业入库年度"), null=True, blank=True)
    state = models.CharField(_("认证状态"), max_length=20, choices=State.choices, default=State.PENDING)
    state_reason = models.TextField(_("审核意见"), blank=True)
    verified_at = models.DateTimeField(_("认证时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("注册时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "verified", "returned"]), name="org_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(high_tech_cert_no="", high_tech_expires__isnull=True)
                | (~Q(high_tech_cert_no="") & Q(high_tech_expires__isnull=False)),
                name="org_high_tech_cert_complete",
                violation_error_message=_("高新技术企业证书编号与有效期须同时填写。"),
            ),
            models.CheckConstraint(
                condition=Q(tech_sme_no="", tech_sme_year__isnull=True)
                | (~Q(tech_sme_no="") & Q(tech_sme_year__isnull=False)),
                name="org_tech_sme_complete",
                violation_error_message=_("科技型中小企业入库编号与年度须同时填写。"),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.state == self.State.VERIFIED

    def has_qualification(self, qualification: str, on: datetime.date) -> bool:
        """Whether the organisation holds ``qualification`` valid on the given day."""
        if qualification == self.Qualification.HIGH_TECH:
            return bool(self.high_tech_cert_no) and self.high_tech_expires is not None and (
                self.high_tech_expires >= on
            )
        if qualification == self.Qualification.TECH_SME:
            # 科技型中小企业 are evaluated and entered (入库) year by year.
            return bool(self.tech_sme_no) and self.tech_sme_year == on.year
        return False


class User(AbstractUser):
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("所属单位"),
        on_delete=models.PROTECT,
        related_name="users",
        null=True,
        blank=True,
    )
    real_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号码"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.real_name or self.username

    @property
    def display_name(self) -> str:
        return self.real_name or self.get_full_name() or self.username

    @cached_property
    def role_names(self) -> frozenset[str]:
        if not self.is_authenticated or not self.is_active:
            return frozenset()
        return frozenset(self.groups.values_list("name", flat=True))

    def has_role(self, role: Role | str) -> bool:
        return str(role) in self.role_names


class CreditRecord(models.Model):
    """科研诚信 失信 record. While its penalty period runs, the subject may not submit applications.

    Subject is an organisation, a person (by ID number, e.g. a 项目负责人), or both. Records are
    never deleted; a wrong record is revoked (撤销) with a reason and stays on file.
    """

    class Severity(models.TextChoices):
        GENERAL = "general", _("一般失信")
        SERIOUS = "serious", _("较重失信")
        SEVERE = "severe", _("严重失信")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("失信单位"),
        on_delete=models.PROTECT,
        related_name="credit_records",
        null=True,
        blank=True,
    )
    person_name = models.CharField(_("失信人员姓名"), max_length=50, blank=True)
    person_id_number = models.CharField(_("失信人员证件号码"), max_length=30, blank=True, db_index=True)
    severity = models.CharField(_("失信程度"), max_length=20, choices=Severity.choices)
    reason = models.TextField(_("失信行为"))
    decision_no = models.CharField(_("处理决定文号"), max_length=100, blank=True)
    penalty_start = models.DateField(_("惩戒开始日期"))
    penalty_end = models.DateField(_("惩戒结束日期"), null=True, blank=True, help_text=_("留空表示长期"))
    recorded_by = models.ForeignKey(
        User, verbose_name=_("录入人"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, verbose_name=_("撤销人"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    revoke_reason = models.TextField(_("撤销理由"), blank=True)

    class Meta:
        verbose_name = _("失信记录")
        verbose_name_plural = _("科研诚信失信记录")
        ordering = ["-penalty_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False) | ~Q(person_id_number=""),
                name="credit_record_has_subject",
                violation_error_message=_("失信记录须指明失信单位或失信人员证件号码。"),
            ),
            models.CheckConstraint(
                condition=Q(penalty_end__isnull=True) | Q(penalty_end__gte=models.F("penalty_start")),
                name="credit_record_period_ordered",
                violation_error_message=_("惩戒结束日期不能早于开始日期。"),
            ),
            models.CheckConstraint(
                condition=Q(severity__in=["general", "serious", "severe"]), name="credit_record_severity_valid"
            ),
        ]
        indexes = [models.Index(fields=["organization", "penalty_start"])]

    def __str__(self):
        subject = self.organization.name if self.organization_id else self.person_name
        return f"{subject} · {self.get_severity_display()}"

    @property
    def masked_person_id(self) -> str:
        return mask_id_number(self.person_id_number)

    def is_running_on(self, day: datetime.date) -> bool:
        return (
            self.revoked_at is None
            and self.penalty_start <= day
            and (self.penalty_end is None or self.penalty_end >= day)
        )

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The Django groups of DESIGN.md. Created by migration accounts.0002_roles."""

    APPLICANT = "applicant", _("申报单位用户")
    ORG_ADMIN = "org_admin", _("单位管理员")
    EXPERT = "expert", _("评审专家")
    OFFICER = "officer", _("业务处室")
    FINANCE = "finance", _("财务")
    SUPERVISOR = "supervisor", _("局领导")

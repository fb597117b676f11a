"""Every kind of message the system sends, in one enum. Channels (inbox, e-mail) adapt these."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    ORG_REGISTERED = "org_registered", _("单位注册待审核")
    ORG_VERIFIED = "org_verified", _("单位认证通过")
    ORG_RETURNED = "org_returned", _("单位认证退回")
    APPLICATION_SUBMITTED = "application_submitted", _("申报书已提交")
    APPLICATION_ENDORSED = "application_endorsed", _("申报书通过单位审核")
    APPLICATION_ORG_RETURNED = "application_org_returned", _("申报书被单位退回")
    APPLICATION_ACCEPTED = "application_accepted", _("申报书已受理")
    APPLICATION_RETURNED = "application_returned", _("申报书退回修改")
    APPLICATION_REJECTED = "application_rejected", _("申报书不予受理")
    APPLICATION_WITHDRAWN = "application_withdrawn", _("申报书已撤回")
    CALL_CLOSED = "call_closed", _("申报批次已截止")
    CALL_EXTENDED = "call_extended", _("申报截止时间延期")

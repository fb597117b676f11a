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
    APPLICATION_APPROVED = "application_approved", _("申报书已立项")
    APPLICATION_NOT_APPROVED = "application_not_approved", _("申报书未立项")
    EXPERT_REGISTERED = "expert_registered", _("专家注册待审核")
    EXPERT_APPROVED = "expert_approved", _("专家入库审核结果")
    EXPERT_STATUS_CHANGED = "expert_status_changed", _("专家状态变更")
    REVIEW_INVITED = "review_invited", _("评审邀请")
    REVIEW_INVITATION_DECLINED = "review_invitation_declined", _("专家谢绝或逾期未答复")
    REVIEW_REPLACED = "review_replaced", _("评审专家已替补")
    REVIEW_SHORTFALL = "review_shortfall", _("评审专家不足")
    REVIEW_REOPENED = "review_reopened", _("评审意见退回修改")
    FUNDING_LIST_SIGNOFF = "funding_list_signoff", _("立项清单待审签")
    FUNDING_LIST_DECIDED = "funding_list_decided", _("立项清单审签结果")
    FUNDING_LIST_OBJECTION = "funding_list_objection", _("立项公示异议")
    REVIEW_CANCELLED = "review_cancelled", _("评审任务已取消")

"""What funding does when a checkpoint conclusion ends a project (中期检查不通过, 验收不通过, 结题): the recovery
order is opened at once under the programme's rule — all the fiscal funds paid when it was the organisation's fault,
otherwise what was paid less the fiscal spending its report declared. Called by the receiver after the 任务书 ended."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.selectors import users_with_role
from accounts.workflow import record_audit
from activity.messaging import MessageKind
from activity.services import notify

from .models import RecoveryOrder, TaskAgreement
from .services import open_recovery

#: days the organisation is given to return the funds of a recovery opened by a conclusion
RECOVERY_DUE_DAYS = 30


def recover_after_conclusion(*, project_id: int, actor, reason: str, fault: bool, spent_fiscal: Decimal | None,
                             now=None) -> RecoveryOrder | None:
    """Open the recovery order for a project a conclusion ended. Nothing to recover (nothing paid, or everything
    paid was spent) opens none; a payment still awaiting approval (what is paid is not known yet), or an order
    already open, leaves it to the officers, who are told: once finance decided it, the agreement page offers
    开具追回单."""
    now = now or timezone.now()
    agreement = TaskAgreement.objects.select_related("project").filter(project_id=project_id).first()
    if agreement is None:
        return None
    paid = agreement.paid_total
    rule = RecoveryOrder.Rule.ALL if fault else RecoveryOrder.Rule.UNSPENT
    has_open = RecoveryOrder.objects.filter(agreement=agreement, state=RecoveryOrder.State.OPEN).exists()
    if agreement.recorded_total > 0 or has_open:
        record_audit(actor=actor, verb="recovery_deferred", target=agreement,
                     data={"recorded": str(agreement.recorded_total), "paid": str(paid), "rule": rule,
                           "spent_declared": None if spent_fiscal is None else str(spent_fiscal)})
        _tell_officers_to_recover(agreement, rule=rule, reason=reason, spent_fiscal=spent_fiscal, has_open=has_open)
        return None
    if paid <= 0:
        return None
    spent = min(spent_fiscal or Decimal("0.00"), paid)
    if rule == RecoveryOrder.Rule.UNSPENT and paid - spent <= 0:
        record_audit(actor=actor, verb="nothing_to_recover", target=agreement,
                     data={"paid": str(paid), "spent": str(spent)})
        return None
    return open_recovery(
        actor=actor, agreement_id=agreement.pk, rule=rule, reason=reason or _("考核未通过"),
        due_date=timezone.localdate(now) + datetime.timedelta(days=RECOVERY_DUE_DAYS),
        spent_amount=spent if rule == RecoveryOrder.Rule.UNSPENT else None, now=now)


def _tell_officers_to_recover(agreement, *, rule: str, reason: str, spent_fiscal, has_open: bool) -> None:
    project = agreement.project
    if has_open:
        why = _("该任务书已有未完成的追回单，请核实是否需要另行追回。")
    else:
        why = _("该任务书有待审核的拨付 %(r)s 元，请财务审核或退回后，在任务书页面开具追回单。") % {
            "r": f"{agreement.recorded_total:,.2f}"}
    what = (_("按全额追回（因承担单位原因）") if rule == RecoveryOrder.Rule.ALL
            else _("按结余追回（承担单位申报的财政资金支出 %(s)s 元）")
            % {"s": f"{spent_fiscal or Decimal('0.00'):,.2f}"})
    notify(users_with_role(Role.OFFICER), kind=MessageKind.RECOVERY_OPENED,
           title=_("待开具追回单：%(no)s") % {"no": agreement.number},
           body=_("项目《%(t)s》已结束（%(r)s），应%(w)s。%(y)s") % {"t": project.title, "r": reason, "w": what, "y": why},
           link=reverse("funding:agreement", args=[agreement.pk]), target=agreement,
           dedupe_key=f"agreement:{agreement.pk}:recovery_deferred")

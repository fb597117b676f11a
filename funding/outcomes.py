"""What funding does when a checkpoint conclusion ends a project (中期检查不通过, 验收不通过, 结题): the recovery
order is opened at once under the programme's rule — all the fiscal funds paid when it was the organisation's fault,
otherwise what was paid less the fiscal spending its report declared. Called by the receiver after the 任务书 ended."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.workflow import record_audit

from .models import RecoveryOrder, TaskAgreement
from .services import open_recovery

#: days the organisation is given to return the funds of a recovery opened by a conclusion
RECOVERY_DUE_DAYS = 30


def recover_after_conclusion(*, project_id: int, actor, reason: str, fault: bool, spent_fiscal: Decimal | None,
                             now=None) -> RecoveryOrder | None:
    """Open the recovery order for a project a conclusion ended. Nothing to recover (nothing paid, or everything
    paid was spent) opens none; a payment still awaiting approval leaves it to the officer once finance decided it
    (the agreement page offers 开具追回单), as does an order already open."""
    now = now or timezone.now()
    agreement = TaskAgreement.objects.filter(project_id=project_id).first()
    if agreement is None or agreement.paid_total <= 0:
        return None
    paid = agreement.paid_total
    spent = min(spent_fiscal or Decimal("0.00"), paid)
    rule = RecoveryOrder.Rule.ALL if fault else RecoveryOrder.Rule.UNSPENT
    if rule == RecoveryOrder.Rule.UNSPENT and paid - spent <= 0:
        record_audit(actor=actor, verb="nothing_to_recover", target=agreement,
                     data={"paid": str(paid), "spent": str(spent)})
        return None
    if agreement.recorded_total > 0 or RecoveryOrder.objects.filter(
            agreement=agreement, state=RecoveryOrder.State.OPEN).exists():
        record_audit(actor=actor, verb="recovery_deferred", target=agreement,
                     data={"recorded": str(agreement.recorded_total)})
        return None
    return open_recovery(
        actor=actor, agreement_id=agreement.pk, rule=rule, reason=reason or _("考核未通过"),
        due_date=timezone.localdate(now) + datetime.timedelta(days=RECOVERY_DUE_DAYS),
        spent_amount=spent if rule == RecoveryOrder.Rule.UNSPENT else None, now=now)

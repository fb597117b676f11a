"""The dated obligations funding owns, described for the deadline sweeper (activity.deadlines).

- 任务书签订 (``agreement_unsigned``): a drafted 任务书 both sides have not confirmed, within 20 working days of drafting;
  the side that has not confirmed owes it.
- 拨付复核 (``disbursement_unapproved``): a recorded payment (or reversal) awaiting a second finance user, within 3
  working days; never reminded to the one who recorded it (four eyes).
- 追回缴款 (``recovery_due``): an open 追回单 with money outstanding on its 缴回期限; the organisation owes it.
- 预算调整审批 (``budget_adjustment_decision``): an adjustment beyond the delegation, for the officer, within 5 working
  days.
- 后补助核定 (``subsidy_claim_verification``): a submitted claim, for the officer, within 20 working days.

The working-day deadlines count from a date (``ReminderPolicy.service_days``, the kind's default when left empty).
``candidates`` filters with a superset cutoff on an indexed column (n working days are at least n calendar days);
``obligations`` computes each exact deadline with one CalendarDay query per batch (``workday_deadlines``).
Registered in FundingConfig.ready; the catalogue is README's "期限与督办".
"""

from __future__ import annotations

import datetime

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.roles import Role
from activity.deadlines import (
    Obligation,
    ObligationKind,
    PolicyDefaults,
    end_of_day,
    horizon_date,
    org_admins_by_org,
    register,
    role_users,
    service_cutoff,
    service_days,
    unique_users,
)
from activity.workdays import add_workdays_many

from .models import BudgetAdjustment, Disbursement, PostSubsidyClaim, RecoveryOrder, TaskAgreement

DAY = datetime.timedelta(days=1)


def _yuan(amount) -> str:
    return f"{amount:,.2f}"


# --- working-day deadlines, per batch ---------------------------------------------------------------------------


class _WorkdayKind(ObligationKind):
    """A kind whose deadline is ``service_days`` working days after a datetime column (``base_field``)."""

    base_field = ""

    def base_filter(self, horizon, policy) -> dict:
        return {f"{self.base_field}__lt": service_cutoff(horizon, service_days(self, policy))}

    def due_dates(self, rows, policy) -> dict[int, datetime.datetime]:
        bases = {row.pk: timezone.localdate(getattr(row, self.base_field)) for row in rows}
        by_date = add_workdays_many(bases.values(), service_days(self, policy))
        return {pk: end_of_day(by_date[base]) for pk, base in bases.items()}


# --- 任务书 -------------------------------------------------------------------------------------------------------


class AgreementUnsigned(_WorkdayKind):
    """A 任务书 drafted and not yet confirmed by both the organisation and the bureau."""

    code = "agreement_unsigned"
    label = gettext_lazy("任务书签订")
    model = TaskAgreement
    owner_label = gettext_lazy("尚未确认的一方（承担单位的单位管理员、业务处室）")
    responsible_label = gettext_lazy("业务处室、单位管理员")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=7, service_days=20)
    base_field = "created_at"

    def candidates(self, horizon, policy):
        return TaskAgreement.objects.filter(
            state__in=TaskAgreement.EDITABLE_STATES, **self.base_filter(horizon, policy)
        )

    def obligations(self, rows, policy):
        rows = list(TaskAgreement.objects.filter(pk__in=[r.pk for r in rows]).select_related("project__organization"))
        due = self.due_dates(rows, policy)
        admins = org_admins_by_org(a.project.organization_id for a in rows)
        officers = role_users(Role.OFFICER)
        out = []
        for agreement in rows:
            project = agreement.project
            org_admins = admins.get(project.organization_id, [])
            link = reverse("funding:agreement", args=[agreement.pk])
            out.append(Obligation(
                pk=agreement.pk,
                due_at=due[agreement.pk],
                title=_("《%(title)s》任务书 %(no)s 签订") % {"title": project.title, "no": agreement.number},
                owners=unique_users(
                    org_admins if agreement.org_confirmed_at is None else [],
                    officers if agreement.office_confirmed_at is None else [],
                ),
                responsible=unique_users(officers, org_admins),
                holder=self._holder(agreement),
                link=link,
                office_link=link,
                organization_id=project.organization_id,
            ))
        return out

    @staticmethod
    def _holder(agreement) -> str:
        org = agreement.project.organization.name
        if agreement.org_confirmed_at is None and agreement.office_confirmed_at is None:
            return _("%(org)s、业务处室") % {"org": org}
        return org if agreement.org_confirmed_at is None else str(_("业务处室"))


# --- 拨付复核 -----------------------------------------------------------------------------------------------------


class DisbursementUnapproved(_WorkdayKind):
    """A payment or reversal recorded by one finance user and not yet approved (or returned) by another.

    The owners are the finance users other than the recorder (who may not approve it); the 黄牌 goes to the whole
    finance desk, the recorder included, and to the officers, who answer to the organisation waiting for the money.
    """

    code = "disbursement_unapproved"
    label = gettext_lazy("拨付复核")
    model = Disbursement
    owner_label = gettext_lazy("财务（登记人以外的财务人员）")
    responsible_label = gettext_lazy("财务、业务处室")
    defaults = PolicyDefaults(windows=(1,), yellow_after_days=2, red_after_days=5, service_days=3)
    base_field = "recorded_at"

    def candidates(self, horizon, policy):
        # the index disbursement_queue (state, recorded_at)
        return Disbursement.objects.filter(state=Disbursement.State.RECORDED, **self.base_filter(horizon, policy))

    def obligations(self, rows, policy):
        rows = list(Disbursement.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "agreement__project__organization"))
        due = self.due_dates(rows, policy)
        finance = role_users(Role.FINANCE)
        officers = role_users(Role.OFFICER)
        queue = reverse("funding:queue")
        out = []
        for d in rows:
            agreement = d.agreement
            params = {"no": agreement.number, "voucher": d.voucher_no, "amount": _yuan(d.amount)}
            if d.kind == Disbursement.Kind.REVERSAL:
                title = _("任务书 %(no)s 冲正记录（凭证 %(voucher)s，%(amount)s 元）审核") % params
            else:
                title = _("任务书 %(no)s 拨付记录（凭证 %(voucher)s，%(amount)s 元）审核") % params
            out.append(Obligation(
                pk=d.pk,
                due_at=due[d.pk],
                title=title,
                owners=[u for u in finance if u.pk != d.recorded_by_id],
                responsible=unique_users(finance, officers),
                holder=str(_("财务")),
                link=queue,
                office_link=reverse("funding:agreement", args=[agreement.pk]),
                organization_id=agreement.project.organization_id,
            ))
        return out


# --- 追回 ---------------------------------------------------------------------------------------------------------


class RecoveryDue(ObligationKind):
    """An open 追回单 with money still outstanding on its 缴回期限 (only approved repayments count as paid back)."""

    code = "recovery_due"
    label = gettext_lazy("追回资金缴回")
    model = RecoveryOrder
    owner_label = gettext_lazy("承担单位的单位管理员")
    responsible_label = gettext_lazy("财务、业务处室、单位管理员")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=10)

    def candidates(self, horizon, policy):
        return RecoveryOrder.objects.filter(
            state=RecoveryOrder.State.OPEN, due_date__lte=horizon_date(horizon), repaid_total__lt=F("amount_due")
        )

    def obligations(self, rows, policy):
        rows = list(RecoveryOrder.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "agreement__project__organization"))
        admins = org_admins_by_org(o.agreement.project.organization_id for o in rows)
        finance = role_users(Role.FINANCE)
        officers = role_users(Role.OFFICER)
        out = []
        for order in rows:
            project = order.agreement.project
            org_admins = admins.get(project.organization_id, [])
            link = reverse("funding:recovery", args=[order.pk])
            out.append(Obligation(
                pk=order.pk,
                due_at=end_of_day(order.due_date),
                title=_("追回单 %(no)s（《%(title)s》）尚须缴回 %(amount)s 元")
                % {"no": order.number, "title": project.title, "amount": _yuan(order.outstanding)},
                owners=list(org_admins),
                responsible=unique_users(finance, officers, org_admins),
                holder=project.organization.name,
                link=link,
                office_link=link,
                organization_id=project.organization_id,
            ))
        return out


# --- the officer's decisions --------------------------------------------------------------------------------------


class BudgetAdjustmentDecision(_WorkdayKind):
    """A 预算调整 beyond the organisation's delegation, waiting for the officer's approval or rejection."""

    code = "budget_adjustment_decision"
    label = gettext_lazy("预算调整审批")
    model = BudgetAdjustment
    owner_label = gettext_lazy("业务处室")
    responsible_label = gettext_lazy("业务处室")
    defaults = PolicyDefaults(windows=(3, 1), yellow_after_days=3, red_after_days=7, service_days=5)
    base_field = "requested_at"

    def candidates(self, horizon, policy):
        return BudgetAdjustment.objects.filter(state=BudgetAdjustment.State.PENDING, **self.base_filter(horizon, policy))

    def obligations(self, rows, policy):
        rows = list(BudgetAdjustment.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "agreement__project__organization"))
        due = self.due_dates(rows, policy)
        officers = role_users(Role.OFFICER)
        out = []
        for adjustment in rows:
            project = adjustment.agreement.project
            link = reverse("funding:adjustment", args=[adjustment.pk])
            out.append(Obligation(
                pk=adjustment.pk,
                due_at=due[adjustment.pk],
                title=_("%(org)s《%(title)s》预算调整 %(no)s 审批")
                % {"org": project.organization.name, "title": project.title, "no": adjustment.number},
                owners=list(officers),
                responsible=list(officers),
                holder=str(_("业务处室")),
                link=link,
                office_link=link,
                organization_id=project.organization_id,
            ))
        return out


class SubsidyClaimVerification(_WorkdayKind):
    """A 后补助 claim submitted (or resubmitted after a return), waiting for the officer to verify or return it."""

    code = "subsidy_claim_verification"
    label = gettext_lazy("后补助核定")
    model = PostSubsidyClaim
    owner_label = gettext_lazy("业务处室")
    responsible_label = gettext_lazy("业务处室")
    defaults = PolicyDefaults(windows=(7, 3, 1), yellow_after_days=3, red_after_days=7, service_days=20)
    base_field = "submitted_at"

    def candidates(self, horizon, policy):
        return PostSubsidyClaim.objects.filter(state=PostSubsidyClaim.State.SUBMITTED,
                                               **self.base_filter(horizon, policy))

    def obligations(self, rows, policy):
        rows = list(PostSubsidyClaim.objects.filter(pk__in=[r.pk for r in rows]).select_related(
            "agreement__project__organization"))
        due = self.due_dates(rows, policy)
        officers = role_users(Role.OFFICER)
        out = []
        for claim in rows:
            project = claim.agreement.project
            link = reverse("funding:subsidy_claim", args=[claim.pk])
            out.append(Obligation(
                pk=claim.pk,
                due_at=due[claim.pk],
                title=_("%(org)s《%(title)s》后补助（申报研发费用 %(amount)s 元）核定")
                % {"org": project.organization.name, "title": project.title, "amount": _yuan(claim.claimed_expense)},
                owners=list(officers),
                responsible=list(officers),
                holder=str(_("业务处室")),
                link=link,
                office_link=link,
                organization_id=project.organization_id,
            ))
        return out


register(AgreementUnsigned())
register(DisbursementUnapproved())
register(RecoveryDue())
register(BudgetAdjustmentDecision())
register(SubsidyClaimVerification())

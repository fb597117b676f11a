"""后补助: a programme kind (``Program.Kind.POST_SUBSIDY``) whose projects do the work first and are subsidised after.

The 任务书 of such a project has one tranche, "后补助", for the whole granted amount with the condition "后补助核定后"
(``services.scheme_steps``). When the project is done the organisation claims its R&D expense with the 专项审计报告
(``submit_claim``); the officer verifies the expense (``verify_claim``): the subsidy is the programme's percentage of
the verified expense (rounded half-up to the fen), never more than the programme's cap nor the granted amount; the
tranche takes that amount and becomes due, and finance pays it through the ordinary disbursement path (one records,
another approves; idempotent). Or the officer returns the claim (``return_claim``) for the organisation to correct and
resubmit. One claim per agreement: the subsidy is paid once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.roles import Role
from accounts.selectors import org_admins_of, users_with_role
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from projects.models import Program, Project
from projects.uploads import inspect_upload

from .models import Condition, FundingScheme, PostSubsidyClaim, TaskAgreement, Tranche
from .services import _make_due_rows, _money, _notify, budget_of, scale_to, write_budget

CS = PostSubsidyClaim.State
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

CLAIM_WORKFLOW = Workflow(
    "funding.PostSubsidyClaim",
    CS,
    [
        T("verify", [CS.SUBMITTED], CS.VERIFIED, gettext_lazy("核定后补助")),
        T("return", [CS.SUBMITTED], CS.RETURNED, gettext_lazy("退回补正"), needs_reason=True),
        T("resubmit", [CS.RETURNED], CS.SUBMITTED, gettext_lazy("补正后重新提交")),
    ],
)


def is_post_subsidy(project: Project) -> bool:
    return project.call_id is not None and project.call.program.kind == Program.Kind.POST_SUBSIDY


def subsidy_scheme(project: Project) -> FundingScheme | None:
    """The scheme whose subsidy rule applies: the call's if it sets a percentage, else the programme's."""
    if project.call_id is None:
        return None
    for scheme in (FundingScheme.objects.filter(call_id=project.call_id).first(),
                   FundingScheme.objects.filter(program_id=project.call.program_id).first()):
        if scheme is not None and scheme.subsidy_percent is not None:
            return scheme
    return None


@dataclass(frozen=True)
class Computation:
    """核定补助金额 = min(核定研发费用 × 比例 (to the fen, half up), 上限, 财政资金)."""

    verified: Decimal
    percent: Decimal
    by_percent: Decimal
    cap: Decimal | None
    grant: Decimal
    amount: Decimal

    @property
    def limited_by(self) -> str:
        """"" when the percentage decides, else "cap" or "grant"."""
        if self.amount == self.by_percent:
            return ""
        return "cap" if self.cap is not None and self.amount == self.cap else "grant"


def compute(verified: Decimal, percent: Decimal, cap: Decimal | None, grant: Decimal) -> Computation:
    by_percent = (verified * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = min(x for x in (by_percent, cap, grant) if x is not None)
    return Computation(verified=verified, percent=percent, by_percent=by_percent, cap=cap, grant=grant,
                       amount=amount)


def _officers():
    return users_with_role(Role.OFFICER)


def _link(claim: PostSubsidyClaim) -> str:
    return reverse("funding:subsidy_claim", args=[claim.pk])


def why_no_claim(agreement: TaskAgreement, claim: PostSubsidyClaim | None) -> str:
    """Why the organisation cannot (re)submit a claim now ("" when it can)."""
    if not is_post_subsidy(agreement.project):
        return _("该项目不属于后补助类计划。")
    if agreement.state != TaskAgreement.State.SIGNED:
        return _("任务书%(s)s，不能申报后补助。") % {"s": agreement.get_state_display()}
    if claim is not None and claim.state == CS.SUBMITTED:
        return _("后补助申报已提交，待科技局核定。")
    if claim is not None and claim.state == CS.VERIFIED:
        return _("后补助已核定，每个项目只核定一次。")
    return ""


# ---- the organisation claims -------------------------------------------------------------------------------------


def submit_claim(*, actor, agreement_id: int, claimed_expense, audit_report, note: str = "",
                 now=None) -> PostSubsidyClaim:
    """申报后补助: the R&D expense and the 专项审计报告; after a return, the same claim is corrected (a new report
    replaces the old one)."""
    now = now or timezone.now()
    agreement = TaskAgreement.objects.select_related("project__organization").get(pk=agreement_id)
    if actor is None or not actor.has_perm("funding.claim_subsidy_obj", agreement):
        raise PermissionRefused(_("只有承担单位的用户可以申报后补助。"))
    claimed = _money(claimed_expense, _("研发费用"))
    if audit_report is None:
        raise InvalidInput(_("请上传专项审计报告。"))
    info = inspect_upload(audit_report)
    note = (note or "").strip()[:2000]
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization", "project__call__program").get(pk=agreement_id)
        claim = PostSubsidyClaim.objects.select_for_update(of=("self",)).filter(agreement=agreement).first()
        problem = why_no_claim(agreement, claim)
        if problem:
            raise TransitionRefused(problem)
        old_file = None
        if claim is None:
            claim = PostSubsidyClaim(agreement=agreement)
        else:
            old_file = claim.audit_report.name
        claim.claimed_expense = claimed
        claim.note = note
        claim.submitted_by, claim.submitted_at = actor, now
        claim.audit_report_name = (audit_report.name or "")[-255:]
        claim.audit_report_sha256 = info["sha256"]
        claim.verified_expense = claim.percent = claim.cap = claim.subsidy_amount = None
        claim.decided_by = claim.decided_at = None  # the return's reason stays in the history
        claim.decision_note = ""
        claim.audit_report.save(audit_report.name or "report", audit_report, save=False)
        resubmitted = claim.pk is not None
        if resubmitted:
            claim.save()
            run_transition(workflow=CLAIM_WORKFLOW, queryset=PostSubsidyClaim.objects.all(), pk=claim.pk,
                           name="resubmit", actor=actor, data={"claimed": str(claimed), "sha256": info["sha256"]})
            if old_file:
                storage = claim.audit_report.storage
                transaction.on_commit(lambda: storage.delete(old_file))
        else:
            try:
                with transaction.atomic():
                    claim.save()
            except IntegrityError:  # another claim for the agreement, committed meanwhile
                raise TransitionRefused(_("后补助申报已提交，待科技局核定。")) from None
            record_audit(actor=actor, verb="submit_claim", target=claim, to_state=claim.state,
                         data={"claimed": str(claimed), "sha256": info["sha256"]})
        project = agreement.project
        _notify(_officers(), MessageKind.SUBSIDY_CLAIM_SUBMITTED, _("后补助待核定：%(no)s") % {"no": agreement.number},
                _("%(org)s 申报项目《%(t)s》后补助，研发费用 %(a)s 元，请核定。")
                % {"org": project.organization.name, "t": project.title, "a": f"{claimed:,.2f}"},
                _link(claim), claim, f"subsidy_claim:{claim.pk}:submitted:{timezone.localtime(now):%Y%m%d%H%M%S}")
    return PostSubsidyClaim.objects.get(pk=claim.pk)


# ---- the officer verifies or returns -----------------------------------------------------------------------------


def _require_officer(actor) -> None:
    if actor is None or not actor.has_perm("funding.manage_agreements"):
        raise PermissionRefused(_("只有科技局业务处室可以核定后补助。"))


def _notify_org(claim: PostSubsidyClaim, agreement: TaskAgreement, title: str, body: str, key: str) -> None:
    users = [claim.submitted_by, *org_admins_of(agreement.project.organization_id)]
    _notify(list({u.pk: u for u in users}.values()), MessageKind.SUBSIDY_CLAIM_DECIDED, title, body, _link(claim),
            claim, key)


def preview(claim: PostSubsidyClaim, verified) -> Computation | None:
    """What ``verify_claim`` would grant for ``verified`` (None when no subsidy rule is configured)."""
    scheme = subsidy_scheme(claim.agreement.project)
    if scheme is None:
        return None
    return compute(verified, scheme.subsidy_percent, scheme.subsidy_cap, claim.agreement.fiscal_amount)


def verify_claim(*, actor, claim_id: int, verified_expense, note: str = "", now=None) -> PostSubsidyClaim:
    """核定: the verified expense (never more than claimed); the subsidy is computed from the programme's rule and the
    agreement's single 后补助 tranche takes it and becomes due (finance is told)."""
    _require_officer(actor)
    now = now or timezone.now()
    verified = _money(verified_expense, _("核定研发费用"))
    agreement_id = PostSubsidyClaim.objects.values_list("agreement_id", flat=True).get(pk=claim_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization", "project__call__program").get(pk=agreement_id)
        tranches = list(agreement.tranches.select_for_update().filter(condition=Condition.VERIFIED))
        computed = {}

        def guard(claim):
            if agreement.state != TaskAgreement.State.SIGNED:
                raise TransitionRefused(_("任务书%(s)s，不能核定后补助。") % {"s": agreement.get_state_display()})
            if verified > claim.claimed_expense:
                raise InvalidInput(_("核定研发费用 %(v)s 元不能超过申报的 %(c)s 元。")
                                   % {"v": f"{verified:,.2f}", "c": f"{claim.claimed_expense:,.2f}"})
            scheme = subsidy_scheme(agreement.project)
            if scheme is None:
                raise TransitionRefused(_("该计划尚未设置后补助比例，请先在拨付方案中设置后补助比例（及上限）。"))
            if len(tranches) != 1 or tranches[0].state != Tranche.State.PLANNED:
                raise TransitionRefused(_("任务书没有待核定的“后补助”拨付批次，请检查拨付计划。"))
            c = compute(verified, scheme.subsidy_percent, scheme.subsidy_cap, agreement.fiscal_amount)
            if c.amount <= 0:
                raise InvalidInput(_("按核定研发费用计算的补助金额为0，不能核定。"))
            computed["c"] = c

        def apply(claim):
            c = computed["c"]
            claim.verified_expense, claim.percent, claim.cap, claim.subsidy_amount = (
                c.verified, c.percent, c.cap, c.amount)
            claim.decided_by, claim.decided_at = actor, now
            claim.decision_note = (note or "").strip()[:2000]
            return ["verified_expense", "percent", "cap", "subsidy_amount", "decided_by", "decided_at",
                    "decision_note"]

        def after(claim, from_state):
            c = computed["c"]
            tranche = tranches[0]
            if tranche.amount != c.amount:
                record_audit(actor=actor, verb="set_subsidy_amount", target=tranche,
                             data={"from": str(tranche.amount), "to": str(c.amount), "claim": claim.pk})
                tranche.amount = c.amount
                tranche.save(update_fields=["amount"])
            if agreement.fiscal_amount != c.amount:
                # what the bureau grants is the verified subsidy: the ledger plans it, and the budget follows it
                record_audit(actor=actor, verb="set_subsidy_amount", target=agreement,
                             data={"from": str(agreement.fiscal_amount), "to": str(c.amount), "claim": claim.pk})
                budget = budget_of(agreement)
                fiscal = scale_to(c.amount, {cat: f for cat, (f, _own) in budget.items()})
                write_budget(agreement, {cat: (amount, budget.get(cat, (None, ZERO))[1]) for cat, amount in fiscal.items()})
                agreement.fiscal_amount = c.amount
                agreement.save(update_fields=["fiscal_amount", "updated_at"])
            _make_due_rows(agreement, actor, [tranche], now)
            _notify_org(claim, agreement, _("后补助已核定：%(no)s") % {"no": agreement.number},
                        _("项目《%(t)s》核定研发费用 %(v)s 元，按 %(p)s%% 核定后补助 %(a)s 元，待财务拨付。%(n)s")
                        % {"t": agreement.project.title, "v": f"{c.verified:,.2f}",
                           "p": f"{c.percent.normalize():f}", "a": f"{c.amount:,.2f}", "n": claim.decision_note},
                        f"subsidy_claim:{claim.pk}:verified")

        return run_transition(workflow=CLAIM_WORKFLOW, queryset=PostSubsidyClaim.objects.all(), pk=claim_id,
                              name="verify", actor=actor, guard=guard, apply=apply, after=after,
                              data={"verified": str(verified)})


def return_claim(*, actor, claim_id: int, reason: str, now=None) -> PostSubsidyClaim:
    """退回补正 (a reason is required): the organisation corrects the claim and submits it again."""
    _require_officer(actor)
    now = now or timezone.now()
    agreement_id = PostSubsidyClaim.objects.values_list("agreement_id", flat=True).get(pk=claim_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization").get(pk=agreement_id)

        def apply(claim):
            claim.decided_by, claim.decided_at = actor, now
            claim.decision_note = (reason or "").strip()[:2000]
            return ["decided_by", "decided_at", "decision_note"]

        def after(claim, from_state):
            _notify_org(claim, agreement, _("后补助申报退回补正：%(no)s") % {"no": agreement.number},
                        _("项目《%(t)s》的后补助申报被退回，请补正后重新提交。理由：%(r)s")
                        % {"t": agreement.project.title, "r": claim.decision_note},
                        f"subsidy_claim:{claim.pk}:returned:{timezone.localtime(now):%Y%m%d%H%M%S}")

        return run_transition(workflow=CLAIM_WORKFLOW, queryset=PostSubsidyClaim.objects.all(), pk=claim_id,
                              name="return", actor=actor, reason=reason, apply=apply, after=after)

"""预算调整: the organisation moves amounts between the categories of its signed 任务书 (设备费, 业务费, 劳务费); the
fiscal total and the self-raised total stay as they are.

Within what the programme delegates (its scheme's ``adjust_percent``: each category's fiscal amount moves by at most
that share of the amount the bureau last approved, counting what the organisation recorded since; 设备费 not increased
unless ``adjust_equipment_up``) the change is recorded (备案)
and takes effect at once; beyond it, it waits for the officer, who approves (the lines change, if they are still
what the request started from) or rejects it with a reason. One adjustment waits at a time: the next is measured
against the budget the previous one leaves. Every step is audited and held under the agreement's row lock, and the
agreement keeps its history (each adjustment stores the before and after of every category it changes).

Also here: the agreed terms funding tells projects about (``agreed_terms_of``, registered in ``apps.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.roles import Role
from accounts.selectors import org_admins_of, users_with_role
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from projects.hooks import AgreedTerms
from projects.models import BudgetLine, Project

from .models import BudgetAdjustment, FundingScheme, TaskAgreement
from .services import BUDGET_CATEGORIES, _notify, budget_of, nonnegative_money, write_budget

BA = BudgetAdjustment.State
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
DEFAULT_ADJUST_PERCENT = Decimal("10.00")
DEFAULT_ADJUST_EQUIPMENT_UP = False
EQUIPMENT = BudgetLine.Category.EQUIPMENT
CATEGORY_LABELS = dict(BudgetLine.Category.choices)

ADJUSTMENT_WORKFLOW = Workflow(
    "funding.BudgetAdjustment",
    BA,
    [
        T("approve", [BA.PENDING], BA.APPROVED, gettext_lazy("批准预算调整")),
        T("reject", [BA.PENDING], BA.REJECTED, gettext_lazy("不予批准预算调整"), needs_reason=True),
    ],
)


# ---- the programme's rules -----------------------------------------------------------------------------------


def scheme_for(project: Project) -> FundingScheme | None:
    """The scheme that governs the project: its call's, else its programme's (of the call or the challenge)."""
    if project.call_id is not None:
        scheme = FundingScheme.objects.filter(call_id=project.call_id).first()
        if scheme is not None:
            return scheme
        program_id = project.call.program_id
    elif project.challenge_id is not None:
        program_id = project.challenge.program_id
    else:
        return None
    return FundingScheme.objects.filter(program_id=program_id).first() if program_id else None


@dataclass(frozen=True)
class Delegation:
    """What the organisation may adjust on its own."""

    percent: Decimal = DEFAULT_ADJUST_PERCENT
    equipment_up: bool = DEFAULT_ADJUST_EQUIPMENT_UP

    @classmethod
    def of(cls, project: Project) -> Delegation:
        scheme = scheme_for(project)
        if scheme is None:
            return cls()
        return cls(percent=scheme.adjust_percent, equipment_up=scheme.adjust_equipment_up)

    def limit(self, fiscal: Decimal) -> Decimal:
        """The largest change of a category's fiscal amount that stays within the delegation (to the fen, down)."""
        return (fiscal * self.percent / HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


@dataclass
class Assessment:
    """A proposed budget measured against the current one."""

    changes: list[dict] = field(default_factory=list)
    fiscal_difference: Decimal = ZERO
    self_difference: Decimal = ZERO
    within: bool = True
    #: why it needs the officer's approval (empty when within the delegation)
    reasons: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.fiscal_difference == 0 and self.self_difference == 0


def parse_lines(lines) -> dict[str, tuple[Decimal, Decimal]]:
    """``{category: {"fiscal": …, "self": …}}`` as amounts ≥ 0 to the fen."""
    if not isinstance(lines, dict) or not lines:
        raise InvalidInput(_("请按科目填写调整后的预算。"))
    out = {}
    for category, amounts in lines.items():
        if category not in CATEGORY_LABELS:
            raise InvalidInput(_("预算科目“%(c)s”无效。") % {"c": category})
        amounts = amounts if isinstance(amounts, dict) else {}
        label = CATEGORY_LABELS[category]
        out[category] = (nonnegative_money(amounts.get("fiscal"), _("%(c)s财政资金") % {"c": label}),
                         nonnegative_money(amounts.get("self"), _("%(c)s自筹资金") % {"c": label}))
    return out


def baseline_of(agreement: TaskAgreement, current: dict[str, tuple[Decimal, Decimal]]
                ) -> dict[str, tuple[Decimal, Decimal]]:
    """The budget the bureau last approved: as signed, or as its latest approved adjustment left it. The
    adjustments the organisation recorded on its own since then are measured together against it, so the
    delegation cannot be exceeded in small steps."""
    last_approved = BudgetAdjustment.objects.filter(agreement=agreement, state=BA.APPROVED).order_by("-id").first()
    since = BudgetAdjustment.objects.filter(agreement=agreement, state=BA.RECORDED)
    if last_approved is not None:
        since = since.filter(id__gt=last_approved.id)
    base = {c: current.get(c, (ZERO, ZERO)) for c in BUDGET_CATEGORIES}
    for adjustment in since.order_by("id"):
        for c in adjustment.changes:
            fiscal, own = base[c["category"]]
            base[c["category"]] = (fiscal - (Decimal(c["fiscal_after"]) - Decimal(c["fiscal_before"])),
                                   own - (Decimal(c["self_after"]) - Decimal(c["self_before"])))
    return base


def assess(current: dict[str, tuple[Decimal, Decimal]], proposed: dict[str, tuple[Decimal, Decimal]],
           delegation: Delegation, baseline: dict[str, tuple[Decimal, Decimal]] | None = None) -> Assessment:
    """The changes (categories not named keep their amounts), whether the totals stay, and whether the change is
    within the delegation: for every category it changes, its fiscal amount stays within percent% of the budget the
    bureau last approved (``baseline``: the signed budget or the latest approved adjustment's; the current budget
    when not given), counting the adjustments recorded since; and 设备费 not increased unless the programme allows
    it."""
    result = Assessment()
    baseline = baseline or current
    for category in BUDGET_CATEGORIES:
        before = current.get(category, (ZERO, ZERO))
        after = proposed.get(category, before)
        if after == before:
            continue
        result.changes.append({"category": category, "fiscal_before": str(before[0]), "fiscal_after": str(after[0]),
                               "self_before": str(before[1]), "self_after": str(after[1])})
        base = baseline.get(category, (ZERO, ZERO))[0]
        delta = after[0] - base
        label = CATEGORY_LABELS[category]
        cumulative = base != before[0]
        if category == EQUIPMENT and delta > 0 and not delegation.equipment_up:
            result.reasons.append(_("调增设备费财政资金 %(d)s 元须报科技局审批。") % {"d": f"{delta:,.2f}"})
        elif abs(delta) > base * delegation.percent / HUNDRED:
            message = (_("%(c)s财政资金累计调整 %(d)s 元，超过该科目批准预算 %(b)s 元的 %(p)s%%（%(l)s 元）。") if cumulative
                       else _("%(c)s财政资金调整 %(d)s 元，超过该科目当前预算 %(b)s 元的 %(p)s%%（%(l)s 元）。"))
            result.reasons.append(message % {"c": label, "d": f"{delta:+,.2f}", "b": f"{base:,.2f}",
                                             "p": f"{delegation.percent.normalize():f}",
                                             "l": f"{delegation.limit(base):,.2f}"})
    merged = {**current, **proposed}
    result.fiscal_difference = (sum((f for f, _s in merged.values()), ZERO)
                                - sum((f for f, _s in current.values()), ZERO))
    result.self_difference = (sum((s for _f, s in merged.values()), ZERO)
                              - sum((s for _f, s in current.values()), ZERO))
    result.within = not result.reasons
    return result


def totals_problems(assessment: Assessment) -> list[str]:
    """Why a proposed budget cannot be requested at all (the totals moved, nothing changed)."""
    problems = []
    if assessment.fiscal_difference:
        problems.append(_("调整后财政资金合计须保持不变（现相差 %(d)s 元）。") % {"d": f"{assessment.fiscal_difference:+,.2f}"})
    if assessment.self_difference:
        problems.append(_("调整后自筹资金合计须保持不变（现相差 %(d)s 元）。") % {"d": f"{assessment.self_difference:+,.2f}"})
    if not assessment.changes and not problems:
        problems.append(_("调整后的预算与当前预算相同，无需调整。"))
    return problems


def _as_budget(changes: list[dict], key: str) -> dict[str, tuple[Decimal, Decimal]]:
    return {c["category"]: (Decimal(c[f"fiscal_{key}"]), Decimal(c[f"self_{key}"])) for c in changes}


def _officers():
    return users_with_role(Role.OFFICER)


def _link(adjustment: BudgetAdjustment) -> str:
    return reverse("funding:adjustment", args=[adjustment.pk])


def why_not_adjustable(agreement: TaskAgreement, *, pending: bool | None = None) -> str:
    """Why the organisation cannot ask for an adjustment now ("" when it can)."""
    if agreement.state != TaskAgreement.State.SIGNED:
        return _("任务书%(s)s，不能调整预算。") % {"s": agreement.get_state_display()}
    if agreement.project.state != Project.State.ESTABLISHED:
        return _("项目%(s)s，不能调整预算。") % {"s": agreement.project.get_state_display()}
    if pending is None:
        pending = BudgetAdjustment.objects.filter(agreement=agreement, state=BA.PENDING).exists()
    if pending:
        return _("该任务书已有待审批的预算调整，请待科技局审批后再申请。")
    return ""


# ---- the writes ------------------------------------------------------------------------------------------------


def request_adjustment(*, actor, agreement_id: int, lines: dict, reason: str, now=None) -> BudgetAdjustment:
    """申请预算调整 (an applicant or the admin of the organisation, on a signed 任务书 of an established project):
    within the delegation it is recorded and the lines change at once; beyond it, it waits for the officer."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    agreement = TaskAgreement.objects.select_related("project__organization").get(pk=agreement_id)
    if actor is None or not actor.has_perm("funding.adjust_budget_obj", agreement):
        raise PermissionRefused(_("只有承担单位的用户可以申请预算调整。"))
    if not reason:
        raise InvalidInput(_("请填写调整理由。"))
    proposed = parse_lines(lines)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization", "project__call__program", "project__challenge").get(pk=agreement_id)
        problem = why_not_adjustable(agreement)
        if problem:
            raise TransitionRefused(problem)
        current = budget_of(agreement)
        assessment = assess(current, proposed, Delegation.of(agreement.project), baseline_of(agreement, current))
        problems = totals_problems(assessment)
        if problems:
            raise InvalidInput(*problems)
        seq = BudgetAdjustment.objects.filter(agreement=agreement).count() + 1
        adjustment = BudgetAdjustment.objects.create(
            agreement=agreement, number=f"{agreement.number}-TZ{seq}", changes=assessment.changes,
            reason=reason[:2000], within_delegation=assessment.within,
            state=BA.RECORDED if assessment.within else BA.PENDING, requested_by=actor, requested_at=now)
        record_audit(actor=actor, verb="request_adjustment", target=adjustment, to_state=adjustment.state,
                     reason=reason, data={"changes": assessment.changes, "within": assessment.within,
                                          "reasons": assessment.reasons})
        if assessment.within:
            _apply(agreement, adjustment, actor)
        else:
            project = agreement.project
            _notify(_officers(), MessageKind.BUDGET_ADJUSTMENT_PENDING,
                    _("预算调整待审批：%(no)s") % {"no": adjustment.number},
                    _("%(org)s 申请调整项目《%(t)s》的预算，超出单位自主调整权限，请审批。%(r)s")
                    % {"org": project.organization.name, "t": project.title, "r": " ".join(assessment.reasons)},
                    _link(adjustment), adjustment, f"budget_adjustment:{adjustment.pk}:pending")
    return adjustment


def _apply(agreement: TaskAgreement, adjustment: BudgetAdjustment, actor) -> None:
    after = _as_budget(adjustment.changes, "after")
    write_budget(agreement, after)
    agreement.save(update_fields=["updated_at"])
    record_audit(actor=actor, verb="adjust_budget", target=agreement,
                 data={"adjustment": adjustment.number, "changes": adjustment.changes})


def _decide(name: str, *, actor, adjustment_id: int, note: str = "", now=None) -> BudgetAdjustment:
    if actor is None or not actor.has_perm("funding.manage_agreements"):
        raise PermissionRefused(_("只有科技局业务处室可以审批预算调整。"))
    now = now or timezone.now()
    agreement_id = BudgetAdjustment.objects.values_list("agreement_id", flat=True).get(pk=adjustment_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization").get(pk=agreement_id)

        def guard(adjustment):
            if name != "approve":
                return
            if agreement.state != TaskAgreement.State.SIGNED:
                raise TransitionRefused(_("任务书%(s)s，不能调整预算。") % {"s": agreement.get_state_display()})
            current = budget_of(agreement)
            before = _as_budget(adjustment.changes, "before")
            if any(current.get(c, (ZERO, ZERO)) != amounts for c, amounts in before.items()):
                raise TransitionRefused(_("任务书预算已在申请后发生变化，该调整申请已失效，请不予批准并由承担单位重新申请。"))

        def apply(adjustment):
            adjustment.decided_by, adjustment.decided_at = actor, now
            adjustment.decision_note = (note or "").strip()[:500]
            return ["decided_by", "decided_at", "decision_note"]

        def after(adjustment, from_state):
            if name == "approve":
                _apply(agreement, adjustment, actor)
            org_users = [adjustment.requested_by, *org_admins_of(agreement.project.organization_id)]
            _notify(list({u.pk: u for u in org_users}.values()), MessageKind.BUDGET_ADJUSTMENT_DECIDED,
                    (_("预算调整已批准：%(no)s") if name == "approve" else _("预算调整不予批准：%(no)s"))
                    % {"no": adjustment.number},
                    _("项目《%(t)s》的预算调整申请%(r)s。%(n)s")
                    % {"t": agreement.project.title, "r": adjustment.get_state_display(),
                       "n": adjustment.decision_note},
                    _link(adjustment), adjustment, f"budget_adjustment:{adjustment.pk}:{name}")

        return run_transition(workflow=ADJUSTMENT_WORKFLOW, queryset=BudgetAdjustment.objects.all(),
                              pk=adjustment_id, name=name, actor=actor, reason=note, guard=guard, apply=apply,
                              after=after)


def approve_adjustment(*, actor, adjustment_id: int, note: str = "", now=None) -> BudgetAdjustment:
    """批准: the officer approves; the lines take the requested amounts if they are still what the request saw."""
    return _decide("approve", actor=actor, adjustment_id=adjustment_id, note=note, now=now)


def reject_adjustment(*, actor, adjustment_id: int, note: str, now=None) -> BudgetAdjustment:
    """不予批准 (a reason is required): the budget stays as it is."""
    return _decide("reject", actor=actor, adjustment_id=adjustment_id, note=note, now=now)


# ---- what projects is told ---------------------------------------------------------------------------------------


def agreed_terms_of(project) -> AgreedTerms | None:
    """The project's 任务书 terms (targets, budget by category: fiscal, self-raised), or None without an agreement.
    Two queries: the agreement, its budget lines."""
    agreement = (TaskAgreement.objects.filter(project_id=project.pk).only("id", "targets", "paid_total")
                 .prefetch_related("budget_lines").first())
    if agreement is None:
        return None
    return AgreedTerms(targets=list(agreement.targets or []),
                       budget={line.category: (line.fiscal_amount, line.self_amount)
                               for line in agreement.budget_lines.all()},
                       paid=agreement.paid_total)


"""Writes for 任务书 and the money: drafting an agreement from its project, confirming it (the organisation and the
bureau, in either order: both → signed), tranches becoming due, and disbursements recorded by one finance user and
approved by another, with reversing entries for corrections.

Lock order: agreement, then tranche, then disbursement. Every write that touches money holds the agreement's row
lock, so the running totals on the agreement (and the database's check that paid + recorded ≤ fiscal) hold under
concurrent requests; the same idempotency key twice returns the first disbursement.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused, parse_date
from accounts.fields import to_yuan
from accounts.models import User
from accounts.roles import Role
from accounts.selectors import org_admins_of, users_with_role
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify
from projects import services as project_services
from projects.models import BudgetLine, MidtermReport, Program, Project, ProjectMilestone
from projects.services import budget_totals

from .models import (
    AgreementBudgetLine,
    Condition,
    Disbursement,
    FundingScheme,
    RecoveryOrder,
    Repayment,
    TaskAgreement,
    Tranche,
)

AG = TaskAgreement.State
TR = Tranche.State
DS = Disbursement.State
CENT = Decimal("0.01")
MAX_TRANCHES = 20

AGREEMENT_WORKFLOW = Workflow(
    "funding.TaskAgreement",
    AG,
    [
        T("org_confirm", [AG.DRAFT], AG.ORG_CONFIRMED, gettext_lazy("承担单位确认")),
        T("office_confirm", [AG.DRAFT], AG.OFFICE_CONFIRMED, gettext_lazy("科技局确认")),
        T("org_sign", [AG.OFFICE_CONFIRMED], AG.SIGNED, gettext_lazy("承担单位确认（签订）")),
        T("office_sign", [AG.ORG_CONFIRMED], AG.SIGNED, gettext_lazy("科技局确认（签订）")),
        T("reopen", [AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED], AG.DRAFT, gettext_lazy("修改后重新确认")),
        T("terminate", [AG.DRAFT, AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED, AG.SIGNED], AG.TERMINATED,
          gettext_lazy("项目终止，任务书终止"), needs_reason=True),
    ],
)

TRANCHE_WORKFLOW = Workflow(
    "funding.Tranche",
    TR,
    [
        T("make_due", [TR.PLANNED], TR.DUE, gettext_lazy("达到拨付条件")),
        T("settle", [TR.DUE], TR.PAID, gettext_lazy("拨付完毕")),
        T("unsettle", [TR.PAID], TR.DUE, gettext_lazy("冲正后待拨付")),
        T("cancel", [TR.PLANNED, TR.DUE], TR.CANCELLED, gettext_lazy("取消"), needs_reason=True),
    ],
)

RECOVERY_WORKFLOW = Workflow(
    "funding.RecoveryOrder",
    RecoveryOrder.State,
    [T("settle", [RecoveryOrder.State.OPEN], RecoveryOrder.State.SETTLED, gettext_lazy("追回完毕"))],
)

REPAYMENT_WORKFLOW = Workflow(
    "funding.Repayment",
    Repayment.State,
    [
        T("approve", [Repayment.State.RECORDED], Repayment.State.APPROVED, gettext_lazy("审核通过")),
        T("reject", [Repayment.State.RECORDED], Repayment.State.REJECTED, gettext_lazy("退回"), needs_reason=True),
    ],
)

DISBURSEMENT_WORKFLOW = Workflow(
    "funding.Disbursement",
    DS,
    [
        T("approve", [DS.RECORDED], DS.APPROVED, gettext_lazy("审核通过")),
        T("reject", [DS.RECORDED], DS.REJECTED, gettext_lazy("退回"), needs_reason=True),
    ],
)

#: the bureau's default when neither the call nor the programme has a scheme: 60% on signing, 30% after the
#: mid-term check, 10% after acceptance
DEFAULT_STEPS = (
    (gettext_lazy("首期拨款（任务书签订后）"), Decimal("60"), Condition.SIGNING, ""),
    (gettext_lazy("第二期拨款（中期检查通过后）"), Decimal("30"), Condition.CHECKPOINT, "midterm"),
    (gettext_lazy("尾款（验收通过后）"), Decimal("10"), Condition.ACCEPTANCE, ""),
)
CHECKPOINT_RE = re.compile(r"^(midterm|milestone:[1-9][0-9]?)$")
KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


# ---- helpers -----------------------------------------------------------------------------------------------


def _require(actor, perm: str, obj=None, message: str = "") -> None:
    if actor is None or not actor.has_perm(perm, obj):
        raise PermissionRefused(message or _("您没有权限执行此操作。"))


def _money(value, label: str) -> Decimal:
    try:
        amount = to_yuan(value)
    except (InvalidOperation, ValueError, TypeError, ValidationError):
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(_("%(f)s必须是金额数字。") % {"f": label})
    if amount != amount.quantize(CENT):
        raise InvalidInput(_("%(f)s最多精确到分。") % {"f": label})
    if amount <= 0:
        raise InvalidInput(_("%(f)s必须大于0。") % {"f": label})
    if amount >= Decimal("1e13"):
        raise InvalidInput(_("%(f)s超出允许范围。") % {"f": label})
    return amount.quantize(CENT)


def split_amount(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` split in proportion to ``weights``, to the fen, adding up to ``total`` exactly (the fen left by
    rounding down go to the largest remainders, earlier steps first on a tie)."""
    weight_sum = sum(weights, Decimal(0))
    if not weights or weight_sum <= 0:
        return []
    exact = [total * w / weight_sum for w in weights]
    parts = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(parts, Decimal(0))) / CENT)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += CENT
    return parts


def _finance_users():
    return users_with_role(Role.FINANCE)


def _notify(recipients, kind, title, body, link, target, key):
    notify(recipients, kind=kind, title=title, body=body, link=link, target=target, dedupe_key=key)


def _agreement_link(agreement) -> str:
    return reverse("funding:agreement", args=[agreement.pk])


# ---- drafting the agreement --------------------------------------------------------------------------------


def scheme_steps(project: Project) -> list[tuple[str, Decimal, str, str]]:
    """The tranche plan a new agreement starts from: (name, weight, condition, checkpoint).

    A 揭榜 project is paid by its milestones (each milestone's share of the bid); an ordinary one by its call's
    scheme, else its programme's, else ``DEFAULT_STEPS``."""
    if project.challenge_id is not None:
        return [(_("第%(n)d个里程碑考核通过后") % {"n": m.position}, m.amount, Condition.CHECKPOINT,
                 f"milestone:{m.position}") for m in project.milestones.order_by("position")]
    scheme = None
    if project.call_id is not None and project.call.program.kind == Program.Kind.POST_SUBSIDY:
        # 后补助: one payment of the verified subsidy, after the bureau verified the R&D expense
        return [(_("后补助"), Decimal("100"), Condition.VERIFIED, "")]
    if project.call_id is not None:
        scheme = (FundingScheme.objects.filter(call_id=project.call_id).first()
                  or FundingScheme.objects.filter(program_id=project.call.program_id).first())
    if scheme is not None:
        steps = list(scheme.steps.all())
        if steps:
            return [(s.name, s.percent, s.condition, s.checkpoint) for s in steps]
    return [(str(n), p, c, cp) for n, p, c, cp in DEFAULT_STEPS]


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def plain_number(value: Decimal) -> str:
    """A target value as people write it: 270, 2.5, 0.05 (no trailing zeros, never 2.7E+2)."""
    return format(value.normalize(), "f")


def _targets_of(project: Project) -> list[dict]:
    if project.application_id is not None:
        return [{"kind": t.kind, "indicator": t.indicator, "target_value": plain_number(t.target_value),
                 "unit": t.unit} for t in project.application.targets.order_by("position", "id")]
    return [{"kind": "output", "indicator": t.name, "target_value": t.target_value, "unit": t.unit}
            for t in project.challenge.targets.order_by("position", "id")]


BUDGET_CATEGORIES = tuple(BudgetLine.Category.values)  # equipment, business, labour
BUSINESS = BudgetLine.Category.BUSINESS


def nonnegative_money(value, label: str) -> Decimal:
    """An amount in 元 that may be 0: a number, at least 0, to the fen; refused with the field's name otherwise."""
    try:
        amount = to_yuan(value) if value not in (None, "") else Decimal("0.00")
    except ValidationError as e:
        raise InvalidInput(_("%(f)s：%(m)s") % {"f": label, "m": e.messages[0]}) from None
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(_("%(f)s必须是金额数字。") % {"f": label})
    if amount < 0:
        raise InvalidInput(_("%(f)s不能小于0。") % {"f": label})
    if amount != amount.quantize(CENT):
        raise InvalidInput(_("%(f)s最多精确到分。") % {"f": label})
    if amount >= Decimal("1e13"):
        raise InvalidInput(_("%(f)s超出允许范围。") % {"f": label})
    return amount.quantize(CENT)


def scale_to(total: Decimal, weights: dict[str, Decimal]) -> dict[str, Decimal]:
    """``total`` over the budget categories in proportion to ``weights`` (to the fen, adding up exactly; unchanged
    when they already add up to it); all of it in 业务费 when every weight is 0."""
    w = [weights.get(c) or Decimal("0.00") for c in BUDGET_CATEGORIES]
    if sum(w, Decimal(0)) <= 0:
        return {c: (total if c == BUSINESS else Decimal("0.00")) for c in BUDGET_CATEGORIES}
    if sum(w, Decimal(0)) == total:
        return dict(zip(BUDGET_CATEGORIES, w, strict=True))
    return dict(zip(BUDGET_CATEGORIES, split_amount(total, w), strict=True))


def initial_budget(project: Project, fiscal: Decimal, own: Decimal) -> dict[str, tuple[Decimal, Decimal]]:
    """The agreement's budget by category: a call project's from its application (the fiscal lines scaled to the
    granted amount, the self-raised to ``own``); a 揭榜 project's as one 业务费 line."""
    if project.application_id is None:
        return {BUSINESS: (fiscal, own)}
    lines = list(project.application.budget_lines.all())
    f = scale_to(fiscal, {line.category: line.fiscal_amount for line in lines})
    s = scale_to(own, {line.category: line.self_amount for line in lines})
    return {c: (f[c], s[c]) for c in BUDGET_CATEGORIES}


def write_budget(agreement: TaskAgreement, budget: dict[str, tuple[Decimal, Decimal]]) -> None:
    """The agreement's budget lines set to ``budget`` (category → (fiscal, self)); a missing line is created."""
    existing = {line.category: line for line in AgreementBudgetLine.objects.filter(agreement=agreement)}
    for category, (fiscal, own) in budget.items():
        line = existing.get(category)
        if line is None:
            AgreementBudgetLine.objects.create(agreement=agreement, category=category, fiscal_amount=fiscal,
                                               self_amount=own)
        elif (line.fiscal_amount, line.self_amount) != (fiscal, own):
            line.fiscal_amount, line.self_amount = fiscal, own
            line.save(update_fields=["fiscal_amount", "self_amount"])


def budget_of(agreement: TaskAgreement) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.category: (line.fiscal_amount, line.self_amount)
            for line in AgreementBudgetLine.objects.filter(agreement=agreement)}


def _parse_budget(raw: dict) -> dict[str, tuple[Decimal, Decimal]]:
    if not isinstance(raw, dict):
        raise InvalidInput(_("预算须按科目填写。"))
    labels = dict(BudgetLine.Category.choices)
    out = {}
    for category, amounts in raw.items():
        if category not in labels:
            raise InvalidInput(_("预算科目“%(c)s”无效。") % {"c": category})
        amounts = amounts if isinstance(amounts, dict) else {}
        out[category] = (
            nonnegative_money(amounts.get("fiscal"), _("%(c)s财政资金") % {"c": labels[category]}),
            nonnegative_money(amounts.get("self"), _("%(c)s自筹资金") % {"c": labels[category]}),
        )
    return out


def draft_agreement(*, project_id: int, actor=None) -> TaskAgreement:
    """The project's 任务书 draft, created once (idempotent): the granted fiscal amount, the self-raised amount,
    the period, the targets and a tranche plan from the scheme. Called when a project is established."""
    with transaction.atomic():
        project = Project.objects.select_for_update(of=("self",)).select_related(
            "application", "call__program", "challenge", "bid").get(pk=project_id)
        existing = TaskAgreement.objects.filter(project=project).first()
        if existing is not None:
            return existing
        today = timezone.localdate()
        if project.application_id is not None:
            _fiscal, own = budget_totals(project.application)
        else:
            own = max(project.bid.amount - project.granted_amount, Decimal("0.00"))
        start = project.start_date or today
        end = project.end_date if project.end_date and project.end_date >= start else _years_later(start, 2)
        agreement = TaskAgreement.objects.create(
            project=project, number=f"{project.number}-RWS", fiscal_amount=project.granted_amount, self_amount=own,
            start_date=start, end_date=end, targets=_targets_of(project),
        )
        write_budget(agreement, initial_budget(project, agreement.fiscal_amount, agreement.self_amount))
        with translation.override(settings.LANGUAGE_CODE):  # names are stored: in the bureau's language, always
            steps = [(str(n), w, c, cp) for n, w, c, cp in scheme_steps(project)]
        amounts = split_amount(project.granted_amount, [w for _n, w, _c, _cp in steps])
        Tranche.objects.bulk_create([
            Tranche(agreement=agreement, position=i + 1, name=str(name)[:100], amount=amount, condition=condition,
                    checkpoint=checkpoint)
            for i, ((name, _w, condition, checkpoint), amount) in enumerate(zip(steps, amounts, strict=True))
            if amount > 0
        ])
        record_audit(actor=actor, verb="create", target=agreement, to_state=agreement.state,
                     data={"fiscal": str(agreement.fiscal_amount), "tranches": [str(a) for a in amounts]})
    return agreement


def _lock_editable(actor, agreement_id) -> TaskAgreement:
    _require(actor, "funding.manage_agreements", message=_("只有科技局业务处室可以修改任务书。"))
    agreement = TaskAgreement.objects.select_for_update(of=("self",)).get(pk=agreement_id)
    if agreement.state not in TaskAgreement.EDITABLE_STATES:
        raise TransitionRefused(_("任务书%(s)s，不能修改。") % {"s": agreement.get_state_display()})
    return agreement


def _reopen_if_confirmed(agreement: TaskAgreement, actor) -> None:
    """A change after one party confirmed sends the agreement back to both for confirmation."""
    if agreement.state in (AG.ORG_CONFIRMED, AG.OFFICE_CONFIRMED):
        def apply(locked):
            locked.org_confirmed_by = locked.office_confirmed_by = None
            locked.org_confirmed_at = locked.office_confirmed_at = None
            return ["org_confirmed_by", "office_confirmed_by", "org_confirmed_at", "office_confirmed_at"]

        run_transition(workflow=AGREEMENT_WORKFLOW, queryset=TaskAgreement.objects.all(), pk=agreement.pk,
                       name="reopen", actor=actor, apply=apply)


def update_agreement(*, actor: User, agreement_id: int, data: dict) -> TaskAgreement:
    """The officer edits the terms until signed: period, self-raised amount, targets, and the budget by category
    (``budget``: category → {"fiscal", "self"}; the fiscal lines must add up to the fiscal amount, the self-raised
    ones to the self-raised amount, which they set when it is not given). A new self-raised amount without lines
    rescales the self-raised lines. Any change after a confirmation needs both confirmations again."""
    with transaction.atomic():
        agreement = _lock_editable(actor, agreement_id)
        changed = {}
        if "start_date" in data:
            changed["start_date"] = parse_date(data["start_date"], _("开始日期"))
        if "end_date" in data:
            changed["end_date"] = parse_date(data["end_date"], _("结束日期"))
        if "self_amount" in data:
            try:
                value = to_yuan(data["self_amount"]) if data["self_amount"] not in (None, "") else Decimal("0.00")
            except ValidationError:
                value = None
            if value is None or not value.is_finite() or value < 0 or value != value.quantize(CENT):
                raise InvalidInput(_("自筹资金须为不小于0的金额，最多精确到分。"))
            changed["self_amount"] = value
        if "targets" in data:
            targets = []
            for i, t in enumerate(data["targets"] or []):
                indicator = (t.get("indicator") or "").strip()
                value = str(t.get("target_value") or "").strip()
                if not indicator and not value:
                    continue
                if not indicator or not value:
                    raise InvalidInput(_("第%(n)d项绩效指标须填写指标名称和目标值。") % {"n": i + 1})
                targets.append({"kind": t.get("kind") or "output", "indicator": indicator[:200],
                                "target_value": value[:100], "unit": (t.get("unit") or "").strip()[:20]})
            changed["targets"] = targets
        budget = None
        if data.get("budget") is not None:
            budget = _parse_budget(data["budget"])
            current = budget_of(agreement)
            budget = {**{c: current.get(c, (Decimal("0.00"), Decimal("0.00"))) for c in current}, **budget}
            fiscal = sum((f for f, _s in budget.values()), Decimal("0.00"))
            own = sum((s for _f, s in budget.values()), Decimal("0.00"))
            if fiscal != agreement.fiscal_amount:
                raise InvalidInput(_("各科目财政资金合计 %(t)s 元，须等于财政资金 %(f)s 元（相差 %(d)s 元）。")
                                   % {"t": f"{fiscal:,.2f}", "f": f"{agreement.fiscal_amount:,.2f}",
                                      "d": f"{fiscal - agreement.fiscal_amount:+,.2f}"})
            if "self_amount" in changed and changed["self_amount"] != own:
                raise InvalidInput(_("各科目自筹资金合计 %(t)s 元，须等于自筹资金 %(f)s 元（相差 %(d)s 元）。")
                                   % {"t": f"{own:,.2f}", "f": f"{changed['self_amount']:,.2f}",
                                      "d": f"{own - changed['self_amount']:+,.2f}"})
            changed["self_amount"] = own
        elif "self_amount" in changed and changed["self_amount"] != agreement.self_amount:
            current = budget_of(agreement)
            own = scale_to(changed["self_amount"], {c: s for c, (_f, s) in current.items()})
            budget = {c: (current.get(c, (Decimal("0.00"),))[0], own[c]) for c in BUDGET_CATEGORIES
                      if c in current or own[c]}
        start = changed.get("start_date", agreement.start_date)
        end = changed.get("end_date", agreement.end_date)
        if end < start:
            raise InvalidInput(_("结束日期不能早于开始日期。"))
        for field, value in changed.items():
            setattr(agreement, field, value)
        agreement.save()
        if budget is not None:
            write_budget(agreement, budget)
            changed["budget"] = [[c, str(f), str(s)] for c, (f, s) in budget.items()]
        record_audit(actor=actor, verb="edit", target=agreement,
                     data={k: (v if isinstance(v, list) else str(v)) for k, v in changed.items()})
        _reopen_if_confirmed(agreement, actor)
    return TaskAgreement.objects.get(pk=agreement_id)


def set_tranches(*, actor: User, agreement_id: int, tranches: list[dict]) -> TaskAgreement:
    """The tranche plan, replaced as a whole until signed: amounts add up to the fiscal amount exactly; each with
    its condition (a checkpoint names ``midterm`` or ``milestone:N``; a date condition names the date)."""
    rows = []
    for i, t in enumerate(tranches):
        label = _("第%(n)d期") % {"n": i + 1}
        name = (t.get("name") or "").strip() or label
        condition = t.get("condition")
        if condition not in Condition.values:
            raise InvalidInput(_("%(f)s的拨付条件无效。") % {"f": label})
        checkpoint = (t.get("checkpoint") or "").strip()
        if condition == Condition.CHECKPOINT and not CHECKPOINT_RE.match(checkpoint):
            raise InvalidInput(_("%(f)s须指定考核节点（midterm 或 milestone:序号）。") % {"f": label})
        due_on = None
        if condition == Condition.DATE:
            due_on = parse_date(t.get("due_on"), label)
        rows.append(Tranche(position=len(rows) + 1, name=name[:100], amount=_money(t.get("amount"), label),
                            condition=condition, checkpoint=checkpoint if condition == Condition.CHECKPOINT else "",
                            due_on=due_on))
    if not rows:
        raise InvalidInput(_("请至少设置一期拨款。"))
    if len(rows) > MAX_TRANCHES:
        raise InvalidInput(_("拨款最多分%(n)d期。") % {"n": MAX_TRANCHES})
    with transaction.atomic():
        agreement = _lock_editable(actor, agreement_id)
        total = sum((r.amount for r in rows), Decimal(0))
        if total != agreement.fiscal_amount:
            raise InvalidInput(_("各期金额合计 %(t)s 元，须等于财政资金 %(f)s 元。")
                               % {"t": f"{total:,.2f}", "f": f"{agreement.fiscal_amount:,.2f}"})
        if agreement.disbursements.exists():  # never, before signing; kept as a guard for the money
            raise TransitionRefused(_("已有拨付记录，不能调整拨付计划。"))
        agreement.tranches.all().delete()
        for r in rows:
            r.agreement = agreement
        Tranche.objects.bulk_create(rows)
        agreement.save(update_fields=["updated_at"])
        record_audit(actor=actor, verb="set_tranches", target=agreement,
                     data={"tranches": [[r.name, str(r.amount), r.condition, r.checkpoint] for r in rows]})
        _reopen_if_confirmed(agreement, actor)
    return TaskAgreement.objects.get(pk=agreement_id)


# ---- confirming and signing --------------------------------------------------------------------------------


def confirm_agreement(*, actor: User, agreement_id: int, now=None) -> TaskAgreement:
    """The organisation's admin and an officer each confirm online, in either order; the second confirmation
    signs the agreement, and the tranches payable on signing (or on a date already reached) become due."""
    now = now or timezone.now()
    agreement = TaskAgreement.objects.select_related("project__organization").get(pk=agreement_id)
    as_org = actor.has_perm("funding.confirm_agreement_obj", agreement)
    as_office = actor.has_perm("funding.manage_agreements")
    if not (as_org or as_office):
        raise PermissionRefused(_("只有承担单位管理员或科技局业务处室可以确认任务书。"))
    with transaction.atomic():
        # lock order: the project, then its agreement (terminations and checkpoint conclusions lock in this order,
        # and signing writes the project's period)
        Project.objects.select_for_update(of=("self",)).only("pk").get(pk=agreement.project_id)
        state = TaskAgreement.objects.select_for_update(of=("self",)).values_list("state", flat=True).get(
            pk=agreement_id)
        if as_org:
            name = "org_sign" if state == AG.OFFICE_CONFIRMED else "org_confirm"
        else:
            name = "office_sign" if state == AG.ORG_CONFIRMED else "office_confirm"

        def apply(locked):
            if as_org:
                locked.org_confirmed_by, locked.org_confirmed_at = actor, now
                fields = ["org_confirmed_by", "org_confirmed_at"]
            else:
                locked.office_confirmed_by, locked.office_confirmed_at = actor, now
                fields = ["office_confirmed_by", "office_confirmed_at"]
            if name.endswith("_sign"):
                locked.signed_at = now
                fields.append("signed_at")
            return fields

        def after(locked, from_state):
            if locked.state == AG.SIGNED:
                # the signed period is the project's: its checkpoints (中期, 验收 due 6 months after the end) follow it
                project_services.set_project_period(project_id=locked.project_id, start_date=locked.start_date,
                                                    end_date=locked.end_date, actor=actor)
                _make_due(locked, actor, conditions=[Condition.SIGNING], now=now)
                _make_due_dates(locked, actor, now=now)
                _catch_up_checkpoints(locked, actor, now=now)
                _notify([*org_admins_of(locked.project.organization_id), *_finance_users()],
                        MessageKind.AGREEMENT_SIGNED, _("任务书已签订：%(no)s") % {"no": locked.number},
                        _("项目《%(t)s》的任务书已签订，财政资金 %(f)s 元。")
                        % {"t": locked.project.title, "f": f"{locked.fiscal_amount:,.2f}"},
                        _agreement_link(locked), locked, f"agreement:{locked.pk}:signed")
            else:
                # the other party is asked to confirm: the organisation's admins, or the programme officers
                others = list(users_with_role(Role.OFFICER)) if as_org else list(
                    org_admins_of(locked.project.organization_id))
                who = locked.project.organization.name if as_org else _("科技局")
                _notify(others, MessageKind.AGREEMENT_TO_CONFIRM, _("任务书待确认：%(no)s") % {"no": locked.number},
                        _("%(who)s 已确认项目《%(t)s》的任务书，请核对后确认，双方确认后任务书签订生效。")
                        % {"who": who, "t": locked.project.title},
                        _agreement_link(locked), locked,
                        f"agreement:{locked.pk}:{name}:{timezone.localtime(now):%Y%m%d%H%M%S}")

        return run_transition(workflow=AGREEMENT_WORKFLOW,
                              queryset=TaskAgreement.objects.select_related("project__organization"),
                              pk=agreement_id, name=name, actor=actor, apply=apply, after=after)


# ---- tranches becoming due ---------------------------------------------------------------------------------


def _make_due_rows(agreement, actor, tranches, now) -> list[Tranche]:
    made = []
    for t in tranches:
        def apply(locked):
            locked.due_at = now
            return ["due_at"]

        made.append(run_transition(workflow=TRANCHE_WORKFLOW, queryset=Tranche.objects.all(), pk=t.pk,
                                   name="make_due", actor=actor, apply=apply))
    if made:
        _notify(_finance_users(), MessageKind.TRANCHE_DUE, _("应拨付：%(no)s") % {"no": agreement.number},
                _("项目《%(t)s》有%(n)d期拨款达到拨付条件，合计 %(a)s 元。")
                % {"t": agreement.project.title, "n": len(made), "a": f"{sum(m.amount for m in made):,.2f}"},
                reverse("funding:due"), agreement, f"agreement:{agreement.pk}:due:{','.join(str(m.pk) for m in made)}")
    return made


def _make_due(agreement, actor, *, conditions, checkpoint: str = "", now) -> list[Tranche]:
    qs = agreement.tranches.select_for_update().filter(state=TR.PLANNED, condition__in=conditions)
    if checkpoint:
        qs = qs.filter(checkpoint=checkpoint)
    return _make_due_rows(agreement, actor, list(qs.order_by("position")), now)


def _make_due_dates(agreement, actor, *, now) -> list[Tranche]:
    today = timezone.localdate(now)
    qs = agreement.tranches.select_for_update().filter(state=TR.PLANNED, condition=Condition.DATE,
                                                       due_on__lte=today)
    return _make_due_rows(agreement, actor, list(qs.order_by("position")), now)


def _catch_up_checkpoints(agreement, actor, *, now) -> None:
    """At signing, the checkpoints the project already passed count: a 揭榜 milestone concluded before the agreement
    was signed, or an acceptance already passed."""
    project = agreement.project
    for position in ProjectMilestone.objects.filter(project=project, state=ProjectMilestone.State.PASSED
                                                    ).values_list("position", flat=True):
        _make_due(agreement, actor, conditions=[Condition.CHECKPOINT], checkpoint=f"milestone:{position}", now=now)
    if MidtermReport.objects.filter(project=project, state=MidtermReport.State.PASSED).exists():
        _make_due(agreement, actor, conditions=[Condition.CHECKPOINT], checkpoint="midterm", now=now)
    if project.state == Project.State.COMPLETED:
        _make_due(agreement, actor, conditions=[Condition.ACCEPTANCE, Condition.CHECKPOINT], now=now)


def checkpoint_passed(*, project_id: int, checkpoint: str, actor=None, now=None) -> list[Tranche]:
    """A checkpoint of the project passed (``midterm``, ``milestone:N``, or ``acceptance``): the signed
    agreement's tranches waiting for it become due. Idempotent; before signing nothing happens here, and signing
    catches up on the checkpoints already passed."""
    now = now or timezone.now()
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related("project").filter(
            project_id=project_id).first()
        if agreement is None or agreement.state != AG.SIGNED:
            return []
        if checkpoint == "acceptance":
            # passing acceptance passes every earlier checkpoint too: a mid-term check the bureau never held (or a
            # checkpoint tranche no conclusion reached) is paid with the acceptance tranche rather than never
            return _make_due(agreement, actor, conditions=[Condition.ACCEPTANCE, Condition.CHECKPOINT], now=now)
        return _make_due(agreement, actor, conditions=[Condition.CHECKPOINT], checkpoint=checkpoint, now=now)


def make_dated_tranches_due(now=None) -> int:
    """The sweeper: every signed agreement's tranches whose date has come become due. Idempotent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    ids = list(Tranche.objects.filter(state=TR.PLANNED, condition=Condition.DATE, due_on__lte=today,
                                      agreement__state=AG.SIGNED).values_list("agreement_id", flat=True).distinct())
    made = 0
    for agreement_id in ids:
        with transaction.atomic():
            agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related("project").get(
                pk=agreement_id)
            made += len(_make_due_dates(agreement, None, now=now))
    return made


# ---- disbursements -----------------------------------------------------------------------------------------


def _require_finance(actor) -> None:
    # the finance role itself: a superuser's blanket has_perm does not make an IT administrator a finance clerk
    if actor is None or not (actor.is_active and actor.has_role(Role.FINANCE)):
        raise PermissionRefused(_("只有财务人员可以登记或审核拨付。"))


def _clean_key(key) -> str:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise InvalidInput(_("幂等键须为8至64位字母、数字或 . _ : -。"))
    return key


def _same_request(existing: Disbursement, *, tranche_id, amount, voucher_no, kind, reverses_id=None) -> Disbursement:
    """The same idempotency key again: the first disbursement, if it is the same request (for a reversal: of the
    same payment); refused otherwise."""
    if (existing.tranche_id, existing.amount, existing.voucher_no, existing.kind, existing.reverses_id) != (
            tranche_id, amount, voucher_no, kind, reverses_id):
        raise InvalidInput(_("该幂等键已用于另一笔拨付记录（%(v)s，%(a)s 元）。")
                           % {"v": existing.voucher_no, "a": f"{existing.amount:,.2f}"}, code="idempotency_conflict")
    return existing


def record_disbursement(*, actor: User, tranche_id: int, amount, voucher_no: str, paid_on, idempotency_key: str,
                        note: str = "", now=None) -> Disbursement:
    """登记拨付: a finance clerk records a payment against a due tranche. Never beyond the tranche's unpaid
    amount nor the agreement's fiscal amount (paid and awaiting approval together), checked under the agreement's
    row lock; the same idempotency key twice gives the one disbursement."""
    _require_finance(actor)
    now = now or timezone.now()
    key = _clean_key(idempotency_key)
    amount = _money(amount, _("拨付金额"))
    voucher_no = (voucher_no or "").strip()
    if not voucher_no or len(voucher_no) > 60:
        raise InvalidInput(_("请填写银行凭证号（不超过60个字符）。"))
    paid_on = parse_date(paid_on, _("支付日期"))
    if paid_on > timezone.localdate(now):
        raise InvalidInput(_("支付日期不能晚于今天。"))
    tranche = Tranche.objects.only("agreement_id").get(pk=tranche_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related("project").get(
            pk=tranche.agreement_id)
        existing = Disbursement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _same_request(existing, tranche_id=tranche_id, amount=amount, voucher_no=voucher_no,
                                 kind=Disbursement.Kind.PAYMENT)
        tranche = Tranche.objects.select_for_update(of=("self",)).get(pk=tranche_id)
        if agreement.state != AG.SIGNED:
            raise TransitionRefused(_("任务书%(s)s，不能拨付。") % {"s": agreement.get_state_display()})
        if tranche.state != TR.DUE:
            raise TransitionRefused(_("该期拨款当前为“%(s)s”，不能登记拨付。") % {"s": tranche.get_state_display()})
        pending = sum((d.amount for d in tranche.disbursements.filter(state=DS.RECORDED, kind=Disbursement.Kind.PAYMENT)),
                      Decimal("0.00"))
        open_on_tranche = tranche.amount - tranche.paid_amount - pending
        if amount > open_on_tranche:
            raise InvalidInput(_("本期尚可登记 %(o)s 元（已拨付 %(p)s 元，待审核 %(r)s 元），不能登记 %(a)s 元。")
                               % {"o": f"{open_on_tranche:,.2f}", "p": f"{tranche.paid_amount:,.2f}",
                                  "r": f"{pending:,.2f}", "a": f"{amount:,.2f}"}, code="beyond_tranche")
        if agreement.paid_total + agreement.recorded_total + amount > agreement.fiscal_amount:
            raise InvalidInput(_("拨付后合计将超过财政资金 %(f)s 元。") % {"f": f"{agreement.fiscal_amount:,.2f}"},
                               code="beyond_grant")
        try:
            with transaction.atomic():
                d = Disbursement.objects.create(
                    agreement=agreement, tranche=tranche, amount=amount, voucher_no=voucher_no, paid_on=paid_on,
                    idempotency_key=key, note=(note or "").strip()[:500], recorded_by=actor, recorded_at=now)
        except IntegrityError:  # the same key on another agreement's tranche, committed meanwhile
            existing = Disbursement.objects.get(idempotency_key=key)
            return _same_request(existing, tranche_id=tranche_id, amount=amount, voucher_no=voucher_no,
                                 kind=Disbursement.Kind.PAYMENT)
        agreement.recorded_total += amount
        agreement.save(update_fields=["recorded_total", "updated_at"])
        record_audit(actor=actor, verb="record", target=d, to_state=d.state,
                     data={"amount": str(amount), "voucher": voucher_no, "tranche": tranche.pk})
        _notify(_finance_users().exclude(pk=actor.pk), MessageKind.DISBURSEMENT_RECORDED,
                _("待审核拨付：%(no)s") % {"no": agreement.number},
                _("%(who)s 登记了《%(t)s》第%(n)d期拨款 %(a)s 元（凭证号 %(v)s），请审核。")
                % {"who": actor.display_name, "t": agreement.project.title, "n": tranche.position,
                   "a": f"{amount:,.2f}", "v": voucher_no},
                reverse("funding:queue"), d, f"disbursement:{d.pk}:recorded")
    return d


def _decide(name: str, *, actor, disbursement_id: int, note: str = "", now=None) -> Disbursement:
    _require_finance(actor)
    now = now or timezone.now()
    agreement_id = Disbursement.objects.values_list("agreement_id", flat=True).get(pk=disbursement_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).get(pk=agreement_id)

        def guard(d):
            if d.recorded_by_id == actor.pk:
                raise PermissionRefused(_("登记人不能审核自己登记的拨付，请由另一位财务人员审核。"), code="four_eyes")

        def apply(d):
            d.decided_by, d.decided_at, d.decision_note = actor, now, (note or "").strip()[:500]
            return ["decided_by", "decided_at", "decision_note"]

        def after(d, from_state):
            tranche = Tranche.objects.select_for_update(of=("self",)).get(pk=d.tranche_id)
            if d.kind == Disbursement.Kind.PAYMENT:
                agreement.recorded_total -= d.amount
                if name == "approve":
                    agreement.paid_total += d.amount
                    tranche.paid_amount += d.amount
            elif name == "approve":  # a reversal takes the original payment back
                agreement.paid_total -= d.amount
                tranche.paid_amount -= d.amount
            agreement.save(update_fields=["recorded_total", "paid_total", "updated_at"])
            tranche.save(update_fields=["paid_amount"])
            if tranche.paid_amount == tranche.amount and tranche.state == TR.DUE:
                run_transition(workflow=TRANCHE_WORKFLOW, queryset=Tranche.objects.all(), pk=tranche.pk,
                               name="settle", actor=actor)
            elif tranche.paid_amount < tranche.amount and tranche.state == TR.PAID:
                run_transition(workflow=TRANCHE_WORKFLOW, queryset=Tranche.objects.all(), pk=tranche.pk,
                               name="unsettle", actor=actor)
            _notify([d.recorded_by], MessageKind.DISBURSEMENT_DECIDED,
                    (_("拨付已审核：%(v)s") if name == "approve" else _("拨付被退回：%(v)s")) % {"v": d.voucher_no},
                    _("%(kind)s %(a)s 元（凭证号 %(v)s）%(r)s。%(n)s")
                    % {"kind": d.get_kind_display(), "a": f"{d.amount:,.2f}", "v": d.voucher_no,
                       "r": d.get_state_display(), "n": (note or "").strip()},
                    _agreement_link(agreement), d, f"disbursement:{d.pk}:{name}")

        return run_transition(workflow=DISBURSEMENT_WORKFLOW, queryset=Disbursement.objects.all(),
                              pk=disbursement_id, name=name, actor=actor, reason=note, guard=guard, apply=apply,
                              after=after)


def approve_disbursement(*, actor: User, disbursement_id: int, note: str = "", now=None) -> Disbursement:
    """审核: a finance user other than the one who recorded it approves; the money counts as paid."""
    return _decide("approve", actor=actor, disbursement_id=disbursement_id, note=note, now=now)


def reject_disbursement(*, actor: User, disbursement_id: int, note: str, now=None) -> Disbursement:
    """退回: the record was wrong (amount, voucher); it stays, marked rejected, and frees the amount."""
    return _decide("reject", actor=actor, disbursement_id=disbursement_id, note=note, now=now)


def reverse_disbursement(*, actor: User, disbursement_id: int, voucher_no: str, paid_on, idempotency_key: str,
                         note: str, now=None) -> Disbursement:
    """冲正: an approved payment that should not stand (returned by the bank, paid twice by mistake) is taken back
    by a reversing entry of the same amount, itself approved by another finance user. Nothing is edited."""
    _require_finance(actor)
    now = now or timezone.now()
    key = _clean_key(idempotency_key)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("冲正必须填写理由。"))
    voucher_no = (voucher_no or "").strip()
    if not voucher_no or len(voucher_no) > 60:
        raise InvalidInput(_("请填写冲正凭证号（不超过60个字符）。"))
    paid_on = parse_date(paid_on, _("冲正日期"))
    if paid_on > timezone.localdate(now):
        raise InvalidInput(_("冲正日期不能晚于今天。"))
    original = Disbursement.objects.only("agreement_id", "tranche_id", "amount").get(pk=disbursement_id)
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).get(pk=original.agreement_id)
        existing = Disbursement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return _same_request(existing, tranche_id=original.tranche_id, amount=original.amount,
                                 voucher_no=voucher_no, kind=Disbursement.Kind.REVERSAL, reverses_id=original.pk)
        original = Disbursement.objects.select_for_update(of=("self",)).get(pk=disbursement_id)
        if original.kind != Disbursement.Kind.PAYMENT or original.state != DS.APPROVED:
            raise TransitionRefused(_("只有已审核的拨付可以冲正。"))
        if Disbursement.objects.filter(reverses=original).exclude(state=DS.REJECTED).exists():
            raise TransitionRefused(_("该笔拨付已有冲正记录。"))
        try:
            with transaction.atomic():
                d = Disbursement.objects.create(
                    agreement=agreement, tranche_id=original.tranche_id, kind=Disbursement.Kind.REVERSAL,
                    reverses=original, amount=original.amount, voucher_no=voucher_no, paid_on=paid_on,
                    idempotency_key=key, note=note[:500], recorded_by=actor, recorded_at=now)
        except IntegrityError:  # the same key on another agreement, committed meanwhile
            return _same_request(Disbursement.objects.get(idempotency_key=key), tranche_id=original.tranche_id,
                                 amount=original.amount, voucher_no=voucher_no, kind=Disbursement.Kind.REVERSAL,
                                 reverses_id=original.pk)
        record_audit(actor=actor, verb="record_reversal", target=d, to_state=d.state, reason=note,
                     data={"reverses": original.pk, "amount": str(original.amount)})
        _notify(_finance_users().exclude(pk=actor.pk), MessageKind.DISBURSEMENT_RECORDED,
                _("待审核冲正：%(no)s") % {"no": agreement.number},
                _("%(who)s 登记了对拨付 %(v)s（%(a)s 元）的冲正，请审核。理由：%(n)s")
                % {"who": actor.display_name, "v": original.voucher_no, "a": f"{original.amount:,.2f}", "n": note},
                reverse("funding:queue"), d, f"disbursement:{d.pk}:recorded")
    return d


# ---- termination and recovery (终止, 追回) ----------------------------------------------------------------------


def agreement_terminated(*, project_id: int, actor, reason: str, now=None) -> TaskAgreement | None:
    """The project ended early: its 任务书 ends, and every tranche not yet paid is cancelled (a tranche with a
    payment still awaiting approval stays due until finance decides it). Called by the receiver."""
    now = now or timezone.now()
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).filter(project_id=project_id).first()
        if agreement is None or agreement.state == AG.TERMINATED:
            return agreement
        for tranche in agreement.tranches.select_for_update().filter(state__in=[TR.PLANNED, TR.DUE]).order_by(
                "position"):
            pending = tranche.disbursements.filter(state=DS.RECORDED, kind=Disbursement.Kind.PAYMENT).exists()
            if pending:
                continue
            run_transition(workflow=TRANCHE_WORKFLOW, queryset=Tranche.objects.all(), pk=tranche.pk, name="cancel",
                           actor=actor, reason=reason or _("项目终止"))
        return run_transition(workflow=AGREEMENT_WORKFLOW, queryset=TaskAgreement.objects.all(), pk=agreement.pk,
                              name="terminate", actor=actor, reason=reason or _("项目终止"))


def open_recovery(*, actor: User, agreement_id: int, rule: str, reason: str, due_date, spent_amount=None,
                  credit: dict | None = None, now=None) -> RecoveryOrder:
    """开具追回单 for a terminated agreement (or a project that failed its acceptance): under the ``unspent`` rule
    what was paid less what the audit found properly spent; under ``all`` everything paid. Optionally records a
    失信 record against the organisation (``credit``: severity, reason, decision_no, penalty_start, penalty_end)."""
    _require(actor, "funding.manage_agreements", message=_("只有科技局业务处室可以开具追回单。"))
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写追回理由。"))
    if rule not in RecoveryOrder.Rule.values:
        raise InvalidInput(_("请选择追回规则。"))
    due_date = parse_date(due_date, _("缴回期限"))
    if due_date < timezone.localdate(now):
        raise InvalidInput(_("缴回期限不能早于今天。"))
    with transaction.atomic():
        agreement = TaskAgreement.objects.select_for_update(of=("self",)).select_related(
            "project__organization").get(pk=agreement_id)
        project = agreement.project
        if agreement.state != AG.TERMINATED and project.state != Project.State.FAILED:
            raise TransitionRefused(_("只有已终止或验收不通过的项目可以开具追回单。"))
        if agreement.recorded_total > 0:
            raise TransitionRefused(_("该任务书有待审核的拨付 %(r)s 元，请财务先审核或退回。")
                                    % {"r": f"{agreement.recorded_total:,.2f}"})
        paid = agreement.paid_total
        spent = Decimal("0.00")
        if rule == RecoveryOrder.Rule.UNSPENT:
            if spent_amount in (None, ""):
                raise InvalidInput(_("按结余追回时须填写经审计已合规使用的财政资金。"))
            try:
                spent = to_yuan(spent_amount)
            except ValidationError:
                spent = None
            if spent is None or spent < 0 or spent != spent.quantize(CENT):
                raise InvalidInput(_("已使用金额须为不小于0的金额，最多精确到分。"))
            if spent > paid:
                raise InvalidInput(_("已使用金额 %(s)s 元超过已拨付 %(p)s 元。")
                                   % {"s": f"{spent:,.2f}", "p": f"{paid:,.2f}"})
        due = paid - spent
        if due <= 0:
            raise InvalidInput(_("应追回金额为0，无需开具追回单。"))
        if RecoveryOrder.objects.filter(agreement=agreement, state=RecoveryOrder.State.OPEN).exists():
            raise TransitionRefused(_("该任务书已有未完成的追回单。"))
        record = None
        if credit:
            record = account_services.record_credit(actor=actor, data={
                "organization": project.organization, "severity": credit.get("severity"),
                "reason": (credit.get("reason") or reason)[:2000], "decision_no": credit.get("decision_no") or "",
                "penalty_start": parse_date(credit.get("penalty_start") or timezone.localdate(now), _("惩戒开始日期")),
                "penalty_end": parse_date(credit["penalty_end"], _("惩戒结束日期")) if credit.get("penalty_end")
                else None,
            })
        seq = RecoveryOrder.objects.filter(agreement=agreement).count() + 1
        order = RecoveryOrder.objects.create(
            agreement=agreement, number=f"{agreement.number}-ZH{seq}", rule=rule, reason=reason, paid_at_order=paid,
            spent_amount=spent, amount_due=due, due_date=due_date, credit_record=record, created_by=actor,
            created_at=now)
        record_audit(actor=actor, verb="open_recovery", target=order, to_state=order.state, reason=reason,
                     data={"rule": rule, "paid": str(paid), "spent": str(spent), "due": str(due)})
        _notify([*org_admins_of(project.organization_id), *_finance_users()], MessageKind.RECOVERY_OPENED,
                _("追回通知：%(no)s") % {"no": order.number},
                _("项目《%(t)s》须于 %(d)s 前缴回财政资金 %(a)s 元。理由：%(r)s")
                % {"t": project.title, "d": due_date.isoformat(), "a": f"{due:,.2f}", "r": reason},
                _agreement_link(agreement), order, f"recovery:{order.pk}:opened")
    return order


def record_repayment(*, actor: User, order_id: int, amount, voucher_no: str, received_on, idempotency_key: str,
                     now=None) -> Repayment:
    """登记缴回: finance records money the organisation returned; never beyond what is still outstanding (with
    what awaits approval); the same key twice gives the one record."""
    _require_finance(actor)
    now = now or timezone.now()
    key = _clean_key(idempotency_key)
    amount = _money(amount, _("缴回金额"))
    voucher_no = (voucher_no or "").strip()
    if not voucher_no or len(voucher_no) > 60:
        raise InvalidInput(_("请填写银行凭证号（不超过60个字符）。"))
    received_on = parse_date(received_on, _("到账日期"))
    if received_on > timezone.localdate(now):
        raise InvalidInput(_("到账日期不能晚于今天。"))
    agreement_id = RecoveryOrder.objects.values_list("agreement_id", flat=True).get(pk=order_id)
    with transaction.atomic():
        TaskAgreement.objects.select_for_update(of=("self",)).get(pk=agreement_id)
        existing = Repayment.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if (existing.order_id, existing.amount, existing.voucher_no) != (order_id, amount, voucher_no):
                raise InvalidInput(_("该幂等键已用于另一笔缴回记录。"), code="idempotency_conflict")
            return existing
        order = RecoveryOrder.objects.select_for_update(of=("self",)).get(pk=order_id)
        if order.state != RecoveryOrder.State.OPEN:
            raise TransitionRefused(_("追回单已完成，不能再登记缴回。"))
        pending = sum((r.amount for r in order.repayments.filter(state=Repayment.State.RECORDED)), Decimal("0.00"))
        open_amount = order.amount_due - order.repaid_total - pending
        if amount > open_amount:
            raise InvalidInput(_("尚可登记 %(o)s 元（已追回 %(r)s 元，待审核 %(p)s 元），不能登记 %(a)s 元。")
                               % {"o": f"{open_amount:,.2f}", "r": f"{order.repaid_total:,.2f}",
                                  "p": f"{pending:,.2f}", "a": f"{amount:,.2f}"})
        try:
            with transaction.atomic():
                repayment = Repayment.objects.create(order=order, amount=amount, voucher_no=voucher_no,
                                                     received_on=received_on, idempotency_key=key,
                                                     recorded_by=actor, recorded_at=now)
        except IntegrityError:
            existing = Repayment.objects.get(idempotency_key=key)
            if (existing.order_id, existing.amount, existing.voucher_no) != (order_id, amount, voucher_no):
                raise InvalidInput(_("该幂等键已用于另一笔缴回记录。"), code="idempotency_conflict") from None
            return existing
        record_audit(actor=actor, verb="record_repayment", target=repayment, to_state=repayment.state,
                     data={"amount": str(amount), "voucher": voucher_no, "order": order.pk})
    return repayment


def _decide_repayment(name: str, *, actor, repayment_id: int, note: str = "", now=None) -> Repayment:
    _require_finance(actor)
    now = now or timezone.now()
    order_id = Repayment.objects.values_list("order_id", flat=True).get(pk=repayment_id)
    agreement_id = RecoveryOrder.objects.values_list("agreement_id", flat=True).get(pk=order_id)
    with transaction.atomic():
        TaskAgreement.objects.select_for_update(of=("self",)).get(pk=agreement_id)
        order = RecoveryOrder.objects.select_for_update(of=("self",)).get(pk=order_id)

        def guard(r):
            if r.recorded_by_id == actor.pk:
                raise PermissionRefused(_("登记人不能审核自己登记的缴回，请由另一位财务人员审核。"), code="four_eyes")

        def apply(r):
            r.decided_by, r.decided_at, r.decision_note = actor, now, (note or "").strip()[:500]
            return ["decided_by", "decided_at", "decision_note"]

        def after(r, from_state):
            if name != "approve":
                return
            order.repaid_total += r.amount
            order.save(update_fields=["repaid_total"])
            if order.repaid_total == order.amount_due:
                def settled(o):
                    o.settled_at = now
                    return ["settled_at"]

                run_transition(workflow=RECOVERY_WORKFLOW, queryset=RecoveryOrder.objects.all(), pk=order.pk,
                               name="settle", actor=actor, apply=settled)

        return run_transition(workflow=REPAYMENT_WORKFLOW, queryset=Repayment.objects.all(), pk=repayment_id,
                              name=name, actor=actor, reason=note, guard=guard, apply=apply, after=after)


def approve_repayment(*, actor: User, repayment_id: int, note: str = "", now=None) -> Repayment:
    return _decide_repayment("approve", actor=actor, repayment_id=repayment_id, note=note, now=now)


def reject_repayment(*, actor: User, repayment_id: int, note: str, now=None) -> Repayment:
    return _decide_repayment("reject", actor=actor, repayment_id=repayment_id, note=note, now=now)

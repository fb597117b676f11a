"""Writes for 揭榜挂帅: needs and their vetting, the 榜单 and its 答疑, bids, choosing winners, 流标 and
republishing, and the winners' projects (milestone checks, stopping teams in 赛马制, final acceptance).

Every state change goes through one transition table per model and ``run_transition`` (row lock, state checked
in the database, audit event). Lock order where several rows are written: challenge, then bids (by id), then
projects (by id), then milestones.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused, parse_date
from accounts.fields import to_yuan
from accounts.models import CreditRecord, Organization, User
from accounts.roles import Role
from accounts.selectors import running_credit_filter, users_with_role
from accounts.validators import normalize_credit_code, normalize_id_number, validate_credit_code
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify

from ..models import Program, Project
from ..services import cancel_open_milestones
from ..signals import checkpoint_passed, project_established, project_terminated
from ..workflows import MILESTONE_WORKFLOW, PROJECT_WORKFLOW
from .models import (
    MAX_WINNERS,
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeAcceptance,
    ChallengeField,
    ChallengeQuestion,
    ChallengeTarget,
    ProjectMilestone,
)

CH = Challenge.State
B = Bid.State
M = ProjectMilestone.State
P = Project.State
ACC = ChallengeAcceptance.State
CENT = Decimal("0.01")

CHALLENGE_WORKFLOW = Workflow(
    "projects.Challenge",
    CH,
    [
        T("submit", [CH.DRAFT], CH.SUBMITTED, gettext_lazy("提交需求")),
        T("withdraw", [CH.DRAFT, CH.SUBMITTED], CH.CANCELLED, gettext_lazy("撤回需求")),
        T("start_vetting", [CH.SUBMITTED], CH.VETTING, gettext_lazy("开始论证")),
        T("return", [CH.SUBMITTED, CH.VETTING], CH.DRAFT, gettext_lazy("退回修改"), needs_reason=True),
        T("reject", [CH.SUBMITTED, CH.VETTING], CH.REJECTED, gettext_lazy("论证不通过"), needs_reason=True),
        T("publish", [CH.VETTING], CH.PUBLISHED, gettext_lazy("发榜")),
        T("close", [CH.PUBLISHED], CH.CLOSED, gettext_lazy("截止揭榜")),
        T("start_review", [CH.CLOSED], CH.REVIEWING, gettext_lazy("开始评审")),
        T("award", [CH.REVIEWING], CH.AWARDED, gettext_lazy("确认揭榜结果")),
        T("fail", [CH.CLOSED, CH.REVIEWING], CH.FAILED, gettext_lazy("流标"), needs_reason=True),
        T("republish", [CH.FAILED], CH.PUBLISHED, gettext_lazy("重新发榜")),
        T("cancel", [CH.PUBLISHED, CH.CLOSED, CH.REVIEWING], CH.CANCELLED, gettext_lazy("撤榜"), needs_reason=True),
    ],
)

BID_WORKFLOW = Workflow(
    "projects.Bid",
    B,
    [
        T("submit", [B.DRAFT], B.SUBMITTED, gettext_lazy("提交揭榜方案")),
        T("withdraw", [B.DRAFT, B.SUBMITTED], B.WITHDRAWN, gettext_lazy("撤回")),
        T("review", [B.SUBMITTED], B.REVIEWING, gettext_lazy("进入评审")),
        T("win", [B.REVIEWING], B.WON, gettext_lazy("入选")),
        T("lose", [B.REVIEWING], B.LOST, gettext_lazy("未入选")),
        T("void", [B.DRAFT, B.SUBMITTED, B.REVIEWING], B.VOID, gettext_lazy("作废")),
    ],
)

ACCEPTANCE_WORKFLOW = Workflow(
    "projects.ChallengeAcceptance",
    ACC,
    [
        T("judge", [ACC.APPLIED], ACC.JUDGED, gettext_lazy("发榜方评价")),
        T("pass", [ACC.JUDGED], ACC.PASSED, gettext_lazy("验收通过")),
        T("fail", [ACC.JUDGED], ACC.FAILED, gettext_lazy("验收不通过"), needs_reason=True),
    ],
)

CHALLENGE_FIELDS = ("title", "field", "discipline_code", "keywords", "problem", "expected_outcome", "period_months",
                    "enterprise_funding", "subsidy_requested", "max_winners", "contact_name", "contact_phone")
BID_FIELDS = ("title", "plan", "foundation", "discipline_code", "keywords", "leader_name", "leader_id_number",
              "leader_title", "leader_phone", "amount")
MAX_TARGETS = 30
MAX_MILESTONES = 12
MAX_MEMBERS = 50
MAX_PARTNERS = 10
MAX_QUESTIONS_PER_ORG = 20


# ---- helpers -----------------------------------------------------------------------------------------------


def _now(now=None):
    return now or timezone.now()


def _fmt_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _money(value, label) -> Decimal:
    try:
        amount = to_yuan(value)
    except (InvalidOperation, ValueError, TypeError, ValidationError):
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(_("%(f)s必须是金额数字。") % {"f": label})
    if amount < 0:
        raise InvalidInput(_("%(f)s不能为负数。") % {"f": label})
    if amount != amount.quantize(CENT):
        raise InvalidInput(_("%(f)s最多精确到分。") % {"f": label})
    if amount >= Decimal("1e13"):
        raise InvalidInput(_("%(f)s超出允许范围。") % {"f": label})
    return amount.quantize(CENT)


def _full_clean(instance, exclude=()) -> None:
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as e:
        messages = []
        for field, msgs in e.message_dict.items():
            try:
                label = str(type(instance)._meta.get_field(field).verbose_name)
            except Exception:  # a non-field error
                label = ""
            messages.extend(f"{label}：{m}" if label else m for m in msgs)
        raise InvalidInput(messages) from None


def _replace_children(owner, related_name: str, rows: list) -> None:
    """A draft's child rows (targets, team, consortium, milestones) replaced as a whole by ``rows``."""
    manager = getattr(owner, related_name)
    manager.all().delete()
    field = manager.field.name
    for r in rows:
        setattr(r, field, owner)
    manager.model.objects.bulk_create(rows)
    owner.save(update_fields=["updated_at"])


def _officers():
    return users_with_role(Role.OFFICER).filter(is_active=True)


def _org_users(organization_id):
    """Who hears about an organisation's challenge or bid: its applicant users and admins."""
    return User.objects.filter(
        organization_id=organization_id, is_active=True, groups__name__in=[Role.APPLICANT, Role.ORG_ADMIN]
    ).distinct()


def _notify(recipients, kind, title, body, link, target, key):
    notify(recipients, kind=kind, title=title, body=body, link=link, target=target, dedupe_key=key)


def _poster_link(challenge) -> str:
    return reverse("challenges:need_detail", args=[challenge.pk])


def _officer_link(challenge) -> str:
    return reverse("jiebang_office:detail", args=[challenge.pk])


def _bid_link(bid) -> str:
    return reverse("challenges:bid_detail", args=[bid.pk])


def _project_link(project) -> str:
    return reverse("challenges:project", args=[project.pk])


def _office_project_link(project) -> str:
    return reverse("jiebang_office:project", args=[project.pk])


def _require(actor, perm: str, obj=None, message: str = "") -> None:
    if not actor.has_perm(perm, obj):
        raise PermissionRefused(message or _("您没有权限执行此操作。"))


def require_challenge_officer(actor) -> None:
    _require(actor, "projects.manage_challenges", message=_("只有科技局业务处室可以办理揭榜挂帅事项。"))


def _credit_problems(*, today, organizations: Iterable[Organization], people: dict[str, str]) -> list[str]:
    """科研诚信: a running 失信 record of any organisation or person (id number → name) bars the request."""
    orgs = {o.pk: o for o in organizations}
    problems = []
    # running_credit_records() without a subject is empty: filter the running rule over every subject at once
    records = CreditRecord.objects.filter(running_credit_filter(today)).filter(
        Q(organization_id__in=list(orgs)) | Q(person_id_number__in=[i for i in people if i])
    ) if (orgs or any(people)) else []
    for r in records:
        if r.organization_id in orgs:
            who = orgs[r.organization_id].name
        else:
            who = _("团队成员 %(n)s") % {"n": people.get(r.person_id_number, "")}
        until = r.penalty_end.isoformat() if r.penalty_end else _("长期")
        problems.append(_("%(who)s 存在%(sev)s记录，惩戒期至 %(until)s，期间不得参与。")
                        % {"who": who, "sev": r.get_severity_display(), "until": until})
    return problems


# ---- needs (需求征集) -----------------------------------------------------------------------------------------


def _challenge_values(challenge: Challenge, data: dict) -> dict:
    changes = {}
    for f in CHALLENGE_FIELDS:
        if f not in data:
            continue
        value = data[f]
        if f in ("enterprise_funding", "subsidy_requested"):
            value = _money(value, str(Challenge._meta.get_field(f).verbose_name))
        elif f in ("period_months", "max_winners"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput(_("%(f)s必须是整数。") % {"f": Challenge._meta.get_field(f).verbose_name}) from None
        elif isinstance(value, str):
            value = value.strip()
        elif value is None:
            value = ""
        changes[f] = value
    for f, v in changes.items():
        setattr(challenge, f, v)
    challenge.bounty = (challenge.enterprise_funding or Decimal(0)) + (challenge.subsidy_requested or Decimal(0))
    if challenge.field not in ChallengeField.values:
        raise InvalidInput(_("请选择技术领域。"))
    if not 1 <= challenge.max_winners <= MAX_WINNERS:
        raise InvalidInput(_("入选团队数须在1至%(n)d之间。") % {"n": MAX_WINNERS})
    _full_clean(challenge, exclude=["organization", "created_by", "program", "number"])
    return changes


def create_challenge(*, actor: User, data: dict) -> Challenge:
    """需求征集: an enterprise user drafts a need for its organisation."""
    _require(actor, "projects.post_challenge", message=_("只有单位用户可以发布揭榜需求。"))
    if actor.organization_id is None:
        raise PermissionRefused(_("您的账号未关联单位，不能发布揭榜需求。"))
    challenge = Challenge(organization_id=actor.organization_id, created_by=actor)
    data = dict(data)
    if not (data.get("contact_name") or "").strip():
        data["contact_name"] = actor.display_name  # the poster's user is the default contact
    if not (data.get("title") or "").strip():
        raise InvalidInput(_("请填写需求名称。"))
    _challenge_values(challenge, data)
    with transaction.atomic():
        challenge.save()
        record_audit(actor=actor, verb="create", target=challenge, to_state=challenge.state)
    return challenge


def _lock_editable_challenge(actor, challenge_id) -> Challenge:
    challenge = Challenge.objects.select_for_update(of=("self",)).select_related("organization").get(pk=challenge_id)
    _require(actor, "projects.edit_challenge_obj", challenge, _("只有发榜单位的用户可以修改该需求。"))
    if challenge.state not in Challenge.EDITABLE_STATES:
        raise TransitionRefused(_("需求已提交，不能修改；如需修改请先由科技局退回。"))
    return challenge


def update_challenge(*, actor: User, challenge_id: int, data: dict) -> Challenge:
    with transaction.atomic():
        challenge = _lock_editable_challenge(actor, challenge_id)
        if "title" in data and not (data.get("title") or "").strip():
            raise InvalidInput(_("请填写需求名称。"))
        changes = _challenge_values(challenge, data)
        challenge.save()
        record_audit(actor=actor, verb="edit", target=challenge, data={"fields": sorted(changes)})
    return challenge


def set_challenge_targets(*, actor: User, challenge_id: int, targets: list[dict]) -> Challenge:
    """技术指标 (replaced as a whole while the need is a draft)."""
    rows = []
    for i, t in enumerate(targets):
        name = (t.get("name") or "").strip()
        value = str(t.get("target_value") or "").strip()
        if not name and not value:
            continue
        if not name or not value:
            raise InvalidInput(_("第%(n)d项技术指标须同时填写指标名称和目标值。") % {"n": i + 1})
        rows.append(ChallengeTarget(position=len(rows), name=name[:200], target_value=value[:100],
                                    unit=(t.get("unit") or "").strip()[:30],
                                    verification=(t.get("verification") or "").strip()[:300]))
    if len(rows) > MAX_TARGETS:
        raise InvalidInput(_("技术指标最多%(n)d项。") % {"n": MAX_TARGETS})
    with transaction.atomic():
        challenge = _lock_editable_challenge(actor, challenge_id)
        _replace_children(challenge, "targets", rows)
        record_audit(actor=actor, verb="set_challenge_targets", target=challenge,
                     data={"targets": [[r.name, r.target_value, r.unit] for r in rows]})
    return challenge


def challenge_problems(challenge: Challenge, now=None) -> list[str]:
    """Every reason the need may not be submitted, each in its own words. Empty = OK."""
    now = _now(now)
    org = challenge.organization
    problems = []
    if not org.is_verified:
        problems.append(_("发榜单位尚未通过科技局认证（当前状态：%(s)s），不能提交需求。") % {"s": org.get_state_display()})
    problems += _credit_problems(today=timezone.localdate(now), organizations=[org], people={})
    missing = [str(Challenge._meta.get_field(f).verbose_name)
               for f in ("title", "problem", "expected_outcome", "contact_name", "contact_phone")
               if not getattr(challenge, f)]
    if missing:
        problems.append(_("以下必填项尚未填写：%(f)s。") % {"f": "、".join(missing)})
    if challenge.field == ChallengeField.OTHER and not challenge.discipline_code:
        problems.append(_("技术领域为“其他”时请填写学科代码，以便匹配评审专家。"))
    if not challenge.targets.exists():
        problems.append(_("请至少填写一项技术指标（目标值和验证方式）。"))
    if challenge.bounty <= 0:
        problems.append(_("悬赏金额必须大于0。"))
    if challenge.subsidy_requested <= 0:
        problems.append(_("揭榜挂帅项目须申请政府补助；请填写申请政府补助金额。"))
    if challenge.enterprise_funding <= 0:
        problems.append(_("发榜企业须出资；请填写企业出资金额。"))
    return problems


def submit_challenge(*, actor: User, challenge_id: int, accept_commitment: bool = False, now=None) -> Challenge:
    """提交需求 with the poster's commitment (资金到位、配合考核、接受揭榜结果)."""
    now = _now(now)
    challenge = Challenge.objects.select_related("organization").get(pk=challenge_id)
    _require(actor, "projects.edit_challenge_obj", challenge, _("只有发榜单位的用户可以提交该需求。"))

    def guard(locked):
        problems = challenge_problems(locked, now)
        if not accept_commitment:
            problems.append(_("请阅读并同意发榜承诺。"))
        if problems:
            raise InvalidInput(problems, code="submit_checks")

    def apply(locked):
        locked.submitted_at = now
        locked.commitment_accepted_at = now
        locked.last_reason = ""
        return ["submitted_at", "commitment_accepted_at", "last_reason"]

    def after(locked, from_state):
        if not locked.number:
            _number_need(locked, now)
        _notify(_officers(), MessageKind.CHALLENGE_SUBMITTED, _("待论证的揭榜需求：%(t)s") % {"t": locked.title},
                _("%(org)s 提交了揭榜需求《%(t)s》（%(no)s），悬赏金额 %(b)s 元，请组织论证。")
                % {"org": locked.organization.name, "t": locked.title, "no": locked.number, "b": locked.bounty},
                _officer_link(locked), locked, f"challenge:{locked.pk}:submit:{timezone.localtime(now):%Y%m%d%H%M%S}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.select_related("organization"),
                          pk=challenge_id, name="submit", actor=actor, guard=guard, apply=apply, after=after)


def _number_need(locked: Challenge, now) -> None:
    """需求编号 XQ{year}-NNNN, the next free one. Needs of different posters are submitted in parallel (no row
    serialises them): a number another transaction has just taken fails the unique index in a savepoint (on
    PostgreSQL after waiting for that transaction), and the next number is tried."""
    base = f"XQ{timezone.localdate(now).year}-"
    seq = Challenge.objects.filter(number__startswith=base).count() + 1
    for _attempt in range(1000):
        number = f"{base}{seq:04d}"
        seq += 1
        if Challenge.objects.filter(number=number).exists():
            continue
        try:
            with transaction.atomic():
                Challenge.objects.filter(pk=locked.pk).update(number=number)
        except IntegrityError:
            continue
        locked.number = number
        return
    raise TransitionRefused(_("需求编号分配失败，请稍后重试。"))


def withdraw_challenge(*, actor: User, challenge_id: int, reason: str = "") -> Challenge:
    challenge = Challenge.objects.select_related("organization").get(pk=challenge_id)
    _require(actor, "projects.edit_challenge_obj", challenge, _("只有发榜单位的用户可以撤回该需求。"))
    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.all(), pk=challenge_id,
                          name="withdraw", actor=actor, reason=reason)


def _vetting_decision(name, *, actor, challenge_id, reason="", guard=None, apply=None, title="", body=""):
    require_challenge_officer(actor)

    def apply_all(locked):
        fields = list(apply(locked) or []) if apply else []
        if reason:
            locked.last_reason = reason.strip()
            fields.append("last_reason")
        return fields

    def after(locked, from_state):
        if title:
            _notify(_org_users(locked.organization_id), MessageKind.CHALLENGE_VETTED, title % {"t": locked.title},
                    body % {"t": locked.title, "no": locked.number or "", "reason": reason.strip()},
                    _poster_link(locked), locked, f"challenge:{locked.pk}:{name}:{locked.updated_at:%Y%m%d%H%M%S%f}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.select_related("organization"),
                          pk=challenge_id, name=name, actor=actor, reason=reason, guard=guard, apply=apply_all,
                          after=after)


def start_vetting(*, actor: User, challenge_id: int, opinion: str = "") -> Challenge:
    """开始论证: the officer takes the need in (and may then organise an expert 论证 round)."""

    def apply(locked):
        if opinion.strip():
            locked.vetting_opinion = opinion.strip()
            return ["vetting_opinion"]
        return []

    return _vetting_decision("start_vetting", actor=actor, challenge_id=challenge_id, apply=apply,
                             title=_("揭榜需求进入论证：%(t)s"),
                             body=_("您提交的揭榜需求《%(t)s》（%(no)s）已由科技局受理，正在组织论证。"))


def return_challenge(*, actor: User, challenge_id: int, reason: str) -> Challenge:
    return _vetting_decision("return", actor=actor, challenge_id=challenge_id, reason=reason,
                             title=_("揭榜需求退回修改：%(t)s"),
                             body=_("您提交的揭榜需求《%(t)s》（%(no)s）被退回修改，意见：%(reason)s"))


def reject_challenge(*, actor: User, challenge_id: int, reason: str) -> Challenge:
    return _vetting_decision("reject", actor=actor, challenge_id=challenge_id, reason=reason,
                             title=_("揭榜需求未通过论证：%(t)s"),
                             body=_("您提交的揭榜需求《%(t)s》（%(no)s）未通过论证，理由：%(reason)s"))


def _parse_deadline(value, now) -> datetime.datetime:
    if not isinstance(value, datetime.datetime):
        raise InvalidInput(_("请填写揭榜截止时间。"))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if not 2000 <= timezone.localtime(value).year <= 2999:
        raise InvalidInput(_("截止时间须在2000年至2999年之间。"))
    if value <= now:
        raise InvalidInput(_("揭榜截止时间必须晚于现在。"))
    return value


def _publish_values(locked: Challenge, *, program_id, bid_deadline, max_winners, defence_weight, opinion, now):
    program = Program.objects.filter(pk=program_id, kind=Program.Kind.CHALLENGE, is_active=True).first()
    if program is None:
        raise InvalidInput(_("请选择一个启用的“揭榜挂帅”类计划。"))
    locked.program = program
    locked.bid_deadline = _parse_deadline(bid_deadline, now)
    if max_winners is not None:
        try:
            locked.max_winners = int(max_winners)
        except (TypeError, ValueError):
            raise InvalidInput(_("入选团队数必须是整数。")) from None
        if not 1 <= locked.max_winners <= MAX_WINNERS:
            raise InvalidInput(_("入选团队数须在1至%(n)d之间。") % {"n": MAX_WINNERS})
    if defence_weight is not None:
        try:
            weight = Decimal(str(defence_weight))
        except InvalidOperation:
            raise InvalidInput(_("答辩成绩权重必须是0到1之间的数。")) from None
        if not weight.is_finite() or not 0 <= weight <= 1 or weight != weight.quantize(CENT):
            raise InvalidInput(_("答辩成绩权重必须是0到1之间的数，最多两位小数。"))
        locked.defence_weight = weight
    if opinion and opinion.strip():
        locked.vetting_opinion = opinion.strip()
    return ["program", "bid_deadline", "max_winners", "defence_weight", "vetting_opinion"]


def publish_challenge(*, actor: User, challenge_id: int, program_id: int, bid_deadline, max_winners=None,
                      defence_weight=None, opinion: str = "", now=None) -> Challenge:
    """发榜: a vetted need goes on the public 榜单 under a 揭榜挂帅 programme, with its bid deadline."""
    require_challenge_officer(actor)
    now = _now(now)

    def apply(locked):
        fields = _publish_values(locked, program_id=program_id, bid_deadline=bid_deadline, max_winners=max_winners,
                                 defence_weight=defence_weight, opinion=opinion, now=now)
        locked.published_at = now
        return [*fields, "published_at"]

    def after(locked, from_state):
        _notify(_org_users(locked.organization_id), MessageKind.CHALLENGE_VETTED,
                _("揭榜需求已发榜：%(t)s") % {"t": locked.title},
                _("您提交的揭榜需求《%(t)s》已通过论证并发布，揭榜截止时间 %(d)s。")
                % {"t": locked.title, "d": _fmt_time(locked.bid_deadline)},
                _poster_link(locked), locked, f"challenge:{locked.pk}:publish:r{locked.bid_round}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.select_related("organization"),
                          pk=challenge_id, name="publish", actor=actor, apply=apply, after=after,
                          data={"bid_deadline": str(bid_deadline), "program": program_id})


def record_vetting_score(*, challenge_id: int, score: Decimal | None, reviews: int) -> None:
    """The 论证 expert round closed: keep its mean score on the need (called by the experts app)."""
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        challenge.vetting_score = score
        challenge.save(update_fields=["vetting_score", "updated_at"])
        record_audit(actor=None, verb="vetting_score", target=challenge,
                     data={"score": str(score) if score is not None else None, "reviews": reviews})


def extend_bid_deadline(*, actor: User, challenge_id: int, bid_deadline, reason: str = "", now=None) -> Challenge:
    """延期: a published challenge's deadline moves later; bidders with drafts are told."""
    require_challenge_officer(actor)
    now = _now(now)
    with transaction.atomic():
        locked = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        if locked.state != CH.PUBLISHED:
            raise TransitionRefused(_("只有揭榜中的榜单可以延期。"))
        if locked.bid_deadline <= now:  # past the deadline (the sweeper has not closed it yet): too late to extend
            raise TransitionRefused(_("揭榜截止时间 %(t)s 已过，不能延期。") % {"t": _fmt_time(locked.bid_deadline)})
        new = _parse_deadline(bid_deadline, now)
        if new <= locked.bid_deadline:
            raise InvalidInput(_("新的截止时间必须晚于原截止时间 %(t)s。") % {"t": _fmt_time(locked.bid_deadline)})
        old = locked.bid_deadline
        locked.bid_deadline = new
        locked.save(update_fields=["bid_deadline", "updated_at"])
        record_audit(actor=actor, verb="extend", target=locked, reason=reason,
                     data={"from": old.isoformat(), "to": new.isoformat()})
        drafts = Bid.objects.filter(challenge=locked, bid_round=locked.bid_round, state=B.DRAFT)
        _notify(User.objects.filter(pk__in=drafts.values("created_by")), MessageKind.CHALLENGE_UPDATED,
                _("揭榜截止时间延期：%(t)s") % {"t": locked.title},
                _("榜单《%(t)s》的揭榜截止时间由 %(a)s 延至 %(b)s。")
                % {"t": locked.title, "a": _fmt_time(old), "b": _fmt_time(new)},
                reverse("jiebang:detail", args=[locked.pk]), locked,
                f"challenge:{locked.pk}:extend:{new:%Y%m%d%H%M}")
    return locked


def _void_drafts(challenge: Challenge, actor, reason: str) -> None:
    ids = list(Bid.objects.select_for_update().filter(challenge=challenge, bid_round=challenge.bid_round,
                                                      state=B.DRAFT).order_by("id").values_list("id", flat=True))
    for pk in ids:
        run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.all(), pk=pk, name="void", actor=actor,
                       reason=reason)


def close_challenge(*, actor: User | None, challenge_id: int, now=None) -> Challenge:
    """截止揭榜, once the deadline has passed (the sweeper does it; an officer may do it a little late by hand).
    Drafts never submitted are voided."""
    if actor is not None:
        require_challenge_officer(actor)
    now = _now(now)

    def guard(locked):
        if locked.bid_deadline > now:
            raise TransitionRefused(_("揭榜截止时间 %(t)s 未到，不能截止；如需提前结束请撤榜。")
                                    % {"t": _fmt_time(locked.bid_deadline)})

    def apply(locked):
        locked.closed_at = now
        return ["closed_at"]

    def after(locked, from_state):
        _void_drafts(locked, actor, _("揭榜已截止，未提交的方案作废。"))
        n = Bid.objects.filter(challenge=locked, bid_round=locked.bid_round, state=B.SUBMITTED).count()
        _notify(_officers(), MessageKind.CHALLENGE_UPDATED, _("揭榜已截止：%(t)s") % {"t": locked.title},
                _("榜单《%(t)s》揭榜已截止，共收到揭榜方案 %(n)d 份。") % {"t": locked.title, "n": n}
                + ("" if n else _("没有揭榜方案，请办理流标。")),
                _officer_link(locked), locked, f"challenge:{locked.pk}:close:r{locked.bid_round}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.all(), pk=challenge_id,
                          name="close", actor=actor, guard=guard, apply=apply, after=after)


def close_due_challenges(now=None) -> list[int]:
    """The sweeper: close every published challenge whose deadline has passed. Idempotent."""
    now = _now(now)
    closed = []
    for pk in Challenge.objects.filter(state=CH.PUBLISHED, bid_deadline__lte=now).values_list("pk", flat=True):
        try:
            close_challenge(actor=None, challenge_id=pk, now=now)
        except TransitionRefused:
            continue  # closed by someone else meanwhile, or extended
        closed.append(pk)
    return closed


def start_review(*, actor: User, challenge_id: int) -> Challenge:
    """开始评审: the submitted bids of this publication go to review (experts, then 答辩 if any)."""
    require_challenge_officer(actor)

    def guard(locked):
        if not Bid.objects.filter(challenge=locked, bid_round=locked.bid_round, state=B.SUBMITTED).exists():
            raise InvalidInput(_("没有已提交的揭榜方案，不能开始评审；请办理流标。"), code="no_bids")

    def after(locked, from_state):
        ids = list(Bid.objects.select_for_update().filter(challenge=locked, bid_round=locked.bid_round,
                                                          state=B.SUBMITTED).order_by("id").values_list("id", flat=True))
        for pk in ids:
            run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.all(), pk=pk, name="review", actor=actor)

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.all(), pk=challenge_id,
                          name="start_review", actor=actor, guard=guard, after=after)


def _total(bid: Bid, challenge: Challenge) -> Decimal | None:
    if bid.review_score is None:
        return None
    if not challenge.has_defence:
        return bid.review_score
    if bid.defence_score is None:
        return None
    w = challenge.defence_weight
    return (bid.review_score * (1 - w) + bid.defence_score * w).quantize(CENT, rounding=ROUND_HALF_UP)


def record_bid_review_scores(*, challenge_id: int, scores: dict[int, tuple[Decimal | None, int]]) -> None:
    """The bid review round closed: each bid's aggregated expert score and how many reviews made it (called by
    the experts app). Only bids still under review take them: a round closing after the award, or after a 流标
    and republication, leaves the decided or voided bids as they were (the round itself keeps its scores)."""
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        bids = list(Bid.objects.select_for_update().filter(challenge=challenge, pk__in=list(scores)).order_by("id"))
        recorded = []
        for bid in bids:
            if not (challenge.state == CH.REVIEWING and bid.bid_round == challenge.bid_round
                    and bid.state == B.REVIEWING):
                continue
            bid.review_score, bid.review_count = scores[bid.pk]
            bid.total_score = _total(bid, challenge)
            bid.save(update_fields=["review_score", "review_count", "total_score", "updated_at"])
            recorded.append(bid.pk)
        data = {str(k): (str(v[0]) if v[0] is not None else None) for k, v in scores.items()}
        ignored = sorted(set(scores) - set(recorded))
        if ignored:
            data["ignored"] = ignored
        record_audit(actor=None, verb="bid_review_scores", target=challenge, data=data)


def record_defence_scores(*, actor: User, challenge_id: int, scores: dict[int, object]) -> Challenge:
    """答辩: the officer records each bid's defence score (0–100) while the challenge is under review."""
    require_challenge_officer(actor)
    parsed = {}
    for pk, raw in scores.items():
        if raw in (None, ""):
            continue
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise InvalidInput(_("答辩得分必须是0到100之间的数。")) from None
        if not value.is_finite() or not 0 <= value <= 100 or value != value.quantize(CENT):
            raise InvalidInput(_("答辩得分必须是0到100之间的数，最多两位小数。"))
        parsed[int(pk)] = value
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        if challenge.state != CH.REVIEWING:
            raise TransitionRefused(_("只有评审中的榜单可以录入答辩成绩。"))
        if not challenge.has_defence:
            raise TransitionRefused(_("该榜单不组织答辩。"))
        bids = {b.pk: b for b in Bid.objects.select_for_update().filter(
            challenge=challenge, bid_round=challenge.bid_round, state=B.REVIEWING, pk__in=list(parsed)).order_by("id")}
        unknown = set(parsed) - set(bids)
        if unknown:
            raise InvalidInput(_("有%(n)d个方案不在本次评审中。") % {"n": len(unknown)})
        for pk, value in parsed.items():
            bid = bids[pk]
            bid.defence_score = value
            bid.total_score = _total(bid, challenge)
            bid.save(update_fields=["defence_score", "total_score", "updated_at"])
        record_audit(actor=actor, verb="defence_scores", target=challenge,
                     data={str(k): str(v) for k, v in parsed.items()})
    return challenge


def _project_number(challenge: Challenge, year: int) -> str:
    # numbers run per programme and year: the programme row is locked, as for ordinary projects
    list(Program.objects.select_for_update().filter(pk=challenge.program_id).values_list("pk", flat=True))
    base = f"{year}-{challenge.program.code.upper()}-J"
    seq = Project.objects.filter(number__startswith=base).count() + 1
    while Project.objects.filter(number=f"{base}{seq:04d}").exists():
        seq += 1
    return f"{base}{seq:04d}"


def fiscal_share(amount: Decimal, challenge: Challenge) -> Decimal:
    """The government's part of a bid's amount, in the challenge's proportion of subsidy to bounty (to the fen;
    the enterprise pays the rest)."""
    if challenge.bounty <= 0:
        return Decimal("0.00")
    with localcontext() as ctx:
        ctx.prec = 60  # amounts up to 10^13 yuan: the product must not be rounded before the division
        return (amount * challenge.subsidy_requested / challenge.bounty).quantize(CENT, rounding=ROUND_HALF_UP)


def fiscal_shares(amounts: dict[int, Decimal], challenge: Challenge) -> dict[int, Decimal]:
    """Each winner's ``fiscal_share`` (bid id → yuan), except that together they never exceed the subsidy: three
    winners at 2/3 of 1,000,000 each would be granted 666,666.67 × 3 = 2,000,000.01; the fen too many come off
    the shares rounded up the most (ties: the later bid)."""
    shares = {pk: fiscal_share(a, challenge) for pk, a in amounts.items()}
    over = int((sum(shares.values(), Decimal(0)) - challenge.subsidy_requested) / CENT)
    if over > 0:
        with localcontext() as ctx:
            ctx.prec = 60
            up = {pk: shares[pk] - a * challenge.subsidy_requested / challenge.bounty for pk, a in amounts.items()}
        for pk in sorted(shares, key=lambda pk: (up[pk], pk), reverse=True)[:over]:
            shares[pk] -= CENT
    return shares


def award_challenge(*, actor: User, challenge_id: int, bid_ids: list[int], opinion: str = "",
                    now=None) -> list[Project]:
    """确认揭榜结果: the poster confirms one winner (or up to ``max_winners`` in 赛马制) among the reviewed bids.
    Each winner becomes a Project with its milestone plan; the other bids are not selected."""
    now = _now(now)
    challenge = Challenge.objects.select_related("organization", "program").get(pk=challenge_id)
    _require(actor, "projects.decide_challenge_obj", challenge, _("只有发榜单位可以确认揭榜结果。"))
    chosen = sorted({int(b) for b in bid_ids})
    created: list[Project] = []
    shares: dict[int, Decimal] = {}

    def guard(locked):
        if not chosen:
            raise InvalidInput(_("请至少选择一个入选方案；没有合适的方案请办理流标。"))
        if len(chosen) > locked.max_winners:
            raise InvalidInput(_("本榜单最多入选%(n)d个团队，您选择了%(m)d个。") % {"n": locked.max_winners, "m": len(chosen)})
        bids = {b.pk: b for b in Bid.objects.filter(challenge=locked, bid_round=locked.bid_round,
                                                    state=B.REVIEWING, pk__in=chosen)}
        if set(bids) != set(chosen):
            raise InvalidInput(_("所选方案不在本次评审中。"))
        problems = []
        for b in bids.values():
            if b.review_score is None:
                problems.append(_("方案%(no)s尚无专家评审结果。") % {"no": b.number})
            elif locked.has_defence and b.defence_score is None:
                problems.append(_("方案%(no)s尚无答辩成绩。") % {"no": b.number})
        total = sum((b.amount for b in bids.values()), Decimal(0))
        if total > locked.bounty:
            problems.append(_("入选方案揭榜金额合计 %(t)s 元，超过悬赏金额 %(b)s 元。") % {"t": total, "b": locked.bounty})
        shares.update(fiscal_shares({b.pk: b.amount for b in bids.values()}, locked))
        for pk, share in sorted(shares.items()):
            if share <= 0:  # a project is granted at least a fen (the database refuses 0.00)
                problems.append(_("方案%(no)s按政府补助比例计算的财政资金不足0.01元，不能立项。") % {"no": bids[pk].number})
        if problems:
            raise InvalidInput(problems, code="award_checks")

    def apply(locked):
        locked.decided_at = now
        locked.last_reason = (opinion or "").strip()
        return ["decided_at", "last_reason"]

    def after(locked, from_state):
        others = list(Bid.objects.select_for_update().filter(challenge=locked, bid_round=locked.bid_round,
                                                             state=B.REVIEWING).order_by("id"))
        year = timezone.localdate(now).year
        for bid in others:
            won = bid.pk in chosen

            def decided(b):
                b.decided_at = now
                return ["decided_at"]

            run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.all(), pk=bid.pk,
                           name="win" if won else "lose", actor=actor, apply=decided)
            if won:
                created.append(_establish_from_bid(locked, bid, actor=actor, now=now, year=year,
                                                   fiscal=shares[bid.pk]))
            _notify(_org_users(bid.organization_id), MessageKind.CHALLENGE_RESULT,
                    (_("揭榜成功：%(t)s") if won else _("揭榜结果：%(t)s")) % {"t": locked.title},
                    (_("您的揭榜方案（%(no)s）已入选，项目已立项。") if won
                     else _("您的揭榜方案（%(no)s）未入选，感谢参与。")) % {"no": bid.number},
                    _bid_link(bid), bid, f"bid:{bid.pk}:decided")
        _notify(_officers(), MessageKind.CHALLENGE_RESULT, _("发榜方已确认揭榜结果：%(t)s") % {"t": locked.title},
                _("榜单《%(t)s》入选%(n)d个团队。") % {"t": locked.title, "n": len(chosen)},
                _officer_link(locked), locked, f"challenge:{locked.pk}:award")

    run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.select_related("program"),
                   pk=challenge_id, name="award", actor=actor, reason=opinion, guard=guard, apply=apply,
                   after=after, data={"winners": chosen})
    return created


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _establish_from_bid(challenge: Challenge, bid: Bid, *, actor, now, year: int, fiscal: Decimal) -> Project:
    milestones = list(bid.milestones.all())
    start = timezone.localdate(now)
    # the last milestone's due date, never before the start (an award decided after the plan's last date)
    end = max([start, *(m.due_date for m in milestones)]) if milestones else _add_months(
        start, challenge.period_months)
    project = Project.objects.create(
        bid=bid, challenge=challenge, organization_id=bid.organization_id, number=_project_number(challenge, year),
        title=challenge.title, leader_name=bid.leader_name, requested_amount=fiscal,
        granted_amount=fiscal, start_date=start, end_date=end, established_at=now,
        established_by=actor if getattr(actor, "is_authenticated", False) else None,
        source=_("揭榜挂帅 %(no)s") % {"no": challenge.number},
    )
    ProjectMilestone.objects.bulk_create([
        ProjectMilestone(project=project, position=i + 1, title=m.title, targets=m.targets, due_date=m.due_date,
                         amount=m.amount)
        for i, m in enumerate(milestones)
    ])
    project_established.send(sender=Project, project=project, actor=actor)
    record_audit(actor=actor, verb="establish", target=project, to_state=project.state,
                 data={"bid": bid.pk, "challenge": challenge.pk, "amount": str(bid.amount),
                       "fiscal": str(project.granted_amount)})
    return project


def fail_challenge(*, actor: User, challenge_id: int, reason: str) -> Challenge:
    """流标: no acceptable bid. The officer, or the poster while the bids are under review, declares it; every
    bid of this publication is voided. The challenge may be republished."""
    challenge = Challenge.objects.select_related("organization").get(pk=challenge_id)
    if not (actor.has_perm("projects.manage_challenges")
            or (challenge.state == CH.REVIEWING and actor.has_perm("projects.decide_challenge_obj", challenge))):
        raise PermissionRefused(_("只有科技局或（评审中的）发榜单位可以办理流标。"))
    return _end_bids("fail", actor=actor, challenge_id=challenge_id, reason=reason,
                     title=_("流标：%(t)s"), body=_("榜单《%(t)s》流标，您的揭榜方案（%(no)s）作废。理由：%(reason)s"))


def cancel_challenge(*, actor: User, challenge_id: int, reason: str) -> Challenge:
    """撤榜: the bureau withdraws a published challenge; every open bid is voided."""
    require_challenge_officer(actor)
    return _end_bids("cancel", actor=actor, challenge_id=challenge_id, reason=reason,
                     title=_("榜单已撤销：%(t)s"), body=_("榜单《%(t)s》已撤销，您的揭榜方案（%(no)s）作废。理由：%(reason)s"))


def _end_bids(name, *, actor, challenge_id, reason, title, body):
    now = timezone.now()

    def apply(locked):
        locked.decided_at = now
        locked.last_reason = reason.strip()
        return ["decided_at", "last_reason"]

    def after(locked, from_state):
        bids = list(Bid.objects.select_for_update().filter(
            challenge=locked, bid_round=locked.bid_round, state__in=[B.DRAFT, B.SUBMITTED, B.REVIEWING]
        ).order_by("id"))
        for bid in bids:
            run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.all(), pk=bid.pk, name="void", actor=actor,
                           reason=reason)
            _notify(_org_users(bid.organization_id), MessageKind.CHALLENGE_RESULT, title % {"t": locked.title},
                    body % {"t": locked.title, "no": bid.number or _("草稿"), "reason": reason.strip()},
                    _bid_link(bid), bid, f"bid:{bid.pk}:{name}")
        _notify(_org_users(locked.organization_id), MessageKind.CHALLENGE_RESULT, title % {"t": locked.title},
                _("榜单《%(t)s》：%(action)s。理由：%(reason)s")
                % {"t": locked.title, "action": CHALLENGE_WORKFLOW.get(name).label, "reason": reason.strip()},
                _poster_link(locked), locked, f"challenge:{locked.pk}:{name}:r{locked.bid_round}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.all(), pk=challenge_id,
                          name=name, actor=actor, reason=reason, apply=apply, after=after)


def republish_challenge(*, actor: User, challenge_id: int, bid_deadline, max_winners=None, defence_weight=None,
                        opinion: str = "", now=None) -> Challenge:
    """重新发榜 after 流标: a new publication (``bid_round`` + 1) with a new deadline; anyone may bid again,
    earlier bidders included."""
    require_challenge_officer(actor)
    now = _now(now)

    def apply(locked):
        fields = _publish_values(locked, program_id=locked.program_id, bid_deadline=bid_deadline,
                                 max_winners=max_winners, defence_weight=defence_weight, opinion=opinion, now=now)
        locked.bid_round += 1
        locked.published_at = now
        locked.closed_at = None
        locked.decided_at = None
        return [*fields, "bid_round", "published_at", "closed_at", "decided_at"]

    def after(locked, from_state):
        _notify(_org_users(locked.organization_id), MessageKind.CHALLENGE_VETTED,
                _("榜单重新发布：%(t)s") % {"t": locked.title},
                _("榜单《%(t)s》已重新发布（第%(r)d轮），揭榜截止时间 %(d)s。")
                % {"t": locked.title, "r": locked.bid_round, "d": _fmt_time(locked.bid_deadline)},
                _poster_link(locked), locked, f"challenge:{locked.pk}:publish:r{locked.bid_round}")

    return run_transition(workflow=CHALLENGE_WORKFLOW, queryset=Challenge.objects.select_related("organization"),
                          pk=challenge_id, name="republish", actor=actor, apply=apply, after=after,
                          data={"bid_deadline": str(bid_deadline)})


# ---- 答疑 ---------------------------------------------------------------------------------------------------


def ask_question(*, actor: User, challenge_id: int, question: str, now=None) -> ChallengeQuestion:
    """A prospective bidder asks a clarification question while the challenge is open for bids."""
    now = _now(now)
    question = (question or "").strip()
    if not actor.has_perm("projects.post_challenge") or actor.organization_id is None:
        raise PermissionRefused(_("请以单位用户身份登录后提问。"))
    if not question:
        raise InvalidInput(_("请填写问题。"))
    if len(question) > 2000:
        raise InvalidInput(_("问题不超过2000字。"))
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        if not challenge.accepts_bids_at(now):
            raise TransitionRefused(_("榜单不在揭榜期内，不能提问。"))
        if challenge.organization_id == actor.organization_id:
            raise PermissionRefused(_("发榜单位不能对自己的榜单提问。"))
        asked = ChallengeQuestion.objects.filter(challenge=challenge, organization_id=actor.organization_id).count()
        if asked >= MAX_QUESTIONS_PER_ORG:
            raise InvalidInput(_("每个单位对同一榜单最多提问%(n)d次。") % {"n": MAX_QUESTIONS_PER_ORG})
        q = ChallengeQuestion.objects.create(challenge=challenge, asked_by=actor,
                                             organization_id=actor.organization_id, question=question)
        record_audit(actor=actor, verb="ask", target=q, to_state=q.state)
        recipients = list(_officers()) + list(_org_users(challenge.organization_id))
        _notify(recipients, MessageKind.CHALLENGE_QUESTION, _("揭榜答疑新问题：%(t)s") % {"t": challenge.title},
                question[:200], reverse("jiebang:detail", args=[challenge.pk]) + "#qa", q,
                f"question:{q.pk}:asked")
    return q


def answer_question(*, actor: User, question_id: int, answer: str, now=None) -> ChallengeQuestion:
    """The officer or the poster answers; the answer is public on the 榜单 (the asker's name is not)."""
    now = _now(now)
    answer = (answer or "").strip()
    if not answer:
        raise InvalidInput(_("请填写答复。"))
    if len(answer) > 5000:
        raise InvalidInput(_("答复不超过5000字。"))
    with transaction.atomic():
        q = ChallengeQuestion.objects.select_for_update(of=("self",)).select_related("challenge__organization").get(
            pk=question_id)
        _require(actor, "projects.answer_question_obj", q.challenge, _("只有科技局或发榜单位可以答复。"))
        if q.state == ChallengeQuestion.State.DISMISSED:
            raise TransitionRefused(_("该问题已不予公开，不能答复。"))
        if q.challenge.state not in Challenge.PUBLIC_STATES:
            raise TransitionRefused(_("榜单未发布，不能答复。"))
        first = q.state == ChallengeQuestion.State.OPEN
        previous = q.answer
        q.answer, q.state, q.answered_by, q.answered_at = answer, ChallengeQuestion.State.ANSWERED, actor, now
        q.save()
        record_audit(actor=actor, verb="answer", target=q, from_state="open" if first else "answered",
                     to_state=q.state, data={"previous": previous} if previous else None)
        _notify([q.asked_by], MessageKind.CHALLENGE_QUESTION,
                _("您的提问已答复：%(t)s") % {"t": q.challenge.title}, answer[:200],
                reverse("jiebang:detail", args=[q.challenge_id]) + "#qa", q,
                f"question:{q.pk}:answered:{now:%Y%m%d%H%M%S%f}")
    return q


def dismiss_question(*, actor: User, question_id: int, reason: str) -> ChallengeQuestion:
    """不予公开: an irrelevant or improper question is kept but not shown publicly."""
    require_challenge_officer(actor)
    if not (reason or "").strip():
        raise InvalidInput(_("请填写不予公开的理由。"))
    with transaction.atomic():
        q = ChallengeQuestion.objects.select_for_update(of=("self",)).get(pk=question_id)
        if q.state != ChallengeQuestion.State.OPEN:
            raise TransitionRefused(_("只有待答复的问题可以不予公开。"))
        q.state = ChallengeQuestion.State.DISMISSED
        q.save(update_fields=["state"])
        record_audit(actor=actor, verb="dismiss", target=q, from_state="open", to_state=q.state, reason=reason)
    return q


# ---- bids (揭榜方案) -----------------------------------------------------------------------------------------


def create_bid(*, actor: User, challenge_id: int, now=None) -> Bid:
    """揭榜: an organisation drafts its bid for a published challenge (one live bid per organisation)."""
    now = _now(now)
    _require(actor, "projects.create_bid", message=_("只有单位的申报用户可以揭榜。"))
    if actor.organization_id is None:
        raise PermissionRefused(_("您的账号未关联单位，不能揭榜。"))
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update(of=("self",)).get(pk=challenge_id)
        if not challenge.accepts_bids_at(now):
            raise TransitionRefused(_("榜单不在揭榜期内。"))
        if challenge.organization_id == actor.organization_id:
            raise PermissionRefused(_("发榜单位不能揭自己发布的榜。"), code="own_challenge")
        existing = Bid.objects.filter(challenge=challenge, bid_round=challenge.bid_round,
                                      organization_id=actor.organization_id).exclude(
            state__in=[B.WITHDRAWN, B.VOID]).first()
        if existing is not None:
            raise InvalidInput(_("贵单位已对该榜单起草或提交了揭榜方案（%(s)s），请在原方案上继续。")
                               % {"s": existing.get_state_display()}, code="duplicate_bid")
        bid = Bid(challenge=challenge, bid_round=challenge.bid_round, organization_id=actor.organization_id,
                  created_by=actor, title=challenge.title, discipline_code=challenge.discipline_code,
                  leader_name=actor.display_name)
        try:
            with transaction.atomic():
                bid.save()
        except IntegrityError:
            raise InvalidInput(_("贵单位已对该榜单起草或提交了揭榜方案。"), code="duplicate_bid") from None
        record_audit(actor=actor, verb="create", target=bid, to_state=bid.state)
    return bid


def _lock_editable_bid(actor, bid_id) -> Bid:
    bid = Bid.objects.select_for_update(of=("self",)).select_related("challenge", "organization").get(pk=bid_id)
    _require(actor, "projects.edit_bid_obj", bid, _("只有揭榜单位的申报用户可以修改该方案。"))
    if bid.state not in Bid.EDITABLE_STATES:
        raise TransitionRefused(_("方案已提交，不能修改；如需修改请先撤回后重新揭榜。"))
    return bid


def update_bid(*, actor: User, bid_id: int, data: dict) -> Bid:
    with transaction.atomic():
        bid = _lock_editable_bid(actor, bid_id)
        changed = []
        for f in BID_FIELDS:
            if f not in data:
                continue
            value = data[f]
            if f == "amount":
                value = _money(value, str(Bid._meta.get_field(f).verbose_name))
            elif f == "leader_id_number":
                value = normalize_id_number(value or "")
            else:
                value = (value or "").strip() if isinstance(value, str) or value is None else value
            setattr(bid, f, value)
            changed.append(f)
        _full_clean(bid, exclude=["challenge", "organization", "created_by", "number"])
        bid.save()
        record_audit(actor=actor, verb="edit", target=bid, data={"fields": changed})
    return bid


def set_bid_partners(*, actor: User, bid_id: int, partners: list[dict]) -> Bid:
    """联合体成员 (the lead is the bidding organisation). Empty: the organisation bids alone."""
    rows, codes = [], set()
    for i, p in enumerate(partners):
        name = (p.get("name") or "").strip()
        code = normalize_credit_code(p.get("credit_code") or "")
        if not name and not code:
            continue
        if not name or not code:
            raise InvalidInput(_("第%(n)d个联合体成员须填写单位名称和统一社会信用代码。") % {"n": i + 1})
        try:
            validate_credit_code(code)
        except ValidationError:
            raise InvalidInput(_("联合体成员“%(name)s”的统一社会信用代码无效。") % {"name": name}) from None
        if code in codes:
            raise InvalidInput(_("联合体成员“%(name)s”重复。") % {"name": name})
        codes.add(code)
        kind = p.get("kind") or Organization.Kind.ENTERPRISE
        if kind not in Organization.Kind.values:
            raise InvalidInput(_("联合体成员“%(name)s”的单位性质无效。") % {"name": name})
        rows.append(BidPartner(position=len(rows), name=name[:200], credit_code=code, kind=kind,
                               role=(p.get("role") or "").strip()[:300]))
    if len(rows) > MAX_PARTNERS:
        raise InvalidInput(_("联合体成员最多%(n)d家。") % {"n": MAX_PARTNERS})
    with transaction.atomic():
        bid = _lock_editable_bid(actor, bid_id)
        if normalize_credit_code(bid.organization.credit_code) in codes:
            raise InvalidInput(_("牵头单位不必列为联合体成员。"))
        _replace_children(bid, "partners", rows)
        record_audit(actor=actor, verb="set_partners", target=bid,
                     data={"partners": [[r.name, r.credit_code, r.role] for r in rows]})
    return bid


def set_bid_members(*, actor: User, bid_id: int, members: list[dict]) -> Bid:
    rows = []
    for i, m in enumerate(members):
        name = (m.get("name") or "").strip()
        if not name:
            if any((m.get(k) or "").strip() for k in ("id_number", "organization_name", "title", "role")):
                raise InvalidInput(_("第%(n)d位团队成员须填写姓名。") % {"n": i + 1})
            continue
        rows.append(BidMember(position=len(rows), name=name[:50],
                              id_number=normalize_id_number(m.get("id_number") or "")[:30],
                              organization_name=(m.get("organization_name") or "").strip()[:200],
                              title=(m.get("title") or "").strip()[:50], role=(m.get("role") or "").strip()[:200]))
    if len(rows) > MAX_MEMBERS:
        raise InvalidInput(_("团队成员最多%(n)d人。") % {"n": MAX_MEMBERS})
    with transaction.atomic():
        bid = _lock_editable_bid(actor, bid_id)
        _replace_children(bid, "members", rows)
        record_audit(actor=actor, verb="set_members", target=bid, data={"members": [r.name for r in rows]})
    return bid


def set_bid_milestones(*, actor: User, bid_id: int, milestones: list[dict]) -> Bid:
    """The milestone plan: each milestone's targets, due date and share of the amount asked."""
    rows = []
    for i, m in enumerate(milestones):
        title = (m.get("title") or "").strip()
        targets = (m.get("targets") or "").strip()
        if not title and not targets and not m.get("due_date") and m.get("amount") in (None, ""):
            continue
        label = _("第%(n)d个里程碑") % {"n": i + 1}
        if not title or not targets:
            raise InvalidInput(_("%(f)s须填写名称和考核指标。") % {"f": label})
        due = parse_date(m.get("due_date"), label)
        amount = _money(m.get("amount"), _("%(f)s的金额") % {"f": label})
        if amount <= 0:
            raise InvalidInput(_("%(f)s的金额必须大于0。") % {"f": label})
        rows.append(BidMilestone(position=len(rows), title=title[:200], targets=targets, due_date=due, amount=amount))
    if len(rows) > MAX_MILESTONES:
        raise InvalidInput(_("里程碑最多%(n)d个。") % {"n": MAX_MILESTONES})
    with transaction.atomic():
        bid = _lock_editable_bid(actor, bid_id)
        _replace_children(bid, "milestones", rows)
        record_audit(actor=actor, verb="set_milestones", target=bid,
                     data={"milestones": [[r.title, r.due_date.isoformat(), str(r.amount)] for r in rows]})
    return bid


def bid_problems(bid: Bid, now=None) -> list[str]:
    """Every reason the bid may not be submitted now. Empty = OK. The same organisation and credit checks as an
    ordinary application, for the lead, every registered consortium member and the team."""
    now = _now(now)
    today = timezone.localdate(now)
    challenge = bid.challenge
    org = bid.organization
    problems = []
    if not challenge.accepts_bids_at(now):
        if challenge.state == CH.PUBLISHED:
            problems.append(_("揭榜已截止：截止时间为 %(t)s。") % {"t": _fmt_time(challenge.bid_deadline)})
        else:
            problems.append(_("榜单不在揭榜期内（当前状态：%(s)s）。") % {"s": challenge.get_state_display()})
    if bid.bid_round != challenge.bid_round:
        problems.append(_("该方案属于榜单的上一轮发布，请重新揭榜。"))
    if not org.is_verified:
        problems.append(_("揭榜单位尚未通过科技局认证（当前状态：%(s)s），不能提交。") % {"s": org.get_state_display()})
    partners = list(bid.partners.all())
    codes = [normalize_credit_code(p.credit_code) for p in partners]
    poster_code = normalize_credit_code(challenge.organization.credit_code)
    if org.pk == challenge.organization_id or poster_code in codes:
        problems.append(_("发榜单位不能揭自己发布的榜，也不能作为联合体成员。"))
    registered = list(Organization.objects.filter(credit_code__in=codes)) if codes else []
    members = list(bid.members.all())
    people = {bid.leader_id_number: bid.leader_name} if bid.leader_id_number else {}
    people.update({m.id_number: m.name for m in members if m.id_number})
    problems += _credit_problems(today=today, organizations=[org, *registered], people=people)
    missing = [str(Bid._meta.get_field(f).verbose_name)
               for f in ("title", "plan", "leader_name", "leader_phone") if not getattr(bid, f)]
    if missing:
        problems.append(_("以下必填项尚未填写：%(f)s。") % {"f": "、".join(missing)})
    if bid.amount <= 0:
        problems.append(_("请填写揭榜金额。"))
    elif bid.amount > challenge.bounty:
        problems.append(_("揭榜金额 %(a)s 元超过悬赏金额 %(b)s 元。") % {"a": bid.amount, "b": challenge.bounty})
    milestones = list(bid.milestones.all())
    if not milestones:
        problems.append(_("请至少填写一个里程碑。"))
    else:
        total = sum((m.amount for m in milestones), Decimal(0))
        if total != bid.amount:
            problems.append(_("各里程碑金额合计 %(t)s 元，须等于揭榜金额 %(a)s 元。") % {"t": total, "a": bid.amount})
        dates = [m.due_date for m in milestones]
        if dates != sorted(dates):
            problems.append(_("里程碑须按完成时间先后排列。"))
        start = timezone.localdate(challenge.bid_deadline) if challenge.bid_deadline else today
        if dates[0] <= start:
            problems.append(_("第一个里程碑的完成时间须晚于揭榜截止日。"))
        limit = _add_months(start, challenge.period_months + 6)
        if dates[-1] > limit:
            problems.append(_("最后一个里程碑（%(d)s）超出榜单攻关周期 %(m)d 个月（最迟 %(limit)s）。")
                            % {"d": dates[-1].isoformat(), "m": challenge.period_months, "limit": limit.isoformat()})
    # 多头揭榜: one person leads at most one live bid on the same challenge
    if bid.leader_id_number:
        clash = Bid.objects.filter(challenge=challenge, bid_round=bid.bid_round, leader_id_number=bid.leader_id_number,
                                   state__in=[B.SUBMITTED, B.REVIEWING]).exclude(pk=bid.pk).exists()
        if clash:
            problems.append(_("团队负责人 %(n)s 已负责该榜单的另一份揭榜方案。") % {"n": bid.leader_name})
    return problems


def submit_bid(*, actor: User, bid_id: int, accept_commitment: bool = False, now=None) -> Bid:
    """提交揭榜方案 with the team's 军令状 (commitment to the targets and to the milestone checks)."""
    now = _now(now)
    bid = Bid.objects.select_related("organization", "challenge").get(pk=bid_id)
    _require(actor, "projects.edit_bid_obj", bid, _("只有揭榜单位的申报用户可以提交该方案。"))
    with transaction.atomic():
        # lock order: challenge, then bid (a close or a deadline extension waits, and so does the number)
        Challenge.objects.select_for_update(of=("self",)).get(pk=bid.challenge_id)

        def guard(locked):
            problems = bid_problems(locked, now)
            if not accept_commitment:
                problems.append(_("请阅读并签署揭榜军令状。"))
            if problems:
                raise InvalidInput(problems, code="submit_checks")

        def apply(locked):
            locked.submitted_at = now
            locked.commitment_accepted_at = now
            fields = ["submitted_at", "commitment_accepted_at"]
            if not locked.number:
                base = f"{locked.challenge.number}-B"
                seq = Bid.objects.filter(number__startswith=base).count() + 1
                while Bid.objects.filter(number=f"{base}{seq:02d}").exists():
                    seq += 1
                locked.number = f"{base}{seq:02d}"
                fields.append("number")
            return fields

        return run_transition(
            workflow=BID_WORKFLOW,
            queryset=Bid.objects.select_related("organization", "challenge__organization"),
            pk=bid_id, name="submit", actor=actor, guard=guard, apply=apply,
        )


def withdraw_bid(*, actor: User, bid_id: int, reason: str = "", now=None) -> Bid:
    now = _now(now)
    bid = Bid.objects.select_related("organization", "challenge").get(pk=bid_id)
    _require(actor, "projects.edit_bid_obj", bid, _("只有揭榜单位的申报用户可以撤回该方案。"))

    def guard(locked):
        if locked.state == B.SUBMITTED and not locked.challenge.accepts_bids_at(now):
            raise TransitionRefused(_("揭榜已截止，已提交的方案不能撤回。"))

    return run_transition(workflow=BID_WORKFLOW, queryset=Bid.objects.select_related("challenge"), pk=bid_id,
                          name="withdraw", actor=actor, reason=reason, guard=guard)


# ---- the winners' projects: milestone checks, 赛马制, final acceptance ---------------------------------------


def _challenge_project(project_id, *, lock=True) -> Project:
    qs = Project.objects.select_related("challenge__organization", "organization", "bid")
    if lock:
        qs = qs.select_for_update(of=("self",))
    project = qs.get(pk=project_id)
    if project.challenge_id is None:
        raise InvalidInput(_("该项目不是揭榜挂帅项目。"))
    return project


def report_milestone(*, actor: User, milestone_id: int, report: str, now=None) -> ProjectMilestone:
    """The team reports a milestone (in order: the earlier ones must have passed)."""
    now = _now(now)
    report = (report or "").strip()
    if not report:
        raise InvalidInput(_("请填写里程碑进展报告。"))
    milestone = ProjectMilestone.objects.select_related("project__organization", "project__challenge").get(
        pk=milestone_id)
    _require(actor, "projects.report_project_obj", milestone.project, _("只有项目承担单位可以提交里程碑报告。"))
    with transaction.atomic():
        project = _challenge_project(milestone.project_id)
        if project.state != P.ESTABLISHED:
            raise TransitionRefused(_("项目当前状态为“%(s)s”，不能再提交里程碑报告。") % {"s": project.get_state_display()})

        def guard(locked):
            earlier = ProjectMilestone.objects.filter(project=project, position__lt=locked.position).exclude(
                state=M.PASSED)
            if earlier.exists():
                raise TransitionRefused(_("请按顺序考核：之前的里程碑尚未通过考核。"))

        def apply(locked):
            locked.report, locked.reported_at, locked.reported_by = report, now, actor
            return ["report", "reported_at", "reported_by"]

        def after(locked, from_state):
            title = _("里程碑待考核：%(p)s") % {"p": project.number}
            body = (_("项目《%(t)s》（%(org)s）提交了第%(n)d个里程碑“%(m)s”的进展报告，请考核。")
                    % {"t": project.title, "org": project.organization.name, "n": locked.position, "m": locked.title})
            key = f"milestone:{locked.pk}:reported:{now:%Y%m%d%H%M%S}"
            # each reader gets the page it can open: the bureau's project page, the poster's portal page
            _notify(_officers(), MessageKind.MILESTONE_REPORTED, title, body, _office_project_link(project), locked,
                    key)
            _notify(_org_users(project.challenge.organization_id), MessageKind.MILESTONE_REPORTED, title, body,
                    _project_link(project), locked, key)

        return run_transition(workflow=MILESTONE_WORKFLOW, queryset=ProjectMilestone.objects.all(), pk=milestone_id,
                              name="report", actor=actor, guard=guard, apply=apply, after=after)


def judge_milestone(*, actor: User, milestone_id: int, verdict: str, opinion: str, now=None) -> ProjectMilestone:
    """The poster's opinion of a reported milestone (同意通过 / 不同意通过, with its reasons)."""
    now = _now(now)
    opinion = (opinion or "").strip()
    if verdict not in ProjectMilestone.Verdict.values:
        raise InvalidInput(_("请选择同意或不同意通过。"))
    if not opinion:
        raise InvalidInput(_("请填写发榜方评价。"))
    milestone = ProjectMilestone.objects.select_related("project__challenge__organization").get(pk=milestone_id)
    _require(actor, "projects.judge_project_obj", milestone.project, _("只有发榜单位可以评价里程碑。"))
    with transaction.atomic():
        locked = ProjectMilestone.objects.select_for_update(of=("self",)).get(pk=milestone_id)
        if locked.state != M.REPORTED:
            raise TransitionRefused(_("该里程碑当前为“%(s)s”，不能评价。") % {"s": locked.get_state_display()})
        locked.poster_verdict, locked.poster_opinion, locked.poster_by, locked.poster_at = verdict, opinion, actor, now
        locked.save(update_fields=["poster_verdict", "poster_opinion", "poster_by", "poster_at"])
        record_audit(actor=actor, verb="poster_judge", target=locked, reason=opinion, data={"verdict": verdict})
    return locked


def record_milestone_expert_scores(*, scores: dict[int, tuple[Decimal | None, int]]) -> None:
    """A milestone expert round closed (called by the experts app). Only milestones still awaiting their
    conclusion take the score: a cancelled milestone (its team stopped) or one already concluded is left as it
    was (the round itself keeps its scores)."""
    with transaction.atomic():
        for m in ProjectMilestone.objects.select_for_update().filter(pk__in=list(scores)).order_by("id"):
            if m.state != M.REPORTED:
                continue
            m.expert_score, m.expert_review_count = scores[m.pk]
            m.save(update_fields=["expert_score", "expert_review_count"])
            record_audit(actor=None, verb="expert_score", target=m,
                         data={"score": str(m.expert_score) if m.expert_score is not None else None})


def conclude_milestone(*, actor: User, milestone_id: int, passed: bool, conclusion: str = "",
                       now=None) -> ProjectMilestone:
    """里程碑考核结论 by the bureau, once the poster has given its opinion."""
    require_challenge_officer(actor)
    now = _now(now)
    conclusion = (conclusion or "").strip()
    milestone = ProjectMilestone.objects.select_related("project").get(pk=milestone_id)
    with transaction.atomic():
        project = _challenge_project(milestone.project_id)
        if project.state != P.ESTABLISHED:
            raise TransitionRefused(_("项目当前状态为“%(s)s”，不能办理。") % {"s": project.get_state_display()})

        def guard(locked):
            if not locked.poster_verdict:
                raise InvalidInput(_("发榜方尚未评价该里程碑。"))

        def apply(locked):
            locked.conclusion, locked.concluded_by, locked.concluded_at = conclusion, actor, now
            return ["conclusion", "concluded_by", "concluded_at"]

        def after(locked, from_state):
            if locked.state == M.PASSED:
                checkpoint_passed.send(sender=Project, project=project, checkpoint=f"milestone:{locked.position}",
                                       actor=actor)
            _notify(_org_users(project.organization_id), MessageKind.MILESTONE_CONCLUDED,
                    _("里程碑考核结果：%(p)s") % {"p": project.number},
                    _("项目《%(t)s》第%(n)d个里程碑“%(m)s”考核%(r)s。%(c)s")
                    % {"t": project.title, "n": locked.position, "m": locked.title,
                       "r": locked.get_state_display(), "c": conclusion},
                    _project_link(project), locked, f"milestone:{locked.pk}:concluded")

        return run_transition(workflow=MILESTONE_WORKFLOW, queryset=ProjectMilestone.objects.all(), pk=milestone_id,
                              name="pass" if passed else "fail", actor=actor, reason=conclusion, guard=guard,
                              apply=apply, after=after)


def stop_project(*, actor: User, project_id: int, milestone_id: int, reason: str, now=None) -> Project:
    """终止 at a concluded milestone check. A team whose milestone failed is stopped, whether it races or not (a
    failed milestone is otherwise a dead end: the next one cannot be reported). In 赛马制 the bureau may also stop a
    team that passed but fell behind the others (淘汰); the last team running is never eliminated that way."""
    require_challenge_officer(actor)
    now = _now(now)
    with transaction.atomic():
        # lock order: challenge, then its projects (by id), then milestones
        project = Project.objects.select_related("challenge").get(pk=project_id)
        if project.challenge_id is None:
            raise InvalidInput(_("该项目不是揭榜挂帅项目。"))
        Challenge.objects.select_for_update(of=("self",)).get(pk=project.challenge_id)
        running = list(Project.objects.select_for_update().filter(challenge_id=project.challenge_id,
                                                                   state=P.ESTABLISHED).order_by("id"))

        def guard(locked):
            if ChallengeAcceptance.objects.filter(project=locked).exists():
                raise TransitionRefused(_("该团队已申请验收，不能淘汰；请按验收结论办理。"))
            at = ProjectMilestone.objects.filter(pk=milestone_id, project=locked).first()
            if at is None or at.state not in (M.PASSED, M.FAILED):
                raise InvalidInput(_("请在该团队的某个里程碑考核结束后再决定是否终止。"))
            if at.state == M.PASSED:
                if not locked.challenge.is_race:
                    raise TransitionRefused(_("该里程碑已通过考核；只有赛马制榜单可以淘汰通过考核但落后的团队。"))
                if not any(p.pk != locked.pk for p in running):
                    raise TransitionRefused(_("这是最后一个在研团队，不能淘汰。"))

        def apply(locked):
            locked.ended_at, locked.end_reason = now, reason.strip()
            return ["ended_at", "end_reason"]

        def after(locked, from_state):
            cancel_open_milestones(locked, actor=actor, reason=reason)
            project_terminated.send(sender=Project, project=locked, actor=actor, reason=reason.strip(), fault=False,
                                    recover=False, spent_fiscal=None, outcome="stopped")
            _notify(_org_users(locked.organization_id), MessageKind.PROJECT_STOPPED,
                    _("项目终止：%(p)s") % {"p": locked.number},
                    _("项目《%(t)s》在赛马制里程碑考核中未能继续，已终止。理由：%(r)s") % {"t": locked.title, "r": reason.strip()},
                    _project_link(locked), locked, f"project:{locked.pk}:stopped")

        return run_transition(workflow=PROJECT_WORKFLOW, queryset=Project.objects.select_related("challenge"),
                              pk=project_id, name="stop", actor=actor, reason=reason, guard=guard, apply=apply,
                              after=after, data={"milestone": milestone_id})


def apply_acceptance(*, actor: User, project_id: int, report: str, results: dict[int, dict],
                     now=None) -> ChallengeAcceptance:
    """验收申请 of a challenge project: every milestone passed, each target's achieved value and its evidence."""
    now = _now(now)
    report = (report or "").strip()
    project = _challenge_project(project_id, lock=False)
    _require(actor, "projects.report_project_obj", project, _("只有项目承担单位可以申请验收。"))
    if not report:
        raise InvalidInput(_("请填写总结报告。"))
    with transaction.atomic():
        project = _challenge_project(project_id)
        if project.state != P.ESTABLISHED:
            raise TransitionRefused(_("项目当前状态为“%(s)s”，不能申请验收。") % {"s": project.get_state_display()})
        if ChallengeAcceptance.objects.filter(project=project).exists():
            raise TransitionRefused(_("该项目已申请验收。"))
        if project.milestones.exclude(state=M.PASSED).exists():
            raise TransitionRefused(_("全部里程碑考核通过后才能申请验收。"))
        rows, missing = [], []
        for t in project.challenge.targets.all():
            r = results.get(t.pk) or results.get(str(t.pk)) or {}
            achieved = (r.get("achieved") or "").strip()
            if not achieved:
                missing.append(t.name)
            rows.append({"target_id": t.pk, "name": t.name, "target_value": t.target_value, "unit": t.unit,
                         "verification": t.verification, "achieved": achieved[:200],
                         "evidence": (r.get("evidence") or "").strip()[:1000], "met": None})
        if missing:
            raise InvalidInput(_("请填写以下指标的完成值：%(f)s。") % {"f": "、".join(missing)})
        acc = ChallengeAcceptance.objects.create(project=project, report=report, results=rows, applied_by=actor,
                                                 applied_at=now)
        record_audit(actor=actor, verb="apply", target=acc, to_state=acc.state)
        title = _("揭榜项目申请验收：%(p)s") % {"p": project.number}
        body = (_("项目《%(t)s》（%(org)s）申请验收，请发榜方逐项评价技术指标。")
                % {"t": project.title, "org": project.organization.name})
        _notify(_officers(), MessageKind.CHALLENGE_ACCEPTANCE, title, body, _office_project_link(project), acc,
                f"acceptance:{acc.pk}:applied")
        _notify(_org_users(project.challenge.organization_id), MessageKind.CHALLENGE_ACCEPTANCE, title, body,
                _project_link(project), acc, f"acceptance:{acc.pk}:applied")
    return acc


def judge_acceptance(*, actor: User, project_id: int, met: dict, opinion: str) -> ChallengeAcceptance:
    """The poster judges each target: met or not, with its overall opinion."""
    opinion = (opinion or "").strip()
    project = _challenge_project(project_id, lock=False)
    _require(actor, "projects.judge_project_obj", project, _("只有发榜单位可以评价验收指标。"))
    if not opinion:
        raise InvalidInput(_("请填写发榜方意见。"))
    acc = ChallengeAcceptance.objects.filter(project=project).first()
    if acc is None:
        raise TransitionRefused(_("该项目尚未申请验收。"))

    def guard(locked):
        unanswered = [r["name"] for r in locked.results
                      if met.get(r["target_id"], met.get(str(r["target_id"]))) not in (True, False)]
        if unanswered:
            raise InvalidInput(_("请逐项判断指标是否达到：%(f)s。") % {"f": "、".join(unanswered)})

    def apply(locked):
        locked.results = [{**r, "met": bool(met.get(r["target_id"], met.get(str(r["target_id"]))))}
                          for r in locked.results]
        locked.poster_opinion, locked.poster_by, locked.poster_at = opinion, actor, timezone.now()
        return ["results", "poster_opinion", "poster_by", "poster_at"]

    return run_transition(workflow=ACCEPTANCE_WORKFLOW, queryset=ChallengeAcceptance.objects.all(), pk=acc.pk,
                          name="judge", actor=actor, guard=guard, apply=apply)


def conclude_acceptance(*, actor: User, project_id: int, passed: bool, conclusion: str = "",
                        now=None) -> ChallengeAcceptance:
    """The bureau concludes the acceptance with the poster's judgement before it; the project ends."""
    require_challenge_officer(actor)
    now = _now(now)
    conclusion = (conclusion or "").strip()
    acc = ChallengeAcceptance.objects.filter(project_id=project_id).first()
    if acc is None:
        raise TransitionRefused(_("该项目尚未申请验收。"))
    with transaction.atomic():
        def apply(locked):
            locked.conclusion, locked.concluded_by, locked.concluded_at = conclusion, actor, now
            return ["conclusion", "concluded_by", "concluded_at"]

        result = run_transition(workflow=ACCEPTANCE_WORKFLOW, queryset=ChallengeAcceptance.objects.all(), pk=acc.pk,
                                name="pass" if passed else "fail", actor=actor, reason=conclusion, apply=apply)

        def end(locked):
            locked.ended_at, locked.end_reason = now, conclusion
            return ["ended_at", "end_reason"]

        project = run_transition(workflow=PROJECT_WORKFLOW, queryset=Project.objects.all(), pk=project_id,
                                 name="complete" if passed else "fail_acceptance", actor=actor, reason=conclusion,
                                 apply=end)
        if passed:
            checkpoint_passed.send(sender=Project, project=project, checkpoint="acceptance", actor=actor)
        _notify(_org_users(project.organization_id), MessageKind.CHALLENGE_ACCEPTANCE,
                _("揭榜项目验收结果：%(p)s") % {"p": project.number},
                _("项目《%(t)s》%(r)s。%(c)s") % {"t": project.title, "r": result.get_state_display(), "c": conclusion},
                _project_link(project), result, f"acceptance:{result.pk}:concluded")
    return result


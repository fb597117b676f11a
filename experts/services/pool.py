"""The expert pool: registration, approval, status changes, declared relations and unavailable dates."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.models import Organization
from accounts.roles import Role
from accounts.selectors import users_with_role
from accounts.validators import normalize_credit_code, normalize_id_number, validate_credit_code
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify

from ..models import Assignment, DeclaredRelation, Expert, Unavailability
from .reviews import cancel_invitation

S = Expert.Status
#: roles that run reviews and may therefore not be experts themselves
BUREAU_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.FINANCE)

EXPERT_WORKFLOW = Workflow(
    "experts.Expert",
    S,
    [
        T("approve", [S.PENDING], S.ACTIVE, gettext_lazy("审核入库")),
        T("reject", [S.PENDING], S.REJECTED, gettext_lazy("不予入库"), needs_reason=True),
        T("suspend", [S.ACTIVE], S.SUSPENDED, gettext_lazy("暂停评审资格"), needs_reason=True),
        T("reinstate", [S.SUSPENDED], S.ACTIVE, gettext_lazy("恢复")),
        T("retire", [S.ACTIVE, S.SUSPENDED], S.RETIRED, gettext_lazy("退出专家库"), needs_reason=True),
    ],
    state_field="status",
)

PROFILE_FIELDS = ("name", "id_number", "workplace", "workplace_credit_code", "title", "title_level",
                  "discipline_codes", "keywords", "region", "phone", "annual_cap")


def _require_pool(actor) -> None:
    if actor is None or not actor.has_perm("experts.manage_pool"):
        raise PermissionRefused(_("只有科技局业务人员可以管理专家库。"))


def clean_discipline_codes(value) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace("，", ",").replace("；", ",").replace(";", ",").replace(" ", ",").split(",")]
    codes = []
    for raw in value or ():
        code = str(raw).strip()
        if not code:
            continue
        if not (code[:3].isdigit() and all(ch.isdigit() or ch == "." for ch in code) and len(code) <= 20):
            raise InvalidInput(_("学科代码“%(code)s”格式不正确，应为 GB/T 13745 代码，如 520 或 520.20。") % {"code": code})
        if code not in codes:
            codes.append(code)
    if not codes:
        raise InvalidInput(_("请至少填写一个学科代码。"))
    return codes


def _apply_profile(expert: Expert, data: dict) -> None:
    for f in PROFILE_FIELDS:
        if f in data:
            setattr(expert, f, data[f])
    expert.name = " ".join((expert.name or "").split())
    expert.id_number = normalize_id_number(expert.id_number)
    expert.discipline_codes = clean_discipline_codes(expert.discipline_codes)
    if expert.workplace_credit_code:
        code = normalize_credit_code(expert.workplace_credit_code)
        try:
            validate_credit_code(code)
        except ValidationError as e:
            raise InvalidInput(e.messages) from None
        expert.workplace_credit_code = code
        expert.organization = Organization.objects.filter(credit_code=code).first()
    else:
        expert.organization = None  # a cleared credit code must not leave a stale same-organisation link
    try:
        expert.full_clean(exclude=["user", "organization"])
    except ValidationError as e:
        raise InvalidInput([m for msgs in e.message_dict.values() for m in msgs]) from None


def register_expert(*, user, data: dict) -> Expert:
    """A user registers as an expert; an officer approves before they can be drawn."""
    if Expert.objects.filter(user=user).exists():
        raise InvalidInput(_("您已登记为专家，无需重复登记。"))
    if user.is_superuser or any(user.has_role(r) for r in BUREAU_ROLES):
        # they run the reviews, see rankings and other experts' scores: they may not also review
        raise PermissionRefused(_("科技局工作人员不能登记为评审专家。"), code="bureau_staff")
    expert = Expert(user=user, status=S.PENDING)
    # before _apply_profile, whose full_clean would say so only in Django's generic words
    if Expert.objects.filter(id_number=normalize_id_number(data.get("id_number") or "")).exists():
        raise InvalidInput(_("该证件号码已登记为专家。"), code="duplicate_id")
    _apply_profile(expert, data)
    if Expert.objects.filter(id_number=expert.id_number).exists():
        raise InvalidInput(_("该证件号码已登记为专家。"), code="duplicate_id")
    with transaction.atomic():
        try:
            expert.save()
        except IntegrityError:
            raise InvalidInput(_("该证件号码已登记为专家。"), code="duplicate_id") from None
        record_audit(actor=user, verb="register", target=expert, to_state=expert.status)
        notify(users_with_role(Role.OFFICER), kind=MessageKind.EXPERT_REGISTERED,
               title=_("专家入库申请：%(name)s") % {"name": expert.name},
               body=_("%(name)s（%(org)s，%(title)s）申请加入专家库，请审核。") % {
                   "name": expert.name, "org": expert.workplace, "title": expert.title},
               link=reverse("experts:pool"), target=expert, dedupe_key=f"expert:{expert.pk}:registered")
    return expert


def update_expert_profile(*, actor, expert_id: int, data: dict) -> Expert:
    """The expert updates their own profile, or an officer does; the ID number is fixed once registered."""
    with transaction.atomic():
        expert = Expert.objects.select_for_update(of=("self",)).get(pk=expert_id)
        if not (expert.user_id == actor.pk or actor.has_perm("experts.manage_pool")):
            raise PermissionRefused(_("只能修改本人的专家信息。"))
        data = {k: v for k, v in data.items() if k != "id_number"}
        if expert.user_id == actor.pk and not actor.has_perm("experts.manage_pool"):
            data.pop("annual_cap", None)
        _apply_profile(expert, data)
        expert.save()
        record_audit(actor=actor, verb="update_profile", target=expert)
    return expert


def _status_transition(name, *, actor, expert_id, reason=""):
    _require_pool(actor)
    if Expert.objects.filter(pk=expert_id, user=actor).exists():
        raise PermissionRefused(_("不能审核或变更本人的专家资格。"), code="own_expert")

    def apply(expert):
        expert.status_reason = reason.strip()
        fields = ["status_reason"]
        if name == "approve" and expert.approved_at is None:
            expert.approved_at = timezone.now()
            fields.append("approved_at")
        return fields

    def after(expert, from_state):
        if expert.status == S.ACTIVE:
            expert.user.groups.add(Group.objects.get_or_create(name=Role.EXPERT.value)[0])
        cancelled = _cancel_open_invitations(expert, actor, reason) if name in ("suspend", "retire") else []
        if cancelled:
            said = reason.strip().rstrip("。")
            reason_text = (said + "。" if said else "") + _("您尚未答复的%(n)d项评审邀请已取消。") % {"n": len(cancelled)}
        else:
            reason_text = reason
        notify([expert.user], kind=MessageKind.EXPERT_APPROVED if name in ("approve", "reject")
               else MessageKind.EXPERT_STATUS_CHANGED,
               title=_("专家库：%(action)s") % {"action": EXPERT_WORKFLOW.get(name).label},
               body=_("您的专家状态已变更为“%(state)s”。%(reason)s") % {
                   "state": expert.get_status_display(), "reason": reason_text},
               link=reverse("experts:profile"), target=expert,
               dedupe_key=f"expert:{expert.pk}:{name}:{timezone.now().timestamp():.6f}")

    return run_transition(workflow=EXPERT_WORKFLOW, queryset=Expert.objects.select_related("user"), pk=expert_id,
                          name=name, actor=actor, reason=reason, apply=apply, after=after)


def _cancel_open_invitations(expert: Expert, actor, reason: str) -> list[int]:
    """A suspended or retired expert's unanswered invitations are cancelled (and replaced after commit), in id
    order; reviews already accepted stay theirs to finish, submitted ones stand."""
    why = _("专家%(action)s：%(reason)s") % {"action": expert.get_status_display(), "reason": reason.strip()}
    done = []
    for pk in Assignment.objects.filter(expert=expert, state=Assignment.State.INVITED).order_by("id").values_list(
        "id", flat=True
    ):
        try:
            cancel_invitation(actor=actor, assignment_id=pk, reason=why)
        except TransitionRefused:
            continue  # answered meanwhile
        done.append(pk)
    return done


def approve_expert(*, actor, expert_id: int, reason: str = "") -> Expert:
    return _status_transition("approve", actor=actor, expert_id=expert_id, reason=reason)


def reject_expert(*, actor, expert_id: int, reason: str) -> Expert:
    return _status_transition("reject", actor=actor, expert_id=expert_id, reason=reason)


def suspend_expert(*, actor, expert_id: int, reason: str) -> Expert:
    """暂停: the expert is no longer drawn, unanswered invitations are cancelled and replaced; reviews already
    accepted stay theirs to finish."""
    return _status_transition("suspend", actor=actor, expert_id=expert_id, reason=reason)


def reinstate_expert(*, actor, expert_id: int, reason: str = "") -> Expert:
    return _status_transition("reinstate", actor=actor, expert_id=expert_id, reason=reason)


def retire_expert(*, actor, expert_id: int, reason: str) -> Expert:
    return _status_transition("retire", actor=actor, expert_id=expert_id, reason=reason)


def _own_or_officer(actor, expert: Expert) -> None:
    if not (expert.user_id == actor.pk or actor.has_perm("experts.manage_pool")):
        raise PermissionRefused(_("只能修改本人的专家信息。"))


def add_unavailability(*, actor, expert_id: int, start_date: datetime.date, end_date: datetime.date,
                       reason: str = "") -> Unavailability:
    expert = Expert.objects.get(pk=expert_id)
    _own_or_officer(actor, expert)
    if end_date < start_date:
        raise InvalidInput(_("结束日期不能早于开始日期。"))
    obj = Unavailability.objects.create(expert=expert, start_date=start_date, end_date=end_date,
                                        reason=(reason or "").strip()[:200])
    record_audit(actor=actor, verb="add_unavailability", target=expert,
                 data={"start": str(start_date), "end": str(end_date)})
    return obj


def remove_unavailability(*, actor, unavailability_id: int) -> None:
    obj = Unavailability.objects.select_related("expert").get(pk=unavailability_id)
    _own_or_officer(actor, obj.expert)
    record_audit(actor=actor, verb="remove_unavailability", target=obj.expert,
                 data={"start": str(obj.start_date), "end": str(obj.end_date)})
    obj.delete()


def declare_relation(*, actor, expert_id: int, data: dict) -> DeclaredRelation:
    """申报利益关系: an organisation (name or credit code) or a person (name, ID number if known)."""
    expert = Expert.objects.get(pk=expert_id)
    _own_or_officer(actor, expert)
    rel = DeclaredRelation(
        expert=expert,
        kind=data.get("kind") or "",
        organization_name=" ".join((data.get("organization_name") or "").split()),
        credit_code=normalize_credit_code(data.get("credit_code") or ""),
        person_name=" ".join((data.get("person_name") or "").split()),
        person_id_number=normalize_id_number(data.get("person_id_number") or ""),
        relation=(data.get("relation") or "").strip(),
    )
    if rel.credit_code:
        try:
            validate_credit_code(rel.credit_code)
        except ValidationError as e:
            raise InvalidInput(e.messages) from None
    try:
        rel.full_clean(exclude=["expert"])
    except ValidationError as e:
        raise InvalidInput([m for msgs in e.message_dict.values() for m in msgs]) from None
    rel.save()
    record_audit(actor=actor, verb="declare_relation", target=expert, data={"relation": rel.pk, "kind": rel.kind})
    return rel


def withdraw_relation(*, actor, relation_id: int) -> None:
    rel = DeclaredRelation.objects.select_related("expert").get(pk=relation_id)
    _own_or_officer(actor, rel.expert)
    record_audit(actor=actor, verb="withdraw_relation", target=rel.expert, data={"relation": str(rel)})
    rel.delete()

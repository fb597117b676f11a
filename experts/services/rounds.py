"""Review rounds: set up (rubric, items, panels), start, close."""

from __future__ import annotations

import datetime
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, TransitionRefused
from accounts.models import User
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify_each
from projects.models import Call, Challenge

from ..models import Assignment, Criterion, Panel, ReviewItem, ReviewRound
from ..selectors import item_scores
from ..subjects import adapter_for
from .assign import discipline_root, require_bureau

R = ReviewRound.State
AS = Assignment.State

ROUND_WORKFLOW = Workflow(
    "experts.ReviewRound",
    R,
    [
        T("start", [R.DRAFT], R.REVIEWING, gettext_lazy("开始评审")),
        T("close", [R.REVIEWING], R.CLOSED, gettext_lazy("结束评审")),
    ],
)

ROUND_FIELDS = ("name", "experts_per_item", "response_deadline", "review_deadline", "blind", "aggregation",
                "dispersion_threshold", "deviation_threshold", "comment_threshold")
#: what may still change once experts are reviewing (deadlines only move later)
LIVE_FIELDS = ("name", "response_deadline", "review_deadline", "dispersion_threshold", "deviation_threshold")

DEFAULT_RUBRIC = (
    (gettext_lazy("技术创新性"), gettext_lazy("技术路线先进，创新点明确，具有自主知识产权前景"), Decimal("30")),
    (gettext_lazy("研究基础与团队"), gettext_lazy("前期基础扎实，团队结构合理，负责人能力突出"), Decimal("20")),
    (gettext_lazy("实施方案可行性"), gettext_lazy("研究内容、进度安排与考核指标科学可行"), Decimal("20")),
    (gettext_lazy("经济社会效益"), gettext_lazy("产业化前景明确，预期效益可量化"), Decimal("20")),
    (gettext_lazy("经费预算合理性"), gettext_lazy("预算与任务匹配，自筹资金落实"), Decimal("10")),
)



#: the challenge state in which each 揭榜 round kind is organised
CHALLENGE_ROUND_STATES = {
    ReviewRound.Kind.NEED: Challenge.State.VETTING,
    ReviewRound.Kind.BID: Challenge.State.REVIEWING,
    ReviewRound.Kind.MILESTONE: Challenge.State.AWARDED,
}

CHALLENGE_RUBRICS = {
    ReviewRound.Kind.NEED: (
        (gettext_lazy("需求的真实性与紧迫性"), gettext_lazy("是制约企业和产业发展的真实技术瓶颈"), Decimal("30")),
        (gettext_lazy("技术指标的先进性与可考核性"), gettext_lazy("指标明确、可量化、可验证"), Decimal("30")),
        (gettext_lazy("悬赏金额与周期的合理性"), gettext_lazy("金额、企业出资与攻关周期匹配"), Decimal("20")),
        (gettext_lazy("成果应用前景"), gettext_lazy("成果能在发榜企业和行业内转化应用"), Decimal("20")),
    ),
    ReviewRound.Kind.BID: (
        (gettext_lazy("技术方案先进性与可行性"), gettext_lazy("技术路线清晰，能达到榜单指标"), Decimal("35")),
        (gettext_lazy("团队实力与研究基础"), gettext_lazy("负责人和团队有相关成果和攻关能力"), Decimal("25")),
        (gettext_lazy("里程碑安排合理性"), gettext_lazy("里程碑节点、考核指标和金额分配合理"), Decimal("20")),
        (gettext_lazy("揭榜金额与保障条件"), gettext_lazy("金额合理，配套条件落实"), Decimal("20")),
    ),
    ReviewRound.Kind.MILESTONE: (
        (gettext_lazy("里程碑指标完成情况"), gettext_lazy("考核指标逐项达到"), Decimal("50")),
        (gettext_lazy("进度与后续计划"), gettext_lazy("进度符合计划，后续安排可行"), Decimal("30")),
        (gettext_lazy("经费使用"), gettext_lazy("经费使用与里程碑任务匹配"), Decimal("20")),
    ),
}

CHECKPOINT_RUBRICS = {
    ReviewRound.Kind.MIDTERM: (
        (gettext_lazy("绩效指标进展"), gettext_lazy("各项考核指标按任务书进度推进，阶段成果真实"), Decimal("40")),
        (gettext_lazy("研究进度与计划执行"), gettext_lazy("研究内容和进度符合任务书安排，后续计划可行"), Decimal("25")),
        (gettext_lazy("经费使用与管理"), gettext_lazy("支出与预算科目相符，进度匹配，管理规范"), Decimal("20")),
        (gettext_lazy("组织管理与条件保障"), gettext_lazy("团队稳定，配套条件和自筹资金落实"), Decimal("15")),
    ),
    ReviewRound.Kind.ACCEPTANCE: (
        (gettext_lazy("考核指标完成情况"), gettext_lazy("任务书各项考核指标逐项完成，佐证材料充分"), Decimal("45")),
        (gettext_lazy("成果水平与效益"), gettext_lazy("成果的技术水平、知识产权、应用和经济社会效益"), Decimal("25")),
        (gettext_lazy("经费使用规范性"), gettext_lazy("决算与预算相符，专项审计意见无重大问题"), Decimal("20")),
        (gettext_lazy("资料完整性"), gettext_lazy("总结报告、决算报告、审计报告等验收材料齐全规范"), Decimal("10")),
    ),
}

#: a deadline outside these years is a typing error (and one in year 1, Beijing time, falls before the first
#: instant the database can store in UTC)
DEADLINE_YEARS = (2000, 2999)


def validate_deadline(value) -> None:
    """A form and model validator: the deadline falls within ``DEADLINE_YEARS``."""
    if value is not None and not DEADLINE_YEARS[0] <= value.year <= DEADLINE_YEARS[1]:
        raise ValidationError(_("截止时间须在%(first)d年至%(last)d年之间。")
                              % {"first": DEADLINE_YEARS[0], "last": DEADLINE_YEARS[1]}, code="deadline_range")


def _clean(rnd: ReviewRound) -> None:
    try:
        validate_deadline(rnd.response_deadline)
        validate_deadline(rnd.review_deadline)
    except ValidationError as e:
        raise InvalidInput(e.messages) from None
    try:
        rnd.full_clean(exclude=["call", "challenge", "created_by"])
    except ValidationError as e:
        raise InvalidInput([m for msgs in e.message_dict.values() for m in msgs]) from None


def create_round(*, actor, call_id: int | None = None, data: dict, criteria: list[dict] | None = None,
                 challenge_id: int | None = None, kind: str = ReviewRound.Kind.APPLICATION) -> ReviewRound:
    """A round for a call's accepted applications or (``midterm``, ``acceptance``) for the submitted 中期报告 or
    验收申请 of the call's projects, or (``challenge_id`` with a 揭榜 ``kind``) for a challenge's need, bids or
    reported milestones; with the kind's default rubric unless one is given."""
    require_bureau(actor)
    if kind in ReviewRound.CALL_KINDS:
        if call_id is None:
            raise InvalidInput(_("请选择申报指南。"))
        call = Call.objects.get(pk=call_id)
        rnd = ReviewRound(call=call, created_by=actor, kind=kind)
        if kind == ReviewRound.Kind.APPLICATION:
            default_name = _("%(call)s 专家评审") % {"call": call.title}
        else:
            default_name = _("%(call)s %(kind)s") % {"call": call.title, "kind": ReviewRound.Kind(kind).label}
            if criteria is None:
                criteria = [{"name": str(n), "description": str(d), "max_score": m}
                            for n, d, m in CHECKPOINT_RUBRICS[kind]]
    elif kind in ReviewRound.CHALLENGE_KINDS:
        if challenge_id is None:
            raise InvalidInput(_("请选择揭榜挂帅项目。"))
        challenge = Challenge.objects.get(pk=challenge_id)
        wanted = CHALLENGE_ROUND_STATES[kind]
        if challenge.state != wanted:
            raise TransitionRefused(
                _("“%(kind)s”须在榜单处于“%(state)s”时组织，当前为“%(now)s”。")
                % {"kind": ReviewRound.Kind(kind).label, "state": Challenge.State(wanted).label,
                   "now": challenge.get_state_display()})
        rnd = ReviewRound(challenge=challenge, created_by=actor, kind=kind)
        default_name = _("%(title)s %(kind)s") % {"title": challenge.title, "kind": ReviewRound.Kind(kind).label}
        if criteria is None:
            criteria = [{"name": str(n), "description": str(d), "max_score": m} for n, d, m in CHALLENGE_RUBRICS[kind]]
    else:
        raise InvalidInput(_("评审对象类型无效。"))
    for f in ROUND_FIELDS:
        if f in data:
            setattr(rnd, f, data[f])
    if not rnd.name:
        rnd.name = default_name
    respond, review = default_deadlines()
    rnd.response_deadline = rnd.response_deadline or respond
    rnd.review_deadline = rnd.review_deadline or review
    _clean(rnd)
    with transaction.atomic():
        rnd.save()
        if criteria is None:
            criteria = [{"name": str(n), "description": str(d), "max_score": m} for n, d, m in DEFAULT_RUBRIC]
        _write_criteria(rnd, criteria)
        record_audit(actor=actor, verb="create", target=rnd, to_state=rnd.state)
    return rnd


def update_round(*, actor, round_id: int, data: dict, now=None) -> ReviewRound:
    require_bureau(actor)
    now = now or timezone.now()
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update(of=("self",)).get(pk=round_id)
        if rnd.state == R.CLOSED:
            raise TransitionRefused(_("评审已结束，不能修改。"))
        allowed = ROUND_FIELDS if rnd.state == R.DRAFT else LIVE_FIELDS
        changes = {}
        for f in ROUND_FIELDS:
            if f not in data or getattr(rnd, f) == data[f]:
                continue
            if f not in allowed:
                raise InvalidInput(
                    _("评审已开始，“%(field)s”不能再修改。") % {"field": ReviewRound._meta.get_field(f).verbose_name}
                )
            if rnd.state != R.DRAFT and f.endswith("deadline") and data[f] < getattr(rnd, f):
                raise InvalidInput(_("评审已开始，截止时间只能延后。"))
            changes[f] = (getattr(rnd, f), data[f])
            setattr(rnd, f, data[f])
        _clean(rnd)
        rnd.save()
        if "response_deadline" in changes:
            # invitations still open follow the new response deadline
            rnd.assignments.filter(state=AS.INVITED, respond_by__lt=rnd.response_deadline).update(
                respond_by=rnd.response_deadline
            )
        if changes:
            record_audit(actor=actor, verb="update", target=rnd,
                         data={k: [str(a), str(b)] for k, (a, b) in changes.items()})
    return rnd


def _parse_max(value) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("满分必须是数字。")) from None
    if not d.is_finite() or d <= 0 or d > 100 or d != d.quantize(Decimal("0.1")):
        raise InvalidInput(_("每项指标的满分须大于0、不超过100，最多一位小数。"))
    return d


def _write_criteria(rnd: ReviewRound, criteria: list[dict]) -> None:
    rows, names = [], set()
    for i, c in enumerate(criteria):
        name = (c.get("name") or "").strip()
        if not name:
            raise InvalidInput(_("评分指标名称不能为空。"))
        if name in names:
            raise InvalidInput(_("评分指标“%(name)s”重复。") % {"name": name})
        names.add(name)
        rows.append(Criterion(round=rnd, name=name, description=(c.get("description") or "").strip(),
                              max_score=_parse_max(c.get("max_score")), position=i))
    total = sum((r.max_score for r in rows), Decimal(0))
    if total != 100:
        raise InvalidInput(_("评分指标满分合计须为100分，当前为%(total)s分。") % {"total": total}, code="rubric_total")
    Criterion.objects.filter(round=rnd).delete()
    Criterion.objects.bulk_create(rows)


def set_criteria(*, actor, round_id: int, criteria: list[dict]) -> ReviewRound:
    require_bureau(actor)
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update(of=("self",)).get(pk=round_id)
        if rnd.state != R.DRAFT:
            raise TransitionRefused(_("评审已开始，评分指标不能再修改。"))
        _write_criteria(rnd, criteria)
        record_audit(actor=actor, verb="set_criteria", target=rnd,
                     data={"criteria": [[c.get("name"), str(c.get("max_score"))] for c in criteria]})
    return rnd


def panel_name(prefix: str) -> str:
    return _("%(code)s 学科组") % {"code": prefix} if prefix else _("未填学科代码")


def add_items(*, actor, round_id: int) -> int:
    """Take in every subject the round's kind accepts (a call's accepted applications, its projects' submitted
    checkpoint reports, a challenge's need, bids or reported milestones) not yet in it, each in the panel of its
    first-level discipline. Returns how many were added."""
    require_bureau(actor)
    with transaction.atomic():
        rnd = ReviewRound.objects.select_for_update(of=("self",)).select_related("call").get(pk=round_id)
        if rnd.state == R.CLOSED:
            raise TransitionRefused(_("评审已结束，不能再加入评审对象。"))
        adapter = adapter_for(rnd.kind)
        ct = ContentType.objects.get_for_model(adapter.model)
        have = set(rnd.items.values_list("subject_id", flat=True))
        # an application is reviewed in one round: one already in another round (open or closed) stays there,
        # so approving one round's 立项 list never decides an application another round is still ranking
        others = ReviewItem.objects.filter(subject_type=ct).exclude(round=rnd)
        if rnd.kind in ReviewRound.CHECKPOINT_KINDS:
            # a report is scored once (the adapter takes only unscored ones): one left without a score by a
            # round that closed without reviews may go into another round
            others = others.exclude(round__state=R.CLOSED)
        busy = set(others.values_list("subject_id", flat=True))
        ids = [pk for pk in adapter.eligible(rnd).values_list("id", flat=True) if pk not in have | busy]
        profiles = adapter.profiles(ids)
        panels = {p.discipline_prefix: p for p in rnd.panels.all()}
        items = []
        for pk in ids:
            prof = profiles[pk]
            prefix = discipline_root(prof.discipline_code)
            if prefix not in panels:
                panels[prefix] = Panel.objects.create(round=rnd, discipline_prefix=prefix, name=panel_name(prefix))
            items.append(ReviewItem(
                round=rnd, panel=panels[prefix], subject_type=ct, subject_id=pk, number=prof.number,
                title=prof.title[:200], organization_name=prof.organization_name[:200],
                discipline_code=prof.discipline_code, keywords=prof.keywords[:300],
                requested_amount=prof.requested_amount,
            ))
        ReviewItem.objects.bulk_create(items)
        if items:
            record_audit(actor=actor, verb="add_items", target=rnd, data={"added": len(items)})
    return len(items)


def start_round(*, actor, round_id: int, now=None) -> ReviewRound:
    require_bureau(actor)
    now = now or timezone.now()

    def guard(rnd):
        problems = []
        total = sum((c.max_score for c in rnd.criteria.all()), Decimal(0))
        if total != 100:
            problems.append(_("评分指标满分合计须为100分，当前为%(total)s分。") % {"total": total})
        if not rnd.items.exists():
            problems.append(_("尚未加入评审对象。"))
        if rnd.response_deadline <= now:
            problems.append(_("答复截止时间已过，请先修改。"))
        if problems:
            raise InvalidInput(problems, code="start_checks")

    def apply(rnd):
        rnd.started_at = now
        return ["started_at"]

    return run_transition(workflow=ROUND_WORKFLOW, queryset=ReviewRound.objects.all(), pk=round_id, name="start",
                          actor=actor, guard=guard, apply=apply)


def close_round(*, actor, round_id: int, reason: str = "", force: bool = False, now=None) -> ReviewRound:
    """结束评审: open invitations and unfinished reviews are cancelled; refused while an item has fewer than
    three submitted reviews unless ``force`` (with a reason)."""
    require_bureau(actor)
    now = now or timezone.now()

    def guard(rnd):
        short = [
            item for item in rnd.items.all()
            if sum(1 for a in item.assignments.all() if a.state == AS.SUBMITTED) < 3
        ]
        if short and not force:
            raise InvalidInput(
                _("有%(n)d个评审对象提交的评审意见不足3份，确需结束请填写理由后强制结束。") % {"n": len(short)},
                code="insufficient_reviews",
            )
        if short and force and not reason.strip():
            raise InvalidInput(_("强制结束评审必须填写理由。"), code="reason_required")

    def apply(rnd):
        rnd.closed_at = now
        return ["closed_at"]

    def after(rnd, from_state):
        _cancel_open(rnd)
        _record_results(rnd)

    def _cancel_open(rnd):
        # Locked (in id order) before they are cancelled: a review submitted while the round closes is waited for
        # and, once submitted, left alone (an update by id alone would overwrite it on PostgreSQL).
        open_ids = list(rnd.assignments.select_for_update().filter(state__in=[AS.INVITED, AS.ACCEPTED])
                        .order_by("id").values_list("id", flat=True))
        rnd.assignments.filter(pk__in=open_ids, state__in=[AS.INVITED, AS.ACCEPTED]).update(
            state=AS.CANCELLED, updated_at=now)
        if open_ids:
            record_audit(actor=actor, verb="cancel_open_assignments", target=rnd, data={"assignments": open_ids})
            per_expert = Counter(
                rnd.assignments.filter(pk__in=open_ids, state=AS.CANCELLED).values_list("expert__user_id", flat=True))
            users = User.objects.in_bulk(list(per_expert))
            notify_each(
                [(users[uid], _("评审已结束：%(round)s") % {"round": rnd.name},
                  _("评审轮次“%(round)s”已结束，您尚未完成的%(n)d项评审邀请或任务已取消，无需再处理。")
                  % {"round": rnd.name, "n": n}) for uid, n in per_expert.items()],
                kind=MessageKind.REVIEW_CANCELLED, link=reverse("experts:dashboard"), target=rnd,
                dedupe_key=f"round:{rnd.pk}:closed",
            )

    qs = ReviewRound.objects.prefetch_related("items__assignments")
    return run_transition(workflow=ROUND_WORKFLOW, queryset=qs, pk=round_id, name="close", actor=actor,
                          reason=reason, guard=guard, apply=apply, after=after)


def _record_results(rnd: ReviewRound) -> None:
    """Hand each item's aggregated score (and how many reviews made it) back to the subject's app."""
    if rnd.kind != ReviewRound.Kind.APPLICATION:  # applications are decided through the 立项 list
        adapter_for(rnd.kind).record_results(rnd, item_scores(rnd))


def default_deadlines(now=None) -> tuple[datetime.datetime, datetime.datetime]:
    now = timezone.localtime(now or timezone.now())
    day_end = now.replace(hour=17, minute=0, second=0, microsecond=0)
    return day_end + datetime.timedelta(days=3), day_end + datetime.timedelta(days=14)

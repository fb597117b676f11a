"""Invitations (accept with the 承诺书, decline, expire) and scoring (draft, submit, reopen)."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify

from ..models import LATE_REVIEW_TIME, Assignment, Commitment, Expert, Review, ReviewRound, Score, review_due_at  # noqa: F401 (re-exported)

AS = Assignment.State
R = ReviewRound.State

ASSIGNMENT_WORKFLOW = Workflow(
    "experts.Assignment",
    AS,
    [
        T("accept", [AS.INVITED], AS.ACCEPTED, gettext_lazy("接受邀请")),
        T("decline", [AS.INVITED], AS.DECLINED, gettext_lazy("谢绝邀请"), needs_reason=True),
        T("expire", [AS.INVITED], AS.EXPIRED, gettext_lazy("逾期未答复")),
        T("submit", [AS.ACCEPTED], AS.SUBMITTED, gettext_lazy("提交评审意见")),
        T("reopen", [AS.SUBMITTED], AS.ACCEPTED, gettext_lazy("退回修改"), needs_reason=True),
        T("cancel", [AS.INVITED, AS.ACCEPTED], AS.CANCELLED, gettext_lazy("取消"), needs_reason=True),
    ],
)

COMMITMENT_VERSION = "2026.1"
#: each statement the expert confirms one by one when accepting
COMMITMENT_ITEMS = (
    ("confidentiality", gettext_lazy("保密：不复制、不泄露、不擅自使用评审材料和评审信息，评审结束后按要求处理材料。")),
    ("impartiality", gettext_lazy("公正：独立、客观、公正地评审，不接受请托，不打招呼，不与申报方私下接触。")),
    ("no_conflict", gettext_lazy("无利益冲突：与评审对象不存在须回避的关系；如发现存在，立即报告并退出评审。")),
)


def commitment_text() -> str:
    head = _("本人自愿承担本次评审工作，郑重承诺：")
    lines = [f"{i}. {text}" for i, (_code, text) in enumerate(COMMITMENT_ITEMS, start=1)]
    tail = _("如违反上述承诺，愿意承担相应责任，并接受取消评审专家资格等处理。")
    return "\n".join([head, *lines, tail])


def _own(actor, assignment: Assignment) -> None:
    if actor is None or assignment.expert.user_id != actor.pk:
        raise PermissionRefused(_("只能处理本人的评审任务。"))


def _transition(name, *, actor, assignment_id, reason="", guard=None, apply=None, after=None, data=None):
    return run_transition(
        workflow=ASSIGNMENT_WORKFLOW,
        queryset=Assignment.objects.select_related("round", "item", "expert", "expert__user"),
        pk=assignment_id, name=name, actor=actor, reason=reason, guard=guard, apply=apply, after=after, data=data,
    )


def _round_live(a: Assignment, now) -> None:
    if a.round.state != R.REVIEWING:
        raise TransitionRefused(_("评审轮次“%(round)s”不在评审中。") % {"round": a.round.name})


def accept_invitation(*, actor, assignment_id: int, confirmed: list[str] | tuple = (), ip: str | None = None,
                      user_agent: str = "", now=None) -> Assignment:
    """接受邀请 and sign the 承诺书: every statement must be confirmed; refused after the response deadline."""
    now = now or timezone.now()
    missing = [str(text) for code, text in COMMITMENT_ITEMS if code not in set(confirmed)]
    if missing:
        raise InvalidInput([_("请逐项确认评审承诺：%(item)s") % {"item": m} for m in missing], code="commitment")

    def guard(a):
        _own(actor, a)
        _round_live(a, now)
        if a.expert.status != Expert.Status.ACTIVE:
            raise TransitionRefused(_("您的专家状态为“%(status)s”，不能接受评审邀请。")
                                    % {"status": a.expert.get_status_display()})
        if now > a.respond_by:
            raise TransitionRefused(_("已超过答复截止时间，不能再接受邀请。"))

    def apply(a):
        a.responded_at = now
        return ["responded_at"]

    def after(a, from_state):
        Commitment.objects.create(assignment=a, text=commitment_text(), version=COMMITMENT_VERSION, signed_at=now,
                                  ip=ip or None, user_agent=(user_agent or "")[:300])

    return _transition("accept", actor=actor, assignment_id=assignment_id, guard=guard, apply=apply, after=after)


REPLACE_TASK = "experts.replace_assignment"


def _schedule_replacement(a: Assignment) -> None:
    """After commit, the task (experts.tasks, found by name: tasks import services, not the reverse) finds a
    replacement."""
    pk = a.pk
    transaction.on_commit(lambda: current_app.tasks[REPLACE_TASK].delay(pk))


def decline_invitation(*, actor, assignment_id: int, reason: str, now=None) -> Assignment:
    now = now or timezone.now()

    def guard(a):
        _own(actor, a)
        _round_live(a, now)
        if now > a.respond_by:
            raise TransitionRefused(_("已超过答复截止时间，邀请已失效。"))

    def apply(a):
        a.responded_at = now
        a.decline_reason = reason.strip()[:500]
        return ["responded_at", "decline_reason"]

    return _transition("decline", actor=actor, assignment_id=assignment_id, reason=reason, guard=guard, apply=apply,
                       after=lambda a, s: _schedule_replacement(a))


def cancel_invitation(*, actor, assignment_id: int, reason: str) -> Assignment:
    """取消 an invitation its expert has not answered (they were suspended or left the pool); another expert is
    found after commit, as after a decline. Refused once the invitation was answered."""

    def guard(a):
        if a.state != AS.INVITED:
            raise TransitionRefused(_("评审邀请已答复，不能取消。"))

    return _transition("cancel", actor=actor, assignment_id=assignment_id, reason=reason, guard=guard,
                       after=lambda a, s: _schedule_replacement(a))


def expire_invitation(*, assignment_id: int, now=None) -> Assignment:
    now = now or timezone.now()

    def guard(a):
        if a.respond_by > now:
            raise TransitionRefused(_("尚未到答复截止时间。"))

    return _transition("expire", actor=None, assignment_id=assignment_id, guard=guard,
                       after=lambda a, s: _schedule_replacement(a))


def expire_due_invitations(now=None, batch: int = 500) -> list[int]:
    """Sweeper: invitations not answered by their deadline expire (and are replaced). Returns their ids.

    Reads ``batch`` ids at a time, in id order from where the last batch ended, until none is left: a round of
    thousands of invitations lapsing at once is swept in one run, and a row refused is never read twice."""
    now = now or timezone.now()
    done = []
    last = 0
    while True:
        ids = list(Assignment.objects.filter(state=AS.INVITED, respond_by__lt=now, pk__gt=last).order_by("id")
                   .values_list("id", flat=True)[:batch])
        if not ids:
            return done
        for pk in ids:
            try:
                expire_invitation(assignment_id=pk, now=now)
            except TransitionRefused:
                continue  # answered meanwhile
            done.append(pk)
        last = ids[-1]


# ---- overdue reviews ------------------------------------------------------------------------------------

def overdue_refusal(a: Assignment, now, due_at: datetime.datetime | None = None) -> str | None:
    """Why the accepted review ``a`` may not be taken from its expert as overdue now (None: it may). ``due_at``
    is the deadline the sweeper saw: a deadline moved since then is the sweeper's to see again."""
    if a.state != AS.ACCEPTED:
        return _("评审任务当前状态为“%(state)s”，不是待提交的评审。") % {"state": a.get_state_display()}
    if a.round.state != R.REVIEWING:
        return _("评审轮次“%(round)s”不在评审中。") % {"round": a.round.name}
    if a.submitted_at is not None:
        return _("评审意见已提交过（被退回修改），不自动改派。")
    due = a.review_due
    if due_at is not None and due != due_at:
        return _("评审截止时间已变更。")
    if now < due:
        return _("尚未到评审截止时间。")
    return None


def cancel_overdue_review(*, assignment_id: int, due_at: datetime.datetime | None = None, now=None) -> Assignment:
    """取消 an accepted review not submitted by its deadline, by the system (assign.reassign_overdue_review, which
    then finds another expert). The expert is told; the scores they saved stay in the draft, nothing is deleted."""
    now = now or timezone.now()

    def guard(a):
        refusal = overdue_refusal(a, now, due_at)
        if refusal:
            raise TransitionRefused(refusal)

    def after(a, from_state):
        due = a.review_due
        notify(
            [a.expert.user],
            kind=MessageKind.REVIEW_CANCELLED,
            title=_("评审任务已改派：%(item)s") % {"item": a.item.title},
            body=_("您对“%(item)s”（%(round)s）的评审意见在截止时间 %(due)s 前未提交，已按规定改派其他专家，"
                   "本任务取消，无需再处理。您保存的评分草稿予以保留。")
            % {"item": a.item.title, "round": a.round.name,
               "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M")},
            link=reverse("experts:dashboard"),
            target=a,
            dedupe_key=f"assignment:{a.pk}:overdue_cancelled",
        )

    return _transition("cancel", actor=None, assignment_id=assignment_id, reason=_("逾期未提交评审意见，改派其他专家"),
                       guard=guard, after=after, data={"overdue": True})


# ---- scoring ------------------------------------------------------------------------------------------


def _parse_scores(rnd: ReviewRound, raw: dict) -> dict[int, Decimal]:
    criteria = {c.pk: c for c in rnd.criteria.all()}
    parsed, errors = {}, []
    for key, value in (raw or {}).items():
        try:
            cid = int(key)
        except (TypeError, ValueError):
            cid = None
        if cid not in criteria:
            errors.append(_("评分指标不存在。"))
            continue
        c = criteria[cid]
        if value is None or str(value).strip() == "":
            continue
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            errors.append(_("“%(name)s”的得分必须是数字。") % {"name": c.name})
            continue
        if not d.is_finite() or d < 0 or d > c.max_score:
            errors.append(_("“%(name)s”的得分须在0到%(max)s之间。") % {"name": c.name,
                                                                 "max": format(c.max_score.normalize(), "f")})
            continue
        if d != d.quantize(Decimal("0.1")):
            errors.append(_("“%(name)s”的得分最多保留一位小数。") % {"name": c.name})
            continue
        parsed[cid] = d.quantize(Decimal("0.1"))
    if errors:
        raise InvalidInput(errors, code="scores")
    return parsed


def _write_review(a: Assignment, scores: dict[int, Decimal], comment: str, recommendation: str) -> Review:
    if recommendation and recommendation not in Review.Recommendation.values:
        raise InvalidInput(_("请选择总体意见。"))
    review, _created = Review.objects.get_or_create(assignment=a)
    existing = {s.criterion_id: s for s in review.scores.all()}
    for cid, value in scores.items():
        if cid in existing:
            if existing[cid].score != value:
                existing[cid].score = value
                existing[cid].save(update_fields=["score"])
        else:
            existing[cid] = Score.objects.create(review=review, criterion_id=cid, score=value)
    review.total = sum((s.score for s in existing.values()), Decimal(0))
    review.comment = (comment or "").strip()
    review.recommendation = recommendation or ""
    review.save(update_fields=["total", "comment", "recommendation", "updated_at"])
    return review


def save_review(*, actor, assignment_id: int, scores: dict, comment: str = "", recommendation: str = "",
                now=None) -> Review:
    """Save a draft: scores may be partial; each given score must be within its criterion's maximum."""
    now = now or timezone.now()
    with transaction.atomic():
        a = (Assignment.objects.select_for_update(of=("self",)).select_related("round", "expert")
             .get(pk=assignment_id))
        _own(actor, a)
        if a.state != AS.ACCEPTED:
            raise TransitionRefused(_("评审任务当前状态为“%(state)s”，不能修改评分。") % {"state": a.get_state_display()})
        _round_live(a, now)
        parsed = _parse_scores(a.round, scores)
        return _write_review(a, parsed, comment, recommendation)


def submit_review(*, actor, assignment_id: int, scores: dict, comment: str = "", recommendation: str = "",
                  now=None) -> Assignment:
    """提交: every criterion scored, an overall recommendation, a comment when the total is below the round's
    threshold. Locks the review."""
    now = now or timezone.now()
    holder = {}

    def guard(a):
        _own(actor, a)
        _round_live(a, now)
        parsed = _parse_scores(a.round, scores)
        review = _write_review(a, parsed, comment, recommendation)
        problems = []
        scored = set(review.scores.values_list("criterion_id", flat=True))
        missing = [c.name for c in a.round.criteria.all() if c.pk not in scored]
        if missing:
            problems.append(_("以下指标尚未评分：%(names)s。") % {"names": "、".join(missing)})
        if not review.recommendation:
            # the list separator is translated with the rest ("、" in Chinese, ", " in English)
            options = pgettext("list separator", "、").join(
                str(label) for _v, label in Review.recommendation_choices(a.round.kind))
            problems.append(_("请选择总体意见（%(options)s）。") % {"options": options})
        if review.total < a.round.comment_threshold and not review.comment:
            problems.append(_("总分低于%(t)s分，必须填写评审意见。") % {"t": a.round.comment_threshold})
        if problems:
            raise InvalidInput(problems, code="review_incomplete")
        holder["review"] = review

    def apply(a):
        a.submitted_at = now
        return ["submitted_at"]

    def after(a, from_state):
        review = holder["review"]
        record_audit(actor=actor, verb="review_scores", target=a,
                     data={"total": str(review.total), "recommendation": review.recommendation,
                           "scores": {str(s.criterion_id): str(s.score) for s in review.scores.all()}})

    return _transition("submit", actor=actor, assignment_id=assignment_id, guard=guard, apply=apply, after=after)


def reopen_review(*, actor, assignment_id: int, reason: str, now=None) -> Assignment:
    """An officer sends a submitted review back to its expert for changes (while the round is reviewing)."""
    if not actor.has_perm("experts.manage_rounds"):
        raise PermissionRefused(_("只有科技局业务人员可以退回评审意见。"))
    now = now or timezone.now()

    def guard(a):
        _round_live(a, now)

    def apply(a):
        Review.objects.filter(assignment=a).update(reopen_count=F("reopen_count") + 1)
        return []

    def after(a, from_state):
        notify(
            [a.expert.user],
            kind=MessageKind.REVIEW_REOPENED,
            title=_("评审意见退回修改：%(item)s") % {"item": a.item.title},
            body=_("您对“%(item)s”的评审意见被退回修改，理由：%(r)s") % {"item": a.item.title, "r": reason},
            link=reverse("experts:review", args=[a.pk]),
            target=a,
            dedupe_key=f"assignment:{a.pk}:reopen:{now.timestamp():.0f}",
        )

    return _transition("reopen", actor=actor, assignment_id=assignment_id, reason=reason, guard=guard, apply=apply,
                       after=after)


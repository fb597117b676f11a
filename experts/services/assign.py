"""Who may review what (eligibility), and the three ways of assigning: random draw, optimal, manual.

Every way goes through ``eligibility``: an active expert in the item's discipline, with no conflict of
interest, under the annual cap, available until the review deadline and not already asked for that item.
Each run is a ``Draw`` row (method, seed, the candidate snapshot that lets anyone replay a random draw),
creates the invitations and the alternates, writes an audit event and notifies the experts.
"""

from __future__ import annotations

import datetime
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.workflow import record_audit
from activity.messaging import MessageKind
from activity.services import notify, notify_each
from projects.models import split_terms

from ..assignment import AssignmentProblem, greedy_assignment, optimal_assignment, random_draw
from ..conflicts import ConflictChecker
from ..models import Alternate, Assignment, Draw, Expert, ReviewItem, ReviewRound, Unavailability
from ..subjects import SubjectProfile, adapter_for
from .reviews import cancel_overdue_review, overdue_refusal, review_due_at

R = ReviewRound.State
AS = Assignment.State
#: how long a replacement expert has to answer, at least (capped by the review deadline)
REPLACEMENT_RESPONSE_TIME = datetime.timedelta(days=2)
#: invitations that leave a slot to fill: declined, lapsed, or cancelled because the expert left the pool
REPLACEABLE = (AS.DECLINED, AS.EXPIRED, AS.CANCELLED)
#: the largest seed Draw.seed (a 64-bit integer column) can store
MAX_SEED = 2**63 - 1


# ---- matching ---------------------------------------------------------------------------------------


def discipline_root(code: str) -> str:
    """The first-level discipline (一级学科) of a GB/T 13745 code: its first three digits."""
    return "".join(ch for ch in (code or "") if ch.isalnum())[:3]


def discipline_affinity(item_code: str, expert_codes: list[str]) -> float | None:
    """0.5 for the same discipline (one code extends the other), 0.3 for the same first-level discipline,
    None when the expert is in another field. An item without a code matches everyone at 0.2."""
    if not item_code:
        return 0.2
    item = item_code.strip()
    root = discipline_root(item)
    best = None
    for code in expert_codes or ():
        code = str(code).strip()
        if not code:
            continue
        if item.startswith(code) and len(code) > 3 or code.startswith(item):
            return 0.5
        if discipline_root(code) == root:
            best = 0.3
    return best


def keyword_affinity(item_keywords: list[str], expert_keywords: list[str]) -> float:
    a = {k.casefold() for k in item_keywords}
    b = {k.casefold() for k in expert_keywords}
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def affinity(item: ReviewItem | SubjectProfile, expert: Expert) -> float | None:
    d = discipline_affinity(item.discipline_code, expert.discipline_codes)
    if d is None:
        return None
    return round(d + 0.5 * keyword_affinity(split_terms(item.keywords), expert.keyword_list), 3)


class _Matcher:
    """``affinity`` for many pairs: each item's and each expert's codes and keywords are parsed once (a round
    of 2,000 items and 5,000 experts compares hundreds of thousands of pairs). Same results as ``affinity``."""

    def __init__(self, experts: dict[int, Expert]):
        self.codes = {}
        self.keywords = {}
        for pk, e in experts.items():
            codes = [c for c in (str(c).strip() for c in e.discipline_codes or ()) if c]
            self.codes[pk] = [(c, discipline_root(c)) for c in codes]
            self.keywords[pk] = {k.casefold() for k in e.keyword_list}

    def item(self, item) -> tuple[str, str, set[str]]:
        code = (item.discipline_code or "").strip()
        return code, discipline_root(code), {k.casefold() for k in split_terms(item.keywords)}

    def affinity(self, parsed_item, pk: int) -> float | None:
        code, root, item_kw = parsed_item
        if not code:
            d = 0.2
        else:
            d = None
            for c, c_root in self.codes[pk]:
                if code.startswith(c) and len(c) > 3 or c.startswith(code):
                    d = 0.5
                    break
                if c_root == root:
                    d = 0.3
            if d is None:
                return None
        kw = self.keywords[pk]
        k = len(item_kw & kw) / len(item_kw | kw) if item_kw and kw else 0.0
        return round(d + 0.5 * k, 3)


# ---- eligibility -------------------------------------------------------------------------------------


def year_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime(day.year, 1, 1, tzinfo=tz)
    return start, datetime.datetime(day.year + 1, 1, 1, tzinfo=tz)


def annual_load(expert_ids, day: datetime.date) -> dict[int, int]:
    """Reviews each expert holds this calendar year (invited, accepted or submitted)."""
    start, end = year_bounds(day)
    rows = (
        Assignment.objects.filter(expert_id__in=list(expert_ids), state__in=Assignment.ACTIVE_STATES,
                                  invited_at__gte=start, invited_at__lt=end)
        .values("expert_id")
        .annotate(n=Count("id"))
    )
    return {r["expert_id"]: r["n"] for r in rows}


def unavailable_experts(expert_ids, start: datetime.date, end: datetime.date) -> dict[int, str]:
    rows = Unavailability.objects.filter(expert_id__in=list(expert_ids), start_date__lte=end, end_date__gte=start)
    out = {}
    for u in rows:
        out.setdefault(u.expert_id, _("%(start)s 至 %(end)s 不可参评") % {"start": u.start_date, "end": u.end_date})
    return out


def active_experts_for(items) -> QuerySet[Expert]:
    """The active experts who can match any of ``items`` by discipline (everyone when an item has no code):
    only they are worth loading, with their conflict facts and loads, for a page of items or one panel."""
    qs = Expert.objects.filter(status=Expert.Status.ACTIVE)
    roots = {discipline_root(i.discipline_code) for i in items}
    if roots and "" not in roots:
        pks = [pk for pk, codes in qs.values_list("pk", "discipline_codes")
               if any(discipline_root(str(c)) in roots for c in codes or ())]
        qs = qs.filter(pk__in=pks)
    return qs.select_related("organization").order_by("id")


@dataclass
class Eligibility:
    """For each item: the eligible experts with their affinity, and why the others in its discipline are not."""

    items: list[ReviewItem]
    experts: dict[int, Expert]
    candidates: dict[int, list[tuple[int, float]]] = field(default_factory=dict)
    excluded: dict[int, dict[int, list[str]]] = field(default_factory=dict)
    capacity: dict[int, int] = field(default_factory=dict)
    load: dict[int, int] = field(default_factory=dict)
    need: dict[int, int] = field(default_factory=dict)


def eligibility(rnd: ReviewRound, items: list[ReviewItem], *, now=None, experts=None, until=None) -> Eligibility:
    """Hard constraints for assigning experts to ``items`` of ``rnd`` (see module docstring). Availability is
    checked until ``until`` (default the round's review deadline; a late replacement reviews after it)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    if experts is None:
        experts = active_experts_for(items)
    experts = {e.pk: e for e in experts}
    checker = ConflictChecker(experts.values())
    load = annual_load(experts, today)
    capacity = {pk: max(0, e.annual_cap - load.get(pk, 0)) for pk, e in experts.items()}
    away = unavailable_experts(experts, today, timezone.localdate(until or rnd.review_deadline))
    profiles = adapter_for(rnd.kind).profiles(i.subject_id for i in items)
    asked = defaultdict(set)  # item → experts already asked (any state: nobody is asked twice)
    active = defaultdict(int)
    for item_id, expert_id, state in Assignment.objects.filter(item__in=items).values_list(
        "item_id", "expert_id", "state"
    ):
        asked[item_id].add(expert_id)
        if state in Assignment.ACTIVE_STATES:
            active[item_id] += 1
    result = Eligibility(items=items, experts=experts, capacity=capacity, load=load)
    by_root = defaultdict(set)  # first-level discipline → experts in it: only they can match an item
    for pk, expert in experts.items():
        for code in expert.discipline_codes or ():
            by_root[discipline_root(str(code))].add(pk)
    everyone = sorted(experts)
    matcher = _Matcher(experts)
    for item in items:
        profile = profiles.get(item.subject_id)
        cands, excluded = [], {}
        parsed = matcher.item(item)
        root = parsed[1]
        for pk in sorted(by_root.get(root, ())) if root else everyone:
            expert = experts[pk]
            a = matcher.affinity(parsed, pk)
            if a is None:
                continue
            reasons = checker.reasons(pk, profile) if profile is not None else []
            if pk in asked[item.pk]:
                reasons.append(_("已邀请过该专家评审此项"))
            if capacity[pk] <= 0:
                reasons.append(_("本年度评审任务已达上限（%(cap)d项）") % {"cap": expert.annual_cap})
            if pk in away:
                reasons.append(away[pk])
            if reasons:
                excluded[pk] = reasons
            else:
                cands.append((pk, a))
        result.candidates[item.pk] = cands
        result.excluded[item.pk] = excluded
        result.need[item.pk] = max(0, rnd.experts_per_item - active[item.pk])
    return result


def why_not(rnd: ReviewRound, item: ReviewItem, expert: Expert, *, now=None) -> list[str]:
    """Every reason ``expert`` may not be put on ``item`` now (empty: allowed). Discipline is not required
    here: an officer may pick an expert from a neighbouring field by hand."""
    if expert.status != Expert.Status.ACTIVE:
        return [_("专家状态为“%(status)s”，不能参加评审") % {"status": expert.get_status_display()}]
    el = eligibility(rnd, [item], now=now, experts=[expert])
    if any(pk == expert.pk for pk, _a in el.candidates[item.pk]):
        return []
    reasons = el.excluded[item.pk].get(expert.pk)
    if reasons is not None:
        return reasons
    # Only the discipline kept the expert out: re-run the other checks without it.
    checker = ConflictChecker([expert])
    profile = adapter_for(rnd.kind).profiles([item.subject_id]).get(item.subject_id)
    reasons = checker.reasons(expert.pk, profile) if profile is not None else []
    if Assignment.objects.filter(item=item, expert=expert).exists():
        reasons.append(_("已邀请过该专家评审此项"))
    if el.capacity[expert.pk] <= 0:
        reasons.append(_("本年度评审任务已达上限（%(cap)d项）") % {"cap": expert.annual_cap})
    today = timezone.localdate(now or timezone.now())
    away = unavailable_experts([expert.pk], today, timezone.localdate(rnd.review_deadline))
    if expert.pk in away:
        reasons.append(away[expert.pk])
    return reasons


# ---- running a draw ----------------------------------------------------------------------------------


def require_bureau(actor) -> None:
    """Organising a review (rounds, draws, assignment) is the bureau officers' work; ``None`` is the system."""
    if actor is not None and not actor.has_perm("experts.manage_rounds"):
        raise PermissionRefused(_("只有科技局业务人员可以组织专家评审。"))


def lock_active_experts() -> list[Expert]:
    """Lock the row of every active expert, in id order, and return them (for ``eligibility``).

    A draw, a manual assignment and a replacement read each expert's annual load and status, then invite; two of
    them on different rounds (each holding only its own round) could both see an expert one review under the cap
    and both invite. With the experts' rows locked they queue, and the load each reads afterwards is committed.
    A suspension locks the expert's row too, so it waits for a draw that is inviting that expert (and then cancels
    the invitation) or the draw no longer sees the expert as active. Lock order: round → experts → assignments.
    """
    return list(Expert.objects.select_for_update(of=("self",)).filter(status=Expert.Status.ACTIVE)
                .select_related("organization").order_by("id"))


def _lock_round(round_id: int, *states) -> ReviewRound:
    rnd = ReviewRound.objects.select_for_update(of=("self",)).select_related("call").get(pk=round_id)
    if states and rnd.state not in states:
        raise TransitionRefused(
            _("评审轮次当前状态为“%(state)s”，不能进行此操作。") % {"state": rnd.get_state_display()}
        )
    return rnd


def _problem(el: Eligibility, items: list[ReviewItem]):
    expert_ids = sorted(el.experts)
    index = {pk: i for i, pk in enumerate(expert_ids)}
    candidates = [[(index[pk], a) for pk, a in el.candidates[item.pk]] for item in items]
    need = [max(1, el.need[item.pk]) for item in items]
    problem = AssignmentProblem(
        candidates,
        [el.capacity[pk] for pk in expert_ids],
        need,
        prior_load=[el.load.get(pk, 0) for pk in expert_ids],
    )
    return problem, expert_ids


def solve(method: str, el: Eligibility, items: list[ReviewItem], seed: int | None = None):
    """Run one method on the eligible pairs; returns the engine's result and the expert ids by index."""
    problem, expert_ids = _problem(el, items)
    if method == Draw.Method.RANDOM or method == Draw.Method.REPLACEMENT:
        return random_draw(problem, seed), expert_ids
    if method == Draw.Method.OPTIMAL:
        return optimal_assignment(problem), expert_ids
    if method == "greedy":
        return greedy_assignment(problem), expert_ids
    raise ValueError(method)


def _items_needing(rnd: ReviewRound, el: Eligibility) -> list[ReviewItem]:
    return [item for item in el.items if el.need[item.pk] > 0]


def respond_by_for(rnd: ReviewRound, now) -> datetime.datetime:
    """The round's response deadline, but never less than REPLACEMENT_RESPONSE_TIME from now (an expert invited
    an hour before it, as a replacement or by hand, still gets time to answer), and never past the review
    deadline (for a late replacement, invited after the round's, its own: reviews.review_due_at)."""
    due = review_due_at(invited_at=now, review_deadline=rnd.review_deadline)
    return max(rnd.response_deadline, min(due, now + REPLACEMENT_RESPONSE_TIME))


def _invite(rnd, draw, pairs, now) -> list[Assignment]:
    """Create the invitations ``pairs`` = [(item, expert_id, affinity)] of ``draw``; notify each expert once."""
    respond_by = respond_by_for(rnd, now)
    objs = [
        Assignment(round=rnd, item=item, expert_id=expert_id, draw=draw, affinity=aff, invited_at=now,
                   respond_by=respond_by)
        for item, expert_id, aff in pairs
    ]
    Assignment.objects.bulk_create(objs, batch_size=2000)
    per_expert = defaultdict(int)
    for obj in objs:
        per_expert[obj.expert_id] += 1
    users = {e.pk: e.user for e in Expert.objects.filter(pk__in=list(per_expert)).select_related("user")}
    due = timezone.localtime(respond_by).strftime("%Y-%m-%d %H:%M")
    late = ""
    if now >= rnd.review_deadline:  # taking over an overdue review: the expert's own review deadline
        late = _("本项为逾期改派，评审意见请于 %(due)s 前提交。") % {
            "due": timezone.localtime(review_due_at(invited_at=now, review_deadline=rnd.review_deadline))
            .strftime("%Y-%m-%d %H:%M")}
    notify_each(
        [
            (users[expert_id],
             _("评审邀请：%(round)s") % {"round": rnd.name},
             _("您收到%(n)d项评审邀请（%(round)s），请在 %(due)s 前登录专家工作台接受或谢绝，并签署评审承诺书。")
             % {"n": count, "round": rnd.name, "due": due} + late)
            for expert_id, count in per_expert.items()
        ],
        kind=MessageKind.REVIEW_INVITED,
        link=reverse("experts:invitations"),
        target=rnd,
        dedupe_key=f"draw:{draw.pk}:invited",
    )
    return objs


def _store_alternates(draw, items, result, expert_ids, el) -> int:
    item_ids = [i.pk for i in items]
    Alternate.objects.filter(item_id__in=item_ids, used_at__isnull=True).delete()
    aff = {(item.pk, pk): a for item in items for pk, a in el.candidates[item.pk]}
    rows = []
    for idx, item in enumerate(items):
        for rank, e in enumerate(result.alternates.get(idx, []), start=1):
            pk = expert_ids[e]
            rows.append(Alternate(item=item, expert_id=pk, draw=draw, rank=rank, affinity=aff[(item.pk, pk)]))
    Alternate.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


@dataclass
class DrawOutcome:
    draw: Draw
    invited: int
    needed: int
    shortfall: dict[int, int]  # item id → experts still missing


def run_draw(*, actor, round_id: int, method: str, seed: int | None = None, panel_id: int | None = None,
             item_ids=None, now=None) -> DrawOutcome:
    """Random draw (随机抽取) or optimal assignment (智能匹配) for the items of a round still short of experts."""
    if method not in (Draw.Method.RANDOM, Draw.Method.OPTIMAL):
        raise InvalidInput(_("请选择抽取方式。"))
    require_bureau(actor)
    now = now or timezone.now()
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise InvalidInput(_("随机种子须为0到%(max)d之间的整数。") % {"max": MAX_SEED}, code="seed")
    if method == Draw.Method.RANDOM and seed is None:
        seed = secrets.randbelow(2**31)
    with transaction.atomic():
        rnd = _lock_round(round_id, R.REVIEWING)
        if now >= rnd.review_deadline:
            raise TransitionRefused(_("评审截止时间已过，不能再抽取专家。"))
        items = rnd.items.order_by("id")
        if panel_id:
            items = items.filter(panel_id=panel_id)
        if item_ids is not None:
            items = items.filter(pk__in=list(item_ids))
        el = eligibility(rnd, list(items), now=now, experts=lock_active_experts())
        todo = _items_needing(rnd, el)
        if not todo:
            raise InvalidInput(_("所选评审对象均已配齐专家，无需抽取。"), code="nothing_to_draw")
        result, expert_ids = solve(method, el, todo, seed)
        return record_draw(actor=actor, rnd=rnd, method=method, seed=seed, panel_id=panel_id, items=todo,
                           result=result, expert_ids=expert_ids, el=el, now=now)


def record_draw(*, actor, rnd, method, seed, panel_id, items, result, expert_ids, el: Eligibility, now) -> DrawOutcome:
    """Store what an assignment method decided: the Draw (with the snapshot that replays a random draw), the
    invitations, the alternates, the audit event and the experts' notifications. Inside the caller's
    transaction, with the round locked."""
    todo = items
    with transaction.atomic():
        pairs = []
        aff = {(item.pk, pk): a for item in todo for pk, a in el.candidates[item.pk]}
        for idx, item in enumerate(todo):
            for e in result.assignments[idx]:
                pairs.append((item, expert_ids[e], aff[(item.pk, expert_ids[e])]))
        shortfall = {todo[idx].pk: n for idx, n in result.shortfall.items()}
        snapshot = draw_snapshot(el, todo) if method == Draw.Method.RANDOM else {}
        draw = Draw.objects.create(
            round=rnd,
            panel_id=panel_id,
            method=method,
            seed=seed if method == Draw.Method.RANDOM else None,
            created_by=actor,
            candidates=snapshot,
            summary={
                "items": len(todo),
                "invited": len(pairs),
                "needed": result.needed,
                "shortfall": {str(k): v for k, v in shortfall.items()},
                "total_affinity": round(result.total_affinity, 3),
                "status": result.status,
            },
        )
        _invite(rnd, draw, pairs, now)
        _store_alternates(draw, todo, result, expert_ids, el)
        record_audit(
            actor=actor, verb=f"draw_{method}", target=rnd, data={"draw": draw.pk, "seed": seed,
                                                                  "invited": len(pairs),
                                                                  "shortfall": len(shortfall)},
        )
    return DrawOutcome(draw=draw, invited=len(pairs), needed=result.needed, shortfall=shortfall)


def draw_snapshot(el: Eligibility, items: list[ReviewItem]) -> dict:
    """What a random draw saw, enough to re-run it from its seed: each item's candidates (with affinity), and
    the capacity and prior load of every expert among them (in ascending id, the order the draw visits)."""
    experts = sorted({pk for item in items for pk, _a in el.candidates[item.pk]})
    return {
        "items": [i.pk for i in items],
        "experts": experts,
        "candidates": [[pk for pk, _a in el.candidates[item.pk]] for item in items],
        "affinity": [[a for _pk, a in el.candidates[item.pk]] for item in items],
        "capacities": [el.capacity[pk] for pk in experts],
        "prior_load": [el.load.get(pk, 0) for pk in experts],
        "need": [max(1, el.need[i.pk]) for i in items],
    }


def is_replayable(draw: Draw) -> bool:
    """A draw decided by a seed (随机抽取, or a replacement drawn at random) that stored its candidates."""
    return draw.method in (Draw.Method.RANDOM, Draw.Method.REPLACEMENT) and draw.seed is not None and bool(
        draw.candidates)


def replay_draw(draw: Draw) -> bool:
    """Re-run a stored random draw (or a replacement drawn at random) from its seed and candidate snapshot;
    True when it gives the same experts."""
    snap = draw.candidates
    if not is_replayable(draw):
        return False
    experts = snap["experts"]
    index = {pk: i for i, pk in enumerate(experts)}
    candidates = [
        [(index[pk], a) for pk, a in zip(pks, affs, strict=True)]
        for pks, affs in zip(snap["candidates"], snap["affinity"], strict=True)
    ]
    problem = AssignmentProblem(candidates, snap["capacities"], snap["need"], prior_load=snap["prior_load"])
    result = random_draw(problem, draw.seed)
    expected = {(item_pk, experts[e]) for idx, item_pk in enumerate(snap["items"]) for e in result.assignments[idx]}
    actual = set(draw.assignments.values_list("item_id", "expert_id"))
    return expected == actual


def assign_manually(*, actor, round_id: int, item_id: int, expert_id: int, now=None) -> Assignment:
    """人工指定: refused with every reason that applies (conflict, cap, availability, asked before)."""
    require_bureau(actor)
    now = now or timezone.now()
    with transaction.atomic():
        rnd = _lock_round(round_id, R.REVIEWING)
        if now >= rnd.review_deadline:
            raise TransitionRefused(_("评审截止时间已过，不能再指定专家。"))
        item = ReviewItem.objects.get(pk=item_id, round=rnd)
        # locked like a draw locks the pool: the cap is checked on a load no other draw is changing
        expert = (Expert.objects.select_for_update(of=("self",)).select_related("organization", "user")
                  .get(pk=expert_id))
        reasons = why_not(rnd, item, expert, now=now)
        if reasons:
            raise InvalidInput(
                [_("不能指定%(name)s评审此项：") % {"name": expert.name} + "；".join(reasons)], code="conflict"
            )
        a = affinity(item, expert) or 0.0
        draw = Draw.objects.create(round=rnd, method=Draw.Method.MANUAL, created_by=actor,
                                   summary={"items": 1, "invited": 1, "item": item.pk, "expert": expert.pk})
        (assignment,) = _invite(rnd, draw, [(item, expert.pk, a)], now)
        record_audit(actor=actor, verb="assign_manual", target=rnd,
                     data={"draw": draw.pk, "item": item.pk, "expert": expert.pk})
    return assignment


# ---- replacement -----------------------------------------------------------------------------------------


def replace_assignment(*, assignment_id: int, now=None, overdue: bool = False) -> Assignment | None:
    """After a decline, an expiry or a cancellation (the expert left the pool, or ``overdue``: their review was
    not submitted in time, see reassign_overdue_review): the next eligible alternate, else a new random draw for
    that item.

    Once the round's review deadline has passed nobody is drawn, except for an overdue review and for a late
    replacement (invited after the deadline) that lapses: its successor gets its own time (reviews.review_due_at).

    Idempotent (a task may run twice): an assignment is replaced once. The officer is told either way.
    """
    now = now or timezone.now()
    with transaction.atomic():
        old = Assignment.objects.select_related("round", "item", "expert").get(pk=assignment_id)
        if old.state not in REPLACEABLE or old.replaced_at is not None:
            return None  # replaced already (checked again below, under the lock)
        rnd = _lock_round(old.round_id)
        late = overdue or old.invited_at >= rnd.review_deadline
        live = rnd.state == R.REVIEWING and (now < rnd.review_deadline or late)
        pool = lock_active_experts() if live else None  # before the assignment: round → experts → assignments
        old = Assignment.objects.select_for_update(of=("self",)).select_related("item", "expert").get(pk=assignment_id)
        if old.state not in REPLACEABLE or old.replaced_at is not None:
            return None
        old.replaced_at = now
        new = None
        officer_note = ""
        if live:
            until = review_due_at(invited_at=now, review_deadline=rnd.review_deadline)
            el = eligibility(rnd, [old.item], now=now, experts=pool, until=until)
            if el.need[old.item.pk] > 0:
                eligible = dict(el.candidates[old.item.pk])
                for alt in Alternate.objects.filter(item=old.item, used_at__isnull=True).order_by("rank", "id"):
                    if alt.expert_id in eligible:
                        draw = Draw.objects.create(
                            round=rnd, method=Draw.Method.REPLACEMENT, summary={"item": old.item.pk, "from": "alternate",
                                                                               "replaces": old.pk},
                            note=_("备选专家第%(rank)d顺位") % {"rank": alt.rank},
                        )
                        (new,) = _invite(rnd, draw, [(old.item, alt.expert_id, eligible[alt.expert_id])], now)
                        alt.used_at = now
                        alt.save(update_fields=["used_at"])
                        break
                if new is None and eligible:
                    seed = secrets.randbelow(2**31)
                    el.need[old.item.pk] = 1
                    result, expert_ids = solve(Draw.Method.RANDOM, el, [old.item], seed)
                    chosen = result.assignments[0]
                    if chosen:
                        pk = expert_ids[chosen[0]]
                        draw = Draw.objects.create(
                            round=rnd, method=Draw.Method.REPLACEMENT, seed=seed,
                            candidates=draw_snapshot(el, [old.item]),
                            summary={"item": old.item.pk, "from": "draw", "replaces": old.pk},
                            note=_("备选专家已用尽，重新随机抽取"),
                        )
                        (new,) = _invite(rnd, draw, [(old.item, pk, eligible[pk])], now)
                if new is None:
                    officer_note = _("没有符合条件的专家可替补，请人工指定。")
        old.replacement = new
        old.save(update_fields=["replaced_at", "replacement", "updated_at"])
        record_audit(actor=None, verb="replace", target=old,
                     data={"replacement": new.pk if new else None, "expert": new.expert_id if new else None})
        what = {AS.DECLINED: _("谢绝"), AS.EXPIRED: _("逾期未答复")}.get(old.state, _("因专家状态变更不再"))
        if overdue:
            what = _("逾期未提交")
        if new is not None:
            body = _("%(expert)s %(what)s评审“%(item)s”，已由 %(new)s 替补。") % {
                "expert": old.expert.name, "what": what, "item": old.item, "new": new.expert.name}
            kind = MessageKind.REVIEW_REPLACED
        else:
            body = _("%(expert)s %(what)s评审“%(item)s”。") % {"expert": old.expert.name, "what": what,
                                                              "item": old.item} + officer_note
            kind = MessageKind.REVIEW_SHORTFALL if officer_note else MessageKind.REVIEW_INVITATION_DECLINED
        notify(
            [rnd.created_by],
            kind=kind,
            title=_("评审专家变动：%(round)s") % {"round": rnd.name},
            body=body,
            link=reverse("experts:round_detail", args=[rnd.pk]),
            target=rnd,
            dedupe_key=f"assignment:{old.pk}:replaced",
        )
    return new


def reassign_overdue_review(*, assignment_id: int, due_at: datetime.datetime | None = None,
                            now=None) -> Assignment | None:
    """逾期改派 (the review_due obligation's automatic action, experts.obligations): an accepted review not submitted
    by its deadline is cancelled (reviews.cancel_overdue_review: the expert is told, the draft kept) and replaced
    the way a declined invitation is (replace_assignment: an eligible alternate, else a new random draw, with the
    same 回避, availability and cap rules). The replacement has its own deadline (reviews.review_due_at).

    When no other expert is eligible, the expert keeps the review (a late review is better than none), the
    officer is told (评审专家不足) and the 督办 ladder goes on. Returns the new assignment, or None when nothing
    was reassigned. Idempotent: a review already submitted, cancelled or reassigned is left alone.
    """
    now = now or timezone.now()
    with transaction.atomic():
        a = Assignment.objects.select_related("round").get(pk=assignment_id)
        if overdue_refusal(a, now, due_at):
            return None
        rnd = _lock_round(a.round_id)  # lock order: round → experts → assignments
        pool = lock_active_experts()
        a = (Assignment.objects.select_for_update(of=("self",)).select_related("round", "item", "expert")
             .get(pk=assignment_id))
        if overdue_refusal(a, now, due_at):
            return None
        until = review_due_at(invited_at=now, review_deadline=rnd.review_deadline)
        el = eligibility(rnd, [a.item], now=now, experts=pool, until=until)
        if not el.candidates[a.item.pk]:
            record_audit(actor=None, verb="reassign_shortfall", target=a, data={"item": a.item.pk})
            notify(
                [rnd.created_by],
                kind=MessageKind.REVIEW_SHORTFALL,
                title=_("评审专家不足：%(round)s") % {"round": rnd.name},
                body=_("%(expert)s 评审“%(item)s”已逾期未提交，但没有符合条件的专家可改派，仍由其继续评审。"
                       "请督促或人工指定。") % {"expert": a.expert.name, "item": a.item},
                link=reverse("experts:round_detail", args=[rnd.pk]),
                target=rnd,
                dedupe_key=f"assignment:{a.pk}:overdue_shortfall",
            )
            return None
        cancel_overdue_review(assignment_id=a.pk, due_at=due_at, now=now)
        return replace_assignment(assignment_id=a.pk, now=now, overdue=True)

"""Reads scoped to what the user may see: the expert sees their own invitations and, once accepted, the
material of what they review; the bureau sees rounds, conflicts, progress and rankings; the public sees
立项 lists under 公示."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, CharField, Count, Prefetch, Q, QuerySet, When
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from accounts.roles import Role
from accounts.validators import normalize_id_number
from projects.models import (
    AcceptanceReport,
    Application,
    Attachment,
    AttachmentKind,
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeTarget,
    CheckpointAttachment,
    MidtermReport,
    Partner,
    PerformanceTarget,
    ProjectMilestone,
    TeamMember,
)

from .aggregation import ItemScore, score_item
from .models import (
    Assignment,
    Draw,
    Expert,
    FundingList,
    FundingListEntry,
    Objection,
    Review,
    ReviewItem,
    ReviewRound,
    Score,
)

AS = Assignment.State
#: an item needs this many submitted reviews to be ranked (and to go on a 立项 list)
MIN_REVIEWS = 3


def is_bureau(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.has_role(Role.OFFICER)
                                           or user.has_role(Role.SUPERVISOR)))


def expert_of(user) -> Expert | None:
    if not user.is_authenticated:
        return None
    return Expert.objects.filter(user=user).first()


# ---- the expert's own view --------------------------------------------------------------------------


def assignments_for_expert(user) -> QuerySet[Assignment]:
    """Every invitation of the user's expert profile (none for anyone else)."""
    if not user.is_authenticated or not user.has_role(Role.EXPERT):
        return Assignment.objects.none()
    return (
        Assignment.objects.filter(expert__user=user)
        .select_related("round", "item", "item__panel")
        .order_by("-invited_at", "-id")
    )


def invitation_for_expert(user, assignment_id) -> Assignment:
    """One of the user's invitations, in any state (404 otherwise)."""
    try:
        return assignments_for_expert(user).get(pk=assignment_id)
    except (Assignment.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def review_task_for_expert(user, assignment_id) -> Assignment:
    """An accepted (or submitted) assignment of the user: only then may the material be read (404 otherwise)."""
    try:
        return (
            assignments_for_expert(user)
            .filter(state__in=[AS.ACCEPTED, AS.SUBMITTED])
            .select_related("round__call", "round__challenge", "commitment")
            .prefetch_related("round__criteria")
            .get(pk=assignment_id)
        )
    except (Assignment.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


#: attachment kinds an expert may open in a blind round: none of them is meant to name the applicant
#: (no business licence, financial statements, cooperation agreements, qualifications…)
BLIND_ATTACHMENT_KINDS = (AttachmentKind.FEASIBILITY, AttachmentKind.ETHICS, AttachmentKind.OTHER)


def review_attachments(assignment: Assignment) -> QuerySet[Attachment]:
    """The attachments the expert of an accepted assignment may open: not removed, and in a blind round only
    the kinds of ``BLIND_ATTACHMENT_KINDS``."""
    qs = Attachment.objects.filter(removed_at__isnull=True).order_by("kind", "id")
    if assignment.round.blind:
        qs = qs.filter(kind__in=BLIND_ATTACHMENT_KINDS)
    return qs


def _application_subject(assignment: Assignment) -> bool:
    return assignment.item.subject_type_id == ContentType.objects.get_for_model(Application).pk


def _targets_prefetch(lookup: str) -> Prefetch:
    return Prefetch(lookup, queryset=ChallengeTarget.objects.order_by("position", "id"))


def _application_material(assignment: Assignment) -> QuerySet[Application]:
    return Application.objects.select_related("organization", "call__program").prefetch_related(
        Prefetch("team_members", queryset=TeamMember.objects.order_by("position", "id")),
        Prefetch("partners", queryset=Partner.objects.order_by("position", "id")),
        Prefetch("targets", queryset=PerformanceTarget.objects.order_by("position", "id")),
        "budget_lines",
        Prefetch("attachments", queryset=review_attachments(assignment), to_attr="review_attachments"),
    )


def _need_material(assignment: Assignment) -> QuerySet[Challenge]:
    """论证: the need itself with its targets (the poster's name is the template's to hide in a blind round)."""
    return Challenge.objects.select_related("organization", "program").prefetch_related(_targets_prefetch("targets"))


def _bid_material(assignment: Assignment) -> QuerySet[Bid]:
    """方案评审: the bid's plan, foundation, milestones, team and consortium, with the challenge's targets."""
    return Bid.objects.select_related("organization", "challenge__program").prefetch_related(
        _targets_prefetch("challenge__targets"),
        Prefetch("partners", queryset=BidPartner.objects.order_by("position", "id")),
        Prefetch("members", queryset=BidMember.objects.order_by("position", "id")),
        Prefetch("milestones", queryset=BidMilestone.objects.order_by("position", "id")),
    )


def _milestone_material(assignment: Assignment) -> QuerySet[ProjectMilestone]:
    """里程碑考核: the project's milestone and its report, with the challenge's targets."""
    return ProjectMilestone.objects.select_related(
        "project__organization", "project__challenge__program", "project__bid").prefetch_related(
        _targets_prefetch("project__challenge__targets"))


def checkpoint_attachments() -> QuerySet[CheckpointAttachment]:
    """The files of a 中期报告 or 验收申请 an assigned expert may open: those of the first submission (the one a round
    reviews; a rectification is judged by the officer), not removed. In a blind round too: they are the material
    under review (the page shows them under a neutral name, not the uploaded one)."""
    return CheckpointAttachment.objects.filter(removed_at__isnull=True, attempt=1).order_by("kind", "id")


def _checkpoint_material(model):
    def material(assignment: Assignment):
        """中期检查 / 验收评审: the report with its project (and the call), its files."""
        return model.objects.select_related("project__organization", "project__call__program").prefetch_related(
            Prefetch("attachments", queryset=checkpoint_attachments(), to_attr="review_attachments"))

    return material


#: per round kind: the subject's model and the queryset of what the review page shows
REVIEW_MATERIAL = {
    ReviewRound.Kind.APPLICATION: (Application, _application_material),
    ReviewRound.Kind.NEED: (Challenge, _need_material),
    ReviewRound.Kind.BID: (Bid, _bid_material),
    ReviewRound.Kind.MILESTONE: (ProjectMilestone, _milestone_material),
    ReviewRound.Kind.MIDTERM: (MidtermReport, _checkpoint_material(MidtermReport)),
    ReviewRound.Kind.ACCEPTANCE: (AcceptanceReport, _checkpoint_material(AcceptanceReport)),
}


def review_material(assignment: Assignment):
    """What an accepted (or submitted) assignment reviews, by the round's kind: the Application, the Challenge
    (需求论证), the Bid (方案评审), the ProjectMilestone (里程碑考核), the MidtermReport or the AcceptanceReport, with everything the review page shows, in a
    fixed number of queries. Call with an assignment from ``review_task_for_expert`` only."""
    if assignment.state not in (AS.ACCEPTED, AS.SUBMITTED):
        raise Http404
    model, material = REVIEW_MATERIAL.get(assignment.round.kind, (None, None))
    if model is None or assignment.item.subject_type_id != ContentType.objects.get_for_model(model).pk:
        raise Http404
    try:
        return material(assignment).get(pk=assignment.item.subject_id)
    except model.DoesNotExist:
        raise Http404 from None


def review_attachment_for_expert(user, assignment_id, attachment_id) -> tuple[Assignment, Attachment]:
    """One attachment of the application of the user's accepted assignment (404 otherwise: not theirs, not
    accepted, removed, or of a kind a blind round hides)."""
    assignment = review_task_for_expert(user, assignment_id)
    if not _application_subject(assignment):
        raise Http404
    try:
        attachment = review_attachments(assignment).get(pk=attachment_id, application_id=assignment.item.subject_id)
    except (Attachment.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    return assignment, attachment


def checkpoint_attachment_for_expert(user, assignment_id, attachment_id) -> tuple[Assignment, CheckpointAttachment]:
    """One file of the 中期报告 or 验收申请 of the user's accepted (or submitted) assignment (404 otherwise: not
    theirs, not accepted, not a checkpoint round, another report's file, or removed)."""
    assignment = review_task_for_expert(user, assignment_id)
    kind = assignment.round.kind
    if kind not in ReviewRound.CHECKPOINT_KINDS:
        raise Http404
    model = REVIEW_MATERIAL[kind][0]
    if assignment.item.subject_type_id != ContentType.objects.get_for_model(model).pk:
        raise Http404
    report_field = "midterm_id" if kind == ReviewRound.Kind.MIDTERM else "acceptance_id"
    try:
        attachment = checkpoint_attachments().get(pk=attachment_id, **{report_field: assignment.item.subject_id})
    except (CheckpointAttachment.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None
    return assignment, attachment


def submitted_reviews_for_expert(user) -> QuerySet[Assignment]:
    """The user's submitted reviews, newest first, with their totals (history page)."""
    return (
        assignments_for_expert(user)
        .filter(state=AS.SUBMITTED)
        .select_related("review")
        .order_by("-submitted_at", "-id")
    )


def review_of(assignment: Assignment) -> Review | None:
    try:
        review = Review.objects.prefetch_related(Prefetch("scores", queryset=Score.objects.select_related("criterion"))
                                                 ).get(assignment=assignment)
    except Review.DoesNotExist:
        return None
    review.assignment = assignment  # the caller's, with its round: no query for recommendation_label
    return review


# ---- the bureau's view ---------------------------------------------------------------------------------


def rounds_visible_to(user) -> QuerySet[ReviewRound]:
    if not is_bureau(user):
        return ReviewRound.objects.none()
    return ReviewRound.objects.select_related("call", "challenge", "created_by").annotate(
        item_count=Count("items", distinct=True)
    ).order_by("-created_at", "-id")


def round_for(user, round_id) -> ReviewRound:
    try:
        return rounds_visible_to(user).get(pk=round_id)
    except (ReviewRound.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def experts_visible_to(user) -> QuerySet[Expert]:
    if not is_bureau(user):
        return Expert.objects.none()
    return Expert.objects.select_related("user", "organization").order_by("name", "id")


def pool_list(user, *, status: str = "", discipline: str = "", q: str = "") -> QuerySet[Expert]:
    """The pool page: pending registrations first, then by name; filtered by status, a discipline-code prefix
    (any of the expert's codes) and a search over name, workplace, title, keywords and the exact ID number."""
    qs = experts_visible_to(user)
    if status:
        qs = qs.filter(status=status)
    if discipline:
        # discipline_codes is a JSON list of strings: '"520' in its text matches every code starting 520
        qs = qs.alias(codes_text=Cast("discipline_codes", output_field=CharField())).filter(
            codes_text__contains=f'"{discipline}')
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(workplace__icontains=q) | Q(title__icontains=q)
                       | Q(keywords__icontains=q) | Q(id_number=normalize_id_number(q)))
    return qs.alias(pending_first=Case(When(status=Expert.Status.PENDING, then=0), default=1)).order_by(
        "pending_first", "name", "id")


def pool_status_counts(user) -> dict[str, int]:
    return dict(experts_visible_to(user).order_by().values_list("status").annotate(n=Count("id")))


def expert_for(user, pk) -> Expert:
    try:
        return experts_visible_to(user).get(pk=pk)
    except (Expert.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def expert_assignments(expert: Expert) -> QuerySet[Assignment]:
    """An expert's review history (the bureau's view), newest first."""
    return (Assignment.objects.filter(expert=expert).select_related("round", "item", "review")
            .order_by("-invited_at", "-id"))


def round_progress(rnd: ReviewRound) -> list[dict]:
    """Per item: how many invitations are in each state (two queries however many items)."""
    items = list(rnd.items.select_related("panel").order_by("panel__discipline_prefix", "id"))
    counts = defaultdict(lambda: defaultdict(int))
    for row in rnd.assignments.values("item_id", "state").annotate(n=Count("id")):
        counts[row["item_id"]][row["state"]] = row["n"]
    out = []
    for item in items:
        c = counts[item.pk]
        active = c[AS.INVITED] + c[AS.ACCEPTED] + c[AS.SUBMITTED]
        out.append({"item": item, "counts": dict(c), "active": active, "submitted": c[AS.SUBMITTED],
                    "missing": max(0, rnd.experts_per_item - active)})
    return out


def item_assignments(rnd: ReviewRound) -> QuerySet[Assignment]:
    return rnd.assignments.select_related("expert", "item", "draw").order_by("item_id", "invited_at", "id")


def draws_of(rnd: ReviewRound) -> QuerySet[Draw]:
    return rnd.draws.select_related("created_by", "panel").order_by("-created_at", "-id")


@dataclass
class RankingRow:
    rank: int | None
    item: ReviewItem
    result: ItemScore
    requested: Decimal
    cumulative: Decimal
    within_budget: bool
    recommendations: dict[str, int] = field(default_factory=dict)
    #: expert names flagged for deviating from the others (expert id → (name, total, others' mean, gap))
    deviations: list[tuple[str, Decimal, Decimal, Decimal]] = field(default_factory=list)

    @property
    def insufficient(self) -> bool:
        return self.result.count < MIN_REVIEWS


def ranking(rnd: ReviewRound) -> list[RankingRow]:
    """The items ranked by their aggregated score (the round's method), with the running total of the fiscal
    request against the call budget. Items with fewer than three reviews follow, unranked and not counted in the
    running total (they cannot go on the 立项 list); items without scores come last. Two queries."""
    items = list(rnd.items.all())
    totals = defaultdict(dict)
    recs = defaultdict(lambda: defaultdict(int))
    names = {}
    for a in (Assignment.objects.filter(round=rnd, state=AS.SUBMITTED)
              .select_related("review", "expert").only("item_id", "expert_id", "expert__name", "review__total",
                                                       "review__recommendation")):
        totals[a.item_id][a.expert_id] = a.review.total
        recs[a.item_id][a.review.recommendation] += 1
        names[a.expert_id] = a.expert.name
    scored = []
    for item in items:
        result = score_item(rnd.aggregation, totals[item.pk], dispersion_threshold=rnd.dispersion_threshold,
                            deviation_threshold=rnd.deviation_threshold)
        scored.append((item, result))
    def ranked(result: ItemScore) -> bool:
        return result.score is not None and result.count >= MIN_REVIEWS

    scored.sort(key=lambda p: (p[1].score is None, not ranked(p[1]), -(p[1].score or 0), p[1].std_dev, p[0].pk))
    budget = ranking_budget(rnd)
    rows, cumulative, rank = [], Decimal("0.00"), 0
    for item, result in scored:
        is_ranked = ranked(result)
        if is_ranked:
            rank += 1
            cumulative += item.requested_amount
        rows.append(RankingRow(
            rank=rank if is_ranked else None,
            item=item,
            result=result,
            requested=item.requested_amount,
            cumulative=cumulative,
            within_budget=is_ranked and (budget is None or cumulative <= budget),
            recommendations=dict(recs[item.pk]),
            deviations=[(names[eid], *vals) for eid, vals in result.deviations.items()],
        ))
    return rows


def ranking_budget(rnd: ReviewRound) -> Decimal | None:
    """The budget a ranking is measured against: the call's for an application round; none for the others (a
    checkpoint round scores projects already funded; a 揭榜 round belongs to no call)."""
    if rnd.kind == ReviewRound.Kind.APPLICATION and rnd.call_id:
        return rnd.call.total_budget
    return None


def item_scores(rnd: ReviewRound) -> dict[int, tuple[Decimal | None, int]]:
    """Each item's subject id → (aggregated score by the round's method, number of submitted reviews): what a
    closing round hands back to the subject's app (a 揭榜 bid, need or milestone)."""
    return {row.item.subject_id: (row.result.score, row.result.count) for row in ranking(rnd)}


def expert_evaluation(experts=None) -> list[dict]:
    """Per expert: invitations, on-time rate, decline rate, mean deviation from the others' mean."""
    qs = experts if experts is not None else Expert.objects.all()
    experts = list(qs.order_by("name", "id"))
    stats = {e.pk: {"expert": e, "invited": 0, "answered": 0, "declined": 0, "expired": 0, "submitted": 0,
                    "on_time": 0, "deviation_sum": Decimal(0), "deviation_n": 0} for e in experts}
    rows = Assignment.objects.filter(expert__in=experts).values_list(
        "expert_id", "state", "submitted_at", "round__review_deadline", "item_id")
    item_ids = set()
    for expert_id, state, submitted_at, deadline, item_id in rows:
        s = stats[expert_id]
        s["invited"] += 1
        # the decline rate is over invitations whose outcome is known: not those still open or cancelled
        if state not in (AS.INVITED, AS.CANCELLED):
            s["answered"] += 1
        if state == AS.DECLINED:
            s["declined"] += 1
        elif state == AS.EXPIRED:
            s["expired"] += 1
        elif state == AS.SUBMITTED:
            s["submitted"] += 1
            item_ids.add(item_id)
            if submitted_at and submitted_at <= deadline:
                s["on_time"] += 1
    by_item = defaultdict(dict)
    for item_id, expert_id, total in Assignment.objects.filter(item_id__in=item_ids, state=AS.SUBMITTED).values_list(
        "item_id", "expert_id", "review__total"
    ):
        by_item[item_id][expert_id] = total
    for totals in by_item.values():
        if len(totals) < 2:
            continue
        whole = sum(totals.values(), Decimal(0))
        for expert_id, total in totals.items():
            if expert_id in stats:
                others = (whole - total) / (len(totals) - 1)
                stats[expert_id]["deviation_sum"] += abs(total - others)
                stats[expert_id]["deviation_n"] += 1
    out = []
    for s in stats.values():
        answered = s["answered"]
        s["on_time_rate"] = (Decimal(s["on_time"]) / s["submitted"] * 100).quantize(Decimal("0.1")) if s["submitted"] else None
        s["decline_rate"] = (
            (Decimal(s["declined"] + s["expired"]) / answered * 100).quantize(Decimal("0.1")) if answered else None
        )
        s["mean_deviation"] = (s["deviation_sum"] / s["deviation_n"]).quantize(Decimal("0.01")) if s["deviation_n"] else None
        out.append(s)
    return out


# ---- 立项 lists and 公示 ----------------------------------------------------------------------------------


def funding_list_entries(fl: FundingList) -> QuerySet[FundingListEntry]:
    return fl.entries.select_related("item").order_by("rank", "id")


def public_funding_lists() -> QuerySet[FundingList]:
    """Lists under 公示 or approved after it (the public page)."""
    return (
        FundingList.objects.filter(state__in=[FundingList.State.PUBLICIZING, FundingList.State.APPROVED])
        .select_related("round", "round__call")
        .order_by("-publicity_start", "-id")
    )


def public_funding_list(pk) -> FundingList:
    try:
        return public_funding_lists().get(pk=pk)
    except (FundingList.DoesNotExist, ValueError, OverflowError):
        raise Http404 from None


def objections_of(fl: FundingList) -> QuerySet[Objection]:
    return fl.objections.select_related("entry__item", "resolved_by").order_by("-created_at", "-id")


def funding_lists_awaiting_signoff() -> QuerySet[FundingList]:
    return FundingList.objects.filter(state=FundingList.State.PENDING_SIGNOFF).select_related("round", "built_by")


def publicity_open(fl: FundingList, now=None) -> bool:
    today = timezone.localdate(now or timezone.now())
    return (fl.state == FundingList.State.PUBLICIZING and fl.publicity_start is not None
            and fl.publicity_start <= today <= fl.publicity_end)


def open_objection_count(fl: FundingList) -> int:
    return fl.objections.filter(state=Objection.State.OPEN).count()




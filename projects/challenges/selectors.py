"""Reads for 揭榜挂帅, each scoped to what the user may see.

- The public sees published challenges (揭榜中 and later), their targets and the answered 答疑, never bids.
- The poster's users see their own needs in every state and, once the bids are under review, the bids of the
  current publication (to confirm the winners); never drafts, withdrawn bids or earlier publications' bids.
- A bidder's users see their own bids only: other bidders' plans are never visible to them.
- Officers, supervisors and superusers see every need that has been submitted and every submitted bid.
- The winners' projects: the team's organisation, the poster's organisation and the bureau.
"""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.roles import Role

from ..models import Project
from .models import (
    Bid,
    BidMember,
    BidMilestone,
    BidPartner,
    Challenge,
    ChallengeAcceptance,
    ChallengeQuestion,
    ChallengeTarget,
    ProjectMilestone,
)

CH = Challenge.State
B = Bid.State
BUREAU_ROLES = (Role.OFFICER, Role.SUPERVISOR)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_bureau(user) -> bool:
    return _active(user) and (user.is_superuser or any(user.has_role(r) for r in BUREAU_ROLES))


def is_org_user(user) -> bool:
    return _active(user) and bool(user.organization_id) and (
        user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN))


def _with_targets(qs: QuerySet[Challenge]) -> QuerySet[Challenge]:
    return qs.select_related("organization", "program").prefetch_related(
        Prefetch("targets", queryset=ChallengeTarget.objects.order_by("position", "id")))


# ---- the public 榜单 ---------------------------------------------------------------------------------------


def public_challenges(*, field: str = "", state: str = "", q: str = "") -> QuerySet[Challenge]:
    qs = _with_targets(Challenge.objects.filter(state__in=Challenge.PUBLIC_STATES))
    if field:
        qs = qs.filter(field=field)
    if state and state in Challenge.PUBLIC_STATES:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(keywords__icontains=q) | Q(number__icontains=q))
    # challenges still open for bids first, soonest deadline first; then the others, newest first
    still_open = Case(When(state=CH.PUBLISHED, then=Value(0)), default=Value(1), output_field=IntegerField())
    deadline = Case(When(state=CH.PUBLISHED, then=F("bid_deadline")), default=None)
    return qs.annotate(kj_open=still_open, kj_deadline=deadline).order_by(
        "kj_open", F("kj_deadline").asc(nulls_last=True), "-published_at", "-id")


def public_challenge(pk) -> Challenge:
    return get_object_or_404(_with_targets(Challenge.objects.filter(state__in=Challenge.PUBLIC_STATES)), pk=pk)


def public_questions(challenge: Challenge) -> QuerySet[ChallengeQuestion]:
    """Answered questions, without who asked."""
    return challenge.questions.filter(state=ChallengeQuestion.State.ANSWERED).order_by("answered_at", "id")


def questions_for(user, challenge: Challenge) -> QuerySet[ChallengeQuestion]:
    """Every question for the bureau and the poster; the public ones plus the user's organisation's own for a
    bidder."""
    qs = challenge.questions.select_related("organization", "asked_by", "answered_by").order_by("asked_at", "id")
    if is_bureau(user) or (is_org_user(user) and user.organization_id == challenge.organization_id):
        return qs
    public = Q(state=ChallengeQuestion.State.ANSWERED)
    if is_org_user(user):
        return qs.filter(public | Q(organization_id=user.organization_id))
    return qs.filter(public)


# ---- the poster --------------------------------------------------------------------------------------------


def needs_of(user) -> QuerySet[Challenge]:
    """The needs the user's organisation posted."""
    if not is_org_user(user):
        return Challenge.objects.none()
    return _with_targets(Challenge.objects.filter(organization_id=user.organization_id)).order_by("-created_at", "-id")


def need_for_poster(user, pk) -> Challenge:
    return get_object_or_404(needs_of(user), pk=pk)


def question_for_poster(user, pk) -> ChallengeQuestion:
    """A 答疑 question on one of the user's organisation's challenges (to answer it)."""
    if not is_org_user(user):
        raise Http404
    return get_object_or_404(ChallengeQuestion.objects.select_related("challenge").filter(
        challenge__organization_id=user.organization_id), pk=pk)


def bids_for_poster(user, challenge: Challenge) -> QuerySet[Bid]:
    """The bids of the current publication the poster chooses among: only once they are under review."""
    if not (is_org_user(user) and user.organization_id == challenge.organization_id):
        return Bid.objects.none()
    if challenge.state not in (CH.REVIEWING, CH.AWARDED):
        return Bid.objects.none()
    return _bid_detail_qs(Bid.objects.filter(challenge=challenge, bid_round=challenge.bid_round,
                                             state__in=[B.REVIEWING, B.WON, B.LOST])).order_by(
        "-total_score", "-review_score", "id")


# ---- the bidder --------------------------------------------------------------------------------------------


def _bid_detail_qs(qs: QuerySet[Bid]) -> QuerySet[Bid]:
    return qs.select_related("organization", "challenge__organization", "challenge__program").prefetch_related(
        Prefetch("partners", queryset=BidPartner.objects.order_by("position", "id")),
        Prefetch("members", queryset=BidMember.objects.order_by("position", "id")),
        Prefetch("milestones", queryset=BidMilestone.objects.order_by("position", "id")),
    )


def bids_of(user) -> QuerySet[Bid]:
    """The bids of the user's own organisation."""
    if not is_org_user(user):
        return Bid.objects.none()
    return Bid.objects.filter(organization_id=user.organization_id).select_related(
        "challenge__organization").order_by("-created_at", "-id")


def bid_for_bidder(user, pk) -> Bid:
    if not is_org_user(user):
        raise Http404
    return get_object_or_404(_bid_detail_qs(Bid.objects.filter(organization_id=user.organization_id)), pk=pk)


def own_bid_for(user, challenge: Challenge) -> Bid | None:
    """The organisation's live bid on this publication, if any (for the 榜单's 我要揭榜 button)."""
    if not is_org_user(user):
        return None
    return Bid.objects.filter(challenge=challenge, bid_round=challenge.bid_round,
                              organization_id=user.organization_id).exclude(
        state__in=[B.WITHDRAWN, B.VOID]).first()


# ---- the bureau --------------------------------------------------------------------------------------------


def challenges_for_bureau(user, *, state: str = "", field: str = "", q: str = "") -> QuerySet[Challenge]:
    """Every need that reached the bureau (drafts are the poster's own)."""
    if not is_bureau(user):
        return Challenge.objects.none()
    qs = Challenge.objects.exclude(state=CH.DRAFT, submitted_at__isnull=True).select_related(
        "organization", "program")
    if state:
        qs = qs.filter(state=state)
    if field:
        qs = qs.filter(field=field)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q) | Q(organization__name__icontains=q))
    return qs.order_by("-submitted_at", "-id")


def challenge_for_bureau(user, pk) -> Challenge:
    return get_object_or_404(_with_targets(challenges_for_bureau(user)), pk=pk)


def bids_for_bureau(user, challenge: Challenge) -> QuerySet[Bid]:
    """Submitted bids of every publication of the challenge (never drafts)."""
    if not is_bureau(user):
        return Bid.objects.none()
    return _bid_detail_qs(Bid.objects.filter(challenge=challenge).exclude(state=B.DRAFT)).order_by(
        "-bid_round", "-total_score", "-review_score", "id")


# ---- the winners' projects ---------------------------------------------------------------------------------


def challenge_projects_visible_to(user) -> QuerySet[Project]:
    base = Project.objects.filter(challenge__isnull=False).select_related(
        "challenge__organization", "challenge__program", "organization", "bid")
    if not _active(user):
        return base.none()
    if is_bureau(user) or user.has_role(Role.FINANCE):
        return base
    if is_org_user(user):
        return base.filter(Q(organization_id=user.organization_id)
                           | Q(challenge__organization_id=user.organization_id))
    return base.none()


def challenge_project_for(user, pk) -> Project:
    # the 任务书 (funding's reverse one-to-one) in the same query, for the link on the project pages
    qs = challenge_projects_visible_to(user).select_related("agreement").prefetch_related(
        Prefetch("milestones", queryset=ProjectMilestone.objects.select_related("concluded_by").order_by("position")),
        Prefetch("challenge__targets", queryset=ChallengeTarget.objects.order_by("position", "id")),
    )
    return get_object_or_404(qs, pk=pk)


def challenge_milestone_for(user, pk) -> ProjectMilestone:
    """A milestone of a challenge project the user may see (404 otherwise)."""
    return get_object_or_404(ProjectMilestone.objects.filter(project__in=challenge_projects_visible_to(user)), pk=pk)


def projects_of_challenge(challenge: Challenge) -> QuerySet[Project]:
    """The winners' projects of a challenge, with their milestones (for the bureau's and the poster's pages)."""
    return Project.objects.filter(challenge=challenge).select_related("organization", "bid").prefetch_related(
        Prefetch("milestones", queryset=ProjectMilestone.objects.order_by("position"))).order_by("number")


def acceptance_of(project: Project) -> ChallengeAcceptance | None:
    return ChallengeAcceptance.objects.filter(project=project).first()


# ---- the audit log's scoping (activity.register_visibility) ------------------------------------------------


def challenges_visible_to(user) -> QuerySet[Challenge]:
    if is_bureau(user):
        return challenges_for_bureau(user)
    return needs_of(user)


def bids_visible_to(user) -> QuerySet[Bid]:
    if is_bureau(user):
        return Bid.objects.exclude(state=B.DRAFT)
    return bids_of(user)

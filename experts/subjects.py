"""What a review round needs to know about the thing it reviews.

A round reviews *subjects*: applications, the 中期报告 and 验收申请 of the projects established from them, 揭榜 needs
(论证), 揭榜 bids and the milestones of 揭榜 projects. Each
kind registers a ``SubjectAdapter`` that turns one subject into a ``SubjectProfile`` (who is behind it, for the
conflict rules; its discipline and keywords, for matching), says which subjects a round of that kind takes in
(``eligible(rnd)``), and hands the round's aggregated scores back to the subject's app when the round closes
(``record_results``): ``projects`` never imports ``experts``; the scores travel through these adapters.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.validators import normalize_credit_code, normalize_id_number
from projects.challenges import services as challenge_services
from projects.checkpoints import services as checkpoint_services
from projects.models import (
    AcceptanceReport,
    Application,
    AvoidanceRequest,
    Bid,
    BidMember,
    BidPartner,
    Challenge,
    MidtermReport,
    Partner,
    Project,
    ProjectMilestone,
    TeamMember,
)
from projects.services import budget_totals


def norm_name(value: str) -> str:
    """Names compared across records: no spaces, full-width brackets as half-width, case-folded."""
    value = "".join((value or "").split())
    return value.replace("（", "(").replace("）", ")").casefold()


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str  # normalised; may be empty


@dataclass
class SubjectProfile:
    """The facts the conflict rules and the matcher use. Organisation names and person names are normalised."""

    subject_id: int
    number: str
    title: str
    organization_name: str
    discipline_code: str
    keywords: str
    requested_amount: Decimal
    #: credit code → display name, for the applicant and every partner organisation
    organizations: dict[str, str] = field(default_factory=dict)
    organization_names: set[str] = field(default_factory=set)
    team: list[Person] = field(default_factory=list)
    #: 不适宜专家 the applicant asked to avoid: (normalised name, normalised workplace, reason)
    avoid: list[tuple[str, str, str]] = field(default_factory=list)
    #: when the team was fixed (the "last 3 years" of shared projects count back from here)
    as_of: datetime.date | None = None


class ApplicationSubjects:
    """Applications: the organisation and its partners, the team (leader included), 不适宜专家."""

    model = Application

    def eligible(self, rnd) -> QuerySet[Application]:
        """Applications a round of this call takes in: accepted at 形式审查, not yet decided."""
        return Application.objects.filter(call_id=rnd.call_id, state=Application.State.ACCEPTED).order_by("id")

    def record_results(self, rnd, results: dict[int, tuple[Decimal | None, int]]) -> None:
        """Applications are decided through the 立项 list, not at the round's close."""

    def queryset(self) -> QuerySet[Application]:
        return Application.objects.select_related("organization", "call").prefetch_related(
            Prefetch("partners", queryset=Partner.objects.order_by("position", "id")),
            Prefetch("team_members", queryset=TeamMember.objects.order_by("position", "id")),
            Prefetch("avoidance_requests", queryset=AvoidanceRequest.objects.order_by("position", "id")),
            "budget_lines",
        )

    def profile(self, app: Application) -> SubjectProfile:
        org = app.organization
        organizations = {normalize_credit_code(org.credit_code): org.name}
        names = {norm_name(org.name)}
        for partner in app.partners.all():
            organizations[normalize_credit_code(partner.credit_code)] = partner.name
            names.add(norm_name(partner.name))
        team = []
        if app.leader_name:
            team.append(Person(norm_name(app.leader_name), normalize_id_number(app.leader_id_number)))
        for member in app.team_members.all():
            team.append(Person(norm_name(member.name), normalize_id_number(member.id_number)))
        fiscal, _self = budget_totals(app)
        return SubjectProfile(
            subject_id=app.pk,
            number=app.number or "",
            title=app.title,
            organization_name=org.name,
            discipline_code=app.discipline_code,
            keywords=app.keywords,
            requested_amount=fiscal,
            organizations=organizations,
            organization_names=names,
            team=team,
            avoid=[(norm_name(a.name), norm_name(a.organization_name), a.reason) for a in app.avoidance_requests.all()],
            as_of=(timezone.localdate(app.submitted_at) if app.submitted_at else None),
        )

    def profiles(self, ids: Iterable[int]) -> dict[int, SubjectProfile]:
        return {app.pk: self.profile(app) for app in self.queryset().filter(pk__in=list(ids))}


def _bid_people(bid: Bid) -> list[Person]:
    team = []
    if bid.leader_name:
        team.append(Person(norm_name(bid.leader_name), normalize_id_number(bid.leader_id_number)))
    for m in bid.members.all():
        team.append(Person(norm_name(m.name), normalize_id_number(m.id_number)))
    return team


def _bid_profile(bid: Bid, *, subject_id: int, number: str, title: str, amount: Decimal) -> SubjectProfile:
    """A bid's lead and consortium members, its team, and the poster (an expert of the poster's organisation
    does not judge the teams competing for its challenge)."""
    org, poster = bid.organization, bid.challenge.organization
    organizations = {normalize_credit_code(org.credit_code): org.name,
                     normalize_credit_code(poster.credit_code): poster.name}
    names = {norm_name(org.name), norm_name(poster.name)}
    for p in bid.partners.all():
        organizations[normalize_credit_code(p.credit_code)] = p.name
        names.add(norm_name(p.name))
    return SubjectProfile(
        subject_id=subject_id, number=number, title=title, organization_name=org.name,
        discipline_code=bid.discipline_code or bid.challenge.discipline_code,
        keywords=" ".join(filter(None, [bid.keywords, bid.challenge.keywords])), requested_amount=amount,
        organizations=organizations, organization_names=names, team=_bid_people(bid),
        as_of=(timezone.localdate(bid.submitted_at) if bid.submitted_at else None),
    )


def _bid_queryset():
    return Bid.objects.select_related("organization", "challenge__organization").prefetch_related(
        Prefetch("partners", queryset=BidPartner.objects.order_by("position", "id")),
        Prefetch("members", queryset=BidMember.objects.order_by("position", "id")),
    )


class NeedSubjects:
    """揭榜需求论证: the need itself, while the bureau vets it. The poster is the party to avoid."""

    model = Challenge

    def eligible(self, rnd) -> QuerySet[Challenge]:
        return Challenge.objects.filter(pk=rnd.challenge_id, state=Challenge.State.VETTING)

    def profiles(self, ids: Iterable[int]) -> dict[int, SubjectProfile]:
        out = {}
        for c in Challenge.objects.select_related("organization").filter(pk__in=list(ids)):
            org = c.organization
            out[c.pk] = SubjectProfile(
                subject_id=c.pk, number=c.number or "", title=c.title, organization_name=org.name,
                discipline_code=c.discipline_code, keywords=c.keywords, requested_amount=c.subsidy_requested,
                organizations={normalize_credit_code(org.credit_code): org.name},
                organization_names={norm_name(org.name)},
                as_of=(timezone.localdate(c.submitted_at) if c.submitted_at else None),
            )
        return out

    def record_results(self, rnd, results) -> None:
        for pk, (score, count) in results.items():
            challenge_services.record_vetting_score(challenge_id=pk, score=score, reviews=count)


class BidSubjects:
    """揭榜方案评审: the bids of the challenge's current publication that are under review."""

    model = Bid

    def eligible(self, rnd) -> QuerySet[Bid]:
        return Bid.objects.filter(challenge_id=rnd.challenge_id, state=Bid.State.REVIEWING,
                                  challenge__state=Challenge.State.REVIEWING).order_by("id")

    def profiles(self, ids: Iterable[int]) -> dict[int, SubjectProfile]:
        return {
            b.pk: _bid_profile(b, subject_id=b.pk, number=b.number or "", title=b.title or b.challenge.title,
                               amount=b.amount)
            for b in _bid_queryset().filter(pk__in=list(ids))
        }

    def record_results(self, rnd, results) -> None:
        challenge_services.record_bid_review_scores(challenge_id=rnd.challenge_id, scores=results)


class MilestoneSubjects:
    """里程碑考核 by experts: the reported milestones of the challenge's running projects."""

    model = ProjectMilestone

    def eligible(self, rnd) -> QuerySet[ProjectMilestone]:
        return ProjectMilestone.objects.filter(project__challenge_id=rnd.challenge_id,
                                               project__state="established",
                                               state=ProjectMilestone.State.REPORTED).order_by("id")

    def profiles(self, ids: Iterable[int]) -> dict[int, SubjectProfile]:
        milestones = list(ProjectMilestone.objects.select_related("project").filter(pk__in=list(ids)))
        bids = {b.pk: b for b in _bid_queryset().filter(pk__in=[m.project.bid_id for m in milestones])}
        out = {}
        for m in milestones:
            bid = bids[m.project.bid_id]
            out[m.pk] = _bid_profile(
                bid, subject_id=m.pk, number=f"{m.project.number}-M{m.position}",
                title=f"{m.project.title} · {m.title}", amount=m.amount,
            )
        return out

    def record_results(self, rnd, results) -> None:
        challenge_services.record_milestone_expert_scores(scores=results)


class CheckpointSubjects:
    """中期检查 / 验收 by experts: the submitted reports (first submission, not yet scored) of the running projects
    of the round's call. Who is behind a report is who was behind the project's application (the organisation,
    its partners, the team, the experts it asked to avoid): the conflict rules apply as they did at 立项, with the
"last 3 years" counted back from the report's submission."""

    model: type[MidtermReport] | type[AcceptanceReport]
    report_kind: str

    def eligible(self, rnd) -> QuerySet:
        return self.model.objects.filter(
            project__call_id=rnd.call_id, project__application__isnull=False,
            project__state=Project.State.ESTABLISHED, state=self.model.State.SUBMITTED, attempt=1,
            expert_score__isnull=True,
        ).order_by("id")

    def profiles(self, ids: Iterable[int]) -> dict[int, SubjectProfile]:
        reports = list(self.model.objects.select_related("project").filter(pk__in=list(ids)))
        apps = ApplicationSubjects()
        by_app = {a.pk: a for a in apps.queryset().filter(pk__in=[r.project.application_id for r in reports])}
        out = {}
        for report in reports:
            project = report.project
            prof = apps.profile(by_app[project.application_id])
            prof.subject_id, prof.number, prof.title = report.pk, project.number, project.title
            prof.requested_amount = project.granted_amount
            # a shared project "in the last 3 years" counts back from the report, not from the old application
            if report.submitted_at:
                prof.as_of = timezone.localdate(report.submitted_at)
            out[report.pk] = prof
        return out

    def record_results(self, rnd, results) -> None:
        checkpoint_services.record_expert_scores(report_kind=self.report_kind, scores=results)


class MidtermSubjects(CheckpointSubjects):
    """中期检查评审: the submitted 中期报告 of the call's projects."""

    model = MidtermReport
    report_kind = "midterm"


class AcceptanceSubjects(CheckpointSubjects):
    """验收评审: the submitted 验收申请 of the call's projects."""

    model = AcceptanceReport
    report_kind = "acceptance"


ADAPTERS = {
    "application": ApplicationSubjects(),
    "need": NeedSubjects(),
    "bid": BidSubjects(),
    "milestone": MilestoneSubjects(),
    "midterm": MidtermSubjects(),
    "acceptance": AcceptanceSubjects(),
}


def adapter_for(kind: str):
    return ADAPTERS[kind]

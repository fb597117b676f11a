"""What a review round needs to know about the thing it reviews.

A round reviews *subjects*: applications today, 揭榜 bids and checkpoints later. Each kind registers a
``SubjectAdapter`` that turns one subject into a ``SubjectProfile`` (who is behind it, for the conflict
rules; its discipline and keywords, for matching) and says which subjects a round of that kind takes in.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.validators import normalize_credit_code, normalize_id_number
from projects.models import Application, AvoidanceRequest, Partner, TeamMember
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

    def eligible(self, *, call) -> QuerySet[Application]:
        """Applications a round of this call takes in: accepted at 形式审查, not yet decided."""
        return Application.objects.filter(call=call, state=Application.State.ACCEPTED).order_by("id")

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


ADAPTERS = {"application": ApplicationSubjects()}


def adapter_for(kind: str):
    return ADAPTERS[kind]

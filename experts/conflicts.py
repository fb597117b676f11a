"""回避: conflict-of-interest rules. Each rule is one function with its own reason text.

A rule takes an ``ExpertFacts`` and a ``SubjectProfile`` and returns the reason the expert must be kept
off that subject, or ``None``. ``conflicts(expert, subject)`` runs every rule and returns all reasons, so
the officer sees each one. Every place that can put an expert on a review (random draw, optimal
assignment, manual assignment, replacement) goes through ``ConflictChecker``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.validators import normalize_credit_code, normalize_id_number
from projects.models import Application, Project, TeamMember

from .models import DeclaredRelation, Expert
from .subjects import SubjectProfile, norm_name

#: shared team membership counts back this many years (from the subject's submission)
COLLABORATION_YEARS = 3


@dataclass
class ExpertFacts:
    expert_id: int
    name: str  # normalised
    id_number: str  # normalised
    workplace: str  # normalised
    credit_codes: set[str] = field(default_factory=set)
    related_codes: dict[str, str] = field(default_factory=dict)  # credit code → relation text
    related_org_names: dict[str, str] = field(default_factory=dict)  # normalised name → relation text
    related_person_ids: dict[str, str] = field(default_factory=dict)
    related_person_names: dict[str, str] = field(default_factory=dict)  # declared without an ID number
    related_id_person_names: dict[str, str] = field(default_factory=dict)  # declared with one, by name
    #: (co-member id number, project established date, project number) from the system's projects
    collaborations: list[tuple[str, datetime.date, str]] = field(default_factory=list)


# ---- the rules ---------------------------------------------------------------------------------


def same_organization(expert: ExpertFacts, subject: SubjectProfile) -> str | None:
    """The expert works for the applicant or one of its partner organisations."""
    for code in expert.credit_codes:
        if code in subject.organizations:
            return _("与申报单位或合作单位（%(org)s）为同一单位") % {"org": subject.organizations[code]}
    if expert.workplace and expert.workplace in subject.organization_names:
        return _("工作单位与申报单位或合作单位同名")
    return None


def on_team(expert: ExpertFacts, subject: SubjectProfile) -> str | None:
    """The expert is the leader or a member of the subject's team."""
    for person in subject.team:
        if person.id_number and person.id_number == expert.id_number:
            return _("本人为该项目负责人或项目组成员")
    return None


def declared_relation(expert: ExpertFacts, subject: SubjectProfile) -> str | None:
    """An organisation or person the expert declared a relationship with is behind the subject."""
    if not (expert.related_codes or expert.related_org_names or expert.related_person_ids
            or expert.related_person_names):
        return None  # most experts declared nothing
    for code, relation in expert.related_codes.items():
        if code in subject.organizations:
            return _("本人申报的利益关系：%(org)s（%(rel)s）") % {"org": subject.organizations[code], "rel": relation}
    for name, relation in expert.related_org_names.items():
        if name in subject.organization_names:
            return _("本人申报的利益关系：单位（%(rel)s）") % {"rel": relation}
    for person in subject.team:
        # by ID number where both sides have one; by name where either side lacks it
        relation = (person.id_number and expert.related_person_ids.get(person.id_number)) or (
            expert.related_person_names.get(person.name)
        ) or (not person.id_number and expert.related_id_person_names.get(person.name))
        if relation:
            return _("本人申报的利益关系：项目组成员（%(rel)s）") % {"rel": relation}
    return None


def applicant_avoidance(expert: ExpertFacts, subject: SubjectProfile) -> str | None:
    """The applicant named the expert as 不适宜评审专家 (matched by name and workplace)."""
    for name, workplace, reason in subject.avoid:
        if name == expert.name and workplace and workplace == expert.workplace:
            return _("申报单位申请回避：%(reason)s") % {"reason": reason}
    return None


def recent_collaboration(expert: ExpertFacts, subject: SubjectProfile) -> str | None:
    """The expert shared a project team with a member of the subject's team in the last three years (counted
    back from the subject's submission; a project established since then counts too)."""
    if not expert.collaborations:
        return None
    as_of = subject.as_of or timezone.localdate()
    since = _years_before(as_of, COLLABORATION_YEARS)
    team_ids = {p.id_number for p in subject.team if p.id_number}
    for co_member, established, number in expert.collaborations:
        if co_member in team_ids and since <= established:
            return _("近三年与项目组成员共同承担项目（%(no)s）") % {"no": number}
    return None


Rule = Callable[[ExpertFacts, SubjectProfile], "str | None"]
RULES: tuple[Rule, ...] = (same_organization, on_team, declared_relation, applicant_avoidance, recent_collaboration)


def conflicts(expert: ExpertFacts, subject: SubjectProfile) -> list[str]:
    """Every reason the expert must not review the subject (empty: no conflict)."""
    return [reason for rule in RULES if (reason := rule(expert, subject))]


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# ---- gathering the facts ----------------------------------------------------------------------------


def expert_facts(experts: Iterable[Expert]) -> dict[int, ExpertFacts]:
    """The facts of many experts in a fixed number of queries (relations, then shared projects)."""
    experts = list(experts)
    facts: dict[int, ExpertFacts] = {}
    for e in experts:
        codes = set()
        if e.workplace_credit_code:
            codes.add(normalize_credit_code(e.workplace_credit_code))
        if e.organization_id and e.organization is not None:
            codes.add(normalize_credit_code(e.organization.credit_code))
        facts[e.pk] = ExpertFacts(
            expert_id=e.pk,
            name=norm_name(e.name),
            id_number=normalize_id_number(e.id_number),
            workplace=norm_name(e.workplace),
            credit_codes=codes,
        )
    # The organisation of the expert's own account counts too: a user of an applicant organisation who
    # registered as an expert works there, whatever workplace (or no credit code) the profile names.
    by_user = {e.user_id: e.pk for e in experts}
    for user_id, code in (get_user_model().objects.filter(pk__in=list(by_user), organization__isnull=False)
                          .values_list("pk", "organization__credit_code")):
        if code:
            facts[by_user[user_id]].credit_codes.add(normalize_credit_code(code))
    for rel in DeclaredRelation.objects.filter(expert_id__in=list(facts)):
        f = facts[rel.expert_id]
        if rel.kind == DeclaredRelation.Kind.ORGANIZATION:
            if rel.credit_code:
                f.related_codes[normalize_credit_code(rel.credit_code)] = rel.relation
            if rel.organization_name:
                f.related_org_names[norm_name(rel.organization_name)] = rel.relation
        else:
            if rel.person_id_number:
                f.related_person_ids[normalize_id_number(rel.person_id_number)] = rel.relation
                f.related_id_person_names[norm_name(rel.person_name)] = rel.relation
            else:
                f.related_person_names[norm_name(rel.person_name)] = rel.relation
    _add_collaborations(facts)
    return facts


def _add_collaborations(facts: dict[int, ExpertFacts]) -> None:
    """Teams of the system's projects (established in the last three years and a bit) the experts were on."""
    by_id = defaultdict(list)
    for f in facts.values():
        if f.id_number:
            by_id[f.id_number].append(f)
    if not by_id:
        return
    # a year of slack: the rule counts back from the subject's submission, which may lie in the past
    since = timezone.now() - datetime.timedelta(days=366 * (COLLABORATION_YEARS + 1))
    ids = list(by_id)
    app_ids = set(
        TeamMember.objects.filter(id_number__in=ids, application__project__established_at__gte=since)
        .values_list("application_id", flat=True)
    ) | set(
        Application.objects.filter(leader_id_number__in=ids, project__established_at__gte=since)
        .values_list("id", flat=True)
    )
    if not app_ids:
        return
    teams: dict[int, set[str]] = defaultdict(set)
    for app_id, id_number in TeamMember.objects.filter(application_id__in=app_ids).exclude(id_number="").values_list(
        "application_id", "id_number"
    ):
        teams[app_id].add(normalize_id_number(id_number))
    projects = {}
    for p in Project.objects.filter(application_id__in=app_ids).select_related("application"):
        projects[p.application_id] = (timezone.localdate(p.established_at), p.number)
        if p.application.leader_id_number:
            teams[p.application_id].add(normalize_id_number(p.application.leader_id_number))
    for app_id, members in teams.items():
        if app_id not in projects:
            continue
        established, number = projects[app_id]
        for member in members:
            for f in by_id.get(member, ()):
                f.collaborations.extend((other, established, number) for other in members if other != member)


class ConflictChecker:
    """Conflicts between many experts and many subjects, with the facts gathered once."""

    def __init__(self, experts: Iterable[Expert]):
        self.facts = expert_facts(experts)

    def reasons(self, expert_id: int, subject: SubjectProfile) -> list[str]:
        return conflicts(self.facts[expert_id], subject)


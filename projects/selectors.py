"""Reads scoped to what the user may see. Every list, page, API and export starts here."""

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.fields import MoneyField
from accounts.roles import Role

from .models import (
    Application,
    Attachment,
    AvoidanceRequest,
    BudgetLine,
    Call,
    CallDocument,
    FormalReview,
    Program,
    Project,
)

A = Application.State


# ---- calls -----------------------------------------------------------------------------------


def public_calls() -> QuerySet[Call]:
    """Calls anyone may see: published or closed (never drafts)."""
    return Call.objects.filter(state__in=[Call.State.PUBLISHED, Call.State.CLOSED]).select_related("program")


def open_calls(now=None) -> QuerySet[Call]:
    now = now or timezone.now()
    return public_calls().filter(state=Call.State.PUBLISHED, opens_at__lte=now, closes_at__gt=now).order_by(
        "closes_at", "id"
    )


def calls_visible_to(user) -> QuerySet[Call]:
    if user.is_authenticated and (user.is_superuser or user.has_role(Role.OFFICER) or user.has_role(Role.SUPERVISOR)):
        return Call.objects.select_related("program")
    return public_calls()


def recently_closed_calls(limit: int = 5) -> QuerySet[Call]:
    """Public calls whose window has ended (closed, or published with closes_at passed), latest first."""
    now = timezone.now()
    return (
        public_calls()
        .filter(Q(state=Call.State.CLOSED) | Q(closes_at__lte=now))
        .order_by("-closes_at", "-id")[:limit]
    )


def public_call_list(*, filters: dict | None = None) -> QuerySet[Call]:
    """The public call list: published and closed calls, optionally by year and programme."""
    qs = public_calls()
    filters = filters or {}
    if filters.get("year"):
        qs = qs.filter(year=filters["year"])
    if filters.get("program"):
        qs = qs.filter(program_id=filters["program"])
    return qs.order_by("-opens_at", "-id")


def public_call_years() -> list[int]:
    return list(public_calls().order_by("-year").values_list("year", flat=True).distinct())


def public_programs() -> QuerySet[Program]:
    """Programmes that have at least one public call (for the call list filter)."""
    return Program.objects.filter(pk__in=public_calls().values("program_id")).order_by("code")


def call_document_for_download(user, pk) -> CallDocument:
    """A guide document of a call the user may see (drafts only for bureau staff), else DoesNotExist."""
    return CallDocument.objects.select_related("call").get(pk=pk, call__in=calls_visible_to(user).values("pk"))


# ---- applications ------------------------------------------------------------------------------


def _budget_sum(field: str):
    sub = (
        BudgetLine.objects.filter(application=OuterRef("pk"))
        .order_by()
        .values("application")
        .annotate(total=Sum(field))
        .values("total")
    )
    return Coalesce(Subquery(sub, output_field=MoneyField()), Value(0), output_field=MoneyField())


def with_totals(qs: QuerySet[Application]) -> QuerySet[Application]:
    """Annotate fiscal_total and self_total (exact: integer fen sums in SQL)."""
    return qs.annotate(fiscal_total=_budget_sum("fiscal_amount"), self_total=_budget_sum("self_amount"))


def applications_visible_to(user) -> QuerySet[Application]:
    """Applications this user may see at all.

    Members of the applicant organisation see all of its applications; officers, supervisors and
    superusers see every application that has reached the bureau (endorsed by its organisation at
    least once: what is still a draft, or still at 单位审核, is the organisation's own business);
    experts, finance and anonymous users see none (reviews grant experts access to what they are
    assigned, in the experts app).
    """
    base = Application.objects.select_related("call", "call__program", "organization")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if user.is_superuser or user.has_role(Role.OFFICER) or user.has_role(Role.SUPERVISOR):
        own = Q(organization_id=user.organization_id) if user.organization_id else Q(pk__in=[])
        return base.filter(Q(reached_bureau_at__isnull=False) | own)
    if user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return base.filter(organization_id=user.organization_id)
    return base.none()


def application_list(user, *, filters: dict | None = None) -> QuerySet[Application]:
    return _filter_applications(with_totals(applications_visible_to(user)), filters)


def organization_application_list(user, *, filters: dict | None = None) -> QuerySet[Application]:
    """The enterprise portal's list: the user's own organisation only, with budget totals."""
    return _filter_applications(with_totals(organization_applications(user)), filters)


def _filter_applications(qs: QuerySet[Application], filters: dict | None) -> QuerySet[Application]:
    filters = filters or {}
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("call"):
        qs = qs.filter(call_id=filters["call"])
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(title__icontains=q) | Q(number__icontains=q) | Q(organization__name__icontains=q))
    return qs.order_by("-updated_at", "-id")


def organization_applications(user) -> QuerySet[Application]:
    """Applications of the user's own organisation (the enterprise portal), none for anyone else."""
    if not (
        user.is_authenticated
        and user.is_active
        and user.organization_id
        and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN))
    ):
        return Application.objects.none()
    return applications_visible_to(user).filter(organization_id=user.organization_id)


def application_detail(user, pk) -> Application:
    """The application with everything its pages show, or Application.DoesNotExist (→ 404)."""
    return _with_detail(applications_visible_to(user)).get(pk=pk)


def own_application_detail(user, pk) -> Application:
    """Like application_detail, but only within the user's own organisation (edit pages, submit, withdraw)."""
    return _with_detail(organization_applications(user)).get(pk=pk)


def _with_detail(qs: QuerySet[Application]) -> QuerySet[Application]:
    return (
        with_totals(qs)
        .prefetch_related(
            "team_members",
            "budget_lines",
            "targets",
            "partners",
            Prefetch(
                "attachments",
                queryset=Attachment.objects.filter(removed_at__isnull=True).select_related("uploaded_by"),
                to_attr="active_attachments",
            ),
            Prefetch("formal_reviews", queryset=FormalReview.objects.select_related("reviewer")),
        )
    )


def visible_applications_by_pk(user, ids) -> dict[int, Application]:
    """The applications among ``ids`` that the user may see, keyed by pk; only pk, title and number
    are loaded (enough to name them in a batch result). Ids the user may not see are simply absent."""
    qs = applications_visible_to(user).filter(pk__in=list(ids)).select_related(None).only("pk", "title", "number")
    return {a.pk: a for a in qs}


def endorsement_queue(user) -> QuerySet[Application]:
    """单位审核: the org admin's submitted applications waiting for endorsement."""
    if not (user.is_authenticated and user.has_role(Role.ORG_ADMIN) and user.organization_id):
        return Application.objects.none()
    return with_totals(
        applications_visible_to(user).filter(organization_id=user.organization_id, state=A.SUBMITTED)
    ).order_by("submitted_at", "id")


def formal_review_queue(user, *, call_id=None) -> QuerySet[Application]:
    """形式审查: endorsed applications waiting for the bureau."""
    if not (user.is_authenticated and (user.is_superuser or user.has_role(Role.OFFICER))):
        return Application.objects.none()
    qs = applications_visible_to(user).filter(state=A.ENDORSED)
    if call_id:
        qs = qs.filter(call_id=call_id)
    return with_totals(qs).order_by("submitted_at", "id")


def attachment_for_download(user, pk) -> Attachment:
    """An attachment the user may download (through its application's visibility), else DoesNotExist."""
    return Attachment.objects.select_related("application").get(
        pk=pk, application__in=applications_visible_to(user).values("pk")
    )


def own_attachment(user, pk) -> Attachment:
    """An attachment of an application of the user's own organisation (to remove it), else DoesNotExist."""
    return Attachment.objects.select_related("application").get(
        pk=pk, application__in=organization_applications(user).values("pk")
    )


def state_counts(user) -> dict[str, int]:
    from django.db.models import Count

    rows = applications_visible_to(user).order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def organization_state_counts(user) -> dict[str, int]:
    """Applications of the user's own organisation counted by state."""
    from django.db.models import Count

    rows = organization_applications(user).order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


# ---- 不适宜专家 and 立项 projects ----------------------------------------------------------------


def own_avoidance_requests(user, application: Application) -> list[AvoidanceRequest] | None:
    """The 不适宜评审专家 of an application, for applicant users of its own organisation only; None for
    anybody else (nobody outside the organisation, experts least of all, is shown whom it asked to avoid)."""
    if not (
        user.is_authenticated
        and user.is_active
        and user.organization_id
        and user.organization_id == application.organization_id
        and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN))
    ):
        return None
    return list(AvoidanceRequest.objects.filter(application_id=application.pk).order_by("position", "id"))


def projects_visible_to(user) -> QuerySet[Project]:
    """立项 projects: an applicant organisation sees its own; officers, supervisors, finance and
    superusers see all; everybody else (experts, anonymous) none."""
    base = Project.objects.select_related("call", "call__program", "organization")
    if not user.is_authenticated or not user.is_active:
        return base.none()
    if user.is_superuser or any(user.has_role(r) for r in (Role.OFFICER, Role.SUPERVISOR, Role.FINANCE)):
        return base
    if user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return base.filter(organization_id=user.organization_id)
    return base.none()


def project_list(user) -> QuerySet[Project]:
    return projects_visible_to(user).order_by("-established_at", "-id")


def project_of_application(user, application: Application) -> Project | None:
    """The Project an approved application became, if the user may see it."""
    return projects_visible_to(user).filter(application_id=application.pk).first()

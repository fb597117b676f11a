import datetime

from django.db.models import Q, QuerySet

from .models import CreditRecord, Organization, User
from .roles import Role


def users_with_role(role: Role | str) -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=str(role)).distinct()


def org_admins_of(organization_id) -> QuerySet[User]:
    return users_with_role(Role.ORG_ADMIN).filter(organization_id=organization_id)


def organization_users(organization) -> QuerySet[User]:
    return User.objects.filter(organization=organization).prefetch_related("groups").order_by("-is_active", "id")


def running_credit_filter(on: datetime.date) -> Q:
    """The penalty-running rule of CreditRecord.is_running_on as a filter: not revoked, started, not ended."""
    return Q(revoked_at__isnull=True, penalty_start__lte=on) & (Q(penalty_end__isnull=True) | Q(penalty_end__gte=on))


def running_credit_records(
    *, on: datetime.date, organization_id=None, person_id_numbers=()
) -> QuerySet[CreditRecord]:
    """失信 records whose penalty period runs on ``on`` for the organisation or any of the persons."""
    subject = Q()
    if organization_id is not None:
        subject |= Q(organization_id=organization_id)
    ids = [p for p in person_id_numbers if p]
    if ids:
        subject |= Q(person_id_number__in=ids)
    if not subject:
        return CreditRecord.objects.none()
    return CreditRecord.objects.filter(subject).filter(running_credit_filter(on)).select_related("organization")


def organizations_for_officer() -> QuerySet[Organization]:
    return Organization.objects.all().order_by("state", "name")


def organization_of(user) -> QuerySet[Organization]:
    """The user's own organisation (empty for users without one, e.g. bureau staff)."""
    if not getattr(user, "is_authenticated", False) or not user.organization_id:
        return Organization.objects.none()
    return Organization.objects.filter(pk=user.organization_id)

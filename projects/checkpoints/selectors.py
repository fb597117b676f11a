"""Reads of the checkpoints (中期报告, 验收申请, 延期申请), scoped to the user.

- Officers, supervisors and superusers see every report and extension request.
- An organisation's users (applicant, org admin) see their own organisation's, never another's.
- Experts and everybody else see none (an expert reads a report through the review round assigned to them).
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.roles import Role

from .models import AcceptanceReport, ExtensionRequest, MidtermReport

BUREAU_ROLES = (Role.OFFICER, Role.SUPERVISOR)
_PROJECT = ("project__organization", "project__call__program")


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def sees_all(user) -> bool:
    """The bureau (officers, supervisors) and superusers see every checkpoint."""
    return _active(user) and (user.is_superuser or any(user.has_role(r) for r in BUREAU_ROLES))


def org_of(user) -> int | None:
    """The organisation whose checkpoints the user reports (None when they report none)."""
    if _active(user) and user.organization_id and (user.has_role(Role.APPLICANT) or user.has_role(Role.ORG_ADMIN)):
        return user.organization_id
    return None


def _scoped(qs: QuerySet, user) -> QuerySet:
    if sees_all(user):
        return qs
    organization_id = org_of(user)
    if organization_id is not None:
        return qs.filter(project__organization_id=organization_id)
    return qs.none()


def midterms_visible_to(user) -> QuerySet[MidtermReport]:
    return _scoped(MidtermReport.objects.select_related(*_PROJECT), user)


def acceptances_visible_to(user) -> QuerySet[AcceptanceReport]:
    return _scoped(AcceptanceReport.objects.select_related(*_PROJECT), user)


def extensions_visible_to(user) -> QuerySet[ExtensionRequest]:
    return _scoped(ExtensionRequest.objects.select_related(*_PROJECT), user)

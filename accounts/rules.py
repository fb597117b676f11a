"""Named permission predicates (django-rules), shared by views, API and admin."""

import rules

from .roles import Role


def has_role(role: Role):
    @rules.predicate(name=f"has_role_{role.value}")
    def predicate(user):
        return bool(user and user.is_authenticated and user.has_role(role))

    return predicate


is_applicant = has_role(Role.APPLICANT)
is_org_admin = has_role(Role.ORG_ADMIN)
is_expert = has_role(Role.EXPERT)
is_officer = has_role(Role.OFFICER)
is_finance = has_role(Role.FINANCE)
is_supervisor = has_role(Role.SUPERVISOR)


@rules.predicate
def is_staff_admin(user):
    return bool(user and user.is_authenticated and user.is_superuser)


is_bureau = is_officer | is_supervisor | is_staff_admin


@rules.predicate
def belongs_to_org(user, organization):
    return bool(user and user.is_authenticated and organization is not None and user.organization_id == organization.pk)


is_admin_of_org = is_org_admin & belongs_to_org

rules.add_perm("accounts.manage_org_users", is_admin_of_org)
rules.add_perm("accounts.edit_organization", is_admin_of_org)
rules.add_perm("accounts.verify_organization", is_officer | is_staff_admin)
rules.add_perm("accounts.record_credit", is_officer | is_staff_admin)

"""Permission predicates for calls and applications (django-rules)."""

import rules

from accounts.rules import belongs_to_org, is_applicant, is_officer, is_org_admin, is_staff_admin, is_supervisor

from .models import Application


@rules.predicate
def is_member_of_application_org(user, application):
    return application is not None and belongs_to_org(user, application.organization)


@rules.predicate
def application_is_editable(user, application):
    return application is not None and application.state in Application.EDITABLE_STATES


@rules.predicate
def application_reached_bureau(user, application):
    """Endorsed by its organisation at least once (see selectors.applications_visible_to)."""
    return application is not None and application.reached_bureau_at is not None


is_bureau_reviewer = is_officer | is_staff_admin

can_view_application = is_member_of_application_org | ((is_bureau_reviewer | is_supervisor) & application_reached_bureau)

rules.add_perm("projects.view_application_obj", can_view_application)
rules.add_perm("projects.edit_application_obj", is_applicant & is_member_of_application_org & application_is_editable)
rules.add_perm("projects.submit_application_obj", is_applicant & is_member_of_application_org)
rules.add_perm("projects.withdraw_application_obj", is_applicant & is_member_of_application_org)
rules.add_perm("projects.endorse_application_obj", is_org_admin & is_member_of_application_org)
rules.add_perm("projects.formal_review", is_bureau_reviewer)
rules.add_perm("projects.create_application", is_applicant)
rules.add_perm("projects.manage_calls", is_bureau_reviewer)
from .challenges import rules as _challenge_rules  # noqa: E402,F401  (registers the 揭榜挂帅 permissions)
from .checkpoints import rules as _checkpoint_rules  # noqa: E402,F401  (registers the checkpoint permissions)

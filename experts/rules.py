"""Permission predicates for the expert pool, review rounds and 立项 lists (django-rules)."""

import rules

from accounts.rules import is_expert, is_officer, is_staff_admin, is_supervisor


@rules.predicate
def is_own_assignment(user, assignment):
    return assignment is not None and assignment.expert.user_id == getattr(user, "pk", None)


is_bureau_officer = is_officer | is_staff_admin

rules.add_perm("experts.manage_pool", is_bureau_officer)
rules.add_perm("experts.manage_rounds", is_bureau_officer)
rules.add_perm("experts.view_rounds", is_bureau_officer | is_supervisor)
rules.add_perm("experts.sign_off_funding_list", is_supervisor | is_staff_admin)
rules.add_perm("experts.review_assignment_obj", is_expert & is_own_assignment)

"""Permission predicates for 任务书 and the money (django-rules)."""

import rules

from accounts.rules import (
    belongs_to_org,
    is_applicant,
    is_finance,
    is_officer,
    is_org_admin,
    is_staff_admin,
    is_supervisor,
)


@rules.predicate
def is_agreement_org(user, agreement):
    return agreement is not None and belongs_to_org(user, agreement.project.organization)


rules.add_perm("funding.manage_agreements", is_officer | is_staff_admin)
rules.add_perm("funding.confirm_agreement_obj", is_org_admin & is_agreement_org)
rules.add_perm("funding.disburse", is_finance)
rules.add_perm("funding.view_ledger", is_finance | is_officer | is_supervisor | is_staff_admin)


@rules.predicate
def is_agreement_org_user(user, agreement):
    """An applicant or org admin of the agreement's organisation (预算调整, 后补助 claims)."""
    return agreement is not None and (is_applicant(user) or is_org_admin(user)) and is_agreement_org(user, agreement)


rules.add_perm("funding.adjust_budget_obj", is_agreement_org_user)
rules.add_perm("funding.claim_subsidy_obj", is_agreement_org_user)

"""Permission predicates for 任务书 and the money (django-rules)."""

import rules

from accounts.rules import belongs_to_org, is_finance, is_officer, is_org_admin, is_staff_admin, is_supervisor


@rules.predicate
def is_agreement_org(user, agreement):
    return agreement is not None and belongs_to_org(user, agreement.project.organization)


rules.add_perm("funding.manage_agreements", is_officer | is_staff_admin)
rules.add_perm("funding.confirm_agreement_obj", is_org_admin & is_agreement_org)
rules.add_perm("funding.disburse", is_finance)
rules.add_perm("funding.view_ledger", is_finance | is_officer | is_supervisor | is_staff_admin)

"""Permission predicates for the checkpoints (中期检查, 验收, 延期) of projects funded through a call."""

import rules

from accounts.rules import is_applicant, is_officer, is_org_admin, is_staff_admin, is_supervisor

from ..challenges.rules import is_project_member

is_checkpoint_officer = is_officer | is_staff_admin

# the organisation's applicant users and its admin report; the bureau opens, concludes and decides
rules.add_perm("projects.report_checkpoint_obj", (is_applicant | is_org_admin) & is_project_member)
rules.add_perm("projects.manage_checkpoints", is_checkpoint_officer)
rules.add_perm("projects.view_checkpoints_bureau", is_checkpoint_officer | is_supervisor)

"""Permission predicates for 揭榜挂帅 (django-rules): the poster, the bidders and the bureau."""

import rules

from accounts.rules import belongs_to_org, is_applicant, is_officer, is_org_admin, is_staff_admin, is_supervisor

is_org_user = is_applicant | is_org_admin
is_challenge_officer = is_officer | is_staff_admin


@rules.predicate
def is_poster_member(user, challenge):
    """A user of the organisation that posted the challenge."""
    return challenge is not None and belongs_to_org(user, challenge.organization)


@rules.predicate
def is_bid_member(user, bid):
    return bid is not None and belongs_to_org(user, bid.organization)


@rules.predicate
def is_project_member(user, project):
    return project is not None and belongs_to_org(user, project.organization)


@rules.predicate
def is_project_poster(user, project):
    return project is not None and project.challenge_id is not None and belongs_to_org(
        user, project.challenge.organization
    )


rules.add_perm("projects.post_challenge", is_org_user)
rules.add_perm("projects.edit_challenge_obj", is_org_user & is_poster_member)
rules.add_perm("projects.manage_challenges", is_challenge_officer)
rules.add_perm("projects.view_challenges_bureau", is_challenge_officer | is_supervisor)
rules.add_perm("projects.answer_question_obj", is_challenge_officer | (is_org_user & is_poster_member))
rules.add_perm("projects.decide_challenge_obj", is_org_user & is_poster_member)
rules.add_perm("projects.create_bid", is_applicant)
rules.add_perm("projects.edit_bid_obj", is_applicant & is_bid_member)
rules.add_perm("projects.report_project_obj", is_applicant & is_project_member)
rules.add_perm("projects.judge_project_obj", is_org_user & is_project_poster)

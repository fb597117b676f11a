"""揭榜挂帅 access control and information leaks found in review: each test pins one problem that was fixed."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeQuestion, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db


def body(response) -> str:
    return response.content.decode()


# ---- 答疑: the asker is never shown outside the bureau ---------------------------------------------------------


def test_the_poster_never_sees_which_organisation_asked(client, other_applicant):
    """Who asks is who is about to bid: the poster (which later chooses the winners) must not learn it from the
    答疑 list of its need page, whatever the question's state; the bureau still does."""
    need = publish(ChallengeFactory())
    asker_org = other_applicant.organization
    for state, text in (("open", "样机数量有要求吗？"), ("answered", "是否接受联合体？"), ("dismissed", "能否透露预算？")):
        ChallengeQuestion.objects.create(challenge=need, asked_by=other_applicant, organization=asker_org,
                                         question=text, state=state, answer="可以。" if state == "answered" else "")
    client.force_login(need.created_by)
    page = body(client.get(reverse("challenges:need_detail", args=[need.pk])))
    assert "样机数量有要求吗？" in page and "是否接受联合体？" in page  # the questions themselves are there
    assert asker_org.name not in page
    assert other_applicant.display_name not in page


# ---- every object URL: 404 for whoever is not entitled, and nothing changes ---------------------------------


def awarded_challenge(officer):
    """A challenge with two reviewed bids, the first one won: a project with its milestones."""
    need = publish(ChallengeFactory())
    bids = []
    for _i in range(2):
        draft = BidFactory(challenge=need)
        jb.submit_bid(actor=draft.created_by, bid_id=draft.pk, accept_commitment=True)
        bids.append(draft)
    question = ChallengeQuestion.objects.create(challenge=need, asked_by=bids[1].created_by,
                                                organization=bids[1].organization, question="是否接受联合体？")
    Challenge.objects.filter(pk=need.pk).update(bid_deadline=timezone.now() - datetime.timedelta(hours=1))
    jb.close_challenge(actor=officer, challenge_id=need.pk)
    jb.start_review(actor=officer, challenge_id=need.pk)
    Bid.objects.filter(pk__in=[b.pk for b in bids]).update(review_score=Decimal(80), total_score=Decimal(80),
                                                            review_count=3)
    (project,) = jb.award_challenge(actor=need.created_by, challenge_id=need.pk, bid_ids=[bids[0].pk])
    return need, bids, question, project


def test_nobody_outside_the_poster_the_team_and_the_bureau_reaches_an_object(client, officer, other_applicant,
                                                                             finance_user, expert_user):
    need, (won, lost), question, project = awarded_challenge(officer)
    milestone = project.milestones.first()
    supervisor = UserFactory(roles=["supervisor"])
    portal_gets = [reverse("challenges:need_detail", args=[need.pk]), reverse("challenges:need_award", args=[need.pk]),
                   reverse("challenges:bid_detail", args=[won.pk]), reverse("challenges:bid_edit", args=[won.pk, "plan"]),
                   reverse("challenges:project", args=[project.pk])]
    portal_posts = [reverse("challenges:need_fail", args=[need.pk]),
                    reverse("challenges:question_answer", args=[question.pk]),
                    reverse("challenges:bid_withdraw", args=[won.pk]),
                    reverse("challenges:milestone_report", args=[milestone.pk]),
                    reverse("challenges:milestone_judge", args=[milestone.pk]),
                    reverse("challenges:acceptance_apply", args=[project.pk]),
                    reverse("challenges:acceptance_judge", args=[project.pk])]
    office_posts = [reverse("jiebang_office:action", args=[need.pk, "cancel"]),
                    reverse("jiebang_office:question_dismiss", args=[question.pk]),
                    reverse("jiebang_office:milestone_conclude", args=[milestone.pk]),
                    reverse("jiebang_office:project_stop", args=[project.pk]),
                    reverse("jiebang_office:acceptance_conclude", args=[project.pk])]
    office_gets = [reverse("jiebang_office:detail", args=[need.pk]),
                   reverse("jiebang_office:project", args=[project.pk])]
    # another organisation, the losing bidder, an expert and finance: nothing at all
    for user in (other_applicant, lost.created_by, expert_user, finance_user):
        client.force_login(user)
        for url in portal_gets + office_gets:
            assert client.get(url).status_code == 404, (user, url)
        for url in portal_posts + office_posts:
            assert client.post(url, {"reason": "x", "answer": "x", "report": "x"}).status_code == 404, (user, url)
    # the supervisor (局领导) reads the bureau's pages and acts nowhere
    client.force_login(supervisor)
    for url in office_gets:
        assert client.get(url).status_code == 200
    for url in portal_gets + portal_posts + office_posts:
        assert client.post(url, {"reason": "x"}).status_code == 404, url
    assert Challenge.objects.get(pk=need.pk).state == Challenge.State.AWARDED
    assert ChallengeQuestion.objects.get(pk=question.pk).state == ChallengeQuestion.State.OPEN
    assert ProjectMilestone.objects.get(pk=milestone.pk).state == ProjectMilestone.State.PENDING
    assert Project.objects.get(pk=project.pk).state == Project.State.ESTABLISHED
    # the losing bidder's API sees its own bid only, and no project
    client.force_login(lost.created_by)
    assert [b["id"] for b in client.get("/api/my/bids/").json()["results"]] == [lost.pk]
    assert client.get(f"/api/my/bids/{won.pk}/").status_code == 404
    assert client.get(f"/api/challenge-projects/{project.pk}/").status_code == 404
    assert client.get(f"/api/my/needs/{need.pk}/bids/").status_code == 404

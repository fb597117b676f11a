"""The winners' project page in the portal (projects.challenges.views.project): the team reports milestones and
applies for acceptance, the poster judges them; nobody else sees anything."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeAcceptance, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db

M = ProjectMilestone.State


def body(response) -> str:
    return response.content.decode()


def awarded(officer, *, max_winners=1, teams=1):
    """A published challenge, ``teams`` submitted bids reviewed and all awarded: the poster, the projects."""
    challenge = publish(ChallengeFactory(), max_winners=max_winners)
    poster = challenge.created_by
    bids = []
    for _ in range(teams):
        draft = BidFactory(challenge=challenge, amount=Decimal("1000000.00"), milestones=[
            ("样机设计与台架验证", "功率密度≥4.0kW/kg", datetime.date(2027, 6, 30), Decimal("500000.00")),
            ("装车验证与定型", "功率密度≥4.5kW/kg，IP67", datetime.date(2028, 3, 31), Decimal("500000.00")),
        ])
        jb.submit_bid(actor=draft.created_by, bid_id=draft.pk, accept_commitment=True)
        bids.append(draft)
    Challenge.objects.filter(pk=challenge.pk).update(bid_deadline=timezone.now() - datetime.timedelta(hours=1))
    jb.close_challenge(actor=officer, challenge_id=challenge.pk)
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    Bid.objects.filter(pk__in=[b.pk for b in bids]).update(review_score=Decimal("85.00"))
    projects = jb.award_challenge(actor=poster, challenge_id=challenge.pk, bid_ids=[b.pk for b in bids])
    return poster, projects


@pytest.fixture
def setup(officer):
    poster, (project,) = awarded(officer)
    team = project.bid.created_by
    return project, poster, team


def page(project):
    return reverse("challenges:project", args=[project.pk])


def milestone(project, position):
    return project.milestones.get(position=position)


def report_url(m):
    return reverse("challenges:milestone_report", args=[m.pk])


def judge_url(m):
    return reverse("challenges:milestone_judge", args=[m.pk])


def pass_milestone(project, poster, officer, position):
    m = milestone(project, position)
    jb.report_milestone(actor=project.bid.created_by, milestone_id=m.pk, report="完成。")
    jb.judge_milestone(actor=poster, milestone_id=m.pk, verdict="pass", opinion="达到")
    jb.conclude_milestone(actor=officer, milestone_id=m.pk, passed=True, conclusion="通过")


# ---- who sees the page ---------------------------------------------------------------------------------------


def test_team_sees_the_project_and_a_report_form_on_the_first_milestone(client, setup):
    project, _poster, team = setup
    client.force_login(team)
    r = client.get(page(project))
    assert r.status_code == 200
    html = body(r)
    assert project.number in html and "1,000,000.00" in html  # the bid amount
    assert "样机设计与台架验证" in html and "装车验证与定型" in html
    assert "峰值功率密度" in html  # the challenge's targets
    assert html.count('data-testid="report-form"') == 1
    assert reverse("challenges:milestone_report", args=[milestone(project, 1).pk]) in html
    assert 'data-testid="judge-form"' not in html


def test_poster_sees_the_project_and_judges_a_reported_milestone(client, setup):
    project, poster, team = setup
    m1 = milestone(project, 1)
    jb.report_milestone(actor=team, milestone_id=m1.pk, report="台架测试功率密度 4.1 kW/kg。")
    client.force_login(poster)
    html = body(client.get(page(project)))
    assert "台架测试功率密度 4.1 kW/kg。" in html
    assert 'data-testid="judge-form"' in html and 'data-testid="report-form"' not in html

    r = client.post(judge_url(m1), {"verdict": "fail", "opinion": "功率密度未达到 4.0"})
    assert r.status_code == 302
    m1.refresh_from_db()
    assert (m1.poster_verdict, m1.poster_opinion, m1.poster_by) == ("fail", "功率密度未达到 4.0", poster)
    html = body(client.get(page(project)))
    assert "功率密度未达到 4.0" in html and "不同意通过" in html


def test_team_reports_a_milestone(client, setup):
    project, _poster, team = setup
    client.force_login(team)
    m1 = milestone(project, 1)
    r = client.post(report_url(m1), {"report": "台架测试完成。"})
    assert r.status_code == 302 and r["Location"] == page(project)
    m1.refresh_from_db()
    assert m1.state == M.REPORTED and m1.report == "台架测试完成。" and m1.reported_by == team
    # nothing more to report until it is concluded
    html = body(client.get(page(project)))
    assert 'data-testid="report-form"' not in html and 'data-testid="waiting"' in html


def test_empty_report_is_refused_and_changes_nothing(client, setup):
    project, _poster, team = setup
    client.force_login(team)
    m1 = milestone(project, 1)
    r = client.post(report_url(m1), {"report": "  "})
    assert r.status_code == 200
    m1.refresh_from_db()
    assert m1.state == M.PENDING and m1.report == ""


def test_reporting_out_of_order_is_refused_with_the_message(client, setup):
    project, _poster, team = setup
    client.force_login(team)
    m2 = milestone(project, 2)
    r = client.post(report_url(m2), {"report": "提前完成。"}, follow=True)
    assert "请按顺序考核：之前的里程碑尚未通过考核。" in body(r)
    m2.refresh_from_db()
    assert m2.state == M.PENDING and m2.report == ""


def test_team_cannot_judge_and_poster_cannot_report(client, setup):
    project, poster, team = setup
    m1 = milestone(project, 1)
    client.force_login(poster)
    r = client.post(report_url(m1), {"report": "发榜方代报"}, follow=True)
    assert "只有项目承担单位可以提交里程碑报告。" in body(r)
    m1.refresh_from_db()
    assert m1.state == M.PENDING and m1.report == ""

    jb.report_milestone(actor=team, milestone_id=m1.pk, report="完成。")
    client.force_login(team)
    r = client.post(judge_url(m1), {"verdict": "pass", "opinion": "自评通过"}, follow=True)
    assert "只有发榜单位可以评价里程碑。" in body(r)
    m1.refresh_from_db()
    assert m1.poster_verdict == "" and m1.poster_opinion == ""


def test_another_organisation_gets_404_everywhere_and_nothing_changes(client, setup, other_applicant, officer):
    project, poster, team = setup
    m1 = milestone(project, 1)
    jb.report_milestone(actor=team, milestone_id=m1.pk, report="完成。")
    # a bureau user and a plain user have their own pages, not this one
    for user in (other_applicant, officer, UserFactory(roles=["finance"])):
        client.force_login(user)
        assert client.get(page(project)).status_code == 404
        assert client.post(report_url(milestone(project, 2)), {"report": "x"}).status_code == 404
        assert client.post(judge_url(m1), {"verdict": "pass", "opinion": "x"}).status_code == 404
        assert client.post(reverse("challenges:acceptance_apply", args=[project.pk]),
                           {"report": "x"}).status_code == 404
        assert client.post(reverse("challenges:acceptance_judge", args=[project.pk]),
                           {"opinion": "x"}).status_code == 404
    m1.refresh_from_db()
    assert m1.poster_verdict == "" and milestone(project, 2).report == ""
    assert not ChallengeAcceptance.objects.exists()
    client.logout()
    assert client.get(page(project)).status_code == 302  # to the login page


def test_final_acceptance_applied_by_the_team_and_judged_by_the_poster(client, setup, officer):
    project, poster, team = setup
    targets = list(project.challenge.targets.all())
    client.force_login(team)
    # not before every milestone passed
    assert 'data-testid="acceptance-apply-form"' not in body(client.get(page(project)))
    pass_milestone(project, poster, officer, 1)
    pass_milestone(project, poster, officer, 2)
    html = body(client.get(page(project)))
    assert 'data-testid="acceptance-apply-form"' in html

    # a missing achieved value is refused, nothing is created
    data = {"report": "全部完成。", f"achieved_{targets[0].pk}": "4.7", f"evidence_{targets[0].pk}": "检测报告"}
    client.post(reverse("challenges:acceptance_apply", args=[project.pk]), data)
    assert not ChallengeAcceptance.objects.exists()
    data[f"achieved_{targets[1].pk}"] = "IP67"
    r = client.post(reverse("challenges:acceptance_apply", args=[project.pk]), data)
    assert r.status_code == 302
    acc = ChallengeAcceptance.objects.get(project=project)
    assert [row["achieved"] for row in acc.results] == ["4.7", "IP67"]

    # the team cannot judge its own acceptance
    judge = {"opinion": "达到", f"met_{targets[0].pk}": "yes", f"met_{targets[1].pk}": "no"}
    r = client.post(reverse("challenges:acceptance_judge", args=[project.pk]), judge, follow=True)
    assert "只有发榜单位可以评价验收指标。" in body(r)
    acc.refresh_from_db()
    assert acc.state == "applied"

    client.force_login(poster)
    assert 'data-testid="acceptance-judge-form"' in body(client.get(page(project)))
    r = client.post(reverse("challenges:acceptance_judge", args=[project.pk]), judge)
    assert r.status_code == 302
    acc.refresh_from_db()
    assert acc.state == "judged" and [row["met"] for row in acc.results] == [True, False]

    jb.conclude_acceptance(actor=officer, project_id=project.pk, passed=False, conclusion="防护等级未达到")
    for user in (poster, team):
        client.force_login(user)
        html = body(client.get(page(project)))
        assert 'data-testid="acceptance-conclusion"' in html and "防护等级未达到" in html
        assert "验收不通过" in html


def test_a_stopped_team_sees_the_reason(client, officer):
    poster, projects = awarded(officer, max_winners=2, teams=2)
    stopped = projects[1]
    m1 = milestone(stopped, 1)
    jb.report_milestone(actor=stopped.bid.created_by, milestone_id=m1.pk, report="未完成。")
    jb.judge_milestone(actor=poster, milestone_id=m1.pk, verdict="fail", opinion="差距较大")
    jb.conclude_milestone(actor=officer, milestone_id=m1.pk, passed=False, conclusion="未达到第一阶段指标")
    jb.stop_project(actor=officer, project_id=stopped.pk, milestone_id=m1.pk, reason="第一阶段考核未通过，淘汰。")
    client.force_login(stopped.bid.created_by)
    html = body(client.get(page(stopped)))
    assert 'data-testid="stop-reason"' in html and "第一阶段考核未通过，淘汰。" in html
    assert 'data-testid="report-form"' not in html
    # the poster sees both teams' pages, the other team not the stopped one
    client.force_login(poster)
    assert client.get(page(stopped)).status_code == 200
    client.force_login(projects[0].bid.created_by)
    assert client.get(page(stopped)).status_code == 404


@pytest.mark.parametrize("reported", [0, 1])
def test_query_count_is_fixed(client, setup, django_assert_max_num_queries, reported):
    project, poster, team = setup
    if reported:
        jb.report_milestone(actor=team, milestone_id=milestone(project, 1).pk, report="完成。")
    for user in (team, poster):
        client.force_login(user)
        with django_assert_max_num_queries(9):
            assert client.get(page(project)).status_code == 200


def test_portal_project_list_links_challenge_projects(client, setup):
    project, _poster, team = setup
    client.force_login(team)
    r = client.get(reverse("portal:project_list"))
    assert r.status_code == 200
    html = body(r)
    assert page(project) in html and project.challenge.title in html
    assert Project.objects.get(pk=project.pk).call_id is None

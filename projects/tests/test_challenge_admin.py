"""The Django admin of 揭榜挂帅: read-only pages an officer can open in a fixed number of queries, batch actions
that go through the services and report each refusal, nothing ever deleted."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.models import AuditEvent
from projects.challenges import services as jb
from projects.models import Bid, Challenge, ChallengeAcceptance, ChallengeQuestion, Project, ProjectMilestone
from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

pytestmark = pytest.mark.django_db

MODELS = ["challenge", "bid", "challengequestion", "projectmilestone", "challengeacceptance", "project"]


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def submitted_need():
    need = ChallengeFactory()
    return jb.submit_challenge(actor=need.created_by, challenge_id=need.pk, accept_commitment=True)


def finished_project(officer):
    """A published challenge, one submitted bid, a question, closed, reviewed, awarded, and the acceptance
    applied for: one row of every model."""
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    bid = BidFactory(challenge=challenge)
    jb.set_bid_members(actor=bid.created_by, bid_id=bid.pk,
                       members=[{"name": "李工", "id_number": "330106198001010011", "role": "设计"}])
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    q = jb.ask_question(actor=bid.created_by, challenge_id=challenge.pk, question="样车由谁提供？")
    jb.answer_question(actor=officer, question_id=q.pk, answer="发榜方提供。")
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    jb.start_review(actor=officer, challenge_id=challenge.pk)
    jb.record_bid_review_scores(challenge_id=challenge.pk, scores={bid.pk: (Decimal("88.00"), 3)})
    [project] = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    for m in project.milestones.order_by("position"):
        jb.report_milestone(actor=bid.created_by, milestone_id=m.pk, report="完成")
        jb.judge_milestone(actor=challenge.created_by, milestone_id=m.pk, verdict="pass", opinion="好")
        jb.conclude_milestone(actor=officer, milestone_id=m.pk, passed=True, conclusion="通过")
    jb.apply_acceptance(actor=bid.created_by, project_id=project.pk, report="全部完成",
                        results={t.pk: {"achieved": "达到"} for t in challenge.targets.all()})
    return project


# ---- pages render for an officer in a fixed number of queries ----------------------------------------------


@pytest.mark.parametrize("rows", [1, 4])
def test_changelists_render_for_an_officer_with_fixed_queries(client, officer, django_assert_max_num_queries, rows):
    for _ in range(rows):
        finished_project(officer)
        submitted_need()
    client.force_login(officer)
    for model in MODELS:
        with django_assert_max_num_queries(12):
            response = client.get(reverse(f"admin:projects_{model}_changelist"))
        assert response.status_code == 200, model
    html = client.get(reverse("admin:projects_challenge_changelist")).content.decode()
    assert "3,000,000.00" in html and "开始论证" in html and "截止揭榜" in html and "开始评审" in html
    html = client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert "揭榜挂帅" in html


@pytest.mark.parametrize("rows", [1, 4])
def test_change_pages_render_read_only_with_fixed_queries(client, officer, django_assert_max_num_queries, rows):
    projects = [finished_project(officer) for _ in range(rows)]
    project = projects[-1]
    objects = {
        "challenge": project.challenge_id,
        "bid": project.bid_id,
        "challengequestion": ChallengeQuestion.objects.filter(challenge_id=project.challenge_id).get().pk,
        "projectmilestone": project.milestones.get(position=1).pk,
        "challengeacceptance": ChallengeAcceptance.objects.get(project=project).pk,
        "project": project.pk,
    }
    client.force_login(officer)
    for model, pk in objects.items():
        with django_assert_max_num_queries(14):
            response = client.get(reverse(f"admin:projects_{model}_change", args=[pk]))
        assert response.status_code == 200, model
        html = response.content.decode()
        assert 'name="_save"' not in html, model  # read-only: nothing to save
    bid_page = client.get(reverse("admin:projects_bid_change", args=[project.bid_id])).content.decode()
    assert "李工" in bid_page and "330106198001010011" not in bid_page  # the team, with ID numbers masked
    assert "提交揭榜方案" in bid_page  # the history
    challenge_page = client.get(reverse("admin:projects_challenge_change", args=[project.challenge_id])).content.decode()
    assert "峰值功率密度" in challenge_page and "样车由谁提供？" in challenge_page
    project_page = client.get(reverse("admin:projects_project_change", args=[project.pk])).content.decode()
    assert project.challenge.title in project_page


def test_nothing_is_added_changed_or_deleted_here(client, officer):
    project = finished_project(officer)
    client.force_login(officer)
    for model, pk in (("challenge", project.challenge_id), ("bid", project.bid_id),
                      ("projectmilestone", project.milestones.first().pk)):
        assert client.get(reverse(f"admin:projects_{model}_add")).status_code == 403
        assert client.post(reverse(f"admin:projects_{model}_change", args=[pk]), {"state": "draft"}).status_code == 403
        assert client.post(reverse(f"admin:projects_{model}_delete", args=[pk]), {"post": "yes"}).status_code == 403
    assert Challenge.objects.get(pk=project.challenge_id).state == "awarded"
    assert Bid.objects.get(pk=project.bid_id).state == "won"


def test_drafts_are_not_in_the_admin(client, officer):
    draft_need = ChallengeFactory(title="尚未提交的需求")
    draft_bid = BidFactory(challenge=publish(ChallengeFactory()), title="尚未提交的方案")
    client.force_login(officer)
    assert "尚未提交的需求" not in client.get(reverse("admin:projects_challenge_changelist")).content.decode()
    assert "尚未提交的方案" not in client.get(reverse("admin:projects_bid_changelist")).content.decode()
    assert client.get(reverse("admin:projects_challenge_change", args=[draft_need.pk])).status_code == 302
    assert client.get(reverse("admin:projects_bid_change", args=[draft_bid.pk])).status_code == 302


# ---- batch actions through the services --------------------------------------------------------------------


def run_action(client, action, objs):
    return client.post(reverse("admin:projects_challenge_changelist"),
                       {"action": action, "_selected_action": [o.pk for o in objs]}, follow=True)


def test_start_vetting_action_calls_the_service_and_reports_refusals(client, officer):
    ready = submitted_need()
    already = submitted_need()
    jb.start_vetting(actor=officer, challenge_id=already.pk)
    client.force_login(officer)
    response = run_action(client, "start_vetting_selected", [ready, already])
    assert response.status_code == 200
    msgs = messages_of(response)
    assert any("已开始论证 1 项" in m and ready.title in m for m in msgs)
    assert any(already.title in m and "不能执行“开始论证”" in m for m in msgs)
    assert Challenge.objects.get(pk=ready.pk).state == "vetting"
    assert AuditEvent.objects.filter(verb="start_vetting", actor=officer).count() == 2  # one here, one above


def test_close_action_refuses_before_the_deadline_and_closes_after(client, officer):
    open_ = publish(ChallengeFactory())
    due = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    Challenge.objects.filter(pk=due.pk).update(bid_deadline=timezone.now() - datetime.timedelta(minutes=5))
    client.force_login(officer)
    msgs = messages_of(run_action(client, "close_selected", [open_, due]))
    assert any(open_.title in m and "未到" in m for m in msgs)
    assert any("已截止揭榜 1 项" in m for m in msgs)
    assert Challenge.objects.get(pk=open_.pk).state == "published"
    assert Challenge.objects.get(pk=due.pk).state == "closed"


def test_start_review_action_without_bids_says_to_fail_the_challenge(client, officer):
    challenge = publish(ChallengeFactory(), deadline=timezone.now() + datetime.timedelta(days=1))
    jb.close_challenge(actor=officer, challenge_id=challenge.pk, now=challenge.bid_deadline + datetime.timedelta(hours=1))
    client.force_login(officer)
    msgs = messages_of(run_action(client, "start_review_selected", [challenge]))
    assert any("没有已提交的揭榜方案，不能开始评审；请办理流标。" in m for m in msgs)
    assert Challenge.objects.get(pk=challenge.pk).state == "closed"


def test_supervisor_views_but_has_no_actions(client):
    supervisor = UserFactory(roles=["supervisor"], is_staff=True)
    need = submitted_need()
    client.force_login(supervisor)
    response = client.get(reverse("admin:projects_challenge_changelist"))
    assert response.status_code == 200 and need.title in response.content.decode()
    assert "开始论证" not in response.content.decode()
    run_action(client, "start_vetting_selected", [need])
    assert Challenge.objects.get(pk=need.pk).state == "submitted"


def test_project_admin_shows_challenge_projects_and_ordinary_ones_alike(client, officer):
    project = finished_project(officer)
    client.force_login(officer)
    html = client.get(reverse("admin:projects_project_changelist")).content.decode()
    assert project.number in html
    assert Project.objects.filter(challenge__isnull=False).count() == 1
    assert ProjectMilestone.objects.filter(project=project, state="passed").count() == 2

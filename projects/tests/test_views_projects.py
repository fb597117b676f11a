"""What the applicant sees of the result: 已立项 / 未立项 on the application page, and 我的项目."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from projects import selectors, services
from projects.models import (
    AcceptanceReport,
    Application,
    Bid,
    Challenge,
    ChallengeAcceptance,
    ChallengeQuestion,
    ExtensionRequest,
    MidtermReport,
    Project,
    ProjectMilestone,
)
from projects.tests.factories import ApplicationFactory, set_state

pytestmark = pytest.mark.django_db

A = Application.State
LIST_URL = "portal:project_list"


def detail_url(app):
    return reverse("portal:application_detail", args=[app.pk])


def body(response) -> str:
    return response.content.decode()


def approve(app, officer, amount="300000.00") -> Project:
    set_state(app, A.ACCEPTED)
    return services.establish_project(actor=officer, application_id=app.pk, granted_amount=Decimal(amount))


@pytest.fixture
def project(draft_app, officer):
    return approve(draft_app, officer, "1234567.50")


@pytest.fixture
def foreign_project(open_call, other_org, other_applicant, officer):
    app = ApplicationFactory(call=open_call, organization=other_org, created_by=other_applicant, title="外单位的立项项目")
    return approve(app, officer)


# ---- the application page -----------------------------------------------------------------------------


def test_approved_application_shows_the_project_and_granted_amount(client, applicant, draft_app, project):
    client.force_login(applicant)
    html = body(client.get(detail_url(draft_app)))
    assert 'data-testid="state">已立项<' in html
    assert "kj-state-approved" in html
    assert f'data-testid="project-number">{project.number}<' in html
    assert "1,234,567.50 元（123.46 万元）" in html
    established = timezone.localdate(project.established_at)  # Asia/Shanghai
    assert f'data-testid="established">{established:%Y-%m-%d}<' in html


def test_not_approved_application_says_so_without_a_project(client, applicant, officer, draft_app):
    set_state(draft_app, A.ACCEPTED)
    services.decline_funding(actor=officer, application_id=draft_app.pk, reason="未列入立项清单")
    client.force_login(applicant)
    html = body(client.get(detail_url(draft_app)))
    assert 'data-testid="state">未立项<' in html
    assert "kj-state-not_approved" in html
    assert 'data-testid="not-approved"' in html
    assert 'data-testid="project"' not in html


def test_accepted_application_shows_no_result_yet(client, applicant, draft_app):
    set_state(draft_app, A.ACCEPTED)
    client.force_login(applicant)
    html = body(client.get(detail_url(draft_app)))
    assert 'data-testid="project"' not in html and 'data-testid="not-approved"' not in html


def test_another_organisation_gets_404_on_the_approved_application(client, other_applicant, draft_app, project):
    client.force_login(other_applicant)
    response = client.get(detail_url(draft_app))
    assert response.status_code == 404
    assert project.number not in body(response)


def test_officer_sees_the_project_on_the_application_page(client, officer, draft_app, project):
    client.force_login(officer)
    html = body(client.get(detail_url(draft_app)))
    assert project.number in html and "1,234,567.50 元" in html


# ---- 我的项目 ------------------------------------------------------------------------------------------


def test_project_list_shows_only_the_own_organisation(client, applicant, project, foreign_project):
    client.force_login(applicant)
    response = client.get(reverse(LIST_URL))
    assert response.status_code == 200
    html = body(response)
    assert project.number in html and project.title in html
    assert "123.46" in html  # 万元
    assert detail_url(project.application) in html
    assert foreign_project.number not in html and foreign_project.title not in html


def test_other_organisation_sees_only_its_own(client, other_applicant, project, foreign_project):
    client.force_login(other_applicant)
    html = body(client.get(reverse(LIST_URL)))
    assert foreign_project.number in html
    assert project.number not in html and project.title not in html


def test_empty_project_list_explains_itself(client, applicant, foreign_project):
    client.force_login(applicant)
    html = body(client.get(reverse(LIST_URL)))
    assert "本单位还没有立项项目" in html
    assert foreign_project.number not in html


@pytest.mark.parametrize("who", ["officer", "finance_user"])
def test_bureau_staff_see_every_project_with_the_organisation(client, request, project, foreign_project, who):
    client.force_login(request.getfixturevalue(who))
    html = body(client.get(reverse(LIST_URL)))
    assert project.number in html and foreign_project.number in html
    assert project.organization.name in html and foreign_project.organization.name in html


def test_finance_gets_no_link_to_applications_it_cannot_open(client, finance_user, project):
    client.force_login(finance_user)
    html = body(client.get(reverse(LIST_URL)))
    assert project.number in html
    assert detail_url(project.application) not in html
    assert client.get(detail_url(project.application)).status_code == 404


def test_expert_gets_404_and_anonymous_goes_to_login(client, expert_user, project):
    client.force_login(expert_user)
    response = client.get(reverse(LIST_URL))
    assert response.status_code == 404
    assert project.number not in body(response)
    client.logout()
    response = client.get(reverse(LIST_URL))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_selector_scopes_projects(applicant, org_admin, other_applicant, officer, expert_user, finance_user, project,
                                  foreign_project):
    supervisor = UserFactory(roles=["supervisor"])
    orgless_applicant = UserFactory(organization=None, roles=["applicant"])
    assert list(selectors.projects_visible_to(applicant)) == [project]
    assert list(selectors.projects_visible_to(org_admin)) == [project]
    assert list(selectors.projects_visible_to(other_applicant)) == [foreign_project]
    assert set(selectors.projects_visible_to(officer)) == {project, foreign_project}
    assert set(selectors.projects_visible_to(supervisor)) == {project, foreign_project}
    assert set(selectors.projects_visible_to(finance_user)) == {project, foreign_project}
    assert not selectors.projects_visible_to(expert_user).exists()
    assert not selectors.projects_visible_to(orgless_applicant).exists()


def test_dashboard_links_to_the_project_list(client, applicant):
    client.force_login(applicant)
    assert reverse(LIST_URL) in body(client.get(reverse("portal:dashboard")))


@pytest.mark.parametrize("n", [2, 20])
def test_project_list_query_count_is_fixed(client, applicant, org, open_call, officer, django_assert_max_num_queries, n):
    for _i in range(n):
        approve(ApplicationFactory(call=open_call, organization=org, created_by=applicant), officer)
    client.force_login(applicant)
    with django_assert_max_num_queries(7):
        response = client.get(reverse(LIST_URL))
    assert response.status_code == 200
    assert len(response.context["projects"]) == n


def test_project_list_is_paginated(client, applicant, org, open_call, officer):
    for _i in range(21):
        approve(ApplicationFactory(call=open_call, organization=org, created_by=applicant), officer)
    client.force_login(applicant)
    first = client.get(reverse(LIST_URL))
    assert len(first.context["projects"]) == 20
    second = client.get(reverse(LIST_URL), {"page": 2})
    assert len(second.context["projects"]) == 1
    oldest = Project.objects.order_by("established_at", "id").first()
    assert oldest.number in body(second) and oldest.number not in body(first)


# ---- the new states where states are listed -------------------------------------------------------------


def test_application_list_filters_by_the_new_states(client, applicant, officer, org, open_call, draft_app, project):
    declined = ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="未立项的申报书")
    set_state(declined, A.ACCEPTED)
    services.decline_funding(actor=officer, application_id=declined.pk)
    client.force_login(applicant)
    html = body(client.get(reverse("portal:application_list"), {"state": "approved"}))
    assert draft_app.title in html and declined.title not in html
    html = body(client.get(reverse("portal:application_list"), {"state": "not_approved"}))
    assert declined.title in html and draft_app.title not in html
    dashboard = body(client.get(reverse("portal:dashboard")))
    assert "?state=approved" in dashboard and "?state=not_approved" in dashboard


def test_every_application_and_project_state_has_a_badge_colour():
    css = Path(settings.BASE_DIR, "static", "css", "app.css").read_text(encoding="utf-8")
    coloured = set(re.findall(r"\.kj-state-([a-z_]+)", css))
    states = set(A.values) | set(Project.State.values)
    from funding.models import Disbursement, RecoveryOrder, Repayment, TaskAgreement, Tranche

    for model in (Challenge, Bid, ProjectMilestone, ChallengeQuestion, ChallengeAcceptance, TaskAgreement, Tranche,
                  Disbursement, RecoveryOrder, Repayment, MidtermReport, AcceptanceReport, ExtensionRequest):
        states |= set(model.State.values)
    missing = states - coloured
    assert not missing, missing

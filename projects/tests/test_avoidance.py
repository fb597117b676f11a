"""不适宜评审专家: the service, the 回避专家 step of the editor, the detail page and the submitted snapshot."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from projects import services
from projects.models import Application, ApplicationVersion, AvoidanceRequest
from projects.tests.factories import set_state

pytestmark = pytest.mark.django_db

A = Application.State
WANG = {"name": "王竞争", "organization_name": "某竞争企业研究院", "reason": "与本单位存在直接竞争关系"}
LI = {"name": "李利害", "organization_name": "某大学", "reason": "曾与项目负责人有专利纠纷"}
ZHAO = {"name": "赵前同事", "organization_name": "某研究所", "reason": "近三年与负责人有合作"}
QIAN = {"name": "钱第四", "organization_name": "某公司", "reason": "其他利害关系"}


def names(app) -> list[str]:
    return list(AvoidanceRequest.objects.filter(application=app).order_by("position").values_list("name", flat=True))


def edit_url(app):
    return reverse("portal:application_edit", kwargs={"pk": app.pk, "step": "avoid"})


def detail_url(app):
    return reverse("portal:application_detail", args=[app.pk])


def avoid_post(rows, action="save", initial=0):
    data = {
        "avoid-TOTAL_FORMS": str(len(rows)),
        "avoid-INITIAL_FORMS": str(initial),
        "avoid-MIN_NUM_FORMS": "0",
        "avoid-MAX_NUM_FORMS": "1000",
        "action": action,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"avoid-{i}-{key}"] = value
    return data


BLANK = {"name": "", "organization_name": "", "reason": ""}


# ---- the service ------------------------------------------------------------------------------------


def test_service_replaces_the_list_in_order_and_normalises_spaces(draft_app, applicant):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI])
    services.set_avoidance_requests(
        actor=applicant, application_id=draft_app.pk,
        requests=[{**LI, "name": "  李 利害 "}, BLANK, ZHAO],
    )
    assert names(draft_app) == ["李 利害", "赵前同事"]


def test_service_allows_at_most_three(draft_app, applicant):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI, ZHAO])
    with pytest.raises(InvalidInput) as exc:
        services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI, ZHAO, QIAN])
    assert "最多填写3位" in " ".join(exc.value.messages)
    assert names(draft_app) == ["王竞争", "李利害", "赵前同事"]


@pytest.mark.parametrize("missing", ["name", "organization_name", "reason"])
def test_service_requires_name_workplace_and_reason(draft_app, applicant, missing):
    with pytest.raises(InvalidInput) as exc:
        services.set_avoidance_requests(
            actor=applicant, application_id=draft_app.pk, requests=[WANG, {**LI, missing: "  "}]
        )
    assert "第2位" in " ".join(exc.value.messages)
    assert not AvoidanceRequest.objects.exists()


def test_service_refuses_duplicates(draft_app, applicant):
    with pytest.raises(InvalidInput) as exc:
        services.set_avoidance_requests(
            actor=applicant, application_id=draft_app.pk, requests=[WANG, {**WANG, "reason": "另一个理由"}]
        )
    assert "重复" in " ".join(exc.value.messages)
    assert not AvoidanceRequest.objects.exists()


@pytest.mark.parametrize("state", [A.SUBMITTED, A.ENDORSED, A.ACCEPTED, A.APPROVED, A.NOT_APPROVED, A.WITHDRAWN])
def test_service_refuses_once_the_application_is_not_editable(draft_app, applicant, state):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    set_state(draft_app, state)
    with pytest.raises(TransitionRefused):
        services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[LI])
    assert names(draft_app) == ["王竞争"]


@pytest.mark.parametrize("state", [A.ORG_RETURNED, A.RETURNED])
def test_service_allows_changes_when_returned_for_revision(draft_app, applicant, state):
    set_state(draft_app, state)
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[LI])
    assert names(draft_app) == ["李利害"]


@pytest.mark.parametrize("who", ["other_applicant", "officer", "expert_user"])
def test_service_refuses_anyone_but_the_own_organisation(request, draft_app, who):
    with pytest.raises(PermissionRefused):
        services.set_avoidance_requests(
            actor=request.getfixturevalue(who), application_id=draft_app.pk, requests=[WANG]
        )
    assert not AvoidanceRequest.objects.exists()


# ---- the editor step ----------------------------------------------------------------------------------


def test_step_sits_between_partners_and_attachments(client, applicant, draft_app):
    client.force_login(applicant)
    html = client.get(edit_url(draft_app)).content.decode()
    step_urls = [reverse("portal:application_edit", kwargs={"pk": draft_app.pk, "step": s})
                 for s in ("partners", "avoid", "attachments")]
    positions = [html.index(f'href="{u}"') for u in step_urls]
    assert positions == sorted(positions)
    assert "回避专家" in html
    # three empty rows, and no more
    assert 'name="avoid-2-name"' in html and 'name="avoid-3-name"' not in html


def test_step_post_creates_rows_and_shows_them_again(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.post(edit_url(draft_app), avoid_post([WANG, BLANK, LI], action="next"))
    assert response.status_code == 302
    assert response.url == reverse("portal:application_edit", kwargs={"pk": draft_app.pk, "step": "attachments"})
    assert names(draft_app) == ["王竞争", "李利害"]
    row = AvoidanceRequest.objects.get(name="王竞争")
    assert (row.organization_name, row.reason) == (WANG["organization_name"], WANG["reason"])

    html = client.get(edit_url(draft_app)).content.decode()
    assert 'value="王竞争"' in html and 'value="与本单位存在直接竞争关系"' in html and 'value="李利害"' in html


def test_step_clearing_a_row_removes_that_expert(client, applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI])
    client.force_login(applicant)
    response = client.post(edit_url(draft_app), avoid_post([BLANK, LI, BLANK], initial=2))
    assert response.status_code == 302
    assert names(draft_app) == ["李利害"]


def test_step_refuses_a_fourth_row_with_a_message(client, applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    client.force_login(applicant)
    response = client.post(edit_url(draft_app), avoid_post([WANG, LI, ZHAO, QIAN], initial=1))
    assert response.status_code == 200
    html = response.content.decode()
    assert "未能保存" in html and "不适宜评审专家最多填写3位" in html
    assert names(draft_app) == ["王竞争"]


def test_step_shows_a_half_filled_row_as_an_error(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.post(edit_url(draft_app), avoid_post([WANG, {**LI, "reason": ""}, BLANK]))
    assert response.status_code == 200
    assert "第2位不适宜专家的姓名、工作单位和理由都必须填写" in response.content.decode()
    assert not AvoidanceRequest.objects.exists()


def test_step_of_a_submitted_application_changes_nothing(client, applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    set_state(draft_app, A.SUBMITTED)
    client.force_login(applicant)
    response = client.post(edit_url(draft_app), avoid_post([LI]))
    assert response.status_code == 302 and response.url == detail_url(draft_app)
    assert any("不能修改" in str(m) for m in get_messages(response.wsgi_request))
    assert names(draft_app) == ["王竞争"]


@pytest.mark.parametrize("who", ["other_applicant", "expert_user", "officer"])
def test_step_is_404_outside_the_organisation(client, request, draft_app, who):
    set_state(draft_app, A.DRAFT)
    client.force_login(request.getfixturevalue(who))
    assert client.get(edit_url(draft_app)).status_code == 404
    assert client.post(edit_url(draft_app), avoid_post([WANG])).status_code == 404
    assert not AvoidanceRequest.objects.exists()


# ---- who sees them ----------------------------------------------------------------------------------------


def test_detail_page_shows_them_to_the_organisation(client, applicant, org_admin, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI])
    set_state(draft_app, A.ACCEPTED)
    for user in (applicant, org_admin):
        client.force_login(user)
        html = client.get(detail_url(draft_app)).content.decode()
        assert 'data-testid="avoidance"' in html
        assert "王竞争" in html and "与本单位存在直接竞争关系" in html and "李利害" in html


def test_review_step_shows_them_before_submitting(client, applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    client.force_login(applicant)
    html = client.get(reverse("portal:application_edit", kwargs={"pk": draft_app.pk, "step": "review"})).content.decode()
    assert "王竞争" in html


def test_another_organisation_gets_404_and_never_sees_them(client, applicant, other_applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    set_state(draft_app, A.ACCEPTED)
    client.force_login(other_applicant)
    response = client.get(detail_url(draft_app))
    assert response.status_code == 404
    assert "王竞争" not in response.content.decode()


@pytest.mark.parametrize("who", ["officer", "expert_user"])
def test_bureau_and_experts_do_not_see_them_on_the_application_page(client, request, applicant, draft_app, who):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    set_state(draft_app, A.ACCEPTED)
    client.force_login(request.getfixturevalue(who))
    response = client.get(detail_url(draft_app))
    assert response.status_code == (200 if who == "officer" else 404)
    html = response.content.decode()
    assert "王竞争" not in html and 'data-testid="avoidance"' not in html


def test_an_applicant_user_of_another_org_with_the_same_role_mix_sees_nothing(client, applicant, other_org, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG])
    outsider = UserFactory(organization=other_org, roles=["applicant"])
    client.force_login(outsider)
    assert client.get(edit_url(draft_app)).status_code == 404
    assert client.get(detail_url(draft_app)).status_code == 404


# ---- the submitted snapshot -----------------------------------------------------------------------------


def test_snapshot_records_them_at_submission(applicant, draft_app):
    services.set_avoidance_requests(actor=applicant, application_id=draft_app.pk, requests=[WANG, LI])
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    version = ApplicationVersion.objects.get(application=draft_app, revision=1)
    assert version.snapshot["avoidance_requests"] == [WANG, LI]


def test_snapshot_without_any_is_an_empty_list(applicant, draft_app):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    assert ApplicationVersion.objects.get(application=draft_app).snapshot["avoidance_requests"] == []

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.models import AuditEvent
from projects import services
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.models import Application, Call, FormalReview
from projects.tests.factories import ApplicationFactory, CallFactory, ProgramFactory, set_state

pytestmark = pytest.mark.django_db

A = Application.State
ALL_CHECKED = {code: True for code, _label in FORMAL_REVIEW_CHECKLIST}


def detail_url(app):
    return reverse("api:application-detail", args=[app.pk])


def action_url(app, name):
    return reverse(f"api:application-{name}", args=[app.pk])


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


# ---- calls (public) ------------------------------------------------------------------------------


def test_anonymous_reads_published_and_closed_calls_but_never_drafts(client):
    published = CallFactory(title="人工智能专项申报指南")
    closed = CallFactory(
        title="往年指南",
        state=Call.State.CLOSED,
        opens_at=timezone.now() - datetime.timedelta(days=60),
        closes_at=timezone.now() - datetime.timedelta(days=30),
    )
    draft = CallFactory(title="尚未发布的指南", state=Call.State.DRAFT, published_at=None)

    titles = {c["title"] for c in results(client.get(reverse("api:call-list")))}
    assert titles == {published.title, closed.title}
    assert client.get(reverse("api:call-detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("api:call-detail", args=[published.pk])).status_code == 200


def test_officer_also_sees_draft_calls(client, officer):
    draft = CallFactory(state=Call.State.DRAFT, published_at=None)
    client.force_login(officer)
    assert client.get(reverse("api:call-detail", args=[draft.pk])).json()["state"] == "draft"


def test_call_fields_money_as_exact_decimal_strings_and_labelled_conditions(client):
    call = CallFactory(
        total_budget=Decimal("12345678.90"),
        cap_per_project=Decimal("500000.10"),
        min_self_funding_ratio=Decimal("0.3"),
        eligible_org_kinds=["enterprise", "university"],
        required_qualifications=["high_tech"],
        required_attachment_kinds=["feasibility"],
        max_applications_per_org=2,
    )
    data = client.get(reverse("api:call-detail", args=[call.pk])).json()
    assert data["total_budget"] == "12345678.90"
    assert data["cap_per_project"] == "500000.10"
    assert data["min_self_funding_ratio"] == "0.3000"
    assert data["is_open"] is True
    assert data["program"]["code"] == "zdyf"
    assert data["eligible_org_kinds"] == [
        {"code": "enterprise", "label": "企业"},
        {"code": "university", "label": "高等院校"},
    ]
    assert data["required_qualifications"] == [{"code": "high_tech", "label": "高新技术企业"}]
    assert data["required_attachment_kinds"] == [{"code": "feasibility", "label": "项目可行性报告"}]
    assert data["max_applications_per_org"] == 2


def test_call_filters_program_year_state_open_and_search(client):
    now = timezone.now()
    ai = CallFactory(title="人工智能专项", year=2026)
    bio = CallFactory(title="生物医药专项", year=2025, program=ProgramFactory(code="jbly", name="尖兵领雁"))
    upcoming = CallFactory(
        title="下月开放的新材料专项",
        year=2026,
        opens_at=now + datetime.timedelta(days=10),
        closes_at=now + datetime.timedelta(days=40),
    )
    closed = CallFactory(
        title="已截止专项",
        year=2026,
        state=Call.State.CLOSED,
        opens_at=now - datetime.timedelta(days=60),
        closes_at=now - datetime.timedelta(days=30),
    )
    url = reverse("api:call-list")

    def ids(**params):
        return {c["id"] for c in results(client.get(url, params))}

    assert ids(program="jbly") == {bio.pk}
    assert ids(program="ZDYF") == {ai.pk, upcoming.pk, closed.pk}
    assert ids(year=2025) == {bio.pk}
    assert ids(state="closed") == {closed.pk}
    assert ids(open="true") == {ai.pk, bio.pk}
    assert ids(open="false") == {upcoming.pk, closed.pk}
    assert ids(search="生物") == {bio.pk}


# ---- applications: who sees what -----------------------------------------------------------------


def test_anonymous_cannot_list_or_read_applications(client, draft_app):
    assert client.get(reverse("api:application-list")).status_code in (401, 403)
    assert client.get(detail_url(draft_app)).status_code in (401, 403)
    assert post(client, action_url(draft_app, "submit")).status_code in (401, 403)
    draft_app.refresh_from_db()
    assert draft_app.state == A.DRAFT


def test_owner_lists_and_reads_own_application(client, applicant, draft_app):
    client.force_login(applicant)
    rows = results(client.get(reverse("api:application-list")))
    assert [r["id"] for r in rows] == [draft_app.pk]
    assert rows[0]["fiscal_total"] == "350000.00"
    assert rows[0]["self_total"] == "400000.00"
    assert rows[0]["total"] == "750000.00"
    data = client.get(detail_url(draft_app)).json()
    assert data["title"] == draft_app.title
    assert {line["category"]: line["fiscal_amount"] for line in data["budget_lines"]} == {
        "equipment": "200000.00",
        "business": "100000.00",
        "labour": "50000.00",
    }
    assert set(data["available_actions"]) == {"submit", "withdraw"}


def _every_action(client, app):
    return {
        "detail": client.get(detail_url(app)).status_code,
        "patch": client.patch(detail_url(app), {"title": "改名"}, content_type="application/json").status_code,
        "submit": post(client, action_url(app, "submit")).status_code,
        "withdraw": post(client, action_url(app, "withdraw")).status_code,
        "endorse": post(client, action_url(app, "endorse")).status_code,
        "org-return": post(client, action_url(app, "org-return"), {"reason": "材料不全"}).status_code,
        "formal-review": post(
            client, action_url(app, "formal-review"), {"decision": "accept", "checklist": ALL_CHECKED}
        ).status_code,
    }


@pytest.mark.parametrize("state", [A.DRAFT, A.SUBMITTED, A.ENDORSED])
def test_other_organisation_gets_404_on_detail_and_every_action(client, other_applicant, draft_app, state):
    app = set_state(draft_app, state)
    client.force_login(other_applicant)
    assert results(client.get(reverse("api:application-list"))) == []
    assert set(_every_action(client, app).values()) == {404}
    app.refresh_from_db()
    assert app.state == state
    assert app.title == draft_app.title


@pytest.mark.parametrize("user_fixture", ["expert_user", "finance_user"])
def test_expert_and_finance_see_no_application(client, request, draft_app, user_fixture):
    app = set_state(draft_app, A.ENDORSED)
    client.force_login(request.getfixturevalue(user_fixture))
    assert results(client.get(reverse("api:application-list"))) == []
    assert set(_every_action(client, app).values()) == {404}
    app.refresh_from_db()
    assert app.state == A.ENDORSED


def test_officer_sees_only_what_reached_the_bureau(client, officer, open_call, org, applicant, org_admin):
    draft = ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="草稿中的项目")
    submitted = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant), A.SUBMITTED)
    endorsed = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant), A.ENDORSED)
    client.force_login(officer)
    ids = {r["id"] for r in results(client.get(reverse("api:application-list")))}
    assert ids == {endorsed.pk}  # drafts and applications still at 单位审核 are the organisation's own
    assert client.get(detail_url(draft)).status_code == 404
    assert client.get(detail_url(submitted)).status_code == 404
    withdrawn_draft = ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="撤回的草稿")
    services.withdraw_application(actor=applicant, application_id=withdrawn_draft.pk)
    assert client.get(detail_url(withdrawn_draft)).status_code == 404
    # once endorsed it stays visible to the bureau, even if later returned and resubmitted
    services.endorse_application(actor=org_admin, application_id=submitted.pk)
    services.formal_review(actor=officer, application_id=submitted.pk, decision="return", reason="补充材料")
    services.submit_application(actor=applicant, application_id=submitted.pk)
    assert client.get(detail_url(submitted)).status_code == 200
    assert results(client.get(reverse("api:application-list"), {"search": "草稿中"})) == []


def test_application_filters(client, officer, open_call, org, other_org, applicant):
    other_call = CallFactory(year=2025)
    a1 = set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="高端芯片"), A.ENDORSED)
    a2 = set_state(ApplicationFactory(call=open_call, organization=other_org, title="新能源电池"), A.RETURNED)
    a3 = set_state(ApplicationFactory(call=other_call, organization=org, created_by=applicant, title="智慧农业"), A.ACCEPTED)
    client.force_login(officer)
    url = reverse("api:application-list")

    def ids(**params):
        return {r["id"] for r in results(client.get(url, params))}

    assert ids(state="endorsed") == {a1.pk}
    assert ids(call=open_call.pk) == {a1.pk, a2.pk}
    assert ids(year=2025) == {a3.pk}
    assert ids(organization=other_org.pk) == {a2.pk}
    assert ids(search="芯片") == {a1.pk}
    assert ids(search=a2.number) == {a2.pk}
    ordered = [r["id"] for r in results(client.get(url, {"ordering": "title"}))]
    assert ordered == sorted([a1.pk, a2.pk, a3.pk], key=lambda pk: Application.objects.get(pk=pk).title)


def test_leader_id_number_is_masked_except_for_the_owning_organisation(client, applicant, officer, draft_app):
    Application.objects.filter(pk=draft_app.pk).update(leader_id_number="330106198001011234")
    services.set_team(
        actor=applicant,
        application_id=draft_app.pk,
        members=[{"name": "王成员", "id_number": "330106199002023456", "organization_name": "示例公司"}],
    )
    app = set_state(draft_app, A.ENDORSED)

    client.force_login(applicant)
    data = client.get(detail_url(app)).json()
    assert data["leader_id_number"] == "330106198001011234"
    assert data["team"][0]["id_number"] == "330106199002023456"

    client.force_login(officer)
    data = client.get(detail_url(app)).json()
    assert data["leader_id_number"] == "330***********1234"
    assert data["team"][0]["id_number"] == "330***********3456"
    assert "198001" not in client.get(detail_url(app)).content.decode()


def test_attachment_metadata_links_to_the_permission_checked_download(client, applicant, draft_app):
    from projects.tests.factories import AttachmentFactory

    attachment = AttachmentFactory(application=draft_app)
    client.force_login(applicant)
    data = client.get(detail_url(draft_app)).json()
    assert data["attachments"][0]["original_name"] == "可行性报告.pdf"
    assert data["attachments"][0]["download_url"].endswith(reverse("portal:attachment_download", args=[attachment.pk]))


def test_non_numeric_id_is_404(client, applicant):
    client.force_login(applicant)
    assert client.get("/api/applications/abc/").status_code == 404


# ---- applications: writes ----------------------------------------------------------------------


def test_applicant_creates_edits_and_submits_through_the_api(client, applicant, org_admin, officer, open_call):
    client.force_login(applicant)
    response = post(client, reverse("api:application-list"), {"call": open_call.pk, "title": "  工业互联网平台研发  "})
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    app = Application.objects.get(pk=pk)
    assert app.state == A.DRAFT and app.organization_id == applicant.organization_id
    assert app.title == "工业互联网平台研发"

    response = client.patch(
        detail_url(app),
        {
            "summary": "面向中小制造企业的工业互联网平台。",
            "start_date": "2027-01-01",
            "end_date": "2028-12-31",
            "leader_phone": "13900001111",
        },
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["summary"] == "面向中小制造企业的工业互联网平台。"
    services.set_budget(
        actor=applicant,
        application_id=pk,
        lines={"equipment": {"fiscal_amount": "100000.00", "self_amount": "150000.00"}},
    )

    response = post(client, action_url(app, "submit"))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "submitted"
    assert response.json()["number"]

    client.force_login(org_admin)
    response = post(client, action_url(app, "endorse"))
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "endorsed"

    client.force_login(officer)
    response = post(
        client, action_url(app, "formal-review"), {"decision": "accept", "reason": "", "checklist": ALL_CHECKED}
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "accepted"
    assert response.json()["formal_reviews"][0]["decision"] == "accept"

    verbs = list(
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(Application), target_id=str(pk)
        ).order_by("id").values_list("verb", flat=True)
    )
    assert verbs == ["create", "edit", "edit_budget", "submit", "endorse", "accept"]


def test_submit_with_problems_returns_400_listing_each_reason(client, applicant, open_call, org):
    app = ApplicationFactory(
        call=open_call,
        organization=org,
        created_by=applicant,
        summary="",
        budget={"equipment": (Decimal("600000.00"), Decimal("0.00"))},
    )
    expected = services.submission_problems(app)
    assert len(expected) >= 3  # missing 项目简介, over the cap, self-funding ratio too low

    client.force_login(applicant)
    response = post(client, action_url(app, "submit"))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "submit_checks"
    assert body["errors"] == expected
    assert any("项目简介" in e for e in body["errors"])
    assert any("超过本指南单项上限" in e for e in body["errors"])
    assert any("自筹资金比例" in e for e in body["errors"])
    app.refresh_from_db()
    assert app.state == A.DRAFT and app.number is None


def test_refused_transition_returns_409_with_the_reason(client, org_admin, draft_app):
    client.force_login(org_admin)
    response = post(client, action_url(draft_app, "endorse"))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_refused"
    assert body["detail"] == "当前状态为“草稿”，不能执行“单位审核通过”。"
    draft_app.refresh_from_db()
    assert draft_app.state == A.DRAFT


def test_patch_of_a_submitted_application_is_refused_with_409(client, applicant, draft_app):
    app = set_state(draft_app, A.SUBMITTED)
    client.force_login(applicant)
    response = client.patch(detail_url(app), {"title": "提交后改名"}, content_type="application/json")
    assert response.status_code == 409
    assert "不能修改" in response.json()["detail"]
    app.refresh_from_db()
    assert app.title == draft_app.title


def test_put_is_not_allowed(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.put(detail_url(draft_app), {"title": "x"}, content_type="application/json")
    assert response.status_code == 405


def test_org_return_needs_a_reason(client, org_admin, draft_app):
    app = set_state(draft_app, A.SUBMITTED)
    client.force_login(org_admin)
    response = post(client, action_url(app, "org-return"), {"reason": "  "})
    assert response.status_code in (400, 409)
    assert "必须填写理由" in response.json()["detail"]
    response = post(client, action_url(app, "org-return"), {"reason": "预算说明不充分"})
    assert response.status_code == 200
    app.refresh_from_db()
    assert app.state == A.ORG_RETURNED and app.last_reason == "预算说明不充分"


def test_formal_review_accept_needs_the_whole_checklist(client, officer, draft_app):
    app = set_state(draft_app, A.ENDORSED)
    client.force_login(officer)
    response = post(client, action_url(app, "formal-review"), {"decision": "accept", "checklist": {"budget": True}})
    assert response.status_code == 400
    assert "以下审查要点未通过，不能受理" in response.json()["detail"]
    assert "附件齐全" in response.json()["detail"]
    app.refresh_from_db()
    assert app.state == A.ENDORSED
    assert not FormalReview.objects.filter(application=app).exists()


def test_formal_review_return_with_reason(client, officer, applicant, draft_app):
    app = set_state(draft_app, A.ENDORSED)
    client.force_login(officer)
    response = post(client, action_url(app, "formal-review"), {"decision": "return", "reason": "缺少合作协议"})
    assert response.status_code == 200
    assert response.json()["state"] == "returned"
    assert response.json()["last_reason"] == "缺少合作协议"
    # the applicant, who may see it, does not get to review it
    app2 = set_state(ApplicationFactory(call=app.call, organization=app.organization, created_by=applicant), A.ENDORSED)
    client.force_login(applicant)
    response = post(client, action_url(app2, "formal-review"), {"decision": "accept", "checklist": ALL_CHECKED})
    assert response.status_code == 403
    app2.refresh_from_db()
    assert app2.state == A.ENDORSED


def test_invalid_decision_is_400(client, officer, draft_app):
    app = set_state(draft_app, A.ENDORSED)
    client.force_login(officer)
    response = post(client, action_url(app, "formal-review"), {"decision": "approve"})
    assert response.status_code == 400
    assert "decision" in response.json()


def test_create_on_a_closed_call_is_refused(client, applicant):
    closed = CallFactory(
        state=Call.State.CLOSED,
        opens_at=timezone.now() - datetime.timedelta(days=60),
        closes_at=timezone.now() - datetime.timedelta(days=30),
    )
    draft_call = CallFactory(state=Call.State.DRAFT, published_at=None)
    client.force_login(applicant)
    response = post(client, reverse("api:application-list"), {"call": closed.pk, "title": "迟到的申报"})
    assert response.status_code == 400
    assert "不在申报期内" in response.json()["detail"]
    response = post(client, reverse("api:application-list"), {"call": draft_call.pk, "title": "草稿指南"})
    assert response.status_code == 400
    assert not Application.objects.exists()


def test_withdraw_through_the_api(client, applicant, draft_app):
    app = set_state(draft_app, A.SUBMITTED)
    client.force_login(applicant)
    response = post(client, action_url(app, "withdraw"), {"reason": "重复申报，主动撤回"})
    assert response.status_code == 200
    assert response.json()["state"] == "withdrawn"
    response = post(client, action_url(app, "withdraw"))
    assert response.status_code == 409


# ---- query counts --------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 50])
def test_call_list_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries, rows):
    CallFactory.create_batch(rows)
    with django_assert_max_num_queries(3):
        response = client.get(reverse("api:call-list"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_application_list_runs_a_fixed_number_of_queries_for_the_owner(
    client, django_assert_max_num_queries, applicant, open_call, org, rows
):
    for _i in range(rows):
        ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    client.force_login(applicant)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("api:application-list"))
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [5, 50])
def test_application_list_runs_a_fixed_number_of_queries_for_an_officer(
    client, django_assert_max_num_queries, officer, open_call, rows
):
    orgs = OrganizationFactory.create_batch(3)
    for i in range(rows):
        owner = orgs[i % 3]
        app = ApplicationFactory(call=open_call, organization=owner, created_by=UserFactory(organization=owner))
        set_state(app, A.ENDORSED)
    client.force_login(officer)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("api:application-list"), {"ordering": "-fiscal_total"})
    assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [1, 10])
def test_application_detail_runs_a_fixed_number_of_queries(
    client, django_assert_max_num_queries, applicant, draft_app, rows
):
    from projects.tests.factories import AttachmentFactory

    AttachmentFactory.create_batch(rows, application=draft_app)
    services.set_team(
        actor=applicant,
        application_id=draft_app.pk,
        members=[{"name": f"成员{i}", "organization_name": "示例公司"} for i in range(rows)],
    )
    client.force_login(applicant)
    with django_assert_max_num_queries(12):
        assert client.get(detail_url(draft_app)).status_code == 200


# ---- schema and docs -----------------------------------------------------------------------------


def test_schema_endpoint(client):
    response = client.get(reverse("api:schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/calls/",
        "/api/applications/",
        "/api/applications/{id}/",
        "/api/applications/{id}/submit/",
        "/api/applications/{id}/withdraw/",
        "/api/applications/{id}/endorse/",
        "/api/applications/{id}/org-return/",
        "/api/applications/{id}/formal-review/",
    ):
        assert path in paths


def test_docs_page_is_served_from_our_own_static_files(client):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), "no CDN or external URL"
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    # no inline script: the start-up script is its own file
    assert "<script>" not in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy + ";"
    assert "unsafe-eval" not in policy

    script = client.get(reverse("api:docs"), {"script": ""})
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_only_the_docs_page_relaxes_style_src(client):
    docs_policy = client.get(reverse("api:docs")).headers["Content-Security-Policy"]
    assert "'unsafe-inline'" in re.search(r"style-src[^;]*", docs_policy).group(0)
    other_policy = client.get(reverse("api:call-list")).headers["Content-Security-Policy"]
    assert "unsafe-inline" not in other_policy


# ---- integer filters are bounded: bad input is a 400, never a 500 (SQLite overflows past 2^63-1) ----


@pytest.mark.parametrize(
    "params",
    [
        {"call": "99999999999999999999"},
        {"call": "9223372036854775808"},
        {"call": "1e30"},
        {"call": "1.5"},
        {"call": "0"},
        {"organization": "99999999999999999999"},
        {"organization": "-1"},
        {"year": "1e30"},
        {"year": "99999999999999999999"},
    ],
)
def test_out_of_range_application_filters_are_bad_input(client, officer, params):
    client.force_login(officer)
    response = client.get(reverse("api:application-list"), params)
    assert response.status_code == 400
    [field] = params
    assert field in response.json()


def test_the_largest_id_is_a_valid_filter_that_matches_nothing(client, officer, open_call):
    set_state(ApplicationFactory(call=open_call), A.ENDORSED)
    client.force_login(officer)
    assert results(client.get(reverse("api:application-list"), {"call": str(2**63 - 1)})) == []
    assert len(results(client.get(reverse("api:application-list"), {"call": str(open_call.pk)}))) == 1


@pytest.mark.parametrize("year", ["1e30", "99999999999999999999", "0"])
def test_out_of_range_call_year_is_bad_input(client, year):
    response = client.get(reverse("api:call-list"), {"year": year})
    assert response.status_code == 400
    assert "year" in response.json()

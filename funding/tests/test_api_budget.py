"""预算调整 and 后补助 through the REST API and the admin: the organisation requests an adjustment (recorded or
pending), the officer approves or rejects; the organisation submits a claim as multipart, the officer verifies or
returns it; the budget on the agreement, PATCHed with the terms; refusals with their reasons; another organisation
404, experts empty lists, anonymous 403; fixed query counts; the admin pages read-only."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import budget as fb
from funding import subsidy as fsub
from funding.models import BudgetAdjustment, FundingScheme, PostSubsidyClaim
from projects.tests.factories import CallFactory, ProgramFactory, pdf_upload

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def api(name, *args):
    return reverse(f"api:{name}", args=args)


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def lines(business, labour):
    return {"business": {"fiscal": business, "self": "150000.00"}, "labour": {"fiscal": labour, "self": "50000.00"}}


@pytest.fixture
def agreement(officer, org):
    project = established_project(granted=D("350000.00"), officer=officer, organization=org)
    signed(project, officer)
    return project.agreement


@pytest.fixture
def program(db):
    program = ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")
    FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=D("30"))
    return program


@pytest.fixture
def ps_agreement(program, officer, org):
    project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    signed(project, officer)
    return project.agreement


# ---- 预算调整 ---------------------------------------------------------------------------------------------------------


def test_the_agreement_shows_its_budget_and_the_officer_patches_it(client, officer, org):
    agreement = established_project(granted=D("350000.00"), officer=officer, organization=org).agreement
    client.force_login(officer)
    body = client.get(api("agreement-detail", agreement.pk)).json()
    assert [(b["category"], b["fiscal_amount"]) for b in body["budget_lines"]] == [
        ("equipment", "200000.00"), ("business", "100000.00"), ("labour", "50000.00")]
    r = client.patch(api("agreement-detail", agreement.pk), {"budget": {
        "equipment": {"fiscal": "0", "self": "0"}, "business": {"fiscal": "300000.00", "self": "5.00"},
        "labour": {"fiscal": "50000.00", "self": "0"}}}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["self_amount"] == "5.00"
    r = client.patch(api("agreement-detail", agreement.pk), {"budget": {"business": {"fiscal": "1", "self": "0"}}},
                     content_type="application/json")
    assert r.status_code == 400 and "相差" in r.json()["detail"]


def test_request_approve_and_reject_through_the_api(client, agreement, applicant, officer):
    client.force_login(applicant)
    r = post(client, api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "小幅调剂",
                                                     "lines": lines("95000.00", "55000.00")})
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "recorded" and r.json()["changes"][0]["fiscal_after"] == "95000.00"
    r = post(client, api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "大幅",
                                                     "lines": lines("45000.00", "105000.00")})
    assert r.status_code == 201 and r.json()["state"] == "pending" and r.json()["available_actions"] == []
    pending_id = r.json()["id"]
    r = post(client, api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "又一个",
                                                     "lines": lines("90000.00", "60000.00")})
    assert r.status_code == 409
    r = post(client, api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "x",
                                                     "lines": lines("95000.01", "55000.00")})
    assert r.status_code in (400, 409)
    assert post(client, api("budget-adjustment-approve", pending_id)).status_code == 403
    client.force_login(officer)
    r = client.get(api("budget-adjustment-detail", pending_id))
    assert r.json()["available_actions"] == ["approve", "reject"]
    r = post(client, api("budget-adjustment-reject", pending_id), {"note": ""})
    assert r.status_code == 400
    r = post(client, api("budget-adjustment-approve", pending_id), {"note": "同意"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert post(client, api("budget-adjustment-approve", pending_id)).status_code == 409
    assert len(results(client.get(api("budget-adjustment-list") + "?state=approved"))) == 1


def test_adjustments_are_scoped(client, agreement, applicant, other_applicant, expert_user):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="x",
                                lines=lines("45000.00", "105000.00"))
    client.force_login(other_applicant)
    assert results(client.get(api("budget-adjustment-list"))) == []
    assert client.get(api("budget-adjustment-detail", adj.pk)).status_code == 404
    assert post(client, api("budget-adjustment-approve", adj.pk)).status_code == 404
    r = post(client, api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "x",
                                                     "lines": lines("95000.00", "55000.00")})
    assert r.status_code == 400  # no such agreement for them
    client.force_login(expert_user)
    assert results(client.get(api("budget-adjustment-list"))) == []
    assert client.get(api("budget-adjustment-detail", adj.pk)).status_code == 404
    client.logout()
    assert client.get(api("budget-adjustment-list")).status_code == 403
    assert client.get(api("budget-adjustment-detail", adj.pk)).status_code == 403
    assert BudgetAdjustment.objects.get(pk=adj.pk).state == "pending"


# ---- 后补助 -----------------------------------------------------------------------------------------------------------


def test_submit_verify_and_return_through_the_api(client, ps_agreement, applicant, officer):
    client.force_login(applicant)
    url = api("subsidy-claim-list")
    r = client.post(url, {"agreement": ps_agreement.pk, "claimed_expense": "1000000.00",
                          "audit_report": pdf_upload("审计报告.pdf"), "note": "2025"})
    assert r.status_code == 201, r.content
    claim = r.json()
    assert claim["state"] == "submitted" and claim["audit_report_name"] == "审计报告.pdf"
    assert client.get(claim["audit_report_url"]).status_code == 200
    r = client.post(url, {"agreement": ps_agreement.pk, "claimed_expense": "1.00", "audit_report": pdf_upload()})
    assert r.status_code == 409
    assert post(client, api("subsidy-claim-verify", claim["id"]), {"verified_expense": "1.00"}).status_code == 403
    client.force_login(officer)
    r = post(client, api("subsidy-claim-return", claim["id"]), {"reason": "缺附表"})
    assert r.status_code == 200 and r.json()["state"] == "returned"
    client.force_login(applicant)
    r = client.post(url, {"agreement": ps_agreement.pk, "claimed_expense": "800000.00",
                          "audit_report": pdf_upload("补正.pdf")})
    assert r.status_code == 200 and r.json()["state"] == "submitted" and r.json()["claimed_expense"] == "800000.00"
    client.force_login(officer)
    r = post(client, api("subsidy-claim-verify", claim["id"]), {"verified_expense": "800000.01"})
    assert r.status_code == 400
    r = post(client, api("subsidy-claim-verify", claim["id"]), {"verified_expense": "700000.00"})
    assert r.status_code == 200, r.content
    assert (r.json()["state"], r.json()["subsidy_amount"], r.json()["percent"]) == ("verified", "210000.00",
                                                                                     "30.00")


def test_claims_are_scoped(client, ps_agreement, applicant, other_applicant, expert_user):
    claim = fsub.submit_claim(actor=applicant, agreement_id=ps_agreement.pk, claimed_expense="1.00",
                              audit_report=pdf_upload())
    for user in (other_applicant, expert_user):
        client.force_login(user)
        assert results(client.get(api("subsidy-claim-list"))) == []
        assert client.get(api("subsidy-claim-detail", claim.pk)).status_code == 404
        assert post(client, api("subsidy-claim-verify", claim.pk), {"verified_expense": "1.00"}).status_code == 404
        assert post(client, api("subsidy-claim-return", claim.pk), {"reason": "x"}).status_code == 404
    client.logout()
    assert client.get(api("subsidy-claim-list")).status_code == 403
    assert PostSubsidyClaim.objects.get().state == "submitted"


@pytest.mark.parametrize("n", [1, 5])
def test_lists_run_a_fixed_number_of_queries(client, program, officer, org, n, django_assert_max_num_queries):
    requester = UserFactory(roles=["applicant"], organization=org)
    for _ in range(n):
        a = established_project(granted=D("350000.00"), officer=officer, organization=org).agreement
        signed(a.project, officer)
        fb.request_adjustment(actor=requester, agreement_id=a.pk, reason="x", lines=lines("45000.00", "105000.00"))
        p = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                call=CallFactory(program=program))
        signed(p, officer)
        fsub.submit_claim(actor=requester, agreement_id=p.agreement.pk, claimed_expense="1.00",
                          audit_report=pdf_upload())
    for user in (officer, requester):
        client.force_login(user)
        # session, user, groups, count, rows, and the user's model permissions once (available_actions)
        with django_assert_max_num_queries(7):
            assert len(results(client.get(api("budget-adjustment-list")))) == n
        with django_assert_max_num_queries(7):
            assert len(results(client.get(api("subsidy-claim-list")))) == n


def test_the_admin_pages_are_read_only(client, agreement, applicant, ps_agreement, officer):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="x",
                                lines=lines("45000.00", "105000.00"))
    claim = fsub.submit_claim(actor=applicant, agreement_id=ps_agreement.pk, claimed_expense="1.00",
                              audit_report=pdf_upload())
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for model, obj in (("budgetadjustment", adj), ("postsubsidyclaim", claim),
                       ("agreementbudgetline", agreement.budget_lines.first())):
        r = client.get(reverse(f"admin:funding_{model}_changelist"))
        assert r.status_code == 200
        r = client.get(reverse(f"admin:funding_{model}_change", args=[obj.pk]))
        assert r.status_code == 200 and 'name="_save"' not in r.content.decode()
        assert client.get(reverse(f"admin:funding_{model}_add")).status_code == 403
    r = client.get(reverse("admin:funding_fundingscheme_add"))
    assert r.status_code == 200 and 'name="adjust_percent"' in r.content.decode()
    assert 'name="subsidy_cap"' in r.content.decode()

"""Security review of 预算调整 and 后补助 (pages and API): a body naming another organisation's 任务书 creates nothing;
supervisors and finance read but never decide, and finance never asks; odd input (astronomical amounts, multipart
without a file, the wrong content type, ids no row can have) is refused, never a 500; decisions are POST-only; the
专项审计报告 is served with a safe Content-Disposition."""

from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import budget as fb
from funding import subsidy as fsub
from funding.models import AgreementBudgetLine, BudgetAdjustment, FundingScheme, PostSubsidyClaim, Tranche
from projects.tests.factories import CallFactory, ProgramFactory, pdf_upload

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal
HUGE = 2**64
ASTRONOMICAL = "1e999999999"


def api(name, *args):
    return reverse(f"api:{name}", args=args)


def snapshot():
    return (list(BudgetAdjustment.objects.order_by("id").values_list("state", "decided_at")),
            list(PostSubsidyClaim.objects.order_by("id").values_list("state", "claimed_expense", "subsidy_amount")),
            list(Tranche.objects.order_by("id").values_list("state", "amount")),
            list(AgreementBudgetLine.objects.order_by("id").values_list("fiscal_amount", "self_amount")))


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


@pytest.fixture
def agreement(officer, org):
    project = established_project(granted=D("350000.00"), officer=officer, organization=org)
    signed(project, officer)
    return project.agreement


@pytest.fixture
def foreign_agreement(officer, other_org):
    project = established_project(granted=D("350000.00"), officer=officer, organization=other_org)
    signed(project, officer)
    return project.agreement


@pytest.fixture
def program(db):
    program = ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")
    FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=D("30"))
    return program


def ps_agreement_of(organization, officer, program):
    project = established_project(granted=D("500000.00"), officer=officer, organization=organization,
                                  call=CallFactory(program=program))
    signed(project, officer)
    return project.agreement


@pytest.fixture
def pending(agreement, applicant):
    return fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="大幅调整",
                                 lines={"business": {"fiscal": "50000.00", "self": "150000.00"},
                                        "labour": {"fiscal": "100000.00", "self": "50000.00"}})


@pytest.fixture
def claim(program, officer, org, applicant):
    agreement = ps_agreement_of(org, officer, program)
    return fsub.submit_claim(actor=applicant, agreement_id=agreement.pk, claimed_expense="1000000.00",
                             audit_report=pdf_upload("专项审计报告.pdf"))


# ---- ids in bodies ---------------------------------------------------------------------------------------------------


def test_an_api_body_naming_another_organisations_agreement_creates_nothing(client, program, officer, other_org,
                                                                           applicant, foreign_agreement):
    foreign_ps = ps_agreement_of(other_org, officer, program)
    client.force_login(applicant)
    before = snapshot()
    r = client.post(api("budget-adjustment-list"), {
        "agreement": foreign_agreement.pk, "reason": "调剂",
        "lines": {"business": {"fiscal": "95000.00", "self": "150000.00"},
                  "labour": {"fiscal": "55000.00", "self": "50000.00"}}}, content_type="application/json")
    assert r.status_code == 400 and "agreement" in r.json()
    r = client.post(api("subsidy-claim-list"), {"agreement": foreign_ps.pk, "claimed_expense": "1000.00",
                                                 "audit_report": pdf_upload("专项审计报告.pdf")})
    assert r.status_code == 400 and "agreement" in r.json()
    assert snapshot() == before and not BudgetAdjustment.objects.exists() and not PostSubsidyClaim.objects.exists()


@pytest.mark.parametrize("value", [HUGE, -1, 0, "abc", None])
def test_odd_agreement_ids_in_bodies_are_refused(client, applicant, agreement, value):
    client.force_login(applicant)
    r = client.post(api("budget-adjustment-list"), {"agreement": value, "reason": "x", "lines": {}},
                    content_type="application/json")
    assert r.status_code == 400
    assert not BudgetAdjustment.objects.exists()


# ---- who acts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "finance_user"])
def test_supervisors_and_finance_read_but_never_decide(client, request, pending, claim, who):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    assert client.get(reverse("funding:adjustment", args=[pending.pk])).status_code == 200
    assert client.get(reverse("funding:subsidy_claim", args=[claim.pk])).status_code == 200
    assert client.get(reverse("funding:subsidy_report", args=[claim.pk])).status_code == 200
    for name, obj, data in (("funding:adjustment_approve", pending, {"note": "同意"}),
                            ("funding:adjustment_reject", pending, {"note": "不同意"}),
                            ("funding:subsidy_verify", claim, {"verified_expense": "1000.00"}),
                            ("funding:subsidy_return", claim, {"reason": "补正"})):
        assert client.post(reverse(name, args=[obj.pk]), data).status_code == 404, name
    for url, body in ((api("budget-adjustment-approve", pending.pk), {}),
                      (api("budget-adjustment-reject", pending.pk), {"note": "不同意"}),
                      (api("subsidy-claim-verify", claim.pk), {"verified_expense": "1000.00"}),
                      (api("subsidy-claim-return", claim.pk), {"reason": "补正"})):
        assert client.post(url, body, content_type="application/json").status_code == 403, url
    detail = client.get(api("subsidy-claim-detail", claim.pk)).json()
    assert detail["available_actions"] == []
    assert snapshot() == before


@pytest.mark.parametrize("who", ["supervisor", "finance_user", "officer"])
def test_the_bureau_never_asks_for_the_organisation(client, request, agreement, claim, who):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    assert client.get(reverse("funding:adjustment_create", args=[agreement.pk])).status_code == 404
    assert client.get(reverse("funding:subsidy_submit", args=[claim.agreement_id])).status_code == 404
    r = client.post(api("budget-adjustment-list"), {
        "agreement": agreement.pk, "reason": "调剂",
        "lines": {"business": {"fiscal": "95000.00", "self": "150000.00"},
                  "labour": {"fiscal": "55000.00", "self": "50000.00"}}}, content_type="application/json")
    assert r.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("who", ["other_applicant", "expert_user"])
def test_strangers_get_404_on_every_api_endpoint(client, request, pending, claim, who):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()
    for method, url, body in (("get", api("budget-adjustment-detail", pending.pk), {}),
                              ("post", api("budget-adjustment-approve", pending.pk), {}),
                              ("post", api("budget-adjustment-reject", pending.pk), {"note": "x"}),
                              ("get", api("subsidy-claim-detail", claim.pk), {}),
                              ("post", api("subsidy-claim-verify", claim.pk), {"verified_expense": "1.00"}),
                              ("post", api("subsidy-claim-return", claim.pk), {"reason": "x"})):
        assert getattr(client, method)(url, body, content_type="application/json").status_code == 404, url
    assert client.get(reverse("funding:subsidy_report", args=[claim.pk])).status_code == 404
    assert snapshot() == before


def test_decisions_are_post_only(client, officer, pending, claim):
    client.force_login(officer)
    for name, obj in (("funding:adjustment_approve", pending), ("funding:adjustment_reject", pending),
                      ("funding:subsidy_verify", claim), ("funding:subsidy_return", claim)):
        assert client.get(reverse(name, args=[obj.pk])).status_code == 405, name
    for url in (api("budget-adjustment-approve", pending.pk), api("subsidy-claim-verify", claim.pk)):
        assert client.get(url).status_code == 405
    assert BudgetAdjustment.objects.get(pk=pending.pk).state == BudgetAdjustment.State.PENDING
    assert PostSubsidyClaim.objects.get(pk=claim.pk).state == PostSubsidyClaim.State.SUBMITTED


# ---- odd input -------------------------------------------------------------------------------------------------------


def test_ids_no_row_can_have_are_a_404(client, officer, applicant):
    for user in (officer, applicant):
        client.force_login(user)
        for name in ("funding:adjustment_create", "funding:adjustment", "funding:subsidy_submit",
                     "funding:subsidy_claim", "funding:subsidy_report"):
            assert client.get(reverse(name, args=[HUGE])).status_code == 404, name
        for name in ("funding:adjustment_approve", "funding:subsidy_verify", "funding:subsidy_return"):
            assert client.post(reverse(name, args=[HUGE]), {}).status_code == 404, name


def test_astronomical_amounts_are_refused_not_a_crash(client, agreement, applicant, officer, claim):
    before = snapshot()
    client.force_login(applicant)
    data = {"reason": "调剂", "submit": "1"}
    for c in ("equipment", "business", "labour"):
        data[f"fiscal_{c}"], data[f"self_{c}"] = ASTRONOMICAL, "0"
    assert client.post(reverse("funding:adjustment_create", args=[agreement.pk]), data).status_code == 400
    r = client.post(api("budget-adjustment-list"), {"agreement": agreement.pk, "reason": "x",
                                                     "lines": {"business": {"fiscal": ASTRONOMICAL, "self": "0"}}},
                    content_type="application/json")
    assert r.status_code == 400
    client.force_login(officer)
    for value in (ASTRONOMICAL, "-" + ASTRONOMICAL, "NaN", "abc"):
        assert client.post(reverse("funding:subsidy_verify", args=[claim.pk]),
                           {"verified_expense": value}).status_code == 400, value
        assert client.post(api("subsidy-claim-verify", claim.pk), {"verified_expense": value},
                           content_type="application/json").status_code == 400, value
    assert snapshot() == before


def test_a_claim_without_a_file_or_in_the_wrong_format_is_refused(client, program, officer, org, applicant):
    agreement = ps_agreement_of(org, officer, program)
    client.force_login(applicant)
    url = reverse("funding:subsidy_submit", args=[agreement.pk])
    assert client.post(url, {"claimed_expense": "1000.00"}).status_code == 400  # multipart without the file
    assert client.post(url, "claimed_expense=1000.00", content_type="text/plain").status_code == 400
    assert client.post(api("subsidy-claim-list"), {"agreement": agreement.pk,
                                                   "claimed_expense": "1000.00"}).status_code == 400
    assert client.post(api("subsidy-claim-list"), {"agreement": agreement.pk, "claimed_expense": "1000.00"},
                       content_type="application/json").status_code == 400
    assert client.post(api("subsidy-claim-list"), "x", content_type="text/plain").status_code == 415
    assert not PostSubsidyClaim.objects.exists()


def test_the_audit_report_is_served_with_a_safe_name(client, program, officer, org, applicant):
    agreement = ps_agreement_of(org, officer, program)
    claim = fsub.submit_claim(actor=applicant, agreement_id=agreement.pk, claimed_expense="1000.00",
                              audit_report=pdf_upload('审计"\r\nSet-Cookie: a=1;报告.pdf'))
    for user in (applicant, officer):
        client.force_login(user)
        r = client.get(reverse("funding:subsidy_report", args=[claim.pk]))
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
        disposition = r["Content-Disposition"]
        assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
        assert "Set-Cookie" not in r.headers and "审计" in unquote(disposition)
        assert r["X-Content-Type-Options"] == "nosniff"

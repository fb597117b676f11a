"""后补助 pages: the claim form on the agreement page (multipart, the audit report checked by content), the officer's
computation (verified × percent, the cap, the grant) and verify/return, the audit report download; another
organisation, experts and anonymous users get 404 or the login page on every URL; pinned query counts."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import subsidy as fsub
from funding.models import FundingScheme, PostSubsidyClaim, Tranche
from projects.tests.factories import EXE_BYTES, PDF_BYTES, CallFactory, ProgramFactory, pdf_upload

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def snapshot():
    return (list(PostSubsidyClaim.objects.order_by("id").values_list("state", "claimed_expense", "subsidy_amount")),
            list(Tranche.objects.order_by("id").values_list("state", "amount")))


@pytest.fixture
def program(db):
    program = ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")
    FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=D("30"),
                                 subsidy_cap=D("200000.00"))
    return program


@pytest.fixture
def agreement(program, officer, org):
    project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    signed(project, officer)
    return project.agreement


@pytest.fixture
def claim(agreement, applicant):
    return fsub.submit_claim(actor=applicant, agreement_id=agreement.pk, claimed_expense="1000000.00",
                             audit_report=pdf_upload("专项审计报告.pdf"), note="")


def test_the_organisation_claims_from_the_agreement_page(client, agreement, applicant, officer):
    client.force_login(applicant)
    html = body(client.get(reverse("funding:agreement", args=[agreement.pk])))
    assert 'data-testid="subsidy-card"' in html and 'data-testid="claim-link"' in html
    url = reverse("funding:subsidy_submit", args=[agreement.pk])
    html = body(client.get(url))
    assert "核定研发费用 × 30%" in html and "200,000.00" in html
    r = client.post(url, {"claimed_expense": "1000000.00", "audit_report": SimpleUploadedFile("报告.pdf", EXE_BYTES)})
    assert r.status_code == 400 and not PostSubsidyClaim.objects.exists()
    r = client.post(url, {"claimed_expense": "1000000.00", "audit_report": pdf_upload("专项审计报告.pdf"),
                          "note": "2025年度"}, follow=True)
    assert any("待科技局核定" in m for m in messages_of(r))
    claim = PostSubsidyClaim.objects.get()
    assert r.redirect_chain[-1][0] == reverse("funding:subsidy_claim", args=[claim.pk])
    assert 'data-testid="verify-card"' not in body(r)
    r = client.get(reverse("funding:subsidy_report", args=[claim.pk]))
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF_BYTES
    assert "attachment" in r["Content-Disposition"] and r["X-Content-Type-Options"] == "nosniff"
    # no second claim while it waits
    html = body(client.get(reverse("funding:agreement", args=[agreement.pk])))
    assert 'data-testid="claim-link"' not in html and "待核定" in html


def test_an_ordinary_agreement_has_no_subsidy_card(client, officer, org, applicant):
    project = established_project(granted=D("100000.00"), officer=officer, organization=org)
    client.force_login(applicant)
    assert 'data-testid="subsidy-card"' not in body(client.get(reverse("funding:agreement",
                                                                       args=[project.agreement.pk])))
    assert client.get(reverse("funding:subsidy_submit", args=[project.agreement.pk])).status_code == 404


def test_the_officer_sees_the_computation_and_verifies(client, claim, officer, agreement):
    client.force_login(officer)
    r = client.get(reverse("funding:subsidy_claims"))
    assert r.status_code == 200 and agreement.number in body(r)
    url = reverse("funding:subsidy_claim", args=[claim.pk])
    html = body(client.get(url))
    assert 'data-testid="computation"' in html and "1,000,000.00 元 × 30% = 300,000.00 元" in html
    assert "核定补助金额：200,000.00 元（按上限）" in html
    before = snapshot()
    r = client.post(reverse("funding:subsidy_verify", args=[claim.pk]),
                    {"verified_expense": "500000.00", "preview": "1"})
    assert "500,000.00 元 × 30% = 150,000.00 元" in body(r) and snapshot() == before
    r = client.post(reverse("funding:subsidy_verify", args=[claim.pk]), {"verified_expense": "1000000.01"})
    assert r.status_code == 400 and any("不能超过申报的" in m for m in messages_of(r)) and snapshot() == before
    r = client.post(reverse("funding:subsidy_verify", args=[claim.pk]), {"verified_expense": "500000.00"},
                    follow=True)
    assert any("150,000.00" in m for m in messages_of(r))
    assert 'data-testid="subsidy-amount">150,000.00' in body(r)
    tranche = agreement.tranches.get()
    assert (tranche.state, tranche.amount) == ("due", D("150000.00"))


def test_the_officer_returns_and_the_organisation_resubmits(client, claim, officer, applicant, agreement):
    client.force_login(officer)
    r = client.post(reverse("funding:subsidy_return", args=[claim.pk]), {"reason": ""})
    assert r.status_code == 400
    client.post(reverse("funding:subsidy_return", args=[claim.pk]), {"reason": "缺少附表"})
    assert PostSubsidyClaim.objects.get().state == "returned"
    client.force_login(applicant)
    html = body(client.get(reverse("funding:subsidy_claim", args=[claim.pk])))
    assert "缺少附表" in html and 'data-testid="resubmit-link"' in html
    r = client.post(reverse("funding:subsidy_submit", args=[agreement.pk]),
                    {"claimed_expense": "900000.00", "audit_report": pdf_upload("补正.pdf")})
    assert r.status_code == 302
    claim = PostSubsidyClaim.objects.get()
    assert (claim.state, claim.claimed_expense, claim.audit_report_name) == ("submitted", D("900000.00"), "补正.pdf")


def test_without_a_rule_the_officer_is_told(client, officer, org, applicant):
    program = ProgramFactory(code="hbz2", name="另一后补助", kind="post_subsidy")
    project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    signed(project, officer)
    claim = fsub.submit_claim(actor=applicant, agreement_id=project.agreement.pk, claimed_expense="1.00",
                              audit_report=pdf_upload())
    client.force_login(officer)
    assert 'data-testid="no-rule"' in body(client.get(reverse("funding:subsidy_claim", args=[claim.pk])))
    r = client.post(reverse("funding:subsidy_verify", args=[claim.pk]), {"verified_expense": "1.00"})
    assert r.status_code == 409 and any("尚未设置后补助比例" in m for m in messages_of(r))


# ---- who may reach what ----------------------------------------------------------------------------------------------


def subsidy_urls(agreement, claim):
    return [
        ("get", reverse("funding:subsidy_submit", args=[agreement.pk]), {}),
        ("post", reverse("funding:subsidy_submit", args=[agreement.pk]), {"claimed_expense": "1.00"}),
        ("get", reverse("funding:subsidy_claim", args=[claim.pk]), {}),
        ("get", reverse("funding:subsidy_report", args=[claim.pk]), {}),
        ("post", reverse("funding:subsidy_verify", args=[claim.pk]), {"verified_expense": "1.00"}),
        ("post", reverse("funding:subsidy_return", args=[claim.pk]), {"reason": "x"}),
    ]


@pytest.mark.parametrize("who", ["other_org_applicant", "other_org_admin", "expert"])
def test_strangers_get_404_on_every_url(client, other_org, agreement, claim, who):
    user = {"other_org_applicant": lambda: UserFactory(roles=["applicant"], organization=other_org),
            "other_org_admin": lambda: UserFactory(roles=["org_admin"], organization=other_org),
            "expert": lambda: UserFactory(roles=["expert"])}[who]()
    client.force_login(user)
    before = snapshot()
    for method, url, data in subsidy_urls(agreement, claim):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    r = client.get(reverse("funding:subsidy_claims"))
    if who == "expert":
        assert r.status_code == 404
    else:
        assert r.status_code == 200 and agreement.number not in body(r)
    assert snapshot() == before


def test_anonymous_users_are_sent_to_login(client, agreement, claim):
    before = snapshot()
    for method, url, data in [*subsidy_urls(agreement, claim), ("get", reverse("funding:subsidy_claims"), {})]:
        r = getattr(client, method)(url, data)
        assert r.status_code == 302 and reverse("accounts:login") in r.url, (method, url)
    assert snapshot() == before


def test_the_organisation_cannot_verify(client, claim, applicant, finance_user):
    before = snapshot()
    for user in (applicant, finance_user):
        client.force_login(user)
        assert client.post(reverse("funding:subsidy_verify", args=[claim.pk]),
                           {"verified_expense": "1.00"}).status_code == 404
        assert client.post(reverse("funding:subsidy_return", args=[claim.pk]), {"reason": "x"}).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("n", [1, 6])
def test_the_list_runs_a_fixed_number_of_queries(client, program, officer, org, n, django_assert_max_num_queries):
    requester = UserFactory(roles=["applicant"], organization=org)
    for _ in range(n):
        project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                      call=CallFactory(program=program))
        signed(project, officer)
        fsub.submit_claim(actor=requester, agreement_id=project.agreement.pk, claimed_expense="100.00",
                          audit_report=pdf_upload())
    for user in (officer, requester):
        client.force_login(user)
        with django_assert_max_num_queries(7):
            r = client.get(reverse("funding:subsidy_claims") + "?state=submitted")
        assert body(r).count('data-testid="claim-row"') == n

"""预算 and 预算调整 pages: the budget on the agreement page and its print view, the officer's line edits, the
organisation's adjustment form (check says recorded or for approval; submit), the pending list and the officer's
approve/reject; another organisation, experts and anonymous users get 404 or the login page on every URL; pinned
query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import budget as fb
from funding.models import AgreementBudgetLine, BudgetAdjustment, TaskAgreement

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def lines_of(agreement):
    return {x.category: (x.fiscal_amount, x.self_amount) for x in AgreementBudgetLine.objects.filter(
        agreement=agreement)}


def snapshot():
    return (list(AgreementBudgetLine.objects.order_by("id").values_list("fiscal_amount", "self_amount")),
            list(BudgetAdjustment.objects.order_by("id").values_list("state", "decided_by")))


def form_data(fiscal: dict, reason="调剂预算", submit=True, own=None) -> dict:
    own = own or {"equipment": "200000.00", "business": "150000.00", "labour": "50000.00"}
    base = {"equipment": "200000.00", "business": "100000.00", "labour": "50000.00", **fiscal}
    data = {"reason": reason}
    for c in ("equipment", "business", "labour"):
        data[f"fiscal_{c}"], data[f"self_{c}"] = base[c], own[c]
    data["submit" if submit else "check"] = "1"
    return data


@pytest.fixture
def agreement(officer, org):
    project = established_project(granted=D("350000.00"), officer=officer, organization=org)
    signed(project, officer)
    return TaskAgreement.objects.get(pk=project.agreement.pk)


@pytest.fixture
def pending(agreement, applicant):
    return fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="大幅调整",
                                 lines={"business": {"fiscal": "50000.00", "self": "150000.00"},
                                        "labour": {"fiscal": "100000.00", "self": "50000.00"}})


# ---- the agreement page ------------------------------------------------------------------------------------------


def test_the_agreement_page_and_print_show_the_budget(client, agreement, applicant):
    client.force_login(applicant)
    html = body(client.get(reverse("funding:agreement", args=[agreement.pk])))
    assert 'data-testid="budget-card"' in html and "设备费" in html and "200,000.00" in html
    assert html.count('data-testid="budget-line"') == 3
    assert 'data-testid="adjust-link"' in html  # signed, the organisation may ask
    html = body(client.get(reverse("funding:agreement_print", args=[agreement.pk])))
    assert 'data-testid="print-budget"' in html and "劳务费" in html and "750,000.00" in html  # 350,000 + 400,000


def test_no_adjust_link_before_signing_or_for_the_bureau(client, officer, org, applicant, agreement):
    draft = established_project(granted=D("350000.00"), officer=officer, organization=org).agreement
    client.force_login(applicant)
    assert 'data-testid="adjust-link"' not in body(client.get(reverse("funding:agreement", args=[draft.pk])))
    client.force_login(officer)
    assert 'data-testid="adjust-link"' not in body(client.get(reverse("funding:agreement", args=[agreement.pk])))


def test_the_officer_edits_the_lines_with_the_terms(client, officer, org):
    agreement = established_project(granted=D("350000.00"), officer=officer, organization=org).agreement
    client.force_login(officer)
    url = reverse("funding:agreement_edit", args=[agreement.pk])
    html = body(client.get(url))
    assert 'data-testid="budget-edit"' in html and 'name="budget-fiscal_equipment"' in html
    data = {"start_date": "2026-01-01", "end_date": "2027-12-31", "targets-TOTAL_FORMS": "0",
            "targets-INITIAL_FORMS": "0", "budget-fiscal_equipment": "150000.00", "budget-self_equipment": "0",
            "budget-fiscal_business": "150000.01", "budget-self_business": "100.00", "budget-fiscal_labour": "50000",
            "budget-self_labour": "0"}
    r = client.post(url, data)
    assert r.status_code == 400 and any("相差 +0.01 元" in m for m in messages_of(r))
    data["budget-fiscal_business"] = "150000.00"
    r = client.post(url, data)
    assert r.status_code == 302
    agreement.refresh_from_db()
    assert lines_of(agreement)["business"] == (D("150000.00"), D("100.00")) and agreement.self_amount == D("100.00")


# ---- the adjustment form --------------------------------------------------------------------------------------------


def test_check_says_recorded_or_for_approval_and_changes_nothing(client, agreement, applicant):
    client.force_login(applicant)
    url = reverse("funding:adjustment_create", args=[agreement.pk])
    html = body(client.get(url))
    assert 'data-testid="adjust-form"' in html and "10%" in html and "调增设备费一律报科技局审批" in html
    assert "可自行调整 5,000.00 元以内" in html  # labour 50,000 × 10%
    before = snapshot()
    r = client.post(url, form_data({"business": "95000.00", "labour": "55000.00"}, submit=False))
    assert r.status_code == 200 and 'data-within="1"' in body(r) and "提交后即备案生效" in body(r)
    r = client.post(url, form_data({"business": "94999.99", "labour": "55000.01"}, submit=False))
    assert 'data-within="0"' in body(r) and "报科技局审批" in body(r)
    r = client.post(url, form_data({"business": "95000.00", "labour": "55000.01"}, submit=False))
    assert r.status_code == 400 and any("相差 +0.01 元" in m for m in messages_of(r))
    assert snapshot() == before


def test_submitting_within_the_delegation_records_it(client, agreement, applicant):
    client.force_login(applicant)
    r = client.post(reverse("funding:adjustment_create", args=[agreement.pk]),
                    form_data({"business": "95000.00", "labour": "55000.00"}), follow=True)
    assert any("已备案生效" in m for m in messages_of(r))
    assert lines_of(agreement)["labour"][0] == D("55000.00")
    html = body(r)
    assert 'data-testid="adjustment" data-state="recorded"' in html and "100,000.00" in html and "95,000.00" in html


def test_submitting_beyond_goes_to_the_officer_who_approves(client, agreement, applicant, officer):
    client.force_login(applicant)
    r = client.post(reverse("funding:adjustment_create", args=[agreement.pk]),
                    form_data({"business": "50000.00", "labour": "100000.00"}), follow=True)
    assert any("待科技局审批" in m for m in messages_of(r))
    adj = BudgetAdjustment.objects.get()
    # the form is closed while one is pending
    assert 'data-testid="adjust-link"' not in body(client.get(reverse("funding:agreement", args=[agreement.pk])))
    assert 'data-testid="blocked"' in body(client.get(reverse("funding:adjustment_create", args=[agreement.pk])))
    r = client.get(reverse("funding:adjustment", args=[adj.pk]))
    assert r.status_code == 200 and 'data-testid="decide-card"' not in body(r)
    client.force_login(officer)
    r = client.get(reverse("funding:adjustments"))
    assert "待审批预算调整" in body(r) and adj.number in body(r)
    r = client.get(reverse("funding:adjustment", args=[adj.pk]))
    assert 'data-testid="decide-card"' in body(r)
    r = client.post(reverse("funding:adjustment_approve", args=[adj.pk]), {"note": "同意"}, follow=True)
    assert any("已批准" in m for m in messages_of(r))
    assert lines_of(agreement)["labour"][0] == D("100000.00")


def test_rejection_needs_a_reason(client, pending, officer, agreement):
    before = lines_of(agreement)
    client.force_login(officer)
    r = client.post(reverse("funding:adjustment_reject", args=[pending.pk]), {"note": " "})
    assert r.status_code == 400 and BudgetAdjustment.objects.get(pk=pending.pk).state == "pending"
    r = client.post(reverse("funding:adjustment_reject", args=[pending.pk]), {"note": "依据不足"}, follow=True)
    assert any("不予批准" in m for m in messages_of(r))
    assert BudgetAdjustment.objects.get(pk=pending.pk).state == "rejected" and lines_of(agreement) == before


# ---- who may reach what ----------------------------------------------------------------------------------------------


def budget_urls(agreement, adjustment):
    return [
        ("get", reverse("funding:adjustment_create", args=[agreement.pk]), {}),
        ("post", reverse("funding:adjustment_create", args=[agreement.pk]),
         form_data({"business": "95000.00", "labour": "55000.00"})),
        ("get", reverse("funding:adjustment", args=[adjustment.pk]), {}),
        ("post", reverse("funding:adjustment_approve", args=[adjustment.pk]), {"note": "x"}),
        ("post", reverse("funding:adjustment_reject", args=[adjustment.pk]), {"note": "x"}),
    ]


@pytest.mark.parametrize("who", ["other_org_applicant", "other_org_admin", "expert"])
def test_strangers_get_404_on_every_url(client, other_org, agreement, pending, who):
    user = {"other_org_applicant": lambda: UserFactory(roles=["applicant"], organization=other_org),
            "other_org_admin": lambda: UserFactory(roles=["org_admin"], organization=other_org),
            "expert": lambda: UserFactory(roles=["expert"])}[who]()
    client.force_login(user)
    before = snapshot()
    for method, url, data in budget_urls(agreement, pending):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    r = client.get(reverse("funding:adjustments"))
    if who == "expert":
        assert r.status_code == 404
    else:
        assert r.status_code == 200 and pending.number not in body(r)
    assert snapshot() == before


def test_anonymous_users_are_sent_to_login(client, agreement, pending):
    before = snapshot()
    for method, url, data in [*budget_urls(agreement, pending), ("get", reverse("funding:adjustments"), {})]:
        r = getattr(client, method)(url, data)
        assert r.status_code == 302 and reverse("accounts:login") in r.url, (method, url)
    assert snapshot() == before


def test_the_organisation_cannot_decide_and_the_bureau_cannot_ask(client, agreement, pending, applicant,
                                                                  finance_user):
    before = snapshot()
    client.force_login(applicant)
    assert client.post(reverse("funding:adjustment_approve", args=[pending.pk]), {"note": "x"}).status_code == 404
    client.force_login(finance_user)
    assert client.get(reverse("funding:adjustment", args=[pending.pk])).status_code == 200  # reads
    assert client.post(reverse("funding:adjustment_approve", args=[pending.pk]), {}).status_code == 404
    assert client.get(reverse("funding:adjustment_create", args=[agreement.pk])).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("n", [1, 6])
def test_the_list_runs_a_fixed_number_of_queries(client, officer, org, n, django_assert_max_num_queries):
    requester = UserFactory(roles=["applicant"], organization=org)
    for _ in range(n):
        project = established_project(granted=D("350000.00"), officer=officer, organization=org)
        signed(project, officer)
        fb.request_adjustment(actor=requester, agreement_id=project.agreement.pk, reason="调整",
                              lines={"business": {"fiscal": "50000.00", "self": "150000.00"},
                                     "labour": {"fiscal": "100000.00", "self": "50000.00"}})
    for user in (officer, requester):
        client.force_login(user)
        with django_assert_max_num_queries(7):
            r = client.get(reverse("funding:adjustments") + "?state=pending")
        assert body(r).count('data-testid="adjustment-row"') == n
    adj = BudgetAdjustment.objects.first()
    client.force_login(officer)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("funding:adjustment", args=[adj.pk])).status_code == 200

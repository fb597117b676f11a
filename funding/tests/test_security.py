"""Access to the money, reviewed: every agreement, tranche and disbursement URL (page and API) for another
organisation, an expert, anonymous; finance-only actions; CSRF on POSTs; GETs that change nothing; the ``next``
parameter of approve / reject never leaving the site; a superuser is not a finance clerk."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import Disbursement, TaskAgreement

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def money(org, officer, clerk, approver):
    """A signed agreement of ``org`` with one approved payment and one awaiting approval."""
    agreement = established_project(organization=org, officer=officer, granted=Decimal("100000.00")).agreement
    admin = UserFactory(roles=["org_admin"], organization=org)
    fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
    tranche = agreement.tranches.get(position=1)
    paid = fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="10000.00", voucher_no="V-PAID",
                                  paid_on=TODAY, idempotency_key="sec-paid-0001")
    paid = fs.approve_disbursement(actor=approver, disbursement_id=paid.pk)
    pending = fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="20000.00", voucher_no="V-PEND",
                                     paid_on=TODAY, idempotency_key="sec-pend-0001")
    return {"agreement": TaskAgreement.objects.get(pk=agreement.pk), "tranche": tranche, "paid": paid,
            "pending": pending}


def snapshot(agreement_id):
    a = TaskAgreement.objects.get(pk=agreement_id)
    return (a.state, a.recorded_total, a.paid_total, a.updated_at,
            sorted(Disbursement.objects.values_list("pk", "state")), list(a.tranches.values_list("state", "paid_amount")))


def api(name, pk=None, action=None):
    if pk is None:
        return reverse(f"api:{name}-list")
    return reverse(f"api:{name}-{action or 'detail'}", kwargs={"pk": pk})


def api_calls(m):
    a, d, p = m["agreement"].pk, m["pending"].pk, m["paid"].pk
    return [
        ("get", api("agreement", a), None),
        ("patch", api("agreement", a), {"self_amount": "1.00"}),
        ("post", api("agreement", a, "confirm"), {}),
        ("post", api("agreement", a, "tranches"), {"tranches": [{"amount": "100000.00", "condition": "signing"}]}),
        ("get", api("disbursement", d), None),
        ("post", api("disbursement", d, "approve"), {}),
        ("post", api("disbursement", d, "reject"), {"note": "不对"}),
        ("post", api("disbursement", p, "reverse"),
         {"voucher_no": "X", "paid_on": TODAY.isoformat(), "note": "x", "idempotency_key": "outsider-0001"}),
    ]


def call(client, method, url, data):
    if data is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, data, content_type="application/json")


# ---- the API, for those not entitled -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_org_admin", "expert"])
def test_the_api_hides_every_agreement_and_disbursement_from_strangers(client, money, other_org, who):
    user = (UserFactory(roles=["applicant", "org_admin"], organization=other_org) if who == "other_org_admin"
            else UserFactory(roles=["expert"]))
    before = snapshot(money["agreement"].pk)
    client.force_login(user)
    for method, url, data in api_calls(money):
        assert call(client, method, url, data).status_code == 404, (method, url)
    # the record endpoint: no tranche of theirs, and no money moves
    r = client.post(api("disbursement"), {"tranche": money["tranche"].pk, "amount": "1.00", "voucher_no": "X",
                                          "paid_on": TODAY.isoformat(), "idempotency_key": "outsider-0002"},
                    content_type="application/json")
    assert r.status_code in (403, 404)
    for name in ("agreement", "disbursement", "due-tranche"):
        body = client.get(api(name)).json()
        assert body["results"] == [] and body["count"] == 0, name
    assert snapshot(money["agreement"].pk) == before


def test_the_organisation_sees_its_agreement_but_not_the_finance_desk(client, money, applicant):
    client.force_login(applicant)
    assert client.get(api("agreement", money["agreement"].pk)).status_code == 200
    before = snapshot(money["agreement"].pk)
    for name in ("disbursement", "due-tranche"):
        assert client.get(api(name)).json()["results"] == [], name
    for method, url, data in api_calls(money)[4:]:
        assert call(client, method, url, data).status_code == 404, (method, url)
    for method, url, data in api_calls(money)[1:4]:  # terms, confirm (not the org admin), plan: refused
        assert call(client, method, url, data).status_code == 403, (method, url)
    assert snapshot(money["agreement"].pk) == before


def test_anonymous_gets_nothing_from_the_api(client, money):
    before = snapshot(money["agreement"].pk)
    for method, url, data in api_calls(money):
        assert call(client, method, url, data).status_code in (401, 403), (method, url)
    for name in ("agreement", "disbursement", "due-tranche"):
        assert client.get(api(name)).status_code in (401, 403)
    assert snapshot(money["agreement"].pk) == before


@pytest.mark.parametrize("role", ["officer", "supervisor"])
def test_the_bureau_reads_the_desk_but_finance_alone_moves_money(client, money, role):
    client.force_login(UserFactory(roles=[role]))
    before = snapshot(money["agreement"].pk)
    assert client.get(api("disbursement", money["pending"].pk)).json()["available_actions"] == []
    for method, url, data in api_calls(money)[5:]:
        r = call(client, method, url, data)
        assert r.status_code == 403 and r.json(), (role, url)
    assert snapshot(money["agreement"].pk) == before


def test_a_superuser_is_not_a_finance_clerk(client, money):
    boss = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(boss)
    before = snapshot(money["agreement"].pk)
    assert client.get(api("disbursement", money["pending"].pk)).json()["available_actions"] == []
    for method, url, data in api_calls(money)[5:]:
        assert call(client, method, url, data).status_code == 403, url
    r = client.post(reverse("funding:approve", args=[money["pending"].pk]))
    assert r.status_code == 404
    assert snapshot(money["agreement"].pk) == before


def test_one_person_both_org_admin_and_officer_is_not_offered_a_confirmation_that_would_be_refused(client, org,
                                                                                                   officer):
    agreement = established_project(organization=org, officer=officer).agreement
    both = UserFactory(roles=["officer", "org_admin"], organization=org)
    client.force_login(both)
    assert "confirm" in client.get(api("agreement", agreement.pk)).json()["available_actions"]
    assert client.post(api("agreement", agreement.pk, "confirm")).status_code == 200
    body = client.get(api("agreement", agreement.pk)).json()
    assert body["state"] == "org_confirmed" and "confirm" not in body["available_actions"]
    assert client.post(api("agreement", agreement.pk, "confirm")).status_code == 409
    assert TaskAgreement.objects.get(pk=agreement.pk).state == "org_confirmed"


# ---- pages: CSRF, GETs, the next parameter, exports -----------------------------------------------------------


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(money, approver, officer):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(approver)
    before = snapshot(money["agreement"].pk)
    for url, data in [
        (reverse("funding:approve", args=[money["pending"].pk]), {}),
        (reverse("funding:reject", args=[money["pending"].pk]), {"note": "x"}),
        (reverse("funding:record", args=[money["tranche"].pk]),
         {"amount": "1.00", "voucher_no": "X", "paid_on": TODAY.isoformat(), "idempotency_key": "csrf-key-0001"}),
        (reverse("funding:reverse", args=[money["paid"].pk]),
         {"voucher_no": "X", "paid_on": TODAY.isoformat(), "reason": "x", "idempotency_key": "csrf-key-0002"}),
    ]:
        assert strict.post(url, data).status_code == 403, url
    r = strict.post(api("disbursement", money["pending"].pk, "approve"), {}, content_type="application/json")
    assert r.status_code == 403
    assert snapshot(money["agreement"].pk) == before


def test_gets_of_the_post_only_urls_change_nothing(client, money, approver, officer, org):
    before = snapshot(money["agreement"].pk)
    client.force_login(approver)
    for name, pk in [("approve", money["pending"].pk), ("reject", money["pending"].pk)]:
        assert client.get(reverse(f"funding:{name}", args=[pk])).status_code == 405
    client.force_login(officer)
    assert client.get(reverse("funding:agreement_confirm", args=[money["agreement"].pk])).status_code == 405
    assert client.get(api("agreement", money["agreement"].pk, "confirm")).status_code == 405
    assert snapshot(money["agreement"].pk) == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "https:evil.example",
                                    "\\\\evil.example", "javascript:alert(1)"])
@pytest.mark.parametrize("action", ["approve", "reject"])
def test_the_next_parameter_never_leaves_the_site(client, money, approver, target, action):
    client.force_login(approver)
    r = client.post(reverse(f"funding:{action}", args=[money["pending"].pk]), {"note": "看过", "next": target})
    assert r.status_code == 302 and r["Location"] == reverse("funding:queue"), r["Location"]
    r = client.post(reverse(f"funding:{action}", args=[money["pending"].pk]) + f"?next={target}", {"note": "再看"})
    assert r.status_code == 302 and r["Location"] == reverse("funding:queue"), r["Location"]


def test_a_local_next_is_followed(client, money, approver):
    client.force_login(approver)
    back = reverse("funding:agreement", args=[money["agreement"].pk])
    r = client.post(reverse("funding:approve", args=[money["pending"].pk]), {"next": back})
    assert r.status_code == 302 and r["Location"] == back


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user"])
def test_exports_only_for_the_bureau(client, request, money, who):
    client.force_login(request.getfixturevalue(who))
    for name in ("ledger_xlsx", "disbursements_xlsx"):
        assert client.get(reverse(f"funding:{name}")).status_code == 404, name


def test_exports_send_anonymous_to_login(client, money):
    for name in ("ledger_xlsx", "disbursements_xlsx"):
        r = client.get(reverse(f"funding:{name}"))
        assert r.status_code == 302 and reverse("accounts:login") in r["Location"]


def test_a_form_resubmitted_after_its_record_was_rejected_says_so_and_records_nothing(client, money, clerk, approver):
    url = reverse("funding:record", args=[money["tranche"].pk])
    data = {"amount": "20000.00", "voucher_no": "V-PEND", "paid_on": TODAY.isoformat(),
            "idempotency_key": "sec-pend-0001"}
    fs.reject_disbursement(actor=approver, disbursement_id=money["pending"].pk, note="凭证号错")
    client.force_login(clerk)
    r = client.post(url, data, follow=True)
    html = r.content.decode()
    assert "已退回" in html and "待另一位财务人员审核" not in html
    assert Disbursement.objects.count() == 2
    assert TaskAgreement.objects.get(pk=money["agreement"].pk).recorded_total == Decimal("0.00")

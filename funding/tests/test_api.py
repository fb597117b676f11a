"""The funding REST API: 任务书 for the organisation and the bureau, the finance desk's due tranches and
disbursements — scoped through the selectors, every write through the services, refusals with their reasons."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import Disbursement, TaskAgreement

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def post(client, url, data=None, **headers):
    return client.post(url, data or {}, content_type="application/json", headers=headers)


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def url(name, pk=None):
    return reverse(f"api:{name}") if pk is None else reverse(f"api:{name}", kwargs={"pk": pk})


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


@pytest.fixture
def agreement(org, officer):
    return established_project(organization=org, officer=officer, granted=Decimal("300000.00")).agreement


def sign(agreement, officer):
    admin = UserFactory(roles=["org_admin"], organization=agreement.project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)


@pytest.fixture
def signed(agreement, officer):
    return sign(agreement, officer)


@pytest.fixture
def first_tranche(signed):
    return signed.tranches.get(position=1)


def record_body(tranche, **kw):
    return {"tranche": tranche.pk, "amount": str(tranche.amount), "voucher_no": "ZH2026-0001",
            "paid_on": TODAY.isoformat(), "idempotency_key": "pay-0001-first", **kw}


# ---- agreements: who sees what ------------------------------------------------------------------------------


def test_an_organisation_lists_and_reads_its_own_agreement_with_tranches_and_totals(client, applicant, agreement):
    established_project()  # another organisation's
    client.force_login(applicant)
    rows = results(client.get(url("agreement-list")))
    assert [r["number"] for r in rows] == [agreement.number]
    assert rows[0]["fiscal_amount"] == "300000.00" and rows[0]["state"] == "draft"
    detail = client.get(url("agreement-detail", agreement.pk)).json()
    assert [(t["amount"], t["condition"], t["state"]) for t in detail["tranches"]] == [
        ("180000.00", "signing", "planned"), ("90000.00", "checkpoint", "planned"), ("30000.00", "acceptance",
                                                                                    "planned")]
    assert detail["planned_total"] == "300000.00" and detail["paid_total"] == "0.00"
    assert detail["unpaid"] == "300000.00" and detail["disbursements"] == []
    assert detail["targets"][0]["indicator"] == "发明专利申请"
    assert detail["available_actions"] == []  # an applicant neither confirms nor edits


def test_another_organisation_gets_404_on_every_agreement_endpoint(client, other_applicant, agreement):
    before = agreement.self_amount
    client.force_login(other_applicant)
    assert results(client.get(url("agreement-list"))) == []
    assert client.get(url("agreement-detail", agreement.pk)).status_code == 404
    assert post(client, reverse("api:agreement-confirm", args=[agreement.pk])).status_code == 404
    assert patch(client, url("agreement-detail", agreement.pk), {"self_amount": "1.00"}).status_code == 404
    assert post(client, reverse("api:agreement-tranches", args=[agreement.pk]),
                {"tranches": []}).status_code == 404
    agreement.refresh_from_db()
    assert agreement.state == "draft" and agreement.self_amount == before


def test_an_expert_sees_empty_lists_and_no_agreement(client, expert_user, signed, clerk, first_tranche):
    fs.record_disbursement(actor=clerk, tranche_id=first_tranche.pk, amount="1000.00", voucher_no="V1",
                           paid_on=TODAY, idempotency_key="expert-test-1")
    client.force_login(expert_user)
    assert results(client.get(url("agreement-list"))) == []
    assert results(client.get(url("due-tranche-list"))) == []
    assert results(client.get(url("disbursement-list"))) == []
    assert client.get(url("agreement-detail", signed.pk)).status_code == 404
    d = Disbursement.objects.get()
    assert client.get(url("disbursement-detail", d.pk)).status_code == 404
    assert post(client, reverse("api:disbursement-approve", args=[d.pk])).status_code == 404


def test_filters_state_and_q(client, officer, agreement):
    other = established_project(title="氢燃料电池电堆").agreement
    sign(other, officer)
    client.force_login(officer)

    def numbers(**params):
        return {r["number"] for r in results(client.get(url("agreement-list"), params))}

    assert numbers() == {agreement.number, other.number}
    assert numbers(state="signed") == {other.number}
    assert numbers(q="氢燃料") == {other.number}
    assert client.get(url("agreement-list"), {"state": "nonsense"}).status_code == 400


# ---- confirming, terms, the tranche plan ------------------------------------------------------------------------


def test_the_org_admin_confirms_then_the_officer_signs_via_the_api(client, org_admin, officer, agreement, applicant):
    client.force_login(applicant)
    response = post(client, reverse("api:agreement-confirm", args=[agreement.pk]))
    assert response.status_code == 403 and "确认任务书" in response.json()["detail"]

    client.force_login(org_admin)
    assert client.get(url("agreement-detail", agreement.pk)).json()["available_actions"] == ["confirm"]
    body = post(client, reverse("api:agreement-confirm", args=[agreement.pk])).json()
    assert body["state"] == "org_confirmed" and body["org_confirmed_by"] == org_admin.display_name
    assert body["available_actions"] == []
    again = post(client, reverse("api:agreement-confirm", args=[agreement.pk]))
    assert again.status_code == 409

    client.force_login(officer)
    body = post(client, reverse("api:agreement-confirm", args=[agreement.pk])).json()
    assert body["state"] == "signed" and body["signed_at"]
    assert [t["state"] for t in body["tranches"]] == ["due", "planned", "planned"]


def test_the_officer_edits_terms_and_the_plan_others_are_refused(client, officer, applicant, agreement):
    client.force_login(applicant)
    refused = patch(client, url("agreement-detail", agreement.pk), {"self_amount": "50000.00"})
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有科技局业务处室可以修改任务书。"]

    client.force_login(officer)
    body = patch(client, url("agreement-detail", agreement.pk), {
        "self_amount": "50000.50", "end_date": "2028-12-31",
        "targets": [{"kind": "output", "indicator": "授权发明专利", "target_value": "2", "unit": "件"}],
    }).json()
    assert body["self_amount"] == "50000.50" and body["end_date"] == "2028-12-31"
    assert body["targets"] == [{"kind": "output", "indicator": "授权发明专利", "target_value": "2", "unit": "件"}]
    bad_dates = patch(client, url("agreement-detail", agreement.pk), {"end_date": "2000-01-01"})
    assert bad_dates.status_code == 400 and "结束日期不能早于开始日期" in bad_dates.json()["detail"]

    tranches_url = reverse("api:agreement-tranches", args=[agreement.pk])
    short = post(client, tranches_url, {"tranches": [{"name": "一次拨付", "amount": "100.00", "condition": "signing"}]})
    assert short.status_code == 400 and "须等于财政资金 300,000.00 元" in short.json()["detail"]
    body = post(client, tranches_url, {"tranches": [
        {"name": "首期", "amount": "200000.00", "condition": "signing"},
        {"name": "尾款", "amount": "100000.00", "condition": "date", "due_on": "2027-06-30"},
    ]}).json()
    assert [(t["name"], t["amount"], t["due_on"]) for t in body["tranches"]] == [
        ("首期", "200000.00", None), ("尾款", "100000.00", "2027-06-30")]


def test_a_signed_agreement_is_no_longer_edited(client, officer, signed):
    client.force_login(officer)
    response = patch(client, url("agreement-detail", signed.pk), {"self_amount": "1.00"})
    assert response.status_code == 409 and "不能修改" in response.json()["detail"]


# ---- the finance desk ---------------------------------------------------------------------------------------


def test_due_tranches_for_the_bureau_with_what_is_still_open(client, clerk, officer, supervisor, first_tranche,
                                                             applicant):
    fs.record_disbursement(actor=clerk, tranche_id=first_tranche.pk, amount="80000.00", voucher_no="V1",
                           paid_on=TODAY, idempotency_key="due-test-0001")
    for user in (clerk, officer, supervisor):
        client.force_login(user)
        [row] = results(client.get(url("due-tranche-list")))
        assert row["id"] == first_tranche.pk and row["amount"] == "180000.00"
        assert row["pending"] == "80000.00" and row["open_amount"] == "100000.00"
        assert row["agreement"]["number"] == first_tranche.agreement.number
    client.force_login(applicant)
    assert results(client.get(url("due-tranche-list"))) == []


def test_recording_twice_with_the_same_key_gives_one_record(client, clerk, first_tranche):
    client.force_login(clerk)
    first = post(client, url("disbursement-list"), record_body(first_tranche))
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["amount"] == "180000.00" and body["state"] == "recorded" and body["recorded_by"] == "钱登记"
    assert body["available_actions"] == []  # not the recorder's to approve
    again = post(client, url("disbursement-list"), record_body(first_tranche))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Disbursement.objects.count() == 1
    agreement = TaskAgreement.objects.get(pk=first_tranche.agreement_id)
    assert agreement.recorded_total == Decimal("180000.00")
    # the same key for another payment is refused, not a second record
    other = post(client, url("disbursement-list"), record_body(first_tranche, amount="1.00"))
    assert other.status_code == 400 and "该幂等键已用于另一笔拨付记录" in other.json()["detail"]


def test_the_idempotency_key_header_is_used_when_the_body_has_none(client, clerk, first_tranche):
    client.force_login(clerk)
    body = record_body(first_tranche, amount="1000.00", idempotency_key="")
    first = post(client, url("disbursement-list"), body, **{"Idempotency-Key": "hdr-key-0001"})
    again = post(client, url("disbursement-list"), body, **{"Idempotency-Key": "hdr-key-0001"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and first.json()["idempotency_key"] == "hdr-key-0001"
    missing = post(client, url("disbursement-list"), body)
    assert missing.status_code == 400 and "幂等键" in missing.json()["detail"]
    assert Disbursement.objects.count() == 1


def test_beyond_the_tranche_is_refused_and_nothing_recorded(client, clerk, first_tranche):
    client.force_login(clerk)
    response = post(client, url("disbursement-list"), record_body(first_tranche, amount="180000.01"))
    assert response.status_code == 400 and response.json()["code"] == "beyond_tranche"
    unknown = post(client, url("disbursement-list"), {**record_body(first_tranche), "tranche": 999999})
    assert unknown.status_code == 400 and "tranche" in unknown.json()
    assert not Disbursement.objects.exists()


def test_an_officer_recording_is_refused_with_the_reason(client, officer, supervisor, first_tranche):
    for user in (officer, supervisor):
        client.force_login(user)
        response = post(client, url("disbursement-list"), record_body(first_tranche))
        assert response.status_code == 403
        assert response.json()["errors"] == ["只有财务人员可以登记或审核拨付。"]
    assert not Disbursement.objects.exists()


def test_the_recorder_cannot_approve_another_finance_user_does(client, clerk, approver, officer, first_tranche):
    d = fs.record_disbursement(actor=clerk, tranche_id=first_tranche.pk, amount=first_tranche.amount,
                               voucher_no="V-1", paid_on=TODAY, idempotency_key="four-eyes-0001")
    approve_url = reverse("api:disbursement-approve", args=[d.pk])
    client.force_login(clerk)
    refused = post(client, approve_url)
    assert refused.status_code == 403
    assert refused.json()["errors"] == ["登记人不能审核自己登记的拨付，请由另一位财务人员审核。"]
    client.force_login(officer)  # sees the queue, may not decide
    assert [r["id"] for r in results(client.get(url("disbursement-list"), {"state": "recorded"}))] == [d.pk]
    refused = post(client, approve_url)
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有财务人员可以登记或审核拨付。"]
    d.refresh_from_db()
    assert d.state == "recorded"

    client.force_login(approver)
    [row] = results(client.get(url("disbursement-list"), {"state": "recorded"}))
    assert row["available_actions"] == ["approve", "reject"]
    body = post(client, approve_url, {"note": "核对无误"}).json()
    assert body["state"] == "approved" and body["decided_by"] == "孙审核" and body["available_actions"] == ["reverse"]
    assert results(client.get(url("disbursement-list"), {"state": "recorded"})) == []
    agreement = client.get(url("agreement-detail", first_tranche.agreement_id)).json()
    assert agreement["paid_total"] == "180000.00" and agreement["unpaid"] == "120000.00"
    assert agreement["tranches"][0]["state"] == "paid"
    assert post(client, approve_url).status_code == 409


def test_reject_needs_a_note(client, clerk, approver, first_tranche):
    d = fs.record_disbursement(actor=clerk, tranche_id=first_tranche.pk, amount="100.00", voucher_no="V-2",
                               paid_on=TODAY, idempotency_key="reject-0001")
    client.force_login(approver)
    reject_url = reverse("api:disbursement-reject", args=[d.pk])
    assert post(client, reject_url).status_code == 400
    body = post(client, reject_url, {"note": "凭证号有误"}).json()
    assert body["state"] == "rejected" and body["decision_note"] == "凭证号有误"
    assert TaskAgreement.objects.get(pk=first_tranche.agreement_id).recorded_total == Decimal("0.00")


def test_a_reversal_is_recorded_once_and_approved_by_another(client, clerk, approver, first_tranche):
    d = fs.record_disbursement(actor=clerk, tranche_id=first_tranche.pk, amount=first_tranche.amount,
                               voucher_no="V-3", paid_on=TODAY, idempotency_key="reverse-0001")
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    reverse_url = reverse("api:disbursement-reverse", args=[d.pk])
    client.force_login(approver)
    no_reason = post(client, reverse_url, {"voucher_no": "CZ-1", "paid_on": TODAY.isoformat(),
                                           "idempotency_key": "reverse-0002", "note": ""})
    assert no_reason.status_code == 400 and "冲正必须填写理由" in no_reason.json()["detail"]
    body = {"voucher_no": "CZ-1", "paid_on": TODAY.isoformat(), "note": "银行退票"}
    first = post(client, reverse_url, body, **{"Idempotency-Key": "reverse-0002"})
    again = post(client, reverse_url, body, **{"Idempotency-Key": "reverse-0002"})
    assert (first.status_code, again.status_code) == (201, 200)
    reversal = first.json()
    assert reversal["kind"] == "reversal" and reversal["reverses"] == d.pk and reversal["id"] == again.json()["id"]
    client.force_login(clerk)
    post(client, reverse("api:disbursement-approve", args=[reversal["id"]]))
    agreement = TaskAgreement.objects.get(pk=first_tranche.agreement_id)
    assert agreement.paid_total == Decimal("0.00")


# ---- fixed query counts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 10])
def test_lists_run_a_fixed_number_of_queries(client, django_assert_max_num_queries, officer, clerk, rows):
    for i in range(rows):
        agreement = sign(established_project(officer=officer).agreement, officer)
        tranche = agreement.tranches.get(position=1)
        fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="100.00", voucher_no=f"V{i}",
                               paid_on=TODAY, idempotency_key=f"count-{i:04d}-key")
    for i in range(rows):  # more payments on the agreement shown in detail
        fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="1.00", voucher_no=f"X{i}",
                               paid_on=TODAY, idempotency_key=f"more-{i:04d}-key")
    client.force_login(clerk)
    for name in ("agreement-list", "due-tranche-list"):
        with django_assert_max_num_queries(5):
            assert len(results(client.get(url(name)))) == rows
    with django_assert_max_num_queries(5):
        assert len(results(client.get(url("disbursement-list")))) == 2 * rows
    with django_assert_max_num_queries(9):  # with the budget lines
        assert client.get(url("agreement-detail", agreement.pk)).status_code == 200

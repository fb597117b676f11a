"""终止 and 追回 through the REST API and the admin: the officer terminates a project and opens a recovery order, one
finance user records the repayment and another approves it, the order settles to the fen; idempotent recording,
two people, refusals with their reasons, 404 outside the scope, fixed query counts."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import CreditRecord
from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import RecoveryOrder, Repayment, TaskAgreement
from projects import services as project_services

from .factories import established_project
from .test_money import pay, signed

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
LATER = TODAY + datetime.timedelta(days=30)


def post(client, url, data=None, **headers):
    return client.post(url, data or {}, content_type="application/json", headers=headers)


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def api(name, *args):
    return reverse(f"api:{name}", args=args)


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], is_staff=True, real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True, real_name="刘局长")


def paid_project(org, officer, clerk, approver):
    """A signed agreement of 100,000.00 with its first tranche (60,000.00) paid."""
    project = established_project(organization=org, officer=officer, granted=Decimal("100000.00"))
    signed(project, officer)
    pay(project.agreement.tranches.get(position=1), clerk, approver)
    return project


@pytest.fixture
def project(org, officer, clerk, approver):
    return paid_project(org, officer, clerk, approver)


def open_order(project, officer, **kw):
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="技术路线不可行")
    return fs.open_recovery(actor=officer, agreement_id=project.agreement.pk, rule=kw.pop("rule", "unspent"),
                            reason="结余追回", due_date=LATER, spent_amount=kw.pop("spent", "41234.56"), **kw)


def repayment_body(**kw):
    return {"amount": "10000.00", "voucher_no": "HK-0001", "received_on": TODAY.isoformat(),
            "idempotency_key": "repay-api-0001", **kw}


# ---- the whole flow -------------------------------------------------------------------------------------------


def test_terminate_open_record_approve_settles_the_order(client, officer, clerk, approver, applicant, project):
    agreement = project.agreement
    client.force_login(officer)
    no_reason = post(client, api("agreement-terminate", agreement.pk), {"reason": " ", "fault": True})
    assert no_reason.status_code == 400 and no_reason.json()["errors"]
    body = post(client, api("agreement-terminate", agreement.pk), {"reason": "承担单位擅自变更研究内容", "fault": True})
    assert body.status_code == 200, body.content
    terminated = body.json()
    assert terminated["state"] == "terminated" and terminated["paid_total"] == "60000.00"
    assert [t["state"] for t in terminated["tranches"]] == ["paid", "cancelled", "cancelled"]
    project.refresh_from_db()
    assert project.state == "terminated" and project.end_reason == "承担单位擅自变更研究内容"
    again = post(client, api("agreement-terminate", agreement.pk), {"reason": "再次"})
    assert again.status_code == 409 and again.json()["errors"]

    created = post(client, api("recovery-list"), {
        "agreement": agreement.pk, "rule": "unspent", "reason": "结余追回", "due_date": LATER.isoformat(),
        "spent_amount": "41234.56"})
    assert created.status_code == 201, created.content
    order = created.json()
    assert (order["paid_at_order"], order["spent_amount"], order["amount_due"], order["outstanding"]) == (
        "60000.00", "41234.56", "18765.44", "18765.44")
    assert order["state"] == "open" and order["rule"] == "unspent" and order["repayments"] == []
    assert order["agreement"]["number"] == agreement.number and order["available_actions"] == []
    second = post(client, api("recovery-list"), {"agreement": agreement.pk, "rule": "all", "reason": "再开",
                                                 "due_date": LATER.isoformat()})
    assert second.status_code == 409 and second.json()["errors"] == ["该任务书已有未完成的追回单。"]

    client.force_login(clerk)
    detail = client.get(api("recovery-detail", order["id"])).json()
    assert detail["available_actions"] == ["record"] and detail["open_amount"] == "18765.44"
    r1 = post(client, api("recovery-repayments", order["id"]), repayment_body())
    assert r1.status_code == 201, r1.content
    assert r1.json()["state"] == "recorded" and r1.json()["available_actions"] == []  # not for its recorder
    beyond = post(client, api("recovery-repayments", order["id"]),
                  repayment_body(amount="8765.45", voucher_no="HK-0002", idempotency_key="repay-api-0002"))
    assert beyond.status_code == 400 and "8,765.44" in beyond.json()["detail"]
    detail = client.get(api("recovery-detail", order["id"])).json()
    assert (detail["pending"], detail["open_amount"]) == ("10000.00", "8765.44")
    r2 = post(client, api("recovery-repayments", order["id"]),
              repayment_body(amount="8765.44", voucher_no="HK-0002", idempotency_key="repay-api-0002"))
    assert r2.status_code == 201

    client.force_login(approver)
    rows = client.get(api("recovery-detail", order["id"])).json()["repayments"]
    assert [(r["amount"], r["available_actions"]) for r in rows] == [
        ("10000.00", ["approve", "reject"]), ("8765.44", ["approve", "reject"])]
    first = post(client, api("repayment-approve", r1.json()["id"]), {"note": "到账无误"}).json()
    assert first["state"] == "approved" and first["decided_by"] == "孙审核"
    assert first["order"]["state"] == "open" and first["order"]["repaid_total"] == "10000.00"
    last = post(client, api("repayment-approve", r2.json()["id"])).json()
    assert last["order"]["state"] == "settled" and last["order"]["outstanding"] == "0.00"
    assert last["order"]["settled_at"]

    client.force_login(applicant)  # the organisation sees its settled order
    [mine] = results(client.get(api("recovery-list")))
    assert (mine["state"], mine["repaid_total"], mine["amount_due"]) == ("settled", "18765.44", "18765.44")
    assert client.get(api("recovery-detail", order["id"])).json()["state_display"] == "已追回"
    order_row = RecoveryOrder.objects.get()
    assert order_row.repaid_total == order_row.amount_due == Decimal("18765.44")


def test_all_of_it_with_a_credit_record(client, officer, project):
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="弄虚作假", fault=True)
    client.force_login(officer)
    bad = post(client, api("recovery-list"), {"agreement": project.agreement.pk, "rule": "all", "reason": "弄虚作假",
                                              "due_date": LATER.isoformat(), "credit": {"severity": "worst"}})
    assert bad.status_code == 400 and "credit" in bad.json()
    response = post(client, api("recovery-list"), {
        "agreement": project.agreement.pk, "rule": "all", "reason": "弄虚作假，全额追回",
        "due_date": LATER.isoformat(),
        "credit": {"severity": "serious", "decision_no": "科信〔2026〕9号",
                   "penalty_end": (TODAY + datetime.timedelta(days=3 * 365)).isoformat()}})
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["amount_due"] == "60000.00" and order["spent_amount"] == "0.00"
    record = CreditRecord.objects.get(pk=order["credit_record"])
    assert record.organization_id == project.organization_id and record.severity == "serious"


def test_refusals_change_nothing(client, officer, clerk, org_admin, project):
    client.force_login(officer)
    body = {"agreement": project.agreement.pk, "rule": "all", "reason": "追回", "due_date": LATER.isoformat()}
    running = post(client, api("recovery-list"), body)  # the project is still running
    assert running.status_code == 409 and running.json()["errors"]
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="终止")
    assert post(client, api("recovery-list"), {**body, "rule": "unspent"}).status_code == 400  # spending needed
    past = post(client, api("recovery-list"), {**body, "due_date": (TODAY - datetime.timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and past.json()["errors"] == ["缴回期限不能早于今天。"]
    unknown = post(client, api("recovery-list"), {**body, "agreement": 999999})
    assert unknown.status_code == 400 and "agreement" in unknown.json()
    for user in (clerk, org_admin):  # finance and the organisation do not open recovery orders
        client.force_login(user)
        refused = post(client, api("recovery-list"), body)
        assert refused.status_code == 403
        assert refused.json()["errors"] == ["只有科技局业务处室可以开具追回单。"]
    client.force_login(org_admin)  # nor terminate projects
    refused = post(client, api("agreement-terminate", project.agreement.pk), {"reason": "不做了"})
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有科技局业务处室可以终止项目。"]
    assert not RecoveryOrder.objects.exists()


# ---- idempotency and two people -------------------------------------------------------------------------------


def test_the_same_key_records_once_201_then_200_body_or_header(client, officer, clerk, project):
    order = open_order(project, officer)
    client.force_login(clerk)
    url = api("recovery-repayments", order.pk)
    first = post(client, url, repayment_body())
    again = post(client, url, repayment_body())
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    body = repayment_body(idempotency_key="", amount="1.00", voucher_no="HK-H")
    by_header = post(client, url, body, **{"Idempotency-Key": "repay-header-01"})
    by_header_again = post(client, url, body, **{"Idempotency-Key": "repay-header-01"})
    assert (by_header.status_code, by_header_again.status_code) == (201, 200)
    assert by_header.json()["idempotency_key"] == "repay-header-01"
    conflict = post(client, url, repayment_body(amount="2.00"))  # the same key for another amount
    assert conflict.status_code == 400 and conflict.json()["code"] == "idempotency_conflict"
    no_key = post(client, url, repayment_body(idempotency_key=""))
    assert no_key.status_code == 400
    assert Repayment.objects.count() == 2


def test_the_recorder_cannot_approve_another_finance_user_does(client, officer, clerk, approver, project):
    order = open_order(project, officer)
    r = fs.record_repayment(actor=clerk, order_id=order.pk, amount="100.00", voucher_no="HK-9", received_on=TODAY,
                            idempotency_key="four-eyes-rep-1")
    client.force_login(clerk)
    refused = post(client, api("repayment-approve", r.pk))
    assert refused.status_code == 403
    assert refused.json()["errors"] == ["登记人不能审核自己登记的缴回，请由另一位财务人员审核。"]
    client.force_login(officer)  # sees it, may not decide
    assert client.get(api("repayment-detail", r.pk)).json()["state"] == "recorded"
    refused = post(client, api("repayment-approve", r.pk))
    assert refused.status_code == 403 and refused.json()["errors"] == ["只有财务人员可以登记或审核缴回。"]
    r.refresh_from_db()
    assert r.state == "recorded"
    client.force_login(approver)
    assert post(client, api("repayment-reject", r.pk)).status_code == 400  # a note is needed
    rejected = post(client, api("repayment-reject", r.pk), {"note": "凭证号有误"}).json()
    assert rejected["state"] == "rejected" and rejected["decision_note"] == "凭证号有误"
    assert rejected["order"]["repaid_total"] == "0.00"
    assert post(client, api("repayment-approve", r.pk)).status_code == 409


def test_an_officer_or_the_organisation_cannot_record(client, officer, supervisor, org_admin, project):
    order = open_order(project, officer)
    for user in (officer, supervisor, org_admin):
        client.force_login(user)
        refused = post(client, api("recovery-repayments", order.pk), repayment_body())
        assert refused.status_code == 403
        assert refused.json()["errors"] == ["只有财务人员可以登记或审核缴回。"]
    assert not Repayment.objects.exists()


# ---- scope ----------------------------------------------------------------------------------------------------


def test_another_organisation_gets_404_and_an_expert_sees_nothing(client, officer, clerk, other_applicant,
                                                                  expert_user, applicant, project):
    order = open_order(project, officer)
    r = fs.record_repayment(actor=clerk, order_id=order.pk, amount="100.00", voucher_no="HK-S", received_on=TODAY,
                            idempotency_key="scope-rep-0001")
    for user in (other_applicant, expert_user):
        client.force_login(user)
        assert results(client.get(api("recovery-list"))) == []
        assert client.get(api("recovery-detail", order.pk)).status_code == 404
        assert post(client, api("recovery-repayments", order.pk), repayment_body()).status_code == 404
        assert client.get(api("repayment-detail", r.pk)).status_code == 404
        assert post(client, api("repayment-approve", r.pk)).status_code == 404
        assert post(client, api("repayment-reject", r.pk), {"note": "x"}).status_code == 404
        assert post(client, api("agreement-terminate", project.agreement.pk), {"reason": "x"}).status_code == 404
    client.force_login(applicant)  # the organisation reads its own order and repayments, decides nothing
    assert client.get(api("recovery-detail", order.pk)).json()["repayments"][0]["available_actions"] == []
    assert post(client, api("repayment-approve", r.pk)).status_code == 403
    client.logout()
    assert client.get(api("recovery-list")).status_code in (401, 403)
    r.refresh_from_db()
    assert r.state == "recorded" and Repayment.objects.count() == 1


def test_state_filter(client, org, officer, clerk, approver):
    settled = open_order(paid_project(org, officer, clerk, approver), officer, spent="59999.99")
    r = fs.record_repayment(actor=clerk, order_id=settled.pk, amount="0.01", voucher_no="HK-F", received_on=TODAY,
                            idempotency_key="filter-rep-001")
    fs.approve_repayment(actor=approver, repayment_id=r.pk)
    still_open = open_order(paid_project(org, officer, clerk, approver), officer, rule="all", spent=None)
    client.force_login(officer)
    assert [o["id"] for o in results(client.get(api("recovery-list"), {"state": "open"}))] == [still_open.pk]
    assert [o["id"] for o in results(client.get(api("recovery-list"), {"state": "settled"}))] == [settled.pk]
    assert len(results(client.get(api("recovery-list")))) == 2
    assert client.get(api("recovery-list"), {"state": "nonsense"}).status_code == 400


# ---- fixed query counts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2, 6])
def test_list_and_detail_run_a_fixed_number_of_queries(client, django_assert_max_num_queries, org, officer, clerk,
                                                       approver, rows):
    for _ in range(rows):
        order = open_order(paid_project(org, officer, clerk, approver), officer, rule="all", spent=None)
    for i in range(rows):  # more repayments on the order shown in detail
        fs.record_repayment(actor=clerk, order_id=order.pk, amount="1.00", voucher_no=f"HK{i}", received_on=TODAY,
                            idempotency_key=f"count-rep-{i:04d}")
    client.force_login(approver)
    with django_assert_max_num_queries(5):
        assert len(results(client.get(api("recovery-list")))) == rows
    with django_assert_max_num_queries(6):
        body = client.get(api("recovery-detail", order.pk)).json()
    assert len(body["repayments"]) == rows and body["pending"] == f"{rows}.00"


# ---- the admin ------------------------------------------------------------------------------------------------


def admin_url(model, view, *args):
    return reverse(f"admin:funding_{model}_{view}", args=args)


def result_count(html) -> str:
    return re.search(r'<p class="paginator">\s*(.*?)\s*</p>', html, re.S).group(1).strip()


@pytest.mark.parametrize("rows", [2, 6])
def test_admin_pages_render_read_only_with_fixed_queries(client, django_assert_max_num_queries, org, officer, clerk,
                                                         approver, supervisor, rows):
    for _ in range(rows):
        order = open_order(paid_project(org, officer, clerk, approver), officer, rule="all", spent=None)
    for i in range(rows):
        r = fs.record_repayment(actor=clerk, order_id=order.pk, amount="1000.00", voucher_no=f"HK-A{i}",
                                received_on=TODAY, idempotency_key=f"admin-rep-{i:04d}")
    fs.approve_repayment(actor=approver, repayment_id=r.pk)
    for user in (officer, clerk, supervisor):
        client.force_login(user)
        for model, count in (("recoveryorder", rows), ("repayment", rows)):
            with django_assert_max_num_queries(9):
                response = client.get(admin_url(model, "changelist"))
            assert response.status_code == 200, model
            plural = response.context["cl"].model._meta.verbose_name_plural
            assert result_count(response.content.decode()) == f"{count} {plural}"
            assert client.get(admin_url(model, "changelist"), {"state__exact": "recorded" if model == "repayment"
                                                               else "open"}).status_code == 200
        for page in (admin_url("recoveryorder", "change", order.pk), admin_url("repayment", "change", r.pk)):
            with django_assert_max_num_queries(11):
                response = client.get(page)
            assert response.status_code == 200, page
        html = client.get(admin_url("recoveryorder", "change", order.pk)).content.decode()
        assert "60,000.00" in html and "HK-A0" in html and f"HK-A{rows - 1}" in html  # repayments inline
        assert 'name="_save"' not in html  # read-only
        assert client.get(admin_url("recoveryorder", "delete", order.pk)).status_code == 403
        assert client.get(admin_url("repayment", "delete", r.pk)).status_code == 403
        assert client.get(admin_url("recoveryorder", "add")).status_code == 403


def test_the_admin_hides_recoveries_from_everybody_else(client, officer, org_admin, project):
    open_order(project, officer)
    org_admin.is_staff = True
    org_admin.save(update_fields=["is_staff"])
    client.force_login(org_admin)
    for model in ("recoveryorder", "repayment"):
        assert client.get(admin_url(model, "changelist")).status_code == 403
    assert client.get(admin_url("recoveryorder", "change", RecoveryOrder.objects.get().pk)).status_code in (302, 403)
    assert TaskAgreement.objects.get(pk=project.agreement.pk).state == "terminated"

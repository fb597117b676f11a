"""终止 and 追回 pages (funding.views.recovery): the officer terminates a project from its 任务书 page and opens a
recovery order; finance records repayments and another finance user approves them until the order is settled; who
may reach what (another organisation, experts and anonymous users get 404 or the login page on every URL, and
nothing changes); pinned query counts."""

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
from projects.models import Project

from .factories import established_project
from .test_money import pay, signed

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()
LATER = TODAY + datetime.timedelta(days=30)


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def hidden_key(html: str) -> str:
    m = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)
    assert m, "the form carries a hidden idempotency key"
    return m.group(1)


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"], real_name="钱登记")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def paid_project(org, officer, clerk, approver):
    """A signed 100,000.00 agreement with its first tranche (60,000.00) paid."""
    project = established_project(organization=org, granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    pay(project.agreement.tranches.get(position=1), clerk, approver)
    return project


@pytest.fixture
def terminated(paid_project, officer):
    project_services.terminate_project(actor=officer, project_id=paid_project.pk, reason="技术路线不可行")
    return TaskAgreement.objects.get(pk=paid_project.agreement.pk)


def open_order(agreement, officer, **kwargs) -> RecoveryOrder:
    kwargs.setdefault("rule", "unspent")
    kwargs.setdefault("spent_amount", "41234.56")
    return fs.open_recovery(actor=officer, agreement_id=agreement.pk, reason="结余追回", due_date=LATER, **kwargs)


def state_of(project):
    agreement = TaskAgreement.objects.get(project=project)
    return (Project.objects.get(pk=project.pk).state, agreement.state,
            list(agreement.tranches.order_by("position").values_list("state", flat=True)))


# ---- 终止项目 ---------------------------------------------------------------------------------------------


def test_officer_terminates_the_project_from_the_agreement_page(client, officer, paid_project):
    agreement = paid_project.agreement
    client.force_login(officer)
    page = body(client.get(reverse("funding:agreement", args=[agreement.pk])))
    assert 'data-testid="terminate-form"' in page and "因承担单位原因" in page
    assert 'data-testid="recovery-create-link"' not in page  # not before it is terminated

    r = client.post(reverse("funding:agreement_terminate", args=[agreement.pk]), {"reason": "  "}, follow=True)
    assert any("终止理由" in m for m in messages_of(r))
    assert state_of(paid_project) == ("established", "signed", ["paid", "planned", "planned"])

    r = client.post(reverse("funding:agreement_terminate", args=[agreement.pk]),
                    {"reason": "承担单位擅自变更研究内容", "fault": "on"}, follow=True)
    assert r.status_code == 200
    assert any("项目已终止" in m for m in messages_of(r))
    assert state_of(paid_project) == ("terminated", "terminated", ["paid", "cancelled", "cancelled"])
    project = Project.objects.get(pk=paid_project.pk)
    assert project.end_reason == "承担单位擅自变更研究内容"
    page = body(r)
    assert 'data-testid="terminate-form"' not in page
    assert 'data-testid="recovery-create-link"' in page
    # the cancelled tranches leave the plan short of the fiscal amount: that is the termination, not a mistake
    assert 'data-testid="plan-mismatch"' not in page

    # again: refused with a message, never a 500
    r = client.post(reverse("funding:agreement_terminate", args=[agreement.pk]), {"reason": "再次"}, follow=True)
    assert r.status_code == 200 and messages_of(r)


@pytest.mark.parametrize("who", ["org_admin", "applicant", "finance", "supervisor", "expert"])
def test_nobody_but_an_officer_terminates(client, org, paid_project, who):
    user = UserFactory(roles=[who], organization=org if who in ("org_admin", "applicant") else None)
    client.force_login(user)
    page = client.get(reverse("funding:agreement", args=[paid_project.agreement.pk]))
    assert 'data-testid="terminate-form"' not in body(page)
    r = client.post(reverse("funding:agreement_terminate", args=[paid_project.agreement.pk]),
                    {"reason": "越权终止", "fault": "on"})
    assert r.status_code == 404
    assert state_of(paid_project) == ("established", "signed", ["paid", "planned", "planned"])


# ---- 开具追回单 -------------------------------------------------------------------------------------------


def test_officer_opens_a_recovery_of_the_unspent_funds_shown_to_the_fen(client, officer, terminated):
    url = reverse("funding:recovery_create", args=[terminated.pk])
    client.force_login(officer)
    r = client.get(url)
    assert r.status_code == 200 and 'data-testid="recovery-form"' in body(r)
    assert "60,000.00" in body(r)  # what was paid

    # 追回结余 needs the audited spending
    r = client.post(url, {"rule": "unspent", "reason": "结余追回", "due_date": LATER.isoformat()})
    assert r.status_code == 400 and "经审计已合规使用" in body(r)
    # not more than was paid (the service's refusal, on the form)
    r = client.post(url, {"rule": "unspent", "spent_amount": "60000.01", "reason": "结余追回",
                          "due_date": LATER.isoformat()})
    assert r.status_code == 400 and "超过已拨付" in body(r)
    # a due date in the past
    r = client.post(url, {"rule": "all", "reason": "全额", "due_date": (TODAY - datetime.timedelta(days=1)).isoformat()})
    assert r.status_code == 400 and "缴回期限不能早于今天" in body(r)
    assert not RecoveryOrder.objects.exists()

    r = client.post(url, {"rule": "unspent", "spent_amount": "41234.56", "reason": "技术路线不可行，追回结余",
                          "due_date": LATER.isoformat()})
    order = RecoveryOrder.objects.get()
    assert r.status_code == 302 and r.url == reverse("funding:recovery", args=[order.pk])
    r = client.get(r.url)
    page = body(r)
    assert 'data-testid="paid-at-order">60,000.00' in page
    assert 'data-testid="spent">41,234.56' in page
    assert 'data-testid="amount-due">18,765.44' in page
    assert 'data-testid="outstanding">18,765.44' in page
    assert 'data-testid="repaid">0.00' in page

    # the agreement lists it; no second order while it is open
    page = body(client.get(reverse("funding:agreement", args=[terminated.pk])))
    assert 'data-testid="recovery-order"' in page and order.number in page and "18,765.44" in page
    assert 'data-testid="recovery-create-link"' not in page
    r = client.post(url, {"rule": "all", "reason": "再开", "due_date": LATER.isoformat()})
    assert r.status_code == 409 and "已有未完成的追回单" in body(r)
    assert RecoveryOrder.objects.count() == 1


def test_all_of_it_with_a_credit_record(client, officer, terminated, org):
    client.force_login(officer)
    url = reverse("funding:recovery_create", args=[terminated.pk])
    r = client.post(url, {"rule": "all", "reason": "弄虚作假", "due_date": LATER.isoformat(), "credit": "on"})
    assert r.status_code == 400 and "失信程度" in body(r)
    assert not CreditRecord.objects.exists()
    r = client.post(url, {"rule": "all", "reason": "弄虚作假", "due_date": LATER.isoformat(), "credit": "on",
                          "severity": "serious", "decision_no": "科信〔2026〕9号",
                          "penalty_end": (TODAY + datetime.timedelta(days=1095)).isoformat()}, follow=True)
    order = RecoveryOrder.objects.get()
    assert order.amount_due == Decimal("60000.00") and order.rule == "all"
    record = CreditRecord.objects.get(pk=order.credit_record_id)
    assert record.organization == org and record.severity == "serious"
    page = body(r)
    assert 'data-testid="credit-record"' in page and "科信〔2026〕9号" in page and "较重失信" in page
    assert 'data-testid="amount-due">60,000.00' in page


def test_no_recovery_while_the_project_runs(client, officer, paid_project):
    agreement = paid_project.agreement
    client.force_login(officer)
    url = reverse("funding:recovery_create", args=[agreement.pk])
    r = client.get(url)
    assert r.status_code == 200 and "只有已终止或验收不通过的项目" in body(r)
    r = client.post(url, {"rule": "all", "reason": "追回", "due_date": LATER.isoformat()})
    assert r.status_code == 409 and "只有已终止或验收不通过的项目" in body(r)
    assert not RecoveryOrder.objects.exists()


@pytest.mark.parametrize("who", ["org_admin", "finance", "supervisor"])
def test_only_officers_open_recoveries(client, org, terminated, who):
    user = UserFactory(roles=[who], organization=org if who == "org_admin" else None)
    client.force_login(user)
    url = reverse("funding:recovery_create", args=[terminated.pk])
    assert 'data-testid="recovery-create-link"' not in body(client.get(reverse("funding:agreement",
                                                                                 args=[terminated.pk])))
    assert client.get(url).status_code == 404
    assert client.post(url, {"rule": "all", "reason": "追回", "due_date": LATER.isoformat()}).status_code == 404
    assert not RecoveryOrder.objects.exists()


# ---- 缴回: two finance users --------------------------------------------------------------------------------


def test_finance_records_and_another_approves_until_settled(client, officer, terminated, clerk, approver):
    order = open_order(terminated, officer)  # 18,765.44 due
    detail = reverse("funding:recovery", args=[order.pk])
    client.force_login(clerk)
    page = body(client.get(detail))
    assert 'data-testid="repayment-form"' in page
    assert 'name="amount" value="18765.44"' in page  # prefilled with what is outstanding
    key = hidden_key(page)
    data = {"amount": "10000.00", "voucher_no": "HK-1", "received_on": TODAY.isoformat(), "idempotency_key": key}
    r = client.post(reverse("funding:repayment_record", args=[order.pk]), data, follow=True)
    assert any("待另一位财务人员审核" in m for m in messages_of(r))
    r = client.post(reverse("funding:repayment_record", args=[order.pk]), data)  # a double click
    assert r.status_code == 302
    assert Repayment.objects.count() == 1
    first = Repayment.objects.get()

    # beyond what is still open (with the pending one): refused on the form
    page = body(client.get(detail))
    assert 'data-testid="pending">10,000.00' in page and 'name="amount" value="8765.44"' in page
    r = client.post(reverse("funding:repayment_record", args=[order.pk]),
                    {"amount": "8765.45", "voucher_no": "HK-2", "received_on": TODAY.isoformat(),
                     "idempotency_key": hidden_key(page)})
    assert r.status_code == 400 and "尚可登记 8,765.44 元" in body(r)
    assert Repayment.objects.count() == 1

    # the recorder cannot approve: the buttons are disabled with the reason, and a forged POST is refused
    page = body(client.get(detail))
    assert 'data-testid="approve-disabled"' in page and "本人登记，须由另一位财务人员审核" in page
    r = client.post(reverse("funding:repayment_approve", args=[first.pk]), follow=True)
    assert any("登记人不能审核自己登记的缴回" in m for m in messages_of(r))
    assert Repayment.objects.get(pk=first.pk).state == "recorded"

    client.force_login(approver)
    page = body(client.get(detail))
    assert 'data-testid="approve-form"' in page and 'data-testid="reject-form"' in page
    r = client.post(reverse("funding:repayment_approve", args=[first.pk]), follow=True)
    assert any("已审核通过缴回 10,000.00 元" in m for m in messages_of(r))
    page = body(r)
    assert 'data-testid="repaid">10,000.00' in page and 'data-testid="outstanding">8,765.44' in page

    # the second payment, recorded by the approver this time; the clerk approves it and the order is settled
    r = client.post(reverse("funding:repayment_record", args=[order.pk]),
                    {"amount": "8765.44", "voucher_no": "HK-2", "received_on": TODAY.isoformat(),
                     "idempotency_key": hidden_key(page)})
    second = Repayment.objects.get(voucher_no="HK-2")
    client.force_login(clerk)
    r = client.post(reverse("funding:repayment_approve", args=[second.pk]), follow=True)
    assert any("追回单已完成" in m for m in messages_of(r))
    order.refresh_from_db()
    assert order.state == "settled" and order.repaid_total == Decimal("18765.44")
    page = body(r)
    assert 'data-testid="outstanding">0.00' in page and 'data-testid="repayment-form"' not in page


def test_reject_needs_a_note(client, officer, terminated, clerk, approver):
    order = open_order(terminated, officer)
    r = fs.record_repayment(actor=clerk, order_id=order.pk, amount="100.00", voucher_no="HK-9", received_on=TODAY,
                            idempotency_key="repay-view-0001")
    client.force_login(approver)
    resp = client.post(reverse("funding:repayment_reject", args=[r.pk]), {"note": " "}, follow=True)
    assert any("退回必须填写理由" in m for m in messages_of(resp))
    assert Repayment.objects.get(pk=r.pk).state == "recorded"
    resp = client.post(reverse("funding:repayment_reject", args=[r.pk]), {"note": "金额与回单不符"}, follow=True)
    assert Repayment.objects.get(pk=r.pk).state == "rejected"
    assert "金额与回单不符" in body(resp)
    # the rejected amount may be recorded again
    assert 'name="amount" value="18765.44"' in body(resp)


# ---- who reaches what ----------------------------------------------------------------------------------------


def recovery_urls(agreement, order, repayment):
    return [
        ("get", reverse("funding:recovery_create", args=[agreement.pk]), {}),
        ("post", reverse("funding:recovery_create", args=[agreement.pk]),
         {"rule": "all", "reason": "x", "due_date": LATER.isoformat()}),
        ("post", reverse("funding:agreement_terminate", args=[agreement.pk]), {"reason": "x"}),
        ("get", reverse("funding:recovery", args=[order.pk]), {}),
        ("post", reverse("funding:repayment_record", args=[order.pk]),
         {"amount": "1.00", "voucher_no": "X", "received_on": TODAY.isoformat(), "idempotency_key": "forged-key-01"}),
        ("post", reverse("funding:repayment_approve", args=[repayment.pk]), {}),
        ("post", reverse("funding:repayment_reject", args=[repayment.pk]), {"note": "x"}),
    ]


def snapshot():
    return (list(RecoveryOrder.objects.values_list("pk", "state", "repaid_total")),
            list(Repayment.objects.values_list("pk", "state")), list(Project.objects.values_list("pk", "state")))


@pytest.fixture
def order_with_repayment(terminated, officer, clerk):
    order = open_order(terminated, officer)
    repayment = fs.record_repayment(actor=clerk, order_id=order.pk, amount="100.00", voucher_no="HK-1",
                                    received_on=TODAY, idempotency_key="repay-access-01")
    return terminated, order, repayment


@pytest.mark.parametrize("who", ["other_org_applicant", "other_org_admin", "expert"])
def test_strangers_get_404_on_every_recovery_url(client, other_org, order_with_repayment, who):
    agreement, order, repayment = order_with_repayment
    user = {"other_org_applicant": lambda: UserFactory(roles=["applicant"], organization=other_org),
            "other_org_admin": lambda: UserFactory(roles=["org_admin"], organization=other_org),
            "expert": lambda: UserFactory(roles=["expert"])}[who]()
    client.force_login(user)
    before = snapshot()
    for method, url, data in recovery_urls(agreement, order, repayment):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    if who == "expert":
        assert client.get(reverse("funding:recoveries")).status_code == 404
    else:
        r = client.get(reverse("funding:recoveries"))
        assert r.status_code == 200 and order.number not in body(r)
    assert snapshot() == before


def test_anonymous_users_are_sent_to_login(client, order_with_repayment):
    agreement, order, repayment = order_with_repayment
    before = snapshot()
    urls = [*recovery_urls(agreement, order, repayment), ("get", reverse("funding:recoveries"), {})]
    for method, url, data in urls:
        r = getattr(client, method)(url, data)
        assert r.status_code == 302 and reverse("accounts:login") in r.url, (method, url)
    assert snapshot() == before


def test_the_organisation_reads_its_own_order_but_does_nothing_else(client, org, order_with_repayment):
    agreement, order, repayment = order_with_repayment
    client.force_login(UserFactory(roles=["org_admin"], organization=org))
    r = client.get(reverse("funding:recovery", args=[order.pk]))
    assert r.status_code == 200 and 'data-testid="amount-due">18,765.44' in body(r)
    assert 'data-testid="repayment-form"' not in body(r) and 'data-testid="approve-form"' not in body(r)
    r = client.get(reverse("funding:recoveries"))
    assert r.status_code == 200 and order.number in body(r)
    before = snapshot()
    for method, url, data in recovery_urls(agreement, order, repayment):
        if method == "post":
            assert client.post(url, data).status_code == 404, url
    assert snapshot() == before


# ---- the list ------------------------------------------------------------------------------------------------


def make_orders(n, officer, clerk, approver, org):
    orders = []
    for _ in range(n):
        project = established_project(organization=org, granted=Decimal("1000.00"), officer=officer)
        signed(project, officer)
        pay(project.agreement.tranches.get(position=1), clerk, approver)
        project_services.terminate_project(actor=officer, project_id=project.pk, reason="终止")
        orders.append(fs.open_recovery(actor=officer, agreement_id=project.agreement.pk, rule="all", reason="追回",
                                       due_date=LATER))
    return orders


@pytest.mark.parametrize("n", [1, 5])
def test_the_list_filters_by_state_with_a_fixed_number_of_queries(client, officer, clerk, approver, org, n,
                                                                  django_assert_max_num_queries):
    orders = make_orders(n, officer, clerk, approver, org)
    r = fs.record_repayment(actor=clerk, order_id=orders[0].pk, amount=orders[0].amount_due, voucher_no="HK",
                            received_on=TODAY, idempotency_key="repay-list-0001")
    fs.approve_repayment(actor=approver, repayment_id=r.pk)  # the first one settled
    for user in (officer, clerk):
        client.force_login(user)
        with django_assert_max_num_queries(6):
            resp = client.get(reverse("funding:recoveries"))
        assert body(resp).count('data-testid="recovery-row"') == n
        with django_assert_max_num_queries(6):
            resp = client.get(reverse("funding:recoveries"), {"state": "open"})
        assert body(resp).count('data-testid="recovery-row"') == n - 1
        resp = client.get(reverse("funding:recoveries"), {"state": "settled"})
        assert body(resp).count('data-testid="recovery-row"') == 1 and orders[0].number in body(resp)
        assert "600.00" in body(resp)  # 60% of 1,000.00 paid, all of it due


@pytest.mark.parametrize("n", [1, 6])
def test_the_detail_runs_a_fixed_number_of_queries(client, officer, terminated, clerk, approver, n,
                                                   django_assert_max_num_queries):
    order = open_order(terminated, officer, credit={"severity": "general"})
    for i in range(n):
        r = fs.record_repayment(actor=clerk, order_id=order.pk, amount="1.00", voucher_no=f"HK-{i}",
                                received_on=TODAY, idempotency_key=f"repay-count-{i:04d}")
        if i % 2:
            fs.approve_repayment(actor=approver, repayment_id=r.pk)
    for user in (officer, clerk, approver):
        client.force_login(user)
        with django_assert_max_num_queries(6):
            resp = client.get(reverse("funding:recovery", args=[order.pk]))
        assert body(resp).count('data-testid="repayment"') == n
    client.force_login(officer)
    with django_assert_max_num_queries(13):  # with the budget lines and adjustments
        resp = client.get(reverse("funding:agreement", args=[terminated.pk]))
    assert body(resp).count('data-testid="recovery-order"') == 1

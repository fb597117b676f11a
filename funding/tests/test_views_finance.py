"""The finance desk pages: due tranches, recording a payment (one record per hidden key), the approval queue (the
recorder never approves), rejecting with a note, reversing an approved payment, and the ledger; who may reach
what (everybody but finance gets 404 on the money URLs, and nothing changes)."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import services as fs
from funding import subsidy as fsub
from funding.models import Disbursement, FundingScheme, TaskAgreement
from projects import services as project_services
from projects.tests.factories import CallFactory, ProgramFactory, pdf_upload

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
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="吴局长")


def signed_agreement(officer, **kwargs) -> TaskAgreement:
    project = established_project(officer=officer, **kwargs)
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=project.agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=project.agreement.pk)


def first_tranche(agreement):
    return agreement.tranches.order_by("position").first()


def recorded(agreement, clerk, amount=None, key="rec-key-0001"):
    t = first_tranche(agreement)
    return fs.record_disbursement(actor=clerk, tranche_id=t.pk, amount=amount or t.amount, voucher_no=f"V{key}",
                                  paid_on=TODAY, idempotency_key=key)


def hidden_key(html: str) -> str:
    m = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html)
    assert m, "the form carries a hidden idempotency key"
    return m.group(1)


def page(client, user, url, **kwargs):
    client.force_login(user)
    return client.get(url, **kwargs)


# ---- 应拨付 -------------------------------------------------------------------------------------------


def test_due_page_lists_each_due_tranche_with_open_amount_and_a_fixed_number_of_queries(
        client, clerk, approver, officer, django_assert_max_num_queries):
    a = signed_agreement(officer)  # 300,000.00: 180,000.00 due on signing
    recorded(a, clerk, amount=Decimal("50000.00"))
    client.force_login(clerk)
    url = reverse("funding:due")
    with django_assert_max_num_queries(6) as few:
        r = client.get(url)
    n = len(few)
    assert r.status_code == 200
    html = r.content.decode()
    assert a.number in html and a.project.title in html and a.project.organization.name in html
    assert "180,000.00" in html and "50,000.00" in html and "130,000.00" in html  # amount, pending, open
    assert "任务书签订后" in html
    assert reverse("funding:record", args=[first_tranche(a).pk]) in html
    for _ in range(3):
        signed_agreement(officer)
    with django_assert_max_num_queries(n):
        r = client.get(url)
    assert r.content.decode().count('data-testid="due-row"') == 4


def test_officers_read_the_due_list_without_the_record_button(client, officer):
    a = signed_agreement(officer)
    r = page(client, officer, reverse("funding:due"))
    assert r.status_code == 200 and a.number in r.content.decode()
    assert reverse("funding:record", args=[first_tranche(a).pk]) not in r.content.decode()


# ---- 登记拨付 ------------------------------------------------------------------------------------------


def test_record_form_is_prefilled_with_the_open_amount_and_a_fresh_hidden_key(client, clerk, officer):
    a = signed_agreement(officer)
    recorded(a, clerk, amount=Decimal("80000.00"))
    url = reverse("funding:record", args=[first_tranche(a).pk])
    r1, r2 = page(client, clerk, url), client.get(url)
    html = r1.content.decode()
    assert r1.status_code == 200
    assert 'value="100000.00"' in html  # 180,000.00 less 80,000.00 awaiting approval
    assert len(hidden_key(html)) == 32 and hidden_key(html) != hidden_key(r2.content.decode())


def test_recording_twice_with_the_same_hidden_key_makes_one_record(client, clerk, officer):
    a = signed_agreement(officer)
    t = first_tranche(a)
    url = reverse("funding:record", args=[t.pk])
    key = hidden_key(page(client, clerk, url).content.decode())
    data = {"amount": "180000.00", "voucher_no": "ICBC-2025-0001", "paid_on": TODAY.isoformat(), "note": "首期",
            "idempotency_key": key}
    r1 = client.post(url, data)
    r2 = client.post(url, data)  # a double click, or the browser retrying
    agreement_url = reverse("funding:agreement", args=[a.pk])
    assert r1.status_code == 302 and r1["Location"] == agreement_url
    assert r2.status_code == 302 and r2["Location"] == agreement_url
    assert Disbursement.objects.filter(tranche=t).count() == 1
    d = Disbursement.objects.get(tranche=t)
    assert (d.amount, d.voucher_no, d.recorded_by, d.state) == (Decimal("180000.00"), "ICBC-2025-0001", clerk,
                                                                 "recorded")
    a.refresh_from_db()
    assert a.recorded_total == Decimal("180000.00") and a.paid_total == 0


def test_a_refused_recording_is_shown_on_the_form_and_changes_nothing(client, clerk, officer):
    a = signed_agreement(officer)
    url = reverse("funding:record", args=[first_tranche(a).pk])
    key = hidden_key(page(client, clerk, url).content.decode())
    r = client.post(url, {"amount": "180000.01", "voucher_no": "V1", "paid_on": TODAY.isoformat(),
                          "idempotency_key": key})
    assert r.status_code == 400
    html = r.content.decode()
    assert "本期尚可登记 180,000.00 元" in html
    assert hidden_key(html) == key  # the same page, the same key: a corrected resubmission still records once
    r = client.post(url, {"amount": "", "voucher_no": "", "paid_on": "", "idempotency_key": key})
    assert r.status_code == 400 and "请填写拨付金额" in r.content.decode()
    assert not Disbursement.objects.exists()
    a.refresh_from_db()
    assert a.recorded_total == 0


def test_a_tranche_not_yet_due_shows_why_and_no_form(client, clerk, officer):
    a = signed_agreement(officer)
    later = a.tranches.order_by("position")[1]
    r = page(client, clerk, reverse("funding:record", args=[later.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "计划中" in html and 'data-testid="record-form"' not in html


# ---- 待审核 -------------------------------------------------------------------------------------------


def test_queue_shows_who_recorded_and_disables_approval_of_ones_own_records(
        client, clerk, approver, officer, django_assert_max_num_queries):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    url = reverse("funding:queue")
    client.force_login(clerk)
    with django_assert_max_num_queries(6) as few:
        r = client.get(url)
    n = len(few)
    html = r.content.decode()
    assert r.status_code == 200 and "钱登记" in html and a.number in html and "180,000.00" in html
    assert 'data-testid="approve-disabled"' in html and "须由另一位财务人员审核" in html
    assert reverse("funding:approve", args=[d.pk]) not in html

    html = page(client, approver, url).content.decode()
    assert 'data-testid="approve-disabled"' not in html
    assert reverse("funding:approve", args=[d.pk]) in html and reverse("funding:reject", args=[d.pk]) in html

    for i in range(3):
        recorded(signed_agreement(officer), clerk, key=f"rec-key-more-{i}")
    client.force_login(clerk)
    with django_assert_max_num_queries(n):
        r = client.get(url)
    assert r.content.decode().count('data-testid="queue-row"') == 4


def test_the_recorder_posting_approve_is_refused_with_the_message(client, clerk, officer):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    client.force_login(clerk)
    r = client.post(reverse("funding:approve", args=[d.pk]), follow=True)
    assert r.redirect_chain[-1][0] == reverse("funding:queue")
    assert "登记人不能审核自己登记的拨付" in r.content.decode()
    d.refresh_from_db()
    a.refresh_from_db()
    assert d.state == "recorded" and d.decided_by is None and a.paid_total == 0


def test_another_finance_user_approves_and_the_money_counts_as_paid(client, clerk, approver, officer):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    client.force_login(approver)
    r = client.post(reverse("funding:approve", args=[d.pk]), follow=True)
    assert "已审核通过" in r.content.decode()
    d.refresh_from_db()
    a.refresh_from_db()
    assert d.state == "approved" and d.decided_by == approver
    assert a.paid_total == Decimal("180000.00") and a.recorded_total == 0
    assert first_tranche(a).state == "paid"


def test_reject_needs_a_note(client, clerk, approver, officer):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    client.force_login(approver)
    r = client.post(reverse("funding:reject", args=[d.pk]), {"note": "  "}, follow=True)
    assert "退回必须填写理由" in r.content.decode()
    d.refresh_from_db()
    assert d.state == "recorded"
    r = client.post(reverse("funding:reject", args=[d.pk]), {"note": "金额与银行回单不符"}, follow=True)
    assert "已退回" in r.content.decode()
    d.refresh_from_db()
    a.refresh_from_db()
    assert d.state == "rejected" and d.decision_note == "金额与银行回单不符" and a.recorded_total == 0


def test_a_decided_record_cannot_be_decided_again(client, clerk, approver, officer):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    client.force_login(approver)
    r = client.post(reverse("funding:reject", args=[d.pk]), {"note": "再退回"}, follow=True)
    assert r.status_code == 200
    d.refresh_from_db()
    assert d.state == "approved"


# ---- 冲正 ---------------------------------------------------------------------------------------------


def test_a_reversal_recorded_on_the_page_and_approved_by_another_user(client, clerk, approver, officer):
    a = signed_agreement(officer)
    d = fs.approve_disbursement(actor=approver, disbursement_id=recorded(a, clerk).pk)
    url = reverse("funding:reverse", args=[d.pk])
    r = page(client, clerk, url)
    assert r.status_code == 200 and "180,000.00" in r.content.decode()
    key = hidden_key(r.content.decode())
    data = {"voucher_no": "CZ-0001", "paid_on": TODAY.isoformat(), "reason": "银行退票", "idempotency_key": key}
    r = client.post(url, {**data, "reason": ""})
    assert r.status_code == 400 and "冲正必须填写理由" in r.content.decode()
    assert not Disbursement.objects.filter(kind="reversal").exists()
    r = client.post(url, data)
    assert r.status_code == 302 and r["Location"] == reverse("funding:agreement", args=[a.pk])
    client.post(url, data)  # retried: still one reversal
    reversal = Disbursement.objects.get(kind="reversal")
    assert (reversal.reverses, reversal.amount, reversal.recorded_by) == (d, Decimal("180000.00"), clerk)

    client.force_login(clerk)
    client.post(reverse("funding:approve", args=[reversal.pk]))
    reversal.refresh_from_db()
    assert reversal.state == "recorded"  # the recorder cannot approve the reversal either
    client.force_login(approver)
    client.post(reverse("funding:approve", args=[reversal.pk]))
    reversal.refresh_from_db()
    a.refresh_from_db()
    assert reversal.state == "approved" and a.paid_total == 0
    assert first_tranche(a).state == "due"  # to be paid again


def test_only_an_approved_payment_offers_the_reversal_form(client, clerk, officer):
    a = signed_agreement(officer)
    d = recorded(a, clerk)
    r = page(client, clerk, reverse("funding:reverse", args=[d.pk]))
    assert r.status_code == 200 and 'data-testid="reverse-form"' not in r.content.decode()


# ---- who may reach what ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["applicant", "expert_user", "officer", "supervisor"])
def test_only_finance_reaches_the_money_urls_and_nothing_changes(client, request, who, clerk, approver, officer):
    a = signed_agreement(officer)
    t = first_tranche(a)
    pending = recorded(a, clerk)
    other = signed_agreement(officer)
    paid = fs.approve_disbursement(actor=approver, disbursement_id=recorded(other, clerk, key="rec-key-0002").pk)
    user = request.getfixturevalue(who)
    client.force_login(user)
    key = "outsider-key-0001"
    calls = [
        ("get", reverse("funding:record", args=[t.pk]), {}),
        ("post", reverse("funding:record", args=[t.pk]),
         {"amount": "1.00", "voucher_no": "X", "paid_on": TODAY.isoformat(), "idempotency_key": key}),
        ("post", reverse("funding:approve", args=[pending.pk]), {}),
        ("post", reverse("funding:reject", args=[pending.pk]), {"note": "不对"}),
        ("get", reverse("funding:reverse", args=[paid.pk]), {}),
        ("post", reverse("funding:reverse", args=[paid.pk]),
         {"voucher_no": "X", "paid_on": TODAY.isoformat(), "reason": "x", "idempotency_key": key}),
    ]
    for method, url, data in calls:
        assert getattr(client, method)(url, data).status_code == 404, url
    assert Disbursement.objects.count() == 2
    pending.refresh_from_db()
    assert pending.state == "recorded"
    a.refresh_from_db()
    assert a.recorded_total == t.amount and a.paid_total == 0


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user"])
def test_organisations_and_experts_see_no_finance_page(client, request, who, clerk, officer):
    a = signed_agreement(officer)
    recorded(a, clerk)
    client.force_login(request.getfixturevalue(who))
    for name in ("funding:due", "funding:queue", "funding:ledger"):
        assert client.get(reverse(name)).status_code == 404, name


def test_anonymous_users_are_sent_to_login(client):
    r = client.get(reverse("funding:due"))
    assert r.status_code == 302 and reverse("accounts:login") in r["Location"]


# ---- 经费台账 ------------------------------------------------------------------------------------------


def test_ledger_totals_rows_and_chart_with_a_fixed_number_of_queries(
        client, clerk, approver, officer, django_assert_max_num_queries):
    a = signed_agreement(officer)  # 300,000.00; 180,000.00 due
    fs.approve_disbursement(actor=approver, disbursement_id=recorded(a, clerk, amount=Decimal("100000.00")).pk)
    recorded(a, clerk, amount=Decimal("30000.00"), key="rec-key-0002")
    established_project(officer=officer, granted=Decimal("50000.00"))  # a draft agreement: planned only
    client.force_login(clerk)
    url = reverse("funding:ledger")
    with django_assert_max_num_queries(9) as few:
        r = client.get(url)
    n = len(few)
    assert r.status_code == 200
    html = r.content.decode()
    totals = html[html.index('data-testid="ledger-totals"'):html.index('data-testid="ledger-chart"')]
    assert re.search(r'total-planned">350,000.00<', totals)
    assert re.search(r'total-paid">100,000.00<', totals)
    assert re.search(r'total-due-unpaid">80,000.00<', totals)
    assert re.search(r'total-recorded">30,000.00<', totals)
    assert re.search(r'total-committed">180,000.00<', totals)
    assert re.search(r'total-unpaid">250,000.00<', totals)
    assert '<svg' in html and 'width="28.6%"' in html  # paid: 100,000 of 350,000
    assert html.count('data-testid="ledger-row"') == 2
    for _ in range(3):
        signed_agreement(officer)
    with django_assert_max_num_queries(n):
        r = client.get(url)
    assert r.content.decode().count('data-testid="ledger-row"') == 5


def money(text) -> Decimal:
    return Decimal(str(text).replace(",", ""))


LEDGER_KEYS = ("planned", "paid", "recorded", "due_unpaid", "unpaid", "cancelled", "recovery_due", "recovered",
               "net_paid")
TOTAL_IDS = {"planned": "total-planned", "committed": "total-committed", "paid": "total-paid",
             "due_unpaid": "total-due-unpaid", "recorded": "total-recorded", "unpaid": "total-unpaid",
             "cancelled": "total-cancelled", "recovery_due": "total-recovery-due", "recovered": "total-recovered",
             "net_paid": "total-net-paid"}


def ledger_page_figures(html: str) -> tuple[dict, dict]:
    """The totals block ({key: Decimal}) and the rows ({agreement number: {key: Decimal}}) of the ledger page."""
    totals = {key: money(re.search(rf'data-testid="{tid}">([^<]*)<', html).group(1)) for key, tid in TOTAL_IDS.items()}
    rows = {}
    for row in re.findall(r'<tr data-testid="ledger-row">(.*?)</tr>', html, re.S):
        number = re.search(r'<a href="[^"]*">([^<]+)</a>', row).group(1)
        rows[number] = {key: money(value) for key, value in re.findall(r'data-col="(\w+)">([^<]*)<', row)}
    return totals, rows


def terminated_with_recovery(officer, clerk, approver, *, granted="100000.01", spent="12345.67", key="tr"):
    """Tranche 1 paid, the project terminated (the rest cancelled), a recovery order of the unspent funds with one
    repayment approved (10,000.00) and one recorded (5,000.00)."""
    project = established_project(officer=officer, granted=Decimal(granted))
    a = signed_agreement_of(project, officer)
    t1 = first_tranche(a)
    fs.approve_disbursement(actor=approver, disbursement_id=fs.record_disbursement(
        actor=clerk, tranche_id=t1.pk, amount=t1.amount, voucher_no=f"V-{key}-1", paid_on=TODAY,
        idempotency_key=f"{key}-pay-00001").pk)
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="技术路线不可行")
    order = fs.open_recovery(actor=officer, agreement_id=a.pk, rule="unspent", reason="结余追回",
                             due_date=TODAY + datetime.timedelta(days=30), spent_amount=spent)
    r1 = fs.record_repayment(actor=clerk, order_id=order.pk, amount="10000.00", voucher_no=f"HK-{key}-1",
                             received_on=TODAY, idempotency_key=f"{key}-repay-0001")
    fs.approve_repayment(actor=approver, repayment_id=r1.pk)
    fs.record_repayment(actor=clerk, order_id=order.pk, amount="5000.00", voucher_no=f"HK-{key}-2",
                        received_on=TODAY, idempotency_key=f"{key}-repay-0002")
    return TaskAgreement.objects.get(pk=a.pk)


def signed_agreement_of(project, officer) -> TaskAgreement:
    admin = UserFactory(roles=["org_admin"], organization=project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=project.agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=project.agreement.pk)


def mixed_ledger(officer, clerk, approver) -> dict[str, TaskAgreement]:
    """One agreement of each kind the ledger must tell apart, with the figures finance expects (元):

    - signed 300,000.00: 100,000.00 paid and 30,000.00 recorded on tranche 1 (180,000.00 due);
    - terminated 100,000.01: tranche 1 (60,000.01) paid, 40,000.00 cancelled, 追回 47,654.34 of which 10,000.00
      approved back (5,000.00 recorded);
    - terminated 50,000.00 with 20,000.00 recorded on tranche 1: that tranche stays due (30,000.00 unpaid), the rest
      (20,000.00) cancelled;
    - 后补助 granted 500,000.00, verified to 200,000.00 (30% of 900,000.00, capped), 150,000.00 paid;
    - a draft of 50,000.00: planned only.
    """
    signed = signed_agreement(officer)
    fs.approve_disbursement(actor=approver, disbursement_id=recorded(signed, clerk, amount=Decimal("100000.00")).pk)
    recorded(signed, clerk, amount=Decimal("30000.00"), key="rec-key-0002")

    terminated = terminated_with_recovery(officer, clerk, approver)

    pending_project = established_project(officer=officer, granted=Decimal("50000.00"))
    pending = signed_agreement_of(pending_project, officer)
    recorded(pending, clerk, amount=Decimal("20000.00"), key="rec-key-0003")
    project_services.terminate_project(actor=officer, project_id=pending_project.pk, reason="终止")

    program = ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")
    FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=Decimal("30"),
                                 subsidy_cap=Decimal("200000.00"))
    sub_project = established_project(officer=officer, granted=Decimal("500000.00"), call=CallFactory(program=program))
    subsidy = signed_agreement_of(sub_project, officer)
    applicant = UserFactory(roles=["applicant"], organization=sub_project.organization)
    claim = fsub.submit_claim(actor=applicant, agreement_id=subsidy.pk, claimed_expense="1000000.00",
                              audit_report=pdf_upload("专项审计报告.pdf"))
    fsub.verify_claim(actor=officer, claim_id=claim.pk, verified_expense="900000.00")
    fs.approve_disbursement(actor=approver, disbursement_id=recorded(
        subsidy, clerk, amount=Decimal("150000.00"), key="rec-key-0004").pk)

    draft = established_project(officer=officer, granted=Decimal("50000.00")).agreement
    return {name: TaskAgreement.objects.get(pk=a.pk) for name, a in (
        ("signed", signed), ("terminated", terminated), ("pending", pending), ("subsidy", subsidy),
        ("draft", draft))}


MIXED_ROWS = {  # planned, paid, recorded, due_unpaid, unpaid, cancelled, recovery_due, recovered, net_paid
    "signed": ("300000.00", "100000.00", "30000.00", "80000.00", "200000.00", "0", "0", "0", "100000.00"),
    "terminated": ("100000.01", "60000.01", "0", "0", "0", "40000.00", "47654.34", "10000.00", "50000.01"),
    "pending": ("50000.00", "0", "20000.00", "30000.00", "30000.00", "20000.00", "0", "0", "0"),
    "subsidy": ("200000.00", "150000.00", "0", "50000.00", "50000.00", "0", "0", "0", "150000.00"),
    "draft": ("50000.00", "0", "0", "0", "50000.00", "0", "0", "0", "0"),
}
MIXED_TOTALS = {"planned": "700000.01", "paid": "310000.01", "recorded": "50000.00", "due_unpaid": "160000.00",
                "committed": "470000.01", "unpaid": "330000.00", "cancelled": "60000.00",
                "recovery_due": "47654.34", "recovered": "10000.00", "net_paid": "300000.01"}


def test_the_ledger_tells_finance_what_may_still_be_paid_cancelled_and_recovered(
        client, clerk, approver, officer, django_assert_max_num_queries):
    agreements = mixed_ledger(officer, clerk, approver)
    assert agreements["terminated"].state == agreements["pending"].state == "terminated"
    client.force_login(clerk)
    url = reverse("funding:ledger")
    with django_assert_max_num_queries(9) as few:
        r = client.get(url)
    n = len(few)
    html = r.content.decode()
    totals, rows = ledger_page_figures(html)
    assert totals == {k: Decimal(v) for k, v in MIXED_TOTALS.items()}
    # the terminated agreement's cancelled rest is no longer counted as unpaid (planned − paid would say 390,000.00)
    assert totals["unpaid"] != totals["planned"] - totals["paid"]
    assert totals["planned"] == totals["paid"] + totals["unpaid"] + totals["cancelled"]
    assert set(rows) == {a.number for a in agreements.values()}
    for name, a in agreements.items():
        assert rows[a.number] == dict(zip(LEDGER_KEYS, map(Decimal, MIXED_ROWS[name]), strict=True)), name
        row = rows[a.number]
        assert row["planned"] == row["paid"] + row["unpaid"] + row["cancelled"], name
    for key in LEDGER_KEYS:  # the rows add up to the totals
        assert sum((row[key] for row in rows.values()), Decimal(0)) == totals[key], key
    # the legend says how the figures add up; the chart shows the net paid and the cancelled money
    assert 'data-testid="ledger-legend"' in html and "计划安排 = 已拨付 + 未拨付 + 已取消" in html
    assert 'data-bar="net_paid"' in html and 'data-bar="cancelled"' in html
    assert 'width="42.9%"' in html  # net paid: 300,000.01 of 700,000.01

    # more rows of each kind: the same number of queries
    terminated_with_recovery(officer, clerk, approver, granted="80000.00", spent="0", key="t2")
    signed_agreement(officer)
    established_project(officer=officer, granted=Decimal("10000.00"))
    with django_assert_max_num_queries(n):
        r = client.get(url)
    totals, rows = ledger_page_figures(r.content.decode())
    assert len(rows) == 8
    assert totals["recovery_due"] == Decimal("47654.34") + Decimal("48000.00")  # all 48,000.00 paid, none spent
    assert totals["recovered"] == Decimal("20000.00")
    assert totals["planned"] == totals["paid"] + totals["unpaid"] + totals["cancelled"]


def test_ledger_filters_by_programme_year_and_state(client, officer, supervisor):
    a = signed_agreement(officer)
    other_program = ProgramFactory(code="jcyj", name="基础研究计划")
    b = signed_agreement(officer, call=CallFactory(program=other_program))
    c = established_project(officer=officer, call=CallFactory(program=other_program)).agreement  # draft
    client.force_login(supervisor)
    url = reverse("funding:ledger")

    def numbers(params):
        html = client.get(url, params).content.decode()
        return {n for n in (a.number, b.number, c.number) if n in html}

    assert numbers({}) == {a.number, b.number, c.number}
    assert numbers({"program": other_program.pk}) == {b.number, c.number}
    assert numbers({"program": other_program.pk, "state": "signed"}) == {b.number}
    year = TODAY.year
    assert numbers({"year": year}) == {a.number, b.number}  # by signing year: the draft is not signed
    assert numbers({"year": year, "year_basis": "established"}) == {a.number, b.number, c.number}
    assert numbers({"year": year - 1}) == set()
    r = client.get(url, {"year": "abc"})
    assert r.status_code == 200 and "年度" in r.content.decode()


def test_ledger_is_read_by_officers_too(client, officer):
    a = signed_agreement(officer)
    r = page(client, officer, reverse("funding:ledger"))
    assert r.status_code == 200 and a.number in r.content.decode()


# ---- the menu and the dashboard ----------------------------------------------------------------------


def test_finance_users_have_the_finance_menu_and_dashboard_card(client, clerk, applicant):
    html = page(client, clerk, reverse("portal:dashboard")).content.decode()
    assert 'data-testid="finance-menu"' in html and 'data-testid="finance-card"' in html
    for name in ("funding:due", "funding:queue", "funding:ledger", "funding:agreements"):
        assert reverse(name) in html
    html = page(client, applicant, reverse("portal:dashboard")).content.decode()
    assert 'data-testid="finance-menu"' not in html and reverse("funding:due") not in html

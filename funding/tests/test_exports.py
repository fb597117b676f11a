"""The streamed exports: every agreement and every voucher, totals to the fen, formulas never evaluated, and only
for the bureau and finance."""

import datetime
from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import TaskAgreement

from .factories import established_project
from .test_money import pay, signed
from .test_views_finance import MIXED_ROWS, ledger_page_figures, mixed_ledger, terminated_with_recovery

pytestmark = pytest.mark.django_db


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    return load_workbook(BytesIO(b"".join(response.streaming_content)))


def test_the_ledger_and_the_vouchers_agree_to_the_fen(client, officer, finance_user):
    approver = UserFactory(roles=["finance"])
    projects = [established_project(granted=Decimal(g), officer=officer, title=t)
                for g, t in (("100000.01", "=HYPERLINK(\"http://x\")"), ("33333.33", "普通项目"))]
    for p in projects:
        signed(p, officer)
        pay(p.agreement.tranches.get(position=1), finance_user, approver, key=f"exp-{p.pk:08d}")
    first = projects[0].agreement.disbursements.get()
    rev = fs.reverse_disbursement(actor=finance_user, disbursement_id=first.pk, voucher_no="+TH-1",
                                  paid_on=datetime.date.today(), idempotency_key="exp-reverse-1", note="退票")
    fs.approve_disbursement(actor=approver, disbursement_id=rev.pk)

    client.force_login(finance_user)
    ledger = workbook(client.get(reverse("funding:ledger_xlsx"))).active
    rows = list(ledger.iter_rows(values_only=True))
    paid = sum(TaskAgreement.objects.values_list("paid_total", flat=True), Decimal(0))
    assert len(rows) == 1 + 2 + 1
    assert Decimal(str(rows[-1][7])) == paid  # the 已拨付 total equals the agreements' paid totals
    titles = [r[2] for r in rows[1:-1]]
    assert "=HYPERLINK(\"http://x\")" in titles  # kept as text, not a formula
    cell = next(c for c in ledger.iter_rows(min_row=2) for c in c if c.value == "=HYPERLINK(\"http://x\")")
    assert cell.data_type == "s"

    vouchers = workbook(client.get(reverse("funding:disbursements_xlsx"))).active
    rows = list(vouchers.iter_rows(values_only=True))
    assert len(rows) == 1 + 3 + 1  # two payments, one reversal
    assert Decimal(str(rows[-1][5])) == paid  # net approved money equals the ledger's paid total
    assert "+TH-1" in [r[6] for r in rows]


# the ledger sheet's columns after the six of text: its figures, in this order, then 签订时间
SHEET_FIGURES = ("planned", "paid", "recorded", "unpaid", "cancelled", "due_unpaid", "committed", "recovery_due",
                 "recovered", "net_paid")
SHEET_HEADERS = ("财政资金(元)", "已拨付(元)", "待审核(元)", "未拨付(元)", "已取消(元)", "应拨未拨(元)", "已承诺(元)",
                 "应追回(元)", "已追回(元)", "净拨付(元)")
ROW_KEYS = ("planned", "paid", "recorded", "due_unpaid", "unpaid", "cancelled", "recovery_due", "recovered",
            "net_paid")


def sheet_figures(row) -> dict:
    return {key: Decimal(str(value)).quantize(Decimal("0.01")) for key, value in zip(SHEET_FIGURES, row[6:16],
                                                                                      strict=True)}


def test_the_ledger_workbook_has_the_pages_columns_and_totals_to_the_fen(
        client, officer, finance_user, django_assert_max_num_queries):
    approver = UserFactory(roles=["finance"])
    agreements = mixed_ledger(officer, finance_user, approver)
    client.force_login(finance_user)
    page_totals, page_rows = ledger_page_figures(client.get(reverse("funding:ledger")).content.decode())
    with django_assert_max_num_queries(6) as few:
        response = client.get(reverse("funding:ledger_xlsx"))
    n = len(few)
    rows = list(workbook(response).active.iter_rows(values_only=True))
    header, *body, total = rows
    assert header[6:16] == SHEET_HEADERS and header[16] == "签订时间"
    assert total[0] == "合计" and total[1] == "共 5 份"
    by_number = {row[0]: sheet_figures(row) for row in body}
    for name, a in agreements.items():
        figures = by_number[a.number]
        expected = dict(zip(ROW_KEYS, map(Decimal, MIXED_ROWS[name]), strict=True))
        assert {k: figures[k] for k in ROW_KEYS} == expected, name
        assert figures["committed"] == figures["paid"] + figures["due_unpaid"], name
        assert figures["planned"] == figures["paid"] + figures["unpaid"] + figures["cancelled"], name
        assert {k: figures[k] for k in ROW_KEYS} == page_rows[a.number], name  # the page's row, to the fen
    assert sheet_figures(total) == page_totals  # the totals row is the page's totals block, to the fen
    for key in SHEET_FIGURES:
        assert sum((f[key] for f in by_number.values()), Decimal(0)) == sheet_figures(total)[key], key

    # more rows, the same number of queries
    terminated_with_recovery(officer, finance_user, approver, granted="80000.00", spent="0", key="t3")
    established_project(officer=officer, granted=Decimal("10000.00"))
    with django_assert_max_num_queries(n):
        response = client.get(reverse("funding:ledger_xlsx"))
    *_rows, total = workbook(response).active.iter_rows(values_only=True)
    assert total[1] == "共 7 份"
    assert sheet_figures(total) == ledger_page_figures(client.get(reverse("funding:ledger")).content.decode())[0]


@pytest.mark.parametrize("role", ["applicant", "expert", None])
def test_only_the_bureau_and_finance_export(client, role, org):
    user = UserFactory(roles=[role] if role else [], organization=org)
    client.force_login(user)
    assert client.get(reverse("funding:ledger_xlsx")).status_code == 404
    assert client.get(reverse("funding:disbursements_xlsx")).status_code == 404

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


@pytest.mark.parametrize("role", ["applicant", "expert", None])
def test_only_the_bureau_and_finance_export(client, role, org):
    user = UserFactory(roles=[role] if role else [], organization=org)
    client.force_login(user)
    assert client.get(reverse("funding:ledger_xlsx")).status_code == 404
    assert client.get(reverse("funding:disbursements_xlsx")).status_code == 404

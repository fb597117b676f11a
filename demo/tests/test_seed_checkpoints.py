"""The checkpoint demo data (demo/checkpoints.py): a project that ran its whole course (three tranches paid, 中期检查
and 验收 passed with expert scores, completed), one terminated at its 中期检查 with a recovery order partly repaid,
the other states the checkpoint pages show; re-runnable; the ledger and its Excel export agree with the approved
payments to the fen."""

import io
import re
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from activity.models import AuditEvent, Notification
from demo.checkpoints import ACCEPTANCE_ROUND, MIDTERM_ROUND_1, MIDTERM_ROUND_2
from experts.models import Assignment, ReviewItem, ReviewRound
from funding import exports, selectors
from funding.models import Disbursement, RecoveryOrder, Repayment, TaskAgreement, Tranche
from projects.checkpoints.services import add_months
from projects.models import (
    AcceptanceReport,
    CheckpointAttachment,
    CheckpointAttachmentKind,
    ExtensionRequest,
    MidtermReport,
    Project,
)

pytestmark = pytest.mark.django_db
P, AG, TR, DS, K = Project.State, TaskAgreement.State, Tranche.State, Disbursement.State, Disbursement.Kind
MS, AS, AK = MidtermReport.State, AcceptanceReport.State, CheckpointAttachmentKind
CENT = Decimal("0.01")
SPRING = "春季专项"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot():
    models = (MidtermReport, AcceptanceReport, ExtensionRequest, CheckpointAttachment, ReviewRound, Assignment,
              Disbursement, RecoveryOrder, Repayment, Notification, AuditEvent)
    return {
        **{m.__name__: m.objects.count() for m in models},
        "tranches": sorted(Tranche.objects.values_list("agreement__number", "position", "state", "paid_amount")),
        "projects": sorted(Project.objects.values_list("number", "state", "end_date")),
    }


def spring(org_name: str) -> Project:
    return Project.objects.select_related("agreement").get(call__title__contains=SPRING,
                                                           organization__name=org_name)


def money(cell) -> Decimal:
    return Decimal(repr(cell)).quantize(CENT)


def test_seed_demo_plays_the_checkpoint_stories_once_and_the_ledger_agrees_to_the_fen(client):
    output = seed()
    assert re.search(r"checkpoints [1-9]", output)
    before = snapshot()
    assert "未作改动" in seed()
    assert snapshot() == before  # nothing opened, paid, scored or repaid twice
    today = timezone.localdate()

    # 1. the whole course: 之江理工大学's project ended 20 days ago, completed after its 验收
    whole = spring("之江理工大学")
    agreement = whole.agreement
    assert whole.state == P.COMPLETED and whole.end_date < today
    assert agreement.state == AG.SIGNED and agreement.end_date == whole.end_date
    tranches = list(agreement.tranches.order_by("position"))
    assert [t.state for t in tranches] == [TR.PAID] * 3
    payments = list(agreement.disbursements.select_related("recorded_by", "decided_by", "tranche")
                    .order_by("paid_on"))
    assert [d.tranche.position for d in payments] == [1, 2, 3]
    assert all(d.kind == K.PAYMENT and d.state == DS.APPROVED and d.paid_on < today for d in payments)
    assert {(d.recorded_by.username, d.decided_by.username) for d in payments} == {("finance", "finance2")}
    assert sum((d.amount for d in payments), Decimal("0.00")) == agreement.paid_total == agreement.fiscal_amount
    assert agreement.fiscal_amount == Decimal("1000000.00")

    midterm = MidtermReport.objects.get(project=whole)
    acceptance = AcceptanceReport.objects.get(project=whole)
    assert midterm.state == MS.PASSED and acceptance.state == AS.PASSED
    for report in (midterm, acceptance):
        assert report.expert_score is not None and report.expert_review_count == 3
        assert report.concluded_by.username == "officer"
        assert all(row["value"] != "" for row in report.targets)
        assert all(row["fiscal"] != "" and row["self"] != "" for row in report.spending)
    assert all(row["evidence"] for row in acceptance.targets)
    assert acceptance.spent_fiscal <= agreement.fiscal_amount
    # each payment after what made it due: signing, the mid-term passed, the acceptance passed
    assert payments[0].paid_on < timezone.localdate(midterm.concluded_at) <= payments[1].paid_on
    assert payments[1].paid_on < timezone.localdate(acceptance.submitted_at) < payments[2].paid_on
    assert timezone.localdate(acceptance.concluded_at) <= payments[2].paid_on
    assert timezone.localdate(acceptance.submitted_at) > whole.end_date
    assert set(midterm.attachments.values_list("kind", flat=True)) == {AK.PROGRESS_REPORT}
    assert {AK.FINAL_REPORT, AK.SPENDING_REPORT, AK.AUDIT_REPORT} <= set(
        acceptance.attachments.values_list("kind", flat=True))
    rounds = {r.name: r for r in ReviewRound.objects.filter(call=whole.call, kind__in=["midterm", "acceptance"])}
    assert {r.state for r in rounds.values()} == {ReviewRound.State.CLOSED}
    assert rounds[MIDTERM_ROUND_1].kind == "midterm" and rounds[ACCEPTANCE_ROUND].kind == "acceptance"
    assert rounds[MIDTERM_ROUND_1].items.get().subject_id == midterm.pk
    assert rounds[ACCEPTANCE_ROUND].items.get().subject_id == acceptance.pk
    assert all(a.state == Assignment.State.SUBMITTED for r in rounds.values() for a in r.assignments.all())

    # 2. terminated at its 中期检查 (not the organisation's fault): the unspent part recovered, partly repaid
    ended = spring("杭州余杭生物医药有限公司")
    report = MidtermReport.objects.get(project=ended)
    assert ended.state == P.TERMINATED and ended.agreement.state == AG.TERMINATED
    assert report.state == MS.FAILED and not report.fault and report.expert_score is not None
    assert ReviewItem.objects.filter(round=rounds[MIDTERM_ROUND_2], subject_id=report.pk).exists()
    assert list(ended.agreement.tranches.order_by("position").values_list("state", flat=True)) == [
        TR.PAID, TR.CANCELLED, TR.CANCELLED]
    order = RecoveryOrder.objects.get(agreement=ended.agreement)
    assert order.state == RecoveryOrder.State.OPEN and order.rule == RecoveryOrder.Rule.UNSPENT
    assert order.paid_at_order == ended.agreement.paid_total > 0
    assert order.amount_due == order.paid_at_order - report.spent_fiscal
    [repayment] = order.repayments.select_related("recorded_by", "decided_by")
    assert repayment.state == Repayment.State.APPROVED
    assert (repayment.recorded_by.username, repayment.decided_by.username) == ("finance", "finance2")
    assert order.repaid_total == repayment.amount and 0 < repayment.amount < order.amount_due
    outstanding = order.amount_due - order.repaid_total
    client.force_login(User.objects.get(username="finance2"))
    page = client.get(reverse("funding:recovery", args=[order.pk]))
    assert page.status_code == 200
    assert f"{outstanding:,.2f}" in re.search(r'data-testid="outstanding">([^<]*)<', page.content.decode()).group(1)

    # 3. the other states: due soon, awaiting the round, in 整改; a pending and an approved extension
    requested = MidtermReport.objects.get(project=spring("杭州滨江光电子有限公司"))
    assert requested.state == MS.REQUESTED and 0 < (requested.due_date - today).days <= 7
    waiting = MidtermReport.objects.get(project=spring("杭州市第九人民医院"))
    assert waiting.state == MS.SUBMITTED and waiting.expert_score is None
    assert not ReviewItem.objects.filter(subject_id=waiting.pk, round__kind="midterm").exists()
    rectifying = MidtermReport.objects.get(project=spring("杭州市现代农业研究院"))
    assert rectifying.state == MS.RECTIFYING and rectifying.rectify_due > today and rectifying.attempt == 2
    pending = ExtensionRequest.objects.select_related("project").get(state=ExtensionRequest.State.SUBMITTED)
    assert pending.project_id == requested.project_id
    assert add_months(pending.project.end_date, -3) > today
    approved = ExtensionRequest.objects.select_related("project").get(state=ExtensionRequest.State.APPROVED)
    assert approved.project_id == rectifying.project_id and approved.project.end_date == approved.new_end_date

    # the ledger: the approved payments less the approved reversals, to the fen, on the page and in the workbook
    finance = User.objects.get(username="finance")
    ledger = selectors.ledger_agreements(finance)
    ds = Disbursement.objects.filter(state=DS.APPROVED)
    net = (sum((d.amount for d in ds.filter(kind=K.PAYMENT)), Decimal("0.00"))
           - sum((d.amount for d in ds.filter(kind=K.REVERSAL)), Decimal("0.00")))
    recorded = sum((d.amount for d in Disbursement.objects.filter(state=DS.RECORDED)), Decimal("0.00"))
    totals = selectors.ledger_totals(ledger)
    assert totals["paid"] == net and totals["recorded"] == recorded
    assert totals["count"] == TaskAgreement.objects.count()
    assert totals["planned"] == sum(TaskAgreement.objects.values_list("fiscal_amount", flat=True))
    assert net >= agreement.fiscal_amount + ended.agreement.paid_total

    response = exports.ledger_xlsx(ledger)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    *agreements, total = rows
    by_number = {row[0]: row for row in agreements}
    assert len(by_number) == totals["count"]
    for a in TaskAgreement.objects.all():
        assert money(by_number[a.number][7]) == a.paid_total, a.number
        assert money(by_number[a.number][8]) == a.recorded_total, a.number
    assert money(by_number[agreement.number][6]) == money(by_number[agreement.number][7]) == agreement.fiscal_amount
    assert money(by_number[agreement.number][9]) == 0
    assert money(total[6]) == totals["planned"] and money(total[7]) == net and money(total[8]) == recorded
    # 未拨付 is what may still be paid: the terminated agreement's cancelled tranches are 已取消 (column 10), not unpaid
    assert money(total[9]) == totals["unpaid"] and money(total[10]) == totals["cancelled"] > 0
    assert totals["planned"] == net + totals["unpaid"] + totals["cancelled"]

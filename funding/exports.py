"""Excel exports of the money, streamed: the ledger (one row per agreement) and the disbursements (one row per
payment or reversal, every voucher).

XlsxWriter in ``constant_memory`` mode writes each row to a temporary file as soon as the next one starts and keeps
strings inline (no shared-string table growing with the rows); the rows come from the database in chunks
(``iterator``). Memory therefore stays flat however many rows there are (``benchmarks/ledger_export.py`` measures
it at 100,000 rows), and the finished file is streamed to the browser from disk. Money cells hold the amounts in 元
as numbers with two decimals; text typed by users is always written as a string, never as a formula
(``strings_to_formulas`` off and ``write_string``), so a leading = + - @ stays text.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Iterable
from decimal import Decimal

import xlsxwriter
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import selectors
from .models import Disbursement, TaskAgreement

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 2000


class _Sheet:
    """One worksheet written row by row in constant memory."""

    def __init__(self, handle, title: str, columns: list[tuple[str, int]], money_columns: set[int]):
        self.book = xlsxwriter.Workbook(handle, {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "tmpdir": tempfile.gettempdir(),
        })
        self.sheet = self.book.add_worksheet(title[:31])
        self.money_columns = money_columns
        self.formats = {
            "head": self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1}),
            "money": self.book.add_format({"num_format": "#,##0.00"}),
            "money_bold": self.book.add_format({"num_format": "#,##0.00", "bold": True, "top": 1}),
            "bold": self.book.add_format({"bold": True, "top": 1}),
            "date": self.book.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        for i, (header, width) in enumerate(columns):
            self.sheet.set_column(i, i, width)
            self.sheet.write_string(0, i, str(header), self.formats["head"])
        self.sheet.freeze_panes(1, 0)
        self.row = 0

    def append(self, values: list, *, bold: bool = False) -> None:
        self.row += 1
        for col, value in enumerate(values):
            if value is None or value == "":
                if bold:
                    self.sheet.write_blank(self.row, col, None, self.formats["bold"])
                continue
            if col in self.money_columns and isinstance(value, Decimal):
                self.sheet.write_number(self.row, col, float(value),
                                        self.formats["money_bold" if bold else "money"])
            elif isinstance(value, datetime.datetime):
                self.sheet.write_datetime(self.row, col, value, self.formats["datetime"])
            elif isinstance(value, datetime.date):
                self.sheet.write_datetime(self.row, col, value, self.formats["date"])
            else:
                self.sheet.write_string(self.row, col, str(value), self.formats["bold"] if bold else None)

    def close(self) -> None:
        self.book.close()


def _stream(build, filename: str) -> FileResponse:
    handle = tempfile.TemporaryFile()
    build(handle)
    handle.seek(0)
    response = FileResponse(handle, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


def _local(dt):
    return timezone.localtime(dt).replace(tzinfo=None) if dt else None


LEDGER_FIGURES = ("planned", "paid", "recorded", "unpaid", "cancelled", "due_unpaid", "committed", "recovery_due",
                  "recovered", "net_paid")


def ledger_rows(agreements: QuerySet[TaskAgreement]) -> Iterable[list]:
    """(number, project number, title, organisation, programme, state, *LEDGER_FIGURES, signed_at) for each agreement,
    read as plain values in chunks (no model instances), then the total row: the figures are those of the ledger
    page (``selectors.ledger_figures``), so the totals equal the page's to the fen."""
    states = {value: str(label) for value, label in TaskAgreement.State.choices}
    totals = [Decimal("0.00")] * len(LEDGER_FIGURES)
    n = 0
    rows = selectors.with_ledger_figures(agreements.order_by("id")).values_list(
        "number", "project__number", "project__title", "project__organization__name", "project__call__program__name",
        "project__challenge__program__name", "state", "signed_at", "fiscal_amount", "paid_total", "recorded_total",
        *selectors.LEDGER_ANNOTATIONS)
    for number, p_number, title, org, call_program, challenge_program, state, signed, *amounts in (
            rows.iterator(chunk_size=CHUNK)):
        named = selectors.ledger_figures(*amounts)
        figures = [named[key] for key in LEDGER_FIGURES]
        totals = [t + f for t, f in zip(totals, figures, strict=True)]
        n += 1
        yield [number, p_number, title, org, call_program or challenge_program or "", states.get(state, state),
               *figures, _local(signed)]
    yield [_("合计"), _("共 %(n)d 份") % {"n": n}, "", "", "", "", *totals, None]


LEDGER_COLUMNS = (
    (gettext_lazy("任务书编号"), 24),
    (gettext_lazy("项目编号"), 20),
    (gettext_lazy("项目名称"), 40),
    (gettext_lazy("承担单位"), 30),
    (gettext_lazy("计划类别"), 16),
    (gettext_lazy("状态"), 12),
    (gettext_lazy("财政资金(元)"), 16),
    (gettext_lazy("已拨付(元)"), 16),
    (gettext_lazy("待审核(元)"), 16),
    (gettext_lazy("未拨付(元)"), 16),
    (gettext_lazy("已取消(元)"), 16),
    (gettext_lazy("应拨未拨(元)"), 16),
    (gettext_lazy("已承诺(元)"), 16),
    (gettext_lazy("应追回(元)"), 16),
    (gettext_lazy("已追回(元)"), 16),
    (gettext_lazy("净拨付(元)"), 16),
    (gettext_lazy("签订时间"), 18),
)
LEDGER_MONEY_COLUMNS = set(range(6, 6 + len(LEDGER_FIGURES)))


def ledger_xlsx(agreements: QuerySet[TaskAgreement]) -> FileResponse:
    def build(handle):
        sheet = _Sheet(handle, _("经费台账"), [(str(h), w) for h, w in LEDGER_COLUMNS], LEDGER_MONEY_COLUMNS)
        for row in ledger_rows(agreements):
            sheet.append(row, bold=row[0] == _("合计"))
        sheet.close()

    return _stream(build, f"{_('经费台账')}-{_stamp()}.xlsx")


def disbursement_rows(disbursements: QuerySet[Disbursement]) -> Iterable[list]:
    """Every payment and reversal with its voucher, read as plain values in chunks; the last row is the net approved
    money (reversals negative)."""
    kinds = {value: str(label) for value, label in Disbursement.Kind.choices}
    states = {value: str(label) for value, label in Disbursement.State.choices}
    net = Decimal("0.00")
    n = 0
    rows = disbursements.order_by("id").values_list(
        "agreement__number", "agreement__project__title", "agreement__project__organization__name", "tranche__name",
        "kind", "amount", "voucher_no", "paid_on", "state", "recorded_by__real_name", "recorded_by__username",
        "decided_by__real_name", "decided_by__username", "idempotency_key")
    for (number, title, org, tranche, kind, amount, voucher, paid_on, state, rec_name, rec_user, dec_name, dec_user,
         key) in rows.iterator(chunk_size=CHUNK):
        signed_amount = -amount if kind == Disbursement.Kind.REVERSAL else amount
        if state == Disbursement.State.APPROVED:
            net += signed_amount
        n += 1
        yield [number, title, org, tranche, kinds.get(kind, kind), signed_amount, voucher, paid_on,
               states.get(state, state), rec_name or rec_user, (dec_name or dec_user or ""), key]
    yield [_("已审核净额"), _("共 %(n)d 笔") % {"n": n}, "", "", "", net, "", None, "", "", "", ""]


DISBURSEMENT_COLUMNS = (
    (gettext_lazy("任务书编号"), 24),
    (gettext_lazy("项目名称"), 40),
    (gettext_lazy("承担单位"), 30),
    (gettext_lazy("拨付批次"), 24),
    (gettext_lazy("类型"), 8),
    (gettext_lazy("金额(元)"), 16),
    (gettext_lazy("银行凭证号"), 22),
    (gettext_lazy("支付日期"), 12),
    (gettext_lazy("状态"), 10),
    (gettext_lazy("登记人"), 10),
    (gettext_lazy("审核人"), 10),
    (gettext_lazy("幂等键"), 30),
)


def disbursements_xlsx(disbursements: QuerySet[Disbursement]) -> FileResponse:
    def build(handle):
        sheet = _Sheet(handle, _("拨付明细"), [(str(h), w) for h, w in DISBURSEMENT_COLUMNS], {5})
        for row in disbursement_rows(disbursements):
            sheet.append(row, bold=row[0] == _("已审核净额"))
        sheet.close()

    return _stream(build, f"{_('拨付明细')}-{_stamp()}.xlsx")

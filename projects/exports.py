"""Excel export of application lists (openpyxl).

The caller passes a queryset it got from a selector (so it is already scoped to the user); the
export adds what it needs to run a fixed number of queries whatever the row count. Money cells hold
the exact decimal amounts in 元 (written as numbers, shown with thousands separators).

Text typed by applicants (a project name, a leader's name…) is always written as a literal string:
one starting with = + - @ or a tab / carriage return would otherwise be a formula in Excel (formula
injection, e.g. ``=HYPERLINK(...)``), so such cells get the string type and Excel's quote prefix.
"""

from decimal import Decimal
from io import BytesIO

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .models import Application
from .selectors import with_totals

MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def _columns():
    # (header, width in characters)
    return [
        (_("申报编号"), 22),
        (_("项目名称"), 44),
        (_("申报单位"), 32),
        (_("统一社会信用代码"), 22),
        (_("计划类别"), 16),
        (_("指南"), 36),
        (_("项目负责人"), 12),
        (_("状态"), 12),
        (_("财政资金(元)"), 16),
        (_("自筹资金(元)"), 16),
        (_("合计(元)"), 16),
        (_("提交时间"), 18),
    ]


MONEY_COLUMNS = (9, 10, 11)  # 1-based: 财政资金, 自筹资金, 合计
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _as_literal_text(cell) -> None:
    """Make a text cell that Excel could read as a formula a plain string (shown exactly as typed)."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"
        cell.quotePrefix = True


def export_applications_xlsx(queryset: QuerySet[Application]) -> bytes:
    """The applications of ``queryset`` as an .xlsx file (bytes), one row each plus a 合计 row."""
    qs = queryset.select_related("call", "call__program", "organization")
    if "fiscal_total" not in qs.query.annotations:
        qs = with_totals(qs)

    wb = Workbook()
    ws = wb.active
    ws.title = _("申报书")
    columns = _columns()
    ws.append([str(header) for header, _width in columns])
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    for i, (_header, width) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.border = Border(bottom=thin)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"

    fiscal_sum = self_sum = Decimal("0.00")
    row = 1
    for app in qs.iterator(chunk_size=1000):
        fiscal = app.fiscal_total or Decimal("0.00")
        own = app.self_total or Decimal("0.00")
        fiscal_sum += fiscal
        self_sum += own
        submitted = timezone.localtime(app.submitted_at).replace(tzinfo=None) if app.submitted_at else None
        ws.append(
            [
                app.number or "",
                app.title,
                app.organization.name,
                app.organization.credit_code,
                app.call.program.name,
                str(app.call),
                app.leader_name,
                str(app.get_state_display()),
                fiscal,
                own,
                fiscal + own,
                submitted,
            ]
        )
        row += 1
        for cell in ws[row]:
            _as_literal_text(cell)
        for col in MONEY_COLUMNS:
            ws.cell(row=row, column=col).number_format = MONEY_FORMAT
        ws.cell(row=row, column=12).number_format = DATETIME_FORMAT

    if row > 1:
        ws.append([_("合计"), _("共 %(n)d 项") % {"n": row - 1}, *[None] * 6, fiscal_sum, self_sum, fiscal_sum + self_sum])
        total_row = row + 1
        for col in range(1, len(columns) + 1):
            cell = ws.cell(row=total_row, column=col)
            cell.font = header_font
            cell.border = Border(top=thin)
        for col in MONEY_COLUMNS:
            ws.cell(row=total_row, column=col).number_format = MONEY_FORMAT
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{row}"

    out = BytesIO()
    wb.save(out)
    return out.getvalue()

"""Excel exports for the bureau (openpyxl): a round's ranking, its 立项 list with the 公示 objections, and the
expert evaluation table, printed and archived for the 党组会 / 局长办公会.

The caller passes what it got from a selector (a round from ``selectors.round_for``, evaluation rows from
``selectors.expert_evaluation`` over ``selectors.experts_visible_to``), so everything is already scoped to the
user; each export then runs a fixed number of queries whatever the row count. Money cells hold the exact
decimal amounts in 元 (written as numbers, shown with thousands separators and two decimals).

Every text cell (a project title, an organisation, an expert's or an objector's name…) goes through the
formula-injection guard of ``projects.exports``: text starting with = + - @ or a tab / carriage return is
written as a literal string with Excel's quote prefix, never as a formula.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from io import BytesIO

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from projects.exports import DATETIME_FORMAT, MONEY_FORMAT
from projects.exports import _as_literal_text as as_literal_text

from . import selectors
from .models import FundingList, Review, ReviewRound
from .services.funding import list_totals

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCORE_FORMAT = "0.00"
RATE_FORMAT = "0.0"
DASH = "—"

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_REMOVED = Font(strike=True, color="808080")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="999999")
#: characters that cannot stand in a file name on Windows, or in a header
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def export_filename(label: str, name: str = "") -> str:
    """``label-name-YYYYMMDD.xlsx`` with what a file name cannot hold replaced (name cut to 60 characters)."""
    parts = [label]
    name = _UNSAFE_FILENAME.sub("_", name or "").strip(" ._")[:60]
    if name:
        parts.append(name)
    parts.append(timezone.localdate().strftime("%Y%m%d"))
    return "-".join(parts) + ".xlsx"


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    """A download of ``content`` named ``filename`` (a non-ASCII name is sent as RFC 6266 ``filename*``), kept
    out of shared caches."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _local(dt):
    """An aware datetime as the naive Beijing time Excel shows, to the second (None stays None)."""
    return timezone.localtime(dt).replace(tzinfo=None, microsecond=0) if dt else None


def _yes_no(flag: bool) -> str:
    return _("是") if flag else _("否")


def _or_dash(value):
    return DASH if value is None or value == "" else value


def _append(ws: Worksheet, values: list, *, formats: dict[int, str] | None = None, font=None) -> int:
    """Append a row, guard every text cell against formula injection, apply number formats (1-based column →
    format) and a font; returns the row number."""
    ws.append(values)
    row = ws.max_row
    for cell in ws[row]:
        as_literal_text(cell)
        if font is not None:
            cell.font = font
    for col, fmt in (formats or {}).items():
        ws.cell(row=row, column=col).number_format = fmt
    return row


def _header_block(ws: Worksheet, title: str, lines: list[tuple], *, width: int) -> None:
    """A bold title, then one ``label | value`` row per line, then a blank row (the table follows). A line is
    ``(label, value)`` or ``(label, value, number format)``; datetimes are shown in Beijing time, other
    decimals as money; an empty value as a dash. The label spans columns A-B and the value C to the table's
    last column (``width``), so the table's narrow first columns do not cut them off."""
    row = _append(ws, [title], font=_TITLE)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    for label, value, *fmt in lines:
        fmt = fmt[0] if fmt else None
        if isinstance(value, datetime.datetime):
            value, fmt = _local(value), DATETIME_FORMAT
        elif isinstance(value, Decimal) and fmt is None:
            fmt = MONEY_FORMAT
        row = _append(ws, [label, None, _or_dash(value)], formats={3: fmt} if fmt else None)
        ws.cell(row=row, column=1).font = _BOLD
        ws.cell(row=row, column=3).alignment = Alignment(horizontal="left", wrap_text=True)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        ws.merge_cells(start_row=row, start_column=3, end_row=row, end_column=width)
    ws.append([])


def _table_header(ws: Worksheet, columns: list[tuple[str, int]]) -> int:
    """The column headers (bold, filled, frozen, repeated on every printed page) and the column widths."""
    row = _append(ws, [str(header) for header, _width in columns])
    for i, (_header, width) in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=i)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(bottom=_THIN)
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = f"A{row + 1}"
    ws.print_title_rows = f"{row}:{row}"
    return row


def _print_setup(ws: Worksheet) -> None:
    """Landscape A4, all columns on one page width."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _bold_total(ws: Worksheet, row: int, width: int) -> None:
    for col in range(1, width + 1):
        cell = ws.cell(row=row, column=col)
        cell.font = _BOLD
        cell.border = Border(top=_THIN)


def _save(wb: Workbook) -> bytes:
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _call_title(rnd: ReviewRound) -> str:
    """The call of an application round, or the challenge (榜单) of a 揭榜 round."""
    if rnd.call_id:
        return rnd.call.title
    if rnd.challenge_id:
        return f"{rnd.challenge.number or ''} {rnd.challenge.title}".strip()
    return DASH


def _scope_label(rnd: ReviewRound) -> str:
    return _("榜单") if rnd.challenge_id else _("指南")


# ---- ranking ----------------------------------------------------------------------------------------------


def _ranking_columns():
    return [
        (_("排名"), 6),
        (_("编号"), 20),
        (_("项目名称"), 40),
        (_("申报单位"), 30),
        (_("学科代码"), 10),
        (_("得分"), 8),
        (_("评审份数"), 8),
        (_("标准差"), 8),
        (_("离散度预警"), 10),
        (_("同意立项"), 8),
        (_("修改后立项"), 8),
        (_("不同意立项"), 8),
        (_("申请财政资金（元）"), 16),
        (_("累计申请（元）"), 16),
        (_("是否在预算内"), 10),
        (_("偏离专家"), 40),
    ]


def _deviations_text(deviations) -> str:
    return "；".join(
        _("%(name)s：%(total)s 分（其他专家均分 %(others)s）") % {"name": name, "total": total, "others": others}
        for name, total, others, _gap in deviations
    )


def ranking_xlsx(rnd: ReviewRound) -> bytes:
    """The round's ranking (``selectors.ranking``, two queries) as one sheet, with a header block naming the
    round, the call, the aggregation method, the call budget and the export time."""
    rows = selectors.ranking(rnd)
    budget = selectors.ranking_budget(rnd)
    wb = Workbook()
    ws = wb.active
    ws.title = _("评审排名")
    columns = _ranking_columns()
    _header_block(ws, _("%(name)s 评审排名") % {"name": rnd.name}, width=len(columns), lines=[
        (_("评审轮次"), rnd.name),
        (_scope_label(rnd), _call_title(rnd)),
        (_("得分计算方法"), str(rnd.get_aggregation_display())),
        (_("指南财政资金总额（元）"), budget),
        (_("导出时间"), timezone.now()),
    ])
    header_row = _table_header(ws, columns)
    money = {13: MONEY_FORMAT, 14: MONEY_FORMAT, 6: SCORE_FORMAT, 8: SCORE_FORMAT}
    for r in rows:
        ranked = r.rank is not None
        recs = r.recommendations
        _append(ws, [
            r.rank if ranked else DASH,
            r.item.number,
            r.item.title,
            r.item.organization_name,
            r.item.discipline_code,
            _or_dash(r.result.score),
            r.result.count,
            r.result.std_dev,
            _yes_no(r.result.dispersed),
            recs.get(Review.Recommendation.FUND, 0),
            recs.get(Review.Recommendation.REVISE, 0),
            recs.get(Review.Recommendation.REJECT, 0),
            r.requested,
            r.cumulative if ranked else DASH,
            _yes_no(r.within_budget) if ranked else DASH,
            _deviations_text(r.deviations),
        ], formats=money)
    last = ws.max_row
    if last > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last}"
    ws.append([])
    _append(ws, [_("排名按得分从高到低；得分相同时标准差小者在前。评审意见不足3份或尚无评审意见的项目不计排名、"
                   "不计入累计申请额。")])
    _print_setup(ws)
    return _save(wb)


# ---- 立项 list ----------------------------------------------------------------------------------------------


def _entry_columns():
    return [
        (_("排名"), 6),
        (_("编号"), 20),
        (_("项目名称"), 40),
        (_("申报单位"), 30),
        (_("评审得分"), 10),
        (_("申请财政资金（元）"), 16),
        (_("拟立项财政资金（元）"), 16),
        (_("是否移出"), 8),
        (_("移出时间"), 17),
        (_("移出理由"), 30),
    ]


def _objection_columns():
    return [
        (_("提出时间"), 17),
        (_("异议人"), 14),
        (_("联系方式"), 18),
        (_("所涉项目"), 36),
        (_("异议内容"), 50),
        (_("处理结果"), 12),
        (_("处理意见"), 40),
        (_("处理人"), 12),
        (_("处理时间"), 17),
    ]


def _publicity_text(fl: FundingList) -> str:
    if fl.publicity_start is None:
        return _("尚未发布公示（公示 %(n)d 个工作日）") % {"n": fl.publicity_workdays}
    return _("%(start)s 至 %(end)s（%(n)d 个工作日）") % {
        "start": fl.publicity_start.isoformat(), "end": fl.publicity_end.isoformat(), "n": fl.publicity_workdays}


def _person(user) -> str:
    return user.display_name if user is not None else ""


def funding_list_xlsx(rnd: ReviewRound, fl: FundingList) -> bytes:
    """The 立项 list of ``rnd`` (``fl`` read with its built_by / signed_off_by / approved_by): a header block
    (state, sign-off, 公示 period, approval), the entries with the removed ones struck through and a 合计 row
    of the entries still on the list (``funding.list_totals``, exact), and a second sheet with the objections
    and how they were resolved. Four queries."""
    entries = list(selectors.funding_list_entries(fl))
    objections = list(selectors.objections_of(fl))
    count, total = list_totals(fl)
    budget = rnd.call.total_budget if rnd.call_id else None

    wb = Workbook()
    ws = wb.active
    ws.title = _("立项清单")
    columns = _entry_columns()
    _header_block(ws, fl.title, width=len(columns), lines=[
        (_("评审轮次"), rnd.name),
        (_scope_label(rnd), _call_title(rnd)),
        (_("清单状态"), str(fl.get_state_display())),
        (_("入围分数线"), fl.cutoff_score if fl.cutoff_score is not None else _("未设"), SCORE_FORMAT),
        (_("编制人"), _person(fl.built_by)),
        (_("编制时间"), fl.built_at),
        (_("审签人"), _person(fl.signed_off_by)),
        (_("审签时间"), fl.signed_off_at),
        (_("审签意见"), fl.signoff_comment),
        (_("公示期"), _publicity_text(fl)),
        (_("批准人"), _person(fl.approved_by)),
        (_("批准时间"), fl.approved_at),
        (_("指南财政资金总额（元）"), budget),
        (_("导出时间"), timezone.now()),
    ])
    header_row = _table_header(ws, columns)
    formats = {5: SCORE_FORMAT, 6: MONEY_FORMAT, 7: MONEY_FORMAT, 9: DATETIME_FORMAT}
    requested_sum = Decimal("0.00")
    for e in entries:
        removed = e.removed_at is not None
        if not removed:
            requested_sum += e.requested_amount
        _append(ws, [
            e.rank,
            e.item.number,
            e.item.title,
            e.item.organization_name,
            e.score,
            e.requested_amount,
            e.granted_amount,
            _yes_no(removed),
            _local(e.removed_at),
            e.removed_reason,
        ], formats=formats, font=_REMOVED if removed else None)
    last = ws.max_row
    total_row = _append(ws, [_("合计"), _("共 %(n)d 项（不含已移出）") % {"n": count}, None, None, None,
                             requested_sum, total], formats=formats)
    _bold_total(ws, total_row, len(columns))
    if last > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(columns))}{last}"
    _print_setup(ws)

    ws2 = wb.create_sheet(_("公示异议"))
    _append(ws2, [_("%(title)s · 公示异议") % {"title": fl.title}], font=_TITLE)
    ws2.append([])
    _table_header(ws2, _objection_columns())
    for o in objections:
        entry = o.entry
        row = _append(ws2, [
            _local(o.created_at),
            o.submitter_name,
            o.submitter_contact,
            str(entry.item) if entry is not None else DASH,
            o.content,
            str(o.get_state_display()),
            o.resolution,
            _person(o.resolved_by),
            _local(o.resolved_at),
        ], formats={1: DATETIME_FORMAT, 9: DATETIME_FORMAT})
        for col in (4, 5, 7):
            ws2.cell(row=row, column=col).alignment = Alignment(wrap_text=True, vertical="top")
    if not objections:
        _append(ws2, [_("公示期间未收到异议。") if fl.publicity_start else _("尚未公示。")])
    _print_setup(ws2)
    return _save(wb)


# ---- expert evaluation ---------------------------------------------------------------------------------


def _evaluation_columns():
    return [
        (_("专家"), 12),
        (_("工作单位"), 30),
        (_("职称"), 12),
        (_("受邀"), 8),
        (_("谢绝"), 8),
        (_("逾期未答复"), 10),
        (_("已提交"), 8),
        (_("谢绝率（%）"), 10),
        (_("按时率（%）"), 10),
        (_("平均偏离（分）"), 12),
    ]


def evaluation_xlsx(rows: list[dict], *, sort_label: str = "") -> bytes:
    """The expert evaluation table: ``rows`` from ``selectors.expert_evaluation`` in the order given."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("专家评价")
    lines = [(_("排序"), sort_label)] if sort_label else []
    columns = _evaluation_columns()
    _header_block(ws, _("专家评价"), width=len(columns),
                  lines=[*lines, (_("专家人数"), len(rows)), (_("导出时间"), timezone.now())])
    _table_header(ws, columns)
    formats = {8: RATE_FORMAT, 9: RATE_FORMAT, 10: SCORE_FORMAT}
    for s in rows:
        e = s["expert"]
        _append(ws, [
            e.name,
            e.workplace,
            e.title,
            s["invited"],
            s["declined"],
            s["expired"],
            s["submitted"],
            _or_dash(s["decline_rate"]),
            _or_dash(s["on_time_rate"]),
            _or_dash(s["mean_deviation"]),
        ], formats=formats)
    ws.append([])
    _append(ws, [_("按时率 = 截止前提交的评审 / 已提交的评审；谢绝率 = （谢绝 + 逾期未答复）/ 已有结果的邀请（不含待答复和已取消的）；"
                   "平均偏离 = 该专家总分与同一项目其他专家平均分之差的绝对值的平均。")])
    _print_setup(ws)
    return _save(wb)

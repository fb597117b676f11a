"""What the portal and the office checkpoint pages share: refusals as messages, the read-only rows of a report,
its files and the conclusions its round allows."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.utils import timezone

from ...models import BudgetLine
from .. import services
from ..forms import required_kinds
from ..models import AcceptanceReport, CheckpointAttachmentKind, MidtermReport
from ..services import acceptance_due_date


def flash(request, errors) -> None:
    for message in errors:
        messages.error(request, message)


def form_messages(form) -> list[str]:
    out = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        out.extend(f"{label}：{m}" if label else str(m) for m in errors)
    return out


def is_midterm(report) -> bool:
    return isinstance(report, MidtermReport)


def spending_rows(report) -> list[tuple[dict, str]]:
    labels = dict(BudgetLine.Category.choices)
    return [(row, labels.get(row["category"], row["category"])) for row in report.spending]


def report_due(report, today: datetime.date | None = None) -> tuple[datetime.date | None, bool]:
    """The date the report is due by (the rectification date while it is rectified) and whether it is overdue."""
    today = today or timezone.localdate()
    if report.state in (MidtermReport.State.RECTIFYING, AcceptanceReport.State.RECTIFYING):
        due = report.rectify_due
    elif is_midterm(report):
        due = report.due_date
    else:
        due = acceptance_due_date(report.project)
    waiting = report.state in (MidtermReport.State.REQUESTED, AcceptanceReport.State.DRAFT,
                               MidtermReport.State.RECTIFYING)
    return due, bool(waiting and due is not None and due < today)


def file_checklist(report, attachments) -> list[tuple[str, bool]]:
    """The files this round needs, each with whether it is there."""
    present = {a.kind for a in attachments if a.attempt == report.attempt}
    return [(CheckpointAttachmentKind(k).label, k in present) for k in required_kinds(report)]


def allowed_conclusions(report) -> dict:
    """The conclusions the service accepts for the report now (整改 once, 整改后通过 only after it, 不通过/结题 for a
    rectification left unanswered past its date)."""
    return services.allowed_conclusions(report)

"""Checkpoints of a project funded through a call: 中期检查, 验收 and the one 延期.

The bureau opens the 中期检查 of its projects with a due date; the organisation reports progress against each agreed
target and spending by budget category, with attachments, and submits; an expert round (experts app, kind
``midterm``) scores the report; the bureau concludes 通过 (the mid-term tranche becomes due: ``checkpoint_passed``
"midterm"), 整改 (once; the organisation reports again by the rectification date, and the bureau concludes again
without another round) or 不通过 (the project is terminated and funding recovers the unspent fiscal funds, or all of
them through the organisation's fault).

The 验收申请 is due within 6 months after the end date (``acceptance_due_date``); reviewed the same way, it is concluded
通过, 整改 (once, within 3 months, then 整改后通过 or 不通过 or 结题), 不通过 or 结题. Passing completes the project and makes
the acceptance tranche due; 不通过 and 结题 end it and recover the fiscal funds (``project_terminated`` with
``recover=True`` and the spending the report declared).

A project may ask once for an extension of at most 12 months, at least 3 months before its end date; approval moves
the end date (and with it the acceptance deadline).
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused, parse_date
from accounts.fields import MAX_YUAN, to_yuan
from accounts.models import Role, User
from accounts.selectors import users_with_role
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify

from ..filters import MAX_ID
from ..hooks import agreed_terms
from ..models import (
    AcceptanceReport,
    BudgetLine,
    CheckpointAttachment,
    CheckpointAttachmentKind,
    ExtensionRequest,
    MidtermReport,
    Program,
    Project,
)
from ..signals import checkpoint_passed, project_terminated
from ..uploads import inspect_upload
from ..workflows import PROJECT_WORKFLOW
from .models import TerminationProposal

MS = MidtermReport.State
AS = AcceptanceReport.State
ES = ExtensionRequest.State
TP = TerminationProposal.State
P = Project.State
AK = CheckpointAttachmentKind

#: the acceptance application is due this many months after the end date
ACCEPTANCE_DUE_MONTHS = 6
#: a rectification is given at most this many months
RECTIFY_MAX_MONTHS = 3
#: an extension is at most this long, and asked for at least this long before the end date
EXTENSION_MAX_MONTHS = 12
EXTENSION_NOTICE_MONTHS = 3

#: the kinds of file each report takes
ATTACHMENT_KINDS = {
    "midterm": [AK.PROGRESS_REPORT, AK.EVIDENCE, AK.RECTIFICATION, AK.OTHER],
    "acceptance": [AK.FINAL_REPORT, AK.SPENDING_REPORT, AK.AUDIT_REPORT, AK.EVIDENCE, AK.RECTIFICATION, AK.OTHER],
}

MIDTERM_WORKFLOW = Workflow(
    "projects.MidtermReport",
    MS,
    [
        T("submit", [MS.REQUESTED, MS.RECTIFYING], MS.SUBMITTED, gettext_lazy("提交中期报告")),
        T("pass", [MS.SUBMITTED], MS.PASSED, gettext_lazy("中期检查通过")),
        T("rectify", [MS.SUBMITTED], MS.RECTIFYING, gettext_lazy("限期整改"), needs_reason=True),
        # from 整改中 only once the rectification date has passed without the rectified report (see _check_conclusion)
        T("fail", [MS.SUBMITTED, MS.RECTIFYING], MS.FAILED, gettext_lazy("中期检查不通过"), needs_reason=True),
        T("cancel", [MS.REQUESTED, MS.SUBMITTED, MS.RECTIFYING], MS.CANCELLED, gettext_lazy("取消")),
    ],
)

ACCEPTANCE_WORKFLOW = Workflow(
    "projects.AcceptanceReport",
    AS,
    [
        T("submit", [AS.DRAFT, AS.RECTIFYING], AS.SUBMITTED, gettext_lazy("提交验收申请")),
        T("pass", [AS.SUBMITTED], AS.PASSED, gettext_lazy("验收通过")),
        T("rectify", [AS.SUBMITTED], AS.RECTIFYING, gettext_lazy("限期整改"), needs_reason=True),
        T("pass_rectified", [AS.SUBMITTED], AS.PASSED_AFTER_RECTIFICATION, gettext_lazy("整改后通过")),
        T("fail", [AS.SUBMITTED, AS.RECTIFYING], AS.FAILED, gettext_lazy("验收不通过"), needs_reason=True),
        T("close", [AS.SUBMITTED, AS.RECTIFYING], AS.CLOSED, gettext_lazy("结题"), needs_reason=True),
        T("cancel", [AS.DRAFT, AS.SUBMITTED, AS.RECTIFYING], AS.CANCELLED, gettext_lazy("取消")),
    ],
)

EXTENSION_WORKFLOW = Workflow(
    "projects.ExtensionRequest",
    ES,
    [
        T("approve", [ES.SUBMITTED], ES.APPROVED, gettext_lazy("批准延期")),
        T("reject", [ES.SUBMITTED], ES.REJECTED, gettext_lazy("不予批准"), needs_reason=True),
    ],
)

#: the conclusions the bureau may give, by report kind and attempt (整改后通过 only after the one rectification)
MIDTERM_CONCLUSIONS = {"pass": gettext_lazy("通过"), "rectify": gettext_lazy("整改"), "fail": gettext_lazy("不通过")}
ACCEPTANCE_CONCLUSIONS = {
    "pass": gettext_lazy("通过"), "rectify": gettext_lazy("整改"), "pass_rectified": gettext_lazy("整改后通过"),
    "fail": gettext_lazy("不通过"), "close": gettext_lazy("结题"),
}


# ---- small helpers ------------------------------------------------------------------------------------------------


def _now(now=None):
    return now or timezone.now()


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day (8-31 + 6 months = 2-28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise InvalidInput(_("日期超出可处理的范围。"))
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def acceptance_due_date(project: Project) -> datetime.date | None:
    """验收申请 is due within 6 months after the (possibly extended) end date."""
    if project.end_date is None:
        return None
    try:
        return add_months(project.end_date, ACCEPTANCE_DUE_MONTHS)
    except InvalidInput:
        return datetime.date.max


def _require(actor, perm: str, obj=None, message: str = "") -> None:
    if actor is None or not actor.has_perm(perm, obj):
        raise PermissionRefused(message or _("您没有权限执行此操作。"))


def _require_officer(actor) -> None:
    _require(actor, "projects.manage_checkpoints", message=_("只有科技局业务处室可以办理中期检查、验收和延期。"))


def checkable(project: Project) -> str:
    """Why the project has no 中期检查/验收 of its own ('' when it has)."""
    if project.application_id is None:
        return _("揭榜挂帅项目按里程碑考核和揭榜验收办理。")
    if project.call.program.kind == Program.Kind.POST_SUBSIDY:
        return _("后补助项目按研发费用核定后一次性拨付，不设中期检查和验收。")
    return ""


def _lock_project(project_id: int) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("call__program", "organization").get(
        pk=project_id)


def _require_running(project: Project) -> None:
    reason = checkable(project)
    if reason:
        raise TransitionRefused(reason)
    if project.state != P.ESTABLISHED:
        raise TransitionRefused(_("项目当前状态为“%(s)s”，不能办理。") % {"s": project.get_state_display()})


def _org_users(organization_id):
    return User.objects.filter(organization_id=organization_id, is_active=True,
                               groups__name__in=[Role.APPLICANT, Role.ORG_ADMIN]).distinct()


def _officers():
    return users_with_role(Role.OFFICER)


def _portal_link(report) -> str:
    name = "checkpoints:midterm" if isinstance(report, MidtermReport) else "checkpoints:acceptance"
    return reverse(name, args=[report.pk])


def _office_link(report) -> str:
    name = "checkpoints_office:midterm" if isinstance(report, MidtermReport) else "checkpoints_office:acceptance"
    return reverse(name, args=[report.pk])


def _fen(value, label: str, *, allow_blank: bool) -> Decimal | None:
    if value is None or value == "":
        if allow_blank:
            return None
        raise InvalidInput(_("请填写%(f)s。") % {"f": label})
    try:
        amount = to_yuan(value)
    except ValidationError:
        amount = None
    if amount is None or amount < 0:
        raise InvalidInput(_("%(f)s须为不小于0的金额，最多精确到分。") % {"f": label})
    return abs(amount)  # "-0" is 0.00


def _text(value, label: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(_("%(f)s须为文字。") % {"f": label})
    return value.strip()


def _number(value, label: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int, float, Decimal)) or isinstance(value, bool):
        raise InvalidInput(_("%(f)s须为不小于0的数值。") % {"f": label})
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number < 0 or number.copy_abs() >= Decimal("1e12"):
        raise InvalidInput(_("%(f)s须为不小于0的数值。") % {"f": label})
    return _plain(number)


def _plain(number: Decimal) -> str:
    """A figure as people write it: 1000, 2.5, 0.00000001 (never 1E+3, 1E-8 or -0)."""
    text = format(abs(number) if number == 0 else number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- what a report is measured against -----------------------------------------------------------------------------


def terms_of(project: Project) -> tuple[list[dict], dict[str, tuple[Decimal, Decimal]]]:
    """The targets and the budget by category a report is measured against: the signed 任务书's (funding answers
    through the hook), else the application's."""
    terms = agreed_terms(project)
    if terms is not None:
        return list(terms.targets), dict(terms.budget)
    app = project.application
    targets = [{"kind": t.kind, "indicator": t.indicator, "target_value": _plain(t.target_value), "unit": t.unit}
               for t in app.targets.order_by("position", "id")]
    budget = {b.category: (b.fiscal_amount, b.self_amount) for b in app.budget_lines.all()}
    return targets, budget


def _blank_targets(targets: list[dict]) -> list[dict]:
    return [{"kind": t.get("kind", ""), "indicator": t.get("indicator", ""), "target_value": str(t.get("target_value", "")),
             "unit": t.get("unit", ""), "value": "", "evidence": ""} for t in targets]


def _blank_spending(budget: dict[str, tuple[Decimal, Decimal]]) -> list[dict]:
    rows = []
    for category in BudgetLine.Category.values:
        fiscal, own = budget.get(category, (Decimal("0.00"), Decimal("0.00")))
        rows.append({"category": category, "budget_fiscal": str(fiscal), "budget_self": str(own), "fiscal": "",
                     "self": ""})
    return rows


def _fill(report, *, targets, spending) -> list[str]:
    """Copy the organisation's figures onto the report's rows (blanks allowed while it is being filled in)."""
    if targets is not None:
        if (not isinstance(targets, (list, tuple)) or len(targets) != len(report.targets)
                or not all(isinstance(given, dict) for given in targets)):
            raise InvalidInput(_("绩效指标与任务书不一致，请刷新页面后重新填写。"))
        rows = []
        for row, given in zip(report.targets, targets, strict=True):
            value = _number(given.get("value"), _value_label(report) % {"i": row["indicator"]})
            evidence = given.get("evidence") or ""
            if not isinstance(evidence, str):
                raise InvalidInput(_("“%(i)s”的佐证说明须为文字。") % {"i": row["indicator"]})
            rows.append({**row, "value": "" if value is None else value, "evidence": evidence.strip()[:2000]})
        report.targets = rows
    if spending is not None:
        if not isinstance(spending, dict) or not all(isinstance(v, dict) for v in spending.values()):
            raise InvalidInput(_("经费支出须按预算科目填写，请刷新页面后重新填写。"))
        labels = dict(BudgetLine.Category.choices)
        rows = []
        for row in report.spending:
            given = spending.get(row["category"], {})
            label = str(labels.get(row["category"], row["category"]))
            fiscal = _fen(given.get("fiscal"), _("%(c)s财政资金支出") % {"c": label}, allow_blank=True)
            own = _fen(given.get("self"), _("%(c)s自筹资金支出") % {"c": label}, allow_blank=True)
            rows.append({**row, "fiscal": "" if fiscal is None else str(fiscal), "self": "" if own is None else str(own)})
        report.spending = rows
        report.spent_fiscal = sum((Decimal(r["fiscal"]) for r in rows if r["fiscal"] != ""), Decimal("0.00"))
        report.spent_self = sum((Decimal(r["self"]) for r in rows if r["self"] != ""), Decimal("0.00"))
        if max(report.spent_fiscal, report.spent_self) >= MAX_YUAN:
            raise InvalidInput(_("经费支出合计超出允许范围，请核对金额。"))
    return ["targets", "spending", "spent_fiscal", "spent_self"]


def _value_label(report) -> str:
    """What the organisation reports against a target: its progress so far (中期) or what it achieved (验收)."""
    return _("“%(i)s”的当前进展值") if isinstance(report, MidtermReport) else _("“%(i)s”的完成值")


def _missing(report, required_kinds: list[str], *, evidence: bool) -> list[str]:
    """What still stops a report from being submitted, in words the organisation understands."""
    missing = []
    for row in report.targets:
        if row.get("value", "") == "":
            missing.append(_value_label(report) % {"i": row["indicator"]})
        elif evidence and not row.get("evidence"):
            missing.append(_("“%(i)s”的佐证说明") % {"i": row["indicator"]})
    labels = dict(BudgetLine.Category.choices)
    for row in report.spending:
        if row.get("fiscal", "") == "" or row.get("self", "") == "":
            missing.append(_("%(c)s的支出") % {"c": labels.get(row["category"], row["category"])})
    present = set(report.attachments.filter(removed_at__isnull=True, attempt=report.attempt)
                  .values_list("kind", flat=True))
    for kind in required_kinds:
        if kind not in present:
            missing.append(str(AK(kind).label))
    return missing


# ---- attachments --------------------------------------------------------------------------------------------------


def _report_for_files(kind: str, report_id: int, *, lock: bool):
    model = {"midterm": MidtermReport, "acceptance": AcceptanceReport}.get(kind)
    if model is None:
        raise InvalidInput(_("未知的考核类型。"))
    qs = model.objects.select_related("project__organization")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.get(pk=report_id)


def add_attachment(*, actor: User, report_kind: str, report_id: int, kind: str, uploaded) -> CheckpointAttachment:
    """Attach a file to a 中期报告 or 验收申请 being filled in (or rectified). The type is checked by content."""
    report = _report_for_files(report_kind, report_id, lock=False)
    if kind not in ATTACHMENT_KINDS[report_kind]:
        raise InvalidInput(_("请选择附件类型。"))
    _require(actor, "projects.report_checkpoint_obj", report.project, _("只有项目承担单位可以上传考核材料。"))
    info = inspect_upload(uploaded)
    with transaction.atomic():
        report = _report_for_files(report_kind, report_id, lock=True)
        if report.state not in report.EDITABLE_STATES:
            raise TransitionRefused(_("%(r)s已%(s)s，不能再修改附件。") % {"r": report._meta.verbose_name,
                                                                          "s": report.get_state_display()})
        attachment = CheckpointAttachment(
            **{report_kind: report}, kind=kind, original_name=(uploaded.name or "")[:255],
            content_type=info["content_type"], size=info["size"], sha256=info["sha256"], attempt=report.attempt,
            uploaded_by=actor)
        attachment.file.save(uploaded.name or "upload", uploaded, save=False)
        attachment.save()
        record_audit(actor=actor, verb="attach", target=report,
                     data={"attachment": attachment.pk, "kind": kind, "name": attachment.original_name})
    return attachment


def remove_attachment(*, actor: User, attachment_id: int, now=None) -> CheckpointAttachment:
    """Remove a file from a report still being filled in (the row stays, marked removed)."""
    attachment = CheckpointAttachment.objects.get(pk=attachment_id)
    report_kind = "midterm" if attachment.midterm_id else "acceptance"
    report = _report_for_files(report_kind, attachment.midterm_id or attachment.acceptance_id, lock=False)
    _require(actor, "projects.report_checkpoint_obj", report.project, _("只有项目承担单位可以移除考核材料。"))
    with transaction.atomic():
        report = _report_for_files(report_kind, report.pk, lock=True)
        attachment = CheckpointAttachment.objects.select_for_update().get(pk=attachment_id)
        if report.state not in report.EDITABLE_STATES or attachment.attempt != report.attempt:
            raise TransitionRefused(_("已提交的材料不能移除。"))
        if attachment.removed_at is None:
            attachment.removed_at, attachment.removed_by = _now(now), actor
            attachment.save(update_fields=["removed_at", "removed_by"])
            record_audit(actor=actor, verb="detach", target=report, data={"attachment": attachment.pk})
    return attachment


# ---- 中期检查 ------------------------------------------------------------------------------------------------------


def open_midterm(*, actor: User, project_ids, due_date, call_id: int | None = None,
                 now=None) -> tuple[list[MidtermReport], list[tuple]]:
    """发起中期检查 for the given projects with a due date. Returns (opened, skipped) where skipped lists
    (project, reason) for projects that cannot have one (ended, 揭榜, 后补助, already opened). With ``call_id`` (the
    opening page's call) a project of another call is skipped too."""
    _require_officer(actor)
    now = _now(now)
    due_date = parse_date(due_date, _("提交期限"))
    if due_date < timezone.localdate(now):
        raise InvalidInput(_("提交期限不能早于今天。"))
    try:
        ids = sorted({int(str(pk).strip()) for pk in project_ids})
    except (TypeError, ValueError):
        raise InvalidInput(_("所选项目无效。")) from None
    if not ids:
        raise InvalidInput(_("请选择要开展中期检查的项目。"))
    if not all(1 <= pk <= MAX_ID for pk in ids):  # no project has such an id (and the database could not take it)
        raise InvalidInput(_("所选项目无效。"))
    unknown = set(ids) - set(Project.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if unknown:
        raise InvalidInput(_("项目不存在：%(ids)s。") % {"ids": "、".join(str(i) for i in sorted(unknown))})
    opened, skipped = [], []
    with transaction.atomic():
        for project_id in ids:
            project = _lock_project(project_id)
            reason = checkable(project)
            if not reason and call_id is not None and project.call_id != call_id:
                reason = _("不属于所选申报指南。")
            if not reason and project.state != P.ESTABLISHED:
                reason = _("项目当前状态为“%(s)s”，不能办理。") % {"s": project.get_state_display()}
            if not reason and MidtermReport.objects.filter(project=project).exists():
                reason = _("已发起过中期检查。")
            if not reason and AcceptanceReport.objects.filter(project=project).exclude(state=AS.CANCELLED).exists():
                reason = _("项目已进入验收。")
            if reason:
                skipped.append((project, reason))
                continue
            targets, budget = terms_of(project)
            report = MidtermReport.objects.create(project=project, due_date=due_date, requested_by=actor,
                                                  targets=_blank_targets(targets), spending=_blank_spending(budget))
            record_audit(actor=actor, verb="open_midterm", target=report, to_state=report.state,
                         data={"due_date": due_date.isoformat()})
            notify(_org_users(project.organization_id), kind=MessageKind.CHECKPOINT_REQUESTED,
                   title=_("中期检查通知：%(p)s") % {"p": project.number},
                   body=_("请于 %(d)s 前提交项目《%(t)s》的中期报告（绩效指标进展、经费支出和中期进展报告）。")
                   % {"d": due_date.isoformat(), "t": project.title},
                   link=_portal_link(report), target=report, dedupe_key=f"midterm:{report.pk}:opened")
            opened.append(report)
    return opened, skipped


def save_midterm(*, actor: User, report_id: int, progress: str | None = None, targets=None, spending=None,
                 ) -> MidtermReport:
    """Save the organisation's 中期报告 as it is being filled in (blanks allowed until it is submitted).
    ``targets``: one {"value", "evidence"} per agreed target, in order; ``spending``: {category: {"fiscal", "self"}}."""
    report = MidtermReport.objects.select_related("project__organization").get(pk=report_id)
    _require(actor, "projects.report_checkpoint_obj", report.project, _("只有项目承担单位可以填写中期报告。"))
    with transaction.atomic():
        report = MidtermReport.objects.select_for_update(of=("self",)).get(pk=report_id)
        if report.state not in MidtermReport.EDITABLE_STATES:
            raise TransitionRefused(_("中期报告已%(s)s，不能再修改。") % {"s": report.get_state_display()})
        fields = _fill(report, targets=targets, spending=spending)
        if progress is not None:
            report.progress = _text(progress, _("总体进展情况"))
            fields.append("progress")
        report.save(update_fields=[*fields, "updated_at"])
        record_audit(actor=actor, verb="save", target=report)
    return report


def _lateness(report, now, first_due: datetime.date | None, first_label: str) -> str:
    """'' when on time; else what the officer is told: the report (or its rectification) came after its date.
    Late reports are accepted — the bureau decides — but flagged, in the notice and in the audit event."""
    due, what = (first_due, first_label) if report.attempt == 1 else (report.rectify_due, _("整改期限"))
    if due is None or timezone.localdate(now) <= due:
        return ""
    return _("（已超过%(w)s %(d)s）") % {"w": what, "d": due.isoformat()}


def _submit(model, workflow, *, actor, report_id: int, now, refusal: str, due: Callable, due_label: str,
            text_field: str, text_label: str, first_kinds: list[str], evidence: bool, title: str, body: str,
            key: str):
    """The shared part of submitting a report: the organisation's user, the running project (locked: no conclusion
    moves the attempt meanwhile), everything asked for present (the first submission's files, or the rectification
    report), the notice to the officers saying whether it came late, and the audit event."""
    now = _now(now)
    report = model.objects.select_related("project__organization").get(pk=report_id)
    _require(actor, "projects.report_checkpoint_obj", report.project, refusal)
    with transaction.atomic():
        project = _lock_project(report.project_id)
        _require_running(project)
        report = model.objects.get(pk=report_id)  # the attempt and the rectification date, stable under the lock
        late = _lateness(report, now, due(report, project), due_label)

        def guard(locked):
            missing = [] if getattr(locked, text_field) else [text_label]
            missing += _missing(locked, first_kinds if locked.attempt == 1 else [AK.RECTIFICATION], evidence=evidence)
            if missing:
                raise InvalidInput(_("请补全以下内容后再提交：%(m)s。") % {"m": "、".join(missing)})

        def apply(locked):
            locked.submitted_at, locked.submitted_by = now, actor
            return ["submitted_at", "submitted_by"]

        def after(locked, from_state):
            notify(_officers(), kind=MessageKind.CHECKPOINT_SUBMITTED, title=title % {"p": project.number},
                   body=body % {"t": project.title, "o": project.organization.name,
                                "w": _("整改后的") if locked.attempt > 1 else "", "l": late},
                   link=_office_link(locked), target=locked,
                   dedupe_key=f"{key}:{locked.pk}:submitted:{locked.attempt}")

        return run_transition(workflow=workflow, queryset=model.objects.all(), pk=report_id, name="submit",
                              actor=actor, guard=guard, apply=apply, after=after,
                              data={"attempt": report.attempt, "late": bool(late)})


def submit_midterm(*, actor: User, report_id: int, now=None) -> MidtermReport:
    """提交中期报告 (or the rectified one). Everything asked for must be there. Accepted after the due date (or the
    rectification date) too: the officer's notice and the audit event say it came late."""
    return _submit(MidtermReport, MIDTERM_WORKFLOW, actor=actor, report_id=report_id, now=now,
                   refusal=_("只有项目承担单位可以提交中期报告。"), due=lambda report, project: report.due_date,
                   due_label=_("提交期限"), text_field="progress", text_label=str(_("总体进展情况")),
                   first_kinds=[AK.PROGRESS_REPORT], evidence=False, title=_("中期报告待评审：%(p)s"),
                   body=_("项目《%(t)s》（%(o)s）提交了%(w)s中期报告。%(l)s"), key="midterm")


def record_expert_scores(*, report_kind: str, scores: dict[int, tuple[Decimal | None, int]]) -> None:
    """An expert round of 中期报告 or 验收申请 closed (called by the experts app): the reports still awaiting their
    first conclusion take the round's score; a concluded, rectified or cancelled one keeps what it had, and so does
    one already scored by an earlier round (two rounds drawn at once may both hold it: the first to close counts)."""
    model = {"midterm": MidtermReport, "acceptance": AcceptanceReport}[report_kind]
    with transaction.atomic():
        for report in model.objects.select_for_update().filter(pk__in=list(scores)).order_by("id"):
            if report.state != model.State.SUBMITTED or report.attempt != 1 or report.expert_score is not None:
                continue
            report.expert_score, report.expert_review_count = scores[report.pk]
            report.save(update_fields=["expert_score", "expert_review_count", "updated_at"])
            record_audit(actor=None, verb="expert_score", target=report,
                         data={"score": None if report.expert_score is None else str(report.expert_score),
                               "reviews": report.expert_review_count})


def _rectify_due(value, now) -> datetime.date:
    today = timezone.localdate(now)
    latest = add_months(today, RECTIFY_MAX_MONTHS)
    if value in (None, ""):
        return latest
    day = parse_date(value, _("整改期限"))
    if day <= today:
        raise InvalidInput(_("整改期限须晚于今天。"))
    if day > latest:
        raise InvalidInput(_("整改期限不得超过3个月（最晚 %(d)s）。") % {"d": latest.isoformat()})
    return day


def _check_conclusion(report, name: str, today: datetime.date | None = None) -> None:
    """The expert round comes first; 整改 is given once; 整改后通过 only after it. A report in 整改 whose date has passed
    without the rectified report may be concluded 不通过 (or 结题) on what the bureau has."""
    today = today or timezone.localdate()
    if report.state == report.State.RECTIFYING:
        if name not in ("fail", "close"):
            raise TransitionRefused(_("整改材料尚未提交。"))
        if report.rectify_due is not None and today <= report.rectify_due:
            raise TransitionRefused(_("整改期限（%(d)s）未到，期满仍未提交整改材料的，方可作出结论。")
                                    % {"d": report.rectify_due.isoformat()})
        return
    if report.attempt == 1 and report.expert_score is None:
        raise TransitionRefused(_("专家评审尚未完成，请先组织专家评审。"))
    if name == "rectify" and report.attempt > 1:
        raise TransitionRefused(_("整改只能安排一次，请给出最终结论。"))
    if name == "pass" and report.attempt > 1 and isinstance(report, AcceptanceReport):
        raise TransitionRefused(_("整改后的材料请选择“整改后通过”。"))
    if name == "pass_rectified" and report.attempt == 1:
        raise TransitionRefused(_("只有整改后再次提交的材料可以“整改后通过”。"))


def allowed_conclusions(report, today: datetime.date | None = None) -> dict[str, str]:
    """The conclusions the bureau may give the report now (name → label), as the services would accept them:
    none while it is being filled in or before its expert round; 整改 once; 整改后通过 only after it; 不通过 (and
    结题) for a rectification whose date passed without the rectified report."""
    workflow, labels = ((MIDTERM_WORKFLOW, MIDTERM_CONCLUSIONS) if isinstance(report, MidtermReport)
                        else (ACCEPTANCE_WORKFLOW, ACCEPTANCE_CONCLUSIONS))
    allowed = {}
    for name, label in labels.items():
        if not workflow.allowed(name, report.state):
            continue
        try:
            _check_conclusion(report, name, today)
        except TransitionRefused:
            continue
        allowed[name] = label
    return allowed


def _end_project(project: Project, *, name: str, actor, reason: str, fault: bool, spent_fiscal: Decimal,
                 outcome: str, now) -> Project:
    """The project ends through a conclusion: its state moves, the open checkpoints are cancelled, and funding
    hears of it (the 任务书 ends, unpaid tranches are cancelled and a recovery order is opened)."""

    def apply(locked):
        locked.ended_at, locked.end_reason = now, reason
        return ["ended_at", "end_reason"]

    def after(locked, from_state):
        cancel_open_checkpoints(locked, actor=actor, reason=reason)
        project_terminated.send(sender=Project, project=locked, actor=actor, reason=reason, fault=fault,
                                recover=True, spent_fiscal=spent_fiscal, outcome=outcome, now=now)

    return run_transition(workflow=PROJECT_WORKFLOW, queryset=Project.objects.all(), pk=project.pk, name=name,
                          actor=actor, reason=reason, apply=apply, after=after,
                          data={"fault": fault, "outcome": outcome, "spent_fiscal": str(spent_fiscal)})


def _complete_project(project: Project, *, actor, reason: str, now) -> Project:
    def apply(locked):
        locked.ended_at, locked.end_reason = now, reason
        return ["ended_at", "end_reason"]

    def after(locked, from_state):
        cancel_open_checkpoints(locked, actor=actor, reason=reason)
        checkpoint_passed.send(sender=Project, project=locked, checkpoint="acceptance", actor=actor, now=now)

    return run_transition(workflow=PROJECT_WORKFLOW, queryset=Project.objects.all(), pk=project.pk, name="complete",
                          actor=actor, reason=reason, apply=apply, after=after)


def _notify_conclusion(report, project, label: str, note: str) -> None:
    what = _("中期检查") if isinstance(report, MidtermReport) else _("验收")
    body = _("项目《%(t)s》%(w)s结论：%(c)s。") % {"t": project.title, "w": what, "c": label}
    if report.state in (MS.RECTIFYING, AS.RECTIFYING):
        body += " " + _("请于 %(d)s 前完成整改并重新提交。") % {"d": report.rectify_due.isoformat()}
    if note:
        body += " " + _("意见：%(n)s") % {"n": note}
    notify(_org_users(project.organization_id), kind=MessageKind.CHECKPOINT_CONCLUDED,
           title=_("%(w)s结论：%(p)s") % {"w": what, "p": project.number}, body=body, link=_portal_link(report),
           target=report, dedupe_key=f"{report._meta.model_name}:{report.pk}:concluded:{report.state}")


def _conclude(model, workflow, labels: dict, *, actor: User, report_id: int, conclusion: str, note: str,
              rectify_due, fault: bool, now, effect):
    """The shared part of a conclusion: the officer, the conclusion allowed for the report's round, the note, the
    rectification date, the report's row (under the project's lock) and the notification; ``effect(project, report,
    now, note, fault)`` does what the conclusion means for the project and its money."""
    _require_officer(actor)
    if conclusion not in labels:
        raise InvalidInput(_("请选择中期检查结论。") if model is MidtermReport else _("请选择验收结论。"))
    now, note = _now(now), (note or "").strip()
    due = _rectify_due(rectify_due, now) if conclusion == "rectify" else None
    fault = bool(fault) and conclusion == "fail"
    report = model.objects.get(pk=report_id)
    with transaction.atomic():
        project = _lock_project(report.project_id)
        _require_running(project)

        def guard(locked):
            _check_conclusion(locked, conclusion, timezone.localdate(now))

        def apply(locked):
            locked.concluded_at, locked.concluded_by, locked.conclusion_note = now, actor, note
            fields = ["concluded_at", "concluded_by", "conclusion_note"]
            if conclusion == "rectify":
                locked.attempt, locked.rectify_due, locked.rectify_note = 2, due, note
                fields += ["attempt", "rectify_due", "rectify_note"]
            if conclusion == "fail":
                locked.fault = fault
                fields.append("fault")
            return fields

        def after(locked, from_state):
            effect(project, locked, now, note, fault)
            _notify_conclusion(locked, project, str(labels[conclusion]), note)

        return run_transition(workflow=workflow, queryset=model.objects.all(), pk=report_id, name=conclusion,
                              actor=actor, reason=note, guard=guard, apply=apply, after=after,
                              data={"fault": fault, "rectify_due": due.isoformat() if due else None})


def conclude_midterm(*, actor: User, report_id: int, conclusion: str, note: str = "", rectify_due=None,
                     fault: bool = False, now=None) -> MidtermReport:
    """中期检查结论: ``pass`` (the mid-term tranche becomes due), ``rectify`` (once; ``rectify_due`` at most 3 months
    away, 3 months by default) or ``fail`` (the project is terminated and its fiscal funds recovered: the unspent
    part, or all of it when ``fault``)."""

    def effect(project, report, now, note, fault):
        if conclusion == "pass":
            checkpoint_passed.send(sender=Project, project=project, checkpoint="midterm", actor=actor, now=now)
        elif conclusion == "fail":
            _end_project(project, name="terminate", actor=actor, reason=_("中期检查不通过：%(n)s") % {"n": note},
                         fault=fault, spent_fiscal=report.spent_fiscal, outcome="midterm_failed", now=now)

    return _conclude(MidtermReport, MIDTERM_WORKFLOW, MIDTERM_CONCLUSIONS, actor=actor, report_id=report_id,
                     conclusion=conclusion, note=note, rectify_due=rectify_due, fault=fault, now=now, effect=effect)


# ---- 验收 ----------------------------------------------------------------------------------------------------------


def start_acceptance(*, actor: User, project_id: int) -> AcceptanceReport:
    """Open the project's 验收申请 for filling in (or return the one already open)."""
    project = Project.objects.select_related("organization", "call__program").get(pk=project_id)
    _require(actor, "projects.report_checkpoint_obj", project, _("只有项目承担单位可以申请验收。"))
    with transaction.atomic():
        project = _lock_project(project_id)
        existing = AcceptanceReport.objects.filter(project=project).first()
        if existing is not None and existing.state != AS.CANCELLED:
            return existing
        _require_running(project)
        midterm = MidtermReport.objects.filter(project=project).first()
        if midterm is not None and midterm.state in MidtermReport.OPEN_STATES:
            raise TransitionRefused(_("中期检查尚未结束，结束后方可申请验收。"))
        targets, budget = terms_of(project)
        if existing is not None:  # cancelled earlier (cannot happen while the project runs; kept for safety)
            raise TransitionRefused(_("该项目的验收申请已取消。"))
        report = AcceptanceReport.objects.create(project=project, created_by=actor, targets=_blank_targets(targets),
                                                 spending=_blank_spending(budget))
        record_audit(actor=actor, verb="start_acceptance", target=report, to_state=report.state)
    return report


def save_acceptance(*, actor: User, report_id: int, summary: str | None = None, targets=None, spending=None,
                    ) -> AcceptanceReport:
    """Save the 验收申请 being filled in: the summary, each target's achieved value with its evidence, the spending by
    category (blanks allowed until it is submitted)."""
    report = AcceptanceReport.objects.select_related("project__organization").get(pk=report_id)
    _require(actor, "projects.report_checkpoint_obj", report.project, _("只有项目承担单位可以填写验收申请。"))
    with transaction.atomic():
        report = AcceptanceReport.objects.select_for_update(of=("self",)).get(pk=report_id)
        if report.state not in AcceptanceReport.EDITABLE_STATES:
            raise TransitionRefused(_("验收申请已%(s)s，不能再修改。") % {"s": report.get_state_display()})
        fields = _fill(report, targets=targets, spending=spending)
        if summary is not None:
            report.summary = _text(summary, _("项目总结"))
            fields.append("summary")
        report.save(update_fields=[*fields, "updated_at"])
        record_audit(actor=actor, verb="save", target=report)
    return report


def submit_acceptance(*, actor: User, report_id: int, now=None) -> AcceptanceReport:
    """提交验收申请: the final report, each target's achieved value with evidence, the spending report and the audit
    report (after a rectification: the rectification report). Accepted after the due date too (it shows overdue)."""
    return _submit(AcceptanceReport, ACCEPTANCE_WORKFLOW, actor=actor, report_id=report_id, now=now,
                   refusal=_("只有项目承担单位可以提交验收申请。"),
                   due=lambda report, project: acceptance_due_date(project), due_label=_("验收申请期限"),
                   text_field="summary", text_label=str(_("项目总结")),
                   first_kinds=[AK.FINAL_REPORT, AK.SPENDING_REPORT, AK.AUDIT_REPORT], evidence=True,
                   title=_("验收申请待评审：%(p)s"), body=_("项目《%(t)s》（%(o)s）提交了%(w)s验收申请。%(l)s"),
                   key="acceptancereport")


def conclude_acceptance(*, actor: User, report_id: int, conclusion: str, note: str = "", rectify_due=None,
                        fault: bool = False, now=None) -> AcceptanceReport:
    """验收结论: ``pass`` / ``pass_rectified`` (the project is completed, the acceptance tranche due); ``rectify`` (once,
    within 3 months); ``fail`` (验收不通过: the fiscal funds are recovered — all of them when ``fault``, else the
    unspent part); ``close`` (结题: the project ends without passing, the unspent fiscal funds are recovered)."""

    def effect(project, report, now, note, fault):
        if conclusion in ("pass", "pass_rectified"):
            _complete_project(project, actor=actor, reason=note or str(ACCEPTANCE_CONCLUSIONS[conclusion]), now=now)
        elif conclusion == "fail":
            _end_project(project, name="fail_acceptance", actor=actor, reason=_("验收不通过：%(n)s") % {"n": note},
                         fault=fault, spent_fiscal=report.spent_fiscal, outcome="failed", now=now)
        elif conclusion == "close":
            _end_project(project, name="close", actor=actor, reason=_("结题：%(n)s") % {"n": note}, fault=False,
                         spent_fiscal=report.spent_fiscal, outcome="closed", now=now)

    return _conclude(AcceptanceReport, ACCEPTANCE_WORKFLOW, ACCEPTANCE_CONCLUSIONS, actor=actor, report_id=report_id,
                     conclusion=conclusion, note=note, rectify_due=rectify_due, fault=fault, now=now, effect=effect)


def cancel_open_checkpoints(project: Project, *, actor, reason: str) -> None:
    """The project ended (terminated, completed, failed, closed): the reports still open are cancelled and an
    extension request still awaiting approval is answered 不予批准 (the project is over), each audited. Called inside
    the transaction that ended it."""
    for pk in MidtermReport.objects.filter(project=project, state__in=MidtermReport.OPEN_STATES).values_list(
            "pk", flat=True):
        run_transition(workflow=MIDTERM_WORKFLOW, queryset=MidtermReport.objects.all(), pk=pk, name="cancel",
                       actor=actor, reason=reason)
    for pk in AcceptanceReport.objects.filter(project=project, state__in=AcceptanceReport.OPEN_STATES).values_list(
            "pk", flat=True):
        run_transition(workflow=ACCEPTANCE_WORKFLOW, queryset=AcceptanceReport.objects.all(), pk=pk, name="cancel",
                       actor=actor, reason=reason)
    note = _("项目已结束，延期申请不再审批：%(r)s") % {"r": reason}
    now = timezone.now()

    def decided(locked):
        locked.decided_by, locked.decided_at, locked.decision_note = actor, now, note
        return ["decided_by", "decided_at", "decision_note"]

    for pk in ExtensionRequest.objects.filter(project=project, state=ES.SUBMITTED).values_list("pk", flat=True):
        run_transition(workflow=EXTENSION_WORKFLOW, queryset=ExtensionRequest.objects.all(), pk=pk, name="reject",
                       actor=actor, reason=note, apply=decided)
    # a 终止建议 still open is answered 不予终止: the project ended otherwise (the one being accepted is no longer open)
    closed = _("项目已结束，终止建议不再处理：%(r)s") % {"r": reason}

    def answered(locked):
        locked.decided_by, locked.decided_at, locked.note = actor, now, closed
        return ["decided_by", "decided_at", "note"]

    for pk in TerminationProposal.objects.filter(project=project, state=TP.PROPOSED).values_list(
            "pk", flat=True):
        run_transition(workflow=TERMINATION_PROPOSAL_WORKFLOW, queryset=TerminationProposal.objects.all(), pk=pk,
                       name="dismiss", actor=actor, reason=closed, apply=answered)


TERMINATION_PROPOSAL_WORKFLOW = Workflow(
    "projects.TerminationProposal",
    TP,
    [
        # no source: a proposal is created in this state (by propose_termination); named here for its history label
        T("propose", [], TP.PROPOSED, gettext_lazy("系统提出终止建议")),
        T("accept", [TP.PROPOSED], TP.ACCEPTED, gettext_lazy("终止项目"), needs_reason=True),
        T("dismiss", [TP.PROPOSED], TP.DISMISSED, gettext_lazy("不予终止"), needs_reason=True),
    ],
)


# ---- 延期 ----------------------------------------------------------------------------------------------------------


def extension_deadline(project: Project) -> datetime.date | None:
    """The last day an extension may be asked for: 3 months before the end date."""
    if project.end_date is None:
        return None
    try:
        return add_months(project.end_date, -EXTENSION_NOTICE_MONTHS)
    except InvalidInput:
        return None


def request_extension(*, actor: User, project_id: int, months, reason: str, now=None) -> ExtensionRequest:
    """延期申请: once per project, 1 to 12 months, at least 3 months before the end date."""
    project = Project.objects.select_related("organization", "call__program").get(pk=project_id)
    _require(actor, "projects.report_checkpoint_obj", project, _("只有项目承担单位可以申请延期。"))
    now, reason = _now(now), (reason or "").strip()
    try:
        months = int(str(months).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("延期月数须为1至12的整数。")) from None
    if not 1 <= months <= EXTENSION_MAX_MONTHS:
        raise InvalidInput(_("延期月数须为1至12的整数。"))
    if not reason:
        raise InvalidInput(_("请填写延期理由。"))
    with transaction.atomic():
        project = _lock_project(project_id)
        _require_running(project)
        if ExtensionRequest.objects.filter(project=project).exists():
            raise TransitionRefused(_("每个项目只能申请一次延期，该项目已申请过。"))
        if project.end_date is None:
            raise TransitionRefused(_("项目没有结束日期，无需延期。"))
        deadline = extension_deadline(project)
        if deadline is None or timezone.localdate(now) > deadline:
            raise TransitionRefused(_("延期须在项目结束日期前至少3个月申请（本项目最晚 %(d)s）。")
                                    % {"d": deadline.isoformat() if deadline else "—"})
        if AcceptanceReport.objects.filter(project=project).exclude(state=AS.DRAFT).exists():
            raise TransitionRefused(_("项目已提交验收申请，不能再申请延期。"))
        new_end = add_months(project.end_date, months)
        ext = ExtensionRequest.objects.create(project=project, months=months, reason=reason,
                                              original_end_date=project.end_date, new_end_date=new_end,
                                              requested_by=actor, requested_at=now)
        record_audit(actor=actor, verb="request_extension", target=ext, to_state=ext.state, reason=reason,
                     data={"months": months, "from": project.end_date.isoformat(), "to": new_end.isoformat()})
        notify(_officers(), kind=MessageKind.EXTENSION_REQUESTED,
               title=_("延期申请待审批：%(p)s") % {"p": project.number},
               body=_("项目《%(t)s》申请延期%(m)d个月（%(a)s → %(b)s）。理由：%(r)s")
               % {"t": project.title, "m": months, "a": project.end_date.isoformat(), "b": new_end.isoformat(),
                  "r": reason},
               link=reverse("checkpoints_office:extension", args=[ext.pk]), target=ext,
               dedupe_key=f"extension:{ext.pk}:requested")
    return ext


def decide_extension(*, actor: User, request_id: int, approve: bool, note: str = "", now=None) -> ExtensionRequest:
    """批准 (the project's end date moves to the requested one) or 不予批准 (with the reason)."""
    _require_officer(actor)
    now, note = _now(now), (note or "").strip()
    ext = ExtensionRequest.objects.get(pk=request_id)
    with transaction.atomic():
        project = _lock_project(ext.project_id)

        def guard(locked):
            if approve:
                _require_running(project)
                if project.end_date != locked.original_end_date:
                    raise TransitionRefused(_("项目结束日期已变更，请核实后再审批。"))
                if AcceptanceReport.objects.filter(project=project).exclude(state__in=[AS.DRAFT, AS.CANCELLED]).exists():
                    raise TransitionRefused(_("项目已提交验收申请，不能再批准延期，请给出不予批准的意见。"))

        def apply(locked):
            locked.decided_by, locked.decided_at, locked.decision_note = actor, now, note
            return ["decided_by", "decided_at", "decision_note"]

        def after(locked, from_state):
            if approve:
                Project.objects.filter(pk=project.pk).update(end_date=locked.new_end_date, updated_at=now)
                record_audit(actor=actor, verb="extend_end_date", target=project, reason=note,
                             data={"from": locked.original_end_date.isoformat(), "to": locked.new_end_date.isoformat()})
            verdict = _("已批准") if approve else _("不予批准")
            body = _("项目《%(t)s》的延期申请%(v)s。") % {"t": project.title, "v": verdict}
            if approve:
                body += " " + _("项目结束日期调整为 %(d)s，验收申请期限相应顺延。") % {"d": locked.new_end_date.isoformat()}
            if note:
                body += " " + _("意见：%(n)s") % {"n": note}
            notify(_org_users(project.organization_id), kind=MessageKind.EXTENSION_DECIDED,
                   title=_("延期申请审批结果：%(p)s") % {"p": project.number}, body=body,
                   link=reverse("checkpoints:project", args=[project.pk]), target=locked,
                   dedupe_key=f"extension:{locked.pk}:decided")

        return run_transition(workflow=EXTENSION_WORKFLOW, queryset=ExtensionRequest.objects.all(), pk=request_id,
                              name="approve" if approve else "reject", actor=actor, reason=note, guard=guard,
                              apply=apply, after=after)



"""Writes for calls and applications: one transition table per model, one service per change."""

from __future__ import annotations

import datetime
from decimal import ROUND_FLOOR, Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.fields import to_yuan
from accounts.models import Organization, User
from accounts.selectors import org_admins_of, running_credit_records
from accounts.validators import normalize_credit_code, normalize_id_number, validate_credit_code
from accounts.workflow import T, Workflow, record_audit, run_transition
from activity.messaging import MessageKind
from activity.services import notify

from .checklists import FORMAL_REVIEW_CHECKLIST
from .checkpoints.services import add_months, cancel_open_checkpoints
from .models import (
    Application,
    ApplicationVersion,
    Attachment,
    AttachmentKind,
    AvoidanceRequest,
    BudgetLine,
    Call,
    CallDocument,
    ExtensionRequest,
    FormalReview,
    Partner,
    PerformanceTarget,
    Program,
    Project,
    ProjectMilestone,
    TeamMember,
)
from .signals import application_transitioned, call_transitioned, project_established, project_terminated
from .uploads import inspect_upload
from .workflows import MILESTONE_WORKFLOW, PROJECT_WORKFLOW

C = Call.State
A = Application.State

CALL_WORKFLOW = Workflow(
    "projects.Call",
    C,
    [
        T("publish", [C.DRAFT], C.PUBLISHED, gettext_lazy("发布")),
        T("close", [C.PUBLISHED], C.CLOSED, gettext_lazy("截止")),
    ],
)

APPLICATION_WORKFLOW = Workflow(
    "projects.Application",
    A,
    [
        T("submit", [A.DRAFT, A.ORG_RETURNED, A.RETURNED], A.SUBMITTED, gettext_lazy("提交")),
        T("endorse", [A.SUBMITTED], A.ENDORSED, gettext_lazy("单位审核通过")),
        T("org_return", [A.SUBMITTED], A.ORG_RETURNED, gettext_lazy("单位退回"), needs_reason=True),
        T("accept", [A.ENDORSED], A.ACCEPTED, gettext_lazy("受理")),
        T("return", [A.ENDORSED], A.RETURNED, gettext_lazy("退回修改"), needs_reason=True),
        T("reject", [A.ENDORSED], A.REJECTED, gettext_lazy("不予受理"), needs_reason=True),
        T(
            "withdraw",
            [A.DRAFT, A.SUBMITTED, A.ORG_RETURNED, A.ENDORSED, A.RETURNED],
            A.WITHDRAWN,
            gettext_lazy("撤回"),
        ),
        T("approve", [A.ACCEPTED], A.APPROVED, gettext_lazy("立项")),
        T("not_approve", [A.ACCEPTED], A.NOT_APPROVED, gettext_lazy("不予立项")),
    ],
)


def today_local(now=None) -> datetime.date:
    return timezone.localdate(now or timezone.now())


# ---- calls --------------------------------------------------------------------------------------


def _call_transition(name: str, *, actor, call_id: int, guard=None, apply=None):
    def after(call, from_state):
        call_transitioned.send(
            sender=Call, call=call, name=name, from_state=from_state, to_state=call.state, actor=actor
        )

    return run_transition(
        workflow=CALL_WORKFLOW,
        queryset=Call.objects.all(),
        pk=call_id,
        name=name,
        actor=actor,
        guard=guard,
        apply=apply,
        after=after,
    )


def publish_call(*, actor: User, call_id: int) -> Call:
    if not actor.has_perm("projects.manage_calls"):
        raise PermissionRefused(_("只有科技局业务人员可以发布申报指南。"))

    def guard(call):
        if call.closes_at <= timezone.now():
            raise InvalidInput(_("截止时间已过，不能发布。请先修改截止时间。"))

    def stamp(call):
        call.published_at = timezone.now()
        return ["published_at"]

    return _call_transition("publish", actor=actor, call_id=call_id, guard=guard, apply=stamp)


def close_call(*, actor: User | None, call_id: int) -> Call:
    """Close a call. ``actor=None`` is the sweeper closing it at closes_at."""
    if actor is not None and not actor.has_perm("projects.manage_calls"):
        raise PermissionRefused(_("只有科技局业务人员可以截止申报。"))

    def guard(call):
        if call.opens_at > timezone.now():
            raise TransitionRefused(
                _("指南尚未开始申报（开始时间 %(t)s），不能截止；如需调整请修改申报时间。")
                % {"t": timezone.localtime(call.opens_at).strftime("%Y-%m-%d %H:%M")}
            )

    def stamp(call):
        call.closed_at = timezone.now()
        if actor is not None and call.closes_at > call.closed_at:
            call.closes_at = call.closed_at  # closing early moves the deadline, so the window check agrees
            return ["closed_at", "closes_at"]
        return ["closed_at"]

    return _call_transition("close", actor=actor, call_id=call_id, guard=guard, apply=stamp)


def close_due_calls(now=None) -> list[int]:
    """Sweeper: close every published call whose closes_at has passed. Idempotent."""
    now = now or timezone.now()
    closed = []
    for call_id in Call.objects.filter(state=C.PUBLISHED, closes_at__lte=now).values_list("pk", flat=True):
        try:
            close_call(actor=None, call_id=call_id)
        except TransitionRefused:
            continue  # another worker closed it first
        closed.append(call_id)
    return closed


# ---- call content (申报指南): create, edit, guide documents -----------------------------------------------

CALL_FIELDS = (
    "program",
    "year",
    "title",
    "guide",
    "opens_at",
    "closes_at",
    "total_budget",
    "cap_per_project",
    "min_self_funding_ratio",
    "eligible_org_kinds",
    "required_qualifications",
    "max_applications_per_org",
    "required_attachment_kinds",
)
# The rules applicants rely on. Once a call is published they are fixed: changing them would judge
# the applications already written (or submitted) against rules their authors never saw.
CALL_RULE_FIELDS = (
    "program",
    "year",
    "opens_at",
    "cap_per_project",
    "min_self_funding_ratio",
    "eligible_org_kinds",
    "required_qualifications",
    "max_applications_per_org",
    "required_attachment_kinds",
)
# JSON list fields and the values each may hold (stored de-duplicated, in the order of the choices).
CALL_CHOICE_LISTS = {
    "eligible_org_kinds": Organization.Kind,
    "required_qualifications": Organization.Qualification,
    "required_attachment_kinds": AttachmentKind,
}
# Applications whose authors still have to submit within the call's window (an extension concerns them).
NOT_YET_SUBMITTED = (A.DRAFT, A.ORG_RETURNED)


def _require_manage_calls(actor: User, message) -> None:
    if not actor.has_perm("projects.manage_calls"):
        raise PermissionRefused(message)


def _call_label(field: str) -> str:
    return str(Call._meta.get_field(field).verbose_name)


def _call_value(field: str, value):
    """``value`` as stored on a Call: a programme by its id, a choice list checked and in canonical order."""
    if field == "program":
        return getattr(value, "pk", value)
    if field in CALL_CHOICE_LISTS:
        choices = CALL_CHOICE_LISTS[field]
        values = [str(v) for v in (value or [])]
        unknown = [v for v in values if v not in choices.values]
        if unknown:
            raise InvalidInput(
                _("%(f)s中有无效的选项：%(v)s。") % {"f": _call_label(field), "v": "、".join(unknown)}
            )
        return [c for c in choices.values if c in values]
    if isinstance(value, str) and field in ("title", "guide"):
        return value.strip()
    return value


def _call_changes(call: Call, data: dict) -> dict[str, tuple]:
    """field → (stored value, new value) for every field of ``data`` that differs from ``call``."""
    unknown = set(data) - set(CALL_FIELDS)
    if unknown:
        raise InvalidInput(_("申报指南没有以下字段：%(f)s。") % {"f": "、".join(sorted(unknown))})
    changes = {}
    for field, raw in data.items():
        attr = "program_id" if field == "program" else field
        old = getattr(call, attr)
        new = _call_value(field, raw)
        if field in CALL_CHOICE_LISTS:
            old = [c for c in CALL_CHOICE_LISTS[field].values if c in (old or [])]
        if old != new:
            changes[field] = (old, new)
    return changes


def check_call_change(*, actor: User, call: Call, data: dict, now=None) -> dict[str, tuple]:
    """Whether ``actor`` may change ``call`` as ``data`` says; returns the changes, or raises a DomainError.

    A draft may change freely. Once published (or closed), the rules applicants rely on are fixed;
    the title, the guide text and the total budget may still be corrected; the deadline may only be
    extended (延期), and only while the call is published.
    """
    _require_manage_calls(actor, _("只有科技局业务人员可以修改申报指南。"))
    changes = _call_changes(call, data)
    if call.state == C.DRAFT or not changes:
        return changes
    published = call.state == C.PUBLISHED
    locked = [_call_label(f) for f in CALL_RULE_FIELDS if f in changes]
    if locked:
        message = (
            _("指南已发布，申报条件不能修改（%(fields)s）；如需调整请发布补充通知或新批次。")
            if published
            else _("指南已截止，申报条件不能修改（%(fields)s）。")
        )
        raise InvalidInput(message % {"fields": "、".join(locked)}, code="call_rules_fixed")
    if "closes_at" in changes:
        old, new = changes["closes_at"]
        if not published:
            raise InvalidInput(_("指南已截止，截止时间不能修改；如需继续征集请发布新批次。"), code="call_closed")
        if new is None or new <= old:
            raise InvalidInput(
                _("指南已发布，截止时间只能延后（延期），不能提前；当前截止时间为 %(t)s。如需提前结束请使用“截止”操作。")
                % {"t": timezone.localtime(old).strftime("%Y-%m-%d %H:%M")},
                code="call_deadline_earlier",
            )
        if new <= (now or timezone.now()):
            raise InvalidInput(_("延期后的截止时间必须晚于当前时间。"), code="call_deadline_past")
    return changes


def _audit_changes(changes: dict[str, tuple]) -> dict[str, list[str]]:
    def text(v):
        if isinstance(v, datetime.datetime):
            return timezone.localtime(v).isoformat()
        if isinstance(v, list):
            return ",".join(v)
        return "" if v is None else str(v)

    return {f: [text(old), text(new)] for f, (old, new) in changes.items()}


def _clean_labelled(instance, exclude=None) -> None:
    """full_clean → InvalidInput, each message naming its field (“单项财政资金上限（元）：…”)."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as e:
        if not hasattr(e, "error_dict"):
            raise InvalidInput(e.messages) from None
        messages = []
        for field, errors in e.message_dict.items():
            if field == NON_FIELD_ERRORS:
                messages.extend(errors)
            else:
                label = instance._meta.get_field(field).verbose_name
                messages.extend(f"{label}：{m}" for m in errors)
        raise InvalidInput(messages) from None


def _apply_call_changes(call: Call, changes: dict[str, tuple]) -> None:
    for field, (_old, new) in changes.items():
        setattr(call, "program_id" if field == "program" else field, new)
    _clean_labelled(call, exclude=["created_by"])


@transaction.atomic
def create_call(*, actor: User, data: dict) -> Call:
    """A new call (草稿). It is published by ``publish_call``."""
    _require_manage_calls(actor, _("只有科技局业务人员可以新建申报指南。"))
    call = Call(state=C.DRAFT, created_by=actor)
    blank = Call(state=C.DRAFT)
    changes = _call_changes(blank, data)
    _apply_call_changes(call, changes)
    call.save()
    record_audit(actor=actor, verb="create", target=call, to_state=call.state, data={"changed": _audit_changes(changes)})
    return call


@transaction.atomic
def update_call(*, actor: User, call_id: int, data: dict, now=None) -> Call:
    """Edit a call within the rules of ``check_call_change``; an extension notifies who has yet to submit."""
    _require_manage_calls(actor, _("只有科技局业务人员可以修改申报指南。"))
    call = Call.objects.select_for_update(of=("self",)).get(pk=call_id)
    changes = check_call_change(actor=actor, call=call, data=data, now=now)
    if not changes:
        return call
    _apply_call_changes(call, changes)
    call.save(update_fields=sorted({"program_id" if f == "program" else f for f in changes} | {"updated_at"}))
    extended = call.state == C.PUBLISHED and "closes_at" in changes
    record_audit(
        actor=actor, verb="edit", target=call, data={"changed": _audit_changes(changes), "extended": extended}
    )
    if extended:
        _notify_extension(call, old_closes_at=changes["closes_at"][0])
    return call


def _notify_extension(call: Call, *, old_closes_at) -> None:
    """Tell the authors of the call's applications that are not yet submitted about the new deadline."""
    authors = User.objects.filter(
        pk__in=Application.objects.filter(call=call, state__in=NOT_YET_SUBMITTED).values("created_by")
    )
    new = timezone.localtime(call.closes_at).strftime("%Y-%m-%d %H:%M")
    notify(
        authors,
        kind=MessageKind.CALL_EXTENDED,
        title=_("申报截止时间延期：%(c)s") % {"c": call.title},
        body=_("《%(c)s》的申报截止时间由 %(old)s 延期至 %(new)s。您尚未提交的申报书请在新的截止时间前提交。")
        % {"c": call.title, "old": timezone.localtime(old_closes_at).strftime("%Y-%m-%d %H:%M"), "new": new},
        link=reverse("public:call_detail", args=[call.pk]),
        target=call,
        dedupe_key=f"call:{call.pk}:extend:{call.closes_at.isoformat()}",
    )


@transaction.atomic
def add_call_document(*, actor: User, call_id: int, title: str, uploaded) -> CallDocument:
    """Attach a guide document (指南附件, 补充通知…) to a call; its type is checked by content."""
    _require_manage_calls(actor, _("只有科技局业务人员可以上传指南附件。"))
    call = Call.objects.select_for_update(of=("self",)).get(pk=call_id)
    info = inspect_upload(uploaded)
    document = CallDocument(
        call=call,
        title=(title or "").strip(),
        original_name=(uploaded.name or "")[-255:],
        content_type=info["content_type"],
        size=info["size"],
    )
    _clean_labelled(document, exclude=["call", "file"])
    document.file.save(uploaded.name or "upload", uploaded, save=False)
    document.save()
    record_audit(
        actor=actor,
        verb="attach",
        target=call,
        data={"document_id": document.pk, "title": document.title, "name": document.original_name,
              "sha256": info["sha256"]},
    )
    return document


@transaction.atomic
def remove_call_document(*, actor: User, document_id: int) -> None:
    """Remove a guide document of a draft call; a published guide's files stay on record."""
    _require_manage_calls(actor, _("只有科技局业务人员可以删除指南附件。"))
    document = CallDocument.objects.get(pk=document_id)
    call = Call.objects.select_for_update(of=("self",)).get(pk=document.call_id)
    if call.state != C.DRAFT:
        raise TransitionRefused(_("指南已发布，指南附件不能删除；如需更正请上传补充通知。"))
    record_audit(
        actor=actor,
        verb="detach",
        target=call,
        data={"document_id": document.pk, "title": document.title, "name": document.original_name},
    )
    stored = document.file.name
    storage = document.file.storage
    document.delete()
    transaction.on_commit(lambda: storage.delete(stored))


# ---- application content -------------------------------------------------------------------------


# Sanity bounds for a project period (a typo like 0202 or 20260 is refused, not stored).
PERIOD_EARLIEST = datetime.date(2000, 1, 1)
PERIOD_LATEST = datetime.date(2100, 12, 31)

BASIC_FIELDS = (
    "title",
    "summary",
    "keywords",
    "discipline_code",
    "start_date",
    "end_date",
    "leader_name",
    "leader_title",
    "leader_phone",
    "leader_email",
    "leader_id_number",
)


def _lock_editable(actor: User, application_id: int) -> Application:
    """Lock the application for an edit by ``actor``; refuse unless it is editable and theirs."""
    app = Application.objects.select_for_update(of=("self",)).select_related("organization").get(pk=application_id)
    if not actor.has_perm("projects.submit_application_obj", app):
        raise PermissionRefused(_("只有本单位的申报用户可以修改申报书。"))
    if not app.is_editable:
        raise TransitionRefused(
            _("申报书当前状态为“%(state)s”，不能修改。") % {"state": app.get_state_display()}
        )
    return app


def _clean(instance, exclude=None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as e:
        raise InvalidInput(e.messages) from None


@transaction.atomic
def create_application(*, actor: User, call_id: int, title: str = "") -> Application:
    if not actor.has_perm("projects.create_application") or not actor.organization_id:
        raise PermissionRefused(_("只有已注册单位的申报用户可以填写申报书。"))
    call = Call.objects.get(pk=call_id)
    if not call.is_open():
        raise InvalidInput(_("该指南当前不在申报期内，不能新建申报书。"))
    app = Application.objects.create(
        call=call,
        organization_id=actor.organization_id,
        created_by=actor,
        title=(title or "").strip(),
        leader_name=actor.real_name,
        leader_phone=actor.phone,
        leader_email=actor.email,
    )
    record_audit(actor=actor, verb="create", target=app, to_state=app.state)
    return app


@transaction.atomic
def update_application(*, actor: User, application_id: int, data: dict) -> Application:
    app = _lock_editable(actor, application_id)
    changed = []
    for field in BASIC_FIELDS:
        if field in data:
            value = data[field]
            if isinstance(value, str):
                value = normalize_id_number(value) if field == "leader_id_number" else value.strip()
            if getattr(app, field) != value:
                setattr(app, field, value)
                changed.append(field)
    if not changed:
        return app
    for field in ("start_date", "end_date"):
        day = getattr(app, field)
        if day is not None and not (PERIOD_EARLIEST <= day <= PERIOD_LATEST):
            raise InvalidInput(
                _("%(f)s应在 %(a)s 至 %(b)s 之间。")
                % {"f": Application._meta.get_field(field).verbose_name, "a": PERIOD_EARLIEST, "b": PERIOD_LATEST}
            )
    _clean(app, exclude=["call", "organization", "created_by"])
    app.save(update_fields=[*changed, "updated_at"])
    record_audit(actor=actor, verb="edit", target=app, data={"fields": changed})
    return app


@transaction.atomic
def set_team(*, actor: User, application_id: int, members: list[dict]) -> Application:
    app = _lock_editable(actor, application_id)
    rows = []
    for i, m in enumerate(members):
        row = TeamMember(
            application=app,
            name=(m.get("name") or "").strip(),
            id_number=normalize_id_number(m.get("id_number")),
            title=(m.get("title") or "").strip(),
            organization_name=(m.get("organization_name") or "").strip(),
            role=(m.get("role") or "").strip(),
            work_months=m.get("work_months") or 0,
            position=i,
        )
        _clean(row, exclude=["application"])
        rows.append(row)
    app.team_members.all().delete()
    TeamMember.objects.bulk_create(rows)
    app.save(update_fields=["updated_at"])
    record_audit(actor=actor, verb="edit_team", target=app, data={"members": len(rows)})
    return app


@transaction.atomic
def set_budget(*, actor: User, application_id: int, lines: dict[str, dict]) -> Application:
    """Replace the budget: ``lines`` maps category → {fiscal_amount, self_amount, note} in 元."""
    app = _lock_editable(actor, application_id)
    valid = set(BudgetLine.Category.values)
    unknown = set(lines) - valid
    if unknown:
        raise InvalidInput(_("未知的预算科目：%(c)s") % {"c": "、".join(sorted(unknown))})
    rows = []
    for category in BudgetLine.Category.values:
        if category not in lines:
            continue
        line = lines[category] or {}
        try:
            fiscal = to_yuan(line.get("fiscal_amount") or 0)
            own = to_yuan(line.get("self_amount") or 0)
        except ValidationError as e:
            raise InvalidInput(e.messages) from None
        if fiscal < 0 or own < 0:
            raise InvalidInput(_("预算金额不能为负数。"))
        rows.append(
            BudgetLine(
                application=app,
                category=category,
                fiscal_amount=fiscal,
                self_amount=own,
                note=(line.get("note") or "").strip()[:500],
            )
        )
    app.budget_lines.all().delete()
    BudgetLine.objects.bulk_create(rows)
    app.save(update_fields=["updated_at"])
    record_audit(
        actor=actor,
        verb="edit_budget",
        target=app,
        data={r.category: [str(r.fiscal_amount), str(r.self_amount)] for r in rows},
    )
    return app


@transaction.atomic
def set_targets(*, actor: User, application_id: int, targets: list[dict]) -> Application:
    app = _lock_editable(actor, application_id)
    rows = []
    for i, t in enumerate(targets):
        row = PerformanceTarget(
            application=app,
            kind=t.get("kind") or "",
            indicator=(t.get("indicator") or "").strip(),
            target_value=t.get("target_value"),
            unit=(t.get("unit") or "").strip(),
            position=i,
        )
        _clean(row, exclude=["application"])
        rows.append(row)
    app.targets.all().delete()
    PerformanceTarget.objects.bulk_create(rows)
    app.save(update_fields=["updated_at"])
    record_audit(actor=actor, verb="edit_targets", target=app, data={"targets": len(rows)})
    return app


@transaction.atomic
def set_partners(*, actor: User, application_id: int, partners: list[dict]) -> Application:
    app = _lock_editable(actor, application_id)
    rows, seen = [], set()
    for i, p in enumerate(partners):
        code = normalize_credit_code(p.get("credit_code") or "")
        try:
            validate_credit_code(code)
        except ValidationError as e:
            raise InvalidInput([f"{p.get('name') or ''}：{m}" for m in e.messages]) from None
        if code == app.organization.credit_code:
            raise InvalidInput(_("合作单位不能是申报单位本身。"))
        if code in seen:
            raise InvalidInput(_("合作单位重复：%(code)s") % {"code": code})
        seen.add(code)
        row = Partner(
            application=app,
            organization=Organization.objects.filter(credit_code=code).first(),
            name=(p.get("name") or "").strip(),
            credit_code=code,
            role=(p.get("role") or "").strip(),
            position=i,
        )
        _clean(row, exclude=["application", "organization"])
        rows.append(row)
    app.partners.all().delete()
    Partner.objects.bulk_create(rows)
    app.save(update_fields=["updated_at"])
    record_audit(actor=actor, verb="edit_partners", target=app, data={"partners": [r.credit_code for r in rows]})
    return app


@transaction.atomic
def add_attachment(*, actor: User, application_id: int, kind: str, uploaded) -> Attachment:
    app = _lock_editable(actor, application_id)
    if kind not in AttachmentKind.values:
        raise InvalidInput(_("请选择附件类型。"))
    info = inspect_upload(uploaded)
    attachment = Attachment(
        application=app,
        kind=kind,
        original_name=(uploaded.name or "")[-255:],
        content_type=info["content_type"],
        size=info["size"],
        sha256=info["sha256"],
        uploaded_by=actor,
    )
    attachment.file.save(uploaded.name or "upload", uploaded, save=False)
    attachment.save()
    record_audit(
        actor=actor,
        verb="attach",
        target=app,
        data={"attachment_id": attachment.pk, "kind": kind, "name": attachment.original_name, "sha256": info["sha256"]},
    )
    return attachment


@transaction.atomic
def remove_attachment(*, actor: User, attachment_id: int) -> Attachment:
    attachment = Attachment.objects.select_related("application").get(pk=attachment_id)
    _lock_editable(actor, attachment.application_id)
    if attachment.removed_at is None:
        attachment.removed_at = timezone.now()
        attachment.removed_by = actor
        attachment.save(update_fields=["removed_at", "removed_by"])
        record_audit(
            actor=actor,
            verb="detach",
            target=attachment.application,
            data={"attachment_id": attachment.pk, "name": attachment.original_name},
        )
    return attachment


# ---- submit checks --------------------------------------------------------------------------------


def budget_totals(app: Application) -> tuple[Decimal, Decimal]:
    fiscal = own = Decimal("0.00")
    for line in app.budget_lines.all():
        fiscal += line.fiscal_amount
        own += line.self_amount
    return fiscal, own


def budget_summary(app: Application) -> dict:
    """The budget against the call's money rules: the one place the cap and the self-funding ratio are judged.

    Used by ``submission_problems`` and by every page that shows the budget (3 fixed rows, totals,
    whether each rule is met). Exact Decimal 元; ``ratio`` and ``min_ratio`` are percentages.
    """
    call = app.call
    by_category = {line.category: line for line in app.budget_lines.all()}
    rows = []
    for value, label in BudgetLine.Category.choices:
        line = by_category.get(value)
        fiscal = line.fiscal_amount if line else Decimal("0.00")
        own = line.self_amount if line else Decimal("0.00")
        rows.append({"category": value, "label": label, "fiscal": fiscal, "self": own, "total": fiscal + own,
                     "note": line.note if line else ""})
    fiscal = sum((r["fiscal"] for r in rows), Decimal("0.00"))
    own = sum((r["self"] for r in rows), Decimal("0.00"))
    total = fiscal + own
    return {
        "rows": rows,
        "fiscal": fiscal,
        "self": own,
        "total": total,
        # shown rounded DOWN: 49.996% must never read as "50.00%" next to a 50% minimum it misses
        "ratio": (own / total * 100).quantize(Decimal("0.01"), rounding=ROUND_FLOOR) if total > 0 else None,
        "min_ratio": call.min_self_funding_ratio * 100,
        # judged only once there is a budget (an empty one is its own problem)
        "ratio_ok": total > 0 and own >= call.min_self_funding_ratio * total,
        "cap": call.cap_per_project,
        "cap_ok": fiscal <= call.cap_per_project,
    }


def required_attachments(app: Application) -> list[dict]:
    """The call's required attachment kinds, each with whether the application has one (not removed)."""
    active = getattr(app, "active_attachments", None)  # selectors._with_detail prefetches these
    if active is None:
        active = [a for a in app.attachments.all() if a.removed_at is None]
    present = {a.kind for a in active}
    return [
        {"kind": k, "label": AttachmentKind(k).label, "present": k in present}
        for k in app.call.required_attachment_kinds
        if k in AttachmentKind.values
    ]


def _leader_clash(app: Application) -> Q | None:
    if app.leader_id_number:
        return Q(leader_id_number=app.leader_id_number)
    if app.leader_name and app.leader_phone:
        return Q(leader_name=app.leader_name, leader_phone=app.leader_phone)
    return None


def submission_problems(app: Application, now=None) -> list[str]:
    """Every reason the application may not be submitted now, each in its own words. Empty = OK."""
    now = now or timezone.now()
    today = today_local(now)
    call = app.call
    org = app.organization
    problems: list[str] = []

    # 1. window (a revision the bureau asked for may be resubmitted after the call closed)
    if app.state != A.RETURNED and not call.accepted_submissions_at(now):
        if call.state != C.DRAFT and now < call.opens_at:
            problems.append(
                _("申报尚未开始：开始时间为 %(t)s。") % {"t": timezone.localtime(call.opens_at).strftime("%Y-%m-%d %H:%M")}
            )
        else:
            problems.append(
                _("申报已截止：截止时间为 %(t)s。") % {"t": timezone.localtime(call.closes_at).strftime("%Y-%m-%d %H:%M")}
            )
    # 2. organisation verified
    if not org.is_verified:
        problems.append(_("申报单位尚未通过科技局认证（当前状态：%(s)s），不能提交。") % {"s": org.get_state_display()})
    # 3. credit (科研诚信)
    records = list(running_credit_records(on=today, organization_id=org.pk, person_id_numbers=[app.leader_id_number]))
    for r in records:
        who = org.name if r.organization_id == org.pk else _("项目负责人 %(n)s") % {"n": app.leader_name}
        until = r.penalty_end.isoformat() if r.penalty_end else _("长期")
        problems.append(
            _("%(who)s 存在%(sev)s记录，惩戒期至 %(until)s，期间不得申报。")
            % {"who": who, "sev": r.get_severity_display(), "until": until}
        )
    # eligible kinds
    if call.eligible_org_kinds and org.kind not in call.eligible_org_kinds:
        problems.append(
            _("本指南仅限以下单位申报：%(kinds)s；贵单位为%(kind)s。")
            % {"kinds": "、".join(call.eligible_org_kind_labels), "kind": org.get_kind_display()}
        )
    # 4. qualifications valid today
    for q in call.required_qualifications:
        if q in Organization.Qualification.values and not org.has_qualification(q, today):
            problems.append(
                _("本指南要求申报单位具备有效的%(q)s资质（以 %(d)s 为准），贵单位不具备或已过期。")
                % {"q": Organization.Qualification(q).label, "d": today.isoformat()}
            )
    # completeness
    missing = [
        str(Application._meta.get_field(f).verbose_name)
        for f in ("title", "summary", "leader_name", "leader_phone", "start_date", "end_date")
        if not getattr(app, f)
    ]
    if missing:
        problems.append(_("以下必填项尚未填写：%(f)s。") % {"f": "、".join(missing)})
    # 5 / 6. money
    budget = budget_summary(app)
    fiscal, total = budget["fiscal"], budget["total"]
    if total <= 0:
        problems.append(_("尚未填写预算。"))
    if not budget["cap_ok"]:
        problems.append(
            _("申请财政资金 %(f)s 元超过本指南单项上限 %(cap)s 元。") % {"f": f"{fiscal:,.2f}", "cap": f"{call.cap_per_project:,.2f}"}
        )
    if total > 0 and not budget["ratio_ok"]:
        problems.append(
            _("自筹资金比例 %(r)s 低于本指南要求的 %(min)s。")
            % {"r": f"{budget['ratio']}%", "min": f"{call.min_self_funding_ratio:.2%}"}
        )
    # 7. attachments
    lacking = [str(k["label"]) for k in required_attachments(app) if not k["present"]]
    if lacking:
        problems.append(_("缺少必传附件：%(k)s。") % {"k": "、".join(lacking)})
    # 8. per-organisation limit
    siblings = Application.objects.filter(call=call, state__in=Application.ACTIVE_STATES).exclude(pk=app.pk)
    if call.max_applications_per_org:
        used = siblings.filter(organization=org).count()
        if used >= call.max_applications_per_org:
            problems.append(
                _("本指南每单位限报 %(max)d 项，贵单位已提交 %(n)d 项。") % {"max": call.max_applications_per_org, "n": used}
            )
    # 9. 多头申报
    clash = _leader_clash(app)
    if clash is not None:
        other = siblings.filter(clash).select_related("organization").first()
        if other is not None:
            problems.append(
                _("项目负责人 %(n)s 已在本指南下负责申报《%(t)s》（%(org)s），同一指南不得多头申报。")
                % {"n": app.leader_name, "t": other.title, "org": other.organization.name}
            )
    return problems


def snapshot(app: Application) -> dict:
    fiscal, own = budget_totals(app)
    return {
        "fields": {f: str(getattr(app, f) or "") for f in BASIC_FIELDS},
        "team": [
            {"name": m.name, "title": m.title, "organization": m.organization_name, "role": m.role, "months": m.work_months}
            for m in app.team_members.all()
        ],
        "budget": {
            line.category: {"fiscal": str(line.fiscal_amount), "self": str(line.self_amount), "note": line.note}
            for line in app.budget_lines.all()
        },
        "budget_totals": {"fiscal": str(fiscal), "self": str(own)},
        "targets": [
            {"kind": t.kind, "indicator": t.indicator, "value": str(t.target_value), "unit": t.unit}
            for t in app.targets.all()
        ],
        "partners": [{"name": p.name, "credit_code": p.credit_code, "role": p.role} for p in app.partners.all()],
        "attachments": [
            {"id": a.pk, "kind": a.kind, "name": a.original_name, "sha256": a.sha256}
            for a in app.attachments.all()
            if a.removed_at is None
        ],
        # 不适宜评审专家: part of what was submitted (the bureau's record), never shown to experts
        "avoidance_requests": [
            {"name": r.name, "organization_name": r.organization_name, "reason": r.reason}
            for r in app.avoidance_requests.all()
        ],
    }


# ---- application transitions ------------------------------------------------------------------------


def _notify_application(app: Application, name: str, recipients, kind: MessageKind, title: str, body: str):
    notify(
        recipients,
        kind=kind,
        title=title,
        body=body,
        link=reverse("portal:application_detail", args=[app.pk]),
        target=app,
        dedupe_key=f"app:{app.pk}:{name}:r{app.revision}",
    )


def _application_transition(name: str, *, actor, application_id: int, reason: str = "", guard=None, apply=None,
                            data=None, after=None):
    def after_all(app, from_state):
        if after is not None:
            after(app, from_state)
        application_transitioned.send(
            sender=Application,
            application=app,
            name=name,
            from_state=from_state,
            to_state=app.state,
            actor=actor,
            reason=reason,
        )

    return run_transition(
        workflow=APPLICATION_WORKFLOW,
        queryset=Application.objects.select_related("call", "organization", "created_by"),
        pk=application_id,
        name=name,
        actor=actor,
        reason=reason,
        guard=guard,
        apply=apply,
        data=data,
        after=after_all,
    )


def submit_application(*, actor: User, application_id: int, now=None) -> Application:
    now = now or timezone.now()
    app = Application.objects.select_related("organization").get(pk=application_id)
    if not actor.has_perm("projects.submit_application_obj", app):
        raise PermissionRefused(_("只有本单位的申报用户可以提交申报书。"))
    with transaction.atomic():
        # Lock order: call, then application. The call lock serialises the per-organisation limit and
        # the 多头申报 check across concurrent submissions to the same call.
        call = Call.objects.select_for_update(of=("self",)).select_related("program").get(pk=app.call_id)

        def guard(locked):
            problems = submission_problems(locked, now)
            if problems:
                raise InvalidInput(problems, code="submit_checks")

        def apply(locked):
            locked.revision += 1
            locked.submitted_at = now
            locked.last_reason = ""
            fields = ["revision", "submitted_at", "last_reason"]
            if not locked.number:
                seq = Application.objects.filter(call=call, number__isnull=False).count() + 1
                number = f"{call.year}-{call.program.code.upper()}-{call.pk:03d}-{seq:04d}"
                while Application.objects.filter(number=number).exists():
                    seq += 1
                    number = f"{call.year}-{call.program.code.upper()}-{call.pk:03d}-{seq:04d}"
                locked.number = number
                fields.append("number")
            return fields

        def after(locked, from_state):
            ApplicationVersion.objects.create(
                application=locked, revision=locked.revision, submitted_by=actor, snapshot=snapshot(locked)
            )
            _notify_application(
                locked,
                "submit",
                org_admins_of(locked.organization_id),
                MessageKind.APPLICATION_SUBMITTED,
                _("待单位审核：%(t)s") % {"t": locked.title},
                _("%(who)s 提交了申报书《%(t)s》（%(no)s），请进行单位审核。")
                % {"who": actor.display_name, "t": locked.title, "no": locked.number},
            )

        return _application_transition(
            "submit", actor=actor, application_id=application_id, guard=guard, apply=apply, after=after
        )


def _owner_recipients(app: Application):
    return [app.created_by, *org_admins_of(app.organization_id)]


def endorse_application(*, actor: User, application_id: int, reason: str = "") -> Application:
    app = Application.objects.select_related("organization").get(pk=application_id)
    if not actor.has_perm("projects.endorse_application_obj", app):
        raise PermissionRefused(_("只有本单位管理员可以进行单位审核。"))

    def stamp(locked):
        if locked.reached_bureau_at is None:
            locked.reached_bureau_at = timezone.now()
            return ["reached_bureau_at"]
        return []

    def after(locked, from_state):
        _notify_application(
            locked, "endorse", [locked.created_by], MessageKind.APPLICATION_ENDORSED,
            _("单位审核通过：%(t)s") % {"t": locked.title},
            _("申报书《%(t)s》已通过单位审核，已报送科技局形式审查。") % {"t": locked.title},
        )

    return _application_transition(
        "endorse", actor=actor, application_id=application_id, reason=reason, apply=stamp, after=after
    )


def org_return_application(*, actor: User, application_id: int, reason: str) -> Application:
    app = Application.objects.select_related("organization").get(pk=application_id)
    if not actor.has_perm("projects.endorse_application_obj", app):
        raise PermissionRefused(_("只有本单位管理员可以退回申报书。"))

    def apply(locked):
        locked.last_reason = reason.strip()
        return ["last_reason"]

    def after(locked, from_state):
        _notify_application(
            locked, "org_return", [locked.created_by], MessageKind.APPLICATION_ORG_RETURNED,
            _("单位退回：%(t)s") % {"t": locked.title},
            _("申报书《%(t)s》被单位管理员退回，理由：%(r)s") % {"t": locked.title, "r": reason},
        )

    return _application_transition(
        "org_return", actor=actor, application_id=application_id, reason=reason, apply=apply, after=after
    )


def _checklist(checklist: dict | None) -> dict[str, bool]:
    checklist = checklist or {}
    return {code: bool(checklist.get(code)) for code, _label in FORMAL_REVIEW_CHECKLIST}


def formal_review(
    *, actor: User, application_id: int, decision: str, reason: str = "", checklist: dict | None = None
) -> Application:
    """形式审查: accept (受理), return for revision (退回修改) or reject (不予受理), with the checklist."""
    if not actor.has_perm("projects.formal_review"):
        raise PermissionRefused(_("只有科技局业务人员可以进行形式审查。"))
    names = {FormalReview.Decision.ACCEPT: "accept", FormalReview.Decision.RETURN: "return",
             FormalReview.Decision.REJECT: "reject"}
    if decision not in names:
        raise InvalidInput(_("请选择审查结论。"))
    name = names[decision]
    items = _checklist(checklist)
    reason = (reason or "").strip()

    def guard(locked):
        if decision == FormalReview.Decision.ACCEPT:
            failed = [str(label) for code, label in FORMAL_REVIEW_CHECKLIST if not items[code]]
            if failed:
                raise InvalidInput(
                    [_("以下审查要点未通过，不能受理：%(items)s。") % {"items": "、".join(failed)}], code="checklist"
                )

    def apply(locked):
        locked.decided_at = timezone.now()
        locked.last_reason = reason if decision != FormalReview.Decision.ACCEPT else ""
        return ["decided_at", "last_reason"]

    kinds = {
        "accept": (MessageKind.APPLICATION_ACCEPTED, _("已受理：%(t)s"), _("申报书《%(t)s》（%(no)s）已通过形式审查，予以受理。")),
        "return": (MessageKind.APPLICATION_RETURNED, _("退回修改：%(t)s"),
                   _("申报书《%(t)s》（%(no)s）形式审查退回修改，理由：%(r)s。请修改后重新提交。")),
        "reject": (MessageKind.APPLICATION_REJECTED, _("不予受理：%(t)s"), _("申报书《%(t)s》（%(no)s）不予受理，理由：%(r)s。")),
    }

    def after(locked, from_state):
        FormalReview.objects.create(
            application=locked, reviewer=actor, revision=locked.revision, decision=decision, checklist=items,
            comment=reason,
        )
        kind, title, body = kinds[name]
        _notify_application(
            locked, name, _owner_recipients(locked), kind, title % {"t": locked.title},
            body % {"t": locked.title, "no": locked.number, "r": reason},
        )

    return _application_transition(
        name, actor=actor, application_id=application_id, reason=reason, guard=guard, apply=apply,
        data={"checklist": items}, after=after,
    )


def batch_formal_review(
    *, actor: User, application_ids, decision: str, reason: str = "", checklist: dict | None = None
) -> list[tuple[int, bool, str]]:
    """Apply one decision to many applications; each succeeds or fails on its own. Returns (id, ok, message)."""
    results = []
    for pk in application_ids:
        try:
            formal_review(actor=actor, application_id=pk, decision=decision, reason=reason, checklist=checklist)
        except (InvalidInput, TransitionRefused, PermissionRefused) as e:
            results.append((pk, False, e.message))
        except Application.DoesNotExist:
            results.append((pk, False, _("申报书不存在。")))
        else:
            results.append((pk, True, ""))
    return results


def withdraw_application(*, actor: User, application_id: int, reason: str = "") -> Application:
    app = Application.objects.select_related("organization").get(pk=application_id)
    if not actor.has_perm("projects.withdraw_application_obj", app):
        raise PermissionRefused(_("只有本单位的申报用户可以撤回申报书。"))

    def after(locked, from_state):
        if from_state != A.DRAFT:
            _notify_application(
                locked, "withdraw", org_admins_of(locked.organization_id), MessageKind.APPLICATION_WITHDRAWN,
                _("申报书已撤回：%(t)s") % {"t": locked.title},
                _("%(who)s 撤回了申报书《%(t)s》。") % {"who": actor.display_name, "t": locked.title},
            )

    return _application_transition("withdraw", actor=actor, application_id=application_id, reason=reason, after=after)



# ---- 不适宜专家 ---------------------------------------------------------------------------------


def set_avoidance_requests(*, actor: User, application_id: int, requests: list[dict]) -> Application:
    """Replace the application's 不适宜专家 list: at most three, each with name, workplace and reason."""
    rows = []
    errors = []
    for i, raw in enumerate(requests, start=1):
        name = " ".join((raw.get("name") or "").split())
        org_name = " ".join((raw.get("organization_name") or "").split())
        reason = (raw.get("reason") or "").strip()
        if not (name or org_name or reason):
            continue
        if not name or not org_name or not reason:
            errors.append(_("第%(n)d位不适宜专家的姓名、工作单位和理由都必须填写。") % {"n": i})
        rows.append((name, org_name, reason))
    if len(rows) > AvoidanceRequest.MAX_PER_APPLICATION:
        errors.append(_("不适宜评审专家最多填写%(n)d位。") % {"n": AvoidanceRequest.MAX_PER_APPLICATION})
    if len({(n, o) for n, o, _r in rows}) != len(rows):
        errors.append(_("不适宜评审专家有重复。"))
    if errors:
        raise InvalidInput(errors, code="avoidance")
    with transaction.atomic():
        app = _lock_editable(actor, application_id)
        AvoidanceRequest.objects.filter(application=app).delete()
        objs = [
            AvoidanceRequest(application=app, name=n, organization_name=o, reason=r, position=i)
            for i, (n, o, r) in enumerate(rows)
        ]
        for obj in objs:
            _clean(obj, exclude=["application"])
        AvoidanceRequest.objects.bulk_create(objs)
        app.save(update_fields=["updated_at"])
    return app


# ---- 立项 ------------------------------------------------------------------------------------------


def _project_number(app: Application) -> str:
    # Numbers run per programme and year across its calls: lock the programme so that two 立项 lists approved at
    # the same time (two calls of one programme) do not both take the next number (lock order: application,
    # then programme).
    list(Program.objects.select_for_update().filter(pk=app.call.program_id).values_list("pk", flat=True))
    base = f"{app.call.year}-{app.call.program.code.upper()}-L"
    seq = Project.objects.filter(number__startswith=base).count() + 1
    number = f"{base}{seq:04d}"
    while Project.objects.filter(number=number).exists():
        seq += 1
        number = f"{base}{seq:04d}"
    return number


def establish_project(
    *, actor, application_id: int, granted_amount: Decimal, source: str = "", reason: str = ""
) -> Project:
    """立项: an accepted application becomes a Project with its granted amount (called by the experts app
    when a 立项 list is approved; the caller has checked who may do it)."""
    granted_amount = Decimal(granted_amount)
    if granted_amount <= 0:
        raise InvalidInput(_("立项财政资金必须大于零。"))
    created = {}

    def apply(locked):
        locked.decided_at = locked.decided_at or timezone.now()
        return []

    def after(locked, from_state):
        fiscal, _self = budget_totals(locked)
        created["project"] = Project.objects.create(
            application=locked,
            call=locked.call,
            organization=locked.organization,
            number=_project_number(locked),
            title=locked.title,
            leader_name=locked.leader_name,
            requested_amount=fiscal,
            granted_amount=granted_amount,
            start_date=locked.start_date,
            end_date=locked.end_date,
            established_at=timezone.now(),
            established_by=actor if getattr(actor, "is_authenticated", False) else None,
            source=source[:200],
        )
        project_established.send(sender=Project, project=created["project"], actor=actor)
        _notify_application(
            locked, "approve", _owner_recipients(locked), MessageKind.APPLICATION_APPROVED,
            _("已立项：%(t)s") % {"t": locked.title},
            _("申报书《%(t)s》（%(no)s）已批准立项，立项财政资金 %(amount)s 元，项目编号 %(pno)s。")
            % {"t": locked.title, "no": locked.number, "amount": granted_amount,
               "pno": created["project"].number},
        )

    _application_transition(
        "approve", actor=actor, application_id=application_id, reason=reason, apply=apply,
        data={"granted_amount": str(granted_amount), "source": source}, after=after,
    )
    return created["project"]


def decline_funding(*, actor, application_id: int, reason: str = "") -> Application:
    """未立项: an accepted application that did not make the approved 立项 list."""

    def after(locked, from_state):
        _notify_application(
            locked, "not_approve", _owner_recipients(locked), MessageKind.APPLICATION_NOT_APPROVED,
            _("未立项：%(t)s") % {"t": locked.title},
            _("申报书《%(t)s》（%(no)s）经专家评审和立项公示，未列入本批立项。") % {"t": locked.title, "no": locked.number},
        )

    return _application_transition(
        "not_approve", actor=actor, application_id=application_id, reason=reason, after=after
    )


# ---- ending a project early ------------------------------------------------------------------------------------


def cancel_open_milestones(project: Project, *, actor, reason: str) -> None:
    """The milestones a project will no longer reach (pending or reported) are cancelled, each audited."""
    open_states = [ProjectMilestone.State.PENDING, ProjectMilestone.State.REPORTED]
    for pk in project.milestones.filter(state__in=open_states).order_by("id").values_list("id", flat=True):
        run_transition(workflow=MILESTONE_WORKFLOW, queryset=ProjectMilestone.objects.all(), pk=pk, name="cancel",
                       actor=actor, reason=reason)


def terminate_project(*, actor: User, project_id: int, reason: str, fault: bool = False, now=None) -> Project:
    """终止: the bureau ends a project early, with the reason and whether it was the organisation's fault. Its open
    milestones are cancelled; funding ends the 任务书 (unpaid tranches cancelled) and a recovery order may follow."""
    if not actor.has_perm("projects.formal_review"):
        raise PermissionRefused(_("只有科技局业务处室可以终止项目。"))
    now = now or timezone.now()

    def apply(locked):
        locked.ended_at, locked.end_reason = now, reason.strip()
        return ["ended_at", "end_reason"]

    def after(locked, from_state):
        cancel_open_milestones(locked, actor=actor, reason=reason)
        cancel_open_checkpoints(locked, actor=actor, reason=reason)
        project_terminated.send(sender=Project, project=locked, actor=actor, reason=reason.strip(), fault=fault,
                                recover=False, spent_fiscal=None, outcome="terminated")
        notify(
            [*org_admins_of(locked.organization_id)], kind=MessageKind.PROJECT_STOPPED,
            title=_("项目终止：%(p)s") % {"p": locked.number},
            body=_("项目《%(t)s》已由科技局终止。理由：%(r)s") % {"t": locked.title, "r": reason.strip()},
            link=reverse("funding:agreements"), target=locked, dedupe_key=f"project:{locked.pk}:terminated",
        )

    return run_transition(workflow=PROJECT_WORKFLOW, queryset=Project.objects.all(), pk=project_id, name="terminate",
                          actor=actor, reason=reason, apply=apply, after=after, data={"fault": fault})


def set_project_period(*, project_id: int, start_date, end_date, actor=None) -> Project:
    """The project's period as its signed 任务书 fixes it (called by funding at signing). Its checkpoints follow it:
    the 验收申请 is due 6 months after the end date, an extension is asked for 3 months before it."""
    with transaction.atomic():
        project = Project.objects.select_for_update(of=("self",)).get(pk=project_id)
        extension = ExtensionRequest.objects.filter(project=project, state=ExtensionRequest.State.APPROVED).first()
        if extension is not None:
            # an extension approved before signing still holds: it moves the signed end date by its months
            end_date = add_months(end_date, extension.months)
        if (project.start_date, project.end_date) == (start_date, end_date):
            return project
        before = (project.start_date, project.end_date)
        project.start_date, project.end_date = start_date, end_date
        project.save(update_fields=["start_date", "end_date", "updated_at"])
        record_audit(actor=actor, verb="set_period", target=project,
                     data={"from": [d.isoformat() if d else None for d in before],
                           "to": [start_date.isoformat(), end_date.isoformat()]})
    return project

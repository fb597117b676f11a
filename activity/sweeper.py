"""The deadline sweeper: one pass over every registered obligation kind (see activity.deadlines).

For each kind it reads the rows whose deadline is within the reminder horizon (the largest window) or past,
in primary-key batches, and for each batch, in one transaction:

- writes one ``Reminder`` and one ``Notification`` per (obligation, deadline, stage, recipient) not written
  before; the unique key on Reminder makes a second writer fail, and the batch is then re-read and retried,
  so overlapping sweeps, retried tasks and restarted workers never send anything twice;
- opens or raises the ``Escalation`` (督办事项) of every overdue obligation;
- marks the automatic action taken, once;
- and, after commit, queues the e-mails, the text messages and the actions.

Then it resolves the escalations whose obligation is no longer open or overdue. The number of queries grows
with the number of batches, not of rows.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import Role
from accounts.selectors import users_with_role

from .deadlines import (
    Obligation,
    ObligationKind,
    Stage,
    days_between,
    due_text,
    last_day,
    reached_stages,
    registry,
    shift,
)
from .messaging import MessageKind
from .models import Escalation, Notification, Reminder, ReminderPolicy

logger = logging.getLogger(__name__)

LEVEL_RANK = {level: i for i, level in enumerate(Stage.LEVELS)}
STAGE_MESSAGE_KIND = {
    Stage.OVERDUE: MessageKind.DEADLINE_OVERDUE,
    Stage.YELLOW: MessageKind.DEADLINE_YELLOW,
    Stage.RED: MessageKind.DEADLINE_RED,
}
RETRIES = 3


@dataclass
class SweepResult:
    kinds: int = 0
    batches: int = 0
    rows: int = 0
    reminders: int = 0
    escalations_opened: int = 0
    escalations_raised: int = 0
    resolved: int = 0
    actions: int = 0
    per_kind: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def ensure_policies() -> dict[str, ReminderPolicy]:
    """Every registered kind has its ReminderPolicy row (created with the kind's defaults)."""
    kinds = registry()
    policies = {p.kind: p for p in ReminderPolicy.objects.filter(kind__in=list(kinds))}
    missing = [
        ReminderPolicy(
            kind=code,
            windows=",".join(str(d) for d in kind.defaults.windows),
            remind_overdue=kind.defaults.remind_overdue,
            yellow_after_days=kind.defaults.yellow_after_days,
            red_after_days=kind.defaults.red_after_days,
            service_days=kind.defaults.service_days,
            auto_action=kind.defaults.auto_action and kind.can_act,
            action_after_days=kind.defaults.action_after_days,
        )
        for code, kind in kinds.items()
        if code not in policies
    ]
    if missing:
        ReminderPolicy.objects.bulk_create(missing, ignore_conflicts=True)
        policies = {p.kind: p for p in ReminderPolicy.objects.filter(kind__in=list(kinds))}
    return policies


def sweep(*, now: datetime.datetime | None = None, kinds=None, batch_size: int | None = None) -> SweepResult:
    """One sweep over every enabled kind (or only ``kinds``). Safe to run twice at once, and to re-run."""
    now = now or timezone.now()
    batch_size = batch_size or settings.DEADLINE_SWEEP_BATCH
    result = SweepResult()
    policies = ensure_policies()
    supervisors = list(users_with_role(Role.SUPERVISOR).filter(is_active=True))
    for code, kind in registry().items():
        if kinds is not None and code not in kinds:
            continue
        policy = policies[code]
        if not policy.enabled:
            # nothing is sent for a kind switched off, but its 督办 items still close when met
            _resolve(kind, policy, now, batch_size, result)
            continue
        result.kinds += 1
        before = result.reminders
        _sweep_kind(kind, policy, now, supervisors, batch_size, result)
        result.per_kind[code] = result.reminders - before
    logger.info("deadline sweep: %s", {k: v for k, v in result.as_dict().items() if k != "per_kind"})
    return result


def _sweep_kind(kind: ObligationKind, policy, now, supervisors, batch_size, result: SweepResult) -> None:
    windows = policy.window_days
    horizon = shift(now, max(windows)) if windows else now
    last_pk = 0
    while True:
        rows = list(kind.candidates(horizon, policy).filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not rows:
            break
        last_pk = rows[-1].pk
        result.batches += 1
        result.rows += len(rows)
        obligations = kind.obligations(rows, policy)
        _apply_batch(kind, policy, obligations, now, supervisors, result)
        if len(rows) < batch_size:
            break
    _resolve(kind, policy, now, batch_size, result)


def _apply_batch(kind, policy, obligations: list[Obligation], now, supervisors, result: SweepResult) -> None:
    plan: list[tuple[Obligation, str, list]] = []
    overdue: dict[tuple[int, datetime.datetime], tuple[Obligation, str, bool]] = {}
    for ob in obligations:
        stages = reached_stages(ob.due_at, now, policy, can_act=kind.can_act)
        acts = False
        for stage, _level in stages:
            if stage == "action":
                acts = True
            elif stage == Stage.YELLOW:
                plan.append((ob, stage, ob.responsible))
            elif stage == Stage.RED:
                plan.append((ob, stage, supervisors))
            else:
                plan.append((ob, stage, ob.owners))
        if now >= ob.due_at:
            levels = [level for _stage, level in stages if level] or [Stage.OVERDUE]
            overdue[(ob.pk, ob.due_at)] = (ob, max(levels, key=LEVEL_RANK.get), acts)
    if not plan and not overdue:
        return
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                counts = _write(kind, policy, plan, overdue, now)
            break
        except IntegrityError:
            # another sweep wrote some of these rows first: read again what exists and write the rest
            if attempt == RETRIES - 1:
                raise
            logger.info("deadline sweep: %s batch met a concurrent sweep, retrying", kind.code)
    result.reminders += counts[0]
    result.escalations_opened += counts[1]
    result.escalations_raised += counts[2]
    result.actions += counts[3]


def _message(kind, ob: Obligation, stage: str, now) -> tuple[str, str]:
    """The title and body of one stage's message, with the deadline and the days counted as the obligation's own
    page and the 督办 board show them (a date deadline is its last day; days are calendar days)."""
    today = timezone.localdate(now)
    params = {"label": kind.label, "title": ob.title, "due": due_text(ob.due_at), "holder": ob.holder or "-"}
    if stage.startswith("d"):
        left = (last_day(ob.due_at) - today).days
        title = _("【期限提醒】%(title)s 将于 %(due)s 到期") % params
        if left > 0:
            body = _("%(label)s：%(title)s 的期限为 %(due)s，还有 %(days)s 天。请按时办理。") % {**params, "days": left}
        else:
            body = _("%(label)s：%(title)s 的期限为 %(due)s，今天到期。请按时办理。") % params
        return title, body
    days = days_between(last_day(ob.due_at), today)
    params["days"] = days
    late = (_("已逾期 %(days)s 天") if days else _("已逾期不足 1 天")) % params
    params["late"] = late
    if stage == Stage.OVERDUE:
        return (
            _("【逾期】%(title)s 已于 %(due)s 到期") % params,
            _("%(label)s：%(title)s 已于 %(due)s 到期，至今未办理。请尽快办理，逾期将升级为黄牌、红牌督办。") % params,
        )
    if stage == Stage.YELLOW:
        return (
            _("【黄牌】%(holder)s：%(title)s %(late)s") % params,
            _("%(label)s：%(holder)s 的 %(title)s 已于 %(due)s 到期，%(late)s，仍未办理。请督促办理。") % params,
        )
    return (
        _("【红牌督办】%(holder)s：%(title)s %(late)s") % params,
        _("%(label)s：%(holder)s 的 %(title)s 已于 %(due)s 到期，%(late)s，仍未办理，已列入督办。") % params,
    )


def _link_for(ob: Obligation, stage: str, user, board_link: str) -> str:
    """Where the message sends its recipient: 红牌 to the 督办 board; a 黄牌 to the bureau's page when the recipient
    is the bureau's (no organisation), the organisation's page for an organisation's user (the obligation's own, or
    another one the kind involves, e.g. a 揭榜 poster); the owners to ``link``."""
    if stage == Stage.RED:
        return board_link
    if stage == Stage.YELLOW and getattr(user, "organization_id", None) is None:
        return ob.office_link or ob.link
    return ob.link or ob.office_link


def _due_key(due_at: datetime.datetime) -> str:
    return f"{due_at.timestamp():.0f}"


def _write(kind, policy, plan, overdue, now) -> tuple[int, int, int, int]:
    from .tasks import run_deadline_action, send_notification_emails, send_notification_sms

    code = kind.code
    pks = {ob.pk for ob, _stage, _users in plan}
    existing = set()
    if pks:
        existing = {
            (object_id, due_at, stage, recipient_id)
            for object_id, due_at, stage, recipient_id in Reminder.objects.filter(
                kind=code, object_id__in=pks
            ).values_list("object_id", "due_at", "stage", "recipient_id")
        }
    board_link = reverse("supervision:board")
    notifications: list[Notification] = []
    meta: list[tuple[Obligation, str, object]] = []
    for ob, stage, users in plan:
        seen = set()
        title = body = None
        for user in users:
            if user is None or not user.is_active or user.pk in seen:
                continue
            seen.add(user.pk)
            if (ob.pk, ob.due_at, stage, user.pk) in existing:
                continue
            if title is None:
                title, body = _message(kind, ob, stage, now)
                title, body = str(title)[:200], str(body)
            # ids, not instances: assigning a related instance costs more than the rest of the row
            notifications.append(
                Notification(
                    recipient_id=user.pk,
                    kind=STAGE_MESSAGE_KIND.get(stage, MessageKind.DEADLINE_REMINDER),
                    title=title,
                    body=body,
                    link=_link_for(ob, stage, user, board_link),
                    target_id=str(ob.pk),
                    dedupe_key=f"deadline:{code}:{ob.pk}:{_due_key(ob.due_at)}:{stage}:u{user.pk}"[:200],
                )
            )
            meta.append((ob, stage, user))
    created = Notification.objects.bulk_create(notifications, batch_size=1000)
    Reminder.objects.bulk_create(
        [
            Reminder(kind=code, object_id=ob.pk, due_at=ob.due_at, stage=stage, recipient_id=user.pk,
                     notification_id=n.pk, created_at=now)
            for n, (ob, stage, user) in zip(created, meta, strict=True)
        ],
        batch_size=1000,
    )
    to_mail = [n.pk for n, (_ob, _stage, user) in zip(created, meta, strict=True) if user.email]
    to_text = [
        n.pk for n, (ob, stage, user) in zip(created, meta, strict=True)
        if policy.sms and stage in Stage.LEVELS and user.phone
    ]
    send_notification_emails.delay_many_on_commit([(to_mail[i : i + 200],) for i in range(0, len(to_mail), 200)])
    send_notification_sms.delay_many_on_commit([(to_text[i : i + 200],) for i in range(0, len(to_text), 200)])

    opened = raised = acted = 0
    if overdue:
        rows = {(e.object_id, e.due_at): e for e in _lock_escalations(code, {pk for pk, _due in overdue})}
        new, changed, act = [], [], []
        for key, (ob, level, acts) in overdue.items():
            esc = rows.get(key)
            if esc is None:
                esc = Escalation(
                    kind=code, object_id=ob.pk, due_at=ob.due_at, level=level, opened_at=now, level_at=now,
                    organization_id=ob.organization_id,
                )
                new.append(esc)
            else:
                dirty = False
                if LEVEL_RANK[level] > LEVEL_RANK[esc.level]:
                    esc.level, esc.level_at, dirty = level, now, True
                    raised += 1
                if esc.resolved_at is not None:
                    esc.resolved_at, dirty = None, True
                link = (ob.office_link or ob.link)[:255]
                if dirty or (esc.title, esc.holder, esc.link) != (ob.title[:255], ob.holder[:255], link):
                    changed.append(esc)
            esc.title, esc.holder = ob.title[:255], ob.holder[:255]
            esc.link = (ob.office_link or ob.link)[:255]
            if acts and esc.acted_at is None:
                esc.acted_at = now
                act.append((ob.pk, ob.due_at))
                if esc not in new and esc not in changed:
                    changed.append(esc)
        Escalation.objects.bulk_create(new, batch_size=1000)
        opened = len(new)
        if changed:
            Escalation.objects.bulk_update(
                changed, ["level", "level_at", "resolved_at", "title", "holder", "link", "acted_at"], batch_size=1000
            )
        for pk, due_at in act:
            run_deadline_action.delay_on_commit(code, pk, due_at.isoformat())
        acted = len(act)
    return len(created), opened, raised, acted


def _lock_escalations(code: str, object_ids) -> list[Escalation]:
    """The 督办 items of these obligations, locked until the batch commits: a second sweep writing the same batch
    waits here and then reads what the first one wrote (``acted_at`` above all, so the action is queued once, and
    the level, so neither writes back a stale one). In primary-key order, so two sweeps lock in the same order."""
    return list(Escalation.objects.select_for_update().filter(kind=code, object_id__in=object_ids).order_by("pk"))


def _resolve(kind, policy, now, batch_size, result: SweepResult) -> None:
    """Escalations whose obligation is met, or whose deadline moved past now, are resolved."""
    last = 0
    while True:
        batch = list(
            Escalation.objects.filter(kind=kind.code, resolved_at__isnull=True, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "object_id", "due_at")[:batch_size]
        )
        if not batch:
            return
        last = batch[-1][0]
        rows = list(kind.candidates(now, policy).filter(pk__in={object_id for _pk, object_id, _due in batch}))
        due = kind.deadlines(rows, policy) if rows else {}
        still = {(pk, due_at) for pk, due_at in due.items() if due_at <= now}
        done = [pk for pk, object_id, due_at in batch if (object_id, due_at) not in still]
        if done:
            result.resolved += Escalation.objects.filter(pk__in=done, resolved_at__isnull=True).update(resolved_at=now)
        if len(batch) < batch_size:
            return


def run_action(code: str, object_id: int, due_at: datetime.datetime, now=None) -> bool:
    """The automatic action of one overdue obligation (the task calls this). Idempotent: the kind checks
    that the obligation is still open and overdue before acting."""
    kind = registry().get(code)
    if kind is None or not kind.can_act:
        return False
    try:
        return bool(kind.act(object_id, due_at, now or timezone.now()))
    except Exception:
        # the sweep marked the action taken when it queued it; an action that failed (a deadlock, a bug) must not
        # stay marked, or no later sweep would queue it again: unmark it, so the next sweep retries it
        Escalation.objects.filter(kind=code, object_id=object_id, due_at=due_at, acted_at__isnull=False).update(
            acted_at=None
        )
        logger.exception("deadline action %s #%s (due %s) failed; the next sweep retries it", code, object_id, due_at)
        raise

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from .context import current_ip
from .messaging import MessageKind
from .models import AuditEvent, Notification
from .tasks import send_notification_email, send_notification_emails

EMAIL_BATCH = 200


def record_audit_event(
    *, actor, verb: str, target, from_state: str = "", to_state: str = "", reason: str = "", data=None
) -> AuditEvent:
    """Append one event to the audit log. Registered as accounts.workflow's audit recorder."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        verb=verb,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        from_state=from_state or "",
        to_state=to_state or "",
        reason=reason or "",
        data=data or {},
        ip=current_ip.get(),
    )


def notify(
    recipients: Iterable,
    *,
    kind: MessageKind,
    title: str,
    body: str = "",
    link: str = "",
    target=None,
    dedupe_key: str,
) -> list[Notification]:
    """Persist one notification per recipient and e-mail it after commit.

    ``dedupe_key`` names the fact (e.g. ``application:12:returned:3``); the recipient is added to
    it, so the same fact notifies each person once however often this is called.
    """
    created = []
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    seen = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        notification, was_created = Notification.objects.get_or_create(
            dedupe_key=f"{dedupe_key}:u{user.pk}"[:200],
            defaults={
                "recipient": user,
                "kind": kind,
                "title": str(title)[:200],
                "body": str(body),
                "link": link,
                "target_type": target_type,
                "target_id": str(target.pk) if target is not None else "",
            },
        )
        if was_created:
            created.append(notification)
            if user.email:
                send_notification_email.delay_on_commit(notification.pk)
    return created


def notify_each(
    messages: Iterable[tuple],
    *,
    kind: MessageKind,
    link: str = "",
    target=None,
    dedupe_key: str,
) -> list[Notification]:
    """``notify`` for many recipients with a message each: ``messages`` = [(user, title, body)].

    Same dedupe keys as ``notify`` (``dedupe_key`` + the recipient), written in bulk: a draw that invites
    thousands of experts costs a few queries, not two per expert.
    """
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    rows = {}
    for user, title, body in messages:
        if user is None or not user.is_active:
            continue
        key = f"{dedupe_key}:u{user.pk}"[:200]
        rows.setdefault(key, (user, title, body))
    keys = list(rows)
    existing = set()
    for i in range(0, len(keys), 500):
        existing.update(Notification.objects.filter(dedupe_key__in=keys[i : i + 500]).values_list("dedupe_key", flat=True))
    objs = [
        Notification(
            dedupe_key=key, recipient=user, kind=kind, title=str(title)[:200], body=str(body), link=link,
            target_type=target_type, target_id=str(target.pk) if target is not None else "",
        )
        for key, (user, title, body) in rows.items()
        if key not in existing
    ]
    created = Notification.objects.bulk_create(objs, batch_size=1000)
    to_mail = [n.pk for n in created if n.recipient.email and n.pk is not None]
    for i in range(0, len(to_mail), EMAIL_BATCH):
        batch = to_mail[i : i + EMAIL_BATCH]
        send_notification_emails.delay_on_commit(batch)
    return created


def mark_read(*, user, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when ids is None). Returns how many."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=list(notification_ids))
    with transaction.atomic():
        return qs.update(read_at=timezone.now())

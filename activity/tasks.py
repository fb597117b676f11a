import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification

logger = logging.getLogger(__name__)

#: Delivery (SMTP, the SMS provider) failing with an OSError — smtplib's errors are OSErrors — is retried with
#: exponential backoff: 30 s, 1, 2, 4, 8, 16 min, then every 30 min; eight retries ride out about an hour and a
#: half of outage. No jitter: the delays are the documented ones (the sends of a sweep are spread over its
#: batches anyway). Below the Redis ``visibility_timeout`` (1 h), so a waiting retry is never delivered twice.
DELIVERY_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": False,
    "max_retries": 8,
}


@shared_task(bind=True, **DELIVERY_RETRY)
def send_notification_email(self, notification_id: int) -> bool:
    """E-mail one notification. Idempotent: the row is locked and stamped, so a retry never resends."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",)).select_related("recipient").filter(pk=notification_id).first()
        )
        if notification is None or notification.emailed_at is not None or not notification.recipient.email:
            return False
        body = notification.body
        if notification.link:
            body = f"{body}\n\n{settings.SITE_URL}{notification.link}"
        send_mail(
            subject=f"[科技项目管理系统] {notification.title}",
            message=body,
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    logger.info("notification %s e-mailed to %s", notification_id, notification.recipient.email)
    return True


@shared_task(bind=True, **DELIVERY_RETRY)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """E-mail a batch of notifications (one message per broker hop instead of one per recipient); each one is
    stamped as it goes, so a retry skips those already sent."""
    return sum(1 for pk in notification_ids if send_notification_email.run(pk))


@shared_task(name="activity.send_notification_sms", bind=True, **DELIVERY_RETRY)
def send_notification_sms(self, notification_ids: list[int]) -> int:
    """Text a batch of notifications through ``SMS_BACKEND``. Each row is locked and stamped as it goes, so
    a retry (the provider failed half-way) never texts anyone twice."""
    from .sms import get_backend, sms_text

    backend = get_backend()
    sent = 0
    for pk in notification_ids:
        with transaction.atomic():
            notification = (
                Notification.objects.select_for_update(of=("self",)).select_related("recipient").filter(pk=pk).first()
            )
            if notification is None or notification.sms_sent_at is not None or not notification.recipient.phone:
                continue
            backend.send(notification.recipient.phone, sms_text(notification.title, notification.link))
            notification.sms_sent_at = timezone.now()
            notification.save(update_fields=["sms_sent_at"])
            sent += 1
    return sent


@shared_task(name="activity.sweep_deadlines")
def sweep_deadlines(kinds: list[str] | None = None) -> dict:
    """Periodic (beat): remind, escalate and act on every dated obligation (activity.sweeper). Idempotent and
    safe to overlap: the database's unique keys decide what has been sent."""
    from .sweeper import sweep

    result = sweep(kinds=kinds)
    return {k: v for k, v in result.as_dict().items() if k != "per_kind"}


@shared_task(name="activity.run_deadline_action")
def run_deadline_action(kind: str, object_id: int, due_at: str) -> bool:
    """The automatic action of one overdue obligation (reassign a review, propose a termination)."""
    import datetime

    from .sweeper import run_action

    return run_action(kind, object_id, datetime.datetime.fromisoformat(due_at))


@shared_task(name="activity.flush_task_outbox")
def flush_task_outbox() -> int:
    """Periodic (beat, every minute): publish the tasks kept while the broker was down."""
    from celery import current_app

    from .outbox import flush

    return flush(current_app)

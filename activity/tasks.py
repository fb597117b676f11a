import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification

logger = logging.getLogger(__name__)


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
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


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """E-mail a batch of notifications (one message per broker hop instead of one per recipient); each one is
    stamped as it goes, so a retry skips those already sent."""
    return sum(1 for pk in notification_ids if send_notification_email.run(pk))

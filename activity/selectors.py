from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet

from .models import AuditEvent, Notification


def events_for(obj) -> QuerySet[AuditEvent]:
    """The history tab of one object, oldest first."""
    return (
        AuditEvent.objects.filter(
            target_type=ContentType.objects.get_for_model(obj, for_concrete_model=False), target_id=str(obj.pk)
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )


def inbox_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

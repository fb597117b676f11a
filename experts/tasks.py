"""Thin Celery tasks: they take ids and call the services."""

from celery import shared_task

from .services import assign, reviews


@shared_task(name=reviews.REPLACE_TASK)
def replace_assignment(assignment_id: int) -> int | None:
    """Find a replacement for a declined or expired invitation (idempotent: replaced once)."""
    new = assign.replace_assignment(assignment_id=assignment_id)
    return new.pk if new else None


@shared_task(name="experts.expire_due_invitations")
def expire_due_invitations() -> list[int]:
    """Periodic (beat): invitations past their response deadline expire and are replaced."""
    return reviews.expire_due_invitations()

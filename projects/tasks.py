from celery import shared_task

from . import services
from .challenges import services as challenge_services


@shared_task
def close_due_calls() -> list[int]:
    """Periodic (beat, every minute): close published calls whose closes_at has passed."""
    return services.close_due_calls()


@shared_task(name="projects.close_due_challenges")
def close_due_challenges() -> list[int]:
    """Periodic (beat, every five minutes): 截止揭榜 for published challenges whose bid deadline has passed; the
    drafts never submitted are voided. Idempotent: a closed challenge is not closed again."""
    return challenge_services.close_due_challenges()

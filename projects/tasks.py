from celery import shared_task

from . import services


@shared_task
def close_due_calls() -> list[int]:
    """Periodic (beat, every minute): close published calls whose closes_at has passed."""
    return services.close_due_calls()

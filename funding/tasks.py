from celery import shared_task

from . import services


@shared_task(name="funding.make_dated_tranches_due")
def make_dated_tranches_due() -> int:
    """Periodic (beat, every hour): the tranches of signed 任务书 paid on a date become due once the date has come
    (finance is notified). Idempotent: a tranche already due is not made due again. Returns how many became due."""
    return services.make_dated_tranches_due()

"""Celery application.

With ``CELERY_BROKER_URL`` unset, the broker is kombu's filesystem transport under ``var/celery``:
``scripts/run`` starts one worker with an embedded beat against it, so tasks and the periodic
sweeper run on a laptop without Redis. With ``CELERY_BROKER_URL=redis://…`` the same code runs on
as many real workers as you start.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")

# Every task publishes through activity.outbox.DurableTask: a broker that does not answer never fails the
# request that queued the task; the task waits in the database until the broker is back.
app = Celery("kjproject", task_cls="activity.outbox:DurableTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

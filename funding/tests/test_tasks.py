"""The dated-tranche sweeper (Celery beat, every hour): a signed 任务书's tranche paid on a date becomes due once
that date has come, finance hears of it once, and running the task again changes nothing."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import Notification
from funding import services as fs
from funding import tasks
from funding.models import Tranche

from .factories import established_project

pytestmark = pytest.mark.django_db


def test_beat_schedule_runs_the_dated_tranche_sweeper_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["make-dated-tranches-due"]
    assert entry["task"] == tasks.make_dated_tranches_due.name == "funding.make_dated_tranches_due"
    assert entry["schedule"] == 3600.0


def dated_agreement(officer, *, pay_on, sign=True):
    """An agreement paid 100,000.00 on signing and 200,000.00 on ``pay_on``, signed by both sides."""
    project = established_project(granted=Decimal("300000.00"), officer=officer)
    agreement = project.agreement
    fs.set_tranches(actor=officer, agreement_id=agreement.pk, tranches=[
        {"name": "首期", "amount": "100000.00", "condition": "signing"},
        {"name": "第二期（按约定日期）", "amount": "200000.00", "condition": "date", "due_on": pay_on.isoformat()},
    ])
    if sign:
        admin = UserFactory(roles=["org_admin"], organization=project.organization)
        fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
        fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
    return agreement


def test_a_dated_tranche_becomes_due_once_its_date_has_come(officer, finance_user):
    today = timezone.localdate()
    pay_on = today + datetime.timedelta(days=30)
    agreement = dated_agreement(officer, pay_on=pay_on)
    unsigned = dated_agreement(officer, pay_on=today + datetime.timedelta(days=5), sign=False)
    dated = agreement.tranches.get(position=2)
    assert agreement.tranches.get(position=1).state == Tranche.State.DUE  # due on signing
    assert dated.state == Tranche.State.PLANNED

    # the day before: nothing yet
    with time_machine.travel(datetime.datetime.combine(pay_on - datetime.timedelta(days=1), datetime.time(23, 0),
                                                       tzinfo=timezone.get_current_timezone()), tick=False):
        assert tasks.make_dated_tranches_due.delay().get() == 0
    dated.refresh_from_db()
    assert dated.state == Tranche.State.PLANNED

    # the day itself: due, and finance is told
    with time_machine.travel(datetime.datetime.combine(pay_on, datetime.time(0, 30),
                                                       tzinfo=timezone.get_current_timezone()), tick=False):
        assert tasks.make_dated_tranches_due.delay().get() == 1
        swept_at = timezone.now()
    dated.refresh_from_db()
    assert dated.state == Tranche.State.DUE and dated.due_at == swept_at
    notes = Notification.objects.filter(recipient=finance_user, kind=MessageKind.TRANCHE_DUE,
                                        title__contains=agreement.number)
    assert notes.count() == 2  # once on signing, once for the dated tranche
    assert "200,000.00" in notes.order_by("-id").first().body

    # a draft agreement's dated tranche waits for the signing, whatever the date
    assert set(unsigned.tranches.values_list("state", flat=True)) == {Tranche.State.PLANNED}


def test_the_task_run_twice_is_harmless(officer, finance_user):
    today = timezone.localdate()
    agreement = dated_agreement(officer, pay_on=today + datetime.timedelta(days=3))
    later = timezone.now() + datetime.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        assert tasks.make_dated_tranches_due() == 1
    with time_machine.travel(later + datetime.timedelta(hours=1), tick=False):
        assert tasks.make_dated_tranches_due() == 0
    dated = agreement.tranches.get(position=2)
    assert dated.state == Tranche.State.DUE
    assert Notification.objects.filter(recipient=finance_user, kind=MessageKind.TRANCHE_DUE).count() == 2


def test_a_date_already_past_at_signing_is_due_on_signing_and_the_sweeper_leaves_it(officer):
    agreement = dated_agreement(officer, pay_on=timezone.localdate() - datetime.timedelta(days=1))
    assert agreement.tranches.get(position=2).state == Tranche.State.DUE
    assert tasks.make_dated_tranches_due() == 0

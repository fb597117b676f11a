"""Money under concurrent requests (PostgreSQL row locks): twenty finance requests to pay the last tranche at once
make one payment and never exceed the grant; the same idempotency key from twenty requests gives one record."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from accounts.exceptions import InvalidInput
from accounts.tests.factories import UserFactory
from funding import services as fs
from funding.models import Disbursement, TaskAgreement
from projects.tests.test_concurrency import run_concurrently

from .factories import established_project
from .test_money import pay, signed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency is exercised on PostgreSQL"),
]


def test_twenty_requests_to_pay_the_last_tranche_make_one_payment():
    officer = UserFactory(roles=["officer"])
    approver = UserFactory(roles=["finance"])
    clerks = [UserFactory(roles=["finance"]) for _ in range(20)]
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    agreement = project.agreement
    # the first two tranches paid; the mid-term passed: the last open tranche is the 30,000.00 one
    pay(agreement.tranches.get(position=1), clerks[0], approver, key="first-00001")
    fs.checkpoint_passed(project_id=project.pk, checkpoint="midterm")
    last = agreement.tranches.get(position=2)
    today = datetime.date.today()
    results = run_concurrently(*[
        (lambda c=c, i=i: fs.record_disbursement(actor=c, tranche_id=last.pk, amount="30000.00",
                                                 voucher_no=f"V-{i}", paid_on=today, idempotency_key=f"race-{i:05d}"))
        for i, c in enumerate(clerks)
    ])
    recorded = [r for r in results if isinstance(r, Disbursement)]
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(recorded) == 1 and len(refused) == 19, results
    # and twenty approvals of that one record at once: one approval
    approvers = [UserFactory(roles=["finance"]) for _ in range(20)]
    results = run_concurrently(*[
        (lambda a=a: fs.approve_disbursement(actor=a, disbursement_id=recorded[0].pk)) for a in approvers
    ])
    assert sum(isinstance(r, Disbursement) for r in results) == 1, results
    agreement = TaskAgreement.objects.get(pk=agreement.pk)
    assert agreement.paid_total == Decimal("90000.00") and agreement.recorded_total == Decimal("0.00")
    assert agreement.paid_total <= agreement.fiscal_amount


def test_the_same_key_from_twenty_requests_gives_one_disbursement():
    officer = UserFactory(roles=["officer"])
    clerk = UserFactory(roles=["finance"])
    project = established_project(granted=Decimal("100000.00"), officer=officer)
    signed(project, officer)
    first = project.agreement.tranches.get(position=1)
    today = datetime.date.today()
    results = run_concurrently(*[
        (lambda: fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="60000.00", voucher_no="V-1",
                                        paid_on=today, idempotency_key="one-key-00001"))
        for _ in range(20)
    ])
    assert all(isinstance(r, Disbursement) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Disbursement.objects.count() == 1
    assert TaskAgreement.objects.get(pk=project.agreement.pk).recorded_total == Decimal("60000.00")

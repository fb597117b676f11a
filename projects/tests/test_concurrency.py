"""Concurrent submissions cannot break the per-organisation limit or the 多头申报 rule (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection, connections

from accounts.exceptions import InvalidInput
from projects import services
from projects.models import Application
from projects.tests.factories import ApplicationFactory, CallFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency is exercised on PostgreSQL"),
]


def run_concurrently(*fns):
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as e:  # the test inspects what each thread got
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_simultaneous_submissions_respect_the_limit_of_one(org, applicant):
    call = CallFactory(max_applications_per_org=1)
    apps = [ApplicationFactory(call=call, organization=org, created_by=applicant) for _ in range(2)]
    results = run_concurrently(
        *[lambda a=a: services.submit_application(actor=applicant, application_id=a.pk) for a in apps]
    )
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(refused) == 1, results
    assert "每单位限报 1 项" in refused[0].message
    assert Application.objects.filter(call=call, state="submitted").count() == 1


def test_two_simultaneous_submissions_with_the_same_leader(org, applicant, open_call):
    apps = [
        ApplicationFactory(call=open_call, organization=org, created_by=applicant, leader_id_number="330106199001011234")
        for _ in range(2)
    ]
    results = run_concurrently(
        *[lambda a=a: services.submit_application(actor=applicant, application_id=a.pk) for a in apps]
    )
    assert sum(isinstance(r, InvalidInput) for r in results) == 1, results
    numbers = set(Application.objects.filter(call=open_call).exclude(number=None).values_list("number", flat=True))
    assert len(numbers) == 1

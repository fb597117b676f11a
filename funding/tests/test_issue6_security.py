"""Security review of issue 6 (funding): the links the deadline sweeper puts in each reminder of funding's kinds
open for the person who receives it — an organisation user is never sent to a bureau or finance page, and nobody
outside the obligation's organisation or the bureau is reminded."""


import pytest
from django.test import Client

from activity.deadlines import end_of_day
from activity.models import Reminder
from activity.tests.ladder import OFFICE_PREFIXES, sweep_every_stage

from .test_obligations import (  # noqa: F401 (fixtures used by name)
    adjustment,
    approver,
    claim,
    clerk,
    due_after,
    order,
    project,
    signed_project,
    stranger_admin,
)

pytestmark = pytest.mark.django_db




def assert_each_link_opens_for_its_recipient(code, pk, organization_id=None):
    reminders = list(Reminder.objects.filter(kind=code, object_id=pk).select_related("recipient", "notification"))
    assert reminders, f"{code}: nothing was sent"
    failures = []
    for r in reminders:
        user, link = r.recipient, r.notification.link
        if user.organization_id is not None:
            if user.organization_id != organization_id:
                failures.append((r.stage, user.username, link, "another organisation's user reminded"))
            if link.startswith(OFFICE_PREFIXES):
                failures.append((r.stage, user.username, link, "an office page for an organisation user"))
                continue
        client = Client()
        client.force_login(user)
        status = client.get(link).status_code
        if status != 200:
            failures.append((r.stage, user.username, link, status))
    assert not failures, f"{code}: {failures}"


def test_agreement_unsigned_links(project, officer, org_admin, supervisor, stranger_admin):  # noqa: F811 (fixtures)
    agreement = project.agreement
    sweep_every_stage("agreement_unsigned", due_after(agreement.created_at, 20))
    assert_each_link_opens_for_its_recipient("agreement_unsigned", agreement.pk, project.organization_id)


def test_disbursement_unapproved_links(signed_project, officer, clerk, approver, supervisor):  # noqa: F811 (fixtures)
    from .test_obligations import record

    d = record(signed_project, clerk)
    sweep_every_stage("disbursement_unapproved", due_after(d.recorded_at, 3))
    assert_each_link_opens_for_its_recipient("disbursement_unapproved", d.pk, signed_project.organization_id)


def test_recovery_due_links(order, officer, clerk, approver, supervisor, stranger_admin):  # noqa: F811 (fixtures)
    sweep_every_stage("recovery_due", end_of_day(order.due_date))
    assert_each_link_opens_for_its_recipient("recovery_due", order.pk, order.agreement.project.organization_id)


def test_budget_adjustment_decision_links(adjustment, officer, supervisor):  # noqa: F811 (fixtures)
    sweep_every_stage("budget_adjustment_decision", due_after(adjustment.requested_at, 5))
    assert_each_link_opens_for_its_recipient("budget_adjustment_decision", adjustment.pk)


def test_subsidy_claim_verification_links(claim, officer, supervisor):  # noqa: F811 (fixtures)
    sweep_every_stage("subsidy_claim_verification", due_after(claim.submitted_at, 20))
    assert_each_link_opens_for_its_recipient("subsidy_claim_verification", claim.pk)

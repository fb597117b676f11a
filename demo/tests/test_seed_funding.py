"""The funding demo data (demo/funding.py): 任务书 signed and waiting, first tranches paid, two payments in the
approval queue for ``finance2``, a bank return reversed, a 揭榜 milestone tranche due; re-runnable, and every
agreement's running totals equal to its approved payments minus its approved reversals, to the fen."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.exceptions import PermissionRefused
from accounts.models import User
from activity.messaging import MessageKind
from activity.models import Notification
from demo.challenges import HUB
from demo.funding import BANK_RETURN
from funding import selectors
from funding import services as fs
from funding.models import Disbursement, TaskAgreement, Tranche
from projects.models import Call, Project

pytestmark = pytest.mark.django_db
AG, TR, DS, K = TaskAgreement.State, Tranche.State, Disbursement.State, Disbursement.Kind


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot():
    return {
        "agreements": sorted(TaskAgreement.objects.values_list("number", "state", "paid_total", "recorded_total")),
        "tranches": sorted(Tranche.objects.values_list("agreement__number", "position", "state", "paid_amount")),
        "disbursements": sorted(Disbursement.objects.values_list("idempotency_key", "kind", "state", "amount")),
        "notifications": Notification.objects.count(),
    }


def assert_totals_add_up():
    for a in TaskAgreement.objects.prefetch_related("disbursements", "tranches"):
        ds = list(a.disbursements.all())
        approved = sum((d.amount for d in ds if d.kind == K.PAYMENT and d.state == DS.APPROVED), Decimal("0.00"))
        reversed_ = sum((d.amount for d in ds if d.kind == K.REVERSAL and d.state == DS.APPROVED), Decimal("0.00"))
        waiting = sum((d.amount for d in ds if d.kind == K.PAYMENT and d.state == DS.RECORDED), Decimal("0.00"))
        assert a.paid_total == approved - reversed_, a.number
        assert a.recorded_total == waiting, a.number
        assert sum((t.paid_amount for t in a.tranches.all()), Decimal("0.00")) == a.paid_total, a.number
        assert sum((t.amount for t in a.tranches.all()), Decimal("0.00")) == a.fiscal_amount, a.number


def test_seed_demo_twice_funds_the_demo_projects_once_and_catches_up_on_missing_agreements():
    output = seed()
    assert re.search(r"agreements [1-9]", output) and re.search(r"disbursements [1-9]", output)
    assert "finance2" in output
    before = snapshot()
    assert "未作改动" in seed()
    assert snapshot() == before  # no second payment, no second notification

    today = timezone.localdate()
    spring = Call.objects.filter(title__contains="春季专项")  # the 后补助 call's agreements: test_seed_subsidy.py
    agreements = {a.project.organization.name: a for a in TaskAgreement.objects.select_related(
        "project__organization", "org_confirmed_by", "office_confirmed_by").filter(project__call__in=spring)}
    # signed (one of them terminated since, at its 中期检查: demo/checkpoints.py)
    signed = [a for a in agreements.values() if a.signed_at is not None]
    assert len(signed) == 5 and all(a.org_confirmed_by and a.office_confirmed_by.username == "officer"
                                    for a in signed)
    assert sorted(a.state for a in signed) == sorted([AG.SIGNED] * 4 + [AG.TERMINATED])

    # the demo orgadmin's own agreement waits for the organisation's confirmation; orgadmin can sign it
    waiting = agreements["杭州云栖智能科技有限公司"]
    assert waiting.state == AG.OFFICE_CONFIRMED and waiting.org_confirmed_by is None
    assert waiting.paid_total == waiting.recorded_total == 0
    orgadmin = Project.objects.get(pk=waiting.project_id).organization.users.get(username="orgadmin")
    assert selectors.agreements_visible_to(orgadmin).filter(pk=waiting.pk).exists()

    # first tranches paid: recorded by finance, approved by finance2, voucher numbers of the bank, dates past
    # (the later tranches paid are the whole-course project's: demo/checkpoints.py)
    payments = Disbursement.objects.filter(kind=K.PAYMENT, tranche__position=1,
                                           agreement__project__call__in=spring).select_related(
        "recorded_by", "decided_by", "tranche")
    approved = [d for d in payments if d.state == DS.APPROVED]
    assert len(approved) == 3
    for d in Disbursement.objects.all():
        assert re.fullmatch(r"ZJNX\d{13}", d.voucher_no) and d.paid_on < today
        assert d.recorded_by.username == "finance"
    assert all(d.decided_by.username == "finance2" for d in approved)
    assert Tranche.objects.filter(state=TR.PAID, position=1, agreement__project__call__in=spring).count() == 2

    # the bank returned one: an approved reversal of the same amount, the tranche due again
    [reversal] = Disbursement.objects.filter(kind=K.REVERSAL)
    assert reversal.state == DS.APPROVED and reversal.note == BANK_RETURN
    assert reversal.reverses.state == DS.APPROVED and reversal.amount == reversal.reverses.amount
    assert reversal.tranche.state == TR.DUE and reversal.tranche.paid_amount == 0
    assert reversal.agreement.paid_total == 0

    # two payments wait in the queue for finance2, who was told; finance cannot approve her own
    queue = list(selectors.approval_queue(User.objects.get(username="finance2")))
    assert len(queue) == 2 and {d.state for d in queue} == {DS.RECORDED}
    told = Notification.objects.filter(recipient__username="finance2", kind=MessageKind.DISBURSEMENT_RECORDED)
    assert told.count() >= 2
    with pytest.raises(PermissionRefused):
        fs.approve_disbursement(actor=queue[0].recorded_by, disbursement_id=queue[0].pk)

    # 揭榜: the running team signed, its passed milestone's tranche due; the stopped team's agreement ended with it
    hub = {p.state: p.agreement for p in Project.objects.filter(challenge__title=HUB.title).select_related(
        "agreement")}
    running, stopped = hub[Project.State.ESTABLISHED], hub[Project.State.TERMINATED]
    assert (running.state, stopped.state) == (AG.SIGNED, AG.TERMINATED)
    assert running.tranches.get(checkpoint="milestone:1").state == TR.DUE
    assert set(stopped.tranches.values_list("state", flat=True)) == {TR.CANCELLED}
    due = set(selectors.due_tranches(queue[0].recorded_by).values_list("pk", flat=True))
    assert {running.tranches.get(checkpoint="milestone:1").pk, reversal.tranche_id} <= due

    assert_totals_add_up()

    # a database seeded before funding was installed (here: the demo orgadmin's project without its agreement):
    # the next run drafts the agreement and plays its story
    project_id = waiting.project_id
    waiting.tranches.all().delete()
    waiting.budget_lines.all().delete()
    waiting.delete()
    assert "agreements 1" in seed()
    again = TaskAgreement.objects.get(project_id=project_id)
    assert again.state == AG.OFFICE_CONFIRMED and again.tranches.count() == 3
    assert_totals_add_up()

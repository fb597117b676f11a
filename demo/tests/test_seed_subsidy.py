"""The 预算调整 and 后补助 demo data (demo/subsidy.py): an adjustment recorded within the delegation and one waiting for
the officer; a 后补助 call taken to 立项 through a review round and a 立项 list, its claims verified and paid, waiting
and returned; re-runnable; the ledger still equal to the approved payments to the fen."""

import re
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from activity.selectors import events_for
from demo.subsidy import CAP, CLAIMS, PERCENT, RETURN_REASON, ROUND_NAME
from experts.models import FundingList, ReviewRound
from funding import budget as fb
from funding import selectors
from funding import subsidy as sub
from funding.models import (
    AgreementBudgetLine,
    BudgetAdjustment,
    Condition,
    Disbursement,
    FundingScheme,
    PostSubsidyClaim,
    TaskAgreement,
    Tranche,
)
from projects.models import Program, Project

pytestmark = pytest.mark.django_db
AG, TR, DS, K = TaskAgreement.State, Tranche.State, Disbursement.State, Disbursement.Kind
BA, CS = BudgetAdjustment.State, PostSubsidyClaim.State
CENT = Decimal("0.01")
SPRING = "春季专项"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot():
    models = (BudgetAdjustment, PostSubsidyClaim, FundingScheme, FundingList, ReviewRound, Project, Disbursement,
              Notification, AuditEvent)
    return {
        **{m.__name__: m.objects.count() for m in models},
        "lines": sorted(AgreementBudgetLine.objects.values_list("agreement__number", "category", "fiscal_amount",
                                                                "self_amount")),
        "tranches": sorted(Tranche.objects.values_list("agreement__number", "position", "state", "amount",
                                                       "paid_amount")),
    }


def spring(org_name: str) -> TaskAgreement:
    return TaskAgreement.objects.select_related("project").get(project__call__title__contains=SPRING,
                                                               project__organization__name=org_name)


def lines_of(agreement: TaskAgreement) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.category: (line.fiscal_amount, line.self_amount) for line in agreement.budget_lines.all()}


def totals(lines) -> tuple[Decimal, Decimal]:
    return (sum((f for f, _s in lines.values()), Decimal("0.00")), sum((s for _f, s in lines.values()),
                                                                       Decimal("0.00")))


def test_seed_demo_adjusts_budgets_and_plays_the_post_subsidy_stories_once(client):
    output = seed()
    assert re.search(r"adjustments [1-9]", output) and re.search(r"subsidy_claims [1-9]", output)
    assert "lpfz-admin" in output and "fcjhb-admin" in output
    before = snapshot()
    assert "未作改动" in seed()
    assert snapshot() == before  # nothing adjusted, claimed, verified or paid twice
    officer = User.objects.get(username="officer")

    # 预算调整 1: within the delegation (default 10%), recorded and in force: 业务费 → 劳务费, the totals kept
    hospital = spring("杭州市第九人民医院")
    [recorded] = BudgetAdjustment.objects.filter(agreement=hospital).select_related("requested_by")
    assert recorded.state == BA.RECORDED and recorded.within_delegation
    assert recorded.requested_by.username == "dj9y-admin" and recorded.requested_at < timezone.now()
    changes = {c["category"]: c for c in recorded.changes}
    assert set(changes) == {"business", "labour"}
    moved = Decimal(changes["labour"]["fiscal_after"]) - Decimal(changes["labour"]["fiscal_before"])
    assert moved > 0 and moved % 1000 == 0
    assert Decimal(changes["business"]["fiscal_before"]) - Decimal(changes["business"]["fiscal_after"]) == moved
    now = lines_of(hospital)
    assert now["business"][0] == Decimal(changes["business"]["fiscal_after"])
    assert now["labour"][0] == Decimal(changes["labour"]["fiscal_after"])
    assert totals(now) == (hospital.fiscal_amount, hospital.self_amount) == (Decimal("800000.00"),) * 2
    assert events_for(hospital).filter(verb="adjust_budget", actor__username="dj9y-admin").exists()

    # 预算调整 2: 设备费 increased: beyond the delegation, the lines unchanged, the officer told and able to approve
    optics = spring("杭州滨江光电子有限公司")
    [pending] = BudgetAdjustment.objects.filter(agreement=optics)
    assert pending.state == BA.PENDING and not pending.within_delegation
    changes = {c["category"]: c for c in pending.changes}
    assert Decimal(changes["equipment"]["fiscal_after"]) - Decimal(changes["equipment"]["fiscal_before"]) == Decimal(
        "120000.00")
    untouched = lines_of(optics)
    assert all(untouched[c][0] == Decimal(row["fiscal_before"]) for c, row in changes.items())
    assert Notification.objects.filter(recipient=officer, kind=MessageKind.BUDGET_ADJUSTMENT_PENDING).exists()
    client.force_login(officer)
    page = client.get(reverse("funding:adjustment", args=[pending.pk]))
    assert page.status_code == 200 and pending.number in page.content.decode()

    # 后补助: the programme's rule, a call taken to 立项 through a review round and a signed-off, publicised list
    program = Program.objects.get(code="hbz")
    assert program.kind == Program.Kind.POST_SUBSIDY
    scheme = FundingScheme.objects.get(program=program)
    assert (scheme.subsidy_percent, scheme.subsidy_cap) == (PERCENT, CAP)
    rnd = ReviewRound.objects.get(name=ROUND_NAME)
    assert rnd.state == ReviewRound.State.CLOSED and rnd.funding_list.state == FundingList.State.APPROVED
    assert rnd.funding_list.signed_off_by.username == "leader"
    claims = {}  # by the organisation's short name: its admin (``<short name>-admin``) claimed
    for agreement in TaskAgreement.objects.filter(project__call=rnd.call).select_related("project__organization"):
        assert agreement.state == AG.SIGNED and agreement.end_date < timezone.localdate()
        [tranche] = agreement.tranches.all()
        assert tranche.condition == Condition.VERIFIED
        claim = PostSubsidyClaim.objects.select_related("submitted_by").get(agreement=agreement)
        with claim.audit_report.open("rb") as f:
            assert f.read(5) == b"%PDF-"
        assert claim.submitted_by.organization_id == agreement.project.organization_id
        claims[claim.submitted_by.username.removesuffix("-admin")] = claim
    assert set(claims) == set(CLAIMS)

    # verified: min(verified × 10%, cap, grant), the tranche paid once (finance records, finance2 approves)
    verified = claims["lpfz"]
    agreement = TaskAgreement.objects.get(pk=verified.agreement_id)
    grant = agreement.project.granted_amount
    expected = min((verified.verified_expense * PERCENT / 100).quantize(CENT, rounding=ROUND_HALF_UP), CAP, grant)
    assert verified.state == CS.VERIFIED and verified.verified_expense < verified.claimed_expense
    assert verified.subsidy_amount == expected < grant and verified.decided_by == officer
    [tranche] = agreement.tranches.all()
    assert tranche.state == TR.PAID and tranche.amount == tranche.paid_amount == expected
    [payment] = agreement.disbursements.select_related("recorded_by", "decided_by")
    assert (payment.kind, payment.state, payment.amount) == (K.PAYMENT, DS.APPROVED, expected)
    assert (payment.recorded_by.username, payment.decided_by.username) == ("finance", "finance2")
    assert timezone.localdate(verified.decided_at) <= payment.paid_on < timezone.localdate()
    assert agreement.fiscal_amount == agreement.paid_total == expected
    assert totals(lines_of(agreement))[0] == expected

    # waiting for the officer: 10% of the claim is above the cap; returned: with its reason, the tranche still planned
    waiting, returned = claims["fcjhb"], claims["jdzz"]
    assert waiting.state == CS.SUBMITTED and waiting.subsidy_amount is None
    assert sub.preview(waiting, waiting.claimed_expense).limited_by == "cap"
    assert Notification.objects.filter(recipient=officer, kind=MessageKind.SUBSIDY_CLAIM_SUBMITTED).exists()
    assert returned.state == CS.RETURNED and returned.decision_note == RETURN_REASON
    for claim in (waiting, returned):
        assert claim.agreement.tranches.get().state == TR.PLANNED and not claim.agreement.disbursements.exists()
    page = client.get(reverse("funding:subsidy_claim", args=[waiting.pk]))
    assert page.status_code == 200 and waiting.agreement.number in page.content.decode()

    # the ledger: the approved payments less the approved reversals, and what waits for approval, to the fen
    ledger = selectors.ledger_agreements(User.objects.get(username="finance"))
    ds = Disbursement.objects.filter(state=DS.APPROVED)
    net = (sum((d.amount for d in ds.filter(kind=K.PAYMENT)), Decimal("0.00"))
           - sum((d.amount for d in ds.filter(kind=K.REVERSAL)), Decimal("0.00")))
    figures = selectors.ledger_totals(ledger)
    assert figures["paid"] == net and figures["count"] == TaskAgreement.objects.count()
    assert figures["recorded"] == sum((d.amount for d in Disbursement.objects.filter(state=DS.RECORDED)),
                                      Decimal("0.00"))
    assert figures["planned"] == sum(TaskAgreement.objects.values_list("fiscal_amount", flat=True))
    for a in TaskAgreement.objects.prefetch_related("disbursements", "tranches"):
        approved = [d for d in a.disbursements.all() if d.state == DS.APPROVED]
        assert a.paid_total == sum((d.amount if d.kind == K.PAYMENT else -d.amount for d in approved),
                                   Decimal("0.00")), a.number
        assert sum((t.amount for t in a.tranches.all()), Decimal("0.00")) == a.fiscal_amount, a.number

    # what the demo leaves to try: the officer approves the equipment increase and verifies the waiting claim
    fb.approve_adjustment(actor=officer, adjustment_id=pending.pk, note="同意")
    assert lines_of(optics)["equipment"][0] == Decimal(changes["equipment"]["fiscal_after"])
    assert totals(lines_of(optics)) == totals(untouched)
    done = sub.verify_claim(actor=officer, claim_id=waiting.pk, verified_expense=waiting.claimed_expense)
    assert done.subsidy_amount == CAP
    assert waiting.agreement.tranches.get().state == TR.DUE

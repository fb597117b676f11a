"""任务书 budget lines and 预算调整 through the services: the lines drafted from the application (scaled to the grant,
to the fen), kept equal to the agreement's amounts while the officer edits it; adjustments within the programme's
delegation recorded at once, beyond it approved or rejected by the officer; the totals never move; one pending at a
time; a stale approval refused; the agreed terms projects is told."""

import importlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import AuditEvent, Notification
from funding import budget as fb
from funding import services as fs
from funding.models import AgreementBudgetLine, BudgetAdjustment, FundingScheme, PostSubsidyClaim, TaskAgreement
from projects.hooks import agreed_terms

from .factories import established_project
from .test_money import signed

pytestmark = pytest.mark.django_db
D = Decimal


def lines_of(agreement) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.category: (line.fiscal_amount, line.self_amount)
            for line in AgreementBudgetLine.objects.filter(agreement=agreement)}


def move(**fiscal) -> dict:
    """A request changing only fiscal amounts (self-raised as they are in the default application)."""
    own = {"equipment": "200000.00", "business": "150000.00", "labour": "50000.00"}
    return {c: {"fiscal": str(v), "self": own[c]} for c, v in fiscal.items()}


@pytest.fixture
def project(officer, org):
    # the default application: equipment 200,000 / business 100,000 / labour 50,000 fiscal (350,000 in all)
    project = established_project(granted=D("350000.00"), officer=officer, organization=org)
    signed(project, officer)
    return project


@pytest.fixture
def agreement(project):
    return TaskAgreement.objects.get(pk=project.agreement.pk)


# ---- budget lines ------------------------------------------------------------------------------------------------


def test_the_lines_are_the_applications_scaled_to_the_grant_to_the_fen(officer):
    project = established_project(granted=D("300000.00"), officer=officer)
    lines = lines_of(project.agreement)
    assert lines == {"equipment": (D("171428.57"), D("200000.00")), "business": (D("85714.29"), D("150000.00")),
                     "labour": (D("42857.14"), D("50000.00"))}
    assert sum(f for f, _s in lines.values()) == project.agreement.fiscal_amount
    assert sum(s for _f, s in lines.values()) == project.agreement.self_amount


def test_without_fiscal_weights_everything_goes_to_business(officer):
    project = established_project(granted=D("100000.00"), officer=officer,
                                  budget={"equipment": (D("0"), D("80000")), "labour": (D("0"), D("20000"))})
    assert lines_of(project.agreement) == {"equipment": (D("0.00"), D("80000.00")),
                                           "business": (D("100000.00"), D("0.00")),
                                           "labour": (D("0.00"), D("20000.00"))}


def test_a_challenge_project_has_one_business_line(officer):
    from projects.challenges import services as jb
    from projects.models import Bid
    from projects.tests.challenge_factories import BidFactory, ChallengeFactory, publish

    challenge = publish(ChallengeFactory(), max_winners=1)
    bid = BidFactory(challenge=challenge)
    jb.submit_bid(actor=bid.created_by, bid_id=bid.pk, accept_commitment=True)
    challenge.bid_deadline = challenge.published_at
    challenge.state = "reviewing"
    challenge.save(update_fields=["bid_deadline", "state"])
    Bid.objects.filter(pk=bid.pk).update(state="reviewing", review_score=D("90"))
    (project,) = jb.award_challenge(actor=challenge.created_by, challenge_id=challenge.pk, bid_ids=[bid.pk])
    agreement = project.agreement
    assert lines_of(agreement) == {"business": (agreement.fiscal_amount, agreement.self_amount)}


def test_a_new_self_amount_rescales_the_self_lines(officer):
    project = established_project(granted=D("350000.00"), officer=officer)
    agreement = fs.update_agreement(actor=officer, agreement_id=project.agreement.pk, data={"self_amount": "200000.01"})
    lines = lines_of(agreement)
    assert sum(s for _f, s in lines.values()) == D("200000.01") == agreement.self_amount
    assert lines["equipment"][1] == D("100000.01") and lines["labour"][1] == D("25000.00")
    assert sum(f for f, _s in lines.values()) == agreement.fiscal_amount  # fiscal untouched


def test_the_officer_edits_the_lines_and_a_mismatch_is_refused_with_the_difference(officer):
    project = established_project(granted=D("350000.00"), officer=officer)
    agreement = project.agreement
    before = lines_of(agreement)
    with pytest.raises(InvalidInput) as e:
        fs.update_agreement(actor=officer, agreement_id=agreement.pk, data={"budget": {
            "equipment": {"fiscal": "150000.00", "self": "0"}, "business": {"fiscal": "150000.01", "self": "0"},
            "labour": {"fiscal": "50000.00", "self": "0"}}})
    assert "相差 +0.01 元" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        fs.update_agreement(actor=officer, agreement_id=agreement.pk, data={"self_amount": "100.00", "budget": {
            "equipment": {"fiscal": "150000.00", "self": "0"}, "business": {"fiscal": "150000.00", "self": "99.99"},
            "labour": {"fiscal": "50000.00", "self": "0"}}})
    assert "相差 -0.01 元" in str(e.value)
    assert lines_of(agreement) == before
    agreement = fs.update_agreement(actor=officer, agreement_id=agreement.pk, data={"budget": {
        "equipment": {"fiscal": "150000.00", "self": "0"}, "business": {"fiscal": "150000.00", "self": "1000.50"},
        "labour": {"fiscal": "50000.00", "self": "0"}}})
    assert lines_of(agreement)["business"] == (D("150000.00"), D("1000.50"))
    assert agreement.self_amount == D("1000.50")


def test_the_lines_cannot_be_edited_once_signed(officer, agreement):
    with pytest.raises(TransitionRefused):
        fs.update_agreement(actor=officer, agreement_id=agreement.pk,
                            data={"budget": {"business": {"fiscal": "100000.00", "self": "0"}}})


# ---- within or beyond the delegation -------------------------------------------------------------------------------


def test_exactly_the_delegated_percentage_is_recorded_at_once(applicant, agreement, officer):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="95000.00", labour="55000.00"), reason="增加劳务费")
    assert adj.state == "recorded" and adj.within_delegation and adj.number == f"{agreement.number}-TZ1"
    assert lines_of(agreement)["business"][0] == D("95000.00") and lines_of(agreement)["labour"][0] == D("55000.00")
    assert adj.changes == [
        {"category": "business", "fiscal_before": "100000.00", "fiscal_after": "95000.00",
         "self_before": "150000.00", "self_after": "150000.00"},
        {"category": "labour", "fiscal_before": "50000.00", "fiscal_after": "55000.00",
         "self_before": "50000.00", "self_after": "50000.00"}]
    assert not Notification.objects.filter(kind="budget_adjustment_pending").exists()
    assert AuditEvent.objects.filter(verb="request_adjustment").exists()
    assert AuditEvent.objects.filter(verb="adjust_budget").exists()


def test_one_fen_beyond_the_percentage_goes_to_the_officer(applicant, agreement, officer):
    before = lines_of(agreement)
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="94999.99", labour="55000.01"), reason="增加劳务费")
    assert adj.state == "pending" and not adj.within_delegation
    assert lines_of(agreement) == before  # nothing changes until approved
    note = Notification.objects.get(kind="budget_adjustment_pending", recipient=officer)
    assert adj.number in note.title and "劳务费" in note.body


def test_small_steps_add_up_against_the_approved_budget(applicant, agreement, officer):
    """Two 3% moves of 劳务费 are within 10% together; a third taking it past 10% of the signed budget is not, even
    though it is small against the current one; after the officer approves, the approved budget is the new base."""
    fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                          lines=move(business="98500.00", labour="51500.00"), reason="一")
    fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                          lines=move(business="97000.00", labour="53000.00"), reason="二")
    third = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                  lines=move(business="94000.00", labour="56000.00"), reason="三")
    assert third.state == "pending" and not third.within_delegation  # 劳务费 +6,000 over 50,000 signed: 12%
    note = Notification.objects.get(kind="budget_adjustment_pending", recipient=officer)
    assert "累计调整" in note.body and "50,000.00" in note.body
    fb.approve_adjustment(actor=officer, adjustment_id=third.pk, note="同意")
    fourth = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                   lines=move(business="91000.00", labour="59000.00"), reason="四")
    assert fourth.state == "recorded"  # +3,000 over the approved 56,000: within 10%


def test_increasing_equipment_needs_approval_unless_the_programme_allows_it(applicant, agreement, officer):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(equipment="200000.01", business="99999.99"), reason="设备涨价")
    assert adj.state == "pending"
    fb.reject_adjustment(actor=officer, adjustment_id=adj.pk, note="不同意")
    FundingScheme.objects.create(program=agreement.project.call.program, name="重点研发拨付方案",
                                 adjust_equipment_up=True, adjust_percent=D("10"))
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(equipment="200000.01", business="99999.99"), reason="设备涨价")
    assert adj.state == "recorded"


def test_decreasing_equipment_within_the_percentage_is_recorded(applicant, agreement):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(equipment="190000.00", business="110000.00"), reason="设备降价")
    assert adj.state == "recorded"


def test_the_calls_scheme_sets_the_percentage(applicant, agreement):
    FundingScheme.objects.create(program=agreement.project.call.program, name="计划方案", adjust_percent=D("5"))
    FundingScheme.objects.create(call=agreement.project.call, name="指南方案", adjust_percent=D("20"))
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="90000.00", labour="60000.00"), reason="按指南方案")
    assert adj.state == "recorded"


def test_self_raised_amounts_may_move_too(applicant, agreement):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="自筹调整", lines={
        "equipment": {"fiscal": "200000.00", "self": "100000.00"},
        "business": {"fiscal": "100000.00", "self": "250000.00"}})
    assert adj.state == "recorded"
    assert lines_of(agreement)["business"] == (D("100000.00"), D("250000.00"))


# ---- refusals ----------------------------------------------------------------------------------------------------------


def test_the_totals_must_stay_and_the_difference_is_shown_to_the_fen(applicant, agreement):
    with pytest.raises(InvalidInput) as e:
        fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                              lines=move(business="95000.00", labour="55000.01"), reason="x")
    assert "财政资金合计须保持不变（现相差 +0.01 元）" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, reason="x",
                              lines={"business": {"fiscal": "100000.00", "self": "149999.99"}})
    assert "自筹资金合计须保持不变（现相差 -0.01 元）" in str(e.value)
    assert not BudgetAdjustment.objects.exists()


@pytest.mark.parametrize("lines, message", [
    ({"business": {"fiscal": "100000.00", "self": "150000.00"}}, "无需调整"),
    ({"business": {"fiscal": "-1", "self": "150000.00"}}, "不能小于0"),
    ({"business": {"fiscal": "1.001", "self": "150000.00"}}, "最多精确到分"),
    ({"travel": {"fiscal": "1", "self": "0"}}, "无效"),
    ({}, "请按科目填写"),
])
def test_bad_lines_are_refused(applicant, agreement, lines, message):
    with pytest.raises(InvalidInput) as e:
        fb.request_adjustment(actor=applicant, agreement_id=agreement.pk, lines=lines, reason="x")
    assert message in str(e.value)


def test_a_reason_is_required(applicant, agreement):
    with pytest.raises(InvalidInput):
        fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                              lines=move(business="95000.00", labour="55000.00"), reason="  ")


def test_only_the_organisations_users_may_ask(agreement, officer, other_applicant, expert_user, finance_user):
    for user in (officer, other_applicant, expert_user, finance_user, None):
        with pytest.raises(PermissionRefused):
            fb.request_adjustment(actor=user, agreement_id=agreement.pk,
                                  lines=move(business="95000.00", labour="55000.00"), reason="x")
    admin = UserFactory(roles=["org_admin"], organization=agreement.project.organization)
    assert fb.request_adjustment(actor=admin, agreement_id=agreement.pk,
                                 lines=move(business="95000.00", labour="55000.00"), reason="x").state == "recorded"


def test_only_a_signed_agreement_of_an_established_project(officer, org, applicant):
    project = established_project(granted=D("350000.00"), officer=officer, organization=org)
    with pytest.raises(TransitionRefused) as e:
        fb.request_adjustment(actor=applicant, agreement_id=project.agreement.pk,
                              lines=move(business="95000.00", labour="55000.00"), reason="x")
    assert "不能调整预算" in str(e.value)
    signed(project, officer)
    from projects import services as project_services
    project_services.terminate_project(actor=officer, project_id=project.pk, reason="终止")
    with pytest.raises(TransitionRefused):
        fb.request_adjustment(actor=applicant, agreement_id=project.agreement.pk,
                              lines=move(business="95000.00", labour="55000.00"), reason="x")


def test_a_pending_adjustment_blocks_another(applicant, agreement):
    fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                          lines=move(business="50000.00", labour="100000.00"), reason="大幅调整")
    with pytest.raises(TransitionRefused) as e:
        fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                              lines=move(business="95000.00", labour="55000.00"), reason="小幅调整")
    assert "待审批" in str(e.value)


# ---- the officer decides ----------------------------------------------------------------------------------------------


def test_approval_applies_the_lines_and_tells_the_organisation(applicant, org_admin, agreement, officer):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="50000.00", labour="100000.00"), reason="增加劳务费")
    with pytest.raises(PermissionRefused):
        fb.approve_adjustment(actor=applicant, adjustment_id=adj.pk)
    adj = fb.approve_adjustment(actor=officer, adjustment_id=adj.pk, note="同意")
    assert adj.state == "approved" and adj.decided_by == officer and adj.decision_note == "同意"
    assert lines_of(agreement)["labour"][0] == D("100000.00")
    assert sum(f for f, _s in lines_of(agreement).values()) == agreement.fiscal_amount
    told = {n.recipient for n in Notification.objects.filter(kind="budget_adjustment_decided")}
    assert {applicant, org_admin} <= told and officer not in told
    with pytest.raises(TransitionRefused):
        fb.approve_adjustment(actor=officer, adjustment_id=adj.pk)
    # the next one is measured against the budget the approval left: TZ2
    adj2 = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                 lines=move(business="45000.00", labour="105000.00"), reason="再调")
    assert adj2.state == "recorded" and adj2.number.endswith("-TZ2")


def test_rejection_needs_a_reason_and_leaves_the_lines(applicant, agreement, officer):
    before = lines_of(agreement)
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="50000.00", labour="100000.00"), reason="增加劳务费")
    with pytest.raises(InvalidInput):
        fb.reject_adjustment(actor=officer, adjustment_id=adj.pk, note="")
    adj = fb.reject_adjustment(actor=officer, adjustment_id=adj.pk, note="理由不充分")
    assert adj.state == "rejected" and lines_of(agreement) == before
    # no longer pending: a new request is possible
    assert fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                 lines=move(business="95000.00", labour="55000.00"), reason="x").state == "recorded"


def test_a_stale_approval_is_refused(applicant, agreement, officer):
    adj = fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                                lines=move(business="50000.00", labour="100000.00"), reason="增加劳务费")
    # the budget changed behind the request's back (e.g. by the admin site's database work)
    AgreementBudgetLine.objects.filter(agreement=agreement, category="business").update(fiscal_amount=D("99000.00"))
    with pytest.raises(TransitionRefused) as e:
        fb.approve_adjustment(actor=officer, adjustment_id=adj.pk)
    assert "已失效" in str(e.value)
    assert BudgetAdjustment.objects.get(pk=adj.pk).state == "pending"


# ---- what projects is told -----------------------------------------------------------------------------------------


def test_the_agreed_terms_are_the_agreements(agreement, applicant, django_assert_max_num_queries):
    fb.request_adjustment(actor=applicant, agreement_id=agreement.pk,
                          lines=move(business="95000.00", labour="55000.00"), reason="x")
    project = agreement.project
    with django_assert_max_num_queries(2):
        terms = agreed_terms(project)
    assert terms.targets == agreement.targets
    assert terms.budget == {"equipment": (D("200000.00"), D("200000.00")), "business": (D("95000.00"),
                                                                                        D("150000.00")),
                            "labour": (D("55000.00"), D("50000.00"))}


def test_no_agreement_no_terms(officer):
    project = established_project(granted=D("350000.00"), officer=officer)
    AgreementBudgetLine.objects.filter(agreement__project=project).delete()
    project.agreement.tranches.all().delete()
    TaskAgreement.objects.filter(project=project).delete()
    project.refresh_from_db()
    assert fb.agreed_terms_of(project) is None


def test_the_backfill_migration_makes_the_same_lines_as_drafting(officer, org):
    backfill = importlib.import_module("funding.migrations.0006_backfill_budget_lines").backfill
    project = established_project(granted=D("300000.00"), officer=officer, organization=org)
    drafted = lines_of(project.agreement)
    AgreementBudgetLine.objects.filter(agreement=project.agreement).delete()
    backfill(apps, None)
    assert lines_of(project.agreement) == drafted
    backfill(apps, None)  # agreements that have lines are left alone
    assert AgreementBudgetLine.objects.filter(agreement=project.agreement).count() == 3


def test_every_new_state_has_a_badge_colour():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    coloured = set(re.findall(r"\.kj-state-([a-z_]+)", css))
    for model in (BudgetAdjustment, PostSubsidyClaim):
        assert set(model.State.values) <= coloured, model

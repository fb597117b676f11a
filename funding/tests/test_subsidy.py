"""后补助 through the services: the post-subsidy 任务书 has one tranche paid after verification; the organisation
claims with the audit report; the officer verifies: percentage of the verified expense (half-up to the fen), capped by
the programme and by the grant; the tranche becomes due and is paid once through the ordinary disbursement path;
return and resubmit."""

import datetime
from decimal import Decimal

import pytest

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.models import AuditEvent, Notification
from funding import services as fs
from funding import subsidy as fsub
from funding.models import FundingScheme, PostSubsidyClaim, TaskAgreement, Tranche
from projects.tests.factories import EXE_BYTES, PDF_BYTES, CallFactory, ProgramFactory, pdf_upload

from .factories import established_project
from .test_money import pay, signed

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = datetime.date.today()


@pytest.fixture
def program(db):
    return ProgramFactory(code="hbz", name="企业研发后补助", kind="post_subsidy")


@pytest.fixture
def scheme(program):
    return FundingScheme.objects.create(program=program, name="后补助方案", subsidy_percent=D("30"),
                                        subsidy_cap=D("200000.00"))


def post_subsidy_project(program, officer, org, granted="500000.00"):
    project = established_project(granted=D(granted), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    signed(project, officer)
    return project


@pytest.fixture
def project(program, officer, org):
    return post_subsidy_project(program, officer, org)


@pytest.fixture
def clerk(db):
    return UserFactory(roles=["finance"])


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"])


def claim(applicant, project, amount="1000000.00", upload=None):
    return fsub.submit_claim(actor=applicant, agreement_id=project.agreement.pk, claimed_expense=amount,
                             audit_report=upload or pdf_upload("专项审计报告.pdf"), note="2025年度研发费用")


# ---- the agreement -------------------------------------------------------------------------------------------------


def test_a_post_subsidy_agreement_has_one_tranche_paid_after_verification(program, officer, org):
    project = established_project(granted=D("500000.00"), officer=officer, organization=org,
                                  call=CallFactory(program=program))
    (tranche,) = project.agreement.tranches.all()
    assert (tranche.name, tranche.amount, tranche.condition, tranche.state) == (
        "后补助", D("500000.00"), "verified", "planned")
    signed(project, officer)
    assert Tranche.objects.get(pk=tranche.pk).state == "planned"  # signing does not pay it
    # checkpoints and acceptance do not apply
    fs.checkpoint_passed(project_id=project.pk, checkpoint="midterm")
    fs.checkpoint_passed(project_id=project.pk, checkpoint="acceptance")
    assert Tranche.objects.get(pk=tranche.pk).state == "planned"


# ---- the computation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verified, percent, cap, grant, expected, limited_by", [
    ("1000000.00", "15", None, "500000.00", "150000.00", ""),
    ("1000000.00", "30", "200000.00", "500000.00", "200000.00", "cap"),
    ("1000000.00", "80", None, "500000.00", "500000.00", "grant"),
    ("100.05", "50", None, "500000.00", "50.03", ""),  # 50.025 half-up, not to even
    ("333.33", "12.5", None, "500000.00", "41.67", ""),  # 41.66625
    ("0.01", "10", None, "500000.00", "0.00", ""),
])
def test_the_subsidy_is_the_percentage_rounded_half_up_and_capped(verified, percent, cap, grant, expected,
                                                                  limited_by):
    c = fsub.compute(D(verified), D(percent), D(cap) if cap else None, D(grant))
    assert c.amount == D(expected) and c.limited_by == limited_by


# ---- claiming ---------------------------------------------------------------------------------------------------------


def test_the_organisation_claims_with_the_audit_report(applicant, project, officer):
    c = claim(applicant, project)
    assert c.state == "submitted" and c.claimed_expense == D("1000000.00")
    assert c.audit_report_name == "专项审计报告.pdf" and len(c.audit_report_sha256) == 64
    with c.audit_report.open("rb") as f:
        assert f.read() == PDF_BYTES
    assert Notification.objects.filter(kind="subsidy_claim_submitted", recipient=officer).exists()
    assert AuditEvent.objects.filter(verb="submit_claim").exists()
    with pytest.raises(TransitionRefused) as e:  # one claim per agreement
        claim(applicant, project)
    assert "待科技局核定" in str(e.value)


def test_claims_are_refused_for_others_and_bad_files(applicant, project, officer, other_applicant, expert_user,
                                                     program, org):
    for user in (officer, other_applicant, expert_user, None):
        with pytest.raises(PermissionRefused):
            claim(user, project)
    from django.core.files.uploadedfile import SimpleUploadedFile
    with pytest.raises(InvalidInput):
        claim(applicant, project, upload=SimpleUploadedFile("报告.pdf", EXE_BYTES))
    with pytest.raises(InvalidInput):
        claim(applicant, project, amount="0")
    unsigned = established_project(granted=D("100000.00"), officer=officer, organization=org,
                                   call=CallFactory(program=program))
    with pytest.raises(TransitionRefused):
        claim(applicant, unsigned)
    ordinary = established_project(granted=D("100000.00"), officer=officer, organization=org)
    signed(ordinary, officer)
    with pytest.raises(TransitionRefused) as e:
        claim(applicant, ordinary)
    assert "不属于后补助类计划" in str(e.value)
    assert not PostSubsidyClaim.objects.exists()


# ---- verifying ---------------------------------------------------------------------------------------------------------


def test_verification_needs_a_configured_percentage(applicant, project, officer):
    c = claim(applicant, project)
    with pytest.raises(TransitionRefused) as e:
        fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="900000.00")
    assert "尚未设置后补助比例" in str(e.value)
    assert PostSubsidyClaim.objects.get(pk=c.pk).state == "submitted"


def test_verification_caps_by_the_scheme_and_makes_the_tranche_due(applicant, project, officer, scheme, clerk,
                                                                    approver, org_admin):
    c = claim(applicant, project)
    with pytest.raises(PermissionRefused):
        fsub.verify_claim(actor=applicant, claim_id=c.pk, verified_expense="900000.00")
    with pytest.raises(InvalidInput) as e:
        fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="1000000.01")
    assert "不能超过申报的" in str(e.value)
    c = fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="900000.00", note="核减不合规费用")
    assert (c.state, c.verified_expense, c.percent, c.cap, c.subsidy_amount) == (
        "verified", D("900000.00"), D("30.00"), D("200000.00"), D("200000.00"))
    (tranche,) = project.agreement.tranches.all()
    assert (tranche.amount, tranche.state) == (D("200000.00"), "due")
    # the agreement now grants the verified subsidy: the ledger plans it, and the budget lines add up to it
    agreement = TaskAgreement.objects.get(pk=project.agreement.pk)
    assert agreement.fiscal_amount == D("200000.00")
    assert sum(line.fiscal_amount for line in agreement.budget_lines.all()) == D("200000.00")
    assert Notification.objects.filter(kind="tranche_due", recipient=clerk).exists()
    told = {n.recipient for n in Notification.objects.filter(kind="subsidy_claim_decided")}
    assert {applicant, org_admin} <= told
    # paid once, through the ordinary four-eyes path
    pay(tranche, clerk, approver)
    tranche.refresh_from_db()
    assert (tranche.state, tranche.paid_amount) == ("paid", D("200000.00"))
    with pytest.raises(TransitionRefused):
        fs.record_disbursement(actor=clerk, tranche_id=tranche.pk, amount="1.00", voucher_no="V2", paid_on=TODAY,
                               idempotency_key="second-payment-01")
    with pytest.raises(TransitionRefused) as e:
        claim(applicant, project)
    assert "只核定一次" in str(e.value)
    with pytest.raises(TransitionRefused):
        fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="900000.00")


def test_the_grant_caps_the_subsidy_and_the_calls_percentage_wins(program, officer, org, applicant, scheme):
    project = post_subsidy_project(program, officer, org, granted=D("100000.00"))
    FundingScheme.objects.create(call=project.call, name="指南方案", subsidy_percent=D("12.5"))
    c = claim(applicant, project, amount="333.33")
    c = fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="333.33")
    assert (c.percent, c.cap, c.subsidy_amount) == (D("12.50"), None, D("41.67"))
    project2 = post_subsidy_project(program, officer, org, granted=D("100000.00"))
    FundingScheme.objects.filter(program=program).update(subsidy_cap=None)
    c2 = fsub.verify_claim(actor=officer, claim_id=claim(applicant, project2).pk, verified_expense="1000000.00")
    assert c2.subsidy_amount == D("100000.00")  # 300,000 by the percentage, the grant is 100,000


def test_a_subsidy_of_zero_is_refused(applicant, project, officer, scheme):
    c = claim(applicant, project, amount="0.01")
    with pytest.raises(InvalidInput):
        fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="0.01")


# ---- return and resubmit ------------------------------------------------------------------------------------------


def test_return_and_resubmit_replaces_the_report(applicant, project, officer, scheme,
                                                 django_capture_on_commit_callbacks):
    c = claim(applicant, project)
    old_name = c.audit_report.name
    with pytest.raises(InvalidInput):
        fsub.return_claim(actor=officer, claim_id=c.pk, reason="")
    with pytest.raises(PermissionRefused):
        fsub.return_claim(actor=applicant, claim_id=c.pk, reason="x")
    c = fsub.return_claim(actor=officer, claim_id=c.pk, reason="审计报告缺少附表")
    assert c.state == "returned" and c.decision_note == "审计报告缺少附表"
    assert Notification.objects.filter(kind="subsidy_claim_decided", recipient=applicant).exists()
    with pytest.raises(TransitionRefused):
        fsub.verify_claim(actor=officer, claim_id=c.pk, verified_expense="1.00")
    storage = c.audit_report.storage
    with django_capture_on_commit_callbacks(execute=True):
        c2 = claim(applicant, project, amount="800000.00", upload=pdf_upload("补正审计报告.pdf", PDF_BYTES + b"%v2"))
    assert c2.pk == c.pk and c2.state == "submitted" and c2.claimed_expense == D("800000.00")
    assert c2.audit_report_name == "补正审计报告.pdf" and c2.audit_report_sha256 != c.audit_report_sha256
    assert not storage.exists(old_name) and storage.exists(c2.audit_report.name)
    assert AuditEvent.objects.filter(verb="resubmit").exists()
    c2 = fsub.verify_claim(actor=officer, claim_id=c2.pk, verified_expense="500000.00")
    assert c2.subsidy_amount == D("150000.00")

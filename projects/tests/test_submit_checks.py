"""Each submit check refuses with its own message and changes nothing; a clean application passes."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import InvalidInput
from accounts.models import Organization
from accounts.tests.factories import CreditRecordFactory, OrganizationFactory, UserFactory
from activity.models import AuditEvent
from projects import services
from projects.models import Application, AttachmentKind
from projects.tests.factories import ApplicationFactory, AttachmentFactory, CallFactory, set_state

pytestmark = pytest.mark.django_db

A = Application.State


def submit_refused(app, actor, *fragments):
    """Submit must be refused with every fragment in the messages, leaving the application as it was."""
    before = (app.state, app.revision, app.number, AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as exc:
        services.submit_application(actor=actor, application_id=app.pk)
    text = "\n".join(exc.value.messages)
    for fragment in fragments:
        assert fragment in text, text
    app.refresh_from_db()
    assert (app.state, app.revision, app.number, AuditEvent.objects.count()) == before
    return exc.value.messages


def test_clean_application_submits(draft_app, applicant):
    assert services.submission_problems(draft_app) == []
    assert services.submit_application(actor=applicant, application_id=draft_app.pk).state == A.SUBMITTED


def test_window_not_yet_open(applicant, org):
    call = CallFactory(opens_at=timezone.now() + datetime.timedelta(days=2),
                       closes_at=timezone.now() + datetime.timedelta(days=20))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    submit_refused(app, applicant, "申报尚未开始")


def test_window_closed_by_server_time_even_before_the_sweeper_runs(draft_app, applicant):
    with time_machine.travel(draft_app.call.closes_at + datetime.timedelta(seconds=1)):
        assert draft_app.call.state == "published"  # the sweeper has not closed it yet
        submit_refused(draft_app, applicant, "申报已截止")


def test_submission_one_second_before_closing_is_accepted(draft_app, applicant):
    with time_machine.travel(draft_app.call.closes_at - datetime.timedelta(seconds=1)):
        assert services.submit_application(actor=applicant, application_id=draft_app.pk).state == A.SUBMITTED


def test_bureau_return_may_be_resubmitted_after_the_call_closed(draft_app, applicant):
    app = set_state(draft_app, A.RETURNED)
    with time_machine.travel(draft_app.call.closes_at + datetime.timedelta(days=3)):
        assert services.submit_application(actor=applicant, application_id=app.pk).state == A.SUBMITTED


def test_org_returned_after_closing_cannot_be_resubmitted(draft_app, applicant):
    app = set_state(draft_app, A.ORG_RETURNED)
    with time_machine.travel(draft_app.call.closes_at + datetime.timedelta(days=1)):
        submit_refused(app, applicant, "申报已截止")


@pytest.mark.parametrize("state", [Organization.State.PENDING, Organization.State.RETURNED])
def test_organization_not_verified(state, draft_app, applicant, org):
    Organization.objects.filter(pk=org.pk).update(state=state)
    submit_refused(draft_app, applicant, "尚未通过科技局认证", str(Organization.State(state).label))


def test_running_penalty_of_the_organization(draft_app, applicant, org):
    CreditRecordFactory(organization=org, penalty_start=timezone.localdate() - datetime.timedelta(days=30),
                        penalty_end=timezone.localdate() + datetime.timedelta(days=30))
    submit_refused(draft_app, applicant, org.name, "较重失信", "期间不得申报")


def test_running_penalty_of_the_leader_by_id_number(draft_app, applicant):
    services.update_application(actor=applicant, application_id=draft_app.pk,
                                data={"leader_id_number": "330106198001011234"})
    CreditRecordFactory(person_name=draft_app.leader_name, person_id_number="330106198001011234",
                        severity="severe", penalty_start=timezone.localdate() - datetime.timedelta(days=1),
                        penalty_end=None)
    submit_refused(draft_app, applicant, "项目负责人", "严重失信", "长期")


def test_penalty_ending_yesterday_or_revoked_does_not_block(draft_app, applicant, org):
    today = timezone.localdate()
    CreditRecordFactory(organization=org, penalty_start=today - datetime.timedelta(days=400),
                        penalty_end=today - datetime.timedelta(days=1))
    CreditRecordFactory(organization=org, penalty_start=today - datetime.timedelta(days=5),
                        revoked_at=timezone.now(), revoke_reason="录入错误")
    assert services.submit_application(actor=applicant, application_id=draft_app.pk).state == A.SUBMITTED


def test_penalty_ending_today_still_blocks(draft_app, applicant, org):
    today = timezone.localdate()
    CreditRecordFactory(organization=org, penalty_start=today - datetime.timedelta(days=10), penalty_end=today)
    submit_refused(draft_app, applicant, "期间不得申报")


def test_required_high_tech_qualification_expired(applicant, org):
    call = CallFactory(required_qualifications=["high_tech"])
    Organization.objects.filter(pk=org.pk).update(high_tech_cert_no="GR202433000123",
                                                  high_tech_expires=timezone.localdate() - datetime.timedelta(days=1))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    submit_refused(app, applicant, "高新技术企业", "不具备或已过期")
    Organization.objects.filter(pk=org.pk).update(high_tech_expires=timezone.localdate())
    assert services.submit_application(actor=applicant, application_id=app.pk).state == A.SUBMITTED


def test_required_tech_sme_must_be_this_year(applicant, org):
    call = CallFactory(required_qualifications=["tech_sme"])
    year = timezone.localdate().year
    Organization.objects.filter(pk=org.pk).update(tech_sme_no="20263301060001234", tech_sme_year=year - 1)
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    submit_refused(app, applicant, "科技型中小企业")
    Organization.objects.filter(pk=org.pk).update(tech_sme_year=year)
    assert services.submit_application(actor=applicant, application_id=app.pk).state == A.SUBMITTED


def test_ineligible_organization_kind(applicant, org):
    call = CallFactory(eligible_org_kinds=["university", "institute"])
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    submit_refused(app, applicant, "仅限以下单位申报", "高等院校", "科研院所", "企业")


def test_fiscal_request_over_the_cap(applicant, org):
    call = CallFactory(cap_per_project=Decimal("500000.00"), min_self_funding_ratio=Decimal("0"))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant,
                             budget={"equipment": ("500000.00", "0"), "labour": ("0.01", "0")})
    submit_refused(app, applicant, "500,000.01", "超过本指南单项上限", "500,000.00")


def test_fiscal_request_exactly_at_the_cap_passes(applicant, org):
    call = CallFactory(cap_per_project=Decimal("500000.00"), min_self_funding_ratio=Decimal("0"))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant,
                             budget={"equipment": ("300000.00", "0"), "labour": ("200000.00", "0")})
    assert services.submit_application(actor=applicant, application_id=app.pk).state == A.SUBMITTED


def test_self_funding_ratio_not_met(applicant, org):
    call = CallFactory(min_self_funding_ratio=Decimal("0.5"))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant,
                             budget={"equipment": ("100000.01", "100000.00")})
    submit_refused(app, applicant, "自筹资金比例", "低于本指南要求的 50.00%")


def test_self_funding_ratio_exactly_met_passes(applicant, org):
    call = CallFactory(min_self_funding_ratio=Decimal("0.5"))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant,
                             budget={"equipment": ("100000.00", "100000.00")})
    assert services.submit_application(actor=applicant, application_id=app.pk).state == A.SUBMITTED


def test_no_budget(applicant, org, open_call):
    app = ApplicationFactory(call=open_call, organization=org, created_by=applicant, budget=False)
    submit_refused(app, applicant, "尚未填写预算")


def test_required_fields_missing(draft_app, applicant):
    Application.objects.filter(pk=draft_app.pk).update(summary="", start_date=None)
    submit_refused(draft_app, applicant, "必填项尚未填写", "项目简介", "开始日期")


def test_required_attachments_missing(applicant, org):
    call = CallFactory(required_attachment_kinds=[AttachmentKind.FEASIBILITY, AttachmentKind.BUSINESS_LICENSE])
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    AttachmentFactory(application=app, kind=AttachmentKind.FEASIBILITY)
    removed = AttachmentFactory(application=app, kind=AttachmentKind.BUSINESS_LICENSE)
    services.remove_attachment(actor=applicant, attachment_id=removed.pk)
    messages = submit_refused(app, applicant, "缺少必传附件", "营业执照或法人证书")
    assert "项目可行性报告" not in "".join(messages)


def test_per_organization_limit(applicant, org):
    call = CallFactory(max_applications_per_org=1)
    first = ApplicationFactory(call=call, organization=org, created_by=applicant)
    second = ApplicationFactory(call=call, organization=org, created_by=applicant)
    services.submit_application(actor=applicant, application_id=first.pk)
    submit_refused(second, applicant, "每单位限报 1 项", "已提交 1 项")
    # a withdrawn application frees its place
    services.withdraw_application(actor=applicant, application_id=first.pk)
    assert services.submit_application(actor=applicant, application_id=second.pk).state == A.SUBMITTED


def test_same_leader_in_two_applications_of_one_call_by_id_number(applicant, org, open_call):
    other_org = OrganizationFactory()
    other_user = UserFactory(organization=other_org, roles=["applicant"])
    first = ApplicationFactory(call=open_call, organization=other_org, created_by=other_user,
                               leader_name="王教授", leader_id_number="330106197501011111")
    services.submit_application(actor=other_user, application_id=first.pk)
    second = ApplicationFactory(call=open_call, organization=org, created_by=applicant,
                                leader_name="王教授", leader_id_number="330106197501011111")
    submit_refused(second, applicant, "王教授", "多头申报", first.title, other_org.name)


def test_same_leader_by_name_and_phone_without_id(applicant, org, open_call):
    first = ApplicationFactory(call=open_call, organization=org, created_by=applicant,
                               leader_name="李研究员", leader_phone="13900001111")
    services.submit_application(actor=applicant, application_id=first.pk)
    second = ApplicationFactory(call=open_call, organization=org, created_by=applicant,
                                leader_name="李研究员", leader_phone="13900001111")
    submit_refused(second, applicant, "多头申报")
    # the same person may lead an application in another call
    third = ApplicationFactory(call=CallFactory(), organization=org, created_by=applicant,
                               leader_name="李研究员", leader_phone="13900001111")
    assert services.submit_application(actor=applicant, application_id=third.pk).state == A.SUBMITTED


def test_all_problems_are_reported_together(applicant, org):
    Organization.objects.filter(pk=org.pk).update(state=Organization.State.PENDING)
    call = CallFactory(cap_per_project=Decimal("1000.00"), required_attachment_kinds=["feasibility"])
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    messages = submit_refused(app, applicant, "尚未通过科技局认证", "超过本指南单项上限", "缺少必传附件")
    assert len(messages) == 3


def test_id_numbers_are_compared_regardless_of_case_and_spaces(applicant, org, open_call, officer):
    first = ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    services.update_application(actor=applicant, application_id=first.pk, data={"leader_id_number": "33010619800101123X"})
    services.submit_application(actor=applicant, application_id=first.pk)
    second = ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    services.update_application(actor=applicant, application_id=second.pk,
                                data={"leader_id_number": " 330106 19800101 123x "})
    second.refresh_from_db()
    assert second.leader_id_number == "33010619800101123X"
    submit_refused(second, applicant, "多头申报")


def test_leader_penalty_recorded_with_lower_case_x_still_blocks(draft_app, applicant, officer):
    from accounts.services import record_credit

    record_credit(actor=officer, data={
        "person_name": draft_app.leader_name, "person_id_number": "33010619800101123x", "severity": "general",
        "reason": "项目经费违规使用", "penalty_start": timezone.localdate(), "penalty_end": None,
    })
    services.update_application(actor=applicant, application_id=draft_app.pk,
                                data={"leader_id_number": "33010619800101123X"})
    submit_refused(draft_app, applicant, "项目负责人", "一般失信")


@pytest.mark.parametrize("field", ["start_date", "end_date"])
@pytest.mark.parametrize("day", [datetime.date(1, 1, 1), datetime.date(1999, 12, 31), datetime.date(9999, 12, 31)])
def test_absurd_project_dates_are_refused(field, day, draft_app, applicant):
    with pytest.raises(InvalidInput, match="应在 2000-01-01 至 2100-12-31 之间"):
        services.update_application(actor=applicant, application_id=draft_app.pk, data={field: day})
    draft_app.refresh_from_db()
    assert getattr(draft_app, field) != day


def test_end_before_start_is_refused(draft_app, applicant):
    with pytest.raises(InvalidInput, match="结束日期不能早于开始日期"):
        services.update_application(actor=applicant, application_id=draft_app.pk,
                                    data={"start_date": datetime.date(2028, 1, 1), "end_date": datetime.date(2027, 1, 1)})


# ---- one source of truth: the pages show what the submit check judges ------------------------------


@pytest.mark.parametrize(
    "budget, cap_ok, ratio_ok",
    [
        ({"equipment": (Decimal("500000.00"), Decimal("500000.00"))}, True, True),  # at the cap, exactly 50 %
        ({"equipment": (Decimal("500000.01"), Decimal("600000.00"))}, False, True),
        ({"equipment": (Decimal("400000.00"), Decimal("399999.99"))}, True, False),
        ({"labour": (Decimal("0"), Decimal("0"))}, True, False),  # no budget: ratio not met, its own problem
    ],
)
def test_budget_summary_is_the_submit_checks_judgement(applicant, org, open_call, budget, cap_ok, ratio_ok):
    app = ApplicationFactory(call=open_call, organization=org, created_by=applicant, budget=budget)
    summary = services.budget_summary(app)
    problems = "\n".join(services.submission_problems(app))
    assert summary["cap_ok"] is cap_ok
    assert ("超过本指南单项上限" not in problems) is cap_ok
    assert summary["ratio_ok"] is ratio_ok
    assert ("自筹资金比例" in problems) is (not ratio_ok and summary["total"] > 0)
    assert [r["category"] for r in summary["rows"]] == ["equipment", "business", "labour"]
    assert summary["total"] == sum((a + b for a, b in budget.values()), Decimal("0"))


def test_required_attachments_is_the_submit_checks_judgement(applicant, org):
    call = CallFactory(required_attachment_kinds=[AttachmentKind.FEASIBILITY, AttachmentKind.ETHICS, "gone"])
    app = ApplicationFactory(call=call, organization=org, created_by=applicant)
    AttachmentFactory(application=app, kind=AttachmentKind.FEASIBILITY)
    AttachmentFactory(application=app, kind=AttachmentKind.ETHICS, removed_at=timezone.now())
    status = {k["kind"]: k["present"] for k in services.required_attachments(app)}
    assert status == {AttachmentKind.FEASIBILITY: True, AttachmentKind.ETHICS: False}
    assert "缺少必传附件：伦理审查或安全承诺。" in services.submission_problems(app)


def test_ratio_just_below_the_minimum_never_reads_as_the_minimum(applicant, org):
    call = CallFactory(min_self_funding_ratio=Decimal("0.5"))
    app = ApplicationFactory(call=call, organization=org, created_by=applicant,
                             budget={"equipment": ("500040.00", "499960.00")})
    submit_refused(app, applicant, "自筹资金比例 49.99% 低于本指南要求的 50.00%")

"""The funding admin: the bureau configures default tranche plans (percentages totalling 100); agreements, tranches
and disbursements are read-only and never deleted; pages run a fixed number of queries."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.models import AuditEvent
from funding import services as fs
from funding.models import Disbursement, FundingScheme, SchemeTranche, TaskAgreement, Tranche
from projects.tests.factories import CallFactory, ProgramFactory

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def finance_staff(db):
    return UserFactory(roles=["finance"], is_staff=True, real_name="钱财务")


@pytest.fixture
def approver(db):
    return UserFactory(roles=["finance"], real_name="孙审核")


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], is_staff=True, real_name="刘局长")


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


def admin_url(model, view, *args):
    return reverse(f"admin:funding_{model}_{view}", args=args)


def result_count(html) -> str:
    return re.search(r'<p class="paginator">\s*(.*?)\s*</p>', html, re.S).group(1).strip()


def populate(n, officer, clerk, approver):
    """``n`` signed agreements, each with its first tranche paid, a second payment awaiting approval on a dated
    tranche, and a call's scheme per agreement."""
    for i in range(n):
        scheme = FundingScheme.objects.create(call=CallFactory(), name=f"方案{i}")
        SchemeTranche.objects.create(scheme=scheme, position=1, name="首期", percent=70, condition="signing")
        SchemeTranche.objects.create(scheme=scheme, position=2, name="尾款", percent=30, condition="acceptance")
        agreement = established_project(officer=officer).agreement
        admin = UserFactory(roles=["org_admin"], organization=agreement.project.organization)
        fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
        fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)
        first = agreement.tranches.get(position=1)
        d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="100000.00", voucher_no=f"V{i}-1",
                                   paid_on=TODAY, idempotency_key=f"admin-{i:04d}-1")
        fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
        fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="1000.00", voucher_no=f"V{i}-2",
                               paid_on=TODAY, idempotency_key=f"admin-{i:04d}-2")
    return agreement


#: model → rows per populated agreement
CHANGELISTS = {"taskagreement": 1, "tranche": 3, "disbursement": 2, "fundingscheme": 1, "agreementbudgetline": 3}


@pytest.mark.parametrize("who", ["officer", "finance_staff", "supervisor"])
@pytest.mark.parametrize("rows", [2, 6])
def test_changelists_render_for_the_bureau_with_fixed_queries(client, request, django_assert_max_num_queries,
                                                              officer, finance_staff, approver, who, rows):
    populate(rows, officer, finance_staff, approver)
    client.force_login(request.getfixturevalue(who))
    for model, per in CHANGELISTS.items():
        with django_assert_max_num_queries(9):
            response = client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model
        plural = response.context["cl"].model._meta.verbose_name_plural
        assert result_count(response.content.decode()) == f"{rows * per} {plural}"


@pytest.mark.parametrize("rows", [2, 6])
def test_change_pages_render_with_fixed_queries(client, django_assert_max_num_queries, officer, finance_staff,
                                                approver, rows):
    agreement = populate(rows, officer, finance_staff, approver)
    # a longer plan and more payments on the agreement shown must not cost more queries
    for i in range(rows):
        fs.record_disbursement(actor=finance_staff, tranche_id=agreement.tranches.get(position=1).pk,
                               amount="1.00", voucher_no=f"X{i}", paid_on=TODAY, idempotency_key=f"extra-{i:04d}")
    pages = [
        admin_url("taskagreement", "change", agreement.pk),
        admin_url("tranche", "change", agreement.tranches.first().pk),
        admin_url("disbursement", "change", agreement.disbursements.first().pk),
        admin_url("fundingscheme", "change", FundingScheme.objects.first().pk),
        admin_url("fundingscheme", "add"),
    ]
    for user in (officer, finance_staff):
        client.force_login(user)
        for page in pages:
            if user is finance_staff and page.endswith("/add/"):
                assert client.get(page).status_code == 403  # finance views the plans, the officers set them
                continue
            with django_assert_max_num_queries(12):
                response = client.get(page)
            assert response.status_code == 200, page


def test_the_agreement_page_shows_its_money_read_only(client, officer, finance_staff, approver):
    agreement = populate(1, officer, finance_staff, approver)
    client.force_login(officer)
    html = client.get(admin_url("taskagreement", "change", agreement.pk)).content.decode()
    assert "300,000.00" in html  # 财政资金 with thousands separators
    assert "100,000.00" in html and "V0-1" in html and "V0-2" in html  # its disbursements inline
    assert agreement.number in html and "发明专利申请" in html  # its targets
    assert 'name="_save"' not in html  # nothing to save


@pytest.mark.parametrize("model", ["taskagreement", "tranche", "disbursement"])
def test_money_records_are_never_added_or_deleted(client, officer, finance_staff, approver, superuser, model):
    agreement = populate(1, officer, finance_staff, approver)
    obj = {"taskagreement": agreement, "tranche": agreement.tranches.first(),
           "disbursement": agreement.disbursements.first()}[model]
    for user in (officer, finance_staff, superuser):
        client.force_login(user)
        assert client.get(admin_url(model, "add")).status_code == 403
        assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        changelist = client.get(admin_url(model, "changelist")).content.decode()
        assert "delete_selected" not in changelist
    assert TaskAgreement.objects.count() == 1 and Tranche.objects.count() == 3 and Disbursement.objects.count() == 2


def test_a_user_outside_the_bureau_reaches_no_funding_admin(client, officer, finance_staff, approver):
    agreement = populate(1, officer, finance_staff, approver)
    outsider = UserFactory(roles=["applicant", "org_admin"], organization=agreement.project.organization,
                           is_staff=True)
    client.force_login(outsider)
    for model in CHANGELISTS:
        assert client.get(admin_url(model, "changelist")).status_code == 403
    assert client.get(admin_url("taskagreement", "change", agreement.pk)).status_code == 403


# ---- the scheme form -------------------------------------------------------------------------------------------


def scheme_post(name, *, program=None, call=None, steps=()):
    data = {"name": name, "program": program.pk if program else "", "call": call.pk if call else "",
            "adjust_percent": "10.00",  # the form's initial value (预算调整 delegation)
            "steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "1000"}
    for i, (step_name, percent, condition, checkpoint) in enumerate(steps):
        data.update({f"steps-{i}-position": str(i + 1), f"steps-{i}-name": step_name,
                     f"steps-{i}-percent": percent, f"steps-{i}-condition": condition,
                     f"steps-{i}-checkpoint": checkpoint})
    return data


def errors_of(response) -> str:
    html = response.content.decode()
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', html, re.S))


def test_the_scheme_form_refuses_percents_not_totalling_100(client, officer):
    program = ProgramFactory()
    client.force_login(officer)
    response = client.post(admin_url("fundingscheme", "add"), scheme_post("六四开", program=program, steps=[
        ("首期", "60", "signing", ""), ("二期", "30", "checkpoint", "midterm")]))
    assert response.status_code == 200
    assert "各步骤比例合计须为100%，当前为90%。" in errors_of(response)
    assert not FundingScheme.objects.exists()

    response = client.post(admin_url("fundingscheme", "add"), scheme_post("空方案", program=program))
    assert "请至少设置一个拨付步骤。" in errors_of(response)
    assert not FundingScheme.objects.exists()


def test_the_scheme_form_refuses_a_date_step_a_missing_checkpoint_and_a_double_scope(client, officer):
    program = ProgramFactory()
    call = CallFactory(program=program)
    client.force_login(officer)
    response = client.post(admin_url("fundingscheme", "add"), scheme_post("有误的方案", program=program, steps=[
        ("首期", "50", "date", ""), ("二期", "50", "checkpoint", "")]))
    errors = errors_of(response)
    assert "拨付方案不能使用“指定日期”条件" in errors and "请填写考核节点" in errors
    response = client.post(admin_url("fundingscheme", "add"), scheme_post("两头都选", program=program, call=call,
                                                                          steps=[("全额", "100", "signing", "")]))
    assert "请选择计划类别或申报指南中的一项" in errors_of(response)
    assert not FundingScheme.objects.exists()


def test_an_officer_sets_a_calls_plan_and_new_agreements_follow_it(client, officer):
    call = CallFactory()
    client.force_login(officer)
    response = client.post(admin_url("fundingscheme", "add"), scheme_post("本指南：五五开", call=call, steps=[
        ("签订后", "50", "signing", "midterm"), ("中期后", "33.33", "checkpoint", "midterm"),
        ("验收后", "16.67", "acceptance", "")]))
    assert response.status_code == 302, errors_of(response)
    scheme = FundingScheme.objects.get()
    assert [(s.name, s.percent, s.checkpoint) for s in scheme.steps.all()] == [
        ("签订后", Decimal("50.00"), ""), ("中期后", Decimal("33.33"), "midterm"), ("验收后", Decimal("16.67"), "")]
    assert AuditEvent.objects.filter(verb="create", target_id=str(scheme.pk)).exists()

    agreement = established_project(call=call, granted=Decimal("100000.00"), officer=officer).agreement
    assert [(t.amount, t.condition) for t in agreement.tranches.all()] == [
        (Decimal("50000.00"), "signing"), (Decimal("33330.00"), "checkpoint"), (Decimal("16670.00"), "acceptance")]


def test_finance_and_the_supervisor_view_schemes_but_do_not_change_them(client, finance_staff, supervisor):
    scheme = FundingScheme.objects.create(program=ProgramFactory(), name="默认方案")
    SchemeTranche.objects.create(scheme=scheme, name="全额", percent=100, condition="signing")
    for user in (finance_staff, supervisor):
        client.force_login(user)
        page = client.get(admin_url("fundingscheme", "change", scheme.pk))
        assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
        response = client.post(admin_url("fundingscheme", "change", scheme.pk),
                               scheme_post("改名", program=scheme.program, steps=[("全额", "100", "signing", "")]))
        assert response.status_code == 403
    scheme.refresh_from_db()
    assert scheme.name == "默认方案"

"""The 任务书 pages (funding.views.agreements): the list, one agreement, the officer's edits of the terms and the
tranche plan, the two confirmations, the print view; and that nobody outside the project's organisation and the
bureau reaches any of them."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from funding import budget as fb
from funding import services as fs
from funding.models import AgreementBudgetLine, Disbursement, TaskAgreement, Tranche

from .factories import established_project

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def project(org, officer):
    return established_project(organization=org, officer=officer, granted=Decimal("300000.00"))


@pytest.fixture
def agreement(project):
    return project.agreement


def detail(a):
    return reverse("funding:agreement", args=[a.pk])


def snapshot(a):
    a = TaskAgreement.objects.get(pk=a.pk)
    return (a.state, a.updated_at, a.self_amount, a.start_date, a.end_date, a.targets, a.org_confirmed_at,
            a.office_confirmed_at,
            list(Tranche.objects.filter(agreement=a).values_list("position", "name", "amount", "condition", "state")),
            Disbursement.objects.filter(agreement=a).count())


def sign(agreement, officer):
    admin = UserFactory(roles=["org_admin"], organization=agreement.project.organization)
    fs.confirm_agreement(actor=admin, agreement_id=agreement.pk)
    return fs.confirm_agreement(actor=officer, agreement_id=agreement.pk)


def tranche_post(rows):
    data = {"tranches-TOTAL_FORMS": str(len(rows)), "tranches-INITIAL_FORMS": "0", "tranches-MIN_NUM_FORMS": "0",
            "tranches-MAX_NUM_FORMS": "20"}
    for i, row in enumerate(rows):
        for k, v in row.items():
            data[f"tranches-{i}-{k}"] = v
    return data


def edit_post(start="2026-01-01", end="2027-12-31", self_amount="120000.50", targets=()):
    data = {"start_date": start, "end_date": end, "self_amount": self_amount,
            "targets-TOTAL_FORMS": str(len(targets)), "targets-INITIAL_FORMS": "0", "targets-MIN_NUM_FORMS": "0",
            "targets-MAX_NUM_FORMS": "50"}
    for i, t in enumerate(targets):
        for k, v in t.items():
            data[f"targets-{i}-{k}"] = v
    return data


# ---- the list --------------------------------------------------------------------------------------------


def test_the_organisation_lists_its_own_agreements_only(client, agreement, applicant, other_org, officer):
    other = established_project(organization=other_org, officer=officer).agreement
    client.force_login(applicant)
    r = client.get(reverse("funding:agreements"))
    assert r.status_code == 200
    assert agreement.number in body(r) and other.number not in body(r)
    assert "尚未起草任务书的项目" not in body(r)  # the officer's section
    assert "300,000.00" in body(r)


def test_the_list_filters_by_state_and_search(client, officer, agreement, other_org):
    other = established_project(organization=other_org, officer=officer, title="另一个无关项目").agreement
    sign(other, officer)
    client.force_login(officer)
    r = client.get(reverse("funding:agreements"), {"state": "signed"})
    assert other.number in body(r) and agreement.number not in body(r)
    r = client.get(reverse("funding:agreements"), {"q": agreement.project.title})
    assert agreement.number in body(r) and other.number not in body(r)


@pytest.mark.parametrize("n", [1, 6])
def test_the_list_runs_a_fixed_number_of_queries(client, officer, org, n, django_assert_max_num_queries):
    for _ in range(n):
        established_project(organization=org, officer=officer)
    client.force_login(officer)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("funding:agreements")).status_code == 200
    agreement = TaskAgreement.objects.filter(project__organization=org).first()
    for name in ("funding:agreement_edit", "funding:agreement_tranches", "funding:agreement_print"):
        with django_assert_max_num_queries(10):
            assert client.get(reverse(name, args=[agreement.pk])).status_code == 200


def test_officer_drafts_the_agreement_of_a_project_without_one(client, officer, applicant, project):
    Tranche.objects.filter(agreement__project=project).delete()
    AgreementBudgetLine.objects.filter(agreement__project=project).delete()
    TaskAgreement.objects.filter(project=project).delete()
    client.force_login(applicant)
    assert client.post(reverse("funding:draft", args=[project.pk])).status_code == 404
    assert not TaskAgreement.objects.filter(project=project).exists()
    client.force_login(officer)
    r = client.get(reverse("funding:agreements"))
    assert "尚未起草任务书的项目" in body(r) and project.number in body(r)
    r = client.post(reverse("funding:draft", args=[project.pk]), follow=True)
    agreement = TaskAgreement.objects.get(project=project)
    assert r.redirect_chain[-1][0] == detail(agreement)
    assert "已起草任务书" in body(r)
    assert agreement.tranches.count() == 3
    r = client.get(reverse("funding:agreements"))
    assert "所有在研项目都已有任务书" in body(r)


# ---- one agreement ---------------------------------------------------------------------------------------


def test_detail_shows_terms_plan_and_the_two_party_rule(client, org_admin, agreement):
    client.force_login(org_admin)
    r = client.get(detail(agreement))
    html = body(r)
    assert r.status_code == 200
    for text in (agreement.number, agreement.project.title, "300,000.00", "180,000.00", "90,000.00", "30,000.00",
                 "任务书签订后", "中期检查通过后", "验收通过后", "发明专利申请", "双方都确认后即签订生效"):
        assert text in html
    assert 'data-testid="confirm-form"' in html
    assert "以承担单位名义确认任务书" in html
    assert 'data-testid="edit-link"' not in html  # only officers edit
    assert 'data-testid="record-link"' not in html


@pytest.mark.parametrize("role", ["officer", "org_admin", "finance"])
def test_detail_runs_a_fixed_number_of_queries(client, officer, org, role, django_assert_max_num_queries):
    project = established_project(organization=org, officer=officer)
    agreement = sign(project.agreement, officer)
    clerk, approver = UserFactory(roles=["finance"]), UserFactory(roles=["finance"])
    first = agreement.tranches.get(position=1)
    for i in range(3):
        d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="10000.00", voucher_no=f"V{i}",
                                   paid_on=TODAY, idempotency_key=f"key-{i}-000000")
        fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    user = {"officer": officer, "finance": UserFactory(roles=["finance"]),
            "org_admin": UserFactory(roles=["org_admin"], organization=org)}[role]
    requester = UserFactory(roles=["applicant"], organization=org)
    for i in range(3):  # 预算调整 history: the budget card's queries do not grow with it
        lines = {x.category: x for x in AgreementBudgetLine.objects.filter(agreement=agreement)}
        fb.request_adjustment(actor=requester, agreement_id=agreement.pk, reason=f"调整{i}", lines={
            "business": {"fiscal": lines["business"].fiscal_amount - 100, "self": lines["business"].self_amount},
            "labour": {"fiscal": lines["labour"].fiscal_amount + 100, "self": lines["labour"].self_amount}})
    client.force_login(user)
    with django_assert_max_num_queries(16):
        r = client.get(detail(agreement))
    assert r.status_code == 200
    assert body(r).count('data-testid="disbursement"') == 3
    assert body(r).count('data-testid="adjustment"') == 3


def test_finance_sees_record_and_reverse_links(client, officer, agreement, finance_user):
    agreement = sign(agreement, officer)
    clerk, approver = UserFactory(roles=["finance"]), UserFactory(roles=["finance"])
    first = agreement.tranches.get(position=1)
    d = fs.record_disbursement(actor=clerk, tranche_id=first.pk, amount="80000.00", voucher_no="BANK-001",
                               paid_on=TODAY, idempotency_key="pay-0001-abcd")
    fs.approve_disbursement(actor=approver, disbursement_id=d.pk)
    client.force_login(finance_user)
    html = body(client.get(detail(agreement)))
    assert reverse("funding:record", args=[first.pk]) in html  # 100,000.00 still due on tranche 1
    assert reverse("funding:reverse", args=[d.pk]) in html
    assert "BANK-001" in html and "80,000.00" in html and "220,000.00" in html  # paid, unpaid
    fs.reverse_disbursement(actor=clerk, disbursement_id=d.pk, voucher_no="BANK-001-R", paid_on=TODAY,
                            idempotency_key="rev-0001-abcd", note="银行退回")
    html = body(client.get(detail(agreement)))
    assert reverse("funding:reverse", args=[d.pk]) not in html  # already has a reversal
    client.force_login(officer)  # not finance: no finance links
    html = body(client.get(detail(agreement)))
    assert reverse("funding:record", args=[first.pk]) not in html and "BANK-001" in html


# ---- confirming ------------------------------------------------------------------------------------------


def test_org_admin_then_officer_confirm_and_the_first_tranche_is_due(client, org_admin, officer, agreement):
    client.force_login(org_admin)
    r = client.post(reverse("funding:agreement_confirm", args=[agreement.pk]), follow=True)
    assert "等待另一方确认" in body(r)
    agreement.refresh_from_db()
    assert agreement.state == "org_confirmed" and agreement.org_confirmed_by == org_admin
    assert 'data-testid="confirm-form"' not in body(r)  # confirmed already
    assert "李管理" in body(r)

    client.force_login(officer)
    r = client.get(detail(agreement))
    assert "以科技局名义确认任务书" in body(r)
    r = client.post(reverse("funding:agreement_confirm", args=[agreement.pk]), follow=True)
    assert "任务书已签订生效" in body(r)
    agreement.refresh_from_db()
    assert agreement.state == "signed" and agreement.signed_at
    html = body(r)
    assert 'data-testid="tranche" data-state="due"' in html
    assert "应拨付" in html
    assert 'data-testid="edit-link"' not in html and 'data-testid="confirm-form"' not in html


def test_an_org_user_without_the_admin_role_cannot_confirm(client, applicant, agreement):
    client.force_login(applicant)
    r = client.get(detail(agreement))
    assert r.status_code == 200 and 'data-testid="confirm-form"' not in body(r)
    before = snapshot(agreement)
    r = client.post(reverse("funding:agreement_confirm", args=[agreement.pk]), follow=True)
    assert "只有承担单位管理员或科技局业务处室可以确认任务书" in body(r)
    assert snapshot(agreement) == before


def test_the_officer_cannot_confirm_twice(client, officer, agreement):
    client.force_login(officer)
    client.post(reverse("funding:agreement_confirm", args=[agreement.pk]))
    before = snapshot(agreement)
    r = client.post(reverse("funding:agreement_confirm", args=[agreement.pk]), follow=True)
    assert r.status_code == 200 and messages_of(r)
    assert snapshot(agreement) == before


# ---- the officer's edits ---------------------------------------------------------------------------------


def test_officer_edits_terms_and_targets(client, officer, agreement):
    client.force_login(officer)
    r = client.get(reverse("funding:agreement_edit", args=[agreement.pk]))
    assert r.status_code == 200 and "发明专利申请" in body(r)
    r = client.post(reverse("funding:agreement_edit", args=[agreement.pk]), edit_post(targets=[
        {"kind": "output", "indicator": "发明专利申请", "target_value": "5", "unit": "件"},
        {"kind": "effect", "indicator": "新增销售收入", "target_value": "2000", "unit": "万元"},
        {"kind": "output", "indicator": "", "target_value": "", "unit": ""},  # a blank row: ignored
    ]), follow=True)
    assert "任务书已保存" in body(r)
    agreement.refresh_from_db()
    assert agreement.self_amount == Decimal("120000.50")
    assert agreement.start_date == datetime.date(2026, 1, 1) and agreement.end_date == datetime.date(2027, 12, 31)
    assert [t["indicator"] for t in agreement.targets] == ["发明专利申请", "新增销售收入"]
    assert "120,000.50" in body(r) and "新增销售收入" in body(r)


def test_editing_after_one_confirmation_warns_and_needs_both_again(client, org_admin, officer, agreement):
    fs.confirm_agreement(actor=org_admin, agreement_id=agreement.pk)
    client.force_login(officer)
    r = client.get(reverse("funding:agreement_edit", args=[agreement.pk]))
    assert 'data-testid="reconfirm-warning"' in body(r)
    r = client.post(reverse("funding:agreement_edit", args=[agreement.pk]), edit_post(self_amount="1.00"),
                    follow=True)
    assert "重新确认" in body(r)
    agreement.refresh_from_db()
    assert agreement.state == "draft" and agreement.org_confirmed_at is None


def test_bad_edit_input_changes_nothing(client, officer, agreement):
    client.force_login(officer)
    before = snapshot(agreement)
    r = client.post(reverse("funding:agreement_edit", args=[agreement.pk]),
                    edit_post(start="2027-01-01", end="2026-01-01", self_amount="-5"))
    assert r.status_code == 400 and "结束日期不能早于开始日期" in body(r)
    r = client.post(reverse("funding:agreement_edit", args=[agreement.pk]), edit_post(targets=[
        {"kind": "output", "indicator": "专利", "target_value": "", "unit": "件"}]))
    assert r.status_code == 400
    assert snapshot(agreement) == before


def test_editing_after_signing_is_refused(client, officer, agreement):
    sign(agreement, officer)
    before = snapshot(agreement)
    client.force_login(officer)
    for name in ("funding:agreement_edit", "funding:agreement_tranches"):
        r = client.get(reverse(name, args=[agreement.pk]), follow=True)
        assert r.redirect_chain[-1][0] == detail(agreement)
        assert "任务书已签订，不能修改" in body(r)
    r = client.post(reverse("funding:agreement_edit", args=[agreement.pk]), edit_post(), follow=True)
    assert "不能修改" in body(r)
    r = client.post(reverse("funding:agreement_tranches", args=[agreement.pk]),
                    tranche_post([{"name": "全额", "amount": "300000.00", "condition": "signing"}]), follow=True)
    assert "不能修改" in body(r)
    assert snapshot(agreement) == before


def test_tranches_not_adding_up_are_refused(client, officer, agreement):
    client.force_login(officer)
    r = client.get(reverse("funding:agreement_tranches", args=[agreement.pk]))
    assert r.status_code == 200 and "已分配完毕" in body(r) and "180000.00" in body(r)
    before = snapshot(agreement)
    r = client.post(reverse("funding:agreement_tranches", args=[agreement.pk]), tranche_post([
        {"name": "首期", "amount": "200000.00", "condition": "signing"},
        {"name": "尾款", "amount": "50000.00", "condition": "acceptance"},
    ]))
    assert r.status_code == 400
    assert "各期金额合计 250,000.00 元，须等于财政资金 300,000.00 元" in body(r)
    assert "差额 50,000.00 元" in body(r)
    r = client.post(reverse("funding:agreement_tranches", args=[agreement.pk]), tranche_post([
        {"name": "首期", "amount": "200000.00", "condition": "signing"},
        {"name": "中期", "amount": "100000.00", "condition": "checkpoint", "checkpoint": "半年后"},
    ]))
    assert r.status_code == 400 and "midterm 或 milestone:序号" in body(r)
    assert snapshot(agreement) == before


def test_officer_sets_a_new_tranche_plan(client, officer, agreement):
    client.force_login(officer)
    r = client.post(reverse("funding:agreement_tranches", args=[agreement.pk]), tranche_post([
        {"name": "首期", "amount": "200000.00", "condition": "signing"},
        {"name": "第二期", "amount": "99999.99", "condition": "date", "due_on": "2027-03-01"},
        {"name": "尾款", "amount": "0.01", "condition": "checkpoint", "checkpoint": "milestone:2"},
        {"name": "", "amount": "", "condition": "signing"},  # a blank row: ignored
    ]), follow=True)
    assert "拨付计划已保存" in body(r)
    rows = list(agreement.tranches.values_list("name", "amount", "condition", "checkpoint", "due_on"))
    assert rows == [("首期", Decimal("200000.00"), "signing", "", None),
                    ("第二期", Decimal("99999.99"), "date", "", datetime.date(2027, 3, 1)),
                    ("尾款", Decimal("0.01"), "checkpoint", "milestone:2", None)]
    html = body(r)
    assert "2027-03-01起" in html and "第2个里程碑考核通过后" in html


# ---- the print view --------------------------------------------------------------------------------------


def test_the_print_view_reads_like_the_paper_agreement(client, officer, org_admin, agreement):
    sign(agreement, officer)
    client.force_login(org_admin)
    r = client.get(reverse("funding:agreement_print", args=[agreement.pk]))
    html = body(r)
    assert r.status_code == 200
    for text in ("科技计划项目任务书", "一、项目基本信息", "二、经费及拨付计划", "三、绩效目标", "四、双方责任",
                 "五、签订", "专款专用", "@media print", "d-print-none", agreement.number, agreement.project.title,
                 "300,000.00", "180,000.00", "90,000.00", "30,000.00", "发明专利申请", "任务书签订后"):
        assert text in html, text
    assert "（未确认）" not in html  # both parties' confirmation times
    assert 'data-testid="print-button"' in html


# ---- the project pages link to the agreement ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5])
def test_the_project_list_links_to_the_agreement(client, applicant, org, officer, n, django_assert_max_num_queries):
    projects = [established_project(organization=org, officer=officer) for _ in range(n)]
    client.force_login(applicant)
    with django_assert_max_num_queries(7):
        r = client.get(reverse("portal:project_list"))
    for p in projects:
        assert detail(p.agreement) in body(r)


# ---- nobody else -----------------------------------------------------------------------------------------


def _urls(agreement):
    pk = agreement.pk
    return [
        ("get", reverse("funding:agreement", args=[pk]), None),
        ("get", reverse("funding:agreement_print", args=[pk]), None),
        ("get", reverse("funding:agreement_edit", args=[pk]), None),
        ("get", reverse("funding:agreement_tranches", args=[pk]), None),
        ("post", reverse("funding:agreement_edit", args=[pk]), edit_post()),
        ("post", reverse("funding:agreement_tranches", args=[pk]),
         tranche_post([{"name": "全额", "amount": "300000.00", "condition": "signing"}])),
        ("post", reverse("funding:agreement_confirm", args=[pk]), {}),
        ("post", reverse("funding:draft", args=[agreement.project_id]), {}),
    ]


@pytest.mark.parametrize("who", ["other_org_admin", "other_applicant", "expert"])
def test_strangers_get_404_everywhere_and_change_nothing(client, agreement, other_org, who):
    user = {"other_org_admin": UserFactory(roles=["applicant", "org_admin"], organization=other_org),
            "other_applicant": UserFactory(roles=["applicant"], organization=other_org),
            "expert": UserFactory(roles=["expert"])}[who]
    before = snapshot(agreement)
    client.force_login(user)
    for method, url, data in _urls(agreement):
        r = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert r.status_code == 404, (method, url)
    list_status = client.get(reverse("funding:agreements")).status_code
    if who == "expert":
        assert list_status == 404
    else:
        assert agreement.number not in body(client.get(reverse("funding:agreements")))
    assert snapshot(agreement) == before


def test_anonymous_is_sent_to_login_and_changes_nothing(client, agreement):
    before = snapshot(agreement)
    login = reverse("accounts:login")
    for method, url, data in [*_urls(agreement), ("get", reverse("funding:agreements"), None)]:
        r = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert r.status_code == 302 and r["Location"].startswith(login), (method, url)
    assert snapshot(agreement) == before


@pytest.mark.parametrize("role", ["applicant", "org_admin", "finance", "supervisor"])
def test_readers_cannot_edit_or_draft(client, agreement, org, role):
    user = UserFactory(roles=[role], organization=org if role in ("applicant", "org_admin") else None)
    before = snapshot(agreement)
    client.force_login(user)
    assert client.get(detail(agreement)).status_code == 200
    assert client.get(reverse("funding:agreement_print", args=[agreement.pk])).status_code == 200
    for method, url, data in _urls(agreement)[2:6] + _urls(agreement)[7:]:
        r = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert r.status_code == 404, (role, method, url)
    assert snapshot(agreement) == before


def test_the_challenge_project_pages_link_to_the_agreement(client, officer, django_assert_max_num_queries):
    from projects.tests.test_challenge_views_project import awarded

    poster, (project,) = awarded(officer)
    agreement = TaskAgreement.objects.get(project=project)
    # a 揭榜 project is paid by its milestones
    assert list(agreement.tranches.values_list("checkpoint", flat=True)) == ["milestone:1", "milestone:2"]
    client.force_login(project.bid.created_by)  # the team
    r = client.get(reverse("challenges:project", args=[project.pk]))
    assert detail(agreement) in body(r)
    html = body(client.get(detail(agreement)))
    assert "第1个里程碑考核通过后" in html and "第2个里程碑考核通过后" in html
    client.force_login(poster)  # the poster does not see the team's agreement
    assert detail(agreement) not in body(client.get(reverse("challenges:project", args=[project.pk])))
    assert client.get(detail(agreement)).status_code == 404
    client.force_login(officer)
    assert detail(agreement) in body(client.get(reverse("jiebang_office:project", args=[project.pk])))

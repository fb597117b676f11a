import datetime
import hashlib
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Organization
from accounts.tests.factories import UserFactory, make_credit_code
from projects import services
from projects.models import Application, Attachment, AttachmentKind, BudgetLine, Partner, TeamMember
from projects.tests.factories import (
    EXE_BYTES,
    PDF_BYTES,
    ApplicationFactory,
    AttachmentFactory,
    pdf_upload,
    set_state,
)

pytestmark = pytest.mark.django_db

STEPS = ["basic", "team", "budget", "targets", "partners", "attachments", "review"]
LEADER_ID = "330106199001011234"
MEMBER_ID = "33010619920202567X"


def edit_url(app, step):
    return reverse("portal:application_edit", kwargs={"pk": app.pk, "step": step})


def detail_url(app):
    return reverse("portal:application_detail", args=[app.pk])


def body(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def download(client, attachment):
    return client.get(reverse("portal:attachment_download", args=[attachment.pk]))


def upload(client, app, name, content, kind=AttachmentKind.FEASIBILITY, follow=True):
    return client.post(
        edit_url(app, "attachments"),
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="application/pdf"), "action": "save"},
        follow=follow,
    )


def budget_data(**amounts):
    data = {"action": "save"}
    for category in ("equipment", "business", "labour"):
        data[f"{category}_fiscal"] = amounts.get(f"{category}_fiscal", "")
        data[f"{category}_self"] = amounts.get(f"{category}_self", "")
        data[f"{category}_note"] = amounts.get(f"{category}_note", "")
    return data


def formset_data(prefix, rows, initial=0, **extra):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        "action": "save",
        **extra,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


@pytest.fixture
def owned_attachment(draft_app):
    return AttachmentFactory(application=draft_app)


# ---- who sees what ----------------------------------------------------------------------------------


def test_other_organisation_gets_404_everywhere(client, draft_app, other_applicant, owned_attachment):
    client.force_login(other_applicant)
    assert client.get(detail_url(draft_app)).status_code == 404
    for step in STEPS:
        assert client.get(edit_url(draft_app, step)).status_code == 404, step
        assert client.post(edit_url(draft_app, step), {"title": "被篡改", "action": "save"}).status_code == 404, step
    assert client.post(reverse("portal:application_submit", args=[draft_app.pk])).status_code == 404
    assert client.post(reverse("portal:application_withdraw", args=[draft_app.pk])).status_code == 404
    assert download(client, owned_attachment).status_code == 404
    assert client.post(reverse("portal:attachment_remove", args=[owned_attachment.pk])).status_code == 404

    draft_app.refresh_from_db()
    owned_attachment.refresh_from_db()
    assert draft_app.state == Application.State.DRAFT
    assert draft_app.title != "被篡改"
    assert owned_attachment.removed_at is None


def test_other_organisation_gets_404_on_a_submitted_application_too(client, draft_app, other_applicant):
    set_state(draft_app, Application.State.SUBMITTED)
    client.force_login(other_applicant)
    assert client.get(detail_url(draft_app)).status_code == 404
    assert client.post(reverse("portal:application_withdraw", args=[draft_app.pk])).status_code == 404
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.SUBMITTED


@pytest.mark.parametrize("who", ["expert_user", "finance_user"])
def test_expert_and_finance_see_no_application(client, request, draft_app, owned_attachment, who):
    set_state(draft_app, Application.State.ENDORSED)
    client.force_login(request.getfixturevalue(who))
    urls = [
        detail_url(draft_app),
        reverse("portal:application_list"),
        *[edit_url(draft_app, s) for s in STEPS],
        reverse("portal:attachment_download", args=[owned_attachment.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert draft_app.title not in body(response)
    assert client.post(reverse("portal:application_withdraw", args=[draft_app.pk])).status_code == 404
    assert client.post(reverse("portal:attachment_remove", args=[owned_attachment.pk])).status_code == 404
    dashboard = client.get(reverse("portal:dashboard"))
    assert dashboard.status_code == 200
    assert draft_app.title not in body(dashboard)


def test_anonymous_is_sent_to_login_and_sees_nothing(client, draft_app, owned_attachment):
    login = reverse("accounts:login")
    urls = [
        reverse("portal:dashboard"),
        reverse("portal:application_list"),
        detail_url(draft_app),
        *[edit_url(draft_app, s) for s in STEPS],
        reverse("portal:attachment_download", args=[owned_attachment.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(login), url
        assert draft_app.title not in body(response)
    for url in [
        reverse("portal:application_submit", args=[draft_app.pk]),
        reverse("portal:application_withdraw", args=[draft_app.pk]),
        reverse("portal:attachment_remove", args=[owned_attachment.pk]),
    ]:
        response = client.post(url)
        assert response.status_code == 302 and response.url.startswith(login)
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.DRAFT


def test_officer_sees_no_drafts_but_sees_submitted_applications(client, draft_app, officer):
    client.force_login(officer)
    assert client.get(detail_url(draft_app)).status_code == 404
    set_state(draft_app, Application.State.ENDORSED)
    response = client.get(detail_url(draft_app))
    assert response.status_code == 200
    assert draft_app.title in body(response)
    # but the officer can never edit it
    response = client.get(edit_url(draft_app, "basic"))
    assert response.status_code == 404


def test_missing_application_is_404(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("portal:application_detail", args=[999999])).status_code == 404
    assert client.get(reverse("portal:application_edit", kwargs={"pk": 999999, "step": "basic"})).status_code == 404


def test_unknown_step_is_404(client, applicant, draft_app):
    client.force_login(applicant)
    assert client.get(edit_url(draft_app, "nonsense")).status_code == 404


def test_unsafe_actions_are_post_only(client, applicant, draft_app, owned_attachment):
    client.force_login(applicant)
    assert client.get(reverse("portal:application_submit", args=[draft_app.pk])).status_code == 405
    assert client.get(reverse("portal:application_withdraw", args=[draft_app.pk])).status_code == 405
    assert client.get(reverse("portal:attachment_remove", args=[owned_attachment.pk])).status_code == 405
    draft_app.refresh_from_db()
    owned_attachment.refresh_from_db()
    assert draft_app.state == Application.State.DRAFT and owned_attachment.removed_at is None


# ---- ID numbers ---------------------------------------------------------------------------------------


def test_id_numbers_are_masked_for_officers_and_clear_for_the_owner(client, draft_app, applicant, org_admin, officer):
    Application.objects.filter(pk=draft_app.pk).update(leader_id_number=LEADER_ID)
    TeamMember.objects.create(application=draft_app, name="王成员", id_number=MEMBER_ID, organization_name="本单位")
    set_state(draft_app, Application.State.ENDORSED)

    client.force_login(officer)
    html = body(client.get(detail_url(draft_app)))
    assert LEADER_ID not in html and MEMBER_ID not in html
    assert "330***********1234" in html
    assert "330***********567X" in html

    for owner in (applicant, org_admin):
        client.force_login(owner)
        html = body(client.get(detail_url(draft_app)))
        assert LEADER_ID in html and MEMBER_ID in html


# ---- dashboard and list --------------------------------------------------------------------------------


def test_dashboard_explains_that_an_unverified_organisation_cannot_submit(client, applicant, draft_app, open_call):
    Organization.objects.filter(pk=applicant.organization_id).update(state=Organization.State.PENDING)
    client.force_login(applicant)
    html = body(client.get(reverse("portal:dashboard")))
    assert "待审核" in html
    assert "不能提交" in html
    assert draft_app.title in html
    assert open_call.title in html


def test_dashboard_of_a_verified_organisation_counts_applications_by_state(client, applicant, open_call, org):
    ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    set_state(ApplicationFactory(call=open_call, organization=org, created_by=applicant), Application.State.RETURNED)
    client.force_login(applicant)
    response = client.get(reverse("portal:dashboard"))
    assert "已通过科技局认证" in body(response)
    counts = {value: n for value, _label, n in response.context["state_counts"]}
    assert counts["draft"] == 1 and counts["returned"] == 1
    assert response.context["total_count"] == 2


def test_dashboard_sends_officers_to_formal_review(client, officer):
    client.force_login(officer)
    response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("portal:review_queue")


def test_application_list_shows_only_own_organisation_with_totals(client, applicant, draft_app, other_applicant, open_call):
    foreign = ApplicationFactory(call=open_call, organization=other_applicant.organization, title="别家单位的项目")
    client.force_login(applicant)
    html = body(client.get(reverse("portal:application_list")))
    assert draft_app.title in html
    assert foreign.title not in html
    # the factory budget: 财政 350,000.00 / 自筹 400,000.00
    assert "350,000.00" in html and "400,000.00" in html


def test_application_list_filters_by_state_and_search(client, applicant, org, open_call):
    a = ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="氢能储运关键材料")
    b = ApplicationFactory(call=open_call, organization=org, created_by=applicant, title="海洋牧场监测装备")
    set_state(b, Application.State.SUBMITTED)
    client.force_login(applicant)
    html = body(client.get(reverse("portal:application_list"), {"state": "submitted"}))
    assert b.title in html and a.title not in html
    html = body(client.get(reverse("portal:application_list"), {"q": "氢能"}))
    assert a.title in html and b.title not in html
    html = body(client.get(reverse("portal:application_list"), {"q": b.number}))
    assert b.title in html and a.title not in html


@pytest.mark.parametrize("n", [5, 50])
def test_application_list_query_count_is_fixed(client, applicant, org, open_call, django_assert_max_num_queries, n):
    for i in range(n):
        app = ApplicationFactory(call=open_call, organization=org, created_by=applicant)
        if i % 2:
            set_state(app, Application.State.SUBMITTED)
    client.force_login(applicant)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("portal:application_list"))
    assert response.status_code == 200
    assert len(response.context["applications"]) == min(n, 20)


@pytest.mark.parametrize("n", [5, 50])
def test_dashboard_query_count_is_fixed(client, applicant, org, open_call, django_assert_max_num_queries, n):
    for _i in range(n):
        ApplicationFactory(call=open_call, organization=org, created_by=applicant)
    client.force_login(applicant)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 200


# ---- the steps -------------------------------------------------------------------------------------------


def test_every_step_renders_with_the_step_nav(client, applicant, draft_app):
    client.force_login(applicant)
    for step in STEPS:
        response = client.get(edit_url(draft_app, step))
        assert response.status_code == 200, step
        html = body(response)
        assert "kj-steps" in html
        for other in STEPS:
            assert edit_url(draft_app, other) in html


def test_basic_step_saves_through_the_service_and_moves_on(client, applicant, draft_app):
    client.force_login(applicant)
    data = {
        "title": "高端装备数字孪生平台", "summary": "研发数字孪生平台。", "keywords": "数字孪生；装备",
        "discipline_code": "510.80", "start_date": "2027-01-01", "end_date": "2028-06-30",
        "leader_name": "孙负责", "leader_title": "教授级高工", "leader_phone": "13900001111",
        "leader_email": "sun@example.com", "leader_id_number": LEADER_ID, "action": "next",
    }
    response = client.post(edit_url(draft_app, "basic"), data)
    assert response.status_code == 302 and response.url == edit_url(draft_app, "team")
    draft_app.refresh_from_db()
    assert draft_app.title == "高端装备数字孪生平台"
    assert draft_app.leader_id_number == LEADER_ID
    assert draft_app.end_date == datetime.date(2028, 6, 30)


def test_basic_step_with_end_before_start_saves_nothing(client, applicant, draft_app):
    client.force_login(applicant)
    old_title = draft_app.title
    response = client.post(edit_url(draft_app, "basic"), {
        "title": "新的名称", "start_date": "2028-01-01", "end_date": "2027-01-01", "action": "save",
    })
    assert response.status_code == 200
    assert "结束日期不能早于开始日期" in body(response)
    draft_app.refresh_from_db()
    assert draft_app.title == old_title


def test_team_step_saves_and_deletes_rows(client, applicant, draft_app):
    client.force_login(applicant)
    rows = [
        {"name": "甲成员", "id_number": MEMBER_ID, "title": "工程师", "organization_name": "本单位", "role": "算法",
         "work_months": "12"},
        {"name": "乙成员", "id_number": "", "title": "", "organization_name": "合作高校", "role": "", "work_months": "6"},
    ]
    response = client.post(edit_url(draft_app, "team"), formset_data("team", rows))
    assert response.status_code == 302
    assert list(draft_app.team_members.values_list("name", flat=True)) == ["甲成员", "乙成员"]

    page = client.get(edit_url(draft_app, "team"))
    assert "甲成员" in body(page) and 'id="team-empty"' in body(page) and 'id="team-rows"' in body(page)

    rows[0]["DELETE"] = "on"
    response = client.post(edit_url(draft_app, "team"), formset_data("team", rows, initial=2))
    assert response.status_code == 302
    assert list(draft_app.team_members.values_list("name", flat=True)) == ["乙成员"]


def test_team_step_with_a_missing_name_saves_nothing(client, applicant, draft_app):
    client.force_login(applicant)
    rows = [{"name": "", "organization_name": "本单位", "work_months": "3"}]
    response = client.post(edit_url(draft_app, "team"), formset_data("team", rows))
    assert response.status_code == 200
    assert "请填写成员姓名。" in body(response)
    assert not draft_app.team_members.exists()


def test_budget_step_sums_exactly_to_the_fen(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.post(
        edit_url(draft_app, "budget"),
        budget_data(equipment_fiscal="0.1", business_fiscal="0.2", labour_self="0.30"),
        follow=True,
    )
    assert response.status_code == 200
    totals = response.context["budget"]
    assert totals["fiscal"] == Decimal("0.30")
    assert totals["self"] == Decimal("0.30")
    assert totals["total"] == Decimal("0.60")
    html = body(response)
    assert '<div class="kj-stat kj-money text-center" data-testid="budget-fiscal">0.30</div>' in html
    assert '<div class="kj-stat kj-money text-center" data-testid="budget-total">0.60</div>' in html
    assert "50.00%" in html  # 自筹比例
    assert sorted(draft_app.budget_lines.values_list("fiscal_amount", flat=True)) == [
        Decimal("0.00"), Decimal("0.10"), Decimal("0.20")
    ]


def test_budget_step_refuses_fractions_of_a_fen_and_saves_nothing(client, applicant, draft_app):
    client.force_login(applicant)
    before = list(draft_app.budget_lines.order_by("category").values_list("category", "fiscal_amount", "self_amount"))
    response = client.post(edit_url(draft_app, "budget"), budget_data(equipment_fiscal="0.001", business_fiscal="5"))
    assert response.status_code == 200
    assert "金额最多精确到分（两位小数）" in body(response)
    after = list(draft_app.budget_lines.order_by("category").values_list("category", "fiscal_amount", "self_amount"))
    assert after == before


def test_targets_step_saves_rows(client, applicant, draft_app):
    client.force_login(applicant)
    rows = [{"kind": "output", "indicator": "申请发明专利", "target_value": "3", "unit": "件"}]
    response = client.post(edit_url(draft_app, "targets"), formset_data("targets", rows))
    assert response.status_code == 302
    target = draft_app.targets.get()
    assert (target.indicator, target.target_value, target.unit) == ("申请发明专利", Decimal("3"), "件")

    rows = [
        {"kind": "output", "indicator": "申请发明专利", "target_value": "10", "unit": "件"},
        {"kind": "effect", "indicator": "新增销售收入", "target_value": "2500.5", "unit": "万元"},
    ]
    client.post(edit_url(draft_app, "targets"), formset_data("targets", rows, initial=1))
    html = body(client.get(edit_url(draft_app, "review")))
    assert '<td class="text-end">10</td>' in html  # never 1E+1
    assert '<td class="text-end">2500.5</td>' in html
    assert 'value="10"' in body(client.get(edit_url(draft_app, "targets")))


def test_partners_step_validates_the_credit_code(client, applicant, draft_app):
    client.force_login(applicant)
    good = make_credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(
        edit_url(draft_app, "partners"),
        formset_data("partners", [{"name": "某某大学", "credit_code": bad, "role": "联合攻关"}]),
    )
    assert response.status_code == 200
    assert "统一社会信用代码校验位错误" in body(response)
    assert not Partner.objects.exists()

    response = client.post(
        edit_url(draft_app, "partners"),
        formset_data("partners", [{"name": "某某大学", "credit_code": good, "role": "联合攻关"}]),
    )
    assert response.status_code == 302
    assert draft_app.partners.get().credit_code == good


def test_partners_step_shows_service_refusal(client, applicant, draft_app):
    client.force_login(applicant)
    own = draft_app.organization.credit_code
    response = client.post(
        edit_url(draft_app, "partners"),
        formset_data("partners", [{"name": "自己", "credit_code": own, "role": ""}]),
    )
    assert response.status_code == 200
    assert "合作单位不能是申报单位本身" in body(response)
    assert not Partner.objects.exists()


def test_steps_of_a_submitted_application_redirect_to_the_status_page(client, applicant, draft_app):
    set_state(draft_app, Application.State.SUBMITTED)
    client.force_login(applicant)
    for step in STEPS:
        response = client.get(edit_url(draft_app, step))
        assert response.status_code == 302 and response.url == detail_url(draft_app)
    response = client.post(edit_url(draft_app, "basic"), {"title": "改名", "action": "save"}, follow=True)
    assert "不能修改" in body(response)
    draft_app.refresh_from_db()
    assert draft_app.title != "改名"


def test_returned_application_is_editable_again(client, applicant, draft_app):
    set_state(draft_app, Application.State.RETURNED, last_reason="预算测算依据不足")
    client.force_login(applicant)
    assert client.get(edit_url(draft_app, "budget")).status_code == 200


# ---- attachments -----------------------------------------------------------------------------------------


def test_renamed_executable_is_refused_and_nothing_is_stored(client, applicant, draft_app):
    client.force_login(applicant)
    response = upload(client, draft_app, "report.pdf", EXE_BYTES)
    assert response.status_code == 200
    assert "不允许上传该类型的文件" in body(response)
    assert not Attachment.objects.exists()


def test_pdf_upload_downloads_back_byte_identical_to_owner_and_officer_after_endorsement(
    client, applicant, org_admin, draft_app, officer, other_applicant, expert_user
):
    client.force_login(applicant)
    response = upload(client, draft_app, "可行性报告.pdf", PDF_BYTES)
    assert "已上传：可行性报告.pdf" in body(response)
    attachment = Attachment.objects.get()
    assert attachment.application == draft_app and attachment.content_type == "application/pdf"
    assert "可行性报告.pdf" in body(client.get(edit_url(draft_app, "attachments")))

    response = download(client, attachment)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "filename*=UTF-8''" + quote("可行性报告.pdf") in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment;")

    client.force_login(officer)
    assert download(client, attachment).status_code == 404  # a draft is the organisation's own business

    client.force_login(applicant)
    response = client.post(reverse("portal:application_submit", args=[draft_app.pk]))
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.SUBMITTED

    client.force_login(officer)
    assert download(client, attachment).status_code == 404  # still at 单位审核: not the bureau's yet

    services.endorse_application(actor=org_admin, application_id=draft_app.pk)
    response = download(client, attachment)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES

    for outsider in (other_applicant, expert_user):
        client.force_login(outsider)
        assert download(client, attachment).status_code == 404


def test_required_attachment_kinds_are_ticked(client, applicant, draft_app):
    draft_app.call.required_attachment_kinds = [AttachmentKind.FEASIBILITY, AttachmentKind.BUSINESS_LICENSE]
    draft_app.call.save()
    AttachmentFactory(application=draft_app, kind=AttachmentKind.FEASIBILITY)
    client.force_login(applicant)
    html = body(client.get(edit_url(draft_app, "attachments")))
    assert "✓</span> 项目可行性报告" in html
    assert "✗</span> 营业执照或法人证书" in html


def test_owner_removes_an_attachment(client, applicant, draft_app, owned_attachment):
    client.force_login(applicant)
    response = client.post(reverse("portal:attachment_remove", args=[owned_attachment.pk]))
    assert response.status_code == 302 and response.url == edit_url(draft_app, "attachments")
    owned_attachment.refresh_from_db()
    assert owned_attachment.removed_at is not None
    page = client.get(edit_url(draft_app, "attachments"))
    assert "已移除附件：可行性报告.pdf" in body(page)
    assert reverse("portal:attachment_download", args=[owned_attachment.pk]) not in body(page)
    assert "尚未上传附件" in body(page)


def test_attachment_of_a_submitted_application_cannot_be_removed(client, applicant, draft_app, owned_attachment):
    set_state(draft_app, Application.State.SUBMITTED)
    client.force_login(applicant)
    response = client.post(reverse("portal:attachment_remove", args=[owned_attachment.pk]), follow=True)
    assert "不能修改" in body(response)
    owned_attachment.refresh_from_db()
    assert owned_attachment.removed_at is None


# ---- review, submit, withdraw --------------------------------------------------------------------------------


def test_review_step_lists_what_blocks_submission(client, applicant, open_call, org):
    app = ApplicationFactory(call=open_call, organization=org, created_by=applicant, budget=False, summary="")
    client.force_login(applicant)
    response = client.get(edit_url(app, "review"))
    problems = response.context["problems"]
    assert "尚未填写预算。" in problems
    html = body(response)
    for problem in problems:
        assert problem in html
    assert reverse("portal:application_submit", args=[app.pk]) in html


def test_submit_with_problems_shows_each_message_and_changes_nothing(client, applicant, open_call, org):
    Organization.objects.filter(pk=org.pk).update(state=Organization.State.PENDING)
    app = ApplicationFactory(call=open_call, organization=org, created_by=applicant, budget=False)
    client.force_login(applicant)
    response = client.post(reverse("portal:application_submit", args=[app.pk]), follow=True)
    assert response.redirect_chain[-1][0] == edit_url(app, "review")
    flashed = messages_of(response)
    assert any("尚未通过科技局认证" in m for m in flashed)
    assert "尚未填写预算。" in flashed
    assert len(flashed) >= 2  # each problem is its own message
    app.refresh_from_db()
    assert app.state == Application.State.DRAFT and app.number is None


def test_successful_submit_changes_state_and_shows_the_number(client, applicant, draft_app, org_admin):
    client.force_login(applicant)
    response = client.post(reverse("portal:application_submit", args=[draft_app.pk]), follow=True)
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.SUBMITTED
    assert draft_app.number
    assert response.redirect_chain[-1][0] == detail_url(draft_app)
    html = body(response)
    assert draft_app.number in html
    assert "待单位审核" in html
    assert "第 1 版" in html  # submission versions
    assert draft_app.versions.count() == 1


def test_detail_shows_return_reason_history_and_formal_reviews(client, applicant, draft_app, officer, org_admin):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    services.endorse_application(actor=org_admin, application_id=draft_app.pk)
    services.formal_review(
        actor=officer, application_id=draft_app.pk, decision="return", reason="缺少合作协议盖章页"
    )
    client.force_login(applicant)
    response = client.get(detail_url(draft_app))
    html = body(response)
    assert "科技局退回修改意见" in html and "缺少合作协议盖章页" in html
    assert "退回修改" in html
    assert "单位审核通过" in html  # history
    assert reverse("portal:application_edit", kwargs={"pk": draft_app.pk, "step": "basic"}) in html
    assert response.context["can_withdraw"]


def test_withdraw_with_reason(client, applicant, draft_app):
    set_state(draft_app, Application.State.SUBMITTED)
    client.force_login(applicant)
    html = body(client.get(detail_url(draft_app)))
    assert reverse("portal:application_withdraw", args=[draft_app.pk]) in html and "data-confirm" in html
    response = client.post(
        reverse("portal:application_withdraw", args=[draft_app.pk]), {"reason": "项目方向调整"}, follow=True
    )
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.WITHDRAWN
    assert "申报书已撤回" in body(response)
    assert "项目方向调整" in body(response)  # in the history


def test_withdraw_is_not_offered_after_acceptance(client, applicant, draft_app):
    set_state(draft_app, Application.State.ACCEPTED)
    client.force_login(applicant)
    response = client.get(detail_url(draft_app))
    assert not response.context["can_withdraw"]
    response = client.post(reverse("portal:application_withdraw", args=[draft_app.pk]), follow=True)
    assert "不能执行“撤回”" in body(response)
    draft_app.refresh_from_db()
    assert draft_app.state == Application.State.ACCEPTED


def test_org_admin_without_applicant_role_cannot_edit(client, draft_app, org):
    admin_only = UserFactory(organization=org, roles=["org_admin"])
    client.force_login(admin_only)
    assert client.get(detail_url(draft_app)).status_code == 200
    response = client.get(edit_url(draft_app, "basic"), follow=True)
    assert "只有本单位的申报用户可以修改申报书" in body(response)


def test_budget_lines_untouched_by_other_org_post(client, other_applicant, draft_app):
    client.force_login(other_applicant)
    before = list(BudgetLine.objects.filter(application=draft_app).values_list("fiscal_amount", flat=True))
    response = client.post(edit_url(draft_app, "budget"), budget_data(equipment_fiscal="1"))
    assert response.status_code == 404
    after = list(BudgetLine.objects.filter(application=draft_app).values_list("fiscal_amount", flat=True))
    assert after == before


def test_uploaded_file_is_hashed_and_typed_by_the_service(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.post(
        edit_url(draft_app, "attachments"),
        {"kind": AttachmentKind.QUALIFICATION, "file": pdf_upload("资质证明.pdf"), "action": "next"},
    )
    assert response.status_code == 302 and response.url == edit_url(draft_app, "review")
    attachment = Attachment.objects.get()
    assert attachment.sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert attachment.kind == AttachmentKind.QUALIFICATION
    assert attachment.original_name == "资质证明.pdf"
    assert attachment.size == len(PDF_BYTES)


def test_upload_without_a_file_or_kind_says_what_is_missing(client, applicant, draft_app):
    client.force_login(applicant)
    response = client.post(edit_url(draft_app, "attachments"), {"kind": "", "action": "save"})
    assert response.status_code == 200
    assert "请选择附件类型。" in body(response)
    assert "请选择要上传的文件。" in body(response)
    assert not Attachment.objects.exists()

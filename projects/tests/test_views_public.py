import datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from projects.models import Application, AttachmentKind, Call, CallDocument
from projects.tests.factories import PDF_BYTES, CallFactory, ProgramFactory

pytestmark = pytest.mark.django_db


def closed_call(**kw):
    now = timezone.now()
    return CallFactory(
        state=Call.State.CLOSED,
        opens_at=now - datetime.timedelta(days=60),
        closes_at=now - datetime.timedelta(days=2),
        closed_at=now - datetime.timedelta(days=2),
        **kw,
    )


def draft_call(**kw):
    return CallFactory(state=Call.State.DRAFT, published_at=None, title="尚未发布的草稿指南", **kw)


def make_document(call, name="2026年度重点研发计划申报指南.pdf", content=PDF_BYTES):
    doc = CallDocument(call=call, title="申报指南全文", original_name=name, content_type="application/pdf",
                       size=len(content))
    doc.file.save("guide", ContentFile(content), save=False)
    doc.save()
    return doc


def body(response) -> str:
    return response.content.decode()


# ---- home ---------------------------------------------------------------------------------------


def test_home_lists_open_calls_with_programme_deadline_countdown_and_cap_in_wan(client):
    program = ProgramFactory(name="尖兵领雁研发攻关计划", code="jbly")
    call = CallFactory(program=program, title="关键核心技术攻关指南", cap_per_project=Decimal("3000000.00"),
                       closes_at=timezone.now() + datetime.timedelta(days=9, hours=1))
    response = client.get(reverse("public:home"))
    assert response.status_code == 200
    html = body(response)
    assert "关键核心技术攻关指南" in html
    assert "尖兵领雁研发攻关计划" in html
    assert "300.00" in html and "万元" in html  # 3,000,000 元 = 300.00 万元
    assert "剩余 10 天" in html
    assert timezone.localtime(call.closes_at).strftime("%Y-%m-%d %H:%M") in html
    assert reverse("accounts:register") in html and reverse("accounts:login") in html


def test_home_shows_recently_closed_calls_and_never_drafts(client):
    closed_call(title="去年已截止的指南")
    draft_call()
    html = body(client.get(reverse("public:home")))
    assert "去年已截止的指南" in html
    assert "尚未发布的草稿指南" not in html


def test_home_for_logged_in_user_links_to_dashboard(client, applicant):
    client.force_login(applicant)
    html = body(client.get(reverse("public:home")))
    assert reverse("portal:dashboard") in html


@pytest.mark.parametrize("n", [5, 50])
def test_home_query_count_is_fixed(client, applicant, django_assert_max_num_queries, n):
    program = ProgramFactory()
    for _i in range(n):
        CallFactory(program=program)
        closed_call(program=program)
    client.force_login(applicant)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("public:home"))
    assert response.status_code == 200


# ---- call list ----------------------------------------------------------------------------------


def test_call_list_shows_published_and_closed_but_not_draft(client):
    CallFactory(title="正在申报的甲指南")
    closed_call(title="已经截止的乙指南")
    draft_call()
    html = body(client.get(reverse("public:call_list")))
    assert "正在申报的甲指南" in html
    assert "已经截止的乙指南" in html
    assert "已截止" in html
    assert "尚未发布的草稿指南" not in html


def test_call_list_filters_by_year_and_programme(client):
    zdyf = ProgramFactory(name="重点研发计划", code="zdyf")
    tpy = ProgramFactory(name="科技特派员项目", code="tpy")
    CallFactory(program=zdyf, year=2025, title="二〇二五重点研发指南")
    CallFactory(program=zdyf, year=2026, title="二〇二六重点研发指南")
    CallFactory(program=tpy, year=2026, title="二〇二六科技特派员指南")

    html = body(client.get(reverse("public:call_list"), {"year": 2026}))
    assert "二〇二六重点研发指南" in html and "二〇二六科技特派员指南" in html
    assert "二〇二五重点研发指南" not in html

    html = body(client.get(reverse("public:call_list"), {"year": 2026, "program": tpy.pk}))
    assert "二〇二六科技特派员指南" in html
    assert "二〇二六重点研发指南" not in html and "二〇二五重点研发指南" not in html


def test_call_list_paginates_20_per_page(client):
    program = ProgramFactory()
    now = timezone.now()
    for i in range(25):
        CallFactory(program=program, title=f"分页指南第{i:02d}号", opens_at=now - datetime.timedelta(days=1, minutes=i))
    first = body(client.get(reverse("public:call_list")))
    second = body(client.get(reverse("public:call_list"), {"page": 2}))
    assert "分页指南第00号" in first and "分页指南第19号" in first and "分页指南第20号" not in first
    assert "分页指南第20号" in second and "分页指南第24号" in second and "分页指南第00号" not in second
    assert "共 25 项" in first


@pytest.mark.parametrize("n", [5, 50])
def test_call_list_query_count_is_fixed(client, applicant, django_assert_max_num_queries, n):
    program = ProgramFactory()
    for _i in range(n):
        CallFactory(program=program)
    client.force_login(applicant)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("public:call_list"))
    assert response.status_code == 200
    assert len(response.context["calls"]) == min(n, 20)


# ---- call detail ----------------------------------------------------------------------------------


def test_call_detail_shows_the_guide_and_every_condition(client):
    call = CallFactory(
        guide="一、支持方向\n人工智能与先进制造",
        cap_per_project=Decimal("800000.00"),
        min_self_funding_ratio=Decimal("0.6"),
        max_applications_per_org=2,
        eligible_org_kinds=[Organization.Kind.ENTERPRISE, Organization.Kind.INSTITUTE],
        required_qualifications=[Organization.Qualification.HIGH_TECH],
        required_attachment_kinds=[AttachmentKind.FEASIBILITY, AttachmentKind.BUSINESS_LICENSE],
    )
    make_document(call)
    html = body(client.get(reverse("public:call_detail", args=[call.pk])))
    assert "人工智能与先进制造" in html
    assert "80.00" in html  # 800,000 元 = 80.00 万元
    assert "60%" in html
    assert "2 项" in html
    assert "企业" in html and "科研院所" in html
    assert "高新技术企业" in html
    assert "项目可行性报告" in html and "营业执照或法人证书" in html
    assert "2026年度重点研发计划申报指南.pdf" in html
    assert reverse("public:call_document", args=[call.documents.get().pk]) in html


def test_draft_call_is_404_for_the_public_and_applicants(client, applicant):
    call = draft_call()
    assert client.get(reverse("public:call_detail", args=[call.pk])).status_code == 404
    client.force_login(applicant)
    assert client.get(reverse("public:call_detail", args=[call.pk])).status_code == 404


def test_officer_may_preview_a_draft_call(client, officer):
    call = draft_call()
    client.force_login(officer)
    response = client.get(reverse("public:call_detail", args=[call.pk]))
    assert response.status_code == 200
    assert "仅科技局可见" in body(response)


def test_apply_button_only_for_logged_in_applicants_while_open(client, applicant, expert_user):
    call = CallFactory()
    create_url = reverse("portal:application_create", args=[call.pk])

    html = body(client.get(reverse("public:call_detail", args=[call.pk])))
    assert create_url not in html
    assert "登录后申报" in html

    client.force_login(expert_user)
    assert create_url not in body(client.get(reverse("public:call_detail", args=[call.pk])))

    client.force_login(applicant)
    html = body(client.get(reverse("public:call_detail", args=[call.pk])))
    assert create_url in html and "立即申报" in html

    closed = closed_call()
    html = body(client.get(reverse("public:call_detail", args=[closed.pk])))
    assert "立即申报" not in html
    assert "已截止" in html


def test_apply_button_creates_a_draft_and_opens_the_first_step(client, applicant):
    call = CallFactory()
    client.force_login(applicant)
    response = client.post(reverse("portal:application_create", args=[call.pk]))
    app = Application.objects.get(call=call, organization=applicant.organization)
    assert app.state == Application.State.DRAFT
    assert response.status_code == 302
    assert response.url == reverse("portal:application_edit", kwargs={"pk": app.pk, "step": "basic"})


def test_applying_to_a_closed_call_is_refused_with_a_message(client, applicant):
    call = closed_call()
    client.force_login(applicant)
    response = client.post(reverse("portal:application_create", args=[call.pk]), follow=True)
    assert not Application.objects.filter(call=call).exists()
    assert "该指南当前不在申报期内" in body(response)


def test_applying_to_a_draft_call_is_404(client, applicant):
    call = draft_call()
    client.force_login(applicant)
    assert client.post(reverse("portal:application_create", args=[call.pk])).status_code == 404
    assert not Application.objects.exists()


def test_apply_is_post_only(client, applicant):
    call = CallFactory()
    client.force_login(applicant)
    assert client.get(reverse("portal:application_create", args=[call.pk])).status_code == 405
    assert not Application.objects.exists()


# ---- call documents -------------------------------------------------------------------------------


def test_call_document_downloads_with_utf8_file_name(client):
    doc = make_document(CallFactory())
    response = client.get(reverse("public:call_document", args=[doc.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("2026年度重点研发计划申报指南.pdf") in disposition
    assert response["X-Content-Type-Options"] == "nosniff"


def test_closed_call_documents_stay_public(client):
    doc = make_document(closed_call())
    assert client.get(reverse("public:call_document", args=[doc.pk])).status_code == 200


def test_draft_call_document_is_404_except_for_bureau_staff(client, applicant, officer):
    doc = make_document(draft_call())
    url = reverse("public:call_document", args=[doc.pk])
    assert client.get(url).status_code == 404
    client.force_login(applicant)
    assert client.get(url).status_code == 404
    client.force_login(officer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_missing_document_is_404(client):
    assert client.get(reverse("public:call_document", args=[999999])).status_code == 404


def test_content_disposition_has_an_ascii_fallback_and_cannot_break_the_header():
    from projects.views.files import content_disposition

    assert content_disposition("可行性报告.pdf") == (
        "attachment; filename=\"download.pdf\"; filename*=UTF-8''" + quote("可行性报告.pdf")
    )
    header = content_disposition('evil"\r\nSet-Cookie: x=1.pdf')
    assert "\r" not in header and "\n" not in header
    assert header.count('"') == 2
    assert content_disposition("Résumé 2026.docx").startswith('attachment; filename="Resume 2026.docx";')

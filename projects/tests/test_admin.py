import datetime
import re
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OrganizationFactory, UserFactory
from activity.models import AuditEvent
from projects import services
from projects.checklists import FORMAL_REVIEW_CHECKLIST
from projects.exports import export_applications_xlsx
from projects.models import Application, ApplicationVersion, Attachment, Call, CallDocument, FormalReview
from projects.selectors import applications_visible_to
from projects.tests.factories import (
    EXE_BYTES,
    PDF_BYTES,
    ApplicationFactory,
    AttachmentFactory,
    CallFactory,
    set_state,
)

pytestmark = pytest.mark.django_db

A = Application.State
CHANGELIST = "admin:projects_application_changelist"
ALL_CODES = [code for code, _label in FORMAL_REVIEW_CHECKLIST]


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, real_name="系统管理员")


def make_apps(n, call, state=A.ENDORSED, orgs=None):
    orgs = orgs or OrganizationFactory.create_batch(3)
    apps = []
    for i in range(n):
        owner = orgs[i % len(orgs)]
        app = ApplicationFactory(call=call, organization=owner, created_by=UserFactory(organization=owner))
        apps.append(set_state(app, state) if state != A.DRAFT else app)
    return apps


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def audit_verbs(app):
    return list(
        AuditEvent.objects.filter(target_type=ContentType.objects.get_for_model(Application), target_id=str(app.pk))
        .order_by("id")
        .values_list("verb", flat=True)
    )


# ---- application change list -------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 50])
def test_application_changelist_renders_for_an_officer_with_fixed_queries(
    client, officer, open_call, django_assert_max_num_queries, rows
):
    make_apps(rows, open_call)
    client.force_login(officer)
    with django_assert_max_num_queries(10):
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    html = response.content.decode()
    assert "受理" in html and "导出Excel" in html
    assert "350,000.00" in html  # fiscal total, exact, from the annotation


def test_application_changelist_hides_drafts_of_other_organisations(client, officer, open_call):
    draft = ApplicationFactory(call=open_call, title="别人的草稿不应出现")
    endorsed = set_state(ApplicationFactory(call=open_call, title="已报送的项目"), A.ENDORSED)
    client.force_login(officer)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert endorsed.title in html
    assert draft.title not in html
    assert client.get(reverse("admin:projects_application_change", args=[draft.pk])).status_code == 302


def test_application_changelist_filters_and_search(client, officer, open_call):
    a, b = make_apps(2, open_call)
    set_state(b, A.ACCEPTED)
    client.force_login(officer)
    html = client.get(reverse(CHANGELIST), {"state__exact": "accepted"}).content.decode()
    assert b.title in html and a.title not in html
    html = client.get(reverse(CHANGELIST), {"q": a.organization.name}).content.decode()
    assert a.title in html and b.title not in html


def test_application_change_page_is_read_only_and_masks_the_leader_id(client, officer, open_call):
    app = make_apps(1, open_call)[0]
    Application.objects.filter(pk=app.pk).update(leader_id_number="330106198001011234")
    AttachmentFactory(application=app)
    client.force_login(officer)
    url = reverse("admin:projects_application_change", args=[app.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "330***********1234" in html
    assert "198001011234" not in html
    assert 'name="_save"' not in html
    assert reverse("portal:attachment_download", args=[Attachment.objects.get().pk]) in html
    # posting a change is refused
    assert client.post(url, {"title": "后台改名"}).status_code == 403
    app.refresh_from_db()
    assert app.title != "后台改名"


@pytest.mark.parametrize(
    "model_name, make",
    [
        ("application", lambda call: set_state(ApplicationFactory(call=call), A.ENDORSED)),
        ("call", lambda call: call),
        ("attachment", lambda call: AttachmentFactory(application=set_state(ApplicationFactory(call=call), A.ENDORSED))),
    ],
)
def test_nothing_on_record_can_be_deleted_even_by_a_superuser(client, superuser, open_call, model_name, make):
    obj = make(open_call)
    client.force_login(superuser)
    url = reverse(f"admin:projects_{model_name}_delete", args=[obj.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()
    changelist = client.get(reverse(f"admin:projects_{model_name}_changelist")).content.decode()
    assert "delete_selected" not in changelist


def test_formal_reviews_and_versions_are_read_only(client, superuser, applicant, draft_app, officer):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    set_state(draft_app, A.ENDORSED)
    services.formal_review(
        actor=officer, application_id=draft_app.pk, decision="accept", checklist=dict.fromkeys(ALL_CODES, True)
    )
    review = FormalReview.objects.get()
    version = ApplicationVersion.objects.get()
    client.force_login(superuser)
    for model_name, obj in (("formalreview", review), ("applicationversion", version)):
        assert client.get(reverse(f"admin:projects_{model_name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:projects_{model_name}_change", args=[obj.pk])).status_code == 200
        assert client.post(reverse(f"admin:projects_{model_name}_change", args=[obj.pk]), {}).status_code == 403
        assert client.post(reverse(f"admin:projects_{model_name}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        assert client.get(reverse(f"admin:projects_{model_name}_add")).status_code == 403
    assert FormalReview.objects.count() == 1 and ApplicationVersion.objects.count() == 1


# ---- batch formal review (形式审查) through the intermediate page ---------------------------------


def _start(client, action, apps):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "select_across": "0", "index": "0", "_selected_action": [a.pk for a in apps]},
    )


def _confirm(client, action, apps, **data):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [a.pk for a in apps], "apply": "1", **data}
    )


def test_batch_accept_through_the_intermediate_page(client, officer, open_call):
    ready = make_apps(2, open_call)
    not_ready = make_apps(1, open_call, state=A.RETURNED)[0]
    selected = [*ready, not_ready]
    client.force_login(officer)

    page = _start(client, "accept_selected", selected)
    assert page.status_code == 200
    html = page.content.decode()
    assert "批量形式审查：受理" in html
    for app in selected:
        assert app.title in html
    assert "不在“待形式审查”状态" in html
    for app in selected:
        app.refresh_from_db()
    assert [a.state for a in selected] == [A.ENDORSED, A.ENDORSED, A.RETURNED]  # nothing happened yet

    response = _confirm(client, "accept_selected", selected, reason="", checklist=ALL_CODES)
    assert response.status_code == 302
    for app in selected:
        app.refresh_from_db()
    assert [a.state for a in selected] == [A.ACCEPTED, A.ACCEPTED, A.RETURNED]
    for app in ready:
        assert audit_verbs(app)[-1] == "accept"
        event = AuditEvent.objects.filter(verb="accept", target_id=str(app.pk)).get()
        assert event.actor == officer and event.from_state == A.ENDORSED and event.to_state == A.ACCEPTED
        assert FormalReview.objects.get(application=app).checklist == dict.fromkeys(ALL_CODES, True)
    assert "accept" not in audit_verbs(not_ready)

    msgs = messages_of(response)
    assert any("已受理 2 项" in m and ready[0].number in m and ready[1].number in m for m in msgs)
    assert any(not_ready.title in m and "当前状态为“退回修改”，不能执行“受理”" in m for m in msgs)


def test_batch_accept_requires_confirming_the_whole_checklist(client, officer, open_call):
    apps = make_apps(2, open_call)
    client.force_login(officer)
    response = _confirm(client, "accept_selected", apps, checklist=ALL_CODES[:2])
    assert response.status_code == 200
    assert "以下审查要点尚未确认，不能受理" in response.content.decode()
    for app in apps:
        app.refresh_from_db()
        assert app.state == A.ENDORSED
    assert not FormalReview.objects.exists()


def test_batch_return_asks_for_the_reason_and_passes_it_on(client, officer, open_call):
    apps = make_apps(2, open_call)
    client.force_login(officer)
    response = _confirm(client, "return_selected", apps, reason="")
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["该字段是必填项。"]}
    assert "该字段是必填项。" in response.content.decode()  # the error itself, not the help text “必填，…”
    apps[0].refresh_from_db()
    assert apps[0].state == A.ENDORSED

    response = _confirm(client, "return_selected", apps, reason="预算明细与测算说明不一致", checklist=ALL_CODES[1:])
    assert response.status_code == 302
    for app in apps:
        app.refresh_from_db()
        assert app.state == A.RETURNED
        assert app.last_reason == "预算明细与测算说明不一致"
        assert AuditEvent.objects.get(verb="return", target_id=str(app.pk)).reason == "预算明细与测算说明不一致"


def test_batch_reject(client, officer, open_call):
    app = make_apps(1, open_call)[0]
    client.force_login(officer)
    response = _confirm(client, "reject_selected", [app], reason="不属于本指南支持方向")
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.state == A.REJECTED


def test_review_actions_are_offered_only_to_reviewers(client, open_call):
    supervisor = UserFactory(roles=["supervisor"], is_staff=True)
    make_apps(1, open_call)
    client.force_login(supervisor)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert "accept_selected" not in html
    assert "export_xlsx" in html


# ---- Excel export ------------------------------------------------------------------------------


def _sheet(content: bytes):
    return openpyxl.load_workbook(BytesIO(content)).active


def test_export_action_returns_the_selected_rows_with_exact_money(client, officer, open_call):
    org = OrganizationFactory(name="杭州精确到分科技有限公司")
    cents = ApplicationFactory(
        call=open_call,
        organization=org,
        created_by=UserFactory(organization=org),
        title="小额项目",
        budget={"equipment": (Decimal("0.10"), Decimal("0.05")), "business": (Decimal("0.20"), Decimal("0.07"))},
    )
    set_state(cents, A.ENDORSED)
    other = make_apps(1, open_call)[0]
    unselected = make_apps(1, open_call)[0]
    client.force_login(officer)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "export_xlsx", "select_across": "0", "index": "0", "_selected_action": [cents.pk, other.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    ws = _sheet(response.content)
    header = [c.value for c in ws[1]]
    assert header == [
        "申报编号", "项目名称", "申报单位", "统一社会信用代码", "计划类别", "指南", "项目负责人", "状态",
        "财政资金(元)", "自筹资金(元)", "合计(元)", "提交时间",
    ]
    assert ws.freeze_panes == "A2"
    rows = {r[1].value: r for r in ws.iter_rows(min_row=2) if r[0].value != "合计"}
    assert set(rows) == {"小额项目", other.title}
    assert unselected.title not in rows
    row = rows["小额项目"]
    assert row[2].value == "杭州精确到分科技有限公司"
    assert row[3].value == org.credit_code
    assert row[7].value == "待形式审查"
    assert Decimal(str(row[8].value)) == Decimal("0.30")
    assert Decimal(str(row[9].value)) == Decimal("0.12")
    assert Decimal(str(row[10].value)) == Decimal("0.42")
    assert row[8].number_format == "#,##0.00"
    total = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "合计")
    assert Decimal(str(total[8].value)) == Decimal("350000.30")
    assert Decimal(str(total[10].value)) == Decimal("750000.42")


def test_export_button_exports_what_the_filters_match(client, officer, open_call):
    endorsed = make_apps(2, open_call)
    accepted = make_apps(1, open_call, state=A.ACCEPTED)
    client.force_login(officer)
    changelist = client.get(reverse(CHANGELIST), {"state__exact": "accepted"}).content.decode()
    assert reverse("admin:projects_application_export") + "?state__exact=accepted" in changelist
    response = client.get(reverse("admin:projects_application_export"), {"state__exact": "accepted"})
    assert response.status_code == 200
    titles = {r[1].value for r in _sheet(response.content).iter_rows(min_row=2) if r[0].value != "合计"}
    assert titles == {accepted[0].title}
    assert not titles & {a.title for a in endorsed}


def test_export_button_needs_admin_access(client, applicant):
    client.force_login(applicant)
    response = client.get(reverse("admin:projects_application_export"))
    assert response.status_code == 302  # to the admin login
    assert "xlsx" not in response.get("Content-Disposition", "")


@pytest.mark.parametrize("rows", [5, 50])
def test_export_runs_a_fixed_number_of_queries(officer, open_call, django_assert_max_num_queries, rows):
    make_apps(rows, open_call)
    with django_assert_max_num_queries(2):
        content = export_applications_xlsx(applications_visible_to(officer))
    assert _sheet(content).max_row == rows + 2  # header + rows + 合计


def test_export_sums_budget_lines_exactly():
    call = CallFactory()
    app = ApplicationFactory(
        call=call, budget={"equipment": (Decimal("0.10"), Decimal("0")), "labour": (Decimal("0.20"), Decimal("0"))}
    )
    ws = _sheet(export_applications_xlsx(Application.objects.filter(pk=app.pk)))
    assert Decimal(str(ws.cell(row=2, column=9).value)) == Decimal("0.30")
    assert Decimal(str(ws.cell(row=2, column=11).value)) == Decimal("0.30")


# ---- calls ---------------------------------------------------------------------------------------


def test_call_changelist_and_publish_close_actions(client, officer, django_assert_max_num_queries):
    draft = CallFactory(title="待发布指南", state=Call.State.DRAFT, published_at=None)
    published = CallFactory(title="进行中的指南")
    client.force_login(officer)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:projects_call_changelist"))
    assert response.status_code == 200
    assert "待发布指南" in response.content.decode()

    response = client.post(
        reverse("admin:projects_call_changelist"),
        {"action": "publish_selected", "index": "0", "_selected_action": [draft.pk, published.pk]},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    published.refresh_from_db()
    assert draft.state == Call.State.PUBLISHED and draft.published_at is not None
    assert published.state == Call.State.PUBLISHED
    msgs = messages_of(response)
    assert any("已发布 1 项" in m for m in msgs)
    assert any("进行中的指南" in m and "不能执行“发布”" in m for m in msgs)

    response = client.post(
        reverse("admin:projects_call_changelist"),
        {"action": "close_selected", "index": "0", "_selected_action": [published.pk]},
    )
    published.refresh_from_db()
    assert published.state == Call.State.CLOSED
    assert AuditEvent.objects.filter(verb="close", target_id=str(published.pk), actor=officer).exists()


def _call_form(**overrides):
    now = timezone.localtime()
    data = {
        "program": CallFactory().program_id,
        "year": now.year,
        "title": "2026年度科技特派员项目申报指南",
        "guide": "支持方向：乡村振兴。",
        "opens_at_0": now.strftime("%Y-%m-%d"),
        "opens_at_1": "08:30:00",
        "closes_at_0": (now + datetime.timedelta(days=30)).strftime("%Y-%m-%d"),
        "closes_at_1": "17:00:00",
        "total_budget": "3000000.00",
        "cap_per_project": "300000.00",
        "min_self_funding_ratio": "0.3",
        "max_applications_per_org": "",
        "eligible_org_kinds": ["enterprise", "institute"],
        "required_qualifications": ["high_tech"],
        "required_attachment_kinds": ["feasibility"],
        "documents-TOTAL_FORMS": "1",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
        "documents-0-title": "申报指南全文",
    }
    data.update(overrides)
    return data


def test_officer_adds_a_call_with_a_checked_guide_document(client, officer):
    client.force_login(officer)
    upload = SimpleUploadedFile("指南全文.pdf", PDF_BYTES, content_type="application/octet-stream")
    response = client.post(reverse("admin:projects_call_add"), {**_call_form(), "documents-0-file": upload})
    assert response.status_code == 302, response.context["errors"] if response.context else response
    call = Call.objects.get(title="2026年度科技特派员项目申报指南")
    assert call.state == Call.State.DRAFT
    assert call.created_by == officer
    assert call.eligible_org_kinds == ["enterprise", "institute"]
    assert call.required_qualifications == ["high_tech"]
    assert call.cap_per_project == Decimal("300000.00")
    doc = CallDocument.objects.get(call=call)
    assert doc.original_name == "指南全文.pdf"
    assert doc.content_type == "application/pdf"
    assert doc.size == len(PDF_BYTES)
    # its change page renders (private files have no URL; the link goes through the download view)
    html = client.get(reverse("admin:projects_call_change", args=[call.pk])).content.decode()
    assert reverse("public:call_document", args=[doc.pk]) in html


def test_a_renamed_executable_is_refused_as_a_guide_document(client, officer):
    client.force_login(officer)
    upload = SimpleUploadedFile("指南全文.pdf", EXE_BYTES, content_type="application/pdf")
    response = client.post(reverse("admin:projects_call_add"), {**_call_form(), "documents-0-file": upload})
    assert response.status_code == 200
    assert "不允许上传该类型的文件" in response.content.decode()
    assert not Call.objects.filter(title="2026年度科技特派员项目申报指南").exists()
    assert not CallDocument.objects.exists()


def test_call_state_cannot_be_edited_in_the_form(client, officer):
    call = CallFactory(state=Call.State.DRAFT, published_at=None)
    client.force_login(officer)
    form = _call_form(program=call.program_id, state="published")
    form.update({"documents-TOTAL_FORMS": "0"})
    response = client.post(reverse("admin:projects_call_change", args=[call.pk]), form)
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.state == Call.State.DRAFT
    assert call.title == "2026年度科技特派员项目申报指南"


def test_adding_a_call_in_the_admin_is_audited(client, officer):
    client.force_login(officer)
    upload = SimpleUploadedFile("指南全文.pdf", PDF_BYTES, content_type="application/pdf")
    response = client.post(reverse("admin:projects_call_add"), {**_call_form(), "documents-0-file": upload})
    assert response.status_code == 302
    call = Call.objects.get(title="2026年度科技特派员项目申报指南")
    create = AuditEvent.objects.get(verb="create", target_id=str(call.pk), target_repr=call.title)
    assert create.actor == officer and create.data["changed"]["cap_per_project"] == ["", "300000.00"]
    attach = AuditEvent.objects.get(verb="attach", target_id=str(call.pk), target_repr=call.title)
    assert attach.data["name"] == "指南全文.pdf" and attach.data["document_id"] == CallDocument.objects.get().pk


def _edit_form(call, **overrides):
    """The change form of ``call`` as the admin renders it, with ``overrides`` typed in."""
    opens, closes = timezone.localtime(call.opens_at), timezone.localtime(call.closes_at)
    docs = list(call.documents.all())
    data = {
        "program": call.program_id,
        "year": call.year,
        "title": call.title,
        "guide": call.guide,
        "opens_at_0": opens.strftime("%Y-%m-%d"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": closes.strftime("%Y-%m-%d"),
        "closes_at_1": closes.strftime("%H:%M:%S"),
        "total_budget": str(call.total_budget),
        "cap_per_project": str(call.cap_per_project),
        "min_self_funding_ratio": str(call.min_self_funding_ratio),
        "max_applications_per_org": call.max_applications_per_org or "",
        "eligible_org_kinds": call.eligible_org_kinds,
        "required_qualifications": call.required_qualifications,
        "required_attachment_kinds": call.required_attachment_kinds,
        "documents-TOTAL_FORMS": str(len(docs) + 1),
        "documents-INITIAL_FORMS": str(len(docs)),
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
    }
    for i, doc in enumerate(docs):
        data[f"documents-{i}-id"] = doc.pk
        data[f"documents-{i}-call"] = call.pk
    data.update(overrides)
    return data


def test_a_published_calls_rules_cannot_change_in_the_admin(client, officer):
    call = CallFactory(title="已发布的指南")
    client.force_login(officer)
    url = reverse("admin:projects_call_change", args=[call.pk])
    assert "指南已发布，申报条件不能修改。" in client.get(url).content.decode()  # rules shown greyed out
    earlier = timezone.localtime(call.closes_at - datetime.timedelta(days=1)).replace(microsecond=0)
    response = client.post(url, _edit_form(
        call, cap_per_project="800000.00", title="改了标题也不保存",
        closes_at_0=earlier.strftime("%Y-%m-%d"), closes_at_1=earlier.strftime("%H:%M:%S"),
    ))
    assert response.status_code == 200  # the form again, not a 403 / 500
    errors = response.context["adminform"].form.non_field_errors()
    assert len(errors) == 1 and "截止时间只能延后（延期），不能提前" in errors[0]
    html = response.content.decode()
    assert "改了标题也不保存" in html  # the input is kept
    call.refresh_from_db()
    assert (call.cap_per_project, call.title) == (Decimal("500000.00"), "已发布的指南")
    assert not AuditEvent.objects.filter(verb="edit", target_id=str(call.pk)).exists()


def test_a_disabled_rule_posted_anyway_is_ignored(client, officer):
    call = CallFactory(title="已发布的指南")
    client.force_login(officer)
    response = client.post(
        reverse("admin:projects_call_change", args=[call.pk]),
        _edit_form(call, cap_per_project="800000.00", title="新标题"),
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.cap_per_project, call.title) == (Decimal("500000.00"), "新标题")


def test_a_published_call_may_be_extended_in_the_admin_and_applicants_are_told(client, officer, open_call):
    draft = ApplicationFactory(call=open_call)
    new = timezone.localtime(open_call.closes_at + datetime.timedelta(days=10)).replace(microsecond=0)
    client.force_login(officer)
    response = client.post(
        reverse("admin:projects_call_change", args=[open_call.pk]),
        _edit_form(open_call, closes_at_0=new.strftime("%Y-%m-%d"), closes_at_1=new.strftime("%H:%M:%S")),
    )
    assert response.status_code == 302
    open_call.refresh_from_db()
    assert open_call.closes_at == new
    event = AuditEvent.objects.get(verb="edit", target_id=str(open_call.pk))
    assert event.actor == officer and event.data["extended"] is True and list(event.data["changed"]) == ["closes_at"]
    assert draft.created_by.notifications.get().kind == "call_extended"


def test_a_published_calls_deadline_cannot_be_brought_forward_in_the_admin(client, officer, open_call):
    before = open_call.closes_at
    earlier = timezone.localtime(before - datetime.timedelta(days=3))
    client.force_login(officer)
    response = client.post(
        reverse("admin:projects_call_change", args=[open_call.pk]),
        _edit_form(open_call, closes_at_0=earlier.strftime("%Y-%m-%d"), closes_at_1=earlier.strftime("%H:%M:%S")),
    )
    assert response.status_code == 200
    assert "截止时间只能延后（延期），不能提前" in response.content.decode()
    open_call.refresh_from_db()
    assert open_call.closes_at == before


def test_a_supplementary_notice_is_added_to_a_published_call_and_documents_stay_as_filed(client, officer, open_call):
    filed = services.add_call_document(actor=officer, call_id=open_call.pk, title="申报指南全文",
                                       uploaded=SimpleUploadedFile("指南.pdf", PDF_BYTES))
    client.force_login(officer)
    url = reverse("admin:projects_call_change", args=[open_call.pk])
    page = client.get(url)
    existing = page.context["inline_admin_formsets"][0].formset.forms[0]
    assert existing.fields["title"].disabled and existing.fields["file"].disabled
    data = _edit_form(
        open_call,
        **{
            "documents-0-title": "被篡改的标题",  # ignored: a filed document is not edited in place
            "documents-0-DELETE": "on",  # ignored: no delete on a published call
            "documents-1-title": "关于延长申报时间的补充通知",
            "documents-1-file": SimpleUploadedFile("补充通知.pdf", PDF_BYTES),
        },
    )
    response = client.post(url, data)
    assert response.status_code == 302
    filed.refresh_from_db()
    assert filed.title == "申报指南全文"
    notice = CallDocument.objects.get(title="关于延长申报时间的补充通知")
    assert (notice.original_name, notice.content_type, notice.size) == ("补充通知.pdf", "application/pdf", len(PDF_BYTES))
    assert AuditEvent.objects.filter(verb="attach", target_id=str(open_call.pk)).count() == 2


def test_a_draft_calls_document_is_removed_through_the_service(client, superuser):
    call = CallFactory(state=Call.State.DRAFT, published_at=None)
    doc = services.add_call_document(actor=superuser, call_id=call.pk, title="旧版指南",
                                     uploaded=SimpleUploadedFile("旧版.pdf", PDF_BYTES))
    client.force_login(superuser)
    response = client.post(
        reverse("admin:projects_call_change", args=[call.pk]), _edit_form(call, **{"documents-0-DELETE": "on"})
    )
    assert response.status_code == 302
    assert not CallDocument.objects.filter(pk=doc.pk).exists()
    assert AuditEvent.objects.get(verb="detach", target_id=str(call.pk)).data["title"] == "旧版指南"


# ---- submission snapshots: ID numbers masked on display, stored as submitted --------------------


def test_version_snapshot_masks_id_numbers_for_officers(client, officer, applicant, draft_app):
    Application.objects.filter(pk=draft_app.pk).update(leader_id_number="330106198001011234")
    services.set_team(actor=applicant, application_id=draft_app.pk, members=[
        {"name": "王成员", "id_number": "11010519491231002X", "organization_name": "本单位", "work_months": 6},
    ])
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    version = ApplicationVersion.objects.get()
    # what is stored: the leader's number as submitted (for the record), no team member numbers at all
    assert version.snapshot["fields"]["leader_id_number"] == "330106198001011234"
    assert version.snapshot["team"] == [
        {"name": "王成员", "title": "", "organization": "本单位", "role": "", "months": 6}
    ]
    set_state(draft_app, A.ENDORSED)
    client.force_login(officer)
    response = client.get(reverse("admin:projects_applicationversion_change", args=[version.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "330***********1234" in html
    assert "198001011234" not in html and "19491231002X" not in html


def test_masked_snapshot_masks_every_id_number_key_and_leaves_the_rest():
    from projects.admin import masked_snapshot

    stored = {
        "fields": {"leader_id_number": "330106198001011234", "title": "项目"},
        "team": [{"name": "甲", "id_number": "11010519491231002X"}, {"name": "乙", "id_number": ""}],
    }
    shown = masked_snapshot(stored)
    assert shown == {
        "fields": {"leader_id_number": "330***********1234", "title": "项目"},
        "team": [{"name": "甲", "id_number": "110***********002X"}, {"name": "乙", "id_number": ""}],
    }
    assert stored["fields"]["leader_id_number"] == "330106198001011234"  # the original is untouched


# ---- application change page: fixed queries however many formal reviews --------------------------


def test_application_change_page_runs_fixed_queries_with_1_or_10_formal_reviews(
    client, officer, open_call, django_assert_max_num_queries
):
    app = make_apps(1, open_call, state=A.ACCEPTED)[0]

    def review():
        FormalReview.objects.create(
            application=app, reviewer=UserFactory(roles=["officer"]), revision=1, decision="return", comment="补充材料"
        )

    review()
    client.force_login(officer)
    url = reverse("admin:projects_application_change", args=[app.pk])
    with django_assert_max_num_queries(100) as one:
        assert client.get(url).status_code == 200
    for _i in range(9):
        review()
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("补充材料") == 10


# ---- Excel export: no formula injection --------------------------------------------------------


def test_export_writes_formula_like_text_as_literal_strings(open_call):
    from zipfile import ZipFile

    org = OrganizationFactory(name="@SUM(1+1)*cmd|' /C calc'!A0")
    app = ApplicationFactory(
        call=open_call, organization=org, created_by=UserFactory(organization=org),
        title='=HYPERLINK("http://x","y")', leader_name="-2+3",
    )
    set_state(app, A.ENDORSED)
    content = export_applications_xlsx(Application.objects.filter(pk=app.pk))
    ws = _sheet(content)
    row = ws[2]
    assert row[1].value == '=HYPERLINK("http://x","y")' and row[1].data_type == "s"
    assert row[2].value == "@SUM(1+1)*cmd|' /C calc'!A0" and row[2].data_type == "s"
    assert row[6].value == "-2+3" and row[6].data_type == "s"
    assert row[1].quotePrefix and row[2].quotePrefix and row[6].quotePrefix
    with ZipFile(BytesIO(content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no formula anywhere: the text is an inline string
    assert re.search(r'<c r="B2"[^>]* t="inlineStr"><is><t>=HYPERLINK\(', sheet)
    # ordinary text and the money are untouched
    assert not ws[2][0].quotePrefix and Decimal(str(ws[2][8].value)) == Decimal("350000.00")


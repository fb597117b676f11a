"""Calls (申报指南) are written by services: create, edit within the published-call rules, guide documents."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.models import Organization
from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification
from projects import services
from projects.models import Application, AttachmentKind, Call, CallDocument
from projects.tests.factories import EXE_BYTES, PDF_BYTES, ApplicationFactory, CallFactory, ProgramFactory, set_state

pytestmark = pytest.mark.django_db

A = Application.State
NOW = timezone.now()


def call_data(**overrides):
    data = {
        "program": ProgramFactory(),
        "year": 2026,
        "title": "2026年度科技特派员项目申报指南",
        "guide": "支持方向：乡村振兴。",
        "opens_at": NOW + datetime.timedelta(days=1),
        "closes_at": NOW + datetime.timedelta(days=31),
        "total_budget": Decimal("3000000.00"),
        "cap_per_project": Decimal("300000.00"),
        "min_self_funding_ratio": Decimal("0.3"),
        "eligible_org_kinds": ["institute", "enterprise"],
        "required_qualifications": [],
        "max_applications_per_org": None,
        "required_attachment_kinds": ["feasibility"],
    }
    data.update(overrides)
    return data


def events(call, verb):
    return list(AuditEvent.objects.filter(verb=verb, target_id=str(call.pk), target_repr=str(call)).order_by("id"))


# ---- create ---------------------------------------------------------------------------------------


def test_officer_creates_a_draft_call_with_an_audit_event(officer):
    call = services.create_call(actor=officer, data=call_data())
    call.refresh_from_db()
    assert call.state == Call.State.DRAFT and call.created_by == officer
    assert call.title == "2026年度科技特派员项目申报指南"
    assert call.cap_per_project == Decimal("300000.00")
    # stored in the order of the choices, whatever order they were given in
    assert call.eligible_org_kinds == ["enterprise", "institute"]
    [event] = events(call, "create")
    assert event.actor == officer and event.to_state == "draft"
    assert event.data["changed"]["title"] == ["", "2026年度科技特派员项目申报指南"]
    assert event.data["changed"]["cap_per_project"] == ["", "300000.00"]


def test_only_bureau_staff_create_calls(applicant):
    with pytest.raises(PermissionRefused):
        services.create_call(actor=applicant, data=call_data())
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"closes_at": NOW - datetime.timedelta(days=5)}, "截止时间必须晚于开始时间"),
        ({"cap_per_project": Decimal("0")}, "单项财政资金上限"),
        ({"title": "   "}, "不能为空"),
        ({"eligible_org_kinds": ["enterprise", "martians"]}, "可申报单位性质中有无效的选项：martians"),
        ({"required_attachment_kinds": ["exe"]}, "必传附件类型中有无效的选项：exe"),
    ],
)
def test_bad_call_data_is_refused_and_nothing_is_created(officer, overrides, message):
    with pytest.raises(InvalidInput) as e:
        services.create_call(actor=officer, data=call_data(**overrides))
    assert message in e.value.message or any(message in m for m in e.value.messages), e.value.messages
    assert not Call.objects.exists()
    assert not AuditEvent.objects.filter(verb="create").exists()


# ---- edit: a draft changes freely ----------------------------------------------------------------------


def test_a_draft_call_changes_freely_and_the_audit_names_the_changed_fields(officer):
    call = services.create_call(actor=officer, data=call_data())
    services.update_call(
        actor=officer,
        call_id=call.pk,
        data={"cap_per_project": Decimal("500000"), "eligible_org_kinds": ["enterprise"], "title": call.title},
    )
    call.refresh_from_db()
    assert call.cap_per_project == Decimal("500000.00") and call.eligible_org_kinds == ["enterprise"]
    [event] = events(call, "edit")
    assert event.actor == officer
    assert event.data["changed"] == {
        "cap_per_project": ["300000.00", "500000"],
        "eligible_org_kinds": ["enterprise,institute", "enterprise"],
    }
    assert event.data["extended"] is False


def test_an_edit_that_changes_nothing_writes_nothing(officer):
    call = CallFactory(state=Call.State.DRAFT, eligible_org_kinds=["institute", "enterprise"])
    services.update_call(actor=officer, call_id=call.pk, data={"eligible_org_kinds": ["enterprise", "institute"]})
    assert not events(call, "edit")


def test_only_bureau_staff_edit_calls(applicant):
    call = CallFactory(state=Call.State.DRAFT)
    with pytest.raises(PermissionRefused):
        services.update_call(actor=applicant, call_id=call.pk, data={"title": "改名"})
    call.refresh_from_db()
    assert call.title != "改名"


# ---- edit: a published call's rules are fixed --------------------------------------------------------


RULE_CHANGES = {
    "program": lambda call: ProgramFactory(code="kjtpy", name="科技特派员项目"),
    "year": lambda call: call.year + 1,
    "opens_at": lambda call: call.opens_at - datetime.timedelta(days=1),
    "cap_per_project": lambda call: Decimal("800000"),
    "min_self_funding_ratio": lambda call: Decimal("0.2"),
    "eligible_org_kinds": lambda call: [Organization.Kind.UNIVERSITY],
    "required_qualifications": lambda call: [Organization.Qualification.HIGH_TECH],
    "max_applications_per_org": lambda call: 1,
    "required_attachment_kinds": lambda call: [AttachmentKind.ETHICS],
}


def test_every_rule_field_is_listed():
    assert set(RULE_CHANGES) == set(services.CALL_RULE_FIELDS)


@pytest.mark.parametrize("field", list(RULE_CHANGES))
@pytest.mark.parametrize("state", [Call.State.PUBLISHED, Call.State.CLOSED])
def test_the_rules_of_a_published_or_closed_call_cannot_change(officer, field, state):
    call = CallFactory(state=state)
    before = Call.objects.values().get(pk=call.pk)
    with pytest.raises(InvalidInput) as e:
        services.update_call(actor=officer, call_id=call.pk, data={field: RULE_CHANGES[field](call), "title": "新标题"})
    label = str(Call._meta.get_field(field).verbose_name)
    if state == Call.State.PUBLISHED:
        assert e.value.message == f"指南已发布，申报条件不能修改（{label}）；如需调整请发布补充通知或新批次。"
    else:
        assert e.value.message == f"指南已截止，申报条件不能修改（{label}）。"
    assert Call.objects.values().get(pk=call.pk) == before  # nothing changed, not even the title
    assert not events(call, "edit")


def test_title_guide_and_total_budget_of_a_published_call_may_be_corrected(officer):
    call = CallFactory()
    services.update_call(
        actor=officer,
        call_id=call.pk,
        data={"title": "（更正）重点研发计划", "guide": "更正后的指南正文", "total_budget": Decimal("12000000")},
    )
    call.refresh_from_db()
    assert (call.title, call.guide, call.total_budget) == ("（更正）重点研发计划", "更正后的指南正文", Decimal("12000000.00"))
    assert set(events(call, "edit")[0].data["changed"]) == {"title", "guide", "total_budget"}


def test_a_published_call_deadline_cannot_be_brought_forward(officer):
    call = CallFactory()
    before = call.closes_at
    with pytest.raises(InvalidInput) as e:
        services.update_call(actor=officer, call_id=call.pk, data={"closes_at": before - datetime.timedelta(days=1)})
    assert "截止时间只能延后（延期），不能提前" in e.value.message
    assert "“截止”操作" in e.value.message
    call.refresh_from_db()
    assert call.closes_at == before


def test_a_closed_call_deadline_cannot_change(officer):
    call = CallFactory(state=Call.State.CLOSED)
    with pytest.raises(InvalidInput) as e:
        services.update_call(actor=officer, call_id=call.pk, data={"closes_at": call.closes_at + datetime.timedelta(days=9)})
    assert e.value.message == "指南已截止，截止时间不能修改；如需继续征集请发布新批次。"


def test_an_extension_must_end_in_the_future(officer):
    call = CallFactory(closes_at=NOW - datetime.timedelta(hours=2))  # published, not yet swept
    with pytest.raises(InvalidInput) as e:
        services.update_call(actor=officer, call_id=call.pk, data={"closes_at": NOW - datetime.timedelta(hours=1)})
    assert e.value.message == "延期后的截止时间必须晚于当前时间。"


def test_extending_a_published_call_notifies_who_has_not_submitted(officer, open_call, django_capture_on_commit_callbacks):
    draft = ApplicationFactory(call=open_call)
    org_returned = set_state(ApplicationFactory(call=open_call), A.ORG_RETURNED)
    submitted = set_state(ApplicationFactory(call=open_call), A.SUBMITTED)
    withdrawn = set_state(ApplicationFactory(call=open_call), A.WITHDRAWN)
    other_call = ApplicationFactory()
    # a second draft by the same author is one notice, not two
    ApplicationFactory(call=open_call, organization=draft.organization, created_by=draft.created_by)
    old = open_call.closes_at
    new = old + datetime.timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=True):
        services.update_call(actor=officer, call_id=open_call.pk, data={"closes_at": new})

    open_call.refresh_from_db()
    assert open_call.closes_at == new
    notified = Notification.objects.filter(kind=MessageKind.CALL_EXTENDED)
    assert sorted(n.recipient_id for n in notified) == sorted([draft.created_by_id, org_returned.created_by_id])
    for n in notified:
        assert open_call.title in n.title and "延期" in n.title
        assert timezone.localtime(new).strftime("%Y-%m-%d %H:%M") in n.body
        assert timezone.localtime(old).strftime("%Y-%m-%d %H:%M") in n.body
        assert n.link == f"/calls/{open_call.pk}/"
    for app in (submitted, withdrawn, other_call):
        assert not notified.filter(recipient=app.created_by).exists()
    [event] = events(open_call, "edit")
    assert event.data["extended"] is True and list(event.data["changed"]) == ["closes_at"]

    # a further extension is a new fact: told again
    services.update_call(actor=officer, call_id=open_call.pk, data={"closes_at": new + datetime.timedelta(days=1)})
    assert Notification.objects.filter(kind=MessageKind.CALL_EXTENDED).count() == 4


def test_a_draft_deadline_may_move_either_way_without_notices(officer):
    call = CallFactory(state=Call.State.DRAFT, published_at=None)
    ApplicationFactory(call=call)
    services.update_call(actor=officer, call_id=call.pk, data={"closes_at": call.closes_at - datetime.timedelta(days=10)})
    services.update_call(actor=officer, call_id=call.pk, data={"closes_at": call.closes_at + datetime.timedelta(days=10)})
    assert not Notification.objects.exists()


# ---- guide documents ---------------------------------------------------------------------------------


def test_add_call_document_checks_the_file_and_records_it(officer):
    call = CallFactory()
    doc = services.add_call_document(
        actor=officer, call_id=call.pk, title=" 补充通知 ",
        uploaded=SimpleUploadedFile("补充通知.pdf", PDF_BYTES, content_type="application/octet-stream"),
    )
    doc.refresh_from_db()
    assert (doc.title, doc.original_name, doc.content_type, doc.size) == (
        "补充通知", "补充通知.pdf", "application/pdf", len(PDF_BYTES)
    )
    assert doc.file.read() == PDF_BYTES
    [event] = events(call, "attach")
    assert event.actor == officer
    assert event.data["document_id"] == doc.pk and event.data["name"] == "补充通知.pdf"
    assert len(event.data["sha256"]) == 64


def test_a_renamed_executable_is_refused_as_a_call_document(officer):
    call = CallFactory()
    with pytest.raises(InvalidInput) as e:
        services.add_call_document(
            actor=officer, call_id=call.pk, title="指南", uploaded=SimpleUploadedFile("指南.pdf", EXE_BYTES)
        )
    assert "不允许上传该类型的文件" in e.value.message
    assert not CallDocument.objects.exists() and not events(call, "attach")


def test_a_call_document_needs_a_title_and_an_officer(officer, applicant):
    call = CallFactory()
    with pytest.raises(InvalidInput):
        services.add_call_document(actor=officer, call_id=call.pk, title=" ", uploaded=SimpleUploadedFile("a.pdf", PDF_BYTES))
    with pytest.raises(PermissionRefused):
        services.add_call_document(actor=applicant, call_id=call.pk, title="指南", uploaded=SimpleUploadedFile("a.pdf", PDF_BYTES))
    assert not CallDocument.objects.exists()


def test_only_a_draft_call_document_may_be_removed(officer):
    draft = CallFactory(state=Call.State.DRAFT, published_at=None)
    doc = services.add_call_document(actor=officer, call_id=draft.pk, title="草稿附件", uploaded=SimpleUploadedFile("a.pdf", PDF_BYTES))
    services.remove_call_document(actor=officer, document_id=doc.pk)
    assert not CallDocument.objects.filter(pk=doc.pk).exists()
    assert events(draft, "detach")[0].data["title"] == "草稿附件"

    published = CallFactory()
    kept = services.add_call_document(actor=officer, call_id=published.pk, title="正式指南", uploaded=SimpleUploadedFile("a.pdf", PDF_BYTES))
    with pytest.raises(TransitionRefused):
        services.remove_call_document(actor=officer, document_id=kept.pk)
    assert CallDocument.objects.filter(pk=kept.pk).exists()


def test_a_superuser_without_a_role_may_manage_calls():
    root = UserFactory(is_superuser=True, is_staff=True)
    call = services.create_call(actor=root, data=call_data())
    assert call.created_by == root

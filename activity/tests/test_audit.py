"""The audit log: every transition recorded with who, from, to, why and where from; never changed."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.workflow import record_audit
from activity.middleware import RequestContextMiddleware
from activity.models import AuditEvent
from activity.selectors import history
from projects import services
from projects.services import APPLICATION_WORKFLOW

pytestmark = pytest.mark.django_db


def test_transition_records_actor_states_reason_and_ip(draft_app, applicant, org_admin):
    services.submit_application(actor=applicant, application_id=draft_app.pk)

    def view(request):
        services.org_return_application(actor=org_admin, application_id=draft_app.pk, reason="合作协议未盖章")
        return HttpResponse("ok")

    request = RequestFactory().post("/x", REMOTE_ADDR="10.1.2.3")
    RequestContextMiddleware(view)(request)
    event = AuditEvent.objects.latest("id")
    assert event.actor == org_admin
    assert (event.verb, event.from_state, event.to_state) == ("org_return", "submitted", "org_returned")
    assert event.reason == "合作协议未盖章"
    assert event.ip == "10.1.2.3"
    assert event.target == draft_app


def test_events_outside_a_request_have_no_ip(draft_app, applicant):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    assert AuditEvent.objects.latest("id").ip is None


def test_audit_log_is_append_only(draft_app, applicant):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    event = AuditEvent.objects.latest("id")
    event.reason = "篡改"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="篡改")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_history_labels_transitions_in_chinese(draft_app, applicant, org_admin):
    services.update_application(actor=applicant, application_id=draft_app.pk, data={"title": "新的项目名称"})
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    services.endorse_application(actor=org_admin, application_id=draft_app.pk)
    rows = [(e.verb_label, e.from_label, e.to_label) for e in history(draft_app, APPLICATION_WORKFLOW)]
    assert rows[-2:] == [("提交", "草稿", "待单位审核"), ("单位审核通过", "待单位审核", "待形式审查")]
    assert rows[0][0] in ("创建", "修改基本信息")


def test_system_actor_is_recorded_as_none(open_call):
    record_audit(actor=None, verb="close", target=open_call, from_state="published", to_state="closed")
    assert AuditEvent.objects.latest("id").actor is None


def test_audit_log_in_admin_hides_what_the_officer_may_not_open(client, draft_app, applicant, officer, org):
    from django.urls import reverse

    from projects.tests.factories import ApplicationFactory, set_state

    services.update_application(actor=applicant, application_id=draft_app.pk, data={"title": "保密的草稿标题"})
    visible = set_state(ApplicationFactory(call=draft_app.call, organization=org, created_by=applicant,
                                           title="已报送的项目"), "endorsed")
    services.formal_review(actor=officer, application_id=visible.pk, decision="return", reason="补充材料")
    client.force_login(officer)
    html = client.get(reverse("admin:activity_auditevent_changelist")).content.decode()
    assert "已报送的项目" in html
    assert "保密的草稿标题" not in html
    draft_event = AuditEvent.objects.filter(target_id=str(draft_app.pk), verb="edit").get()
    assert client.get(reverse("admin:activity_auditevent_change", args=[draft_event.pk])).status_code == 302


def test_notifications_admin_is_for_superusers_only(client, officer):
    from django.urls import reverse

    client.force_login(officer)
    assert client.get(reverse("admin:activity_notification_changelist")).status_code == 403

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from activity.models import AuditEvent, Notification
from activity.services import notify
from projects import services
from projects.models import Application
from projects.tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

A = Application.State


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True, real_name="系统管理员")


def submitted_apps(n, call, org, applicant):
    """n applications submitted through the service (so each has real audit events)."""
    apps = []
    for _i in range(n):
        app = ApplicationFactory(call=call, organization=org, created_by=applicant)
        services.submit_application(actor=applicant, application_id=app.pk)
        apps.append(app)
    return apps


@pytest.mark.parametrize("rows", [5, 50])
def test_audit_changelist_renders_for_an_officer_with_fixed_queries(
    client, officer, open_call, org, applicant, django_assert_max_num_queries, rows
):
    # max_applications_per_org is unlimited and each factory row has its own leader, so all submit
    submitted_apps(rows, open_call, org, applicant)
    assert AuditEvent.objects.filter(verb="submit").count() == rows
    Application.objects.update(reached_bureau_at=timezone.now())  # the bureau sees them (see selectors)
    client.force_login(officer)
    # 13 with a cold content-type cache (one query for every model registered with register_visibility)
    with django_assert_max_num_queries(13):
        response = client.get(reverse("admin:activity_auditevent_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "张申报" in html  # the actor
    assert "草稿 → 待单位审核" in html  # states in Chinese
    assert "提交" in html


def test_audit_labels_and_filters(client, superuser, org_admin, draft_app, applicant):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    services.org_return_application(actor=org_admin, application_id=draft_app.pk, reason="预算表缺少测算依据")
    client.force_login(superuser)
    url = reverse("admin:activity_auditevent_changelist")

    html = client.get(url, {"verb": "org_return"}).content.decode()
    assert "单位退回" in html and "待单位审核 → 单位退回" in html
    assert "草稿 → 待单位审核" not in html

    html = client.get(url, {"q": "测算依据"}).content.decode()
    assert "待单位审核 → 单位退回" in html
    assert "草稿 → 待单位审核" not in html

    event = AuditEvent.objects.get(verb="org_return")
    html = client.get(reverse("admin:activity_auditevent_change", args=[event.pk])).content.decode()
    assert "预算表缺少测算依据" in html
    assert reverse("admin:projects_application_change", args=[draft_app.pk]) in html


@pytest.mark.parametrize("user_fixture", ["officer", "superuser"])
def test_audit_events_cannot_be_added_changed_or_deleted(client, request, draft_app, applicant, user_fixture):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    Application.objects.filter(pk=draft_app.pk).update(reached_bureau_at=timezone.now())
    event = AuditEvent.objects.get(verb="submit")
    client.force_login(request.getfixturevalue(user_fixture))

    change_url = reverse("admin:activity_auditevent_change", args=[event.pk])
    page = client.get(change_url)
    assert page.status_code == 200  # viewable …
    assert 'name="_save"' not in page.content.decode()  # … but read-only
    assert client.post(change_url, {"reason": "篡改", "verb": "accept"}).status_code == 403

    delete_url = reverse("admin:activity_auditevent_delete", args=[event.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403

    assert client.get(reverse("admin:activity_auditevent_add")).status_code == 403

    changelist = reverse("admin:activity_auditevent_changelist")
    html = client.get(changelist).content.decode()
    assert "delete_selected" not in html and 'name="_selected_action"' not in html
    response = client.post(changelist, {"action": "delete_selected", "index": "0", "_selected_action": [event.pk], "post": "yes"})
    assert response.status_code == 200  # no action exists: the list is shown again, nothing happens

    event.refresh_from_db()
    assert event.reason == "" and event.verb == "submit"
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_notification_admin_is_read_only(client, superuser, applicant, draft_app):
    services.submit_application(actor=applicant, application_id=draft_app.pk)
    notify([applicant], kind="application_accepted", title="测试通知：已受理", dedupe_key="test:admin:1")
    note = Notification.objects.get(title="测试通知：已受理")
    client.force_login(superuser)
    html = client.get(reverse("admin:activity_notification_changelist")).content.decode()
    assert "测试通知：已受理" in html
    html = client.get(reverse("admin:activity_notification_changelist"), {"read": "yes"}).content.decode()
    assert "测试通知：已受理" not in html
    change_url = reverse("admin:activity_notification_change", args=[note.pk])
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"title": "改"}).status_code == 403
    assert client.post(reverse("admin:activity_notification_delete", args=[note.pk]), {"post": "yes"}).status_code == 403
    note.refresh_from_db()
    assert note.title == "测试通知：已受理"


@pytest.mark.parametrize("rows", [5, 50])
def test_notification_changelist_runs_fixed_queries(client, superuser, django_assert_max_num_queries, rows):
    users = UserFactory.create_batch(3)
    for i in range(rows):
        notify([users[i % 3]], kind="application_submitted", title=f"通知{i}", dedupe_key=f"test:n:{i}")
    client.force_login(superuser)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("admin:activity_notification_changelist")).status_code == 200


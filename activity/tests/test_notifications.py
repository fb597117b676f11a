"""Notifications are stored once per fact and recipient, and e-mailed exactly once."""

import pytest
from django.core import mail

from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import Notification
from activity.services import mark_read, notify, notify_each
from activity.tasks import send_notification_email, send_notification_emails


@pytest.fixture
def user(db):
    return UserFactory(email="zhang@example.com", roles=["applicant"])


def _notify(recipients, key="app:1:accept:r1"):
    return notify(
        recipients,
        kind=MessageKind.APPLICATION_ACCEPTED,
        title="已受理：工业质检关键技术研究",
        body="申报书已通过形式审查，予以受理。",
        link="/portal/applications/1/",
        dedupe_key=key,
    )


def test_same_dedupe_key_twice_creates_one_row_and_one_email(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = _notify([user])
        second = _notify([user])
    assert len(first) == 1 and second == []
    assert Notification.objects.filter(recipient=user).count() == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zhang@example.com"]
    assert "已受理：工业质检关键技术研究" in message.subject
    assert "/portal/applications/1/" in message.body
    assert Notification.objects.get(recipient=user).emailed_at is not None


def test_a_new_fact_notifies_again(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify([user], key="app:1:return:r1")
        _notify([user], key="app:1:return:r2")
    assert Notification.objects.filter(recipient=user).count() == 2
    assert len(mail.outbox) == 2


def test_email_waits_for_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _notify([user])
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_each_recipient_once(user, django_capture_on_commit_callbacks):
    other = UserFactory(email="li@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        created = _notify([user, other, user])
    assert len(created) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["li@example.com", "zhang@example.com"]


def test_no_email_address_means_inbox_only(db, django_capture_on_commit_callbacks):
    silent = UserFactory(email="")
    with django_capture_on_commit_callbacks(execute=True):
        _notify([silent])
    assert Notification.objects.filter(recipient=silent).count() == 1
    assert mail.outbox == []


def test_inactive_users_are_not_notified(db, django_capture_on_commit_callbacks):
    gone = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert _notify([gone]) == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_task_twice_sends_one_email(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        [notification] = _notify([user])  # e-mail not sent: callbacks discarded
    assert mail.outbox == []
    assert send_notification_email(notification.pk) is True
    assert send_notification_email(notification.pk) is False  # a retry after success
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_task_for_a_missing_notification_does_nothing(db):
    assert send_notification_email(987654) is False
    assert mail.outbox == []


def test_mark_read_only_touches_the_users_unread(user):
    other = UserFactory()
    [a] = _notify([user], key="k1")
    [b] = _notify([user], key="k2")
    [c] = _notify([other], key="k3")
    assert mark_read(user=user, notification_ids=[a.pk, c.pk]) == 1
    assert mark_read(user=user) == 1
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert a.read_at and b.read_at and c.read_at is None


def test_notify_each_writes_one_message_per_recipient_in_bulk(db, django_capture_on_commit_callbacks,
                                                               django_assert_max_num_queries):
    users = [UserFactory(email=f"e{i}@example.com") for i in range(5)] + [UserFactory(email="")]
    messages = [(u, f"评审邀请 {i}", f"您收到{i + 1}项评审邀请") for i, u in enumerate(users)]
    with django_capture_on_commit_callbacks(execute=True):
        with django_assert_max_num_queries(4):
            created = notify_each(messages, kind=MessageKind.REVIEW_INVITED, dedupe_key="draw:7:invited")
        again = notify_each(messages, kind=MessageKind.REVIEW_INVITED, dedupe_key="draw:7:invited")
    assert len(created) == 6 and again == []
    assert Notification.objects.get(recipient=users[2]).body == "您收到3项评审邀请"
    # five addresses, five e-mails (the user without an address is inbox-only), each once
    assert sorted(m.to[0] for m in mail.outbox) == [f"e{i}@example.com" for i in range(5)]
    assert Notification.objects.filter(emailed_at__isnull=False).count() == 5
    assert send_notification_emails([n.pk for n in created]) == 0  # a retry sends nothing twice

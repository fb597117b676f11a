"""The notification inbox: only one's own messages, read one, read all."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import Notification
from activity.services import notify

INBOX_QUERY_BOUND = 7  # session, user, groups, unread badge, count, page, + one spare


@pytest.fixture
def alice(db):
    return UserFactory(real_name="王小明", roles=["applicant"])


@pytest.fixture
def bob(db):
    return UserFactory(real_name="刘小红", roles=["applicant"])


def send(user, key, title="申报书已受理", link="/portal/applications/1/"):
    [n] = notify([user], kind=MessageKind.APPLICATION_ACCEPTED, title=title, body="正文", link=link, dedupe_key=key)
    return n


def test_anonymous_is_sent_to_login(client, alice):
    n = send(alice, "a")
    for response in (
        client.get(reverse("inbox:list")),
        client.post(reverse("inbox:read", args=[n.pk])),
        client.post(reverse("inbox:read_all")),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    n.refresh_from_db()
    assert n.read_at is None


def test_list_shows_only_own_notifications(client, alice, bob):
    send(alice, "a1", title="给小明的第一条")
    read = send(alice, "a2", title="给小明的第二条")
    send(bob, "b1", title="给小红的消息")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    client.force_login(alice)
    response = client.get(reverse("inbox:list"))
    html = response.content.decode()
    assert "给小明的第一条" in html and "给小明的第二条" in html
    assert "给小红的消息" not in html
    assert html.count('data-testid="notification"') == 2
    # unread is bold and counted in the navbar badge
    assert html.count('fw-bold" data-testid="notification" data-read="0"') == 1
    assert 'data-testid="unread-count">1<' in html


def test_unread_filter(client, alice):
    send(alice, "a1", title="未读的消息")
    read = send(alice, "a2", title="已读的消息")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    client.force_login(alice)
    html = client.get(reverse("inbox:list"), {"filter": "unread"}).content.decode()
    assert "未读的消息" in html and "已读的消息" not in html


def test_list_is_paginated(client, alice):
    for i in range(25):
        send(alice, f"k{i}", title=f"消息{i}")
    client.force_login(alice)
    first = client.get(reverse("inbox:list"))
    assert len(first.context["page"].object_list) == 20
    second = client.get(reverse("inbox:list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5


@pytest.mark.parametrize("n", [5, 50])
def test_inbox_query_count(client, django_assert_max_num_queries, alice, bob, n):
    for i in range(n):
        send(alice, f"a{i}")
        send(bob, f"b{i}")
    client.force_login(alice)
    with django_assert_max_num_queries(INBOX_QUERY_BOUND):
        response = client.get(reverse("inbox:list"))
    assert len(response.context["page"].object_list) == min(n, 20)
    with django_assert_max_num_queries(INBOX_QUERY_BOUND):
        client.get(reverse("inbox:list"), {"filter": "unread", "page": 2})


def test_read_marks_read_and_follows_the_link(client, alice):
    n = send(alice, "a", link="/portal/applications/7/")
    client.force_login(alice)
    response = client.post(reverse("inbox:read", args=[n.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/portal/applications/7/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_read_without_link_goes_back(client, alice):
    n = send(alice, "a", link="")
    client.force_login(alice)
    response = client.post(reverse("inbox:read", args=[n.pk]), {"next": "/inbox/?filter=unread"})
    assert response["Location"] == "/inbox/?filter=unread"
    response = client.post(reverse("inbox:read", args=[n.pk]))
    assert response["Location"] == reverse("inbox:list")


def test_read_never_redirects_off_site(client, alice):
    n = send(alice, "a", link="https://evil.example.com/")
    client.force_login(alice)
    response = client.post(reverse("inbox:read", args=[n.pk]), {"next": "//evil.example.com/"})
    assert response["Location"] == reverse("inbox:list")


def test_read_of_another_users_notification_is_404(client, alice, bob):
    n = send(bob, "b")
    client.force_login(alice)
    assert client.post(reverse("inbox:read", args=[n.pk])).status_code == 404
    n.refresh_from_db()
    assert n.read_at is None


def test_read_is_post_only(client, alice):
    n = send(alice, "a")
    client.force_login(alice)
    assert client.get(reverse("inbox:read", args=[n.pk])).status_code == 405
    n.refresh_from_db()
    assert n.read_at is None


def test_read_all_marks_only_own_unread(client, alice, bob):
    mine = [send(alice, f"a{i}") for i in range(3)]
    theirs = send(bob, "b")
    client.force_login(alice)
    response = client.post(reverse("inbox:read_all"), follow=True)
    assert "已将 3 条消息标为已读" in response.content.decode()
    assert Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert 'data-testid="unread-count"' not in response.content.decode()

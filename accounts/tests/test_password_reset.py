"""忘记密码: a one-time e-mailed link sets a new password; nothing reveals whether an address exists."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_reset_by_email_link_sets_a_new_password_once(client):
    user = UserFactory(email="zhang@example.com", real_name="张工")
    response = client.post(reverse("accounts:password_reset"), {"email": "zhang@example.com"})
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["zhang@example.com"]
    assert "重置密码" in message.subject
    assert "张工" in message.body and user.username in message.body
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)

    page = client.get(link, follow=True)
    assert "设置新密码" in page.content.decode()
    confirm_url = page.redirect_chain[-1][0]
    response = client.post(confirm_url, {"new_password1": "Kj-new-password-2027", "new_password2": "Kj-new-password-2027"})
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("Kj-new-password-2027")

    again = client.get(link, follow=True).content.decode()
    assert "该链接无效或已使用过" in again


def test_unknown_address_looks_the_same_and_sends_nothing(client):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_weak_new_password_is_refused(client):
    UserFactory(email="li@example.com")
    client.post(reverse("accounts:password_reset"), {"email": "li@example.com"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    response = client.post(page.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "密码" in response.content.decode() and "is-invalid" in response.content.decode()


def test_login_page_links_to_password_reset(client):
    assert reverse("accounts:password_reset") in client.get(reverse("accounts:login")).content.decode()

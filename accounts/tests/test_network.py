"""The client address used by the audit log and the login lockout cannot be forged."""

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.network import client_ip
from accounts.tests.factories import UserFactory

rf = RequestFactory()


def test_header_from_an_untrusted_client_is_ignored():
    request = rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_REAL_IP="10.0.0.1")
    assert client_ip(request) == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_header_from_a_trusted_proxy_is_used():
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="198.51.100.7")
    assert client_ip(request) == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
@pytest.mark.parametrize("bad", ["not-an-ip", "", "1.2.3.4, 5.6.7.8", "<script>"])
def test_a_header_that_is_not_an_ip_is_never_used(bad):
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=bad)
    assert client_ip(request) == "127.0.0.1"


@pytest.mark.django_db
def test_forged_header_cannot_break_an_audited_write(client, draft_app, applicant):
    client.force_login(applicant)
    response = client.post(
        reverse("portal:application_withdraw", args=[draft_app.pk]), {"reason": ""}, HTTP_X_REAL_IP="not-an-ip"
    )
    assert response.status_code == 302
    draft_app.refresh_from_db()
    assert draft_app.state == "withdrawn"
    from activity.models import AuditEvent

    assert AuditEvent.objects.latest("id").ip == "127.0.0.1"


@pytest.mark.django_db
@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_lockout_behind_the_proxy_is_per_real_client(client):
    """Five wrong passwords from one client do not lock the same user out for another client."""
    UserFactory(username="officer1", password="correct-horse-battery")
    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": "officer1", "password": "wrong-password"}, HTTP_X_REAL_IP="198.51.100.1")
    locked = client.post(url, {"username": "officer1", "password": "correct-horse-battery"},
                         HTTP_X_REAL_IP="198.51.100.1")
    assert locked.status_code == 429
    other = client.post(url, {"username": "officer1", "password": "correct-horse-battery"},
                        HTTP_X_REAL_IP="198.51.100.2")
    assert other.status_code == 302

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

RIGHT = "correct-horse-battery"  # UserFactory's password


def login(client, user, password):
    return client.post(reverse("accounts:login"), {"username": user.username, "password": password})


def test_login_page_is_chinese(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert "用户登录" in html and "用户名" in html and "密码" in html


def test_right_password_logs_in_and_lands_on_the_portal(client, applicant):
    response = login(client, applicant, RIGHT)
    assert response.status_code == 302
    assert response.url == reverse("portal:dashboard")
    assert client.session["_auth_user_id"] == str(applicant.pk)


def test_officer_lands_on_formal_review(client, officer):
    response = login(client, officer, RIGHT)
    assert response.url == reverse("portal:review_queue")


def test_finance_lands_on_the_due_tranches_and_an_expert_on_the_workbench(client):
    finance = UserFactory(roles=["finance"])
    assert login(client, finance, RIGHT).url == reverse("funding:due")
    client.logout()
    expert = UserFactory(roles=["expert"])
    assert login(client, expert, RIGHT).url == reverse("experts:dashboard")


def test_next_is_honoured(client, applicant):
    url = reverse("accounts:organization")
    response = client.post(
        reverse("accounts:login"), {"username": applicant.username, "password": RIGHT, "next": url}
    )
    assert response.url == url


def test_wrong_password_is_a_clear_error(client, applicant):
    response = login(client, applicant, "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码错误。连续输错 5 次，账号将被临时锁定。" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_the_account(client, applicant):
    for _ in range(4):
        assert login(client, applicant, "wrong-password").status_code == 200
    fifth = login(client, applicant, "wrong-password")
    assert fifth.status_code == 429

    # Even the right password is refused now, and the lockout page explains why and for how long.
    response = login(client, applicant, RIGHT)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "账号已临时锁定" in html
    assert "连续 5 次输入了错误的密码" in html
    assert "请在 30 分钟后再尝试登录" in html
    assert applicant.username in html


def test_lockout_is_per_user(client, applicant, org_admin):
    for _ in range(5):
        login(client, applicant, "wrong-password")
    response = login(client, org_admin, RIGHT)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(org_admin.pk)


def test_logout_is_post_only(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_change(client, applicant):
    client.force_login(applicant)
    assert client.get(reverse("accounts:password_change")).status_code == 200
    new = "Xihu-Longjing-2026"
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": RIGHT, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_change_done")
    assert "密码修改成功" in client.get(response.url).content.decode()
    applicant.refresh_from_db()
    assert applicant.check_password(new)


def test_password_change_with_wrong_old_password(client, applicant):
    client.force_login(applicant)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": "Xihu-Longjing-2026", "new_password2": "Xihu-Longjing-2026"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    applicant.refresh_from_db()
    assert applicant.check_password(RIGHT)


def test_password_change_needs_login(client):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))

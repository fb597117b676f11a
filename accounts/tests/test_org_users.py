import pytest
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import UserFactory
from activity.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "Qianjiang-2026-secure"


def add_data(**overrides):
    data = {
        "username": "zhang_keyan",
        "real_name": "张科研",
        "email": "zhang@example.com",
        "phone": "13900001111",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_users_page_lists_the_org_users_with_roles(client, org, org_admin, applicant, other_applicant):
    client.force_login(org_admin)
    response = client.get(reverse("accounts:users"))
    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert {u.pk for u in rows} == {org_admin.pk, applicant.pk}
    html = response.content.decode()
    assert "单位管理员" in html and "申报单位用户" in html
    assert other_applicant.username not in html


def test_users_page_keeps_a_fixed_number_of_queries(client, org, org_admin, django_assert_max_num_queries):
    client.force_login(org_admin)
    UserFactory.create_batch(4, organization=org, roles=["applicant"])
    with django_assert_max_num_queries(12) as small:
        assert client.get(reverse("accounts:users")).status_code == 200
    UserFactory.create_batch(45, organization=org, roles=["applicant"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("accounts:users"))
    assert len(response.context["page"].object_list) == 20
    assert response.context["page"].paginator.count == 50


def test_org_admin_adds_an_applicant(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:user_add"), add_data())
    assert response.status_code == 302
    user = User.objects.get(username="zhang_keyan")
    assert user.organization == org and user.is_active and user.check_password(PASSWORD)
    assert set(user.groups.values_list("name", flat=True)) == {"applicant"}
    assert AuditEvent.objects.filter(verb="add_user", target_id=str(org.pk), actor=org_admin).exists()
    assert "已添加用户“张科研”" in client.get(response.url).content.decode()


def test_org_admin_adds_another_org_admin(client, org, org_admin):
    client.force_login(org_admin)
    client.post(reverse("accounts:user_add"), add_data(is_org_admin="on"))
    user = User.objects.get(username="zhang_keyan")
    assert set(user.groups.values_list("name", flat=True)) == {"applicant", "org_admin"}


def test_taken_username_is_a_field_error(client, org, org_admin, other_applicant):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:user_add"), add_data(username=other_applicant.username.upper()))
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == ["用户名已被使用。"]
    assert User.objects.filter(organization=org).count() == 1


def test_deactivate_and_reactivate(client, org, org_admin, applicant):
    client.force_login(org_admin)
    url = reverse("accounts:user_toggle", args=[applicant.pk])
    response = client.post(url, follow=True)
    applicant.refresh_from_db()
    assert not applicant.is_active
    assert "已停用用户“张申报”" in response.content.decode()
    assert AuditEvent.objects.filter(verb="deactivate_user", actor=org_admin).exists()

    client.post(url)
    applicant.refresh_from_db()
    assert applicant.is_active
    assert AuditEvent.objects.filter(verb="activate_user", actor=org_admin).exists()


def test_deactivated_user_cannot_log_in(client, org, org_admin, applicant):
    client.force_login(org_admin)
    client.post(reverse("accounts:user_toggle", args=[applicant.pk]))
    client.logout()
    response = client.post(
        reverse("accounts:login"), {"username": applicant.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_admin_cannot_deactivate_self(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:user_toggle", args=[org_admin.pk]), follow=True)
    assert response.status_code == 200
    assert "不能停用自己的账号。" in response.content.decode()
    org_admin.refresh_from_db()
    assert org_admin.is_active


def test_user_of_another_org_is_a_404(client, org, org_admin, other_applicant):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:user_toggle", args=[other_applicant.pk]))
    assert response.status_code == 404
    other_applicant.refresh_from_db()
    assert other_applicant.is_active


@pytest.mark.parametrize("who", ["applicant", "officer", "expert_user"])
def test_non_org_admins_get_404(client, org, org_admin, request, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(reverse("accounts:users")).status_code == 404
    assert client.get(reverse("accounts:user_add")).status_code == 404
    assert client.post(reverse("accounts:user_add"), add_data()).status_code == 404
    assert client.post(reverse("accounts:user_toggle", args=[org_admin.pk])).status_code == 404
    assert not User.objects.filter(username="zhang_keyan").exists()
    org_admin.refresh_from_db()
    assert org_admin.is_active


def test_toggle_requires_post(client, org_admin, applicant):
    client.force_login(org_admin)
    assert client.get(reverse("accounts:user_toggle", args=[applicant.pk])).status_code == 405

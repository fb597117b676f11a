import pytest
from django.core import mail
from django.urls import reverse

from accounts.exceptions import InvalidInput
from accounts.models import Organization, User
from accounts.services import register_organization
from accounts.tests.factories import OrganizationFactory, UserFactory, make_credit_code
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db

PASSWORD = "Hz-keji-2026-secure"
DUPLICATE_MSG = "该统一社会信用代码已注册，请联系本单位管理员为您开通账号。"


def registration_data(**overrides):
    data = {
        "name": "杭州云栖智能装备有限公司",
        "credit_code": make_credit_code(),
        "kind": "enterprise",
        "region": "杭州市西湖区",
        "address": "杭州市西湖区云栖小镇1号",
        "legal_representative": "孙法人",
        "contact_name": "周联络",
        "contact_phone": "0571-88001122",
        "contact_email": "contact@yunqi.example.com",
        "high_tech_cert_no": "GR202433001234",
        "high_tech_expires": "2027-12-01",
        "tech_sme_no": "202633010600123",
        "tech_sme_year": "2026",
        "username": "yunqi_admin",
        "real_name": "吴管理",
        "email": "admin@yunqi.example.com",
        "phone": "13800001111",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_register_page_renders_every_section(client):
    response = client.get(reverse("accounts:register"))
    assert response.status_code == 200
    html = response.content.decode()
    for label in ["统一社会信用代码", "高新技术企业证书编号", "科技型中小企业入库登记编号", "单位管理员账号", "确认密码"]:
        assert label in html


def test_registration_creates_pending_org_and_its_admin(client, officer):
    data = registration_data()
    response = client.post(reverse("accounts:register"), data)

    assert response.status_code == 302
    assert response.url == reverse("accounts:organization")
    org = Organization.objects.get(credit_code=data["credit_code"])
    assert org.state == Organization.State.PENDING
    assert org.name == data["name"]
    assert str(org.high_tech_expires) == "2027-12-01" and org.tech_sme_year == 2026
    user = User.objects.get(username="yunqi_admin")
    assert user.organization == org
    assert user.check_password(PASSWORD)
    assert set(user.groups.values_list("name", flat=True)) == {"applicant", "org_admin"}
    assert AuditEvent.objects.filter(verb="register", target_id=str(org.pk), actor=user, to_state="pending").exists()
    assert Notification.objects.filter(recipient=officer, kind=MessageKind.ORG_REGISTERED, target_id=str(org.pk)).exists()

    # Logged in, and the organisation page says it waits for the bureau.
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.context["user"] == user
    html = page.content.decode()
    assert "待审核" in html
    assert "注册成功" in html


def test_officer_is_emailed_once_after_commit(client, officer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:register"), registration_data())
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[officer.email]]
    assert "新单位注册待审核" in mail.outbox[0].subject


def test_duplicate_credit_code_is_refused_and_nothing_is_created(client):
    existing = OrganizationFactory()
    before = (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count())

    response = client.post(reverse("accounts:register"), registration_data(credit_code=existing.credit_code))

    assert response.status_code == 200
    assert response.context["org_form"].errors["credit_code"] == [DUPLICATE_MSG]
    assert DUPLICATE_MSG in response.content.decode()
    assert (Organization.objects.count(), User.objects.count(), AuditEvent.objects.count()) == before
    assert "_auth_user_id" not in client.session


def test_service_refuses_duplicate_code_written_differently():
    existing = OrganizationFactory()
    data = registration_data(credit_code=existing.credit_code.lower())
    org_data = {k: data[k] for k in ["name", "credit_code", "kind", "region", "contact_name", "contact_phone"]}
    with pytest.raises(InvalidInput) as exc:
        register_organization(
            organization=org_data, username="dup", password=PASSWORD, email="d@example.com", real_name="重复"
        )
    assert exc.value.messages == [DUPLICATE_MSG]
    assert not User.objects.filter(username="dup").exists()


def test_taken_username_is_refused_and_nothing_is_created(client):
    UserFactory(username="yunqi_admin")
    data = registration_data()
    response = client.post(reverse("accounts:register"), data)
    assert response.status_code == 200
    assert response.context["account_form"].errors["username"] == ["用户名已被使用。"]
    assert not Organization.objects.filter(credit_code=data["credit_code"]).exists()


def test_password_mismatch_and_weak_password(client):
    response = client.post(reverse("accounts:register"), registration_data(password2="something-else-2026"))
    assert response.context["account_form"].errors["password2"] == ["两次输入的密码不一致。"]
    response = client.post(reverse("accounts:register"), registration_data(password1="12345678", password2="12345678"))
    assert response.context["account_form"].errors["password1"]
    assert Organization.objects.count() == 0


def test_incomplete_qualification_is_refused(client):
    response = client.post(reverse("accounts:register"), registration_data(high_tech_expires=""))
    assert response.status_code == 200
    assert "高新技术企业证书编号与有效期须同时填写。" in response.content.decode()
    assert Organization.objects.count() == 0


def test_missing_required_fields_are_reported_per_field(client):
    response = client.post(reverse("accounts:register"), registration_data(name="", contact_phone="", email=""))
    org_errors = response.context["org_form"].errors
    assert "name" in org_errors and "contact_phone" in org_errors
    assert "email" in response.context["account_form"].errors
    assert Organization.objects.count() == 0


def test_logged_in_user_is_sent_away_from_registration(client, applicant):
    client.force_login(applicant)
    response = client.get(reverse("accounts:register"))
    assert response.status_code == 302

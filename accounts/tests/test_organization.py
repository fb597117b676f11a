import pytest
from django.urls import reverse

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.models import Organization
from accounts.services import (
    PROFILE_FIELDS,
    correct_organization,
    resubmit_organization,
    return_organization,
    verify_organization,
)
from accounts.tests.factories import OrganizationFactory, UserFactory, make_credit_code
from activity.messaging import MessageKind
from activity.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db

S = Organization.State


def org_in(state, **kw):
    org = OrganizationFactory(state=state, **kw)
    if state == S.RETURNED:
        Organization.objects.filter(pk=org.pk).update(state_reason="营业执照复印件不清晰")
        org.refresh_from_db()
    return org


# ---- transitions: every allowed and refused one ------------------------------------------


def test_verify_from_pending(officer):
    org = org_in(S.PENDING)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    verify_organization(actor=officer, organization_id=org.pk)
    org.refresh_from_db()
    assert org.state == S.VERIFIED
    assert org.verified_at is not None
    event = AuditEvent.objects.get(verb="verify", target_id=str(org.pk))
    assert (event.actor, event.from_state, event.to_state) == (officer, "pending", "verified")
    assert Notification.objects.filter(recipient=admin, kind=MessageKind.ORG_VERIFIED).exists()


@pytest.mark.parametrize(("state", "label"), [(S.VERIFIED, "已认证"), (S.RETURNED, "已退回")])
def test_verify_refused_from(officer, state, label):
    org = org_in(state)
    with pytest.raises(TransitionRefused) as exc:
        verify_organization(actor=officer, organization_id=org.pk)
    assert exc.value.message == f"当前状态为“{label}”，不能执行“认证通过”。"
    org.refresh_from_db()
    assert org.state == state
    assert not AuditEvent.objects.filter(verb="verify").exists()


def test_return_from_pending_with_reason(officer):
    org = org_in(S.PENDING)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    return_organization(actor=officer, organization_id=org.pk, reason="单位名称与营业执照不一致")
    org.refresh_from_db()
    assert org.state == S.RETURNED
    assert org.state_reason == "单位名称与营业执照不一致"
    event = AuditEvent.objects.get(verb="return", target_id=str(org.pk))
    assert (event.from_state, event.to_state, event.reason) == ("pending", "returned", "单位名称与营业执照不一致")
    note = Notification.objects.get(recipient=admin, kind=MessageKind.ORG_RETURNED)
    assert "单位名称与营业执照不一致" in note.body


@pytest.mark.parametrize(("state", "label"), [(S.VERIFIED, "已认证"), (S.RETURNED, "已退回")])
def test_return_refused_from(officer, state, label):
    org = org_in(state)
    with pytest.raises(TransitionRefused) as exc:
        return_organization(actor=officer, organization_id=org.pk, reason="理由")
    assert exc.value.message == f"当前状态为“{label}”，不能执行“退回”。"
    org.refresh_from_db()
    assert org.state == state


@pytest.mark.parametrize("reason", ["", "   "])
def test_return_without_reason_is_refused(officer, reason):
    org = org_in(S.PENDING)
    with pytest.raises(InvalidInput) as exc:
        return_organization(actor=officer, organization_id=org.pk, reason=reason)
    assert exc.value.message == "“退回”必须填写理由。"
    org.refresh_from_db()
    assert org.state == S.PENDING
    assert not AuditEvent.objects.filter(verb="return").exists()


def test_resubmit_from_returned():
    org = org_in(S.RETURNED)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    resubmit_organization(actor=admin, organization_id=org.pk)
    org.refresh_from_db()
    assert org.state == S.PENDING
    event = AuditEvent.objects.get(verb="resubmit", target_id=str(org.pk))
    assert (event.actor, event.from_state, event.to_state) == (admin, "returned", "pending")


@pytest.mark.parametrize(("state", "label"), [(S.PENDING, "待审核"), (S.VERIFIED, "已认证")])
def test_resubmit_refused_from(state, label):
    org = org_in(state)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    with pytest.raises(TransitionRefused) as exc:
        resubmit_organization(actor=admin, organization_id=org.pk)
    assert exc.value.message == f"当前状态为“{label}”，不能执行“重新提交认证”。"
    org.refresh_from_db()
    assert org.state == state


def test_only_the_bureau_verifies_or_returns(org_admin):
    org = org_in(S.PENDING)
    with pytest.raises(PermissionRefused):
        verify_organization(actor=org_admin, organization_id=org.pk)
    with pytest.raises(PermissionRefused):
        return_organization(actor=org_admin, organization_id=org.pk, reason="x")
    org.refresh_from_db()
    assert org.state == S.PENDING


def test_only_own_org_admin_resubmits(other_applicant):
    org = org_in(S.RETURNED)
    member = UserFactory(organization=org, roles=["applicant"])
    for actor in (member, other_applicant):
        with pytest.raises(PermissionRefused):
            resubmit_organization(actor=actor, organization_id=org.pk)
    org.refresh_from_db()
    assert org.state == S.RETURNED


# ---- the organisation page ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["accounts:organization", "accounts:organization_edit", "accounts:users", "accounts:user_add"]
)
def test_anonymous_is_sent_to_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


def test_pending_org_page_says_pending(client):
    org = org_in(S.PENDING)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    client.force_login(admin)
    html = client.get(reverse("accounts:organization")).content.decode()
    assert "待审核" in html
    assert org.credit_code in html
    assert "重新提交认证" not in html


def test_returned_org_page_shows_reason_and_admin_resubmits(client):
    org = org_in(S.RETURNED)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    client.force_login(admin)
    response = client.get(reverse("accounts:organization"))
    html = response.content.decode()
    assert "营业执照复印件不清晰" in html
    assert "重新提交认证" in html

    response = client.post(reverse("accounts:organization_resubmit"), follow=True)
    org.refresh_from_db()
    assert org.state == S.PENDING
    html = response.content.decode()
    assert "已重新提交认证" in html
    # The history tab lists the resubmission with translated labels.
    assert "退回 → 待审核" in html


def test_resubmit_refusal_is_a_message_not_an_error(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:organization_resubmit"), follow=True)
    assert response.status_code == 200
    assert "当前状态为“已认证”，不能执行“重新提交认证”。" in response.content.decode()


def test_member_sees_the_org_read_only(client, org, applicant):
    client.force_login(applicant)
    response = client.get(reverse("accounts:organization"))
    assert response.status_code == 200
    assert not response.context["can_edit"]
    assert reverse("accounts:organization_edit") not in response.content.decode()
    assert client.get(reverse("accounts:organization_edit")).status_code == 404
    assert client.post(reverse("accounts:organization_edit"), {"name": "x"}).status_code == 404


def test_member_of_returned_org_cannot_resubmit(client):
    org = org_in(S.RETURNED)
    member = UserFactory(organization=org, roles=["applicant"])
    client.force_login(member)
    assert client.post(reverse("accounts:organization_resubmit")).status_code == 404
    org.refresh_from_db()
    assert org.state == S.RETURNED


def test_user_without_organization_gets_404(client, officer):
    client.force_login(officer)
    assert client.get(reverse("accounts:organization")).status_code == 404


def profile_post(org, **overrides):
    data = {
        f: getattr(org, f) or ""
        for f in PROFILE_FIELDS
    }
    data.update(overrides)
    return data


def test_admin_edits_profile_and_history_shows_it(client, org, org_admin):
    client.force_login(org_admin)
    response = client.post(reverse("accounts:organization_edit"), profile_post(org, contact_phone="0571-12345678"))
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.contact_phone == "0571-12345678"
    event = AuditEvent.objects.get(verb="update", target_id=str(org.pk))
    assert event.data["changed"]["contact_phone"][1] == "0571-12345678"
    html = client.get(reverse("accounts:organization")).content.decode()
    assert "修改单位信息" in html


def test_verified_org_cannot_change_its_identity(client, org, org_admin):
    client.force_login(org_admin)
    form = client.get(reverse("accounts:organization_edit")).context["form"]
    assert form.fields["name"].disabled and form.fields["credit_code"].disabled and form.fields["kind"].disabled
    client.post(reverse("accounts:organization_edit"), profile_post(org, name="改名后的公司", region="宁波市"))
    org.refresh_from_db()
    assert org.name == "杭州示例智能科技有限公司"
    assert org.region == "宁波市"


def test_returned_org_may_correct_its_name_and_code(client):
    org = org_in(S.RETURNED)
    admin = UserFactory(organization=org, roles=["applicant", "org_admin"])
    client.force_login(admin)
    new_code = make_credit_code()
    response = client.post(
        reverse("accounts:organization_edit"), profile_post(org, name="更正后的名称有限公司", credit_code=new_code)
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert (org.name, org.credit_code, org.state) == ("更正后的名称有限公司", new_code, S.RETURNED)


def test_edit_with_wrong_check_digit_is_a_field_error(client, org, org_admin):
    org.state = S.PENDING
    org.save()
    client.force_login(org_admin)
    bad = org.credit_code[:-1] + ("0" if org.credit_code[-1] != "0" else "1")
    response = client.post(reverse("accounts:organization_edit"), profile_post(org, credit_code=bad))
    assert response.status_code == 200
    assert response.context["form"].errors["credit_code"] == ["统一社会信用代码校验位错误，请核对最后一位。"]
    org.refresh_from_db()
    assert org.credit_code != bad


def test_only_the_bureau_corrects_an_organization(org, org_admin, officer):
    with pytest.raises(PermissionRefused):
        correct_organization(actor=org_admin, organization_id=org.pk, data={"name": "自改名称"})
    correct_organization(actor=officer, organization_id=org.pk, data={"name": "科技局更正名称"})
    org.refresh_from_db()
    assert (org.name, org.state) == ("科技局更正名称", S.VERIFIED)
    assert AuditEvent.objects.get(verb="update", target_id=str(org.pk)).data["changed"]["name"] == [
        "杭州示例智能科技有限公司",
        "科技局更正名称",
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("high_tech_expires", "2099-12-31"), ("high_tech_cert_no", "GR209933000001"), ("tech_sme_year", 2099)],
)
def test_verified_org_cannot_redeclare_its_qualifications(org, org_admin, field, value):
    from accounts.services import update_organization

    before = Organization.objects.values(field).get(pk=org.pk)
    with pytest.raises(InvalidInput, match="不能自行修改，请联系科技局"):
        update_organization(actor=org_admin, organization_id=org.pk, data={field: value})
    assert Organization.objects.values(field).get(pk=org.pk) == before


def test_bureau_corrects_a_verified_orgs_qualification(org, officer):
    import datetime

    correct_organization(actor=officer, organization_id=org.pk,
                         data={"high_tech_cert_no": "GR202633000123", "high_tech_expires": datetime.date(2029, 12, 1)})
    org.refresh_from_db()
    assert org.high_tech_cert_no == "GR202633000123"

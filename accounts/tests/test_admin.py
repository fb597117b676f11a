import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from accounts.models import CreditRecord, Organization, User
from accounts.services import PROFILE_FIELDS
from accounts.tests.factories import CreditRecordFactory, OrganizationFactory, UserFactory, make_credit_code
from activity.models import AuditEvent

pytestmark = pytest.mark.django_db

S = Organization.State
ORG_CHANGELIST = reverse("admin:accounts_organization_changelist")
CREDIT_CHANGELIST = reverse("admin:accounts_creditrecord_changelist")


@pytest.fixture
def staff(client, officer):
    client.force_login(officer)
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


# ---- Organization ---------------------------------------------------------------------------


def test_officer_sees_the_organization_list(staff):
    OrganizationFactory(name="待审单位甲", state=S.PENDING)
    response = staff.get(ORG_CHANGELIST, {"state__exact": "pending"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "待审单位甲" in html
    assert "认证通过" in html and "退回（需填写理由）" in html


def test_organization_list_keeps_a_fixed_number_of_queries(staff, django_assert_max_num_queries):
    OrganizationFactory.create_batch(5, state=S.PENDING)
    with django_assert_max_num_queries(20) as small:
        assert staff.get(ORG_CHANGELIST).status_code == 200
    OrganizationFactory.create_batch(45, state=S.PENDING)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert staff.get(ORG_CHANGELIST).status_code == 200


def test_search_by_credit_code(staff):
    target = OrganizationFactory(name="搜索目标有限公司")
    OrganizationFactory(name="其他单位")
    response = staff.get(ORG_CHANGELIST, {"q": target.credit_code})
    assert list(response.context["cl"].result_list) == [target]


def test_verify_action_calls_the_service(staff, officer):
    org = OrganizationFactory(state=S.PENDING, name="甲公司")
    response = staff.post(ORG_CHANGELIST, {"action": "verify_selected", ACTION_CHECKBOX_NAME: [org.pk]}, follow=True)
    org.refresh_from_db()
    assert org.state == S.VERIFIED and org.verified_at is not None
    event = AuditEvent.objects.get(verb="verify", target_id=str(org.pk))
    assert (event.actor, event.from_state, event.to_state) == (officer, "pending", "verified")
    assert "甲公司：已认证通过" in messages_of(response)


def test_verify_action_reports_each_row(staff):
    pending = OrganizationFactory(state=S.PENDING, name="待审公司")
    verified = OrganizationFactory(state=S.VERIFIED, name="已认证公司")
    response = staff.post(
        ORG_CHANGELIST, {"action": "verify_selected", ACTION_CHECKBOX_NAME: [pending.pk, verified.pk]}, follow=True
    )
    msgs = messages_of(response)
    assert "待审公司：已认证通过" in msgs
    assert "已认证公司：当前状态为“已认证”，不能执行“认证通过”。" in msgs
    pending.refresh_from_db()
    assert pending.state == S.VERIFIED
    assert AuditEvent.objects.filter(verb="verify").count() == 1


def test_return_action_asks_for_a_reason_first(staff):
    org = OrganizationFactory(state=S.PENDING, name="乙公司")
    response = staff.post(ORG_CHANGELIST, {"action": "return_selected", ACTION_CHECKBOX_NAME: [org.pk]})
    assert response.status_code == 200
    assert "accounts/admin/reason_action.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "退回单位认证" in html and "乙公司" in html and 'name="reason"' in html
    org.refresh_from_db()
    assert org.state == S.PENDING

    # Confirming without a reason stays on the page with the error, nothing changes.
    response = staff.post(
        ORG_CHANGELIST, {"action": "return_selected", ACTION_CHECKBOX_NAME: [org.pk], "apply": "1", "reason": "  "}
    )
    assert response.status_code == 200
    assert "请填写理由" in response.content.decode()
    org.refresh_from_db()
    assert org.state == S.PENDING

    response = staff.post(
        ORG_CHANGELIST,
        {"action": "return_selected", ACTION_CHECKBOX_NAME: [org.pk], "apply": "1", "reason": "法定代表人信息缺失"},
        follow=True,
    )
    org.refresh_from_db()
    assert (org.state, org.state_reason) == (S.RETURNED, "法定代表人信息缺失")
    assert AuditEvent.objects.get(verb="return", target_id=str(org.pk)).reason == "法定代表人信息缺失"
    assert "乙公司：已退回" in messages_of(response)


def test_return_action_refuses_rows_in_the_wrong_state(staff):
    org = OrganizationFactory(state=S.VERIFIED, name="丙公司")
    response = staff.post(
        ORG_CHANGELIST,
        {"action": "return_selected", ACTION_CHECKBOX_NAME: [org.pk], "apply": "1", "reason": "理由"},
        follow=True,
    )
    assert "丙公司：当前状态为“已认证”，不能执行“退回”。" in messages_of(response)
    org.refresh_from_db()
    assert org.state == S.VERIFIED


def test_state_cannot_be_edited_on_the_change_page(staff, officer):
    org = OrganizationFactory(state=S.PENDING)
    url = reverse("admin:accounts_organization_change", args=[org.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert "state" not in page.context["adminform"].form.fields
    data = {
        f: getattr(org, f) or ""
        for f in PROFILE_FIELDS
    }
    data.update(
        {
            "contact_phone": "0571-99990000",
            "state": "verified",
            "users-TOTAL_FORMS": "0",
            "users-INITIAL_FORMS": "0",
            "users-MIN_NUM_FORMS": "0",
            "users-MAX_NUM_FORMS": "1000",
        }
    )
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    org.refresh_from_db()
    assert org.state == S.PENDING
    assert org.contact_phone == "0571-99990000"
    event = AuditEvent.objects.get(verb="update", target_id=str(org.pk))
    assert event.actor == officer and event.data["by_bureau"] is True


ORG_FORM_FIELDS = [
    "name", "credit_code", "kind", "region", "address", "legal_representative", "contact_name", "contact_phone",
    "contact_email", "high_tech_cert_no", "high_tech_expires", "tech_sme_no", "tech_sme_year",
]


def test_a_correction_the_service_refuses_is_a_form_error_not_a_403(staff):
    # the form accepts a lower-case code (its own unique check is exact); the service normalises it to
    # another organisation's code and refuses: the page shows why, keeps the input, and saves nothing
    code = next(c for c in (make_credit_code(900000 + i) for i in range(100)) if c[-1].isalpha())
    OrganizationFactory(name="已有单位", credit_code=code)
    org = OrganizationFactory(name="待更正单位")
    url = reverse("admin:accounts_organization_change", args=[org.pk])
    data = {f: getattr(org, f) or "" for f in ORG_FORM_FIELDS}
    data.update({"credit_code": code.lower(), "contact_phone": "0571-12345678", "users-TOTAL_FORMS": "0",
                 "users-INITIAL_FORMS": "0", "users-MIN_NUM_FORMS": "0", "users-MAX_NUM_FORMS": "1000"})
    response = staff.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == ["具有 统一社会信用代码 的 单位 已存在。"]
    assert "0571-12345678" in response.content.decode()
    org.refresh_from_db()
    assert (org.credit_code, org.contact_phone) != (code, "0571-12345678")
    assert org.contact_phone == "0571-88886666"
    assert not AuditEvent.objects.filter(verb="update", target_id=str(org.pk)).exists()


def test_no_add_or_delete_of_organizations(staff):
    org = OrganizationFactory()
    assert staff.get(reverse("admin:accounts_organization_add")).status_code == 403
    assert staff.get(reverse("admin:accounts_organization_delete", args=[org.pk])).status_code == 403
    response = staff.post(ORG_CHANGELIST, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [org.pk]})
    assert Organization.objects.filter(pk=org.pk).exists()
    assert response.status_code in (200, 302)


def test_history_shows_the_audit_trail(staff):
    org = OrganizationFactory(state=S.PENDING)
    staff.post(
        ORG_CHANGELIST,
        {"action": "return_selected", ACTION_CHECKBOX_NAME: [org.pk], "apply": "1", "reason": "材料不全"},
    )
    response = staff.get(reverse("admin:accounts_organization_history", args=[org.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "业务审计记录" in html and "材料不全" in html and "待审核 → 已退回" in html


def test_applicant_cannot_use_the_admin(client, org_admin):
    client.force_login(org_admin)
    response = client.get(ORG_CHANGELIST)
    assert response.status_code == 302


def test_organization_autocomplete_for_other_admins(staff):
    OrganizationFactory(name="自动补全科技有限公司")
    response = staff.get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "creditrecord", "field_name": "organization", "term": "自动补全"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["自动补全科技有限公司"]


# ---- User -----------------------------------------------------------------------------------


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def test_user_admin_lists_and_searches(client, superuser, applicant, org):
    client.force_login(superuser)
    response = client.get(reverse("admin:accounts_user_changelist"), {"q": org.name})
    assert response.status_code == 200
    assert applicant in list(response.context["cl"].result_list)
    assert "申报单位用户" in response.content.decode()


def test_user_admin_adds_a_user_with_organization(client, superuser, org):
    client.force_login(superuser)
    assert client.get(reverse("admin:accounts_user_add")).status_code == 200
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newofficer",
            "usable_password": "true",
            "password1": "Bureau-Officer-2026",
            "password2": "Bureau-Officer-2026",
            "real_name": "新处员",
            "email": "new@kjj.example.gov.cn",
            "phone": "",
            "organization": org.pk,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newofficer")
    assert (user.real_name, user.organization) == ("新处员", org)


def test_user_admin_change_page_renders(client, superuser, applicant):
    client.force_login(superuser)
    html = client.get(reverse("admin:accounts_user_change", args=[applicant.pk])).content.decode()
    assert "所属单位" in html and "手机号码" in html


# ---- CreditRecord --------------------------------------------------------------------------


def result_table(response) -> str:
    html = response.content.decode()
    start = html.index("<tbody>", html.index('id="result_list"'))
    return html[start : html.index("</tbody>", start)]


def test_credit_list_masks_the_id_number(staff, org):
    record = CreditRecordFactory(organization=None, person_name="钱某", person_id_number="330106198001011234")
    response = staff.get(CREDIT_CHANGELIST)
    html = response.content.decode()
    assert "330***********1234" in result_table(response)
    assert "330106198001011234" not in html
    # Officers can still find it by the full number; the list still shows it masked.
    response = staff.get(CREDIT_CHANGELIST, {"q": "330106198001011234"})
    assert list(response.context["cl"].result_list) == [record]
    assert '<td class="field-masked_id">330***********1234</td>' in result_table(response)
    # The record's own page shows it masked too.
    page = staff.get(reverse("admin:accounts_creditrecord_change", args=[record.pk])).content.decode()
    assert "330***********1234" in page and "330106198001011234" not in page


def test_credit_list_keeps_a_fixed_number_of_queries(staff, django_assert_max_num_queries):
    for _ in range(5):
        CreditRecordFactory(organization=OrganizationFactory())
    with django_assert_max_num_queries(20) as small:
        assert staff.get(CREDIT_CHANGELIST).status_code == 200
    for _ in range(45):
        CreditRecordFactory(organization=OrganizationFactory())
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert staff.get(CREDIT_CHANGELIST).status_code == 200


def test_adding_a_credit_record_goes_through_the_service(staff, officer, org):
    response = staff.post(
        reverse("admin:accounts_creditrecord_add"),
        {
            "organization": org.pk,
            "person_name": "",
            "person_id_number": "",
            "severity": "serious",
            "reason": "虚报冒领财政科研经费",
            "decision_no": "科信〔2026〕7号",
            "penalty_start": "2026-01-01",
            "penalty_end": "2028-12-31",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    record = CreditRecord.objects.get()
    assert record.recorded_by == officer and record.organization == org
    assert AuditEvent.objects.filter(verb="credit_record", target_id=str(record.pk), actor=officer).exists()


def test_credit_record_without_subject_is_a_form_error(staff):
    response = staff.post(
        reverse("admin:accounts_creditrecord_add"),
        {"severity": "general", "reason": "x", "penalty_start": "2026-01-01"},
    )
    assert response.status_code == 200
    assert "失信记录须指明失信单位或失信人员证件号码。" in response.content.decode()
    assert not CreditRecord.objects.exists()


def test_existing_credit_record_is_read_only(staff, org):
    record = CreditRecordFactory(organization=org, reason="原始理由")
    url = reverse("admin:accounts_creditrecord_change", args=[record.pk])
    page = staff.get(url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    staff.post(url, {"reason": "被篡改", "severity": "general", "penalty_start": "2020-01-01"})
    record.refresh_from_db()
    assert record.reason == "原始理由"
    assert staff.get(reverse("admin:accounts_creditrecord_delete", args=[record.pk])).status_code == 403


def test_revoke_action_needs_a_reason_and_calls_the_service(staff, officer, org):
    record = CreditRecordFactory(organization=org, penalty_start=timezone.localdate() - datetime.timedelta(days=3))
    response = staff.post(CREDIT_CHANGELIST, {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [record.pk]})
    assert response.status_code == 200 and "撤销失信记录" in response.content.decode()
    response = staff.post(
        CREDIT_CHANGELIST,
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [record.pk], "apply": "1", "reason": ""},
    )
    assert "请填写理由" in response.content.decode()
    record.refresh_from_db()
    assert record.revoked_at is None

    response = staff.post(
        CREDIT_CHANGELIST,
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [record.pk], "apply": "1", "reason": "复议后撤销"},
        follow=True,
    )
    record.refresh_from_db()
    assert record.revoked_by == officer and record.revoke_reason == "复议后撤销"
    assert AuditEvent.objects.get(verb="credit_revoke", target_id=str(record.pk)).reason == "复议后撤销"
    assert any(m.endswith("：已撤销") for m in messages_of(response))

    # Revoking twice is refused per row.
    response = staff.post(
        CREDIT_CHANGELIST,
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [record.pk], "apply": "1", "reason": "再次"},
        follow=True,
    )
    assert any(m.endswith("：该失信记录已撤销。") for m in messages_of(response))


def test_credit_status_filter(staff, org):
    today = timezone.localdate()
    running = CreditRecordFactory(organization=org, penalty_start=today)
    CreditRecordFactory(organization=org, penalty_start=today - datetime.timedelta(days=30), penalty_end=today - datetime.timedelta(days=1))
    response = staff.get(CREDIT_CHANGELIST, {"status": "running"})
    assert list(response.context["cl"].result_list) == [running]


def test_credit_admin_is_closed_to_non_officers(client, finance_user):
    finance_user.is_staff = True
    finance_user.save()
    client.force_login(finance_user)
    assert client.get(CREDIT_CHANGELIST).status_code == 403
    assert client.get(reverse("admin:accounts_creditrecord_add")).status_code == 403


# ---- User accounts: saved through the services, audited -----------------------------------------


def _user_form(user, **overrides):
    data = {
        "username": user.username,
        "real_name": user.real_name,
        "email": user.email,
        "phone": user.phone,
        "organization": user.organization_id or "",
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v not in ("", None) or k in ("organization", "real_name", "phone")}


def _group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)


def test_changing_roles_organisation_and_active_is_audited(client, superuser, applicant, other_org):
    client.force_login(superuser)
    url = reverse("admin:accounts_user_change", args=[applicant.pk])
    response = client.post(
        url,
        _user_form(applicant, organization=other_org.pk, is_active="",
                   groups=[_group("applicant").pk, _group("org_admin").pk]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    applicant.refresh_from_db()
    assert applicant.organization == other_org and not applicant.is_active
    assert set(applicant.groups.values_list("name", flat=True)) == {"applicant", "org_admin"}
    event = AuditEvent.objects.get(verb="admin_update_user", target_id=str(applicant.pk))
    assert event.actor == superuser
    assert event.data["changed"] == {
        "organization": ["杭州示例智能科技有限公司", "宁波另一家制造有限公司"],
        "is_active": ["True", "False"],
        "groups": ["applicant", "applicant、org_admin"],
    }
    history = client.get(reverse("admin:accounts_user_history", args=[applicant.pk])).content.decode()
    assert "管理员修改账号" in history


def test_saving_an_unchanged_user_writes_no_audit_event(client, superuser, applicant):
    client.force_login(superuser)
    response = client.post(reverse("admin:accounts_user_change", args=[applicant.pk]), _user_form(applicant))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(verb="admin_update_user").exists()


def test_a_superuser_cannot_deactivate_themselves(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_user_change", args=[superuser.pk]), _user_form(superuser, is_active="", real_name="改名")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["不能停用自己的账号。"]
    superuser.refresh_from_db()
    assert superuser.is_active and superuser.real_name != "改名"


def test_only_a_superuser_grants_superuser(client, applicant):
    from django.contrib.auth.models import Permission

    helpdesk = UserFactory(is_staff=True)
    helpdesk.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(helpdesk)
    response = client.post(
        reverse("admin:accounts_user_change", args=[applicant.pk]), _user_form(applicant, is_superuser="on")
    )
    assert response.status_code == 200
    assert "只有超级管理员可以授予或取消超级管理员权限和单独授权。" in response.content.decode()
    applicant.refresh_from_db()
    assert not applicant.is_superuser


def test_adding_a_user_is_audited_with_roles(client, superuser, org):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newadmin",
            "usable_password": "true",
            "password1": "Bureau-Officer-2026",
            "password2": "Bureau-Officer-2026",
            "real_name": "新管理员",
            "email": "new@kjj.example.gov.cn",
            "phone": "",
            "organization": org.pk,
            "groups": [_group("applicant").pk, _group("org_admin").pk],
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newadmin")
    assert user.check_password("Bureau-Officer-2026")
    assert set(user.groups.values_list("name", flat=True)) == {"applicant", "org_admin"}
    assert response["Location"] == reverse("admin:accounts_user_change", args=[user.pk])
    event = AuditEvent.objects.get(verb="admin_create_user", target_id=str(user.pk))
    assert event.actor == superuser
    assert event.data["changed"]["username"] == ["", "newadmin"]
    assert event.data["changed"]["organization"] == ["", org.name]
    assert event.data["changed"]["groups"] == ["", "applicant、org_admin"]


def test_adding_a_user_without_password_login(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "ssoonly", "usable_password": "false", "real_name": "单点登录用户", "email": "", "phone": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not User.objects.get(username="ssoonly").has_usable_password()


def test_last_login_and_date_joined_are_read_only(client, superuser, applicant):
    client.force_login(superuser)
    form = client.get(reverse("admin:accounts_user_change", args=[applicant.pk])).context["adminform"].form
    assert "last_login" not in form.fields and "date_joined" not in form.fields


# ---- credit status filter: the same rule as the submit check --------------------------------------


def test_credit_status_filter_every_status(staff, org):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    running = CreditRecordFactory(organization=org, penalty_start=today - day, penalty_end=today)
    open_ended = CreditRecordFactory(organization=org, penalty_start=today - 30 * day, penalty_end=None)
    upcoming = CreditRecordFactory(organization=org, penalty_start=today + day)
    ended = CreditRecordFactory(organization=org, penalty_start=today - 30 * day, penalty_end=today - day)
    revoked = CreditRecordFactory(organization=org, penalty_start=today - day, revoked_at=timezone.now())
    expected = {
        "running": {running, open_ended},
        "upcoming": {upcoming},
        "ended": {ended},
        "revoked": {revoked},
    }
    labels = {"running": "惩戒中", "upcoming": "未开始", "ended": "已到期", "revoked": "已撤销"}
    for status, records in expected.items():
        response = staff.get(CREDIT_CHANGELIST, {"status": status})
        assert set(response.context["cl"].result_list) == records, status
        assert all(labels[status] in result_table(response) for _r in records)
        for record in records:
            assert record.is_running_on(today) is (status == "running")


def test_staff_with_user_rights_cannot_touch_a_superuser(client):
    from django.contrib.auth.models import Permission

    from accounts.models import User

    root = UserFactory(username="root", is_superuser=True, is_staff=True, email="root@example.com")
    helpdesk = UserFactory(is_staff=True)
    helpdesk.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(helpdesk)
    change = reverse("admin:accounts_user_change", args=[root.pk])
    response = client.post(change, {"username": "root", "email": "evil@example.com", "is_active": ""})
    assert response.status_code == 403
    password = f"/admin/accounts/user/{root.pk}/password/"
    assert client.post(password, {"password1": "Takeover-2026!", "password2": "Takeover-2026!",
                                  "usable_password": "true"}).status_code == 403
    root.refresh_from_db()
    assert root.email == "root@example.com" and root.is_active and not root.check_password("Takeover-2026!")
    assert User.objects.get(pk=root.pk).is_superuser


def test_password_set_in_the_admin_is_audited(client):
    from activity.models import AuditEvent

    admin_user = UserFactory(is_superuser=True, is_staff=True)
    target = UserFactory()
    client.force_login(admin_user)
    response = client.post(f"/admin/accounts/user/{target.pk}/password/",
                           {"password1": "Brand-new-2026!", "password2": "Brand-new-2026!", "usable_password": "true"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password("Brand-new-2026!")
    event = AuditEvent.objects.get(verb="admin_set_password")
    assert event.actor == admin_user and event.target == target

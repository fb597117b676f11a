"""专家批量导入: good rows become active experts with accounts, every bad row is reported with its reason and
leaves nothing behind, and files that are not an .xlsx (or too big) are refused whole."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from accounts.exceptions import InvalidInput, PermissionRefused
from accounts.tests.factories import OrganizationFactory, UserFactory, make_credit_code
from activity.models import AuditEvent, Notification
from experts.models import Expert
from experts.services import importer

from .factories import ExpertFactory

pytestmark = pytest.mark.django_db
User = get_user_model()

HEADERS = ["姓名", "证件号码", "手机号码", "邮箱", "工作单位", "统一社会信用代码", "职称", "职称级别", "学科代码",
           "关键词", "所在地区", "年度评审上限"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def id_number(n: int, birth: str = "19750315") -> str:
    body = f"330106{birth}{n:03d}"
    return body + ric.calc_check_digit(body + "0")


def person(n: int, **overrides) -> dict:
    row = {
        "姓名": f"专家{n}", "证件号码": id_number(n), "手机号码": f"139{n:08d}", "邮箱": f"expert{n}@zju.example.cn",
        "工作单位": "浙江大学", "统一社会信用代码": "", "职称": "教授", "职称级别": "正高级",
        "学科代码": "520.20，520.60；413", "关键词": "人工智能，机器视觉", "所在地区": "杭州市", "年度评审上限": "",
    }
    row.update(overrides)
    return row


def xlsx(rows, headers=HEADERS, name="专家名单.xlsx") -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h, "") for h in headers] if isinstance(r, dict) else r)
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type=XLSX)


def by_row(report):
    return {r.row_number: r for r in report.rows}


def test_good_rows_become_active_experts_with_accounts(officer):
    org = OrganizationFactory(name="浙江大学", credit_code=make_credit_code(424242))
    report = importer.import_experts(actor=officer, uploaded=xlsx([
        person(1, 统一社会信用代码=org.credit_code.lower(), 年度评审上限="20"),
        person(2, 手机号码="", 职称级别="副高", 学科代码="630"),
    ]))
    assert (report.total, report.created, report.refused) == (2, 2, 0)
    assert [tuple(r) for r in report.rows] == [(2, True, "专家1", []), (3, True, "专家2", [])]

    first = Expert.objects.get(name="专家1")
    assert first.status == Expert.Status.ACTIVE and first.approved_at is not None
    assert first.id_number == id_number(1)
    assert first.discipline_codes == ["520.20", "520.60", "413"]
    assert first.keyword_list == ["人工智能", "机器视觉"]
    assert (first.annual_cap, first.title_level, first.organization) == (20, "senior", org)
    assert first.workplace_credit_code == org.credit_code
    user = first.user
    assert (user.username, user.email, user.real_name, user.phone) == (
        "13900000001", "expert1@zju.example.cn", "专家1", "13900000001")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["expert"]

    second = Expert.objects.get(name="专家2")
    assert second.user.username == "expert2@zju.example.cn"  # no mobile: the e-mail is the login
    assert (second.annual_cap, second.title_level, second.organization) == (10, "vice_senior", None)
    assert report.expert_ids == [first.pk, second.pk]

    ct = ContentType.objects.get_for_model(Expert)
    for e in (first, second):
        event = AuditEvent.objects.get(target_type=ct, target_id=str(e.pk))
        assert (event.verb, event.actor, event.to_state) == ("import", officer, "active")
        assert event.data["file"] == "专家名单.xlsx"


def test_imported_expert_sets_a_password_from_the_link_and_logs_in(officer, client):
    importer.import_experts(actor=officer, uploaded=xlsx([person(1)]))
    user = User.objects.get(username="13900000001")
    note = Notification.objects.get(recipient=user)
    assert "13900000001" in note.body and note.link.startswith("/")
    response = client.get(note.link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    response = client.post(response.redirect_chain[-1][0], {"new_password1": "Kj-Expert-2026!",
                                                             "new_password2": "Kj-Expert-2026!"})
    assert response.status_code == 302
    client.logout()
    response = client.post(reverse("accounts:login"), {"username": "13900000001", "password": "Kj-Expert-2026!"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_each_bad_row_is_reported_and_nothing_of_it_is_written(officer):
    ExpertFactory(id_number=id_number(50))
    UserFactory(email="taken@example.com")
    bad_code = make_credit_code(7)[:-1] + ("0" if make_credit_code(7)[-1] != "0" else "1")
    wrong_check = id_number(3)[:-1] + ("0" if id_number(3)[-1] != "0" else "1")
    rows = [
        person(1),                                   # row 2: good
        person(2, 姓名=""),                           # row 3: name missing
        person(3, 证件号码=wrong_check),               # row 4: ID check digit wrong
        person(4, 统一社会信用代码=bad_code),          # row 5: credit code check digit wrong
        person(5, 学科代码="计算机"),                  # row 6: not a discipline code
        person(6, 证件号码=id_number(1)),              # row 7: same ID as row 2
        person(7, 证件号码=id_number(50)),             # row 8: already in the pool
        person(8, 邮箱="taken@example.com"),          # row 9: e-mail used by another account
        person(9, 年度评审上限="600", 职称级别="教授级"),  # row 10: two problems at once
        person(10),                                  # row 11: good
    ]
    experts_before, users_before = Expert.objects.count(), User.objects.count()
    report = importer.import_experts(actor=officer, uploaded=xlsx(rows))
    rows_ = by_row(report)
    assert (report.created, report.refused) == (2, 8)
    assert rows_[2].ok and rows_[11].ok
    expected = {
        3: "“姓名”不能为空",
        4: "居民身份证号码校验位错误",
        5: "统一社会信用代码校验位错误",
        6: "学科代码“计算机”格式不正确",
        7: "证件号码与第 2 行重复",
        8: "证件号码已在专家库中",
        9: "邮箱“taken@example.com”已被其他账号使用",
    }
    for number, fragment in expected.items():
        assert not rows_[number].ok
        assert any(fragment in m for m in rows_[number].messages), (number, rows_[number].messages)
    assert len(rows_[10].messages) == 2
    assert any("年度评审上限“600”无效" in m for m in rows_[10].messages)
    assert any("职称级别“教授级”无效" in m for m in rows_[10].messages)
    assert rows_[4].name == "专家3"

    assert Expert.objects.count() == experts_before + 2
    assert User.objects.count() == users_before + 2
    assert set(Expert.objects.filter(pk__in=report.expert_ids).values_list("name", flat=True)) == {"专家1", "专家10"}
    for n in range(2, 10):
        assert not User.objects.filter(email=f"expert{n}@zju.example.cn").exists()
    assert AuditEvent.objects.filter(verb="import").count() == 2


def test_duplicates_within_the_file_by_phone_and_email(officer):
    report = importer.import_experts(actor=officer, uploaded=xlsx([
        person(1), person(2, 手机号码="13900000001"), person(3, 邮箱="EXPERT1@zju.example.cn")]))
    rows = by_row(report)
    assert rows[2].ok
    assert rows[3].messages == ["手机号码与第 2 行重复。"]
    assert rows[4].messages == ["邮箱与第 2 行重复。"]


def test_existing_login_name_is_refused(officer):
    UserFactory(username="13900000001")
    report = importer.import_experts(actor=officer, uploaded=xlsx([person(1)]))
    assert report.rows[0].messages == ["手机号码“13900000001”已被其他账号用作登录名。"]
    assert not Expert.objects.exists()


def test_headers_in_any_order_with_aliases_and_decorations(officer):
    headers = ["工作单位*", "邮箱", "身份证号", "姓名 *", "职称", "学科代码（可填多个）", "职称级别", "手机号码", "备注"]
    row = person(1)
    values = [row["工作单位"], row["邮箱"], row["证件号码"], row["姓名"], row["职称"], row["学科代码"], "中级",
              13912345678, "忽略此列"]
    report = importer.import_experts(actor=officer, uploaded=xlsx([values], headers=headers))
    assert report.created == 1, report.rows
    expert = Expert.objects.get()
    assert (expert.title_level, expert.annual_cap, expert.region, expert.user.username) == (
        "intermediate", 10, "", "13912345678")


def test_id_number_stored_as_a_number_is_refused_with_a_hint(officer):
    report = importer.import_experts(actor=officer, uploaded=xlsx([person(1, 证件号码=float(id_number(1)[:-1] + "1"))]))
    assert not report.rows[0].ok
    assert "文本格式" in report.rows[0].messages[0]


def test_blank_rows_are_skipped_and_row_numbers_follow_excel(officer):
    report = importer.import_experts(actor=officer, uploaded=xlsx([person(1), {}, {}, person(2, 姓名="")]))
    assert [(r.row_number, r.ok) for r in report.rows] == [(2, True), (5, False)]


def test_missing_columns_refuse_the_whole_file(officer):
    headers = [h for h in HEADERS if h not in ("证件号码", "学科代码")]
    with pytest.raises(InvalidInput, match="表头缺少以下列：证件号码、学科代码"):
        importer.import_experts(actor=officer, uploaded=xlsx([person(1)], headers=headers))
    assert not Expert.objects.exists()


@pytest.mark.parametrize("content, name", [
    (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "experts.xlsx"),
    ("姓名,证件号码\n张三,110105194912310020\n".encode(), "experts.xlsx"),
    (b"PK\x03\x04" + b"\x00" * 100, "experts.xlsx"),
])
def test_not_an_xlsx_is_refused(officer, content, name):
    with pytest.raises(InvalidInput, match="xlsx"):
        importer.import_experts(actor=officer, uploaded=SimpleUploadedFile(name, content))
    assert not Expert.objects.exists()


def test_a_docx_named_xlsx_is_refused(officer):
    from zipfile import ZipFile
    buf = io.BytesIO()
    with ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(InvalidInput, match="只能导入"):
        importer.import_experts(actor=officer, uploaded=SimpleUploadedFile("experts.xlsx", buf.getvalue()))


def test_too_big_and_too_many_rows_are_refused(officer, monkeypatch):
    big = SimpleUploadedFile("big.xlsx", b"PK\x03\x04" + b"\x00" * (5 * 1024 * 1024))
    with pytest.raises(InvalidInput, match="超过上限 5 MB"):
        importer.import_experts(actor=officer, uploaded=big)
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    with pytest.raises(InvalidInput, match="一次最多导入 3 行"):
        importer.import_experts(actor=officer, uploaded=xlsx([person(n) for n in range(1, 5)]))
    assert not Expert.objects.exists() and not User.objects.filter(email__endswith="zju.example.cn").exists()


def test_only_the_bureau_imports(applicant, expert_user):
    for actor in (applicant, expert_user):
        with pytest.raises(PermissionRefused):
            importer.import_experts(actor=actor, uploaded=xlsx([person(1)]))
    assert not Expert.objects.exists()


def test_the_template_has_every_header_and_its_example_row_is_never_imported(officer):
    wb = load_workbook(io.BytesIO(importer.import_template()))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert [h.rstrip("*") for h in headers] == HEADERS
    assert headers[0] == "姓名*" and headers[5] == "统一社会信用代码"
    assert ws.cell(row=2, column=1).value == "张三"
    assert wb.sheetnames[1] == "填写说明"
    upload = SimpleUploadedFile("模板.xlsx", importer.import_template())
    report = importer.import_experts(actor=officer, uploaded=upload)
    assert [tuple(r) for r in report.rows] == [(2, False, "张三", ["模板中的示例行，已跳过。"])]
    assert not Expert.objects.exists()


def test_login_link_can_be_sent_again_until_a_password_is_set(officer):
    importer.import_experts(actor=officer, uploaded=xlsx([person(1)]))
    expert = Expert.objects.get()
    importer.send_login_link(actor=officer, expert_id=expert.pk)
    assert Notification.objects.filter(recipient=expert.user).count() == 2
    with pytest.raises(PermissionRefused):
        importer.send_login_link(actor=expert.user, expert_id=expert.pk)
    expert.user.set_password("Kj-Expert-2026!")
    expert.user.save()
    with pytest.raises(InvalidInput, match="已设置登录密码"):
        importer.send_login_link(actor=officer, expert_id=expert.pk)

"""The officer's pool pages: only officers and superusers see them (404 for everyone else), pending
registrations are approved or rejected from the list, an expert's page runs the status actions and shows the
evaluation, the import page reports row by row, and every page runs a fixed number of queries."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from accounts.tests.factories import UserFactory
from experts.models import Assignment, Expert

from .factories import ExpertFactory, RoundFactory
from .test_importer import person, xlsx
from .test_pool import make_assignment, make_item

pytestmark = pytest.mark.django_db

S = Expert.Status
AS = Assignment.State


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"])


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


def pool_urls(expert):
    return [
        reverse("experts:pool"),
        reverse("experts:pool_import"),
        reverse("experts:pool_import_template"),
        reverse("experts:pool_evaluation"),
        reverse("experts:expert_detail", args=[expert.pk]),
    ]


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user", "finance_user", "supervisor"])
def test_everyone_but_officers_gets_404_on_every_pool_url(client, request, who):
    expert = ExpertFactory()
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url in pool_urls(expert):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "suspend", "expert": expert.pk, "reason": "x"}).status_code == 404, url
    # the expert's own profile included: an expert cannot open the bureau's page about themself
    client.force_login(expert.user)
    assert client.get(reverse("experts:expert_detail", args=[expert.pk])).status_code == 404
    assert Expert.objects.get(pk=expert.pk).status == S.ACTIVE


def test_anonymous_is_sent_to_login(client):
    expert = ExpertFactory()
    for url in pool_urls(expert):
        response = client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response.url


@pytest.mark.parametrize("who", ["officer", "superuser"])
def test_officers_and_superusers_see_the_pages(client, request, who):
    expert = ExpertFactory()
    client.force_login(request.getfixturevalue(who))
    for url in pool_urls(expert):
        assert client.get(url).status_code == 200, url


def test_unknown_expert_is_404(client, officer):
    client.force_login(officer)
    assert client.get(reverse("experts:expert_detail", args=[999999])).status_code == 404
    assert client.post(reverse("experts:pool"), {"expert": "999999", "action": "approve"}).status_code == 404
    assert client.post(reverse("experts:pool"), {"expert": "abc", "action": "approve"}).status_code == 404


# ---- the list ---------------------------------------------------------------------------------------------


def test_pending_registrations_come_first_and_are_approved_from_the_list(client, officer):
    ExpertFactory(name="艾专家")
    waiting = ExpertFactory(name="钟专家", status=S.PENDING, approved_at=None)
    client.force_login(officer)
    response = client.get(reverse("experts:pool"))
    assert [e.name for e in response.context["experts"]] == ["钟专家", "艾专家"]
    assert response.context["pending_count"] == 1
    html = response.content.decode()
    assert html.count('data-testid="pending-actions"') == 1

    url = reverse("experts:pool") + "?status=pending"
    response = client.post(url, {"expert": waiting.pk, "action": "approve"})
    assert response.status_code == 302 and response.url == url
    waiting.refresh_from_db()
    assert waiting.status == S.ACTIVE and waiting.approved_at is not None
    page = client.get(reverse("experts:pool")).content.decode()
    assert "钟专家：已审核入库。" in page


def test_reject_from_the_list_needs_a_reason(client, officer):
    waiting = ExpertFactory(status=S.PENDING, approved_at=None)
    client.force_login(officer)
    response = client.post(reverse("experts:pool"), {"expert": waiting.pk, "action": "reject", "reason": ""},
                           follow=True)
    assert "“不予入库”必须填写理由。" in response.content.decode()
    assert Expert.objects.get(pk=waiting.pk).status == S.PENDING
    client.post(reverse("experts:pool"), {"expert": waiting.pk, "action": "reject", "reason": "非高级职称"})
    waiting.refresh_from_db()
    assert (waiting.status, waiting.status_reason) == (S.REJECTED, "非高级职称")


def test_the_list_does_not_suspend(client, officer):
    expert = ExpertFactory()
    client.force_login(officer)
    response = client.post(reverse("experts:pool"), {"expert": expert.pk, "action": "suspend", "reason": "x"},
                           follow=True)
    assert "无效的操作" in response.content.decode()
    assert Expert.objects.get(pk=expert.pk).status == S.ACTIVE


def test_filters(client, officer):
    ExpertFactory(name="甲", discipline_codes=["520.20"], keywords="量子计算")
    ExpertFactory(name="乙", discipline_codes=["413.10", "520"], workplace="宁波大学")
    ExpertFactory(name="丙", discipline_codes=["630.45"], status=S.SUSPENDED)
    ExpertFactory(name="丁", discipline_codes=["1520"], id_number="11010519491231002X")
    client.force_login(officer)

    def names(**params):
        return [e.name for e in client.get(reverse("experts:pool"), params).context["experts"]]

    assert names(discipline="520") == ["乙", "甲"]
    assert names(discipline="520.2") == ["甲"]
    assert names(discipline="413") == ["乙"]
    assert names(status="suspended") == ["丙"]
    assert names(q="宁波") == ["乙"]
    assert names(q="量子") == ["甲"]
    assert names(q="11010519491231002x") == ["丁"]
    assert names(status="active", discipline="6") == []
    assert len(names(discipline="5'20\"")) == 4  # malformed filter: ignored, not an error


def test_list_shows_the_current_year_load(client, officer):
    expert = ExpertFactory(annual_cap=8)
    rnd = RoundFactory()
    make_assignment(rnd, make_item(rnd, 1), expert, AS.ACCEPTED)
    make_assignment(rnd, make_item(rnd, 2), expert, AS.DECLINED)
    client.force_login(officer)
    response = client.get(reverse("experts:pool"))
    assert response.context["experts"][0].load == 1
    assert "1 / 8" in response.content.decode()


@pytest.mark.parametrize("n", [2, 20])
def test_pool_list_query_count_is_fixed(client, officer, django_assert_max_num_queries, n):
    rnd = RoundFactory()
    for i in range(n):
        e = ExpertFactory(status=S.PENDING if i % 3 == 0 else S.ACTIVE)
        make_assignment(rnd, make_item(rnd, i), e, AS.ACCEPTED)
    client.force_login(officer)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("experts:pool"), {"discipline": "520", "q": "专家"})
    assert len(response.context["experts"]) == n


# ---- an expert's page -------------------------------------------------------------------------------------


def test_detail_masks_the_id_number_and_shows_the_evaluation(client, officer):
    expert = ExpertFactory(id_number="11010519491231002X")
    other = ExpertFactory()
    rnd = RoundFactory()
    item = make_item(rnd)
    make_assignment(rnd, item, expert, AS.SUBMITTED, total="80")
    make_assignment(rnd, item, other, AS.SUBMITTED, total="70", late=True)
    make_assignment(rnd, make_item(rnd, 2), expert, AS.EXPIRED)
    client.force_login(officer)
    html = client.get(reverse("experts:expert_detail", args=[expert.pk])).content.decode()
    assert "11010519491231002X" not in html
    assert "110***********002X" in html
    assert 'data-testid="decline-rate">50.0%' in html
    assert 'data-testid="on-time-rate">100.0%' in html
    assert 'data-testid="mean-deviation">10.00' in html
    assert html.count('data-testid="assignment-row"') == 2


def test_suspend_reinstate_and_retire_from_the_detail_page(client, officer):
    expert = ExpertFactory()
    url = reverse("experts:expert_detail", args=[expert.pk])
    client.force_login(officer)
    html = client.get(url).content.decode()
    assert 'data-testid="action-suspend"' in html and 'data-testid="action-reinstate"' not in html

    response = client.post(url, {"action": "suspend", "reason": ""}, follow=True)
    assert "“暂停评审资格”必须填写理由。" in response.content.decode()
    assert Expert.objects.get(pk=expert.pk).status == S.ACTIVE

    response = client.post(url, {"action": "suspend", "reason": "连续三次逾期未答复"}, follow=True)
    html = response.content.decode()
    assert Expert.objects.get(pk=expert.pk).status == S.SUSPENDED
    assert "连续三次逾期未答复" in html and 'data-testid="action-reinstate"' in html

    response = client.post(url, {"action": "approve"}, follow=True)
    assert "当前状态为“暂停”，不能执行“审核入库”。" in response.content.decode()

    client.post(url, {"action": "reinstate"})
    assert Expert.objects.get(pk=expert.pk).status == S.ACTIVE
    client.post(url, {"action": "retire", "reason": "年满七十周岁"})
    expert.refresh_from_db()
    assert (expert.status, expert.status_reason) == (S.RETIRED, "年满七十周岁")
    html = client.get(url).content.decode()
    assert "当前状态下没有可执行的状态操作。" in html


def test_cap_is_edited_on_the_detail_page(client, officer):
    expert = ExpertFactory(annual_cap=10)
    url = reverse("experts:expert_detail", args=[expert.pk])
    client.force_login(officer)
    client.post(url, {"action": "cap", "annual_cap": "15"})
    assert Expert.objects.get(pk=expert.pk).annual_cap == 15
    response = client.post(url, {"action": "cap", "annual_cap": "0"}, follow=True)
    assert "年度评审上限至少为1。" in response.content.decode()
    assert Expert.objects.get(pk=expert.pk).annual_cap == 15


@pytest.mark.parametrize("n", [2, 20])
def test_detail_query_count_is_fixed(client, officer, django_assert_max_num_queries, n):
    expert = ExpertFactory()
    rnd = RoundFactory()
    for i in range(n):
        item = make_item(rnd, i)
        make_assignment(rnd, item, expert, AS.SUBMITTED if i % 2 else AS.DECLINED, total="75")
        make_assignment(rnd, item, ExpertFactory(), AS.SUBMITTED, total="70")
    client.force_login(officer)
    client.post(reverse("experts:expert_detail", args=[expert.pk]), {"action": "suspend", "reason": "测试"})
    with django_assert_max_num_queries(15):
        response = client.get(reverse("experts:expert_detail", args=[expert.pk]))
    assert len(response.context["page"].object_list) == n


# ---- import -----------------------------------------------------------------------------------------------


def test_import_page_reports_row_by_row(client, officer):
    client.force_login(officer)
    upload = xlsx([person(1), person(2, 学科代码="abc"), person(3)])
    response = client.post(reverse("experts:pool_import"), {"file": upload})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="refused-row"') == 1 and html.count('data-testid="imported-row"') == 2
    assert "第 3 行" in html and "学科代码“abc”格式不正确" in html
    assert "共 3 行：导入 2 人，未导入 1 行。" in html
    assert Expert.objects.filter(status=S.ACTIVE).count() == 2
    expert = Expert.objects.get(name="专家1")
    assert reverse("experts:expert_detail", args=[expert.pk]) in html


def test_import_page_refuses_a_non_xlsx_file(client, officer):
    client.force_login(officer)
    fake = SimpleUploadedFile("experts.xlsx", "姓名,证件号码\n张三,1\n".encode())
    response = client.post(reverse("experts:pool_import"), {"file": fake})
    assert response.status_code == 200
    assert 'data-testid="file-error"' in response.content.decode()
    assert "只能导入 Excel 2007 及以上版本的 .xlsx 文件" in response.content.decode()
    assert response.context["report"] is None
    response = client.post(reverse("experts:pool_import"), {})
    assert "请选择要导入的 Excel 文件。" in response.content.decode()
    assert not Expert.objects.exists()


def test_template_download(client, officer):
    client.force_login(officer)
    response = client.get(reverse("experts:pool_import_template"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert ws.cell(row=1, column=1).value == "姓名*"
    assert reverse("experts:pool_import_template") in client.get(reverse("experts:pool_import")).content.decode()


# ---- evaluation ---------------------------------------------------------------------------------------------


def test_evaluation_lists_active_experts_sorted_by_decline_rate(client, officer):
    rnd = RoundFactory()
    calm, busy = ExpertFactory(name="甲"), ExpertFactory(name="乙")
    ExpertFactory(name="丙")  # no invitations yet: no rate, listed last
    ExpertFactory(name="丁", status=S.SUSPENDED)
    make_assignment(rnd, make_item(rnd, 1), calm, AS.SUBMITTED, total="80")
    make_assignment(rnd, make_item(rnd, 2), busy, AS.DECLINED)
    make_assignment(rnd, make_item(rnd, 3), busy, AS.SUBMITTED, total="80")
    client.force_login(officer)
    rows = client.get(reverse("experts:pool_evaluation")).context["page"].object_list
    assert [(r["expert"].name, r["decline_rate"]) for r in rows] == [("乙", 50), ("甲", 0), ("丙", None)]
    rows = client.get(reverse("experts:pool_evaluation"), {"sort": "name"}).context["page"].object_list
    assert [r["expert"].name for r in rows] == sorted(["甲", "乙", "丙"])
    assert client.get(reverse("experts:pool_evaluation"), {"sort": "bogus"}).status_code == 200


@pytest.mark.parametrize("n", [2, 20])
def test_evaluation_page_query_count_is_fixed(client, officer, django_assert_max_num_queries, n):
    rnd = RoundFactory()
    item = make_item(rnd)
    for i in range(n):
        make_assignment(rnd, item, ExpertFactory(), AS.SUBMITTED, total=str(60 + i))
    client.force_login(officer)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("experts:pool_evaluation"))
    assert len(response.context["page"].object_list) == n

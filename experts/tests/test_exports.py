"""Excel downloads for the bureau: a round's ranking, its 立项 list (with the 公示 objections) and the expert
evaluation table. Who may see the page may download it (404 otherwise), the figures are the page's figures
with exact money, text typed by users never becomes a formula, and the query count does not grow with rows."""

import datetime
import re
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote
from zipfile import ZipFile

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.tests.factories import UserFactory
from experts.models import Assignment, Expert, ReviewRound
from experts.services import assign, funding, reviews, rounds
from projects.tests.factories import CallFactory

from .factories import ExpertFactory, RoundFactory
from .test_pool import make_assignment, make_item
from .test_views_rounds import ALL, make_round, score_everything

pytestmark = pytest.mark.django_db

TZ = timezone.get_current_timezone()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AS = Assignment.State

RANKING_HEADERS = ["排名", "编号", "项目名称", "申报单位", "学科代码", "得分", "评审份数", "标准差", "离散度预警",
                   "同意立项", "修改后立项", "不同意立项", "申请财政资金（元）", "累计申请（元）", "是否在预算内",
                   "偏离专家"]
ENTRY_HEADERS = ["排名", "编号", "项目名称", "申报单位", "评审得分", "申请财政资金（元）", "拟立项财政资金（元）",
                 "是否移出", "移出时间", "移出理由"]


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def url(name, rnd):
    return reverse(f"experts:{name}", args=[rnd.pk])


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    return load_workbook(BytesIO(response.content))


def block(ws) -> dict:
    """The ``label | value`` header block above the table."""
    out = {}
    for label, _merged, value, *_rest in ws.iter_rows(min_row=2, max_col=3, values_only=True):
        if label is None:
            break
        out[label] = value
    return out


def table(ws, first_header="排名") -> tuple[list, list[list]]:
    """The table's headers and its rows (up to the first empty row)."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first_header)
    body = []
    for r in rows[start + 1:]:
        if all(v is None for v in r):
            break
        body.append(list(r))
    return list(rows[start]), body


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def scored_round(officer, call, n_items=2, totals=None):
    rnd, apps, experts = make_round(officer, call, n_items=n_items, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=7)
    score_everything(rnd, totals or {apps[0].pk: [28, 18, 18, 18, 9], apps[1].pk: [20, 15, 15, 15, 7]})
    rnd.apps = apps
    return rnd


@pytest.fixture
def closed(officer, open_call):
    rnd = scored_round(officer, open_call)
    rounds.close_round(actor=officer, round_id=rnd.pk)
    return rnd


# ---- access -------------------------------------------------------------------------------------------------


@pytest.fixture
def listed(officer, closed):
    funding.build_funding_list(actor=officer, round_id=closed.pk, cutoff_score=None)
    return closed


def download_urls(rnd):
    return [url("round_ranking_xlsx", rnd), url("funding_list_xlsx", rnd), reverse("experts:pool_evaluation_xlsx")]


@pytest.mark.parametrize("who", ["applicant", "org_admin", "expert_user", "finance_user", "other_applicant"])
def test_other_roles_get_404_on_every_download(client, request, listed, who):
    client.force_login(request.getfixturevalue(who))
    for target in download_urls(listed):
        response = client.get(target)
        assert response.status_code == 404, target
        assert "Content-Disposition" not in response


def test_an_expert_of_the_round_gets_404(client, listed):
    expert = Assignment.objects.filter(round=listed).first().expert
    client.force_login(expert.user)
    for target in download_urls(listed):
        assert client.get(target).status_code == 404, target


def test_anonymous_is_sent_to_login(client, listed):
    for target in download_urls(listed):
        response = client.get(target)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login")), target


def test_supervisor_downloads_ranking_and_list_but_not_the_evaluation(client, supervisor, listed):
    client.force_login(supervisor)
    assert workbook(client.get(url("round_ranking_xlsx", listed)))
    assert workbook(client.get(url("funding_list_xlsx", listed)))
    assert client.get(reverse("experts:pool_evaluation_xlsx")).status_code == 404
    # the buttons are where the pages are
    assert url("round_ranking_xlsx", listed) in client.get(url("round_ranking", listed)).content.decode()
    assert url("funding_list_xlsx", listed) in client.get(url("funding_list", listed)).content.decode()


def test_unknown_round_and_a_round_without_list_are_404(client, officer, closed):
    client.force_login(officer)
    assert client.get(reverse("experts:round_ranking_xlsx", args=[999999])).status_code == 404
    assert client.get(reverse("experts:funding_list_xlsx", args=[999999])).status_code == 404
    assert client.get(url("funding_list_xlsx", closed)).status_code == 404  # no list built yet
    assert url("funding_list_xlsx", closed) not in client.get(url("funding_list", closed)).content.decode()


# ---- ranking ------------------------------------------------------------------------------------------------


def test_ranking_export_has_the_header_block_and_the_ranked_rows(client, officer):
    call = CallFactory(title="2026年度重点研发计划", total_budget=Decimal("500000.00"))
    rnd = scored_round(officer, call)
    first, second = rnd.apps
    client.force_login(officer)
    response = client.get(url("round_ranking_xlsx", rnd))
    ws = workbook(response).active
    assert quote(f"评审排名-{rnd.name}-{timezone.localdate():%Y%m%d}.xlsx") in response["Content-Disposition"]
    info = block(ws)
    assert info["评审轮次"] == rnd.name
    assert info["指南"] == "2026年度重点研发计划"
    assert info["得分计算方法"] == "去掉最高最低分后平均"
    assert money(info["指南财政资金总额（元）"]) == Decimal("500000.00")
    assert isinstance(info["导出时间"], datetime.datetime)
    headers, rows = table(ws)
    assert headers == RANKING_HEADERS
    assert len(rows) == 2
    top, low = rows
    assert top[:5] == [1, first.number, first.title, first.organization.name, first.discipline_code]
    assert money(top[5]) == Decimal("91.00") and top[6] == 3 and money(top[7]) == Decimal("0")
    assert top[8] == "否" and top[9:12] == [3, 0, 0]
    assert money(top[12]) == Decimal("350000.00") and money(top[13]) == Decimal("350000.00") and top[14] == "是"
    assert low[0] == 2 and low[2] == second.title and money(low[5]) == Decimal("72.00")
    # 700,000 requested in total against a budget of 500,000
    assert money(low[13]) == Decimal("700000.00") and low[14] == "否"
    money_cell = next(c for c in ws["M"] if c.value is not None and not isinstance(c.value, str))
    assert money_cell.number_format == "#,##0.00"


def test_ranking_export_names_deviating_experts_and_unranked_items(client, officer, open_call):
    rnd, apps, experts = make_round(officer, open_call, n_items=2, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=9)
    crit = list(rnd.criteria.all())
    on_first = Assignment.objects.filter(round=rnd, item__subject_id=apps[0].pk).select_related("expert__user")
    low = on_first.order_by("id").first()
    for a in on_first:
        reviews.accept_invitation(actor=a.expert.user, assignment_id=a.pk, confirmed=ALL)
        values = [5, 5, 5, 5, 5] if a.pk == low.pk else [28, 18, 18, 18, 9]
        reviews.submit_review(actor=a.expert.user, assignment_id=a.pk, comment="意见",
                              recommendation="reject" if a.pk == low.pk else "revise",
                              scores={str(c.pk): v for c, v in zip(crit, values, strict=True)})
    client.force_login(officer)
    _headers, rows = table(workbook(client.get(url("round_ranking_xlsx", rnd))).active)
    ranked, unscored = rows
    assert money(ranked[5]) == Decimal("69.00") and ranked[8] == "是"  # dispersed
    assert ranked[9:12] == [0, 2, 1]
    # everyone is more than the threshold away from the others' mean: each named with their total
    flagged = ranked[15].split("；")
    assert f"{low.expert.name}：25.0 分（其他专家均分 91.00）" in flagged and len(flagged) == 3
    assert sum(1 for f in flagged if f.endswith("91.0 分（其他专家均分 58.00）")) == 2
    # the second application has no reviews: not ranked, not counted in the running total
    assert unscored[0] == "—" and unscored[5] == "—" and unscored[6] == 0
    assert unscored[13] == "—" and unscored[14] == "—" and unscored[15] is None


@pytest.mark.parametrize("n_items", [2, 10])
def test_ranking_export_runs_a_fixed_number_of_queries(client, officer, n_items, django_assert_max_num_queries):
    call = CallFactory(total_budget=Decimal("700000.00"))
    rnd, apps, experts = make_round(officer, call, n_items=n_items, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=5)
    score_everything(rnd)
    client.force_login(officer)
    with django_assert_max_num_queries(6):
        response = client.get(url("round_ranking_xlsx", rnd))
    _headers, rows = table(workbook(response).active)
    assert len(rows) == n_items
    assert [r[14] for r in rows].count("是") == 2  # 350,000 each: two fit the budget


def test_formula_like_text_is_written_as_literal_strings(client, officer, open_call):
    rnd = scored_round(officer, open_call)
    title = '=HYPERLINK("http://evil.example","点我")'
    rnd.items.filter(subject_id=rnd.apps[0].pk).update(title=title, organization_name="@SUM(1+1)*cmd|' /C calc'!A0")
    ReviewRound.objects.filter(pk=rnd.pk).update(name="+评审轮次")
    client.force_login(officer)
    content = client.get(url("round_ranking_xlsx", rnd)).content
    ws = load_workbook(BytesIO(content)).active
    cells = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in (title, "@SUM(1+1)*cmd|' /C calc'!A0", "+评审轮次"):
        assert cells[text].data_type == "s" and cells[text].quotePrefix, text
    assert not cells["评审轮次"].quotePrefix  # ordinary text untouched
    with ZipFile(BytesIO(content)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    assert re.search(r't="inlineStr"><is><t>=HYPERLINK\(', sheet)

    rounds.close_round(actor=officer, round_id=rnd.pk)
    funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score=None)
    content = client.get(url("funding_list_xlsx", rnd)).content
    with ZipFile(BytesIO(content)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
    _headers, rows = table(load_workbook(BytesIO(content)).active)
    assert rows[0][2] == title


def test_filename_cannot_break_the_header_or_the_path(client, officer, closed):
    ReviewRound.objects.filter(pk=closed.pk).update(name='a/b\r\nSet-Cookie: x="1"')
    client.force_login(officer)
    disposition = client.get(url("round_ranking_xlsx", closed))["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    name = f"评审排名-a_b_Set-Cookie_ x=_1-{timezone.localdate():%Y%m%d}.xlsx"
    assert disposition == "attachment; filename*=utf-8''" + quote(name)


# ---- 立项 list ------------------------------------------------------------------------------------------------


def test_funding_list_export_with_sign_off_publicity_objections_and_exact_totals(client, officer, supervisor,
                                                                                   open_call):
    rnd = scored_round(officer, open_call, n_items=3, totals={})
    rounds.close_round(actor=officer, round_id=rnd.pk)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score=None)
    a, b, c = fl.entries.order_by("rank", "id")
    funding.set_granted_amount(actor=officer, entry_id=a.pk, amount=Decimal("123456.78"))
    funding.set_granted_amount(actor=officer, entry_id=b.pk, amount=Decimal("0.11"))
    funding.remove_entry(actor=officer, entry_id=c.pk, reason="=自筹资金未落实")
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    with time_machine.travel(datetime.datetime(2026, 9, 29, 16, 30, tzinfo=TZ), tick=False):
        funding.sign_off(actor=supervisor, list_id=fl.pk, comment="同意")
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, tzinfo=TZ), tick=False):
        funding.publish_list(actor=officer, list_id=fl.pk)
        objection = funding.record_objection(list_id=fl.pk, name="-某公司", contact="0571-1234567",
                                             content="该项目负责人同期承担其他财政项目。", entry_id=a.pk)
        funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=False,
                                  resolution="经核查，不存在重复申报。")
        client.force_login(supervisor)
        response = client.get(url("funding_list_xlsx", rnd))
    wb = workbook(response)
    assert quote("立项清单-") in response["Content-Disposition"]
    ws = wb.worksheets[0]
    assert ws.title == "立项清单" and ws["A1"].value == fl.title
    info = block(ws)
    assert info["评审轮次"] == rnd.name and info["清单状态"] == "公示中"
    assert info["审签人"] == "刘局长" and info["审签时间"] == datetime.datetime(2026, 9, 29, 16, 30)
    assert info["审签意见"] == "同意"
    assert info["公示期"] == "2026-09-30 至 2026-10-12（5 个工作日）"
    assert info["批准人"] == "—" and info["入围分数线"] == "未设"
    headers, rows = table(ws)
    assert headers == ENTRY_HEADERS
    assert [r[0] for r in rows] == [1, 2, 3, "合计"]
    assert money(rows[0][6]) == Decimal("123456.78") and money(rows[0][5]) == Decimal("350000.00")
    assert rows[0][7] == "否" and rows[2][7] == "是" and rows[2][9] == "=自筹资金未落实"
    assert isinstance(rows[2][8], datetime.datetime)
    removed_reason = next(c for c in ws["J"] if c.value == "=自筹资金未落实")
    assert removed_reason.data_type == "s" and removed_reason.quotePrefix
    total = rows[3]
    assert total[1] == "共 2 项（不含已移出）"
    # exact: 123,456.78 + 0.11, the removed entry's 350,000 not counted
    assert money(total[6]) == Decimal("123456.89") == funding.list_totals(fl)[1]
    assert money(total[5]) == Decimal("700000.00")

    objections = wb["公示异议"]
    headers, rows = table(objections, first_header="提出时间")
    assert headers == ["提出时间", "异议人", "联系方式", "所涉项目", "异议内容", "处理结果", "处理意见", "处理人",
                       "处理时间"]
    assert len(rows) == 1
    when, name, contact, item, content, state, resolution, by, at = rows[0]
    assert when == datetime.datetime(2026, 9, 30, 10) and name == "-某公司" and contact == "0571-1234567"
    assert item == str(a.item) and content == "该项目负责人同期承担其他财政项目。"
    assert state == "异议不成立" and resolution == "经核查，不存在重复申报。" and by == officer.display_name
    assert isinstance(at, datetime.datetime)
    name_cell = next(c for c in objections["B"] if c.value == "-某公司")
    assert name_cell.data_type == "s" and name_cell.quotePrefix


def test_funding_list_export_of_a_draft_without_objections(client, officer, listed):
    client.force_login(officer)
    wb = workbook(client.get(url("funding_list_xlsx", listed)))
    info = block(wb.worksheets[0])
    assert info["清单状态"] == "编制中" and info["审签人"] == "—"
    assert info["公示期"] == "尚未发布公示（公示 5 个工作日）"
    assert wb["公示异议"].cell(row=4, column=1).value == "尚未公示。"


@pytest.mark.parametrize("n_items", [2, 10])
def test_funding_list_export_runs_a_fixed_number_of_queries(client, officer, supervisor, open_call, n_items,
                                                            django_assert_max_num_queries):
    rnd, apps, experts = make_round(officer, open_call, n_items=n_items, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=5)
    score_everything(rnd)
    rounds.close_round(actor=officer, round_id=rnd.pk)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score=None)
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk)
    client.force_login(officer)
    with time_machine.travel(datetime.datetime(2026, 9, 30, 10, tzinfo=TZ)):
        funding.publish_list(actor=officer, list_id=fl.pk)
        for i, entry in enumerate(fl.entries.all()):
            objection = funding.record_objection(list_id=fl.pk, name=f"异议人{i}", contact="1",
                                                 content="该项目存在重复申报的情况。", entry_id=entry.pk)
            funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=False, resolution="不成立")
        with django_assert_max_num_queries(8):
            response = client.get(url("funding_list_xlsx", rnd))
    wb = workbook(response)
    _headers, rows = table(wb.active)
    assert len(rows) == n_items + 1  # + 合计
    assert money(rows[-1][6]) == Decimal("350000.00") * n_items
    _headers, rows = table(wb["公示异议"], first_header="提出时间")
    assert len(rows) == n_items and {r[7] for r in rows} == {officer.display_name}


# ---- expert evaluation ---------------------------------------------------------------------------------------


def test_evaluation_export_in_the_page_order_with_exact_rates(client, officer):
    rnd = RoundFactory()
    calm, busy = ExpertFactory(name="甲", workplace="浙江大学"), ExpertFactory(name="乙")
    ExpertFactory(name="丙")  # no invitations: no rates
    ExpertFactory(name="丁", status=Expert.Status.SUSPENDED)  # not in the pool's active list
    item = make_item(rnd, 1)
    make_assignment(rnd, item, calm, AS.SUBMITTED, total="80")
    make_assignment(rnd, make_item(rnd, 2), busy, AS.DECLINED)
    make_assignment(rnd, make_item(rnd, 3), busy, AS.EXPIRED)
    make_assignment(rnd, item, busy, AS.SUBMITTED, total="70", late=True)
    client.force_login(officer)
    page = client.get(reverse("experts:pool_evaluation"), {"sort": "name"}).content.decode()
    assert reverse("experts:pool_evaluation_xlsx") + "?sort=name" in page
    response = client.get(reverse("experts:pool_evaluation_xlsx"))
    assert quote("专家评价-") in response["Content-Disposition"]
    ws = workbook(response).active
    info = block(ws)
    assert info["排序"] == "谢绝率从高到低" and info["专家人数"] == 3
    headers, rows = table(ws, first_header="专家")
    assert headers == ["专家", "工作单位", "职称", "受邀", "谢绝", "逾期未答复", "已提交", "谢绝率（%）", "按时率（%）",
                       "平均偏离（分）"]
    assert [r[0] for r in rows] == ["乙", "甲", "丙"]
    yi, jia, bing = rows
    assert yi[3:7] == [3, 1, 1, 1]
    assert Decimal(str(yi[7])) == Decimal("66.7") and Decimal(str(yi[8])) == Decimal("0")
    assert money(yi[9]) == Decimal("10.00")
    assert jia[1] == "浙江大学" and Decimal(str(jia[7])) == Decimal("0") and Decimal(str(jia[8])) == Decimal("100")
    assert bing[3:] == [0, 0, 0, 0, "—", "—", "—"]
    _h, rows = table(load_workbook(BytesIO(client.get(reverse("experts:pool_evaluation_xlsx"),
                                                       {"sort": "name"}).content)).active, first_header="专家")
    assert [r[0] for r in rows] == sorted(["甲", "乙", "丙"])


def test_evaluation_export_neutralises_formula_like_names(client, officer):
    ExpertFactory(name="=1+2", workplace="@cmd")
    client.force_login(officer)
    content = client.get(reverse("experts:pool_evaluation_xlsx")).content
    ws = load_workbook(BytesIO(content)).active
    name = next(c for c in ws["A"] if c.value == "=1+2")
    workplace = next(c for c in ws["B"] if c.value == "@cmd")
    assert name.data_type == "s" and name.quotePrefix and workplace.quotePrefix
    with ZipFile(BytesIO(content)) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize("n", [2, 10])
def test_evaluation_export_runs_a_fixed_number_of_queries(client, officer, django_assert_max_num_queries, n):
    rnd = RoundFactory()
    item = make_item(rnd)
    for i in range(n):
        make_assignment(rnd, item, ExpertFactory(), AS.SUBMITTED, total=str(60 + i))
    client.force_login(officer)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("experts:pool_evaluation_xlsx"))
    _headers, rows = table(workbook(response).active, first_header="专家")
    assert len(rows) == n

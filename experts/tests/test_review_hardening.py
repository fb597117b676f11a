"""Regressions found in the access-control and input-handling review of expert review (issue 3)."""

import datetime
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from accounts.exceptions import InvalidInput
from experts.models import Expert, ReviewItem, ReviewRound
from experts.services import assign, importer, pool, rounds

from .factories import RoundFactory, accepted_application

pytestmark = pytest.mark.django_db


# ---- 回避: the expert's own account organisation -------------------------------------------------------


def test_an_applicant_user_registered_as_expert_never_reviews_their_own_organisation(officer, applicant, org,
                                                                                   open_call):
    """A user of an applicant organisation who registers as an expert naming another workplace (and no credit
    code) still works for that organisation: kept off its applications by the draw and by manual assignment."""
    accepted_application(open_call, organization=org, discipline_code="520.20")
    expert = pool.register_expert(user=applicant, data={
        "name": "张申报", "id_number": "110105194912310029", "workplace": "某某大学", "title": "教授",
        "title_level": "senior", "discipline_codes": "520.20"})
    pool.approve_expert(actor=officer, expert_id=expert.pk)
    rnd = RoundFactory(call=open_call, created_by=officer)
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    item = ReviewItem.objects.get(round=rnd)

    el = assign.eligibility(rnd, [item])
    assert expert.pk not in dict(el.candidates[item.pk])
    assert any(org.name in r for r in el.excluded[item.pk][expert.pk])
    with pytest.raises(InvalidInput, match="同一单位"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=item.pk, expert_id=expert.pk)


# ---- deadlines out of range ---------------------------------------------------------------------------

ROUND_FIELDS = {"experts_per_item": 3, "aggregation": "mean", "dispersion_threshold": "10",
                "deviation_threshold": "20", "comment_threshold": "60", "blind": "on"}
YEAR_ONE = "0001-01-01T00:00"  # Beijing time: 16:00 on 31 December of year 0 in UTC, which cannot be stored


def test_a_deadline_in_year_one_is_a_form_error_on_the_round_page(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("experts:round_create"), {
        "call": open_call.pk, **ROUND_FIELDS, "response_deadline": YEAR_ONE, "review_deadline": "2030-01-10T17:00",
        "criteria-TOTAL_FORMS": "1", "criteria-INITIAL_FORMS": "0", "criteria-0-name": "创新性",
        "criteria-0-max_score": "100"})
    assert response.status_code == 200
    assert "截止时间须在2000年至2999年之间" in response.content.decode()
    assert not ReviewRound.objects.exists()


def test_a_deadline_in_year_one_is_a_form_error_in_the_admin(client, officer, open_call):
    client.force_login(officer)
    response = client.post(reverse("admin:experts_reviewround_add"), {
        "call": open_call.pk, "name": "新一轮评审", **ROUND_FIELDS,
        "response_deadline_0": "0001-01-01", "response_deadline_1": "00:00:00",
        "review_deadline_0": "2030-01-10", "review_deadline_1": "17:00:00",
        "criteria-TOTAL_FORMS": 0, "criteria-INITIAL_FORMS": 0, "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
        "panels-TOTAL_FORMS": 0, "panels-INITIAL_FORMS": 0, "panels-MIN_NUM_FORMS": 0, "panels-MAX_NUM_FORMS": 1000})
    assert response.status_code == 200
    assert "截止时间须在2000年至2999年之间" in response.content.decode()
    assert not ReviewRound.objects.exists()


def test_the_round_service_refuses_a_deadline_out_of_range(officer, open_call):
    far = datetime.datetime(9999, 12, 31, 23, 0, tzinfo=timezone.get_current_timezone())
    with pytest.raises(InvalidInput, match="截止时间须在2000年至2999年之间"):
        rounds.create_round(actor=officer, call_id=open_call.pk, data={"response_deadline": far - datetime.timedelta(
            hours=1), "review_deadline": far})
    assert not ReviewRound.objects.exists()


# ---- expert import: a sheet broken inside a well-formed .xlsx ----------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_with_broken_sheet(mutate) -> bytes:
    """A valid import file whose first sheet's XML is then changed by ``mutate`` (the zip stays valid, so only
    reading the rows finds the damage)."""
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in importer.COLUMNS])
    ws.append(["李四", "11010519491231002X", "13900000001", "lisi@example.com", "浙江大学", "", "教授", "正高级",
               "520.20", "", "", ""])
    out = io.BytesIO()
    wb.save(out)
    src = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            z.writestr(info.filename, mutate(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return buf.getvalue()


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda xml: xml[: len(xml) // 2], id="truncated-xml"),
    pytest.param(lambda xml: xml.replace(b"<sheetData>", b'<sheetData><row r="x"><c r="A1"><v>1</v></c></row>'),
                 id="bad-row-number"),
    pytest.param(lambda xml: xml.replace(b'<c r="A2" t="inlineStr"><is><t>\xe6\x9d\x8e\xe5\x9b\x9b</t></is>',
                                         b'<c r="A2" t="n"><v>abc</v>'), id="bad-number"),
])
def test_a_sheet_broken_inside_the_zip_is_refused_with_a_message(client, officer, mutate):
    client.force_login(officer)
    upload = SimpleUploadedFile("专家名单.xlsx", xlsx_with_broken_sheet(mutate), content_type=XLSX)
    response = client.post(reverse("experts:pool_import"), {"file": upload})
    assert response.status_code == 200
    assert "Excel 文件已损坏或格式不正确，无法读取" in response.content.decode()
    assert not Expert.objects.exists()

"""立项公示 pages: only lists under 公示 (or approved) are public; no scores, no experts; 异议 only during 公示."""

import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from experts.models import Expert, FundingList, Objection
from experts.services import assign, funding, rounds

from .test_views_rounds import make_round, score_everything

TZ = timezone.get_current_timezone()
PUBLISHED = datetime.datetime(2026, 9, 30, 10, tzinfo=TZ)  # 5 working days across National Day: to 10-12
DURING = datetime.datetime(2026, 10, 9, 10, tzinfo=TZ)
AFTER = datetime.datetime(2026, 10, 13, 10, tzinfo=TZ)

OBJECTION = {"name": "某科技公司", "contact": "0571-12345678",
             "content": "该项目负责人同期承担其他财政项目，存在重复申报。"}


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def detail(fl):
    return reverse("gongshi:detail", args=[fl.pk])


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


def built_list(officer, call, n_items=2):
    rnd, apps, experts = make_round(officer, call, n_items=n_items, n_experts=3)
    assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=11)
    score_everything(rnd, {apps[0].pk: [28, 18, 18, 18, 9]})
    rounds.close_round(actor=officer, round_id=rnd.pk)
    return funding.build_funding_list(actor=officer, round_id=rnd.pk)


@pytest.fixture
def draft_list(officer, open_call):
    return built_list(officer, open_call)


@pytest.fixture
def publicized(officer, supervisor, draft_list):
    funding.submit_for_signoff(actor=officer, list_id=draft_list.pk)
    funding.sign_off(actor=supervisor, list_id=draft_list.pk)
    with time_machine.travel(PUBLISHED):
        return funding.publish_list(actor=officer, list_id=draft_list.pk)


def test_draft_and_pending_lists_are_404(client, officer, supervisor, draft_list):
    assert client.get(detail(draft_list)).status_code == 404
    assert draft_list.title not in client.get(reverse("gongshi:index")).content.decode()
    funding.submit_for_signoff(actor=officer, list_id=draft_list.pk)
    assert client.get(detail(draft_list)).status_code == 404
    funding.sign_off(actor=supervisor, list_id=draft_list.pk)
    assert client.get(detail(draft_list)).status_code == 404
    assert client.post(detail(draft_list), OBJECTION).status_code == 404
    assert not Objection.objects.exists()
    assert client.get(reverse("gongshi:detail", args=[999999])).status_code == 404


def test_publicity_list_is_visible_without_scores_or_experts(client, publicized, django_assert_max_num_queries):
    with time_machine.travel(DURING):
        response = client.get(reverse("gongshi:index"))
        assert publicized.title in response.content.decode()
        assert "公示中" in response.content.decode()
        with django_assert_max_num_queries(6):
            response = client.get(detail(publicized))
    body = response.content.decode()
    assert response.status_code == 200
    entries = list(publicized.entries.select_related("item"))
    assert body.count('data-testid="gongshi-entry"') == len(entries) == 2
    for e in entries:
        assert e.item.title in body and e.item.organization_name in body
        assert str(e.score) not in body
    assert "35.00" in body  # 350,000 元 in 万元
    assert "2026年9月30日 至 2026年10月12日" in body
    for name in Expert.objects.values_list("name", flat=True):
        assert name not in body
    assert 'id="objection"' in body


def test_removed_entries_are_not_public(client, officer, supervisor, draft_list):
    removed = draft_list.entries.order_by("-rank").first()
    funding.remove_entry(actor=officer, entry_id=removed.pk, reason="自筹资金未落实")
    funding.submit_for_signoff(actor=officer, list_id=draft_list.pk)
    funding.sign_off(actor=supervisor, list_id=draft_list.pk)
    funding.publish_list(actor=officer, list_id=draft_list.pk)
    body = client.get(detail(draft_list)).content.decode()
    assert body.count('data-testid="gongshi-entry"') == 1
    assert removed.item.title not in body and "自筹资金未落实" not in body


def test_objection_accepted_during_publicity(client, publicized):
    entry = publicized.entries.first()
    with time_machine.travel(DURING):
        response = client.post(detail(publicized), {**OBJECTION, "entry": entry.pk}, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 302 and response["Location"] == detail(publicized)
    assert any("异议已提交" in m for m in flash(response))
    objection = Objection.objects.get()
    assert objection.entry == entry and objection.ip == "10.1.2.3" and objection.submitter_name == "某科技公司"
    assert objection.submitted_by is None


def test_objection_refused_when_too_short(client, publicized):
    with time_machine.travel(DURING):
        response = client.post(detail(publicized), {**OBJECTION, "content": "不同意"})
    assert response.status_code == 200
    assert "异议内容不少于10个字" in response.content.decode()
    assert not Objection.objects.exists()


def test_objection_refused_after_publicity(client, publicized):
    with time_machine.travel(AFTER):
        page = client.get(detail(publicized)).content.decode()
        assert 'id="objection"' not in page and 'data-testid="publicity-closed"' in page
        response = client.post(detail(publicized), OBJECTION)
    assert response.status_code == 302
    assert "不在公示期内，不能提出异议。" in flash(response)
    assert not Objection.objects.exists()


def test_approved_list_stays_public(client, officer, publicized):
    with time_machine.travel(AFTER):
        funding.approve_list(actor=officer, list_id=publicized.pk)
        body = client.get(detail(publicized)).content.decode()
    assert publicized.entries.first().item.title in body
    assert "已立项" in body and 'id="objection"' not in body
    assert FundingList.objects.get().state == FundingList.State.APPROVED


@pytest.mark.parametrize("n_lists", [1, 3])
def test_index_fixed_queries(client, officer, supervisor, n_lists, django_assert_max_num_queries):
    from projects.tests.factories import CallFactory

    for _ in range(n_lists):
        fl = built_list(officer, CallFactory(), n_items=1)
        funding.submit_for_signoff(actor=officer, list_id=fl.pk)
        funding.sign_off(actor=supervisor, list_id=fl.pk)
        funding.publish_list(actor=officer, list_id=fl.pk)
    with django_assert_max_num_queries(4):
        response = client.get(reverse("gongshi:index"))
    assert response.content.decode().count('data-testid="gongshi-row"') == n_lists

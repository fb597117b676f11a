"""立项清单: build with a cut-off, amounts, budget, sign-off by someone else, 公示 on working days, objections,
approval into Projects."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from accounts.exceptions import InvalidInput, PermissionRefused, TransitionRefused
from accounts.tests.factories import UserFactory
from activity.messaging import MessageKind
from activity.models import CalendarDay, Notification
from experts.models import Assignment, FundingList, FundingListEntry, Objection, Review, ReviewItem, ReviewRound
from experts.services import funding, rounds
from projects.models import Application, Project
from projects.services import establish_project

from .factories import ExpertFactory, accepted_application

pytestmark = pytest.mark.django_db

TZ = timezone.get_current_timezone()


def at(y, m, d, h=10):
    return time_machine.travel(datetime.datetime(y, m, d, h, tzinfo=TZ), tick=False)


@pytest.fixture
def supervisor(db):
    return UserFactory(roles=["supervisor"], real_name="刘局长")


@pytest.fixture
def closed(officer, open_call):
    """A closed round over five accepted applications (350,000 元 requested each) scored 90, 80, 70, 55 by three
    experts each and, for the fifth, only two reviews (95). Returns (round, items in that order)."""
    apps = [accepted_application(open_call) for _ in range(5)]
    experts = ExpertFactory.create_batch(3)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    items = [ReviewItem.objects.get(round=rnd, subject_id=a.pk) for a in apps]
    now = timezone.now()
    for item, total, n in zip(items, [90, 80, 70, 55, 95], [3, 3, 3, 3, 2], strict=True):
        for expert in experts[:n]:
            a = Assignment.objects.create(round=rnd, item=item, expert=expert, state=Assignment.State.SUBMITTED,
                                          invited_at=now, respond_by=now, submitted_at=now)
            Review.objects.create(assignment=a, total=Decimal(total), recommendation="fund")
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.CLOSED, closed_at=now)
    return rnd, items


def app_of(item):
    return Application.objects.get(pk=item.subject_id)


# ---- building --------------------------------------------------------------------------------------------------


def test_build_with_a_cutoff(officer, closed):
    rnd, items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    entries = list(fl.entries.order_by("rank"))
    assert [e.item_id for e in entries] == [items[0].pk, items[1].pk, items[2].pk]  # 70 is in, 55 out, 95 has 2
    assert [e.rank for e in entries] == [1, 2, 3]
    assert [e.score for e in entries] == [Decimal("90.00"), Decimal("80.00"), Decimal("70.00")]
    assert all(e.granted_amount == e.requested_amount == Decimal("350000.00") for e in entries)
    assert fl.state == FundingList.State.DRAFT and fl.built_by == officer and fl.cutoff_score == Decimal("70.00")
    # rebuilt while a draft: a higher cut-off, the same list row
    again = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="75.5")
    assert again.pk == fl.pk
    assert list(again.entries.values_list("item_id", flat=True).order_by("rank")) == [items[0].pk, items[1].pk]
    everyone = funding.build_funding_list(actor=officer, round_id=rnd.pk)
    assert everyone.entries.count() == 4


@pytest.mark.parametrize("cutoff,message", [("101", "0到100"), ("-1", "0到100"), ("七十", "金额数字"),
                                            ("70.123", "两位小数"), ("96", "没有达到分数线")])
def test_bad_cutoffs_refused(officer, closed, cutoff, message):
    rnd, _items = closed
    with pytest.raises(InvalidInput, match=message):
        funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score=cutoff)
    assert not FundingList.objects.exists()


def test_build_only_after_the_round_closed_and_only_by_the_bureau(officer, supervisor, closed):
    rnd, _items = closed
    with pytest.raises(PermissionRefused):
        funding.build_funding_list(actor=supervisor, round_id=rnd.pk)
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.REVIEWING)
    with pytest.raises(TransitionRefused, match="评审结束后"):
        funding.build_funding_list(actor=officer, round_id=rnd.pk)
    assert not FundingList.objects.exists()


@pytest.mark.parametrize("amount,ok", [("350000.00", True), ("1", True), ("200000.5", True), ("350000.01", False),
                                       ("0", False), ("-100", False), ("100.001", False), ("很多", False)])
def test_granted_amount_positive_and_within_the_request(officer, closed, amount, ok):
    rnd, _items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    entry = fl.entries.order_by("rank").first()
    if ok:
        funding.set_granted_amount(actor=officer, entry_id=entry.pk, amount=amount)
        assert FundingListEntry.objects.get(pk=entry.pk).granted_amount == Decimal(amount)
    else:
        with pytest.raises(InvalidInput):
            funding.set_granted_amount(actor=officer, entry_id=entry.pk, amount=amount)
        assert FundingListEntry.objects.get(pk=entry.pk).granted_amount == Decimal("350000.00")


# ---- budget and sign-off ---------------------------------------------------------------------------------------------


def test_submit_refused_over_the_call_budget(officer, closed, open_call):
    rnd, _items = closed
    open_call.total_budget = Decimal("1000000.00")
    open_call.save(update_fields=["total_budget"])
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")  # 3 × 350,000
    with pytest.raises(InvalidInput, match="拟立项财政资金合计 1050000.00 元，超过指南财政资金总额 1000000.00 元"):
        funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    assert FundingList.objects.get(pk=fl.pk).state == FundingList.State.DRAFT
    last = fl.entries.order_by("rank").last()
    funding.set_granted_amount(actor=officer, entry_id=last.pk, amount="300000")  # exactly the budget
    submitted = funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    assert submitted.state == FundingList.State.PENDING_SIGNOFF
    with pytest.raises(TransitionRefused):
        funding.set_granted_amount(actor=officer, entry_id=last.pk, amount="1")


def test_removed_entries_do_not_count_and_an_empty_list_cannot_be_submitted(officer, closed, open_call):
    rnd, _items = closed
    open_call.total_budget = Decimal("700000.00")
    open_call.save(update_fields=["total_budget"])
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    first, second, third = fl.entries.order_by("rank")
    with pytest.raises(InvalidInput, match="必须填写理由"):
        funding.remove_entry(actor=officer, entry_id=third.pk, reason="")
    funding.remove_entry(actor=officer, entry_id=third.pk, reason="申报单位放弃")
    assert funding.list_totals(fl) == (2, Decimal("700000.00"))
    for e in (first, second):
        funding.remove_entry(actor=officer, entry_id=e.pk, reason="测试")
    with pytest.raises(InvalidInput, match="立项清单为空"):
        funding.submit_for_signoff(actor=officer, list_id=fl.pk)


def test_the_builder_cannot_sign_off_their_own_list(closed):
    rnd, _items = closed
    both = UserFactory(roles=["officer", "supervisor"], is_staff=True)
    fl = funding.build_funding_list(actor=both, round_id=rnd.pk, cutoff_score="70")
    funding.submit_for_signoff(actor=both, list_id=fl.pk)
    with pytest.raises(PermissionRefused, match="编制人不能审签自己编制的立项清单"):
        funding.sign_off(actor=both, list_id=fl.pk)
    assert FundingList.objects.get(pk=fl.pk).state == FundingList.State.PENDING_SIGNOFF


def test_only_a_supervisor_signs_off(officer, supervisor, closed):
    rnd, _items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    assert Notification.objects.filter(recipient=supervisor, kind=MessageKind.FUNDING_LIST_SIGNOFF).exists()
    other_officer = UserFactory(roles=["officer"], is_staff=True)
    with pytest.raises(PermissionRefused):
        funding.sign_off(actor=other_officer, list_id=fl.pk)
    signed = funding.sign_off(actor=supervisor, list_id=fl.pk, comment="同意")
    assert signed.state == FundingList.State.SIGNED_OFF and signed.signed_off_by == supervisor
    assert signed.signoff_comment == "同意"
    with pytest.raises(TransitionRefused):
        funding.build_funding_list(actor=officer, round_id=rnd.pk)


def test_supervisor_returns_with_a_reason_to_draft(officer, supervisor, closed):
    rnd, _items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    with pytest.raises(InvalidInput, match="必须填写理由"):
        funding.return_list(actor=supervisor, list_id=fl.pk, reason=" ")
    with pytest.raises(PermissionRefused):
        funding.return_list(actor=officer, list_id=fl.pk, reason="自己退回")
    back = funding.return_list(actor=supervisor, list_id=fl.pk, reason="第三项经费偏高，请核减")
    assert back.state == FundingList.State.DRAFT and back.signoff_comment == "第三项经费偏高，请核减"
    note = Notification.objects.get(recipient=officer, kind=MessageKind.FUNDING_LIST_DECIDED)
    assert "第三项经费偏高" in note.body
    # a draft again: amounts change, then it goes back up
    entry = fl.entries.order_by("rank").last()
    funding.set_granted_amount(actor=officer, entry_id=entry.pk, amount="250000")
    assert funding.submit_for_signoff(actor=officer, list_id=fl.pk).state == FundingList.State.PENDING_SIGNOFF


# ---- 公示 ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def signed(officer, supervisor, closed):
    rnd, items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk)
    return fl, items


def test_publicity_counts_working_days_across_national_day(officer, signed):
    fl, _items = signed
    with pytest.raises(TransitionRefused):
        funding.approve_list(actor=officer, list_id=fl.pk)
    with at(2026, 9, 30):
        published = funding.publish_list(actor=officer, list_id=fl.pk)
    assert published.state == FundingList.State.PUBLICIZING
    # 9/30, then 10/1–10/8 off (10/10 Saturday is a working day), 10/9, 10/10, 10/11 off (Sunday), 10/12
    assert (published.publicity_start, published.publicity_end) == (datetime.date(2026, 9, 30),
                                                                     datetime.date(2026, 10, 12))


def test_publicity_in_a_year_the_calendar_does_not_know_counts_monday_to_friday(officer, signed):
    fl, _items = signed
    published = funding.publish_list(actor=officer, list_id=fl.pk, start=datetime.date(2031, 3, 7))  # a Friday
    assert published.publicity_end == datetime.date(2031, 3, 13)


def test_publicity_follows_the_bureaus_own_calendar_entries(officer, signed):
    fl, _items = signed
    CalendarDay.objects.create(date=datetime.date(2031, 3, 10), is_workday=False, note="本地停工")
    published = funding.publish_list(actor=officer, list_id=fl.pk, start=datetime.date(2031, 3, 7))
    assert published.publicity_end == datetime.date(2031, 3, 14)


OBJECTION = {"name": "某公司", "contact": "0571-88881234", "content": "该项目负责人同期承担其他财政项目，存在重复申报。"}


@pytest.fixture
def publicized(officer, signed):
    fl, items = signed
    with at(2026, 9, 30):
        fl = funding.publish_list(actor=officer, list_id=fl.pk)
    return fl, items


def test_objections_only_during_publicity(publicized):
    fl, _items = publicized
    for day in (datetime.datetime(2026, 9, 29, 23, 59, tzinfo=TZ), datetime.datetime(2026, 10, 13, 0, 1, tzinfo=TZ)):
        with pytest.raises(TransitionRefused, match="不在公示期内"):
            funding.record_objection(list_id=fl.pk, now=day, **OBJECTION)
    for day in (datetime.datetime(2026, 9, 30, 8, tzinfo=TZ), datetime.datetime(2026, 10, 12, 23, 59, tzinfo=TZ)):
        funding.record_objection(list_id=fl.pk, now=day, **OBJECTION)
    assert Objection.objects.filter(funding_list=fl).count() == 2


def test_no_objection_before_publication(officer, signed):
    fl, _items = signed
    with pytest.raises(TransitionRefused, match="不在公示期内"):
        funding.record_objection(list_id=fl.pk, **OBJECTION)


def test_an_objection_needs_who_how_to_reach_and_ten_characters(publicized):
    fl, _items = publicized
    with at(2026, 10, 9), pytest.raises(InvalidInput) as exc:
        funding.record_objection(list_id=fl.pk, name=" ", contact="", content="太短了")
    assert len(exc.value.messages) == 3
    assert not Objection.objects.exists()


def test_an_objection_can_only_name_a_listed_project(publicized, closed):
    fl, items = publicized
    with at(2026, 10, 9), pytest.raises(InvalidInput, match="不在本次公示名单中"):
        funding.record_objection(list_id=fl.pk, entry_id=999999, **OBJECTION)


def test_upheld_objection_removes_the_entry_and_the_application_ends_not_approved(officer, publicized):
    fl, items = publicized
    entry = fl.entries.get(item=items[1])
    with at(2026, 10, 9):
        objection = funding.record_objection(list_id=fl.pk, entry_id=entry.pk, ip="10.0.0.9", **OBJECTION)
        assert Notification.objects.filter(recipient=officer, kind=MessageKind.FUNDING_LIST_OBJECTION).exists()
        with pytest.raises(InvalidInput, match="请填写处理意见"):
            funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=True, resolution="")
        funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=True,
                                  resolution="经核查，存在重复申报，取消拟立项资格。")
        with pytest.raises(TransitionRefused, match="已处理"):
            funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=False, resolution="改判")
    entry.refresh_from_db()
    assert entry.removed_at is not None and "异议成立" in entry.removed_reason
    objection.refresh_from_db()
    assert objection.state == Objection.State.UPHELD and objection.resolved_by == officer
    with at(2026, 10, 13):
        funding.approve_list(actor=officer, list_id=fl.pk)
    assert app_of(items[1]).state == Application.State.NOT_APPROVED
    assert not Project.objects.filter(application_id=items[1].subject_id).exists()
    assert Project.objects.count() == 2


def test_approve_refused_before_the_end_and_with_open_objections(officer, publicized):
    fl, _items = publicized
    with at(2026, 10, 12, 18), pytest.raises(TransitionRefused, match="公示期至 2026-10-12 结束"):
        funding.approve_list(actor=officer, list_id=fl.pk)
    with at(2026, 10, 10):
        objection = funding.record_objection(list_id=fl.pk, **OBJECTION)
    with at(2026, 10, 13), pytest.raises(InvalidInput, match="还有未处理的公示异议"):
        funding.approve_list(actor=officer, list_id=fl.pk)
    assert FundingList.objects.get(pk=fl.pk).state == FundingList.State.PUBLICIZING
    assert not Project.objects.exists()
    with at(2026, 10, 13):
        funding.resolve_objection(actor=officer, objection_id=objection.pk, upheld=False, resolution="异议不成立。")
        assert funding.approve_list(actor=officer, list_id=fl.pk).state == FundingList.State.APPROVED


def test_approval_creates_projects_with_the_granted_amounts_and_declines_the_rest(officer, supervisor, closed):
    rnd, items = closed
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk, cutoff_score="70")
    second = fl.entries.get(item=items[1])
    funding.set_granted_amount(actor=officer, entry_id=second.pk, amount="280000.50")
    funding.submit_for_signoff(actor=officer, list_id=fl.pk)
    funding.sign_off(actor=supervisor, list_id=fl.pk)
    with at(2026, 9, 30):
        funding.publish_list(actor=officer, list_id=fl.pk)
    with at(2026, 10, 13):
        approved = funding.approve_list(actor=officer, list_id=fl.pk)
    assert approved.state == FundingList.State.APPROVED and approved.approved_by == officer
    projects = {p.application_id: p for p in Project.objects.all()}
    assert set(projects) == {items[0].subject_id, items[1].subject_id, items[2].subject_id}
    assert projects[items[0].subject_id].granted_amount == Decimal("350000.00")
    assert projects[items[1].subject_id].granted_amount == Decimal("280000.50")
    numbers = sorted(p.number for p in projects.values())
    year = rnd.call.year
    assert numbers == [f"{year}-ZDYF-L0001", f"{year}-ZDYF-L0002", f"{year}-ZDYF-L0003"]
    for item in items[:3]:
        assert app_of(item).state == Application.State.APPROVED
    # below the cut-off (55) and too few reviews (95 from two experts): not approved
    for item in items[3:]:
        assert app_of(item).state == Application.State.NOT_APPROVED
    # nothing is approved twice
    with pytest.raises(TransitionRefused):
        establish_project(actor=officer, application_id=items[0].subject_id, granted_amount=Decimal("1"))
    with at(2026, 10, 14), pytest.raises(TransitionRefused):
        funding.approve_list(actor=officer, list_id=fl.pk)
    assert Project.objects.count() == 3


def test_one_address_may_raise_only_a_few_objections_a_day(publicized):
    fl, _items = publicized
    with at(2026, 10, 9):
        for _ in range(funding.OBJECTIONS_PER_ADDRESS):
            funding.record_objection(list_id=fl.pk, ip="203.0.113.7", **OBJECTION)
        with pytest.raises(InvalidInput, match="最多提出5条异议"):
            funding.record_objection(list_id=fl.pk, ip="203.0.113.7", **OBJECTION)
        funding.record_objection(list_id=fl.pk, ip="203.0.113.8", **OBJECTION)  # another address is not affected
    with at(2026, 10, 10, 11):  # a day later the address may write again
        funding.record_objection(list_id=fl.pk, ip="203.0.113.7", **OBJECTION)
    assert Objection.objects.filter(funding_list=fl, ip="203.0.113.7").count() == funding.OBJECTIONS_PER_ADDRESS + 1

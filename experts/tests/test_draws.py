"""Draws through the services on a real database: reproducible random draws, the hard constraints (cap,
availability, status, discipline), shortfalls, optimal versus greedy, alternates."""

import datetime
import random

import pytest
from django.utils import timezone

from accounts.exceptions import InvalidInput
from accounts.tests.factories import OrganizationFactory
from experts.models import Alternate, Assignment, Draw, Expert, ReviewItem, Unavailability
from experts.services import assign, rounds
from projects.tests.factories import CallFactory

from .factories import ExpertFactory, accepted_application

pytestmark = pytest.mark.django_db


def reviewing(officer, call, n_items=1, per_item=3, **app_kwargs):
    """A reviewing round over ``n_items`` fresh accepted applications of ``call``; returns (round, items)."""
    for _ in range(n_items):
        accepted_application(call, **app_kwargs)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": per_item})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd, list(ReviewItem.objects.filter(round=rnd).order_by("id"))


def drawn(item):
    return set(Assignment.objects.filter(item=item).values_list("expert_id", flat=True))


def picked(result, expert_ids):
    return {i: sorted(expert_ids[e] for e in chosen) for i, chosen in result.assignments.items()}


# ---- reproducibility --------------------------------------------------------------------------------------


def test_same_seed_on_the_same_state_gives_the_same_experts(officer, open_call):
    rnd, items = reviewing(officer, open_call, n_items=3)
    ExpertFactory.create_batch(15)
    el = assign.eligibility(rnd, items)
    first, ids1 = assign.solve("random", el, items, 424242)
    second, ids2 = assign.solve("random", assign.eligibility(rnd, items), items, 424242)
    assert picked(first, ids1) == picked(second, ids2)
    assert all(len(chosen) == 3 for chosen in first.assignments.values())


def test_stored_draw_replays_and_a_tampered_one_does_not(officer, open_call):
    rnd, items = reviewing(officer, open_call, n_items=2)
    ExpertFactory.create_batch(12)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=20260930)
    draw = Draw.objects.get(pk=outcome.draw.pk)
    assert draw.seed == 20260930 and draw.method == Draw.Method.RANDOM
    assert draw.created_by == officer
    assert assign.replay_draw(draw) is True

    other_seed = Draw.objects.get(pk=draw.pk)
    other_seed.seed = 20260931
    assert assign.replay_draw(other_seed) is False

    tampered = Draw.objects.get(pk=draw.pk)
    snap = tampered.candidates
    # the first item's candidate list loses one of the experts drawn for it
    gone = snap["candidates"][0].index(min(drawn(items[0])))
    del snap["candidates"][0][gone]
    del snap["affinity"][0][gone]
    assert assign.replay_draw(tampered) is False


def test_a_random_draw_gets_a_seed_when_none_is_given(officer, open_call):
    rnd, _items = reviewing(officer, open_call)
    ExpertFactory.create_batch(5)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random")
    assert outcome.draw.seed is not None and outcome.draw.seed >= 0
    assert assign.replay_draw(outcome.draw)


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_a_seed_out_of_range_is_refused(officer, open_call, seed):
    rnd, _items = reviewing(officer, open_call)
    ExpertFactory.create_batch(5)
    with pytest.raises(InvalidInput, match="随机种子"):
        assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=seed)
    assert not Assignment.objects.exists() and not Draw.objects.exists()


def test_optimal_and_manual_draws_are_not_replayable(officer, open_call):
    rnd, _items = reviewing(officer, open_call)
    ExpertFactory.create_batch(5)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal")
    assert outcome.draw.seed is None
    assert assign.replay_draw(outcome.draw) is False


def test_different_seeds_give_different_draws_on_a_larger_pool(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    ExpertFactory.create_batch(30)
    el = assign.eligibility(rnd, items)
    draws = set()
    for seed in range(10):
        result, ids = assign.solve("random", el, items, seed)
        draws.add(tuple(picked(result, ids)[0]))
    assert len(draws) >= 8  # C(30, 3) = 4060 possible panels


# ---- hard constraints ---------------------------------------------------------------------------------------


def busy_elsewhere(officer, expert, *, invited_at, state=Assignment.State.ACCEPTED):
    """An assignment of ``expert`` in another call's round, invited at ``invited_at``."""
    call = CallFactory()
    app = accepted_application(call)
    other = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=other.pk)
    item = ReviewItem.objects.get(round=other, subject_id=app.pk)
    return Assignment.objects.create(round=other, item=item, expert=expert, state=state, invited_at=invited_at,
                                     respond_by=invited_at + datetime.timedelta(days=3),
                                     decline_reason="出差" if state == Assignment.State.DECLINED else "")


def draw_many(rnd, items, seeds=range(25)):
    el = assign.eligibility(rnd, items)
    out = set()
    for seed in seeds:
        result, ids = assign.solve("random", el, items, seed)
        for chosen in picked(result, ids).values():
            out.update(chosen)
    return out, el


def test_an_expert_at_the_annual_cap_is_never_drawn(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    full = ExpertFactory(annual_cap=1)
    busy_elsewhere(officer, full, invited_at=timezone.now() - datetime.timedelta(hours=1))
    ExpertFactory.create_batch(4)
    everyone, el = draw_many(rnd, items)
    assert full.pk not in everyone and len(everyone) == 4
    assert el.excluded[items[0].pk][full.pk] == ["本年度评审任务已达上限（1项）"]
    with pytest.raises(InvalidInput, match="已达上限"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=items[0].pk, expert_id=full.pk)


def test_last_years_and_declined_assignments_do_not_count_toward_the_cap(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    tz = timezone.get_current_timezone()
    last_year = datetime.datetime(timezone.localdate().year - 1, 12, 31, 23, 0, tzinfo=tz)
    old = ExpertFactory(annual_cap=1)
    busy_elsewhere(officer, old, invited_at=last_year)
    declined = ExpertFactory(annual_cap=1)
    busy_elsewhere(officer, declined, invited_at=timezone.now(), state=Assignment.State.DECLINED)
    ExpertFactory.create_batch(2)
    el = assign.eligibility(rnd, items)
    eligible = dict(el.candidates[items[0].pk])
    assert old.pk in eligible and declined.pk in eligible
    everyone, _el = draw_many(rnd, items)
    assert {old.pk, declined.pk} <= everyone


def test_unavailability_overlapping_the_review_excludes(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    today = timezone.localdate()
    deadline = timezone.localdate(rnd.review_deadline)
    away_now = ExpertFactory()
    Unavailability.objects.create(expert=away_now, start_date=today - datetime.timedelta(days=2), end_date=today)
    away_at_end = ExpertFactory()
    Unavailability.objects.create(expert=away_at_end, start_date=deadline, end_date=deadline + datetime.timedelta(5))
    before = ExpertFactory()
    Unavailability.objects.create(expert=before, start_date=today - datetime.timedelta(days=10),
                                  end_date=today - datetime.timedelta(days=1))
    after = ExpertFactory()
    Unavailability.objects.create(expert=after, start_date=deadline + datetime.timedelta(days=1),
                                  end_date=deadline + datetime.timedelta(days=30))
    ExpertFactory.create_batch(2)
    everyone, el = draw_many(rnd, items)
    assert away_now.pk not in everyone and away_at_end.pk not in everyone
    assert before.pk in everyone and after.pk in everyone
    assert el.excluded[items[0].pk][away_now.pk] == [f"{today - datetime.timedelta(days=2)} 至 {today} 不可参评"]
    with pytest.raises(InvalidInput, match="不可参评"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=items[0].pk, expert_id=away_at_end.pk)


@pytest.mark.parametrize("status", [Expert.Status.SUSPENDED, Expert.Status.PENDING, Expert.Status.RETIRED,
                                    Expert.Status.REJECTED])
def test_experts_not_in_the_pool_are_never_drawn(officer, open_call, status):
    rnd, items = reviewing(officer, open_call)
    out = ExpertFactory(status=status)
    ExpertFactory.create_batch(4)
    everyone, el = draw_many(rnd, items)
    assert out.pk not in everyone and out.pk not in el.experts
    assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal")
    assert out.pk not in drawn(items[0])
    with pytest.raises(InvalidInput, match="不能参加评审"):
        assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=items[0].pk, expert_id=out.pk)


def test_an_expert_of_another_discipline_is_never_drawn(officer, open_call):
    rnd, items = reviewing(officer, open_call)  # 520.20
    assert items[0].discipline_code == "520.20"
    economist = ExpertFactory(discipline_codes=["630"])
    neighbour = ExpertFactory(discipline_codes=["520.10"])  # same first-level discipline: eligible
    ExpertFactory.create_batch(3)
    everyone, el = draw_many(rnd, items)
    assert economist.pk not in everyone
    assert economist.pk not in dict(el.candidates[items[0].pk])
    assert neighbour.pk in everyone
    for method in ("random", "optimal"):
        rnd2, items2 = reviewing(officer, CallFactory())
        assign.run_draw(actor=officer, round_id=rnd2.pk, method=method, seed=1 if method == "random" else None)
        assert economist.pk not in drawn(items2[0])
    # an officer may still pick someone from another field by hand when nothing else stands in the way
    a = assign.assign_manually(actor=officer, round_id=rnd.pk, item_id=items[0].pk, expert_id=economist.pk)
    assert a.affinity == 0


@pytest.mark.parametrize("method", ["random", "optimal"])
def test_experts_per_item_met_and_nobody_twice_on_an_item(officer, open_call, method):
    rnd, items = reviewing(officer, open_call, n_items=4, per_item=5)
    ExpertFactory.create_batch(12)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=9)
    assert outcome.invited == 20 and outcome.needed == 20 and outcome.shortfall == {}
    for item in items:
        rows = list(Assignment.objects.filter(item=item).values_list("expert_id", flat=True))
        assert len(rows) == len(set(rows)) == 5
    # all slots filled: a second draw has nothing to do
    with pytest.raises(InvalidInput, match="均已配齐"):
        assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=10)


@pytest.mark.parametrize("method", ["random", "optimal"])
def test_shortfall_reported_and_a_later_draw_asks_only_new_experts(officer, open_call, method):
    rnd, items = reviewing(officer, open_call, n_items=2, per_item=3)
    first = ExpertFactory.create_batch(2)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=3)
    assert outcome.invited == 4
    assert outcome.shortfall == {items[0].pk: 1, items[1].pk: 1}
    assert outcome.draw.summary["shortfall"] == {str(items[0].pk): 1, str(items[1].pk): 1}
    # one of them declines: still nobody is asked twice for the same item
    a = Assignment.objects.filter(item=items[0]).first()
    Assignment.objects.filter(pk=a.pk).update(state=Assignment.State.DECLINED, decline_reason="出差")
    late = ExpertFactory.create_batch(3)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=4)
    assert outcome.shortfall == {}
    assert outcome.invited == 2 + 1
    for item in items:
        rows = list(Assignment.objects.filter(item=item).values_list("expert_id", flat=True))
        assert len(rows) == len(set(rows))
    assert a.expert_id not in set(Assignment.objects.filter(item=items[0], draw=outcome.draw)
                                  .values_list("expert_id", flat=True))
    assert {e.pk for e in late} >= set(Assignment.objects.filter(draw=outcome.draw).values_list("expert_id",
                                                                                                flat=True))
    assert len(first) == 2


def test_no_eligible_expert_at_all_is_a_shortfall_not_a_crash(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    ExpertFactory(discipline_codes=["630"])
    for method in ("random", "optimal"):
        outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method=method, seed=1)
        assert outcome.invited == 0 and outcome.shortfall == {items[0].pk: 3}
    assert not Assignment.objects.exists()


# ---- optimal versus greedy -------------------------------------------------------------------------------------


def test_optimal_beats_greedy_where_greedy_uses_up_the_only_experts_of_a_later_item(officer, open_call):
    """Item A is visited first; its best experts are the only ones item B may have (the others work for B's
    applicant). Greedy leaves B empty, the optimal assignment fills both."""
    b_org = OrganizationFactory(name="乙方科技有限公司")
    rnd, (a_item, b_item) = _two_items(officer, open_call, b_org)
    shared = [ExpertFactory(annual_cap=1, keywords="人工智能，工业质检") for _ in range(3)]
    others = [ExpertFactory(annual_cap=1, keywords="古籍修复", workplace=b_org.name) for _ in range(3)]
    el = assign.eligibility(rnd, [a_item, b_item])
    assert set(dict(el.candidates[b_item.pk])) == {e.pk for e in shared}
    optimal, ids = assign.solve("optimal", el, [a_item, b_item])
    greedy, gids = assign.solve("greedy", el, [a_item, b_item])
    assert picked(greedy, gids) == {0: sorted(e.pk for e in shared), 1: []}
    assert picked(optimal, ids) == {0: sorted(e.pk for e in others), 1: sorted(e.pk for e in shared)}
    assert optimal.assigned == 6 > greedy.assigned == 3
    assert optimal.total_affinity > greedy.total_affinity


def _two_items(officer, call, b_org):
    accepted_application(call, keywords="人工智能，工业质检")
    accepted_application(call, keywords="人工智能，工业质检", organization=b_org)
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    return rnd, list(ReviewItem.objects.filter(round=rnd).order_by("id"))


KEYWORDS = ["人工智能", "机器视觉", "工业质检", "大模型", "芯片", "新材料"]


@pytest.mark.parametrize("instance", range(6))
def test_optimal_never_worse_than_greedy_on_small_db_instances(officer, instance):
    rng = random.Random(instance)
    call = CallFactory()
    orgs = [OrganizationFactory() for _ in range(3)]
    for i in range(4):
        accepted_application(call, organization=orgs[i % 3], keywords="，".join(rng.sample(KEYWORDS, 2)),
                             discipline_code=rng.choice(["520.20", "520.10", "520"]))
    for _ in range(8):
        ExpertFactory(annual_cap=rng.randint(1, 2), keywords="，".join(rng.sample(KEYWORDS, rng.randint(1, 3))),
                      discipline_codes=[rng.choice(["520.20", "520.10", "520"])],
                      workplace=rng.choice([o.name for o in orgs] + ["某大学", "某研究院"]))
    rnd = rounds.create_round(actor=officer, call_id=call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    items = list(ReviewItem.objects.filter(round=rnd).order_by("id"))
    el = assign.eligibility(rnd, items)
    optimal, _ids = assign.solve("optimal", el, items)
    greedy, _gids = assign.solve("greedy", el, items)
    assert optimal.assigned >= greedy.assigned
    if optimal.assigned == greedy.assigned:
        assert optimal.score >= greedy.score
        if all(el.capacity[pk] == 1 for pk in el.experts):  # no load penalty: plain affinity
            assert optimal.total_affinity >= greedy.total_affinity - 1e-9


def test_optimal_draw_stores_alternates_and_affinity(officer, open_call):
    rnd, items = reviewing(officer, open_call, n_items=2)
    ExpertFactory.create_batch(10)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="optimal")
    assert outcome.invited == 6
    for item in items:
        alts = list(Alternate.objects.filter(item=item).order_by("rank"))
        assert [a.rank for a in alts] == [1, 2, 3]
        assert all(a.draw_id == outcome.draw.pk and a.used_at is None for a in alts)
        assert not {a.expert_id for a in alts} & drawn(item)
    assert all(a.affinity > 0 for a in Assignment.objects.all())
    assert outcome.draw.summary["total_affinity"] == pytest.approx(sum(Assignment.objects.values_list("affinity",
                                                                                                       flat=True)))


def test_random_draw_stores_alternates_too(officer, open_call):
    rnd, items = reviewing(officer, open_call)
    ExpertFactory.create_batch(5)
    outcome = assign.run_draw(actor=officer, round_id=rnd.pk, method="random", seed=77)
    alts = list(Alternate.objects.filter(item=items[0]).order_by("rank"))
    assert len(alts) == 2 and all(a.draw_id == outcome.draw.pk for a in alts)
    assert not {a.expert_id for a in alts} & drawn(items[0])


def test_the_bulk_matcher_gives_the_same_affinity_as_affinity():
    """eligibility's precomputed matcher and the one-pair ``affinity`` (used by manual assignment) agree."""
    from experts.models import Expert
    from experts.services.assign import _Matcher, affinity

    class Item:
        def __init__(self, code, keywords):
            self.discipline_code, self.keywords = code, keywords

    experts = {
        1: Expert(pk=1, discipline_codes=["520.20"], keywords="人工智能，机器视觉"),
        2: Expert(pk=2, discipline_codes=["520", "630.10"], keywords="管理"),
        3: Expert(pk=3, discipline_codes=[" 52020 ", ""], keywords=""),
        4: Expert(pk=4, discipline_codes=["350.70"], keywords="疫苗；mRNA"),
    }
    matcher = _Matcher(experts)
    items = [Item("520.20", "人工智能，缺陷检测"), Item("520", "机器视觉"), Item("", "疫苗"), Item(" 350.70 ", "mRNA"),
             Item("630.1", "")]
    for item in items:
        parsed = matcher.item(item)
        for pk, expert in experts.items():
            assert matcher.affinity(parsed, pk) == affinity(item, expert), (item.discipline_code, pk)

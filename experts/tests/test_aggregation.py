"""Aggregation with exact decimals (pure), and the ranking of a round built from submitted reviews."""

from decimal import Decimal

import pytest
from django.utils import timezone

from experts import aggregation
from experts.aggregation import mean, median, score_item, std_dev, trimmed_mean
from experts.models import Assignment, Review, ReviewItem, ReviewRound
from experts.selectors import ranking
from experts.services import funding, rounds

from .factories import ExpertFactory, accepted_application


def D(*values):
    return [Decimal(str(v)) for v in values]


# ---- the three methods -------------------------------------------------------------------------------------------


def test_mean_is_exact():
    assert mean(D(80, 85, 90)) == Decimal("85")
    assert mean(D("0.1", "0.1", "0.1")) == Decimal("0.1")  # a float would give 0.10000000000000002
    assert aggregation.q2(mean(D("81.5", "77.0", "90.3"))) == Decimal("82.93")  # 248.8 / 3


def test_results_round_half_up_to_two_decimals():
    # 80.025 exactly: half up gives 80.03 (banker's rounding would give 80.02)
    assert mean(D("80.0", "80.0", "80.0", "80.1")) == Decimal("80.025")
    result = score_item("mean", dict(enumerate(D("80.0", "80.0", "80.0", "80.1"))),
                        dispersion_threshold=Decimal(10), deviation_threshold=Decimal(20))
    assert result.score == Decimal("80.03")


def test_trimmed_mean_drops_highest_and_lowest_from_five_scores():
    assert trimmed_mean(D(60, 70, 80, 90, 100)) == Decimal("80")
    assert trimmed_mean(D("95.5", "62.0", "80.0", "81.0", "79.0")) == Decimal("80")  # drops 95.5 and 62.0
    assert trimmed_mean(D(70, 70, 80, 90, 90)) == Decimal("80")  # only one of each tied extreme
    assert trimmed_mean(D(50, 60, 70, 80, 90, 100)) == Decimal("75")  # 6 scores: 60..90


def test_trimmed_mean_of_four_scores_is_the_mean():
    scores = D(60, 70, 80, 95)
    assert trimmed_mean(scores) == mean(scores) == Decimal("76.25")
    assert trimmed_mean(D(40, 90, 91)) == Decimal("221") / 3


def test_median_odd_and_even():
    assert median(D(90, 60, 75)) == Decimal("75")
    assert median(D(60, 95, 70, 80)) == Decimal("75")
    assert median(D("60.5", "70.0")) == Decimal("65.25")
    assert median(D("88.8")) == Decimal("88.8")


@pytest.mark.parametrize("fn", [mean, median, trimmed_mean])
def test_no_scores_is_an_error_not_a_zero(fn):
    with pytest.raises(ValueError):
        fn([])


def test_std_dev_is_exact_for_a_known_set():
    assert std_dev(D(2, 4, 4, 4, 5, 5, 7, 9)) == Decimal("2")  # population standard deviation
    assert std_dev(D(80, 90)) == Decimal("5")
    assert std_dev(D(85)) == Decimal("0") and std_dev([]) == Decimal("0")
    assert aggregation.q2(std_dev(D(70, 80, 90))) == Decimal("8.16")  # sqrt(200/3)


def flags(totals, method="mean", dispersion="10", deviation="20"):
    return score_item(method, {i: Decimal(str(t)) for i, t in totals.items()},
                      dispersion_threshold=Decimal(dispersion), deviation_threshold=Decimal(deviation))


def test_dispersion_flagged_above_the_threshold_only():
    wide = flags({1: 50, 2: 90})
    assert wide.std_dev == Decimal("20.00") and wide.dispersed
    narrow = flags({1: 80, 2: 90})
    assert narrow.std_dev == Decimal("5.00") and not narrow.dispersed
    assert not flags({1: 80, 2: 100}).dispersed  # exactly 10: not above
    assert flags({1: 80, 2: 100}, dispersion="9.99").dispersed


def test_deviation_flags_the_outlier_with_the_others_mean():
    result = flags({1: 90, 2: 88, 3: 86, 4: 40})
    assert result.deviations == {4: (Decimal("40"), Decimal("88.00"), Decimal("48.00"))}
    # the others are within 20 of their colleagues' mean (expert 1: 90 vs 71.33)
    assert flags({1: 90, 2: 88, 3: 86, 4: 40}, deviation="18").deviations.keys() == {1, 4}
    odd = flags({1: "81.5", 2: "80.0", 3: "50.0"}, deviation="30")
    assert odd.deviations == {3: (Decimal("50.0"), Decimal("80.75"), Decimal("30.75"))}
    assert flags({1: 80, 2: 85, 3: 90}).deviations == {}


def test_score_item_uses_the_chosen_method():
    totals = {1: 60, 2: 70, 3: 80, 4: 90, 5: 99}
    assert flags(totals, "mean").score == Decimal("79.80")
    assert flags(totals, "trimmed_mean").score == Decimal("80.00")
    assert flags(totals, "median").score == Decimal("80.00")
    empty = flags({})
    assert empty.score is None and empty.count == 0 and not empty.dispersed


# ---- ranking through the selector ------------------------------------------------------------------------------


@pytest.fixture
def ranked(db, officer, open_call):
    """A reviewing round with five items and five experts; ``give(item, totals)`` records submitted reviews."""
    for _ in range(5):
        accepted_application(open_call)
    experts = ExpertFactory.create_batch(5)
    rnd = rounds.create_round(actor=officer, call_id=open_call.pk, data={"experts_per_item": 3})
    rounds.add_items(actor=officer, round_id=rnd.pk)
    rounds.start_round(actor=officer, round_id=rnd.pk)
    items = list(ReviewItem.objects.filter(round=rnd).order_by("id"))
    now = timezone.now()

    def give(item, totals, recommendation="fund"):
        for expert, total in zip(experts, totals, strict=False):
            a = Assignment.objects.create(round=rnd, item=item, expert=expert, state=Assignment.State.SUBMITTED,
                                          invited_at=now, respond_by=now, submitted_at=now)
            Review.objects.create(assignment=a, total=Decimal(str(total)), recommendation=recommendation)

    return rnd, items, give


def test_ranking_orders_by_score_with_ties_by_lower_std_dev_then_id(ranked):
    rnd, items, give = ranked
    give(items[0], [70, 80, 90])  # 80, sd 8.16
    give(items[1], [80, 80, 80])  # 80, sd 0
    give(items[2], [85, 90, 95])  # 90
    give(items[3], [70, 80, 90])  # 80, sd 8.16, later id than items[0]
    give(items[4], [60, 60, 60])
    rows = ranking(rnd)
    assert [r.item.pk for r in rows] == [items[2].pk, items[1].pk, items[0].pk, items[3].pk, items[4].pk]
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]
    assert [r.result.score for r in rows] == [Decimal("90.00"), Decimal("80.00"), Decimal("80.00"),
                                              Decimal("80.00"), Decimal("60.00")]
    assert rows[0].recommendations == {"fund": 3}


def test_ranking_uses_the_rounds_method(ranked):
    rnd, items, give = ranked
    give(items[0], [60, 70, 80, 90, 99])
    ReviewRound.objects.filter(pk=rnd.pk).update(aggregation="mean")
    assert ranking(ReviewRound.objects.get(pk=rnd.pk))[0].result.score == Decimal("79.80")
    ReviewRound.objects.filter(pk=rnd.pk).update(aggregation="trimmed_mean")
    assert ranking(ReviewRound.objects.get(pk=rnd.pk))[0].result.score == Decimal("80.00")


def test_cumulative_request_against_the_call_budget(ranked, open_call):
    rnd, items, give = ranked
    open_call.total_budget = Decimal("800000.00")
    open_call.save(update_fields=["total_budget"])
    ReviewItem.objects.filter(pk=items[0].pk).update(requested_amount=Decimal("300000.00"))
    ReviewItem.objects.filter(pk=items[1].pk).update(requested_amount=Decimal("450000.50"))
    ReviewItem.objects.filter(pk=items[2].pk).update(requested_amount=Decimal("100000.00"))
    give(items[0], [90, 90, 90])
    give(items[1], [85, 85, 85])
    give(items[2], [80, 80, 80])
    rows = ranking(ReviewRound.objects.select_related("call").get(pk=rnd.pk))
    assert [r.cumulative for r in rows[:3]] == [Decimal("300000.00"), Decimal("750000.50"), Decimal("850000.50")]
    assert [r.within_budget for r in rows[:3]] == [True, True, False]
    # items without reviews: unranked, last, not within the budget
    assert [r.rank for r in rows[3:]] == [None, None] and not any(r.within_budget for r in rows[3:])


def test_deviation_shown_with_the_experts_name(ranked):
    rnd, items, give = ranked
    give(items[0], [90, 88, 86, 40])
    [row] = [r for r in ranking(rnd) if r.item == items[0]]
    outlier = Assignment.objects.get(item=items[0], review__total=40).expert
    assert row.deviations == [(outlier.name, Decimal("40"), Decimal("88.00"), Decimal("48.00"))]


def test_fewer_than_three_reviews_is_insufficient_and_kept_off_the_funding_list(ranked, officer):
    rnd, items, give = ranked
    give(items[0], [95, 96])  # the best score, but only two reviews
    give(items[1], [80, 80, 80])
    give(items[2], [70, 70, 70])
    rows = ranking(rnd)
    by_item = {r.item.pk: r for r in rows}
    assert by_item[items[0].pk].insufficient and by_item[items[0].pk].result.count == 2
    assert not by_item[items[1].pk].insufficient
    # the insufficient item does not use up budget ahead of the others, nor take a rank on the list
    assert by_item[items[1].pk].cumulative == by_item[items[1].pk].requested
    ReviewRound.objects.filter(pk=rnd.pk).update(state=ReviewRound.State.CLOSED)
    fl = funding.build_funding_list(actor=officer, round_id=rnd.pk)
    entries = list(fl.entries.order_by("rank"))
    assert [e.item_id for e in entries] == [items[1].pk, items[2].pk]
    assert [e.rank for e in entries] == [1, 2]

"""Turning the experts' totals into one score per item, and the flags an officer should look at.

Exact decimal arithmetic throughout; results are rounded half up to two decimals for display and ranking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

TWO = Decimal("0.01")
#: the trimmed mean drops the highest and the lowest score only from this many scores up
TRIM_FROM = 5


def q2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(TWO, rounding=ROUND_HALF_UP)


def mean(scores: list[Decimal]) -> Decimal:
    if not scores:
        raise ValueError("no scores")
    return sum(scores, Decimal(0)) / len(scores)


def trimmed_mean(scores: list[Decimal]) -> Decimal:
    """Drop one highest and one lowest score when there are at least five, then average."""
    ordered = sorted(scores)
    if len(ordered) >= TRIM_FROM:
        ordered = ordered[1:-1]
    return mean(ordered)


def median(scores: list[Decimal]) -> Decimal:
    if not scores:
        raise ValueError("no scores")
    ordered = sorted(scores)
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


METHODS = {"mean": mean, "trimmed_mean": trimmed_mean, "median": median}


def aggregate(method: str, scores: list[Decimal]) -> Decimal:
    return METHODS[method](scores)


def std_dev(scores: list[Decimal]) -> Decimal:
    """Population standard deviation (how far apart the experts are), 0 for fewer than two scores."""
    if len(scores) < 2:
        return Decimal(0)
    m = mean(scores)
    return (sum(((s - m) ** 2 for s in scores), Decimal(0)) / len(scores)).sqrt()


@dataclass
class ItemScore:
    score: Decimal | None
    count: int
    std_dev: Decimal
    dispersed: bool
    #: expert id → (their total, the others' mean, deviation) for experts beyond the threshold
    deviations: dict[int, tuple[Decimal, Decimal, Decimal]] = field(default_factory=dict)


def score_item(
    method: str,
    totals: dict[int, Decimal],
    *,
    dispersion_threshold: Decimal,
    deviation_threshold: Decimal,
) -> ItemScore:
    """``totals`` maps an expert id to the total that expert submitted."""
    values = list(totals.values())
    if not values:
        return ItemScore(None, 0, Decimal(0), False)
    sd = std_dev(values)
    deviations = {}
    if len(values) >= 2:
        whole = sum(values, Decimal(0))
        for expert_id, total in totals.items():
            others = (whole - total) / (len(values) - 1)
            gap = abs(total - others)
            if gap > deviation_threshold:
                deviations[expert_id] = (total, q2(others), q2(gap))
    return ItemScore(
        score=q2(aggregate(method, values)),
        count=len(values),
        std_dev=q2(sd),
        dispersed=sd > dispersion_threshold,
        deviations=deviations,
    )

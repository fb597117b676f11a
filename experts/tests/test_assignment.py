"""The assignment engine on plain data: no database."""

import itertools
import random
from collections import Counter

import numpy as np
import pytest

from experts import assignment
from experts.assignment import (
    AFFINITY_SCALE,
    AssignmentProblem,
    greedy_assignment,
    optimal_assignment,
    random_draw,
)

METHODS = {
    "optimal": optimal_assignment,
    "greedy": greedy_assignment,
    "random": lambda problem, **kw: random_draw(problem, seed=7, **kw),
}


def random_instance(rng, n_items, n_experts, *, max_candidates, max_need=3, max_cap=3, integer=True):
    """Candidate lists with distinct experts, integer (exact) or fractional affinities, small caps."""
    candidates = []
    for _ in range(n_items):
        experts = rng.sample(range(n_experts), rng.randint(0, min(max_candidates, n_experts)))
        candidates.append([(e, rng.randint(0, 9) if integer else round(rng.random(), 3)) for e in experts])
    capacities = [rng.randint(0, max_cap) for _ in range(n_experts)]
    need = [rng.randint(1, max_need) for _ in range(n_items)]
    return candidates, capacities, need


def assert_valid(candidates, capacities, need, result):
    """The hard constraints every method must keep, and a consistent report."""
    assert sorted(result.assignments) == list(range(len(candidates)))
    load = Counter()
    for i, cands in enumerate(candidates):
        allowed = {e for e, _ in cands}
        chosen = result.assignments[i]
        assert len(chosen) == len(set(chosen)), "an expert twice on one item"
        assert set(chosen) <= allowed, "a pair that is not a candidate"
        assert len(chosen) + result.shortfall.get(i, 0) == need[i]
        assert result.shortfall.get(i, 1) > 0
        load.update(chosen)
        alt = result.alternates[i]
        assert len(alt) == len(set(alt)) and set(alt) <= allowed - set(chosen)
    for e, cap in enumerate(capacities):
        assert load[e] == result.load[e] <= cap, "a cap exceeded"
        if any(e in result.alternates[i] for i in result.alternates):
            assert load[e] < cap, "an alternate who has no capacity left"
    assert result.assigned == sum(load.values())
    assert result.needed == sum(need)


@pytest.mark.parametrize("method", METHODS)
def test_constraints_kept_on_random_instances(method):
    rng = random.Random(2026)
    for _ in range(150):
        candidates, capacities, need = random_instance(rng, 8, 6, max_candidates=5, integer=False)
        problem = AssignmentProblem(candidates, capacities, need)
        assert_valid(candidates, capacities, need, METHODS[method](problem))


@pytest.mark.parametrize("method", METHODS)
def test_shortfall_reported_per_item_when_capacity_is_short(method):
    # three items need 2 each; expert 0 and 1 can take one review each; item 2 has no candidate at all
    candidates = [[(0, 1.0), (1, 0.5)], [(0, 0.2), (1, 0.9)], []]
    problem = AssignmentProblem(candidates, [1, 1], need=2)
    result = METHODS[method](problem)
    assert result.assigned == 2
    assert not result.complete
    assert result.shortfall[2] == 2
    assert sum(result.shortfall.values()) == 4
    assert_valid(candidates, [1, 1], [2, 2, 2], result)


def test_complete_when_capacity_suffices():
    candidates = [[(0, 1.0), (1, 0.5), (2, 0.1)], [(0, 0.2), (1, 0.9), (2, 0.3)]]
    result = optimal_assignment(AssignmentProblem(candidates, [2, 2, 2], need=3))
    assert result.complete and result.shortfall == {}
    assert result.status == "OPTIMAL"
    assert result.assignments == {0: [0, 1, 2], 1: [1, 2, 0]}  # best affinity first


def test_optimal_beats_greedy_where_greedy_blocks_a_later_item():
    # greedy gives item 0 its best expert 0, the only candidate of item 1
    problem = AssignmentProblem([[(0, 10), (1, 9)], [(0, 10)]], [1, 1], need=1, load_penalty=0)
    greedy, optimal = greedy_assignment(problem), optimal_assignment(problem)
    assert greedy.assignments == {0: [0], 1: []} and greedy.shortfall == {1: 1}
    assert optimal.assignments == {0: [1], 1: [0]} and optimal.complete
    assert optimal.total_affinity == 19 > greedy.total_affinity


@pytest.mark.parametrize("load_penalty", [0, 0.5])
def test_optimal_never_worse_than_greedy(load_penalty):
    """More slots filled, or as many with at least the same affinity minus load penalty.

    With no penalty and both complete, that is: at least the same total affinity.
    """
    rng = random.Random(load_penalty * 10 + 1)
    strictly_better = 0
    for _ in range(300):
        candidates, capacities, need = random_instance(rng, 6, 6, max_candidates=4)
        problem = AssignmentProblem(candidates, capacities, need, load_penalty=load_penalty)
        optimal, greedy = optimal_assignment(problem), greedy_assignment(problem)
        assert optimal.assigned >= greedy.assigned
        if optimal.assigned == greedy.assigned:
            assert optimal.score >= greedy.score
            if load_penalty == 0:
                assert optimal.total_affinity >= greedy.total_affinity
        strictly_better += (optimal.assigned, optimal.score) > (greedy.assigned, greedy.score)
    assert strictly_better > 10  # the instances are hard enough for the comparison to mean something


def brute_force(candidates, capacities, need, problem):
    """Best (slots filled, scaled affinity - load penalty) over every feasible assignment."""
    per_item = []
    for cands, k in zip(candidates, need, strict=True):
        per_item.append(
            [combo for size in range(min(k, len(cands)) + 1) for combo in itertools.combinations(cands, size)]
        )
    best = None
    for choice in itertools.product(*per_item):
        load = np.zeros(len(capacities), dtype=np.int64)
        for combo in choice:
            for e, _ in combo:
                load[e] += 1
        if (load > np.array(capacities)).any():
            continue
        affinity = sum(a for combo in choice for _, a in combo)
        value = (int(load.sum()), affinity * AFFINITY_SCALE - problem.load_penalty_scaled(load))
        best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("window", [1, None])
@pytest.mark.parametrize("load_penalty", [0, 1, 3])
def test_optimal_equals_brute_force_on_tiny_instances(load_penalty, window):
    """Both ways: starting from each item's single best candidate (pricing in the rest), and all at once."""
    rng = random.Random(99 + load_penalty)
    for _ in range(40):
        candidates, capacities, need = random_instance(rng, 3, 4, max_candidates=4, max_need=2, max_cap=2)
        problem = AssignmentProblem(candidates, capacities, need, load_penalty=load_penalty)
        result = optimal_assignment(problem, window=window)
        assert (result.assigned, result.score) == brute_force(candidates, capacities, need, problem)
        assert_valid(candidates, capacities, need, result)


@pytest.mark.parametrize("load_penalty", [0, 0.05, 0.3])
def test_column_generation_reaches_the_whole_graph_optimum(load_penalty):
    """A small window needs several pricing rounds and must still land on the optimum of the whole graph."""
    rng = random.Random(31)
    several_rounds = 0
    for _ in range(25):
        candidates, capacities, need = random_instance(rng, 40, 25, max_candidates=15, max_cap=6, integer=False)
        problem = AssignmentProblem(candidates, capacities, need, load_penalty=load_penalty)
        priced = optimal_assignment(problem, window=2)
        whole = optimal_assignment(problem, window=None)
        assert (priced.assigned, priced.score) == (whole.assigned, whole.score)
        assert whole.solver["rounds"] == 1 and whole.solver["pairs_used"] == problem.n_pairs
        several_rounds += priced.solver["rounds"] > 1
        assert_valid(candidates, capacities, need, priced)
    assert several_rounds > 5


def test_pricing_falls_back_to_the_whole_graph(monkeypatch):
    rng = random.Random(8)
    candidates, capacities, need = random_instance(rng, 40, 25, max_candidates=15, max_cap=6, integer=False)
    problem = AssignmentProblem(candidates, capacities, need)
    expected = optimal_assignment(problem, window=None)
    monkeypatch.setattr(assignment, "POTENTIAL_ROUNDS", 0)  # potentials never converge: solve everything
    fallback = optimal_assignment(problem, window=1)
    assert fallback.solver["rounds"] == 2 and fallback.solver["pairs_used"] == problem.n_pairs
    assert (fallback.assigned, fallback.score) == (expected.assigned, expected.score)


def test_load_penalty_spreads_load_when_affinities_tie():
    # 8 items need 1; 4 experts, all equally good, each could take all 8
    candidates = [[(e, 0.7) for e in range(4)] for _ in range(8)]
    spread = optimal_assignment(AssignmentProblem(candidates, [8] * 4, need=1))
    assert spread.load == [2, 2, 2, 2]
    assert spread.load_spread() == (2, 2, 0.0)


def test_load_penalty_trades_off_against_affinity():
    # expert 0 is a little better on every item; without a penalty they take all four
    candidates = [[(0, 1.0), (1, 0.9)] for _ in range(4)]
    assert optimal_assignment(AssignmentProblem(candidates, [4, 4], need=1, load_penalty=0)).load == [4, 0]
    # with 0.2 per extra review: 1.0, 0.8 | 0.9, 0.7 -> two each is worth more than a third for expert 0
    assert optimal_assignment(AssignmentProblem(candidates, [4, 4], need=1, load_penalty=0.2)).load == [2, 2]


def test_prior_load_counts_in_the_penalty():
    # expert 0 already has 3 reviews this year: the next ones cost more, so expert 1 takes both
    candidates = [[(0, 0.5), (1, 0.5)], [(0, 0.5), (1, 0.5)]]
    result = optimal_assignment(AssignmentProblem(candidates, [5, 5], need=1, prior_load=[3, 0]))
    assert result.load == [0, 2]


def test_alternates_are_the_next_best_with_capacity_left():
    candidates = [[(0, 0.9), (1, 0.8), (2, 0.7), (3, 0.6), (4, 0.95)]]
    # expert 4 is the best but has no capacity; the item needs 1
    result = optimal_assignment(AssignmentProblem(candidates, [1, 1, 1, 1, 0], need=1), alternates=2)
    assert result.assignments[0] == [0]
    assert result.alternates[0] == [1, 2]
    none = optimal_assignment(AssignmentProblem(candidates, [1, 1, 1, 1, 0], need=1), alternates=0)
    assert none.alternates == {0: []}


def test_alternates_skip_experts_who_are_full():
    # expert 0 is used up by item 0, so it cannot be an alternate of item 1
    candidates = [[(0, 1.0)], [(0, 0.9), (1, 0.8), (2, 0.1)]]
    result = optimal_assignment(AssignmentProblem(candidates, [1, 1, 1], need=1, load_penalty=0))
    assert result.assignments == {0: [0], 1: [1]}
    assert result.alternates[1] == [2]


@pytest.mark.parametrize("method", ["optimal", "greedy"])
def test_deterministic_and_independent_of_candidate_order(method):
    rng = random.Random(5)
    candidates, capacities, need = random_instance(rng, 40, 15, max_candidates=8, integer=False)
    first = METHODS[method](AssignmentProblem(candidates, capacities, need))
    again = METHODS[method](AssignmentProblem(candidates, capacities, need))
    shuffled = [rng.sample(c, len(c)) for c in candidates]
    other_order = METHODS[method](AssignmentProblem(shuffled, capacities, need))
    assert first == again == other_order


def test_random_draw_reproducible_from_its_seed():
    rng = random.Random(11)
    candidates, capacities, need = random_instance(rng, 30, 20, max_candidates=12, integer=False)
    draw = random_draw(AssignmentProblem(candidates, capacities, need), seed=123456789)
    assert draw.seed == 123456789 and draw.status == "DRAWN"
    # same seed, same input (even with candidates listed in another order): the same draw, alternates included
    shuffled = [rng.sample(c, len(c)) for c in candidates]
    assert random_draw(AssignmentProblem(shuffled, capacities, need), seed=123456789) == draw
    problem = AssignmentProblem(candidates, capacities, need)
    draws = {tuple(tuple(v) for v in random_draw(problem, seed=s).assignments.values()) for s in range(5)}
    assert len(draws) == 5  # another seed, another draw


def test_random_draw_leaves_the_global_generator_alone():
    random.seed(42)
    state = random.getstate()
    random_draw(AssignmentProblem([[(0, 1), (1, 1), (2, 1)]], [1, 1, 1], need=2), seed=3)
    assert random.getstate() == state


def test_random_draw_is_uniform_and_ignores_affinity():
    # one item, need 1, five candidates with very different affinities: each drawn about a fifth of the time
    problem = AssignmentProblem([[(0, 0.0), (1, 0.1), (2, 0.5), (3, 0.9), (4, 1.0)]], [1] * 5, need=1)
    counts = Counter(random_draw(problem, seed=s, alternates=0).assignments[0][0] for s in range(2000))
    assert sorted(counts) == [0, 1, 2, 3, 4]
    assert all(330 < c < 470 for c in counts.values()), counts


def test_random_draw_respects_caps():
    candidates = [[(0, 1), (1, 1)] for _ in range(4)]
    draw = random_draw(AssignmentProblem(candidates, [2, 1], need=1), seed=0)
    assert draw.load[0] <= 2 and draw.load[1] <= 1 and draw.assigned == 3 and sum(draw.shortfall.values()) == 1


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None])
def test_random_draw_needs_a_non_negative_integer_seed(seed):
    with pytest.raises(ValueError):
        random_draw(AssignmentProblem([[(0, 1)]], [1], need=1), seed=seed)


@pytest.mark.parametrize(
    "candidates, capacities, need, message",
    [
        ([[(0, 1), (0, 2)]], [1], 1, "twice"),
        ([[(2, 1)]], [1, 1], 1, "out of range"),
        ([[(0, -0.1)]], [1], 1, "affinities"),
        ([[(0, float("nan"))]], [1], 1, "affinities"),
        ([[(0, 1)]], [-1], 1, "capacities"),
        ([[(0, 1)]], [1], 0, "at least 1"),
        ([[(0, 1)], []], [1], [1], "one per item"),
    ],
)
def test_malformed_input_refused(candidates, capacities, need, message):
    with pytest.raises(ValueError, match=message):
        AssignmentProblem(candidates, capacities, need)


def test_empty_problem():
    result = optimal_assignment(AssignmentProblem([], [], need=3))
    assert result.assignments == {} and result.complete and result.assigned == 0
    result = optimal_assignment(AssignmentProblem([[]], [2], need=2))
    assert result.shortfall == {0: 2}

"""Who reviews what: the assignment engine behind expert review rounds.

Pure Python (with numpy and OR-Tools), no database and no Django: the experts services gather the
eligible pairs from the database, call one of the three functions below, and store what they return.

Inputs are plain data, by position:

* ``candidates[i]`` lists the experts who may review item ``i`` (an application, a 揭榜 bid, a
  checkpoint...) as ``(expert_index, affinity)`` pairs. Eligibility is the caller's business: an expert
  with a conflict of interest (回避), in another discipline, suspended or unavailable is simply not in the
  list. The affinity is a non-negative number, higher for a better match (e.g. discipline and keyword
  overlap in ``[0, 1]``); an affinity of 0 still means "eligible".
* ``capacities[e]`` is how many more reviews expert ``e`` may take (the annual cap minus what is
  already assigned), ``prior_load[e]`` how many the expert already has (only used to balance load).
* ``need`` is how many reviewers each item needs (one number for all, or one per item; at least 1).

Hard constraints, in all three methods: only candidate pairs are used, no expert twice on the same item,
no expert above capacity. When the eligible capacity cannot give every item its ``need``, as many
reviewers as possible are assigned and the shortfall is reported per item, never silently dropped.

The three methods:

* :func:`optimal_assignment` — a min-cost flow (OR-Tools) that first covers as many (item, reviewer)
  slots as the constraints allow, and among those maximises total affinity minus a convex load penalty:
  the j-th review of the same expert costs ``load_penalty * (prior_load + j - 1)``, so each extra review
  costs more than the last and load spreads over the pool unless the affinity gain is worth it. It is
  exact (checked against brute force in the tests) and solves a 10,000-item round with millions of
  candidate pairs in seconds by pricing pairs in only when they can improve the flow.
* :func:`greedy_assignment` — the baseline: items in order, each takes its best remaining candidates.
* :func:`random_draw` — 随机抽取: for each item in order, a uniform random choice among the eligible
  candidates that still have capacity, from ``random.Random(seed)``; the same seed and the same input
  reproduce the same draw exactly.

Each returns an :class:`AssignmentResult` including, for every item, a few ALTERNATES (备选专家): eligible
experts not assigned to it who still have capacity, to replace a reviewer who declines or does not answer.
Alternates are shared between items, so the caller re-checks capacity when it uses one.

Costs are integers: affinities and the load penalty are multiplied by :data:`AFFINITY_SCALE` and
rounded half to even (so 0.001 is the resolution). ``score`` in the result is in these scaled units and
is what the optimal method maximises; it is comparable between the three methods on the same problem.
"""

from __future__ import annotations

import math
import operator
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

__all__ = [
    "AFFINITY_SCALE",
    "AssignmentError",
    "AssignmentProblem",
    "AssignmentResult",
    "greedy_assignment",
    "optimal_assignment",
    "random_draw",
]

#: Affinities and the load penalty are multiplied by this and rounded to integers for the solver.
AFFINITY_SCALE = 1_000
#: Largest affinity (and load penalty) accepted, so that costs stay far from int64 overflow in the solver.
MAX_AFFINITY = 1_000_000.0
DEFAULT_NEED = 3
DEFAULT_LOAD_PENALTY = 0.05
DEFAULT_ALTERNATES = 3
#: Candidates per item the optimal method starts from before pricing in the others (column generation).
CANDIDATE_WINDOW = 20
#: Bellman-Ford rounds allowed when pricing; past that the whole graph is solved at once.
POTENTIAL_ROUNDS = 500


class AssignmentError(RuntimeError):
    """The solver did not reach an optimal solution (a bug or a malformed graph, never a capacity shortage)."""


class AssignmentProblem:
    """The validated, normalised input, stored as compact arrays (one row per candidate pair).

    Candidate pairs are sorted by item, then scaled affinity (best first), then expert index, so the order
    inside ``candidates[i]`` does not change any result. The order of items and of experts does (it is how the caller names them, and the
    order in which greedy and random draw visit items): pass them in a stable order, e.g. by primary key.
    Raises ``ValueError`` on malformed input (unknown expert, duplicate pair, negative or non-finite
    affinity, need below 1, negative capacity).
    """

    def __init__(
        self,
        candidates: Sequence[Sequence[tuple[int, float]]],
        capacities: Sequence[int],
        need: int | Sequence[int] = DEFAULT_NEED,
        *,
        prior_load: Sequence[int] | None = None,
        load_penalty: float = DEFAULT_LOAD_PENALTY,
    ) -> None:
        n = len(candidates)
        m = len(capacities)
        self.n_items = n
        self.n_experts = m

        self.capacity = np.array([operator.index(c) for c in capacities], dtype=np.int64)
        if (self.capacity < 0).any():
            raise ValueError("capacities must be >= 0")
        if prior_load is None:
            self.prior_load = np.zeros(m, dtype=np.int64)
        else:
            if len(prior_load) != m:
                raise ValueError("prior_load must have one entry per expert")
            self.prior_load = np.array([operator.index(x) for x in prior_load], dtype=np.int64)
            if (self.prior_load < 0).any():
                raise ValueError("prior_load must be >= 0")

        if np.ndim(need):
            if len(need) != n:
                raise ValueError("need must be one number or one per item")
            self.need = np.array([operator.index(k) for k in need], dtype=np.int64)
        else:
            self.need = np.full(n, operator.index(need), dtype=np.int64)
        if (self.need < 1).any():
            raise ValueError("each item needs at least 1 reviewer")

        if not (math.isfinite(load_penalty) and 0 <= load_penalty <= MAX_AFFINITY):
            raise ValueError(f"load_penalty must be a number between 0 and {MAX_AFFINITY:g}")
        self.load_penalty = float(load_penalty)
        self.penalty_scaled = round(load_penalty * AFFINITY_SCALE)

        counts = np.fromiter((len(c) for c in candidates), dtype=np.int64, count=n)
        total = int(counts.sum())
        item = np.repeat(np.arange(n, dtype=np.int64), counts)
        expert = np.fromiter((operator.index(e) for c in candidates for e, _ in c), dtype=np.int64, count=total)
        affinity = np.fromiter((a for c in candidates for _, a in c), dtype=np.float64, count=total)
        if total:
            if expert.min() < 0 or expert.max() >= m:
                raise ValueError("candidate expert index out of range")
            if not np.isfinite(affinity).all() or affinity.min() < 0 or affinity.max() > MAX_AFFINITY:
                raise ValueError(f"affinities must be finite numbers between 0 and {MAX_AFFINITY:g}")
        if total:
            pair_keys = np.sort(item * m + expert)
            if (pair_keys[1:] == pair_keys[:-1]).any():
                raise ValueError("an expert appears twice among the candidates of the same item")
        scaled = np.rint(affinity * AFFINITY_SCALE).astype(np.int64)
        # canonical order: by item, then best (scaled) affinity first, then expert index
        order = np.lexsort((expert, -scaled, item))
        self.item = item[order]
        self.expert = expert[order]
        self.affinity = affinity[order]
        self.affinity_scaled = scaled[order]
        #: candidate pairs of item i are rows ptr[i]:ptr[i + 1], best affinity first
        self.ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    @property
    def n_pairs(self) -> int:
        return int(self.expert.size)

    def load_penalty_scaled(self, load: np.ndarray) -> int:
        """Total scaled load penalty of ``load`` new reviews per expert (sum of the increasing marginal costs)."""
        load = load.astype(np.int64)
        per_expert = load * self.prior_load + load * (load - 1) // 2
        return int(self.penalty_scaled * per_expert.sum())


@dataclass(frozen=True)
class AssignmentResult:
    """What an assignment method decided. Items and experts are the caller's indices.

    ``assignments[i]``: the experts assigned to item ``i`` (every item is a key), best affinity first for the
    optimal and greedy methods, in draw order for the random draw. ``shortfall[i]``: how many reviewers item
    ``i`` still lacks (only items that lack some). ``alternates[i]``: replacement candidates, best first (in
    draw order for the random draw). ``load[e]``: reviews given to expert ``e`` by this run. ``score``:
    scaled total affinity minus the scaled load penalty. ``status``: the solver status (``OPTIMAL``), or
    ``HEURISTIC`` for greedy, ``DRAWN`` for the random draw. ``timings`` (seconds) and ``solver`` (column
    generation rounds and pairs used) are for benchmarks and logs; they do not take part in ``==``.
    """

    method: str
    status: str
    assignments: dict[int, list[int]]
    shortfall: dict[int, int]
    alternates: dict[int, list[int]]
    load: list[int]
    total_affinity: float
    score: int
    assigned: int
    needed: int
    seed: int | None = None
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    solver: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def complete(self) -> bool:
        """Every item got all the reviewers it needs."""
        return not self.shortfall

    def load_spread(self, capacities: Sequence[int] | None = None) -> tuple[int, int, float]:
        """(min, max, population standard deviation) of the load, over experts with capacity if given."""
        load = np.asarray(self.load, dtype=np.float64)
        if capacities is not None:
            load = load[np.asarray(capacities) > 0]
        if not load.size:
            return 0, 0, 0.0
        return int(load.min()), int(load.max()), float(load.std())


def _result(
    problem: AssignmentProblem,
    method: str,
    status: str,
    chosen: np.ndarray,
    ordered_rows: np.ndarray,
    alternates: dict[int, list[int]],
    *,
    seed: int | None = None,
) -> AssignmentResult:
    """Build the result from a boolean mask over candidate rows; ``ordered_rows`` gives the listing order."""
    assignments: dict[int, list[int]] = {i: [] for i in range(problem.n_items)}
    items = problem.item[ordered_rows].tolist()
    experts = problem.expert[ordered_rows].tolist()
    for i, e in zip(items, experts, strict=True):
        assignments[i].append(e)
    got = np.bincount(problem.item[chosen], minlength=problem.n_items)
    missing = problem.need - got
    shortfall = {int(i): int(missing[i]) for i in np.flatnonzero(missing > 0)}
    load = np.bincount(problem.expert[chosen], minlength=problem.n_experts)
    score = int(problem.affinity_scaled[chosen].sum()) - problem.load_penalty_scaled(load)
    return AssignmentResult(
        method=method,
        status=status,
        assignments=assignments,
        shortfall=shortfall,
        alternates=alternates,
        load=load.tolist(),
        total_affinity=float(problem.affinity[chosen].sum()),
        score=score,
        assigned=int(chosen.sum()),
        needed=int(problem.need.sum()),
        seed=seed,
    )


def _best_alternates(problem: AssignmentProblem, chosen: np.ndarray, count: int) -> dict[int, list[int]]:
    """Per item, up to ``count`` unassigned candidates with capacity left, best marginal gain first.

    The gain of adding expert e is its scaled affinity minus the penalty of e's next review; ties go to the
    less loaded expert, then the lower index.
    """
    alternates: dict[int, list[int]] = {i: [] for i in range(problem.n_items)}
    if count <= 0 or not problem.n_pairs:
        return alternates
    load = np.bincount(problem.expert[chosen], minlength=problem.n_experts)
    spare = load < problem.capacity
    rows = np.flatnonzero(~chosen & spare[problem.expert])
    if not rows.size:
        return alternates
    experts = problem.expert[rows]
    items = problem.item[rows]
    gain = problem.affinity_scaled[rows] - problem.penalty_scaled * (problem.prior_load + load)[experts]
    order = np.lexsort((experts, load[experts], -gain, items))
    items, experts = items[order], experts[order]
    starts = np.flatnonzero(np.concatenate(([True], items[1:] != items[:-1])))
    rank = np.arange(items.size) - np.repeat(starts, np.diff(np.concatenate((starts, [items.size]))))
    keep = rank < count
    for i, e in zip(items[keep].tolist(), experts[keep].tolist(), strict=True):
        alternates[i].append(e)
    return alternates


def _flow_graph(problem: AssignmentProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arcs (tails, heads, capacities, unit costs). Rows 0..n_pairs-1 are the candidate pairs, in problem order.

    Nodes: items 0..n-1, experts n..n+m-1, then the source and the sink. Source → item: capacity ``need``,
    cost 0. Item → expert: capacity 1, cost ``-affinity``. Expert → sink: one unit arc per possible review,
    the j-th (from 0) costing ``penalty * (prior_load + j)``; at most as many as the expert's candidate pairs.
    A min-cost flow takes an expert's arcs cheapest first, so its cost is exactly the convex load penalty.
    """
    n, m = problem.n_items, problem.n_experts
    source, sink = n + m, n + m + 1
    slots = np.minimum(problem.capacity, np.bincount(problem.expert, minlength=m))
    if problem.penalty_scaled:
        load_tail = np.repeat(np.arange(m, dtype=np.int64), slots)
        j = np.arange(load_tail.size, dtype=np.int64) - np.repeat(np.cumsum(slots) - slots, slots)
        load_cap = np.ones(load_tail.size, dtype=np.int64)
        load_cost = problem.penalty_scaled * (problem.prior_load[load_tail] + j)
        if load_cost.size and int(load_cost.max()) > MAX_AFFINITY * AFFINITY_SCALE * 1000:
            raise ValueError("load penalty times prior load is too large for the solver")
    else:  # no penalty: one arc per expert
        load_tail = np.flatnonzero(slots > 0)
        load_cap = slots[load_tail]
        load_cost = np.zeros(load_tail.size, dtype=np.int64)
    tails = np.concatenate((problem.item, np.full(n, source), n + load_tail)).astype(np.int32)
    heads = np.concatenate((n + problem.expert, np.arange(n), np.full(load_tail.size, sink))).astype(np.int32)
    caps = np.concatenate((np.ones(problem.n_pairs, dtype=np.int64), problem.need, load_cap))
    costs = np.concatenate((-problem.affinity_scaled, np.zeros(n, dtype=np.int64), load_cost))
    return tails, heads, caps, costs


def _potentials(
    tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, costs: np.ndarray, flows: np.ndarray, n_nodes: int
) -> np.ndarray | None:
    """Node potentials proving a min-cost flow optimal: shortest distances in its residual graph.

    Vectorised Bellman-Ford from a virtual root joined to every node at cost 0; an optimal flow has no
    negative cycle, so it converges (in a few dozen rounds on assignment graphs). ``None`` if it has not
    after ``POTENTIAL_ROUNDS`` rounds; the caller then solves the whole graph instead.
    """
    forward, backward = flows < caps, flows > 0
    r_tail = np.concatenate((tails[forward], heads[backward]))
    r_head = np.concatenate((heads[forward], tails[backward]))
    r_cost = np.concatenate((costs[forward], -costs[backward]))
    distance = np.zeros(n_nodes, dtype=np.int64)
    if not r_tail.size:
        return distance
    order = np.argsort(r_head, kind="stable")
    r_tail, r_head, r_cost = r_tail[order], r_head[order], r_cost[order]
    targets, first = np.unique(r_head, return_index=True)
    for _ in range(POTENTIAL_ROUNDS):
        best = np.minimum.reduceat(distance[r_tail] + r_cost, first)
        improved = best < distance[targets]
        if not improved.any():
            return distance
        distance[targets[improved]] = best[improved]
    return None


def optimal_assignment(
    problem: AssignmentProblem,
    *,
    alternates: int = DEFAULT_ALTERNATES,
    window: int | None = CANDIDATE_WINDOW,
) -> AssignmentResult:
    """Min-cost flow (OR-Tools): the most (item, reviewer) slots filled, then the best affinity minus load penalty.

    1. Coverage first: a maximum flow on the whole graph (see ``_flow_graph``) gives the most slots ``F`` the
       hard constraints allow (an item short of reviewers cannot be ranked, so no affinity is worth a gap).
    2. The cheapest flow of value ``F`` (``SimpleMinCostFlow.solve``), found by column generation, exactly:
       it starts from each item's ``window`` best candidates plus the pairs the maximum flow used (so ``F``
       stays reachable); the residual graph's shortest distances give node potentials, and any left-out
       pair with a negative reduced cost joins before solving again. When none is left, the potentials prove
       the flow optimal on the whole graph. This matters at scale: a bureau-sized round has millions of
       candidate pairs and the optimum uses few of them. ``window=None`` solves the whole graph at once.

    OR-Tools is deterministic, and so is the rest: the same input gives the same result.
    """
    if window is not None and window < 1:
        raise ValueError("window must be >= 1 or None")
    t0 = time.perf_counter()
    n, m, p = problem.n_items, problem.n_experts, problem.n_pairs
    n_nodes, source, sink = n + m + 2, n + m, n + m + 1
    tails, heads, caps, costs = _flow_graph(problem)
    t1 = time.perf_counter()

    chosen = np.zeros(p, dtype=bool)
    rounds = 0
    active = np.ones(p, dtype=bool)
    if p:
        coverage = max_flow.SimpleMaxFlow()
        coverage.add_arcs_with_capacity(tails, heads, caps)
        status = coverage.solve(source, sink)
        if status != coverage.OPTIMAL:
            raise AssignmentError(f"maximum flow ended with status {status.name}")
        slots = coverage.optimal_flow()
        if window is not None:
            rank = np.arange(p) - problem.ptr[problem.item]  # rows are best first within an item
            active = (rank < window) | (coverage.flows(np.arange(p, dtype=np.int32)) > 0)
        del coverage
        while slots:
            rounds += 1
            pairs = np.flatnonzero(active)
            rows = np.concatenate((pairs, np.arange(p, tails.size)))
            flow = min_cost_flow.SimpleMinCostFlow()
            flow.add_arcs_with_capacity_and_unit_cost(tails[rows], heads[rows], caps[rows], costs[rows])
            flow.set_node_supply(source, slots)
            flow.set_node_supply(sink, -slots)
            status = flow.solve()
            if status != flow.OPTIMAL:
                raise AssignmentError(f"min-cost flow ended with status {status.name}")
            flows = flow.flows(np.arange(rows.size, dtype=np.int32))
            if active.all():
                break
            potential = _potentials(tails[rows], heads[rows], caps[rows], costs[rows], flows, n_nodes)
            if potential is None:
                active[:] = True
                continue
            out = np.flatnonzero(~active)
            reduced = costs[out] + potential[tails[out]] - potential[heads[out]]
            priced = out[reduced < 0]
            if not priced.size:
                break
            active[priced] = True
        if rounds:
            chosen[pairs[flows[: pairs.size] > 0]] = True
    t2 = time.perf_counter()
    alt = _best_alternates(problem, chosen, alternates)
    result = _result(problem, "optimal", "OPTIMAL", chosen, np.flatnonzero(chosen), alt)
    t3 = time.perf_counter()
    result.timings.update(build=t1 - t0, solve=t2 - t1, extract=t3 - t2)
    result.solver.update(rounds=rounds, pairs_used=int(active.sum()) if rounds else 0, pairs=p)
    return result


def greedy_assignment(problem: AssignmentProblem, *, alternates: int = DEFAULT_ALTERNATES) -> AssignmentResult:
    """Baseline: items in input order, each takes its best candidates (affinity, then index) that have capacity."""
    t0 = time.perf_counter()
    experts = problem.expert.tolist()
    room = problem.capacity.tolist()
    need = problem.need.tolist()
    ptr = problem.ptr.tolist()
    picked: list[int] = []
    for i in range(problem.n_items):
        k = need[i]
        for r in range(ptr[i], ptr[i + 1]):  # best affinity first, then lower index
            e = experts[r]
            if room[e] > 0:
                room[e] -= 1
                picked.append(r)
                k -= 1
                if not k:
                    break
    chosen = np.zeros(problem.n_pairs, dtype=bool)
    chosen[picked] = True
    t1 = time.perf_counter()
    alt = _best_alternates(problem, chosen, alternates)
    result = _result(problem, "greedy", "HEURISTIC", chosen, np.array(picked, dtype=np.int64), alt)
    result.timings.update(solve=t1 - t0, extract=time.perf_counter() - t1)
    return result


def random_draw(problem: AssignmentProblem, seed: int, *, alternates: int = DEFAULT_ALTERNATES) -> AssignmentResult:
    """随机抽取: uniform random reviewers among each item's eligible candidates, reproducible from ``seed``.

    Items are visited in input order; for each, ``need`` experts (or as many as there are) are drawn without
    replacement, uniformly among its candidates that still have capacity, in ascending expert index before
    drawing so the candidate order given does not matter. Affinity plays no part. Then, with the same
    generator, up to ``alternates`` 备选专家 per item are drawn the same way from the candidates left. Only
    ``random.Random(seed)`` is used, never the global generator; store the seed with the draw so it can be
    re-run and checked. ``seed`` must be an integer >= 0 (``random.Random`` treats -s like s).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError("seed must be an integer >= 0")
    t0 = time.perf_counter()
    rng = random.Random(seed)
    experts = problem.expert.tolist()
    room = problem.capacity.tolist()
    need = problem.need.tolist()
    ptr = problem.ptr.tolist()
    # each item's candidate rows by ascending expert index: affinity never decides the order of the pool
    by_index = np.lexsort((problem.expert, problem.item)).tolist()
    picked: list[int] = []
    for i in range(problem.n_items):
        pool = [r for r in by_index[ptr[i] : ptr[i + 1]] if room[experts[r]] > 0]
        for r in rng.sample(pool, min(need[i], len(pool))):
            room[experts[r]] -= 1
            picked.append(r)
    chosen = np.zeros(problem.n_pairs, dtype=bool)
    chosen[picked] = True
    alt: dict[int, list[int]] = {i: [] for i in range(problem.n_items)}
    if alternates > 0:
        taken = chosen.tolist()
        for i in range(problem.n_items):
            pool = [r for r in by_index[ptr[i] : ptr[i + 1]] if not taken[r] and room[experts[r]] > 0]
            alt[i] = [experts[r] for r in rng.sample(pool, min(alternates, len(pool)))]
    t1 = time.perf_counter()
    result = _result(problem, "random", "DRAWN", chosen, np.array(picked, dtype=np.int64), alt, seed=seed)
    result.timings.update(solve=t1 - t0, extract=time.perf_counter() - t1)
    return result

"""Benchmark: the expert assignment engine on a city-bureau-sized round (issue 3).

    .venv/bin/python benchmarks/assignment.py                     # 10,000 proposals x 3 from 5,000 experts, cap 8
    .venv/bin/python benchmarks/assignment.py --proposals 2000 --experts 1000
    .venv/bin/python benchmarks/assignment.py --whole-graph      # also solve all pairs at once, compare

What it builds (seeded, so every run sees the same instance):

* 64 disciplines in 8 fields (学部) of 8. Discipline popularity follows a mild power law (weight 1/rank^0.5),
  the same for proposals and experts, since a bureau recruits experts where its applicants are.
* Each expert has a primary discipline and 0 to 2 secondary ones (70% in the same field), and 6 keywords:
  4 from the 8 of the primary discipline, 2 from the 64 of its field.
* Each proposal has a primary discipline, a secondary one with probability 0.4, and 4 keywords (3 from its
  discipline, 1 from its field).
* Candidates of a proposal: the experts who have its primary or secondary discipline, minus conflicts of
  interest (回避): each such pair is a conflict with probability 2%. A real bureau never considers all
  10,000 x 5,000 pairs, only discipline matches, so each proposal gets a few dozen to a few hundred
  candidates (printed below). A dense graph would be 50 M pairs that no officer would accept anyway.
* Affinity in [0.2, 1]: 0.5 if the expert's primary discipline is the proposal's primary, 0.35 if it is
  one of the expert's secondary disciplines, 0.2 if the match is only on the proposal's secondary one;
  plus 0.5 x the Jaccard overlap of keywords (within the same field).

Then it runs the optimal assignment (OR-Tools min-cost flow with a convex load penalty), the greedy
baseline and a random draw (随机抽取) on the same problem and prints times, peak memory (the process's
maximum resident set size from getrusage: it includes OR-Tools' C++ memory, which tracemalloc cannot
see, and the generator's own data), total affinity, load spread and coverage, with ratios to greedy.

Then the database writes, through the same function the draw service uses (``experts.services.assign.record_draw``):
a fresh SQLite database in a temporary directory (or the one ``DATABASE_URL`` names: it must be a scratch
database, the script writes to it) is migrated and filled with the pool (5,000 users and experts) and one round
of 10,000 items, untimed; then the optimal result is written, timed: the Draw, 30,000 invitations, the
alternates, the audit event and one notification per invited expert. ``--no-db`` skips this part.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experts.assignment import (  # noqa: E402
    AssignmentProblem,
    AssignmentResult,
    greedy_assignment,
    optimal_assignment,
    random_draw,
)

FIELDS, PER_FIELD = 8, 8
DISCIPLINES = FIELDS * PER_FIELD
SOLVE_TARGET_S = 5.0
MEMORY_TARGET_MIB = 1024


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def discipline_weights() -> np.ndarray:
    w = 1 / np.sqrt(np.arange(1, DISCIPLINES + 1))
    return w / w.sum()


def keyword_masks(rng, disciplines: np.ndarray, own: int, extra: int) -> np.ndarray:
    """64-bit masks over the field's 64 keywords: ``own`` from the discipline's 8, ``extra`` from the field."""
    masks = np.zeros(disciplines.size, dtype=np.uint64)
    slot = disciplines % PER_FIELD
    for i in range(disciplines.size):
        bits = set((slot[i] * 8 + rng.choice(8, own, replace=False)).tolist())
        bits.update(rng.choice(64, extra, replace=False).tolist())
        masks[i] = sum(1 << b for b in bits)
    return masks


def generate(n_proposals: int, n_experts: int, conflict_rate: float, seed: int):
    """The synthetic instance: candidate lists ``[(expert, affinity), ...]`` per proposal."""
    rng = np.random.default_rng(seed)
    weights = discipline_weights()

    primary = rng.choice(DISCIPLINES, n_experts, p=weights)
    secondaries: list[set[int]] = []
    for d in primary.tolist():
        extra = set()
        for _ in range(rng.integers(0, 3)):
            if rng.random() < 0.7:
                extra.add((d // PER_FIELD) * PER_FIELD + int(rng.integers(PER_FIELD)))
            else:
                extra.add(int(rng.choice(DISCIPLINES, p=weights)))
        extra.discard(d)
        secondaries.append(extra)
    expert_kw = keyword_masks(rng, primary, 4, 2)
    members: list[list[int]] = [[] for _ in range(DISCIPLINES)]
    for e, d in enumerate(primary.tolist()):
        members[d].append(e)
        for s in secondaries[e]:
            members[s].append(e)
    members_np = [np.array(sorted(m), dtype=np.int64) for m in members]
    # match level per (expert, discipline): 2 = primary, 1 = secondary
    level = np.zeros((n_experts, DISCIPLINES), dtype=np.int8)
    for e, d in enumerate(primary.tolist()):
        level[e, list(secondaries[e])] = 1
        level[e, d] = 2
    expert_field = primary // PER_FIELD

    p_primary = rng.choice(DISCIPLINES, n_proposals, p=weights)
    p_secondary = np.where(rng.random(n_proposals) < 0.4, rng.choice(DISCIPLINES, n_proposals, p=weights), -1)
    p_kw = keyword_masks(rng, p_primary, 3, 1)

    candidates = []
    for i in range(n_proposals):
        d1, d2 = int(p_primary[i]), int(p_secondary[i])
        pool = members_np[d1] if d2 < 0 or d2 == d1 else np.union1d(members_np[d1], members_np[d2])
        pool = pool[rng.random(pool.size) >= conflict_rate]  # 回避: conflicted pairs are not candidates
        lv = level[pool, d1]
        base = np.where(lv == 2, 0.5, np.where(lv == 1, 0.35, 0.2))
        same_field = expert_field[pool] == d1 // PER_FIELD
        inter = np.bitwise_count(expert_kw[pool] & p_kw[i])
        union = np.bitwise_count(expert_kw[pool] | p_kw[i])
        jaccard = np.where(same_field, inter / union, 0.0)
        affinity = np.round(base + 0.5 * jaccard, 4)
        candidates.append(list(zip(pool.tolist(), affinity.tolist(), strict=True)))
    return candidates


def describe(result: AssignmentResult, capacities: list[int]) -> dict:
    lo, hi, std = result.load_spread(capacities)
    used = sum(1 for x in result.load if x)
    return {
        "assigned": result.assigned,
        "short": sum(result.shortfall.values()),
        "short_items": len(result.shortfall),
        "total": result.total_affinity,
        "mean": result.total_affinity / max(result.assigned, 1),
        "min": lo,
        "max": hi,
        "std": std,
        "used": used,
        "score": result.score,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=5_000)
    parser.add_argument("--need", type=int, default=3)
    parser.add_argument("--cap", type=int, default=8)
    parser.add_argument("--conflicts", type=float, default=0.02)
    parser.add_argument("--penalty", type=float, default=0.05, help="load penalty per extra review, affinity units")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--whole-graph", action="store_true", help="also solve all pairs at once (no pricing) and compare the optimum"
    )
    parser.add_argument("--no-db", action="store_true", help="skip the database writes")
    args = parser.parse_args()

    print(
        f"instance: {args.proposals:,} proposals x {args.need} experts, pool of {args.experts:,}, load cap {args.cap}, "
        f"{args.conflicts:.0%} conflicts, load penalty {args.penalty}, seed {args.seed}"
    )
    print(f"peak RSS before generating: {peak_rss_mib():.0f} MiB")
    t = time.perf_counter()
    candidates = generate(args.proposals, args.experts, args.conflicts, args.seed)
    gen_s = time.perf_counter() - t
    sizes = sorted(len(c) for c in candidates)
    pairs = sum(sizes)
    print(
        f"generated in {gen_s:.2f} s: {pairs:,} candidate pairs, per proposal min {sizes[0]} / median "
        f"{statistics.median(sizes):.0f} / p95 {sizes[int(0.95 * (len(sizes) - 1))]} / max {sizes[-1]} "
        f"(dense would be {args.proposals * args.experts:,}); peak RSS {peak_rss_mib():.0f} MiB"
    )

    capacities = [args.cap] * args.experts
    t = time.perf_counter()
    problem = AssignmentProblem(candidates, capacities, args.need, load_penalty=args.penalty)
    problem_s = time.perf_counter() - t
    del candidates
    print(f"problem built (validated, sorted, scaled) in {problem_s:.2f} s")

    optimal = optimal_assignment(problem)
    rss_optimal = peak_rss_mib()
    greedy = greedy_assignment(problem)
    draw = random_draw(problem, seed=args.seed)
    rss = peak_rss_mib()

    tm = optimal.timings
    print()
    print(f"optimal (OR-Tools min-cost flow, status {optimal.status}):")
    print(
        f"  graph build {tm['build']:.2f} s, solve {tm['solve']:.2f} s, extract + alternates {tm['extract']:.2f} s; "
        f"peak RSS {rss_optimal:.0f} MiB"
    )
    sv = optimal.solver
    print(
        f"  solve = max flow (coverage) + {sv['rounds']} min-cost round(s) on {sv['pairs_used']:,} of {sv['pairs']:,} "
        f"candidate pairs (column generation, proven optimal on all of them)"
    )
    if args.whole_graph:
        whole = optimal_assignment(problem, window=None, alternates=0)
        same = (whole.assigned, whole.score) == (optimal.assigned, optimal.score)
        print(
            f"  whole graph at once (window=None): solve {whole.timings['solve']:.2f} s, "
            f"{'same optimum' if same else 'DIFFERENT OPTIMUM'} ({whole.score:,})"
        )
    print(f"  greedy {greedy.timings['solve']:.2f} s + {greedy.timings['extract']:.2f} s alternates")
    print(f"  random draw {draw.timings['solve']:.2f} s (draw + alternates)")

    rows = {name: describe(r, capacities) for name, r in (("optimal", optimal), ("greedy", greedy), ("random", draw))}
    print()
    header = f"{'':10}{'assigned':>10}{'short':>8}{'items':>7}{'total aff.':>12}{'mean':>7}{'load min':>9}{'max':>5}{'std':>7}{'experts used':>14}"
    print(header)
    for name, d in rows.items():
        print(
            f"{name:10}{d['assigned']:>10,}{d['short']:>8}{d['short_items']:>7}{d['total']:>12.1f}{d['mean']:>7.3f}"
            f"{d['min']:>9}{d['max']:>5}{d['std']:>7.3f}{d['used']:>14,}"
        )
    o, g = rows["optimal"], rows["greedy"]
    print()
    std_ratio = f"x{o['std'] / g['std']:.3f}" if g["std"] else "n/a (greedy 0)"
    print(
        f"optimal / greedy: total affinity x{o['total'] / g['total']:.4f}, mean affinity x{o['mean'] / g['mean']:.4f}, "
        f"load std {std_ratio}, solve time x"
        f"{tm['solve'] / greedy.timings['solve']:.2f}"
    )
    print(
        f"score (scaled affinity - load penalty): optimal {o['score']:,}, greedy {g['score']:,}, random {rows['random']['score']:,}"
    )

    print()
    ok_solve = tm["solve"] < SOLVE_TARGET_S
    ok_mem = rss < MEMORY_TARGET_MIB
    print(f"target solve < {SOLVE_TARGET_S:.0f} s: {tm['solve']:.2f} s {'OK' if ok_solve else 'MISSED'}")
    print(
        f"target memory < 1 GiB: peak RSS {rss:.0f} MiB (whole process, generator included) {'OK' if ok_mem else 'MISSED'}"
    )
    end_to_end = problem_s + tm["build"] + tm["solve"] + tm["extract"]
    print(f"engine end to end (problem + graph + solve + extract): {end_to_end:.2f} s")
    if args.no_db:
        return
    write_s, vendor = database_writes(problem, optimal, args)
    whole = gen_s + end_to_end + write_s
    print(
        f"target whole assignment < 60 s (generate + build + solve + {vendor} writes): {whole:.2f} s "
        f"{'OK' if whole < 60 else 'MISSED'}; peak RSS {peak_rss_mib():.0f} MiB "
        f"{'OK' if peak_rss_mib() < MEMORY_TARGET_MIB else 'MISSED'}"
    )


def database_writes(problem: AssignmentProblem, result: AssignmentResult, args) -> tuple[float, str]:
    """Write ``result`` with the service's record_draw into a scratch database; returns (seconds, vendor)."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["KJ_VAR_DIR"] = tempfile.mkdtemp(prefix="kj-bench-")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")
    import django

    django.setup()
    import datetime

    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from experts.models import Assignment, Expert, ReviewItem, ReviewRound
    from experts.services.assign import Eligibility, record_draw
    from projects.models import Application

    print()
    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"bench-expert-{e}", email=f"e{e}@bench.example", real_name=f"专家{e}")
         for e in range(problem.n_experts)], batch_size=2000)
    officer = User.objects.create(username="bench-officer", real_name="处长")
    experts = Expert.objects.bulk_create(
        [Expert(user=u, name=u.real_name, id_number=f"BENCH{e:08d}", workplace=f"单位{e % 700}", title="教授",
                discipline_codes=["520"], status=Expert.Status.ACTIVE) for e, u in enumerate(users)],
        batch_size=2000)
    now = timezone.now()
    rnd = ReviewRound.objects.create(name="benchmark", experts_per_item=args.need, created_by=officer,
                                     response_deadline=now + datetime.timedelta(days=3),
                                     review_deadline=now + datetime.timedelta(days=14),
                                     state=ReviewRound.State.REVIEWING)
    ct = ContentType.objects.get_for_model(Application)
    items = ReviewItem.objects.bulk_create(
        [ReviewItem(round=rnd, subject_type=ct, subject_id=i + 1, title=f"proposal {i}") for i in range(problem.n_items)],
        batch_size=2000)
    setup_s = time.perf_counter() - t
    vendor = connection.vendor
    print(f"database ({vendor}): migrated and filled with {len(experts):,} experts and {len(items):,} items "
          f"in {setup_s:.2f} s (not timed below)")

    # the affinities of the pairs the result uses (assigned and alternates), from the problem's arrays
    t = time.perf_counter()
    wanted = {(i, e) for i, es in result.assignments.items() for e in es}
    wanted |= {(i, e) for i, es in result.alternates.items() for e in es}
    keys = problem.item.astype(np.int64) * problem.n_experts + problem.expert
    want_keys = np.array(sorted(i * problem.n_experts + e for i, e in wanted), dtype=np.int64)
    rows = np.flatnonzero(np.isin(keys, want_keys))
    candidates: dict[int, list[tuple[int, float]]] = {item.pk: [] for item in items}
    for r in rows.tolist():
        i, e = int(problem.item[r]), int(problem.expert[r])
        candidates[items[i].pk].append((experts[e].pk, float(problem.affinity[r])))
    el = Eligibility(items=items, experts={}, candidates=candidates)
    expert_ids = [x.pk for x in experts]
    prep_s = time.perf_counter() - t

    t = time.perf_counter()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    with transaction.atomic():
        outcome = record_draw(actor=officer, rnd=rnd, method="optimal", seed=None, panel_id=None, items=items,
                              result=result, expert_ids=expert_ids, el=el, now=now)
    write_s = time.perf_counter() - t
    if os.environ.get("BENCH_PROFILE"):
        prof.disable()
        prof.dump_stats(os.environ["BENCH_PROFILE"])
    written = Assignment.objects.filter(draw=outcome.draw).count()
    print(f"database writes (record_draw: draw, {written:,} invitations, alternates, audit, notifications to "
          f"{len({e for es in result.assignments.values() for e in es}):,} experts): {write_s:.2f} s "
          f"(+ {prep_s:.2f} s mapping indices to rows); peak RSS {peak_rss_mib():.0f} MiB")
    return write_s + prep_s, vendor


if __name__ == "__main__":
    main()

"""Benchmark: one deadline sweep (activity.sweeper.sweep) over a million open deadlines of a real kind (issue 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kj_bench .venv/bin/python benchmarks/sweeper.py
    DATABASE_URL=... .venv/bin/python benchmarks/sweeper.py 200000 2000      # open deadlines, due ones
    DATABASE_URL=... .venv/bin/python benchmarks/sweeper.py --profile         # cProfile of the first sweep

PostgreSQL only (the sweeper's target is production's database, and SQLite would spend the time building the
rows). Only the server is taken from DATABASE_URL: the script creates its own database ``kj_sweeper_<pid>``
there, works in it and drops it at the end; the database the URL names is never opened. Celery uses the
in-memory broker, so the e-mail and SMS tasks the sweep queues after each batch's commit are published (that
is timed, as in production) but not run.

What it builds (untimed): 6 organisations with 1 or 2 单位管理员 each and one 申报人 each (the application's author),
3 officers (业务处室) and 1 supervisor (局领导); one real Project made through the services (application
accepted, establish_project) and its 中期报告 (MidtermReport, state ``requested``); then, with
``INSERT … SELECT … FROM generate_series``, copies of that application, project and report up to N open
deadlines of kind ``midterm_due`` (projects.obligations.MidtermDue), one report per project, the
organisations taken in turn. Of these, D (every 100th by default) are due for something at the sweep's moment
— their due dates spread over 37 days, from 6 days ahead (the 7/3/1-day windows) to 30 days ago (overdue,
黄牌 after 3 days, 红牌 after 10) — and the rest fall due 30 to 400 days ahead. Then VACUUM ANALYZE, as
autovacuum would have done by then.

What it times, at one fixed moment (2026-11-23 10:00, Asia/Shanghai), with the production batch size
(settings.DEADLINE_SWEEP_BATCH):

1. one sweep: seconds, SQL statements, batches, reminders written, reminders per second;
2. a second sweep at the same moment: nothing new to write (seconds, statements);
3. the reminders, notifications and escalations emptied, D more deadlines made due (2·D in all), one sweep
   again: statements per batch for D and for 2·D due, to show they follow the batches, not the rows.

Statements are counted with a ``connection.execute_wrapper`` (every statement; nothing kept), as in
review_round.py; those on the task outbox (activity.outbox: a batch's e-mail tasks, one per 200 notifications, queued
on commit in one INSERT and deleted in one DELETE once published; the same for its texts) are also shown apart.
"""

import argparse
import cProfile
import datetime
import io
import os
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Never the working database or broker: a fresh directory for uploads and logs, the in-memory broker.
os.environ["KJ_VAR_DIR"] = tempfile.mkdtemp(prefix="kj-bench-sweeper-")
os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
os.environ.setdefault("AXES_ENABLED", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")


def scratch_postgres() -> tuple[str, str]:
    """Create ``kj_sweeper_<pid>`` on DATABASE_URL's server and point DATABASE_URL at it. Returns (maintenance
    URL, database name) for dropping it."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL: a PostgreSQL server is required, e.g. "
                 "DATABASE_URL=postgres://postgres@127.0.0.1:5432/kj_bench")
    import psycopg

    name = f"kj_sweeper_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    return admin, name


def drop_postgres(scratch) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    admin, name = scratch
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    SCRATCH = scratch_postgres()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.tests.factories import OrganizationFactory, UserFactory  # noqa: E402
from activity import sweeper  # noqa: E402
from activity.models import Escalation, Notification, Reminder  # noqa: E402
from funding.tests.factories import established_project  # noqa: E402
from projects.models import Application, MidtermReport, Project  # noqa: E402

KIND = "midterm_due"
OUTBOX_TABLE = '"activity_taskoutbox"'
NOW = timezone.make_aware(datetime.datetime(2026, 11, 23, 10, 0))
TODAY = timezone.localtime(NOW).date()
DUE_SPREAD = 37  # due dates from TODAY - 30 to TODAY + 6: every window and level of the ladder
ORGS = 6
OFFICERS = 3


class QueryCounter:
    """Counts every statement the connection runs (an execute wrapper: no cap, no SQL kept), and apart those on
    the task outbox (activity.outbox: a row written with each task queued on commit, deleted once published)."""

    def __init__(self):
        self.n = 0
        self.outbox = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        if OUTBOX_TABLE in sql:
            self.outbox += 1
        return execute(sql, params, many, context)


COUNTER = QueryCounter()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def copy_rows(model, template_pk: int, overrides: dict[str, str], source: str, params=()) -> int:
    """INSERT copies of one row of ``model``: every column as in the template but those in ``overrides`` (SQL
    expressions over ``source``, a FROM item such as ``generate_series(…) g``)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [f.column for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(overrides) - set(columns)
    assert not unknown, unknown
    select = ", ".join(overrides.get(c, f"t.{connection.ops.quote_name(c)}") for c in columns)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t, {source} WHERE t.id = %s",
            [*params, template_pk],
        )
        return cursor.rowcount


def due_date_sql(seq: str, due_every: int) -> str:
    """The due date of copy number ``seq``: every ``due_every``-th within the ladder, the rest far ahead."""
    near = f"(DATE '{TODAY.isoformat()}' - 30 + mod({seq} / {due_every}, {DUE_SPREAD}))"
    far = f"(DATE '{TODAY.isoformat()}' + 30 + mod({seq}, 371))"
    return f"CASE WHEN mod({seq}, {due_every}) = 0 THEN {near} ELSE {far} END"


def build(n_open: int, n_due: int) -> dict:
    call_command("migrate", verbosity=0)
    orgs = [OrganizationFactory(name=f"杭州基准科技有限公司{i + 1}") for i in range(ORGS)]
    admins = [UserFactory(organization=org, roles=["org_admin"]) for i, org in enumerate(orgs) for _ in range(1 + i % 2)]
    authors = [UserFactory(organization=org, roles=["applicant"]) for org in orgs]
    officers = [UserFactory(roles=["officer"], is_staff=True) for _ in range(OFFICERS)]
    supervisor = UserFactory(roles=["supervisor"], real_name="王局长")
    project = established_project(organization=orgs[0], officer=officers[0], created_by=authors[0])
    report = MidtermReport.objects.create(project=project, due_date=TODAY + datetime.timedelta(days=200),
                                          requested_by=officers[0])
    app = project.application
    Application.objects.filter(pk=app.pk).update(number="SWT-0")

    n = n_open - 1  # the copies, numbered 0…n-1; the template report is one of the open deadlines (due far ahead)
    due_every = n_open // n_due
    org_ids = "ARRAY[" + ",".join(str(o.pk) for o in orgs) + "]"
    author_ids = "ARRAY[" + ",".join(str(a.pk) for a in authors) + "]"
    t = time.perf_counter()
    copy_rows(Application, app.pk, {
        "number": "'SW-' || g",
        "title": "'基准项目' || g",
        "organization_id": f"({org_ids})[1 + mod(g, {ORGS})]",
        "created_by_id": f"({author_ids})[1 + mod(g, {ORGS})]",
    }, "generate_series(0, %s) g", [n - 1])
    seq = "split_part(a.number, '-', 2)::int"
    copy_rows(Project, project.pk, {
        "application_id": "a.id",
        "organization_id": "a.organization_id",
        "number": "'P' || a.number",
        "title": "a.title",
    }, f"(SELECT id, organization_id, number, title FROM {Application._meta.db_table} WHERE number LIKE %s) a",
        ["SW-%"])
    copy_rows(MidtermReport, report.pk, {
        "project_id": "p.id",
        "due_date": due_date_sql(seq, due_every),
    }, f"{Project._meta.db_table} p JOIN {Application._meta.db_table} a ON a.id = p.application_id "
       "AND a.number LIKE %s", ["SW-%"])
    copied = time.perf_counter() - t
    with connection.cursor() as cursor:
        for model in (Application, Project, MidtermReport):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return {"orgs": orgs, "admins": admins, "authors": authors, "officers": officers, "supervisor": supervisor,
            "copied": copied, "due_every": due_every}


def timed_sweep(prof: cProfile.Profile | None = None):
    q0, o0 = COUNTER.n, COUNTER.outbox
    t, cpu = time.perf_counter(), time.process_time()
    if prof is not None:
        prof.enable()
    result = sweeper.sweep(now=NOW, kinds=[KIND])
    if prof is not None:
        prof.disable()
    result.cpu = time.process_time() - cpu
    result.outbox = COUNTER.outbox - o0
    return result, time.perf_counter() - t, COUNTER.n - q0


def profile_report(prof: cProfile.Profile, limit: int = 18) -> None:
    for what in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(what).print_stats(limit)
        lines = out.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print(f"\n--- cProfile: first sweep, by {what} ---")
        print("\n".join(line.replace(str(ROOT) + "/", "") for line in lines[start:] if line.strip()))


def explain_candidates() -> None:
    from activity.deadlines import registry, shift
    from activity.models import ReminderPolicy

    kind = registry()[KIND]
    policy = ReminderPolicy.objects.get(kind=KIND)
    qs = kind.candidates(shift(NOW, max(policy.window_days)), policy).filter(pk__gt=0).order_by("pk")[:1000]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n--- EXPLAIN ANALYZE: the candidates query, first batch ---")
        print("\n".join(row[0] for row in cursor.fetchall()))


def line(label: str, result, seconds: float, queries: int, open_rows: int, due: int) -> str:
    rate = f" ({result.reminders / seconds:,.0f}/s)" if result.reminders else ""
    per = f", {queries / result.batches:.1f} per batch" if result.batches else ""
    if result.outbox:
        per += f" ({result.outbox:,} of them on the task outbox)"
    return (f"{label}: {open_rows:,} open, {due:,} due → {result.reminders:,} reminders in {seconds:.1f} s{rate}, "
            f"{queries:,} queries{per}, {result.batches} batches; escalations {result.escalations_opened:,} opened, "
            f"{result.escalations_raised:,} raised, {result.resolved:,} resolved; {result.cpu:.1f} s CPU in this "
            f"process, load {os.getloadavg()[0]:.1f}")


def run(args) -> None:
    batch = settings.DEADLINE_SWEEP_BATCH
    print(f"database: {connection.vendor} {connection.pg_version // 10000} (scratch database {SCRATCH[1]}); "
          f"{args.open:,} open 中期报告 deadlines ({KIND}), {args.due:,} due; sweep at "
          f"{timezone.localtime(NOW):%Y-%m-%d %H:%M %Z}, batch {batch:,}")
    t = time.perf_counter()
    data = build(args.open, args.due)
    open_rows = MidtermReport.objects.filter(state=MidtermReport.State.REQUESTED).count()
    horizon = TODAY + datetime.timedelta(days=6)
    due_rows = MidtermReport.objects.filter(state=MidtermReport.State.REQUESTED, due_date__lte=horizon).count()
    print(f"built in {time.perf_counter() - t:.1f} s (untimed; {data['copied']:.1f} s of INSERT … SELECT): "
          f"{open_rows:,} open reports, {due_rows:,} due by {horizon} (from {TODAY - datetime.timedelta(days=30)}), "
          f"{ORGS} organisations, {len(data['admins'])} 单位管理员, {len(data['authors'])} 申报人, "
          f"{len(data['officers'])} officers, 1 supervisor")

    prof = cProfile.Profile() if args.profile else None
    with connection.execute_wrapper(COUNTER):
        first, s1, q1 = timed_sweep(prof)
        again, s2, q2 = timed_sweep()
    by_stage = dict(
        Reminder.objects.filter(kind=KIND).values_list("stage").annotate(n=Count("id"))
        .order_by("stage")
    )
    print()
    print(line("sweep", first, s1, q1, open_rows, due_rows))
    print("  reminders by stage: " + ", ".join(f"{stage} {n:,}" for stage, n in by_stage.items()))
    print(f"again (same moment): {again.reminders:,} reminders in {s2:.1f} s, {q2:,} queries, {again.batches} batches; "
          f"{again.cpu:.1f} s CPU in this process")

    # twice as many due: the same engine, fresh reminder tables
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {Reminder._meta.db_table}, {Escalation._meta.db_table}, {Notification._meta.db_table}")
        every = data["due_every"]
        cursor.execute(
            f"UPDATE {MidtermReport._meta.db_table} m SET due_date = "
            f"DATE '{TODAY.isoformat()}' - 30 + mod(split_part(a.number, '-', 2)::int / {every}, {DUE_SPREAD}) "
            f"FROM {Project._meta.db_table} p JOIN {Application._meta.db_table} a ON a.id = p.application_id "
            f"WHERE m.project_id = p.id AND a.number LIKE %s "
            f"AND mod(split_part(a.number, '-', 2)::int, {every}) = {every // 2}", ["SW-%"])
        cursor.execute(f"VACUUM ANALYZE {MidtermReport._meta.db_table}")
    due2 = MidtermReport.objects.filter(state=MidtermReport.State.REQUESTED, due_date__lte=horizon).count()
    with connection.execute_wrapper(COUNTER):
        double, s3, q3 = timed_sweep()
    print(line("sweep", double, s3, q3, open_rows, due2))
    e1, e3 = q1 - first.outbox, q3 - double.outbox
    print(f"queries per batch, the task outbox apart: {e1 / first.batches:.1f} with {due_rows:,} due "
          f"({first.batches} batches), {e3 / double.batches:.1f} with {due2:,} due ({double.batches} batches); "
          f"each batch more: {(e3 - e1) / max(double.batches - first.batches, 1):.1f}")
    print(f"task outbox: {first.outbox:,} and {double.outbox:,} statements: per batch, one INSERT and one DELETE for "
          f"its e-mail tasks and the same for its SMS tasks (200 notifications each): "
          f"{first.outbox / first.batches:.1f} and {double.outbox / double.batches:.1f} per batch")
    target = "met" if s1 < 30 else "MISSED"
    print(f"\ntarget < 30 s per sweep: {target} ({s1:.1f} s); peak RSS {peak_rss_mib():.0f} MiB; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    if prof is not None:
        profile_report(prof)
        explain_candidates()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("open", nargs="?", type=int, default=1_000_000, help="open deadlines (default 1,000,000)")
    parser.add_argument("due", nargs="?", type=int, default=10_000, help="of which due for a reminder (10,000)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the first sweep and EXPLAIN ANALYZE its candidates query")
    args = parser.parse_args()
    try:
        run(args)
    finally:
        drop_postgres(SCRATCH)


if __name__ == "__main__":
    main()

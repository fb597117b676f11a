"""Benchmark: the finance exports stream in constant memory (issue 5: "Excel exports that stream, constant memory on
100,000 rows").

    .venv/bin/python benchmarks/ledger_export.py                  # 10,000 and 100,000 agreements
    .venv/bin/python benchmarks/ledger_export.py 1000 20000       # other sizes

Builds a throw-away SQLite database under a temp dir (bulk_create: N approved applications of one call, their
Projects, a signed 任务书 each with one tranche and one approved payment), then builds the two exports the finance
pages offer (the ledger: one row per agreement; the disbursements: one row per voucher) exactly as the views do,
and reads the streamed response to the end. Prints, per size and export: seconds, the peak of Python's allocations
during the export (tracemalloc), the process's peak RSS so far, the file size, and the ratio of the largest size's
peak to the smallest's (1.0 = memory does not grow with the rows).
"""

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["KJ_VAR_DIR"] = tempfile.mkdtemp(prefix="kj-bench-ledger-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.tests.factories import OrganizationFactory, UserFactory  # noqa: E402
from funding import exports  # noqa: E402
from funding.models import Disbursement, TaskAgreement, Tranche  # noqa: E402
from projects.models import Application, Project  # noqa: E402
from projects.tests.factories import CallFactory  # noqa: E402

BATCH = 5000


def build(n: int):
    call_command("flush", interactive=False, verbosity=0)
    call = CallFactory()
    orgs = [OrganizationFactory() for _ in range(50)]
    clerk = UserFactory(roles=["finance"])
    approver = UserFactory(roles=["finance"])
    creator = UserFactory(organization=orgs[0], roles=["applicant"])
    now = timezone.now()
    today = timezone.localdate()
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        apps = Application.objects.bulk_create([
            Application(call=call, organization=orgs[i % 50], created_by=creator, title=f"基准项目{start + i}",
                        number=f"B-{start + i:07d}", state="approved", revision=1)
            for i in range(size)
        ])
        projects = Project.objects.bulk_create([
            Project(application=a, call=call, organization_id=a.organization_id, number=f"2026-B-{a.pk:07d}",
                    title=a.title, granted_amount=Decimal("123456.78"), established_at=now)
            for a in apps
        ])
        agreements = TaskAgreement.objects.bulk_create([
            TaskAgreement(project=p, number=f"{p.number}-RWS", fiscal_amount=Decimal("123456.78"),
                          start_date=today, end_date=today, state="signed", signed_at=now,
                          paid_total=Decimal("74074.07"))
            for p in projects
        ])
        tranches = Tranche.objects.bulk_create([
            Tranche(agreement=a, position=1, name="首期", amount=Decimal("74074.07"), condition="signing",
                    state="paid", paid_amount=Decimal("74074.07"))
            for a in agreements
        ])
        Disbursement.objects.bulk_create([
            Disbursement(agreement_id=t.agreement_id, tranche=t, amount=Decimal("74074.07"),
                         voucher_no=f"ZJNX{t.pk:012d}", paid_on=today, idempotency_key=f"bench-{t.pk:012d}",
                         state="approved", recorded_by=clerk, recorded_at=now, decided_by=approver, decided_at=now)
            for t in tranches
        ])


def measure(build_response) -> tuple[float, int, int]:
    tracemalloc.start()
    t0 = time.perf_counter()
    response = build_response()
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - t0
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    return seconds, peak, size


def main(sizes: list[int]) -> None:
    call_command("migrate", verbosity=0)
    results = {}
    for n in sizes:
        t0 = time.perf_counter()
        build(n)
        print(f"built {n:,} agreements in {time.perf_counter() - t0:.1f} s")
        for name, fn in (
            ("ledger", lambda: exports.ledger_xlsx(TaskAgreement.objects.all())),
            ("disbursements", lambda: exports.disbursements_xlsx(Disbursement.objects.all())),
        ):
            seconds, peak, size = measure(fn)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            results[(n, name)] = peak
            print(f"  {name:14s} {n:>8,} rows  {seconds:6.1f} s  peak Python allocations {peak / 2**20:6.1f} MiB  "
                  f"process peak RSS {rss:6.0f} MiB  file {size / 2**20:5.1f} MiB")
    small, large = min(sizes), max(sizes)
    for name in ("ledger", "disbursements"):
        ratio = results[(large, name)] / results[(small, name)]
        print(f"{name}: peak allocations at {large:,} rows ÷ at {small:,} rows = {ratio:.2f} "
              f"(rows ×{large / small:.0f})")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    main(sorted(args))

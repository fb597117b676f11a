"""Benchmark: list pages and list endpoints stay flat as the number of applications grows.

Builds a throw-away database (SQLite under a temp dir by default, or DATABASE_URL) with N applications
for each size, then times the pages a user opens most and counts their SQL queries.

    .venv/bin/python benchmarks/list_pages.py              # sizes 1000 and 20000
    .venv/bin/python benchmarks/list_pages.py 500 5000     # other sizes
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kj_bench .venv/bin/python benchmarks/list_pages.py

Prints, per size and page: median milliseconds over 15 requests, the number of queries, and the ratio
of the largest size's median to the smallest's (1.0 = does not grow with the data).
"""

import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KJ_VAR_DIR", tempfile.mkdtemp(prefix="kj-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kjproject.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
os.environ.setdefault("AXES_ENABLED", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Organization, User  # noqa: E402
from accounts.tests.factories import OrganizationFactory, UserFactory  # noqa: E402
from projects.models import Application, BudgetLine  # noqa: E402
from projects.tests.factories import CallFactory  # noqa: E402

settings.ALLOWED_HOSTS = ["*"]
settings.DEBUG = False
# no collectstatic here: plain static storage instead of the manifest one
settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
REPEAT = 15


def build(n: int):
    """n applications: a third of them in the user's organisation, all reached the bureau."""
    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    call = CallFactory()
    orgs = [OrganizationFactory() for _ in range(30)]
    home = orgs[0]
    applicant = UserFactory(organization=home, roles=["applicant", "org_admin"])
    officer = UserFactory(roles=["officer"], is_staff=True)
    now = timezone.now()
    apps = [
        Application(
            call=call,
            organization=home if i % 3 == 0 else orgs[1 + i % 29],
            created_by=applicant,
            number=f"B-{i:07d}",
            title=f"基准测试项目{i}",
            leader_name=f"负责人{i}",
            state=Application.State.ENDORSED,
            revision=1,
            submitted_at=now,
            reached_bureau_at=now,
        )
        for i in range(n)
    ]
    Application.objects.bulk_create(apps, batch_size=2000)
    ids = list(Application.objects.values_list("pk", flat=True))
    BudgetLine.objects.bulk_create(
        [
            BudgetLine(application_id=pk, category=c, fiscal_amount=Decimal("100000.10"), self_amount=Decimal("100000.20"))
            for pk in ids
            for c in ("equipment", "business")
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have by then
        cursor.execute("ANALYZE")
    return applicant, officer


PAGES = [
    ("applicant", "/portal/applications/"),
    ("applicant", "/api/applications/"),
    ("officer", "/portal/formal-review/"),
    ("officer", "/api/applications/?ordering=-fiscal_total"),
    (None, "/"),
    (None, "/api/calls/"),
]


def measure(client, url):
    client.get(url)  # warm
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(times), len(ctx.captured_queries)


def main(sizes):
    print(f"database: {connection.vendor}; {REPEAT} requests per page, median ms")
    results = {}
    for n in sizes:
        applicant, officer = build(n)
        clients = {None: Client()}
        for name, user in (("applicant", applicant), ("officer", officer)):
            c = Client()
            c.force_login(user)
            clients[name] = c
        for who, url in PAGES:
            results[(n, who, url)] = measure(clients[who], url)
        reset_queries()
    header = f"{'page':<48}" + "".join(f"{f'N={n}':>18}" for n in sizes) + f"{'ratio':>8}"
    print(header)
    for who, url in PAGES:
        cells = "".join(f"{results[(n, who, url)][0]:>9.1f} ms {results[(n, who, url)][1]:>3}q" for n in sizes)
        ratio = results[(sizes[-1], who, url)][0] / results[(sizes[0], who, url)][0]
        print(f"{(who or 'anonymous') + ' ' + url:<48}{cells}{ratio:>8.2f}")
    print(f"users: {User.objects.count()}, organisations: {Organization.objects.count()}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 20000])

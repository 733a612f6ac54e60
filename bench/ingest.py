"""Cost ingest throughput on PostgreSQL: the portal's COPY + upsert path, its row-by-row path, and a plain
COPY of the same rows into a table, in rows/s, with the process's peak memory. Uses its own environment
(`bench-ingest`), removed afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/peakportal_bench .venv/bin/python bench/ingest.py --rows 100000
"""

import argparse
import os
import resource
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from portal.catalog.models import Environment  # noqa: E402
from portal.costs import services  # noqa: E402
from provisioning.cost import CostRow  # noqa: E402

MONTH = date(2026, 10, 1)


def answer(n: int, factor: int = 1):
    """n rows of one month: 31 days x services x agents, generated (never all in memory)."""
    for i in range(n):
        yield CostRow(MONTH + timedelta(days=i % 31), f"Service {i // 31 % 10}", "holidaypeakhub-bench-rg",
                      f"agent-{i // 310:06d}", Decimal(i % 997) / 100 * factor, "USD")


def timed(label, fn, n):
    start = time.perf_counter()
    with transaction.atomic():
        fn()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {n:,} | {seconds:.1f} s | {n / seconds:,.0f} | {peak:,.0f} MB |", flush=True)
    return n / seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("Needs PostgreSQL: set DATABASE_URL=postgres://...")
    env, _ = Environment.objects.get_or_create(name="bench-ingest", defaults=dict(
        tier="development", position=99, resource_group="holidaypeakhub-bench-rg", aks_cluster="bench"))
    n = args.rows
    print("| what | rows | time | rows/s | peak RSS (process so far) |\n|---|---|---|---|---|")
    try:
        def plain_copy():
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMPORARY TABLE plain_copy (date date, service text, resource_group text, "
                               "agent text, cost numeric, currency text) ON COMMIT DROP")
                with cursor.cursor.copy("COPY plain_copy FROM STDIN") as copy:
                    for r in answer(n):
                        copy.write_row((r.date, r.service_name, r.resource_group, r.agent, r.cost, r.currency))
        base = timed("plain COPY into a table", plain_copy, n)
        copy_first = timed("ingest, COPY + upsert (first)", lambda: services.cost_entries_store(
            environment=env, month=MONTH, rows=answer(n)), n)
        timed("ingest, COPY + upsert (again, every cost changed)", lambda: services.cost_entries_store(
            environment=env, month=MONTH, rows=answer(n, factor=2)), n)
        env.cost_entries.all().delete()
        timed("ingest, row-by-row upsert (first; before #11)", lambda: services._cost_entries_upsert(
            environment=env, month=MONTH, rows=answer(n)), n)
        print(f"\nCOPY + upsert at {100 * copy_first / base:.0f}% of plain COPY.")
    finally:
        env.cost_entries.all().delete()
        env.cost_months.all().delete()
        env.delete()


if __name__ == "__main__":
    main()

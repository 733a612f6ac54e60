"""Cost ingest throughput on PostgreSQL: the portal's COPY path, its row-by-row path, and plain COPY of the same
rows, in rows/s, with the CPU it took and the process's peak memory. Uses its own environment (`bench-ingest`),
removed afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/peakportal_bench .venv/bin/python bench/ingest.py --rows 100000

Two plain COPYs are the yardsticks: into a temporary table (no index, no WAL, no foreign key: the fastest
PostgreSQL takes these rows at all), and into costs_costentry itself (the table the ingest fills, with its
indexes, its WAL and its deferred foreign key check at commit: the least that storing these rows there costs).
The ingest runs first into an empty month, then again three times: the last day's cost changed (what an hourly
ingest of Azure sees), every cost changed, nothing changed (the sandbox, hour after hour). The CPU column is this
process's and, when PostgreSQL runs on this machine, its backend's: steadier than the wall clock when the
machine is busy."""

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

from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.catalog.models import Environment  # noqa: E402
from portal.costs import services  # noqa: E402
from portal.costs.models import CostEntry  # noqa: E402
from provisioning.cost import CostRow  # noqa: E402

MONTH = date(2026, 10, 1)


def answer(n: int, factor: int = 1, days: int = 31):
    """n rows of one month: 31 days x services x agents, generated (never all in memory). With `factor`, the
    cost of the last `days` days of the month is multiplied by it."""
    for i in range(n):
        day = i % 31
        yield CostRow(MONTH + timedelta(days=day), f"Service {i // 31 % 10}", "holidaypeakhub-bench-rg",
                      f"agent-{i // 310:06d}", Decimal(i % 997) / 100 * (factor if day >= 31 - days else 1), "USD")


def backend_cpu():
    """CPU seconds PostgreSQL's process for this connection has used, when it runs on this machine (else None):
    with the client's, steadier than the wall clock on a busy machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label, fn, n):
    settle()
    server, client, start = backend_cpu(), time.process_time(), time.perf_counter()
    with transaction.atomic():
        fn()
    seconds = time.perf_counter() - start
    client = time.process_time() - client
    server = backend_cpu() - server if server is not None else None
    cpu = f"{client:.2f} + {server:.2f} s" if server is not None else f"{client:.2f} s + ?"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {n:,} | {seconds:.1f} s | {n / seconds:,.0f} | {cpu} | {peak:,.0f} MB |", flush=True)
    return n / seconds, client + server if server is not None else None


def settle():
    """Each run starts alike: the table vacuumed and, where allowed (a superuser or pg_checkpoint), the WAL of
    the runs before it checkpointed, so no run pays for the writes of the one before."""
    with connection.cursor() as cursor:  # outside a transaction
        cursor.execute(f"VACUUM {connection.ops.quote_name(CostEntry._meta.db_table)}")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-row-by-row", action="store_true", help="skip the row-by-row path (slow, big)")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("Needs PostgreSQL: set DATABASE_URL=postgres://...")
    env, _ = Environment.objects.get_or_create(name="bench-ingest", defaults=dict(
        tier="development", position=99, resource_group="holidaypeakhub-bench-rg", aks_cluster="bench"))
    n = args.rows
    print("| what | rows | time | rows/s | CPU (this process + PostgreSQL's) | peak RSS (process so far) |\n"
          "|---|---|---|---|---|---|")
    try:
        def temp_copy():
            with connection.cursor() as cursor:
                cursor.execute("CREATE TEMPORARY TABLE plain_copy (date date, service text, resource_group text, "
                               "agent text, cost numeric, currency text) ON COMMIT DROP")
                with cursor.cursor.copy("COPY plain_copy FROM STDIN") as copy:
                    for r in answer(n):
                        copy.write_row((r.date, r.service_name, r.resource_group, r.agent, r.cost, r.currency))

        def table_copy():
            now = timezone.now()
            with connection.cursor() as cursor:
                with cursor.cursor.copy(f"COPY {CostEntry._meta.db_table} (environment_id, date, service, "
                                        "resource_group, agent, cost, currency, updated_at) FROM STDIN") as copy:
                    for r in answer(n):
                        copy.write_row((env.pk, r.date, r.service_name, r.resource_group, r.agent, r.cost, r.currency,
                                        now))

        def ingest(**kwargs):
            return lambda: services.cost_entries_store(environment=env, month=MONTH, rows=answer(n, **kwargs))

        temp = timed("plain COPY into a temporary table (no index, no WAL, no foreign key)", temp_copy, n)
        table = timed("plain COPY into costs_costentry (its indexes, WAL, foreign key)", table_copy, n)
        env.cost_entries.all().delete()
        first = timed("ingest, COPY path (first)", ingest(), n)
        timed("ingest, COPY path (again, the last day's cost changed)", ingest(factor=2, days=1), n)
        timed("ingest, COPY path (again, every cost changed)", ingest(factor=3), n)
        timed("ingest, COPY path (again, nothing changed)", ingest(factor=3), n)
        if not args.no_row_by_row:
            env.cost_entries.all().delete()
            timed("ingest, row-by-row upsert (first; before #11)", lambda: services._cost_entries_upsert(
                environment=env, month=MONTH, rows=answer(n)), n)
        print(f"\nThe COPY path's first ingest, in rows/s, at {100 * first[0] / temp[0]:.0f}% of plain COPY into a "
              f"temporary table and {100 * first[0] / table[0]:.0f}% of plain COPY into costs_costentry", end="")
        if first[1]:
            print(f"; by CPU at {100 * temp[1] / first[1]:.0f}% and {100 * table[1] / first[1]:.0f}%", end="")
        print(".")
    finally:  # an empty answer takes the rows and the rollups away (the totals over the environments too)
        services.cost_month_refresh(environment=env, month=MONTH)
        services.cost_entries_store(environment=env, month=MONTH, rows=[])
        env.delete()


if __name__ == "__main__":
    main()

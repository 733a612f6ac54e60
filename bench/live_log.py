"""A live run's log on its page: how long a line takes from its write to the page, at 1,000 lines a second.

    createdb -h 127.0.0.1 -U postgres peakportal_livelog      # once; the script migrates it
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/peakportal_livelog .venv/bin/python bench/live_log.py

Serves the portal as bench/run.py does (gunicorn, bench.settings, DEBUG off), makes a running run through the
portal's models, and for `--duration` seconds writes `--rate` lines a second through the portal's own log
path (services.deployment_log: one call, one transaction, per batch of `--batch-ms`, as the worker writes
them). Meanwhile `--viewers` signed-in people follow the run page as htmx does: each loads the page, then
requests what its log tail names (`#log-tail`'s hx-get: at once when its trigger is `load`, after the
interval of `every ...` otherwise, the next tail from each answer) until an answer is 286. At the end the run
succeeds (services.deployment_transition), so the polls stop as they do on the page.

Prints, per line, the time from its write (the call to deployment_log) to the first answer that carries it
(p50, p99, max), lines seen against written (in order, without gaps or repeats), the polls, and whether the
page kept up: how far behind it was when the writing stopped, and how long it took to show the last line.
A line shows when its answer arrives; the browser's own swap adds a little more. Not run by CI.

The script writes rows: it refuses a database holding runs it did not make (a seeded one) unless told.
"""

import argparse
import http.client
import os
import re
import statistics
import sys
import threading
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peakportal_livelog")
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench.run import serve, session_cookie  # noqa: E402  (sets Django up)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from portal.accounts import roles  # noqa: E402
from portal.accounts.services import user_create_with_role  # noqa: E402
from portal.catalog.models import Environment  # noqa: E402
from portal.deployments.choices import ACTIVE, DeploymentStatus, LogLevel  # noqa: E402
from portal.deployments.models import Deployment  # noqa: E402
from portal.deployments.services import deployment_log, deployment_transition  # noqa: E402

TEMPLATE = "live-log-bench"
VIEWER = "livelog"
SEQ = re.compile(r'data-seq="(\d+)"')
TAIL = re.compile(r'<(?:div|a)\b[^>]*\bid="log-tail"[^>]*>')
ATTR = re.compile(r'\b(hx-get|hx-trigger)="([^"]*)"')
EVERY = re.compile(r"every\s+(\d+(?:\.\d+)?)(ms|s)\b")


def database_ready(*, any_database: bool) -> None:
    """Create the database if it is missing, migrate it, and refuse one seeded by somebody else."""
    import psycopg

    settings = connection.settings_dict
    try:
        connection.ensure_connection()
    except Exception:  # noqa: BLE001 - missing database: create it from the server's maintenance database
        with psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                             password=settings["PASSWORD"] or None, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    call_command("migrate", interactive=False, verbosity=0)
    if not any_database and Deployment.objects.exclude(template=TEMPLATE).exists():
        sys.exit(f"{settings['NAME']} holds runs this script did not make (a seeded database?); it writes rows. "
                 "Use a database of its own, or --any-database.")


def new_run() -> Deployment:
    if not Environment.objects.exists():
        from portal.catalog.demo import demo_load

        demo_load()
    user_create_with_role(username=VIEWER, password="livelog-bench-2026", role=roles.VIEWER)
    # A run left running by an interrupted bench would hold the environment's one active slot for the template.
    Deployment.objects.filter(template=TEMPLATE, status__in=ACTIVE).update(status=DeploymentStatus.CANCELLED,
                                                                           finished_at=timezone.now())
    environment = Environment.objects.order_by("position").first()
    return Deployment.objects.create(environment=environment, template=TEMPLATE, status=DeploymentStatus.RUNNING,
                                     started_at=timezone.now(), attempts=1)


class Writer(threading.Thread):
    """`rate` lines a second for `duration` seconds, one deployment_log call a batch, on a fixed schedule."""

    def __init__(self, run_pk: int, *, rate: int, batch_ms: int, duration: float):
        super().__init__(name="writer")
        self.run_pk, self.duration, self.every = run_pk, duration, batch_ms / 1000
        self.per_batch = max(1, round(rate * self.every))
        self.batches: list[tuple[int, int, float]] = []   # (first seq, last seq, when the write began)
        self.commit_ms: list[float] = []
        self.began = self.ended = 0.0

    def run(self):
        seq, k = 0, 0
        self.began = time.monotonic()
        try:
            while k * self.every < self.duration:
                pause = self.began + k * self.every - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                lines = [(LogLevel.INFO, f"Microsoft.Cache/redis redis-{(seq + i) % 50}: Running "
                                         f"(line {seq + i}, provisioning state reported by ARM)")
                         for i in range(1, self.per_batch + 1)]
                start = time.monotonic()
                deployment_log(self.run_pk, lines)
                self.commit_ms.append((time.monotonic() - start) * 1000)
                self.batches.append((seq + 1, seq + self.per_batch, start))
                seq, k = seq + self.per_batch, k + 1
            self.ended = time.monotonic()
        finally:
            connection.close()

    def written_at(self) -> dict[int, float]:
        return {s: at for first, last, at in self.batches for s in range(first, last + 1)}


class Viewer(threading.Thread):
    """One person on the run page: the page, then its log tail's requests, as htmx makes them."""

    def __init__(self, port: int, cookie: str, path: str, name: str):
        super().__init__(name=name)
        self.port, self.cookie, self.path = port, cookie, path
        self.seen: dict[int, float] = {}
        self.order: list[int] = []
        self.polls: list[tuple[float, int, int, float]] = []   # (ms, lines, bytes, when it arrived)
        self.stopped_by = ""
        self.stop = threading.Event()

    def fetch(self, conn, path: str, htmx: bool) -> tuple[int, str]:
        headers = {"Cookie": self.cookie, **({"HX-Request": "true"} if htmx else {})}
        start = time.monotonic()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read().decode()
        now = time.monotonic()
        seqs = [int(n) for n in SEQ.findall(body)]
        for seq in seqs:
            if seq not in self.seen:
                self.seen[seq] = now
            self.order.append(seq)
        if htmx:
            self.polls.append(((now - start) * 1000, len(seqs), len(body), now))
        return response.status, body

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            status, body = self.fetch(conn, self.path, htmx=False)
            while not self.stop.is_set():
                if status == 286:
                    self.stopped_by = "286"
                    return
                tail = TAIL.search(body)
                attrs = dict(ATTR.findall(tail.group(0))) if tail else {}
                if "hx-get" not in attrs:
                    self.stopped_by = "no more polls in the tail"
                    return
                trigger = attrs.get("hx-trigger", "click")
                if trigger != "load":
                    every = EVERY.search(trigger)
                    if every is None:   # e.g. the "Show the next lines" button: a person would have to click
                        self.stopped_by = f"a tail that waits for a {trigger}"
                        return
                    value, unit = every.groups()
                    time.sleep(float(value) / (1000 if unit == "ms" else 1))
                status, body = self.fetch(conn, unescape(attrs["hx-get"]), htmx=True)
        finally:
            conn.close()


def warm(port: int, cookie: str, path: str, *, workers: int) -> float:
    """Until every worker answers the page quickly: each one's first request imports the URLs and views
    (seconds of CPU), which a person arriving later never waits for. Returns the seconds it took."""
    from bench.run import get

    began = time.monotonic()
    while time.monotonic() - began < 300:
        times = []

        def one():
            start = time.monotonic()
            get(port, path, {"Cookie": cookie})
            times.append(time.monotonic() - start)

        threads = [threading.Thread(target=one) for _ in range(workers * 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if max(times) < 0.5:
            break
    return time.monotonic() - began


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return (values[0],) * 3 if values else (0.0, 0.0, 0.0)
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[98], max(values)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000, help="log lines a second (default 1000)")
    parser.add_argument("--batch-ms", type=int, default=100, help="one deployment_log call every ... ms (default 100)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of writing (default 20)")
    parser.add_argument("--viewers", type=int, default=1, help="people following the page (default 1)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--target-ms", type=float, default=1000, help="the issue's target for a line (default 1000)")
    parser.add_argument("--any-database", action="store_true", help="write even to a database with other runs")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL=postgres://... (a database of its own; the script creates and migrates it).")

    database_ready(any_database=args.any_database)
    run = new_run()
    cookie = session_cookie(VIEWER)
    connection.close()   # the threads open their own
    print(f"Run #{run.pk}: {args.rate} lines/s in batches of {args.batch_ms} ms for {args.duration:g} s, "
          f"{args.viewers} viewer(s), {args.workers} gunicorn workers, database {connection.settings_dict['NAME']}")
    with serve(workers=args.workers) as port:
        path = urlsplit(run.get_absolute_url()).path
        print(f"Workers warm after {warm(port, cookie, path, workers=args.workers):.0f} s")
        viewers = [Viewer(port, cookie, path, f"viewer-{i}") for i in range(args.viewers)]
        for viewer in viewers:
            viewer.start()
        writer = Writer(run.pk, rate=args.rate, batch_ms=args.batch_ms, duration=args.duration)
        writer.start()
        writer.join()
        deployment_transition(Deployment.objects.get(pk=run.pk), DeploymentStatus.SUCCEEDED)
        connection.close()
        for viewer in viewers:
            viewer.join(timeout=60)
            viewer.stop.set()

    written = writer.written_at()
    total = len(written)
    print(f"\nWritten: {total:,} lines in {writer.ended - writer.began:.1f} s "
          f"({total / (writer.ended - writer.began):,.0f} lines/s), {len(writer.batches)} batches, "
          f"deployment_log p50 {statistics.median(writer.commit_ms):.1f} ms, max {max(writer.commit_ms):.1f} ms")
    kept_up_all = True
    for viewer in viewers:
        latencies = [(viewer.seen[s] - at) * 1000 for s, at in written.items() if s in viewer.seen]
        p50, p99, worst = percentiles(latencies)
        in_order = viewer.order == sorted(viewer.seen) == list(range(1, len(viewer.seen) + 1))
        behind = total - sum(1 for s, at in viewer.seen.items() if at <= writer.ended)
        last_seen = max(viewer.seen.values(), default=writer.ended)
        catch_up = max(0.0, last_seen - writer.ended)
        poll_ms = [p[0] for p in viewer.polls]
        q50, q99, qmax = percentiles(poll_ms)
        capped = sum(1 for p in viewer.polls if p[1] >= 500)
        kept_up = len(viewer.seen) == total and in_order and p99 <= args.target_ms and catch_up * 1000 <= args.target_ms
        kept_up_all &= kept_up
        print(f"\n{viewer.name}: saw {len(viewer.seen):,} of {total:,} lines"
              f"{', in order, no gaps or repeats' if in_order else ', NOT in order or with gaps/repeats'}; "
              f"polling stopped by {viewer.stopped_by or 'the timeout'}")
        print(f"  line latency, write to the page: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, max {worst:,.0f} ms "
              f"(target {args.target_ms:,.0f} ms)")
        print(f"  polls: {len(viewer.polls)} ({len(viewer.polls) / max(0.001, last_seen - writer.began):.1f}/s), "
              f"{statistics.mean(p[1] for p in viewer.polls) if viewer.polls else 0:,.0f} lines and "
              f"{statistics.mean(p[2] for p in viewer.polls) / 1024 if viewer.polls else 0:,.1f} KB each on average, "
              f"{capped} at the page limit; answered in p50 {q50:,.0f} ms, p99 {q99:,.0f} ms, max {qmax:,.0f} ms")
        print(f"  kept up: {'yes' if kept_up else 'NO'} ({behind:,} lines behind when the writing stopped, "
              f"the last line shown {catch_up * 1000:,.0f} ms after it)")
    return 0 if kept_up_all else 1


if __name__ == "__main__":
    sys.exit(main())

"""Serve the portal as in production (gunicorn, PostgreSQL, DEBUG off) and load every page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/peakportal_bench .venv/bin/python bench/run.py

Seed first (bench/seed.py). For each page: one request for its size and SQL (the X-Bench-* headers
of bench.middleware), then `--concurrency` clients for `--duration` seconds with wrk (Debian: `apt-get
install wrk`) or, without wrk, Python threads. Prints req/s, p50, p99, size, queries, SQL time and the
ratio of req/s to the baseline page (signed in, base.html, no query of its own) as a Markdown table. The baseline is
measured again right before each page (`--baseline each`, the default) and each ratio is to that measurement: the
machine's speed drifts during a run (a VM's neighbours), and a ratio of two measurements minutes apart carried it.
"""

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402

from bench.pages import pages  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(username: str) -> str:
    """A session made by Django's own login (its signals run, as at a real sign-in)."""
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return f"sessionid={client.cookies['sessionid'].value}"


@contextlib.contextmanager
def serve(*, workers: int = 4):
    """`gunicorn bench.wsgi` as in production (sync workers, DEBUG off) on a free port: yields the port once it
    accepts connections, stops the server after."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "bench.wsgi", "-b", f"127.0.0.1:{port}",
                               "-w", str(workers), "--timeout", "120", "--log-level", "warning"],
                              cwd=ROOT, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


# What a browser sends with every request: the sizes are what goes over the wire (the portal compresses its CSV
# exports; its HTML pages, which hold the CSRF token, it does not).
BROWSER = {"Accept-Encoding": "gzip, deflate, br"}


def get(port, path, headers) -> tuple[int, int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, len(body), {k.lower(): v for k, v in response.getheaders()}


def _ms(text: str) -> float | None:
    found = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not found:
        return None
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def load_wrk(port, path, headers, *, concurrency, duration) -> dict:
    args = ["wrk", f"-c{concurrency}", "-t2", f"-d{duration}s", "--latency", "--timeout", "120s"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": _ms(p50.group(1)) if p50 else None,
            "p99": _ms(p99.group(1)) if p99 else None, "errors": int(errors.group(1)) if errors else 0}


def load_python(port, path, headers, *, concurrency, duration) -> dict:
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + duration

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)
                errors[0] += response.status >= 400
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not latencies:
        return {"rps": 0.0, "p50": None, "p99": None, "errors": errors[0]}
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {"rps": len(latencies) / (time.monotonic() - begin), "p50": q[49], "p99": q[98], "errors": errors[0]}


def size(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load a page (default 10)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="seconds of the same load before each page's measured run, not counted (default 2): every "
                             "worker has compiled its templates and opened its connection, so p99 is the steady state")
    parser.add_argument("--only", default="", help="run only pages whose name contains this")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each page (and, with --baseline each, its baseline) this many times and print "
                             "the medians: on a busy machine one 10 s measurement moves by 10-15%%")
    parser.add_argument("--baseline", choices=["each", "once"], default="each",
                        help="measure the baseline page right before each page and give each page's ratio to that "
                             "(default: the machine's speed drifts over a run) or once, first")
    parser.add_argument("--user", default="bench", help="the signed-in user (bench/seed.py creates `bench`)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("Note: not PostgreSQL; set DATABASE_URL=postgres://... for figures that mean something.")

    cookie = session_cookie(args.user)
    with serve(workers=args.workers) as port:
        load = load_wrk if args.client == "wrk" else load_python
        print(f"{args.workers} gunicorn workers, {args.concurrency} clients ({args.client}), {args.duration} s a page, "
              f"database {connection.settings_dict['NAME']}\n")
        print("| page | req/s | p50 ms | p99 ms | size | queries | SQL ms | baseline req/s | vs baseline |")
        print("|---|---|---|---|---|---|---|---|---|")
        every = pages()
        _, base_path, base_extra = every[0]
        base_headers = {"Cookie": cookie, **BROWSER, **base_extra}
        baseline = None

        def measure(path, headers):
            if args.warmup:
                load(port, path, headers, concurrency=args.concurrency, duration=args.warmup)
            return load(port, path, headers, concurrency=args.concurrency, duration=args.duration)

        for name, path, extra in every:
            if args.only and args.only not in name and not name.startswith("baseline"):
                continue
            headers = {"Cookie": cookie, **BROWSER, **extra}
            get(port, path, headers)  # warm the workers' caches once: the size and SQL below are the steady state
            status, length, response_headers = get(port, path, headers)
            if status >= 300:  # a redirect is the sign-in page, not the page
                print(f"| {name} | HTTP {status} | | | | | | | |")
                continue
            pairs = []
            for _ in range(max(1, args.repeat)):
                if path != base_path and (args.baseline == "each" or baseline is None):
                    baseline = measure(base_path, base_headers)["rps"]   # the machine as it is now (each: paired)
                result = measure(path, headers)
                pairs.append((result, result["rps"] if path == base_path else baseline))
            result = {key: statistics.median(r[key] for r, _ in pairs if r[key] is not None)
                      if any(r[key] is not None for r, _ in pairs) else None for key in ("rps", "p50", "p99")}
            result["errors"] = sum(r["errors"] for r, _ in pairs)
            ratio = statistics.median(r["rps"] / b for r, b in pairs if b)
            baseline = statistics.median(b for _, b in pairs)
            fmt = lambda v: "" if v is None else f"{v:,.0f}" if v >= 10 else f"{v:.1f}"  # noqa: E731
            print(f"| {name} | {fmt(result['rps'])} | {fmt(result['p50'])} | {fmt(result['p99'])} | {size(length)} "
                  f"| {response_headers.get('x-bench-queries', '?')} | {response_headers.get('x-bench-sql-ms', '?')} "
                  f"| {fmt(baseline)} | {100 * ratio:.0f}%"
                  f"{' (errors: %d)' % result['errors'] if result['errors'] else ''} |", flush=True)


if __name__ == "__main__":
    main()

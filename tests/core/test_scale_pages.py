"""Issue #11: every page the benchmark loads runs the same number of queries at two seeded sizes and stays
under 200 KB with thousands of rows (seeded through bench/seed.py, as the benchmark does)."""

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.pages import pages
from bench.seed import BENCH_USER, seed

TODAY = date(2026, 11, 30)
MAX_BYTES = 200 * 1024


def fetch(client, url, headers):
    if url.startswith("/costs/"):
        url += ("&" if "?" in url else "?") + f"month={TODAY:%Y-%m}"   # the seeded month, not today's
    cache.clear()  # each page as when nothing is kept: a long list's total counted by another page is not reused
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code in (200, 286), (url, response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return len(ctx.captured_queries), len(body)


def measure(client):
    return {name: fetch(client, url, headers) for name, url, headers in pages() if not url.startswith("/bench/")}


@pytest.mark.slow
@pytest.mark.django_db
def test_every_page_has_the_same_queries_at_two_sizes_and_stays_small(client):
    quiet = dict(today=TODAY, log_lines=1, results_per_check=2, cost_days=35, out=lambda *a: None)
    seed(agents=5, **quiet)
    from django.contrib.auth import get_user_model
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    small = measure(client)
    seed(agents=400, **quiet)          # 1,200 placements, 4,000 runs, ~7,000 cost rows, 1,200 checks
    large = measure(client)

    assert set(small) == set(large) and len(small) >= 18
    grew = {name: (small[name][0], large[name][0]) for name in small if small[name][0] != large[name][0]}
    assert not grew, f"queries grew with the rows: {grew}"
    too_big = {name: size for name, (_, size) in large.items() if size > MAX_BYTES}
    assert not too_big, f"pages over 200 KB with 400 agents: {too_big}"

"""One way to page a list (issue #11): a page never renders every row of a table that grows with the platform."""

import hashlib
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import QuerySet

# A list up to this long is counted on every request; a longer one's total is counted once and kept for
# LONG_COUNT_SECONDS (#11: COUNT(*) over 100,000 runs read the whole index, 8-17 ms a page at 10,000 agents, while
# the page's 50 rows took 2 ms). The rows are always read live: a new run is on the first page at once, only
# "of 100,001" may lag by a few seconds.
EXACT_COUNT = 1000
LONG_COUNT_SECONDS = 30


def page_of(request, object_list, *, per_page: int | None = None, param: str = "page", rows=None) -> Page:
    """The page `?page=` asks for (the last one when past the end, the first when malformed): one COUNT
    and one query for the rows, however long the list. `rows`: a function making the page's objects into the
    plain rows its table shows (e.g. deployments.selectors.run_rows, #11)."""
    if isinstance(object_list, QuerySet):
        object_list = Counted(object_list, list_count(object_list))
    page = Paginator(object_list, per_page or settings.PORTAL_PAGE_SIZE).get_page(request.GET.get(param))
    if rows is not None:
        page.object_list = rows(page.object_list)
    return page


def kept_count(key: str, count: Callable[[], int]) -> int:
    """page_of's rule for a list's total: `count()` on every call up to EXACT_COUNT; a longer total kept
    LONG_COUNT_SECONDS in the cache under `key` and read from there."""
    total = kept_total(key)
    if total is None:
        total = keep_total(key, count())
    return total


def kept_total(key: str) -> int | None:
    """The total kept under `key` by keep_total, or None: count it (in a statement of the caller's own, e.g. beside
    other figures of the page) and give it to keep_total."""
    return cache.get(key)


def keep_total(key: str, total: int) -> int:
    """Keep `total` under `key` if it is over EXACT_COUNT (kept_count's rule); returns it."""
    if total > EXACT_COUNT:
        cache.set(key, total, LONG_COUNT_SECONDS)
    return total


def _count_key(sql: str, params) -> str:
    return "list-count:" + hashlib.sha256(repr((sql, tuple(params))).encode()).hexdigest()


def list_count(queryset: QuerySet) -> int:
    """How many rows `queryset` has: one COUNT, exact, kept LONG_COUNT_SECONDS in the cache (per statement) when
    it is over EXACT_COUNT and then read from there. One query or none, so a page's queries do not grow with its
    list (tests/core/test_scale_pages.py)."""
    sql, params = queryset.order_by().query.sql_with_params()
    return kept_count(_count_key(sql, params), queryset.count)


def sql_count(sql: str, params: Sequence) -> int:
    """list_count's count of a COUNT statement written by hand (the ORM took longer to build a list's COUNT than
    PostgreSQL, which the cache spares, to answer it, #11)."""
    def count() -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    return kept_count(_count_key(sql, params), count)


class PagedRows:
    """Rows for page_of: counted once (`counted`: a number already known, the (sql, params) of a COUNT written by
    hand, counted by sql_count, or a queryset, by list_count) and a page's slice read by `read(limit, offset)`,
    one statement."""

    ordered = True

    def __init__(self, counted: int | tuple[str, Sequence] | QuerySet, read: Callable[[int, int], list]):
        if isinstance(counted, int):
            count = counted
        elif isinstance(counted, tuple):
            count = sql_count(*counted)
        else:
            count = list_count(counted.select_related(None))
        self._count, self._read = count, read

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: slice) -> list:
        start = key.start or 0
        return self._read(max(0, key.stop - start), start)


class Counted:
    """A queryset whose length is already known (or cheaper to count another way): the Paginator asks it for
    `count()` and slices it for the page, so the page's rows stay one query and the count is the caller's."""

    def __init__(self, queryset, count: int):
        self.queryset, self._count = queryset, count
        self.ordered = getattr(queryset, "ordered", True)

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key):
        return self.queryset[key]

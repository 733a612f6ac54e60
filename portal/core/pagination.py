"""One way to page a list (issue #11): a page never renders every row of a table that grows with the platform."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
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


def list_count(queryset: QuerySet) -> int:
    """How many rows `queryset` has: one COUNT, exact, kept LONG_COUNT_SECONDS in the cache (per statement) when
    it is over EXACT_COUNT and then read from there. One query or none, so a page's queries do not grow with its
    list (tests/core/test_scale_pages.py)."""
    sql, params = queryset.order_by().query.sql_with_params()
    key = "list-count:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    total = cache.get(key)
    if total is None:
        total = queryset.count()
        if total > EXACT_COUNT:
            cache.set(key, total, LONG_COUNT_SECONDS)
    return total


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

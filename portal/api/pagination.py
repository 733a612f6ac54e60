"""Page-number pagination for every list: ?page=&page_size=, answered with items, count and the next page."""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import PaginationBase

from portal.core.pagination import list_count, sql_count
from portal.core.sql import fetch

MAX_PAGE_SIZE = 200


class Mapped:
    """A queryset (or list) whose rows are turned into dicts only for the page that is served. With `values`,
    the page is read as plain rows, queryset.values(*values), for `fn` (no model instances), while the count
    stays the queryset's own (without the joins those values may add). With `then`, the page's items pass through
    it as one list (to add what one more query reads for the whole page, such as each item's children)."""

    def __init__(self, rows, fn, *, values: tuple[str, ...] = (), then=None):
        self.rows, self.fn, self.values, self.then = rows, fn, values, then

    def count(self) -> int:  # "count" exact up to EXACT_COUNT, a long list's as of a few seconds ago (#11)
        return list_count(self.rows) if hasattr(self.rows, "model") else len(self.rows)

    def __getitem__(self, window: slice) -> list:
        page = self.rows[window]
        items = [self.fn(row) for row in (page.values(*self.values) if self.values else page)]
        return self.then(items) if self.then else items


class Statement:
    """A list read by hand-written SQL (portal/api/selectors.py): counted by `count_sql` as list_count counts a
    queryset (exact up to EXACT_COUNT; a longer list's total kept LONG_COUNT_SECONDS), a page read by `page_sql`
    (ending in LIMIT %s OFFSET %s), its columns converted as the ORM converts `fields` (portal.core.sql.fetch),
    each row made an item by `fn` and the page's items passed to `then` as one list, as Mapped does."""

    def __init__(self, page_sql: str, count_sql: str, params: list, fields, fn, *, then=None):
        self.page_sql, self.count_sql, self.params, self.fields = page_sql, count_sql, params, fields
        self.fn, self.then = fn, then

    def count(self) -> int:
        return sql_count(self.count_sql, self.params)

    def __getitem__(self, window: slice) -> list:
        start = window.start or 0
        rows = fetch(self.page_sql, [*self.params, window.stop - start, start], self.fields)
        items = [self.fn(row) for row in rows]
        return self.then(items) if self.then else items


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)

    class Output(Schema):
        items: list[Any]
        count: int = Field(description="How many items there are in all: exact up to 1,000; a longer list's "
                                        "total as counted at most 30 seconds before.")
        page: int
        page_size: int
        next_page: int | None = Field(description="The next page's number, or null on the last page.")

    items_attribute = "items"

    def paginate_queryset(self, queryset, pagination: Input, request, **params) -> dict:
        rows = queryset if isinstance(queryset, (Mapped, Statement)) else Mapped(queryset, lambda row: row)
        count = rows.count()
        start = (pagination.page - 1) * pagination.page_size
        end = start + pagination.page_size
        return {"items": rows[start:end] if start < count else [], "count": count, "page": pagination.page,
                "page_size": pagination.page_size, "next_page": pagination.page + 1 if end < count else None}

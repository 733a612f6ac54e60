"""One way to page a list (issue #11): a page never renders every row of a table that grows with the platform."""

from django.conf import settings
from django.core.paginator import Page, Paginator


def page_of(request, object_list, *, per_page: int | None = None, param: str = "page", rows=None) -> Page:
    """The page `?page=` asks for (the last one when past the end, the first when malformed): one COUNT
    and one query for the rows, however long the list. `rows`: a function making the page's objects into the
    plain rows its table shows (e.g. deployments.selectors.run_rows, #11)."""
    page = Paginator(object_list, per_page or settings.PORTAL_PAGE_SIZE).get_page(request.GET.get(param))
    if rows is not None:
        page.object_list = rows(page.object_list)
    return page


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

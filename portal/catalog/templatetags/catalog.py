"""The agent list's placement cells (issue #11)."""

from functools import lru_cache

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portal.catalog.selectors import PlacementCell

register = template.Library()


@lru_cache(maxsize=64)
def _cell(cell: PlacementCell | None) -> SafeString:
    if cell is None:
        return mark_safe("<td></td>")
    return format_html('<td><span class="status status-{}">{}</span></td>', cell.status, cell.label)


@register.filter
def placement_cells(cells: list[PlacementCell | None]) -> SafeString:
    """One <td> per environment column: the placement's status, empty where the agent is not placed. Each
    distinct cell is built once (there are as many as statuses), not by a template loop over a page's 150."""
    return mark_safe("".join(_cell(cell) for cell in cells))

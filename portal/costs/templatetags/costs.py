from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from html import escape

from django import template
from django.utils.safestring import SafeString

from portal.costs.estimates import deployment_estimate as estimate_of

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}
DASH = "—"
CELL, MUTED_CELL = '<td class="num">{}</td>', '<td class="num"><span class="muted">—</span></td>'


def _money(value, places: int = 2) -> str:
    amount = value if type(value) is Decimal else _decimal(value)
    if amount is None:
        return DASH
    amount = amount.quantize(QUANTA.get(places) or Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.{places}f}"


@register.filter
def money(value, places: int = 2):
    """1234.5 -> $1,234.50 (places=0: $1,235); None -> an em dash. Safe HTML: digits, signs and separators."""
    return SafeString(_money(value, int(places)))


@register.filter
def amount_cells(amounts, zero: str = ""):
    """A table row's amounts as <td class="num"> cells of money (None: an em dash); zero="muted": an amount of
    zero or None is a muted dash. One filter for a row's cells rather than a loop of nodes (issue #11)."""
    if zero == "muted":
        return SafeString("".join(CELL.format(_money(a)) if a else MUTED_CELL for a in amounts))
    return SafeString("".join(CELL.format(_money(a)) for a in amounts))


@register.filter
def linked_amount_cells(cells, month: str):
    """(amount, link) cells as <td class="num"> cells: the amount links to `link`?month=`month`; zero is a
    muted dash."""
    link = '<td class="num"><a class="amount" href="{}?month={}">{}</a></td>'
    month = escape(str(month))
    return SafeString("".join(link.format(escape(url), month, _money(amount)) if amount else MUTED_CELL
                              for amount, url in cells))


# Issue #11: the tables of many rows are rendered by one filter each rather than a loop of template nodes (a
# cost page spent most of its time in them). The markup is the same as the templates had.

@register.filter
def day_rows(days):
    """The rows of the day-by-day table: the day, its cost, the month to date and the forecast to date."""
    return SafeString("".join(f'<tr><th scope="row">{d.label}</th>{amount_cells(d.amounts)}</tr>' for d in days))


UNKNOWN_AGENT = {
    "dashboard": '{} <span class="muted">(no such agent in the catalog)</span>',
    "environment": "{}",
}


@register.filter
def agent_rows(rows, page: str):
    """The rows of an agent table (selectors.Row): the agent (a link to the catalog's page when the tag names an
    agent; `page` says what else: "dashboard", with an amount per environment; "environment"; "service", where the
    untagged cost is a row of its own), its team and its cost."""
    unknown = UNKNOWN_AGENT.get(page, "{}")
    html = []
    for row in rows:
        key = escape(row.key)
        if row.url:
            name = f'<a href="{escape(row.url)}">{key}</a>'
        elif page == "service" and not row.key:
            name = '<span class="muted">untagged (shared)</span>'
        else:
            name = unknown.format(key)
        cells = amount_cells(row.amounts, "muted") if page == "dashboard" else ""
        html.append(f'<tr><th scope="row">{name}</th><td>{escape(row.team) if row.team else DASH}</td>{cells}'
                    f'<td class="num">{_money(row.total)}</td></tr>')
    return SafeString("".join(html))


@register.filter
def showback_rows(rows):
    """The rows of the showback's agent table (showback.AgentShowback)."""
    return SafeString("".join(
        f'<tr><th scope="row">{f"""<a href="{escape(r.url)}">{escape(r.slug)}</a>""" if r.url else escape(r.slug)}'
        f'</th><td>{escape(r.environment)}</td><td>{escape(r.team)}</td><td class="num">{r.replicas}</td>'
        f'<td class="num">{_money(r.direct)}</td><td class="num">{_money(r.shared)}</td>'
        f'<td class="num">{_money(r.total)}</td></tr>' for r in rows))


NO_SERVICE = "(no service name)"


@register.filter
def service_rows(rows, month: str):
    """The rows of the dashboard's table by service (selectors.Row with `urls`): each environment's amount links
    to the service there, then the total and the share."""
    return SafeString("".join(
        f'<tr><th scope="row">{escape(row.key) or NO_SERVICE}</th>{linked_amount_cells(row.linked_cells, month)}'
        f'<td class="num">{_money(row.total)}</td><td class="num">{percent(row.share)}</td></tr>' for row in rows))


@register.filter
def linked_service_rows(rows, month: str):
    """The rows of an environment's table by service (selectors.Row with `url`): the service links to its page,
    then its cost and share."""
    month = escape(str(month))
    return SafeString("".join(
        f'<tr><th scope="row"><a href="{escape(row.url)}?month={month}">{escape(row.key) or NO_SERVICE}</a></th>'
        f'<td class="num">{_money(row.total)}</td><td class="num">{percent(row.share)}</td></tr>' for row in rows))


@register.filter
def signed_money(value, places: int = 2):
    """+$12.00 / -$3.50 / $0.00: a change."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    text = money(amount, places)
    return f"+{text}" if amount.quantize(Decimal(1).scaleb(-int(places))) > 0 else text


@register.filter
def percent(value):
    amount = _decimal(value)
    return "—" if amount is None else f"{amount.quantize(Decimal('1'), rounding=ROUND_HALF_UP)}%"


@register.filter
def plain(value, places: int = 2):
    """A number for a chart or a CSV cell: no currency sign, no thousands separator."""
    amount = _decimal(value)
    return "" if amount is None else str(amount.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


@register.simple_tag
def deployment_estimate(deployment):
    """The deployment's monthly cost estimate and its change against what is deployed now (reads the
    template from bicep/ and two rows; no cloud call). None for cluster operations."""
    return estimate_of(deployment=deployment)

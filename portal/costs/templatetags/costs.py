from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from html import escape
from urllib.parse import quote

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import conditional_escape, json_script
from django.utils.safestring import SafeString

from portal.core.links import url_maker
from portal.core.templatetags.text_limits import shortened
from portal.costs.estimates import deployment_estimate as estimate_of
from portal.costs.selectors import month_label, month_param

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


# Issue #11, again: the pieces of the cost pages that were includes and loops of a few rows each (the charts, the
# month's navigation, the environments, the months, the days) are one tag or filter each: a cost page was mostly
# template nodes. Each writes what its template wrote, escaped as the template escaped it (tests compare them).

@register.simple_tag
def chart(chart_id: str, data: dict, label: str, where: str = ""):
    """A chart drawn by static/js/costs.js from the JSON next to it; hidden until drawn, so a page without
    JavaScript shows only its tables (the truth). `where`: where the table with the same numbers is ("below")."""
    return SafeString(
        f'<figure class="chart" hidden>\n  <canvas data-chart="{conditional_escape(chart_id)}" role="img" aria-label="'
        f'{conditional_escape(label)} The table {conditional_escape(where or "below")} has the same numbers."></canvas>\n'
        f'</figure>\n{json_script(data, chart_id)}')


NAV_LINK = ('<a href="{path}?month={month}{keep}" hx-get="{path}?month={month}{keep}" hx-target="#cost-results" '
            'hx-swap="outerHTML" hx-push-url="true">{text}</a>')


@register.simple_tag(takes_context=True)
def month_nav(context):
    """The month before and after the page's `period` (links to this page, keeping `keep`: "&name=value")."""
    period = context["period"]
    path, keep = conditional_escape(context["request"].path), conditional_escape(context.get("keep") or "")
    previous = NAV_LINK.format(path=path, keep=keep, month=month_param(period.previous),
                               text=f"‹ {month_label(period.previous)}")
    ended = "" if period.is_current else ' <span class="muted">(month ended)</span>'
    following = period.next
    following = "" if not following else NAV_LINK.format(path=path, keep=keep, month=month_param(following),
                                                          text=f"{month_label(following)} ›")
    return SafeString(f'<nav class="month-nav" aria-label="Month">\n  {previous}\n  <strong data-testid="cost-month">'
                      f'{escape(period.label)}</strong>{ended}\n  {following}\n</nav>')


@register.filter
def freshness_items(costs):
    """How old each environment's stored data is (EnvironmentCost), and its last ingest error: the items of a
    list. Pages keep showing the last good data when Azure cannot be reached."""
    html = []
    for c in costs:
        data = (f"data from {conditional_escape(naturaltime(c.data_at))}" if c.data_at
                else '<span class="stale">no cost data yet</span>')
        failed = ""
        if c.last_run_failed:
            failed = (f'<span class="failed" role="status">· the last ingest failed '
                      f'{conditional_escape(naturaltime(c.last_run_at))}: {conditional_escape(shortened(c.last_error, 160))}'
                      f'{" (showing the last good data)" if c.data_at else ""}</span>')
        html.append(f"\n  <li>\n    <strong>{escape(c.name)}</strong>:\n    {data}\n    {failed}\n  </li>\n  ")
    return SafeString("".join(html))


@register.filter
def environment_rows(costs, month: str):
    """The rows of the dashboard's table of environments (EnvironmentCost): the environment (a link to its page
    for `month`), its cost, budget, share of the budget, forecast and the forecast's share."""
    link, month = url_maker("costs:environment", converter="slug"), escape(str(month))
    html = []
    for e in costs:
        used = e.percent
        used = ('<span class="muted">no budget</span>' if used is None else
                f'<meter min="0" max="100" low="80" high="100" optimum="0" value="{plain(used, 1)}" aria-hidden="true">'
                f'</meter> {percent(used)}')
        html.append(f'<tr class="state-{e.state}"><th scope="row"><a href="{escape(link(e.name))}?month={month}">'
                    f'{escape(e.name)}</a></th><td class="num">{_money(e.actual)}</td><td class="num">'
                    f'{_money(e.budget, 0)}</td><td class="used">{used}</td><td class="num forecast-cell">'
                    f'{_money(e.forecast)}</td><td class="num forecast-cell">{percent(e.forecast_percent)}</td></tr>')
    return SafeString("".join(html))


@register.filter
def column_heads(names):
    """<th scope="col" class="num"> cells of the columns' names."""
    return SafeString("".join(f'<th scope="col" class="num">{escape(str(name))}</th>' for name in names))


@register.simple_tag
def trend_rows(rows, path: str, budget: str, cells: bool = False):
    """The rows of a table of months (selectors.Row, key "2026-11"): the month (a link to `path` for it), with
    `cells` its amount in each column, its total and `budget` (text)."""
    path, budget = conditional_escape(path), conditional_escape(budget)
    return SafeString("".join(
        f'<tr><th scope="row"><a href="{path}?month={escape(row.key)}">{escape(row.key)}</a></th>'
        f'{amount_cells(row.amounts) if cells else ""}<td class="num">{_money(row.total)}</td>'
        f'<td class="num">{budget}</td></tr>' for row in rows))


REST_ROW = ('<tr class="rest" data-testid="agents-rest"><th scope="row" colspan="{colspan}">The other {count} agent{s} '
            '(every row in the <a href="{path}?month={month}{keep}&amp;format=csv&amp;table=agents">CSV</a>)</th>'
            '<td class="num">{total}</td></tr>')


@register.simple_tag
def agents_rest_row(rest, colspan, path: str, month: str, keep: str = ""):
    """The row after an agent table's largest (selectors.Rest): how many other agents, their cost summed, and a
    link to the table's CSV (`path`?month=`month``keep`, every row); nothing without a rest."""
    if not rest:
        return ""
    return SafeString(REST_ROW.format(
        colspan=conditional_escape(colspan), count=conditional_escape(rest.count), s="" if rest.count == 1 else "s",
        path=conditional_escape(path), month=conditional_escape(month), keep=conditional_escape(keep),
        total=_money(rest.total)))


SELECTED = ' class="selected" aria-current="true"'


@register.simple_tag
def resource_group_rows(rows, chosen: str, path: str, month: str, service: str, environment: str, label: str):
    """The rows of a service's table by resource group (selectors.Row): the group (a link narrowing the page to
    it, `chosen` marked), its cost and share; without rows, that `service` cost nothing in `environment` in the
    month (`label`)."""
    if not rows:
        return SafeString(f'<tr><td colspan="3" class="empty">No cost of {conditional_escape(service)} in '
                          f'{conditional_escape(environment)} in {conditional_escape(label)}.</td></tr>')
    path, month = conditional_escape(path), conditional_escape(month)
    return SafeString("".join(
        f'<tr{SELECTED if row.key == chosen else ""}><th scope="row"><a href="{path}'
        f'?month={month}&amp;resource_group={escape(quote(str(row.key), safe="/"))}">'
        f'{escape(row.key) if row.key else "(none)"}</a></th><td class="num">{_money(row.total)}</td>'
        f'<td class="num">{percent(row.share)}</td></tr>' for row in rows))


DAY_TABLE = ('<details>\n  <summary>Day by day ({count} days)</summary>\n  <table class="table">\n'
             '    <caption class="sr-only">Cost per day{caption}</caption>\n'
             '    <thead><tr><th scope="col">Day</th><th scope="col" class="num">Cost</th><th scope="col" class="num">'
             'Month to date</th><th scope="col" class="num">Forecast, month to date</th></tr></thead>\n'
             '    <tbody>{rows}</tbody>\n  </table>\n</details>')


@register.simple_tag
def day_table(days, caption: str = ""):
    """The month day by day (selectors.Day), folded: its cost, the month to date and the forecast to date."""
    return SafeString(DAY_TABLE.format(count=len(days), caption=conditional_escape(caption), rows=day_rows(days)))


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

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.html import escape
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
    month = escape(month)
    return SafeString("".join(link.format(escape(url), month, _money(amount)) if amount else MUTED_CELL
                              for amount, url in cells))


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

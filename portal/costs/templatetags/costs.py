from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

from portal.costs.estimates import deployment_estimate as estimate_of

register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@register.filter
def money(value, places: int = 2):
    """1234.5 -> $1,234.50 (places=0: $1,235); None -> an em dash."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    quantum = Decimal(1).scaleb(-int(places))
    amount = amount.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.{int(places)}f}"


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

"""Ask a run what this person may do to it, in templates as in views (issue #9)."""

from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def can_confirm(deployment, user) -> bool:
    return deployment.can_confirm(user)


@register.filter
def can_cancel_by(deployment, user) -> bool:
    return deployment.can_cancel_by(user)


@register.filter
def can_retry(deployment, user) -> bool:
    return deployment.can_retry(user)


@register.filter
def may_act(deployment, user) -> bool:
    return deployment.may_act(user)


@register.filter
def duration(start, end) -> str:
    """How long from start to end, down to the second: "45 s", "3 min 2 s", "1 h 4 min" (never "0 minutes")."""
    if not start or not end:
        return ""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def log_items(lines) -> str:
    """A run's log lines as `<li>` items, built in one pass: a page of 500 lines through the template
    language's `date` filter and autoescaping took ~80% of a long run's page (#11). Same markup, escaped."""
    zone = timezone.get_current_timezone()  # once, not per line
    classes: dict[str, str] = {}
    items = []
    for seq, level, message, at in lines:
        if level not in classes:
            classes[level] = escape(level)
        stamp = at.astimezone(zone).isoformat()  # YYYY-MM-DDTHH:MM:SS...; [11:19] is the time, without strftime
        items.append(f'<li class="log-{classes[level]}" data-seq="{seq:d}"><time datetime="{stamp}">'
                     f'{stamp[11:19]}</time> {escape(message)}</li>')
    return mark_safe("".join(items))  # noqa: S308 - every value above is escaped or a number

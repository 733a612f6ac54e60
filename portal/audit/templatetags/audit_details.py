"""Audit details as people read them: one "key: value" per entry, nested values as JSON (not Python reprs).

Issue #11: an event's time and its details are each written by one filter, word for word what the template's
date filters and loop wrote, so the log's fifty rows are not some fifteen template nodes each."""

import json
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

register = template.Library()


@register.filter
def detail_items(details) -> list[tuple[str, str]]:
    if not isinstance(details, dict):
        return [("", json.dumps(details, ensure_ascii=False, default=str))]
    return [(key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                   default=str))
            for key, value in details.items()]


@register.filter
def details_list(details) -> SafeString | str:
    """<dl class="details"> of detail_items (a <dt> for each key there is), nothing for empty details."""
    if not details:
        return ""
    return mark_safe('<dl class="details">' + "".join(
        f'<div>{f"<dt>{escape(str(key))}</dt>" if key else ""}<dd><code>{escape(str(value))}</code></dd></div>'
        for key, value in detail_items(details)) + "</dl>")


@register.filter
def event_time(at) -> SafeString | str:
    """<time> of an event: as |date:'c' in its datetime attribute, as |date:"Y-m-d H:i:s" in its text."""
    if at is None:
        return mark_safe('<time datetime=""></time>')
    local = template_localtime(at)
    return mark_safe(f'<time datetime="{escape(local.isoformat())}">{local:%Y-%m-%d %H:%M:%S}</time>')

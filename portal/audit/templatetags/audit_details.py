"""Audit details as people read them: one "key: value" per entry, nested values as JSON (not Python reprs).

Issue #11: an event's time and its details are each written by one filter, word for word what the template's
date filters and loop wrote, so the log's fifty rows are not some fifteen template nodes each; and the rows
(audit.selectors.AuditRows' tuples) and the filters' options each by one filter, word for word what the
template's {% for %} over them wrote."""

import json
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone, template_localtime

from portal.core.markup import text as _text

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


NO_EVENTS = '<tr><td colspan="6" class="empty">No events match.</td></tr>'


@register.filter
def event_rows(rows) -> SafeString:
    """The log's rows (LIST_FIELDS tuples: at, actor_name, action, object_type, object_repr, ip_address, details),
    each on a line of its own as the template's loop wrote it, its {% empty %} row when there are none. The time
    as event_time writes it, in the current time zone (looked up once for the page)."""
    if not rows:
        return mark_safe(NO_EVENTS)
    zone = get_current_timezone()
    out = []
    for at, actor_name, action, object_type, object_repr, ip_address, details in rows:
        if at is None:
            when = '<time datetime=""></time>'
        else:
            local = at.astimezone(zone)
            when = f'<time datetime="{local.isoformat()}">{local:%Y-%m-%d %H:%M:%S}</time>'
        out.append(f"\n      <tr><td>{when}</td><td>{_text(actor_name)}</td><td><code>{_text(action)}</code></td>\n"
                   f'        <td>{_text(object_repr)} <span class="muted">({_text(object_type)})</span></td>'
                   f'<td>{_text(ip_address) if ip_address else "—"}</td>\n'
                   f"        <td>{details_list(details)}</td></tr>\n    ")
    return mark_safe("".join(out))


@register.filter
def options(values, selected) -> SafeString:
    """A filter's <option>s, the one equal to `selected` marked so, as the template's loop wrote them."""
    return mark_safe("".join(f'<option value="{v}" {"selected" if value == selected else ""}>{v}</option>'
                             for value in values for v in (_text(value),)))

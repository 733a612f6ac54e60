"""Ask a run what this person may do to it, in templates as in views (issue #9)."""

from html import escape

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from portal.core.markup import text

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
def log_items(lines) -> SafeString:
    """A run's log lines as `<li>` items, byte for byte what the template loop wrote
    (`<li class="log-{{ line.level }}" data-seq="{{ line.seq }}"><time datetime="{{ line.at|date:'c' }}">
    {{ line.at|date:"H:i:s" }}</time> {{ line.message }}</li>`, tests/deployments/test_run_page.py), in one pass:
    a page of 500 lines through the template language's `date` filter and autoescaping took ~80% of a long run's
    page (#11). Per line, only what it needs: a time whose offset is the current zone's already reads as it would
    there (the database's UTC in a UTC portal), so it is not converted; a message without markup characters is
    its own escape."""
    zone = timezone.get_current_timezone()  # once, not per line
    fixed = zone.utcoffset(None)  # a zone of one offset (UTC), else None
    tz = same = None  # the last line's tzinfo, and whether its times read the same in `zone`
    classes: dict[str, str] = {}
    items = []
    for seq, level, message, at in lines:
        if level not in classes:
            classes[level] = escape(level)
        if at.tzinfo is not tz:
            tz = at.tzinfo
            same = fixed is not None and tz.utcoffset(None) == fixed
        stamp = (at if same else at.astimezone(zone)).isoformat()  # [11:19] is the time, without strftime
        if "&" in message or "<" in message or ">" in message or '"' in message or "'" in message:
            message = escape(message)
        items.append(f'<li class="log-{classes[level]}" data-seq="{seq:d}"><time datetime="{stamp}">'
                     f'{stamp[11:19]}</time> {message}</li>')
    return mark_safe("".join(items))  # noqa: S308 - every value above is escaped or a number


def _looked_up(value, key: str):
    """value.key as the template language looks a JSON value up: the dict's item, else "" (a JSON value has no
    other attribute of that name)."""
    try:
        return value[key]
    except (TypeError, KeyError, IndexError, ValueError):
        return getattr(value, key, "")


@register.filter
def operation_rows(operations) -> SafeString:
    """The rows of the run card's table of resources (_run.html), byte for byte what its {% for %} loop wrote
    (tests/deployments/test_run_page.py): the resource's name, type, state, and the error (code: message) of
    one that reported one. Text is escaped."""
    rows = []
    for op in operations:
        state = text(str(op.state).lower())
        error = op.error
        failed = f"<strong>{text(_looked_up(error, 'code'))}</strong>: {text(_looked_up(error, 'message'))}" \
            if error else ""
        rows.append(f'\n        <tr data-state="{state}"><th scope="row">{text(op.resource_name)}</th>'
                    f'<td><code>{text(op.resource_type)}</code></td>\n'
                    f'          <td><span class="status status-{state}">{text(op.state)}</span></td>\n'
                    f'          <td>{failed}</td></tr>\n      ')
    return mark_safe("".join(rows))  # noqa: S308 - every value is escaped


# --- The rows of the tables of runs and approvals (issue #11) -----------------------------------------
# Each filter writes a table's rows (the dict rows of selectors.run_rows, pending_approval_rows and
# decided_approval_rows), byte for byte what the templates' {% for %} loops wrote (tests/deployments/
# test_table_rows.py), in one pass: a loop of some twenty template nodes a row was most of what a page of fifty
# rows cost. Text is escaped; a table's "nothing here" row stays in its template.


@register.filter
def run_table_rows(rows) -> SafeString:
    """The rows of templates/deployments/_table.html: the run (a link), what, environment, status, requester
    ("system" for none) and when."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'\n    <tr><th scope="row"><a href="{text(d["url"])}">#{text(d["pk"])}</a></th>\n'
        f'      <td>{text(d["what"])}</td>\n      <td>{text(d["environment"])}</td>\n'
        f'      <td><span class="status status-{text(d["status"])}">{text(d["status_label"])}</span></td>\n'
        f'      <td>{text(d["requested_by"] or "system")}</td>\n      <td>{text(d["when"])}</td></tr>\n  '
        for d in rows))


_TABLE_HEAD = ('<table class="table">\n  <thead><tr><th scope="col">Run</th><th scope="col">What</th>'
               '<th scope="col">Environment</th><th scope="col">Status</th><th scope="col">Requested by</th>'
               '<th scope="col">When (UTC)</th></tr></thead>\n  <tbody>\n  ')
_TABLE_TAIL = "\n  </tbody>\n</table>\n"


@register.simple_tag
def run_table(rows, empty) -> SafeString:
    """templates/deployments/_table.html (which calls it), byte for byte what its include wrote: the table of
    `rows` (run_table_rows), or its one row saying `empty` (escaped unless safe, as {{ empty }}) when there are none.
    A tag, not an include: the include's template lookup and context push cost more than the rows."""
    body = run_table_rows(rows) if rows else f'<tr><td colspan="6" class="empty">{conditional_escape(empty)}</td></tr>'
    return mark_safe(f"{_TABLE_HEAD}{body}{_TABLE_TAIL}")  # noqa: S308 - every value is escaped


@register.simple_tag
def option_tags(choices, selected) -> SafeString:
    """A select's options, of (value, label) pairs, the one whose value is `selected` selected: what
    `{% for value, label in choices %}<option value="{{ value }}" {% if value == selected %}selected{% endif %}>
    {{ label }}</option>{% endfor %}` wrote (one line)."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'<option value="{text(value)}" {"selected" if value == selected else ""}>{text(label)}</option>'
        for value, label in choices))


@register.filter
def approval_inbox_rows(rows) -> SafeString:
    """The approvals page's "Waiting for you": the request (a link), what, environment, who asked ("system" for
    nobody), why and when it expires."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'\n      <tr><th scope="row"><a href="{text(a["url"])}">Review #{text(a["deployment_id"])}</a></th>'
        f'<td>{text(a["what"])}</td>\n        <td>{text(a["environment"])}</td>'
        f'<td>{text(a["requested_by"] or "system")}</td><td>{text(a["reason"])}</td>'
        f'<td>{text(a["expires"])}</td></tr>\n    '
        for a in rows))


@register.filter
def approval_own_rows(rows) -> SafeString:
    """The approvals page's "Your requests waiting for someone else": the request (a link), what, environment and
    when it expires."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'\n      <tr><th scope="row"><a href="{text(a["url"])}">Approval of #{text(a["deployment_id"])}</a></th>'
        f'<td>{text(a["what"])}</td><td>{text(a["environment"])}</td><td>{text(a["expires"])}</td></tr>\n    '
        for a in rows))


@register.filter
def approval_decided_rows(rows) -> SafeString:
    """The approvals page's "Decided recently": the request (a link), what, environment, outcome and note."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'\n      <tr><th scope="row"><a href="{text(a["url"])}">#{text(a["deployment_id"])}</a></th>'
        f'<td>{text(a["what"])}</td><td>{text(a["environment"])}</td>\n'
        f'        <td><span class="status status-{text(a["status"])}">{text(a["status_label"])}</span></td>'
        f'<td>{text(a["outcome_note"])}</td></tr>\n    '
        for a in rows))


@register.filter
def my_pending_rows(rows) -> SafeString:
    """My requests' "Waiting for approval": the request (a link), what, environment, the run (a link) and when it
    expires."""
    return mark_safe("".join(  # noqa: S308 - every value is escaped
        f'\n      <tr><th scope="row"><a href="{text(a["url"])}">Approval of #{text(a["deployment_id"])}</a></th>'
        f'<td>{text(a["what"])}</td>\n        <td>{text(a["environment"])}</td>'
        f'<td><a href="{text(a["run_url"])}">#{text(a["deployment_id"])}</a></td><td>{text(a["expires"])}</td>'
        f'</tr>\n    '
        for a in rows))

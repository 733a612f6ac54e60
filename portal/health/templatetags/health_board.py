"""The health board's cells (issue #11): a check's state, how long it has been so, its summary and its age, and an
agent's row of them, each written by one filter instead of some thirty template nodes per agent, fifty agents a
page. The markup and the words are those the board's template had; the times and the uptime are worded as its filters
(timesince, naturaltime, floatformat:1) word them (portal.health.words), and text is escaped by the function Django's
escape calls (html.escape), without its lazy-string wrapper."""

from html import escape

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone

from portal.core.markup import text as _text
from portal.health.choices import AlertStatus, HealthState
from portal.health.models import HealthCheck
from portal.health.selectors import AgentRow
from portal.health.words import naturaltime_html, one_decimal, timesince_html

register = template.Library()

LABELS = dict(HealthState.choices)
ESCAPED_STATES = {state: (escape(state), escape(label)) for state, label in LABELS.items()}   # value, label
NONE = mark_safe('\n<span class="muted">—</span>\n')
STALE = ' · <strong class="text-bad">stale: not checked for a while</strong>'


def _label(state: str) -> str:
    """As get_state_display: the choice's label, or the value itself."""
    return escape(LABELS.get(state, state))


def _state(state: str) -> tuple[str, str]:
    """The state and its label, escaped."""
    return ESCAPED_STATES.get(state) or (_text(state), _label(state))


def _minute(value, zone) -> str:
    """As |date:'Y-m-d H:i' after template_localtime: an aware date-time in the current time zone (`zone`), to the
    minute. isoformat writes the same digits as strftime, in a fraction of its time (#11: one a cell)."""
    if settings.USE_TZ and value.utcoffset() is not None:
        value = value.astimezone(zone)
    return value.isoformat(" ", "minutes")[:16]


@register.filter
def check_cell(check: HealthCheck | None) -> SafeString:
    """The cell's content: a status badge, since when (UTC, as |date:'Y-m-d H:i') and for how long, the summary;
    for an unknown check the last state observed; when it was checked, whether that is stale, whether the owner
    team was told. A dash when there is no such check."""
    return NONE if check is None else mark_safe(_cell(check, get_current_timezone(), timezone.now()))


def _cell(check, zone, now) -> str:
    """check_cell's markup, with the page's time zone and clock (`zone`, `now`: read once for all its cells)."""
    since = ""
    if check.state_since:
        since = (f'<span class="muted" title="since {_minute(check.state_since, zone)} UTC">'
                 f'for {timesince_html(check.state_since, now)}</span>')
    last_known = ""
    if check.state == HealthState.UNKNOWN and check.last_known_state:
        last_known = (f'<div class="detail">Last known: {_state(check.last_known_state)[1].lower()}, '
                      f'{naturaltime_html(check.last_known_at, now)}: {_text(check.last_known_summary)}</div>')
    notified = ""
    if check.alert_status == AlertStatus.NOTIFIED:
        notified = f" · owner notified {naturaltime_html(check.alert_changed_at, now)}"
    state, label = _state(check.state)
    return (f'\n\n<span class="status status-{check.css}" data-state="{state}">'
            f'{label}</span>\n{since}\n<div class="detail">{_text(check.summary)}</div>\n'
            f'{last_known}\n<div class="detail">checked {naturaltime_html(check.checked_at, now)}'
            f'{STALE if check.is_stale_at(now) else ""}{notified}</div>\n\n')


@register.filter
def agent_row(row: AgentRow) -> SafeString:
    """An agent's row: its name (a link to it), its team, its workload and HTTP checks, its 7-day uptime."""
    return mark_safe(_row(row, get_current_timezone(), timezone.now()))


@register.filter
def board_rows(rows: list[AgentRow]) -> SafeString:
    """The page's agents, agent_row for each, laid out as the template's loop laid them out (`{% for row in rows %}`,
    each row on a line of its own): one filter a page, one reading of the time zone and the clock (#11)."""
    zone, now = get_current_timezone(), timezone.now()
    return mark_safe("".join([f"\n        {_row(row, zone, now)}\n      " for row in rows]))


def _row(row: AgentRow, zone, now) -> str:
    url, slug = row.url, _text(row.slug)
    name = f'<a href="{_text(url)}">{slug}</a>' if url else slug
    team = _text(row.team) if row.team else "—"
    uptime = f"{one_decimal(row.uptime)}%" if row.uptime is not None else "—"
    workload = NONE if row.workload is None else _cell(row.workload, zone, now)
    http = NONE if row.http is None else _cell(row.http, zone, now)
    return (f'<tr data-agent="{slug}" data-state="{_state(row.state)[0]}">\n'
            f'          <th scope="row">{name}</th>\n          <td>{team}</td>\n'
            f'          <td>{workload}</td>\n          <td>{http}</td>\n'
            f'          <td class="num" data-testid="uptime">{uptime}</td>\n        </tr>')

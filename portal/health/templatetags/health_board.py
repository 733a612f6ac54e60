"""The health board's cells (issue #11): a check's state, how long it has been so, its summary and its age, and an
agent's row of them, each written by one filter instead of some thirty template nodes per agent, fifty agents a
page. The markup and the words are those the board's template had; the times and the uptime are worded as its filters
(timesince, naturaltime, floatformat:1) word them (portal.health.words), and text is escaped by the function Django's
escape calls (html.escape), without its lazy-string wrapper."""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from portal.core.markup import text as _text
from portal.health.choices import AlertStatus, HealthState
from portal.health.models import HealthCheck
from portal.health.selectors import AgentRow
from portal.health.words import naturaltime, one_decimal, timesince

register = template.Library()

LABELS = dict(HealthState.choices)
NONE = mark_safe('\n<span class="muted">—</span>\n')
STALE = ' · <strong class="text-bad">stale: not checked for a while</strong>'


def _label(state: str) -> str:
    """As get_state_display: the choice's label, or the value itself."""
    return escape(LABELS.get(state, state))


@register.filter
def check_cell(check: HealthCheck | None) -> SafeString:
    """The cell's content: a status badge, since when (UTC, as |date:'Y-m-d H:i') and for how long, the summary;
    for an unknown check the last state observed; when it was checked, whether that is stale, whether the owner
    team was told. A dash when there is no such check."""
    if check is None:
        return NONE
    since = ""
    if check.state_since:
        since = (f'<span class="muted" title="since {template_localtime(check.state_since):%Y-%m-%d %H:%M} UTC">'
                 f'for {_text(timesince(check.state_since))}</span>')
    last_known = ""
    if check.state == HealthState.UNKNOWN and check.last_known_state:
        last_known = (f'<div class="detail">Last known: {_label(check.last_known_state).lower()}, '
                      f'{_text(naturaltime(check.last_known_at))}: {_text(check.last_known_summary)}</div>')
    notified = ""
    if check.alert_status == AlertStatus.NOTIFIED:
        notified = f" · owner notified {_text(naturaltime(check.alert_changed_at))}"
    return mark_safe(f'\n\n<span class="status status-{check.css}" data-state="{_text(check.state)}">'
                     f'{_label(check.state)}</span>\n{since}\n<div class="detail">{_text(check.summary)}</div>\n'
                     f'{last_known}\n<div class="detail">checked {_text(naturaltime(check.checked_at))}'
                     f'{STALE if check.is_stale else ""}{notified}</div>\n\n')


@register.filter
def agent_row(row: AgentRow) -> SafeString:
    """An agent's row: its name (a link to it), its team, its workload and HTTP checks, its 7-day uptime."""
    url = row.url
    name = f'<a href="{_text(url)}">{_text(row.slug)}</a>' if url else _text(row.slug)
    team = _text(row.team) if row.team else "—"
    uptime = f"{one_decimal(row.uptime)}%" if row.uptime is not None else "—"
    return mark_safe(f'<tr data-agent="{_text(row.slug)}" data-state="{_text(row.state)}">\n'
                     f'          <th scope="row">{name}</th>\n          <td>{team}</td>\n'
                     f'          <td>{check_cell(row.workload)}</td>\n          <td>{check_cell(row.http)}</td>\n'
                     f'          <td class="num" data-testid="uptime">{uptime}</td>\n        </tr>')

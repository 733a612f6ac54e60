"""Issue #11: the health board's rows come from two filters (check_cell, agent_row) instead of a template fragment
per check and a row of nodes per agent. They say word for word what the template said, whatever the check's state,
times and alert, the agent's team and uptime."""

from datetime import datetime, timedelta, timezone as dt_timezone
from types import SimpleNamespace

import pytest
import time_machine
from django.template import engines

from portal.catalog.models import Agent, Team
from portal.health.choices import AlertStatus, CheckKind, HealthState
from portal.health.models import HealthCheck
from portal.health.selectors import AgentRow, BoardCheck
from portal.health.templatetags.health_board import agent_row, board_rows, check_cell
from provisioning.health import worst_state

NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=dt_timezone.utc)

# The fragment the board included for each check until issue #11 (templates/health/_check.html).
FRAGMENT = """{% load humanize %}{# One check's state, how long it has been so, its summary, its age: check #}
{% if check %}
<span class="status status-{{ check.css }}" data-state="{{ check.state }}">{{ check.get_state_display }}</span>
{% if check.state_since %}<span class="muted" title="since {{ check.state_since|date:'Y-m-d H:i' }} UTC">for {{ check.state_since|timesince }}</span>{% endif %}
<div class="detail">{{ check.summary }}</div>
{% if check.state == "unknown" and check.last_known_state %}<div class="detail">Last known: {{ check.get_last_known_state_display|lower }}, {{ check.last_known_at|naturaltime }}: {{ check.last_known_summary }}</div>{% endif %}
<div class="detail">checked {{ check.checked_at|naturaltime }}{% if check.is_stale %} · <strong class="text-bad">stale: not checked for a while</strong>{% endif %}{% if check.alert_status == "notified" %} · owner notified {{ check.alert_changed_at|naturaltime }}{% endif %}</div>
{% else %}<span class="muted">—</span>{% endif %}
"""


def check(**fields) -> HealthCheck:
    defaults = {"kind": CheckKind.WORKLOAD, "target": "crm-bot", "label": "crm-bot", "state": HealthState.GREEN,
                "summary": "2/2 replicas available", "checked_at": NOW - timedelta(minutes=2),
                "state_since": NOW - timedelta(days=3, hours=4)}
    return HealthCheck(**{**defaults, **fields})


CHECKS = {
    "none": None,
    "green": check(),
    "red, owner notified": check(state=HealthState.RED, summary="CrashLoopBackOff <x> & 'y'",
                                 alert_status=AlertStatus.NOTIFIED, alert_changed_at=NOW - timedelta(minutes=40)),
    "notified, no time": check(state=HealthState.RED, alert_status=AlertStatus.NOTIFIED),
    "amber, just now": check(state=HealthState.AMBER, checked_at=NOW, state_since=NOW - timedelta(seconds=5)),
    "stale": check(checked_at=NOW - timedelta(hours=5)),
    "never checked": check(state=HealthState.UNKNOWN, checked_at=None, state_since=None, summary=""),
    "unknown, last known": check(state=HealthState.UNKNOWN, summary="cluster unavailable",
                                 last_known_state=HealthState.AMBER, last_known_summary='1/2 "ready"',
                                 last_known_at=NOW - timedelta(days=1, minutes=3)),
    "unknown, last known without time": check(state=HealthState.UNKNOWN, last_known_state=HealthState.GREEN),
    "unknown, never known": check(state=HealthState.UNKNOWN),
    "unknown, last known no state of ours": check(state=HealthState.UNKNOWN, last_known_state="<Odd> & 'x'",
                                                  last_known_at=NOW - timedelta(days=400)),
    "green, last known kept": check(last_known_state=HealthState.GREEN, last_known_at=NOW),
    "checked in the future": check(checked_at=NOW + timedelta(minutes=3), state_since=NOW + timedelta(hours=1)),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_cell_says_what_the_fragment_said(name, settings):
    fragment = engines["django"].from_string(FRAGMENT)
    with time_machine.travel(NOW, tick=False):
        assert check_cell(CHECKS[name]) == fragment.render({"check": CHECKS[name]})


def test_check_cell_tells_the_time_in_the_portals_time_zone(settings):
    settings.TIME_ZONE = "Europe/Amsterdam"
    fragment = engines["django"].from_string(FRAGMENT)
    with time_machine.travel(NOW, tick=False):
        assert check_cell(CHECKS["green"]) == fragment.render({"check": CHECKS["green"]})


# An agent's row on the board until issue #11.
ROW = """{% load health_board %}<tr data-agent="{{ row.slug }}" data-state="{{ row.state }}">
          <th scope="row">{% if row.agent %}<a href="{{ row.agent.get_absolute_url }}">{{ row.slug }}</a>{% else %}{{ row.slug }}{% endif %}</th>
          <td>{{ row.team.name|default:"—" }}</td>
          <td>{{ row.workload|check_cell }}</td>
          <td>{{ row.http|check_cell }}</td>
          <td class="num" data-testid="uptime">{% if row.uptime is not None %}{{ row.uptime|floatformat:1 }}%{% else %}—{% endif %}</td>
        </tr>"""


def rows():
    """(the row the board has now, the row as the template before #11 saw it: the agent and team objects)."""
    agent = Agent(pk=7, slug="crm-bot", owner_team=Team(slug="crm", name="CRM <team>"))
    http = check(kind=CheckKind.HTTP, state=HealthState.RED)
    cases = {
        "both checks": (agent, check(), http, 99.95),
        "workload only, rounding half up": (agent, check(), None, 12.25),
        "no uptime": (agent, None, http, None),
        "nameless team": (Agent(pk=8, slug="x-bot", owner_team=Team(slug="x", name="")), check(), None, 0.0),
        "agent gone": (None, check(), None, 100.0),
    }
    return {name: (AgentRow("crm-bot", agent and agent.pk, agent.get_absolute_url() if agent else None,
                            agent.owner_team.name if agent else None, workload, http, uptime),
                   SimpleNamespace(slug="crm-bot", state=worst_state(c.state for c in (workload, http) if c),
                                   agent=agent, team=agent.owner_team if agent else None,
                                   workload=workload, http=http, uptime=uptime))
            for name, (agent, workload, http, uptime) in cases.items()}


@pytest.mark.parametrize("name", list(rows()))
def test_agent_row_says_what_the_row_said(name):
    row, before = rows()[name]
    with time_machine.travel(NOW, tick=False):
        assert agent_row(row) == engines["django"].from_string(ROW).render({"row": before})


@pytest.mark.parametrize("name", [name for name, check in CHECKS.items() if check is not None])
def test_the_boards_checks_read_from_a_cursor_say_what_the_models_said(name):
    """The board reads its checks into BoardCheck tuples, not model instances: the cell says the same of both."""
    model = CHECKS[name]
    board_check = BoardCheck._make(getattr(model, attribute) for attribute in BoardCheck._fields)
    with time_machine.travel(NOW, tick=False):
        assert check_cell(board_check) == check_cell(model)
        assert (board_check.css, board_check.is_stale, board_check.last_known_css) == (
            model.css, model.is_stale, model.last_known_css)


# The board's loop over its agents until session 7 of issue #11 (one filter a row).
LOOP = """{% load health_board %}{% for row in rows %}
        {{ row|agent_row }}
      {% endfor %}"""


def test_the_boards_rows_say_byte_for_byte_what_its_loop_over_the_rows_said():
    """board_rows writes the page's rows at once, with one clock and time zone: the same bytes as the loop of
    agent_row, and as the loop of the template row before #11, hostile text escaped."""
    cases = list(rows().values())
    hostile = check(state=HealthState.UNKNOWN, summary="<script>alert('x')</script> & \"y\"",
                    last_known_state=HealthState.RED, last_known_summary="<b>&amp;</b>", last_known_at=NOW)
    gone = AgentRow('<img src=x onerror="1">&\'', None, None, None, hostile, None, 33.35)
    cases.append((gone, SimpleNamespace(slug=gone.slug, state=HealthState.UNKNOWN, agent=None, team=None,
                                        workload=hostile, http=None, uptime=33.35)))
    board, before = [row for row, _ in cases], [row for _, row in cases]
    row_before = ROW.removeprefix("{% load health_board %}")
    loop_before = "{% for row in rows %}\n        " + row_before + "\n      {% endfor %}"
    with time_machine.travel(NOW, tick=False):
        html = board_rows(board)
        assert html == engines["django"].from_string(LOOP).render({"rows": board})
        assert html == engines["django"].from_string("{% load health_board %}" + loop_before).render({"rows": before})
    assert html.count("<tr data-agent=") == len(cases)
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;y&quot;" in html
    assert 'data-agent="&lt;img src=x onerror=&quot;1&quot;&gt;&amp;&#x27;"' in html
    assert board_rows([]) == ""

"""Issue #11: an environment's placement rows and the agent list's rows come from one filter each (placement_row,
agent_row) instead of a row of template nodes; each writes, byte for byte, what the template wrote."""

import pytest
from django.template import engines

from portal.catalog.selectors import PlacementCell
from portal.catalog.templatetags.catalog import agent_row, placement_row

# The row the environment page's template wrote for each placement until issue #11 (its loop body).
ROW = """<tr>
        <th scope="row"><a href="{{ p.url }}">{{ p.slug }}</a></th>
        <td>{{ p.team }}</td>
        <td><span class="status status-{{ p.status }}" {% if p.status_detail %}title="{{ p.status_detail }}"{% endif %}>{{ p.status_label }}</span>
          {% if p.status_detail %}<div class="detail">{{ p.status_detail }}</div>{% endif %}</td>
        <td class="num">{{ p.redis_db|default_if_none:"—" }}{% if p.redis_key_prefix %} <span class="muted" title="shared; keys prefixed {{ p.redis_key_prefix }}">shared</span>{% endif %}</td>
        <td><code>{{ p.cosmos_container|default:"—" }}</code></td>
        <td><code>{{ p.blob_container|default:"—" }}</code></td>
        <td>{{ p.image_tag }}</td>
        <td class="num">{{ p.replicas }}</td>
      </tr>"""

BASE = {"url": "/agents/crm-bot/", "slug": "crm-bot", "team": "CRM", "status": "running", "status_label": "Running",
        "status_detail": "", "redis_db": 4, "redis_key_prefix": "", "cosmos_container": "crm-bot-warm",
        "blob_container": "crm-bot-cold", "image_tag": "1.4.2", "replicas": 2}
ROWS = {
    "running": {},
    "blocked, with why": {"status": "blocked", "status_label": "Blocked",
                          "status_detail": 'Redis <full> & "no" database left'},
    "shared Redis database": {"redis_db": 0, "redis_key_prefix": "crm:'bot'"},
    "no Redis database, no containers": {"redis_db": None, "cosmos_container": "", "blob_container": None},
    "no team, no tag": {"team": None, "image_tag": ""},
    "escaped slug and url": {"slug": "a<b>&c", "url": '/agents/a"b/'},
    "no replicas": {"replicas": 0},
    "unknown status label": {"status": "odd", "status_label": "odd"},
}


@pytest.mark.parametrize("name", list(ROWS))
def test_placement_row_writes_what_the_template_wrote(name):
    p = {**BASE, **ROWS[name]}
    expected = engines["django"].from_string(ROW).render({"p": p})
    assert placement_row(p) == expected


# The agent list template's row until issue #11.
AGENT_ROW = """{% load catalog %}<tr>
        <th scope="row"><a href="{{ agent.url }}">{{ agent.display_name }}</a><div class="detail"><code>{{ agent.slug }}</code></div></th>
        <td>{{ agent.domain }}</td>
        <td>{{ agent.team }}</td>
        <td>{{ agent.memory }}</td>
        {{ agent.cells|placement_cells }}
      </tr>"""

AGENT = {"url": "/agents/crm-bot/", "display_name": "CRM bot", "slug": "crm-bot", "domain": "crm", "team": "CRM",
         "memory": "hot, warm", "cells": [PlacementCell("running", "Running"), None, PlacementCell("blocked", "Blocked")]}
AGENTS = {
    "placed in two of three": {},
    "placed nowhere, no memory": {"cells": [None, None, None], "memory": ""},
    "escaped": {"display_name": 'Bot <b>"x"</b> & co', "team": "R&D", "domain": "<crm>", "url": "/agents/a'b/"},
    "no environments": {"cells": []},
}


@pytest.mark.parametrize("name", list(AGENTS))
def test_agent_row_writes_what_the_template_wrote(name):
    agent = {**AGENT, **AGENTS[name]}
    assert agent_row(agent) == engines["django"].from_string(AGENT_ROW).render({"agent": agent})


# The loops the two tables' bodies were until issue #11's table filters (agent_table_rows, placement_table_rows).
AGENT_LOOP = """{% load catalog %}
    {% for agent in agents %}
      {{ agent|agent_row }}
    {% empty %}
      <tr><td>none</td></tr>
    {% endfor %}
"""
AGENT_TABLE = """{% load catalog %}
    {% if agents %}{{ agents|agent_table_rows }}{% else %}
      <tr><td>none</td></tr>
    {% endif %}
"""
PLACEMENT_LOOP = """{% load catalog %}
    {% for p in placements %}
      {{ p|placement_row }}
    {% empty %}<tr><td>none</td></tr>{% endfor %}
"""
PLACEMENT_TABLE = """{% load catalog %}
    {% if placements %}{{ placements|placement_table_rows }}{% else %}<tr><td>none</td></tr>{% endif %}
"""


@pytest.mark.parametrize("count", [0, 1, 4])
def test_the_table_filters_write_what_the_loops_wrote(count):
    render = lambda source, **context: engines["django"].from_string(source).render(context)  # noqa: E731
    agents = [{**AGENT, **change} for change in list(AGENTS.values())[:count]]
    placements = [{**BASE, **change} for change in list(ROWS.values())[:count]]
    assert render(AGENT_TABLE, agents=agents) == render(AGENT_LOOP, agents=agents)
    assert render(PLACEMENT_TABLE, placements=placements) == render(PLACEMENT_LOOP, placements=placements)


# The agent list's filter_select partial until issue #11's filter_select filter.
SELECT = """<select name="{{ field.html_name }}"{% if field.errors %} aria-invalid="true" aria-describedby="{{ field.auto_id }}_error"{% endif %} id="{{ field.auto_id }}">{% with current=field.value|default:"" %}{% for value, label in field.field.choices %}
  <option value="{{ value }}"{% if value == current %} selected{% endif %}>{{ label }}</option>{% endfor %}{% endwith %}
</select>"""


@pytest.mark.parametrize("data", [None, {}, {"domain": "crm"}, {"domain": "<x>&'y'"},
                                  {"team": "r&d", "environment": ""}, {"environment": "dev", "q": "bot"}, {"domain": ""}])
def test_filter_select_writes_what_the_partial_wrote(data):
    from portal.catalog.forms import AgentFilterForm
    from portal.catalog.templatetags.catalog import filter_select

    choices = {"domains": ["crm", "<b>\"odd\" & 'x'</b>"], "teams": [(1, "r&d", "R&D <team>"), (2, "ops", "Ops")],
               "environments": [(1, "dev"), (2, "prod")]}
    form = AgentFilterForm(data, choices=choices)
    form.filters() if data else None
    for name in ("domain", "team", "environment"):
        field = form[name]
        assert filter_select(field) == "\n" + engines["django"].from_string(SELECT).render({"field": field}), name
    if data and data.get("domain") == "<x>&'y'":
        assert 'aria-invalid="true"' in filter_select(form["domain"])

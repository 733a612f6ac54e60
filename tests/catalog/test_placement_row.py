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

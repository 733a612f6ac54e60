"""Issue #11: a page's agent tables show the largest TOP_AGENTS rows and sum the rest; the CSV has every row."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from portal.costs.services import cost_entries_store
from portal.costs.selectors import TOP_AGENTS
from provisioning.cost import CostRow
from tests.factories import AgentFactory, PlacementFactory, TeamFactory

DAY = date(2026, 11, 10)
MONTH = "?month=2026-11"


@pytest.fixture
def thirty_agents(envs):
    team = TeamFactory(slug="many")
    rows = [CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal(500), "USD")]
    for i in range(30):
        agent = AgentFactory(slug=f"costly-{i:02d}", owner_team=team)
        PlacementFactory(agent=agent, environment=envs["dev"])
        rows.append(CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", agent.slug, Decimal(100 + i),
                            "USD"))
    cost_entries_store(environment=envs["dev"], month=DAY, rows=rows)
    return envs


@pytest.mark.parametrize("url", [reverse("costs:dashboard") + MONTH, reverse("costs:environment", args=["dev"]) + MONTH])
def test_agent_tables_show_the_top_agents_then_the_rest_summed(thirty_agents, client_for, viewer, url):
    html = client_for(viewer).get(url).content.decode()
    section = html[html.index('data-testid="agents-table"'):]
    section = section[:section.index("</table>")]
    assert "costly-29" in section and "costly-10" in section               # the 20 largest: 29 down to 10
    assert "costly-09" not in section and "costly-00" not in section
    assert 'data-testid="agents-rest"' in section and "The other 10 agents" in section
    assert "$1,045.00" in section                                           # 100 + 101 + ... + 109


def test_showback_shows_the_top_agents_then_the_rest_summed(thirty_agents, client_for, viewer):
    from portal.costs.selectors import period_for
    from portal.costs.showback import showback_agent_rows

    every = list(showback_agent_rows(period=period_for("2026-11", today=date(2026, 11, 30))))
    html = client_for(viewer).get(reverse("costs:showback") + MONTH).content.decode()
    section = html[html.index('data-testid="showback-table"'):]
    section = section[:section.index("</table>")]
    assert section.count("<tr>") == 1 + TOP_AGENTS                                  # the head and 20 rows
    rest = every[TOP_AGENTS:]
    assert f"The other {len(rest)} agents" in section
    assert f"${sum(r.total for r in rest):,.2f}" in section


def test_the_agents_csv_still_has_every_row_with_its_team(thirty_agents, client_for, viewer):
    response = client_for(viewer).get(reverse("costs:dashboard") + MONTH + "&format=csv&table=agents")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(rows) == 30 > TOP_AGENTS
    assert {row["team"] for row in rows} == {"Many"}
    assert sorted(row["agent"] for row in rows) == [f"costly-{i:02d}" for i in range(30)]


@pytest.mark.parametrize("url, rollup, where, untagged", [
    (reverse("costs:dashboard") + MONTH, "CostAgentTotal", {}, 0),
    (reverse("costs:environment", args=["dev"]) + MONTH, "CostAgentMonth", {"environment_id": "dev"}, 0),
    (reverse("costs:service", args=["dev", "Azure Kubernetes Service"]) + MONTH, "CostAgentService",
     {"environment_id": "dev", "service": "Azure Kubernetes Service"}, 1),   # the untagged cost is a row there
])
def test_the_rest_count_is_kept_until_an_ingest_moves_the_month_and_then_counted_again(
        thirty_agents, client_for, viewer, url, rollup, where, untagged, settings):
    """#11: "the other N agents" is counted once per version of the month's cost (ShowbackMonth.cost_writes): a
    view at the same version reads the count it kept, an ingest that writes the month's cost counts it again. (The
    page's tables are not kept rendered here: the count beneath them is what is tested.)"""
    settings.PORTAL_COST_PAGE_SECONDS = 0
    from portal.costs import models
    from portal.costs.selectors import _AgentCount

    month = date(2026, 11, 1)
    where = {k: thirty_agents[v].pk if k == "environment_id" else v for k, v in where.items()}
    key = _AgentCount(getattr(models, rollup), {**where, "month": month}).key
    client = client_for(viewer)
    assert f"The other {10 + untagged} agents" in client.get(url).content.decode()   # counted, and kept
    version, count = cache.get(key)
    assert count == 30 + untagged and version == models.ShowbackMonth.objects.get(month=month).cost_writes
    cache.set(key, (version, 99), None)
    assert "The other 79 agents" in client.get(url).content.decode()           # read from the cache, not counted
    cost_entries_store(environment=thirty_agents["dev"], month=DAY, rows=[       # an ingest: one agent more
        CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal(500), "USD"),
        *(CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", f"costly-{i:02d}", Decimal(100 + i), "USD")
          for i in range(31))])
    assert f"The other {11 + untagged} agents" in client.get(url).content.decode()   # the version moved: counted
    assert cache.get(key) == (version + 1, 31 + untagged)


@pytest.mark.parametrize("url", [reverse("costs:dashboard") + MONTH + "&format=csv&table=agents",
                                 reverse("costs:showback") + MONTH + "&format=csv&table=agents"])
def test_a_csv_is_compressed_for_a_client_that_accepts_it_and_holds_the_same_rows(thirty_agents, client_for, viewer,
                                                                                  url):
    """#11: the agents' CSV at 10,000 agents was ~300 KB; sent gzip-compressed to a browser (which accepts it)."""
    import gzip

    client = client_for(viewer)
    plain = client.get(url)
    packed = client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain and packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"] and packed["Content-Type"] == plain["Content-Type"]
    body = plain.getvalue()
    assert body.count(b"\n") > 30 and gzip.decompress(packed.getvalue()) == body        # every agent, and the header

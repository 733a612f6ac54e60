"""Issue #11: the cost CSVs stream every row from their own query; showback is summed by the database,
top N with the rest summed, the full list paged, in the same number of queries at two sizes."""

import csv
import io
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.costs.models import CostMonth
from portal.costs.selectors import TOP_AGENTS, period_for
from portal.costs.services import cost_entries_store
from portal.costs.showback import SHARED_SERVICES, cost_showback
from provisioning.cost import CostRow
from tests.factories import AgentFactory, PlacementFactory, TeamFactory

DAY = date(2026, 11, 10)
PERIOD = period_for("2026-11", today=date(2026, 11, 30))
CENT = Decimal("0.01")


def add_agents(envs, first: int, count: int):
    """`count` more agents running in dev and staging with their own cost, plus the untagged shared pools,
    a tag that names no agent and an agent running without any cost of its own."""
    team = TeamFactory(slug=f"team-{first}", name=f"Team {first}")
    for env in (envs["dev"], envs["staging"]):
        rows = [CostRow(DAY, "Azure Kubernetes Service", f"rg-{env.name}", "", Decimal(997), "USD"),
                CostRow(DAY, "Key Vault", f"rg-{env.name}", "", Decimal(3), "USD"),
                CostRow(DAY, "Azure Cosmos DB", f"rg-{env.name}", "ghost-agent", Decimal("4.5"), "USD")]
        rows += [CostRow(DAY, "Azure Cosmos DB", f"rg-{env.name}", agent.slug, cost, "USD")
                 for agent, cost in _agents(env, first, count, team)]
        existing = [CostRow(DAY, r.service, r.resource_group, r.agent, r.cost, "USD")
                    for r in CostMonth.objects.filter(environment=env, month=PERIOD.month)
                    if r.agent.startswith("scale-")]
        cost_entries_store(environment=env, month=DAY, rows=rows + existing)


def _agents(env, first, count, team):
    for i in range(first, first + count):
        from portal.catalog.models import Agent
        agent = Agent.objects.filter(slug=f"scale-{i:04d}").first() or AgentFactory(slug=f"scale-{i:04d}", owner_team=team)
        PlacementFactory(agent=agent, environment=env, replicas=1 + i % 3)
        if i % 7:                                        # every 7th runs without a cost of its own
            yield agent, Decimal(10 + (i * 37) % 91) + Decimal("0.333")


def expected_rows(envs) -> list[tuple]:
    """The showback rule worked out row by row in Python (as the page did before issue #11)."""
    rows = []
    for env in sorted(envs.values(), key=lambda e: e.position):
        month = CostMonth.objects.filter(environment=env, month=PERIOD.month)
        pool = month.filter(agent="", service__in=SHARED_SERVICES).aggregate(t=Sum("cost"))["t"] or Decimal(0)
        direct = defaultdict(Decimal)
        for entry in month.exclude(agent=""):
            direct[entry.agent] += entry.cost
        running = {p.agent.slug: p.replicas for p in Placement.objects.filter(
            environment=env, status__in=(PlacementStatus.RUNNING, PlacementStatus.DEGRADED)).select_related("agent")}
        all_replicas = sum(running.values())
        for slug in set(direct) | set(running):
            shared = (pool * running.get(slug, 0) / all_replicas).quantize(CENT) if all_replicas else Decimal(0)
            rows.append((env.name, slug, running.get(slug, 0), direct[slug].quantize(CENT), shared))
    return sorted(rows, key=lambda r: (-(r[3] + r[4]), r[0], r[1]))


def csv_rows(response) -> list[dict]:
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


@pytest.mark.parametrize("url", [reverse("costs:dashboard"), reverse("costs:environment", args=["dev"]),
                                 reverse("costs:service", args=["dev", "Azure Cosmos DB"])])
def test_the_agents_csv_streams_every_tag_with_its_cost_from_its_own_query(envs, client_for, viewer, url):
    add_agents(envs, 0, 60)
    client = client_for(viewer)
    client.get(reverse("home"))                               # the session is warm
    with CaptureQueriesContext(connection) as queries:
        rows = csv_rows(client.get(url, {"month": "2026-11", "format": "csv", "table": "agents"}))

    tagged = CostMonth.objects.filter(month=PERIOD.month).exclude(agent="")
    if "dev" in url:
        tagged = tagged.filter(environment=envs["dev"])
    if "Cosmos" in url:
        tagged = tagged.filter(service="Azure Cosmos DB")
    expected = {item["agent"]: item["total"].quantize(CENT) for item in tagged.values("agent").annotate(total=Sum("cost"))}
    total_column = "total" if "total" in rows[0] else "cost"
    assert {row["agent"]: Decimal(row[total_column]) for row in rows} == expected and len(rows) > 50
    assert [Decimal(row[total_column]) for row in rows] == sorted((Decimal(r[total_column]) for r in rows), reverse=True)
    assert {row["team"] for row in rows if row["agent"].startswith("scale-")} == {"Team 0"}
    sql = " ".join(q["sql"] for q in queries)
    assert "costs_costentry" not in sql and "costs_costforecast" not in sql and "costs_budgetalert" not in sql


def test_showback_pages_hold_every_row_of_the_rule_once_and_sum_the_rest(envs):
    add_agents(envs, 0, 45)
    expected = expected_rows(envs)

    first = cost_showback(period=PERIOD)
    seen, number = [], 1
    while True:
        page = cost_showback(period=PERIOD, page=number)
        seen += [(r.environment, r.slug, r.replicas, r.direct, r.shared) for r in page.agents]
        if not page.page.has_next():
            break
        number += 1

    assert seen == expected and len(seen) == first.page.paginator.count > 3 * TOP_AGENTS
    assert len(first.agents) == TOP_AGENTS
    rest = expected[TOP_AGENTS:]
    assert (first.agents_rest.count, first.agents_rest.total) == (len(rest), sum(r[3] + r[4] for r in rest))
    teams = {t.team: t.total for t in first.teams}
    assert teams["(no team: tag names no agent)"] == Decimal(9)          # ghost-agent in dev and staging
    assert sum(teams.values()) == sum(r[3] + r[4] for r in expected)

    second = cost_showback(period=PERIOD, page=2)
    after = expected[2 * TOP_AGENTS:]
    assert (second.agents_rest.count, second.agents_rest.total) == (len(after), sum(r[3] + r[4] for r in after))
    last = cost_showback(period=PERIOD, page=number)
    assert last.agents_rest is None
    for beyond in (number + 5, 0, -1):                                   # as Paginator.get_page: the last page
        shown = cost_showback(period=PERIOD, page=beyond)
        assert shown.page.number == number and [r.slug for r in shown.agents] == [r.slug for r in last.agents]
    assert cost_showback(period=PERIOD, page="x").page.number == 1


def test_showback_page_and_csv_keep_their_query_counts_from_50_to_150_agents(envs, client_for, viewer):
    client = client_for(viewer)
    client.get(reverse("home"))

    def counts():
        result = []
        for params in ({}, {"page": 2}, {"format": "csv", "table": "agents"}, {"format": "csv", "table": "teams"}):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("costs:showback"), {"month": "2026-11", **params})
                body = response.getvalue() if response.streaming else response.content
            assert response.status_code == 200 and len(body) < 200_000
            result.append(len(queries))
        return result, body

    add_agents(envs, 0, 25)
    small, _ = counts()
    add_agents(envs, 25, 75)
    large, body = counts()

    assert small == large
    assert len(csv.DictReader(io.StringIO(body.decode())).fieldnames) == 4 + 3   # teams: month, team, agents, total

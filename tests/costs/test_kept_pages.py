"""Issue #11: the cost dashboard's, an environment's and a service's tables are kept rendered under the version of
what they show (portal.costs.selectors.Versions). Viewed again at the same version the page runs none of their
statements and shows the same; every change a version records shows at the next view; what none records shows
once PORTAL_COST_PAGE_SECONDS have passed."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.catalog.models import Agent, Environment
from portal.costs.models import CostAgentMonth, CostAgentService, CostAgentTotal
from portal.costs.services import cost_entries_store, cost_forecast_store
from provisioning.cost import CostRow
from provisioning.cost.base import Forecast
from tests.factories import AgentFactory, PlacementFactory, TeamFactory

NOW = datetime(2026, 11, 20, 23, 58, tzinfo=ZoneInfo("UTC"))        # two minutes before the next day
DAY = date(2026, 11, 10)
MONTH = "?month=2026-11"
AKS = "Azure Kubernetes Service"
PAGES = {
    "dashboard": reverse("costs:dashboard") + MONTH,
    "environment": reverse("costs:environment", args=["dev"]) + MONTH,
    "service": reverse("costs:service", args=["dev", AKS]) + MONTH,
}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def costed(clock, envs):          # the clock first: every row written at its time
    """dev with one tagged agent (of the team "Search") and untagged AKS cost on DAY."""
    agent = AgentFactory(slug="search-bot", owner_team=TeamFactory(slug="search", name="Search"))
    PlacementFactory(agent=agent, environment=envs["dev"])
    store(envs["dev"], DAY, tagged=Decimal(120), untagged=Decimal(500))
    return envs


def store(env, day, *, tagged, untagged):
    """An ingest of `day`'s month: what the ingest's rollups and their version (cost_writes) get."""
    cost_entries_store(environment=env, month=day, rows=[
        CostRow(day, AKS, "holidaypeakhub-dev-rg", "", untagged, "USD"),
        CostRow(day, AKS, "holidaypeakhub-dev-rg", "search-bot", tagged, "USD")])


def view(client, page: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(PAGES[page]).content.decode()
    return html, len(ctx.captured_queries)


def results(html: str) -> str:
    """The page's results (the tables, the freshness): what is not per request (the CSP nonce, the CSRF token)."""
    start = html.index('id="cost-results"')
    return html[start:html.index('<script src="/static/vendor/chart', start)]


def agents_table(html: str) -> str:
    section = html[html.index('data-testid="agents-table"'):]
    return section[:section.index("</table>")]


@pytest.mark.parametrize("page", list(PAGES))
def test_a_page_viewed_again_at_the_same_version_is_the_same_without_its_tables_statements(
        costed, client_for, viewer, page):
    client = client_for(viewer)
    first, counted = view(client, page)
    again, kept = view(client, page)
    assert results(again) == results(first) and "$120.00" in agents_table(again)
    assert kept == counted - 2                      # its two tables' statements (selectors: *.tables)


@pytest.mark.parametrize("page", list(PAGES))
def test_an_ingest_of_the_month_shows_at_once(costed, client_for, viewer, page):
    client = client_for(viewer)
    assert "$120.00" in agents_table(view(client, page)[0])
    store(costed["dev"], DAY, tagged=Decimal(345), untagged=Decimal(500))
    assert "$345.00" in agents_table(view(client, page)[0])


@pytest.mark.parametrize("page", ["dashboard", "environment"])
def test_an_ingest_of_an_earlier_month_shows_in_the_trend_at_once(costed, client_for, viewer, page):
    client = client_for(viewer)
    html = view(client, page)[0]
    assert "$777.00" not in html
    store(costed["dev"], date(2026, 9, 3), tagged=Decimal(277), untagged=Decimal(500))   # September: $777
    html = view(client, page)[0]
    trend = html[html.index('data-testid="trend-table"'):]
    assert "$777.00" in trend[:trend.index("</table>")]


@pytest.mark.parametrize("page", list(PAGES))
def test_an_agent_moved_to_another_team_and_a_team_renamed_show_at_once(costed, client_for, viewer, page, clock):
    client = client_for(viewer)
    assert "Search" in agents_table(view(client, page)[0])
    clock.shift(1)                                                   # auto_now: a later time
    agent = Agent.objects.get(slug="search-bot")
    agent.owner_team = TeamFactory(slug="ranking", name="Ranking")
    agent.save()
    assert "Ranking" in agents_table(view(client, page)[0])
    clock.shift(1)
    team = agent.owner_team
    team.name = "Relevance"
    team.save()
    assert "Relevance" in agents_table(view(client, page)[0])


@pytest.mark.parametrize("page", ["dashboard", "environment"])
def test_a_budget_and_a_forecast_changed_show_at_once(costed, client_for, viewer, page):
    client = client_for(viewer)
    view(client, page)
    Environment.objects.filter(name="dev").update(monthly_budget=Decimal(123456))   # as the read sees it: its row
    assert "$123,456" in results(view(client, page)[0])
    daily = [(date(2026, 11, d), Decimal(40)) for d in range(1, 31)]
    cost_forecast_store(environment=costed["dev"], today=NOW.date(), forecast=Forecast(
        month_total_actual=Decimal(620), month_end_forecast=Decimal(9999), currency="USD", daily=daily))
    assert "$9,999" in view(client, page)[0]


@pytest.mark.parametrize("page", list(PAGES))
def test_the_next_day_reads_the_tables_again(costed, client_for, viewer, page, clock):
    client = client_for(viewer)
    counted = view(client, page)[1]
    clock.shift(timedelta(minutes=3))
    assert view(client, page)[1] == counted


@pytest.mark.parametrize("page", list(PAGES))
def test_what_no_version_records_shows_after_the_kept_seconds(costed, client_for, viewer, page, settings, clock):
    settings.PORTAL_COST_PAGE_SECONDS = 60
    client = client_for(viewer)
    assert "$120.00" in agents_table(view(client, page)[0])
    # Written around the ingest (no cost version moved): the page keeps what it showed, for at most 60 s.
    for model in (CostAgentMonth, CostAgentService, CostAgentTotal):
        model.objects.filter(agent="search-bot").update(cost=Decimal(654))
    assert "$120.00" in agents_table(view(client, page)[0])
    clock.shift(61)
    assert "$654.00" in agents_table(view(client, page)[0])


def test_none_is_kept_with_zero_seconds(costed, client_for, viewer, settings):
    settings.PORTAL_COST_PAGE_SECONDS = 0
    client = client_for(viewer)
    counted = view(client, "dashboard")[1]
    assert view(client, "dashboard")[1] == counted


@pytest.mark.parametrize("page", list(PAGES))
def test_the_agents_csv_is_kept_until_what_it_holds_changes_and_sent_compressed_where_accepted(
        costed, client_for, viewer, page, clock):
    import gzip

    client = client_for(viewer)
    url = PAGES[page] + "&format=csv&table=agents"

    def csv(**headers) -> tuple[bytes, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, headers=headers)
            body = response.getvalue()
        if response.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert "Accept-Encoding" in response["Vary"] and response["Content-Type"] == "text/csv; charset=utf-8"
        return body, len(ctx)

    first, read = csv()
    assert b"search-bot,Search," in first and b"120.00" in first
    again, kept = csv(accept_encoding="gzip, deflate, br")
    assert again == first and kept == read - 2                     # the table's own two queries not run
    store(costed["dev"], DAY, tagged=Decimal(345), untagged=Decimal(500))
    assert b"345.00" in csv()[0]                                   # an ingest: at once
    clock.shift(1)
    team = Agent.objects.get(slug="search-bot").owner_team
    team.name = "Relevance"
    team.save()
    assert b"search-bot,Relevance," in csv(accept_encoding="gzip")[0]


def test_an_agents_csv_longer_than_it_keeps_is_streamed_and_not_kept(costed, client_for, viewer, monkeypatch):
    from portal.costs import exports

    monkeypatch.setattr(exports, "KEEP_BYTES", 10)
    client = client_for(viewer)
    url = PAGES["dashboard"] + "&format=csv&table=agents"
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            body = b"".join(client.get(url).streaming_content)
        counts.append(len(ctx))
        assert body.startswith(b"month,agent,team,") and b"search-bot,Search," in body
    assert counts[0] == counts[1]                                   # read again: nothing kept

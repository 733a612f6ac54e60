"""Showback: an agent's tagged cost plus its share of the shared platform by replicas; teams sum their
agents; what no agent is charged is shown, so an environment adds up."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.costs import services
from portal.costs.selectors import Period
from portal.costs.showback import cost_showback
from provisioning.cost import CostRow

NOV_1, TODAY = date(2026, 11, 1), date(2026, 11, 20)
RG = "holidaypeakhub-dev-rg"


@pytest.fixture
def dev_costs(envs):
    """dev: search (1 replica) and cart (1) and support (2) run; a blocked agent costs nothing shared."""
    dev = envs["dev"]
    services.cost_entries_store(environment=dev, month=NOV_1, rows=[
        CostRow(date(2026, 11, 2), "Azure Kubernetes Service", RG, "", Decimal(300), "USD"),     # shared pool
        CostRow(date(2026, 11, 2), "Redis Cache", RG, "", Decimal(100), "USD"),                  # shared pool
        CostRow(date(2026, 11, 2), "API Management", RG, "", Decimal(50), "USD"),                # not charged
        CostRow(date(2026, 11, 2), "Azure Cosmos DB", RG, "ecommerce-catalog-search", Decimal(20), "USD"),
        CostRow(date(2026, 11, 3), "Search", RG, "ecommerce-catalog-search", Decimal(70), "USD"),
        CostRow(date(2026, 11, 2), "Storage", RG, "crm-support-assistance", Decimal(8), "USD"),
        CostRow(date(2026, 11, 2), "Storage", RG, "retired-thing", Decimal(2), "USD"),            # no such agent
    ])
    return dev


def test_each_agent_pays_its_tagged_cost_and_its_replicas_share_of_the_shared_pool(dev_costs):
    showback = cost_showback(period=Period(NOV_1, TODAY), environment="dev")

    by_slug = {row.slug: row for row in showback.agents}
    # the pool is $400 (AKS + Redis, untagged) over 4 replicas: $100 a replica
    assert (by_slug["ecommerce-catalog-search"].direct, by_slug["ecommerce-catalog-search"].shared) == (90, 100)
    assert (by_slug["crm-support-assistance"].direct, by_slug["crm-support-assistance"].shared) == (8, 200)
    assert (by_slug["ecommerce-cart-intelligence"].direct, by_slug["ecommerce-cart-intelligence"].shared) == (0, 100)
    assert by_slug["retired-thing"].shared == 0 and by_slug["retired-thing"].url is None
    assert by_slug["crm-support-assistance"].url == "/agents/crm-support-assistance/"
    [env] = showback.environments
    assert (env.total, env.direct, env.shared_pool, env.replicas) == (550, 100, 400, 4)
    assert env.unattributed == 50                                   # API Management: platform, not charged
    assert sum(row.total for row in showback.agents) + env.unattributed == env.total
    teams = {team.team: team.total for team in showback.teams}
    assert teams == {"E-commerce team": 290, "CRM team": 208, "(no team: tag names no agent)": 2}


def test_an_agent_that_does_not_run_is_not_charged_a_share(dev_costs):
    Placement.objects.filter(agent__slug="crm-support-assistance").update(status=PlacementStatus.BLOCKED)

    by_slug = {row.slug: row for row in cost_showback(period=Period(NOV_1, TODAY)).agents if row.environment == "dev"}

    assert by_slug["crm-support-assistance"].shared == 0
    assert by_slug["ecommerce-catalog-search"].shared == 200          # $400 over the 2 replicas left


def test_the_showback_page_documents_the_rule_and_exports_its_tables(dev_costs, client_for, viewer):
    client = client_for(viewer)
    html = client.get(reverse("costs:showback"), {"month": "2026-11"}).content.decode()
    assert "How an agent's cost is worked out" in html
    assert "untagged cost × the agent's replicas ÷ all running agents' replicas" in html

    teams = client.get(reverse("costs:showback"), {"month": "2026-11", "environment": "dev", "format": "csv",
                                                   "table": "teams"}).getvalue().decode().splitlines()
    assert teams[0] == "month,team,agents,dev,total"
    assert teams[1] == "2026-11,E-commerce team,2,290.00,290.00"

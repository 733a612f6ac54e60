"""Costs, health and RBAC through the API: the same selectors as the dashboards, read-scoped."""

from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
import time_machine

from portal.access.models import RbacAudit, RbacFinding
from portal.costs.models import CostEntry
from portal.costs.services import cost_month_refresh
from portal.health.models import HealthCheck

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def read(viewer, token_for, api):
    return api(token_for(viewer, "read"))


@time_machine.travel(NOW, tick=False)
def test_costs_by_month_per_environment_service_and_agent(platform, read):
    for day, service, agent, cost in [(3, "Azure Cosmos DB", "", "10.50"), (4, "Azure Cosmos DB", "", "4.50"),
                                      (4, "Storage", "ecommerce-catalog-search", "2.25")]:
        CostEntry.objects.create(environment=platform, date=date(2026, 11, day), service=service,
                                 resource_group="holidaypeakhub-dev-rg", agent=agent, cost=Decimal(cost))
    CostEntry.objects.create(environment=platform, date=date(2026, 10, 30), service="Storage",
                             resource_group="holidaypeakhub-dev-rg", cost=Decimal("99"))
    for month in (date(2026, 10, 1), date(2026, 11, 1)):   # what the ingest does after storing days (#11)
        cost_month_refresh(environment=platform, month=month)
    body = read("get", "costs").json()
    assert body["month"] == "2026-11-01"
    assert [(e["environment"], Decimal(e["actual"])) for e in body["environments"]] == [("dev", Decimal("17.25"))]
    services = {row["name"]: Decimal(row["total"]) for row in body["services"]}
    assert services == {"Azure Cosmos DB": Decimal("15"), "Storage": Decimal("2.25")}
    assert [(row["name"], Decimal(row["by_environment"]["dev"])) for row in body["agents"]] == [
        ("ecommerce-catalog-search", Decimal("2.25"))]
    october = read("get", "costs?month=2026-10").json()
    assert october["month"] == "2026-10-01" and Decimal(october["environments"][0]["actual"]) == Decimal("99")


def test_bad_month_is_a_field_error(platform, read):
    response = read("get", "costs?month=November")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "month"


def test_health_board_per_environment(platform, read):
    HealthCheck.objects.create(environment=platform, kind="node-pool", target="agents", label="Node pool agents",
                               state="red", summary="1 of 2 nodes Ready", checked_at=NOW)
    body = read("get", "health/dev").json()
    assert body["environment"] == "dev" and body["state"] == "red" and body["counts"]["red"] == 1
    assert [(c["label"], c["state"]) for c in body["checks"]] == [("Node pool agents", "red")]
    assert read("get", "health").json()["items"][0]["environment"] == "dev"
    missing = read("get", "health/nowhere")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"


def test_rbac_findings_per_environment(platform, read):
    audit = RbacAudit.objects.create(environment=platform, outcome="read", backend="sandbox", ran_at=NOW,
                                     present_count=0, missing_count=1, unexpected_count=0)
    RbacFinding.objects.create(audit=audit, kind="missing", role_name="AcrPull",
                               role_guid="7f951dda-4ed3-4680-a7ca-43fe172d538d", principal="aks-kubelet",
                               scope="/subscriptions/x/resourceGroups/holidaypeakhub-dev-rg")
    body = read("get", "rbac/dev").json()
    assert body["could_read"] is True and body["outcome"] == "read"
    assert [(f["kind"], f["role_name"]) for f in body["findings"]] == [("missing", "AcrPull")]


def test_catalog_reads(platform, read):
    envs = read("get", "environments").json()
    assert [e["name"] for e in envs["items"]] == ["dev"] and envs["count"] == 1
    env = read("get", "environments/dev").json()
    assert [p["name"] for p in env["node_pools"]] == ["agents"]
    agents = read("get", "agents?environment=dev").json()
    assert [a["slug"] for a in agents["items"]] == ["ecommerce-catalog-search"]
    assert agents["items"][0]["placements"][0]["redis_db"] == 1
    placements = read("get", "placements?agent=ecommerce-catalog-search").json()
    assert [(p["agent"], p["environment"]) for p in placements["items"]] == [("ecommerce-catalog-search", "dev")]
    assert read("get", "agents/nobody").status_code == 404

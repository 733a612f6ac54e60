"""The price catalogue: estimates of the platform's templates, unpriced resources listed (never counted
as 0), the cost of a change over an inventory, and a refresh from the Azure Retail Prices API through
an injected fetch (no network)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from provisioning.backends.base import ResourceSpec
from provisioning.bicep import template_resources
from provisioning.cost.catalogue import (
    AKS,
    AKS_POOL,
    DEFAULT_CATALOGUE,
    LIST_PRICE,
    RETAIL_PRICES_URL,
    Estimate,
    Price,
    UnpricedResources,
    estimate,
    estimate_delta,
    refresh_from_retail_prices,
)

BICEP_ROOT = Path(__file__).resolve().parents[2] / "bicep"
AGENT = "ecommerce-catalog-search"
OPENAI_DEPLOYMENTS = "Microsoft.CognitiveServices/accounts/deployments"


def agent_resources(**parameters: Any) -> tuple[ResourceSpec, ...]:
    given = {"agentName": AGENT, "redisDatabase": 6, "environment": "dev", **parameters}
    return template_resources(BICEP_ROOT / "agent" / "main.bicep", given)


def shared_resources(env: str) -> tuple[ResourceSpec, ...]:
    return template_resources(BICEP_ROOT / "shared-infrastructure" / "main.bicep", {"environment": env})


def line(result: Estimate, resource_type: str) -> tuple[Decimal, str]:
    [found] = [(item.monthly, item.basis) for item in result.lines if item.resource.type == resource_type]
    return found


# --- The agent module ---------------------------------------------------------------------------

def test_an_agent_without_ai_search_costs_nothing_of_its_own_and_says_why() -> None:
    result = estimate(agent_resources())

    assert result.total == 0
    assert result.unpriced == [] and result.complete
    assert {item.resource.type for item in result.lines} == {
        "Microsoft.Resources/deployments",
        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
    }
    assert line(result, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")[1].startswith(
        "included in parent")
    assert line(result, "Microsoft.Storage/storageAccounts/blobServices/containers")[1].startswith(
        "included in parent")


@pytest.mark.parametrize(("env", "sku", "expected"), [
    ("dev", "basic", Decimal("73.73")),          # one replica outside prod
    ("prod", "basic", Decimal("147.46")),        # two replicas in prod
    ("prod", "standard", Decimal("490.56")),
])
def test_an_agent_with_ai_search_pays_for_its_search_units(env: str, sku: str, expected: Decimal) -> None:
    without = estimate(agent_resources(environment=env))
    result = estimate(agent_resources(environment=env, enableAiSearch=True, aiSearchSku=sku))

    monthly, basis = line(result, "Microsoft.Search/searchServices")
    assert monthly == expected == result.total - without.total
    assert sku in basis and LIST_PRICE in basis
    assert result.complete


def test_an_openai_deployment_is_listed_as_unpriced_not_counted_as_zero() -> None:
    result = estimate(agent_resources(enableOpenAi=True))

    assert [r.type for r in result.unpriced] == [OPENAI_DEPLOYMENTS]
    assert not result.complete
    assert "per token" in result.skipped[0].reason
    assert OPENAI_DEPLOYMENTS not in {item.resource.type for item in result.lines}
    assert line(result, "Microsoft.CognitiveServices/accounts")[0] == 0   # the account: no fixed charge
    assert result.total == 0


def test_a_usage_assumption_added_to_the_catalogue_prices_the_openai_deployment() -> None:
    catalogue = DEFAULT_CATALOGUE.with_prices({
        (OPENAI_DEPLOYMENTS, "Standard"): Price(Decimal("1.50"), unit="1K TPM", source="our assumption",
                                                note="10% of capacity, gpt-4o-mini"),
    })
    result = catalogue.estimate(agent_resources(enableOpenAi=True, openAiCapacity=20))

    assert result.complete
    assert line(result, OPENAI_DEPLOYMENTS) == (
        Decimal("30.00"), "20 x $1.50 per 1K TPM (10% of capacity, gpt-4o-mini) [our assumption]")
    assert DEFAULT_CATALOGUE.price(OPENAI_DEPLOYMENTS, "Standard") is None     # the default is unchanged


def test_a_type_the_catalogue_does_not_know_is_unpriced() -> None:
    sql = ResourceSpec(type="Microsoft.Sql/servers", name="holidaypeakhub-dev-sql")
    redis_c3 = ResourceSpec(type="Microsoft.Cache/redis", name="small",  # C1 is priced (bicep/portal), C3 is not
                            properties={"properties": {"sku": {"name": "Standard", "family": "C", "capacity": 3}}})
    result = estimate([*agent_resources(enableAiSearch=True), sql, redis_c3])

    assert result.unpriced == [sql, redis_c3]
    assert "Microsoft.Sql/servers" in result.skipped[0].reason
    assert "'C3'" in result.skipped[1].reason
    assert result.total == Decimal("73.73")


# --- The shared infrastructure ------------------------------------------------------------------

def test_shared_infrastructure_dev_is_priced_from_the_design_figures() -> None:
    result = estimate(shared_resources("dev"))

    assert result.complete
    assert line(result, AKS)[0] == Decimal("250.00")                           # 4 x B4ms, as the design says
    assert line(result, "Microsoft.Cache/redis")[0] == Decimal("150.00")
    assert line(result, "Microsoft.DocumentDB/databaseAccounts")[0] == Decimal("75.00")
    assert line(result, "Microsoft.ApiManagement/service")[0] == Decimal("10.00")
    assert line(result, "Microsoft.OperationalInsights/workspaces")[0] == Decimal("20.00")
    # the design's ~$540-590, plus six private endpoints and DNS zones it leaves out
    private_networking = sum((item.monthly for item in result.lines
                              if item.resource.type in ("Microsoft.Network/privateEndpoints",
                                                        "Microsoft.Network/privateDnsZones")), Decimal(0))
    assert private_networking == Decimal("46.80")
    assert Decimal(540) <= result.total - private_networking <= Decimal(590)
    assert all(item.monthly == 0 for item in result.lines if item.resource.type.endswith("roleAssignments"))


def test_shared_infrastructure_prod_prices_throughput_replicas_and_node_sizes() -> None:
    result = estimate(shared_resources("prod"))

    assert result.complete
    monthly, basis = line(result, AKS)
    assert monthly == Decimal("727.56")                 # Standard tier + 4 x D4s_v5 (the design counts 11 nodes)
    assert "agents 2 x $163.64 per node (Standard_D4s_v5)" in basis
    assert line(result, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases")[0] == Decimal("600.00")
    assert line(result, "Microsoft.DocumentDB/databaseAccounts")[0] == 0
    assert line(result, "Microsoft.ContainerRegistry/registries/replications")[0] == Decimal("20.00")
    assert line(result, "Microsoft.EventHub/namespaces")[0] == Decimal("40.00")    # 2 throughput units
    assert line(result, "Microsoft.ApiManagement/service")[0] == Decimal("900.00")
    assert line(result, "Microsoft.OperationalInsights/workspaces")[0] == Decimal("100.00")


def test_usage_based_prices_follow_the_environment_tag_or_the_one_given() -> None:
    workspace = [r for r in shared_resources("prod") if r.type == "Microsoft.OperationalInsights/workspaces"]

    assert estimate(workspace).total == Decimal("100.00")
    assert estimate(workspace, environment="dev").total == Decimal("20.00")
    assert estimate(workspace, environment="staging").total == Decimal("32.00")


def test_redis_replicas_and_shards_add_nodes() -> None:
    redis = ResourceSpec(type="Microsoft.Cache/redis", name="r", properties={
        "properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1}, "replicasPerMaster": 3}})
    sharded = ResourceSpec(type="Microsoft.Cache/redis", name="s", properties={
        "properties": {"sku": {"name": "Premium", "family": "P", "capacity": 1}, "shardCount": 2}})

    assert estimate([redis]).total == Decimal("300.00")         # the design's "P1 + replication"
    assert estimate([sharded]).total == Decimal("300.00")


def test_an_aks_pool_of_an_unknown_vm_size_leaves_the_cluster_unpriced() -> None:
    [aks] = [r for r in shared_resources("dev") if r.type == AKS]
    pools = [{**pool, "vmSize": "Standard_E64s_v5"} if pool["name"] == "crud" else pool
             for pool in aks.properties["properties"]["agentPoolProfiles"]]
    bigger = ResourceSpec(type=aks.type, name=aks.name,
                          properties={**aks.properties, "properties": {**aks.properties["properties"],
                                                                       "agentPoolProfiles": pools}})
    result = estimate([bigger])

    assert result.unpriced == [bigger] and result.total == 0
    assert "Standard_E64s_v5" in result.skipped[0].reason


# --- Changes over an inventory ------------------------------------------------------------------

def test_deploying_an_agent_over_its_environment_adds_only_what_is_new() -> None:
    inventory = [*shared_resources("prod"), *agent_resources(environment="prod")]
    new = agent_resources(environment="prod", enableAiSearch=True)

    assert estimate_delta(new, inventory) == Decimal("147.46")
    changes = DEFAULT_CATALOGUE.estimate_changes(new, inventory)
    by_type = {item.resource.type: item for item in changes.lines}
    assert by_type["Microsoft.Search/searchServices"].basis.startswith("new: ")
    blob_container = by_type["Microsoft.Storage/storageAccounts/blobServices/containers"]
    assert blob_container.monthly == 0 and "already deployed, no change" in blob_container.basis


def test_a_sku_change_costs_the_difference() -> None:
    before = agent_resources(environment="prod", enableAiSearch=True)
    after = agent_resources(environment="prod", enableAiSearch=True, aiSearchSku="standard")

    assert estimate_delta(after, before) == Decimal("490.56") - Decimal("147.46")
    assert estimate_delta(before, after) == Decimal("147.46") - Decimal("490.56")
    assert estimate_delta(before, before) == 0


def test_a_delta_with_an_unpriced_resource_refuses_to_guess() -> None:
    with pytest.raises(UnpricedResources) as raised:
        estimate_delta(agent_resources(enableOpenAi=True), [])

    assert [s.resource.type for s in raised.value.skipped] == [OPENAI_DEPLOYMENTS]
    changes = DEFAULT_CATALOGUE.estimate_changes(agent_resources(enableOpenAi=True), [])
    assert changes.unpriced and changes.total == 0


# --- The catalogue itself -----------------------------------------------------------------------

def test_prices_are_looked_up_without_case() -> None:
    assert DEFAULT_CATALOGUE.price("microsoft.cache/REDIS", "p1") == DEFAULT_CATALOGUE.price(
        "Microsoft.Cache/redis", "P1")
    replaced = DEFAULT_CATALOGUE.with_prices({("MICROSOFT.CACHE/REDIS", "p1"): Price(Decimal(404))})
    assert replaced.price("Microsoft.Cache/redis", "P1") == Price(Decimal(404))
    assert len(replaced.items()) == len(DEFAULT_CATALOGUE.items())


# --- Azure Retail Prices API --------------------------------------------------------------------

def _vm(sku: str, price: float, product: str = "Virtual Machines Dsv5 Series", name: str = "D4s v5",
        unit: str = "1 Hour") -> dict[str, Any]:
    return {"currencyCode": "USD", "tierMinimumUnits": 0.0, "retailPrice": price, "unitPrice": price,
            "armRegionName": "eastus", "location": "US East", "meterName": name, "productName": product,
            "skuName": name, "serviceName": "Virtual Machines", "unitOfMeasure": unit, "type": "Consumption",
            "armSkuName": sku}


class FakeRetailPrices:
    """Answers the Retail Prices API's GET ?$filter=... from canned items, two to a page."""

    def __init__(self, items: list[dict[str, Any]], *, broken: str = "") -> None:
        self.items = items
        self.broken = broken
        self.urls: list[str] = []

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.urls.append(url)
        split = urlsplit(url)
        assert f"{split.scheme}://{split.netloc}{split.path}" == RETAIL_PRICES_URL
        query = parse_qs(split.query)
        odata = query["$filter"][0]
        if self.broken and self.broken in odata:
            raise OSError("connection reset")
        wanted = dict(clause.split(" eq ") for clause in odata.split(" and "))
        matching = [item for item in self.items
                    if all(str(item.get(field, "")) == value.strip("'") for field, value in wanted.items()
                           if field != "priceType")]
        skip = int(query.get("$skip", ["0"])[0])
        page = matching[skip:skip + 2]
        next_link = f"{url.split('&$skip=')[0]}&$skip={skip + 2}" if skip + 2 < len(matching) else None
        return {"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail",
                "Items": page, "NextPageLink": next_link, "Count": len(page)}


def test_refresh_reads_linux_pay_as_you_go_vm_prices_for_aks_nodes() -> None:
    fetch = FakeRetailPrices([
        _vm("Standard_D4s_v5", 0.768, product="Virtual Machines Dsv5 Series Windows"),
        _vm("Standard_D4s_v5", 0.0384, name="D4s v5 Spot"),
        _vm("Standard_D4s_v5", 0.0768, name="D4s v5 Low Priority"),
        _vm("Standard_D4s_v5", 0.192),
        _vm("Standard_B4ms", 0.166, product="Virtual Machines BS Series", name="B4ms"),
        {**_vm("Standard_D4s_v5", 1.0), "unitOfMeasure": "1 GB"},
    ])

    refreshed = refresh_from_retail_prices(fetch=fetch, region="eastus")

    d4 = refreshed.price(AKS_POOL, "Standard_D4s_v5")
    assert d4 is not None and d4.monthly == Decimal("140.16")          # 0.192 x 730
    assert d4.source.startswith("Azure Retail Prices API, eastus, ") and d4.unit == "node"
    b4 = refreshed.price(AKS_POOL, "Standard_B4ms")
    assert b4 is not None and b4.monthly == Decimal("121.18")
    assert any("%24skip=2" in url or "$skip=2" in url for url in fetch.urls)    # followed NextPageLink
    # Meters it found nothing for keep the design's figures
    assert refreshed.price("Microsoft.EventHub/namespaces", "Standard") == DEFAULT_CATALOGUE.price(
        "Microsoft.EventHub/namespaces", "Standard")
    assert refreshed.price(AKS, "Standard") == DEFAULT_CATALOGUE.price(AKS, "Standard")
    assert estimate([r for r in shared_resources("prod") if r.type == AKS], catalogue=refreshed).total == \
        Decimal("73.00") + 4 * Decimal("140.16")


def test_refresh_keeps_a_price_whose_request_failed() -> None:
    fetch = FakeRetailPrices([_vm("Standard_D4s_v5", 0.192),
                              _vm("Standard_B4ms", 0.166, product="Virtual Machines BS Series", name="B4ms")],
                             broken="Standard_B4ms")

    refreshed = refresh_from_retail_prices(fetch=fetch)

    assert refreshed.price(AKS_POOL, "Standard_B4ms") == DEFAULT_CATALOGUE.price(AKS_POOL, "Standard_B4ms")
    d4 = refreshed.price(AKS_POOL, "Standard_D4s_v5")
    assert d4 is not None and d4.monthly == Decimal("140.16")


def test_refresh_reads_other_services_by_meter() -> None:
    event_hubs = {"serviceName": "Event Hubs", "skuName": "Standard", "armRegionName": "westeurope",
                  "meterName": "Standard Throughput Unit", "productName": "Event Hubs", "unitOfMeasure": "1 Hour",
                  "retailPrice": 0.03, "type": "Consumption", "tierMinimumUnits": 0.0}
    ingress = {**event_hubs, "meterName": "Standard Ingress Events", "unitOfMeasure": "1M", "retailPrice": 0.028}

    refreshed = refresh_from_retail_prices(fetch=FakeRetailPrices([event_hubs, ingress]), region="westeurope")

    price = refreshed.price("Microsoft.EventHub/namespaces", "Standard")
    assert price is not None and price.monthly == Decimal("21.90") and price.unit == "throughput unit"

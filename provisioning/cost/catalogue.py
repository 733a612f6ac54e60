"""What a deployment would cost a month, before it is deployed: a price catalogue keyed by resource type
and SKU (USD a month), and the rules that read a ResourceSpec's SKU, capacity, node counts and so on.

    catalogue = PriceCatalogue()                      # the design document's figures
    estimate = catalogue.estimate(template_resources(Path("bicep/agent/main.bicep"), {...}))
    estimate.total, estimate.lines, estimate.unpriced

A resource the catalogue cannot price is listed in `Estimate.unpriced` with the reason, and never
counted as 0. What costs nothing of its own is a priced line at 0 that says why: "included in parent"
for a Cosmos DB container without its own throughput, a blob container or an Event Hub, "no charge"
for a role assignment or a resource group, "its resources are priced one by one" for a module's
deployment.

Figures come from the design document (`infrastructure-summary.md`, the monthly cost tables) where it
has one; the rest are Azure list prices, each Price saying its source. Usage-based services (Cosmos
DB serverless, APIM Consumption, Log Analytics ingestion, VNet traffic) carry a figure per environment,
and a resource is priced for the environment its `environment` tag names. `refresh_from_retail_prices`
replaces fixed-price figures with the public Azure Retail Prices API's.

The design's monthly tables per environment (DESIGN_MONTHLY_COSTS) are here too: the sandbox's cost
data is generated from them.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from urllib.parse import urlencode

from provisioning.backends.base import ResourceSpec

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
HOURS_PER_MONTH = Decimal(730)          # Azure's pricing calculator's month
DESIGN = "design document"
LIST_PRICE = "Azure list price (not in the design document)"
ENVIRONMENTS = ("dev", "staging", "prod")

# --- The design document's monthly tables, by environment and Cost Management ServiceName ---------

_DEV = {
    "Azure Kubernetes Service": Decimal(250),    # 4 nodes B4ms
    "Azure Cosmos DB": Decimal(75),              # serverless, ~$50-100 usage-based
    "Redis Cache": Decimal(150),                 # Premium P1 6 GB
    "Event Hubs": Decimal(20),                   # Standard
    "Storage": Decimal(5),                       # LRS
    "Key Vault": Decimal(5),                     # Premium
    "API Management": Decimal(10),               # Consumption, usage-based
    "Container Registry": Decimal(20),           # Premium
    "Virtual Network": Decimal(10),              # VNet/NSG
    "Application Insights": Decimal(20),         # pay-as-you-go
    "Static Web Apps": Decimal(0),               # Free
}
_PROD = {
    "Azure Kubernetes Service": Decimal(1800),   # 11 nodes D4s_v5
    "Azure Cosmos DB": Decimal(600),             # provisioned 10K RU/s
    "Redis Cache": Decimal(300),                 # Premium P1 + replication
    "Event Hubs": Decimal(100),
    "Storage": Decimal(20),                      # GRS
    "Key Vault": Decimal(5),
    "API Management": Decimal(900),              # StandardV2
    "Container Registry": Decimal(40),           # Premium + geo-replication
    "Virtual Network": Decimal(50),
    "Application Insights": Decimal(100),
    "Static Web Apps": Decimal(9),               # Standard, + bandwidth
}
STAGING_FACTOR = Decimal("1.6")                  # the design has no staging table: between dev and prod
DESIGN_MONTHLY_COSTS: dict[str, dict[str, Decimal]] = {
    "dev": _DEV,
    # Static Web Apps stays on the Free tier outside prod (static-web-app.bicep).
    "staging": {service: (cost * STAGING_FACTOR).quantize(CENT) for service, cost in _DEV.items()},
    "prod": _PROD,
}


# --- Prices -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Price:
    """USD a month for one `unit` of a resource type and SKU. `by_environment` overrides `monthly`
    for usage-based services, whose cost depends on the traffic an environment has."""

    monthly: Decimal
    unit: str = ""                 # "" for the resource itself; else "node", "throughput unit", ...
    source: str = DESIGN
    by_environment: Mapping[str, Decimal] = field(default_factory=dict)
    note: str = ""                 # how the figure is meant, shown in an estimate's basis

    def for_environment(self, environment: str | None) -> Decimal:
        if environment is not None and environment in self.by_environment:
            return self.by_environment[environment]
        return self.monthly


PriceKey = tuple[str, str]         # (resource type, SKU), compared without case


def _usage(dev: int | str, staging: int | str, prod: int | str) -> dict[str, Decimal]:
    return {"dev": Decimal(dev), "staging": Decimal(staging), "prod": Decimal(prod)}


AKS = "Microsoft.ContainerService/managedClusters"
AKS_POOL = "Microsoft.ContainerService/managedClusters/agentPools"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
COSMOS_THROUGHPUT = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases"

POSTGRES = "Microsoft.DBforPostgreSQL/flexibleServers"
POSTGRES_STORAGE = "Microsoft.DBforPostgreSQL/flexibleServers/storage"  # a price key only, not a resource

DEFAULT_PRICES: dict[PriceKey, Price] = {
    # AKS: the cluster's tier, plus each node by VM size. Node prices are the design's totals divided
    # by its node counts (dev 4 x B4ms ~$250, prod 11 x D4s_v5 ~$1,800).
    (AKS, "Free"): Price(Decimal(0), note="no cluster management fee"),
    (AKS, "Standard"): Price(Decimal("73.00"), source=LIST_PRICE, note="uptime SLA, $0.10 an hour"),
    (AKS_POOL, "Standard_B4ms"): Price(Decimal("62.50"), unit="node", note="$250 / 4 nodes"),
    (AKS_POOL, "Standard_D4s_v5"): Price(Decimal("163.64"), unit="node", note="$1,800 / 11 nodes"),
    # Cosmos DB: serverless is usage-based; provisioned throughput is billed where it is set.
    (COSMOS, "serverless"): Price(Decimal(75), source=DESIGN, by_environment=_usage(75, 120, 75),
                                  note="serverless, usage-based (design: ~$50-100)"),
    (COSMOS, "provisioned"): Price(Decimal(0), note="provisioned throughput is billed on the database or "
                                                    "container that sets it"),
    (COSMOS_THROUGHPUT, "provisioned"): Price(Decimal(6), unit="100 RU/s",
                                              note="design: 10K RU/s ~$600; autoscale at its maximum"),
    ("Microsoft.Cache/redis", "P1"): Price(Decimal(150), unit="cache (primary + replica)",
                                           note="Premium P1 6 GB"),
    ("Microsoft.EventHub/namespaces", "Standard"): Price(Decimal(20), unit="throughput unit",
                                                         note="Standard, ingress extra"),
    ("Microsoft.Storage/storageAccounts", "Standard_LRS"): Price(Decimal(5), note="LRS, usage-based"),
    ("Microsoft.Storage/storageAccounts", "Standard_GRS"): Price(Decimal(20), note="GRS, usage-based"),
    ("Microsoft.KeyVault/vaults", "premium"): Price(Decimal(5), note="Premium, per operation"),
    ("Microsoft.ApiManagement/service", "Consumption"): Price(Decimal(10), by_environment=_usage(10, 16, 10),
                                                              note="Consumption, per call"),
    ("Microsoft.ApiManagement/service", "StandardV2"): Price(Decimal(900), unit="unit", note="StandardV2"),
    ("Microsoft.ContainerRegistry/registries", "Premium"): Price(Decimal(20), note="Premium"),
    ("Microsoft.ContainerRegistry/registries/replications", ""): Price(
        Decimal(20), unit="replica", note="each geo-replica is billed as another Premium registry"),
    ("Microsoft.Web/staticSites", "Free"): Price(Decimal(0), note="Free tier"),
    ("Microsoft.Web/staticSites", "Standard"): Price(Decimal(9), note="Standard, + bandwidth"),
    ("Microsoft.Network/virtualNetworks", ""): Price(Decimal(10), by_environment=_usage(10, 16, 50),
                                                     note="VNet/NSG, traffic-dependent"),
    ("Microsoft.Network/privateEndpoints", ""): Price(Decimal("7.30"), source=LIST_PRICE,
                                                      note="$0.01 an hour, + data processed"),
    ("Microsoft.Network/privateDnsZones", ""): Price(Decimal("0.50"), source=LIST_PRICE, note="per zone"),
    ("Microsoft.OperationalInsights/workspaces", "PerGB2018"): Price(
        Decimal(20), by_environment=_usage(20, 32, 100),
        note="pay-as-you-go ingestion (the design's App Insights line)"),
    ("Microsoft.Search/searchServices", "free"): Price(Decimal(0), source=LIST_PRICE, note="Free tier"),
    ("Microsoft.Search/searchServices", "basic"): Price(Decimal("73.73"), unit="search unit", source=LIST_PRICE,
                                                        note="Basic"),
    ("Microsoft.Search/searchServices", "standard"): Price(Decimal("245.28"), unit="search unit",
                                                           source=LIST_PRICE, note="Standard S1"),
    # The portal's own infrastructure (bicep/portal, #14): approximate East US list prices.
    (POSTGRES, "Standard_B2s"): Price(Decimal("49.64"), unit="server", source=LIST_PRICE,
                                      note="Burstable B2s compute, about $0.068 an hour"),
    (POSTGRES, "Standard_D2ds_v5"): Price(Decimal("127.75"), unit="server", source=LIST_PRICE,
                                          note="General Purpose D2ds_v5 compute, about $0.175 an hour"),
    (POSTGRES_STORAGE, ""): Price(Decimal("0.115"), unit="GiB", source=LIST_PRICE, note="provisioned storage"),
    ("Microsoft.Cache/redis", "C1"): Price(Decimal("100.74"), unit="cache (primary + replica)", source=LIST_PRICE,
                                           note="Standard C1 1 GB"),
    ("Microsoft.KeyVault/vaults", "standard"): Price(Decimal(1), note="Standard, per operation"),
    ("Microsoft.CognitiveServices/accounts", "OpenAI/S0"): Price(
        Decimal(0), source=LIST_PRICE, note="no fixed charge: tokens are billed on use, per deployment"),
    # Standard (pay-per-token) OpenAI deployments are left out on purpose: what they cost is a usage
    # assumption (tokens a month), so an estimate lists them as unpriced until one is added here as
    # ("Microsoft.CognitiveServices/accounts/deployments", "Standard") with unit "1K TPM".
}

# Types that cost nothing of their own, with the reason an estimate gives.
NO_CHARGE: dict[str, str] = {
    "Microsoft.Resources/resourceGroups": "no charge",
    "Microsoft.Resources/deployments": "a deployment: its resources are priced one by one",
    "Microsoft.Authorization/roleAssignments": "no charge",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments": "no charge",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions": "no charge",
    "Microsoft.Network/networkSecurityGroups": "no charge",
    "Microsoft.Network/virtualNetworks/subnets": "included in parent (virtual network)",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "included in parent (private endpoint)",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "included in parent (private DNS zone)",
    "Microsoft.Storage/storageAccounts/blobServices": "included in parent (storage account)",
    "Microsoft.Storage/storageAccounts/blobServices/containers":
        "included in parent: billed as the storage account's capacity and transactions",
    "Microsoft.EventHub/namespaces/eventhubs": "included in parent: the namespace's throughput units",
    "Microsoft.EventHub/namespaces/eventhubs/consumergroups": "included in parent (event hub)",
    "Microsoft.KeyVault/vaults/secrets": "included in parent: billed per operation on the vault",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "no charge",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials": "no charge",
    "Microsoft.DBforPostgreSQL/flexibleServers/databases": "included in parent (PostgreSQL server)",
}


# --- Estimates ----------------------------------------------------------------------------------

class EstimateLine(NamedTuple):
    resource: ResourceSpec
    monthly: Decimal
    basis: str


class Unpriced(NamedTuple):
    resource: ResourceSpec
    reason: str


@dataclass(frozen=True)
class Estimate:
    """`total` is the sum of `lines`; what could not be priced is in `unpriced` (with `skipped`
    saying why), never in the total."""

    total: Decimal
    lines: list[EstimateLine]
    skipped: list[Unpriced] = field(default_factory=list)
    currency: str = "USD"

    @property
    def unpriced(self) -> list[ResourceSpec]:
        return [item.resource for item in self.skipped]

    @property
    def complete(self) -> bool:
        return not self.skipped


class UnpricedResources(ValueError):
    """estimate_delta() met resources it cannot price: a total without them would be wrong."""

    def __init__(self, skipped: Sequence[Unpriced]) -> None:
        self.skipped = list(skipped)
        names = ", ".join(f"{s.resource.type} {s.resource.name} ({s.reason})" for s in self.skipped)
        super().__init__(f"cannot price: {names}")


class CannotPrice(Exception):
    """Why one resource has no price (price_resource raises it; estimates list the resource as unpriced)."""


class PriceCatalogue:
    """Prices by (resource type, SKU), compared without case. Immutable: with_prices() returns a new one."""

    def __init__(self, prices: Mapping[PriceKey, Price] | None = None, *, currency: str = "USD") -> None:
        self.currency = currency
        # by lowercased key: (the key as written, its price)
        self._prices: dict[PriceKey, tuple[PriceKey, Price]] = {
            _key(*key): (key, price) for key, price in (DEFAULT_PRICES if prices is None else prices).items()}

    def price(self, resource_type: str, sku: str = "") -> Price | None:
        entry = self._prices.get(_key(resource_type, sku))
        return entry[1] if entry is not None else None

    def items(self) -> list[tuple[PriceKey, Price]]:
        return list(self._prices.values())

    def with_prices(self, updates: Mapping[PriceKey, Price]) -> PriceCatalogue:
        """A new catalogue with these prices added or replaced."""
        merged = dict(self._prices)
        merged.update({_key(*key): (key, price) for key, price in updates.items()})
        return PriceCatalogue(dict(merged.values()), currency=self.currency)

    # --- Estimates ---

    def estimate(self, resources: Iterable[ResourceSpec], *, environment: str | None = None) -> Estimate:
        """Monthly cost of these resources. `environment` picks usage-based figures; by default each
        resource's `environment` tag does."""
        lines: list[EstimateLine] = []
        skipped: list[Unpriced] = []
        for resource in resources:
            try:
                monthly, basis = self.price_resource(resource, environment=environment)
            except CannotPrice as exc:
                skipped.append(Unpriced(resource, str(exc)))
                continue
            lines.append(EstimateLine(resource, monthly, basis))
        return Estimate(total=sum((line.monthly for line in lines), Decimal(0)), lines=lines, skipped=skipped,
                        currency=self.currency)

    def estimate_changes(self, new: Iterable[ResourceSpec], current: Iterable[ResourceSpec], *,
                         environment: str | None = None) -> Estimate:
        """What deploying `new` over `current` (an environment's inventory) adds a month, incrementally:
        a resource already there costs only the difference (a SKU or capacity change), one not
        declared again stays as it is. A line's monthly is that difference."""
        existing = {_identity(r): r for r in current}
        lines: list[EstimateLine] = []
        skipped: list[Unpriced] = []
        for resource in new:
            before = existing.get(_identity(resource))
            try:
                after, basis = self.price_resource(resource, environment=environment)
                if before is None:
                    lines.append(EstimateLine(resource, after, f"new: {basis}"))
                    continue
                was, _ = self.price_resource(before, environment=environment)
            except CannotPrice as exc:
                skipped.append(Unpriced(resource, str(exc)))
                continue
            change = "no change" if after == was else f"was ${_money(was)} a month"
            lines.append(EstimateLine(resource, after - was, f"already deployed, {change}: {basis}"))
        return Estimate(total=sum((line.monthly for line in lines), Decimal(0)), lines=lines, skipped=skipped,
                        currency=self.currency)

    def estimate_delta(self, new: Iterable[ResourceSpec], current: Iterable[ResourceSpec], *,
                       environment: str | None = None) -> Decimal:
        """estimate_changes(...).total; raises UnpricedResources rather than leave anything out."""
        changes = self.estimate_changes(new, current, environment=environment)
        if changes.skipped:
            raise UnpricedResources(changes.skipped)
        return changes.total

    def price_resource(self, resource: ResourceSpec, *, environment: str | None = None) -> tuple[Decimal, str]:
        """(monthly USD, basis) of one resource; raises CannotPrice with the reason."""
        env = environment or _environment_of(resource)
        kind = resource.type.lower()
        for no_charge_type, reason in NO_CHARGE.items():
            if kind == no_charge_type.lower():
                return Decimal("0.00"), reason
        rule = _RULES.get(kind, _priced_by_sku)
        monthly, basis = rule(self, resource, env)
        return monthly.quantize(CENT, rounding=ROUND_HALF_UP), basis

    def lookup(self, resource_type: str, sku: str, environment: str | None) -> tuple[Price, Decimal]:
        price = self.price(resource_type, sku)
        if price is None:
            what = f"SKU '{sku}'" if sku else "a price"
            raise CannotPrice(f"the catalogue has no {what} for {resource_type}")
        return price, price.for_environment(environment)


def _basis(price: Price, amount: Decimal, *, quantity: Decimal | int = 1, label: str = "") -> str:
    text = label or price.note
    if quantity != 1 or price.unit:
        unit = price.unit or "unit"
        text = f"{_quantity(quantity)} x ${_money(amount)} per {unit} ({text})"
    else:
        text = f"${_money(amount)} ({text})" if text else f"${_money(amount)}"
    return f"{text} [{price.source}]" if price.source != DESIGN else text


# --- Pricing rules, by resource type ------------------------------------------------------------

Rule = Callable[[PriceCatalogue, ResourceSpec, str | None], tuple[Decimal, str]]


def _priced_by_sku(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """Any type: the price of its SKU name, else of the type itself (SKU "")."""
    sku = _sku_name(resource)
    if sku and catalogue.price(resource.type, sku) is not None:
        price, amount = catalogue.lookup(resource.type, sku, env)
    elif catalogue.price(resource.type, "") is not None:
        price, amount = catalogue.lookup(resource.type, "", env)
    else:
        raise CannotPrice(f"the catalogue has no price for {resource.type}"
                           + (f" SKU '{sku}'" if sku else ""))
    return amount, _basis(price, amount)


def _per_capacity(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """SKU price times sku.capacity (Event Hubs throughput units, APIM units); capacity 0 counts as 1."""
    sku = _sku_name(resource)
    price, amount = catalogue.lookup(resource.type, sku, env)
    capacity = max(1, _int((resource.properties.get("sku") or {}).get("capacity"), 1))
    return amount * capacity, _basis(price, amount, quantity=capacity)


def _aks(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """The cluster's tier plus every agent pool's nodes, at the count each starts with."""
    tier = str((resource.properties.get("sku") or {}).get("tier") or "Free")
    price, total = catalogue.lookup(AKS, tier, env)
    parts = [f"{tier} tier " + _basis(price, total)]
    pools = (resource.properties.get("properties") or {}).get("agentPoolProfiles") or []
    for pool in pools:
        pool_total, pool_basis = _pool_cost(catalogue, pool, env)
        total += pool_total
        parts.append(f"{pool.get('name') or 'pool'} {pool_basis}")
    note = " (node counts at creation; the autoscaler adds nodes)" if pools else ""
    return total, "; ".join(parts) + note


def _aks_pool(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    return _pool_cost(catalogue, resource.properties.get("properties") or {}, env)


def _pool_cost(catalogue: PriceCatalogue, pool: Mapping[str, Any], env: str | None) -> tuple[Decimal, str]:
    vm_size = str(pool.get("vmSize") or "")
    if not vm_size:
        raise CannotPrice("an agent pool without a vmSize")
    nodes = _maybe_int(pool.get("count"))
    if nodes is None:
        nodes = _maybe_int(pool.get("minCount"))
    if nodes is None:
        raise CannotPrice(f"agent pool {pool.get('name')!r} has no node count")
    price, amount = catalogue.lookup(AKS_POOL, vm_size, env)
    return amount * nodes, _basis(price, amount, quantity=nodes, label=vm_size)


def _cosmos_account(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    capabilities = (resource.properties.get("properties") or {}).get("capabilities") or []
    serverless = any(str((c or {}).get("name", "")).lower() == "enableserverless" for c in capabilities)
    price, amount = catalogue.lookup(COSMOS, "serverless" if serverless else "provisioned", env)
    return amount, _basis(price, amount)


def _cosmos_throughput(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """A SQL database or container: its own throughput if it sets one, else nothing of its own."""
    options = (resource.properties.get("properties") or {}).get("options") or {}
    autoscale = _maybe_int((options.get("autoscaleSettings") or {}).get("maxThroughput"))
    manual = _maybe_int(options.get("throughput"))
    ru = autoscale if autoscale is not None else manual
    if ru is None:
        return Decimal(0), ("included in parent: no throughput of its own (the account's serverless "
                            "billing or the database's shared throughput)")
    price, amount = catalogue.lookup(COSMOS_THROUGHPUT, "provisioned", env)
    hundreds = Decimal(ru) / 100
    label = f"{'autoscale max' if autoscale is not None else 'manual'} {ru} RU/s"
    return amount * hundreds, _basis(price, amount, quantity=hundreds, label=label)


def _redis(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """A Premium cache is a primary and a replica; more replicas and shards add nodes at half the price."""
    props = resource.properties.get("properties") or {}
    sku = props.get("sku") or resource.properties.get("sku") or {}
    code = f"{str(sku.get('family') or '')}{sku.get('capacity', '')}"
    price, amount = catalogue.lookup(resource.type, code, env)
    shards = max(1, _int(props.get("shardCount"), 1))
    replicas = max(1, _int(props.get("replicasPerMaster"), 1))
    factor = Decimal(shards * (1 + replicas)) / 2
    basis = _basis(price, amount, label=f"{sku.get('name', '')} {code}".strip())
    if factor != 1:
        basis += f"; x{factor.normalize()} for {shards} shard(s) with {replicas} replica(s) each"
    return amount * factor, basis


def _key_vault(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    sku = str(((resource.properties.get("properties") or {}).get("sku") or {}).get("name") or "standard")
    price, amount = catalogue.lookup(resource.type, sku, env)
    return amount, _basis(price, amount)


def _search(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    props = resource.properties.get("properties") or {}
    sku = _sku_name(resource)
    price, amount = catalogue.lookup(resource.type, sku, env)
    replicas, partitions = max(1, _int(props.get("replicaCount"), 1)), max(1, _int(props.get("partitionCount"), 1))
    units = replicas * partitions
    return amount * units, _basis(price, amount, quantity=units,
                                  label=f"{sku}: {replicas} replica(s) x {partitions} partition(s)")


def _cognitive_account(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    sku = f"{resource.properties.get('kind') or ''}/{_sku_name(resource)}"
    price, amount = catalogue.lookup(resource.type, sku, env)
    return amount, _basis(price, amount)


def _cognitive_deployment(catalogue: PriceCatalogue, resource: ResourceSpec,
                          env: str | None) -> tuple[Decimal, str]:
    sku = resource.properties.get("sku") or {}
    name = str(sku.get("name") or "")
    price = catalogue.price(resource.type, name)
    if price is None:
        raise CannotPrice(f"{name or 'this'} deployments are billed per token: the catalogue has no usage "
                           f"assumption for ({resource.type}, {name!r})")
    capacity = max(1, _int(sku.get("capacity"), 1))
    amount = price.for_environment(env)
    return amount * capacity, _basis(price, amount, quantity=capacity)


def _app_insights(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    if (resource.properties.get("properties") or {}).get("WorkspaceResourceId"):
        return Decimal(0), "workspace-based: ingestion is billed on its Log Analytics workspace"
    return _priced_by_sku(catalogue, resource, env)


def _log_analytics(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    sku = str(((resource.properties.get("properties") or {}).get("sku") or {}).get("name") or "PerGB2018")
    price, amount = catalogue.lookup(resource.type, sku, env)
    return amount, _basis(price, amount)


def _postgres(catalogue: PriceCatalogue, resource: ResourceSpec, env: str | None) -> tuple[Decimal, str]:
    """Compute by SKU (twice with high availability: a standby of the same size) plus storage by GiB."""
    props = resource.properties.get("properties") or {}
    sku = _sku_name(resource)
    price, amount = catalogue.lookup(resource.type, sku, env)
    ha = str((props.get("highAvailability") or {}).get("mode") or "Disabled")
    servers = 1 if ha.lower() == "disabled" else 2
    storage_price, per_gib = catalogue.lookup(POSTGRES_STORAGE, "", env)
    gib = max(32, _int((props.get("storage") or {}).get("storageSizeGB"), 32))
    basis = _basis(price, amount, quantity=servers, label=f"{sku}{', ' + ha + ' HA' if servers == 2 else ''}")
    return amount * servers + per_gib * gib, f"{basis}; {_basis(storage_price, per_gib, quantity=gib)}"


_RULES: dict[str, Rule] = {
    POSTGRES.lower(): _postgres,
    AKS.lower(): _aks,
    AKS_POOL.lower(): _aks_pool,
    COSMOS.lower(): _cosmos_account,
    COSMOS_THROUGHPUT.lower(): _cosmos_throughput,
    "microsoft.documentdb/databaseaccounts/sqldatabases/containers": _cosmos_throughput,
    "microsoft.cache/redis": _redis,
    "microsoft.eventhub/namespaces": _per_capacity,
    "microsoft.apimanagement/service": _per_capacity,
    "microsoft.keyvault/vaults": _key_vault,
    "microsoft.search/searchservices": _search,
    "microsoft.cognitiveservices/accounts": _cognitive_account,
    "microsoft.cognitiveservices/accounts/deployments": _cognitive_deployment,
    "microsoft.insights/components": _app_insights,
    "microsoft.operationalinsights/workspaces": _log_analytics,
}


# --- Azure Retail Prices API --------------------------------------------------------------------

RETAIL_PRICES_URL = "https://prices.azure.com/api/retail/prices"


@dataclass(frozen=True)
class RetailQuery:
    """How one catalogue entry is read from the Retail Prices API: an OData filter ({region} filled
    in), which meters to take, and the quantity of the meter's unit one catalogue unit is."""

    key: PriceKey
    filter: str
    meter_contains: str = ""                        # case-insensitive, on meterName
    exclude: tuple[str, ...] = ("Spot", "Low Priority", "Windows")
    multiplier: Decimal = Decimal(1)


def retail_queries(catalogue: PriceCatalogue) -> list[RetailQuery]:
    """The fixed-price entries the Retail Prices API can refresh: every AKS node size in the
    catalogue, the AKS Standard tier, Event Hubs Standard TUs, APIM StandardV2, private endpoints."""
    base = "armRegionName eq '{region}' and priceType eq 'Consumption'"
    queries = [
        RetailQuery((AKS, "Standard"),
                    f"serviceName eq 'Azure Kubernetes Service' and skuName eq 'Standard' and {base}",
                    meter_contains="uptime"),
        RetailQuery(("Microsoft.EventHub/namespaces", "Standard"),
                    f"serviceName eq 'Event Hubs' and skuName eq 'Standard' and {base}",
                    meter_contains="throughput unit"),
        RetailQuery(("Microsoft.ApiManagement/service", "StandardV2"),
                    f"serviceName eq 'API Management' and skuName eq 'Standard v2' and {base}",
                    meter_contains="unit"),
        RetailQuery(("Microsoft.Network/privateEndpoints", ""),
                    "serviceName eq 'Virtual Network' and productName eq 'Virtual Network Private Link' and "
                    + base,
                    meter_contains="private endpoint"),
    ]
    for (resource_type, sku), _price in catalogue.items():
        if resource_type.lower() == AKS_POOL.lower():
            queries.append(RetailQuery(
                (resource_type, sku), f"serviceName eq 'Virtual Machines' and armSkuName eq '{sku}' and {base}"))
    return queries


def fetch_json(url: str, *, timeout: float = 30.0) -> Mapping[str, Any]:
    """GET a URL and parse its JSON: the Retail Prices API needs no authentication."""
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "peak-portal"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https URL, fixed host)
        answer: Mapping[str, Any] = json.load(response)
        return answer


def refresh_from_retail_prices(
    catalogue: PriceCatalogue | None = None,
    *,
    fetch: Callable[[str], Mapping[str, Any]] = fetch_json,
    region: str = "eastus",
    today: date | None = None,
    max_pages: int = 5,
) -> PriceCatalogue:
    """A copy of `catalogue` with fixed prices read from the public Azure Retail Prices API
    (https://prices.azure.com/api/retail/prices?$filter=...) for `region`. An hourly meter is
    multiplied by 730 hours, a daily one by 730 / 24. Entries the API does not answer for (no
    matching meter, a failed request) keep their price and source; the ones it does say so in
    their source."""
    catalogue = catalogue or PriceCatalogue()
    stamp = (today or date.today()).isoformat()
    updates: dict[PriceKey, Price] = {}
    for query in retail_queries(catalogue):
        current = catalogue.price(*query.key)
        if current is None:
            continue
        try:
            items = _retail_items(fetch, query.filter.format(region=region), max_pages)
        except (OSError, ValueError) as exc:   # unreachable, HTTP error, timeout, not JSON
            log.warning("retail prices: %s %s not refreshed: %s", *query.key, exc)
            continue
        monthly = _monthly_from(items, query)
        if monthly is None:
            log.warning("retail prices: no meter for %s %s in %s", *query.key, region)
            continue
        updates[query.key] = replace(current, monthly=monthly.quantize(CENT, rounding=ROUND_HALF_UP),
                                     source=f"Azure Retail Prices API, {region}, {stamp}", by_environment={})
    return catalogue.with_prices(updates)


Fetch = Callable[[str], Mapping[str, Any]]


def _retail_items(fetch: Fetch, odata_filter: str, max_pages: int) -> list[Mapping[str, Any]]:
    url: str | None = f"{RETAIL_PRICES_URL}?{urlencode({'$filter': odata_filter})}"
    items: list[Mapping[str, Any]] = []
    pages = 0
    while url and pages < max_pages:
        answer = fetch(url)
        items.extend(answer.get("Items") or [])
        url = answer.get("NextPageLink") or None
        pages += 1
    return items


_UNIT_HOURS = {"1 hour": HOURS_PER_MONTH, "1/hour": HOURS_PER_MONTH, "1/day": HOURS_PER_MONTH / 24,
               "1 day": HOURS_PER_MONTH / 24, "1/month": Decimal(1), "1 month": Decimal(1)}


def _monthly_from(items: Iterable[Mapping[str, Any]], query: RetailQuery) -> Decimal | None:
    candidates: list[Decimal] = []
    for item in items:
        text = " ".join(str(item.get(k) or "") for k in ("productName", "skuName", "meterName")).lower()
        if any(word.lower() in text for word in query.exclude):
            continue
        if query.meter_contains and query.meter_contains.lower() not in str(item.get("meterName") or "").lower():
            continue
        if str(item.get("type") or "Consumption") != "Consumption" or float(item.get("tierMinimumUnits") or 0):
            continue
        per_month = _UNIT_HOURS.get(str(item.get("unitOfMeasure") or "").lower())
        if per_month is None:
            continue
        candidates.append(Decimal(repr(float(item.get("retailPrice") or 0))) * per_month * query.multiplier)
    return min(candidates) if candidates else None


# --- Helpers ------------------------------------------------------------------------------------

def _key(resource_type: str, sku: str) -> PriceKey:
    return resource_type.lower(), sku.lower()


def _identity(resource: ResourceSpec) -> tuple[str, str]:
    return resource.type.lower(), resource.name.lower()


def _sku_name(resource: ResourceSpec) -> str:
    sku = resource.properties.get("sku") or (resource.properties.get("properties") or {}).get("sku") or {}
    return str(sku.get("name") or "") if isinstance(sku, Mapping) else ""


def _environment_of(resource: ResourceSpec) -> str | None:
    tags = resource.properties.get("tags")
    env = tags.get("environment") if isinstance(tags, Mapping) else None
    return str(env) if env in ENVIRONMENTS else None


def _maybe_int(value: Any) -> int | None:
    """An int, or a string of digits, as an int; anything else (an unresolved expression) as None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _int(value: Any, default: int) -> int:
    number = _maybe_int(value)
    return default if number is None else number


def _quantity(value: Decimal | int) -> str:
    number = Decimal(value)
    return str(int(number)) if number == number.to_integral_value() else str(number.normalize())


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"


# --- The default catalogue ----------------------------------------------------------------------

DEFAULT_CATALOGUE = PriceCatalogue()


def estimate(resources: Iterable[ResourceSpec], *, environment: str | None = None,
             catalogue: PriceCatalogue | None = None) -> Estimate:
    return (catalogue or DEFAULT_CATALOGUE).estimate(resources, environment=environment)


def estimate_changes(new: Iterable[ResourceSpec], current: Iterable[ResourceSpec], *,
                     environment: str | None = None, catalogue: PriceCatalogue | None = None) -> Estimate:
    return (catalogue or DEFAULT_CATALOGUE).estimate_changes(new, current, environment=environment)


def estimate_delta(new: Iterable[ResourceSpec], current: Iterable[ResourceSpec], *,
                   environment: str | None = None, catalogue: PriceCatalogue | None = None) -> Decimal:
    return (catalogue or DEFAULT_CATALOGUE).estimate_delta(new, current, environment=environment)

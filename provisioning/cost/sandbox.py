"""The sandbox's cost data: a CostBackend that makes up a month deterministically, in the shape Azure
Cost Management answers, from the design document's monthly cost tables.

For each environment's service (DESIGN_MONTHLY_COSTS, or the table given), a day costs the monthly
figure divided by the days of the month, times a variation of up to ±15% derived from a hash of the
seed, environment, service and date. The variations of a month average to exactly 1, so a whole
month adds up to the table (to the cent) and month-to-date is the table scaled to the days elapsed,
give or take the variation. Part of the services agents use is tagged per agent (their share of AKS's
agents pool, of Cosmos DB for warm memory, of Storage for cold memory), split over the agents with
fixed hash-derived weights; the rest is untagged (agent ""). Every row is in resource group
`holidaypeakhub-{env}-rg`.

Scopes: `/subscriptions/{id}/resourceGroups/holidaypeakhub-{env}-rg` is that environment;
`/subscriptions/{id}` is all of them. Same inputs, same rows: nothing is stored, nothing is random.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from .base import CostError, CostRow, Forecast, days_in_month, month_days
from .catalogue import DESIGN_MONTHLY_COSTS

# The platform's 21 agent services (catalog/agents.csv), the default agents to tag cost for.
DEFAULT_AGENTS: tuple[str, ...] = (
    "crm-campaign-intelligence", "crm-profile-aggregation", "crm-segmentation-personalization",
    "crm-support-assistance", "ecommerce-cart-intelligence", "ecommerce-catalog-search",
    "ecommerce-checkout-support", "ecommerce-order-status", "ecommerce-product-detail-enrichment",
    "inventory-alerts-triggers", "inventory-health-check", "inventory-jit-replenishment",
    "inventory-reservation-validation", "logistics-carrier-selection", "logistics-eta-computation",
    "logistics-returns-support", "logistics-route-issue-detection", "product-management-acp-transformation",
    "product-management-assortment-optimization", "product-management-consistency-validation",
    "product-management-normalization-classification",
)

# Share of a service's cost tagged to agents: AKS's agents pool (2 of the 4 nodes at creation), the
# warm-memory containers' part of Cosmos DB, the cold-memory containers' part of Storage.
DEFAULT_AGENT_SHARES: dict[str, Decimal] = {
    "Azure Kubernetes Service": Decimal("0.50"),
    "Azure Cosmos DB": Decimal("0.40"),
    "Storage": Decimal("0.60"),
}

VARIATION = Decimal("0.15")
PLACES = Decimal("0.0001")          # Cost Management reports fractions of a cent
CURRENCY = "USD"
RECENT_DAYS = 7                     # the forecast runs on the average of the last week

MonthlyCosts = Mapping[str, Mapping[str, Decimal]]   # environment -> ServiceName -> USD a month

_SUBSCRIPTION = re.compile(r"^/?subscriptions/(?P<sub>[^/]+)/?$", re.IGNORECASE)
_RESOURCE_GROUP = re.compile(r"^/?subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/?$", re.IGNORECASE)


def resource_group(environment: str) -> str:
    return f"holidaypeakhub-{environment}-rg"


class SandboxCost:
    """CostBackend over made-up, deterministic data. `price_catalogue` is the monthly cost per
    environment and ServiceName (default: the design document's tables, staging 1.6 x dev)."""

    kind = "sandbox"

    def __init__(
        self,
        price_catalogue: MonthlyCosts | None = None,
        *,
        seed: str = "holidaypeakhub",
        agents: Sequence[str] | None = None,
        agent_shares: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.monthly = {env: dict(services) for env, services in
                        (DESIGN_MONTHLY_COSTS if price_catalogue is None else price_catalogue).items()}
        self.seed = seed
        self.agents = tuple(DEFAULT_AGENTS if agents is None else agents)
        self.agent_shares = dict(DEFAULT_AGENT_SHARES if agent_shares is None else agent_shares)
        self._weights = self._agent_weights()
        self._variations: dict[tuple[str, str, int, int], list[Decimal]] = {}

    # --- CostBackend ----------------------------------------------------------------------------

    def month_to_date(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> list[CostRow]:
        rows: list[CostRow] = []
        for env in self.environments(scope):
            for day in month_days(today)[: today.day]:
                for service in sorted(self.monthly[env]):
                    rows.extend(self._day_rows(env, service, day))
        return rows

    def forecast(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> Forecast:
        """Actual cost so far, then every remaining day at the average of the last week's days."""
        by_day = {day: Decimal(0) for day in month_days(today)[: today.day]}
        for row in self.month_to_date(scope=scope, today=today):
            by_day[row.date] += row.cost
        actual = sum(by_day.values(), Decimal(0))
        recent = list(by_day.values())[-RECENT_DAYS:]
        rate = (sum(recent, Decimal(0)) / len(recent)).quantize(PLACES, rounding=ROUND_HALF_EVEN)
        remaining = month_days(today)[today.day:]
        daily = sorted(by_day.items()) + [(day, rate) for day in remaining]
        return Forecast(month_total_actual=actual, month_end_forecast=actual + rate * len(remaining),
                        currency=CURRENCY, daily=daily)

    # --- Scopes ---------------------------------------------------------------------------------

    def environments(self, scope: str) -> list[str]:
        """The environments a scope covers; CostError for a scope Azure would refuse."""
        if _SUBSCRIPTION.match(scope):
            return sorted(self.monthly)
        match = _RESOURCE_GROUP.match(scope)
        if match is None:
            raise CostError("InvalidScope", f"'{scope}' is not a subscription or resource group scope.")
        name = match["rg"].lower()
        for env in self.monthly:
            if name == resource_group(env):
                return [env]
        raise CostError("ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be found.")

    # --- Generation -----------------------------------------------------------------------------

    def daily_cost(self, env: str, service: str, day: date) -> Decimal:
        """One service's cost on one day, all agents included, before rounding."""
        return self.monthly[env][service] / days_in_month(day) * self._variation(env, service, day)

    def _day_rows(self, env: str, service: str, day: date) -> list[CostRow]:
        total = self.daily_cost(env, service, day)
        if total <= 0:
            return []
        rounded = total.quantize(PLACES, rounding=ROUND_HALF_EVEN)
        share = self.agent_shares.get(service, Decimal(0)) if self.agents else Decimal(0)
        rows: list[CostRow] = []
        tagged = Decimal(0)
        for agent in self.agents if share else ():
            cost = (total * share * self._weights[agent]).quantize(PLACES, rounding=ROUND_HALF_EVEN)
            tagged += cost
            rows.append(CostRow(day, service, resource_group(env), agent, cost, CURRENCY))
        # The untagged row takes the rounding, so a day's rows add up to its rounded total.
        rows.insert(0, CostRow(day, service, resource_group(env), "", rounded - tagged, CURRENCY))
        return rows

    def _variation(self, env: str, service: str, day: date) -> Decimal:
        """1 ± up to 15%, the month's days averaging exactly 1."""
        key = (env, service, day.year, day.month)
        if key not in self._variations:
            raw = [self._unit(f"{env}|{service}|{d.isoformat()}") * 2 - 1 for d in month_days(day)]
            mean = sum(raw, Decimal(0)) / len(raw)
            centred = [value - mean for value in raw]
            scale = max(Decimal(1), max(abs(value) for value in centred))
            self._variations[key] = [1 + VARIATION * value / scale for value in centred]
        return self._variations[key][day.day - 1]

    def _agent_weights(self) -> dict[str, Decimal]:
        """Each agent's part of the tagged share: between 0.5 and 1.5 before normalising to sum 1."""
        raw = {agent: Decimal("0.5") + self._unit(f"agent|{agent}") for agent in self.agents}
        total = sum(raw.values(), Decimal(0))
        return {agent: weight / total for agent, weight in raw.items()}

    def _unit(self, key: str) -> Decimal:
        """A number in [0, 1] that depends only on the seed and the key."""
        digest = hashlib.sha256(f"{self.seed}|{key}".encode()).hexdigest()
        return Decimal(int(digest[:12], 16)) / Decimal(16**12 - 1)


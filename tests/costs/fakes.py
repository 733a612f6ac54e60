"""A CostBackend with numbers a test chooses (the sandbox's are realistic, not round)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from provisioning.cost import CostError, CostRow, Forecast


@dataclass
class FixedCost:
    """Every day of the month to `today` costs `daily` (Storage, untagged, plus `agents` tagged rows of
    `per_agent` on AKS); the forecast is `forecast`, or the daily rate to month end."""

    daily: Decimal = Decimal(10)
    forecast_total: Decimal | None = None
    agents: dict[str, Decimal] = field(default_factory=dict)
    resource_group: str = "holidaypeakhub-dev-rg"
    error: CostError | None = None
    kind: str = "sandbox"
    calls: list[tuple[str, date]] = field(default_factory=list)

    def month_to_date(self, *, scope: str, today: date, resource_groups=()) -> list[CostRow]:
        self.calls.append((scope, today))
        if self.error:
            raise self.error
        rows = []
        for day in range(1, today.day + 1):
            when = today.replace(day=day)
            rows.append(CostRow(when, "Storage", self.resource_group, "", self.daily, "USD"))
            for agent, cost in self.agents.items():
                rows.append(CostRow(when, "Azure Kubernetes Service", self.resource_group, agent, cost, "USD"))
        return rows

    def forecast(self, *, scope: str, today: date, resource_groups=()) -> Forecast:
        actual = sum((row.cost for row in self.month_to_date(scope=scope, today=today)), Decimal(0))
        total = self.forecast_total if self.forecast_total is not None else actual
        return Forecast(month_total_actual=actual, month_end_forecast=total, currency="USD", daily=[])

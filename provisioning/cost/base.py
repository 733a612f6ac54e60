"""What the portal reads about money: month-to-date cost rows and a month-end forecast, from Azure Cost
Management or from the sandbox. Both implement `CostBackend`.

Nothing here imports Django: the portal's services store what a backend returns on their own rows.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from collections.abc import Sequence
from typing import Protocol

# The tag whose value names the agent service a resource belongs to (the agent module sets it).
AGENT_TAG = "agent"


@dataclass(frozen=True)
class CostRow:
    """One day's cost of one service in one resource group, for one agent ("" when untagged)."""

    date: date
    service_name: str          # Cost Management's ServiceName, e.g. "Azure Cosmos DB"
    resource_group: str
    agent: str                 # value of the `agent` tag, "" for cost without it
    cost: Decimal
    currency: str              # e.g. "USD"


@dataclass(frozen=True)
class Forecast:
    """The month so far and where it is heading.

    `daily` has one entry per day of the month, in order: the actual cost up to today, the forecast
    after it (days the backend knows nothing about are left out)."""

    month_total_actual: Decimal
    month_end_forecast: Decimal          # actual so far + forecast for the rest of the month
    currency: str
    daily: list[tuple[date, Decimal]] = field(default_factory=list)


@dataclass(eq=False)
class CostError(Exception):
    """A Cost Management failure; `transient` says whether trying later can help, and `retry_after`
    (seconds) how long Azure asked to wait when it said."""

    code: str
    message: str
    transient: bool = False
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class CostBackend(Protocol):
    """Cost of one scope: a subscription (`/subscriptions/{id}`) or a resource group
    (`/subscriptions/{id}/resourceGroups/{name}`). `today` is the caller's, so a test owns the date."""

    kind: str  # "sandbox" or "azure"

    def month_to_date(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> list[CostRow]:
        """Daily cost from the 1st of today's month to today, grouped by ServiceName,
        ResourceGroupName and the `agent` tag; with `resource_groups`, only those groups' cost."""
        ...

    def forecast(self, *, scope: str, today: date, resource_groups: Sequence[str] = ()) -> Forecast: ...


# --- Calendar helpers ---------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=days_in_month(day))


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def month_days(day: date) -> list[date]:
    """Every day of `day`'s month, in order."""
    return [day.replace(day=n) for n in range(1, days_in_month(day) + 1)]

"""SandboxCost: deterministic month-to-date rows and forecasts from the design document's tables."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from provisioning.cost.base import CostBackend, CostError, CostRow, days_in_month
from provisioning.cost.catalogue import DESIGN_MONTHLY_COSTS
from provisioning.cost.sandbox import DEFAULT_AGENTS, SandboxCost

SUB = "00000000-0000-0000-0000-00000000c057"
MONTH_END = date(2026, 11, 30)


def scope(env: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/holidaypeakhub-{env}-rg"


def total(rows: list[CostRow]) -> Decimal:
    return sum((row.cost for row in rows), Decimal(0))


@pytest.fixture(scope="module")
def sandbox() -> SandboxCost:
    return SandboxCost()


def test_sandbox_is_a_cost_backend(sandbox: SandboxCost) -> None:
    typed: CostBackend = sandbox
    assert typed.kind == "sandbox"


def test_same_inputs_give_the_same_rows_and_forecast() -> None:
    first, second = SandboxCost(), SandboxCost()
    for today in (date(2026, 11, 28), date(2027, 2, 3)):
        assert first.month_to_date(scope=scope("prod"), today=today) == \
            second.month_to_date(scope=scope("prod"), today=today)
        assert first.forecast(scope=scope("dev"), today=today) == second.forecast(scope=scope("dev"), today=today)


def test_another_seed_gives_other_numbers_with_the_same_shape() -> None:
    ours = SandboxCost().month_to_date(scope=scope("dev"), today=date(2026, 11, 10))
    theirs = SandboxCost(seed="elsewhere").month_to_date(scope=scope("dev"), today=date(2026, 11, 10))

    assert [(r.date, r.service_name, r.agent) for r in ours] == [(r.date, r.service_name, r.agent) for r in theirs]
    assert [r.cost for r in ours] != [r.cost for r in theirs]


@pytest.mark.parametrize(("env", "monthly"), [("dev", Decimal(565)), ("staging", Decimal(904)),
                                              ("prod", Decimal(3924))])
def test_a_whole_month_adds_up_to_the_design_table(sandbox: SandboxCost, env: str, monthly: Decimal) -> None:
    rows = sandbox.month_to_date(scope=scope(env), today=MONTH_END)

    assert abs(total(rows) - monthly) <= Decimal("0.01")
    assert sum(DESIGN_MONTHLY_COSTS[env].values()) == monthly


def test_dev_month_to_date_is_the_design_range_scaled_to_the_days_elapsed(sandbox: SandboxCost) -> None:
    for today in (date(2026, 11, 7), date(2026, 11, 15), date(2026, 11, 28), date(2027, 2, 14)):
        elapsed = Decimal(today.day) / days_in_month(today)
        mtd = total(sandbox.month_to_date(scope=scope("dev"), today=today))
        assert Decimal(540) * elapsed * Decimal("0.95") <= mtd <= Decimal(590) * elapsed * Decimal("1.05"), today


def test_prod_is_about_3924_a_month_and_staging_sits_between(sandbox: SandboxCost) -> None:
    today = date(2026, 11, 20)
    elapsed = Decimal(today.day) / 30
    prod = total(sandbox.month_to_date(scope=scope("prod"), today=today))
    staging = total(sandbox.month_to_date(scope=scope("staging"), today=today))
    dev = total(sandbox.month_to_date(scope=scope("dev"), today=today))

    assert abs(prod / elapsed - 3924) / 3924 < Decimal("0.03")
    assert dev < staging < prod


def test_each_day_of_a_service_varies_by_at_most_15_percent(sandbox: SandboxCost) -> None:
    by_day: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for row in sandbox.month_to_date(scope=scope("prod"), today=MONTH_END):
        by_day[(row.service_name, row.date)] += row.cost
    for (service, _), cost in by_day.items():
        flat = DESIGN_MONTHLY_COSTS["prod"][service] / 30
        assert flat * Decimal("0.85") - Decimal("0.001") <= cost <= flat * Decimal("1.15") + Decimal("0.001")
    assert len(set(by_day.values())) > len(by_day) / 2           # it does vary


def test_rows_have_the_cost_management_shape(sandbox: SandboxCost) -> None:
    today = date(2026, 11, 3)
    rows = sandbox.month_to_date(scope=scope("dev"), today=today)

    assert {row.resource_group for row in rows} == {"holidaypeakhub-dev-rg"}
    assert {row.currency for row in rows} == {"USD"}
    assert {row.date for row in rows} == {date(2026, 11, d) for d in (1, 2, 3)}
    assert {row.service_name for row in rows} == {s for s, c in DESIGN_MONTHLY_COSTS["dev"].items() if c}
    assert all(row.cost > 0 for row in rows)


def test_agent_resources_are_tagged_per_agent_the_rest_is_untagged(sandbox: SandboxCost) -> None:
    rows = sandbox.month_to_date(scope=scope("prod"), today=date(2026, 11, 5))
    tagged = defaultdict(set)
    for row in rows:
        if row.agent:
            tagged[row.service_name].add(row.agent)

    assert set(tagged) == {"Azure Kubernetes Service", "Azure Cosmos DB", "Storage"}
    assert all(agents == set(DEFAULT_AGENTS) for agents in tagged.values())
    assert len(DEFAULT_AGENTS) == 21
    # about half of AKS goes to the agents pool, split unevenly but with every agent paying something
    aks = [row for row in rows if row.service_name == "Azure Kubernetes Service"]
    share = total([r for r in aks if r.agent]) / total(aks)
    assert Decimal("0.49") < share < Decimal("0.51")
    per_agent = {r.agent: r.cost for r in aks if r.agent and r.date == date(2026, 11, 5)}
    assert len(set(per_agent.values())) > 1 and min(per_agent.values()) > 0


def test_agents_can_be_given() -> None:
    rows = SandboxCost(agents=["a-one", "a-two"]).month_to_date(scope=scope("dev"), today=date(2026, 11, 2))
    assert {row.agent for row in rows} == {"", "a-one", "a-two"}


def test_a_custom_price_catalogue_is_used() -> None:
    sandbox = SandboxCost({"dev": {"Storage": Decimal(300)}}, agents=[])
    rows = sandbox.month_to_date(scope=scope("dev"), today=MONTH_END)

    assert {row.service_name for row in rows} == {"Storage"} and {row.agent for row in rows} == {""}
    assert abs(total(rows) - 300) <= Decimal("0.01")
    with pytest.raises(CostError) as raised:
        sandbox.month_to_date(scope=scope("prod"), today=MONTH_END)
    assert raised.value.code == "ResourceGroupNotFound"


def test_a_subscription_scope_covers_every_environment(sandbox: SandboxCost) -> None:
    today = date(2026, 11, 4)
    rows = sandbox.month_to_date(scope=f"/subscriptions/{SUB}", today=today)

    assert {row.resource_group for row in rows} == {f"holidaypeakhub-{e}-rg" for e in ("dev", "staging", "prod")}
    assert total(rows) == sum((total(sandbox.month_to_date(scope=scope(e), today=today))
                               for e in ("dev", "staging", "prod")), Decimal(0))


def test_scopes_are_read_without_case(sandbox: SandboxCost) -> None:
    upper = sandbox.month_to_date(scope=f"/subscriptions/{SUB}/resourcegroups/HolidayPeakHub-Dev-RG",
                                  today=date(2026, 11, 2))
    assert upper == sandbox.month_to_date(scope=scope("dev"), today=date(2026, 11, 2))


@pytest.mark.parametrize(("bad", "code"), [
    (f"/subscriptions/{SUB}/resourceGroups/someone-elses-rg", "ResourceGroupNotFound"),
    ("/providers/Microsoft.Billing/billingAccounts/1234", "InvalidScope"),
    ("holidaypeakhub-dev-rg", "InvalidScope"),
])
def test_an_unknown_scope_is_an_error(sandbox: SandboxCost, bad: str, code: str) -> None:
    with pytest.raises(CostError) as raised:
        sandbox.month_to_date(scope=bad, today=date(2026, 11, 2))
    assert raised.value.code == code and not raised.value.transient


def test_forecast_is_actual_plus_the_remaining_days_at_the_recent_rate(sandbox: SandboxCost) -> None:
    today = date(2026, 11, 18)
    forecast = sandbox.forecast(scope=scope("prod"), today=today)
    rows = sandbox.month_to_date(scope=scope("prod"), today=today)

    assert forecast.month_total_actual == total(rows)
    assert [day for day, _ in forecast.daily] == [date(2026, 11, d) for d in range(1, 31)]
    actual_days = dict(forecast.daily[:18])
    assert actual_days[today] == total([r for r in rows if r.date == today])
    rate = sum((cost for _, cost in forecast.daily[11:18]), Decimal(0)) / 7
    assert all(abs(cost - rate) < Decimal("0.0001") for _, cost in forecast.daily[18:])
    assert forecast.month_end_forecast == forecast.month_total_actual + sum(c for _, c in forecast.daily[18:])
    assert abs(forecast.month_end_forecast - 3924) / 3924 < Decimal("0.05")
    assert forecast.currency == "USD"


def test_on_the_last_day_the_forecast_is_the_actual(sandbox: SandboxCost) -> None:
    forecast = sandbox.forecast(scope=scope("dev"), today=MONTH_END)
    assert forecast.month_end_forecast == forecast.month_total_actual
    assert len(forecast.daily) == 30

"""Issue #11: the rollups the cost pages read (CostMonth, CostDay, CostMonthService, CostAgentMonth,
CostAgentTotal) equal a direct SUM over the stored days, after an ingest and after a re-ingest changes, drops
and adds rows of a day."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection

from portal.costs import services
from portal.costs.models import (
    CostAgentMonth,
    CostAgentService,
    CostAgentTotal,
    CostDay,
    CostEntry,
    CostMonth,
    CostMonthService,
)
from portal.costs.selectors import cost_dashboard, period_for
from provisioning.cost import CostRow
from provisioning.cost.base import month_start
from provisioning.cost.sandbox import SandboxCost

TODAY = date(2026, 11, 28)


def raw_sums() -> dict:
    sums: dict = defaultdict(Decimal)
    for e in CostEntry.objects.all():
        sums[(e.environment_id, month_start(e.date), e.service, e.resource_group, e.agent)] += e.cost
    return dict(sums)


def every_rollup_equals_the_raw_sum() -> bool:
    """Each rollup, row for row, against the same SUM worked out in Python from the CostEntry rows."""
    expected: dict[str, dict] = {name: defaultdict(Decimal) for name in ("day", "service", "agent", "by_service",
                                                                         "total")}
    for e in CostEntry.objects.all():
        month = month_start(e.date)
        expected["day"][(e.environment_id, e.date, e.service, e.resource_group)] += e.cost
        expected["service"][(e.environment_id, month, e.service, e.resource_group, e.agent != "")] += e.cost
        expected["by_service"][(e.environment_id, month, e.service, e.agent)] += e.cost
        if e.agent:
            expected["agent"][(e.environment_id, month, e.agent)] += e.cost
            expected["total"][(month, e.agent)] += e.cost
    stored = {
        "day": {(r.environment_id, r.date, r.service, r.resource_group): r.cost for r in CostDay.objects.all()},
        "service": {(r.environment_id, r.month, r.service, r.resource_group, r.tagged): r.cost
                    for r in CostMonthService.objects.all()},
        "agent": {(r.environment_id, r.month, r.agent): r.cost for r in CostAgentMonth.objects.all()},
        "by_service": {(r.environment_id, r.month, r.service, r.agent): r.cost for r in CostAgentService.objects.all()},
        "total": {(r.month, r.agent): r.cost for r in CostAgentTotal.objects.all()},
    }
    for name, rows in stored.items():
        assert rows == dict(expected[name]), name
    return True


def rollup() -> dict:
    return {(m.environment_id, m.month, m.service, m.resource_group, m.agent): m.cost for m in CostMonth.objects.all()}


def test_rollup_equals_the_raw_sum_after_an_ingest_and_after_a_re_ingest_changes_a_day(envs):
    for env in envs.values():
        services.cost_ingest_run(environment_id=env.pk, today=TODAY, backfill=2,
                                 backend=SandboxCost(agents=["ecommerce-catalog-search", "crm-support-assistance"]))
    before = rollup()
    assert len(before) > 20 and before == raw_sums() and every_rollup_equals_the_raw_sum()
    assert len({key[1] for key in before}) == 3                                  # two months back and this one

    dev, day = envs["dev"], date(2026, 11, 3)
    kept = [CostRow(e.date, e.service, e.resource_group, e.agent, e.cost, e.currency)
            for e in CostEntry.objects.filter(environment=dev, date__range=(date(2026, 11, 1), TODAY))]
    changed = [CostRow(r.date, r.service_name, r.resource_group, r.agent,
                       r.cost * 3 if r.date == day and r.agent == "" else r.cost, r.currency)
               for r in kept if not (r.date == day and r.agent == "crm-support-assistance")]
    changed.append(CostRow(day, "Azure OpenAI", "holidaypeakhub-dev-rg", "new-agent", Decimal("7.5"), "USD"))
    services.cost_entries_store(environment=dev, month=day, rows=changed)

    after = rollup()
    assert after == raw_sums() and after != before and every_rollup_equals_the_raw_sum()
    assert CostAgentTotal.objects.get(month=date(2026, 11, 1), agent="new-agent").cost == Decimal("7.5")
    assert after[(dev.pk, date(2026, 11, 1), "Azure OpenAI", "holidaypeakhub-dev-rg", "new-agent")] == Decimal("7.5")
    month_total = sum(cost for key, cost in after.items() if key[0] == dev.pk and key[1] == date(2026, 11, 1))
    shown = next(e for e in cost_dashboard(period=period_for("2026-11", today=TODAY)).environments if e.name == "dev")
    assert shown.actual == month_total == sum(
        e.cost for e in CostEntry.objects.filter(environment=dev, date__gte=date(2026, 11, 1)))



def test_rollups_follow_a_re_ingest_that_drops_an_agent_and_changes_a_currency_and_an_empty_answer(envs):
    """The keys that lose rows: an agent gone from the month (its totals over the environments too), a
    currency changed (CostMonth's is the largest of its rows'), a month answered empty (everything gone)."""
    agents = ["ecommerce-catalog-search", "crm-support-assistance"]
    for env in envs.values():
        services.cost_ingest_run(environment_id=env.pk, today=TODAY, backfill=1, backend=SandboxCost(agents=agents))
    november = date(2026, 11, 1)
    dev, staging = envs["dev"], envs["staging"]
    assert CostAgentTotal.objects.filter(month=november, agent="crm-support-assistance").exists()
    stored = [CostRow(e.date, e.service, e.resource_group, e.agent, e.cost, e.currency)
              for e in CostEntry.objects.filter(environment=dev, date__gte=november)]
    euro = next(r for r in stored if r.agent == "")
    answer = [CostRow(r.date, r.service_name, r.resource_group, r.agent, r.cost,
                      "EUR" if (r.service_name, r.resource_group, r.agent) ==
                      (euro.service_name, euro.resource_group, "") else r.currency)
              for r in stored if r.agent != "crm-support-assistance"]
    services.cost_entries_store(environment=dev, month=november, rows=answer)
    assert rollup() == raw_sums() and every_rollup_equals_the_raw_sum()
    assert not CostAgentMonth.objects.filter(environment=dev, month=november, agent="crm-support-assistance").exists()
    others = CostEntry.objects.filter(date__gte=november, agent="crm-support-assistance").exclude(environment=dev)
    assert CostAgentTotal.objects.filter(month=november, agent="crm-support-assistance").exists() == others.exists()
    assert CostMonth.objects.get(environment=dev, month=november, service=euro.service_name,
                                 resource_group=euro.resource_group, agent="").currency == "EUR"
    assert CostMonth.objects.filter(environment=dev, month=november).exclude(currency="USD").count() == 1

    services.cost_entries_store(environment=staging, month=november, rows=[])
    assert not CostEntry.objects.filter(environment=staging, date__gte=november).exists()
    for model in (CostMonth, CostMonthService, CostAgentMonth, CostAgentService):
        assert not model.objects.filter(environment=staging, month=november).exists(), model.__name__
    assert not CostDay.objects.filter(environment=staging, date__gte=november).exists()
    assert rollup() == raw_sums() and every_rollup_equals_the_raw_sum()
    assert CostMonth.objects.filter(environment=staging, month=date(2026, 10, 1)).exists()   # the month before: kept


def test_re_ingesting_the_same_answer_rewrites_nothing_and_a_change_rewrites_only_its_row(envs):
    """On PostgreSQL the ingest is one COPY and one upsert that leaves unchanged rows alone; elsewhere the
    same answer gives the same rows."""
    dev, day = envs["dev"], date(2026, 11, 2)
    answer = [CostRow(day, "Storage", "HolidayPeakHub-Dev-RG", f"agent-{i}", Decimal(i) / 3, "USD") for i in range(50)]
    answer += [CostRow(day, "Storage", "holidaypeakhub-dev-rg", "agent-1", Decimal("0.5"), "USD"),   # same key: added
               CostRow(date(2026, 10, 31), "Storage", "holidaypeakhub-dev-rg", "x", Decimal(9), "USD")]  # not this month
    assert services.cost_entries_store(environment=dev, month=day, rows=answer) == 50
    stored = {e.agent: e for e in CostEntry.objects.filter(environment=dev)}
    assert len(stored) == 50 and stored["agent-1"].cost == Decimal("0.833333")          # 1/3 + 0.5, 6 places
    assert stored["agent-2"].resource_group == "holidaypeakhub-dev-rg"

    answer[3] = CostRow(day, "Storage", "holidaypeakhub-dev-rg", "agent-3", Decimal(42), "USD")
    assert services.cost_entries_store(environment=dev, month=day, rows=answer) == 50
    again = {e.agent: e for e in CostEntry.objects.filter(environment=dev)}
    assert again["agent-3"].cost == 42
    if connection.vendor == "postgresql":
        assert again["agent-3"].updated_at > stored["agent-3"].updated_at
        assert all(again[a].updated_at == stored[a].updated_at for a in again if a != "agent-3")
    assert rollup() == raw_sums() and every_rollup_equals_the_raw_sum()


def test_the_dashboard_read_from_the_rollups_shows_the_raw_sums(envs):
    """Its tables (by service, the top agents and the rest, the trend, the days) against SUMs over CostEntry."""
    agents = ["ecommerce-catalog-search", "crm-support-assistance", "ecommerce-cart-intelligence"]
    for env in envs.values():
        services.cost_ingest_run(environment_id=env.pk, today=TODAY, backfill=1, backend=SandboxCost(agents=agents))
    board = cost_dashboard(period=period_for("2026-11", today=TODAY))
    november = CostEntry.objects.filter(date__gte=date(2026, 11, 1))
    by_agent, by_service, by_day = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for e in november:
        by_service[e.service] += e.cost
        by_day[e.date] += e.cost
        if e.agent:
            by_agent[e.agent] += e.cost
    assert {r.key: r.total for r in board.services} == by_service
    assert {d.date: d.actual for d in board.days if d.actual is not None} == by_day
    assert board.trend[-1].total == sum(by_service.values())
    assert [(r.key, r.total) for r in board.agents_top] == sorted(by_agent.items(), key=lambda kv: (-kv[1], kv[0]))
    assert board.agents_rest is None and [r.key for r in board.agents] == [r.key for r in board.agents_top]


def test_deleting_an_environment_in_the_admin_sums_the_totals_across_environments_again(envs, make_user,
                                                                                        client_for):
    """Its cost rows go by cascade; CostAgentTotal (the dashboard's largest agents) spans the environments, so
    each month the environment had is summed again without it, and the cost pages' version moves."""
    from django.urls import reverse

    from portal.catalog.models import Environment
    from portal.costs.models import ShowbackMonth

    slugs = ["ecommerce-catalog-search", "crm-support-assistance"]
    for env in envs.values():
        services.cost_ingest_run(environment_id=env.pk, today=TODAY, backfill=1, backend=SandboxCost(agents=slugs))
    november = month_start(TODAY)
    writes = ShowbackMonth.objects.get(month=november).cost_writes
    client = client_for(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(reverse("admin:catalog_environment_delete", args=[envs["staging"].pk]), {"post": "yes"})

    assert response.status_code == 302 and not Environment.objects.filter(name="staging").exists()
    assert not CostEntry.objects.filter(environment_id=envs["staging"].pk).exists()
    assert every_rollup_equals_the_raw_sum()                       # the totals too: without staging's cost
    assert {month for month, _ in CostAgentTotal.objects.values_list("month", "agent")} == {
        november, month_start(date(2026, 10, 1))}
    assert ShowbackMonth.objects.get(month=november).cost_writes == writes + 1

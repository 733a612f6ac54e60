"""CSV exports: the tables of a page, with the page's filters, one table a file."""

import csv
from collections.abc import Callable, Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.http import Http404, HttpResponse

from portal.costs.selectors import Dashboard, EnvironmentDetail, ServiceDetail, _with_agents
from portal.costs.showback import Showback

Table = tuple[Sequence[str], Iterable[Sequence]]


def amount(value: Decimal | None) -> str:
    return "" if value is None else str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def export(tables: dict[str, Callable[[], Table]], table: str, *, prefix: str) -> HttpResponse:
    if table not in tables:
        raise Http404(f"No table {table!r} here: {', '.join(tables)}.")
    header, rows = tables[table]()
    return csv_response(f"{prefix}-{table}.csv", header, rows)


def dashboard_tables(d: Dashboard) -> dict[str, Callable[[], Table]]:
    columns = d.columns
    return {
        "environments": lambda: (
            ["month", "environment", "actual", "budget", "percent_of_budget", "forecast", "forecast_percent",
             "currency", "data_as_of"],
            [[d.period.param, e.name, amount(e.actual), amount(e.budget), e.percent or "", amount(e.forecast),
              e.forecast_percent or "", d.currency, e.data_at.isoformat() if e.data_at else ""]
             for e in d.environments]),
        "services": lambda: (["month", "service", *columns, "total"],
                             [[d.period.param, r.key, *map(amount, r.amounts), amount(r.total)] for r in d.services]),
        "agents": lambda: (["month", "agent", "team", *columns, "total"],
                           [[d.period.param, r.key, r.team, *map(amount, r.amounts), amount(r.total)]
                            for r in _with_agents(d.agents, top=None)]),
        "trend": lambda: (["month", *columns, "total"],
                          [[r.key, *map(amount, r.amounts), amount(r.total)] for r in d.trend]),
        "days": lambda: _days_table(d.days),
    }


def environment_tables(d: EnvironmentDetail) -> dict[str, Callable[[], Table]]:
    env = d.environment.name
    return {
        "services": lambda: (["month", "environment", "service", "cost", "percent"],
                             [[d.period.param, env, r.key, amount(r.total), r.share or ""] for r in d.services]),
        "agents": lambda: (["month", "environment", "agent", "team", "cost"],
                           [[d.period.param, env, r.key, r.team, amount(r.total)] for r in _with_agents(d.agents, top=None)]),
        "trend": lambda: (["month", "environment", "cost", "budget"],
                          [[r.key, env, amount(r.total), amount(d.environment.monthly_budget)] for r in d.trend]),
        "days": lambda: _days_table(d.days),
    }


def service_tables(d: ServiceDetail) -> dict[str, Callable[[], Table]]:
    env, service, group = d.environment.name, d.service, d.resource_group
    return {
        "resource_groups": lambda: (["month", "environment", "service", "resource_group", "cost"],
                                    [[d.period.param, env, service, r.key, amount(r.total)]
                                     for r in d.resource_groups if not group or r.key == group]),
        "agents": lambda: (["month", "environment", "service", "resource_group", "agent", "team", "cost"],
                           [[d.period.param, env, service, group, r.key or "(untagged)", r.team, amount(r.total)]
                            for r in _with_agents(d.agents, top=None)]),
        "days": lambda: _days_table(d.days),
    }


def showback_tables(s: Showback) -> dict[str, Callable[[], Table]]:
    columns = s.columns
    return {
        "agents": lambda: (["month", "environment", "agent", "team", "replicas", "direct", "shared", "total"],
                           [[s.period.param, r.environment, r.slug, r.team, r.replicas, amount(r.direct),
                             amount(r.shared), amount(r.total)] for r in s.agents]),
        "teams": lambda: (["month", "team", "agents", *columns, "total"],
                          [[s.period.param, t.team, t.agents, *map(amount, t.amounts), amount(t.total)]
                           for t in s.teams]),
    }


def _days_table(days) -> Table:
    return (["date", "cost", "month_to_date", "forecast_month_to_date"],
            [[day.date.isoformat(), amount(day.actual), amount(day.cumulative), amount(day.forecast_cumulative)]
             for day in days])

"""Costs: the reads. Each page is a fixed number of aggregate queries over the stored rows, however
many rows, services or agents there are (tests pin the counts). Nothing here calls Azure."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from functools import cached_property

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value

from portal.catalog.models import Agent, Environment
from portal.costs.choices import DEFAULT_THRESHOLDS, INGEST_TERMINAL, Basis, IngestStatus
from portal.costs.models import (
    BudgetAlert,
    BudgetPolicy,
    CostAgentMonth,
    CostAgentService,
    CostAgentTotal,
    CostDay,
    CostForecast,
    CostIngestRun,
    CostMonth,
    CostMonthService,
)
from provisioning.cost.base import month_days, month_end, month_start

TREND_MONTHS = 6
ZERO = Decimal(0)


# --- The month a page shows ---------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar month as a page shows it; `today` decides what is current and what is future."""

    month: date
    today: date

    @property
    def last(self) -> date:
        return month_end(self.month)

    @property
    def is_current(self) -> bool:
        return self.month == month_start(self.today)

    @property
    def previous(self) -> date:
        return month_start(self.month - timedelta(days=1))

    @property
    def next(self) -> date | None:
        following = self.last + timedelta(days=1)
        return following if following <= self.today else None

    @property
    def param(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def label(self) -> str:
        return f"{self.month:%B %Y}"

    def trend_months(self, count: int = TREND_MONTHS) -> list[date]:
        months = [self.month]
        while len(months) < count:
            months.insert(0, month_start(months[0] - timedelta(days=1)))
        return months


MONTH_YEARS = range(1970, 3000)  # a page of months outside these (9999-12, 0001-01) would step past date's range


def period_for(value: str | None, *, today: date) -> Period:
    """`?month=2026-11` as a Period; anything else (missing, malformed, out of range) is the current month."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if year not in MONTH_YEARS:
            raise ValueError(year)
        chosen = date(year, month, 1)
    except ValueError:
        chosen = month_start(today)
    return Period(month=chosen, today=today)


# --- Environments: the month against the budget, and the age of the data -----------------------

def month_cost_annotations(month: date) -> dict:
    """Correlated subqueries giving an Environment queryset its cost for `month` and the forecast to its
    end: the home page and the dashboards add them without adding queries."""
    entries = (CostMonthService.objects.filter(environment=OuterRef("pk"), month=month_start(month))
               .order_by().values("environment").annotate(total=Sum("cost")).values("total"))
    forecast = CostForecast.objects.filter(environment=OuterRef("pk"), month=month)
    return {"cost_actual": Subquery(entries[:1]), "cost_forecast": Subquery(forecast.values("forecast")[:1])}


def ingest_annotations() -> dict:
    """When the environment's cost data was last stored, and how its last ingest ended."""
    runs = CostIngestRun.objects.filter(environment=OuterRef("pk")).order_by("-finished_at", "-pk")
    succeeded = runs.filter(status=IngestStatus.SUCCEEDED)
    finished = runs.filter(status__in=INGEST_TERMINAL)
    return {"cost_data_at": Subquery(succeeded.values("finished_at")[:1]),
            "cost_last_run_at": Subquery(finished.values("finished_at")[:1]),
            "cost_last_run_status": Subquery(finished.values("status")[:1]),
            "cost_last_error_code": Subquery(finished.values("error_code")[:1]),
            "cost_last_error": Subquery(finished.values("error")[:1]),
            "cost_last_forecast_error": Subquery(finished.values("forecast_error")[:1])}


@dataclass
class EnvironmentCost:
    environment: Environment
    actual: Decimal
    forecast: Decimal | None          # None: no forecast for that month
    data_at: datetime | None          # the last successful ingest
    last_run_at: datetime | None
    last_run_status: str | None
    last_error: str
    forecast_error: str = ""          # the last ingest stored the actual cost but could not read the forecast

    @property
    def name(self) -> str:
        return self.environment.name

    @property
    def budget(self) -> Decimal:
        return self.environment.monthly_budget

    @property
    def percent(self) -> Decimal | None:
        return _percent(self.actual, self.budget)

    @property
    def forecast_percent(self) -> Decimal | None:
        return _percent(self.forecast, self.budget) if self.forecast is not None else None

    @property
    def state(self) -> str:
        """over: actual past the budget; warn: the forecast is; ok otherwise."""
        if self.budget and self.actual > self.budget:
            return "over"
        if self.budget and self.forecast is not None and self.forecast > self.budget:
            return "warn"
        return "ok"

    @property
    def last_run_failed(self) -> bool:
        return self.last_run_status == IngestStatus.FAILED


def _percent(amount: Decimal | None, budget: Decimal) -> Decimal | None:
    if amount is None or not budget:
        return None
    return (amount * 100 / budget).quantize(Decimal("0.1"))


def _environment_costs(period: Period, *, name: str | None = None) -> list[EnvironmentCost]:
    envs = Environment.objects.annotate(**month_cost_annotations(period.month), **ingest_annotations()) \
        .order_by("position", "name")
    if name is not None:
        envs = envs.filter(name=name)
    result = []
    for env in envs:
        actual = env.cost_actual or ZERO
        forecast = env.cost_forecast
        if forecast is None and not period.is_current and period.month < month_start(period.today):
            forecast = actual  # a month that has ended: its forecast is what it cost
        result.append(EnvironmentCost(
            environment=env, actual=actual, forecast=forecast, data_at=env.cost_data_at,
            last_run_at=env.cost_last_run_at, last_run_status=env.cost_last_run_status,
            last_error=f"{env.cost_last_error_code}: {env.cost_last_error}" if env.cost_last_error else "",
            forecast_error=env.cost_last_forecast_error or "",
        ))
    return result


# --- Rows of the tables -------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a cost table: a name, its amount in each column (environments, months), a total."""

    key: str
    amounts: list[Decimal]
    total: Decimal
    agent: Agent | None = None       # for agent rows: the catalog's agent, when the tag names one
    share: Decimal | None = None     # percent of the table's total
    labels: list[str] | None = None  # the columns' names

    @property
    def cells(self) -> list[tuple[str, Decimal]]:
        return list(zip(self.labels or [], self.amounts))

    @property
    def team(self) -> str:
        return self.agent.owner_team.name if self.agent is not None else ""


TOP_AGENTS = 20   # agent tables on a page: the largest, then the rest summed (the CSV has every row)


@dataclass
class Rest:
    """The rows of a table past its top N, summed."""

    count: int
    total: Decimal


class TopAgents:
    """For a page's table of agents: `agents_top`, the largest TOP_AGENTS rows, and `agents_rest`, the others
    summed: both worked out by the database from the rollups (read from an index, counted, and the rest as the
    tagged total less the top), so the page's work does not grow with the agents."""

    top: list[Row]
    rest: Rest | None

    @property
    def agents_top(self) -> list[Row]:
        return self.top

    @property
    def agents_rest(self) -> Rest | None:
        return self.rest


def _rest(top: list[Row], count: int, total: Decimal) -> Rest | None:
    """The rows after `top` of a table of `count` rows summing to `total`."""
    if count <= len(top):
        return None
    return Rest(count=count - len(top), total=total - sum((r.total for r in top), ZERO))


def _shares(rows: list[Row], grand: Decimal) -> list[Row]:
    for row in rows:
        row.share = (row.total * 100 / grand).quantize(Decimal("0.1")) if grand else None
    return rows


def _top_agents_everywhere(period: Period, columns: list[int], labels: list[str], tagged: Decimal) \
        -> tuple[list[Row], Rest | None]:
    """The dashboard's agents: the largest TOP_AGENTS by their cost in all environments (CostAgentTotal, read
    from its index), their cost in each environment (CostAgentMonth) and how many agents there are: one query."""
    totals = CostAgentTotal.objects.filter(month=period.month)
    largest = totals.order_by("-cost", "agent").values("agent")[:TOP_AGENTS]
    values = list(CostAgentMonth.objects.filter(month=period.month, agent__in=Subquery(largest)).order_by()
                  .values("agent", "environment_id", total=Sum("cost"), agents=_count(totals)))
    top = _shares(_pivot(values, "agent", columns, "environment_id", labels), tagged)
    return top, _rest(top, values[0]["agents"] if values else 0, tagged)


def _count(rows: QuerySet) -> Subquery:
    """How many `rows`, as a scalar subquery another query carries (computed once: it refers to nothing outside)."""
    return Subquery(rows.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("*")).values("n"))


def _top_agents_of(period: Period, environment: Environment, tagged: Decimal) -> tuple[list[Row], Rest | None]:
    """An environment's largest TOP_AGENTS agents (CostAgentMonth, read from its index) and the rest."""
    agents = CostAgentMonth.objects.filter(environment=environment, month=period.month)
    largest = list(agents.order_by("-cost", "agent").values_list("agent", "cost", _count(agents))[:TOP_AGENTS])
    top = [Row(key=agent, amounts=[cost], total=cost) for agent, cost, _ in largest]
    return _shares(top, tagged), _rest(top, largest[0][2] if largest else 0, tagged)


def _pivot(values, key: str, columns: list, column_key: str, labels: list[str] | None = None) -> list[Row]:
    """Grouped (key, column, total) values as Rows with one amount per column, largest total first."""
    index = {column: i for i, column in enumerate(columns)}
    by_key: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * len(columns))
    for item in values:
        at = index.get(item[column_key])
        if at is not None:
            by_key[item[key]][at] += item["total"] or ZERO
    rows = [Row(key=k, amounts=amounts, total=sum(amounts, ZERO), labels=labels) for k, amounts in by_key.items()]
    grand = sum((row.total for row in rows), ZERO)
    for row in rows:
        row.share = (row.total * 100 / grand).quantize(Decimal("0.1")) if grand else None
    return sorted(rows, key=lambda row: (-row.total, row.key))


def _with_agents(rows: list[Row], *, top: int | None = TOP_AGENTS) -> list[Row]:
    """Attach the catalog's agent (and its team) to agent rows, the first `top` of them (what a page shows;
    None: all, for the CSV): one query."""
    if top is not None:
        _with_agents(rows[:top], top=None)
        return rows
    agents = {a.slug: a for a in Agent.objects.filter(slug__in=[r.key for r in rows]).select_related("owner_team")}
    for row in rows:
        row.agent = agents.get(row.key)
    return rows


def agent_totals(entries: QuerySet, columns: list[int]) -> QuerySet:
    """One row per agent tag of `entries` (CostMonth): its cost in each environment of `columns` (c0, c1,
    ...; None where nothing), its total and its owner team's name, largest first. The database sums and
    sorts, so a caller reads a slice or streams every row with .iterator(): one query either way."""
    team = Agent.objects.filter(slug=OuterRef("agent")).values("owner_team__name")[:1]
    per_column = {f"c{i}": Sum("cost", filter=Q(environment_id=pk)) for i, pk in enumerate(columns)}
    return (entries.filter(environment_id__in=columns).order_by().values("agent")
            .annotate(**per_column, total=Sum("cost"), team=Subquery(team)).order_by("-total", "agent"))


def environment_columns() -> list[tuple[int, str]]:
    """The environments as the cost tables' columns, in the pages' order: (pk, name)."""
    return list(Environment.objects.order_by("position", "name").values_list("pk", "name"))


def _narrowed(qs: QuerySet, *, environment: Environment | None = None, service: str | None = None,
              resource_group: str | None = None) -> QuerySet:
    """A cost rollup's rows narrowed to an environment, a service and a resource group, where given."""
    if environment is not None:
        qs = qs.filter(environment=environment)
    if service is not None:
        qs = qs.filter(service=service)
    if resource_group:
        qs = qs.filter(resource_group=resource_group)
    return qs


def _entries(period: Period, *, environment: Environment | None = None, service: str | None = None,
             resource_group: str | None = None) -> QuerySet:
    """The period's CostMonth rows (per environment, service, resource group and agent tag)."""
    return _narrowed(CostMonth.objects.filter(month=period.month).order_by(), environment=environment,
                     service=service, resource_group=resource_group)


def _month_services(period: Period, *, environment: Environment | None = None, service: str | None = None) -> QuerySet:
    """The period's CostMonthService rows (per environment, service, resource group, tagged or not)."""
    return _narrowed(CostMonthService.objects.filter(month=period.month).order_by(), environment=environment,
                     service=service)


def _day_totals(period: Period, *, environment: Environment | None = None, service: str | None = None,
                resource_group: str | None = None) -> QuerySet:
    """The period's CostDay rows (per environment, day, service and resource group): what _days reads."""
    return _narrowed(CostDay.objects.filter(date__range=(period.month, period.last)).order_by(),
                     environment=environment, service=service, resource_group=resource_group)


def _by_service(rows: QuerySet, columns: list, labels: list[str] | None = None) -> tuple[list[Row], Decimal]:
    """CostMonthService rows as one Row per service (an amount per column), and their tagged total."""
    values = list(rows.values("service", "environment_id", "tagged").annotate(total=Sum("cost")))
    tagged = sum((v["total"] or ZERO for v in values if v["tagged"] and v["environment_id"] in columns), ZERO)
    return _pivot(values, "service", columns, "environment_id", labels), tagged


@dataclass
class Day:
    date: date
    actual: Decimal | None            # None after the last day with data
    cumulative: Decimal | None
    forecast_cumulative: Decimal | None   # from the last actual day on, where a forecast exists


def _days(period: Period, entries: QuerySet[CostDay], forecasts: list[CostForecast]) -> list[Day]:
    """Each day of the month: its cost, the month so far, and, after the last day with data, where the
    stored forecasts take the month."""
    actual = {item["date"]: item["total"] for item in entries.values("date").annotate(total=Sum("cost"))}
    last_actual = max(actual) if actual else None
    projected: dict[date, Decimal] = defaultdict(Decimal)
    for forecast in forecasts:
        for day, amount in forecast.daily:
            if date.fromisoformat(day) > forecast.as_of:
                projected[date.fromisoformat(day)] += Decimal(amount)
    days: list[Day] = []
    running = ZERO
    forecast_running: Decimal | None = None
    for day in month_days(period.month):
        in_data = last_actual is not None and day <= last_actual
        if in_data:
            running += actual.get(day) or ZERO
        if forecasts:  # on the month's last day nothing is left to project: the forecast to month end is the actual
            if in_data:
                forecast_running = running if day == last_actual else None
            else:
                forecast_running = (running if forecast_running is None else forecast_running) + projected[day]
        days.append(Day(date=day, actual=(actual.get(day) or ZERO) if in_data else None,
                        cumulative=running if in_data else None, forecast_cumulative=forecast_running))
    return days


# --- The pages ----------------------------------------------------------------------------------

@dataclass
class Dashboard(TopAgents):
    period: Period
    environments: list[EnvironmentCost]
    services: list[Row]
    top: list[Row]
    rest: Rest | None
    trend: list[Row]                 # key: "2026-11"; amounts per environment
    trend_months: list[date]
    days: list[Day]
    alerts: list[BudgetAlert]
    currency: str = "USD"

    @cached_property
    def agents(self) -> list[Row]:
        """Every agent row, largest first (the API's list; the page shows agents_top and agents_rest): one
        query, when asked for."""
        columns, names = [e.environment.pk for e in self.environments], self.columns
        rows = [Row(key=r["agent"], amounts=[r[f"c{i}"] or ZERO for i in range(len(columns))], total=r["total"],
                    labels=names)
                for r in agent_totals(CostAgentMonth.objects.filter(month=self.period.month), columns)]
        return _shares(rows, sum((r.total for r in rows), ZERO))

    @property
    def columns(self) -> list[str]:
        return [e.name for e in self.environments]

    @property
    def total_actual(self) -> Decimal:
        return sum((e.actual for e in self.environments), ZERO)

    @property
    def total_budget(self) -> Decimal:
        return sum((e.budget for e in self.environments), ZERO)

    @property
    def total_forecast(self) -> Decimal | None:
        known = [e.forecast for e in self.environments if e.forecast is not None]
        return sum(known, ZERO) if known else None

    @property
    def total_percent(self) -> Decimal | None:
        return _percent(self.total_actual, self.total_budget)

    @property
    def total_forecast_percent(self) -> Decimal | None:
        return _percent(self.total_forecast, self.total_budget)

    @property
    def has_data(self) -> bool:
        return any(e.data_at for e in self.environments)


def cost_dashboard(*, period: Period) -> Dashboard:
    environments = _environment_costs(period)
    columns, names = [e.environment.pk for e in environments], [e.name for e in environments]
    services, tagged = _by_service(_month_services(period), columns, names)
    top, rest = _top_agents_everywhere(period, columns, names, tagged)
    months = period.trend_months()
    trend = _trend(CostMonthService.objects.filter(month__range=(months[0], period.month)), months, columns, names)
    forecasts = list(CostForecast.objects.filter(month=period.month))
    alerts = list(BudgetAlert.objects.filter(month=period.month).select_related("environment")
                  .order_by("environment__position", "basis", "threshold"))
    return Dashboard(period=period, environments=environments, services=services, top=_with_agents(top), rest=rest,
                     trend=trend, trend_months=months, days=_days(period, _day_totals(period), forecasts),
                     alerts=alerts)


def _trend(entries: QuerySet[CostMonthService], months: list[date], columns: list, labels: list[str]) -> list[Row]:
    """One row per month (oldest first), an amount per column (environment ids)."""
    values = entries.order_by().values("month", "environment_id").annotate(total=Sum("cost"))
    index = {column: i for i, column in enumerate(columns)}
    by_month = {m: [ZERO] * len(columns) for m in months}
    for item in values:
        month = item["month"]
        month = month.date() if isinstance(month, datetime) else month
        if month in by_month and item["environment_id"] in index:
            by_month[month][index[item["environment_id"]]] += item["total"] or ZERO
    return [Row(key=f"{m:%Y-%m}", amounts=amounts, total=sum(amounts, ZERO), labels=labels)
            for m, amounts in by_month.items()]


@dataclass
class EnvironmentDetail(TopAgents):
    period: Period
    cost: EnvironmentCost
    services: list[Row]
    top: list[Row]
    rest: Rest | None
    trend: list[Row]
    trend_months: list[date]
    days: list[Day]
    alerts: list[BudgetAlert]
    thresholds: dict[str, list[int]]

    @property
    def environment(self) -> Environment:
        return self.cost.environment


def environment_cost_detail(*, name: str, period: Period) -> EnvironmentDetail:
    """One environment's month: by service (the drill-down's first step), by agent tag, day by day
    with the forecast, the last six months. Raises Environment.DoesNotExist."""
    found = _environment_costs(period, name=name)
    if not found:
        raise Environment.DoesNotExist(name)
    cost = found[0]
    env = cost.environment
    column = [env.pk]
    services, tagged = _by_service(_month_services(period, environment=env), column)
    top, rest = _top_agents_of(period, env, tagged)
    months = period.trend_months()
    trend = _trend(CostMonthService.objects.filter(environment=env, month__range=(months[0], period.month)), months,
                   column, [env.name])
    forecasts = list(CostForecast.objects.filter(environment=env, month=period.month))
    alerts = list(BudgetAlert.objects.filter(environment=env, month=period.month).order_by("basis", "threshold"))
    return EnvironmentDetail(period=period, cost=cost, services=services, top=_with_agents(top), rest=rest,
                             trend=trend, trend_months=months,
                             days=_days(period, _day_totals(period, environment=env), forecasts), alerts=alerts,
                             thresholds=budget_thresholds(environment=env))


def budget_thresholds(*, environment: Environment) -> dict[str, list[int]]:
    """The environment's alert thresholds (percent of its budget) by basis; the defaults without a policy."""
    policy = BudgetPolicy.objects.filter(environment=environment).first()
    if policy is None:
        return {Basis.ACTUAL: list(DEFAULT_THRESHOLDS), Basis.FORECAST: list(DEFAULT_THRESHOLDS)}
    return {Basis.ACTUAL: list(policy.actual_thresholds), Basis.FORECAST: list(policy.forecast_thresholds)}


@dataclass
class ServiceDetail(TopAgents):
    period: Period
    cost: EnvironmentCost
    service: str
    resource_group: str
    resource_groups: list[Row]
    top: list[Row]
    rest: Rest | None
    days: list[Day]

    @property
    def environment(self) -> Environment:
        return self.cost.environment

    @property
    def total(self) -> Decimal:
        if self.resource_group:
            return sum((r.total for r in self.resource_groups if r.key == self.resource_group), ZERO)
        return sum((r.total for r in self.resource_groups), ZERO)


def service_cost_detail(*, name: str, service: str, period: Period, resource_group: str = "") -> ServiceDetail:
    """One service of one environment in a month: by resource group (the drill-down's next step), by
    agent tag and by day, optionally narrowed to one resource group. Raises Environment.DoesNotExist."""
    found = _environment_costs(period, name=name)
    if not found:
        raise Environment.DoesNotExist(name)
    cost = found[0]
    env = cost.environment
    resource_group = resource_group.lower()
    column = [env.pk]
    groups = _pivot(_month_services(period, environment=env, service=service).values("resource_group", "environment_id")
                    .annotate(total=Sum("cost")), "resource_group", column, "environment_id")
    detail = ServiceDetail(period=period, cost=cost, service=service, resource_group=resource_group,
                           resource_groups=groups, top=[], rest=None,
                           days=_days(period, _day_totals(period, environment=env, service=service,
                                                          resource_group=resource_group), []))
    # The largest agent tags (untagged included), read from an index, and how many there are; the rest is the
    # total less the top. Narrowed to a resource group, CostMonth has one row per agent tag.
    if resource_group:
        agents = _entries(period, environment=env, service=service, resource_group=resource_group)
    else:
        agents = CostAgentService.objects.filter(environment=env, month=period.month, service=service)
    largest = list(agents.order_by("-cost", "agent").values_list("agent", "cost", _count(agents))[:TOP_AGENTS])
    top = _shares([Row(key=agent, amounts=[cost], total=cost) for agent, cost, _ in largest], detail.total)
    detail.top, detail.rest = _with_agents(top), _rest(top, largest[0][2] if largest else 0, detail.total)
    return detail


def environment_names() -> list[str]:
    return list(Environment.objects.order_by("position", "name").values_list("name", flat=True))


def environment_for_budget(*, name: str) -> tuple[Environment, BudgetPolicy | None]:
    env = Environment.objects.get(name=name)
    return env, BudgetPolicy.objects.filter(environment=env).first()


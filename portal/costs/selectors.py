"""Costs: the reads. Each page is a fixed number of aggregate queries over the stored rows, however
many rows, services or agents there are (tests pin the counts). Nothing here calls Azure."""

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache, cached_property

from django.core.cache import cache as shared_cache
from django.db import connection
from django.db.models import Field, OuterRef, QuerySet, Subquery, Sum

from portal.catalog.models import Agent, Environment
from portal.core import sql
from portal.core.links import url_maker
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
    ShowbackMonth,
)
from provisioning.cost.base import month_days, month_end, month_start

TREND_MONTHS = 6
ZERO = Decimal(0)


# --- Dates as text ------------------------------------------------------------------------------
# The names strftime gives in the C locale (the process's: nothing here sets another), without strftime: each call
# of it made glibc look the time zone up again (~6 us, and a cost page formatted about a hundred dates; issue #11).

WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
MONTH_ABBR = tuple(name[:3] for name in MONTH_NAMES)


def month_param(day: date) -> str:
    """2026-11 (as f"{day:%Y-%m}")."""
    return f"{day.year:04d}-{day.month:02d}"


def month_label(day: date) -> str:
    """November 2026 (as the date filter's "F Y")."""
    return f"{MONTH_NAMES[day.month]} {day.year:04d}"


def day_label(day: date) -> str:
    """Sun 1 Nov (as f"{day:%a} {day.day} {day:%b}", the date filter's "D j M")."""
    return f"{WEEKDAY_ABBR[day.weekday()]} {day.day} {MONTH_ABBR[day.month]}"


# --- The month a page shows ---------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar month as a page shows it; `today` decides what is current and what is future. Its values
    are worked out once (a page reads `param` in every link)."""

    month: date
    today: date

    @cached_property
    def last(self) -> date:
        return month_end(self.month)

    @cached_property
    def is_current(self) -> bool:
        return self.month == month_start(self.today)

    @cached_property
    def previous(self) -> date:
        return month_start(self.month - timedelta(days=1))

    @cached_property
    def next(self) -> date | None:
        following = self.last + timedelta(days=1)
        return following if following <= self.today else None

    @cached_property
    def param(self) -> str:
        return month_param(self.month)

    @cached_property
    def label(self) -> str:
        return month_label(self.month)

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


@dataclass
class StoredForecast:
    """What a page reads of an environment's stored forecast for the month (CostForecast): the days."""

    daily: list                       # [["2026-11-01", "18.52"], ...]
    as_of: date


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
    stored_forecast: StoredForecast | None = None   # the month's stored forecast, day by day (None: none stored)
    thresholds: dict[str, list[int]] | None = None  # the budget alerts' thresholds (with policy=True)
    alerts: int = 0                                  # budget alerts of the month

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


ENVIRONMENT_FIELDS = ("id", "name", "tier", "position", "monthly_budget")   # what the cost pages show of one


@cache
def _environment_statement(named: bool, policy: bool) -> tuple[str, list[Field | None], list[str]]:
    """_environment_costs' statement, the fields of its columns and the terminal statuses it is given: written once
    a process."""
    env_fields = [Environment._meta.get_field(f) for f in ENVIRONMENT_FIELDS]
    fields = [*env_fields, CostMonthService._meta.get_field("cost"),
              *(CostForecast._meta.get_field(f) for f in ("forecast", "daily", "as_of")),
              *(CostIngestRun._meta.get_field(f)
                for f in ("finished_at", "finished_at", "status", "error_code", "error", "forecast_error")), None]
    if policy:
        fields += [BudgetPolicy._meta.get_field(f) for f in ("actual_thresholds", "forecast_thresholds")]
    runs, terminal = sql.table(CostIngestRun), sorted(INGEST_TERMINAL)
    # The last run that ended: the later of each terminal status's last, each read from costingest_env_status
    # (status IN (...) made PostgreSQL sort every run of the environment, twice per environment).
    latest = "ORDER BY r.finished_at DESC, r.id DESC LIMIT 1"
    columns = ", ".join(f"e.{f.column}" for f in env_fields)
    # The last run's id is found per environment first (a materialized CTE, a few rows), then the run joined by its
    # key: joined on the subquery itself, PostgreSQL hashed every ingest run ever stored, each view (#11).
    statement = f"""
        WITH e AS MATERIALIZED (
            SELECT {columns}, (SELECT u.id FROM ({" UNION ALL ".join(
                f"SELECT * FROM (SELECT r.id, r.finished_at FROM {runs} r WHERE r.environment_id = e.id "
                f"AND r.status = %s {latest}) u{at}" for at, _ in enumerate(terminal))}) u
                               ORDER BY u.finished_at DESC, u.id DESC LIMIT 1) AS last_run_id
            FROM {sql.table(Environment)} e {"WHERE e.name = %s" if named else ""})
        SELECT {columns},
               (SELECT SUM(s.cost) FROM {sql.table(CostMonthService)} s WHERE s.environment_id = e.id AND s.month = %s),
               f.forecast, f.daily, f.as_of,
               (SELECT r.finished_at FROM {runs} r WHERE r.environment_id = e.id AND r.status = %s {latest}),
               l.finished_at, l.status, l.error_code, l.error, l.forecast_error,
               (SELECT COUNT(*) FROM {sql.table(BudgetAlert)} a WHERE a.environment_id = e.id AND a.month = %s)
               {", p.actual_thresholds, p.forecast_thresholds" if policy else ""}
        FROM e
        LEFT JOIN {sql.table(CostForecast)} f ON f.environment_id = e.id AND f.month = %s
        LEFT JOIN {runs} l ON l.id = e.last_run_id
        {f"LEFT JOIN {sql.table(BudgetPolicy)} p ON p.environment_id = e.id" if policy else ""}
        ORDER BY e.position, e.name"""
    return statement, fields, terminal


def _environment_costs(period: Period, *, name: str | None = None, policy: bool = False) -> list[EnvironmentCost]:
    """Each environment's month (or the one named): its cost, its forecast (with the stored days), the age of its
    data and how its last ingest ended, how many budget alerts it had and, with `policy`, its alert thresholds: one
    statement (portal.core.sql: as a queryset of ten subqueries it cost more to build than to run)."""
    statement, fields, terminal = _environment_statement(name is not None, policy)
    params = [*terminal, *([name] if name is not None else []), period.month, IngestStatus.SUCCEEDED, period.month,
              period.month]
    result = []
    for row in sql.fetch(statement, params, fields):
        env = Environment.from_db(connection.alias, ENVIRONMENT_FIELDS, row[:len(ENVIRONMENT_FIELDS)])
        (actual, forecast, daily, as_of, data_at, last_run_at, last_status, error_code, error, forecast_error, alerts,
         *thresholds) = row[len(ENVIRONMENT_FIELDS):]
        actual = actual or ZERO
        if forecast is None and not period.is_current and period.month < month_start(period.today):
            forecast = actual  # a month that has ended: its forecast is what it cost
        result.append(EnvironmentCost(
            environment=env, actual=actual, forecast=forecast, data_at=data_at,
            last_run_at=last_run_at, last_run_status=last_status,
            last_error=f"{error_code}: {error}" if error else "", forecast_error=forecast_error or "",
            stored_forecast=StoredForecast(daily=daily or [], as_of=as_of) if as_of is not None else None,
            thresholds=_thresholds(*thresholds) if policy else None, alerts=alerts,
        ))
    return result


def _thresholds(actual: list[int] | None, forecast: list[int] | None) -> dict[str, list[int]]:
    """Thresholds by basis: the policy's, or the defaults without one."""
    if actual is None and forecast is None:
        return {Basis.ACTUAL: list(DEFAULT_THRESHOLDS), Basis.FORECAST: list(DEFAULT_THRESHOLDS)}
    return {Basis.ACTUAL: list(actual or []), Basis.FORECAST: list(forecast or [])}


def _stored_forecasts(environments: list[EnvironmentCost]) -> list[StoredForecast]:
    return [e.stored_forecast for e in environments if e.stored_forecast is not None]


# --- Rows of the tables -------------------------------------------------------------------------

@dataclass
class Row:
    """One line of a cost table: a name, its amount in each column (environments, months), a total."""

    key: str
    amounts: list[Decimal]
    total: Decimal
    share: Decimal | None = None     # percent of the table's total
    labels: list[str] | None = None  # the columns' names
    team: str = ""                   # agent rows: the owner team's name, when the tag names a catalog agent
    url: str | None = None           # the row's page: an agent's in the catalog (when the tag names one), a service's
    urls: list[str] | None = None    # service rows of the dashboard: the service in each column's environment

    @property
    def cells(self) -> list[tuple[str, Decimal]]:
        return list(zip(self.labels or [], self.amounts))

    @property
    def linked_cells(self) -> list[tuple[Decimal, str]]:
        """(amount, link) per column."""
        return list(zip(self.amounts, self.urls or []))


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


def _team_sql(agent: str) -> str:
    """SQL of the owner team's name of the catalog agent the tag `agent` (a column) names; NULL: it names none."""
    team = Agent._meta.get_field("owner_team").related_model
    return (f"(SELECT tm.name FROM {sql.table(Agent)} a JOIN {sql.table(team)} tm ON tm.id = a.owner_team_id "
            f"WHERE a.slug = {agent} LIMIT 1)")


def _agent_row(agent: str, team: str | None, amounts: list[Decimal], labels: list[str] | None, link) -> Row:
    """A row of an agent table: the team and the link when the tag names a catalog agent (every agent has a
    team, so a name means the agent exists)."""
    return Row(key=agent, amounts=amounts, total=sum(amounts, ZERO), labels=labels, team=team or "",
               url=link(agent) if team is not None else None)


def _team_field() -> Field:
    return Agent._meta.get_field("owner_team").related_model._meta.get_field("name")


class _AgentCount:
    """How many agent rows a rollup has where a condition holds (`where`: column names and values, the month's
    among them; the "other N agents" of a table): an exact count, kept in the cache with the month's cost version
    (ShowbackMonth.cost_writes, moved by every ingest that writes the month's cost rollups, in the transaction that
    writes them) and counted again only when that version moved (#11: counting 5,000-10,000 index entries was the
    largest part of the agent table's statement).
    `columns()`: SQL of two columns for the table's statement, the version and the count (given from the cache when
    the version is the one kept; PostgreSQL and SQLite evaluate the CASE's count only when it is not); `of(version,
    count)` keeps what the statement read (a day: one key per table, month and filter viewed) and returns the
    count."""

    KEEP_SECONDS = 24 * 60 * 60

    def __init__(self, model: type, where: dict):
        self.model, self.where, self.month = model, where, where["month"]
        key = repr((model._meta.db_table, sorted(where.items())))     # the same filter, whatever its order
        self.key = "cost-agent-count:" + hashlib.sha256(key.encode()).hexdigest()
        self.kept = shared_cache.get(self.key)      # (version, count) or None

    def columns(self) -> tuple[str, list]:
        narrowed = " AND ".join(f"c.{column} = %s" for column in self.where)
        count = f"(SELECT COUNT(*) FROM {sql.table(self.model)} c WHERE {narrowed})"
        version = f"(SELECT v.cost_writes FROM {sql.table(ShowbackMonth)} v WHERE v.month = %s)"
        if self.kept is None:
            return f"{version}, {count}", [self.month, *self.where.values()]
        return (f"{version}, CASE WHEN {version} = %s THEN %s ELSE {count} END",
                [self.month, self.month, *self.kept, *self.where.values()])

    def of(self, version: int | None, count: int) -> int:
        if version is not None and (self.kept is None or self.kept[0] != version):
            shared_cache.set(self.key, (version, count), self.KEEP_SECONDS)
        return count


def _top_agents_everywhere(period: Period, columns: list[int], labels: list[str], tagged: Decimal) \
        -> tuple[list[Row], Rest | None]:
    """The dashboard's agents: the largest TOP_AGENTS by their cost in all environments (CostAgentTotal, read
    from its index), their cost in each environment (CostAgentMonth, by its unique key), their team and how
    many agents there are (_AgentCount): one statement."""
    totals, months = sql.table(CostAgentTotal), sql.table(CostAgentMonth)
    per_column = "".join(f", (SELECT m.cost FROM {months} m WHERE m.environment_id = %s AND m.month = t.month "
                         f"AND m.agent = t.agent)" for _ in columns)
    counted = _AgentCount(CostAgentTotal, {"month": period.month})
    count_columns, count_params = counted.columns()
    statement = (f"SELECT t.agent{per_column}, {_team_sql('t.agent')}, {count_columns} "
                 f"FROM {totals} t WHERE t.month = %s ORDER BY t.cost DESC, t.agent LIMIT %s")
    cost = CostAgentMonth._meta.get_field("cost")
    values = sql.fetch(statement, [*columns, *count_params, period.month, TOP_AGENTS],
                       [None, *(cost for _ in columns), _team_field(), None, None])
    link = Agent.url_maker()
    rows = [_agent_row(agent, team, [amount or ZERO for amount in amounts], labels, link)
            for agent, *amounts, team, _, _ in values]
    top = _shares(sorted(rows, key=lambda row: (-row.total, row.key)), tagged)
    return top, _rest(top, counted.of(*values[0][-2:]) if values else 0, tagged)


def _largest_agents(model: type, where: dict, total: Decimal) -> tuple[list[Row], Rest | None]:
    """The largest TOP_AGENTS rows of `model` (a rollup with one row per agent tag where `where` holds: column
    names and values, the month's among them), read from its index by cost, with their teams and how many rows
    there are (one statement, _AgentCount), and the rest of `total`."""
    table = sql.table(model)
    narrowed = " AND ".join(f"x.{column} = %s" for column in where)
    counted = _AgentCount(model, where)
    count_columns, count_params = counted.columns()
    statement = (f"SELECT x.agent, x.cost, {_team_sql('x.agent')}, {count_columns} "
                 f"FROM {table} x WHERE {narrowed} ORDER BY x.cost DESC, x.agent LIMIT %s")
    largest = sql.fetch(statement, [*count_params, *where.values(), TOP_AGENTS],
                        [None, model._meta.get_field("cost"), _team_field(), None, None])
    link = Agent.url_maker()
    top = _shares([_agent_row(agent, team, [cost], None, link) for agent, cost, team, _, _ in largest], total)
    return top, _rest(top, counted.of(*largest[0][-2:]) if largest else 0, total)


def _top_agents_of(period: Period, environment: Environment, tagged: Decimal) -> tuple[list[Row], Rest | None]:
    """An environment's largest TOP_AGENTS agents (CostAgentMonth, read from its index) and the rest."""
    return _largest_agents(CostAgentMonth, {"environment_id": environment.pk, "month": period.month}, tagged)


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


def agent_totals(model: type, where: dict, columns: list[int]) -> Iterator[list]:
    """One row per agent tag of `model` (a rollup with an agent column; its rows where `where` holds: column
    names and values) in the environments of `columns`: [agent, its cost in each of them (None where nothing),
    its total, its owner team's name (None: the tag names no agent)], largest first, streamed: one statement,
    summed by agent before the team is looked up."""
    cost = model._meta.get_field("cost")
    statement, params = agent_totals_statement(model, where, columns)
    return sql.stream(statement, params, [None, *(cost for _ in columns), cost, _team_field()])


def agent_totals_statement(model: type, where: dict, columns: list[int], select: str = "g.*, tm.name",
                           select_params: Sequence = ()) -> tuple[str, list]:
    """agent_totals' statement and its parameters. `select` (with `select_params`) may give other columns in its
    place, from g.agent, g.c0, g.c1... (one per column), g.total and tm.name (the team): the CSV export has
    PostgreSQL write the rows themselves, in the same order."""
    per_column = "".join(f", SUM(CASE WHEN environment_id = %s THEN cost END) AS c{i}" for i, _ in enumerate(columns))
    narrowed = "".join(f" AND {column} = %s" for column in where)
    team = Agent._meta.get_field("owner_team").related_model
    statement = f"""
        SELECT {select} FROM (
            SELECT agent{per_column}, SUM(cost) AS total FROM {sql.table(model)}
            WHERE environment_id IN ({sql.placeholders(columns) or "NULL"}){narrowed} GROUP BY agent) g
        LEFT JOIN {sql.table(Agent)} a ON a.slug = g.agent LEFT JOIN {sql.table(team)} tm ON tm.id = a.owner_team_id
        ORDER BY g.total DESC, g.agent"""
    return statement, [*select_params, *columns, *columns, *where.values()]


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


def _month_services(period: Period, *, environment: Environment | None = None, service: str | None = None) -> QuerySet:
    """The period's CostMonthService rows (per environment, service, resource group, tagged or not)."""
    return _narrowed(CostMonthService.objects.filter(month=period.month).order_by(), environment=environment,
                     service=service)


def _day_totals(period: Period, *, environment: Environment | None = None, service: str | None = None,
                resource_group: str | None = None) -> QuerySet:
    """The period's CostDay rows (per environment, day, service and resource group): what _days reads."""
    return _narrowed(CostDay.objects.filter(date__range=(period.month, period.last)).order_by(),
                     environment=environment, service=service, resource_group=resource_group)


def _by_service(values: list[dict], columns: list, labels: list[str] | None = None) -> tuple[list[Row], Decimal]:
    """CostMonthService values (service, environment_id, tagged, total) as one Row per service (an amount per
    column), and their tagged total."""
    tagged = sum((v["total"] or ZERO for v in values if v["tagged"] and v["environment_id"] in columns), ZERO)
    return _pivot(values, "service", columns, "environment_id", labels), tagged


def _month(value) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass
class MonthRows:
    """What a cost page reads of the rollups besides its agents: the period's CostMonthService values (month, key,
    environment_id, tagged, total), the months' totals per environment (month, environment_id, total) and the
    period's cost per day (CostDay)."""

    values: list[dict]
    days: dict[date, Decimal]
    trend: list[dict]

    def of_month(self, month: date) -> list[dict]:
        return [v for v in self.values if v["month"] == month]


def _month_rows(period: Period, *, months: list[date], key: str = "service", environment: Environment | None = None,
                service: str | None = None, resource_group: str = "") -> MonthRows:
    """The period's CostMonthService grouped by `key` (service or resource_group), environment and tagged, each of
    `months` grouped by environment (none with one month: the period's values give it), and the period's days of
    CostDay, narrowed to an environment and a service where given (the days also to a resource group): one
    statement, its first column saying which of the three a row is. The database groups, so the rows do not grow
    with the services times the months."""
    narrowed, params = "", []
    for column, value in (("environment_id", environment.pk if environment is not None else None),
                          ("service", service)):
        if value is not None:
            narrowed, params = f"{narrowed} AND {column} = %s", [*params, value]
    by_day, day_params = narrowed, params
    if resource_group:
        by_day, day_params = f"{narrowed} AND resource_group = %s", [*params, resource_group]
    table = sql.table(CostMonthService)
    trend, trend_params = "", []
    if len(months) > 1:
        trend = f"""
        SELECT 1, month, NULL, environment_id, NULL, SUM(cost) FROM {table}
        WHERE month BETWEEN %s AND %s{narrowed} GROUP BY month, environment_id
        UNION ALL"""
        trend_params = [months[0], months[-1], *params]
    statement = f"""
        SELECT 0, month, {key}, environment_id, tagged, SUM(cost) FROM {table}
        WHERE month = %s{narrowed} GROUP BY month, {key}, environment_id, tagged
        UNION ALL{trend}
        SELECT 2, date, NULL, NULL, NULL, SUM(cost) FROM {sql.table(CostDay)}
        WHERE date BETWEEN %s AND %s{by_day} GROUP BY date"""
    field = CostMonthService._meta.get_field
    rows = sql.fetch(statement, [period.month, *params, *trend_params, period.month, period.last, *day_params],
                     [None, field("month"), None, None, field("tagged"), field("cost")])
    values, days, totals = [], {}, []
    for kind, when, name, env, tagged, total in rows:
        if kind == 0:
            values.append({"month": when, key: name, "environment_id": env, "tagged": tagged, "total": total})
        elif kind == 1:
            totals.append({"month": when, "environment_id": env, "total": total})
        else:
            days[when] = total
    return MonthRows(values=values, days=days, trend=totals)


@dataclass
class Day:
    date: date
    actual: Decimal | None            # None after the last day with data
    cumulative: Decimal | None
    forecast_cumulative: Decimal | None   # from the last actual day on, where a forecast exists

    @property
    def label(self) -> str:
        """"Sun 1 Nov" (as the date filter's "D j M")."""
        return day_label(self.date)

    @property
    def amounts(self) -> list[Decimal | None]:
        return [self.actual, self.cumulative, self.forecast_cumulative]


def _day_actuals(entries: QuerySet[CostDay]) -> dict[date, Decimal]:
    return {item["date"]: item["total"] for item in entries.values("date").annotate(total=Sum("cost"))}


def _days(period: Period, actual: dict[date, Decimal], forecasts: list) -> list[Day]:
    """Each day of the month: its cost (`actual`), the month so far, and, after the last day with data, where the
    stored forecasts (CostForecast or StoredForecast: `daily` and `as_of`) take the month."""
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


# --- What a page shows, as a version (#11) -------------------------------------------------------

def _environment_key(cost: EnvironmentCost) -> tuple:
    """Everything a cost page shows of an environment's row, as read."""
    env, forecast = cost.environment, cost.stored_forecast
    return (env.pk, env.name, env.tier, env.position, env.monthly_budget, cost.actual, cost.forecast, cost.data_at,
            cost.last_run_at, cost.last_run_status, cost.last_error, cost.forecast_error,
            (forecast.as_of, forecast.daily) if forecast is not None else None, cost.thresholds, cost.alerts)


class Versions:
    """The version of what a cost page shows, under which its tables are kept rendered (the pages' `{% cache %}`,
    for PORTAL_COST_PAGE_SECONDS): the page, its month and today (what is current, the forecast's days), its
    environments' rows as the page read them (cost, forecast, budget, names, last runs, alerts), and one small
    query: the cost version of the months it reads (ShowbackMonth.cost_writes: every ingest that writes a month's
    rollups moves it, in the transaction that writes them; a sum of counters that only grow), the last change of an
    agent and of a team (the agent tables show the team of each tag). What no version records (an agent deleted)
    shows within PORTAL_COST_PAGE_SECONDS. At 10,000 agents the tables' statements and their rendering were most
    of a cost page's time, for data that changes once an hour (issue #11)."""

    def __init__(self, months: list[date]):
        self.months = months

    @cached_property
    def changes(self) -> tuple:
        team = Agent._meta.get_field("owner_team").related_model
        statement = (f"SELECT (SELECT SUM(v.cost_writes) FROM {sql.table(ShowbackMonth)} v "
                     f"WHERE v.month BETWEEN %s AND %s), "
                     f"(SELECT MAX({sql.column(Agent, 'updated_at')}) FROM {sql.table(Agent)}), "
                     f"(SELECT MAX({sql.column(team, 'updated_at')}) FROM {sql.table(team)})")
        with connection.cursor() as cursor:
            cursor.execute(statement, [min(self.months), max(self.months)])
            return tuple(cursor.fetchone())

    def of(self, page: str, period: Period, environments: list[EnvironmentCost]) -> str:
        parts = (page, period.month, period.today, self.changes, [_environment_key(e) for e in environments])
        return hashlib.sha256(repr(parts).encode()).hexdigest()


# --- The pages ----------------------------------------------------------------------------------

class _Table:
    """A table of a page (`services`, `top`, ...) read from the page's `tables`, on first use: where the page is
    kept rendered (templates/costs/, `{% cache %}` keyed on `version`), none is read (#11)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, page, owner=None):
        return self if page is None else getattr(page.tables, self.name)


@dataclass
class MonthTables:
    """The tables of the dashboard and of an environment's page."""

    services: list[Row]
    top: list[Row]
    rest: Rest | None
    trend: list[Row]                 # key: "2026-11"; amounts per environment
    trend_months: list[date]
    days: list[Day]


class _MonthPage(TopAgents):
    """A page with MonthTables, read on first use (`tables`)."""

    services = _Table()
    top = _Table()
    rest = _Table()
    trend = _Table()
    trend_months = _Table()
    days = _Table()


@dataclass
class Dashboard(_MonthPage):
    period: Period
    environments: list[EnvironmentCost]
    alerts: list[BudgetAlert]
    versions: "Versions"
    currency: str = "USD"

    @cached_property
    def tables(self) -> MonthTables:
        """Two statements: the month's and the trend's rollups, the largest agents."""
        environments, period = self.environments, self.period
        columns, names = [e.environment.pk for e in environments], [e.name for e in environments]
        months = period.trend_months()
        rows = _month_rows(period, months=months)
        services, tagged = _by_service(rows.of_month(period.month), columns, names)
        links = [url_maker("costs:service", name) for name in names]
        for row in services:
            row.urls = [link(row.key) if amount else "" for link, amount in zip(links, row.amounts)]
        top, rest = _top_agents_everywhere(period, columns, names, tagged)
        return MonthTables(services=services, top=top, rest=rest, trend=_trend(rows.trend, months, columns, names),
                           trend_months=months, days=_days(period, rows.days, _stored_forecasts(environments)))

    @property
    def version(self) -> str:
        return self.versions.of("dashboard", self.period, self.environments)

    @cached_property
    def agents(self) -> list[Row]:
        """Every agent row, largest first (the API's list; the page shows agents_top and agents_rest): one
        query, when asked for."""
        columns, names = [e.environment.pk for e in self.environments], self.columns
        rows = [Row(key=agent, amounts=[amount or ZERO for amount in amounts], total=total, labels=names)
                for agent, *amounts, total, _ in agent_totals(CostAgentMonth, {"month": self.period.month}, columns)]
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
    """Every environment's month: one statement (two with budget alerts), then two for its tables when they are
    read (Dashboard.tables) and one for its version (Versions) when that is."""
    environments = _environment_costs(period)
    alerts = []
    if any(e.alerts for e in environments):
        alerts = list(BudgetAlert.objects.filter(month=period.month).select_related("environment")
                      .order_by("environment__position", "basis", "threshold"))
    return Dashboard(period=period, environments=environments, alerts=alerts,
                     versions=Versions(period.trend_months()))


def _trend(values, months: list[date], columns: list, labels: list[str]) -> list[Row]:
    """CostMonthService values (month, environment_id, total, ...) as one row per month (oldest first), an amount
    per column (environment ids)."""
    index = {column: i for i, column in enumerate(columns)}
    by_month = {m: [ZERO] * len(columns) for m in months}
    for item in values:
        month = _month(item["month"])
        if month in by_month and item["environment_id"] in index:
            by_month[month][index[item["environment_id"]]] += item["total"] or ZERO
    return [Row(key=month_param(m), amounts=amounts, total=sum(amounts, ZERO), labels=labels)
            for m, amounts in by_month.items()]


@dataclass
class EnvironmentDetail(_MonthPage):
    period: Period
    cost: EnvironmentCost
    alerts: list[BudgetAlert]
    thresholds: dict[str, list[int]]
    versions: "Versions"

    @property
    def environment(self) -> Environment:
        return self.cost.environment

    @cached_property
    def tables(self) -> MonthTables:
        """Two statements: the month's and the trend's rollups, the largest agents."""
        env, period = self.environment, self.period
        months = period.trend_months()
        rows = _month_rows(period, months=months, environment=env)
        services, tagged = _by_service(rows.of_month(period.month), [env.pk])
        links = url_maker("costs:service", env.name)
        for row in services:
            row.url = links(row.key)
        top, rest = _top_agents_of(period, env, tagged)
        return MonthTables(services=services, top=top, rest=rest,
                           trend=_trend(rows.trend, months, [env.pk], [env.name]), trend_months=months,
                           days=_days(period, rows.days, _stored_forecasts([self.cost])))

    @property
    def version(self) -> str:
        return self.versions.of("environment", self.period, [self.cost])


def environment_cost_detail(*, name: str, period: Period) -> EnvironmentDetail:
    """One environment's month: by service (the drill-down's first step), by agent tag, day by day
    with the forecast, the last six months: one statement (two with budget alerts), then two for its tables when
    they are read (EnvironmentDetail.tables). Raises Environment.DoesNotExist."""
    found = _environment_costs(period, name=name, policy=True)
    if not found:
        raise Environment.DoesNotExist(name)
    cost = found[0]
    alerts = []
    if cost.alerts:
        alerts = list(BudgetAlert.objects.filter(environment=cost.environment, month=period.month)
                      .order_by("basis", "threshold"))
    return EnvironmentDetail(period=period, cost=cost, alerts=alerts, thresholds=cost.thresholds,
                             versions=Versions(period.trend_months()))


def budget_thresholds(*, environment: Environment) -> dict[str, list[int]]:
    """The environment's alert thresholds (percent of its budget) by basis; the defaults without a policy."""
    policy = BudgetPolicy.objects.filter(environment=environment).first()
    if policy is None:
        return {Basis.ACTUAL: list(DEFAULT_THRESHOLDS), Basis.FORECAST: list(DEFAULT_THRESHOLDS)}
    return {Basis.ACTUAL: list(policy.actual_thresholds), Basis.FORECAST: list(policy.forecast_thresholds)}


def _groups_total(groups: list[Row], resource_group: str) -> Decimal:
    """A service's cost: every resource group's, or the one chosen."""
    return sum((r.total for r in groups if not resource_group or r.key == resource_group), ZERO)


@dataclass
class ServiceTables:
    resource_groups: list[Row]
    top: list[Row]
    rest: Rest | None
    days: list[Day]


@dataclass
class ServiceDetail(TopAgents):
    period: Period
    cost: EnvironmentCost
    service: str
    resource_group: str
    versions: "Versions"
    resource_groups = _Table()
    top = _Table()
    rest = _Table()
    days = _Table()

    @property
    def environment(self) -> Environment:
        return self.cost.environment

    @property
    def total(self) -> Decimal:
        return _groups_total(self.resource_groups, self.resource_group)

    @cached_property
    def tables(self) -> ServiceTables:
        """Two statements: the month's rollups of the service, by resource group and by day; its largest agent tags
        (untagged included), read from an index, and how many there are (the rest is the total less the top).
        Narrowed to a resource group, CostMonth has one row per agent tag."""
        env, period, resource_group = self.environment, self.period, self.resource_group
        rows = _month_rows(period, months=[period.month], key="resource_group", environment=env,
                           service=self.service, resource_group=resource_group)
        groups = _pivot(rows.values, "resource_group", [env.pk], "environment_id")
        total = _groups_total(groups, resource_group)
        where = {"environment_id": env.pk, "month": period.month, "service": self.service}
        if resource_group:
            top, rest = _largest_agents(CostMonth, {**where, "resource_group": resource_group}, total)
        else:
            top, rest = _largest_agents(CostAgentService, where, total)
        return ServiceTables(resource_groups=groups, top=top, rest=rest, days=_days(period, rows.days, []))

    @property
    def version(self) -> str:
        return self.versions.of(f"service {self.service!r} {self.resource_group!r}", self.period, [self.cost])


def service_cost_detail(*, name: str, service: str, period: Period, resource_group: str = "") -> ServiceDetail:
    """One service of one environment in a month: by resource group (the drill-down's next step), by
    agent tag and by day, optionally narrowed to one resource group: one statement, then two for its tables when
    they are read (ServiceDetail.tables). Raises Environment.DoesNotExist."""
    found = _environment_costs(period, name=name)
    if not found:
        raise Environment.DoesNotExist(name)
    return ServiceDetail(period=period, cost=found[0], service=service, resource_group=resource_group.lower(),
                         versions=Versions([period.month]))


def cost_environments() -> list[Environment]:
    """The environments in the pages' order, with what the cost pages show of them (ENVIRONMENT_FIELDS)."""
    fields = [Environment._meta.get_field(f) for f in ENVIRONMENT_FIELDS]
    statement = (f"SELECT {', '.join(f.column for f in fields)} FROM {sql.table(Environment)} "
                 f"ORDER BY position, name")
    return [Environment.from_db(connection.alias, ENVIRONMENT_FIELDS, row) for row in sql.fetch(statement, [], fields)]


def environment_for_budget(*, name: str) -> tuple[Environment, BudgetPolicy | None]:
    env = Environment.objects.get(name=name)
    return env, BudgetPolicy.objects.filter(environment=env).first()


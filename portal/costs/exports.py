"""CSV exports: the tables of a page, with the page's filters, one table a file.

Issue #11: a table's CSV runs only that table's queries (not the page's), and streams: the agent tables
are summed and sorted by the database, so every row is in the file and the memory does not grow with them. On
PostgreSQL the database writes their rows too (COPY), byte for byte as Python's csv module writes them from a
server-side cursor elsewhere: at 10,000 agents formatting the rows in Python took a hundred times the query."""

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import chain

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db import connection
from django.db.models import Sum
from django.http import Http404, StreamingHttpResponse
from django.middleware.gzip import re_accepts_gzip
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

from portal.catalog.models import Environment
from portal.core import sql
from portal.costs import selectors
from portal.costs.models import CostAgentMonth, CostForecast, CostMonth, CostMonthService
from portal.costs.selectors import (
    ZERO,
    Period,
    _day_actuals,
    _day_totals,
    _days,
    _environment_costs,
    _month_services,
    _pivot,
    _trend,
    agent_totals,
    agent_totals_statement,
)

CHUNK_ROWS = 500        # rows per chunk written to the client


CENT = Decimal("0.01")


def amount(value: Decimal | None) -> str:
    if value is None:
        return ""
    return str((value if type(value) is Decimal else Decimal(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def amount_sql(expression: str) -> str:
    """SQL writing a cost as amount() does: two decimals, half away from zero (numeric round() rounds as
    ROUND_HALF_UP), NULL for NULL, and -0.00 for what rounds to zero from below (a Decimal keeps its sign, a
    numeric has none)."""
    return f"CASE WHEN {expression} < 0 AND {expression} > -0.005 THEN '-0.00' ELSE round({expression}, 2)::text END"


@dataclass(frozen=True)
class Written:
    """Rows the database has already written as CSV lines, in chunks of bytes: _lines sends them as they are."""
    chunks: Iterator[bytes]


Table = tuple[Sequence[str], Iterable[Sequence] | Written]


def _lines(header: Sequence[str], rows: Iterable[Sequence] | Written) -> Iterator[str | bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    if isinstance(rows, Written):
        yield buffer.getvalue()
        yield from rows.chunks
        return
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


CSV = "text/csv; charset=utf-8"


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence] | Written) \
        -> StreamingHttpResponse:
    return _attachment(filename, _lines(header, rows))


def _attachment(filename: str, content: Iterable[str | bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type=CSV)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _table(tables: dict[str, Callable[[], Table]], table: str) -> Callable[[], Table]:
    if table not in tables:
        raise Http404(f"No table {table!r} here: {', '.join(tables)}.")
    return tables[table]


def export(tables: dict[str, Callable[[], Table]], table: str, *, prefix: str) -> StreamingHttpResponse:
    header, rows = _table(tables, table)()
    return csv_response(f"{prefix}-{table}.csv", header, rows)


KEEP_BYTES = 8 * 1024 * 1024     # a kept CSV's longest body; a longer one is streamed, and not kept


def kept_export(request, tables: dict[str, Callable[[], Table]], table: str, *, prefix: str, period: Period,
                version: tuple) -> StreamingHttpResponse:
    """export() of an agents table (every agent's row: ~300 KB at 10,000 agents, its statement summing some 30,000
    rollup rows), kept per web process with its gzip-compressed copy for PORTAL_COST_PAGE_SECONDS under the version
    of what it holds: `version` (the request's filter), the month's cost version and the last change of an agent and
    of a team (selectors.Versions), the environments as columns and today. Sent compressed to a client that accepts
    it. A body longer than KEEP_BYTES is streamed as export() does, uncompressed: the caller compresses it (#11)."""
    read = _table(tables, table)
    key = repr((version, table, period.month, period.today, selectors.Versions([period.month]).changes, _columns()))
    key = "costs-csv:" + hashlib.sha256(key.encode()).hexdigest()
    filename = f"{prefix}-{table}.csv"
    kept = shared_cache.get(key)
    if kept is None:
        lines = (line.encode() if isinstance(line, str) else line for line in _lines(*read()))
        chunks, size = [], 0
        for chunk in lines:
            chunks.append(chunk)
            size += len(chunk)
            if size > KEEP_BYTES:
                return _attachment(filename, chain(chunks, lines))
        body = b"".join(chunks)
        kept = (body, compress_string(body))
        shared_cache.set(key, kept, settings.PORTAL_COST_PAGE_SECONDS)
    packed = bool(re_accepts_gzip.search(request.headers.get("accept-encoding", "")))
    response = _attachment(filename, [kept[packed]])          # as export()'s, in one chunk
    response["Content-Length"] = len(kept[packed])
    if packed:
        response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ("Accept-Encoding",))
    return response


def _environment(name: str) -> Environment:
    try:
        return Environment.objects.get(name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")


def _agent_rows(model, where: dict, columns: list[int], first: list[str], *, cells: bool = False,
                untagged: str = "") -> Iterable[Sequence] | Written:
    """A row per agent tag of `model` where `where` holds, largest first: the `first` values, the agent
    (`untagged` for the empty tag), its team, its cost in each environment of `columns` (with `cells`) and its total
    there. Written by PostgreSQL itself there (COPY), by Python from a server-side cursor elsewhere."""
    made = _agent_rows_copied if connection.vendor == "postgresql" else _agent_rows_written
    return made(model, where, columns, first, cells=cells, untagged=untagged)


def _agent_rows_written(model, where: dict, columns: list[int], first: list[str], *, cells: bool,
                        untagged: str) -> Iterator[list[str]]:
    for agent, *amounts, total, team in agent_totals(model, where, columns):
        yield [*first, agent or untagged, team or "", *(amount(a or ZERO) for a in amounts if cells), amount(total)]


def _agent_rows_copied(model, where: dict, columns: list[int], first: list[str], *, cells: bool,
                       untagged: str) -> Written:
    """As _agent_rows_written, in SQL. COPY writes a NULL as nothing and an empty string as "", where Python's
    csv writes nothing for both: an empty string is sent as NULL."""
    select = ", ".join([*("%s" for _ in first), "COALESCE(NULLIF(g.agent, ''), %s)", "NULLIF(tm.name, '')",
                        *(amount_sql(f"COALESCE(g.c{i}, 0)") for i, _ in enumerate(columns) if cells),
                        amount_sql("g.total")])
    statement, params = agent_totals_statement(model, where, columns, select,
                                               [*(value or None for value in first), untagged or None])
    return Written(sql.copy_csv(statement, params, CHUNK_ROWS))


def dashboard_tables(period: Period) -> dict[str, Callable[[], Table]]:
    def environments():
        rows = _environment_costs(period)
        return (["month", "environment", "actual", "budget", "percent_of_budget", "forecast", "forecast_percent",
                 "currency", "data_as_of"],
                [[period.param, e.name, amount(e.actual), amount(e.budget), e.percent or "", amount(e.forecast),
                  e.forecast_percent or "", "USD", e.data_at.isoformat() if e.data_at else ""] for e in rows])

    def services():
        pks, names = _columns()
        rows = _pivot(_month_services(period).values("service", "environment_id").annotate(total=Sum("cost")),
                      "service", pks, "environment_id", names)
        return ["month", "service", *names, "total"], [[period.param, r.key, *map(amount, r.amounts),
                                                        amount(r.total)] for r in rows]

    def agents():
        pks, names = _columns()
        return (["month", "agent", "team", *names, "total"],
                _agent_rows(CostAgentMonth, {"month": period.month}, pks, [period.param], cells=True))

    def trend():
        pks, names = _columns()
        months = period.trend_months()
        rows = _trend(_month_totals(CostMonthService.objects.filter(month__range=(months[0], period.month))), months,
                      pks, names)
        return ["month", *names, "total"], [[r.key, *map(amount, r.amounts), amount(r.total)] for r in rows]

    def days():
        return _days_table(_days(period, _day_actuals(_day_totals(period)),
                                 list(CostForecast.objects.filter(month=period.month))))

    return {"environments": environments, "services": services, "agents": agents, "trend": trend, "days": days}


def _month_totals(rows):
    return rows.order_by().values("month", "environment_id").annotate(total=Sum("cost"))


def _columns() -> tuple[list[int], list[str]]:
    columns = selectors.environment_columns()
    return [pk for pk, _ in columns], [name for _, name in columns]


def environment_tables(period: Period, name: str) -> dict[str, Callable[[], Table]]:
    def services():
        env = _environment(name)
        rows = _pivot(_month_services(period, environment=env).values("service", "environment_id")
                      .annotate(total=Sum("cost")), "service", [env.pk], "environment_id")
        return (["month", "environment", "service", "cost", "percent"],
                [[period.param, name, r.key, amount(r.total), r.share or ""] for r in rows])

    def agents():
        env = _environment(name)
        return (["month", "environment", "agent", "team", "cost"],
                _agent_rows(CostAgentMonth, {"month": period.month}, [env.pk], [period.param, name]))

    def trend():
        env = _environment(name)
        months = period.trend_months()
        rows = _trend(_month_totals(CostMonthService.objects.filter(environment=env,
                                                                    month__range=(months[0], period.month))),
                      months, [env.pk], [name])
        return (["month", "environment", "cost", "budget"],
                [[r.key, name, amount(r.total), amount(env.monthly_budget)] for r in rows])

    def days():
        env = _environment(name)
        forecasts = list(CostForecast.objects.filter(environment=env, month=period.month))
        return _days_table(_days(period, _day_actuals(_day_totals(period, environment=env)), forecasts))

    return {"services": services, "agents": agents, "trend": trend, "days": days}


def service_tables(period: Period, name: str, service: str, resource_group: str) -> dict[str, Callable[[], Table]]:
    group = resource_group.lower()

    def resource_groups():
        env = _environment(name)
        rows = _pivot(_month_services(period, environment=env, service=service)
                      .values("resource_group", "environment_id").annotate(total=Sum("cost")),
                      "resource_group", [env.pk], "environment_id")
        return (["month", "environment", "service", "resource_group", "cost"],
                [[period.param, name, service, r.key, amount(r.total)] for r in rows if not group or r.key == group])

    def agents():
        env = _environment(name)
        where = {"month": period.month, "service": service, **({"resource_group": group} if group else {})}
        return (["month", "environment", "service", "resource_group", "agent", "team", "cost"],
                _agent_rows(CostMonth, where, [env.pk], [period.param, name, service, group], untagged="(untagged)"))

    def days():
        env = _environment(name)
        return _days_table(_days(period, _day_actuals(_day_totals(period, environment=env, service=service,
                                                                  resource_group=group)), []))

    return {"resource_groups": resource_groups, "agents": agents, "days": days}


def showback_tables(period: Period, environments: list[Environment]) -> dict[str, Callable[[], Table]]:
    from portal.costs import showback

    def agents():
        rows = showback.showback_agent_rows(period=period, environments=environments)
        return (["month", "environment", "agent", "team", "replicas", "direct", "shared", "total"],
                ([period.param, r.environment, r.slug, r.team, r.replicas, amount(r.direct), amount(r.shared),
                  amount(r.total)] for r in rows))

    def teams():
        rows = showback.showback_teams(period=period, environments=environments)
        return (["month", "team", "agents", *[e.name for e in environments], "total"],
                [[period.param, t.team, t.agents, *map(amount, t.amounts), amount(t.total)] for t in rows])

    return {"agents": agents, "teams": teams}


def _days_table(days) -> Table:
    return (["date", "cost", "month_to_date", "forecast_month_to_date"],
            [[day.date.isoformat(), amount(day.actual), amount(day.cumulative), amount(day.forecast_cumulative)]
             for day in days])

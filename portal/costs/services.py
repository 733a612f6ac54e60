"""Costs: the writes. The scheduled ingest stores what a CostBackend answers (month to date, daily, by
service, resource group and agent tag; the forecast), checks the budget thresholds, and records each
run; the price catalogue is refreshed from the Azure Retail Prices API on demand.

The ingest is idempotent: cost rows are upserted on their unique key, so a retried or re-delivered
task stores nothing twice, and a budget threshold notifies once per month (BudgetAlert's unique key).
"""

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.db.models import OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone

from portal.accounts.roles import PLATFORM_ADMIN
from portal.audit.selectors import refuse_stale
from portal.audit.services import audit_record
from portal.catalog.models import Environment
from portal.core.outbox import enqueue
from portal.core.transitions import transition
from portal.costs import backends, selectors, showback
from portal.costs.choices import INGEST_ALLOWED_TRANSITIONS, INGEST_TERMINAL, Basis, IngestStatus, RefreshStatus
from portal.costs.models import (
    BudgetAlert,
    BudgetPolicy,
    CostAgentMonth,
    CostAgentService,
    CostAgentTotal,
    CostDay,
    CostEntry,
    CostForecast,
    CostIngestRun,
    CostMonth,
    CostMonthService,
    PriceRefresh,
)
from portal.costs.prices import RETAIL_SOURCE, catalogue_to_json, refreshed_entries
from portal.deployments.notifications import absolute, notification_queue
from provisioning.cost import CostBackend, CostError, CostRow, Forecast
from provisioning.cost.base import month_end, month_start
from provisioning.cost.catalogue import DEFAULT_CATALOGUE, fetch_json, refresh_from_retail_prices, retail_queries
from provisioning.text import shorten

log = logging.getLogger(__name__)
PLACES = Decimal("0.000001")
KEY_FIELDS = ["environment", "date", "service", "resource_group", "agent"]


# --- Ingest -------------------------------------------------------------------------------------

def previous_months(today: date, count: int) -> list[date]:
    """The first days of the `count` months before today's, oldest first."""
    months: list[date] = []
    first = month_start(today)
    for _ in range(count):
        first = month_start(first - timedelta(days=1))
        months.insert(0, first)
    return months


def months_to_backfill(*, environment: Environment, today: date, months: int) -> list[date]:
    """Of the `months` months before today's, those the database has no cost of for the environment:
    all of them on the first run, then none (one query)."""
    wanted = previous_months(today, months)
    if not wanted:
        return []
    present = {d.replace(day=1) for d in CostEntry.objects.filter(
        environment=environment, date__gte=wanted[0], date__lt=month_start(today)).dates("date", "month")}
    return [m for m in wanted if m not in present]


def cost_ingest_transition(run: CostIngestRun, new: str, **fields) -> CostIngestRun:
    return transition(CostIngestRun, run.pk, old=run.status, new=new, allowed=INGEST_ALLOWED_TRANSITIONS, **fields)


def cost_ingest_run(*, environment_id: int, today: date | None = None, backend: CostBackend | None = None,
                    backfill: int | None = None, refetch: Iterable[date] = ()) -> CostIngestRun | None:
    """Task body: fetch and store the environment's month-to-date cost and forecast, first the months
    before it that are missing (`backfill` of them, default PORTAL_COST_BACKFILL_MONTHS) and those in
    `refetch`, then check the budget thresholds. Records the run; a transient CostError is re-raised
    (after recording it) for the task to retry, a permanent one only recorded."""
    environment = Environment.objects.filter(pk=environment_id).first()
    if environment is None:
        return None
    today = today or timezone.localdate()
    backfill = settings.PORTAL_COST_BACKFILL_MONTHS if backfill is None else backfill
    months = sorted(set(months_to_backfill(environment=environment, today=today, months=backfill))
                    | {month_start(m) for m in refetch if month_start(m) < month_start(today)})
    own_backend = backend is None
    run = CostIngestRun.objects.create(environment=environment, backend=backend.kind if backend else "",
                                       months=[f"{m:%Y-%m}" for m in [*months, today]])
    try:
        backend = backend or backends.cost_backend(environment)
        CostIngestRun.objects.filter(pk=run.pk).update(backend=backend.kind)
        scope, groups = backends.cost_scope(environment), backends.cost_resource_groups(environment)
        stored = 0
        for first in months:
            stored += cost_entries_store(environment=environment, month=first, rows=backend.month_to_date(
                scope=scope, today=month_end(first), resource_groups=groups))
        stored += cost_entries_store(environment=environment, month=month_start(today),
                                     rows=backend.month_to_date(scope=scope, today=today, resource_groups=groups))
        try:
            forecast = backend.forecast(scope=scope, today=today, resource_groups=groups)
        except CostError as exc:  # the actual cost is stored: the forecast's failure is reported on its own
            log.warning("cost forecast of %s failed: %s", environment.name, exc)
            CostIngestRun.objects.filter(pk=run.pk).update(forecast_error=str(exc))
        else:
            cost_forecast_store(environment=environment, today=today, forecast=forecast)
    except CostError as exc:
        cost_ingest_transition(run, IngestStatus.FAILED, finished_at=timezone.now(), error_code=shorten(exc.code, 100),
                               error=exc.message)
        log.warning("cost ingest of %s failed: %s", environment.name, exc)
        if exc.transient:
            raise
        return CostIngestRun.objects.get(pk=run.pk)
    except Exception as exc:  # a bug: record it on the row, then let the task fail (it is not retried)
        cost_ingest_transition(run, IngestStatus.FAILED, finished_at=timezone.now(), error_code=type(exc).__name__,
                               error=str(exc))
        raise
    finally:
        if own_backend and hasattr(backend, "close"):
            backend.close()
    run = cost_ingest_transition(run, IngestStatus.SUCCEEDED, finished_at=timezone.now(), rows=stored)
    showback.showback_refresh(months=months, current=month_start(today))
    budget_alerts_check(environment=environment, today=today)
    return run


def _key(row: CostRow) -> tuple[date, str, str, str]:
    return row.date, row.service_name[:100], row.resource_group.lower()[:90], row.agent[:256]


@transaction.atomic
def cost_entries_store(*, environment: Environment, month: date, rows: Iterable[CostRow]) -> int:
    """Make the month's stored rows exactly what the backend answered: upsert each row on its key (rows
    with the same key in one answer are added up), delete the month's rows the answer no longer has.
    Returns the number of rows stored. The month's rollups stay equal to the SUM over the stored rows. On
    PostgreSQL in bulk (COPY into a staging table; only the rows that change are written and only their change
    in cost is added to the rollups; memory flat in the number of rows), elsewhere row by row in Python, then
    the month's rollups rebuilt (cost_month_refresh)."""
    if connection.vendor == "postgresql":
        return _cost_entries_copy(environment=environment, month=month, rows=rows)
    stored = _cost_entries_upsert(environment=environment, month=month, rows=rows)
    cost_month_refresh(environment=environment, month=month)
    return stored


def _cost_entries_upsert(*, environment: Environment, month: date, rows: Iterable[CostRow]) -> int:
    """Any database: sum the answer per key in Python, delete the keys gone, bulk upsert the rest."""
    first, last = month_start(month), month_end(month)
    totals: dict[tuple[date, str, str, str], tuple[Decimal, str]] = {}
    for row in rows:
        if not first <= row.date <= last:
            continue  # Cost Management answered outside the period asked for: not this month's
        cost, currency = totals.get(_key(row), (Decimal(0), row.currency))
        totals[_key(row)] = (cost + row.cost, currency or row.currency)
    existing = CostEntry.objects.filter(environment=environment, date__range=(first, last))
    stale = [pk for pk, *key in existing.values_list("pk", "date", "service", "resource_group", "agent")
             if tuple(key) not in totals]
    if stale:
        CostEntry.objects.filter(pk__in=stale).delete()
    now = timezone.now()
    CostEntry.objects.bulk_create(
        [CostEntry(environment=environment, date=day, service=service, resource_group=group, agent=agent,
                   cost=cost.quantize(PLACES), currency=(currency or "USD")[:3], updated_at=now)
         for (day, service, group, agent), (cost, currency) in totals.items()],
        update_conflicts=True, unique_fields=KEY_FIELDS, update_fields=["cost", "currency", "updated_at"],
        batch_size=500,
    )
    return len(totals)


STAGE = "cost_ingest_answer"    # the backend's answer, as COPY streams it in
CHANGES = "cost_ingest_changes"  # the answer against the stored rows: one row per key that changes
ENTRIES_LOCK = 1101  # with the environment's id: one store of an environment's cost at a time (advisory, PostgreSQL)
ROLLUP_LOCK = 1100  # with the month's ordinal: one ingest at a time refreshes a month's totals across environments


def _cost_entries_copy(*, environment: Environment, month: date, rows: Iterable[CostRow]) -> int:
    """Issue #11: the PostgreSQL path of cost_entries_store. The answer streams into a temporary table with
    COPY (per row, besides what plain COPY does, only the key cut to its columns' lengths). One
    statement compares it with the month's stored rows and keeps only the keys that change, with their old
    and new cost; the stored rows get one DELETE, one UPDATE and one INSERT (in key order) of those, and the
    rollups the change in cost of those keys (_cost_rollups_apply). Rows whose cost did not change are not
    written, and an unchanged answer writes nothing. Same result as the Python path; memory flat in the rows."""
    first, last = month_start(month), month_end(month)
    entry = connection.ops.quote_name(CostEntry._meta.db_table)
    key = "date, service, resource_group, agent"
    with connection.cursor() as cursor:
        # The change set is worked out against the rows it then writes: one store of an environment at a time.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ENTRIES_LOCK, environment.pk])
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (date date, service text, resource_group text, "
                       "agent text, cost numeric, currency text) ON COMMIT DELETE ROWS")
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {CHANGES} (id bigint, date date, service varchar(100), "
                       "resource_group varchar(90), agent varchar(256), was numeric(18, 6), cost numeric(18, 6), "
                       "was_currency varchar(3), currency varchar(3)) ON COMMIT DELETE ROWS")
        cursor.execute(f"TRUNCATE {STAGE}, {CHANGES}")  # when an outer transaction stores more than one month
        with cursor.cursor.copy(f"COPY {STAGE} FROM STDIN") as copy:
            for row in rows:
                if first <= row.date <= last:  # outside the period asked for: not this month's
                    copy.write_row((*_key(row), row.cost, (row.currency or "")[:3]))
        cursor.execute(
            # The answer summed per key, against the stored rows. (The key is cut in Python: cut here, PostgreSQL
            # sums it with a sort instead of a hash, twice as slow.)
            f"WITH answer AS MATERIALIZED ("
            f" SELECT {key}, ROUND(SUM(cost), 6), COALESCE(NULLIF(MAX(currency), ''), 'USD') FROM {STAGE}"
            f" GROUP BY 1, 2, 3, 4),"
            f" stored AS (SELECT id, {key}, cost, currency FROM {entry}"
            f" WHERE environment_id = %(env)s AND date BETWEEN %(first)s AND %(last)s),"
            f" changed AS (INSERT INTO {CHANGES} (id, {key}, was, cost, was_currency, currency)"
            f" SELECT s.id, COALESCE(a.date, s.date), COALESCE(a.service, s.service), "
            f" COALESCE(a.resource_group, s.resource_group), COALESCE(a.agent, s.agent), s.cost, a.cost, s.currency, "
            f" a.currency FROM answer a ({key}, cost, currency) FULL JOIN stored s ON s.date = a.date "
            f" AND s.service = a.service AND s.resource_group = a.resource_group AND s.agent = a.agent"
            f" WHERE (a.cost, a.currency) IS DISTINCT FROM (s.cost, s.currency) RETURNING id, was, cost, was_currency, "
            f" currency)"
            f" SELECT (SELECT COUNT(*) FROM answer), COUNT(*), COUNT(*) FILTER (WHERE cost IS NULL), "
            f" COUNT(*) FILTER (WHERE id IS NOT NULL AND cost IS NOT NULL), COUNT(*) FILTER (WHERE id IS NULL), "
            f" COUNT(*) FILTER (WHERE was IS NOT NULL AND currency IS DISTINCT FROM was_currency) FROM changed",
            {"first": first, "last": last, "env": environment.pk})
        stored, changed, deleted, updated, inserted, currency_changed = cursor.fetchone()
        if not changed:
            return stored
        now = timezone.now()
        if deleted:
            cursor.execute(f"DELETE FROM {entry} WHERE id IN (SELECT id FROM {CHANGES} WHERE cost IS NULL)")
        if updated:
            cursor.execute(f"UPDATE {entry} e SET cost = c.cost, currency = c.currency, updated_at = %s "
                           f"FROM {CHANGES} c WHERE e.id = c.id AND c.cost IS NOT NULL", [now])
        if inserted:  # no conflict possible (ENTRIES_LOCK); in key order: the unique index filled page by page
            cursor.execute(f"INSERT INTO {entry} (environment_id, {key}, cost, currency, updated_at) "
                           f"SELECT %s, {key}, cost, currency, %s FROM {CHANGES} WHERE id IS NULL ORDER BY {key}",
                           [environment.pk, now])
        _cost_rollups_apply(cursor, environment=environment, month=first, lost=bool(deleted),
                            currency_changed=bool(currency_changed))
    return stored


@dataclass(frozen=True)
class _Rollup:
    """How one rollup follows the stored rows: its columns fixed by the ingest (`scope`: the environment, the
    month), its key columns with the expression that gives each from a row of the level below it (CHANGES
    has the same columns), and that level (`source`)."""

    model: type[models.Model]
    scope: tuple[str, ...]
    keys: tuple[tuple[str, str], ...]
    source: type[models.Model]
    source_scope: str
    tagged: bool = False      # only the cost with an agent tag
    currency: bool = False    # also the currency, the largest of its rows' (as cost_month_refresh)

    def sql(self, what: str) -> str:
        qn = connection.ops.quote_name
        table, source = qn(self.model._meta.db_table), qn(self.source._meta.db_table)
        scope, values = ", ".join(self.scope), ", ".join(SCOPE_VALUES[c] for c in self.scope)
        cols, exprs = ", ".join(c for c, _ in self.keys), ", ".join(e for _, e in self.keys)
        by = ", ".join(str(len(self.scope) + 1 + i) for i in range(len(self.keys)))
        tagged = " AND agent <> ''" if self.tagged else ""
        currency = ", COALESCE(NULLIF(MAX(currency), ''), 'USD')" if self.currency else ""
        columns = f"{scope}, {cols}, cost{', currency' if self.currency else ''}"
        if what == "delta":  # each key's change in cost added to its row (a key new to the rollup: inserted)
            update = f"cost = {table}.cost + EXCLUDED.cost WHERE EXCLUDED.cost <> 0"
            if self.currency:
                update = (f"cost = {table}.cost + EXCLUDED.cost, currency = GREATEST({table}.currency, "
                          f"EXCLUDED.currency) WHERE EXCLUDED.cost <> 0 OR EXCLUDED.currency > {table}.currency")
            return (f"INSERT INTO {table} ({columns}) SELECT {values}, {exprs}, "
                    f"SUM(COALESCE(cost, 0) - COALESCE(was, 0)){currency} FROM {CHANGES} WHERE TRUE{tagged} "
                    f"GROUP BY {by} ORDER BY {by} ON CONFLICT ({scope}, {cols}) DO UPDATE SET {update}")
        # The keys that lost a row (or, for the currency, a row's currency): deleted, then summed again from the
        # level below when anything is left.
        lost = "was IS NOT NULL AND currency IS DISTINCT FROM was_currency" if self.currency else "cost IS NULL"
        lost = f"({exprs}) IN (SELECT {exprs} FROM {CHANGES} WHERE {lost}{tagged})"
        if what == "delete":
            return (f"DELETE FROM {table} WHERE " + " AND ".join(f"{c} = {SCOPE_VALUES[c]}" for c in self.scope)
                    + f" AND {lost.replace(f'({exprs}) IN', f'({cols}) IN', 1)}")
        return (f"INSERT INTO {table} ({columns}) SELECT {values}, {exprs}, SUM(cost){currency} FROM {source} "
                f"WHERE {self.source_scope} AND {lost} GROUP BY {by}")


SCOPE_VALUES = {"environment_id": "%(env)s", "month": "%(first)s"}
IN_MONTH = "environment_id = %(env)s AND date BETWEEN %(first)s AND %(last)s"
ROLLUPS = (  # in order: each is summed again from one before it (or the stored rows)
    _Rollup(CostDay, ("environment_id",), (("date", "date"), ("service", "service"),
                                           ("resource_group", "resource_group")), CostEntry, IN_MONTH),
    _Rollup(CostMonth, ("environment_id", "month"), (("service", "service"), ("resource_group", "resource_group"),
                                                     ("agent", "agent")), CostEntry, IN_MONTH, currency=True),
    _Rollup(CostMonthService, ("environment_id", "month"), (("service", "service"), ("resource_group", "resource_group"),
                                                            ("tagged", "agent <> ''")), CostMonth,
            "environment_id = %(env)s AND month = %(first)s"),
    _Rollup(CostAgentMonth, ("environment_id", "month"), (("agent", "agent"),), CostMonth,
            "environment_id = %(env)s AND month = %(first)s", tagged=True),
    _Rollup(CostAgentService, ("environment_id", "month"), (("service", "service"), ("agent", "agent")), CostMonth,
            "environment_id = %(env)s AND month = %(first)s"),
    _Rollup(CostAgentTotal, ("month",), (("agent", "agent"),), CostAgentMonth, "month = %(first)s", tagged=True),
)


def _cost_rollups_apply(cursor, *, environment: Environment, month: date, lost: bool, currency_changed: bool) -> None:
    """Issue #11: bring the month's rollups (ROLLUPS) from the stored rows before this ingest to those after it,
    from CHANGES alone: each rollup key's change in cost is added to its row; the keys that lost a row are
    summed again from the level below (or deleted when nothing is left), so each rollup stays exactly the SUM
    over the stored rows (what cost_month_refresh rebuilds). One ingest of a month at a time (CostAgentTotal
    spans the environments). Last, the change is counted for the month's stored showback."""
    params = {"env": environment.pk, "first": month_start(month), "last": month_end(month)}
    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK, params["first"].toordinal()])
    for rollup in ROLLUPS:
        cursor.execute(rollup.sql("delta"), params)
        if lost or (currency_changed and rollup.currency):
            cursor.execute(rollup.sql("delete"), params)
            cursor.execute(rollup.sql("insert"), params)
    showback.showback_costs_changed(month=params["first"])


@transaction.atomic
def cost_month_refresh(*, environment: Environment, month: date) -> int:
    """Recompute the environment's rollups of `month` from its CostEntry rows, in the transaction that stored
    them, so each equals the raw SUM: CostMonth (per service, resource group and agent tag), CostDay (per day,
    service and resource group), CostMonthService (per service, resource group, tagged or not), CostAgentMonth
    (per agent tag) and CostAgentService (per service and agent tag); then the month's CostAgentTotal (per
    agent tag, all environments), one ingest at a time (an advisory lock on PostgreSQL; SQLite writes one
    transaction at a time anyway). Each is one DELETE and one INSERT ... SELECT. Last, the change is counted for
    the month's stored showback. Returns the CostMonth rows."""
    first, last = month_start(month), month_end(month)
    env = environment.pk
    qn = connection.ops.quote_name
    entry, monthly, day, service, agent, by_service = (qn(m._meta.db_table) for m in (
        CostEntry, CostMonth, CostDay, CostMonthService, CostAgentMonth, CostAgentService))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # the locks of _cost_entries_copy, in its order
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ENTRIES_LOCK, env])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK, first.toordinal()])
        cursor.execute(f"DELETE FROM {monthly} WHERE environment_id = %s AND month = %s", [env, first])
        cursor.execute(
            f"INSERT INTO {monthly} (environment_id, month, service, resource_group, agent, cost, currency) "
            f"SELECT environment_id, %s, service, resource_group, agent, SUM(cost), "
            f"COALESCE(NULLIF(MAX(currency), ''), 'USD') FROM {entry} "
            f"WHERE environment_id = %s AND date BETWEEN %s AND %s GROUP BY environment_id, service, resource_group, agent",
            [first, env, first, last])
        stored = cursor.rowcount
        cursor.execute(f"DELETE FROM {day} WHERE environment_id = %s AND date BETWEEN %s AND %s", [env, first, last])
        cursor.execute(
            f"INSERT INTO {day} (environment_id, date, service, resource_group, cost) "
            f"SELECT environment_id, date, service, resource_group, SUM(cost) FROM {entry} "
            f"WHERE environment_id = %s AND date BETWEEN %s AND %s GROUP BY environment_id, date, service, resource_group",
            [env, first, last])
        cursor.execute(f"DELETE FROM {service} WHERE environment_id = %s AND month = %s", [env, first])
        cursor.execute(
            f"INSERT INTO {service} (environment_id, month, service, resource_group, tagged, cost) "
            f"SELECT environment_id, month, service, resource_group, agent <> '', SUM(cost) FROM {monthly} "
            f"WHERE environment_id = %s AND month = %s GROUP BY environment_id, month, service, resource_group, agent <> ''",
            [env, first])
        cursor.execute(f"DELETE FROM {agent} WHERE environment_id = %s AND month = %s", [env, first])
        cursor.execute(
            f"INSERT INTO {agent} (environment_id, month, agent, cost) "
            f"SELECT environment_id, month, agent, SUM(cost) FROM {monthly} "
            f"WHERE environment_id = %s AND month = %s AND agent <> '' GROUP BY environment_id, month, agent",
            [env, first])
        cursor.execute(f"DELETE FROM {by_service} WHERE environment_id = %s AND month = %s", [env, first])
        cursor.execute(
            f"INSERT INTO {by_service} (environment_id, month, service, agent, cost) "
            f"SELECT environment_id, month, service, agent, SUM(cost) FROM {monthly} "
            f"WHERE environment_id = %s AND month = %s GROUP BY environment_id, month, service, agent", [env, first])
        _agent_totals_rebuild(cursor, first)
    showback.showback_costs_changed(month=first)
    return stored


def _agent_totals_rebuild(cursor, first: date) -> None:
    """The month's CostAgentTotal summed again from CostAgentMonth (the caller holds the month's ROLLUP_LOCK)."""
    qn = connection.ops.quote_name
    total, agent = qn(CostAgentTotal._meta.db_table), qn(CostAgentMonth._meta.db_table)
    cursor.execute(f"DELETE FROM {total} WHERE month = %s", [first])
    cursor.execute(f"INSERT INTO {total} (month, agent, cost) SELECT month, agent, SUM(cost) FROM {agent} "
                   f"WHERE month = %s GROUP BY month, agent", [first])


def cost_months_of(*, environment: Environment) -> list[date]:
    """The months the environment has cost rolled up for (CostAgentMonth): what its deletion changes."""
    return sorted(set(CostAgentMonth.objects.filter(environment=environment).values_list("month", flat=True)))


@transaction.atomic
def cost_environment_removed(*, months: Iterable[date]) -> None:
    """After an environment was deleted (its cost rows with it, by cascade): each of `months`' totals across the
    environments (CostAgentTotal, the dashboard's largest agents) summed again without it, and the change counted
    for the month's stored showback and the cost pages' version."""
    with connection.cursor() as cursor:
        for first in sorted(set(months)):
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK, first.toordinal()])
            _agent_totals_rebuild(cursor, first)
            showback.showback_costs_changed(month=first)


def cost_forecast_store(*, environment: Environment, today: date, forecast: Forecast) -> CostForecast:
    forecast_row, _ = CostForecast.objects.update_or_create(
        environment=environment, month=month_start(today),
        defaults={"actual": forecast.month_total_actual.quantize(PLACES),
                  "forecast": forecast.month_end_forecast.quantize(PLACES), "currency": forecast.currency[:3],
                  "daily": [[day.isoformat(), str(cost)] for day, cost in forecast.daily],
                  "as_of": today, "computed_at": timezone.now()},
    )
    return forecast_row


def cost_ingest_request_all(*, user=None, request=None) -> list[int]:
    """Queue an ingest of every environment (the scheduled sweep, or "Refresh now"), on commit, after pruning
    the old runs (cost_ingest_runs_prune)."""
    cost_ingest_runs_prune()
    ids = list(Environment.objects.order_by("position", "name").values_list("pk", flat=True))
    with transaction.atomic():
        if user is not None:
            audit_record(action="cost.ingest_requested", actor=user, request=request, object_type="costs",
                         object_repr="all environments", details={"environments": len(ids)})
        for pk in ids:
            enqueue("portal.costs.tasks.ingest_environment_costs", pk, key=f"cost-ingest:{pk}")
    return ids


def cost_ingest_runs_prune(*, now=None) -> int:
    """Delete finished ingest runs older than PORTAL_COST_RUN_HISTORY_DAYS, keeping each environment's last
    succeeded and last failed run (the age of its data and its last error). Running ones stay. Returns how
    many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PORTAL_COST_RUN_HISTORY_DAYS)
    keep = [CostIngestRun.objects.filter(environment=OuterRef("environment"), status=status)
            .order_by("-finished_at", "-pk").values("pk")[:1] for status in sorted(INGEST_TERMINAL)]
    old = CostIngestRun.objects.filter(status__in=INGEST_TERMINAL, finished_at__lt=cutoff)
    for latest in keep:     # IN, not =: an environment without a failed run has no such row (= NULL keeps all)
        old = old.exclude(pk__in=latest)
    deleted, _ = old.delete()
    return deleted


# --- Budgets and alerts -------------------------------------------------------------------------

def platform_admin_emails() -> list[str]:
    users = (get_user_model().objects.filter(is_active=True).exclude(email="")
             .filter(Q(groups__name=PLATFORM_ADMIN) | Q(is_superuser=True)))
    return sorted(set(users.values_list("email", flat=True)))


@transaction.atomic
def budget_alerts_check(*, environment: Environment, today: date | None = None) -> list[BudgetAlert]:
    """Record each threshold the month's actual cost or forecast has crossed and no alert exists for yet,
    and notify the platform admins (and the environment's webhook) once about those. Returns the new
    alerts: a threshold crossed again, by this run or another at the same moment, is not new."""
    today = today or timezone.localdate()
    budget = environment.monthly_budget
    if budget <= 0:
        return []
    month = month_start(today)
    actual = CostMonthService.objects.filter(environment=environment, month=month).aggregate(total=Sum("cost"))["total"]
    forecast = CostForecast.objects.filter(environment=environment, month=month).values_list("forecast", flat=True) \
        .first()
    amounts = {Basis.ACTUAL: actual, Basis.FORECAST: forecast}
    done = set(BudgetAlert.objects.filter(environment=environment, month=month).values_list("basis", "threshold"))
    crossed: list[BudgetAlert] = []
    for basis, thresholds in selectors.budget_thresholds(environment=environment).items():
        amount = amounts[basis]
        if amount is None:
            continue
        for threshold in sorted(set(thresholds)):
            if (basis, threshold) in done or amount * 100 < budget * threshold:
                continue
            try:
                with transaction.atomic():
                    crossed.append(BudgetAlert.objects.create(
                        environment=environment, month=month, basis=basis, threshold=threshold,
                        amount=amount.quantize(Decimal("0.01")), budget=budget))
            except IntegrityError:
                continue  # another run recorded (and announced) it first
    if crossed:
        _announce(environment, month, crossed, actual=actual, forecast=forecast)
    return crossed


def _announce(environment: Environment, month: date, alerts: list[BudgetAlert], *, actual, forecast) -> None:
    budget = environment.monthly_budget
    highest = max(alerts, key=lambda a: (a.threshold, a.basis == Basis.ACTUAL))
    what = "cost" if highest.basis == Basis.ACTUAL else "forecast"
    subject = f"[Peak Portal] {environment.name}: {what} crossed {highest.threshold}% of the monthly budget"
    lines = [f"{environment.name}, {month:%B %Y}: budget ${budget:,.2f}."]
    if actual is not None:
        lines.append(f"Spent so far: ${actual:,.2f} ({actual * 100 / budget:.0f}% of the budget).")
    if forecast is not None:
        lines.append(f"Forecast to month end: ${forecast:,.2f} ({forecast * 100 / budget:.0f}%).")
    in_order = sorted(alerts, key=lambda a: (a.basis, a.threshold))
    lines.append("Thresholds crossed: " + ", ".join(f"{a.threshold}% on {a.get_basis_display().lower()}"
                                                    for a in in_order))
    lines.append(f"See {absolute(reverse('costs:environment', args=[environment.name]))}")
    notification_queue(subject=subject, body="\n".join(lines), recipients=platform_admin_emails(),
                       webhook_url=environment.approval_webhook_url, about=f"budget:{environment.name}:{month:%Y-%m}")
    audit_record(action="cost.budget_crossed", obj=environment,
                 details={"month": f"{month:%Y-%m}", "thresholds": [f"{a.basis}:{a.threshold}" for a in alerts]})


BUDGET_POLICY_EDIT_ACTIONS = ("cost.budget_policy_changed",)


@transaction.atomic
def budget_policy_update(*, environment: Environment, actual_thresholds: list[int], forecast_thresholds: list[int],
                         version: int | None = None, user=None, request=None) -> BudgetPolicy:
    """Save an environment's alert thresholds. `version` is the policy's version the form was filled in from (0:
    no policy yet); when someone has saved since, the edit is refused (StaleEdit)."""
    Environment.objects.select_for_update().filter(pk=environment.pk).first()  # one edit of a policy at a time
    policy = BudgetPolicy.objects.filter(environment=environment).first()
    if policy is None:
        policy = BudgetPolicy(environment=environment, version=0)
    refuse_stale(version=version, current=policy, current_version=policy.version, obj=environment,
                 actions=BUDGET_POLICY_EDIT_ACTIONS,
                 message=f"Someone else saved the budget alerts of {environment.name} while you were editing them. "
                         "Their changes are shown below and the form keeps what you typed: check it against theirs "
                         "and save again.")
    before = {"actual": policy.actual_thresholds, "forecast": policy.forecast_thresholds}
    policy.actual_thresholds, policy.forecast_thresholds = list(actual_thresholds), list(forecast_thresholds)
    policy.version += 1
    policy.save()
    after = {"actual": policy.actual_thresholds, "forecast": policy.forecast_thresholds}
    audit_record(action="cost.budget_policy_changed", obj=environment, actor=user, request=request,
                 details={"before": before, "after": after, "version": policy.version,
                          "changes": {f"{basis}_thresholds": [", ".join(map(str, before[basis])),
                                                              ", ".join(map(str, after[basis]))]
                                      for basis in ("actual", "forecast") if before[basis] != after[basis]}})
    return policy


# --- Price catalogue ----------------------------------------------------------------------------

Fetch = Callable[[str], Mapping[str, Any]]


def price_catalogue_refresh(*, fetch: Fetch | None = None, region: str | None = None,
                            today: date | None = None) -> PriceRefresh:
    """Refresh the design document's fixed prices from the Azure Retail Prices API and store the
    catalogue. When the API answers nothing (no network, an error, no matching meter) the refresh is
    recorded as failed with the reason, and estimates keep using the catalogue they had."""
    region = region or settings.PORTAL_PRICES_REGION
    fetch = fetch or fetch_json
    errors: list[str] = []

    def recording(url: str) -> Mapping[str, Any]:
        try:
            return fetch(url)
        except (OSError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            raise

    refreshable = len(retail_queries(DEFAULT_CATALOGUE))
    catalogue = refresh_from_retail_prices(DEFAULT_CATALOGUE, fetch=recording, region=region,
                                           today=today or timezone.localdate())
    answered = refreshed_entries(catalogue) - refreshed_entries(DEFAULT_CATALOGUE)
    if answered <= 0:
        reason = errors[0] if errors else f"it answered no matching prices for {region}"
        refresh = PriceRefresh.objects.create(
            status=RefreshStatus.FAILED, region=region, kept=refreshable,
            error=f"Could not refresh prices from the {RETAIL_SOURCE}: {reason}. "
                  f"{len(errors)} of {refreshable} requests failed; estimates keep the current prices.")
    else:
        refresh = PriceRefresh.objects.create(
            status=RefreshStatus.SUCCEEDED, region=region, refreshed=answered, kept=refreshable - answered,
            prices=catalogue_to_json(catalogue),
            error="; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""))
    audit_record(action=f"cost.prices_{refresh.status}", obj=refresh,
                 details={"region": region, "refreshed": refresh.refreshed, "kept": refresh.kept})
    return refresh

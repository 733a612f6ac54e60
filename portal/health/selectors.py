from collections import namedtuple
from functools import cache
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Value
from django.utils import timezone

from portal.catalog.models import Agent, Environment, Team
from portal.core import sql as core_sql
from portal.core.pagination import keep_total, kept_total
from portal.health.choices import AGENT_KINDS, UPTIME_WINDOW, CheckKind, HealthState
from portal.health.models import HealthCheck, HealthDay
from provisioning.health import worst_state

@cache
def _environment_select() -> str:
    """Every column of an environment, by name: written once a process (#11: the ORM took longer to build this
    SELECT than PostgreSQL to answer it)."""
    columns = ", ".join(core_sql.column(Environment, f.name) for f in Environment._meta.concrete_fields)
    return f"SELECT {columns} FROM {core_sql.table(Environment)} WHERE {core_sql.column(Environment, 'name')} = %s"


def environment_named(*, name: str) -> Environment | None:
    """The environment called `name` as Environment.objects.get(name=name) gives it (every field, converted as the
    ORM converts it), or None."""
    fields = Environment._meta.concrete_fields
    rows = core_sql.fetch(_environment_select(), [name], fields)
    return Environment.from_db(connection.alias, [f.attname for f in fields], rows[0]) if rows else None


# What the board shows of a check (not its raw details) and of its agent.
BOARD_FIELDS = ("kind", "target", "label", "agent", "state", "summary", "checked_at", "state_since", "last_known_state",
                "last_known_summary", "last_known_at", "alert_status", "alert_changed_at")
_BOARD_ATTRIBUTES = ("id", *(HealthCheck._meta.get_field(name).attname for name in BOARD_FIELDS))


class BoardCheck(namedtuple("BoardCheck", _BOARD_ATTRIBUTES)):
    """A check as the board shows it: HealthCheck's columns of BOARD_FIELDS (the agent as agent_id) and its
    properties the board reads (the same functions), read from a cursor into a tuple (issue #11: cheaper than
    a model instance, some fifty a page)."""

    __slots__ = ()
    css = HealthCheck.css
    last_known_css = HealthCheck.last_known_css
    is_stale = HealthCheck.is_stale
    is_stale_at = HealthCheck.is_stale_at

    @property
    def pk(self) -> int:
        return self.id


@dataclass
class AgentRow:
    slug: str                                # the target of its checks
    agent_id: int | None = None              # None: the agent is gone (its checks stay until they retire)
    url: str | None = None                   # the agent's page
    team: str | None = None                  # the agent's owner team's name
    workload: BoardCheck | None = None
    http: BoardCheck | None = None
    uptime: float | None = None              # percent of results green in the last 7 days

    @property
    def state(self) -> str:
        return worst_state(c.state for c in (self.workload, self.http) if c is not None)


@dataclass
class Board:
    environment: Environment
    pools: list[BoardCheck] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)     # one page of agents, the least green first
    resources: list[BoardCheck] = field(default_factory=list)
    http_probed: bool = False
    checked_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)     # every active check by state, not only this page
    page: Page | None = None                                 # the page of agents shown

    @property
    def checks(self) -> list[BoardCheck]:
        rows = [c for row in self.agents for c in (row.workload, row.http) if c is not None]
        return self.pools + rows + self.resources

    @property
    def state(self) -> str | None:
        return worst_state(state for state, n in self.counts.items() if n) if any(self.counts.values()) else None


# Worst first: the board leads with what is not green. An agent ranks by its worst check.
RANKED_STATES = (HealthState.RED, HealthState.AMBER, HealthState.UNKNOWN, HealthState.GREEN)
SHARED_KINDS = sorted(set(CheckKind.values) - AGENT_KINDS)       # node pools and shared resources


# The board's counts and its page of agents, in SQL written out (issue #11): built through the ORM, the dozen
# subqueries took longer to compile than to run. The agent checks are models.AGENT_CHECKS, the condition of
# the healthcheck_agent_* indexes; only the code's own constants are spelled into the SQL, never input.
_CHECKS = HealthCheck._meta.db_table


def _quoted(values) -> str:
    return ", ".join(f"'{value}'" for value in values)


_AGENT_KINDS = _quoted(sorted(AGENT_KINDS))


def _worst_is(state: str) -> str:
    """The targets whose worst check is `state` (SQL; one parameter, the environment's id): a check in that
    state and none in a worse one. Read in target order from the (environment, state, target) index, so a
    slice of them costs its own rows."""
    sql = (f"SELECT DISTINCT c.target FROM {_CHECKS} c WHERE c.environment_id = %s AND c.active"
           f" AND c.kind IN ({_AGENT_KINDS}) AND c.state = '{state}'")
    if worse := RANKED_STATES[:RANKED_STATES.index(state)]:
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {_CHECKS} w WHERE w.environment_id = c.environment_id AND w.active"
                f" AND w.kind IN ({_AGENT_KINDS}) AND w.target = c.target"
                f" AND w.state IN ({_quoted(worse)}))")
    return sql


def _board_summary(environment: Environment) -> dict:
    """The active checks by state (and how many are pools and resources), when one last ran, whether any HTTP probe
    runs, and how many agents there are by their worst state: `agents` and `at_worst_<state>`, those with a check
    red, red or amber, not green (an agent's worst state is the first of these it is in). One query of index
    ranges read alone, no anti-joins (they cost as much to plan as to run): every active check counted once, the
    agent checks not green once, state by state (their index range), the few pools and resources once. Without
    HTTP probes (the sandbox cloud, or no URL template) an agent has one check, so agents are counted as checks;
    where probes run, one query more counts them grouped by target. Written out and read from a cursor: the
    ORM took longer to compile these than PostgreSQL to run them."""
    checks = f"FROM {_CHECKS} WHERE environment_id = %s AND active"
    agent_checks = f"{checks} AND kind IN ({_AGENT_KINDS})"
    not_green = RANKED_STATES[:-1]

    def by_state(states=not_green) -> str:
        return ", ".join(f"SUM(CASE WHEN state = '{state}' THEN 1 ELSE 0 END) AS {state}" for state in states)

    # Every active check, green ones included: counted under the pager's rule (exact up to EXACT_COUNT, a longer
    # total kept LONG_COUNT_SECONDS: reading 10,000 index entries took half the statement's time, #11). The checks
    # not green are counted live.
    total_key = f"health-board-checks:{environment.pk}"
    kept = kept_total(total_key)
    sql = (f"SELECT {'%s' if kept is not None else f'(SELECT COUNT(*) {checks})'},"
           f" (SELECT checked_at {checks} AND checked_at IS NOT NULL ORDER BY checked_at DESC LIMIT 1),"
           f" EXISTS (SELECT 1 {checks} AND kind = '{CheckKind.HTTP.value}'), s.total,"
           f" {', '.join(f'a.{state}, s.{state}' for state in not_green)}"
           f" FROM (SELECT {by_state()} {agent_checks} AND state IN ({_quoted(not_green)})) AS a,"
           f" (SELECT COUNT(*) AS total, {by_state()} {checks} AND kind IN ({_quoted(SHARED_KINDS)})) AS s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [kept if kept is not None else environment.pk] + [environment.pk] * 4)
        total, checked_at, http_probed, shared, *counts = cursor.fetchone()
    if kept is None:
        keep_total(total_key, total)
    summary = {"total": total, "shared": shared, "agents": total - shared, "http_probed": bool(http_probed),
               "checked_at": _converted(checked_at, HealthCheck._meta.get_field("checked_at"))}
    at_worst = 0
    for state, agent_count, shared_count in zip(not_green, counts[::2], counts[1::2]):
        summary[state] = (agent_count or 0) + (shared_count or 0)          # SUM of no rows is NULL
        summary[f"at_worst_{state}"] = at_worst = at_worst + (agent_count or 0)
    # A kept total may be a few seconds behind checks added or retired since: never fewer than those counted live.
    summary["agents"] = max(summary["agents"], at_worst)
    summary["total"] = summary["agents"] + shared
    if summary["http_probed"]:   # GROUP BY: the (environment, [state,] target) index read in order, no sort
        def agents(where=""):
            return f"(SELECT COUNT(*) FROM (SELECT target {agent_checks}{where} GROUP BY target) AS agents)"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {agents()}, " + ", ".join(
                agents(f" AND state IN ({_quoted(RANKED_STATES[:RANKED_STATES.index(state) + 1])})")
                for state in not_green), [environment.pk] * 4)
            summary["agents"], *at_worst_counts = cursor.fetchone()
        summary.update({f"at_worst_{state}": n for state, n in zip(not_green, at_worst_counts)})
    return summary


def _converted(value, field):
    """A column's value read from a cursor as the ORM would give it for `field` (SQLite: a date-time as text)."""
    expression = Value(None, output_field=field)
    for converter in connection.ops.get_db_converters(expression) + field.get_db_converters(connection):
        value = converter(value, expression, connection)
    return value


def _page_targets(environment: Environment, ranked: dict[str, int], positions: range) -> tuple[str, list] | None:
    """The targets at `positions` of the agents ranked worst state first, then by target: the slices of
    each state's targets (`ranked`: how many there are of each) that the page overlaps, as one subquery."""
    parts, params, start = [], [], 0
    for state in RANKED_STATES:
        low, high = max(positions.start, start), min(positions.stop, start + ranked[state])
        if low < high:
            parts.append(f"SELECT target FROM ({_worst_is(state)} ORDER BY c.target LIMIT %s OFFSET %s) AS worst_{state}")
            params += [environment.pk, high - low, low - start]
        start += ranked[state]
    return (" UNION ALL ".join(parts), params) if parts else None


_BOARD_COLUMNS = ", ".join(f"c.{HealthCheck._meta.get_field(name).column}" for name in ("id", *BOARD_FIELDS))


def _uptime_sql(agents: str) -> str:
    """Per agent of `agents` (SQL of agent ids): its check results and those green over the days from a date on
    (parameters: the environment's id, the first day, those of `agents`), from the daily rollup of its workload
    and HTTP checks here, those since retired too."""
    return (f"SELECT k.agent_id, SUM(d.total) AS total, SUM(d.green) AS green FROM {HealthDay._meta.db_table} d"
            f" JOIN {_CHECKS} k ON k.id = d.health_check_id WHERE k.environment_id = %s AND k.kind IN ({_AGENT_KINDS})"
            f" AND d.day >= %s AND k.agent_id IN ({agents}) GROUP BY k.agent_id")


def _since(now) -> str:
    """The first day of the uptime window (today included), as the rollup's days are written."""
    return (timezone.localdate(now or timezone.now()) - UPTIME_WINDOW).isoformat()


_BOARD_TIMES = [(i, HealthCheck._meta.get_field(name)) for i, name in enumerate(("id", *BOARD_FIELDS))
                if HealthCheck._meta.get_field(name).get_internal_type() == "DateTimeField"]


def _uptime_of(agent: str) -> str:
    """SQL of the percent of one agent's check results that were green (`agent`: SQL of its id) over the days from a
    date on (parameters: the environment's id, the first day), from the daily rollup of its workload and HTTP checks
    here, those since retired too; NULL without results. A double as Python's 100.0 * green / total makes it (the
    same IEEE operations), on PostgreSQL and SQLite alike."""
    return (f"SELECT CAST(100 AS DOUBLE PRECISION) * SUM(d.green) / NULLIF(SUM(d.total), 0)"
            f" FROM {_CHECKS} k JOIN {HealthDay._meta.db_table} d ON d.health_check_id = k.id"
            f" WHERE k.agent_id = {agent} AND k.environment_id = %s AND k.kind IN ({_AGENT_KINDS}) AND d.day >= %s")


def _board_checks(environment: Environment, targets: tuple[str, list] | None, now=None) -> list[tuple]:
    """One query: the environment's node pools and shared resources (by kind, then label), then the checks of a
    page of agents (`targets`: the subquery of their targets; by target, then kind), each with its agent's slug,
    owner team's name and 7-day uptime, as `part` 0 and 1. Rows of a cursor: a BoardCheck's columns, then
    agent_slug, team_name, uptime, part. The page's targets are joined once and each agent's uptime read by its
    own subquery (its checks by agent, their days by check): PostgreSQL plans this in half the time it took for
    the page's targets written twice, once for the checks and once for their agents' uptime, and runs it faster;
    the slug and the team are scalar subqueries too (joined, they took 0.16 ms more to plan, at 10,000 agents)."""
    sql = (f"SELECT {_BOARD_COLUMNS}, NULL AS agent_slug, NULL AS team_name, NULL AS uptime, 0 AS part,"
           f" c.kind AS key1, c.label AS key2 FROM {_CHECKS} c"
           f" WHERE c.environment_id = %s AND c.active AND c.kind IN ({_quoted(SHARED_KINDS)})")
    params = [environment.pk]
    if targets is not None:
        agents, teams = Agent._meta.db_table, Team._meta.db_table
        sql += (f" UNION ALL SELECT {_BOARD_COLUMNS}, (SELECT a.slug FROM {agents} a WHERE a.id = c.agent_id),"
                f" (SELECT t.name FROM {agents} a JOIN {teams} t ON t.id = a.owner_team_id WHERE a.id = c.agent_id),"
                f" ({_uptime_of('c.agent_id')}), 1, c.target, c.kind"
                f" FROM ({targets[0]}) AS p JOIN {_CHECKS} c ON c.target = p.target AND c.environment_id = %s"
                f" AND c.active AND c.kind IN ({_AGENT_KINDS})")
        params += [environment.pk, _since(now), *targets[1], environment.pk]
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY part, key1, key2", params)
        rows = cursor.fetchall()
    if converted := [(i, field) for i, field in _BOARD_TIMES
                     if connection.ops.get_db_converters(Value(None, output_field=field))]:   # SQLite's text
        rows = [list(row) for row in rows]
        for row in rows:
            for i, field in converted:
                row[i] = _converted(row[i], field)
    return rows


def health_board(*, environment: Environment, now=None, page: int | str | None = None,
                 per_page: int | None = None) -> Board:
    """The status board of one environment: counts of every active check by state, node pools and shared
    resources, and one page of agents, those not green first, each with its 7-day uptime. Two queries (three where
    HTTP probes run) however many agents there are, each reading index ranges no longer than what it shows or
    counts: the counts (_board_summary), then the checks of the pools, the resources and the page's agents.
    Read at most once every PORTAL_SUMMARY_SECONDS per web process and page (#11: at 10,000 agents the board's two
    statements and its rows were most of its time; the checks run every minute or two, and each viewer's board
    polls every 30 s). What the page words from the time (ages, "stale") is worded when it is rendered."""
    seconds = settings.PORTAL_SUMMARY_SECONDS
    if seconds <= 0 or now is not None or per_page is not None or not str(page or 1).isdigit() or len(str(page)) > 6:
        return _health_board(environment=environment, now=now, page=page, per_page=per_page)
    key = f"health-board:{environment.pk}:{timezone.localdate()}:{int(page or 1)}"
    board = shared_cache.get_or_set(key, lambda: _health_board(environment=environment, page=page), seconds)
    board.environment = environment
    return board


def _health_board(*, environment: Environment, now=None, page: int | str | None = None,
                  per_page: int | None = None) -> Board:
    board = Board(environment=environment)
    summary = _board_summary(environment)
    red, amber, unknown = (summary[state] for state in RANKED_STATES[:-1])
    board.counts = {HealthState.GREEN.value: summary["total"] - red - amber - unknown,
                    HealthState.AMBER.value: amber, HealthState.RED.value: red, HealthState.UNKNOWN.value: unknown}
    board.http_probed, board.checked_at = summary["http_probed"], summary["checked_at"]
    # Agents by their worst state: those at worst red, amber or unknown, less those at worst the state before.
    at_worst = [0] + [summary[f"at_worst_{state}"] for state in RANKED_STATES[:-1]] + [summary["agents"]]
    ranked = {state: at_worst[i + 1] - at_worst[i] for i, state in enumerate(RANKED_STATES)}

    board.page = Paginator(range(summary["agents"]), per_page or settings.PORTAL_PAGE_SIZE).get_page(page)
    rows: dict[str, AgentRow] = {}
    agent_url = Agent.url_maker()  # one reverse() a page
    # Agents in the database's order of targets; below, stably, worst first (an agent ranks as its worst check).
    columns = len(_BOARD_ATTRIBUTES)
    for values in _board_checks(environment, _page_targets(environment, ranked, board.page.object_list), now):
        check = BoardCheck._make(values[:columns])
        agent_slug, team_name, uptime, part = values[columns:columns + 4]
        if not part:
            (board.pools if check.kind == CheckKind.NODE_POOL else board.resources).append(check)
            continue
        row = rows.setdefault(check.target, AgentRow(check.target))
        if check.agent_id is not None:
            row.agent_id, row.url, row.team = check.agent_id, agent_url(agent_slug), team_name
            row.uptime = uptime
        setattr(row, "workload" if check.kind == CheckKind.WORKLOAD else "http", check)
    board.agents = sorted(rows.values(), key=lambda row: RANKED_STATES.index(row.state))
    return board


def agent_uptime(*, environment: Environment, now=None, agent_ids=None) -> dict[int, float]:
    """Per agent (all, or those of `agent_ids`): the share of its check results (workload and HTTP, those of
    checks since retired too) that were green in the last 7 days (whole days, today included), read from the
    daily rollup. The board reads the same, with its page of agents."""
    if agent_ids is not None and not agent_ids:
        return {}
    agents = (f"SELECT agent_id FROM {_CHECKS} WHERE agent_id IS NOT NULL" if agent_ids is None
              else ", ".join(["%s"] * len(agent_ids)))
    with connection.cursor() as cursor:
        cursor.execute(_uptime_sql(agents), [environment.pk, _since(now), *(agent_ids or [])])
        return {agent: 100.0 * green / total for agent, total, green in cursor.fetchall() if total}

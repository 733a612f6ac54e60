"""Showback: what each agent costs, and each team through its agents.

The rule (shown on the page too):

1. Direct: every cost row tagged `agent=<slug>` in the environment: its pods' part of the agents node
   pool where the cluster tags it, its warm-memory Cosmos DB container, its cold-memory blob container,
   its own AI Search and OpenAI resources.
2. Shared: the untagged cost of the services the agents run on (SHARED_SERVICES: the AKS cluster, Cosmos
   DB, Redis and Storage) is split over the agents running in the environment in proportion to their
   replicas: agent's share = untagged cost x agent's replicas / all running agents' replicas there.
   An agent runs where its placement is Running or Degraded.
3. The rest (API Management, Container Registry, Key Vault, networking, monitoring, ...) is platform
   cost no agent is charged; it is listed as such, so the page adds up to the environment's total.

Issue #11: one SQL statement works the rule out (ShowbackSQL: the month's tagged cost per agent, CostAgentMonth,
full-joined to the running placements), but at 10,000 agents it takes a few hundred milliseconds. So the page and
its CSVs read the month's stored showback instead: ShowbackRow (an agent in an environment), ShowbackEnvironment and
ShowbackTeam, which showback_build fills from that statement with INSERT ... SELECT. They store ids only; team and
environment names are joined as they are read, so a rename shows at once.

Before reading, one query checks the stored month (showback_snapshot); it is rebuilt first when
- there is none, or it was built over other environments than those read;
- a placement or an agent changed at or after it was built (their MAX(updated_at), read from an index);
- the month's cost changed since (ShowbackMonth.cost_writes, counted by the ingest in the transaction that writes
  the cost: exact, no clock compared);
- it is PORTAL_SHOWBACK_MAX_AGE seconds old: the backstop for what no updated_at records (QuerySet.update(), a
  deletion) and for a change committed while a build was reading.
The ingest rebuilds the months it stored that are stale (showback_refresh), so the page after it does not wait.
Each web process keeps a page's read of the stored showback (_kept_read) under the build it read, the teams' last
change and the environments' names, so a second view runs only the check.
"""
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape

from django import forms
from django.conf import settings
from django.core.cache import cache as shared_cache
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.safestring import SafeString

from portal.catalog.models import Agent, Environment, Placement, Team
from portal.core import sql
from portal.core.links import url_maker
from portal.costs.backends import RUNNING_PLACEMENTS
from portal.costs.models import (
    CostAgentMonth,
    CostMonthService,
    ShowbackEnvironment,
    ShowbackMonth,
    ShowbackRow,
    ShowbackTeam,
)
from portal.costs.selectors import TOP_AGENTS, ZERO, Period, Rest, cost_environments

SHARED_SERVICES = ("Azure Kubernetes Service", "Azure Cosmos DB", "Redis Cache", "Storage")
CENT = Decimal("0.01")
NO_TEAM = "(no team: tag names no agent)"
TOP_TEAMS = 20   # teams on the page: the largest, then the rest summed (the CSV has every team)


@dataclass
class AgentShowback:
    environment: str
    slug: str
    replicas: int
    direct: Decimal
    shared: Decimal
    team: str = NO_TEAM               # the owner team's name; NO_TEAM when the tag names no catalog agent
    url: str | None = None            # the catalog agent's page (None: the tag names no agent)

    @property
    def total(self) -> Decimal:
        return self.direct + self.shared


@dataclass
class TeamShowback:
    team: str
    amounts: list[Decimal]           # per environment, in Showback.environments' order
    agents: int

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


@dataclass
class TeamsRest:
    """The teams after the largest TOP_TEAMS, summed."""

    count: int
    agents: int
    amounts: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


@dataclass
class EnvironmentShowback:
    environment: Environment
    total: Decimal
    direct: Decimal
    shared_pool: Decimal             # untagged cost of SHARED_SERVICES
    replicas: int

    @property
    def attributed(self) -> Decimal:
        return self.direct + (self.shared_pool if self.replicas else ZERO)

    @property
    def unattributed(self) -> Decimal:
        return self.total - self.attributed


@dataclass
class Showback:
    period: Period
    environments: list[EnvironmentShowback]
    agents: list[AgentShowback]      # one page of agents, the largest first
    teams: list[TeamShowback] = field(default_factory=list)   # the largest TOP_TEAMS
    shared_services: tuple[str, ...] = SHARED_SERVICES
    page: Page | None = None
    rest: Rest | None = None         # the agents after this page, summed
    teams_rest: TeamsRest | None = None
    computed_at: datetime | None = None   # when the stored showback read was built

    @property
    def columns(self) -> list[str]:
        return [e.environment.name for e in self.environments]

    @property
    def agents_top(self) -> list[AgentShowback]:
        return self.agents

    @property
    def agents_rest(self) -> Rest | None:
        return self.rest


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(CENT)


def _cents(value) -> Decimal:
    """An amount the statement gives in whole cents, in dollars."""
    return ZERO.quantize(CENT) if value is None else Decimal(int(value)).scaleb(-2)


class ShowbackSQL:
    """The rule in SQL: the showback of a month over the environments `ids`. Its common table expressions: `svc`,
    each environment's month by kind of cost (CostMonthService); `r`, the running placements; `rt`, their replicas
    per environment; `sh`, the share of the shared pool of an agent with so many replicas there; and `k`, one row
    per (environment, agent tag) with a cost or a running placement: environment_id, agent, replicas, direct and
    shared (in cents) and team_id, as showback_build stores it."""

    def __init__(self, month: date, ids: list[int]):
        self.ids = [int(pk) for pk in ids] or [0]
        self.month = month

    def with_(self) -> tuple[str, list]:
        ids = ", ".join(map(str, self.ids))
        statement = f"""
            WITH svc AS (SELECT environment_id, SUM(cost) AS total, SUM(CASE WHEN tagged THEN cost ELSE 0 END) AS direct,
                                SUM(CASE WHEN tagged THEN 0 WHEN service IN ({sql.placeholders(SHARED_SERVICES)})
                                         THEN cost ELSE 0 END) AS pool
                         FROM {sql.table(CostMonthService)} WHERE month = %s AND environment_id IN ({ids})
                         GROUP BY environment_id),
                 r AS (SELECT p.environment_id, a.slug AS agent, p.replicas
                       FROM {sql.table(Placement)} p JOIN {sql.table(Agent)} a ON a.id = p.agent_id
                       WHERE p.status IN ({sql.placeholders(RUNNING_PLACEMENTS)}) AND p.environment_id IN ({ids})),
                 rt AS (SELECT environment_id, SUM(replicas) AS replicas FROM r GROUP BY environment_id),
                 sh AS (SELECT v.environment_id, v.replicas,
                               CAST(ROUND(ROUND(svc.pool * 1.0 * v.replicas / rt.replicas, 2) * 100) AS BIGINT) AS shared
                        FROM (SELECT DISTINCT environment_id, replicas FROM r) v
                        JOIN rt ON rt.environment_id = v.environment_id
                        JOIN svc ON svc.environment_id = v.environment_id WHERE rt.replicas > 0),
                 d AS (SELECT environment_id, agent, CAST(ROUND(ROUND(cost, 2) * 100) AS BIGINT) AS direct
                       FROM {sql.table(CostAgentMonth)}
                       WHERE month = %s AND environment_id IN ({ids})),
                 k AS (SELECT j.environment_id, j.agent, j.replicas, j.direct, j.shared, ag.owner_team_id AS team_id
                       FROM (SELECT COALESCE(d.environment_id, r.environment_id) AS environment_id,
                                    COALESCE(d.agent, r.agent) AS agent, COALESCE(r.replicas, 0) AS replicas,
                                    COALESCE(d.direct, 0) AS direct, COALESCE(sh.shared, 0) AS shared
                             FROM d FULL JOIN r ON r.environment_id = d.environment_id AND r.agent = d.agent
                             LEFT JOIN sh ON sh.environment_id = r.environment_id AND sh.replicas = r.replicas) j
                       LEFT JOIN {sql.table(Agent)} ag ON ag.slug = j.agent)"""
        return statement, [*SHARED_SERVICES, self.month, *RUNNING_PLACEMENTS, self.month]


# --- The stored showback: its state, its build -----------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotState:
    """A month's ShowbackMonth row, with the latest change of a placement or an agent (`changed_at`) and of a team
    (`teams_at`: their names are joined as the stored rows are read)."""

    built_at: datetime | None
    environments: list[int]
    cost_writes: int
    built_cost_writes: int
    changed_at: datetime | None = None
    teams_at: datetime | None = None

    def stale(self, ids: Iterable[int], *, now: datetime) -> bool:
        """Whether to rebuild before reading `ids` (every environment, or one). Compared "at or after": under a
        pinned clock a change and a build can carry the same time, and then the build may not hold the change."""
        if self.built_at is None:
            return True
        ids, built_over = set(ids), set(self.environments)
        if not ids <= built_over or (len(ids) > 1 and ids != built_over):
            return True
        return (self.cost_writes != self.built_cost_writes
                or (self.changed_at is not None and self.changed_at >= self.built_at)
                or now - self.built_at >= timedelta(seconds=settings.PORTAL_SHOWBACK_MAX_AGE))


_STATE_FIELDS = [ShowbackMonth._meta.get_field(name)
                 for name in ("built_at", "environments", "cost_writes", "built_cost_writes")]


def _state(month: date) -> SnapshotState | None:
    """The month's state and what changed last: one query (the MAX of each updated_at is read from its index; the
    teams are a few rows)."""
    statement = (f"SELECT s.built_at, s.environments, s.cost_writes, s.built_cost_writes, "
                 f"(SELECT MAX({sql.column(Placement, 'updated_at')}) FROM {sql.table(Placement)}), "
                 f"(SELECT MAX({sql.column(Agent, 'updated_at')}) FROM {sql.table(Agent)}), "
                 f"(SELECT MAX({sql.column(Team, 'updated_at')}) FROM {sql.table(Team)}) "
                 f"FROM {sql.table(ShowbackMonth)} s WHERE s.month = %s")
    fields = [*_STATE_FIELDS, *(model._meta.get_field("updated_at") for model in (Placement, Agent, Team))]
    for built_at, environments, writes, built_writes, placements_at, agents_at, teams_at in sql.fetch(
            statement, [month], fields):
        return SnapshotState(built_at, environments, writes, built_writes,
                             max(filter(None, (placements_at, agents_at)), default=None), teams_at)
    return None


def showback_snapshot(*, month: date, ids: Iterable[int]) -> SnapshotState:
    """The state of the month's stored showback, fit to read the environments `ids` (every one, or one): rebuilt
    first when it is stale. One query when it is not."""
    ids = list(ids)
    state = _state(month)
    if state is not None and not state.stale(ids, now=timezone.now()):
        return state
    built = showback_build(month=month, ids=ids, seen=state)
    return replace(built, teams_at=state.teams_at) if state is not None else built


def showback_build(*, month: date, ids: Iterable[int] = (), seen: SnapshotState | None = None) -> SnapshotState:
    """Store the month's showback over every environment: for each of ShowbackRow, ShowbackEnvironment and ShowbackTeam
    one DELETE and one INSERT ... SELECT, from ShowbackSQL (the environments' and the teams' rows from the agents'
    rows just stored), then ANALYZE of the three, in one transaction. It first locks the month's ShowbackMonth row, with an upsert that returns
    its latest values: of 20 viewers finding the month stale at once, one builds, and the others wait for it, find
    it fresh against what they checked (`seen`, for `ids`) and build nothing. The cost writes it holds are those
    counted when it took the lock: an ingest counts its write under the same row lock, after its rows."""
    months = sql.table(ShowbackMonth)
    lock = (f"INSERT INTO {months} (month, environments, cost_writes, built_cost_writes) VALUES (%s, '[]', 0, 0) "
            f"ON CONFLICT (month) DO UPDATE SET month = excluded.month "
            f"RETURNING built_at, environments, cost_writes, built_cost_writes")
    with transaction.atomic():
        [locked] = sql.fetch(lock, [month], _STATE_FIELDS)
        current = SnapshotState(*locked, changed_at=seen.changed_at if seen else None)
        if seen is not None and not current.stale(ids, now=timezone.now()):
            return current
        environments = [int(e.pk) for e in cost_environments()]
        built_at = timezone.now()
        live, params = ShowbackSQL(month, environments).with_()
        rows, envs, teams = (sql.table(m) for m in (ShowbackRow, ShowbackEnvironment, ShowbackTeam))
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {rows} WHERE month = %s", [month])
            cursor.execute(f"INSERT INTO {rows} (month, environment_id, agent, team_id, replicas, direct_cents, "
                           f"shared_cents, total_cents) {live} "
                           f"SELECT %s, environment_id, agent, team_id, replicas, direct, shared, direct + shared FROM k",
                           [*params, month])
            cursor.execute(f"DELETE FROM {envs} WHERE month = %s", [month])
            cursor.execute(f"INSERT INTO {envs} (month, environment_id, total, direct, pool, replicas, rows, sum_cents) "
                           f"{live} SELECT %s, COALESCE(svc.environment_id, s.environment_id), svc.total, svc.direct, "
                           f"svc.pool, COALESCE(s.replicas, 0), COALESCE(s.n, 0), COALESCE(s.total, 0) FROM svc "
                           f"FULL JOIN (SELECT environment_id, SUM(replicas) AS replicas, COUNT(*) AS n, "
                           f"SUM(total_cents) AS total FROM {rows} WHERE month = %s GROUP BY environment_id) s "
                           f"ON s.environment_id = svc.environment_id", [*params, month, month])
            cursor.execute(f"DELETE FROM {teams} WHERE month = %s", [month])
            # A team in each environment, and in all of them, where an agent running in several counts once.
            # (Agents counted by grouping twice: hashed, where COUNT(DISTINCT agent) sorts every row by its tag.)
            cursor.execute(f"INSERT INTO {teams} (month, environment_id, team_id, agents, total_cents) "
                           f"SELECT month, environment_id, team_id, COUNT(*), SUM(total_cents) FROM {rows} "
                           f"WHERE month = %s GROUP BY month, environment_id, team_id "
                           f"UNION ALL SELECT month, NULL, team_id, COUNT(*), SUM(total) FROM (SELECT month, team_id, "
                           f"agent, SUM(total_cents) AS total FROM {rows} WHERE month = %s GROUP BY month, team_id, agent) a "
                           f"GROUP BY month, team_id", [month, month])
            if connection.vendor == "postgresql":
                # The tables were rewritten: their statistics now, not when autovacuum gets to them (it may be off,
                # as on the bench). Planned with the statistics of an emptier table, the page's read sorted every
                # row of the month (a bitmap scan) instead of reading its first rows from the index: ~2 ms a view.
                cursor.execute(f"ANALYZE {rows}, {envs}, {teams}")
        ShowbackMonth.objects.filter(month=month).update(built_at=built_at, environments=environments,
                                                         built_cost_writes=current.cost_writes)
    return SnapshotState(built_at, environments, current.cost_writes, current.cost_writes)


def showback_costs_changed(*, month: date) -> None:
    """Count a change of the month's cost (ShowbackMonth.cost_writes), so its stored showback is rebuilt: called by
    the ingest in the transaction that changes the cost, after the cost rows. The upsert waits for a build holding
    the row, so a build either sees this transaction's rows or is counted stale by it."""
    months = sql.table(ShowbackMonth)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {months} (month, environments, cost_writes, built_cost_writes) "
                       f"VALUES (%s, '[]', 1, 0) ON CONFLICT (month) DO UPDATE SET cost_writes = {months}.cost_writes + 1",
                       [month])


def showback_refresh(*, months: Iterable[date], current: date) -> None:
    """After an ingest: rebuild the stored showback of those of `months` that are stale and that a page has read
    (others are built when one does), and of the `current` month, so the first viewer after the ingest does not
    wait for it."""
    for month in sorted({*months, current}):
        state = _state(month)
        if month != current and (state is None or state.built_at is None):
            continue
        if state is None or state.stale(state.environments, now=timezone.now()):
            showback_build(month=month, ids=state.environments if state else (), seen=state)


# --- Reading it -------------------------------------------------------------------------------------------------

class StoredShowback:
    """Reads of a month's stored showback over `environments` (every one it was built over, or one). Its common table
    expressions: `kt`, the agent rows there with their total and their environment's name (for the order); `tt`, one
    row per team name (NULL: the tags that name no agent) with its agents, its cost in each environment (c0, c1,
    ...) and its total."""

    ORDER = "total DESC, env_name, agent"

    def __init__(self, month: date, environments: list[Environment]):
        self.environments = environments
        self.ids = [int(e.pk) for e in environments] or [0]
        self.month = month

    def with_(self) -> tuple[str, list]:
        ids = ", ".join(map(str, self.ids))
        names = " ".join(f"WHEN {int(e.pk)} THEN %s" for e in self.environments) or "WHEN 0 THEN ''"
        # A team's agents are counted in its row of the one environment read, or of all of them (environment NULL),
        # where an agent running in several counts once.
        scope = f"t.environment_id = {self.ids[0]}" if len(self.ids) == 1 else "t.environment_id IS NULL"
        # Every environment: all the month's rows (_stored made sure). Not "IN (...)": an index read with a list on
        # a column after the first does not come out in the index's order (PostgreSQL before 17), and is sorted.
        rows_of = f"AND environment_id = {self.ids[0]}" if len(self.ids) == 1 else ""
        per_environment = "".join(f", SUM(CASE WHEN t.environment_id = {pk} THEN t.total_cents ELSE 0 END) AS c{i}"
                                  for i, pk in enumerate(self.ids))
        statement = f"""
            WITH kt AS NOT MATERIALIZED (
                     SELECT environment_id, agent, team_id, replicas, direct_cents AS direct, shared_cents AS shared,
                            total_cents AS total, CASE environment_id {names} ELSE '' END AS env_name
                     FROM {sql.table(ShowbackRow)} WHERE month = %s {rows_of}),
                 tt AS (SELECT tm.name AS team, SUM(CASE WHEN {scope} THEN t.agents ELSE 0 END) AS agents{per_environment},
                               SUM(CASE WHEN t.environment_id IN ({ids}) THEN t.total_cents ELSE 0 END) AS total
                        FROM {sql.table(ShowbackTeam)} t LEFT JOIN {sql.table(Team)} tm ON tm.id = t.team_id
                        WHERE t.month = %s AND ({scope} OR t.environment_id IN ({ids})) GROUP BY tm.name)"""
        return statement, [*[e.name for e in self.environments], self.month, self.month]

    def team_name(self, alias: str) -> str:
        return f"(SELECT tm.name FROM {sql.table(Team)} tm WHERE tm.id = {alias}.team_id)"


def _stored(period: Period, environments: list[Environment]) -> tuple[StoredShowback, SnapshotState]:
    """The month's stored showback over `environments`, rebuilt first when stale, and its state."""
    state = showback_snapshot(month=period.month, ids=[e.pk for e in environments])
    if len(environments) > 1 and {e.pk for e in environments} != set(state.environments):
        raise ValueError("The stored showback is read for every environment or for one.")
    return StoredShowback(period.month, environments), state


# The page's statement returns rows of these kinds, in columns kind, environment_id, name, n, a, b, c, label and
# the teams' c0, c1, ...
ENVIRONMENT, AGENT, TOTALS, BEFORE, TEAM, TEAMS = range(6)


def _page_statement(rows: StoredShowback, *, limit: int, offset: int) -> tuple[str, list]:
    statement, params = rows.with_()
    cs = [f"c{i}" for i in range(len(rows.ids))]
    environments = (f"FROM {sql.table(ShowbackEnvironment)} e "
                    f"WHERE e.month = %s AND e.environment_id IN ({', '.join(map(str, rows.ids))})")

    def part(kind, env="NULL", name="NULL", n="NULL", a="NULL", b="NULL", c="NULL", label="NULL", teams=None):
        typed = [f"CAST({env} AS BIGINT)", f"CAST({name} AS TEXT)", f"CAST({n} AS BIGINT)", f"CAST({a} AS NUMERIC)",
                 f"CAST({b} AS NUMERIC)", f"CAST({c} AS NUMERIC)", f"CAST({label} AS TEXT)",
                 *(f"CAST({t} AS NUMERIC)" for t in (teams or ["NULL"] * len(cs)))]
        return f"SELECT {kind}, {', '.join(typed)}"

    parts = [
        part(ENVIRONMENT, env="e.environment_id", n="e.replicas", a="e.total", b="e.direct", c="e.pool")
        + f" {environments}",
        # The page's rows are among those whose total is at least the last one's: an index range, sorted (the
        # index orders by total, not by environment name, and a planner guessing the rows may sort them all).
        part(AGENT, env="p.environment_id", name="p.agent", n="p.replicas", a="p.direct", b="p.shared",
             c="p.total", label=rows.team_name("p"))
        # The last one's: the least of the first offset + limit totals (of them all when there are fewer).
        + " FROM (SELECT * FROM kt WHERE total >= (SELECT MIN(total) FROM (SELECT total FROM kt ORDER BY total DESC "
          f"LIMIT %s) b) ORDER BY {rows.ORDER} LIMIT %s OFFSET %s) p",
        part(TOTALS, n="SUM(e.rows)", a="SUM(e.sum_cents)") + f" {environments}",
        part(TEAM, name="t.team", n="t.agents", a="t.total", teams=[f"t.{c}" for c in cs])
        + " FROM (SELECT * FROM tt ORDER BY total DESC, team LIMIT %s) t",
        part(TEAMS, n="COUNT(*)", a="SUM(agents)", teams=[f"SUM({c})" for c in cs]) + " FROM tt",
    ]
    params += [rows.month, offset + limit, limit, offset, rows.month, TOP_TEAMS]
    if offset > 0:
        # The sum of the largest `offset` totals does not depend on the order of equal ones: the index's order serves.
        parts.append(part(BEFORE, a="SUM(total)") + " FROM (SELECT total FROM kt ORDER BY total DESC LIMIT %s) b")
        params.append(offset)
    return f"{statement}\n" + "\nUNION ALL ".join(parts), params


@dataclass
class _Read:
    environments: list[EnvironmentShowback]
    agents: list[AgentShowback]
    count: int
    grand: Decimal
    before: Decimal
    teams: list[TeamShowback]
    teams_rest: TeamsRest | None


def _read(rows: StoredShowback, *, limit: int, offset: int) -> _Read:
    """One page of the showback and everything around it: one statement."""
    environments = rows.environments
    statement, params = _page_statement(rows, limit=limit, offset=offset)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        result = cursor.fetchall()
    by_kind = defaultdict(list)
    for row in result:
        by_kind[row[0]].append(row[1:])
    sums = {int(env): (_money(total), _money(direct), _money(pool), int(replicas or 0))
            for env, _, replicas, total, direct, pool, *_ in by_kind[ENVIRONMENT] if env is not None}
    summaries = [EnvironmentShowback(e, *sums.get(e.pk, (ZERO, ZERO, ZERO, 0))) for e in environments]
    link = Agent.url_maker()
    names = {e.pk: e.name for e in environments}
    agents = [AgentShowback(environment=names.get(int(env), ""), slug=agent, replicas=int(replicas),
                            direct=_cents(direct), shared=_cents(shared), team=team or NO_TEAM,
                            url=link(agent) if team is not None else None)
              for env, agent, replicas, direct, shared, _, team, *_ in by_kind[AGENT]]
    [(_, _, count, grand, *_)] = by_kind[TOTALS]
    before = sum((_cents(a) for _, _, _, a, *_ in by_kind[BEFORE]), ZERO)
    width = len(environments)
    teams = sorted((TeamShowback(team=name or NO_TEAM, agents=int(n), amounts=[_cents(a) for a in amounts[:width]])
                    for _, name, n, _, _, _, _, *amounts in by_kind[TEAM]), key=lambda t: (-t.total, t.team))
    [(_, _, team_count, all_agents, _, _, _, *all_amounts)] = by_kind[TEAMS]
    rest = None
    if (team_count or 0) > len(teams):
        shown = [sum((t.amounts[i] for t in teams), ZERO) for i in range(width)]
        rest = TeamsRest(count=team_count - len(teams), agents=int(all_agents or 0) - sum(t.agents for t in teams),
                         amounts=[_cents(a) - s for a, s in zip(all_amounts[:width], shown)])
    return _Read(environments=summaries, agents=agents, count=int(count or 0), grand=_cents(grand), before=before,
                 teams=teams, teams_rest=rest)


def _kept_read(rows: StoredShowback, state: SnapshotState, *, limit: int, offset: int) -> _Read:
    """_read, kept per web process while the stored showback it read is the one stored (`state.built_at`: every
    rebuild moves it), no team changed (their names are joined as the rows are read) and the environments read are
    named as they were, at most PORTAL_SHOWBACK_MAX_AGE seconds (#11: the page's statement and its rows were half
    its time at 10,000 agents, for a snapshot rebuilt once an hour)."""
    seconds = settings.PORTAL_SHOWBACK_MAX_AGE
    if seconds <= 0 or state.built_at is None:
        return _read(rows, limit=limit, offset=offset)
    version = (rows.month, [(e.pk, e.name) for e in rows.environments], state.built_at, state.teams_at, limit, offset)
    key = "showback-read:" + hashlib.sha256(repr(version).encode()).hexdigest()
    read = shared_cache.get_or_set(key, lambda: _read(rows, limit=limit, offset=offset), seconds)
    live = {e.pk: e for e in rows.environments}          # the environments as read now (their budgets, tiers)
    for summary in read.environments:
        summary.environment = live.get(summary.environment.pk, summary.environment)
    return read


def cost_showback(*, period: Period, environment: str = "", page: int | str | None = None,
                  per_page: int = TOP_AGENTS, environments: list[Environment] | None = None) -> Showback:
    """Each agent's direct and shared cost in each environment for the month, read from the month's stored showback
    (rebuilt first when stale): one page of agents (the largest first), the agents after it summed, the largest
    teams (the rest summed) and the environments, in one statement (two for a page past the last) after the
    freshness check, however many agents there are. `environments`: the environments to show, every one or one
    (all, or the one named `environment`, when not given)."""
    envs = environments if environments is not None else _environments(environment)
    rows, state = _stored(period, envs)
    try:
        number = int(page)  # as Paginator.get_page: not a number, page 1; below 1 or past the last, the last
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page if 0 < number < 2 ** 31 // per_page else 0
    read = _kept_read(rows, state, limit=per_page, offset=offset)
    shown = Paginator(range(read.count), per_page).get_page(number if 0 < number < 2 ** 31 // per_page else -1)
    if shown.start_index() - 1 != offset and read.count:    # asked past the last page (or before the first)
        offset = shown.start_index() - 1
        read = _kept_read(rows, state, limit=per_page, offset=offset)
    upto = read.before + sum((row.total for row in read.agents), ZERO)
    rest_count = read.count - shown.end_index() if read.count else 0
    return Showback(period=period, environments=read.environments, agents=read.agents, teams=read.teams,
                    page=shown, teams_rest=read.teams_rest, computed_at=state.built_at,
                    rest=Rest(count=rest_count, total=read.grand - upto) if rest_count else None)


def _environments(name: str) -> list[Environment]:
    return [e for e in cost_environments() if not name or e.name == name]


def _stream(statement: str, params: list, chunk: int = 2000):
    with connection.chunked_cursor() as cursor:
        cursor.execute(statement, params)
        while batch := cursor.fetchmany(chunk):
            yield from batch


def showback_teams(*, period: Period, environments: list[Environment]) -> list[TeamShowback]:
    """Every team (largest first) with its agents and its cost per environment, for the CSV: from the stored
    showback, one statement after the freshness check."""
    rows, _ = _stored(period, environments)
    statement, params = rows.with_()
    width = len(environments)
    teams = [TeamShowback(team=name or NO_TEAM, agents=int(agents), amounts=[_cents(a) for a in amounts[:width]])
             for name, agents, *amounts in _stream(f"{statement} SELECT * FROM tt", params)]
    return sorted(teams, key=lambda t: (-t.total, t.team))


def showback_agent_rows(*, period: Period, environments: list[Environment] | None = None) -> Iterator[AgentShowback]:
    """Every agent row with its team's name, for the CSV, largest first (in `environments`: every one or one; all
    when not given): from the stored showback, checked fresh now, then one statement streamed as it is read."""
    environments = environments if environments is not None else _environments("")
    rows, _ = _stored(period, environments)
    statement, params = rows.with_()
    select = (f"{statement} SELECT kt.environment_id, kt.agent, kt.replicas, kt.direct, kt.shared, "
              f"{rows.team_name('kt')} FROM kt ORDER BY {rows.ORDER}")
    return _agent_rows(_stream(select, params), {e.pk: e.name for e in environments})


def _agent_rows(rows: Iterable, names: dict[int, str]) -> Iterator[AgentShowback]:
    for env, agent, replicas, direct, shared, team in rows:
        yield AgentShowback(environment=names.get(int(env), ""), slug=agent, replicas=int(replicas),
                            direct=_cents(direct), shared=_cents(shared), team=team or NO_TEAM)


# --- The page's tables, written here (issue #11) ------------------------------------------------------------------
# The rows of the page's three tables are written by these rather than by template loops and filters per cell (the
# page spent more time in them than in its SQL). The markup is byte for byte what the template wrote (tests compare
# them, hostile text included); every text from the database is escaped.

ROW_BREAK = "\n      "   # what the template's loops left after each row


def money_text(value: Decimal | None) -> str:
    """As the `money` filter: $1,234.57, -$12.35, an em dash for None."""
    if value is None:
        return "—"
    amount = (value if type(value) is Decimal else Decimal(str(value))).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{'-' if amount < 0 else ''}${abs(amount):,.2f}"


def _cells(amounts: Iterable[Decimal | None]) -> str:
    return "".join(f'<td class="num">{money_text(a)}</td>' for a in amounts)


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


@dataclass
class ShowbackTables:
    """The bodies of the page's tables (between <tbody> and </tbody>, less the first and last line breaks).
    `csv`: the page's CSV link less its table (path?month=...[&environment=...], not escaped)."""

    showback: Showback
    label: str                      # the month, as the page names it
    month: str                      # the month's parameter
    csv: str

    def _csv_link(self, table: str) -> str:
        return f'<a href="{escape(self.csv)}&amp;format=csv&amp;table={table}">CSV</a>'

    def teams(self) -> SafeString:
        data = self.showback
        html = [f'<tr><th scope="row">{escape(t.team)}</th><td class="num">{t.agents}</td>{_cells(t.amounts)}'
                f'<td class="num">{money_text(t.total)}</td></tr>{ROW_BREAK}' for t in data.teams]
        if not data.teams:
            html.append(f'<tr><td colspan="{len(data.environments) + 3}" class="empty">'
                        f'No agent cost in {escape(self.label)}.</td></tr>')
        if rest := data.teams_rest:
            html.append(f'<tr class="rest" data-testid="teams-rest"><th scope="row">The other {rest.count} '
                        f'team{_plural(rest.count)} (every row in the {self._csv_link("teams")})</th>'
                        f'<td class="num">{rest.agents}</td>{_cells(rest.amounts)}'
                        f'<td class="num">{money_text(rest.total)}</td></tr>')
        return SafeString("".join(html))

    def agents(self) -> SafeString:
        data = self.showback
        if data.agents:
            html = [f'<tr><th scope="row">'
                    f'{f"""<a href="{escape(r.url)}">{escape(r.slug)}</a>""" if r.url else escape(r.slug)}</th>'
                    f'<td>{escape(r.environment)}</td><td>{escape(r.team)}</td><td class="num">{r.replicas}</td>'
                    f'<td class="num">{money_text(r.direct)}</td><td class="num">{money_text(r.shared)}</td>'
                    f'<td class="num">{money_text(r.total)}</td></tr>' for r in data.agents]
            html.append(ROW_BREAK)
        else:
            html = [f'<tr><td colspan="7" class="empty">No agent cost in {escape(self.label)}.</td></tr>']
        html.append(ROW_BREAK)
        if rest := data.rest:
            html.append(f'<tr class="rest" data-testid="agents-rest"><th scope="row" colspan="6">The other '
                        f'{rest.count} agent{_plural(rest.count)} (every row in the {self._csv_link("agents")})</th>'
                        f'<td class="num">{money_text(rest.total)}</td></tr>')
        return SafeString("".join(html))

    def environments(self) -> SafeString:
        month = escape(self.month)
        link = url_maker("costs:environment", converter="slug")    # one reverse() for the table (#11)
        html = []
        for e in self.showback.environments:
            name = e.environment.name
            idle = ' <span class="muted">(no agent runs: not split)</span>' if not e.replicas and e.shared_pool else ""
            html.append(f'<tr><th scope="row"><a href="{escape(link(name))}'
                        f'?month={month}">{escape(name)}</a></th><td class="num">{money_text(e.total)}</td>'
                        f'<td class="num">{money_text(e.direct)}</td><td class="num">{money_text(e.shared_pool)}'
                        f'{idle}</td><td class="num">{e.replicas}</td><td class="num">{money_text(e.unattributed)}'
                        f'</td></tr>')
        return SafeString("".join(html))


class MemoSelect(forms.Select):
    """A Select that renders through Django's widget templates once per process for each name, value, attributes
    and choices, and then gives that HTML again (the page's environment select took ~0.3 ms a view to render the
    same few options). A value that is not among the choices is rendered each time, not kept."""

    _memo: dict[tuple, SafeString] = {}
    MEMO_SIZE = 256

    def render(self, name, value, attrs=None, renderer=None):
        choices = tuple((str(v), str(label)) for v, label in self.choices)
        key = (name, "" if value is None else str(value), tuple(sorted(self.build_attrs(self.attrs, attrs).items())),
               choices, type(renderer))
        if key[1] not in {v for v, _ in choices}:
            return super().render(name, value, attrs, renderer)
        if (html := self._memo.get(key)) is None:
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            html = self._memo[key] = super().render(name, value, attrs, renderer)
        return html


def showback_filters(form: forms.Form) -> forms.Form:
    """The page's filter form, its environment select rendered by MemoSelect."""
    field = form.fields["environment"]
    memo = MemoSelect(attrs=field.widget.attrs)
    memo.choices = field.widget.choices
    field.widget = memo
    return form

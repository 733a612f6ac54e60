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
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import DecimalField, Sum

from portal.catalog.models import Agent, Environment, Placement
from portal.costs.backends import RUNNING_PLACEMENTS
from portal.costs.models import CostAgentMonth, CostMonthService
from portal.costs.selectors import TOP_AGENTS, ZERO, Period, Rest

SHARED_SERVICES = ("Azure Kubernetes Service", "Azure Cosmos DB", "Redis Cache", "Storage")
CENT = Decimal("0.01")
NO_TEAM = "(no team: tag names no agent)"
MONEY = DecimalField(max_digits=18, decimal_places=6)


@dataclass
class AgentShowback:
    environment: str
    slug: str
    agent: Agent | None
    replicas: int
    direct: Decimal
    shared: Decimal

    @property
    def total(self) -> Decimal:
        return self.direct + self.shared

    @property
    def team(self) -> str:
        return self.agent.owner_team.name if self.agent is not None else NO_TEAM


@dataclass
class TeamShowback:
    team: str
    amounts: list[Decimal]           # per environment, in Showback.environments' order
    agents: int

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
    teams: list[TeamShowback] = field(default_factory=list)
    shared_services: tuple[str, ...] = SHARED_SERVICES
    page: Page | None = None
    rest: Rest | None = None         # the agents after this page, summed

    @property
    def columns(self) -> list[str]:
        return [e.environment.name for e in self.environments]

    @property
    def agents_top(self) -> list[AgentShowback]:
        return self.agents

    @property
    def agents_rest(self) -> Rest | None:
        return self.rest


def cost_showback(*, period: Period, environment: str = "", page: int | str | None = None,
                  per_page: int = TOP_AGENTS) -> Showback:
    """Each agent's direct and shared cost in each environment for the month, worked out by the database:
    one page of agents (the largest first), the agents after it summed, the teams and the environments. A
    fixed number of queries however many agents there are."""
    summaries = _environment_summaries(period, _environments(environment))
    rows = AgentRows(period, summaries)
    try:
        number = int(page)  # as Paginator.get_page: not a number, page 1; below 1, the last
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    fetched, count, upto = rows.page(limit=per_page, offset=offset) if 0 <= offset < 2 ** 31 else ([], None, 0)
    if not fetched:  # past the last page (or before the first): the paginator picks the page, then read it
        if count is None:
            count = 0 if offset == 0 else rows.page(limit=1, offset=0)[1] or 0   # page 1 empty: no rows at all
        shown = Paginator(range(count), per_page).get_page(page)
        fetched, _, upto = rows.page(limit=per_page, offset=shown.start_index() - 1) if count else ([], 0, 0)
    else:
        shown = Paginator(range(count), per_page).get_page(number)
    rest_count = count - shown.end_index() if count else 0
    return Showback(period=period, environments=summaries, agents=_agents(fetched), teams=rows.teams(), page=shown,
                    rest=Rest(count=rest_count, total=_money(rows.grand) - _money(upto)) if rest_count else None)


def _environment_summaries(period: Period, envs: list[Environment]) -> list[EnvironmentShowback]:
    """Each environment's month: its total, its agents' direct cost, its shared pool, its running replicas."""
    ids = [e.pk for e in envs]
    entries = CostMonthService.objects.filter(month=period.month, environment_id__in=ids).order_by()  # the rollup
    totals, direct, pools = defaultdict(Decimal), defaultdict(Decimal), defaultdict(Decimal)
    for env, service, tagged, total in entries.values_list("environment_id", "service", "tagged").annotate(Sum("cost")):
        totals[env] += total
        if tagged:
            direct[env] += total
        elif service in SHARED_SERVICES:
            pools[env] += total
    replicas = dict(Placement.objects.filter(environment_id__in=ids, status__in=RUNNING_PLACEMENTS).order_by()
                    .values("environment_id").annotate(n=Sum("replicas")).values_list("environment_id", "n"))
    return [EnvironmentShowback(environment=env, total=totals.get(env.pk) or ZERO, direct=direct.get(env.pk) or ZERO,
                                shared_pool=pools.get(env.pk) or ZERO, replicas=replicas.get(env.pk) or 0)
            for env in envs]


def _environments(name: str) -> list[Environment]:
    envs = Environment.objects.order_by("position", "name")
    return list(envs.filter(name=name) if name else envs)


class AgentRows:
    """Every (environment, agent) with a cost or a running placement, as rows of environment_id, agent,
    replicas_, env_name, team, direct, shared, total, the largest total first: one SQL statement of joins
    (the month's tagged cost per agent, CostAgentMonth, full-joined to the running placements), which the page
    (with the count and the sums the rest needs, by window functions), the teams and the CSV each read in one
    query. The environments' pools and replicas are constants."""

    COLUMNS = ("environment_id", "agent", "replicas_", "env_name", "team", "direct", "shared", "total")

    def __init__(self, period: Period, environments: list[EnvironmentShowback]):
        self.environments = environments
        self.grand: Decimal | None = None
        ids = [int(e.environment.pk) for e in environments] or [0]
        split = [e for e in environments if e.replicas]
        pool = " ".join(f"WHEN {int(e.environment.pk)} THEN CAST(%s AS NUMERIC) * 1.0" for e in split)
        replicas = " ".join(f"WHEN {int(e.environment.pk)} THEN {int(e.replicas)}" for e in split)
        self.shared = (f"ROUND((CASE k.environment_id {pool} ELSE 0 END) * k.replicas_ / "
                       f"(CASE k.environment_id {replicas} ELSE 1 END), 2)") if split else "0"
        self.names = " ".join(f"WHEN {int(e.environment.pk)} THEN %s" for e in environments)
        self.in_ids = ", ".join(map(str, ids))
        self.params = [period.month, *RUNNING_PLACEMENTS, *[e.environment.name for e in environments],
                       *[str(e.shared_pool) for e in split] * 2]
        self.order = " ORDER BY total DESC, env_name, agent"

    def sql(self, *, team: bool = True) -> str:
        """The rows; without `team` the agent's team is left out (NULL), which spares two joins."""
        qn = connection.ops.quote_name
        t_agents, t_placement = CostAgentMonth._meta.db_table, Placement._meta.db_table
        t_agent, t_team = Agent._meta.db_table, Agent._meta.get_field("owner_team").related_model._meta.db_table
        running = ", ".join("%s" for _ in RUNNING_PLACEMENTS)
        teams = (f"LEFT JOIN {qn(t_agent)} ag ON ag.slug = k.agent LEFT JOIN {qn(t_team)} tm "
                 "ON tm.id = ag.owner_team_id") if team else ""
        return f"""
            WITH d AS (SELECT environment_id, agent, ROUND(cost, 2) AS direct FROM {qn(t_agents)}
                       WHERE month = %s AND environment_id IN ({self.in_ids})),
                 r AS (SELECT p.environment_id, a.slug AS agent, p.replicas FROM {qn(t_placement)} p
                       JOIN {qn(t_agent)} a ON a.id = p.agent_id
                       WHERE p.status IN ({running}) AND p.environment_id IN ({self.in_ids})),
                 k AS (SELECT COALESCE(d.environment_id, r.environment_id) AS environment_id,
                              COALESCE(d.agent, r.agent) AS agent, COALESCE(r.replicas, 0) AS replicas_,
                              COALESCE(d.direct, 0) AS direct
                       FROM d FULL JOIN r ON r.environment_id = d.environment_id AND r.agent = d.agent)
            SELECT k.environment_id, k.agent, k.replicas_, (CASE k.environment_id {self.names} ELSE '' END) AS env_name,
                   {"tm.name" if team else "NULL"} AS team, k.direct, {self.shared} AS shared,
                   k.direct + {self.shared} AS total
            FROM k {teams}"""

    def _query(self, select: str, suffix: str = "", params=(), *, team: bool = True) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(f"{select.format(rows=f'({self.sql(team=team)}) rows_')}{suffix}", [*self.params, *params])
            return cursor.fetchall()

    def page(self, *, limit: int, offset: int) -> tuple[list[dict], int | None, Decimal | None]:
        """The rows from `offset` on, at most `limit`; how many rows there are, and the sum of the rows up to the
        last one read (None, None when there is none): one query, the largest rows picked without sorting them
        all (the count and the sum are windows over the whole set; the rows before the page, when there are
        some, a subquery). Sets `grand`, the sum of every row."""
        before = (f"(SELECT SUM(total) FROM (SELECT total, env_name, agent FROM ({self.sql(team=False)}) before_"
                  f"{self.order} LIMIT %s) before_)")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT *, COUNT(*) OVER () AS n_, SUM(total) OVER () AS grand_, {before} AS before_ "
                           f"FROM ({self.sql(team=False)}) rows_{self.order} LIMIT %s OFFSET %s",
                           [*self.params, offset, *self.params, limit, offset])
            rows = cursor.fetchall()
        if not rows:
            return [], None, None
        *_, count, self.grand, upto = rows[-1]
        upto = _money(upto) + sum((_money(row[len(self.COLUMNS) - 1]) for row in rows), ZERO)
        return [dict(zip(self.COLUMNS, row)) for row in rows], count, upto

    def teams(self) -> list[TeamShowback]:
        """Each team's agents and their cost per environment: one query grouping the rows by team."""
        columns = "".join(f", SUM(CASE WHEN environment_id = {int(e.environment.pk)} THEN total ELSE 0 END)"
                          for e in self.environments)
        teams = [TeamShowback(team=team or NO_TEAM, agents=agents, amounts=[_money(a) for a in amounts])
                 for team, agents, *amounts in self._query(f"SELECT team, COUNT(DISTINCT agent){columns} FROM {{rows}}",
                                                           " GROUP BY team")]
        return sorted(teams, key=lambda t: (-t.total, t.team))

    def stream(self, chunk: int = 2000):
        """Every row, largest first, read in chunks (a server-side cursor on PostgreSQL)."""
        with connection.chunked_cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({self.sql()}) rows_{self.order}", self.params)
            while batch := cursor.fetchmany(chunk):
                yield from (dict(zip(self.COLUMNS, row)) for row in batch)


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(CENT)


def _agents(rows: list[dict]) -> list[AgentShowback]:
    """The page's rows, each with the catalog's agent (and its team): one query."""
    agents = {a.slug: a for a in Agent.objects.filter(slug__in={r["agent"] for r in rows}).select_related("owner_team")}
    return [AgentShowback(environment=r["env_name"], slug=r["agent"], agent=agents.get(r["agent"]),
                          replicas=r["replicas_"], direct=_money(r["direct"]), shared=_money(r["shared"]))
            for r in rows]


def showback_environments(*, period: Period, environment: str = "") -> list[EnvironmentShowback]:
    return _environment_summaries(period, _environments(environment))


def showback_teams(*, period: Period, environments: list[EnvironmentShowback]) -> list[TeamShowback]:
    return AgentRows(period, environments).teams()


def showback_agent_rows(*, period: Period, environment: str = ""):
    """Every agent row with its team's name, for the CSV: streamed, largest first."""
    for r in AgentRows(period, showback_environments(period=period, environment=environment)).stream():
        yield AgentShowback(environment=r["env_name"], slug=r["agent"], agent=None, replicas=r["replicas_"],
                            direct=_money(r["direct"]), shared=_money(r["shared"])), r["team"] or NO_TEAM

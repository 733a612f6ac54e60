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

The page is one SQL statement (issue #11): the month's tagged cost per agent (CostAgentMonth) full-joined to
the running placements once, and read for the environments' sums, one page of agents, how many there are and
what they sum to, and the largest teams. The CSVs run a statement of their own each.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection

from portal.catalog.models import Agent, Environment, Placement, Team
from portal.costs import sql
from portal.costs.backends import RUNNING_PLACEMENTS
from portal.costs.models import CostAgentMonth, CostMonthService
from portal.costs.selectors import TOP_AGENTS, ZERO, Period, Rest

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
    """The showback of a month in SQL. Its common table expressions: `svc`, each environment's month by kind of
    cost (CostMonthService); `r`, the running placements; `rt`, their replicas per environment; `sh`, the share
    of the shared pool of an agent with so many replicas there; and `k`, one row per (environment, agent tag) with
    a cost or a running placement (environment_id, agent, replicas, direct, shared, team_id: kept narrow, as it is
    stored for the statement's several reads), and `kt`, its rows with their total and environment's name."""

    ORDER = "total DESC, env_name, agent"

    def __init__(self, period: Period, environments: list[Environment]):
        self.environments = environments
        self.ids = [int(e.pk) for e in environments] or [0]
        self.period = period

    def with_(self) -> tuple[str, list]:
        ids = ", ".join(map(str, self.ids))
        names = " ".join(f"WHEN {int(e.pk)} THEN %s" for e in self.environments) or "WHEN 0 THEN ''"
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
                 k AS MATERIALIZED (
                     SELECT j.environment_id, j.agent, j.replicas, j.direct, j.shared, ag.owner_team_id AS team_id
                     FROM (SELECT COALESCE(d.environment_id, r.environment_id) AS environment_id,
                                  COALESCE(d.agent, r.agent) AS agent, COALESCE(r.replicas, 0) AS replicas,
                                  COALESCE(d.direct, 0) AS direct, COALESCE(sh.shared, 0) AS shared
                           FROM d FULL JOIN r ON r.environment_id = d.environment_id AND r.agent = d.agent
                           LEFT JOIN sh ON sh.environment_id = r.environment_id AND sh.replicas = r.replicas) j
                     LEFT JOIN {sql.table(Agent)} ag ON ag.slug = j.agent),
                 kt AS NOT MATERIALIZED (SELECT k.*, k.direct + k.shared AS total,
                                                CASE k.environment_id {names} ELSE '' END AS env_name FROM k)"""
        params = [*SHARED_SERVICES, self.period.month, *RUNNING_PLACEMENTS, self.period.month,
                  *[e.name for e in self.environments]]
        return statement, params

    def teams(self) -> str:
        """The common table expression `tt`: one row per team (its name; NULL: the tags that name no agent)
        with how many agents it has, its cost in each environment (c0, c1, ...) and its total."""
        per_agent = "".join(f", SUM(CASE WHEN environment_id = {pk} THEN total ELSE 0 END) AS c{i}"
                            for i, pk in enumerate(self.ids))
        per_team = "".join(f", SUM(ta.c{i}) AS c{i}" for i in range(len(self.ids)))
        # By agent, then by team: an agent has one team, so a team's agents are its rows (hashed, not sorted).
        return (f"ta AS (SELECT team_id, agent{per_agent}, SUM(total) AS total FROM kt GROUP BY team_id, agent), "
                f"tt AS (SELECT tm.name AS team, COUNT(*) AS agents{per_team}, SUM(ta.total) AS total "
                f"FROM ta LEFT JOIN {sql.table(Team)} tm ON tm.id = ta.team_id GROUP BY tm.name)")

    def team_name(self, alias: str) -> str:
        return f"(SELECT tm.name FROM {sql.table(Team)} tm WHERE tm.id = {alias}.team_id)"


# The page's statement returns rows of these kinds, in columns kind, environment_id, name, n, a, b, c, label and
# the teams' c0, c1, ...
ENVIRONMENT, AGENT, TOTALS, BEFORE, TEAM, TEAMS = range(6)


def _page_statement(rows: ShowbackSQL, *, limit: int, offset: int) -> tuple[str, list]:
    statement, params = rows.with_()
    cs = [f"c{i}" for i in range(len(rows.ids))]

    def part(kind, env="NULL", name="NULL", n="NULL", a="NULL", b="NULL", c="NULL", label="NULL", teams=None):
        typed = [f"CAST({env} AS BIGINT)", f"CAST({name} AS TEXT)", f"CAST({n} AS BIGINT)", f"CAST({a} AS NUMERIC)",
                 f"CAST({b} AS NUMERIC)", f"CAST({c} AS NUMERIC)", f"CAST({label} AS TEXT)",
                 *(f"CAST({t} AS NUMERIC)" for t in (teams or ["NULL"] * len(cs)))]
        return f"SELECT {kind}, {', '.join(typed)}"

    parts = [
        part(ENVIRONMENT, env="COALESCE(svc.environment_id, rt.environment_id)", n="rt.replicas", a="svc.total",
             b="svc.direct", c="svc.pool") + " FROM svc FULL JOIN rt ON rt.environment_id = svc.environment_id",
        part(AGENT, env="p.environment_id", name="p.agent", n="p.replicas", a="p.direct", b="p.shared",
             c="p.total", label=rows.team_name("p"))
        + f" FROM (SELECT * FROM kt ORDER BY {rows.ORDER} LIMIT %s OFFSET %s) p",
        part(TOTALS, n="COUNT(*)", a="SUM(total)") + " FROM kt",
        part(TEAM, name="t.team", n="t.agents", a="t.total", teams=[f"t.{c}" for c in cs])
        + " FROM (SELECT * FROM tt ORDER BY total DESC, team LIMIT %s) t",
        part(TEAMS, n="COUNT(*)", a="SUM(agents)", teams=[f"SUM({c})" for c in cs]) + " FROM tt",
    ]
    params += [limit, offset, TOP_TEAMS]
    if offset > 0:
        parts.append(part(BEFORE, a="SUM(total)") + f" FROM (SELECT total FROM kt ORDER BY {rows.ORDER} LIMIT %s) b")
        params.append(offset)
    return f"{statement}, {rows.teams()}\n" + "\nUNION ALL ".join(parts), params


@dataclass
class _Read:
    environments: list[EnvironmentShowback]
    agents: list[AgentShowback]
    count: int
    grand: Decimal
    before: Decimal
    teams: list[TeamShowback]
    teams_rest: TeamsRest | None


def _read(period: Period, environments: list[Environment], *, limit: int, offset: int) -> _Read:
    """One page of the showback and everything around it: one statement."""
    rows = ShowbackSQL(period, environments)
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


def cost_showback(*, period: Period, environment: str = "", page: int | str | None = None,
                  per_page: int = TOP_AGENTS, environments: list[Environment] | None = None) -> Showback:
    """Each agent's direct and shared cost in each environment for the month, worked out by the database:
    one page of agents (the largest first), the agents after it summed, the largest teams (the rest summed) and
    the environments: one statement (two for a page past the last), however many agents there are.
    `environments`: the environments to show (all, or the one named `environment`, when not given)."""
    envs = environments if environments is not None else _environments(environment)
    try:
        number = int(page)  # as Paginator.get_page: not a number, page 1; below 1 or past the last, the last
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page if 0 < number < 2 ** 31 // per_page else 0
    read = _read(period, envs, limit=per_page, offset=offset)
    shown = Paginator(range(read.count), per_page).get_page(number if 0 < number < 2 ** 31 // per_page else -1)
    if shown.start_index() - 1 != offset and read.count:    # asked past the last page (or before the first)
        offset = shown.start_index() - 1
        read = _read(period, envs, limit=per_page, offset=offset)
    upto = read.before + sum((row.total for row in read.agents), ZERO)
    rest_count = read.count - shown.end_index() if read.count else 0
    return Showback(period=period, environments=read.environments, agents=read.agents, teams=read.teams,
                    page=shown, teams_rest=read.teams_rest,
                    rest=Rest(count=rest_count, total=read.grand - upto) if rest_count else None)


def _environments(name: str) -> list[Environment]:
    from portal.costs.selectors import cost_environments

    return [e for e in cost_environments() if not name or e.name == name]


def _stream(statement: str, params: list, chunk: int = 2000):
    with connection.chunked_cursor() as cursor:
        cursor.execute(statement, params)
        while batch := cursor.fetchmany(chunk):
            yield from batch


def showback_teams(*, period: Period, environments: list[Environment]) -> list[TeamShowback]:
    """Every team (largest first) with its agents and its cost per environment, for the CSV: one statement."""
    rows = ShowbackSQL(period, environments)
    statement, params = rows.with_()
    width = len(environments)
    teams = [TeamShowback(team=name or NO_TEAM, agents=int(agents), amounts=[_cents(a) for a in amounts[:width]])
             for name, agents, *amounts in _stream(f"{statement}, {rows.teams()} SELECT * FROM tt", params)]
    return sorted(teams, key=lambda t: (-t.total, t.team))


def showback_agent_rows(*, period: Period, environments: list[Environment] | None = None):
    """Every agent row with its team's name, for the CSV: one statement, streamed, largest first (in
    `environments`; all when not given)."""
    environments = environments if environments is not None else _environments("")
    rows = ShowbackSQL(period, environments)
    statement, params = rows.with_()
    names = {e.pk: e.name for e in environments}
    select = (f"{statement} SELECT kt.environment_id, kt.agent, kt.replicas, kt.direct, kt.shared, "
              f"{rows.team_name('kt')} FROM kt ORDER BY {rows.ORDER}")
    for env, agent, replicas, direct, shared, team in _stream(select, params):
        yield AgentShowback(environment=names.get(int(env), ""), slug=agent, replicas=int(replicas),
                            direct=_cents(direct), shared=_cents(shared), team=team or NO_TEAM)

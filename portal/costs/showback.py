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

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, DecimalField, Exists, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Round

from portal.catalog.models import Agent, Environment, Placement
from portal.costs.backends import RUNNING_PLACEMENTS
from portal.costs.models import CostMonth
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
    rows = agent_rows(period=period, environments=summaries)
    shown = Paginator(rows, per_page).get_page(page)
    agents = _agents(list(shown.object_list))
    count, total = _summed(rows[shown.end_index():])           # always run: the count is the same on any page
    return Showback(period=period, environments=summaries, agents=agents, teams=_teams(rows, summaries), page=shown,
                    rest=Rest(count=count, total=total) if count else None)


def _environment_summaries(period: Period, envs: list[Environment]) -> list[EnvironmentShowback]:
    """Each environment's month: its total, its agents' direct cost, its shared pool, its running replicas."""
    ids = [e.pk for e in envs]
    entries = CostMonth.objects.filter(month=period.month, environment_id__in=ids).order_by()  # the rollup
    totals = dict(entries.values("environment_id").annotate(total=Sum("cost")).values_list("environment_id", "total"))
    direct = dict(entries.exclude(agent="").values("environment_id").annotate(total=Sum("cost"))
                  .values_list("environment_id", "total"))
    pools = dict(entries.filter(agent="", service__in=SHARED_SERVICES).values("environment_id")
                 .annotate(total=Sum("cost")).values_list("environment_id", "total"))
    replicas = dict(Placement.objects.filter(environment_id__in=ids, status__in=RUNNING_PLACEMENTS).order_by()
                    .values("environment_id").annotate(n=Sum("replicas")).values_list("environment_id", "n"))
    return [EnvironmentShowback(environment=env, total=totals.get(env.pk) or ZERO, direct=direct.get(env.pk) or ZERO,
                                shared_pool=pools.get(env.pk) or ZERO, replicas=replicas.get(env.pk) or 0)
            for env in envs]


def _environments(name: str) -> list[Environment]:
    envs = Environment.objects.order_by("position", "name")
    return list(envs.filter(name=name) if name else envs)


def agent_rows(*, period: Period, environments: list[EnvironmentShowback]) -> QuerySet:
    """Every (environment, agent) with a cost or a running placement, as rows of environment_id, slug,
    replicas, direct, shared, total, env_name, team: largest total first, summed and sorted by the database.
    Two branches of one query: the agent tags with a cost (with their replicas where the agent runs), and
    the running agents without a cost of their own. The environments' pools and replicas are constants."""
    ids = [e.environment.pk for e in environments]
    month = CostMonth.objects.filter(month=period.month, environment_id__in=ids).order_by()
    running = Placement.objects.filter(status__in=RUNNING_PLACEMENTS, environment_id__in=ids).order_by()
    env_name = Case(*[When(environment_id=e.environment.pk, then=Value(e.environment.name)) for e in environments],
                    default=Value(""))

    def shared(replicas):
        """The untagged cost of the shared services x the agent's replicas / all running replicas there (the
        agent's replicas appear once: each copy of a subquery is evaluated on its own)."""
        split = [e for e in environments if e.replicas]
        if not split:
            return Value(ZERO, output_field=MONEY)
        pool = Case(*[When(environment_id=e.environment.pk, then=Value(e.shared_pool)) for e in split],
                    default=Value(ZERO), output_field=MONEY)
        all_replicas = Case(*[When(environment_id=e.environment.pk, then=Value(e.replicas)) for e in split],
                            default=Value(1), output_field=IntegerField())
        return Round(pool * replicas / all_replicas, 2, output_field=MONEY)

    replicas = Coalesce(Subquery(Placement.objects.filter(status__in=RUNNING_PLACEMENTS,
                                                          environment=OuterRef("environment_id"),
                                                          agent__slug=OuterRef("agent")).order_by()
                                 .values("replicas")[:1]),
                        Value(0), output_field=IntegerField())
    team = Subquery(Agent.objects.filter(slug=OuterRef("agent")).order_by().values("owner_team__name")[:1])
    tagged = (month.exclude(agent="").values("environment_id", "agent")
              .annotate(replicas_=replicas, env_name=env_name, team=team)
              .annotate(direct=Round(Sum("cost"), 2, output_field=MONEY), shared=shared(F("replicas_")))
              .annotate(total=F("direct") + F("shared")))

    has_cost = month.filter(environment=OuterRef("environment_id"), agent=OuterRef("agent__slug"))
    idle = (running.exclude(Exists(has_cost)).values("environment_id", "agent__slug")
            .annotate(replicas_=F("replicas"), env_name=env_name, team=F("agent__owner_team__name"))
            .annotate(direct=Value(ZERO, output_field=MONEY), shared=shared(F("replicas")))
            .annotate(total=F("direct") + F("shared")))
    return tagged.union(idle, all=True).order_by("-total", "env_name", "agent")


def _wrapped(rows: QuerySet, select: str, group_by: str = "") -> list[tuple]:
    """`select` over the rows of `rows` (a combined query, which .aggregate() cannot read): one query."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM ({sql}) showback_rows{f' GROUP BY {group_by}' if group_by else ''}",
                       params)
        return cursor.fetchall()


def _money(value) -> Decimal:
    return ZERO if value is None else Decimal(str(value)).quantize(CENT)


def _summed(rows: QuerySet) -> tuple[int, Decimal]:
    """How many rows, and their total."""
    count, total = _wrapped(rows, "COUNT(*), SUM(total)")[0]
    return count, _money(total)


def _agents(rows: list[dict]) -> list[AgentShowback]:
    """The page's rows, each with the catalog's agent (and its team): one query."""
    agents = {a.slug: a for a in Agent.objects.filter(slug__in={r["agent"] for r in rows}).select_related("owner_team")}
    return [AgentShowback(environment=r["env_name"], slug=r["agent"], agent=agents.get(r["agent"]),
                          replicas=r["replicas_"], direct=_money(r["direct"]), shared=_money(r["shared"]))
            for r in rows]


def _teams(rows: QuerySet, environments: list[EnvironmentShowback]) -> list[TeamShowback]:
    """Each team's agents and their cost per environment: one query grouping the rows by team."""
    qn = connection.ops.quote_name
    columns = ", ".join(f"SUM(CASE WHEN {qn('environment_id')} = {int(e.environment.pk)} THEN total ELSE 0 END)"
                        for e in environments)
    teams = [TeamShowback(team=team or NO_TEAM, agents=agents, amounts=[_money(a) for a in amounts])
             for team, agents, *amounts in _wrapped(rows.order_by(), f"team, COUNT(DISTINCT agent)"
                                                                     f"{', ' if columns else ''}{columns}", "team")]
    return sorted(teams, key=lambda t: (-t.total, t.team))


def showback_environments(*, period: Period, environment: str = "") -> list[EnvironmentShowback]:
    return _environment_summaries(period, _environments(environment))


def showback_teams(*, period: Period, environments: list[EnvironmentShowback]) -> list[TeamShowback]:
    return _teams(agent_rows(period=period, environments=environments), environments)


def showback_agent_rows(*, period: Period, environment: str = ""):
    """Every agent row with its team's name, for the CSV: streamed, largest first."""
    summaries = showback_environments(period=period, environment=environment)
    for r in agent_rows(period=period, environments=summaries).iterator(chunk_size=2000):
        yield AgentShowback(environment=r["env_name"], slug=r["agent"], agent=None, replicas=r["replicas_"],
                            direct=_money(r["direct"]), shared=_money(r["shared"])), r["team"] or NO_TEAM

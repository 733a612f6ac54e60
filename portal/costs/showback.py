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

from django.db.models import Sum

from portal.catalog.models import Agent, Environment, Placement
from portal.costs.backends import RUNNING_PLACEMENTS
from portal.costs.models import CostMonth
from portal.costs.selectors import ZERO, Period, TopAgents

SHARED_SERVICES = ("Azure Kubernetes Service", "Azure Cosmos DB", "Redis Cache", "Storage")
CENT = Decimal("0.01")


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
        return self.agent.owner_team.name if self.agent is not None else "(no team: tag names no agent)"


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
class Showback(TopAgents):
    period: Period
    environments: list[EnvironmentShowback]
    agents: list[AgentShowback]
    teams: list[TeamShowback] = field(default_factory=list)
    shared_services: tuple[str, ...] = SHARED_SERVICES

    @property
    def columns(self) -> list[str]:
        return [e.environment.name for e in self.environments]


def cost_showback(*, period: Period, environment: str = "") -> Showback:
    """Each agent's direct and shared cost in each environment for the month; five queries."""
    envs = list(Environment.objects.order_by("position", "name"))
    if environment:
        envs = [e for e in envs if e.name == environment]
    ids = [e.pk for e in envs]
    entries = CostMonth.objects.filter(month=period.month, environment_id__in=ids).order_by()  # the rollup
    totals = dict(entries.values("environment_id").annotate(total=Sum("cost")).values_list("environment_id", "total"))
    direct = {(item["environment_id"], item["agent"]): item["total"]
              for item in entries.exclude(agent="").values("environment_id", "agent").annotate(total=Sum("cost"))}
    pools = dict(entries.filter(agent="", service__in=SHARED_SERVICES).values("environment_id")
                 .annotate(total=Sum("cost")).values_list("environment_id", "total"))
    replicas: dict[tuple[int, str], int] = {}
    for env_id, slug, count in (Placement.objects.filter(environment_id__in=ids, status__in=RUNNING_PLACEMENTS)
                                .values_list("environment_id", "agent__slug", "replicas")):
        replicas[(env_id, slug)] = count
    slugs = {slug for _, slug in direct} | {slug for _, slug in replicas}
    agents = {a.slug: a for a in Agent.objects.filter(slug__in=slugs).select_related("owner_team")}

    rows: list[AgentShowback] = []
    summaries: list[EnvironmentShowback] = []
    for env in envs:
        env_replicas = sum(n for (env_id, _), n in replicas.items() if env_id == env.pk)
        pool = pools.get(env.pk) or ZERO
        env_slugs = sorted({slug for env_id, slug in [*direct, *replicas] if env_id == env.pk})
        for slug in env_slugs:
            count = replicas.get((env.pk, slug), 0)
            shared = (pool * count / env_replicas).quantize(CENT) if env_replicas else ZERO
            rows.append(AgentShowback(environment=env.name, slug=slug, agent=agents.get(slug), replicas=count,
                                      direct=(direct.get((env.pk, slug)) or ZERO).quantize(CENT), shared=shared))
        summaries.append(EnvironmentShowback(
            environment=env, total=totals.get(env.pk) or ZERO, replicas=env_replicas, shared_pool=pool,
            direct=sum((amount for (env_id, _), amount in direct.items() if env_id == env.pk), ZERO)))
    rows.sort(key=lambda r: (-r.total, r.environment, r.slug))
    return Showback(period=period, environments=summaries, agents=rows, teams=_teams(rows, [e.name for e in envs]))


def _teams(rows: list[AgentShowback], columns: list[str]) -> list[TeamShowback]:
    amounts: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO] * len(columns))
    members: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        amounts[row.team][columns.index(row.environment)] += row.total
        members[row.team].add(row.slug)
    teams = [TeamShowback(team=team, amounts=values, agents=len(members[team])) for team, values in amounts.items()]
    return sorted(teams, key=lambda t: (-t.total, t.team))

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.catalog.models import Agent, Environment, Team
from portal.health.choices import AGENT_KINDS, UPTIME_WINDOW, CheckKind, HealthState
from portal.health.models import HealthCheck, HealthResult
from provisioning.health import worst_state


def health_summary_annotations() -> dict:
    """Annotations for an Environment queryset: its active checks by state and when they last ran.
    Subqueries, so the home page stays one query however many checks there are."""
    active = HealthCheck.objects.filter(environment=OuterRef("pk"), active=True).order_by().values("environment")

    def count(**filters):
        return Coalesce(Subquery(active.filter(**filters).annotate(n=Count("pk")).values("n")[:1]), Value(0))

    return {
        "health_total": count(),
        "health_red": count(state=HealthState.RED),
        "health_amber": count(state=HealthState.AMBER),
        "health_unknown": count(state=HealthState.UNKNOWN),
        "health_checked_at": Subquery(active.annotate(at=Max("checked_at")).values("at")[:1]),
    }


@dataclass
class AgentRow:
    slug: str
    agent: Agent | None
    team: Team | None
    workload: HealthCheck | None = None
    http: HealthCheck | None = None
    uptime: float | None = None              # percent of results green in the last 7 days

    @property
    def state(self) -> str:
        return worst_state(c.state for c in (self.workload, self.http) if c is not None)


@dataclass
class Board:
    environment: Environment
    pools: list[HealthCheck] = field(default_factory=list)
    agents: list[AgentRow] = field(default_factory=list)
    resources: list[HealthCheck] = field(default_factory=list)
    http_probed: bool = False
    checked_at: datetime | None = None

    @property
    def checks(self) -> list[HealthCheck]:
        rows = [c for row in self.agents for c in (row.workload, row.http) if c is not None]
        return self.pools + rows + self.resources

    @property
    def state(self) -> str | None:
        checks = self.checks
        return worst_state(c.state for c in checks) if checks else None

    @property
    def counts(self) -> dict[str, int]:
        counts = {state: 0 for state in HealthState.values}
        for check in self.checks:
            counts[check.state] += 1
        return counts


def health_board(*, environment: Environment, now=None) -> Board:
    """The status board of one environment: its active checks (one query) and each agent's 7-day
    uptime (one aggregate query), however many agents there are."""
    board = Board(environment=environment)
    checks = list(HealthCheck.objects.filter(environment=environment, active=True)
                  .select_related("agent", "agent__owner_team").order_by("kind", "label"))
    uptime = agent_uptime(environment=environment, now=now)
    rows: dict[str, AgentRow] = {}
    for check in checks:
        if check.kind == CheckKind.NODE_POOL:
            board.pools.append(check)
        elif check.kind == CheckKind.RESOURCE_HEALTH:
            board.resources.append(check)
        else:
            row = rows.setdefault(check.target, AgentRow(check.target, check.agent,
                                                         check.agent.owner_team if check.agent else None))
            setattr(row, "workload" if check.kind == CheckKind.WORKLOAD else "http", check)
            board.http_probed |= check.kind == CheckKind.HTTP
    for row in rows.values():
        row.uptime = uptime.get(row.agent.pk) if row.agent else None
    board.agents = sorted(rows.values(), key=lambda r: r.slug)
    board.checked_at = max((c.checked_at for c in checks if c.checked_at), default=None)
    return board


def agent_uptime(*, environment: Environment, now=None) -> dict[int, float]:
    """Per agent: the share of its check results (workload and HTTP) that were green in the last 7 days."""
    since = (now or timezone.now()) - UPTIME_WINDOW
    rows = (HealthResult.objects.filter(health_check__environment=environment, health_check__kind__in=AGENT_KINDS,
                                        health_check__agent__isnull=False, checked_at__gte=since)
            .order_by().values("health_check__agent_id")
            .annotate(total=Count("pk"), green=Count("pk", filter=Q(state=HealthState.GREEN))))
    return {row["health_check__agent_id"]: 100.0 * row["green"] / row["total"] for row in rows if row["total"]}

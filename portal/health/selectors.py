from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Max, Min, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.catalog.models import Agent, Environment, Team
from portal.core.pagination import Counted
from portal.health.choices import AGENT_KINDS, UPTIME_WINDOW, CheckKind, HealthState
from portal.health.models import HealthCheck, HealthDay
from provisioning.health import worst_state


def health_summary_annotations() -> dict:
    """Annotations for an Environment queryset: its active checks by state and when they last ran.
    Subqueries, so the home page stays one query however many checks there are."""
    active = HealthCheck.objects.filter(environment=OuterRef("pk"), active=True).order_by().values("environment")

    def count(**filters):
        # COUNT(*): counted from the (environment, active, state) index alone
        return Coalesce(Subquery(active.filter(**filters).annotate(n=Count("*")).values("n")[:1]), Value(0))

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
    agents: list[AgentRow] = field(default_factory=list)     # one page of agents, the least green first
    resources: list[HealthCheck] = field(default_factory=list)
    http_probed: bool = False
    checked_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)     # every active check by state, not only this page
    page: Page | None = None                                 # the page of agents shown

    @property
    def checks(self) -> list[HealthCheck]:
        rows = [c for row in self.agents for c in (row.workload, row.http) if c is not None]
        return self.pools + rows + self.resources

    @property
    def state(self) -> str | None:
        return worst_state(state for state, n in self.counts.items() if n) if any(self.counts.values()) else None


# Worst first: the board leads with what is not green.
SEVERITY = Case(When(state=HealthState.RED, then=Value(0)), When(state=HealthState.AMBER, then=Value(1)),
                When(state=HealthState.UNKNOWN, then=Value(2)), default=Value(3), output_field=IntegerField())


def health_board(*, environment: Environment, now=None, page: int | str | None = None,
                 per_page: int | None = None) -> Board:
    """The status board of one environment: counts of every active check by state (one aggregate), node
    pools and shared resources, and one page of agents, those not green first, each with its 7-day uptime.
    A fixed number of queries however many agents there are."""
    board = Board(environment=environment)
    active = HealthCheck.objects.filter(environment=environment, active=True)
    board.counts = {state: 0 for state in HealthState.values}
    for row in active.order_by().values("kind", "state").annotate(n=Count("pk"), at=Max("checked_at")):
        board.counts[row["state"]] += row["n"]
        board.http_probed |= row["kind"] == CheckKind.HTTP
        if row["at"] and (board.checked_at is None or row["at"] > board.checked_at):
            board.checked_at = row["at"]
    for check in active.exclude(kind__in=AGENT_KINDS).order_by("kind", "label"):
        (board.pools if check.kind == CheckKind.NODE_POOL else board.resources).append(check)

    agent_checks = active.filter(kind__in=AGENT_KINDS)
    targets = agent_checks.order_by().values("target").annotate(rank=Min(SEVERITY)).order_by("rank", "target")
    # The pager's count is the number of agents, read from the index: counting the ranked, ordered groups
    # took twice as long as ranking the page itself at 10,000 agents (#11).
    count = agent_checks.order_by().aggregate(n=Count("target", distinct=True))["n"]
    board.page = Paginator(Counted(targets, count), per_page or settings.PORTAL_PAGE_SIZE).get_page(page)
    slugs = [row["target"] for row in board.page]
    rows = {slug: AgentRow(slug, None, None) for slug in slugs}
    for check in (active.filter(kind__in=AGENT_KINDS, target__in=slugs)
                  .select_related("agent", "agent__owner_team")):
        row = rows[check.target]
        if check.agent is not None:
            row.agent, row.team = check.agent, check.agent.owner_team
        setattr(row, "workload" if check.kind == CheckKind.WORKLOAD else "http", check)
    agent_ids = [row.agent.pk for row in rows.values() if row.agent]
    uptime = agent_uptime(environment=environment, now=now, agent_ids=agent_ids) if agent_ids else {}
    for row in rows.values():
        row.uptime = uptime.get(row.agent.pk) if row.agent else None
    board.agents = list(rows.values())
    return board


def agent_uptime(*, environment: Environment, now=None, agent_ids=None) -> dict[int, float]:
    """Per agent (all, or those of `agent_ids`): the share of its check results (workload and HTTP) that
    were green in the last 7 days (whole days, today included), read from the daily rollup."""
    since = timezone.localdate(now or timezone.now()) - UPTIME_WINDOW
    days = HealthDay.objects.filter(health_check__environment=environment, health_check__kind__in=AGENT_KINDS,
                                    health_check__agent__isnull=False, day__gte=since)
    if agent_ids is not None:
        days = days.filter(health_check__agent_id__in=agent_ids)
    rows = days.order_by().values("health_check__agent_id").annotate(total=Sum("total"), green=Sum("green"))
    return {row["health_check__agent_id"]: 100.0 * row["green"] / row["total"] for row in rows if row["total"]}

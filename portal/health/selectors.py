from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, Count, DateTimeField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.catalog.models import Agent, Environment, Team
from portal.health.choices import AGENT_KINDS, UPTIME_WINDOW, CheckKind, HealthState
from portal.health.models import AGENT_CHECKS, HealthCheck, HealthDay
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
        # the latest time, read backwards from the (environment, active, checked_at) index: MAX() per group read it all
        "health_checked_at": Subquery(active.filter(checked_at__isnull=False).order_by("-checked_at")
                                      .values("checked_at")[:1]),
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


# Worst first: the board leads with what is not green. An agent ranks by its worst check.
RANKED_STATES = (HealthState.RED, HealthState.AMBER, HealthState.UNKNOWN, HealthState.GREEN)
SHARED_KINDS = sorted(set(CheckKind.values) - AGENT_KINDS)       # node pools and shared resources
# What the board shows of a check (not its raw details) and of its agent.
BOARD_FIELDS = ("kind", "target", "label", "agent", "state", "summary", "checked_at", "state_since", "last_known_state",
                "last_known_summary", "last_known_at", "alert_status", "alert_changed_at")


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
    """One query: the active checks by state and when one last ran, whether any HTTP probe runs, how many
    agents there are and how many have each worst state but green. Each an index range, read alone."""
    pk, checks = environment.pk, f"FROM {_CHECKS} WHERE environment_id = %s AND active"

    def count(sql, *params):
        return RawSQL(f"SELECT COUNT(*) {sql}", [pk, *params], output_field=IntegerField())

    return Environment.objects.filter(pk=pk).values(
        total=count(checks),
        **{state: count(f"{checks} AND state = %s", state) for state in RANKED_STATES[:-1]},
        checked_at=RawSQL(f"SELECT checked_at {checks} AND checked_at IS NOT NULL ORDER BY checked_at DESC LIMIT 1",
                          [pk], output_field=DateTimeField()),
        http_probed=RawSQL(f"SELECT EXISTS (SELECT 1 {checks} AND kind = %s)", [pk, CheckKind.HTTP.value],
                           output_field=BooleanField()),
        agents=count(f"FROM (SELECT DISTINCT target {checks} AND kind IN ({_AGENT_KINDS})) AS agents"),
        **{f"worst_{state}": count(f"FROM ({_worst_is(state)}) AS worst") for state in RANKED_STATES[:-1]},
    ).get()


def _page_targets(environment: Environment, ranked: dict[str, int], positions: range) -> RawSQL | None:
    """The targets at `positions` of the agents ranked worst state first, then by target: the slices of
    each state's targets (`ranked`: how many there are of each) that the page overlaps, as one subquery."""
    parts, params, start = [], [], 0
    for state in RANKED_STATES:
        low, high = max(positions.start, start), min(positions.stop, start + ranked[state])
        if low < high:
            parts.append(f"SELECT target FROM ({_worst_is(state)} ORDER BY c.target LIMIT %s OFFSET %s) AS worst_{state}")
            params += [environment.pk, high - low, low - start]
        start += ranked[state]
    return RawSQL(" UNION ALL ".join(parts), params) if parts else None


def health_board(*, environment: Environment, now=None, page: int | str | None = None,
                 per_page: int | None = None) -> Board:
    """The status board of one environment: counts of every active check by state, node pools and shared
    resources, and one page of agents, those not green first, each with its 7-day uptime. Four queries
    however many agents there are, each reading an index range no longer than what it shows or counts."""
    board = Board(environment=environment)
    summary = _board_summary(environment)
    red, amber, unknown = (summary[state] for state in RANKED_STATES[:-1])
    board.counts = {HealthState.GREEN.value: summary["total"] - red - amber - unknown,
                    HealthState.AMBER.value: amber, HealthState.RED.value: red, HealthState.UNKNOWN.value: unknown}
    board.http_probed, board.checked_at = summary["http_probed"], summary["checked_at"]
    ranked = {state: summary[f"worst_{state}"] for state in RANKED_STATES[:-1]}
    ranked[HealthState.GREEN] = summary["agents"] - sum(ranked.values())

    for check in (HealthCheck.objects.filter(environment=environment, active=True, kind__in=SHARED_KINDS)
                  .only(*BOARD_FIELDS).order_by("kind", "label")):
        (board.pools if check.kind == CheckKind.NODE_POOL else board.resources).append(check)

    board.page = Paginator(range(summary["agents"]), per_page or settings.PORTAL_PAGE_SIZE).get_page(page)
    targets = _page_targets(environment, ranked, board.page.object_list)
    rows: dict[str, AgentRow] = {}
    # In the database's order of targets; then, stably, worst first (an agent's rank is its worst check's).
    for check in ([] if targets is None else HealthCheck.objects.filter(AGENT_CHECKS, environment=environment,
                                                                        target__in=targets).order_by("target", "kind")
                  .select_related("agent__owner_team")
                  .only(*BOARD_FIELDS, "agent__slug", "agent__owner_team", "agent__owner_team__name")):
        row = rows.setdefault(check.target, AgentRow(check.target, None, None))
        if check.agent is not None:
            row.agent, row.team = check.agent, check.agent.owner_team
        setattr(row, "workload" if check.kind == CheckKind.WORKLOAD else "http", check)
    agent_ids = [row.agent.pk for row in rows.values() if row.agent]
    uptime = agent_uptime(environment=environment, now=now, agent_ids=agent_ids) if agent_ids else {}
    for row in rows.values():
        row.uptime = uptime.get(row.agent.pk) if row.agent else None
    board.agents = sorted(rows.values(), key=lambda row: RANKED_STATES.index(row.state))
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

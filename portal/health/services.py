"""Health checks: run by scheduled Celery tasks (portal.health.tasks), which call
health_checks_run here. Each run records one result per target, with history, and the check's
state, since when it has been so, and the last state actually observed. Pages only read these rows.

    node-pool         each of the environment's NodePool rows: Ready nodes vs its minimum, taints as designed
    workload          each running agent's Deployment: available replicas, restarts in the last hour
    resource-health   Azure Resource Health of the eight shared resources
    http              each running agent's health endpoint, where the portal can reach one

A check that cannot run is recorded as "unknown" with the reason (provisioning.health never
answers green without having looked). A check red for longer than PORTAL_HEALTH_ALERT_AFTER_MINUTES
tells the owner team once, and again when it recovers (health_alerts_evaluate).
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.discovery import environment_resources
from portal.catalog.models import Agent, Environment, Placement, Team
from portal.core import backends as registry
from portal.core.errors import DomainError, InvalidTransition
from portal.core.outbox import enqueue
from portal.deployments import backends as deployment_backends
from portal.deployments import notifications
from portal.health import backends
from portal.health.choices import ALERT_TRANSITIONS, OBSERVED, RECOVERED, AlertStatus, CheckKind, HealthState
from portal.health.models import HealthCheck, HealthDay, HealthResult
from provisioning.cluster.base import ClusterError
from provisioning.health import (
    AMBER,
    UNKNOWN,
    CheckResult,
    PoolExpectation,
    check_agent_workload,
    check_http,
    check_node_pools,
    check_resource_health,
    worst_state,
)
from provisioning.health.base import unknown
from provisioning.text import shorten

log = logging.getLogger(__name__)

# Placements whose agent is meant to be running: their workload and endpoint are checked.
WATCHED_PLACEMENTS = (PlacementStatus.RUNNING, PlacementStatus.DEGRADED)
RESTART_WINDOW = timedelta(hours=1)
NO_ENDPOINT = "no endpoint reachable from the portal"
HTTP_WORKERS = 8
SWEEP_EXPIRES = 300  # seconds


@dataclass(frozen=True)
class Observation:
    """What one check found, and where it goes: `target` is the row's key (the agent for workload
    and HTTP checks, so a changed URL keeps the history), `label` what the board shows."""

    result: CheckResult
    label: str
    agent: Agent | None = None
    target: str = ""

    @property
    def key(self) -> str:
        return self.target or self.result.target


# --- Running the checks -------------------------------------------------------------------------

def health_checks_run(*, environment_id: int, kind: str) -> list[HealthCheck] | None:
    """Task body: run one kind of check against one environment and record what it found. Returns
    None when the environment is gone or the check does not apply here (HTTP in the sandbox)."""
    environment = Environment.objects.filter(pk=environment_id).first()
    if environment is None:
        return None
    if kind not in CheckKind.values:
        raise DomainError(f"Unknown health check {kind!r}.")
    observations = _RUNNERS[kind](environment)
    if observations is None:
        _retire(environment, kind, keep=set())
        return None
    at = timezone.now()
    checks = [health_result_record(environment=environment, observation=o, at=at) for o in observations]
    _retire(environment, kind, keep={o.key for o in observations})
    health_alerts_evaluate(now=at)
    return checks


def _node_pools(environment) -> list[Observation]:
    expected = [PoolExpectation(pool.name, pool.min_nodes, tuple(pool.taints or ()))
                for pool in environment.node_pools.order_by("name")]
    if not expected:
        return []
    try:
        cluster = deployment_backends.cluster_backend(environment)
    except ClusterError as exc:
        return [Observation(unknown(CheckKind.NODE_POOL, p.name, f"cluster unavailable ({exc})"), p.name)
                for p in expected]
    return [Observation(result, result.target) for result in check_node_pools(cluster, expected)]


def _watched(environment) -> list[Placement]:
    return list(Placement.objects.filter(environment=environment, status__in=WATCHED_PLACEMENTS)
                .select_related("agent").order_by("agent__slug"))


def _workloads(environment) -> list[Observation]:
    placements = _watched(environment)
    if not placements:
        return []
    try:
        cluster = deployment_backends.cluster_backend(environment)
    except ClusterError as exc:
        return [Observation(unknown(CheckKind.WORKLOAD, p.agent.slug, f"cluster unavailable ({exc})"),
                            p.agent.slug, p.agent) for p in placements]
    baselines = _restart_baselines(environment)
    threshold = settings.PORTAL_HEALTH_RESTART_THRESHOLD
    observations = []
    for placement in placements:
        slug = placement.agent.slug
        # Restarts are judged over the last hour below, not over the pods' lifetime.
        result = check_agent_workload(cluster, slug, restart_threshold=2**31)
        observations.append(Observation(_recent_restarts(result, baselines.get(slug), threshold), slug,
                                        placement.agent))
    return observations


def _restart_baselines(environment) -> dict[str, int]:
    """Each workload's restart count at the start of the last hour (its oldest result in the window)."""
    since = timezone.now() - RESTART_WINDOW
    rows = (HealthResult.objects.filter(health_check__environment=environment, health_check__kind=CheckKind.WORKLOAD,
                                        checked_at__gte=since, restarts__isnull=False)
            .order_by("health_check_id", "checked_at").values_list("health_check__target", "restarts"))
    baselines: dict[str, int] = {}
    for target, restarts in rows:
        baselines.setdefault(target, restarts)
    return baselines


def _recent_restarts(result: CheckResult, baseline: int | None, threshold: int) -> CheckResult:
    """Amber when the pods restarted more than `threshold` times in the last hour. Without a result
    an hour back (a new check) every restart counts; a count lower than the baseline means new pods."""
    if result.state == UNKNOWN or not result.details.get("deployed"):
        return result
    total = int(result.details.get("restarts") or 0)
    recent = total - baseline if baseline is not None and baseline <= total else total
    details = {**result.details, "restarts_last_hour": recent, "restart_threshold": threshold}
    if recent <= threshold:
        return replace(result, details=details)
    text = f"{recent} container restarts in the last hour (threshold {threshold})"
    return replace(result, state=worst_state([result.state, AMBER]), summary=f"{result.summary}; {text}",
                   details=details)


def _resource_health(environment) -> list[Observation]:
    """The shared resources as discovered in Azure (issue #10; the sandbox's follow the convention). One
    that discovery could not find is unknown, with why."""
    subscription = backends.subscription_of(environment)
    discovered = None
    if subscription and not registry.is_sandbox("resource_health"):
        discovered = environment_resources(environment=environment)
    resources = backends.shared_resources(environment, subscription or "no-subscription", discovered=discovered)
    if not subscription:
        reason = "no Azure subscription is set for this environment (or AZURE_SUBSCRIPTION_ID)"
        return [Observation(unknown(CheckKind.RESOURCE_HEALTH, r.resource_id, reason), r.label) for r in resources]
    health = backends.resource_health_backend(environment)
    try:
        return [Observation(check_resource_health(health, r.resource_id) if r.resource_id else
                            unknown(CheckKind.RESOURCE_HEALTH, r.label, f"not found in Azure: {r.problem}"), r.label)
                for r in resources]
    finally:
        registry.close_backend(health)


def _http(environment) -> list[Observation] | None:
    """Each watched agent's health endpoint, at PORTAL_HEALTH_URL_TEMPLATE. Without one the sandbox
    skips the probe (nothing there answers HTTP), and Azure records "unknown": never green unseen."""
    placements = [p for p in _watched(environment) if p.agent.health_path]
    template = settings.PORTAL_HEALTH_URL_TEMPLATE
    if not template:
        if registry.is_sandbox("cloud"):
            return None
        reason = f"{NO_ENDPOINT} (set PORTAL_HEALTH_URL_TEMPLATE)"
        return [Observation(unknown(CheckKind.HTTP, p.agent.slug, reason), p.agent.slug, p.agent, p.agent.slug)
                for p in placements]

    def probe(placement: Placement) -> Observation:
        agent = placement.agent
        url = template.format(agent=agent.slug, environment=environment.name, path=agent.health_path)
        try:
            result = check_http(url, timeout=settings.PORTAL_HEALTH_HTTP_TIMEOUT)
        except ValueError as exc:
            result = unknown(CheckKind.HTTP, url, str(exc), url=url)
        return Observation(result, agent.slug, agent, agent.slug)

    with ThreadPoolExecutor(max_workers=HTTP_WORKERS) as pool:
        return list(pool.map(probe, placements))


_RUNNERS = {
    CheckKind.NODE_POOL: _node_pools,
    CheckKind.WORKLOAD: _workloads,
    CheckKind.RESOURCE_HEALTH: _resource_health,
    CheckKind.HTTP: _http,
}


# --- Recording ----------------------------------------------------------------------------------

@transaction.atomic
def health_result_record(*, environment, observation: Observation, at=None) -> HealthCheck:
    """Record one result: the check's latest state (and since when it has been so, which only a
    change of state moves), the last observed state, and one history row. The only writer of state."""
    at = at or timezone.now()
    result = observation.result
    check, _ = HealthCheck.objects.select_for_update().get_or_create(
        environment=environment, kind=result.key, target=observation.key,
        defaults={"label": observation.label, "agent": observation.agent, "state_since": at},
    )
    fields = {"label": observation.label, "agent": observation.agent, "active": True, "state": result.state,
              "summary": result.summary, "details": result.details, "checked_at": at}
    if check.state != result.state or check.state_since is None:
        fields["state_since"] = at
    if result.state in OBSERVED:
        fields.update(last_known_state=result.state, last_known_summary=result.summary, last_known_at=at)
    HealthCheck.objects.filter(pk=check.pk).update(**fields)
    restarts = result.details.get("restarts") if result.key == CheckKind.WORKLOAD else None
    HealthResult.objects.create(health_check=check, state=result.state, summary=shorten(result.summary, 500),
                                restarts=restarts if isinstance(restarts, int) else None, checked_at=at)
    _count_in_day(check, at, green=result.state == HealthState.GREEN)
    return HealthCheck.objects.get(pk=check.pk)


def _count_in_day(check: HealthCheck, at, *, green: bool) -> None:
    """Add one result to its day's rollup. The check's row is locked (select_for_update above), so
    two results of one check never race for the day's row."""
    day = timezone.localdate(at)
    if not HealthDay.objects.filter(health_check=check, day=day).update(total=F("total") + 1,
                                                                         green=F("green") + int(green)):
        HealthDay.objects.create(health_check=check, day=day, total=1, green=int(green))


def health_days_rebuild(*, days=None) -> int:
    """Recount the rollup from the raw results: every day, or those in `days`. For the history kept
    before the rollup existed, results stored around the service (the bench's COPY) and the day the
    prune cuts through. Returns the rows written."""
    results = HealthResult.objects.order_by().annotate(day=TruncDate("checked_at"))
    stale = HealthDay.objects.all()
    if days is not None:
        start, end = (timezone.make_aware(datetime.combine(d, time.min)) for d in (min(days), max(days) + timedelta(1)))
        results = results.filter(checked_at__gte=start, checked_at__lt=end, day__in=days)
        stale = stale.filter(day__in=days)
    rows = (results.values("health_check_id", "day")
            .annotate(total=Count("pk"), green=Count("pk", filter=Q(state=HealthState.GREEN))))
    with transaction.atomic():
        stale.delete()
        return len(HealthDay.objects.bulk_create((HealthDay(**row) for row in rows.iterator()), batch_size=5000))


def _retire(environment, kind: str, *, keep: set[str]) -> None:
    """Checks of targets that left the environment (a pool removed, an agent no longer running) leave
    the board; their history stays until it ages out."""
    HealthCheck.objects.filter(environment=environment, kind=kind, active=True).exclude(target__in=keep) \
        .update(active=False)


# --- Alerts -------------------------------------------------------------------------------------

def _alert_move(check: HealthCheck, old: str, new: str, at, **conditions) -> bool:
    """Claim by update: of two workers evaluating the same check, one moves it and notifies."""
    if new not in ALERT_TRANSITIONS[old]:
        raise InvalidTransition(f"An alert cannot go from {old} to {new}.")
    return HealthCheck.objects.filter(pk=check.pk, alert_status=old, **conditions) \
        .update(alert_status=new, alert_changed_at=at) == 1


def health_alerts_evaluate(*, now=None) -> dict[str, list[int]]:
    """Tell the owner team about each check red for longer than the threshold (once), and about each
    one that was told and has recovered (green or amber; unknown is not a recovery). Runs after every
    check run and on its own schedule."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.PORTAL_HEALTH_ALERT_AFTER_MINUTES)
    outcome: dict[str, list[int]] = {"notified": [], "recovered": []}
    related = ("environment", "agent__owner_team")
    failing = HealthCheck.objects.filter(active=True, alert_status=AlertStatus.QUIET, state=HealthState.RED,
                                         state_since__lte=cutoff).select_related(*related)
    for check in failing:
        with transaction.atomic():
            if _alert_move(check, AlertStatus.QUIET, AlertStatus.NOTIFIED, now, state=HealthState.RED,
                           state_since__lte=cutoff):
                _notify(check, failing=True, now=now)
                outcome["notified"].append(check.pk)
    recovered = HealthCheck.objects.filter(alert_status=AlertStatus.NOTIFIED, state__in=RECOVERED) \
        .select_related(*related)
    for check in recovered:
        with transaction.atomic():
            if _alert_move(check, AlertStatus.NOTIFIED, AlertStatus.QUIET, now, state__in=RECOVERED):
                _notify(check, failing=False, now=now)
                outcome["recovered"].append(check.pk)
    # A target that left the environment while failing: nobody is waiting for its recovery.
    HealthCheck.objects.filter(active=False, alert_status=AlertStatus.NOTIFIED) \
        .update(alert_status=AlertStatus.QUIET, alert_changed_at=now)
    return outcome


def health_recipients(check: HealthCheck) -> list[str]:
    """The agent's owner team; for platform checks (pools, shared resources) the platform team."""
    if check.agent_id and check.agent.owner_team.email:
        return [check.agent.owner_team.email]
    if check.agent_id:
        return []
    team = Team.objects.filter(slug=settings.PORTAL_PLATFORM_TEAM).exclude(email="").first()
    return [team.email] if team else []


def _notify(check: HealthCheck, *, failing: bool, now) -> None:
    env = check.environment.name
    what = f"{check.get_kind_display()} {check.label} in {env}"
    link = notifications.absolute(reverse("health:board", args=[env]))
    if failing:
        minutes = int((now - check.state_since).total_seconds() // 60)
        subject = f"[Peak Portal] RED: {what}"
        body = (f"{what} has been red for {minutes} minutes (since {check.state_since:%Y-%m-%d %H:%M} UTC).\n\n"
                f"{check.summary}\n\nHealth board: {link}\n")
    else:
        subject = f"[Peak Portal] Recovered: {what}"
        body = f"{what} is {check.state} again.\n\n{check.summary}\n\nHealth board: {link}\n"
    notifications.notification_queue(subject=subject, body=body, recipients=health_recipients(check),
                       about=f"health:{check.pk}:{'red' if failing else 'recovered'}")


# --- Schedule helpers ---------------------------------------------------------------------------

def health_sweep(*, kind: str) -> list[int]:
    """Scheduled: one task per environment for this kind of check (each kind has its own schedule)."""
    if kind not in CheckKind.values:
        raise DomainError(f"Unknown health check {kind!r}.")
    ids = list(Environment.objects.order_by("position", "name").values_list("pk", flat=True))
    for pk in ids:
        # A run nobody picked up within a few minutes is stale; the next sweep sends a fresh one.
        enqueue("portal.health.tasks.run_health_checks", kind, pk, key=f"health:{kind}:{pk}", expires=SWEEP_EXPIRES)
    return ids


def health_history_prune(*, now=None) -> int:
    """Scheduled: drop results older than PORTAL_HEALTH_HISTORY_DAYS (uptime needs the last 7)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PORTAL_HEALTH_HISTORY_DAYS)
    deleted, _ = HealthResult.objects.filter(checked_at__lt=cutoff).delete()
    # The rollup goes with them: days before the cutoff's day, and that day recounted from what is left.
    first_day = timezone.localdate(cutoff)
    HealthDay.objects.filter(day__lt=first_day).delete()
    health_days_rebuild(days=[first_day])
    return deleted


# --- Sandbox faults (demo and tests) ------------------------------------------------------------

def sandbox_resource_fault(*, environment, label: str, state: str) -> str:
    """Make one shared resource of the sandbox report `state` (Available, Degraded, Unavailable,
    Unknown) to Resource Health. Returns the resource id."""
    _sandbox_only()
    shared = backends.shared_resources(environment, backends.subscription_of(environment))
    resources = {r.label.lower(): r for r in shared}
    resource = resources.get(label.lower())
    if resource is None:
        raise DomainError(f"No shared resource {label!r}; one of: {', '.join(r.label for r in resources.values())}.")
    try:
        backends.StoredSandboxResourceHealth(environment.name).set_fault(resource.resource_id, state)
    except ValueError as exc:
        raise DomainError(str(exc)) from exc
    return resource.resource_id


def sandbox_faults_clear(*, environment) -> None:
    _sandbox_only()
    backends.StoredSandboxResourceHealth(environment.name).clear_faults()
    deployment_backends.cluster_backend(environment).clear_faults()


def _sandbox_only() -> None:
    if not registry.is_sandbox("resource_health"):
        raise DomainError("Faults can only be injected into the sandbox cloud.")


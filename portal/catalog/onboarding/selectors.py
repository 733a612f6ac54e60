"""Onboarding's reads: the agent page's checklist (how far its onboarding in dev has come) and its
promotions (each environment after the first, from the one before it)."""

from dataclasses import dataclass

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Environment, Placement
from portal.catalog.onboarding.forms import PromoteForm
from portal.catalog.onboarding.rules import AGENT_TEMPLATE, ONBOARDING_ENVIRONMENT, redis_key_prefix
from portal.deployments.choices import IN_PROGRESS, ClusterAction, DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment

STATE_LABELS = {"done": "done", "active": "in progress", "failed": "failed", "todo": "not yet",
                "unknown": "not checked yet"}


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    label: str
    state: str  # a key of STATE_LABELS
    detail: str = ""
    run: Deployment | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Checklist:
    environment: Environment | None
    steps: tuple[ChecklistStep, ...]
    note: str = ""

    @property
    def in_progress(self) -> bool:
        return any(step.state == "active" for step in self.steps)


def _run_state(run: Deployment) -> str:
    if run.status in IN_PROGRESS:
        return "active"
    return "done" if run.status == DeploymentStatus.SUCCEEDED else "failed"


def agent_current_environment(*, agent: Agent) -> Environment | None:
    """Where the agent really is: the furthest environment it is placed in (not retired), else dev."""
    placed = (Placement.objects.filter(agent=agent).exclude(status=PlacementStatus.RETIRED)
              .select_related("environment").order_by("-environment__position", "-environment__name").first())
    if placed is not None:
        return placed.environment
    return Environment.objects.filter(name=ONBOARDING_ENVIRONMENT).first()


def _health_step(*, agent: Agent, env: Environment | None) -> ChecklistStep:
    """The same checks the Health board shows for this agent there (workload, HTTP)."""
    from portal.health.choices import AGENT_KINDS, HealthState
    from portal.health.models import HealthCheck
    from provisioning.health import worst_state

    checks = list(HealthCheck.objects.filter(agent=agent, environment=env, active=True, kind__in=AGENT_KINDS)
                  .order_by("kind")) if env else []
    if not checks:
        return ChecklistStep("health", "Health checks green", "unknown",
                             "no health check has looked at it yet; the next scheduled round will")
    state = worst_state(c.state for c in checks)
    detail = "; ".join(f"{c.get_kind_display()}: {c.summary}" for c in checks if c.summary)
    mapped = {HealthState.GREEN: "done", HealthState.AMBER: "active", HealthState.RED: "failed"}.get(state, "unknown")
    return ChecklistStep("health", "Health checks green", mapped, detail or state)


def agent_checklist(*, agent: Agent) -> Checklist:
    """How far the agent has come where it really is (its furthest environment; a few queries, whatever the
    number of runs)."""
    env = agent_current_environment(agent=agent)
    placement = Placement.objects.filter(agent=agent, environment=env).first() if env else None
    runs = Deployment.objects.filter(agent=agent, environment=env).order_by("-created_at", "-pk")
    resources_run = runs.filter(kind=DeploymentKind.TEMPLATE, template=AGENT_TEMPLATE).first()
    workload_run = runs.filter(kind=DeploymentKind.CLUSTER, cluster_action=ClusterAction.APPLY).first()
    who = f" by {agent.created_by.get_username()}" if agent.created_by else ""
    steps = [ChecklistStep("registered", "Registered", "done", f"in the catalog{who}")]

    if resources_run is None:
        steps.append(ChecklistStep("resources", "Resources created", "todo",
                                   f"no deployment of the agent module in {env.name if env else ONBOARDING_ENVIRONMENT} "
                                   "yet"))
    else:
        state = _run_state(resources_run)
        steps.append(ChecklistStep("resources", "Resources created", state,
                                   f"deployment #{resources_run.pk}: {resources_run.get_status_display().lower()}",
                                   resources_run))

    running = placement is not None and placement.status == PlacementStatus.RUNNING
    # The resources succeeded and their run starts the workload next: it is on its way.
    chained = (resources_run is not None and resources_run.status == DeploymentStatus.SUCCEEDED
               and resources_run.then_apply_workload and placement is not None and not running
               and (workload_run is None or (resources_run.finished_at is not None
                                             and workload_run.created_at < resources_run.finished_at)))
    if (workload_run is not None and workload_run.status in IN_PROGRESS) or chained:
        steps.append(ChecklistStep("workload", "Workload running", "active", "deploying the Kubernetes workload",
                                   workload_run if not chained else None))
    elif workload_run is not None and workload_run.status != DeploymentStatus.SUCCEEDED:
        status = workload_run.get_status_display().lower()
        steps.append(ChecklistStep("workload", "Workload running", "failed", f"run #{workload_run.pk}: {status}",
                                   workload_run))
    elif running or workload_run is not None:
        replicas = f", {placement.replicas} replica{'s' if placement.replicas != 1 else ''}" if placement else ""
        steps.append(ChecklistStep("workload", "Workload running", "done", f"running{replicas}", workload_run))
    else:
        steps.append(ChecklistStep("workload", "Workload running", "todo", "starts when the resources are created"))
    steps.append(_health_step(agent=agent, env=env))

    note = ""
    if placement is not None and placement.redis_db is None and resources_run is not None \
            and resources_run.parameters.get("redisDatabase") is not None:
        note = (f"Hot memory shares Redis database {resources_run.parameters['redisDatabase']}, keys prefixed "
                f"“{redis_key_prefix(agent.slug)}”.")
    return Checklist(env, tuple(steps), note)


@dataclass(frozen=True)
class Promotion:
    source: Environment
    target: Environment
    source_run: Deployment | None
    source_placement: Placement | None
    target_placement: Placement | None
    pending: Deployment | None
    target_run: Deployment | None = None  # the last success there: promoted already
    is_next: bool = False                 # the one step on offer

    @property
    def done(self) -> bool:
        return self.target_run is not None

    @property
    def ready(self) -> bool:
        return self.is_next and self.source_run is not None and self.pending is None


def promotion_source(*, target: Environment) -> Environment | None:
    """The environment before this one (dev before staging before prod)."""
    ordered = list(Environment.objects.order_by("position", "name"))
    index = next(i for i, env in enumerate(ordered) if env.pk == target.pk)
    return ordered[index - 1] if index else None


def _agent_runs(agent: Agent):
    return Deployment.objects.filter(agent=agent, kind=DeploymentKind.TEMPLATE, template=AGENT_TEMPLATE)


def agent_promotions(*, agent: Agent) -> list[Promotion]:
    """Each environment after the first, from the one before it (two queries; placements prefetched)."""
    ordered = list(Environment.objects.order_by("position", "name"))
    placements = {p.environment_id: p for p in agent.placements.all()}
    runs = list(_agent_runs(agent).order_by("-created_at", "-pk").only(
        "pk", "environment_id", "status", "finished_at", "created_at"))
    succeeded = sorted((r for r in runs if r.status == DeploymentStatus.SUCCEEDED),
                       key=lambda r: (r.finished_at is not None, r.finished_at, r.pk), reverse=True)
    promotions = []
    offered = False
    for source, target in zip(ordered, ordered[1:]):
        target_run = next((r for r in succeeded if r.environment_id == target.pk), None)
        source_run = next((r for r in succeeded if r.environment_id == source.pk), None)
        # Only the next step is offered: the first environment not promoted to yet (ready once its source is done).
        is_next = not offered and target_run is None
        offered |= is_next
        promotions.append(Promotion(
            source=source, target=target, source_run=source_run,
            source_placement=placements.get(source.pk), target_placement=placements.get(target.pk),
            pending=next((r for r in runs if r.environment_id == target.pk and r.status in IN_PROGRESS), None),
            target_run=target_run, is_next=is_next))
    return promotions


def agent_onboarding_context(*, agent: Agent, promote_form: PromoteForm | None = None) -> dict:
    """What the agent page needs for its onboarding section."""
    return {"checklist": agent_checklist(agent=agent), "promotions": agent_promotions(agent=agent),
            "promote_form": promote_form}

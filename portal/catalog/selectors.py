from django.db.models import Count, Exists, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Environment, EnvironmentSync, NodePool, Placement, Team
from portal.deployments.models import Deployment
from portal.health.selectors import health_summary_annotations
from portal.costs.selectors import month_cost_annotations
from provisioning.cost.base import month_start


def _count(queryset) -> Coalesce:
    """COUNT(*) of a correlated queryset as one scalar subquery (0 when it has no rows)."""
    # COUNT(*), not COUNT(id): with an index on the filtered columns PostgreSQL counts from the index alone.
    return Coalesce(Subquery(queryset.order_by().annotate(n=Func(template="COUNT(*)", output_field=IntegerField()))
                             .values("n")[:1]), Value(0))


def environment_list() -> QuerySet[Environment]:
    """Environments with their placement counts and latest deployment, for the dashboard (one query).
    Each aggregate is its own scalar subquery: joining placements and syncs into one GROUP BY made the
    health subqueries run once per joined row (94.7 s at 30,000 placements)."""
    latest = Deployment.objects.filter(environment=OuterRef("pk")).order_by("-created_at", "-pk")
    placements = Placement.objects.filter(environment=OuterRef("pk"))
    redis_used = (placements.filter(redis_db__isnull=False).order_by().values("environment")
                  .annotate(n=Count("redis_db", distinct=True)).values("n"))  # a shared database counts once
    last_sync = EnvironmentSync.objects.filter(environment=OuterRef("pk"), finished_at__isnull=False) \
        .order_by("-finished_at").values("finished_at")
    return Environment.objects.annotate(
        last_deployment_id=Subquery(latest.values("pk")[:1]),
        last_deployment_template=Subquery(latest.values("template")[:1]),
        last_deployment_status=Subquery(latest.values("status")[:1]),
        last_deployment_at=Subquery(latest.values("created_at")[:1]),
        agents_placed=_count(placements.exclude(status=PlacementStatus.RETIRED)),
        agents_running=_count(placements.filter(status=PlacementStatus.RUNNING)),
        agents_blocked=_count(placements.filter(status=PlacementStatus.BLOCKED)),
        redis_used=Coalesce(Subquery(redis_used[:1]), Value(0)),
        last_sync_at=Subquery(last_sync[:1]),
        **health_summary_annotations(),
        **month_cost_annotations(month_start(timezone.localdate())),
    ).order_by("position", "name")


def environment_get(*, name: str) -> Environment:
    return (
        Environment.objects.select_related("approver_group")
        .prefetch_related(Prefetch("node_pools", queryset=NodePool.objects.order_by("name")))
        .get(name=name)
    )


def placement_list(*, environment: Environment) -> QuerySet[Placement]:
    """The agents placed in an environment, for its page (paged there)."""
    return (Placement.objects.filter(environment=environment).select_related("agent", "agent__owner_team")
            .order_by("agent__slug", "pk"))


def environment_latest_sync(*, environment: Environment) -> EnvironmentSync | None:
    return EnvironmentSync.objects.filter(environment=environment).select_related("requested_by").first()


def environment_sync_get(*, pk: int) -> EnvironmentSync:
    return EnvironmentSync.objects.select_related("environment", "requested_by").get(pk=pk)


# An agent list's placements need their environment's name, not its JSON settings: decoding those for
# each of a page's 150 placements was a third of the agent list's time at 10,000 agents (#11).
ENVIRONMENT_JSON_FIELDS = ("discovered_resources", "cosmos_containers", "event_hub_topics", "resource_groups",
                           "approval_operations")


def agent_list(*, q: str = "", domain: str = "", team: str = "", environment: str = "") -> QuerySet[Agent]:
    qs = Agent.objects.select_related("owner_team").prefetch_related(
        Prefetch("placements", queryset=Placement.objects.select_related("environment")
                 .defer(*(f"environment__{name}" for name in ENVIRONMENT_JSON_FIELDS))
                 .order_by("environment__position"))
    )
    if q:
        qs = qs.filter(Q(slug__icontains=q) | Q(display_name__icontains=q) | Q(description__icontains=q))
    if domain:
        qs = qs.filter(domain=domain)
    if team:
        qs = qs.filter(owner_team__slug=team)
    if environment:
        # EXISTS, not a join and DISTINCT over every column: 27 ms -> a few at 10,000 agents (#11)
        qs = qs.filter(Exists(Placement.objects.filter(agent=OuterRef("pk"), environment__name=environment)))
    return qs.order_by("slug")


def agent_filter_choices() -> dict:
    return {
        "domains": list(Agent.objects.order_by("domain").values_list("domain", flat=True).distinct()),
        "teams": list(Team.objects.order_by("name").values_list("slug", "name")),
        "environments": list(Environment.objects.order_by("position", "name").values_list("name", flat=True)),
    }


def agent_get(*, slug: str) -> Agent:
    return (
        Agent.objects.select_related("owner_team", "created_by")
        .prefetch_related(Prefetch("placements", queryset=Placement.objects.select_related("environment")
                                   .order_by("environment__position")))
        .get(slug=slug)
    )


def environment_summary(*, environment: Environment) -> dict:
    """What the sync task computes: counts from the catalog for one environment."""
    placements = Placement.objects.filter(environment=environment)
    by_status = dict(placements.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    redis_used = set(placements.exclude(redis_db__isnull=True).values_list("redis_db", flat=True))
    pools = list(environment.node_pools.order_by("name").values("name", "min_nodes", "max_nodes"))
    return {
        "placements": sum(by_status.values()),
        "by_status": by_status,
        "redis_databases_used": len(redis_used) + environment.redis_reserved_databases,
        "redis_database_limit": environment.redis_database_limit,
        "node_pools": len(pools),
        "min_nodes": sum(p["min_nodes"] for p in pools),
        "max_nodes": sum(p["max_nodes"] for p in pools),
    }

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Environment, EnvironmentSync, NodePool, Placement, Team
from portal.deployments.models import Deployment
from portal.health.selectors import health_summary_annotations
from portal.costs.selectors import month_cost_annotations
from provisioning.cost.base import month_start


def environment_list() -> QuerySet[Environment]:
    """Environments with their placement counts and latest deployment, for the dashboard (one query)."""
    latest = Deployment.objects.filter(environment=OuterRef("pk")).order_by("-created_at", "-pk")
    return Environment.objects.annotate(
        last_deployment_id=Subquery(latest.values("pk")[:1]),
        last_deployment_template=Subquery(latest.values("template")[:1]),
        last_deployment_status=Subquery(latest.values("status")[:1]),
        last_deployment_at=Subquery(latest.values("created_at")[:1]),
        agents_placed=Count("placements", filter=~Q(placements__status=PlacementStatus.RETIRED), distinct=True),
        agents_running=Count("placements", filter=Q(placements__status=PlacementStatus.RUNNING), distinct=True),
        agents_blocked=Count("placements", filter=Q(placements__status=PlacementStatus.BLOCKED), distinct=True),
        redis_used=Count("placements__redis_db", distinct=True),  # a shared database counts once
        last_sync_at=Max("syncs__finished_at"),
        **health_summary_annotations(),
        **month_cost_annotations(month_start(timezone.localdate())),
    ).order_by("position", "name")


def environment_get(*, name: str) -> Environment:
    return (
        Environment.objects.select_related("approver_group")
        .prefetch_related(
            Prefetch("node_pools", queryset=NodePool.objects.order_by("name")),
            Prefetch("placements", queryset=Placement.objects.select_related("agent", "agent__owner_team")
                     .order_by("agent__slug")),
        )
        .get(name=name)
    )


def environment_latest_sync(*, environment: Environment) -> EnvironmentSync | None:
    return EnvironmentSync.objects.filter(environment=environment).select_related("requested_by").first()


def environment_sync_get(*, pk: int) -> EnvironmentSync:
    return EnvironmentSync.objects.select_related("environment", "requested_by").get(pk=pk)


def agent_list(*, q: str = "", domain: str = "", team: str = "", environment: str = "") -> QuerySet[Agent]:
    qs = Agent.objects.select_related("owner_team").prefetch_related(
        Prefetch("placements", queryset=Placement.objects.select_related("environment")
                 .order_by("environment__position"))
    )
    if q:
        qs = qs.filter(Q(slug__icontains=q) | Q(display_name__icontains=q) | Q(description__icontains=q))
    if domain:
        qs = qs.filter(domain=domain)
    if team:
        qs = qs.filter(owner_team__slug=team)
    if environment:
        qs = qs.filter(placements__environment__name=environment).distinct()
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

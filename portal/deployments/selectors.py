from django.db.models import Prefetch, QuerySet

from portal.deployments.choices import ACTIVE, IN_PROGRESS, DeploymentStatus
from portal.deployments.models import Deployment, DeploymentLogLine, DeploymentOperation


def deployment_get(*, pk: int) -> Deployment:
    return (
        Deployment.objects.select_related("environment", "requested_by", "agent", "retry_of")
        .prefetch_related(Prefetch("operations", queryset=DeploymentOperation.objects.order_by("position", "pk")))
        .get(pk=pk)
    )


def deployment_list(*, environment: str = "", status: str = "", template: str = "") -> QuerySet[Deployment]:
    qs = Deployment.objects.select_related("environment", "requested_by", "agent")
    if environment:
        qs = qs.filter(environment__name=environment)
    if status == "active":
        qs = qs.filter(status__in=IN_PROGRESS)
    elif status:
        qs = qs.filter(status=status)
    if template:
        qs = qs.filter(template=template)
    return qs.order_by("-created_at", "-pk")


def deployment_running_now() -> QuerySet[Deployment]:
    return Deployment.objects.select_related("environment", "requested_by").filter(status__in=ACTIVE) \
        .order_by("environment__position", "created_at")


def deployment_log_after(*, deployment: Deployment, after: int = 0, limit: int = 500) -> list[DeploymentLogLine]:
    return list(DeploymentLogLine.objects.filter(deployment=deployment, seq__gt=after).order_by("seq")[:limit])


def deployment_last_succeeded(*, environment, template: str) -> Deployment | None:
    return (Deployment.objects.filter(environment=environment, template=template, status=DeploymentStatus.SUCCEEDED)
            .order_by("-finished_at", "-pk").first())

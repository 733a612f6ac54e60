"""Retiring an agent from one environment: its workload, then (after a confirmation that names them)
its memory containers; its Redis database index is released. In prod it needs approval, like any run.
"""

from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.core import backends as registry
from portal.core.errors import DomainError
from portal.deployments import backends, selectors, services
from portal.deployments.choices import DeploymentKind, DeploymentStatus, LogLevel
from portal.deployments.models import Deployment, DeploymentOperation
from portal.deployments.templates import effective_parameters, template_get
from provisioning.backends.base import CloudError, resource_id
from provisioning.cluster.base import ClusterError

S = DeploymentStatus
COSMOS_CONTAINER = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
BLOB_CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"


def retirement_plan(*, placement: Placement) -> dict:
    """Exactly what retiring this placement deletes, for the confirmation page and the run."""
    env, agent = placement.environment, placement.agent
    last = selectors.deployment_last_succeeded(environment=env, template="agent")
    given = dict(last.parameters) if last and last.agent_id == agent.pk else {}
    given.setdefault("agentName", agent.slug)
    given.setdefault("environment", env.name)
    values = effective_parameters(template_get("agent"), given)
    subscription = registry.subscription_of(env)
    group = values.get("resourceGroupName") or env.resource_group
    resources = []
    if placement.cosmos_container:
        name = f"{values.get('cosmosAccountName')}/{values.get('cosmosDatabaseName')}/{placement.cosmos_container}"
        resources.append({"kind": "Warm memory (Cosmos DB container)", "type": COSMOS_CONTAINER, "name": name,
                          "id": resource_id(subscription, group, COSMOS_CONTAINER, name)})
    if placement.blob_container:
        name = f"{values.get('storageAccountName')}/default/{placement.blob_container}"
        resources.append({"kind": "Cold memory (blob container)", "type": BLOB_CONTAINER, "name": name,
                          "id": resource_id(subscription, group, BLOB_CONTAINER, name)})
    return {
        "agent": agent.slug,
        "environment": env.name,
        "workload": f"Deployment and Service {agent.slug} in namespace agents of {env.aks_cluster}",
        "resources": resources,
        "redis_db": placement.redis_db,
    }


@transaction.atomic
def placement_retire_request(*, placement: Placement, confirm: str, user=None, request=None,
                             reason: str = "") -> Deployment:
    if confirm.strip() != placement.agent.slug:
        raise DomainError(f"Type the agent's name, {placement.agent.slug}, to confirm what will be deleted.",
                          field="confirm")
    if placement.status == PlacementStatus.RETIRED:
        raise DomainError(f"{placement.agent.slug} is already retired from {placement.environment.name}.")
    plan = retirement_plan(placement=placement)
    deployment = Deployment.objects.create(
        kind=DeploymentKind.RETIRE, environment=placement.environment, template="retire-agent", agent=placement.agent,
        parameters=plan, requested_by=user, reason=reason or f"Retire {placement.agent.slug}", status=S.PREVIEWED,
        what_if={"changes": [{"change_type": "Delete", "resource_id": r["id"], "resource_type": r["type"],
                              "resource_name": r["name"], "delta": []} for r in plan["resources"]]
                 + [{"change_type": "Delete", "resource_id": f"k8s:agents/{placement.agent.slug}",
                     "resource_type": "apps/v1/Deployment", "resource_name": placement.agent.slug, "delta": []}]},
    )
    audit_record(action="deployment.requested", obj=deployment, actor=user, request=request,
                 details={"retire": plan})
    services.deployment_log(deployment.pk, [(LogLevel.WARNING, f"Retirement of {placement.agent.slug} from "
                                                               f"{placement.environment.name} requested and confirmed.")])
    return services.deployment_confirm(deployment=deployment, user=user, request=request)


def retirement_execute(*, deployment: Deployment) -> Deployment:
    """Task body (via deployment_execute): workload first, then the containers, then release Redis."""
    plan = deployment.parameters
    placement = Placement.objects.select_related("environment", "agent").get(
        agent=deployment.agent, environment=deployment.environment)
    lines, errors = [], []
    try:
        gone = backends.cluster_backend(deployment.environment).delete_workload(plan["agent"])
        lines.append((LogLevel.INFO, f"Workload {plan['agent']}: {'deleted' if gone else 'was not there'}."))
        _operation(deployment, f"k8s:agents/{plan['agent']}", "apps/v1/Deployment", plan["agent"], "Succeeded")
        with registry.opened("cloud", deployment.environment) as cloud:
            results = cloud.delete_resources(resource_ids=[r["id"] for r in plan["resources"]])
    except (CloudError, ClusterError) as exc:
        if exc.transient:
            raise
        services.deployment_log(deployment.pk, lines + [(LogLevel.ERROR, f"{exc.code}: {exc.message}")])
        return services.deployment_transition(deployment, S.FAILED, error={"code": exc.code, "message": exc.message,
                                                                           "details": []})
    by_id = {r["id"]: r for r in plan["resources"]}
    for result in results:
        resource = by_id.get(result.resource_id, {"type": "", "name": result.resource_id})
        ok = result.outcome in ("Deleted", "NotFound")
        _operation(deployment, result.resource_id, resource["type"], resource["name"], "Succeeded" if ok else "Failed",
                   error=result.error)
        lines.append((LogLevel.INFO if ok else LogLevel.ERROR, f"{resource['name']}: {result.outcome}"
                      + (f" ({result.error})" if result.error else "")))
        if not ok:
            errors.append({"code": result.error.code if result.error else "Failed",
                           "message": result.error.message if result.error else result.outcome, "details": []})
    services.deployment_log(deployment.pk, lines)
    if errors:
        return services.deployment_transition(deployment, S.FAILED, error={
            "code": "RetirementIncomplete", "message": "Some memory containers could not be deleted.",
            "details": errors})
    with transaction.atomic():
        Placement.objects.filter(pk=placement.pk).update(
            status=PlacementStatus.RETIRED, status_detail="", redis_db=None, redis_key_prefix="", cosmos_container="",
            blob_container="", updated_at=timezone.now())   # update() skips auto_now; showback reads it (#11)
        audit_record(action="placement.retired", obj=placement, details={"released_redis_db": plan["redis_db"]})
        services.deployment_log(deployment.pk, [(LogLevel.INFO, f"Redis database {plan['redis_db']} released."
                                                 if plan["redis_db"] is not None else "No Redis database to release.")])
        return services.deployment_transition(deployment, S.SUCCEEDED)


def _operation(deployment, operation_id, resource_type, name, state, error=None):
    DeploymentOperation.objects.update_or_create(
        deployment=deployment, operation_id=operation_id,
        defaults={"resource_type": resource_type, "resource_name": name, "state": state,
                  "error": {"code": error.code, "message": error.message, "details": []} if error else None})

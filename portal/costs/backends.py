"""The cost backends' factories (named in settings.PORTAL_BACKENDS, see portal.core.backends) and the
Cost Management scope of an environment."""

from django.conf import settings

from portal.catalog.choices import PlacementStatus
from portal.catalog.discovery import environment_resources
from portal.catalog.models import Environment, Placement
from portal.core import backends as registry
from provisioning.cost import CostBackend, CostError
from provisioning.cost.sandbox import SandboxCost

# The sandbox has no subscription; its scopes still need the shape Azure's have.
SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# Placements whose agent runs, so its resources cost something (also the showback's rule).
RUNNING_PLACEMENTS = (PlacementStatus.RUNNING, PlacementStatus.DEGRADED)


def cost_scope(environment: Environment) -> str:
    """Where Cost Management is asked. Azure: the environment's subscription, filtered to its resource
    groups (cost_resource_groups), because the AKS node VMs bill in the cluster's node resource group
    (MC_...), outside the environment's group. Not by the environment tag: the node resource group's
    VMs, disks and load balancer carry only the tags AKS copies from the node pools, which
    shared-infrastructure does not set. The sandbox: its resource group, as before."""
    subscription = environment.subscription_id or settings.AZURE_SUBSCRIPTION_ID
    if not subscription and registry.is_sandbox("cost"):
        subscription = SANDBOX_SUBSCRIPTION
    if not subscription:
        raise CostError("NoSubscription", f"{environment.name} has no subscription id and AZURE_SUBSCRIPTION_ID is "
                                          "not set: set one of them to read its cost.")
    if registry.is_sandbox("cost"):
        return f"/subscriptions/{subscription}/resourceGroups/{environment.resource_group}"
    return f"/subscriptions/{subscription}"


def cost_resource_groups(environment: Environment) -> list[str]:
    """The resource groups whose cost is the environment's (Azure): its own, as discovered, and the AKS
    node resource group read from the cluster. The sandbox's scope is already its group: none."""
    if registry.is_sandbox("cost"):
        return []
    discovered = environment_resources(environment=environment)
    groups = [discovered.get("resource_group") or environment.resource_group, discovered.get("node_resource_group")]
    return list(dict.fromkeys(g for g in groups if g))


@registry.factory("sandbox")
def sandbox_cost(environment: Environment) -> CostBackend:
    """SandboxCost tagging the agents that run in the environment."""
    agents = (Placement.objects.filter(environment=environment, status__in=RUNNING_PLACEMENTS)
              .order_by("agent__slug").values_list("agent__slug", flat=True))
    return SandboxCost(agents=list(agents))


@registry.factory("azure")
def azure_cost(environment: Environment) -> CostBackend:
    from provisioning.cost.azure import AzureCost

    return AzureCost(registry.azure_credential(), transport=registry.azure_transport(),
                     max_throttle_wait=settings.PORTAL_COST_MAX_THROTTLE_WAIT)


def cost_backend(environment: Environment) -> CostBackend:
    return registry.backend("cost", environment)

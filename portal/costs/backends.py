"""The cost backends' factories (named in settings.PORTAL_BACKENDS, see portal.core.backends) and the
Cost Management scope of an environment."""

from django.conf import settings

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Environment, Placement
from portal.core import backends as registry
from provisioning.cost import CostBackend, CostError
from provisioning.cost.sandbox import SandboxCost

# The sandbox has no subscription; its scopes still need the shape Azure's have.
SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# Placements whose agent runs, so its resources cost something (also the showback's rule).
RUNNING_PLACEMENTS = (PlacementStatus.RUNNING, PlacementStatus.DEGRADED)


def cost_scope(environment: Environment) -> str:
    """The environment's resource group, as a Cost Management scope."""
    subscription = environment.subscription_id or settings.AZURE_SUBSCRIPTION_ID
    if not subscription and registry.is_sandbox("cost"):
        subscription = SANDBOX_SUBSCRIPTION
    if not subscription:
        raise CostError("NoSubscription", f"{environment.name} has no subscription id and AZURE_SUBSCRIPTION_ID is "
                                          "not set: set one of them to read its cost.")
    return f"/subscriptions/{subscription}/resourceGroups/{environment.resource_group}"


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

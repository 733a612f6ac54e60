"""Builds the CostBackend the ingest uses, from settings: the only place costs pick sandbox or Azure."""

from django.conf import settings

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Environment, Placement
from provisioning.cost import CostBackend, CostError
from provisioning.cost.sandbox import SandboxCost

# The sandbox has no subscription; its scopes still need the shape Azure's have.
SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
# Placements whose agent runs, so its resources cost something (also the showback's rule).
RUNNING_PLACEMENTS = (PlacementStatus.RUNNING, PlacementStatus.DEGRADED)


def cost_scope(environment: Environment) -> str:
    """The environment's resource group, as a Cost Management scope."""
    subscription = environment.subscription_id or settings.AZURE_SUBSCRIPTION_ID
    if not subscription and settings.PORTAL_CLOUD != "azure":
        subscription = SANDBOX_SUBSCRIPTION
    if not subscription:
        raise CostError("NoSubscription", f"{environment.name} has no subscription id and AZURE_SUBSCRIPTION_ID is "
                                          "not set: set one of them to read its cost.")
    return f"/subscriptions/{subscription}/resourceGroups/{environment.resource_group}"


def cost_backend(environment: Environment) -> CostBackend:
    """AzureCost when PORTAL_CLOUD=azure; else SandboxCost tagging the agents that run in the environment."""
    if settings.PORTAL_CLOUD == "azure":
        from provisioning.cost.azure import default_azure_cost

        return default_azure_cost(max_throttle_wait=settings.PORTAL_COST_MAX_THROTTLE_WAIT)
    agents = (Placement.objects.filter(environment=environment, status__in=RUNNING_PLACEMENTS)
              .order_by("agent__slug").values_list("agent__slug", flat=True))
    return SandboxCost(agents=list(agents))

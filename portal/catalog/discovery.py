"""Each environment's shared resources as Azure has them (issue #10), stored on
`Environment.discovered_resources` and used by health checks, RBAC expectations and cost scopes.

Azure: provisioning.discovery (the shared-infrastructure deployment's outputs, then a listing of the
resource group by type, then the cluster's kubelet identity and node resource group). The sandbox is
the naming convention, since the sandbox deploys by it."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.core import backends as registry
from provisioning.backends.base import resource_id
from provisioning.discovery import SHARED_TYPES, Discovery
from provisioning.rbac.expected import PROJECT_NAME
from provisioning.rbac.sandbox import SANDBOX_KUBELET_PRINCIPAL_ID

SHARED_TEMPLATE = "shared-infrastructure"
_CONVENTION = {"aks": "{aks}", "cosmos": "{p}-cosmos", "redis": "{p}-redis", "eventhubs": "{p}-eventhubs",
               "storage": "{c}st", "keyvault": "{c}kv", "apim": "{p}-apim", "acr": "{c}acr"}


class SandboxDiscovery:
    kind = "sandbox"

    def __init__(self, environment):
        self.environment = environment

    def discover(self, *, resource_group: str, deployment_name: str = "") -> Discovery:
        env = self.environment
        names = {"p": f"{PROJECT_NAME}-{env.name}", "c": f"{PROJECT_NAME}{env.name}",
                 "aks": env.aks_cluster or f"{PROJECT_NAME}-{env.name}-aks"}
        subscription = registry.subscription_of(env)
        return Discovery(
            subscription_id=subscription, resource_group=resource_group,
            resources={key: resource_id(subscription, resource_group, SHARED_TYPES[key], pattern.format(**names))
                       for key, pattern in _CONVENTION.items()},
            kubelet_principal_id=SANDBOX_KUBELET_PRINCIPAL_ID,
            node_resource_group=f"MC_{resource_group}_{names['aks']}_{env.region}")


@registry.factory("sandbox")
def sandbox_discovery(environment):
    return SandboxDiscovery(environment)


@registry.factory("azure")
def azure_discovery(environment):
    from provisioning.discovery import AzureDiscovery

    return AzureDiscovery(registry.azure_credential(), registry.subscription_of(environment),
                          transport=registry.azure_transport())


def environment_discover(*, environment) -> dict:
    """Read the environment's resources and store them (a part that failed is kept in `errors`, next
    to what was read). Returns what was stored."""
    from portal.deployments.choices import DeploymentStatus
    from portal.deployments.models import Deployment

    last = (Deployment.objects.filter(environment=environment, template=SHARED_TEMPLATE, status=DeploymentStatus.SUCCEEDED)
            .order_by("-finished_at", "-pk").only("arm_deployment_name").first())
    with registry.opened("discovery", environment) as discovery:
        found = discovery.discover(resource_group=environment.resource_group,
                                   deployment_name=last.arm_deployment_name if last else "")
    stored = {**found.as_dict(), "discovered_at": timezone.now().isoformat()}
    type(environment).objects.filter(pk=environment.pk).update(discovered_resources=stored)
    environment.discovered_resources = stored
    return stored


def environment_resources(*, environment, refresh: bool = False) -> dict:
    """What is stored for the environment, discovered again first when nothing is, when it was read for
    another subscription, when it is older than PORTAL_DISCOVERY_MAX_AGE_MINUTES, or on `refresh`."""
    stored = environment.discovered_resources or {}
    if (refresh or not stored.get("resources") or stored.get("subscription_id") != registry.subscription_of(environment)
            or _older_than(stored.get("discovered_at"), settings.PORTAL_DISCOVERY_MAX_AGE_MINUTES)):
        stored = environment_discover(environment=environment)
    return stored


def _older_than(when: str | None, minutes: int) -> bool:
    at = parse_datetime(when) if when else None
    return at is None or timezone.now() - at > timedelta(minutes=minutes)

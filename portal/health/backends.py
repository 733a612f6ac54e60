"""Builds the Resource Health backend from settings (sandbox or Azure), and names the shared
resources of an environment. The sandbox keeps its injected faults in SandboxRecord `health:{env}`,
as portal.deployments.backends keeps the sandbox cluster under `cluster:{env}`."""

from dataclasses import dataclass

from django.db import transaction

from portal.core import backends as registry
from portal.deployments.models import SandboxRecord
from provisioning.backends.base import resource_id
from provisioning.health import ResourceHealthBackend, SandboxResourceHealth
from provisioning.rbac.expected import PROJECT_NAME


def subscription_of(environment) -> str:
    """The subscription an environment lives in (portal.core.backends.subscription_of)."""
    return registry.subscription_of(environment)


@dataclass(frozen=True)
class SharedResource:
    label: str
    resource_id: str
    problem: str = ""      # why discovery found no id for it


# The label's key in Environment.discovered_resources (provisioning.discovery.SHARED_TYPES).
_KEYS = {"AKS": "aks", "Cosmos DB": "cosmos", "Redis": "redis", "Event Hubs": "eventhubs", "Storage": "storage",
         "Key Vault": "keyvault", "API Management": "apim", "Container registry": "acr"}
# (label, ARM type, name) as bicep/shared-infrastructure names them; {p}: "holidaypeakhub-dev",
# {c}: "holidaypeakhubdev" (provisioning.rbac.expected.platform_resources names the same way).
_SHARED = (
    ("AKS", "Microsoft.ContainerService/managedClusters", "{aks}"),
    ("Cosmos DB", "Microsoft.DocumentDB/databaseAccounts", "{p}-cosmos"),
    ("Redis", "Microsoft.Cache/redis", "{p}-redis"),
    ("Event Hubs", "Microsoft.EventHub/namespaces", "{p}-eventhubs"),
    ("Storage", "Microsoft.Storage/storageAccounts", "{c}st"),
    ("Key Vault", "Microsoft.KeyVault/vaults", "{c}kv"),
    ("API Management", "Microsoft.ApiManagement/service", "{p}-apim"),
    ("Container registry", "Microsoft.ContainerRegistry/registries", "{c}acr"),
)


def shared_resources(environment, subscription_id: str, discovered: dict | None = None) -> list[SharedResource]:
    """The eight shared resources whose Azure Resource Health the board shows: as `discovered` in Azure
    (portal.catalog.discovery) when given, else named by the convention the sandbox deploys by."""
    if discovered is not None:
        ids, errors = discovered.get("resources") or {}, discovered.get("errors") or {}
        return [SharedResource(label, ids.get(_KEYS[label], ""),
                               errors.get(_KEYS[label]) or errors.get("resources") or "not discovered")
                for label, _kind, _pattern in _SHARED]
    names = {"p": f"{PROJECT_NAME}-{environment.name}", "c": f"{PROJECT_NAME}{environment.name}",
             "aks": environment.aks_cluster or f"{PROJECT_NAME}-{environment.name}-aks"}
    group = environment.resource_group or f"{PROJECT_NAME}-{environment.name}-rg"
    return [SharedResource(label, resource_id(subscription_id, group, kind, pattern.format(**names)))
            for label, kind, pattern in _SHARED]


class StoredSandboxResourceHealth:
    """SandboxResourceHealth whose faults are loaded from (and, when they change, saved to) the database."""

    def __init__(self, environment_name: str):
        self.key = f"health:{environment_name}"

    def _call(self, name, *args, **kwargs):
        with transaction.atomic():
            record, _ = SandboxRecord.objects.select_for_update().get_or_create(key=self.key,
                                                                               defaults={"data": {}})
            before = dict(record.data.get("faults") or {})
            health = SandboxResourceHealth(dict(before))
            result = getattr(health, name)(*args, **kwargs)
            if health.faults != before:
                record.data = {**record.data, "faults": health.faults}
                record.save(update_fields=["data", "updated_at"])
        return result

    def availability(self, resource_id: str) -> tuple[str, str]:
        return self._call("availability", resource_id)

    def set_fault(self, id_glob: str, state: str) -> None:
        self._call("set_fault", id_glob, state)

    def clear_faults(self) -> None:
        self._call("clear_faults")

    def close(self) -> None:
        pass


@registry.factory("sandbox")
def sandbox_resource_health(environment) -> ResourceHealthBackend:
    return StoredSandboxResourceHealth(environment.name)


@registry.factory("azure")
def azure_resource_health(environment) -> ResourceHealthBackend:
    from provisioning.health.azure import AzureResourceHealth

    return AzureResourceHealth(registry.azure_credential(), subscription_of(environment),
                               transport=registry.azure_transport())


def resource_health_backend(environment) -> ResourceHealthBackend:
    return registry.backend("resource_health", environment)

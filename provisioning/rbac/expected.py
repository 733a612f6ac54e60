"""The role assignments the platform's design calls for, as bicep/shared-infrastructure deploys them.

shared-infrastructure.bicep grants the AKS kubelet identity, in the environment's resource group
`{project}-{env}-rg`:

    AcrPull                               registry         {project}{env}acr
    Azure Event Hubs Data Sender          namespace        {project}-{env}-eventhubs
    Azure Event Hubs Data Receiver        namespace        {project}-{env}-eventhubs
    Key Vault Secrets User                key vault        {project}{env}kv
    Storage Blob Data Contributor         storage account  {project}{env}st
    Cosmos DB Built-in Data Contributor   Cosmos account   {project}-{env}-cosmos   (data plane)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from provisioning.backends.base import resource_id

from .base import (
    ACR_PULL,
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    ROLE_NAMES,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    ExpectedAssignment,
    ScopeKind,
)

PROJECT_NAME: Final = "holidaypeakhub"
ENVIRONMENTS: Final = ("dev", "staging", "prod")
KUBELET: Final = "aks-kubelet"


@dataclass(frozen=True)
class PlatformResources:
    """ARM ids of the shared resources the kubelet identity is granted roles on."""

    resource_group: str
    acr: str
    eventhubs: str
    keyvault: str
    storage: str
    cosmos: str

    def scope_of(self, kind: ScopeKind) -> str:
        return self.cosmos if kind == "cosmos-data-plane" else str(getattr(self, kind))


def resource_group_name(env_name: str, *, project_name: str = PROJECT_NAME) -> str:
    return f"{project_name}-{env_name}-rg"


def platform_resources(subscription_id: str, env_name: str, *,
                       project_name: str = PROJECT_NAME) -> PlatformResources:
    if env_name not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {env_name!r} (expected one of {', '.join(ENVIRONMENTS)})")
    group = resource_group_name(env_name, project_name=project_name)
    prefix, compact = f"{project_name}-{env_name}", f"{project_name}{env_name}"

    def rid(resource_type: str, name: str) -> str:
        return resource_id(subscription_id, group, resource_type, name)

    return PlatformResources(
        resource_group=f"/subscriptions/{subscription_id}/resourceGroups/{group}",
        acr=rid("Microsoft.ContainerRegistry/registries", f"{compact}acr"),
        eventhubs=rid("Microsoft.EventHub/namespaces", f"{prefix}-eventhubs"),
        keyvault=rid("Microsoft.KeyVault/vaults", f"{compact}kv"),
        storage=rid("Microsoft.Storage/storageAccounts", f"{compact}st"),
        cosmos=rid("Microsoft.DocumentDB/databaseAccounts", f"{prefix}-cosmos"),
    )


def platform_scopes(subscription_id: str, env_name: str, *, project_name: str = PROJECT_NAME) -> list[str]:
    """The scopes the platform owns: its resource group (every shared resource lies below it)."""
    return [platform_resources(subscription_id, env_name, project_name=project_name).resource_group]


_DESIGN: Final[tuple[tuple[str, ScopeKind], ...]] = (
    (ACR_PULL, "acr"),
    (EVENT_HUBS_DATA_SENDER, "eventhubs"),
    (EVENT_HUBS_DATA_RECEIVER, "eventhubs"),
    (KEY_VAULT_SECRETS_USER, "keyvault"),
    (STORAGE_BLOB_DATA_CONTRIBUTOR, "storage"),
    (COSMOS_DATA_CONTRIBUTOR, "cosmos-data-plane"),
)


def expected_assignments(subscription_id: str, env_name: str, kubelet_principal_id: str | None = None, *,
                         project_name: str = PROJECT_NAME) -> list[ExpectedAssignment]:
    """The six assignments of the kubelet identity, in the Bicep file's order. Without
    `kubelet_principal_id` (not known before the cluster exists) any principal holding the role
    on the resource satisfies the expectation."""
    resources = platform_resources(subscription_id, env_name, project_name=project_name)
    return expected_for(resources, kubelet_principal_id)


def expected_for(resources: PlatformResources, kubelet_principal_id: str | None) -> list[ExpectedAssignment]:
    """The kubelet identity's six assignments on resources as they were discovered (any names)."""
    return [
        ExpectedAssignment(principal=KUBELET, role_name=ROLE_NAMES[guid], role_guid=guid, scope_kind=kind,
                           scope_id=resources.scope_of(kind), principal_id=kubelet_principal_id or "")
        for guid, kind in _DESIGN
    ]


def discovered_platform(discovered: dict) -> PlatformResources:
    """PlatformResources from what portal.catalog.discovery stored (provisioning.discovery.Discovery):
    the ids Azure reported, "" for a resource that was not found."""
    ids = discovered.get("resources") or {}
    group = f"/subscriptions/{discovered.get('subscription_id', '')}/resourceGroups/{discovered.get('resource_group', '')}"
    return PlatformResources(resource_group=group, acr=ids.get("acr", ""), eventhubs=ids.get("eventhubs", ""),
                             keyvault=ids.get("keyvault", ""), storage=ids.get("storage", ""),
                             cosmos=ids.get("cosmos", ""))

"""Read an environment's shared resources from Azure instead of assuming their names (issue #10).

    1. the shared-infrastructure deployment's outputs (deployments.get_at_subscription_scope):
       resourceGroupName and the names it gave the cluster, Cosmos account, storage account, key vault
    2. a listing of that resource group (resources.list_by_resource_group), matched by ARM type; where
       a type has several resources, the one the outputs name
    3. the AKS cluster itself (resources.get_by_id): identityProfile.kubeletidentity.objectId (the
       principal the RBAC expectations are for) and nodeResourceGroup (where the node VMs bill)

A part that cannot be read is recorded in `errors` (part -> message) and the rest is still returned.
Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.transport import HttpTransport
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.resources import ResourceManagementClient

from provisioning.backends.azure import ARM_BASE_URL, client_options, cloud_error_from

# The shared resources by the key the portal uses for them, and their ARM type.
SHARED_TYPES: dict[str, str] = {
    "aks": "Microsoft.ContainerService/managedClusters",
    "cosmos": "Microsoft.DocumentDB/databaseAccounts",
    "redis": "Microsoft.Cache/redis",
    "eventhubs": "Microsoft.EventHub/namespaces",
    "storage": "Microsoft.Storage/storageAccounts",
    "keyvault": "Microsoft.KeyVault/vaults",
    "apim": "Microsoft.ApiManagement/service",
    "acr": "Microsoft.ContainerRegistry/registries",
}
# Outputs of bicep/shared-infrastructure that name a resource.
OUTPUT_NAMES: dict[str, str] = {
    "aksClusterName": "aks",
    "cosmosAccountName": "cosmos",
    "storageAccountName": "storage",
    "keyVaultName": "keyvault",
    "eventHubNamespaceName": "eventhubs",
}
AKS_API_VERSION = "2024-09-01"


@dataclass
class Discovery:
    """What was read: `resources` key -> ARM id, the kubelet identity's object id, the cluster's node
    resource group, and `errors` part -> message for what could not be read."""

    subscription_id: str
    resource_group: str
    resources: dict[str, str] = field(default_factory=dict)
    kubelet_principal_id: str = ""
    node_resource_group: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"subscription_id": self.subscription_id, "resource_group": self.resource_group,
                "resources": dict(self.resources), "kubelet_principal_id": self.kubelet_principal_id,
                "node_resource_group": self.node_resource_group, "errors": dict(self.errors)}


class AzureDiscovery:
    """Discovery in one subscription. `transport` replaces the HTTP layer (tests answer in-process)."""

    kind = "azure"

    def __init__(self, credential: TokenCredential, subscription_id: str,
                 transport: HttpTransport[Any, Any] | None = None, *, base_url: str = ARM_BASE_URL,
                 retry_total: int = 3, **client_kwargs: Any) -> None:
        options = client_options(transport, retry_total=retry_total, **client_kwargs)
        self.subscription_id = subscription_id
        self.deployments = DeploymentsMgmtClient(credential, subscription_id, base_url, **options)
        self.resources = ResourceManagementClient(credential, subscription_id, base_url, **options)

    def close(self) -> None:
        self.deployments.close()
        self.resources.close()

    def discover(self, *, resource_group: str, deployment_name: str = "") -> Discovery:
        found = Discovery(self.subscription_id, resource_group)
        wanted_names: dict[str, str] = {}
        output_principal = ""
        if deployment_name:
            try:
                deployment = self.deployments.deployments.get_at_subscription_scope(deployment_name)
                outputs = (deployment.properties.outputs if deployment.properties else None) or {}
                values = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in outputs.items()}
                found.resource_group = str(values.get("resourceGroupName") or resource_group)
                wanted_names = {OUTPUT_NAMES[k]: str(v) for k, v in values.items() if k in OUTPUT_NAMES and v}
                output_principal = str(values.get("aksKubeletPrincipalId") or "")
            except AzureError as exc:
                found.errors["outputs"] = str(cloud_error_from(exc))
        try:
            listed = list(self.resources.resources.list_by_resource_group(found.resource_group))
        except AzureError as exc:
            found.errors["resources"] = str(cloud_error_from(exc))
            listed = []
        by_type: dict[str, list[Any]] = {}
        for resource in listed:
            by_type.setdefault((resource.type or "").lower(), []).append(resource)
        for key, arm_type in SHARED_TYPES.items():
            candidates = by_type.get(arm_type.lower(), [])
            named = [r for r in candidates if (r.name or "").lower() == wanted_names.get(key, "").lower()]
            chosen = named or (candidates if len(candidates) == 1 else [])
            if chosen:
                found.resources[key] = chosen[0].id or ""
            elif listed or "resources" not in found.errors:
                found.errors.setdefault(key, f"no {arm_type} in {found.resource_group}"
                                        + (f" ({len(candidates)} found, none named by the outputs)"
                                           if candidates else ""))
        if "aks" in found.resources:
            try:
                cluster = self.resources.resources.get_by_id(found.resources["aks"], api_version=AKS_API_VERSION)
                props = cluster.properties or {}
                kubelet = ((props.get("identityProfile") or {}).get("kubeletidentity") or {})
                found.kubelet_principal_id = str(kubelet.get("objectId") or "")
                found.node_resource_group = str(props.get("nodeResourceGroup") or "")
                if not found.kubelet_principal_id:
                    found.errors["kubelet"] = "the cluster reports no identityProfile.kubeletidentity"
            except AzureError as exc:
                found.errors["kubelet"] = str(cloud_error_from(exc))
        if not found.kubelet_principal_id and output_principal:
            found.kubelet_principal_id = output_principal
        return found


__all__ = ["OUTPUT_NAMES", "SHARED_TYPES", "AzureDiscovery", "Discovery"]

"""Role assignments of the platform: the roles it grants, what it expects to find and what it finds.

Two kinds of assignment make up the AKS kubelet identity's access:

    rbac     Azure RBAC (Microsoft.Authorization/roleAssignments) on the registry, the Event Hubs
             namespace, the key vault and the storage account, listed through ARM at a scope;
    cosmos   Cosmos DB's own data-plane RBAC (Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments),
             which an Azure RBAC listing never shows: it is read from the Cosmos account.

Roles are compared by the GUID at the end of the role definition id, without case, so a role
definition id written at subscription scope, at management group scope or as a Cosmos
`sqlRoleDefinitions` id all name the same role. Nothing here imports Django or Azure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, Protocol

# --- Built-in role definitions (GUID at the end of the role definition id) ----------------------

ACR_PULL: Final = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
EVENT_HUBS_DATA_SENDER: Final = "2b629674-e913-4c01-ae53-ef4638d8f975"
EVENT_HUBS_DATA_RECEIVER: Final = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
KEY_VAULT_SECRETS_USER: Final = "4633458b-17de-408a-b874-0445c86b69e6"
STORAGE_BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
COSMOS_DATA_CONTRIBUTOR: Final = "00000000-0000-0000-0000-000000000002"   # Cosmos data plane

OWNER: Final = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR: Final = "b24988ac-6180-42a0-ab88-20f7a4e6b93c"
USER_ACCESS_ADMINISTRATOR: Final = "18d7d88d-d35e-4fb6-a5c3-7773c20a72d9"

# Roles that let a principal change the platform or hand out access to it: none is part of the
# design, so one on the platform's scopes is reported as unexpected.
BROAD_ROLES: Final[dict[str, str]] = {
    OWNER: "Owner",
    CONTRIBUTOR: "Contributor",
    USER_ACCESS_ADMINISTRATOR: "User Access Administrator",
}

ROLE_NAMES: Final[dict[str, str]] = {
    ACR_PULL: "AcrPull",
    EVENT_HUBS_DATA_SENDER: "Azure Event Hubs Data Sender",
    EVENT_HUBS_DATA_RECEIVER: "Azure Event Hubs Data Receiver",
    KEY_VAULT_SECRETS_USER: "Key Vault Secrets User",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    COSMOS_DATA_CONTRIBUTOR: "Cosmos DB Built-in Data Contributor",
    **BROAD_ROLES,
}

ScopeKind = Literal["acr", "eventhubs", "keyvault", "storage", "cosmos-data-plane"]
AssignmentKind = Literal["rbac", "cosmos"]
COSMOS_DATA_PLANE: Final = "cosmos-data-plane"

_TRAILING_GUID = re.compile(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/*$", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def role_guid_of(role_definition_id: str) -> str:
    """The role's GUID, lowercased, from the end of a role definition id (or a bare GUID); "" when
    the id does not end with one."""
    match = _TRAILING_GUID.search(role_definition_id.strip())
    return match.group(1).lower() if match else ""


def is_guid(value: str) -> bool:
    return _GUID.fullmatch(value) is not None


def normalize_scope(scope: str) -> str:
    """ARM compares ids without case; a trailing slash changes nothing."""
    return "/" + scope.strip().strip("/").lower()


def scope_covers(outer: str, inner: str) -> bool:
    """Whether `inner` is `outer` or lies below it (an assignment at `outer` applies at `inner`).
    Compared by path segment: ".../resourceGroups/rg" does not cover ".../resourceGroups/rg2"."""
    outer_n, inner_n = normalize_scope(outer), normalize_scope(inner)
    return outer_n in ("/", inner_n) or inner_n.startswith(outer_n + "/")


# --- What is expected, and what is found --------------------------------------------------------

@dataclass(frozen=True)
class ExpectedAssignment:
    """One role assignment the design calls for. `principal` is a label ("aks-kubelet");
    `principal_id` its object id when known ("" matches any principal holding the role)."""

    principal: str
    role_name: str
    role_guid: str
    scope_kind: ScopeKind
    scope_id: str
    principal_id: str = ""

    @property
    def data_plane(self) -> bool:
        return self.scope_kind == COSMOS_DATA_PLANE


@dataclass(frozen=True)
class ActualAssignment:
    """One role assignment as Azure (or the sandbox) reports it; `role_guid` is lowercased."""

    id: str
    principal_id: str
    role_guid: str
    scope: str
    kind: AssignmentKind
    principal_type: str = ""          # "ServicePrincipal", "User", "Group", ...; "" when not reported
    role_definition_id: str = ""

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role_guid, self.role_guid)


class RbacBackend(Protocol):
    def list_assignments(self, scope: str) -> list[ActualAssignment]:
        """Azure RBAC assignments at `scope` or below it (kind "rbac"); inherited ones from above
        the scope are left out. Raises provisioning.backends.base.CloudError when Azure cannot be
        asked."""
        ...

    def list_cosmos_assignments(self, account_id: str) -> list[ActualAssignment]:
        """The Cosmos DB account's data-plane (SQL) role assignments (kind "cosmos"). Raises
        CloudError when Azure cannot be asked."""
        ...

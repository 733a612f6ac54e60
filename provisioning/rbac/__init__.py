"""The AKS kubelet identity's role assignments: what the design expects (expected), what Azure or
the sandbox has (the RbacBackend in base; sandbox), and the comparison (audit).

`provisioning.rbac.azure` (the authorization and Cosmos DB SDKs) is not imported here, so the
audit and the sandbox work without them.
"""

from .audit import AuditMatch, AuditReport, audit, audit_environment, audit_resources
from .base import (
    ACR_PULL,
    BROAD_ROLES,
    CONTRIBUTOR,
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    OWNER,
    ROLE_NAMES,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    USER_ACCESS_ADMINISTRATOR,
    ActualAssignment,
    ExpectedAssignment,
    RbacBackend,
    role_guid_of,
    scope_covers,
)
from .expected import (
    KUBELET,
    PlatformResources,
    expected_assignments,
    platform_resources,
    platform_scopes,
)
from .sandbox import SANDBOX_KUBELET_PRINCIPAL_ID, SandboxRbac

__all__ = [
    "ACR_PULL",
    "BROAD_ROLES",
    "CONTRIBUTOR",
    "COSMOS_DATA_CONTRIBUTOR",
    "EVENT_HUBS_DATA_RECEIVER",
    "EVENT_HUBS_DATA_SENDER",
    "KEY_VAULT_SECRETS_USER",
    "KUBELET",
    "OWNER",
    "ROLE_NAMES",
    "SANDBOX_KUBELET_PRINCIPAL_ID",
    "STORAGE_BLOB_DATA_CONTRIBUTOR",
    "USER_ACCESS_ADMINISTRATOR",
    "ActualAssignment",
    "AuditMatch",
    "AuditReport",
    "ExpectedAssignment",
    "PlatformResources",
    "RbacBackend",
    "SandboxRbac",
    "audit",
    "audit_environment",
    "audit_resources",
    "expected_assignments",
    "platform_resources",
    "platform_scopes",
    "role_guid_of",
    "scope_covers",
]

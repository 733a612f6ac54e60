"""The cloud interface the portal deploys through. Azure and the sandbox both implement it, and one
contract test suite (tests/provisioning/test_cloud_contract.py) runs against both.

Nothing here imports Django: the portal's services hand a backend plain data and store what it
returns on their own rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol


# --- What a deployment is made of --------------------------------------------------------------

@dataclass(frozen=True)
class ResourceSpec:
    """One resource a template declares, as the sandbox walks it (and as a what-if names it)."""

    type: str                      # e.g. "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
    name: str                      # the resource's name, parameters substituted where they can be
    symbol: str = ""               # the Bicep symbolic name
    module: str = ""               # "" at top level, else the module path, e.g. "modules/agent.bicep"
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateSpec:
    """A template ready to deploy: its name, the resources it declares (from the Bicep source), and,
    when a compiler produced one (or the file was ARM JSON), the ARM template Azure needs."""

    name: str                                  # e.g. "agent", "shared-infrastructure"
    resources: tuple[ResourceSpec, ...] = ()
    arm_template: dict[str, Any] | None = None
    content_hash: str = ""                     # sha256 of the source: approvals bind to it


# --- What a backend answers ---------------------------------------------------------------------

class ChangeType:
    CREATE = "Create"
    DELETE = "Delete"
    IGNORE = "Ignore"
    DEPLOY = "Deploy"
    NO_CHANGE = "NoChange"
    MODIFY = "Modify"
    UNSUPPORTED = "Unsupported"


@dataclass(frozen=True)
class PropertyChange:
    """One changed property of a Modify: its path, ARM's propertyChangeType (Create, Delete, Modify,
    Array, NoEffect) and the values before and after (None when there is none)."""

    path: str
    change_type: str
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class WhatIfChange:
    change_type: str               # one of ChangeType
    resource_id: str
    resource_type: str = ""
    resource_name: str = ""
    delta: tuple[str, ...] = ()    # property paths that change, for Modify
    properties: tuple[PropertyChange, ...] = ()   # before -> after of each path (Azure; the sandbox keeps hashes)
    unsupported_reason: str = ""   # why what-if cannot tell, for Unsupported


@dataclass(frozen=True)
class WhatIfResult:
    status: str                    # "Succeeded" or "Failed"
    changes: tuple[WhatIfChange, ...] = ()
    error: CloudError | None = None


class ProvisioningState:
    ACCEPTED = "Accepted"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINAL = frozenset({"Succeeded", "Failed", "Canceled"})


@dataclass(frozen=True)
class ResourceOperation:
    """One line of `deployment_operations`: a resource moving through its states."""

    operation_id: str
    resource_type: str
    resource_name: str
    provisioning_state: str        # ProvisioningState
    status_code: str = ""          # e.g. "OK", "Created", "Conflict"
    error: CloudError | None = None


@dataclass(frozen=True)
class DeploymentStatus:
    deployment_name: str
    provisioning_state: str        # ProvisioningState
    correlation_id: str = ""
    operations: tuple[ResourceOperation, ...] = ()
    error: CloudError | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentHandle:
    """What begin_deploy returns: enough to resume polling in another process."""

    deployment_name: str
    continuation_token: str = ""
    correlation_id: str = ""
    adopted: bool = False          # ARM was already running a deployment by that name: it is followed, not started
    resource_group: str = ""       # the resource group it deploys into; "" at subscription scope


@dataclass(eq=False)
class CloudError(Exception):
    """An ARM-shaped error: code, message, nested details; `transient` says whether to retry."""

    code: str
    message: str
    details: tuple[CloudError, ...] = ()
    transient: bool = False
    retry_after: float | None = None   # seconds, from Retry-After when Azure sent one

    def __str__(self):
        return f"{self.code}: {self.message}"


class ErrorCode:
    """ARM error codes the portal acts on, spelled as ARM spells them (both backends raise these)."""

    DEPLOYMENT_NOT_FOUND = "DeploymentNotFound"                    # 404 on an unknown deployment name
    DEPLOYMENT_ACTIVE = "DeploymentActive"                        # 409: PUT over a running deployment
    DEPLOYMENT_CANNOT_BE_CANCELLED = "DeploymentCannotBeCancelled"  # 409: cancel of a finished one
    DEPLOYMENT_FAILED = "DeploymentFailed"                        # a deployment's error; details say why
    NO_COMPILED_TEMPLATE = "NoCompiledTemplate"                   # ours: no ARM JSON to send to Azure
    NO_API_VERSION = "NoApiVersion"                               # ours: a delete of a type we know no version of
    NO_CREDENTIAL = "NoAzureCredential"                           # ours: no credential could give a token
    RESOURCE_GROUP_NOT_FOUND = "ResourceGroupNotFound"            # 404: a resource-group deployment's group is not there


def resource_group_not_found(name: str) -> CloudError:
    """ARM's answer to a deployment (or what-if, status, cancel) at the scope of a resource group that does not
    exist."""
    return CloudError(code=ErrorCode.RESOURCE_GROUP_NOT_FOUND, message=f"Resource group '{name}' could not be found.")


# What the portal says, once, instead of DefaultAzureCredential's list of every credential it tried.
NO_CREDENTIAL_MESSAGE = (
    "The portal has no Azure credential: run `az login` where the portal and its worker run, or give them "
    "the workload identity's AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE (or a service "
    "principal's AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET).")


def is_missing_credential(exc: BaseException) -> bool:
    """An azure-identity failure to get a token at all (no HTTP answer from Azure), as opposed to a 401
    from Azure for a token it refused."""
    from azure.core.exceptions import ClientAuthenticationError

    return isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None


class DeleteOutcome:
    DELETED = "Deleted"            # it was there and now it is gone
    NOT_FOUND = "NotFound"         # it was already gone: a repeated delete ends here, and that is fine
    FAILED = "Failed"              # ARM refused or the delete failed; DeleteResult.error says why


@dataclass(frozen=True)
class DeleteResult:
    resource_id: str               # as the caller passed it
    outcome: str                   # one of DeleteOutcome
    error: CloudError | None = None   # set when outcome is Failed


# --- Resource ids -------------------------------------------------------------------------------

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"


def resource_id(subscription_id: str, resource_group: str | None, resource_type: str, name: str) -> str:
    """The ARM id of a resource, child types interleaved with their names as ARM writes them:
    ("Microsoft.DocumentDB/databaseAccounts/sqlDatabases", "acct/db") ->
    ".../providers/Microsoft.DocumentDB/databaseAccounts/acct/sqlDatabases/db". A resource group is
    "/subscriptions/{sub}/resourceGroups/{name}"; resource_group=None means subscription level. A name
    with fewer segments than the type (a child named without its parents) is appended whole."""
    if resource_type.lower() == RESOURCE_GROUP_TYPE.lower():
        return f"/subscriptions/{subscription_id}/resourceGroups/{name}"
    scope = f"/subscriptions/{subscription_id}"
    if resource_group:
        scope += f"/resourceGroups/{resource_group}"
    namespace, *types = resource_type.split("/")
    names = name.split("/")
    if len(names) == len(types):
        path = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
    else:
        path = f"{'/'.join(types)}/{name}"
    return f"{scope}/providers/{namespace}/{path}"


def parse_resource_id(rid: str) -> tuple[str, str]:
    """(type, name) of an ARM resource id, the inverse of resource_id(); ("", "") when it is not one."""
    parts = [p for p in rid.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" in lowered:
        at = len(lowered) - 1 - lowered[::-1].index("providers")
        namespace, rest = parts[at + 1:at + 2], parts[at + 2:]
        if not namespace or len(rest) < 2 or len(rest) % 2:
            return "", ""
        return "/".join(namespace + rest[0::2]), "/".join(rest[1::2])
    if len(parts) == 4 and lowered[2] == "resourcegroups":
        return RESOURCE_GROUP_TYPE, parts[3]
    return "", ""


# --- API versions for deleting by id ----------------------------------------------------------

# ARM's DELETE by resource id needs the resource provider's API version for the type. These are the
# versions the portal's Bicep templates deploy with; pass `api_versions` to delete_resources to add
# types or override these.
DEFAULT_API_VERSIONS: Mapping[str, str] = MappingProxyType({
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers": "2024-11-15",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.Search/searchServices": "2023-11-01",
    "Microsoft.CognitiveServices/accounts": "2024-10-01",
})


def api_version_for(resource_type: str, overrides: Mapping[str, str] | None = None) -> str:
    """The API version to address `resource_type` with: from `overrides` (type -> version), else
    DEFAULT_API_VERSIONS, types compared without case. A type in neither raises
    CloudError(NoApiVersion): guessing a version would only move the failure to ARM."""
    wanted = resource_type.lower()
    for versions in (overrides or {}, DEFAULT_API_VERSIONS):
        for known, version in versions.items():
            if known.lower() == wanted:
                return version
    raise CloudError(
        code=ErrorCode.NO_API_VERSION,
        message=(f"No API version known for resource type '{resource_type}': pass one in api_versions "
                 f"(known: {', '.join(sorted(DEFAULT_API_VERSIONS))})."),
    )


def api_versions_for(resource_ids: Sequence[str],
                     overrides: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(resource id, API version) for each id, in order, all resolved before anything is deleted: an id
    that is not an ARM resource id, or of a type with no known version, raises CloudError(NoApiVersion)."""
    if isinstance(resource_ids, str):
        raise TypeError("resource_ids must be a sequence of resource ids, not one string")
    pairs = []
    for rid in resource_ids:
        resource_type, _ = parse_resource_id(rid)
        if not resource_type:
            raise CloudError(code=ErrorCode.NO_API_VERSION, message=f"'{rid}' is not an ARM resource id.")
        pairs.append((rid, api_version_for(resource_type, overrides)))
    return pairs


# --- The interface ------------------------------------------------------------------------------

class CloudBackend(Protocol):
    """Deployments at subscription scope, or, with `resource_group`, into that resource group (a template
    whose targetScope is 'resourceGroup'). `deployment_name` is deterministic (the portal derives it from
    the run), so a re-delivered task that calls begin_deploy again finds the same deployment rather
    than starting a second one. A name is unique per scope: the same name at subscription scope and in
    a resource group are two deployments, so get_status and cancel are given the scope begin_deploy was.

    A resource group that does not exist raises CloudError(ResourceGroupNotFound), as ARM answers 404,
    from what_if, begin_deploy, get_status and cancel alike; resource-group scope never creates one.
    At resource-group scope `location` is not sent: the deployment lives in the group's region."""

    kind: str  # "sandbox" or "azure"

    def what_if(self, *, deployment_name: str, location: str, template: TemplateSpec,
                parameters: dict[str, Any], mode: str = "Incremental",
                resource_group: str | None = None) -> WhatIfResult: ...

    def begin_deploy(self, *, deployment_name: str, location: str, template: TemplateSpec,
                     parameters: dict[str, Any], resource_group: str | None = None) -> DeploymentHandle: ...

    def get_status(self, *, deployment_name: str, resource_group: str | None = None) -> DeploymentStatus: ...

    def cancel(self, *, deployment_name: str, resource_group: str | None = None) -> None: ...

    def delete_resources(self, *, resource_ids: Sequence[str],
                         api_versions: Mapping[str, str] | None = None) -> list[DeleteResult]:
        """Delete resources by ARM id, one after another, and wait for each delete to finish: one
        DeleteResult per id, in order. Idempotent: an id that is already gone is NotFound, not an error,
        so a retried task deletes nothing twice. A delete ARM refuses (409, 400, ...) is a Failed result
        and the rest still run. A transient error (429, 408, 5xx, ARM unreachable) raises
        CloudError(transient=True) instead, and the caller retries the whole call. `api_versions`
        (resource type -> version) adds to or overrides DEFAULT_API_VERSIONS; an id whose type has no
        version raises CloudError(NoApiVersion) before anything is deleted."""
        ...

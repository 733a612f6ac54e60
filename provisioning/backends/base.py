"""The cloud interface the portal deploys through. Azure and the sandbox both implement it, and one
contract test suite (tests/provisioning/test_cloud_contract.py) runs against both.

Nothing here imports Django: the portal's services hand a backend plain data and store what it
returns on their own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
class WhatIfChange:
    change_type: str               # one of ChangeType
    resource_id: str
    resource_type: str = ""
    resource_name: str = ""
    delta: tuple[str, ...] = ()    # property paths that change, for Modify


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


# --- The interface ------------------------------------------------------------------------------

class CloudBackend(Protocol):
    """Subscription-scope deployments. `deployment_name` is deterministic (the portal derives it from
    the run), so a re-delivered task that calls begin_deploy again finds the same deployment rather
    than starting a second one."""

    kind: str  # "sandbox" or "azure"

    def what_if(self, *, deployment_name: str, location: str, template: TemplateSpec,
                parameters: dict[str, Any]) -> WhatIfResult: ...

    def begin_deploy(self, *, deployment_name: str, location: str, template: TemplateSpec,
                     parameters: dict[str, Any]) -> DeploymentHandle: ...

    def get_status(self, *, deployment_name: str) -> DeploymentStatus: ...

    def cancel(self, *, deployment_name: str) -> None: ...

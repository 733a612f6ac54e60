"""The Kubernetes interface the portal runs agent services through. The AKS cluster (through the
official client) and the in-memory sandbox both implement it, and one contract test suite
(tests/provisioning/test_cluster_contract.py) runs against both.

Nothing here imports Django or the Kubernetes client: callers hand a backend plain data and get
plain data back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

# --- Conventions of the platform (see the design document) --------------------------------------

DEFAULT_NAMESPACE = "agents"
POOL_LABEL = "agentpool"                      # AKS also sets kubernetes.azure.com/agentpool
AGENT_POOL = "agents"
AGENT_TOLERATION = "workload=agents:NoSchedule"
PART_OF = "holiday-peak-hub"
MANAGED_BY = "peak-portal"
CONTAINER_PORT = 8000
SERVICE_PORT = 80
WORKLOAD_TYPE = "apps/v1/Deployment"           # what an agent's workload is, as the portal names it
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"

NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"

# Environment variables the agent reads its memory settings from.
ENV_REDIS_DB = "REDIS_DB"
ENV_COSMOS_CONTAINER = "COSMOS_CONTAINER"
ENV_BLOB_CONTAINER = "BLOB_CONTAINER"
MEMORY_ENV = frozenset({ENV_REDIS_DB, ENV_COSMOS_CONTAINER, ENV_BLOB_CONTAINER})

# A Service name is an RFC 1035 label; Deployment names are looser, so this rule covers both.
_DNS_1035_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def format_taint(key: str, value: str | None, effect: str) -> str:
    """The `kubectl taint` form: "workload=agents:NoSchedule", or "key:Effect" without a value."""
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def parse_taint(taint: str) -> tuple[str, str | None, str]:
    """Inverse of format_taint: "workload=agents:NoSchedule" -> ("workload", "agents", "NoSchedule")."""
    key_value, sep, effect = taint.rpartition(":")
    if not sep or not key_value or not effect:
        raise ValueError(f"not a taint: {taint!r} (expected key=value:Effect)")
    key, _, value = key_value.partition("=")
    return key, value or None, effect


def workload_labels(name: str) -> dict[str, str]:
    """Labels on the Deployment, its pods and its Service."""
    return {NAME_LABEL: name, PART_OF_LABEL: PART_OF, MANAGED_BY_LABEL: MANAGED_BY}


def selector_labels(name: str) -> dict[str, str]:
    """The Deployment's selector and the Service's selector. Kept to one label: a Deployment's
    selector cannot change after creation."""
    return {NAME_LABEL: name}


# --- What a backend is given --------------------------------------------------------------------

@dataclass(frozen=True)
class AgentWorkloadSpec:
    """One agent service as the portal wants it to run: a Deployment and a ClusterIP Service.

    `env` holds extra variables; the memory settings have their own fields and cannot be set
    through `env` as well.
    """

    name: str                          # the agent's slug, e.g. "crm-campaign-intelligence"
    image: str                         # e.g. "holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence"
    tag: str
    replicas: int = 1
    cpu_request: str = "250m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"
    redis_db: int | None = None
    cosmos_container: str = ""         # e.g. "warm-{agent}-chat-memory"; "" leaves the variable out
    blob_container: str = ""           # e.g. "cold-{agent}-chat-memory"; "" leaves the variable out
    health_path: str = "/health"
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _DNS_1035_LABEL.fullmatch(self.name):
            raise ValueError(f"workload name {self.name!r} is not a DNS-1035 label "
                             "(lowercase letters, digits and '-', starting with a letter, 1-63 chars)")
        if not self.image or not self.tag:
            raise ValueError("image and tag are required")
        if ":" in self.tag or "@" in self.tag:
            raise ValueError(f"tag {self.tag!r} must be a bare tag, not a reference")
        if self.replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {self.replicas}")
        if self.redis_db is not None and not 0 <= self.redis_db <= 63:
            raise ValueError(f"redis_db must be 0-63, got {self.redis_db}")
        if not self.health_path.startswith("/"):
            raise ValueError(f"health_path must start with '/', got {self.health_path!r}")
        clashes = MEMORY_ENV & self.env.keys()
        if clashes:
            raise ValueError(f"set {', '.join(sorted(clashes))} through the spec's memory fields, not env")

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"

    def container_env(self) -> dict[str, str]:
        """Every variable the container gets, memory settings first, then `env` sorted by name."""
        out: dict[str, str] = {}
        if self.redis_db is not None:
            out[ENV_REDIS_DB] = str(self.redis_db)
        if self.cosmos_container:
            out[ENV_COSMOS_CONTAINER] = self.cosmos_container
        if self.blob_container:
            out[ENV_BLOB_CONTAINER] = self.blob_container
        out.update(sorted(self.env.items()))
        return out


# --- What a backend answers ---------------------------------------------------------------------

@dataclass(frozen=True)
class NodeState:
    name: str
    ready: bool
    taints: tuple[str, ...] = ()       # format_taint form, e.g. "workload=agents:NoSchedule"
    pool: str = ""                     # the node's `agentpool` label; "" when it has none


@dataclass(frozen=True)
class NodePoolState:
    name: str
    nodes: tuple[NodeState, ...] = ()

    @property
    def size(self) -> int:
        return len(self.nodes)

    @property
    def ready_count(self) -> int:
        return sum(node.ready for node in self.nodes)


@dataclass(frozen=True)
class WorkloadState:
    """An agent's Deployment (and Service) as the cluster reports it."""

    name: str
    image: str                                   # "image:tag" of the agent container
    desired_replicas: int
    ready_replicas: int = 0
    available_replicas: int = 0
    restarts: int = 0                            # sum of restartCount over the pods' containers
    generation: int = 0                          # bumps on every spec change, restarts included
    restarted_at: str | None = None              # the kubectl.kubernetes.io/restartedAt annotation
    conditions: tuple[str, ...] = ()             # e.g. ("Available=True", "Progressing=True")
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[str, ...] = ()            # format_taint form
    env: dict[str, str] = field(default_factory=dict)
    service_ports: tuple[tuple[int, int | str], ...] = ()   # (port, targetPort); () without a Service

    @property
    def tag(self) -> str:
        return self.image.rpartition(":")[2] if ":" in self.image.rpartition("/")[2] else ""

    @property
    def healthy(self) -> bool:
        return self.available_replicas >= self.desired_replicas


@dataclass(eq=False)
class ClusterError(Exception):
    """A failed cluster call: `code` is the Kubernetes Status reason (e.g. "Forbidden", "Invalid",
    "ServiceUnavailable") or "ConnectionError"/"Timeout"; `transient` says whether to retry."""

    code: str
    message: str
    transient: bool = False
    status: int | None = None          # the HTTP status, when there was a response
    retry_after: float | None = None   # seconds, from Retry-After when the API server sent one

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- The interface ------------------------------------------------------------------------------

class ClusterBackend(Protocol):
    """One AKS cluster's agent workloads. Every method acts on the backend's namespace."""

    kind: str  # "sandbox" or "kubernetes"
    namespace: str

    def list_node_pools(self) -> list[NodePoolState]:
        """Pools sorted by name, nodes sorted by name within each."""
        ...

    def apply_agent_workload(self, spec: AgentWorkloadSpec) -> WorkloadState:
        """Create or update the agent's Deployment and Service. Applying the same spec twice
        changes nothing (in particular, it does not restart the pods)."""
        ...

    def get_workload(self, name: str) -> WorkloadState | None: ...

    def scale(self, name: str, replicas: int) -> WorkloadState:
        """Raises ClusterError("NotFound") when there is no such workload."""
        ...

    def restart(self, name: str) -> WorkloadState:
        """A rollout restart. Raises ClusterError("NotFound") when there is no such workload."""
        ...

    def delete_workload(self, name: str) -> bool:
        """Delete the Deployment and Service; False when neither existed."""
        ...

"""Agent workloads on the platform's AKS cluster: the ClusterBackend interface (base), the real
cluster through the official Kubernetes client (kubernetes), and an in-memory twin (sandbox).

`kubernetes` is not imported here, so the sandbox works without the client installed.
"""

from .base import (
    AgentWorkloadSpec,
    ClusterBackend,
    ClusterError,
    NodePoolState,
    NodeState,
    WorkloadState,
)
from .sandbox import DEFAULT_POOLS, PoolSpec, SandboxCluster

__all__ = [
    "DEFAULT_POOLS",
    "AgentWorkloadSpec",
    "ClusterBackend",
    "ClusterError",
    "NodePoolState",
    "NodeState",
    "PoolSpec",
    "SandboxCluster",
    "WorkloadState",
]

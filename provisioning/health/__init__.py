"""Health of the platform: checks of the AKS node pools, the agents' Deployments and health
endpoints, and Azure Resource Health, each answering a CheckResult (green, amber, red, or unknown
when the check could not run).

`provisioning.health.azure` (the Resource Health SDK) is not imported here, so the checks and the
sandbox work without it.
"""

from .base import (
    AMBER,
    GREEN,
    RED,
    UNKNOWN,
    AvailabilityState,
    CheckResult,
    HealthState,
    ResourceHealthBackend,
    worst_state,
)
from .checks import (
    DESIGNED_POOLS,
    PoolExpectation,
    check_agent_workload,
    check_http,
    check_node_pools,
    check_resource_health,
)
from .sandbox import SandboxResourceHealth

__all__ = [
    "AMBER",
    "DESIGNED_POOLS",
    "GREEN",
    "RED",
    "UNKNOWN",
    "AvailabilityState",
    "CheckResult",
    "HealthState",
    "PoolExpectation",
    "ResourceHealthBackend",
    "SandboxResourceHealth",
    "check_agent_workload",
    "check_http",
    "check_node_pools",
    "check_resource_health",
    "worst_state",
]

"""What a health check answers, and the Resource Health interface the checks read Azure through.

A check either observed the thing it checks and says green, amber or red, or it could not look
(no credentials, the API server or ARM unreachable, access denied) and says "unknown" with the
reason. A check that could not run is never green.

Nothing here imports Django, Azure or the Kubernetes client: results are plain data, and
`details` holds JSON values only, so the portal can store a result as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

HealthState = Literal["green", "amber", "red", "unknown"]

GREEN: Final = "green"
AMBER: Final = "amber"
RED: Final = "red"
UNKNOWN: Final = "unknown"

# Worst first: what an overview shows when it folds several results into one.
_SEVERITY: Final[dict[HealthState, int]] = {RED: 3, AMBER: 2, UNKNOWN: 1, GREEN: 0}


@dataclass(frozen=True)
class CheckResult:
    """One check of one target: `key` names the check ("node-pool", "workload", "resource-health",
    "http"), `target` what it looked at (a pool, an agent, a resource id, a URL)."""

    key: str
    target: str
    state: HealthState
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == GREEN


def worst_state(states: Iterable[HealthState]) -> HealthState:
    """red > amber > unknown > green; green for no states at all."""
    return max(states, key=_SEVERITY.__getitem__, default=GREEN)


def unknown(key: str, target: str, reason: str, **details: Any) -> CheckResult:
    """The check could not run: the state is unknown and the summary says why."""
    return CheckResult(key, target, UNKNOWN, f"check could not run: {reason}", {"reason": reason, **details})


# --- Azure Resource Health ----------------------------------------------------------------------

class AvailabilityState:
    """Resource Health's availabilityState values, spelled as Azure spells them."""

    AVAILABLE: Final = "Available"
    DEGRADED: Final = "Degraded"
    UNAVAILABLE: Final = "Unavailable"
    UNKNOWN: Final = "Unknown"
    ALL: Final = frozenset({"Available", "Degraded", "Unavailable", "Unknown"})


class ResourceHealthBackend(Protocol):
    def availability(self, resource_id: str) -> tuple[str, str]:
        """(availabilityState, summary) of an ARM resource: the state is one of AvailabilityState
        (Azure's spelling; "Unknown" for anything else). Raises provisioning.backends.base.CloudError
        when Azure cannot be asked (no credentials, 401/403, ARM unreachable, no status for the id)."""
        ...

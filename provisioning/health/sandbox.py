"""Resource Health for the sandbox: every resource Available unless a fault says otherwise.

    SandboxResourceHealth({"*/Microsoft.Cache/redis/*": "Degraded"})

Faults map a glob over resource ids (compared without case, as ARM compares ids) to an
availability state; the first glob in the mapping that matches wins. The mapping is plain JSON
and is used in place, so a caller may keep it between requests.
"""

from __future__ import annotations

import fnmatch
from typing import Final

from .base import AvailabilityState

_SUMMARIES: Final[dict[str, str]] = {
    AvailabilityState.AVAILABLE: "There aren't any known Azure platform problems affecting this resource.",
    AvailabilityState.DEGRADED: "This resource is running in a degraded state (sandbox fault {glob}).",
    AvailabilityState.UNAVAILABLE: "This resource is unavailable (sandbox fault {glob}).",
    AvailabilityState.UNKNOWN: "Resource Health has no current status for this resource (sandbox fault {glob}).",
}


class SandboxResourceHealth:
    kind = "sandbox"

    def __init__(self, faults: dict[str, str] | None = None) -> None:
        self.faults: dict[str, str] = {} if faults is None else faults
        for glob, state in list(self.faults.items()):
            self.faults[glob] = _normalized(state)

    def set_fault(self, id_glob: str, state: str) -> None:
        self.faults[id_glob] = _normalized(state)

    def clear_faults(self) -> None:
        self.faults.clear()

    def availability(self, resource_id: str) -> tuple[str, str]:
        for glob, state in self.faults.items():
            if fnmatch.fnmatchcase(resource_id.lower(), glob.lower()):
                return state, _SUMMARIES[state].format(glob=glob)
        return AvailabilityState.AVAILABLE, _SUMMARIES[AvailabilityState.AVAILABLE]


def _normalized(state: str) -> str:
    for known in AvailabilityState.ALL:
        if known.lower() == state.lower():
            return known
    raise ValueError(f"not an availability state: {state!r} (expected one of {sorted(AvailabilityState.ALL)})")


__all__ = ["SandboxResourceHealth"]

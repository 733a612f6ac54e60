"""An in-memory twin of the AKS cluster, for demos and tests.

All state lives in one plain dict of JSON values (the `state` passed in, mutated in place), so a
caller can store it as JSON between requests and hand it back:

    {
      "namespace": "agents",
      "nodes": [{"name": "aks-agents-00000000-vmss000000", "pool": "agents",
                 "taints": ["workload=agents:NoSchedule"]}, ...],
      "workloads": {"<agent>": {"spec": {...}, "generation": 1, "restarted_at": null}},
      "faults": {"not_ready_nodes": ["<node>"], "crash_looping": {"<agent>": <restarts>}},
    }

Pods are not modelled: replicas are ready and available as soon as they are asked for, unless a
fault says otherwise. A crash-looping workload has no ready replicas, and each of its pods reports
the given number of restarts.

The sandbox cloud's failing `Fault`s (`faults=`, the admin's "Sandbox faults") also reach the cluster:
one whose glob matches a workload's name, or its type `apps/v1/Deployment`, refuses every write to
that workload (apply, scale, restart) with the fault's code, as an API server refuses a write
(admission, quota, RBAC): a ClusterError that is not transient, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provisioning.backends.sandbox import Fault

from .base import (
    AGENT_POOL,
    AGENT_TOLERATION,
    CONTAINER_PORT,
    DEFAULT_NAMESPACE,
    POOL_LABEL,
    SERVICE_PORT,
    WORKLOAD_TYPE,
    AgentWorkloadSpec,
    ClusterError,
    NodePoolState,
    NodeState,
    WorkloadState,
    workload_labels,
)


@dataclass(frozen=True)
class PoolSpec:
    name: str
    node_count: int
    taints: tuple[str, ...] = ()


# The design document's pools, at a small dev size (system 1-5, agents 2-20, crud 1-10 nodes).
DEFAULT_POOLS: tuple[PoolSpec, ...] = (
    PoolSpec("system", 2),
    PoolSpec("agents", 3, ("workload=agents:NoSchedule",)),
    PoolSpec("crud", 1, ("workload=crud:NoSchedule",)),
)


def node_name(pool: str, index: int) -> str:
    """Named like AKS's VMSS nodes: aks-agents-00000000-vmss000000, ...vmss000001, ..."""
    return f"aks-{pool}-00000000-vmss{index:06d}"


class SandboxCluster:
    kind = "sandbox"

    def __init__(
        self,
        state: dict[str, Any] | None = None,
        *,
        pools: Iterable[PoolSpec] = DEFAULT_POOLS,
        namespace: str = DEFAULT_NAMESPACE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        faults: Iterable[Fault] = (),
    ) -> None:
        """A state that already has nodes keeps them; `pools` only seeds a new one."""
        self.state: dict[str, Any] = {} if state is None else state
        self.state.setdefault("namespace", namespace)
        self.namespace: str = self.state["namespace"]
        if "nodes" not in self.state:
            self.state["nodes"] = [
                {"name": node_name(pool.name, i), "pool": pool.name, "taints": list(pool.taints)}
                for pool in pools for i in range(pool.node_count)
            ]
        self.state.setdefault("workloads", {})
        state_faults = self.state.setdefault("faults", {})
        state_faults.setdefault("not_ready_nodes", [])
        state_faults.setdefault("crash_looping", {})
        self._clock = clock
        self.faults = tuple(faults)

    # --- Fault injection ----------------------------------------------------------------------

    def mark_node_not_ready(self, name: str) -> None:
        if not any(node["name"] == name for node in self.state["nodes"]):
            raise ClusterError("NotFound", f"node {name} not found", status=404)
        not_ready: list[str] = self.state["faults"]["not_ready_nodes"]
        if name not in not_ready:
            not_ready.append(name)

    def mark_crash_looping(self, name: str, restarts: int) -> None:
        """The workload's pods keep crashing: no ready replicas, each pod restarted `restarts`
        times (WorkloadState.restarts sums them, as it does on a real cluster)."""
        self.state["faults"]["crash_looping"][name] = restarts

    def clear_faults(self) -> None:
        self.state["faults"] = {"not_ready_nodes": [], "crash_looping": {}}

    # --- ClusterBackend -----------------------------------------------------------------------

    def list_node_pools(self) -> list[NodePoolState]:
        not_ready = set(self.state["faults"]["not_ready_nodes"])
        pools: dict[str, list[NodeState]] = {}
        for node in self.state["nodes"]:
            pools.setdefault(node["pool"], []).append(NodeState(
                name=node["name"],
                ready=node["name"] not in not_ready,
                taints=tuple(node["taints"]),
                pool=node["pool"],
            ))
        return [NodePoolState(name=pool, nodes=tuple(sorted(members, key=lambda n: n.name)))
                for pool, members in sorted(pools.items())]

    def apply_agent_workload(self, spec: AgentWorkloadSpec) -> WorkloadState:
        self._refuse_if_faulted(spec.name)
        desired = _workload_spec(spec)
        record = self.state["workloads"].get(spec.name)
        if record is None:
            self.state["workloads"][spec.name] = {"spec": desired, "generation": 1, "restarted_at": None}
        elif record["spec"] != desired:
            record["spec"] = desired
            record["generation"] += 1
        return self._state_of(spec.name)

    def get_workload(self, name: str) -> WorkloadState | None:
        if name not in self.state["workloads"]:
            return None
        return self._state_of(name)

    def scale(self, name: str, replicas: int) -> WorkloadState:
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {replicas}")
        record = self._record(name)
        self._refuse_if_faulted(name)
        if record["spec"]["replicas"] != replicas:
            record["spec"]["replicas"] = replicas
            record["generation"] += 1
        return self._state_of(name)

    def restart(self, name: str) -> WorkloadState:
        record = self._record(name)
        self._refuse_if_faulted(name)
        record["restarted_at"] = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        record["generation"] += 1
        return self._state_of(name)

    def delete_workload(self, name: str) -> bool:
        self.state["faults"]["crash_looping"].pop(name, None)
        return self.state["workloads"].pop(name, None) is not None

    # --- Helpers ------------------------------------------------------------------------------

    def _refuse_if_faulted(self, name: str) -> None:
        fault = next((f for f in self.faults if f.matches_name(name, WORKLOAD_TYPE)), None)
        if fault is not None and fault.kind == "fail":
            raise ClusterError(fault.code, fault.message or f"The sandbox refused {WORKLOAD_TYPE} '{name}' on "
                                                            "purpose.")

    def _record(self, name: str) -> dict[str, Any]:
        record: dict[str, Any] | None = self.state["workloads"].get(name)
        if record is None:
            raise ClusterError("NotFound", f"deployment {name} not found in {self.namespace}", status=404)
        return record

    def _state_of(self, name: str) -> WorkloadState:
        record = self._record(name)
        spec = record["spec"]
        replicas: int = spec["replicas"]
        crash_restarts: int | None = self.state["faults"]["crash_looping"].get(name)
        crashing = crash_restarts is not None
        available = 0 if crashing else replicas
        return WorkloadState(
            name=name,
            image=spec["image"],
            desired_replicas=replicas,
            ready_replicas=available,
            available_replicas=available,
            restarts=(crash_restarts or 0) * replicas,
            generation=record["generation"],
            restarted_at=record["restarted_at"],
            conditions=(f"Available={'False' if crashing else 'True'}", "Progressing=True"),
            node_selector=dict(spec["node_selector"]),
            tolerations=tuple(spec["tolerations"]),
            env=dict(spec["env"]),
            service_ports=tuple((port, target) for port, target in spec["service_ports"]),
        )


def _workload_spec(spec: AgentWorkloadSpec) -> dict[str, Any]:
    """What the sandbox keeps of a spec: JSON values only, so the state survives a round trip."""
    return {
        "image": spec.image_ref,
        "replicas": spec.replicas,
        "labels": workload_labels(spec.name),
        "resources": {
            "requests": {"cpu": spec.cpu_request, "memory": spec.memory_request},
            "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        },
        "env": spec.container_env(),
        "health_path": spec.health_path,
        "node_selector": {POOL_LABEL: AGENT_POOL},
        "tolerations": [AGENT_TOLERATION],
        "service_ports": [[SERVICE_PORT, CONTAINER_PORT]],
    }

"""The platform's health checks, as plain functions over the backends.

    check_node_pools       the AKS pools against the design: Ready nodes vs the minimum, taints
    check_agent_workload   an agent's Deployment: available replicas vs desired, restarts
    check_resource_health  Azure Resource Health's availability of one resource
    check_http             an agent's health endpoint over HTTP

A backend error (ClusterError, CloudError) means the check could not look: the result is "unknown"
with the reason, never green. An agent endpoint that does not answer is different: the check ran
and the agent is down, so that is red.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from provisioning.backends.base import CloudError
from provisioning.cluster.base import ClusterBackend, ClusterError, NodePoolState

from .base import (
    AMBER,
    GREEN,
    RED,
    UNKNOWN,
    AvailabilityState,
    CheckResult,
    HealthState,
    ResourceHealthBackend,
    unknown,
    worst_state,
)

NODE_POOL_KEY = "node-pool"
WORKLOAD_KEY = "workload"
RESOURCE_HEALTH_KEY = "resource-health"
HTTP_KEY = "http"

# Taints Kubernetes and the cluster autoscaler put on and take off nodes by themselves (not ready,
# unreachable, cordoned, being scaled down): not part of a pool's design, so not compared.
MANAGED_TAINT_PREFIXES: tuple[str, ...] = (
    "node.kubernetes.io/",
    "node.cloudprovider.kubernetes.io/",
    "ToBeDeletedByClusterAutoscaler",
    "DeletionCandidateOfClusterAutoscaler",
)


# --- Node pools ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolExpectation:
    """A pool as designed: its name (the nodes' `agentpool` label), the fewest Ready nodes it may
    have (the autoscaler's minimum), and its taints in `kubectl taint` form."""

    name: str
    min_nodes: int
    taints: tuple[str, ...] = ()


# The design document: system 1-5 nodes; agents 2-20, tainted; crud 1-10, tainted.
DESIGNED_POOLS: tuple[PoolExpectation, ...] = (
    PoolExpectation("system", 1),
    PoolExpectation("agents", 2, ("workload=agents:NoSchedule",)),
    PoolExpectation("crud", 1, ("workload=crud:NoSchedule",)),
)


def check_node_pools(cluster: ClusterBackend,
                     expected: Iterable[PoolExpectation] = DESIGNED_POOLS) -> list[CheckResult]:
    """One result per expected pool, in the order given: red when fewer nodes are Ready than the
    minimum or a node's taints differ from the design (the summary names the difference), amber
    when the pool has enough Ready nodes but some are not Ready. Taints Kubernetes manages itself
    (MANAGED_TAINT_PREFIXES) are left out of the comparison."""
    expectations = list(expected)
    try:
        pools = {pool.name: pool for pool in cluster.list_node_pools()}
    except ClusterError as exc:
        return [_cluster_unknown(NODE_POOL_KEY, pool.name, exc) for pool in expectations]
    return [_pool_result(pool, pools.get(pool.name)) for pool in expectations]


def _pool_result(expected: PoolExpectation, pool: NodePoolState | None) -> CheckResult:
    nodes = pool.nodes if pool is not None else ()
    ready = sum(node.ready for node in nodes)
    not_ready = [node.name for node in nodes if not node.ready]
    designed = set(expected.taints)
    taint_problems: dict[str, dict[str, list[str]]] = {}
    for node in nodes:
        actual = {t for t in node.taints if not t.startswith(MANAGED_TAINT_PREFIXES)}
        missing, extra = sorted(designed - actual), sorted(actual - designed)
        if missing or extra:
            taint_problems[node.name] = {"missing": missing, "unexpected": extra}

    problems: list[tuple[HealthState, str]] = []
    if pool is None:
        problems.append((RED, f"pool not found (expected at least {expected.min_nodes} Ready nodes)"))
    elif ready < expected.min_nodes:
        problems.append((RED, f"{ready} of {len(nodes)} nodes Ready, fewer than the minimum {expected.min_nodes}"))
    elif not_ready:
        problems.append((AMBER, f"{ready} of {len(nodes)} nodes Ready ({', '.join(not_ready)} not Ready)"))
    for node_name, diff in taint_problems.items():
        parts = [f"lacks {', '.join(diff['missing'])}"] if diff["missing"] else []
        parts += [f"has unexpected {', '.join(diff['unexpected'])}"] if diff["unexpected"] else []
        problems.append((RED, f"taints differ on {node_name}: {'; '.join(parts)}"))

    if problems:
        state = worst_state(s for s, _ in problems)
        summary = "; ".join(text for _, text in problems)
    else:
        state = GREEN
        summary = f"{ready} of {len(nodes)} nodes Ready (minimum {expected.min_nodes}), taints as designed"
    return CheckResult(NODE_POOL_KEY, expected.name, state, summary, {
        "found": pool is not None,
        "nodes": len(nodes),
        "ready": ready,
        "min_nodes": expected.min_nodes,
        "not_ready": not_ready,
        "expected_taints": sorted(designed),
        "taint_differences": taint_problems,
    })


# --- Agent workloads ----------------------------------------------------------------------------

def check_agent_workload(cluster: ClusterBackend, agent_name: str, restart_threshold: int = 3) -> CheckResult:
    """An agent's Deployment: red when it is missing ("not deployed") or none of its replicas is
    available; amber when fewer are available than desired, when it is scaled to zero, or when its
    pods restarted more than `restart_threshold` times in all."""
    try:
        workload = cluster.get_workload(agent_name)
    except ClusterError as exc:
        return _cluster_unknown(WORKLOAD_KEY, agent_name, exc)
    if workload is None:
        return CheckResult(WORKLOAD_KEY, agent_name, RED, "not deployed", {"deployed": False})

    desired, available = workload.desired_replicas, workload.available_replicas
    problems: list[tuple[HealthState, str]] = []
    if desired == 0:
        problems.append((AMBER, "scaled to 0 replicas"))
    elif available == 0:
        problems.append((RED, f"0 of {desired} replicas available"))
    elif available < desired:
        problems.append((AMBER, f"{available} of {desired} replicas available"))
    if workload.restarts > restart_threshold:
        problems.append((AMBER, f"{workload.restarts} container restarts (threshold {restart_threshold})"))

    if problems:
        state = worst_state(s for s, _ in problems)
        summary = "; ".join(text for _, text in problems)
    else:
        state, summary = GREEN, f"{available} of {desired} replicas available"
    return CheckResult(WORKLOAD_KEY, agent_name, state, summary, {
        "deployed": True,
        "image": workload.image,
        "desired_replicas": desired,
        "ready_replicas": workload.ready_replicas,
        "available_replicas": available,
        "restarts": workload.restarts,
        "restart_threshold": restart_threshold,
        "conditions": list(workload.conditions),
    })


def _cluster_unknown(key: str, target: str, exc: ClusterError) -> CheckResult:
    return unknown(key, target, f"cluster unavailable ({exc})", error_code=exc.code,
                   transient=exc.transient, status=exc.status)


# --- Azure Resource Health ----------------------------------------------------------------------

_AVAILABILITY_STATES: dict[str, HealthState] = {
    AvailabilityState.AVAILABLE.lower(): GREEN,
    AvailabilityState.DEGRADED.lower(): AMBER,
    AvailabilityState.UNAVAILABLE.lower(): RED,
    AvailabilityState.UNKNOWN.lower(): UNKNOWN,
}


def check_resource_health(health_backend: ResourceHealthBackend, resource_id: str) -> CheckResult:
    """Available -> green, Degraded -> amber, Unavailable -> red; Unknown (or anything else) ->
    unknown. Azure that cannot be asked (CloudError) -> unknown with the reason."""
    try:
        availability, summary = health_backend.availability(resource_id)
    except CloudError as exc:
        return unknown(RESOURCE_HEALTH_KEY, resource_id, f"Resource Health unavailable ({exc})",
                       error_code=exc.code, transient=exc.transient)
    state = _AVAILABILITY_STATES.get(availability.lower(), UNKNOWN)
    text = f"{availability}: {summary}" if summary else availability
    return CheckResult(RESOURCE_HEALTH_KEY, resource_id, state, text,
                       {"availability_state": availability, "resource_summary": summary})


# --- HTTP health endpoints ----------------------------------------------------------------------

_BODY_PREVIEW = 200


def check_http(url: str, timeout: float = 5.0, opener: urllib.request.OpenerDirector | None = None) -> CheckResult:
    """GET `url` (redirects followed): any 2xx is green; another status is red, naming it; no
    answer (refused, DNS, timeout, dropped connection) is red "unreachable". `opener` defaults to
    urllib's (which honours the *_proxy environment variables)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"health URL must be http or https, got {url!r}")
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "peak-portal-health/1"})
    started = time.monotonic()
    details: dict[str, Any] = {"url": url, "timeout": timeout}
    try:
        if opener is None:
            response = urllib.request.urlopen(request, timeout=timeout)
        else:
            response = opener.open(request, timeout=timeout)
        with response:
            status = int(response.status)
            preview = response.read(_BODY_PREVIEW)
    except urllib.error.HTTPError as exc:   # a non-2xx answer that urllib turned into an error
        status, preview = exc.code, b""
        if exc.fp is not None:
            try:
                preview = exc.fp.read(_BODY_PREVIEW)
            except (OSError, http.client.HTTPException):
                pass   # the status is the answer; the body is only shown
            finally:
                exc.close()
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        details.update(elapsed_ms=_elapsed_ms(started), error=str(reason) or type(reason).__name__)
        return CheckResult(HTTP_KEY, url, RED, f"unreachable: {details['error']}", details)
    details.update(status=status, elapsed_ms=_elapsed_ms(started),
                   body=preview.decode("utf-8", errors="replace"))
    if 200 <= status < 300:
        return CheckResult(HTTP_KEY, url, GREEN, f"HTTP {status}", details)
    return CheckResult(HTTP_KEY, url, RED, f"HTTP {status}", details)


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

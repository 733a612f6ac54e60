"""Health checks: node pools and agent workloads against the fake Kubernetes API server (through the
official client) and the sandbox cluster; Azure Resource Health through the real SDK answered
in-process; agent health endpoints against a local HTTP server. A check that cannot run says
"unknown" with the reason, never green."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.core.credentials import AccessToken
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import CredentialUnavailableError
from kubernetes import client

from provisioning.cluster import AgentWorkloadSpec, ClusterBackend, SandboxCluster
from provisioning.cluster.kubernetes import KubernetesCluster
from provisioning.cluster.sandbox import node_name
from provisioning.health import (
    AMBER,
    DESIGNED_POOLS,
    GREEN,
    RED,
    UNKNOWN,
    CheckResult,
    PoolExpectation,
    SandboxResourceHealth,
    check_agent_workload,
    check_http,
    check_node_pools,
    check_resource_health,
    worst_state,
)
from provisioning.health.azure import AzureResourceHealth
from tests.provisioning.arm_transport import FakeCredential, FakeResponse, InProcessTransport
from tests.provisioning.fake_k8s import FakeKubernetesServer

NS = "agents"
AGENT = "crm-campaign-intelligence"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
RG_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/holidaypeakhub-dev-rg"
REDIS_ID = f"{RG_ID}/providers/Microsoft.Cache/redis/holidaypeakhub-dev-redis"
COSMOS_ID = f"{RG_ID}/providers/Microsoft.DocumentDB/databaseAccounts/holidaypeakhub-dev-cosmos"
ACR_ID = f"{RG_ID}/providers/Microsoft.ContainerRegistry/registries/holidaypeakhubdevacr"
AKS_ID = f"{RG_ID}/providers/Microsoft.ContainerService/managedClusters/holidaypeakhub-dev-aks"


def agent_spec(replicas: int = 2) -> AgentWorkloadSpec:
    return AgentWorkloadSpec(name=AGENT, image="holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence",
                             tag="1.0.0", replicas=replicas)


def by_target(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.target: result for result in results}


# --- Clusters: the fake API server (official client) and the sandbox ----------------------------



def kubernetes_cluster(base_url: str) -> KubernetesCluster:
    return KubernetesCluster(client.ApiClient(client.Configuration(host=base_url)), NS,
                             request_timeout=(2.0, 5.0))


@dataclass
class Harness:
    cluster: ClusterBackend
    make_node_not_ready: Callable[[str], None]
    crash_loop: Callable[[str, int], None]
    set_taints: Callable[[str, list[str]], None]


@pytest.fixture(params=["kubernetes", "sandbox"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "kubernetes":
        server: FakeKubernetesServer = request.getfixturevalue("fake_k8s")

        def set_taints(node: str, taints: list[str]) -> None:
            parsed = []
            for taint in taints:
                key_value, _, effect = taint.rpartition(":")
                key, _, value = key_value.partition("=")
                parsed.append({"key": key, "effect": effect} | ({"value": value} if value else {}))
            server.objects[("nodes", "", node)]["spec"]["taints"] = parsed

        cluster = kubernetes_cluster(server.base_url)
        yield Harness(cluster, lambda node: server.set_node_ready(node, False),
                      lambda name, restarts: server.crash_loop(NS, name, restarts), set_taints)
        cluster.api_client.close()  # type: ignore[no-untyped-call]
        return
    sandbox = SandboxCluster()

    def set_sandbox_taints(node: str, taints: list[str]) -> None:
        next(n for n in sandbox.state["nodes"] if n["name"] == node)["taints"] = taints

    yield Harness(sandbox, sandbox.mark_node_not_ready, sandbox.mark_crash_looping, set_sandbox_taints)


# --- Node pools ---------------------------------------------------------------------------------

def test_designed_pools_are_green(harness: Harness) -> None:
    results = check_node_pools(harness.cluster, DESIGNED_POOLS)

    assert [r.target for r in results] == ["system", "agents", "crud"]
    assert {r.state for r in results} == {GREEN}
    agents = by_target(results)["agents"]
    assert agents.key == "node-pool"
    assert agents.summary == "3 of 3 nodes Ready (minimum 2), taints as designed"
    assert agents.details["expected_taints"] == ["workload=agents:NoSchedule"]
    json.dumps([r.details for r in results])   # storable as it is


def test_pool_with_a_node_not_ready_but_enough_ready_is_amber(harness: Harness) -> None:
    harness.make_node_not_ready(node_name("agents", 1))

    agents = by_target(check_node_pools(harness.cluster))["agents"]

    assert agents.state == AMBER
    assert agents.summary == f"2 of 3 nodes Ready ({node_name('agents', 1)} not Ready)"
    assert agents.details["not_ready"] == [node_name("agents", 1)]


def test_pool_with_fewer_ready_nodes_than_its_minimum_is_red(harness: Harness) -> None:
    harness.make_node_not_ready(node_name("agents", 0))
    harness.make_node_not_ready(node_name("agents", 2))
    harness.make_node_not_ready(node_name("crud", 0))

    results = by_target(check_node_pools(harness.cluster))

    assert results["agents"].state == RED
    assert results["agents"].summary == "1 of 3 nodes Ready, fewer than the minimum 2"
    assert results["crud"].state == RED
    assert results["crud"].summary == "0 of 1 nodes Ready, fewer than the minimum 1"
    assert results["system"].state == GREEN


def test_taints_that_differ_from_the_design_are_red_and_named(harness: Harness) -> None:
    harness.set_taints(node_name("agents", 2), [])
    harness.set_taints(node_name("crud", 0), ["workload=agents:NoSchedule"])
    harness.set_taints(node_name("system", 1), ["CriticalAddonsOnly=true:NoSchedule"])

    results = by_target(check_node_pools(harness.cluster))

    assert results["agents"].state == RED
    assert results["agents"].summary == (
        f"taints differ on {node_name('agents', 2)}: lacks workload=agents:NoSchedule")
    assert results["crud"].summary == (
        f"taints differ on {node_name('crud', 0)}: lacks workload=crud:NoSchedule; "
        "has unexpected workload=agents:NoSchedule")
    assert results["system"].state == RED
    assert results["system"].details["taint_differences"] == {
        node_name("system", 1): {"missing": [], "unexpected": ["CriticalAddonsOnly=true:NoSchedule"]}}


def test_taints_kubernetes_manages_itself_are_not_compared(harness: Harness) -> None:
    """The node controller taints a NotReady node; that is the readiness problem, not a design one."""
    node = node_name("agents", 0)
    harness.make_node_not_ready(node)
    harness.set_taints(node, ["workload=agents:NoSchedule", "node.kubernetes.io/not-ready:NoExecute",
                              "node.kubernetes.io/unreachable:NoSchedule"])

    agents = by_target(check_node_pools(harness.cluster))["agents"]

    assert agents.state == AMBER
    assert agents.details["taint_differences"] == {}


def test_a_pool_the_cluster_does_not_have_is_red(harness: Harness) -> None:
    results = check_node_pools(harness.cluster, [PoolExpectation("gpu", 1, ("sku=gpu:NoSchedule",))])

    assert [(r.target, r.state, r.summary) for r in results] == [
        ("gpu", RED, "pool not found (expected at least 1 Ready nodes)")]
    assert results[0].details["found"] is False


# --- Agent workloads ----------------------------------------------------------------------------

def test_a_healthy_workload_is_green(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())

    result = check_agent_workload(harness.cluster, AGENT)

    assert (result.key, result.target, result.state) == ("workload", AGENT, GREEN)
    assert result.summary == "2 of 2 replicas available"
    assert result.details["image"] == "holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence:1.0.0"


def test_a_missing_deployment_is_red_not_deployed(harness: Harness) -> None:
    result = check_agent_workload(harness.cluster, "inventory-health-check")

    assert (result.state, result.summary) == (RED, "not deployed")


def test_a_crash_looping_workload_is_red_with_its_restarts(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())
    harness.crash_loop(AGENT, 4)

    result = check_agent_workload(harness.cluster, AGENT)

    assert result.state == RED
    assert result.summary == "0 of 2 replicas available; 8 container restarts (threshold 3)"
    assert result.details["restarts"] == 8


def test_a_workload_scaled_to_zero_is_amber(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec(replicas=0))

    result = check_agent_workload(harness.cluster, AGENT)

    assert (result.state, result.summary) == (AMBER, "scaled to 0 replicas")


def test_fewer_available_replicas_than_desired_is_amber(fake_k8s: FakeKubernetesServer) -> None:
    cluster = kubernetes_cluster(fake_k8s.base_url)
    cluster.apply_agent_workload(agent_spec(replicas=3))
    fake_k8s.objects[("deployments", NS, AGENT)]["status"]["availableReplicas"] = 2   # one pod rolling

    result = check_agent_workload(cluster, AGENT)

    assert (result.state, result.summary) == (AMBER, "2 of 3 replicas available")


def test_restarts_above_the_threshold_are_amber_even_when_available(fake_k8s: FakeKubernetesServer) -> None:
    cluster = kubernetes_cluster(fake_k8s.base_url)
    cluster.apply_agent_workload(agent_spec())
    for (resource, _, _), obj in fake_k8s.objects.items():
        if resource == "pods":
            obj["status"]["containerStatuses"][0]["restartCount"] = 2   # 4 in all

    assert check_agent_workload(cluster, AGENT, restart_threshold=4).state == GREEN
    result = check_agent_workload(cluster, AGENT, restart_threshold=3)
    assert (result.state, result.summary) == (AMBER, "4 container restarts (threshold 3)")
    assert result.details["available_replicas"] == 2


# --- When the cluster cannot be asked -----------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_api_server_makes_every_cluster_check_unknown() -> None:
    cluster = kubernetes_cluster(f"http://127.0.0.1:{closed_port()}")

    pools = check_node_pools(cluster)
    workload = check_agent_workload(cluster, AGENT)

    for result in [*pools, workload]:
        assert result.state == UNKNOWN
        assert result.summary.startswith("check could not run: cluster unavailable (ConnectionError: ")
        assert result.details["error_code"] == "ConnectionError"
        assert result.details["transient"] is True
    assert [r.target for r in pools] == ["system", "agents", "crud"]


def test_a_forbidden_api_server_makes_the_check_unknown(fake_k8s: FakeKubernetesServer) -> None:
    fake_k8s.fail_next(403, path_contains="/deployments/")

    result = check_agent_workload(kubernetes_cluster(fake_k8s.base_url), AGENT)

    assert result.state == UNKNOWN
    assert result.details["error_code"] == "Forbidden"
    assert result.details["status"] == 403
    assert "injected fault: Forbidden" in result.summary


# --- Azure Resource Health ----------------------------------------------------------------------

_AVAILABILITY_PATH = re.compile(r"^(?P<rid>/subscriptions/.+)/providers/Microsoft\.ResourceHealth/"
                                r"availabilityStatuses/current$", re.IGNORECASE)


class FakeResourceHealth(InProcessTransport):
    """Answers GET {resource}/providers/Microsoft.ResourceHealth/availabilityStatuses/current from
    `statuses` (resource id -> (availabilityState, summary)); 404 for other resources; 401 for
    everything when `unauthorized`."""

    def __init__(self, statuses: dict[str, tuple[str | None, str]] | None = None) -> None:
        self.statuses = {rid.lower(): status for rid, status in (statuses or {}).items()}
        self.unauthorized = False
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.requests.append(request)
        if self.unauthorized:
            return FakeResponse(request, 401, {"error": {
                "code": "InvalidAuthenticationToken", "message": "The access token is invalid."}},
                {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                     'error="invalid_token"'})
        url = urlsplit(request.url)
        match = _AVAILABILITY_PATH.match(url.path)
        if request.method != "GET" or match is None:
            return FakeResponse(request, 400, {"error": {"code": "BadRequest", "message": url.path}})
        status = self.statuses.get(match.group("rid").lower())
        if status is None:
            return FakeResponse(request, 404, {"error": {
                "code": "ResourceNotFound", "message": f"The Resource '{match.group('rid')}' was not found."}})
        state, summary = status
        return FakeResponse(request, 200, {
            "id": f"{match.group('rid')}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            "name": "current", "type": "Microsoft.ResourceHealth/AvailabilityStatuses", "location": "eastus2",
            "properties": {"availabilityState": state, "title": state or "", "summary": summary,
                           "reasonType": "Unplanned" if state not in (None, "Available") else "",
                           "occuredTime": "2026-11-28T12:00:00Z", "reportedTime": "2026-11-28T12:05:00Z"},
        })



@pytest.fixture
def resource_health() -> FakeResourceHealth:
    return FakeResourceHealth({
        ACR_ID: ("Available", "There aren't any known Azure platform problems affecting this resource."),
        COSMOS_ID: ("Degraded", "Some requests to this account are failing."),
        REDIS_ID: ("Unavailable", "The cache is unavailable: a platform upgrade is in progress."),
        AKS_ID: ("Unknown", "We are currently unable to determine the health of this resource."),
    })


@pytest.mark.parametrize(("rid", "state", "summary"), [
    (ACR_ID, GREEN, "Available: There aren't any known Azure platform problems affecting this resource."),
    (COSMOS_ID, AMBER, "Degraded: Some requests to this account are failing."),
    (REDIS_ID, RED, "Unavailable: The cache is unavailable: a platform upgrade is in progress."),
    (AKS_ID, UNKNOWN, "Unknown: We are currently unable to determine the health of this resource."),
])
def test_resource_health_availability_maps_to_a_colour(resource_health: FakeResourceHealth, rid: str,
                                                        state: str, summary: str) -> None:
    backend = AzureResourceHealth(FakeCredential(), SUBSCRIPTION, transport=resource_health)

    result = check_resource_health(backend, rid)

    assert (result.key, result.target, result.state, result.summary) == ("resource-health", rid, state, summary)
    request = resource_health.requests[-1]
    assert request.url == (f"https://management.azure.com{rid}/providers/Microsoft.ResourceHealth/"
                           "availabilityStatuses/current?api-version=2025-05-01")
    assert request.headers["Authorization"] == f"Bearer {FakeCredential.token}"


def test_resource_health_with_a_null_state_is_unknown(resource_health: FakeResourceHealth) -> None:
    resource_health.statuses[ACR_ID.lower()] = (None, "An availability-impacting event is in progress.")
    backend = AzureResourceHealth(FakeCredential(), SUBSCRIPTION, transport=resource_health)

    assert check_resource_health(backend, ACR_ID).state == UNKNOWN


def test_resource_health_answering_401_is_unknown_with_the_reason(resource_health: FakeResourceHealth) -> None:
    resource_health.unauthorized = True
    backend = AzureResourceHealth(FakeCredential(), SUBSCRIPTION, transport=resource_health)

    result = check_resource_health(backend, ACR_ID)

    assert result.state == UNKNOWN
    assert result.summary == ("check could not run: Resource Health unavailable "
                              "(InvalidAuthenticationToken: The access token is invalid.)")
    assert result.details["error_code"] == "InvalidAuthenticationToken"
    assert result.details["transient"] is False


class NoCredential:
    """What DefaultAzureCredential does where nothing is signed in."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise CredentialUnavailableError("DefaultAzureCredential failed to retrieve a token")


def test_resource_health_without_credentials_is_unknown(resource_health: FakeResourceHealth) -> None:
    backend = AzureResourceHealth(NoCredential(), SUBSCRIPTION, transport=resource_health)

    result = check_resource_health(backend, ACR_ID)

    assert result.state == UNKNOWN
    assert result.details["error_code"] == "NoAzureCredential"     # one sentence with the fix (issue #10)
    assert "The portal has no Azure credential: run `az login`" in result.summary
    assert "failed to retrieve a token" not in result.summary
    assert resource_health.requests == []


def test_resource_health_without_a_status_for_the_resource_is_unknown(resource_health: FakeResourceHealth) -> None:
    backend = AzureResourceHealth(FakeCredential(), SUBSCRIPTION, transport=resource_health)

    result = check_resource_health(backend, f"{RG_ID}/providers/Microsoft.KeyVault/vaults/holidaypeakhubdevkv")

    assert result.state == UNKNOWN
    assert result.details["error_code"] == "ResourceNotFound"


def test_sandbox_resource_health_is_available_unless_a_fault_says_otherwise() -> None:
    health = SandboxResourceHealth({"*/microsoft.cache/redis/*": "unavailable", "*-cosmos": "Degraded"})

    results = {rid: check_resource_health(health, rid) for rid in (ACR_ID, REDIS_ID, COSMOS_ID)}

    assert {rid: r.state for rid, r in results.items()} == {ACR_ID: GREEN, REDIS_ID: RED, COSMOS_ID: AMBER}
    assert results[REDIS_ID].details["availability_state"] == "Unavailable"
    assert health.availability(REDIS_ID) == health.availability(REDIS_ID)   # deterministic
    health.clear_faults()
    assert check_resource_health(health, REDIS_ID).state == GREEN
    with pytest.raises(ValueError, match="not an availability state"):
        health.set_fault("*", "Broken")


# --- Agent health endpoints over HTTP -----------------------------------------------------------

class _AgentHandler(BaseHTTPRequestHandler):
    """/health 200, /broken 500, /slow 200 once `release` is set (or after 5 s), else 404."""

    release: threading.Event

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.release.wait(5)
        status = {"/health": 200, "/slow": 200, "/broken": 500}.get(self.path, 404)
        body = json.dumps({"status": "ok" if status == 200 else "error"}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):   # the client gave up (the timeout test)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:   # noqa: A002 - the base class's name
        pass


@pytest.fixture
def agent_server() -> Iterator[str]:
    release = threading.Event()
    handler = type("Handler", (_AgentHandler,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def test_a_2xx_health_endpoint_is_green(agent_server: str) -> None:
    result = check_http(f"{agent_server}/health", timeout=5, opener=NO_PROXY)

    assert (result.key, result.state, result.summary) == ("http", GREEN, "HTTP 200")
    assert result.details["status"] == 200
    assert result.details["body"] == '{"status": "ok"}'


def test_a_5xx_health_endpoint_is_red_with_its_status(agent_server: str) -> None:
    result = check_http(f"{agent_server}/broken", timeout=5, opener=NO_PROXY)

    assert (result.state, result.summary) == (RED, "HTTP 500")
    assert result.details["body"] == '{"status": "error"}'


def test_the_default_opener_is_urllibs(agent_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert check_http(f"{agent_server}/nowhere", timeout=5).summary == "HTTP 404"


def test_a_closed_port_is_red_unreachable() -> None:
    result = check_http(f"http://127.0.0.1:{closed_port()}/health", timeout=2, opener=NO_PROXY)

    assert result.state == RED
    assert result.summary.startswith("unreachable: ")
    assert "refused" in result.summary.lower()


def test_a_health_endpoint_slower_than_the_timeout_is_red_unreachable(agent_server: str) -> None:
    result = check_http(f"{agent_server}/slow", timeout=0.2, opener=NO_PROXY)

    assert (result.state, result.summary) == (RED, "unreachable: timed out")


def test_only_http_urls_are_probed() -> None:
    with pytest.raises(ValueError, match="http or https"):
        check_http("file:///etc/passwd", timeout=1)


def test_worst_state_ranks_red_amber_unknown_green() -> None:
    assert worst_state([GREEN, UNKNOWN, AMBER]) == AMBER
    assert worst_state([GREEN, UNKNOWN]) == UNKNOWN
    assert worst_state([RED, AMBER]) == RED
    assert worst_state([]) == GREEN

"""One contract for both cluster backends: KubernetesCluster (the official client, over real HTTP,
against tests/provisioning/fake_k8s.py) and SandboxCluster. Each backend also has tests of what
only it does: the objects the API server stores and its errors; the sandbox's JSON state."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes import client

from provisioning.cluster import (
    AgentWorkloadSpec,
    ClusterBackend,
    ClusterError,
    PoolSpec,
    SandboxCluster,
)
from provisioning.backends.sandbox import Fault
from provisioning.cluster.kubernetes import STRATEGIC_MERGE_PATCH, KubernetesCluster
from provisioning.cluster.sandbox import node_name
from tests.provisioning.fake_k8s import FakeKubernetesServer

NS = "agents"
AGENT = "crm-campaign-intelligence"


class TickingClock:
    """Each call is one second later than the last."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def agent_spec(**changes: object) -> AgentWorkloadSpec:
    spec = AgentWorkloadSpec(
        name=AGENT,
        image="holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence",
        tag="1.0.0",
        replicas=2,
        cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi",
        redis_db=1,
        cosmos_container=f"warm-{AGENT}-chat-memory",
        blob_container=f"cold-{AGENT}-chat-memory",
        health_path="/health",
        env={"LOG_LEVEL": "INFO"},
    )
    return replace(spec, **changes)  # type: ignore[arg-type]


@dataclass
class Harness:
    """A backend plus the means to break it the way its real counterpart breaks."""

    cluster: ClusterBackend
    make_node_not_ready: Callable[[str], None]
    crash_loop: Callable[[str, int], None]   # (workload, restarts per pod)
    refuse_writes: Callable[[str], None]     # (workload): the API server refuses writes to it (403 Forbidden)




def api_client_for(base_url: str) -> client.ApiClient:
    return client.ApiClient(client.Configuration(host=base_url))


@pytest.fixture
def k8s_cluster(fake_k8s: FakeKubernetesServer) -> Iterator[KubernetesCluster]:
    with api_client_for(fake_k8s.base_url) as api_client:
        yield KubernetesCluster(api_client, NS, clock=TickingClock())


@pytest.fixture(params=["kubernetes", "sandbox"])
def harness(request: pytest.FixtureRequest) -> Harness:
    if request.param == "kubernetes":
        server: FakeKubernetesServer = request.getfixturevalue("fake_k8s")
        return Harness(
            cluster=request.getfixturevalue("k8s_cluster"),
            make_node_not_ready=lambda node: server.set_node_ready(node, False),
            crash_loop=lambda name, restarts: server.crash_loop(NS, name, restarts),
            refuse_writes=lambda name: [server.fail_next(403, method=method, path_contains=f"/deployments/{name}",
                                                         times=10) for method in ("PATCH", "PUT")],
        )
    sandbox = SandboxCluster(clock=TickingClock())

    def refuse_writes(name: str) -> None:
        sandbox.faults = (*sandbox.faults, Fault(name, "fail", "Forbidden", "quota exceeded"))

    return Harness(cluster=sandbox, make_node_not_ready=sandbox.mark_node_not_ready,
                   crash_loop=sandbox.mark_crash_looping, refuse_writes=refuse_writes)


# --- The contract -------------------------------------------------------------------------------

def test_node_pools_are_the_designed_three_with_their_taints(harness: Harness) -> None:
    pools = {pool.name: pool for pool in harness.cluster.list_node_pools()}

    assert sorted(pools) == ["agents", "crud", "system"]
    assert {name: pool.size for name, pool in pools.items()} == {"system": 2, "agents": 3, "crud": 1}
    assert all(pool.ready_count == pool.size for pool in pools.values())
    assert {node.taints for node in pools["agents"].nodes} == {("workload=agents:NoSchedule",)}
    assert {node.taints for node in pools["crud"].nodes} == {("workload=crud:NoSchedule",)}
    assert {node.taints for node in pools["system"].nodes} == {()}
    assert all(node.pool == name for name, pool in pools.items() for node in pool.nodes)


def test_apply_creates_the_workload_on_the_agents_pool(harness: Harness) -> None:
    state = harness.cluster.apply_agent_workload(agent_spec())

    assert state.name == AGENT
    assert state.image == "holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence:1.0.0"
    assert state.tag == "1.0.0"
    assert (state.desired_replicas, state.ready_replicas, state.available_replicas) == (2, 2, 2)
    assert state.restarts == 0
    assert state.healthy
    assert "Available=True" in state.conditions
    assert state.tolerations == ("workload=agents:NoSchedule",)
    assert state.node_selector == {"agentpool": "agents"}
    assert state.env == {
        "REDIS_DB": "1",
        "COSMOS_CONTAINER": "warm-crm-campaign-intelligence-chat-memory",
        "BLOB_CONTAINER": "cold-crm-campaign-intelligence-chat-memory",
        "LOG_LEVEL": "INFO",
    }
    assert state.service_ports == ((80, 8000),)
    assert state.generation == 1
    assert state.restarted_at is None
    assert harness.cluster.get_workload(AGENT) == state


def test_apply_without_redis_db_leaves_the_variable_out(harness: Harness) -> None:
    state = harness.cluster.apply_agent_workload(agent_spec(redis_db=None, env={}))

    assert "REDIS_DB" not in state.env


def test_applying_the_same_spec_twice_changes_nothing(harness: Harness) -> None:
    first = harness.cluster.apply_agent_workload(agent_spec())
    again = harness.cluster.apply_agent_workload(agent_spec())

    assert again == first


def test_applying_a_new_tag_updates_the_image_in_place(harness: Harness) -> None:
    first = harness.cluster.apply_agent_workload(agent_spec())
    updated = harness.cluster.apply_agent_workload(agent_spec(tag="1.1.0"))

    assert updated.image.endswith(":1.1.0")
    assert updated.generation == first.generation + 1
    assert harness.cluster.get_workload(AGENT) == updated


def test_scale_changes_the_replicas(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())

    up = harness.cluster.scale(AGENT, 5)
    assert (up.desired_replicas, up.ready_replicas, up.available_replicas) == (5, 5, 5)

    down = harness.cluster.scale(AGENT, 0)
    assert (down.desired_replicas, down.ready_replicas, down.available_replicas) == (0, 0, 0)
    assert harness.cluster.get_workload(AGENT) == down


def test_restart_stamps_the_pod_template_and_bumps_the_generation(harness: Harness) -> None:
    applied = harness.cluster.apply_agent_workload(agent_spec())

    first = harness.cluster.restart(AGENT)
    assert first.restarted_at == "2026-11-28T12:00:01.000000Z"
    assert first.generation == applied.generation + 1

    second = harness.cluster.restart(AGENT)
    assert second.restarted_at == "2026-11-28T12:00:02.000000Z"
    assert second.generation == first.generation + 1
    assert second.available_replicas == 2


def test_applying_after_a_restart_keeps_the_restart(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())
    restarted = harness.cluster.restart(AGENT)

    assert harness.cluster.apply_agent_workload(agent_spec()) == restarted


def test_a_missing_workload_is_none_and_cannot_be_scaled_or_restarted(harness: Harness) -> None:
    assert harness.cluster.get_workload("no-such-agent") is None
    for act in (lambda: harness.cluster.scale("no-such-agent", 2),
                lambda: harness.cluster.restart("no-such-agent")):
        with pytest.raises(ClusterError) as caught:
            act()
        assert (caught.value.code, caught.value.status, caught.value.transient) == ("NotFound", 404, False)


def test_delete_removes_the_workload_once(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())

    assert harness.cluster.delete_workload(AGENT) is True
    assert harness.cluster.get_workload(AGENT) is None
    assert harness.cluster.delete_workload(AGENT) is False


def test_a_node_that_is_not_ready_shows_not_ready(harness: Harness) -> None:
    node = node_name("agents", 1)

    harness.make_node_not_ready(node)

    pools = {pool.name: pool for pool in harness.cluster.list_node_pools()}
    assert {n.name: n.ready for n in pools["agents"].nodes} == {
        node_name("agents", 0): True, node: False, node_name("agents", 2): True}
    assert pools["agents"].ready_count == 2
    assert pools["system"].ready_count == 2


def test_a_crash_looping_workload_reports_restarts_and_no_ready_replicas(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())

    harness.crash_loop(AGENT, 4)

    state = harness.cluster.get_workload(AGENT)
    assert state is not None
    assert (state.desired_replicas, state.ready_replicas, state.available_replicas) == (2, 0, 0)
    assert state.restarts == 8   # 4 for each of the 2 pods
    assert "Available=False" in state.conditions
    assert not state.healthy


def test_a_refused_write_is_an_error_not_to_retry_and_changes_nothing(harness: Harness) -> None:
    harness.cluster.apply_agent_workload(agent_spec())

    harness.refuse_writes(AGENT)

    for act in (lambda: harness.cluster.apply_agent_workload(agent_spec(tag="2.0.0")),
                lambda: harness.cluster.scale(AGENT, 5),
                lambda: harness.cluster.restart(AGENT)):
        with pytest.raises(ClusterError) as caught:
            act()
        assert (caught.value.code, caught.value.transient) == ("Forbidden", False)
    state = harness.cluster.get_workload(AGENT)
    assert state is not None
    assert (state.tag, state.desired_replicas, state.restarted_at) == ("1.0.0", 2, None)


# --- KubernetesCluster: what the API server sees ----------------------------------------------

def test_kubernetes_apply_stores_the_deployment_and_service(fake_k8s: FakeKubernetesServer,
                                                            k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())

    deployment = fake_k8s.get("deployments", NS, AGENT)
    assert deployment is not None
    labels = {"app.kubernetes.io/name": AGENT, "app.kubernetes.io/part-of": "holiday-peak-hub",
              "app.kubernetes.io/managed-by": "peak-portal"}
    assert deployment["metadata"]["labels"] == labels
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/name": AGENT}}
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"] == labels
    pod_spec = template["spec"]
    assert pod_spec["nodeSelector"] == {"agentpool": "agents"}
    assert pod_spec["tolerations"] == [
        {"key": "workload", "operator": "Equal", "value": "agents", "effect": "NoSchedule"}]
    [container] = pod_spec["containers"]
    assert container["image"] == "holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence:1.0.0"
    assert container["env"] == [
        {"name": "REDIS_DB", "value": "1"},
        {"name": "COSMOS_CONTAINER", "value": "warm-crm-campaign-intelligence-chat-memory"},
        {"name": "BLOB_CONTAINER", "value": "cold-crm-campaign-intelligence-chat-memory"},
        {"name": "LOG_LEVEL", "value": "INFO"},
    ]
    assert container["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"},
                                      "limits": {"cpu": "1", "memory": "1Gi"}}
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}

    service = fake_k8s.get("services", NS, AGENT)
    assert service is not None
    assert service["metadata"]["labels"] == labels
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": AGENT}
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"}]

    pods = fake_k8s.list("pods", NS)
    assert len(pods) == 2
    assert {pod["spec"]["nodeName"] for pod in pods} <= {node_name("agents", i) for i in range(3)}


def test_kubernetes_reapply_replaces_in_place_and_keeps_the_cluster_ip(
        fake_k8s: FakeKubernetesServer, k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())
    deployment_uid = fake_k8s.get("deployments", NS, AGENT)["metadata"]["uid"]  # type: ignore[index]
    cluster_ip = fake_k8s.get("services", NS, AGENT)["spec"]["clusterIP"]  # type: ignore[index]

    k8s_cluster.apply_agent_workload(agent_spec(tag="1.1.0"))

    deployment = fake_k8s.get("deployments", NS, AGENT)
    service = fake_k8s.get("services", NS, AGENT)
    assert deployment is not None and service is not None
    assert deployment["metadata"]["uid"] == deployment_uid
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.1.0")
    assert service["spec"]["clusterIP"] == cluster_ip
    assert len(fake_k8s.list("deployments", NS)) == 1
    # The old pods went with the old template.
    assert {pod["spec"]["containers"][0]["image"] for pod in fake_k8s.list("pods", NS)} == {
        "holidaypeakhubdevacr.azurecr.io/crm-campaign-intelligence:1.1.0"}
    writes = [(r.method, r.path) for r in fake_k8s.requests if r.method in ("POST", "PUT")]
    assert writes.count(("PUT", f"/apis/apps/v1/namespaces/{NS}/deployments/{AGENT}")) == 1


def test_kubernetes_apply_takes_over_a_deployment_created_elsewhere(
        fake_k8s: FakeKubernetesServer, k8s_cluster: KubernetesCluster) -> None:
    fake_k8s.create("deployments", NS, {
        "metadata": {"name": AGENT, "labels": {"app.kubernetes.io/name": AGENT},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": AGENT}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": AGENT}},
                              "spec": {"containers": [{"name": "agent", "image": "old:0"}]}}},
    })

    state = k8s_cluster.apply_agent_workload(agent_spec())

    assert state.image.endswith(":1.0.0")
    assert state.tolerations == ("workload=agents:NoSchedule",)
    assert state.desired_replicas == 2
    stored = fake_k8s.get("deployments", NS, AGENT)
    assert stored is not None
    assert stored["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1"}
    assert stored["metadata"]["labels"]["app.kubernetes.io/part-of"] == "holiday-peak-hub"


def test_kubernetes_apply_retries_a_write_conflict(fake_k8s: FakeKubernetesServer,
                                                  k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())
    fake_k8s.fail_next(409, method="PUT", path_contains="/deployments/", reason="Conflict")

    state = k8s_cluster.apply_agent_workload(agent_spec(tag="1.1.0"))

    assert state.image.endswith(":1.1.0")


def test_kubernetes_patches_are_strategic_merge_patches(fake_k8s: FakeKubernetesServer,
                                                       k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())
    k8s_cluster.scale(AGENT, 3)
    k8s_cluster.restart(AGENT)

    patches = [(r.path, r.content_type, r.body) for r in fake_k8s.requests if r.method == "PATCH"]
    base = f"/apis/apps/v1/namespaces/{NS}/deployments/{AGENT}"
    assert patches == [
        (f"{base}/scale", STRATEGIC_MERGE_PATCH, {"spec": {"replicas": 3}}),
        (base, STRATEGIC_MERGE_PATCH, {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": "2026-11-28T12:00:01.000000Z"}}}}}),
    ]
    stored = fake_k8s.get("deployments", NS, AGENT)
    assert stored is not None
    assert stored["spec"]["template"]["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/restartedAt": "2026-11-28T12:00:01.000000Z"}


def test_kubernetes_delete_takes_the_pods_and_service(fake_k8s: FakeKubernetesServer,
                                                      k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())

    k8s_cluster.delete_workload(AGENT)

    assert fake_k8s.get("deployments", NS, AGENT) is None
    assert fake_k8s.get("services", NS, AGENT) is None
    assert fake_k8s.list("pods", NS) == []


def test_kubernetes_node_seeded_not_ready_shows_not_ready(fake_k8s: FakeKubernetesServer,
                                                         k8s_cluster: KubernetesCluster) -> None:
    fake_k8s.add_node("aks-agents-00000000-vmss000003", pool="agents", ready=False,
                      taints=["workload=agents:NoSchedule"])

    [agents] = [pool for pool in k8s_cluster.list_node_pools() if pool.name == "agents"]

    assert (agents.size, agents.ready_count) == (4, 3)
    assert [n.ready for n in agents.nodes if n.name.endswith("vmss000003")] == [False]


def test_kubernetes_cluster_from_a_kubeconfig(fake_k8s: FakeKubernetesServer, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "holidaypeakhub-dev-aks", "cluster": {"server": fake_k8s.base_url}}],
        "users": [{"name": "portal", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "dev", "context": {"cluster": "holidaypeakhub-dev-aks", "user": "portal"}}],
    }))

    cluster = KubernetesCluster.from_kubeconfig(str(kubeconfig), namespace=NS)

    assert [pool.name for pool in cluster.list_node_pools()] == ["agents", "crud", "system"]
    cluster.api_client.close()


def test_kubernetes_cluster_from_a_missing_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ClusterError) as caught:
        KubernetesCluster.from_kubeconfig(str(tmp_path / "missing"))

    assert (caught.value.code, caught.value.transient) == ("ConfigError", False)


# --- KubernetesCluster: errors ------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code", "transient"), [
    (503, "ServiceUnavailable", True),
    (500, "InternalError", True),
    (504, "Timeout", True),
    (429, "TooManyRequests", True),
    (403, "Forbidden", False),
])
def test_kubernetes_errors_say_whether_to_retry(fake_k8s: FakeKubernetesServer,
                                                k8s_cluster: KubernetesCluster,
                                                status: int, code: str, transient: bool) -> None:
    fake_k8s.fail_next(status, method="GET", path_contains="/deployments/")

    with pytest.raises(ClusterError) as caught:
        k8s_cluster.get_workload(AGENT)

    assert (caught.value.code, caught.value.status, caught.value.transient) == (code, status, transient)


def test_kubernetes_throttling_passes_on_retry_after(fake_k8s: FakeKubernetesServer,
                                                     k8s_cluster: KubernetesCluster) -> None:
    # A POST is not retried by urllib3, so the 429 reaches the backend.
    fake_k8s.fail_next(429, method="POST", path_contains="/deployments", retry_after=3)

    with pytest.raises(ClusterError) as caught:
        k8s_cluster.apply_agent_workload(agent_spec())

    assert (caught.value.code, caught.value.transient, caught.value.retry_after) == (
        "TooManyRequests", True, 3.0)


def test_kubernetes_reads_ride_out_a_brief_503_with_retry_after(
        fake_k8s: FakeKubernetesServer, k8s_cluster: KubernetesCluster) -> None:
    k8s_cluster.apply_agent_workload(agent_spec())
    # urllib3 (the client's transport) retries an idempotent request that gets 503 + Retry-After.
    fake_k8s.fail_next(503, method="GET", path_contains="/deployments/", retry_after=0)

    state = k8s_cluster.get_workload(AGENT)

    assert state is not None and state.name == AGENT


def test_kubernetes_a_503_that_outlasts_the_retries_is_transient(
        fake_k8s: FakeKubernetesServer, k8s_cluster: KubernetesCluster) -> None:
    fake_k8s.fail_next(503, method="GET", path_contains="/deployments/", retry_after=0, times=10)

    with pytest.raises(ClusterError) as caught:
        k8s_cluster.get_workload(AGENT)

    assert (caught.value.code, caught.value.status, caught.value.transient) == (
        "ServiceUnavailable", 503, True)


def test_kubernetes_invalid_objects_are_not_transient(fake_k8s: FakeKubernetesServer,
                                                      k8s_cluster: KubernetesCluster) -> None:
    fake_k8s.fail_next(422, method="POST", path_contains="/deployments", reason="Invalid")

    with pytest.raises(ClusterError) as caught:
        k8s_cluster.apply_agent_workload(agent_spec())

    assert (caught.value.code, caught.value.transient) == ("Invalid", False)


def test_kubernetes_timeout_is_transient(fake_k8s: FakeKubernetesServer) -> None:
    fake_k8s.fail_next(None, method="GET", path_contains="/nodes", delay=1.0, times=10)

    with api_client_for(fake_k8s.base_url) as api_client:
        cluster = KubernetesCluster(api_client, NS, request_timeout=0.1)
        with pytest.raises(ClusterError) as caught:
            cluster.list_node_pools()

    assert (caught.value.code, caught.value.transient) == ("Timeout", True)


def test_kubernetes_unreachable_api_server_is_transient() -> None:
    with socket.socket() as probe:   # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with api_client_for(f"http://127.0.0.1:{port}") as api_client:
        with pytest.raises(ClusterError) as caught:
            KubernetesCluster(api_client, NS).list_node_pools()

    assert (caught.value.code, caught.value.transient) == ("ConnectionError", True)


# --- SandboxCluster: its state ------------------------------------------------------------------

def test_sandbox_state_survives_a_json_round_trip() -> None:
    state: dict[str, object] = {}
    sandbox = SandboxCluster(state, clock=TickingClock())
    sandbox.apply_agent_workload(agent_spec())
    sandbox.restart(AGENT)
    sandbox.mark_node_not_ready(node_name("crud", 0))
    sandbox.mark_crash_looping(AGENT, 3)

    revived = SandboxCluster(json.loads(json.dumps(state)))

    assert revived.get_workload(AGENT) == sandbox.get_workload(AGENT)
    assert revived.list_node_pools() == sandbox.list_node_pools()
    assert revived.apply_agent_workload(agent_spec()) == sandbox.get_workload(AGENT)


def test_sandbox_faults_can_be_written_into_the_state_directly() -> None:
    state = SandboxCluster().state
    state["faults"]["not_ready_nodes"].append(node_name("system", 0))

    [system] = [p for p in SandboxCluster(state).list_node_pools() if p.name == "system"]

    assert system.ready_count == 1


def test_sandbox_takes_other_pools() -> None:
    sandbox = SandboxCluster(pools=[PoolSpec("agents", 20, ("workload=agents:NoSchedule",))])

    assert [(p.name, p.size) for p in sandbox.list_node_pools()] == [("agents", 20)]


# --- The spec -----------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"name": "Not_A_DNS_Label"},
    {"name": "x" * 64},
    {"replicas": -1},
    {"redis_db": 64},
    {"tag": "1.0:latest"},
    {"health_path": "health"},
    {"env": {"REDIS_DB": "2"}},
])
def test_an_invalid_spec_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        agent_spec(**changes)

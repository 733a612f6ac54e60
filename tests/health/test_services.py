"""Health checks through the portal's services, on the sandbox backends (the cluster and Resource
Health kept in SandboxRecord): what each check records, its history, since when a state holds, the
last known state when a check cannot run, uptime, and the schedule."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import NodePool, Placement
from portal.deployments import backends as deployment_backends
from portal.deployments.backends import StoredSandboxCluster
from portal.health import backends, selectors, services
from portal.health.choices import CheckKind, HealthState
from portal.health.models import HealthCheck, HealthResult
from provisioning.backends.base import CloudError
from provisioning.cluster.base import AgentWorkloadSpec, ClusterError, NodePoolState, NodeState, WorkloadState
from provisioning.cluster.sandbox import node_name
from tests.factories import AgentFactory, PlacementFactory

AGENT = "ecommerce-catalog-search"


@pytest.fixture
def dev(platform):
    """The `platform` fixture's dev, its agent running."""
    Placement.objects.update(status=PlacementStatus.RUNNING)
    return platform


def run(env, kind):
    return services.health_checks_run(environment_id=env.pk, kind=kind)


def check(env, kind, target=None):
    qs = HealthCheck.objects.filter(environment=env, kind=kind)
    return qs.get(target=target) if target else qs.get()


def deploy_workload(env, replicas=1):
    StoredSandboxCluster(env.name).apply_agent_workload(AgentWorkloadSpec(
        name=AGENT, image="acr.example.io/agents/ecommerce-catalog-search", tag="1.0.0", replicas=replicas))


# --- Node pools ---------------------------------------------------------------------------------

def test_node_pools_are_checked_against_the_environments_pool_rows(dev):
    NodePool.objects.create(environment=dev, name="crud", vm_size="Standard_B4ms", min_nodes=1, max_nodes=10,
                            taints=["workload=crud:NoSchedule"])

    checks = run(dev, CheckKind.NODE_POOL)

    assert [(c.label, c.state) for c in checks] == [("agents", HealthState.GREEN), ("crud", HealthState.GREEN)]
    assert check(dev, CheckKind.NODE_POOL, "agents").summary == \
        "3 of 3 nodes Ready (minimum 2), taints as designed"


def test_a_pool_whose_taints_differ_from_its_row_is_red(dev):
    NodePool.objects.filter(environment=dev, name="agents").update(taints=["workload=other:NoSchedule"])

    run(dev, CheckKind.NODE_POOL)

    pool = check(dev, CheckKind.NODE_POOL)
    assert pool.state == HealthState.RED
    assert "lacks workload=other:NoSchedule" in pool.summary


def test_each_run_keeps_history_and_state_since_moves_only_when_the_state_changes(dev):
    run(dev, CheckKind.NODE_POOL)
    first = check(dev, CheckKind.NODE_POOL)
    run(dev, CheckKind.NODE_POOL)
    second = check(dev, CheckKind.NODE_POOL)
    assert second.state_since == first.state_since
    assert second.checked_at > first.checked_at

    StoredSandboxCluster(dev.name).mark_node_not_ready(node_name("agents", 0))
    run(dev, CheckKind.NODE_POOL)

    third = check(dev, CheckKind.NODE_POOL)
    assert third.state == HealthState.AMBER
    assert third.state_since == third.checked_at > first.state_since
    assert list(third.results.order_by("checked_at").values_list("state", flat=True)) == ["green", "green", "amber"]


class BrokenCluster:
    def list_node_pools(self):
        raise ClusterError("ServiceUnavailable", "the API server did not answer", transient=True, status=503)

    def get_workload(self, name):
        raise ClusterError("ServiceUnavailable", "the API server did not answer", transient=True, status=503)


def test_an_unreachable_cluster_is_unknown_with_the_reason_and_the_last_known_state_stays(dev, monkeypatch):
    run(dev, CheckKind.NODE_POOL)
    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: BrokenCluster())

    run(dev, CheckKind.NODE_POOL)

    pool = check(dev, CheckKind.NODE_POOL)
    assert pool.state == HealthState.UNKNOWN
    assert pool.summary == ("check could not run: cluster unavailable "
                            "(ServiceUnavailable: the API server did not answer)")
    assert pool.reason.startswith("cluster unavailable")
    assert pool.last_known_state == HealthState.GREEN
    assert pool.last_known_summary.startswith("3 of 3 nodes Ready")


def test_a_cluster_that_cannot_even_be_configured_is_unknown(dev, monkeypatch):
    def no_kubeconfig(env):
        raise ClusterError("ConfigError", "Invalid kube-config file. No configuration found.")

    monkeypatch.setattr(deployment_backends, "cluster_backend", no_kubeconfig)

    run(dev, CheckKind.NODE_POOL)
    run(dev, CheckKind.WORKLOAD)

    assert check(dev, CheckKind.NODE_POOL).state == HealthState.UNKNOWN
    workload = check(dev, CheckKind.WORKLOAD)
    assert workload.state == HealthState.UNKNOWN
    assert "ConfigError" in workload.summary
    assert workload.last_known_state == ""


# --- Agent workloads ----------------------------------------------------------------------------

def test_a_running_agent_without_a_deployment_is_red_not_deployed(dev):
    run(dev, CheckKind.WORKLOAD)

    workload = check(dev, CheckKind.WORKLOAD)
    assert (workload.target, workload.state, workload.summary) == (AGENT, HealthState.RED, "not deployed")
    assert workload.agent.slug == AGENT


def test_a_deployed_agent_is_green_and_a_crash_loop_is_red(dev):
    deploy_workload(dev, replicas=2)
    run(dev, CheckKind.WORKLOAD)
    assert check(dev, CheckKind.WORKLOAD).state == HealthState.GREEN
    assert check(dev, CheckKind.WORKLOAD).summary == "2 of 2 replicas available"

    StoredSandboxCluster(dev.name).mark_crash_looping(AGENT, 4)
    run(dev, CheckKind.WORKLOAD)

    workload = check(dev, CheckKind.WORKLOAD)
    assert workload.state == HealthState.RED
    assert workload.summary.startswith("0 of 2 replicas available")
    assert workload.results.first().restarts == 8


def test_only_agents_meant_to_run_are_checked_and_others_leave_the_board(dev):
    blocked = AgentFactory(slug="crm-blocked-agent")
    PlacementFactory(agent=blocked, environment=dev, status=PlacementStatus.BLOCKED)
    run(dev, CheckKind.WORKLOAD)
    assert list(HealthCheck.objects.values_list("target", "active")) == [(AGENT, True)]

    Placement.objects.filter(agent__slug=AGENT).update(status=PlacementStatus.RETIRED)
    run(dev, CheckKind.WORKLOAD)

    assert list(HealthCheck.objects.values_list("target", "active")) == [(AGENT, False)]
    assert selectors.health_board(environment=dev).agents == []


class RestartingCluster:
    """Every replica available; the pods' containers restarted `restarts` times in all."""

    def __init__(self, restarts):
        self.restarts = restarts

    def get_workload(self, name):
        return WorkloadState(name=name, image="acr.example.io/a:1", desired_replicas=2, ready_replicas=2,
                             available_replicas=2, restarts=self.restarts)


def test_restarts_count_over_the_last_hour_not_the_pods_lifetime(dev, monkeypatch, settings):
    settings.PORTAL_HEALTH_RESTART_THRESHOLD = 3
    now = timezone.now()
    workload = HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target=AGENT, label=AGENT)
    HealthResult.objects.create(health_check=workload, state="green", restarts=2, checked_at=now - timedelta(hours=3))
    HealthResult.objects.create(health_check=workload, state="green", restarts=40,
                                checked_at=now - timedelta(minutes=50))

    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: RestartingCluster(42))
    run(dev, CheckKind.WORKLOAD)
    workload.refresh_from_db()
    assert workload.state == HealthState.GREEN
    assert workload.details["restarts_last_hour"] == 2

    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: RestartingCluster(47))
    run(dev, CheckKind.WORKLOAD)
    workload.refresh_from_db()
    assert workload.state == HealthState.AMBER
    assert workload.summary == "2 of 2 replicas available; 7 container restarts in the last hour (threshold 3)"


def test_new_pods_with_fewer_restarts_than_an_hour_ago_count_from_zero(dev, monkeypatch):
    workload = HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target=AGENT, label=AGENT)
    HealthResult.objects.create(health_check=workload, state="green", restarts=30,
                                checked_at=timezone.now() - timedelta(minutes=30))
    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: RestartingCluster(1))

    run(dev, CheckKind.WORKLOAD)

    assert check(dev, CheckKind.WORKLOAD).details["restarts_last_hour"] == 1


# --- Azure Resource Health ----------------------------------------------------------------------

def test_resource_health_covers_the_eight_shared_resources(dev):
    checks = run(dev, CheckKind.RESOURCE_HEALTH)

    assert sorted(c.label for c in checks) == ["AKS", "API Management", "Container registry", "Cosmos DB",
                                               "Event Hubs", "Key Vault", "Redis", "Storage"]
    assert {c.state for c in checks} == {HealthState.GREEN}
    redis = next(c for c in checks if c.label == "Redis")
    assert redis.target == ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/holidaypeakhub-dev-rg"
                            "/providers/Microsoft.Cache/redis/holidaypeakhub-dev-redis")


def test_a_sandbox_fault_makes_a_resource_degraded(dev):
    services.sandbox_resource_fault(environment=dev, label="redis", state="Degraded")

    run(dev, CheckKind.RESOURCE_HEALTH)

    redis = HealthCheck.objects.get(label="Redis")
    assert redis.state == HealthState.AMBER
    assert redis.summary.startswith("Degraded: This resource is running in a degraded state")
    assert HealthCheck.objects.exclude(label="Redis").filter(state=HealthState.GREEN).count() == 7


class NoResourceHealth:
    def availability(self, resource_id):
        raise CloudError("AuthorizationFailed", "The client does not have authorization to perform "
                                                "'Microsoft.ResourceHealth/availabilityStatuses/read'.")


def test_resource_health_azure_cannot_answer_is_unknown_never_green(dev, monkeypatch):
    monkeypatch.setattr(backends, "resource_health_backend", lambda env: NoResourceHealth())

    checks = run(dev, CheckKind.RESOURCE_HEALTH)

    assert {c.state for c in checks} == {HealthState.UNKNOWN}
    assert all("AuthorizationFailed" in c.summary for c in checks)


def test_resource_health_in_azure_without_a_subscription_is_unknown(dev, settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.AZURE_SUBSCRIPTION_ID = ""

    checks = run(dev, CheckKind.RESOURCE_HEALTH)

    assert {c.state for c in checks} == {HealthState.UNKNOWN}
    assert "no Azure subscription" in checks[0].summary


# --- HTTP probes --------------------------------------------------------------------------------

def test_the_sandbox_skips_the_http_probe(dev):
    assert run(dev, CheckKind.HTTP) is None

    assert not HealthCheck.objects.filter(kind=CheckKind.HTTP).exists()
    assert selectors.health_board(environment=dev).http_probed is False


def test_azure_without_a_reachable_endpoint_records_unknown_with_the_reason(dev, settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.PORTAL_HEALTH_URL_TEMPLATE = ""

    run(dev, CheckKind.HTTP)

    http = check(dev, CheckKind.HTTP)
    assert (http.target, http.state) == (AGENT, HealthState.UNKNOWN)
    assert "no endpoint reachable from the portal" in http.summary


@pytest.fixture
def agent_endpoints():
    """/ecommerce-catalog-search/health answers 200, anything else 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == f"/{AGENT}/health"
            body = b'{"status": "ok"}' if ok else b"down"
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_probes_each_running_agent_at_the_configured_url(dev, settings, agent_endpoints):
    other = AgentFactory(slug="crm-down-agent")
    PlacementFactory(agent=other, environment=dev, status=PlacementStatus.RUNNING)
    settings.PORTAL_HEALTH_URL_TEMPLATE = agent_endpoints + "/{agent}{path}"

    run(dev, CheckKind.HTTP)

    up, down = check(dev, CheckKind.HTTP, AGENT), check(dev, CheckKind.HTTP, "crm-down-agent")
    assert (up.state, up.summary, up.details["url"]) == (HealthState.GREEN, "HTTP 200",
                                                         f"{agent_endpoints}/{AGENT}/health")
    assert (down.state, down.summary) == (HealthState.RED, "HTTP 503")


# --- Uptime, schedule, history ------------------------------------------------------------------

def test_uptime_is_the_share_of_green_results_in_seven_days(dev):
    agent = Placement.objects.get().agent
    now = timezone.now()
    workload = HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target=AGENT, label=AGENT,
                                          agent=agent, state=HealthState.GREEN, checked_at=now)
    http = HealthCheck.objects.create(environment=dev, kind=CheckKind.HTTP, target=AGENT, label=AGENT, agent=agent)
    for state, age in [("green", 1), ("green", 2), ("red", 3), ("unknown", 4)]:
        HealthResult.objects.create(health_check=workload, state=state, checked_at=now - timedelta(hours=age))
    for age in range(5):
        HealthResult.objects.create(health_check=workload, state="red", checked_at=now - timedelta(days=8 + age))
    for state in ("green", "green", "green", "green"):
        HealthResult.objects.create(health_check=http, state=state, checked_at=now - timedelta(days=1))
    services.health_days_rebuild()       # stored around health_result_record, which keeps the rollup

    assert selectors.agent_uptime(environment=dev) == {agent.pk: 75.0}   # 6 of 8
    row = selectors.health_board(environment=dev).agents[0]
    assert (row.slug, row.uptime, row.workload.pk, row.http.pk) == (AGENT, 75.0, workload.pk, http.pk)


def test_the_sweep_queues_one_run_per_environment_on_commit(dev, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ids = services.health_sweep(kind=CheckKind.WORKLOAD)

    assert ids == [dev.pk]
    assert [(c.args[0].task, c.args[0].args, c.args[0].expires_at is not None) for c in callbacks] == [
        ("portal.health.tasks.run_health_checks", [CheckKind.WORKLOAD, dev.pk], True)]


def test_old_history_is_pruned(dev, settings):
    settings.PORTAL_HEALTH_HISTORY_DAYS = 8
    pool = HealthCheck.objects.create(environment=dev, kind=CheckKind.NODE_POOL, target="agents", label="agents")
    now = timezone.now()
    HealthResult.objects.create(health_check=pool, state="green", checked_at=now - timedelta(days=9))
    kept = HealthResult.objects.create(health_check=pool, state="green", checked_at=now - timedelta(days=7))

    assert services.health_history_prune(now=now) == 1
    assert list(HealthResult.objects.all()) == [kept]


def test_a_deleted_environment_or_an_unknown_kind_is_no_run(dev):
    assert services.health_checks_run(environment_id=999999, kind=CheckKind.NODE_POOL) is None
    with pytest.raises(Exception, match="Unknown health check"):
        services.health_checks_run(environment_id=dev.pk, kind="ping")


def test_pool_states_from_the_cluster_are_what_the_check_reads(dev, monkeypatch):
    """A pool the cluster does not have is red; the board lists it with the others."""

    class OnePool:
        def list_node_pools(self):
            return [NodePoolState("system", (NodeState("n0", True, (), "system"),))]

    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: OnePool())

    run(dev, CheckKind.NODE_POOL)

    assert check(dev, CheckKind.NODE_POOL).summary == "pool not found (expected at least 2 Ready nodes)"
    assert selectors.health_board(environment=dev).state == HealthState.RED

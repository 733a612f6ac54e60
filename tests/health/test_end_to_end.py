"""End to end, as in Azure: the scheduled checks go through provisioning.health to the fake
Kubernetes API server (with the official client) and to Resource Health through the real
azure-mgmt-resourcehealth client answered in-process; the board then shows what they recorded."""

import pytest
from django.utils import timezone
from django.urls import reverse
from kubernetes import client

from portal.catalog.choices import PlacementStatus
from portal.catalog.discovery import SandboxDiscovery
from portal.catalog.models import NodePool, Placement
from portal.deployments import backends as deployment_backends
from portal.health import backends, services
from portal.health.choices import CheckKind, HealthState
from portal.health.models import HealthCheck
from provisioning.cluster import AgentWorkloadSpec
from provisioning.cluster.kubernetes import KubernetesCluster
from provisioning.cluster.sandbox import node_name
from provisioning.health.azure import AzureResourceHealth
from tests.provisioning.arm_transport import FakeCredential
from tests.provisioning.test_health import FakeResourceHealth

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/holidaypeakhub-dev-rg/providers"
AGENT = "ecommerce-catalog-search"




@pytest.fixture
def azure_dev(platform, settings, monkeypatch, fake_k8s):
    """dev as in Azure: its cluster is the fake API server, Resource Health the fake ARM."""
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.PORTAL_HEALTH_URL_TEMPLATE = ""
    platform.subscription_id = SUBSCRIPTION
    # What discovery stores for a tenant named by the convention (tests/contract covers other names).
    platform.discovered_resources = {
        **SandboxDiscovery(platform).discover(resource_group=platform.resource_group).as_dict(),
        "discovered_at": timezone.now().isoformat()}
    platform.save()
    NodePool.objects.create(environment=platform, name="crud", vm_size="Standard_B4ms", min_nodes=1, max_nodes=10,
                            taints=["workload=crud:NoSchedule"])
    Placement.objects.update(status=PlacementStatus.RUNNING)
    cluster = KubernetesCluster(client.ApiClient(client.Configuration(host=fake_k8s.base_url)), "agents",
                                request_timeout=(2.0, 5.0))
    monkeypatch.setattr(deployment_backends, "cluster_backend", lambda env: cluster)
    arm = FakeResourceHealth({
        f"{RG}/Microsoft.ContainerService/managedClusters/holidaypeakhub-dev-aks": ("Available", ""),
        f"{RG}/Microsoft.Cache/redis/holidaypeakhub-dev-redis": ("Unavailable", "A platform upgrade is in progress."),
        f"{RG}/Microsoft.DocumentDB/databaseAccounts/holidaypeakhub-dev-cosmos": ("Degraded", "Some requests fail."),
    })
    monkeypatch.setattr(backends, "resource_health_backend",
                        lambda env: AzureResourceHealth(FakeCredential(), backends.subscription_of(env), transport=arm))
    yield platform, cluster, arm
    cluster.api_client.close()


def run_all(env):
    for kind in CheckKind.values:
        services.health_checks_run(environment_id=env.pk, kind=kind)


def states(env, kind):
    return dict(HealthCheck.objects.filter(environment=env, kind=kind).values_list("label", "state"))


def test_every_check_against_the_fakes_then_the_board(azure_dev, fake_k8s, client_for, viewer):
    env, cluster, arm = azure_dev
    cluster.apply_agent_workload(AgentWorkloadSpec(name=AGENT, image="acr.example.io/agents/x", tag="1.0.0",
                                                   replicas=2))
    fake_k8s.set_node_ready(node_name("agents", 0), False)

    run_all(env)

    assert states(env, CheckKind.NODE_POOL) == {"agents": HealthState.AMBER, "crud": HealthState.GREEN}
    assert states(env, CheckKind.WORKLOAD) == {AGENT: HealthState.GREEN}
    assert states(env, CheckKind.HTTP) == {AGENT: HealthState.UNKNOWN}   # no endpoint reachable: never green
    resources = states(env, CheckKind.RESOURCE_HEALTH)
    assert (resources["AKS"], resources["Redis"], resources["Cosmos DB"]) == (
        HealthState.GREEN, HealthState.RED, HealthState.AMBER)
    assert resources["Key Vault"] == HealthState.UNKNOWN   # Resource Health has no status for it
    assert any(r.url.endswith("availabilityStatuses/current?api-version=2025-05-01") for r in arm.requests)

    html = client_for(viewer).get(reverse("health:board", args=["dev"])).content.decode()
    assert "2 of 3 nodes Ready (aks-agents-00000000-vmss000000 not Ready)" in html
    assert "Unavailable: A platform upgrade is in progress." in html
    assert "no endpoint reachable from the portal" in html


def test_crash_loop_and_an_api_server_that_refuses_us(azure_dev, fake_k8s):
    env, cluster, arm = azure_dev
    cluster.apply_agent_workload(AgentWorkloadSpec(name=AGENT, image="acr.example.io/agents/x", tag="1.0.0"))
    fake_k8s.crash_loop("agents", AGENT, 6)

    services.health_checks_run(environment_id=env.pk, kind=CheckKind.WORKLOAD)
    workload = HealthCheck.objects.get(kind=CheckKind.WORKLOAD)
    assert workload.state == HealthState.RED
    assert "6 container restarts in the last hour (threshold 3)" in workload.summary

    fake_k8s.fail_next(403, times=10)
    arm.unauthorized = True
    run_all(env)

    workload.refresh_from_db()
    assert workload.state == HealthState.UNKNOWN
    assert "Forbidden" in workload.summary
    assert workload.last_known_state == HealthState.RED
    assert set(states(env, CheckKind.NODE_POOL).values()) == {HealthState.UNKNOWN}
    assert set(states(env, CheckKind.RESOURCE_HEALTH).values()) == {HealthState.UNKNOWN}
    assert "InvalidAuthenticationToken" in HealthCheck.objects.filter(kind=CheckKind.RESOURCE_HEALTH).first().summary

"""The health board, the readiness checklist and the home page's health line: full pages and htmx
fragments, read from the database only, with query counts that do not grow with the rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.access import services as access_services
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import Deployment
from portal.health import services
from portal.health.choices import CheckKind, HealthState
from portal.health.models import HealthCheck, HealthResult
from provisioning.health import CheckResult
from tests.factories import AgentFactory, PlacementFactory

AGENT = "ecommerce-catalog-search"


@pytest.fixture
def dev(platform):
    Placement.objects.update(status=PlacementStatus.RUNNING)
    return platform


def record(env, kind, target, state, summary, agent=None, label=None, at=None, **details):
    observation = services.Observation(CheckResult(kind, target, state, summary, details), label or target, agent,
                                       target)
    return services.health_result_record(environment=env, observation=observation, at=at)


def test_the_board_shows_every_check_with_its_state_and_age(dev, client_for, viewer):
    for kind in (CheckKind.NODE_POOL, CheckKind.WORKLOAD, CheckKind.RESOURCE_HEALTH):
        services.health_checks_run(environment_id=dev.pk, kind=kind)

    response = client_for(viewer).get(reverse("health:board", args=["dev"]))

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Vary"].count("HX-Request") == 1
    assert 'data-testid="overall-state">red</span>' in html              # the agent is not deployed
    assert f'data-agent="{AGENT}" data-state="red"' in html
    assert "not deployed" in html
    assert "3 of 3 nodes Ready (minimum 2), taints as designed" in html
    assert html.count('<tr data-state="green">') == 9                    # 1 pool + 8 resources
    assert "skipped in the sandbox cloud, no endpoint reachable from the portal" in html
    assert 'hx-get="/health/dev/"' in html and 'href="/health/dev/"' in html


def test_the_board_fragment_for_htmx_is_only_the_board(dev, client_for, viewer):
    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.NODE_POOL)

    response = client_for(viewer).get(reverse("health:board", args=["dev"]), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "<html" not in html and "agents" in html


def test_an_unknown_check_shows_why_and_the_last_known_state(dev, client_for, viewer):
    earlier = timezone.now() - timedelta(minutes=20)
    record(dev, CheckKind.NODE_POOL, "agents", HealthState.GREEN, "3 of 3 nodes Ready", at=earlier)
    record(dev, CheckKind.NODE_POOL, "agents", HealthState.UNKNOWN,
           "check could not run: cluster unavailable (Timeout: no answer)", reason="cluster unavailable")
    HealthCheck.objects.update(checked_at=timezone.now() - timedelta(hours=1))

    html = client_for(viewer).get(reverse("health:board", args=["dev"])).content.decode()

    assert "check could not run: cluster unavailable (Timeout: no answer)" in html
    assert "Last known: green, 20" in html and "3 of 3 nodes Ready" in html
    assert "stale: not checked for a while" in html


def test_the_board_with_nothing_checked_yet(dev, client_for, viewer):
    html = client_for(viewer).get(reverse("health:board", args=["dev"])).content.decode()

    assert "no checks yet" in html
    assert "No node pool checked yet." in html


def test_the_home_page_summarises_each_environments_health(dev, client_for, viewer):
    response = client_for(viewer).get(reverse("home"))
    assert "no checks yet" in response.content.decode()

    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.WORKLOAD)
    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.NODE_POOL)
    html = client_for(viewer).get(reverse("home")).content.decode()

    assert 'data-testid="health-summary-dev"' in html
    assert "1 red of 2" in html
    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.RESOURCE_HEALTH)
    record(dev, CheckKind.WORKLOAD, AGENT, HealthState.GREEN, "1 of 1 replicas available")
    assert "all 10 green" in client_for(viewer).get(reverse("home")).content.decode()


# --- Readiness ----------------------------------------------------------------------------------

def items(client, env="dev", htmx=False):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(reverse("health:readiness", args=[env]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_readiness_starts_with_every_criterion_open_and_says_where_to_look(dev, client_for, viewer):
    html = items(client_for(viewer))

    assert html.count('data-done="false"') == 4
    assert "No shared-infrastructure deployment has succeeded in dev." in html
    assert 'href="/deployments/?environment=dev&amp;template=static-web-app"' in html
    assert "No health check has run here yet." in html
    assert "No RBAC audit has read the role assignments yet." in html


def test_readiness_is_met_with_evidence_for_each_item(dev, client_for, viewer):
    runs = {t: Deployment.objects.create(environment=dev, template=t, status=DeploymentStatus.SUCCEEDED,
                                         finished_at=timezone.now())
            for t in ("shared-infrastructure", "static-web-app")}
    Deployment.objects.create(environment=dev, template="static-web-app", status=DeploymentStatus.FAILED)
    for kind in (CheckKind.NODE_POOL, CheckKind.RESOURCE_HEALTH):
        services.health_checks_run(environment_id=dev.pk, kind=kind)
    access_services.rbac_sandbox_seed(environment=dev)
    audit = access_services.rbac_audit_run(environment_id=dev.pk)

    html = items(client_for(viewer), htmx=True)

    assert html.lstrip().startswith('<ol class="checklist"')
    assert html.count('data-done="true"') == 4
    for run in runs.values():
        assert f'href="/deployments/{run.pk}/"' in html
    assert "9 of 9 checks green." in html and 'href="/health/dev/"' in html
    assert f"Audit #{audit.pk}" in html and 'href="/access/dev/"' in html


def test_readiness_is_not_met_while_a_check_fails_or_rbac_drifts(dev, client_for, viewer):
    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.WORKLOAD)
    access_services.rbac_sandbox_seed(environment=dev)
    access_services.rbac_sandbox_drift_inject(environment=dev)
    access_services.rbac_audit_run(environment_id=dev.pk)

    html = items(client_for(viewer))

    assert "0 of 1 checks green; 1 red." in html
    assert "1 missing, 1 unexpected." in html


def test_the_environment_page_loads_readiness_with_htmx_and_links_it_without(dev, client_for, viewer):
    html = client_for(viewer).get(reverse("catalog:environment_detail", args=["dev"])).content.decode()

    assert 'hx-get="/health/dev/readiness/"' in html
    assert 'href="/health/dev/readiness/"' in html


def test_unknown_environments_and_wrong_methods(dev, client_for, viewer):
    client = client_for(viewer)
    assert client.get(reverse("health:board", args=["nope"])).status_code == 404
    assert client.get(reverse("health:readiness", args=["nope"])).status_code == 404
    assert client.post(reverse("health:board", args=["dev"])).status_code == 405
    assert client.post(reverse("health:overview")).status_code == 405


# --- Query counts -------------------------------------------------------------------------------

def add_agents(env, n, start):
    """n running agents, each with a workload and an HTTP check and a day of results."""
    now = timezone.now()
    for i in range(start, start + n):
        agent = AgentFactory(slug=f"agent-q{i:03d}")
        PlacementFactory(agent=agent, environment=env, status=PlacementStatus.RUNNING)
        for kind in (CheckKind.WORKLOAD, CheckKind.HTTP):
            check = HealthCheck.objects.create(environment=env, kind=kind, target=agent.slug, label=agent.slug,
                                               agent=agent, state=HealthState.GREEN, checked_at=now, state_since=now)
            HealthResult.objects.bulk_create(HealthResult(health_check=check, state="green",
                                                          checked_at=now - timedelta(hours=h)) for h in range(3))


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# Session, user, permissions (2) and the user's roles (the header): 5; then the page's own: overview 2
# (environments with when they were last checked, their active checks counted by state), board 4 (environment,
# counts of checks and of agents by their worst state, the agents counted again by target as they have HTTP probes
# too, the checks of the pools, the resources and a page of agents with their uptime), readiness 5
# (environment, two deployments, check counts, audit).
PINNED = {"health:overview": 7, "health:board": 9, "health:readiness": 10}


@pytest.mark.parametrize("name", list(PINNED))
def test_health_pages_query_counts_are_pinned_and_flat(dev, client_for, viewer, name):
    url = reverse(name) if name == "health:overview" else reverse(name, args=["dev"])
    client = client_for(viewer)
    add_agents(dev, 3, 0)
    with_3 = queries(client, url)
    add_agents(dev, 30, 3)
    with_33 = queries(client, url)

    assert with_3 == with_33 == PINNED[name], (with_3, with_33)

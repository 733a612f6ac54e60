"""Query counts of the list and dashboard pages are pinned and do not grow with the number of agents."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.access.models import RbacAudit, RbacFinding
from portal.accounts import roles
from portal.audit.services import audit_record
from portal.catalog.models import Environment
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import Deployment
from portal.health.models import HealthCheck, HealthResult
from tests.factories import (
    AgentFactory,
    EnvironmentFactory,
    NodePoolFactory,
    PlacementFactory,
    TeamFactory,
    UserFactory,
)

# Pinned counts (session, user and permissions included). Change them only on purpose. rbac_environment: 9 where
# a role is missing (its remediation runs are read), 8 here.
PINNED = {"home": 7, "agent_list": 8, "environment_detail": 8, "audit": 8, "deployments": 9,
          "health": 7, "health_board": 8, "readiness": 10, "rbac": 6, "rbac_environment": 8,
          # cost pages without cost rows (no agent tag to look up), their version included (the agents changed:
          # their tables are read); tests/costs pins them with rows, and viewed again at the same version
          "costs": 9, "costs_environment": 9, "costs_service": 9,
          # showback builds its stored month first here (no ingest ran, and the agents changed): the freshness
          # check, then in a savepoint the month's row locked, the environments, a DELETE and an INSERT for each
          # of its three tables, their ANALYZE and the row updated; then its read (tests/costs pins the page that
          # only reads)
          "costs_showback": 20}

PAGES = [
    ("home", reverse("home")),
    ("agent_list", reverse("catalog:agent_list") + "?domain=crm"),
    ("environment_detail", reverse("catalog:environment_detail", args=["dev"])),
    ("audit", reverse("audit:list")),
    ("deployments", reverse("deployments:list")),
    ("health", reverse("health:overview")),
    ("health_board", reverse("health:board", args=["dev"])),
    ("readiness", reverse("health:readiness", args=["dev"])),
    ("rbac", reverse("access:overview")),
    ("rbac_environment", reverse("access:environment", args=["dev"])),
    ("costs", reverse("costs:dashboard")),
    ("costs_environment", reverse("costs:environment", args=["dev"])),
    ("costs_service", reverse("costs:service", args=["dev", "Azure Kubernetes Service"])),
    ("costs_showback", reverse("costs:showback")),
]


@pytest.fixture
def add_agents(db):
    envs = [EnvironmentFactory(name=name, position=i, redis_sku="P5") for i, name in enumerate(["dev", "staging", "prod"])]
    for env in envs:
        NodePoolFactory(environment=env, name="agents")
    teams = [TeamFactory(slug=f"team-{i}") for i in range(3)]
    serial = itertools.count()
    requester = UserFactory(username="requester")
    rbac_audit = RbacAudit.objects.create(environment=envs[0], outcome="read", backend="sandbox", ran_at=timezone.now())

    def add(n):
        for _ in range(n):
            i = next(serial)
            agent = AgentFactory(owner_team=teams[i % 3], domain=["crm", "ecommerce", "logistics"][i % 3])
            PlacementFactory(agent=agent, environment=envs[0], redis_db=i + 1 if i < 60 else None)
            if i % 2 == 0:
                PlacementFactory(agent=agent, environment=envs[1])
            audit_record(action="agent.registered", obj=agent)
            status = DeploymentStatus.SUCCEEDED if i % 3 else DeploymentStatus.RUNNING
            Deployment.objects.create(environment=envs[0], template=f"agent-{i}", agent=agent, status=status,
                                      requested_by=requester)
            check = HealthCheck.objects.create(environment=envs[0], kind="workload", target=agent.slug,
                                               label=agent.slug, agent=agent, state="green", checked_at=timezone.now())
            HealthResult.objects.create(health_check=check, state="green")
            RbacFinding.objects.create(audit=rbac_audit, kind="unexpected", role_name="Owner", role_guid="x",
                                       scope=f"/subscriptions/x/resourceGroups/rg-{i}")

    return add


def count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page,url", PAGES, ids=[p for p, _ in PAGES])
def test_query_count_is_pinned_and_does_not_grow_with_agents(add_agents, client_for, make_user, page, url):
    client = client_for(make_user("counter", "Platform admin"))
    add_agents(5)
    with_5 = count(client, url)
    add_agents(195)
    with_200 = count(client, url)
    assert with_5 == with_200, f"{page}: {with_5} queries with 5 agents, {with_200} with 200"
    assert with_5 == PINNED[page], f"{page}: pinned {PINNED[page]}, now {with_5}"



# My requests (issue #9): the signed-in person's runs (paged) and pending approvals.
PINNED_MY_REQUESTS = 8


def test_my_requests_query_count_is_pinned_and_does_not_grow_with_runs(add_agents, client_for, make_user):
    from portal.deployments.models import ApprovalRequest

    user = make_user("asker", roles.ENGINEER)
    client = client_for(user)
    add_agents(1)
    envs = list(Environment.objects.order_by("position"))
    serial = itertools.count()
    pinned_now = timezone.now()

    def add_runs(n):
        for _ in range(n):
            i = next(serial)
            agent = AgentFactory(slug=f"mine-{i}")
            waiting = i % 2 == 1
            run = Deployment.objects.create(
                environment=envs[i % 3], template="agent", agent=agent, requested_by=user,
                status=DeploymentStatus.AWAITING_APPROVAL if waiting else DeploymentStatus.SUCCEEDED)
            if waiting:
                ApprovalRequest.objects.create(deployment=run, requested_by=user, expires_at=pinned_now,
                                               template_hash="t", parameters_hash="p")

    add_runs(2)
    with_2 = count(client, reverse("deployments:mine"))
    add_runs(60)
    with_62 = count(client, reverse("deployments:mine"))
    html = client.get(reverse("deployments:mine")).content.decode()
    assert "agent mine-61" in html and "agent mine-1<" in html  # the newest run and the oldest pending approval
    assert "of 62)" in html and 'rel="next"' in html  # every run reachable through pages, none cut off
    assert with_2 == with_62, f"my requests: {with_2} queries with 2 runs, {with_62} with 62"
    assert with_2 == PINNED_MY_REQUESTS, f"my requests: pinned {PINNED_MY_REQUESTS}, now {with_2}"

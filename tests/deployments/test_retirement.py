import pytest
from django.urls import reverse

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.core.errors import DomainError
from portal.deployments import retirement, services
from portal.deployments.backends import cloud_backend
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment, SandboxFault
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory


@pytest.fixture
def deployed(db, engineer, django_capture_on_commit_callbacks):
    """An agent placed in dev whose agent module was deployed to the sandbox."""
    dev = EnvironmentFactory(name="dev")
    agent = AgentFactory(slug="logistics-eta-computation")
    placement = PlacementFactory(agent=agent, environment=dev, redis_db=7)
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_request(environment=dev, template="agent", agent=agent, user=engineer, parameters={
            "agentName": agent.slug, "environment": "dev", "redisDatabase": 7})
    d = services.deployment_preview_run(deployment_id=d.pk)
    with django_capture_on_commit_callbacks(execute=False):
        services.deployment_confirm(deployment=d, user=engineer)
    assert services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None).status == S.SUCCEEDED
    return placement


def retire(placement, engineer, captured, confirm=None):
    with captured(execute=False):
        d = retirement.placement_retire_request(placement=placement, confirm=confirm or placement.agent.slug,
                                                user=engineer)
    return d


def test_retirement_plan_names_exactly_what_will_be_deleted(deployed):
    plan = retirement.retirement_plan(placement=deployed)
    names = [r["name"] for r in plan["resources"]]
    assert names == ["holidaypeakhub-dev-cosmos/holidaypeakhub/warm-logistics-eta-computation-chat-memory",
                     "holidaypeakhubdevst/default/cold-logistics-eta-computation-chat-memory"]
    inventory = {k.lower() for k in cloud_backend().inventory()}
    assert all(r["id"].lower() in inventory for r in plan["resources"])  # the ids the sandbox holds
    assert plan["redis_db"] == 7


def test_nothing_is_deleted_without_the_confirmation(deployed, engineer, django_capture_on_commit_callbacks):
    with pytest.raises(DomainError, match="Type the agent's name"):
        retire(deployed, engineer, django_capture_on_commit_callbacks, confirm="yes")
    assert not Deployment.objects.filter(kind="retire").exists()


def test_retiring_deletes_the_containers_and_releases_the_redis_database(deployed, engineer,
                                                                         django_capture_on_commit_callbacks):
    d = retire(deployed, engineer, django_capture_on_commit_callbacks)
    assert d.status == S.QUEUED  # dev needs no approval
    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert d.status == S.SUCCEEDED, d.error
    placement = Placement.objects.get(pk=deployed.pk)
    assert placement.status == PlacementStatus.RETIRED and placement.redis_db is None
    plan_ids = {r["resource_id"].lower() for r in d.what_if["changes"] if r["resource_id"].startswith("/")}
    assert not plan_ids & {k.lower() for k in cloud_backend().inventory()}
    other = PlacementFactory(environment=deployed.environment, redis_db=None)
    from portal.catalog.services import redis_allocate

    assert redis_allocate(placement=other) == 1  # and 7 is free again too
    assert 7 in __import__("portal.catalog.services", fromlist=["x"]).redis_free_databases(
        environment=deployed.environment)


def test_a_failed_delete_fails_the_retirement_and_keeps_the_placement(deployed, engineer,
                                                                      django_capture_on_commit_callbacks):
    SandboxFault.objects.create(match="cold-*", code="ContainerBeingDeleted", message="Try again later.")
    d = retire(deployed, engineer, django_capture_on_commit_callbacks)
    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert d.status == S.FAILED and "ContainerBeingDeleted" in str(d.error)
    assert Placement.objects.get(pk=deployed.pk).redis_db == 7


def test_retirement_in_prod_needs_approval(db, engineer, django_capture_on_commit_callbacks):
    prod = EnvironmentFactory(name="prod", approvals_required=1)
    placement = PlacementFactory(environment=prod, redis_db=3)
    d = retire(placement, engineer, django_capture_on_commit_callbacks)
    assert d.status == S.AWAITING_APPROVAL and d.approval.is_pending


def test_retire_page_lists_what_goes_and_refuses_a_wrong_confirmation(deployed, engineer, client_for):
    client = client_for(engineer)
    url = reverse("deployments:retire", args=[deployed.pk])
    html = client.get(url).content.decode()
    assert "cold-logistics-eta-computation-chat-memory" in html and "Redis database 7 is released" in html
    response = client.post(url, {"confirm": "logistics", "reason": "gone"})
    assert response.status_code == 400 and "Nothing was deleted." in response.content.decode()

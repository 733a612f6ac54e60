"""Issue #9: who may act on a run. The requester, members of the owning team and platform admins confirm,
cancel and retry; everyone with access sees. A retry by someone else is their request, with their reason."""

import pytest
from django.urls import reverse

from portal.accounts import roles
from portal.core.errors import DomainError, NotAllowed
from portal.deployments import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory, TeamFactory


@pytest.fixture
def people(make_user):
    team = TeamFactory(slug="crm")
    people = {
        "requester": make_user("erin", roles.ENGINEER),
        "teammate": make_user("tom", roles.ENGINEER),
        "other": make_user("eli", roles.ENGINEER),
        "admin": make_user("pat", roles.PLATFORM_ADMIN),
        "viewer": make_user("vera", roles.VIEWER),
    }
    team.members.add(people["teammate"])
    return people


@pytest.fixture
def run(people):
    env = EnvironmentFactory(name="dev")
    agent = AgentFactory(slug="crm-loyalty-insights", owner_team=TeamFactory(slug="crm"))
    PlacementFactory(agent=agent, environment=env, redis_db=3)

    def make(status):
        return Deployment.objects.create(environment=env, template="agent", agent=agent, status=status,
                                         requested_by=people["requester"], reason="first reason",
                                         parameters={"agentName": agent.slug, "redisDatabase": 3})
    return make


@pytest.mark.parametrize("who, allowed", [
    ("requester", True), ("teammate", True), ("other", False), ("admin", True), ("viewer", False)])
def test_ownership_matrix_on_the_object(people, run, who, allowed):
    user = people[who]
    assert run(S.PREVIEWED).can_confirm(user) is allowed
    assert run(S.FAILED).can_retry(user) is allowed
    assert run(S.FAILED).can_confirm(user) is False  # not waiting for confirmation, whoever asks


@pytest.mark.parametrize("who, allowed", [("requester", True), ("teammate", True), ("other", False), ("admin", True)])
def test_ownership_matrix_in_the_services(people, run, who, allowed, django_capture_on_commit_callbacks):
    user = people[who]
    cases = [
        (lambda: services.deployment_cancel(deployment=run(S.AWAITING_APPROVAL), user=user), S.CANCELLED),
        (lambda: services.deployment_confirm(deployment=run(S.PREVIEWED), user=user), S.QUEUED),
    ]
    for act, result in cases:
        with django_capture_on_commit_callbacks():
            if allowed:
                assert act().status == result
            else:
                with pytest.raises(NotAllowed, match="erin, members of Crm and platform admins"):
                    act()


@pytest.mark.parametrize("who, allowed", [("requester", True), ("teammate", True), ("other", False), ("admin", True)])
def test_ownership_matrix_over_http(people, run, client_for, who, allowed, django_capture_on_commit_callbacks):
    client = client_for(people[who])
    previewed, failed = run(S.PREVIEWED), run(S.CANCELLED)
    page = client.get(previewed.get_absolute_url()).content.decode()
    assert page.count("Deploy these changes") == (1 if allowed else 0)
    assert "Status:" in page  # everyone with access sees the run
    with django_capture_on_commit_callbacks():
        confirm = client.post(reverse("deployments:confirm", args=[previewed.pk]))
        retry = client.post(reverse("deployments:retry", args=[failed.pk]), {"reason": "my own reason"})
    assert confirm.status_code == (302 if allowed else 403)
    assert retry.status_code == (302 if allowed else 403)
    assert Deployment.objects.get(pk=previewed.pk).status == (S.QUEUED if allowed else S.PREVIEWED)
    assert Deployment.objects.filter(retry_of=failed).exists() is allowed


def test_a_retry_by_someone_else_is_their_request_with_their_own_reason(people, run,
                                                                        django_capture_on_commit_callbacks):
    failed = run(S.FAILED)
    with pytest.raises(DomainError, match="requested by erin") as refused:
        services.deployment_retry(deployment=failed, user=people["teammate"])
    assert refused.value.field == "reason"
    with django_capture_on_commit_callbacks():
        retry = services.deployment_retry(deployment=failed, user=people["teammate"], reason="the cache is back")
    assert retry.requested_by == people["teammate"]
    assert retry.reason == "the cache is back"
    assert retry.retry_of == failed


def test_the_requester_retrying_keeps_their_reason(people, run, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        retry = services.deployment_retry(deployment=run(S.FAILED), user=people["requester"])
    assert retry.requested_by == people["requester"] and retry.reason == "first reason"

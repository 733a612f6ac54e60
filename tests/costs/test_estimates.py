"""Cost estimates before deploying: on the run page with the what-if, and on the approval page as the
change against what is deployed now. What cannot be priced is listed, never counted as 0."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.accounts import roles
from portal.costs.estimates import deployment_estimate, template_estimate
from portal.costs.models import PriceRefresh
from portal.costs.prices import catalogue_to_json
from portal.deployments import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from provisioning.cost.catalogue import DEFAULT_CATALOGUE, Price
from tests.factories import EnvironmentFactory

AGENT = {"agentName": "ecommerce-catalog-search", "redisDatabase": 3}
OPENAI_DEPLOYMENTS = "Microsoft.CognitiveServices/accounts/deployments"


def previewed(environment, parameters, user, capture):
    with capture(execute=False):
        deployment = services.deployment_request(environment=environment, template="agent", parameters=parameters,
                                                 user=user, reason="cost estimate test")
    return services.deployment_preview_run(deployment_id=deployment.pk)


def test_the_preview_shows_the_agent_modules_estimate_with_its_unpriced_resource(
        platform, engineer, client_for, django_capture_on_commit_callbacks):
    deployment = previewed(platform, {**AGENT, "environment": "dev", "enableOpenAi": True, "enableAiSearch": True},
                           engineer, django_capture_on_commit_callbacks)
    assert deployment.status == S.PREVIEWED

    html = client_for(engineer).get(deployment.get_absolute_url()).content.decode()

    assert html.index("What-if: the changes") < html.index("Cost estimate")
    assert 'data-testid="estimate-delta">+$73.73<' in html               # AI Search basic, one replica in dev
    assert "Nothing of agent is deployed in dev yet: all of it is new." in html
    assert "at least $73.73" in html
    assert "Not priced, so not counted" in html
    assert f"<code>{OPENAI_DEPLOYMENTS}</code> ecommerce-catalog-search-dev-openai/gpt-4o-mini" in html
    assert "billed per token" in html
    # the polled fragment carries it too
    fragment = client_for(engineer).get(reverse("deployments:progress", args=[deployment.pk]) + "?after=0",
                                        HTTP_HX_REQUEST="true").content.decode()
    assert "Not priced, so not counted" in fragment


def test_an_estimate_never_counts_an_unpriced_resource_as_zero(platform, engineer,
                                                                django_capture_on_commit_callbacks):
    deployment = previewed(platform, {**AGENT, "environment": "dev", "enableOpenAi": True}, engineer,
                           django_capture_on_commit_callbacks)

    estimate = deployment_estimate(deployment=deployment)

    assert [item.resource.type for item in estimate.unpriced] == [OPENAI_DEPLOYMENTS]
    assert OPENAI_DEPLOYMENTS not in {line.resource.type for line in estimate.lines}
    assert not estimate.complete and estimate.total == 0


@pytest.fixture
def prod(role_groups):
    return EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER])


def test_the_approval_shows_the_change_against_what_is_deployed_now(
        prod, engineer, approver, client_for, django_capture_on_commit_callbacks):
    before = Deployment.objects.create(environment=prod, template="agent", status=S.SUCCEEDED,
                                       parameters={**AGENT, "environment": "prod"}, finished_at=timezone.now())
    deployment = previewed(prod, {**AGENT, "environment": "prod", "enableAiSearch": True}, engineer,
                           django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        deployment = services.deployment_confirm(deployment=deployment, user=engineer)

    html = client_for(approver).get(reverse("deployments:approval", args=[deployment.approval.pk])).content.decode()

    cost_card = html[html.index('id="cost-h"'):]
    assert "No estimate yet" not in html
    assert 'data-testid="estimate-delta">+$147.46<' in cost_card        # AI Search basic, two replicas in prod
    assert f'<a href="/deployments/{before.pk}/">#{before.pk}</a>, the last successful deployment of agent to prod' \
        in cost_card
    assert "Not priced" not in cost_card


def test_a_deployment_is_not_its_own_baseline(prod, engineer, django_capture_on_commit_callbacks):
    deployment = previewed(prod, {**AGENT, "environment": "prod", "enableAiSearch": True}, engineer,
                           django_capture_on_commit_callbacks)
    Deployment.objects.filter(pk=deployment.pk).update(status=S.SUCCEEDED, finished_at=timezone.now())

    estimate = deployment_estimate(deployment=Deployment.objects.get(pk=deployment.pk))

    assert estimate.baseline is None and estimate.delta == Decimal("147.46")


def test_cluster_operations_have_no_estimate(platform, client_for, viewer):
    run = Deployment.objects.create(environment=platform, template="cluster-restart", kind="cluster",
                                    status=S.PREVIEWED, what_if={"changes": []})
    assert deployment_estimate(deployment=run) is None
    assert "Cost estimate" not in client_for(viewer).get(run.get_absolute_url()).content.decode()


def test_a_template_that_cannot_be_read_says_so(platform, viewer, client_for):
    run = Deployment.objects.create(environment=platform, template="no-such-template", status=S.PREVIEWED,
                                    what_if={"changes": []})
    html = client_for(viewer).get(run.get_absolute_url()).content.decode()
    assert "No estimate: the template could not be read" in html


def test_estimates_use_the_refreshed_catalogue_when_there_is_one(db):
    refreshed = DEFAULT_CATALOGUE.with_prices({("Microsoft.Search/searchServices", "basic"): Price(
        Decimal("80.00"), unit="search unit", source="Azure Retail Prices API, eastus, 2026-11-28")})
    PriceRefresh.objects.create(status="succeeded", region="eastus", refreshed=1, prices=catalogue_to_json(refreshed))

    estimate = template_estimate(template="agent", parameters={**AGENT, "enableAiSearch": True}, environment="dev")

    assert estimate.total == Decimal("80.00")

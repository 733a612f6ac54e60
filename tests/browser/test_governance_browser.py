"""Issue #9 in real Chromium: scope, approval of cluster operations, and Azure's rules on every path."""

import re

import pytest
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_run_reaching_into_prod_is_refused_with_the_reason(live_server, page, login, demo, celery_worker):
    login(page, "engineer", DEMO_PASSWORD)
    # Typed-in environment values do not stick: the environment's own are filled and read-only.
    page.goto(f"{live_server.url}/deployments/new/?template=static-web-app&environment=dev&p_environment=prod"
              "&p_resourceGroupName=holidaypeakhub-prod-rg")
    expect(page.get_by_label("Environment", exact=True).nth(1)).to_be_disabled()
    expect(page.get_by_label("Resource group name")).to_have_value("holidaypeakhub-dev-rg")
    expect(page.get_by_label("Resource group name")).to_be_disabled()
    # An agent named so that its AI Search service is one of prod's: refused after the what-if, naming it.
    page.goto(f"{live_server.url}/deployments/new/?template=agent&environment=staging")
    page.get_by_label("Agent name").fill("holidaypeakhub-prod")
    page.get_by_label("Redis database").fill("9")
    page.get_by_label("Enable AI search").check()
    page.get_by_label("Reason").fill("bypass attempt")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Failed", timeout=30_000)
    expect(page.get_by_test_id("run-error")).to_contain_text("OutsideEnvironmentScope")
    expect(page.get_by_test_id("run-error")).to_contain_text("holidaypeakhub-prod-stg-search")
    expect(page.get_by_role("button", name="Deploy these changes")).to_have_count(0)


def test_a_prod_scale_to_zero_asks_why_and_waits_for_approval(live_server, page, login, demo):
    login(page, "engineer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/agents/ecommerce-catalog-search/")
    row = page.get_by_role("row", name=re.compile(r"^prod"))
    row.get_by_label("Replicas in prod").fill("0")
    row.get_by_role("button", name="Scale").click()
    expect(page.get_by_role("alert")).to_contain_text("to 0 in prod stops it serving")
    page.get_by_label("Reason").fill("quiet season")
    page.get_by_role("button", name="Scale").click()
    expect(page.get_by_test_id("run-status")).to_have_text("Awaiting approval")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Scale ecommerce-catalog-search in prod")
    expect(page.get_by_test_id("approval-link")).to_be_visible()


def test_new_deployment_refuses_names_azure_refuses(live_server, page, login, demo):
    login(page, "engineer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/deployments/new/?template=agent&environment=staging")
    page.get_by_label("Agent name").fill("CRM_Upper Case!")
    page.get_by_label("Cold container name").fill("Cold_Upper!!")
    page.get_by_label("Redis database").fill("9")
    page.get_by_label("Reason").fill("names")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_role("alert").first).to_contain_text("Nothing was deployed")
    expect(page.locator(".field.has-error", has=page.get_by_label("Cold container name"))).to_contain_text(
        "ContainerNameInvalid")
    expect(page.locator(".field.has-error", has=page.get_by_label("Agent name"))).to_contain_text(
        "Azure would refuse this")


def test_a_run_that_breaks_azures_name_rules_fails_in_the_sandbox_with_azures_code(live_server, page, login, demo,
                                                                                     celery_worker):
    """A path that skips the form (here the service, as an API or a script would call it) meets the
    same rules in the sandbox."""
    from django.contrib.auth import get_user_model

    from portal.catalog.models import Environment
    from portal.deployments import services

    run = services.deployment_request(environment=Environment.objects.get(name="staging"), template="agent",
                                      parameters={"agentName": "crm-loyalty", "redisDatabase": 9,
                                                  "coldContainerName": "Cold_Upper!!"},
                                      user=get_user_model().objects.get(username="engineer"))
    login(page, "engineer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.get_by_test_id("run-status")).to_have_text("Failed", timeout=30_000)
    expect(page.get_by_test_id("run-error")).to_contain_text("ContainerNameInvalid")
    expect(page.get_by_test_id("run-error")).to_contain_text("Cold_Upper!!")


def test_the_approve_and_reject_radios_sit_by_their_labels(live_server, page, login, demo):
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from portal.catalog.models import Environment
    from portal.deployments.choices import DeploymentStatus
    from portal.deployments.models import ApprovalRequest, Deployment

    engineer = get_user_model().objects.get(username="engineer")
    run = Deployment.objects.create(environment=Environment.objects.get(name="prod"), template="static-web-app",
                                    status=DeploymentStatus.AWAITING_APPROVAL, requested_by=engineer, reason="r")
    approval = ApprovalRequest.objects.create(deployment=run, template_hash="t", parameters_hash="p",
                                              requested_by=engineer, expires_at=timezone.now() + timedelta(hours=1))
    login(page, "approver", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{approval.get_absolute_url()}")
    for name in ("Approve", "Reject"):
        radio = page.get_by_label(name, exact=True)
        label = page.locator("label", has=radio)
        radio_box, label_box = radio.bounding_box(), label.bounding_box()
        assert radio_box["width"] < 30, radio_box  # a circle, not a 12rem-wide input
        assert radio_box["x"] - label_box["x"] < 12 and label_box["width"] < 150, (radio_box, label_box)

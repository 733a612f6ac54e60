"""In real Chromium, with a real Celery worker: deploy the agent module to dev and watch it run."""

import re

import pytest
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD
from portal.deployments.models import SandboxFault

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def start_agent_deployment(page, live_server, login):
    login(page, "engineer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/agents/ecommerce-catalog-search/")
    page.get_by_role("row", name=re.compile(r"^dev")).get_by_role("link", name="Deploy resources").click()
    expect(page.get_by_label("Agent name")).to_have_value("ecommerce-catalog-search")
    page.get_by_label("Reason").fill("Browser test")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.get_by_role("button", name="Deploy these changes")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile(r"^Create \(\d+\)"))).to_be_visible()
    page.get_by_role("button", name="Deploy these changes").click()


def test_dev_deployment_of_the_agent_module_runs_to_succeeded(live_server, page, login, demo, celery_worker):
    start_agent_deployment(page, live_server, login)
    expect(page.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=30_000)
    rows = page.get_by_test_id("operations").locator("tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    for state in rows.evaluate_all("rows => rows.map(r => r.dataset.state)"):
        assert state == "succeeded"  # every resource green
    expect(page.locator("#log-lines")).to_contain_text("Deployment succeeded.")


def test_injected_failure_ends_failed_with_the_arm_error_shown(live_server, page, login, demo, celery_worker):
    SandboxFault.objects.create(match="cold-*", code="ContainerOperationFailure",
                                message="The specified container is being deleted.")
    start_agent_deployment(page, live_server, login)
    expect(page.get_by_test_id("run-status")).to_have_text("Failed", timeout=30_000)
    expect(page.get_by_test_id("run-error")).to_contain_text("DeploymentFailed")
    expect(page.get_by_test_id("run-error")).to_contain_text("ContainerOperationFailure")
    expect(page.get_by_test_id("operations").locator("tr[data-state=failed]")).to_contain_text("cold-")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()

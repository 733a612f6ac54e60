"""In real Chromium: sign in as the demo engineer, filter the agent list, open an agent."""

import re

import pytest
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_engineer_signs_in_filters_the_agent_list_and_opens_an_agent(live_server, page, login, demo):
    login(page, "engineer", DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="Environments")).to_be_visible()
    expect(page.get_by_text("Sandbox cloud")).to_be_visible()

    page.get_by_role("link", name="Agents").click()
    expect(page.get_by_test_id("agent-count")).to_have_text("21 agents.")

    page.get_by_label("Domain").select_option("logistics")  # htmx swaps the results, no reload
    expect(page.get_by_test_id("agent-count")).to_have_text("4 agents match the filter.")
    expect(page).to_have_url(re.compile(r"domain=logistics"))  # the URL reflects the filter

    page.get_by_label("Search").fill("eta")
    expect(page.get_by_test_id("agent-count")).to_have_text("1 agent matches the filter.")

    page.get_by_role("link", name="ETA Computation").click()
    expect(page.get_by_role("heading", name="ETA Computation")).to_be_visible()
    expect(page.get_by_text("warm-logistics-eta-computation-chat-memory").first).to_be_visible()


def test_filtered_agent_list_works_without_javascript(live_server, browser, login, demo):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, "viewer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/agents/")
    page.get_by_label("Domain").select_option("crm")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("agent-count")).to_have_text("4 agents match the filter.")
    assert "domain=crm" in page.url
    context.close()

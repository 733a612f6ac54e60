"""Issue #11, in real Chromium: the agent list pages by its visible links, keeps the filter while paging,
and the health board leads with the agent that is not green."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD
from portal.catalog.models import Environment, Team
from portal.health.models import HealthCheck
from tests.factories import AgentFactory, PlacementFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def many_agents(demo, settings):
    settings.PORTAL_PAGE_SIZE = 20
    crm, dev = Team.objects.get(slug="crm"), Environment.objects.get(name="dev")
    for i in range(40):
        agent = AgentFactory(slug=f"crm-extra-{i:02d}", domain="crm", owner_team=crm, display_name=f"Extra {i:02d}")
        PlacementFactory(agent=agent, environment=dev)
        HealthCheck.objects.create(environment=dev, kind="workload", target=agent.slug, label=agent.slug, agent=agent,
                                   state="red" if i == 33 else "green", checked_at=timezone.now())


def test_agent_list_pages_with_the_filter_kept(live_server, page, login, many_agents):
    login(page, "viewer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/agents/")
    expect(page.get_by_test_id("agent-count")).to_have_text("61 agents.")
    page.get_by_label("Domain").select_option("crm")
    expect(page.get_by_test_id("agent-count")).to_have_text("44 agents match the filter.")
    expect(page.get_by_test_id("pager-position")).to_have_text("Page 1 of 3 (1–20 of 44)")

    page.get_by_role("link", name="Next →").click()                 # htmx swaps the results
    expect(page.get_by_test_id("pager-position")).to_have_text("Page 2 of 3 (21–40 of 44)")
    expect(page).to_have_url(re.compile(r"domain=crm.*page=2|page=2.*domain=crm"))
    expect(page.get_by_role("link", name="Extra 25")).to_be_visible()            # slugs 20 to 40 in order
    expect(page.get_by_role("link", name="Extra 05")).to_have_count(0)
    page.get_by_role("link", name="← Previous").click()
    expect(page.get_by_test_id("pager-position")).to_have_text("Page 1 of 3 (1–20 of 44)")


def test_health_board_leads_with_the_red_agent_and_pages_the_rest(live_server, page, login, many_agents):
    login(page, "viewer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/health/dev/")
    first_row = page.get_by_test_id("agents").locator("tbody tr").first
    expect(first_row).to_have_attribute("data-agent", "crm-extra-33")
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_test_id("pager-position")).to_have_text(re.compile(r"^Page 2 of 2"))

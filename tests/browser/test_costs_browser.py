"""In real Chromium: the cost dashboard draws its charts with Chart.js from the page's data, and a viewer
drills from an environment into a service and one of its resource groups; without JavaScript the
tables are all there."""

import re

import pytest
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD
from portal.catalog.models import Environment
from portal.costs import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALL_CHARTS_DRAWN = """() => {
  const canvases = [...document.querySelectorAll('canvas[data-chart]')];
  return typeof Chart !== 'undefined' && canvases.length > 0
    && canvases.every(c => Chart.getChart(c) !== undefined && c.width > 0);
}"""


@pytest.fixture
def costs(demo):
    for environment in Environment.objects.order_by("position"):
        services.cost_ingest_run(environment_id=environment.pk, backfill=1)


def test_the_dashboard_draws_its_charts_and_drills_into_a_service(live_server, page, login, costs):
    login(page, "viewer", DEMO_PASSWORD)
    page.get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs", exact=True)).to_be_visible()

    page.wait_for_function(ALL_CHARTS_DRAWN)
    drawn = page.evaluate("() => [...document.querySelectorAll('canvas[data-chart]')].map(c => "
                          "[c.dataset.chart, Chart.getChart(c).config.type, Chart.getChart(c).data.labels.length])")
    assert {name for name, _, _ in drawn} == {"chart-month", "chart-services", "chart-trend"}
    assert ["chart-services", "bar", 11] in drawn                     # a bar per service
    month = next(item for item in drawn if item[0] == "chart-month")
    assert month[1] == "line" and month[2] >= 28                      # a point per day of the month
    datasets = page.evaluate("() => Chart.getChart(document.querySelector('[data-chart=chart-month]'))"
                             ".data.datasets.map(d => d.label)")
    assert datasets == ["Actual, month to date", "Forecast", "Budget"]
    expect(page.get_by_test_id("environments-table")).to_contain_text("$4,200")

    # environment -> service -> resource group
    page.get_by_test_id("environments-table").get_by_role("link", name="prod").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Costs of prod"))).to_be_visible()
    page.wait_for_function(ALL_CHARTS_DRAWN)
    page.get_by_test_id("services-table").get_by_role("link", name="Azure Kubernetes Service").click()
    expect(page.get_by_test_id("service-heading")).to_have_text("Azure Kubernetes Service in prod")
    page.wait_for_function(ALL_CHARTS_DRAWN)
    total = page.get_by_test_id("service-total").inner_text()
    page.get_by_test_id("resource-groups-table").get_by_role("link", name="holidaypeakhub-prod-rg").click()
    expect(page).to_have_url(re.compile(r"resource_group=holidaypeakhub-prod-rg"))
    selected = page.get_by_test_id("resource-groups-table").locator("tr.selected")
    expect(selected).to_contain_text("holidaypeakhub-prod-rg")
    expect(page.get_by_test_id("service-total")).to_have_text(total)  # the one resource group holds it all
    expect(page.get_by_test_id("agents-table")).to_contain_text("ecommerce-catalog-search")


def test_another_month_comes_in_through_htmx_and_its_charts_are_drawn(live_server, page, login, costs):
    login(page, "viewer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/costs/")
    page.wait_for_function(ALL_CHARTS_DRAWN)
    current = page.get_by_test_id("cost-month").inner_text()

    page.get_by_role("navigation", name="Month").get_by_role("link").first.click()

    expect(page.get_by_test_id("cost-month")).not_to_have_text(current)
    expect(page).to_have_url(re.compile(r"month=\d{4}-\d{2}"))
    page.wait_for_function(ALL_CHARTS_DRAWN)


def test_without_javascript_the_tables_are_the_page(live_server, browser, login, costs):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, "viewer", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/costs/")
    expect(page.get_by_test_id("services-table")).to_contain_text("Azure Kubernetes Service")
    expect(page.locator("figure.chart").first).to_be_hidden()
    page.get_by_test_id("environments-table").get_by_role("link", name="dev").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Costs of dev"))).to_be_visible()
    context.close()

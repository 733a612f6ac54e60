"""The cost pages: what they show from the stored rows, their CSV exports (what is on screen, same
filters), the htmx fragment, the drill-down from environment to service to resource group."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from portal.costs import services
from portal.costs.models import CostEntry
from provisioning.cost import CostRow
from tests.costs.fakes import FixedCost

NOV = "2026-11"


def rows_of(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.getvalue().decode())))   # streamed


@pytest.fixture
def costs(envs):
    """November 2026 to the 10th in dev and prod, October in dev; a second resource group for Storage in dev."""
    dev, prod = envs["dev"], envs["prod"]
    backend = FixedCost(daily=Decimal(10), forecast_total=Decimal(500),
                        agents={"ecommerce-catalog-search": Decimal("1.5"), "crm-support-assistance": Decimal(2)})
    services.cost_ingest_run(environment_id=dev.pk, today=date(2026, 11, 10), backend=backend, backfill=1)
    services.cost_entries_store(environment=dev, month=date(2026, 11, 1), rows=[
        *backend.month_to_date(scope="", today=date(2026, 11, 10)),
        CostRow(date(2026, 11, 3), "Storage", "holidaypeakhub-dev-logs-rg", "", Decimal("4.25"), "USD")])
    services.cost_ingest_run(environment_id=prod.pk, today=date(2026, 11, 10), backfill=0,
                             backend=FixedCost(daily=Decimal(100), resource_group="holidaypeakhub-prod-rg"))
    return envs


def test_the_dashboard_shows_each_environment_against_its_budget(costs, client_for, viewer):
    html = client_for(viewer).get(reverse("costs:dashboard") + f"?month={NOV}").content.decode()

    assert 'data-testid="environments-table"' in html
    # dev: 10 days x ($10 + $1.50 + $2) + $4.25 = $139.25 of $600; prod: $1,000 of $4,200
    assert "$139.25" in html and "$1,000.00" in html and "$4,200" in html
    assert "$500.00" in html                                    # dev's forecast
    assert f'href="/costs/environments/dev/services/Storage/?month={NOV}"' in html     # drill into a service
    assert 'href="/costs/environments/dev/?month=2026-11"' in html
    assert "ecommerce-catalog-search" in html and "E-commerce team" in html
    # charts: hidden figures drawn by costs.js, Chart.js loaded on this page only
    assert html.count("<figure class=\"chart\" hidden>") == 3
    assert "chart-4.6.1.umd.min.js" in html and 'id="chart-services" type="application/json"' in html
    assert "chart-4.6.1.umd.min.js" not in client_for(viewer).get(reverse("home")).content.decode()


def test_the_dashboard_csv_is_the_table_on_screen(costs, client_for, viewer):
    response = client_for(viewer).get(reverse("costs:dashboard"), {"month": NOV, "format": "csv",
                                                                  "table": "services"})

    assert response["Content-Disposition"] == 'attachment; filename="costs-2026-11-services.csv"'
    assert rows_of(response) == [
        ["month", "service", "dev", "staging", "prod", "total"],
        ["2026-11", "Storage", "104.25", "0.00", "1000.00", "1104.25"],
        ["2026-11", "Azure Kubernetes Service", "35.00", "0.00", "0.00", "35.00"],
    ]
    environments = rows_of(client_for(viewer).get(reverse("costs:dashboard"), {"month": NOV, "format": "csv",
                                                                              "table": "environments"}))
    assert environments[0][:7] == ["month", "environment", "actual", "budget", "percent_of_budget", "forecast",
                                   "forecast_percent"]
    assert environments[1][:7] == ["2026-11", "dev", "139.25", "600.00", "23.2", "500.00", "83.3"]
    trend = rows_of(client_for(viewer).get(reverse("costs:dashboard"), {"month": NOV, "format": "csv",
                                                                       "table": "trend"}))
    assert [row[0] for row in trend[1:]] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert trend[5] == ["2026-10", "418.50", "0.00", "0.00", "418.50"]   # dev's backfilled October: 31 x $13.50


def test_an_unknown_csv_table_is_a_404(costs, client_for, viewer):
    assert client_for(viewer).get(reverse("costs:dashboard"), {"format": "csv", "table": "nope"}).status_code == 404


def test_drill_down_from_environment_to_service_to_resource_group(costs, client_for, viewer):
    client = client_for(viewer)
    env_html = client.get(reverse("costs:environment", args=["dev"]) + f"?month={NOV}").content.decode()
    assert f'href="/costs/environments/dev/services/Azure%20Kubernetes%20Service/?month={NOV}"' in env_html

    service_url = reverse("costs:service", args=["dev", "Storage"])
    html = client.get(service_url + f"?month={NOV}").content.decode()
    assert "Storage in dev" in html
    assert 'resource_group=holidaypeakhub-dev-logs-rg' in html and "$104.25" in html

    narrowed = client.get(service_url, {"month": NOV, "resource_group": "holidaypeakhub-dev-logs-rg"})
    assert 'data-testid="service-total">$4.25<' in narrowed.content.decode()
    assert 'class="selected"' in narrowed.content.decode()
    csv_rows = rows_of(client.get(service_url, {"month": NOV, "resource_group": "holidaypeakhub-dev-logs-rg",
                                                "format": "csv", "table": "resource_groups"}))
    assert csv_rows == [["month", "environment", "service", "resource_group", "cost"],
                        ["2026-11", "dev", "Storage", "holidaypeakhub-dev-logs-rg", "4.25"]]
    days = rows_of(client.get(service_url, {"month": NOV, "resource_group": "holidaypeakhub-dev-logs-rg",
                                            "format": "csv", "table": "days"}))
    assert days[3] == ["2026-11-03", "4.25", "4.25", ""]


def test_the_environment_csv_and_the_month_navigation(costs, client_for, viewer):
    client = client_for(viewer)
    agents = rows_of(client.get(reverse("costs:environment", args=["dev"]), {"month": NOV, "format": "csv",
                                                                             "table": "agents"}))
    assert agents == [["month", "environment", "agent", "team", "cost"],
                      ["2026-11", "dev", "crm-support-assistance", "CRM team", "20.00"],
                      ["2026-11", "dev", "ecommerce-catalog-search", "E-commerce team", "15.00"]]
    october = client.get(reverse("costs:environment", args=["dev"]), {"month": "2026-10"}).content.decode()
    assert "October 2026" in october and "(month ended)" in october and "$418.50" in october
    assert 'href="/costs/environments/dev/?month=2026-11"' in october


def test_htmx_gets_the_results_fragment(costs, client_for, viewer):
    response = client_for(viewer).get(reverse("costs:dashboard") + f"?month={NOV}", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert html.lstrip().startswith('<div id="cost-results"') and "<html" not in html
    assert 'id="chart-month" type="application/json"' in html


def test_every_hx_get_has_an_href(costs, client_for, viewer):
    html = client_for(viewer).get(reverse("costs:dashboard") + f"?month={NOV}").content.decode()
    import re
    for tag in re.findall(r"<a [^>]*hx-get=[^>]*>", html):
        assert "href=" in tag, tag


def test_a_bad_month_shows_the_current_one(costs, client_for, viewer):
    response = client_for(viewer).get(reverse("costs:dashboard"), {"month": "last tuesday"})
    assert response.status_code == 200


def test_an_unknown_environment_is_a_404(costs, client_for, viewer):
    assert client_for(viewer).get(reverse("costs:environment", args=["nope"])).status_code == 404
    assert client_for(viewer).get(reverse("costs:service", args=["nope", "Storage"])).status_code == 404
    assert client_for(viewer).get(reverse("costs:budget", args=["nope"])).status_code == 403   # viewer: not allowed


def test_no_data_yet_says_how_to_get_some(envs, client_for, viewer):
    html = client_for(viewer).get(reverse("costs:dashboard")).content.decode()
    assert "No cost data has been stored yet" in html and "manage.py ingest_costs" in html


def test_refresh_now_queues_one_ingest_per_environment(envs, client_for, engineer, viewer,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(engineer).post(reverse("costs:ingest"))
    assert response.status_code == 302
    assert sorted(c.args[0].args[0] for c in callbacks) == sorted(e.pk for e in envs.values())
    assert client_for(viewer).post(reverse("costs:ingest")).status_code == 403
    assert client_for(engineer).get(reverse("costs:ingest")).status_code == 405
    assert "Refresh cost data now" not in client_for(viewer).get(reverse("costs:dashboard")).content.decode()


def test_the_home_page_shows_the_cost_this_month(envs, client_for, viewer):
    from django.utils import timezone

    today = timezone.localdate()
    services.cost_ingest_run(environment_id=envs["dev"].pk, today=today, backfill=0,
                             backend=FixedCost(daily=Decimal(10), forecast_total=Decimal(700)))
    html = client_for(viewer).get(reverse("home")).content.decode()
    assert f'<a href="/costs/environments/dev/">${10 * today.day}</a> of $600 budget' in html
    assert '<span class="text-bad">forecast $700</span>' in html
    assert html.count("not measured yet") == 2               # staging and prod


def test_cost_rows_carry_no_duplicates(costs):
    keys = CostEntry.objects.values_list("environment", "date", "service", "resource_group", "agent")
    assert len(keys) == len(set(keys))

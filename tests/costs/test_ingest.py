"""The cost ingest, through the portal's service: with AzureCost over the real azure-mgmt-costmanagement
client answered in-process (paging, Cost Management throttling, idempotent re-runs), and with the
sandbox (backfill of the months before, the agents that run)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.core.backends import azure_access
from portal.costs import backends, services
from portal.costs.choices import IngestStatus
from portal.costs.models import CostEntry, CostForecast, CostIngestRun
from portal.costs import tasks as cost_tasks
from provisioning.cost import CostError
from provisioning.cost.azure import AzureCost
from provisioning.cost.sandbox import SandboxCost
from tests.costs.fakes import FixedCost
from tests.provisioning.arm_transport import FakeCredential
from tests.provisioning.test_cost import (
    ENTITY,
    QPU,
    ROWS,
    TENANT,
    FakeCostManagement,
    Throttle,
    forecast_row,
    query_row,
)

SUB = "00000000-0000-0000-0000-00000000c057"
BASE = "https://management.azure.com"
NODE_RG = "MC_holidaypeakhub-dev-rg_holidaypeakhub-dev-aks_eastus"


def discovered(env):
    """What discovery stores for dev (tests/contract reads it from a fake tenant)."""
    env.discovered_resources = {"subscription_id": SUB, "resource_group": "holidaypeakhub-dev-rg",
                                "discovered_at": timezone.now().isoformat(),
                                "node_resource_group": NODE_RG, "kubelet_principal_id": "k", "errors": {},
                                "resources": {"aks": f"/subscriptions/{SUB}/resourceGroups/holidaypeakhub-dev-rg/"
                                                     "providers/Microsoft.ContainerService/managedClusters/x"}}
    env.save()


TODAY = date(2026, 11, 28)


@pytest.fixture
def dev(envs):
    env = envs["dev"]
    env.subscription_id = SUB
    env.save()
    return env


@pytest.fixture
def fake():
    # The forecast fits one page: the fake checks every next link's body against the first request's (the query's).
    return FakeCostManagement(query_rows=list(ROWS),
                              forecast_rows=[forecast_row(28, 14.0, "Actual"), forecast_row(30, 1.5, "Forecast")])


def azure_backend(fake, **kwargs):
    sleeps: list[float] = []
    return AzureCost(FakeCredential(), transport=fake.transport(), sleep=sleeps.append, **kwargs), sleeps


def stored(env):
    return sorted(CostEntry.objects.filter(environment=env)
                  .values_list("date", "service", "resource_group", "agent", "cost"))


# --- Azure, through the real SDK ----------------------------------------------------------------

def test_ingest_with_azure_follows_every_page_and_stores_each_row_once(dev, fake):
    backend, sleeps = azure_backend(fake)

    run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    assert run.status == IngestStatus.SUCCEEDED and run.backend == "azure" and run.rows == 5
    query_requests = [r for r in fake.requests if r.url.split("?")[0].endswith("/query")]
    assert len(query_requests) == 3                                    # 5 rows, 2 a page
    assert all(f"/subscriptions/{SUB}/resourceGroups/holidaypeakhub-dev-rg/" in r.url for r in fake.requests)
    assert stored(dev) == [
        (date(2026, 11, 1), "Azure Cosmos DB", "holidaypeakhub-dev-rg", "ecommerce-catalog-search", Decimal("0.0125")),
        (date(2026, 11, 1), "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal("8.25")),
        (date(2026, 11, 2), "Redis Cache", "holidaypeakhub-dev-rg", "", Decimal("4.9")),
        (date(2026, 11, 2), "Storage", "holidaypeakhub-dev-rg", "crm-support-assistance", Decimal("0.1")),
        (date(2026, 11, 3), "Azure Cosmos DB", "holidaypeakhub-dev-rg", "", Decimal("1.75")),
    ]
    forecast = CostForecast.objects.get(environment=dev, month=date(2026, 11, 1))
    assert forecast.actual == Decimal("14.0") and forecast.forecast == Decimal("15.5")
    assert forecast.as_of == TODAY and forecast.daily == [["2026-11-28", "14.0"], ["2026-11-30", "1.5"]]
    assert sleeps == []


def test_running_the_ingest_twice_stores_nothing_twice(dev, fake):
    backend, _ = azure_backend(fake)
    services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)
    first = stored(dev)

    again = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    assert again.status == IngestStatus.SUCCEEDED
    assert stored(dev) == first and CostEntry.objects.count() == 5
    assert CostForecast.objects.count() == 1
    assert CostIngestRun.objects.filter(environment=dev, status=IngestStatus.SUCCEEDED).count() == 2


def test_a_429_with_cost_management_headers_is_waited_out_then_the_ingest_succeeds(dev, fake):
    backend, sleeps = azure_backend(fake)
    fake.failures = [Throttle({QPU: "7", ENTITY: "3", TENANT: "12"}, path="*/query"),
                     Throttle({ENTITY: "4"}, path="*/query", after=1)]    # the second page, throttled too

    run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    assert run.status == IngestStatus.SUCCEEDED and run.rows == 5
    assert sleeps == [12.0, 4.0]                 # the longest of the headers each time
    assert fake.core_sleeps == []                # azure-core left the 429s to AzureCost
    assert len(stored(dev)) == 5


def test_a_row_azure_no_longer_reports_is_removed_and_a_changed_one_updated(dev, fake):
    backend, _ = azure_backend(fake)
    services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)
    fake.query_rows = [query_row(1, 9.5, "Azure Kubernetes Service"), *ROWS[1:4]]   # Cosmos of the 3rd is gone

    services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    rows = stored(dev)
    assert len(rows) == 4
    assert (date(2026, 11, 1), "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal("9.5")) in rows
    assert not any(row[0] == date(2026, 11, 3) for row in rows)


def test_a_long_throttle_is_recorded_and_handed_to_the_task_to_retry_later(dev, fake, monkeypatch):
    backend, sleeps = azure_backend(fake, max_throttle_wait=60)
    fake.failures = [Throttle({TENANT: "3600"}, path="*/query")]
    monkeypatch.setattr(backends, "cost_backend", lambda environment: backend)
    retried = {}

    def retry(exc, countdown):
        retried.update(exc=exc, countdown=countdown)
        return RuntimeError("retry")

    monkeypatch.setattr(cost_tasks.ingest_environment_costs, "retry", retry)
    with pytest.raises(RuntimeError, match="retry"):
        cost_tasks.ingest_environment_costs.run(dev.pk)

    assert retried["countdown"] == 3600.0 and retried["exc"].transient
    assert sleeps == []
    run = CostIngestRun.objects.get(environment=dev)
    assert run.status == IngestStatus.FAILED and run.error_code == "429"
    assert "wait 3600s" in run.error


def test_retry_countdown_uses_azures_wait_else_backs_off():
    assert cost_tasks.retry_countdown(CostError("429", "x", transient=True, retry_after=42), 0) == 42
    assert cost_tasks.retry_countdown(CostError("ServiceUnavailable", "x", transient=True), 0) == 30
    assert cost_tasks.retry_countdown(CostError("ServiceUnavailable", "x", transient=True), 2) == 120
    assert cost_tasks.retry_countdown(CostError("ServiceUnavailable", "x", transient=True), 10) == 3600


def test_a_failed_ingest_keeps_the_last_good_data_and_the_pages_say_how_old_and_why(
        dev, fake, client_for, viewer):
    backend, _ = azure_backend(fake)
    services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)
    fake.failures = [Throttle({}, status=403, code="AuthorizationFailed", message="The client has no access.")]

    run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    assert run.status == IngestStatus.FAILED and run.error_code == "AuthorizationFailed"
    assert len(stored(dev)) == 5                               # the last good data is still there
    html = client_for(viewer).get(reverse("costs:environment", args=["dev"]) + "?month=2026-11").content.decode()
    assert "Data from" in html and "the last ingest failed" in html
    assert "AuthorizationFailed: The client has no access." in html and "showing the last good data" in html
    assert "$15.01" in html                                    # 8.25 + 0.0125 + 4.9 + 0.1 + 1.75


def test_with_azure_backends_the_service_builds_azure_cost_for_the_environments_scope(dev, fake, settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    discovered(dev)
    credential = FakeCredential()

    with azure_access(credential=credential, transport=fake.transport()):
        run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backfill=0)

    assert run.status == IngestStatus.SUCCEEDED and run.backend == "azure"
    assert credential.calls >= 1                               # the registry's client used the credential given
    assert len(stored(dev)) == 5


def test_azure_without_a_subscription_fails_saying_what_to_set(envs, settings):
    settings.PORTAL_CLOUD, settings.AZURE_SUBSCRIPTION_ID = "azure", ""
    settings.PORTAL_BACKENDS = settings.PORTAL_BACKEND_SETS["azure"]

    run = services.cost_ingest_run(environment_id=envs["dev"].pk, today=TODAY, backend=FixedCost(), backfill=0)

    assert run.status == IngestStatus.FAILED and run.error_code == "NoSubscription"
    assert "AZURE_SUBSCRIPTION_ID" in run.error


# --- The sandbox --------------------------------------------------------------------------------

def test_the_sandbox_tags_the_agents_that_run_in_the_environment(envs):
    backend = backends.cost_backend(envs["dev"])
    assert isinstance(backend, SandboxCost)
    assert backend.agents == ("crm-support-assistance", "ecommerce-cart-intelligence", "ecommerce-catalog-search")
    assert backends.cost_backend(envs["staging"]).agents == ()


def test_the_first_ingest_backfills_five_months_then_only_this_month_is_fetched(envs):
    dev = envs["dev"]
    first = services.cost_ingest_run(environment_id=dev.pk, today=TODAY)

    assert first.months == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    months = {d.strftime("%Y-%m") for d in CostEntry.objects.filter(environment=dev).dates("date", "month")}
    assert months == set(first.months)
    # A whole past month adds up to the design document's dev table ($565)
    october = sum(CostEntry.objects.filter(environment=dev, date__month=10).values_list("cost", flat=True))
    assert abs(october - 565) < Decimal("0.05")
    count = CostEntry.objects.count()

    second = services.cost_ingest_run(environment_id=dev.pk, today=TODAY)

    assert second.months == ["2026-11"]
    assert CostEntry.objects.count() == count                     # nothing stored twice


def test_the_ingest_command_ingests_every_environment_and_reports_failures(envs, capsys, settings):
    from django.core.management import call_command

    call_command("ingest_costs", "--backfill", "1")

    out, err = capsys.readouterr()
    assert "dev: stored" in out and "prod: stored" in out
    assert CostIngestRun.objects.filter(status=IngestStatus.SUCCEEDED).count() == 3
    assert err == ""


# --- Issue #10: the bill's scope, the forecast on its own -------------------------------------------

def test_azure_cost_is_the_subscription_filtered_to_the_groups_including_the_aks_node_group(dev, fake, settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    discovered(dev)
    fake.query_rows = [*ROWS, query_row(1, 31.4, "Virtual Machines", group=NODE_RG),
                       query_row(1, 99.0, "Virtual Machines", group="another-teams-rg")]

    with azure_access(credential=FakeCredential(), transport=fake.transport()):
        run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backfill=0)

    assert run.status == IngestStatus.SUCCEEDED, run.error
    assert {r.url.split("?")[0] for r in fake.requests} == {
        f"{BASE}/subscriptions/{SUB}/providers/Microsoft.CostManagement/query",
        f"{BASE}/subscriptions/{SUB}/providers/Microsoft.CostManagement/forecast"}
    assert fake.bodies[0]["dataset"]["filter"] == {"dimensions": {
        "name": "ResourceGroupName", "operator": "In", "values": ["holidaypeakhub-dev-rg", NODE_RG]}}
    assert (date(2026, 11, 1), "Virtual Machines", NODE_RG.lower(), "", Decimal("31.4")) in stored(dev)
    assert all(row[2] != "another-teams-rg" for row in stored(dev))


def test_a_failing_forecast_alone_keeps_the_actual_cost_and_says_so(dev, fake, client_for, viewer):
    backend, _ = azure_backend(fake)
    fake.failures = [Throttle({}, path="*/forecast", status=400, code="BadRequest",
                              message="Forecast is not available for this scope.")]

    run = services.cost_ingest_run(environment_id=dev.pk, today=TODAY, backend=backend, backfill=0)

    assert (run.status, run.rows, run.error) == (IngestStatus.SUCCEEDED, 5, "")
    assert run.forecast_error == "BadRequest: Forecast is not available for this scope."
    assert len(stored(dev)) == 5 and not CostForecast.objects.filter(environment=dev).exists()
    html = client_for(viewer).get(reverse("costs:environment", args=["dev"]) + "?month=2026-11").content.decode()
    assert "The forecast could not be read in the last ingest: BadRequest: Forecast is not available" in html
    assert "the last ingest failed" not in html

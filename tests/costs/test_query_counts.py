"""The cost pages' query counts are pinned and do not grow with the rows: more days, months, services,
agents and environments' data cost no extra query."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.catalog.models import Placement
from portal.costs import services
from portal.costs.models import CostEntry
from provisioning.cost.sandbox import SandboxCost
from tests.factories import AgentFactory, PlacementFactory, TeamFactory

# Pinned counts (session, user and permissions included). Change them only on purpose. The ingest here crosses
# budget thresholds: the dashboard and an environment read their budget alerts in one more query (none without).
# Showback reads the month's stored showback, which the ingest rebuilt: one query checks it is fresh, then its read.
# The dashboard, an environment and a service read their version in one query (selectors.Versions); viewed again at
# the same version, their tables are kept rendered and their statements not run (PINNED_KEPT).
PINNED = {"dashboard": 10, "environment": 10, "service": 9, "showback": 8,
          # a table's CSV runs only its own query (and the environments as its columns), streamed
          # and the agents' CSV of the dashboard, an environment, a service reads its version first (two queries:
          # exports.kept_export); kept, it runs neither of its own
          "dashboard_csv": 8, "environment_csv": 8, "service_csv": 8, "showback_csv": 7}
PINNED_KEPT = {"dashboard": 8, "environment": 8, "service": 7, "dashboard_csv": 6, "environment_csv": 6,
               "service_csv": 6}


def pages(today: date):
    month = f"?month={today:%Y-%m}"
    return {
        "dashboard": reverse("costs:dashboard") + month,
        "environment": reverse("costs:environment", args=["dev"]) + month,
        "service": reverse("costs:service", args=["dev", "Azure Kubernetes Service"]) + month,
        "showback": reverse("costs:showback") + month,
        "dashboard_csv": reverse("costs:dashboard") + month + "&format=csv&table=agents",
        "environment_csv": reverse("costs:environment", args=["dev"]) + month + "&format=csv&table=agents",
        "showback_csv": reverse("costs:showback") + month + "&format=csv&table=agents",
        "service_csv": reverse("costs:service", args=["dev", "Azure Kubernetes Service"]) + month
        + "&format=csv&table=agents",
    }


def count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        response.getvalue()                  # a streamed CSV runs its query while it is read
    return len(ctx.captured_queries)


def ingest(envs, today, *, agents: int, backfill: int):
    for env in envs.values():
        slugs = list(Placement.objects.filter(environment=env).values_list("agent__slug", flat=True))[:agents]
        services.cost_ingest_run(environment_id=env.pk, today=today, backfill=backfill,
                                 backend=SandboxCost(agents=slugs))


@pytest.mark.parametrize("page", list(PINNED))
def test_cost_pages_query_counts_are_pinned_and_flat_with_rows(envs, client_for, make_user, page):
    client = client_for(make_user("counter", "Platform admin"))
    today = timezone.localdate()
    url = pages(today)[page]
    team = TeamFactory(slug="more")
    for i in range(12):
        PlacementFactory(agent=AgentFactory(slug=f"extra-agent-{i:02d}", owner_team=team), environment=envs["dev"],
                         replicas=1 + i % 3)

    ingest(envs, today, agents=1, backfill=0)
    few_rows = CostEntry.objects.count()
    small = count(client, url)
    ingest(envs, today, agents=10, backfill=2)
    assert CostEntry.objects.count() > 5 * few_rows
    large = count(client, url)

    assert small == large, f"{page}: {small} queries with {few_rows} rows, {large} with many more"
    assert small == PINNED[page], f"{page}: pinned {PINNED[page]}, now {small}"
    if page in PINNED_KEPT:
        assert count(client, url) == PINNED_KEPT[page], f"{page} viewed again at the same version"

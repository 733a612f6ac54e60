"""Issue #11: the home page's per-environment figures, each from its own subquery, and summary syncs pruned."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from portal.catalog.choices import PlacementStatus, SyncStatus
from portal.catalog.models import EnvironmentSync
from portal.catalog.selectors import environment_list
from portal.catalog.services import environment_sync_prune
from portal.deployments.models import Deployment
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=dt_timezone.utc)


@pytest.mark.django_db
def test_environment_list_counts_each_figure_once_however_many_placements_and_syncs():
    dev = EnvironmentFactory(name="dev", position=0, redis_sku="P5")
    prod = EnvironmentFactory(name="prod", position=1)
    statuses = [PlacementStatus.RUNNING] * 4 + [PlacementStatus.BLOCKED] * 2 + [PlacementStatus.RETIRED]
    for i, status in enumerate(statuses):
        # databases 1, 2, 3 and 3 again (shared with a key prefix): three databases in use
        PlacementFactory(environment=dev, agent=AgentFactory(), status=status,
                         redis_db=[1, 2, 3, 3, None, None, None][i], redis_key_prefix="a:" if i == 3 else "")
    for minutes in (5, 90, 30):
        EnvironmentSync.objects.create(environment=dev, status=SyncStatus.SUCCEEDED,
                                       finished_at=NOW - timedelta(minutes=minutes))
    Deployment.objects.create(environment=dev, template="agent", status="succeeded")
    last = Deployment.objects.create(environment=dev, template="static-web-app", status="failed")

    rows = {env.name: env for env in environment_list()}

    assert [name for name in rows] == ["dev", "prod"]
    assert (rows["dev"].agents_placed, rows["dev"].agents_running, rows["dev"].agents_blocked) == (6, 4, 2)
    assert rows["dev"].redis_used == 3
    assert rows["dev"].last_sync_at == NOW - timedelta(minutes=5)
    assert (rows["dev"].last_deployment_id, rows["dev"].last_deployment_template) == (last.pk, "static-web-app")
    assert (rows["prod"].agents_placed, rows["prod"].redis_used, rows["prod"].last_sync_at) == (0, 0, None)


@pytest.mark.django_db
def test_sync_prune_deletes_old_finished_syncs_and_keeps_the_latest_of_each_environment(settings):
    settings.PORTAL_SYNC_HISTORY_DAYS = 7
    dev, prod = EnvironmentFactory(name="dev"), EnvironmentFactory(name="prod")

    def sync(env, days, status=SyncStatus.SUCCEEDED):
        row = EnvironmentSync.objects.create(environment=env, status=status)
        EnvironmentSync.objects.filter(pk=row.pk).update(requested_at=NOW - timedelta(days=days))
        return row

    recent, old, older = sync(dev, 1), sync(dev, 8), sync(dev, 30)
    prod_only = sync(prod, 40)                                 # prod's latest: kept, however old
    prod_stuck = sync(prod, 50, status=SyncStatus.QUEUED)       # not finished: never pruned

    assert environment_sync_prune(now=NOW) == 2
    assert set(EnvironmentSync.objects.values_list("pk", flat=True)) == {recent.pk, prod_only.pk, prod_stuck.pk}
    assert not EnvironmentSync.objects.filter(pk__in=[old.pk, older.pk]).exists()

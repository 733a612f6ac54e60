"""Issue #11: the home page's and health overview's per-environment figures, counted in one pass whatever the
number of placements and checks, and summary syncs pruned."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from portal.catalog.choices import PlacementStatus, SyncStatus
from portal.catalog.models import EnvironmentSync
from portal.catalog.selectors import environment_health_list, environment_list
from portal.catalog.services import environment_sync_prune
from portal.deployments.models import Deployment
from portal.health.models import HealthCheck
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

    # #11: the queryset is compiled once (portal.catalog.compiled): its instances are the ORM's, field for field,
    # annotation for annotation, each value of the same type
    from django.utils import timezone

    from portal.catalog.selectors import _environments_for_home
    from provisioning.cost.base import month_start

    expected = list(_environments_for_home(month_start(timezone.localdate())).all())
    for env, orm in zip(environment_list(), expected, strict=True):
        state = {k: (v, type(v)) for k, v in orm.__dict__.items() if k != "_state"}
        assert {k: (v, type(v)) for k, v in env.__dict__.items() if k in state} == state
        assert env._state.db == orm._state.db and not env._state.adding


@pytest.mark.django_db
@pytest.mark.parametrize("selector", [environment_list, environment_health_list])
def test_both_environment_lists_count_active_checks_by_state_and_show_the_latest_check(selector):
    dev = EnvironmentFactory(name="dev", position=0)
    prod = EnvironmentFactory(name="prod", position=1)
    staging = EnvironmentFactory(name="staging", position=2)
    states = ["green", "green", "green", "red", "amber", "amber", "unknown"]
    for i, state in enumerate(states):
        HealthCheck.objects.create(environment=dev, kind="workload", target=f"agent-{i}", label=f"agent {i}",
                                   state=state, checked_at=NOW - timedelta(minutes=i))
    # inactive (the agent left dev): neither counted nor its time shown, however recent
    HealthCheck.objects.create(environment=dev, kind="workload", target="gone", label="gone", state="red",
                               active=False, checked_at=NOW + timedelta(hours=1))
    HealthCheck.objects.create(environment=dev, kind="http", target="never", label="never run")  # unknown, no time
    HealthCheck.objects.create(environment=prod, kind="pool", target="system", label="system", state="green",
                               checked_at=NOW - timedelta(days=1))

    rows = {env.name: env for env in selector()}

    assert list(rows) == ["dev", "prod", "staging"]
    dev_row, prod_row, staging_row = rows["dev"], rows["prod"], rows["staging"]
    assert (dev_row.health_total, dev_row.health_red, dev_row.health_amber, dev_row.health_unknown) == (8, 1, 2, 2)
    assert dev_row.health_checked_at == NOW
    assert (prod_row.health_total, prod_row.health_red, prod_row.health_checked_at) == (1, 0, NOW - timedelta(days=1))
    assert (staging_row.health_total, staging_row.health_unknown, staging_row.health_checked_at) == (0, 0, None)


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


@pytest.mark.django_db
def test_the_per_environment_counts_are_counted_once_in_summary_seconds_the_rest_every_view(settings):
    """#11: with PORTAL_SUMMARY_SECONDS set, the placement and check counts are kept that long (per process); the
    other figures (deployments, syncs, costs) are read on every view. 0 (the tests' default) counts every view."""
    from django.core.cache import cache

    settings.PORTAL_SUMMARY_SECONDS = 10
    dev = EnvironmentFactory(name="dev", position=0)
    PlacementFactory(environment=dev, agent=AgentFactory(), status=PlacementStatus.RUNNING)
    assert [env.agents_running for env in environment_list()] == [1]

    PlacementFactory(environment=dev, agent=AgentFactory(), status=PlacementStatus.RUNNING)
    run = Deployment.objects.create(environment=dev, template="agent", status="succeeded")
    [env] = environment_list()
    assert env.agents_running == 1                       # the kept count
    assert env.last_deployment_id == run.pk              # read live
    cache.clear()                                        # as when the seconds have passed
    assert [env.agents_running for env in environment_list()] == [2]

    settings.PORTAL_SUMMARY_SECONDS = 0
    PlacementFactory(environment=dev, agent=AgentFactory(), status=PlacementStatus.RUNNING)
    assert [env.agents_running for env in environment_list()] == [3]

import pytest

from portal.audit.models import AuditEvent
from portal.catalog import services
from portal.catalog.choices import SyncStatus
from portal.catalog.models import EnvironmentSync, Placement
from portal.core.errors import ConflictError, InvalidTransition
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory


def test_sync_request_queues_one_sync_and_enqueues_on_commit(platform, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        sync = services.environment_sync_request(environment=platform, user=engineer)
    assert sync.status == SyncStatus.QUEUED
    assert len(callbacks) == 1
    assert AuditEvent.objects.filter(action="environment.sync_requested", actor=engineer).count() == 1


def test_second_sync_request_while_one_is_active_returns_the_active_one(platform, engineer,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        first = services.environment_sync_request(environment=platform, user=engineer)
    with django_capture_on_commit_callbacks() as callbacks:
        second = services.environment_sync_request(environment=platform, user=engineer)
    assert first.pk == second.pk
    assert callbacks == []
    assert EnvironmentSync.objects.count() == 1


def test_sync_run_records_the_summary(platform):
    sync = EnvironmentSync.objects.create(environment=platform)
    done = services.environment_sync_run(sync_id=sync.pk)
    assert done.status == SyncStatus.SUCCEEDED
    assert done.result["placements"] == 1
    assert done.result["redis_databases_used"] == 2  # database 0 kept for the platform, 1 for the agent
    assert done.result["redis_database_limit"] == 16
    assert done.started_at and done.finished_at


def test_redelivered_sync_runs_once(platform):
    sync = EnvironmentSync.objects.create(environment=platform)
    services.environment_sync_run(sync_id=sync.pk)
    again = services.environment_sync_run(sync_id=sync.pk)
    assert again.status == SyncStatus.SUCCEEDED
    assert AuditEvent.objects.filter(action="environment.sync_succeeded").count() == 1


def test_sync_run_of_a_missing_row_does_nothing(db):
    assert services.environment_sync_run(sync_id=424242) is None


def test_transition_refuses_a_move_the_map_does_not_allow(platform):
    sync = EnvironmentSync.objects.create(environment=platform, status=SyncStatus.SUCCEEDED)
    with pytest.raises(InvalidTransition):
        services.environment_sync_transition(sync, SyncStatus.RUNNING)


def test_transition_loses_when_someone_else_moved_the_row_first(platform):
    sync = EnvironmentSync.objects.create(environment=platform)
    stale = EnvironmentSync.objects.get(pk=sync.pk)
    services.environment_sync_transition(sync, SyncStatus.RUNNING)
    with pytest.raises(InvalidTransition):
        services.environment_sync_transition(stale, SyncStatus.RUNNING)


def test_redis_allocation_takes_the_lowest_free_index_after_the_reserved_ones(db):
    env = EnvironmentFactory(redis_sku="P1", redis_reserved_databases=1)
    p1 = PlacementFactory(environment=env, redis_db=None)
    services.redis_allocate(placement=p1)
    assert p1.redis_db == 1


def test_redis_allocation_fails_with_the_options_when_the_sku_is_full(db):
    env = EnvironmentFactory(redis_sku="P1")
    for index in range(1, 16):
        PlacementFactory(environment=env, redis_db=index)
    extra = PlacementFactory(environment=env, redis_db=None)
    with pytest.raises(services.RedisFull) as excinfo:
        services.redis_allocate(placement=extra)
    assert "16 database(s)" in excinfo.value.message
    assert "larger SKU" in excinfo.value.message and "key prefixes" in excinfo.value.message


def test_released_redis_database_is_reused(db):
    env = EnvironmentFactory(redis_sku="P1")
    placements = [PlacementFactory(environment=env, redis_db=i) for i in range(1, 16)]
    Placement.objects.filter(pk=placements[4].pk).update(redis_db=None)  # index 5 released
    extra = PlacementFactory(environment=env, redis_db=None)
    assert services.redis_allocate(placement=extra) == 5


def test_clustered_redis_has_database_zero_only(db):
    env = EnvironmentFactory(redis_sku="P3", redis_clustered=True, redis_reserved_databases=1)
    assert env.redis_database_limit == 1
    assert services.redis_free_databases(environment=env) == []


@pytest.mark.parametrize("sku,limit", [("C0", 16), ("C4", 32), ("C5", 48), ("C6", 64), ("P1", 16), ("P2", 32),
                                       ("P3", 48), ("P4", 64), ("P5", 64)])
def test_redis_database_limits_follow_the_sku(db, sku, limit):
    assert EnvironmentFactory(redis_sku=sku).redis_database_limit == limit


def test_environment_update_records_changes_in_the_audit_log(platform, platform_admin):
    services.environment_update(environment=platform, data={"region": "westeurope", "monthly_budget": 700},
                                user=platform_admin)
    event = AuditEvent.objects.get(action="environment.updated")
    assert event.details["changes"]["region"] == ["eastus", "westeurope"]
    assert event.actor == platform_admin


def test_environment_update_refuses_a_smaller_redis_sku_that_cannot_hold_allocated_databases(db, platform_admin):
    env = EnvironmentFactory(redis_sku="P2")
    PlacementFactory(environment=env, redis_db=20)
    with pytest.raises(ConflictError, match="Redis database 20"):
        services.environment_update(environment=env, data={"redis_sku": "P1"}, user=platform_admin)
    env.refresh_from_db()
    assert env.redis_sku == "P2"


def test_environment_update_without_changes_writes_no_audit_event(platform, platform_admin):
    services.environment_update(environment=platform, data={"region": platform.region}, user=platform_admin)
    assert not AuditEvent.objects.filter(action="environment.updated").exists()


def test_scheduled_sweep_queues_a_sync_per_environment(db, django_capture_on_commit_callbacks):
    EnvironmentFactory(name="dev"), EnvironmentFactory(name="prod")
    AgentFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        syncs = services.environment_sync_all()
    assert len(syncs) == 2 and len(callbacks) == 2


def test_a_shared_redis_database_may_hold_several_placements_with_key_prefixes(db):
    env = EnvironmentFactory(redis_sku="P1")
    owner = PlacementFactory(environment=env, redis_db=3)
    PlacementFactory(environment=env, redis_db=3, redis_key_prefix="gift-wrapping:")
    PlacementFactory(environment=env, redis_db=3, redis_key_prefix="returns:")
    assert 3 not in services.redis_free_databases(environment=env)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PlacementFactory(environment=env, redis_db=3)  # a second exclusive owner is refused
    assert owner.redis_db == 3


def test_placement_transition_moves_a_placement_once_and_audits_it(db):
    from portal.catalog.choices import PlacementStatus

    placement = PlacementFactory(status=PlacementStatus.PROVISIONING)
    moved = services.placement_transition(placement, PlacementStatus.FAILED, detail="Forbidden: " + "x" * 400)
    assert moved.status == PlacementStatus.FAILED
    assert len(moved.status_detail) == 255 and moved.status_detail.startswith("Forbidden: xxx")
    assert "characters more)" in moved.status_detail
    event = AuditEvent.objects.get(action="placement.failed")
    assert event.details["from"] == PlacementStatus.PROVISIONING
    with pytest.raises(InvalidTransition):  # a second writer that read it Provisioning loses
        services.placement_transition(placement, PlacementStatus.RUNNING)
    assert Placement.objects.get(pk=placement.pk).status == PlacementStatus.FAILED


def test_a_retired_placement_cannot_be_marked_running(db):
    from portal.catalog.choices import PlacementStatus

    placement = PlacementFactory(status=PlacementStatus.RETIRED)
    with pytest.raises(InvalidTransition):
        services.placement_transition(placement, PlacementStatus.RUNNING)
    assert services.placement_transition(placement, PlacementStatus.PROVISIONING).status == \
        PlacementStatus.PROVISIONING

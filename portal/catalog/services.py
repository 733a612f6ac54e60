from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from portal.audit.selectors import refuse_stale
from portal.audit.services import audit_record
from portal.catalog import selectors
from portal.catalog.choices import (
    PLACEMENT_ALLOWED_TRANSITIONS,
    SYNC_ACTIVE,
    SYNC_ALLOWED_TRANSITIONS,
    SYNC_TERMINAL,
    SyncStatus,
)
from portal.catalog.models import Environment, EnvironmentSync, Placement
from portal.core.errors import ConflictError, DomainError
from portal.core.outbox import enqueue
from portal.core.transitions import transition
from provisioning.text import shorten


class RedisFull(DomainError):
    status = 409


def environment_sync_transition(sync: EnvironmentSync, new: str, **fields) -> EnvironmentSync:
    return transition(EnvironmentSync, sync.pk, old=sync.status, new=new, allowed=SYNC_ALLOWED_TRANSITIONS,
                      **fields)


def placement_transition(placement: Placement, new: str, *, detail: str = "", user=None, details: dict | None = None,
                         **fields) -> Placement:
    """Move a placement to `new` (PLACEMENT_ALLOWED_TRANSITIONS; a conditional UPDATE, so a racing writer
    gets InvalidTransition), with `detail` as its status_detail (cut to the column, never a reason to fail),
    and audit it. The UPDATE sets updated_at itself (auto_now is the ORM's save(), not QuerySet.update()): the
    stored showback knows a placement changed from it (#11)."""
    with transaction.atomic():
        moved = transition(Placement, placement.pk, old=placement.status, new=new,
                           allowed=PLACEMENT_ALLOWED_TRANSITIONS, status_detail=shorten(detail, 255),
                           **{"updated_at": timezone.now(), **fields})
        audit_record(action=f"placement.{new}", obj=moved, actor=user,
                     details={"from": placement.status, **({"detail": detail} if detail else {}), **(details or {})})
    return moved


@transaction.atomic
def environment_sync_request(*, environment: Environment, user=None, request=None) -> EnvironmentSync:
    """Queue a recount of the environment's summary. One at a time per environment."""
    Environment.objects.select_for_update().filter(pk=environment.pk).first()
    active = EnvironmentSync.objects.filter(environment=environment, status__in=SYNC_ACTIVE).first()
    if active is not None:
        if active.status == SyncStatus.QUEUED:  # its task was lost (or waits): queue it (no-op while one waits)
            enqueue("portal.catalog.tasks.sync_environment", active.pk, key=f"sync:{active.pk}")
        return active
    sync = EnvironmentSync.objects.create(environment=environment, requested_by=user)
    audit_record(action="environment.sync_requested", obj=environment, actor=user, request=request,
                 details={"sync": sync.pk})
    enqueue("portal.catalog.tasks.sync_environment", sync.pk, key=f"sync:{sync.pk}")
    return sync


def environment_sync_run(*, sync_id: int) -> EnvironmentSync | None:
    """Called by the task: claim the queued sync, compute the summary, record it. Idempotent."""
    try:
        sync = EnvironmentSync.objects.select_related("environment").get(pk=sync_id)
    except EnvironmentSync.DoesNotExist:
        return None
    if sync.status != SyncStatus.QUEUED:
        return sync  # re-delivered: someone already ran (or is running) it
    sync = environment_sync_transition(sync, SyncStatus.RUNNING, started_at=timezone.now())
    try:
        summary = selectors.environment_summary(environment=sync.environment)
    except Exception as exc:  # record the failure on the row; the task itself does not retry a bug
        with transaction.atomic():
            sync = environment_sync_transition(sync, SyncStatus.FAILED, finished_at=timezone.now(),
                                               error=f"{type(exc).__name__}: {exc}")
            audit_record(action="environment.sync_failed", obj=sync.environment, details={"sync": sync.pk})
        raise
    with transaction.atomic():
        sync = environment_sync_transition(sync, SyncStatus.SUCCEEDED, finished_at=timezone.now(), result=summary)
        audit_record(action="environment.sync_succeeded", obj=sync.environment,
                     details={"sync": sync.pk, "placements": summary["placements"]})
    return sync


def environment_sync_all() -> list[EnvironmentSync]:
    """The scheduled sweep: prune old syncs, then queue a sync of every environment."""
    environment_sync_prune()
    return [environment_sync_request(environment=env) for env in Environment.objects.all()]


def environment_sync_prune(*, now=None) -> int:
    """Delete finished syncs older than PORTAL_SYNC_HISTORY_DAYS (beat adds 96 per environment a day),
    keeping each environment's latest finished one. Returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PORTAL_SYNC_HISTORY_DAYS)
    latest = EnvironmentSync.objects.filter(environment=OuterRef("environment"), status__in=SYNC_TERMINAL) \
        .order_by("-requested_at", "-pk").values("pk")[:1]
    deleted, _ = (EnvironmentSync.objects.filter(status__in=SYNC_TERMINAL, requested_at__lt=cutoff)
                  .exclude(pk=Subquery(latest)).delete())
    return deleted


ENVIRONMENT_EDITABLE = (
    "region", "subscription_id", "resource_group", "aks_cluster", "redis_sku", "redis_clustered",
    "monthly_budget", "approvals_required", "approver_group", "approval_timeout_hours", "approval_webhook_url",
    "resource_groups", "resource_name_pattern", "approval_operations",  # issue #9
)


ENVIRONMENT_EDIT_ACTIONS = ("environment.updated",)


@transaction.atomic
def environment_update(*, environment: Environment, data: dict, version: int | None = None, user=None,
                       request=None) -> Environment:
    """Save an edit of the environment's settings and policy. `version` is the one the edit form was filled in
    from: when someone has saved since, the edit is refused (StaleEdit) rather than silently reverting theirs."""
    environment = Environment.objects.select_for_update().get(pk=environment.pk)
    refuse_stale(version=version, current=environment, current_version=environment.version, obj=environment,
                 actions=ENVIRONMENT_EDIT_ACTIONS,
                 message=f"Someone else saved {environment.name} while you were editing it. Their changes are shown "
                         "below and the form keeps what you typed: check it against theirs and save again.")
    changes = {}
    for field in ENVIRONMENT_EDITABLE:
        if field in data and getattr(environment, field) != data[field]:
            before = getattr(environment, field)
            changes[field] = [str(before) if before is not None else None,
                              str(data[field]) if data[field] is not None else None]
            setattr(environment, field, data[field])
    if "redis_sku" in changes or "redis_clustered" in changes:
        highest = (Placement.objects.filter(environment=environment, redis_db__isnull=False)
                   .order_by("-redis_db").values_list("redis_db", flat=True).first())
        if highest is not None and highest >= environment.redis_database_limit:
            raise ConflictError(
                f"Redis database {highest} is allocated in {environment.name}; a cache with "
                f"{environment.redis_database_limit} database(s) cannot hold it. Release it first."
            )
    if changes:
        environment.version += 1
        environment.save()
        audit_record(action="environment.updated", obj=environment, actor=user, request=request,
                     details={"changes": changes, "version": environment.version})
    return environment


def redis_free_databases(*, environment: Environment) -> list[int]:
    used = set(Placement.objects.filter(environment=environment, redis_db__isnull=False)
               .values_list("redis_db", flat=True))
    return [db for db in range(environment.redis_reserved_databases, environment.redis_database_limit)
            if db not in used]


def redis_allocate(*, placement: Placement) -> int:
    """Give the placement the lowest free Redis database index of its environment (call in a transaction)."""
    if placement.redis_db is not None:
        return placement.redis_db
    env = Environment.objects.select_for_update().get(pk=placement.environment_id)
    free = redis_free_databases(environment=env)
    if not free:
        raise RedisFull(
            f"No free Redis database in {env.name}: its {env.get_redis_sku_display()} cache has "
            f"{env.redis_database_limit} database(s), {env.redis_reserved_databases} kept for the platform, "
            "the rest allocated. Move the environment to a larger SKU (P2: 32, P3: 48, P4/P5: 64 databases), "
            "or share a database with key prefixes."
        )
    placement.redis_db = free[0]
    return placement.redis_db

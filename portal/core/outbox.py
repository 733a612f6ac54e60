"""The outbox: every piece of work the portal hands to Celery is first a row (OutboxTask).

Use ONE function to queue work, from any service:

    from portal.core.outbox import enqueue
    enqueue("portal.catalog.tasks.sync_environment", sync.pk, key=f"sync:{sync.pk}")

- The row is written in the caller's transaction: the work exists exactly when what asked for it
  committed. After commit the task is published; if the broker is down the error is logged and
  swallowed, the request answers normally, and the row waits (``queue_reachable()`` says so).
- The periodic sweep (``outbox_sweep``, beat every PORTAL_OUTBOX_SWEEP_SECONDS) and each worker at
  start publish again every due row whose task has not started, and put back rows whose worker
  stopped renewing their lease.
- A task claims its row with a conditional UPDATE before it runs (``PortalTask``, the app's task
  class), so a row published twice runs once. The message id names the row (``outbox-<pk>-<rand>``),
  and a Celery retry keeps that id, so a retry takes its own row back.
- Database errors inside any task are retried with short backoff (capped at
  PORTAL_TASK_DB_RETRY_MAX_SECONDS), never dropped.

Tasks must still be idempotent at the domain level (re-check the row's status), because a worker can
die after doing the work and before marking the row done.
"""

import contextvars
import logging
import threading
import uuid
from datetime import timedelta
from functools import partial

from celery import Task, current_app
from celery.exceptions import Reject, Retry
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from provisioning.text import shorten

log = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)
ID_PREFIX = "outbox-"
# Publishing must not hold a request for long when the broker is down: one quick retry, then give up.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
DB_RETRY_LIMIT = 10_000  # retries of a task that meets database errors (at most a few seconds apart)
# Scheduled tasks (not in the outbox) retry for about a minute, then give way to the next beat.
SCHEDULED_DB_RETRY_LIMIT = 20

# Inside a request (the middleware sets False): True once a publish failed, so the person is told, and the
# request's further publishes are left to the sweep instead of each waiting for the broker. None elsewhere.
publish_failed = contextvars.ContextVar("outbox_publish_failed", default=None)


def _task_name(task) -> str:
    return task if isinstance(task, str) else task.name


def enqueue(task, *args, key: str = "", countdown: float = 0, expires: float | None = None, **kwargs):
    """Queue `task(*args, **kwargs)`: a row now (in the caller's transaction), a message on commit.

    key: while a row of this task with this key waits to start, enqueue returns it instead of adding another (a sweep
    that asks every 30 s adds nothing while the first request waits; a started row may belong to a
    worker that died, so it does not count). countdown: not before this many seconds.
    expires: seconds after which work not yet started is dropped (periodic work the next beat replaces).
    Returns the OutboxTask row.
    """
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    name = _task_name(task)
    if key:
        existing = OutboxTask.objects.filter(task=name, key=key, state=OutboxState.PENDING).first()
        if existing is not None:
            return existing
    now = timezone.now()
    row = OutboxTask.objects.create(
        task=name, args=list(args), kwargs=kwargs, key=key, due_at=now + timedelta(seconds=countdown),
        expires_at=now + timedelta(seconds=expires) if expires else None)
    if not countdown:
        transaction.on_commit(partial(publish, row), robust=True)
    return row


def publish(row) -> bool:
    """Hand the row to the broker. Never raises: a broker that cannot be reached leaves the row for the sweep."""
    from portal.core.models import OutboxTask

    if publish_failed.get():
        return False  # this request already found the broker down: the sweep publishes it
    celery_id = f"{ID_PREFIX}{row.pk}-{uuid.uuid4().hex[:12]}"
    options = {"task_id": celery_id, "retry": True, "retry_policy": PUBLISH_RETRY_POLICY}
    if row.expires_at:
        options["expires"] = row.expires_at
    try:
        task = current_app.tasks.get(row.task)
        if task is not None:
            task.apply_async(args=row.args, kwargs=row.kwargs, **options)
        else:
            current_app.send_task(row.task, args=row.args, kwargs=row.kwargs, **options)
    except Exception as exc:  # any broker or transport error: the row is the truth, the sweep publishes it later
        if publish_failed.get() is not None:
            publish_failed.set(True)
        log.warning("task queue unreachable; %s #%s waits in the outbox: %s: %s", row.task, row.pk,
                    type(exc).__name__, exc)
        return False
    try:
        OutboxTask.objects.filter(pk=row.pk).update(dispatched_at=timezone.now(), dispatches=F("dispatches") + 1)
    except DB_ERRORS as exc:  # published all the same; the claim is what counts
        log.warning("could not mark %s #%s published: %s", row.task, row.pk, exc)
    return True


def outbox_id(celery_id: str | None) -> int | None:
    if not celery_id or not celery_id.startswith(ID_PREFIX):
        return None
    try:
        return int(celery_id[len(ID_PREFIX):].split("-", 1)[0])
    except ValueError:
        return None


def _lease() -> timedelta:
    return timedelta(seconds=settings.PORTAL_OUTBOX_LEASE_SECONDS)


def outbox_claim(*, pk: int, celery_id: str, worker: str = "") -> bool:
    """Take the row for this message: pending, or already ours (a Celery retry keeps the message id).
    False when another message claimed it, it finished, expired or no longer exists."""
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    now = timezone.now()
    return bool(OutboxTask.objects.filter(pk=pk)
                .filter(Q(state=OutboxState.PENDING) | Q(state=OutboxState.STARTED, celery_id=celery_id))
                .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                .update(state=OutboxState.STARTED, celery_id=celery_id, worker=worker[:200], started_at=now,
                        lease_expires_at=now + _lease(), attempts=F("attempts") + 1))


def _settle(pk: int, celery_id: str, **fields) -> None:
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    try:
        OutboxTask.objects.filter(pk=pk, state=OutboxState.STARTED, celery_id=celery_id).update(**fields)
    except DB_ERRORS as exc:  # the lease lapses and the sweep (or the Celery retry) takes it from there
        log.warning("could not record the outcome of outbox #%s: %s", pk, exc)


def close_connections() -> None:
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # a connection to a database that is gone cannot be closed cleanly
            pass


class _LeaseKeeper:
    """Renews the row's lease while its task runs, so only a worker that stopped loses it."""

    def __init__(self, pk: int, celery_id: str):
        self.pk, self.celery_id = pk, celery_id
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"outbox-lease-{pk}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self):
        from portal.core.choices import OutboxState
        from portal.core.models import OutboxTask

        every = max(0.5, settings.PORTAL_OUTBOX_LEASE_SECONDS / 3)
        try:
            while not self.stop.wait(every):
                try:
                    OutboxTask.objects.filter(pk=self.pk, state=OutboxState.STARTED, celery_id=self.celery_id) \
                        .update(lease_expires_at=timezone.now() + _lease())
                except DB_ERRORS:
                    close_connections()
        finally:
            close_connections()


def db_retry_countdown(retries: int) -> float:
    """0.5 s doubling, capped low: a task waiting for the database resumes within seconds of its return."""
    return min(settings.PORTAL_TASK_DB_RETRY_MAX_SECONDS, 0.5 * 2 ** retries)


class PortalTask(Task):
    """The app's task class (portal/celery.py): claims the outbox row of the message before running and
    records the outcome; retries database errors with backoff instead of dropping the task.

    outbox_resume_kwarg: a task whose retry carries this keyword (run_deployment's held_attempt) runs even
    when its row was queued again meanwhile (its lease lapsed while the database was down): the domain's
    own conditional claim decides, so the run resumes at once instead of after the run's lease.
    """

    outbox_resume_kwarg: str | None = None

    def __call__(self, *args, **kwargs):
        pk = outbox_id(self.request.id) if self.request.id else None
        if pk is None or self.request.is_eager:
            return self._run_retrying_db(*args, **kwargs)
        from portal.core.choices import OutboxState

        celery_id = self.request.id
        try:
            claimed = outbox_claim(pk=pk, celery_id=celery_id, worker=self.request.hostname or "")
        except DB_ERRORS as exc:
            raise self._db_retry(exc)
        if not claimed and self.outbox_resume_kwarg and kwargs.get(self.outbox_resume_kwarg) is not None:
            return self._run_retrying_db(*args, **kwargs)
        if not claimed:
            log.info("%s: outbox #%s is not pending (ran already, or another message has it); skipped", self.name, pk)
            return None
        try:
            with _LeaseKeeper(pk, celery_id):
                result = super().__call__(*args, **kwargs)
        except Retry as retry:
            when = retry.when
            due = when if hasattr(when, "tzinfo") else timezone.now() + timedelta(seconds=float(when or 0))
            # Back to pending; the retry message (same id) takes it again, or the sweep after `due`.
            _settle(pk, celery_id, state=OutboxState.PENDING, due_at=due, dispatched_at=due,
                    last_error=shorten(str(retry.exc or retry), 2000))
            raise
        except DB_ERRORS as exc:
            raise self._db_retry(exc)  # the row stays ours (same message id); the retry takes it back
        except Reject as exc:
            # Celery could not publish the task's retry (the broker is down): the sweep publishes the row.
            _settle(pk, celery_id, state=OutboxState.PENDING, due_at=timezone.now(), dispatched_at=None,
                    last_error=shorten(f"retry not published: {exc}", 2000))
            raise
        except Exception as exc:
            _settle(pk, celery_id, state=OutboxState.FAILED, finished_at=timezone.now(),
                    last_error=shorten(f"{type(exc).__name__}: {exc}", 2000))
            raise
        _settle(pk, celery_id, state=OutboxState.DONE, finished_at=timezone.now(), lease_expires_at=None)
        return result

    def _run_retrying_db(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except DB_ERRORS as exc:
            if self.request.is_eager or not self.request.id:
                raise
            in_outbox = outbox_id(self.request.id) is not None
            raise self._db_retry(exc, limit=DB_RETRY_LIMIT if in_outbox else SCHEDULED_DB_RETRY_LIMIT)

    def _db_retry(self, exc, limit=DB_RETRY_LIMIT):
        close_connections()  # reconnect on the next try
        countdown = db_retry_countdown(self.request.retries)
        log.warning("%s: database unavailable (%s); retrying in %.1f s", self.name, exc, countdown)
        return self.retry(exc=exc, countdown=countdown, max_retries=limit)


# --- The sweep ----------------------------------------------------------------------------------

def outbox_sweep(*, now=None, limit: int = 500) -> dict:
    """Scheduled (and at each worker's start): drop expired rows, take back rows whose worker stopped
    renewing the lease, publish every due row that is not started and not published recently."""
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    now = now or timezone.now()
    rows = OutboxTask.objects
    expired = rows.filter(state=OutboxState.PENDING, expires_at__lte=now).update(
        state=OutboxState.EXPIRED, finished_at=now)
    lapsed = rows.filter(state=OutboxState.STARTED, lease_expires_at__lt=now).update(
        state=OutboxState.PENDING, due_at=now, dispatched_at=None, last_error="The worker stopped; queued again.")
    recently = now - timedelta(seconds=settings.PORTAL_OUTBOX_REDISPATCH_SECONDS)
    due = list(rows.filter(state=OutboxState.PENDING, due_at__lte=now)
               .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=recently)).order_by("due_at", "pk")[:limit])
    published = sum(publish(row) for row in due)
    cutoff = now - timedelta(days=settings.PORTAL_OUTBOX_KEEP_DAYS)
    pruned, _ = rows.filter(state__in=[OutboxState.DONE, OutboxState.EXPIRED], finished_at__lt=cutoff).delete()
    outcome = {"expired": expired, "lapsed": lapsed, "due": len(due), "published": published, "pruned": pruned}
    if lapsed or published:
        log.info("outbox sweep: %s", outcome)
    return outcome


def outbox_worker_started(*, worker: str, now=None) -> dict:
    """A worker starting under a name takes back what its previous life had started (it died with it), then sweeps."""
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    now = now or timezone.now()
    taken = OutboxTask.objects.filter(state=OutboxState.STARTED, worker=worker).update(
        state=OutboxState.PENDING, due_at=now, dispatched_at=None,
        last_error=f"{worker} restarted; queued again.")
    outcome = outbox_sweep(now=now)
    outcome["taken_back"] = taken
    return outcome


def outbox_tracks(*, key: str) -> bool:
    """Whether the outbox holds work under this key that is waiting, running or failed (a bug to look at,
    not to run again every sweep). Domain sweeps queue work for a stuck row only when this is False."""
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    return OutboxTask.objects.filter(key=key, state__in=[OutboxState.PENDING, OutboxState.STARTED,
                                                         OutboxState.FAILED]).exists()


# --- Reads --------------------------------------------------------------------------------------

def outbox_waiting(*, key: str) -> bool:
    """Whether work under this key is queued but could not be handed to the task queue yet."""
    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    return OutboxTask.objects.filter(key=key, state=OutboxState.PENDING, dispatched_at__isnull=True).exists()


def outbox_backlog(*, now=None) -> dict:
    """For the system status page: work waiting for the queue, and the oldest of it."""
    from django.db.models import Count, Min

    from portal.core.choices import OutboxState
    from portal.core.models import OutboxTask

    now = now or timezone.now()
    waiting = OutboxTask.objects.filter(state=OutboxState.PENDING, dispatched_at__isnull=True, due_at__lte=now)
    agg = waiting.aggregate(n=Count("pk"), oldest=Min("due_at"))
    return {"waiting": agg["n"], "oldest": agg["oldest"],
            "started": OutboxTask.objects.filter(state=OutboxState.STARTED).count()}


def queue_reachable(timeout: float = 2.0) -> tuple[bool, str]:
    """Whether the broker answers now (a fresh connection, one try)."""
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            conn.default_channel  # noqa: B018 - opening a channel is what proves the broker answers
    except Exception as exc:  # any transport error means unreachable
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""

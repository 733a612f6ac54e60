"""Celery tasks of deployments and approvals: thin. Load by id, let the service re-check the status and
do the work.

Only transient cloud errors are retried (with backoff and a cap); a bug is not retried.
"""

import logging

from celery import shared_task

from provisioning.backends.base import CloudError
from provisioning.cluster.base import ClusterError

log = logging.getLogger(__name__)

MAX_RETRIES = 5


def _countdown(exc: CloudError | ClusterError, retries: int) -> float:
    return getattr(exc, "retry_after", None) or min(300, 5 * 2 ** retries)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def preview_deployment(self, deployment_id: int) -> None:
    from portal.deployments import services

    try:
        services.deployment_preview_run(deployment_id=deployment_id)
    except (CloudError, ClusterError) as exc:
        if not exc.transient:
            raise
        raise self.retry(exc=exc, countdown=_countdown(exc, self.request.retries))


@shared_task(bind=True, max_retries=MAX_RETRIES, outbox_resume_kwarg="held_attempt")
def run_deployment(self, deployment_id: int, held_attempt: int | None = None) -> None:
    from portal.core import outbox
    from portal.deployments import services

    try:
        services.deployment_execute(deployment_id=deployment_id, held_attempt=held_attempt)
    except services.RunInterrupted as exc:
        # The database went away mid-run: retry within seconds, taking the run back with the same attempt.
        outbox.close_connections()
        raise self.retry(exc=exc, args=[deployment_id], kwargs={"held_attempt": exc.attempt},
                         countdown=outbox.db_retry_countdown(self.request.retries), max_retries=outbox.DB_RETRY_LIMIT)
    except (CloudError, ClusterError) as exc:
        if not exc.transient:
            raise
        # The run still holds its lease; let it lapse so the retry can resume the same deployment.
        services.deployment_release(deployment_id=deployment_id)
        raise self.retry(exc=exc, countdown=_countdown(exc, self.request.retries))


@shared_task
def resume_orphaned_deployments() -> None:
    from portal.deployments import services

    resumed = services.deployment_resume_orphans()
    if resumed:
        log.warning("resumed orphaned deployments: %s", resumed)


@shared_task(bind=True)
def send_notification(self, payload: dict, outcome: dict | None = None) -> None:
    """Sends once: when the database is down at the audit, the retry only audits what went out."""
    from portal.core import outbox
    from portal.deployments import notifications

    if outcome is None:
        outcome = notifications.notification_deliver(**payload)
    try:
        notifications.notification_audit(outcome=outcome, **payload)
    except outbox.DB_ERRORS as exc:
        outbox.close_connections()
        raise self.retry(exc=exc, args=[payload], kwargs={"outcome": outcome},
                         countdown=outbox.db_retry_countdown(self.request.retries), max_retries=outbox.DB_RETRY_LIMIT)


@shared_task
def expire_approvals() -> None:
    from portal.deployments import approvals

    approvals.approval_expire_due()

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


@shared_task(bind=True, max_retries=MAX_RETRIES)
def run_deployment(self, deployment_id: int) -> None:
    from portal.deployments import services

    try:
        services.deployment_execute(deployment_id=deployment_id)
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


@shared_task
def send_notification(payload: dict) -> None:
    from portal.deployments import notifications

    notifications.notification_send(**payload)


@shared_task
def expire_approvals() -> None:
    from portal.deployments import approvals

    approvals.approval_expire_due()

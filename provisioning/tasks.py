"""Celery tasks: thin. Load by id, let the portal service re-check the status and do the work.

Only transient cloud errors are retried (with backoff and a cap); a bug is not retried.
"""

import logging

from celery import shared_task

from portal.catalog import services as catalog_services
from portal.deployments import approvals as deployment_approvals
from portal.deployments import notifications as deployment_notifications
from portal.deployments import services as deployment_services
from provisioning.backends.base import CloudError
from provisioning.cluster.base import ClusterError

log = logging.getLogger(__name__)


class TransientCloudError(Exception):
    """Raised to ask Celery for a retry; wraps a CloudError or ClusterError marked transient."""


@shared_task(name="provisioning.tasks.sync_environment")
def sync_environment(sync_id: int) -> None:
    sync = catalog_services.environment_sync_run(sync_id=sync_id)
    if sync is None:
        log.warning("sync %s not found; nothing to do", sync_id)


@shared_task(name="provisioning.tasks.sync_all_environments")
def sync_all_environments() -> None:
    catalog_services.environment_sync_all()


def _transient(exc: Exception) -> bool:
    return isinstance(exc, (CloudError, ClusterError)) and exc.transient


@shared_task(bind=True, name="provisioning.tasks.preview_deployment", max_retries=5)
def preview_deployment(self, deployment_id: int) -> None:
    try:
        deployment_services.deployment_preview_run(deployment_id=deployment_id)
    except (CloudError, ClusterError) as exc:
        if not _transient(exc):
            raise
        raise self.retry(exc=exc, countdown=getattr(exc, "retry_after", None) or min(300, 5 * 2 ** self.request.retries))


@shared_task(bind=True, name="provisioning.tasks.run_deployment", max_retries=5)
def run_deployment(self, deployment_id: int) -> None:
    try:
        deployment_services.deployment_execute(deployment_id=deployment_id)
    except (CloudError, ClusterError) as exc:
        if not _transient(exc):
            raise
        # The run still holds its lease; let it lapse so the retry can resume the same deployment.
        deployment_services.deployment_release(deployment_id=deployment_id)
        raise self.retry(exc=exc, countdown=getattr(exc, "retry_after", None) or min(300, 5 * 2 ** self.request.retries))


@shared_task(name="provisioning.tasks.resume_orphaned_deployments")
def resume_orphaned_deployments() -> None:
    resumed = deployment_services.deployment_resume_orphans()
    if resumed:
        log.warning("resumed orphaned deployments: %s", resumed)


@shared_task(name="provisioning.tasks.send_notification")
def send_notification(payload: dict) -> None:
    deployment_notifications.notification_send(**payload)


@shared_task(name="provisioning.tasks.expire_approvals")
def expire_approvals() -> None:
    deployment_approvals.approval_expire_due()
from provisioning import cost_tasks  # noqa: E402,F401


from provisioning import health_tasks  # noqa: E402,F401

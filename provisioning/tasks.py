"""Celery tasks: thin. Load by id, let the portal service re-check the status and do the work."""

import logging

from celery import shared_task

from portal.catalog import services as catalog_services

log = logging.getLogger(__name__)


@shared_task(name="provisioning.tasks.sync_environment")
def sync_environment(sync_id: int) -> None:
    sync = catalog_services.environment_sync_run(sync_id=sync_id)
    if sync is None:
        log.warning("sync %s not found; nothing to do", sync_id)


@shared_task(name="provisioning.tasks.sync_all_environments")
def sync_all_environments() -> None:
    catalog_services.environment_sync_all()

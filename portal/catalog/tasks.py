"""Celery tasks of the catalog: thin. Load by id, let the service re-check the status and do the work."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task
def sync_environment(sync_id: int) -> None:
    from portal.catalog import services

    if services.environment_sync_run(sync_id=sync_id) is None:
        log.warning("sync %s not found; nothing to do", sync_id)


@shared_task
def sync_all_environments() -> None:
    from portal.catalog import services

    services.environment_sync_all()

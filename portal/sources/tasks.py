"""Celery tasks of the template sources: thin. Load by id, let the service do the work."""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task
def sync_source(source_id: int) -> None:
    from portal.sources import services
    from portal.sources.models import TemplateSource

    try:
        services.source_sync(source_id=source_id)
    except TemplateSource.DoesNotExist:
        log.warning("template source %s not found; nothing to do", source_id)


@shared_task
def sync_due_sources() -> None:
    from portal.sources import services

    services.sources_sync_due()

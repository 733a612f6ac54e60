"""Celery tasks of the portal core: the outbox sweep (see portal/core/outbox.py)."""

from celery import shared_task


@shared_task
def outbox_sweep() -> dict:
    from portal.core import outbox

    return outbox.outbox_sweep()

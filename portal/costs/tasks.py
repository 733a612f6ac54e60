"""Celery tasks of the cost dashboards: thin. The portal's cost services do the work and record it.

A transient CostError (throttling, 5xx, Azure unreachable) is retried with the wait Azure asked
for, else with backoff, up to a cap; a permanent one is recorded on the run row and not retried, and a bug is not retried either.
"""

import logging

from celery import shared_task

from provisioning.cost import CostError

log = logging.getLogger(__name__)

MAX_RETRIES = 5
MAX_COUNTDOWN = 3600


def retry_countdown(exc: CostError, retries: int) -> float:
    """Seconds before the next try: what Cost Management asked for, else 30 s doubling, at most an hour."""
    if exc.retry_after:
        return min(MAX_COUNTDOWN, max(1.0, float(exc.retry_after)))
    return float(min(MAX_COUNTDOWN, 30 * 2 ** retries))


@shared_task(bind=True, max_retries=MAX_RETRIES)
def ingest_environment_costs(self, environment_id: int) -> None:
    from portal.costs import services as cost_services

    try:
        cost_services.cost_ingest_run(environment_id=environment_id)
    except CostError as exc:
        if not exc.transient:
            raise
        raise self.retry(exc=exc, countdown=retry_countdown(exc, self.request.retries))


@shared_task
def ingest_all_costs() -> None:
    """Scheduled: one ingest task per environment."""
    from portal.costs import services as cost_services

    cost_services.cost_ingest_request_all()

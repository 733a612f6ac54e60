"""Celery tasks of the health checks: thin, they call the health services.

The backends' errors never reach these tasks: a check that cannot run is recorded as "unknown", so
nothing here retries; the next beat runs them again.
"""

from celery import shared_task


@shared_task
def health_sweep(kind: str) -> None:
    from portal.health import services

    services.health_sweep(kind=kind)


@shared_task
def run_health_checks(kind: str, environment_id: int) -> None:
    from portal.health import services

    services.health_checks_run(environment_id=environment_id, kind=kind)


@shared_task
def evaluate_health_alerts() -> None:
    from portal.health import services

    services.health_alerts_evaluate()


@shared_task
def prune_health_history() -> None:
    from portal.health import services

    services.health_history_prune()

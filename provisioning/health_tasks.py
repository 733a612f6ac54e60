"""Celery tasks of the health checks and the RBAC audit: thin, they call the portal's services.

The backends' errors never reach these tasks: a check that cannot run is recorded as "unknown" and
an audit that cannot read as a failed audit, so nothing here retries; the next beat runs them again.
Imported by provisioning.tasks, so the worker's autodiscovery registers them.
"""

from celery import shared_task

from portal.access import services as access_services
from portal.health import services as health_services


@shared_task(name="provisioning.health_tasks.health_sweep")
def health_sweep(kind: str) -> None:
    health_services.health_sweep(kind=kind)


@shared_task(name="provisioning.health_tasks.run_health_checks")
def run_health_checks(kind: str, environment_id: int) -> None:
    health_services.health_checks_run(environment_id=environment_id, kind=kind)


@shared_task(name="provisioning.health_tasks.evaluate_health_alerts")
def evaluate_health_alerts() -> None:
    health_services.health_alerts_evaluate()


@shared_task(name="provisioning.health_tasks.prune_health_history")
def prune_health_history() -> None:
    health_services.health_history_prune()


@shared_task(name="provisioning.health_tasks.audit_rbac_all")
def audit_rbac_all() -> None:
    access_services.rbac_audit_sweep()


@shared_task(name="provisioning.health_tasks.audit_rbac")
def audit_rbac(environment_id: int, user_id: int | None = None) -> None:
    access_services.rbac_audit_run(environment_id=environment_id, user_id=user_id)

"""Celery tasks of the RBAC audit: thin, they call the access services.

An audit that cannot read is recorded as a failed audit, so nothing here retries; the next beat runs it again.
"""

from celery import shared_task


@shared_task
def audit_rbac_all() -> None:
    from portal.access import services

    services.rbac_audit_sweep()


@shared_task
def audit_rbac(environment_id: int, user_id: int | None = None) -> None:
    from portal.access import services

    services.rbac_audit_run(environment_id=environment_id, user_id=user_id)

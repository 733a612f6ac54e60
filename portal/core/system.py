"""What the portal runs on, for the system status page."""

from django.conf import settings
from django.db import connection

from portal.deployments.backends import bicep_compiler


def system_status() -> dict:
    broker = settings.CELERY_BROKER_URL
    return {
        "mode": settings.PORTAL_MODE,
        "cloud": settings.PORTAL_CLOUD,
        "subscription": settings.AZURE_SUBSCRIPTION_ID,
        "database": f"{connection.vendor} ({connection.settings_dict['NAME']})",
        "broker": broker.split("://", 1)[0] + "://…" if "@" in broker else broker,
        "compiler": bicep_compiler(),
        "compiler_setting": settings.PORTAL_BICEP,
        "bicep_root": settings.PORTAL_BICEP_ROOT,
        "queue": queue_status(),
    }


def queue_status() -> dict:
    """Whether the task queue answers now, and the work waiting in the outbox for it (issue #8)."""
    from portal.core.outbox import outbox_backlog, queue_reachable

    reachable, detail = queue_reachable()
    return {"reachable": reachable, "detail": detail, **outbox_backlog()}

"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready
from kombu.transport import sqlalchemy as kombu_sqla

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded broker (kombu's SQLAlchemy transport on SQLite): its transport options go straight
# to create_engine(), so the polling interval is set on the class instead.
kombu_sqla.Transport.polling_interval = 0.1

# PortalTask claims each message's outbox row before running it and retries database errors (issue #8).
app = Celery("portal", task_cls="portal.core.outbox:PortalTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # portal/<app>/tasks.py of every installed app


@worker_ready.connect
def take_back_work_of_a_previous_life(sender=None, **kwargs):
    """A worker at start takes back what it had started before it died and publishes what waits (issue #8)."""
    from django.db import DatabaseError

    from portal.core.outbox import outbox_worker_started

    try:
        outcome = outbox_worker_started(worker=sender.hostname)
    except DatabaseError as exc:  # the database is down: the periodic sweep does this later
        logging.getLogger(__name__).warning("outbox recovery at start skipped: %s", exc)
    else:
        logging.getLogger(__name__).info("outbox at start: %s", outcome)
# Observability (#14): request and run ids into the tasks' log lines, task metrics, and traces and
# the metrics port in each worker process.
from celery import signals  # noqa: E402

from portal.core.observability import connect_celery_signals  # noqa: E402

connect_celery_signals()


@signals.worker_process_init.connect(weak=False)
def _trace_worker_process(**_):
    from portal.core.observability import configure_tracing

    configure_tracing(service_role="worker")


@signals.worker_ready.connect(weak=False)
def _serve_worker_metrics(**_):
    from portal.core.metrics import start_worker_metrics_server

    start_worker_metrics_server()

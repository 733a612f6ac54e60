"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqla

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded broker (kombu's SQLAlchemy transport on SQLite): its transport options go straight
# to create_engine(), so the polling interval is set on the class instead.
kombu_sqla.Transport.polling_interval = 0.1

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # portal/<app>/tasks.py of every installed app

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

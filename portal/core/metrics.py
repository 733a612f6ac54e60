"""Prometheus metrics (#14): runs by state (read from the database at scrape time), Celery queue wait
and task duration (observed by the worker, portal/core/observability.py), Azure throttling
(provisioning/telemetry.py), served at /metrics.

Several processes per pod (gunicorn workers, prefork Celery children) share one view of the metrics
through prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (the image sets it
to a directory under /tmp). The worker serves its own metrics on PORTAL_METRICS_PORT."""

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

TASK_QUEUE_WAIT = Histogram(
    "portal_task_queue_wait_seconds", "Time a Celery task waited in the queue before a worker started it.",
    ["task"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TASK_DURATION = Histogram(
    "portal_task_duration_seconds", "Time a Celery task ran, by its final state.",
    ["task", "state"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


class RunsByStateCollector:
    """portal_runs{state=...}: deployment runs per state, counted by the database on each scrape
    (every state listed, 0 included, so a dashboard never loses a series)."""

    def collect(self):
        from django.db.models import Count

        from portal.deployments.choices import DeploymentStatus
        from portal.deployments.models import Deployment

        counts = dict(Deployment.objects.order_by().values_list("status").annotate(n=Count("id")))
        family = GaugeMetricFamily("portal_runs", "Deployment runs by state.", labels=["state"])
        for state in DeploymentStatus.values:
            family.add_metric([state], counts.get(state, 0))
        yield family


def registry():
    """The registry to expose: this process's metrics, or every process's in multiprocess mode."""
    from prometheus_client import REGISTRY

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return combined
    return REGISTRY


def exposition(*, include_runs=True):
    target = registry()
    runs = RunsByStateCollector() if include_runs else None
    if runs is not None:
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(runs)
        return generate_latest(target) + generate_latest(scrape)
    return generate_latest(target)


def start_worker_metrics_server():
    """A Celery worker serves its metrics (queue wait, task duration, throttling) on its own port."""
    port = int(os.environ.get("PORTAL_METRICS_PORT", "0") or 0)
    if not port:
        return False
    from prometheus_client import start_http_server

    start_http_server(port, registry=registry())
    return True


__all__ = ["CONTENT_TYPE_LATEST", "TASK_DURATION", "TASK_QUEUE_WAIT", "exposition", "start_worker_metrics_server"]

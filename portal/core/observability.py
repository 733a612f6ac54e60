"""Observability (#14): JSON log lines that carry the request id and the run id, OpenTelemetry traces
of requests, Celery tasks and Azure SDK calls (to Application Insights when
APPLICATIONINSIGHTS_CONNECTION_STRING is set), and the Celery side of the Prometheus metrics.

- A request gets an id (the caller's `X-Request-ID` when it is sane, else a new one), sent back in
  the response and carried into the tasks it enqueues (a message header), so one id follows the work.
- A run id is bound while a request looks at a run (`/deployments/<pk>/...`) and while a task works
  on one (a task argument named `deployment_id`).
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
run_id_var: ContextVar[str | None] = ContextVar("run_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MESSAGE_HEADER = "portal_request_id"
ENQUEUED_AT_MESSAGE_HEADER = "portal_enqueued_at"
RUN_ARGUMENT = "deployment_id"  # a task argument of this name is the run the task works on
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# Logging ----------------------------------------------------------------------------------------

class ContextFilter(logging.Filter):
    """Puts request_id, run_id and task_id (or None) on every record, for any formatter."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        record.run_id = run_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, run_id, task_id, and the
    trace and span ids when a span is active (so a log line links to its trace)."""

    def format(self, record):
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "run_id": getattr(record, "run_id", run_id_var.get()),
            "task_id": getattr(record, "task_id", task_id_var.get()),
        }
        span_context = _current_span_context()
        if span_context is not None:
            entry["trace_id"] = f"{span_context.trace_id:032x}"
            entry["span_id"] = f"{span_context.span_id:016x}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    converter = time.gmtime


def _current_span_context():
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


def _bind(var, value):
    return var.set(None if value is None else str(value))


# Requests ---------------------------------------------------------------------------------------

def _clear_request_context(**_):
    request_id_var.set(None)
    run_id_var.set(None)


class RequestIdMiddleware:
    """Binds a request id (and a run id on a run's pages) for the request's log lines and spans."""

    def __init__(self, get_response):
        from django.core.signals import request_finished

        self.get_response = get_response
        # Django logs a 4xx/5xx after the middleware returns: the ids stay bound until the request ends.
        request_finished.connect(_clear_request_context, weak=False, dispatch_uid="portal-request-context")

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        _bind(request_id_var, request_id)
        _bind(run_id_var, None)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.namespace == "deployments" and "pk" in view_kwargs \
                and match.url_name in {"detail", "progress"}:
            run_id_var.set(str(view_kwargs["pk"]))
        from opentelemetry import trace

        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("portal.request_id", request.request_id)
            if run_id_var.get():
                span.set_attribute("portal.run_id", run_id_var.get())
        return None


# Celery -----------------------------------------------------------------------------------------

def _run_id_of(task, args, kwargs):
    if kwargs and RUN_ARGUMENT in kwargs:
        return kwargs[RUN_ARGUMENT]
    if args:
        import inspect

        try:
            parameters = [p for p in inspect.signature(task.run).parameters if p != "self"]
        except (TypeError, ValueError):
            return None
        if parameters and parameters[0] == RUN_ARGUMENT:
            return args[0]
    return None


def _header(request, name):
    """A custom message header: Celery puts it on the request, or in request.headers."""
    value = getattr(request, name, None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(name)
    return value


def _before_publish(headers=None, **_):
    if headers is None:
        return
    headers.setdefault(ENQUEUED_AT_MESSAGE_HEADER, time.time())
    if request_id_var.get():
        headers.setdefault(REQUEST_ID_MESSAGE_HEADER, request_id_var.get())


def _task_prerun(task_id=None, task=None, args=None, kwargs=None, **_):
    from portal.core import metrics

    request = task.request
    task_id_var.set(task_id)
    _bind(request_id_var, _header(request, REQUEST_ID_MESSAGE_HEADER))
    run_id = _run_id_of(task, args, kwargs)
    _bind(run_id_var, run_id)
    enqueued_at = _header(request, ENQUEUED_AT_MESSAGE_HEADER)
    if enqueued_at and not request.is_eager:
        metrics.TASK_QUEUE_WAIT.labels(task=task.name).observe(max(0.0, time.time() - float(enqueued_at)))
    request._portal_started = time.monotonic()


def _task_postrun(task=None, state=None, **_):
    from portal.core import metrics

    if run_id_var.get() is not None:
        # The task's span is current here (the Celery instrumentation ends it after this handler).
        from opentelemetry import trace

        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("portal.run_id", run_id_var.get())
    started = getattr(task.request, "_portal_started", None)
    if started is not None:
        metrics.TASK_DURATION.labels(task=task.name, state=state or "UNKNOWN").observe(time.monotonic() - started)
    task_id_var.set(None)
    run_id_var.set(None)
    request_id_var.set(None)


def connect_celery_signals():
    """Called once by portal/celery.py."""
    from celery import signals

    signals.before_task_publish.connect(_before_publish, weak=False)
    signals.task_prerun.connect(_task_prerun, weak=False)
    signals.task_postrun.connect(_task_postrun, weak=False)


# Tracing ----------------------------------------------------------------------------------------

_configured = False


def configure_tracing(*, service_role, tracer_provider=None, connection_string=None):
    """Trace requests (Django), Celery tasks and Azure SDK calls.

    With `tracer_provider` (tests: an in-memory exporter), instrument with it. Otherwise, when
    APPLICATIONINSIGHTS_CONNECTION_STRING is set, the Azure Monitor distro sets up the exporters
    (and instruments Django, psycopg, requests/urllib and the Azure SDK); Celery is added here.
    Without either, nothing is traced. Returns whether tracing is on."""
    global _configured
    import os

    from django.conf import settings

    connection_string = connection_string or os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "")
    if tracer_provider is None and not connection_string:
        return False
    if _configured and tracer_provider is None:
        return True
    from azure.core.settings import settings as azure_settings
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    resource_attributes = {"service.name": settings.PORTAL_SERVICE_NAME, "service.namespace": "peak-portal",
                           "service.instance.role": service_role}
    if tracer_provider is None:
        from azure.monitor.opentelemetry import configure_azure_monitor
        from opentelemetry.sdk.resources import Resource

        configure_azure_monitor(connection_string=connection_string, resource=Resource.create(resource_attributes),
                                logger_name="portal", enable_live_metrics=False)
        CeleryInstrumentor().instrument()
        _configured = True
        return True
    DjangoInstrumentor().instrument(tracer_provider=tracer_provider, is_sql_commentor_enabled=False)
    CeleryInstrumentor().instrument(tracer_provider=tracer_provider)
    azure_settings.tracing_implementation = "opentelemetry"
    return True


def unconfigure_tracing():
    """Undo the instrumentation (tests)."""
    from azure.core.settings import settings as azure_settings
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().uninstrument()
    CeleryInstrumentor().uninstrument()
    azure_settings.tracing_implementation = None

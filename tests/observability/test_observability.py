"""#14: JSON log lines carry the request id and the run id; a request's and a task's spans, exported
in-memory; the Prometheus endpoint; Azure throttling counted from the SDK's own pipeline."""

import io
import json
import logging

import pytest
from celery import shared_task
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from portal.core.observability import ContextFilter, JsonFormatter, configure_tracing, unconfigure_tracing
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from tests.factories import EnvironmentFactory

log = logging.getLogger("tests.observability")


@shared_task(name="tests.observability.touch_run")
def touch_run(deployment_id: int) -> str:
    log.info("touching run %s", deployment_id)
    return "touched"


@shared_task(name="tests.observability.plain_task")
def plain_task(count: int) -> int:
    log.info("plain task %s", count)
    return count


@pytest.fixture
def json_lines():
    """The root logger's lines, formatted as in production (the settings' JSON formatter and filter)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    # django.request has its own handler in the settings (it does not propagate: one line per 403, issue #9).
    loggers = [root, logging.getLogger("django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert configure_tracing(service_role="test", tracer_provider=provider)
    try:
        yield exporter
    finally:
        unconfigure_tracing()
        provider.shutdown()


@pytest.mark.django_db
def test_a_run_page_logs_json_lines_with_the_request_id_and_the_run_id(client, engineer, json_lines):
    client.force_login(engineer)
    response = client.get("/deployments/987654/", headers={"X-Request-ID": "req-abc.123"})
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-abc.123"
    lines = [line for line in json_lines() if "/deployments/987654/" in line["message"]]
    assert lines, json_lines()
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "django.request"
    assert lines[0]["request_id"] == "req-abc.123"
    assert lines[0]["run_id"] == "987654"


@pytest.mark.django_db
def test_a_request_without_a_sane_id_gets_a_new_one(client, json_lines):
    response = client.get("/no-such-page/", headers={"X-Request-ID": "bad id\nwith newline"})
    generated = response["X-Request-ID"]
    assert len(generated) == 32 and generated != "bad id\nwith newline"
    assert [line["request_id"] for line in json_lines() if "/no-such-page/" in line["message"]] == [generated]


def test_a_task_logs_its_run_id_and_task_id(json_lines):
    result = touch_run.apply(args=[42], task_id="task-42")
    assert result.get() == "touched"
    line = next(line for line in json_lines() if line["message"] == "touching run 42")
    assert line["run_id"] == "42" and line["task_id"] == "task-42"
    assert json_lines()[-1]["message"] != "" and line["level"] == "INFO"


def test_a_task_without_a_run_logs_no_run_id_and_ids_do_not_leak_between_tasks(json_lines):
    touch_run.apply(kwargs={"deployment_id": 7})
    plain_task.apply(args=[3])
    line = next(line for line in json_lines() if line["message"] == "plain task 3")
    assert line["run_id"] is None and line["task_id"]


@pytest.mark.django_db
def test_a_request_is_traced_with_its_route_and_request_id(client, spans):
    response = client.get("/accounts/login/", headers={"X-Request-ID": "trace-me"})
    assert response.status_code == 200
    server = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert len(server) == 1, spans.get_finished_spans()
    span = server[0]
    assert span.name == "GET accounts/login/"
    assert span.attributes["http.status_code"] == 200 and span.attributes["http.route"] == "accounts/login/"
    assert span.attributes["portal.request_id"] == "trace-me"


def test_a_task_is_traced_with_its_run_id(spans):
    touch_run.apply(args=[5])
    task_spans = [span for span in spans.get_finished_spans() if span.name.endswith("tests.observability.touch_run")]
    assert len(task_spans) == 1, spans.get_finished_spans()
    span = task_spans[0]
    assert span.name == "run/tests.observability.touch_run"
    assert span.attributes["celery.task_name"] == "tests.observability.touch_run"
    assert span.attributes["portal.run_id"] == "5"


def test_nothing_is_traced_without_a_connection_string_or_a_provider(monkeypatch):
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    assert configure_tracing(service_role="test") is False


def metric(text, name, **labels):
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.django_db
def test_metrics_count_runs_by_state_and_time_tasks(client):
    env = EnvironmentFactory()
    Deployment.objects.create(environment=env, template="agent", status=S.RUNNING)
    Deployment.objects.create(environment=env, template="static-web-app", status=S.RUNNING)
    Deployment.objects.create(environment=env, template="agent", status=S.FAILED)
    before = metric(client.get("/metrics").content.decode(), "portal_task_duration_seconds_count",
                    state="SUCCESS", task="tests.observability.plain_task") or 0
    plain_task.apply(args=[1])

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert metric(text, "portal_runs", state="running") == 2
    assert metric(text, "portal_runs", state="failed") == 1
    assert metric(text, "portal_runs", state="succeeded") == 0
    assert metric(text, "portal_task_duration_seconds_count", state="SUCCESS",
                  task="tests.observability.plain_task") == before + 1


@pytest.mark.django_db
def test_metrics_need_the_bearer_token_when_one_is_set(client, settings):
    settings.PORTAL_METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_azure_throttling_is_counted_per_answer_by_the_sdk_pipeline():
    from azure.mgmt.resource.resources import ResourceManagementClient
    from prometheus_client import REGISTRY

    from provisioning.backends.azure import client_options
    from tests.provisioning.arm_transport import FakeCredential, FakeResponse, InProcessTransport

    class ThrottleTwice(InProcessTransport):
        calls = 0

        def send(self, request, **kwargs):
            self.calls += 1
            if self.calls <= 2:
                return FakeResponse(request, 429, {"error": {"code": "TooManyRequests", "message": "slow down"}},
                                    headers={"Retry-After": "1"})
            return FakeResponse(request, 200, {"value": []})

    def throttled():
        return REGISTRY.get_sample_value("portal_azure_throttled_total", {"host": "management.azure.com"}) or 0

    before = throttled()
    transport = ThrottleTwice()
    client = ResourceManagementClient(FakeCredential(), "00000000-0000-0000-0000-000000000000",
                                      **client_options(transport, retry_total=3))
    assert list(client.resource_groups.list()) == []
    assert transport.calls == 3
    assert throttled() == before + 2


@pytest.mark.worker
def test_a_request_id_travels_with_the_message_to_a_real_worker(celery_worker, json_lines):
    import time

    from portal.core.observability import request_id_var

    token = request_id_var.set("req-into-the-queue")
    try:
        touch_run.delay(77)
    finally:
        request_id_var.reset(token)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [line for line in json_lines() if line["message"] == "touching run 77"]
        if lines:
            break
        time.sleep(0.1)
    assert lines, "the worker did not run the task"
    assert lines[0]["request_id"] == "req-into-the-queue"
    assert lines[0]["run_id"] == "77" and lines[0]["task_id"]

"""Long work does not block short work (issue #10): deployments are routed to a queue of their own
(CELERY_TASK_ROUTES), served by their own worker (PORTAL_WORKERS, as `make run` starts them), so a
health check starts on time while 20 deployments are in flight.

The deployments here never end by themselves (the sandbox takes days per resource), so if the health
check shared their queue it could not run at all: it must finish within its beat interval while all 20
are still in flight."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from portal.celery import app as celery_app
from portal.deployments import services
from portal.deployments.choices import TERMINAL
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from portal.health.choices import CheckKind
from portal.health.models import HealthResult
from tests.factories import EnvironmentFactory
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]

AGENT_PARAMS = {"agentName": "ecommerce-catalog-search", "environment": "dev"}


@pytest.fixture
def portal_workers(settings, tmp_path):
    """The workers `make run` starts, one per PORTAL_WORKERS entry, each on its own queues: real worker
    processes (two in-process workers on one app were seen to hang on Redis now and then)."""
    from tests.integration.test_worker_crash import database_url

    purge_every_queue(settings.PORTAL_WORKERS)
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update({"DATABASE_URL": database_url(), "CELERY_BROKER_URL": celery_app.conf.broker_url,
                "PORTAL_VAR_DIR": str(settings.VAR_DIR),
                "PORTAL_SANDBOX_SPEED": "1e6",            # a resource takes days: a run polls until it is stopped
                "PORTAL_DEPLOYMENT_POLL_SECONDS": "0.5"})
    procs = []
    try:
        for name, spec in settings.PORTAL_WORKERS.items():
            log = (tmp_path / f"{name}.log").open("w")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "threads",
                 "--concurrency", str(spec["concurrency"]), "--queues", ",".join(spec["queues"]),
                 "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for name in settings.PORTAL_WORKERS:
            wait_for(lambda name=name: "ready." in (tmp_path / f"{name}.log").read_text(), timeout=60,
                     what=f"worker {name} ready")
        yield settings.PORTAL_WORKERS
    finally:
        Deployment.objects.exclude(status__in=TERMINAL).update(status=S.CANCELLED)   # lets the runs return
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        purge_every_queue(settings.PORTAL_WORKERS)


def purge_every_queue(workers):
    """Messages other tests left on any queue (control.purge() empties only the default one) are not ours."""
    queues = {queue for spec in workers.values() for queue in spec["queues"]}
    with celery_app.connection_for_write() as connection:
        for queue in sorted(queues):
            try:
                connection.default_channel.queue_purge(queue)
            except Exception:  # noqa: BLE001 - a queue never declared on this broker holds nothing
                pass


def test_twenty_long_deployments_do_not_delay_a_health_check_beyond_its_interval(
        portal_workers, platform, engineer, settings):
    from portal.health.tasks import run_health_checks

    for i in range(20):
        services.deployment_request(environment=EnvironmentFactory(name=f"load{i}"), template="agent",
                                    parameters=dict(AGENT_PARAMS), user=engineer, auto_confirm=True)
    threads = portal_workers["deployments"]["concurrency"]
    wait_for(lambda: Deployment.objects.filter(status=S.RUNNING).count() == threads, timeout=60)

    asked = timezone.now()
    run_health_checks.delay(CheckKind.NODE_POOL, platform.pk)
    interval = settings.CELERY_BEAT_SCHEDULE["health-node-pools"]["schedule"]
    result = wait_for(lambda: HealthResult.objects.filter(health_check__environment=platform,
                                                          checked_at__gte=asked).first(), timeout=interval)

    assert result.health_check.kind == CheckKind.NODE_POOL
    assert Deployment.objects.exclude(environment=platform).exclude(status__in=TERMINAL).count() == 20
    assert Deployment.objects.filter(status=S.RUNNING).count() == threads   # every deployment thread still busy


def test_deployments_and_short_work_are_routed_to_different_queues():
    route = celery_app.amqp.router.route
    assert route({}, "portal.deployments.tasks.run_deployment")["queue"].name == "deployments"
    assert route({}, "portal.deployments.tasks.preview_deployment")["queue"].name == "deployments"
    for short in ("portal.health.tasks.run_health_checks", "portal.costs.tasks.ingest_all_costs",
                  "portal.deployments.tasks.send_notification", "portal.access.tasks.audit_rbac"):
        assert route({}, short)["queue"].name == "celery"

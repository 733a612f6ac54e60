"""Long work does not block short work (issue #10): deployments are routed to a queue of their own
(CELERY_TASK_ROUTES), served by their own worker (PORTAL_WORKERS, as `make run` starts them), so a
health check starts on time while 20 deployments are in flight.

The deployments here never end by themselves (the sandbox takes days per resource), so if the health
check shared their queue it could not run at all: it must finish within its beat interval while all 20
are still in flight."""

import contextlib

import pytest
from celery.contrib.testing.worker import start_worker
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

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

AGENT_PARAMS = {"agentName": "ecommerce-catalog-search", "environment": "dev"}


@pytest.fixture
def portal_workers(django_db_blocker, settings):
    """The workers `make run` starts, one per PORTAL_WORKERS entry, each on its own queues."""
    settings.PORTAL_SANDBOX_SPEED = 1e6            # a resource takes days: a run polls until it is stopped
    settings.PORTAL_DEPLOYMENT_POLL_SECONDS = 0.5
    with django_db_blocker.unblock(), contextlib.ExitStack() as stack:
        celery_app.control.purge()
        for name, spec in settings.PORTAL_WORKERS.items():
            stack.enter_context(start_worker(
                celery_app, pool="threads", concurrency=spec["concurrency"], queues=spec["queues"],
                hostname=f"{name}@test", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30))
        yield settings.PORTAL_WORKERS
        Deployment.objects.exclude(status__in=TERMINAL).update(status=S.CANCELLED)   # lets the runs return
    celery_app.control.purge()


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

"""Exactly once, with real worker processes: a worker killed mid-deployment (SIGKILL, no goodbye) is
followed by another that resumes polling the same ARM deployment, and no second one is started."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from portal.celery import app as celery_app
from portal.deployments import services
from portal.deployments.backends import DatabaseSandboxStore
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment, DeploymentOperation
from tests.conftest import all_queues
from tests.factories import EnvironmentFactory
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]
LEASE = 2


def database_url():
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(tmp_path, name):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update({
        "DATABASE_URL": database_url(), "CELERY_BROKER_URL": celery_app.conf.broker_url,
        "PORTAL_VAR_DIR": str(settings.VAR_DIR), "PORTAL_SANDBOX_SPEED": "0.5",
        "PORTAL_DEPLOYMENT_LEASE_SECONDS": str(LEASE), "PORTAL_DEPLOYMENT_POLL_SECONDS": "0.2",
    })
    log = (tmp_path / f"{name}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool", "solo",
                             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", f"{name}@%h",
                             "--queues", ",".join(all_queues())],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def test_killed_worker_is_followed_by_one_that_resumes_the_same_deployment(tmp_path, settings, engineer):
    settings.PORTAL_DEPLOYMENT_LEASE_SECONDS = LEASE
    celery_app.control.purge()
    dev = EnvironmentFactory(name="dev")
    d = services.deployment_request(environment=dev, template="agent", user=engineer,
                                    parameters={"agentName": "ecommerce-cart-intelligence", "environment": "dev",
                                                "redisDatabase": 5, "enableAiSearch": True})
    d = services.deployment_preview_run(deployment_id=d.pk)  # the preview, here in the test process
    assert d.status == S.PREVIEWED, d.error

    first = start_worker(tmp_path, "first")
    second = None
    try:
        services.deployment_confirm(deployment=d, user=engineer)  # commits: the run goes to the broker
        wait_for(lambda: DeploymentOperation.objects.filter(deployment=d, state="Running").exists())
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        running = Deployment.objects.get(pk=d.pk)
        assert running.status == S.RUNNING and running.attempts == 1

        second = start_worker(tmp_path, "second")
        time.sleep(LEASE + 0.5)  # the dead worker's lease lapses
        assert services.deployment_resume_orphans() == [d.pk]  # what beat runs every 30 s

        done = wait_for(lambda: Deployment.objects.filter(pk=d.pk, status__in=[S.SUCCEEDED, S.FAILED]).first(),
                        timeout=90)
        assert done.status == S.SUCCEEDED, done.error
        assert done.attempts == 2
        record = DatabaseSandboxStore().get(f"deployment:{done.arm_deployment_name.lower()}")
        assert record["generation"] == 1  # one ARM deployment from start to end
        assert done.log_lines.filter(message__startswith="Following ARM deployment").exists()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)

"""The outbox (portal/core/outbox.py): work is a row before it is a message; a broker that is down never
fails a request; the sweep and a starting worker publish what waits; a row published twice runs once.

The broker is made unreachable by making current a Celery app whose broker nobody listens on (the code
under test publishes through `current_app`); everything else is the real thing."""

from datetime import timedelta

import pytest
from celery import Celery
from django.urls import reverse
from django.utils import timezone

from portal.catalog import services as catalog_services
from portal.catalog.choices import SyncStatus
from portal.catalog.models import EnvironmentSync
from portal.celery import app as celery_app
from portal.core import outbox
from portal.core.choices import OutboxState
from portal.core.models import OutboxTask
from portal.deployments import services as deployment_services
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import Deployment
from tests.integration.stack import free_port, wait_for

SYNC = "portal.catalog.tasks.sync_environment"


@pytest.fixture
def broker_down():
    """The task queue cannot be reached (nothing listens on the port)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    down = Celery("broker-down", broker=url, task_cls="portal.core.outbox:PortalTask")
    # Celery prefers the CELERY_BROKER_URL environment variable (CI sets it) to `broker=`; the read and write
    # URLs win over both, so this app really talks to the dead port.
    down.conf.broker_read_url = down.conf.broker_write_url = url
    down.conf.broker_connection_timeout = 1
    down.set_current()
    try:
        yield down
    finally:
        celery_app.set_current()


def test_enqueue_writes_the_row_in_the_callers_transaction_and_publishes_on_commit(platform, engineer,
                                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sync = catalog_services.environment_sync_request(environment=platform, user=engineer)
    row = OutboxTask.objects.get(task=SYNC)
    assert (row.args, row.key, row.state, row.dispatched_at) == ([sync.pk], f"sync:{sync.pk}", OutboxState.PENDING,
                                                                  None)
    assert [c.args[0].pk for c in callbacks] == [row.pk]


@pytest.mark.django_db(transaction=True)  # the request commits, so the publish happens inside it
def test_a_broker_that_is_down_fails_no_request_and_the_page_says_queued(platform, engineer, client_for,
                                                                          broker_down):
    client = client_for(engineer)
    response = client.post(reverse("catalog:environment_sync", args=[platform.name]), follow=True)
    assert response.status_code == 200
    assert "Queued: starts as soon as the task queue is reachable." in response.content.decode()
    sync = EnvironmentSync.objects.get(environment=platform)
    assert sync.status == SyncStatus.QUEUED
    row = OutboxTask.objects.get(task=SYNC, args=[sync.pk])
    assert row.state == OutboxState.PENDING and row.dispatched_at is None
    assert outbox.outbox_waiting(key=f"sync:{sync.pk}")

    OutboxTask.objects.filter(pk=row.pk).update(state=OutboxState.EXPIRED)  # so the next click queues it again
    htmx = client.post(reverse("catalog:environment_sync", args=[platform.name]), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "portal:queued" in htmx["HX-Trigger"]
    assert EnvironmentSync.objects.count() == 1  # "try again" makes no second sync

    system = client.get(reverse("system"))
    assert "Down: the task queue cannot be reached." in system.content.decode()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["database"] == "ok" and ready.json()["broker"] != "ok"


def test_claim_takes_a_pending_row_once_and_lets_its_own_retry_take_it_again(db):
    row = OutboxTask.objects.create(task=SYNC, args=[1], due_at=timezone.now())
    assert outbox.outbox_claim(pk=row.pk, celery_id=f"outbox-{row.pk}-a", worker="w1@h")
    assert not outbox.outbox_claim(pk=row.pk, celery_id=f"outbox-{row.pk}-b", worker="w2@h")  # a second publish
    assert outbox.outbox_claim(pk=row.pk, celery_id=f"outbox-{row.pk}-a", worker="w1@h")  # a Celery retry: same id
    row.refresh_from_db()
    assert (row.state, row.attempts, row.worker) == (OutboxState.STARTED, 2, "w1@h")
    assert outbox.outbox_id(f"outbox-{row.pk}-a") == row.pk and outbox.outbox_id("3f2a-uuid") is None


def test_the_sweep_takes_back_lapsed_rows_drops_expired_ones_and_publishes_what_waits(db, broker_down):
    now = timezone.now()
    waiting = OutboxTask.objects.create(task=SYNC, args=[1], due_at=now - timedelta(seconds=5))
    lapsed = OutboxTask.objects.create(task=SYNC, args=[2], due_at=now - timedelta(minutes=5),
                                       state=OutboxState.STARTED, lease_expires_at=now - timedelta(seconds=1))
    expired = OutboxTask.objects.create(task=SYNC, args=[3], due_at=now - timedelta(minutes=5),
                                        expires_at=now - timedelta(seconds=1))
    later = OutboxTask.objects.create(task=SYNC, args=[4], due_at=now + timedelta(minutes=5))

    outcome = outbox.outbox_sweep(now=now)  # the broker is still down: nothing lost, nothing published

    assert outcome == {"expired": 1, "lapsed": 1, "due": 2, "published": 0, "pruned": 0}
    states = dict(OutboxTask.objects.values_list("pk", "state"))
    assert states == {waiting.pk: "pending", lapsed.pk: "pending", expired.pk: "expired", later.pk: "pending"}


def test_a_worker_at_start_takes_back_what_it_had_started(db, broker_down):
    now = timezone.now()
    mine = OutboxTask.objects.create(task=SYNC, args=[1], due_at=now, state=OutboxState.STARTED, worker="w1@h",
                                     lease_expires_at=now + timedelta(minutes=1))
    other = OutboxTask.objects.create(task=SYNC, args=[2], due_at=now, state=OutboxState.STARTED, worker="w2@h",
                                      lease_expires_at=now + timedelta(minutes=1))
    assert outbox.outbox_worker_started(worker="w1@h", now=now)["taken_back"] == 1
    assert OutboxTask.objects.get(pk=mine.pk).state == OutboxState.PENDING
    assert OutboxTask.objects.get(pk=other.pk).state == OutboxState.STARTED


def test_a_sync_whose_task_was_lost_is_queued_again_by_the_next_click(platform, engineer,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        sync = catalog_services.environment_sync_request(environment=platform, user=engineer)
    OutboxTask.objects.filter(task=SYNC).update(state=OutboxState.EXPIRED)  # its work is gone
    with django_capture_on_commit_callbacks(execute=False):
        again = catalog_services.environment_sync_request(environment=platform, user=engineer)
        twice = catalog_services.environment_sync_request(environment=platform, user=engineer)
    assert again == twice == sync
    assert OutboxTask.objects.filter(task=SYNC, state=OutboxState.PENDING).count() == 1


def test_the_orphan_sweep_queues_the_preview_of_a_validating_run_the_outbox_lost(platform, engineer, settings,
                                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        d = deployment_services.deployment_request(environment=platform, template="static-web-app", user=engineer,
                                                   parameters={})
    Deployment.objects.filter(pk=d.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert deployment_services.deployment_resume_orphans() == []  # its preview waits in the outbox
    OutboxTask.objects.all().delete()  # e.g. requested before the outbox existed
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_services.deployment_resume_orphans() == [d.pk]
    row = OutboxTask.objects.get()
    assert (row.task, row.args, row.state) == ("portal.deployments.tasks.preview_deployment", [d.pk], "pending")


def test_a_notification_retried_after_a_database_error_is_not_sent_again(db, mailoutbox):
    from portal.audit.models import AuditEvent
    from portal.deployments import tasks

    payload = {"subject": "[Peak Portal] Approved", "body": "b", "recipients": ["erin@example.com"],
               "webhook_url": "", "about": "approval 1"}
    tasks.send_notification.apply(args=[payload], kwargs={"outcome": {"email": "sent", "webhook": None}})
    assert mailoutbox == []  # the first try sent it; the retry only records it
    event = AuditEvent.objects.get(action="notification.sent")
    assert event.details["email"] == "sent"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_row_published_three_times_runs_once(platform, engineer, celery_worker):
    sync = catalog_services.environment_sync_request(environment=platform, user=engineer)  # published on commit
    row = OutboxTask.objects.get(task=SYNC)
    assert outbox.publish(row) and outbox.publish(row)  # the sweep, twice, thinking it lost
    wait_for(lambda: EnvironmentSync.objects.get(pk=sync.pk).status == SyncStatus.SUCCEEDED, timeout=30)
    # A marker behind them in the queue: when it has run, so have the three messages before it.
    marker = outbox.enqueue("portal.core.tasks.outbox_sweep")
    wait_for(lambda: OutboxTask.objects.get(pk=marker.pk).state == OutboxState.DONE, timeout=30)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.dispatches) == (OutboxState.DONE, 1, 3)
    assert EnvironmentSync.objects.filter(environment=platform).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_work_queued_while_the_broker_was_down_runs_after_one_sweep(platform, engineer, celery_worker, broker_down):
    sync = catalog_services.environment_sync_request(environment=platform, user=engineer)
    assert OutboxTask.objects.get(task=SYNC).dispatched_at is None
    celery_app.set_current()  # the broker is back
    assert outbox.outbox_sweep()["published"] == 1
    wait_for(lambda: EnvironmentSync.objects.get(pk=sync.pk).status == SyncStatus.SUCCEEDED, timeout=30)
    assert OutboxTask.objects.get(task=SYNC).state == OutboxState.DONE


def test_healthz_answers_without_the_database_a_redirect_or_a_known_host(db, client, settings,
                                                                          django_assert_num_queries):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.get("/audit/", HTTP_HOST="portal.example.com").status_code == 301  # the rest still redirects


def test_readyz_checks_the_database_and_the_broker(db, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_deployment_rows_are_published_once_each(platform, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        d = deployment_services.deployment_request(environment=platform, template="static-web-app", user=engineer,
                                                   parameters={})
    assert [(c.args[0].task, c.args[0].args) for c in callbacks] == [
        ("portal.deployments.tasks.preview_deployment", [d.pk])]
    assert d.status == DeploymentStatus.VALIDATING


@pytest.mark.django_db(transaction=True)
def test_the_run_page_says_its_run_waits_for_the_task_queue(platform, engineer, client_for, broker_down):
    d = deployment_services.deployment_request(environment=platform, template="static-web-app", user=engineer,
                                               parameters={})
    page = client_for(engineer).get(reverse("deployments:detail", args=[d.pk])).content.decode()
    assert 'data-testid="run-queue-down"' in page
    OutboxTask.objects.filter(task="portal.deployments.tasks.preview_deployment").update(dispatched_at=timezone.now())
    page = client_for(engineer).get(reverse("deployments:detail", args=[d.pk])).content.decode()
    assert 'data-testid="run-queue-down"' not in page  # handed over: nothing to say

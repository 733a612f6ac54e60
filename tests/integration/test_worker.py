"""The Celery wiring end to end: a real worker (not eager mode) runs the sync task against the test
database, started the way the page starts it: service -> on_commit -> broker -> worker -> row."""


import pytest
from django.urls import reverse

from portal.catalog.choices import SyncStatus
from portal.catalog.models import EnvironmentSync
from portal.catalog.services import environment_sync_request
from tests.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_worker_runs_the_sync_and_the_page_shows_its_result(celery_worker, platform, engineer, client_for):
    client = client_for(engineer)
    response = client.post(reverse("catalog:environment_sync", args=["dev"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    sync = EnvironmentSync.objects.get()

    done = wait_for(lambda: EnvironmentSync.objects.filter(pk=sync.pk, status=SyncStatus.SUCCEEDED).first())
    assert done.result["placements"] == 1
    assert done.result["redis_databases_used"] == 2

    poll = client.get(reverse("catalog:environment_sync_status", args=["dev", sync.pk]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 286  # finished: htmx stops polling
    assert 'data-testid="sync-result"' in poll.content.decode()


def test_worker_runs_the_scheduled_sweep(celery_worker, platform):
    from portal.catalog.tasks import sync_all_environments

    sync_all_environments.delay()
    wait_for(lambda: EnvironmentSync.objects.filter(environment=platform, status=SyncStatus.SUCCEEDED).exists())


def test_a_task_for_a_vanished_row_is_harmless(celery_worker, platform, engineer):
    from portal.catalog.tasks import sync_environment

    sync_environment.delay(987654)
    sync = environment_sync_request(environment=platform, user=engineer)  # queued behind it on the same worker
    wait_for(lambda: EnvironmentSync.objects.filter(pk=sync.pk, status=SyncStatus.SUCCEEDED).exists())

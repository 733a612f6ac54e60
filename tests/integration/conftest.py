import pytest
from celery.contrib.testing.worker import start_worker

from portal.celery import app as celery_app


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real Celery worker (solo pool, in a thread) consuming from the configured broker: Redis in CI,
    the embedded SQLAlchemy broker otherwise. Tests using it need django_db(transaction=True) so the
    worker sees committed rows."""
    with django_db_blocker.unblock():
        celery_app.control.purge()  # messages left by earlier runs name rows that no longer exist
        with start_worker(celery_app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=30) as worker:
            yield worker

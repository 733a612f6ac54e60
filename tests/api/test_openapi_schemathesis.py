"""Schemathesis against the API's own OpenAPI document: every operation, bounded examples, and no
response is a server error (>= 500). Runs in-process over WSGI, with a Platform admin's token that has
every scope, so the generated requests reach the services rather than stopping at a 403."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.api import services

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

EXPECTED_OPERATIONS = 25  # 24 paths; GET and POST on /deployments
# One test per operation, named by it ("GET /api/v1/me"). Schemathesis's own `schema.parametrize()` gives all 25 the
# same node id, and pytest-xdist (`make test`) runs only one test per node id: the other 24 never ran.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def test_the_document_lists_every_operation():
    operations = [op for op in schema.get_all_operations()]
    assert len(operations) == EXPECTED_OPERATIONS


@pytest.fixture
def admin_token(platform, platform_admin):
    _, raw = services.token_create(user=platform_admin, name="schemathesis", scopes=["read", "deploy", "approve"],
                                   days=1)
    return raw


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    settings.PORTAL_API_RATE_LIMIT = 0


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Like Django's test client: the WSGI handler must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_has_a_test_of_its_own():
    labels = [operation.label for operation in OPERATIONS]
    assert len(labels) == len(set(labels)) == EXPECTED_OPERATIONS


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
@pytest.mark.django_db
def test_no_server_errors(operation, data, admin_token):
    case = data.draw(operation.as_strategy(), label="case")
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])

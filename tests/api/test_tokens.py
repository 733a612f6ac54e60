from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from portal.api import services
from portal.api.models import ApiToken
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_token_is_stored_hashed_and_shown_once(engineer, client_for):
    client = client_for(engineer)
    response = client.post(reverse("api_tokens:tokens"), {"name": "ci", "scopes": ["read", "deploy"], "days": 30})
    assert response.status_code == 200
    raw = response.context["created"]["secret"]
    assert raw.startswith("pp_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=engineer)
    assert token.digest == services.token_digest(raw) and raw not in (token.digest, token.prefix)
    assert token.scopes == ["deploy", "read"]
    again = client.get(reverse("api_tokens:tokens")).content.decode()
    assert "ci" in again and raw not in again and token.prefix in again
    assert AuditEvent.objects.filter(action="api_token.created", actor=engineer).exists()


def test_token_page_needs_sign_in(client_for):
    response = client_for(None).get(reverse("api_tokens:tokens"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_token_form_refuses_no_scope(engineer, client_for):
    response = client_for(engineer).post(reverse("api_tokens:tokens"), {"name": "ci", "days": 30})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_every_use_is_audited_and_moves_last_used(engineer, token_for, api):
    raw = token_for(engineer, "read")
    assert ApiToken.objects.get().last_used_at is None
    assert api(raw)("get", "me").status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    event = AuditEvent.objects.get(action="api.request")
    assert event.actor == engineer and event.details == {"method": "GET", "path": "/api/v1/me"}


def test_expired_token_is_refused(engineer, token_for, api):
    raw = token_for(engineer, "read", days=7)
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1)):
        response = api(raw)("get", "me")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "expired" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="api.refused", details__why="token expired").exists()


def test_token_works_until_it_expires(engineer, token_for, api):
    raw = token_for(engineer, "read", days=7)
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert api(raw)("get", "me").status_code == 200


def test_revoked_token_is_refused(engineer, token_for, api, client_for):
    raw = token_for(engineer, "read")
    token = ApiToken.objects.get()
    response = client_for(engineer).post(reverse("api_tokens:revoke", args=[token.pk]))
    assert response.status_code == 302
    refused = api(raw)("get", "me")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_someone_else_cannot_revoke_my_token(engineer, approver, token_for, client_for):
    token_for(engineer, "read")
    token = ApiToken.objects.get()
    assert client_for(approver).post(reverse("api_tokens:revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_unknown_and_missing_tokens_are_401_problems(api):
    for raw in ("pp_not-a-token", None, "garbage"):
        response = api(raw)("get", "me")
        assert response.status_code == 401, raw
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == 401


def test_scopes_are_listed_by_me(engineer, token_for, api):
    body = api(token_for(engineer, "read", "deploy"))("get", "me").json()
    assert body["scopes"] == ["deploy", "read"] and body["roles"] == ["Engineer"] and body["via"] == "token"


def test_rate_limit_per_token(engineer, token_for, api, settings):
    settings.PORTAL_API_RATE_LIMIT = 3
    settings.PORTAL_API_RATE_WINDOW = 3600
    first, second = token_for(engineer, "read"), token_for(engineer, "read")
    with time_machine.travel(timezone.now().replace(minute=0, second=1), tick=False):
        codes = [api(first)("get", "me").status_code for _ in range(4)]
        other = api(second)("get", "me").status_code
        limited = api(first)("get", "me")
    assert codes == [200, 200, 200, 429]
    assert other == 200
    assert limited["Content-Type"] == "application/problem+json" and int(limited["Retry-After"]) > 0


def test_openapi_document_and_docs_page_are_served_without_a_cdn(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    schema = document.json()
    assert schema["info"]["title"] == "Peak Portal API" and schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    errors = schema["paths"]["/api/v1/deployments"]["post"]["responses"]["422"]["content"]
    assert list(errors) == ["application/problem+json"]
    docs = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in docs and "cdn.jsdelivr.net" not in docs


def test_api_list_query_count_does_not_grow_with_rows(engineer, token_for, api):
    from tests.factories import EnvironmentFactory
    from portal.deployments.models import Deployment

    env = EnvironmentFactory(name="dev")
    call = api(token_for(engineer, "read"))
    Deployment.objects.create(environment=env, template="agent", requested_by=engineer)
    call("get", "deployments")  # warm-up: permission caches

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert call("get", "deployments").status_code == 200
        return len(queries)

    few = count()
    for template in ("static-web-app", "role-assignment", "shared-infrastructure", "x", "y"):
        Deployment.objects.create(environment=env, template=template, requested_by=engineer)
    assert count() == few


def test_an_unknown_api_path_is_a_problem_too(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "tag:peak-portal,2026:problem/not-found"


def test_the_token_and_its_user_are_read_as_the_orm_reads_them(engineer, approver, token_for):
    """token_authenticate's hand-written statement (issue #11) gives the instances select_related("user") gives."""
    from django.db.models import Model

    def fields(obj: Model) -> dict:
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

    token_for(approver, "read")
    raw = token_for(engineer, "read", "approve")
    engineer.last_login = timezone.now()
    engineer.save()
    orm = ApiToken.objects.select_related("user").get(digest=services.token_digest(raw))
    token = services._token_with_user(services.token_digest(raw))
    assert fields(token) == fields(orm) and fields(token.user) == fields(orm.user)
    assert token.scopes == ["approve", "read"] and token.user == engineer and not token._state.adding
    assert services._token_with_user(services.token_digest("pp_unknown")) is None

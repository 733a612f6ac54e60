import pytest
from django.test import Client

from portal.api import services


@pytest.fixture
def token_for():
    """token_for(user, *scopes, days=30) -> the raw secret of a new personal access token."""

    def make(user, *scopes, days=30):
        _, raw = services.token_create(user=user, name=f"test {'+'.join(scopes)}", scopes=list(scopes), days=days)
        return raw

    return make


@pytest.fixture
def api():
    """api(raw)(method, path, json=None) -> the response of /api/v1/<path> with that bearer token."""

    def bind(raw):
        client = Client()

        def call(method, path, json=None, **extra):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
            url = f"/api/v1/{path.lstrip('/')}"
            if json is not None:
                return getattr(client, method)(url, data=json, content_type="application/json", **headers, **extra)
            return getattr(client, method)(url, **headers, **extra)

        return call

    return bind


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The rate limit counts in Django's cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()

"""Who calls the API: a personal access token (`pp_…`) or an Entra ID access token (a JWT), both as
`Authorization: Bearer`. Each principal is rate limited (a fixed window in Django's cache)."""

import time

from django.conf import settings
from django.core.cache import cache
from ninja.security import HttpBearer

from portal.api import services
from portal.api.problems import ProblemError


class RateLimited(ProblemError):
    def __init__(self, retry_after: int):
        super().__init__(429, f"Too many requests for this token; try again in {retry_after} s.", kind="rate-limited")
        self.retry_after = retry_after


def rate_limit(key: str, *, now: float | None = None) -> None:
    """At most PORTAL_API_RATE_LIMIT requests per PORTAL_API_RATE_WINDOW seconds per key."""
    limit, window = settings.PORTAL_API_RATE_LIMIT, settings.PORTAL_API_RATE_WINDOW
    if limit <= 0:
        return
    now = time.time() if now is None else now
    slot = int(now // window)
    cache_key = f"api-rate:{key}:{slot}"
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=max(1, int((slot + 1) * window - now) + 1))


class BearerAuth(HttpBearer):
    openapi_description = ("A personal access token (`pp_…`, from the Tokens page) or an Entra ID access token "
                           "for the portal's app registration.")

    def authenticate(self, request, token):
        if token.startswith(services.TOKEN_PREFIX):
            principal = services.token_authenticate(raw=token, request=request)
            key = f"token:{principal.token.pk}"
        else:
            from portal.accounts import entra

            principal = entra.api_principal_from_jwt(token=token, request=request)
            key = f"user:{principal.user.pk}"
        rate_limit(key)
        request.principal = principal
        return principal

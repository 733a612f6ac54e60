"""The portal's JSON API, /api/v1/: django-ninja, with its OpenAPI document at /api/v1/openapi.json and
interactive docs at /api/v1/docs. Every error is RFC 9457 problem+json."""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from portal.api.auth import BearerAuth, RateLimited
from portal.api.endpoints import router
from portal.api.problems import CONTENT_TYPE, ProblemError, problem
from portal.core.errors import DomainError

class PortalAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Ninja writes every response as application/json; errors here are application/problem+json."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status) >= "400" and "application/json" in content:
                        response["content"] = {CONTENT_TYPE: content["application/json"]}
                    if str(status) == "202":
                        response["headers"] = {"Location": {"description": "The run's URL: poll it.",
                                                            "schema": {"type": "string"}}}
        return schema


api = PortalAPI(
    title="Peak Portal API",
    version="1",
    description=(
        "What people do in the portal's pages, for pipelines: the same services, the same rules (four eyes, "
        "environment scope, Azure name rules, ownership, audit). Authenticate with `Authorization: Bearer` and a "
        "personal access token from the Tokens page (scopes read, deploy, approve) or an Entra ID access token. "
        "Long operations answer 202 with the run's URL in `Location`. Errors are application/problem+json "
        "(RFC 9457), with field errors in `errors`. Lists are paginated (`page`, `page_size`). Requests are "
        "rate limited per token (429 with Retry-After)."
    ),
    auth=BearerAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", router)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "filters", "ninja_pagination")]
    return ".".join(parts) or "non_field"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc):
    errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "Invalid value.")} for e in exc.errors]
    return problem(request, 422, "The request has errors.", kind="validation", errors=errors)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return problem(request, 401, "Send Authorization: Bearer <token> with a personal access token or an Entra ID "
                                 "access token.", kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(RateLimited)
def on_rate_limited(request, exc):
    return problem(request, 429, exc.detail, kind=exc.kind, headers={"Retry-After": str(exc.retry_after)})


@api.exception_handler(ProblemError)
def on_problem(request, exc):
    return problem(request, exc.status, exc.detail, kind=exc.kind, errors=exc.errors)


@api.exception_handler(DomainError)
def on_domain_error(request, exc):
    """A service refused (four eyes, a taken slot, a wrong state...): its message, its status."""
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else None
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
    return problem(request, exc.status, exc.message, kind=type(exc).__name__.lower(), errors=errors, headers=headers)


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request, exc):
    return problem(request, 404, "Not found.", kind="not-found")


@api.exception_handler(PermissionDenied)
def on_forbidden(request, exc):
    return problem(request, 403, str(exc) or "Forbidden.", kind="forbidden")


@api.exception_handler(HttpError)
def on_http_error(request, exc):
    return problem(request, exc.status_code, str(exc))

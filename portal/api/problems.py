"""RFC 9457 problem details: every error the API answers is `application/problem+json`."""

import json
from http import HTTPStatus

from django.http import HttpResponse

# Problem types are tag URIs (RFC 4151): stable names, not links (RFC 9457 allows non-resolvable types).
PROBLEM_TYPE = "tag:peak-portal,2026:problem/"
CONTENT_TYPE = "application/problem+json"


def problem(request, status: int, detail: str, *, kind: str = "", errors: list[dict] | None = None,
            headers: dict | None = None) -> HttpResponse:
    """A problem+json response. `errors` lists field errors as {"field": ..., "message": ...}, with the
    same messages the forms show in the browser."""
    body = {
        "type": PROBLEM_TYPE + kind if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def form_errors(form, *, prefix: str = "") -> list[dict]:
    """A Django form's errors as field errors ("__all__" becomes the prefix itself, or "non_field")."""
    out = []
    for name, messages in form.errors.get_json_data().items():
        field = name if name != "__all__" else ""
        path = ".".join(p for p in (prefix, field) if p) or "non_field"
        out.extend({"field": path, "message": m["message"]} for m in messages)
    return out


class ProblemError(Exception):
    """Raised in an endpoint to answer a problem (e.g. form field errors)."""

    def __init__(self, status: int, detail: str, *, kind: str = "", errors: list[dict] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.kind, self.errors = status, detail, kind, errors


def api_not_found(request, *args, **kwargs):
    """Any other path under /api/: a problem, not the HTML 404 page."""
    return problem(request, 404, "There is no such API path; see /api/v1/docs.", kind="not-found")

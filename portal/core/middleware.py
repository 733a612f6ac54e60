from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render

from portal.core.errors import DomainError


class DomainErrorMiddleware:
    """Turns a DomainError raised by a service into a 4xx: an error partial for htmx, a page otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DomainError):
            return None
        template = "core/_error.html" if getattr(request, "htmx", False) else "core/error.html"
        response = render(request, template, {"message": exception.message}, status=exception.status)
        if getattr(request, "htmx", False):
            # Show the message in the page's toast area whatever the request's own target was.
            response["HX-Retarget"] = "#toasts"
            response["HX-Reswap"] = "beforeend"
        return response


# --- Issue #8: health probes, database outages, work waiting for the task queue ------------------

PROBE_PATHS = {"/healthz": "healthz", "/readyz": "readyz"}


class HealthProbeMiddleware:
    """First in MIDDLEWARE: /healthz and /readyz answer before the SSL redirect, the host check, sessions
    and authentication, so a load balancer probing over plain HTTP by IP gets the truth, not a 301 or 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBE_PATHS.get(request.path_info.rstrip("/") or "/")
        if probe is not None and request.method in ("GET", "HEAD"):
            from portal.core import views

            return getattr(views, probe)(request)
        return self.get_response(request)


def database_unavailable(request=None):
    """503 "back in a moment": rendered without the database (no context processors) and with Retry-After."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.template import loader

    response = HttpResponse(loader.get_template("503.html").render({}), status=503)
    response["Retry-After"] = str(settings.PORTAL_RETRY_AFTER_SECONDS)
    if request is not None and request.headers.get("HX-Request"):
        response["HX-Reswap"] = "none"  # keep what the page shows; portal.js backs the poll off
    return response


class DatabaseUnavailableMiddleware:
    """A database error from a view is an outage, not a bug: 503 with Retry-After (handler500 does the same
    for errors outside views). Also tells the person when work they asked for waits for the task queue."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from portal.core.outbox import publish_failed

        token = publish_failed.set(False)
        try:
            response = self.get_response(request)
            if publish_failed.get() and response.status_code < 400:
                _tell_queued(request, response)
            return response
        finally:
            publish_failed.reset(token)

    def process_exception(self, request, exception):
        from portal.core.outbox import DB_ERRORS

        if isinstance(exception, DB_ERRORS):
            import logging

            logging.getLogger(__name__).warning("database unavailable: %s", exception)
            return database_unavailable(request)
        return None


QUEUED_MESSAGE = "Queued: starts as soon as the task queue is reachable."


def _tell_queued(request, response) -> None:
    from django.contrib import messages

    if response.status_code in (301, 302, 303):
        messages.warning(request, QUEUED_MESSAGE)  # shown on the page the redirect leads to
    response["X-Portal-Queue"] = "unreachable"
    if request.headers.get("HX-Request"):
        from django_htmx.http import trigger_client_event

        trigger_client_event(response, "portal:queued", {"message": QUEUED_MESSAGE})


# --- Issue #8: input no page can use ------------------------------------------------------------

MAX_ID = 2**63 - 1  # the largest primary key a row can have (64-bit)


class BadInputMiddleware:
    """Input no page can use is refused with a 4xx before it reaches a view or the database: a NUL character in the
    path, a query or form value (PostgreSQL refuses it in text), and an id in the URL past any row's (the database
    overflows)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request):
            return HttpResponseBadRequest("Bad request: the request contains a NUL character.",
                                          content_type="text/plain")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path_info:
            return True
        for data in (request.GET, request.POST if request.method == "POST" else None):
            if data is None:
                continue
            for key, values in data.lists():
                if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
                    return True
        return False

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                raise Http404("No such object.")
        return None

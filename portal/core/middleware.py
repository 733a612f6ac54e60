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

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

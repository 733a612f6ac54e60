from django.utils.cache import patch_vary_headers

HTMX_STOP_POLLING = 286


def htmx_vary(response):
    """The response differs for htmx requests (a fragment) and plain ones (a page)."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def stop_polling_if(response, finished: bool):
    """htmx stops polling on 286; the body is still swapped in."""
    if finished:
        response.status_code = HTMX_STOP_POLLING
    return htmx_vary(response)

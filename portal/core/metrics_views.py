"""The Prometheus endpoint (#14). Open, or behind a bearer token when PORTAL_METRICS_TOKEN is set."""

import hmac

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET

from portal.core import metrics


@require_GET
def metrics_endpoint(request):
    token = settings.PORTAL_METRICS_TOKEN
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), token.encode()):
            return HttpResponseForbidden("metrics need the bearer token", content_type="text/plain")
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE_LATEST)

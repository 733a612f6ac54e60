import sys

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.catalog import selectors as catalog_selectors
from portal.core.middleware import database_unavailable
from portal.core.outbox import DB_ERRORS, close_connections, queue_reachable
from portal.core.system import system_status
from portal.deployments.templates import template_catalog
from provisioning.text import shorten


@require_GET
@require_perm("catalog.view_environment")
def home(request):
    environments = catalog_selectors.environment_list()
    return render(request, "core/home.html", {"environments": environments})


@require_GET
@require_perm("catalog.view_environment")
def system(request):
    from portal.sources.selectors import template_files_failing

    context = {"status": system_status(), "templates": template_catalog(),
               "failing": template_files_failing().count()}
    return render(request, "core/system.html", context)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links to: send them to the icon (issue #9: not a 404)."""
    return redirect(static("favicon.svg"), permanent=True)


def healthz(request):
    """Liveness: the process answers. No database, no auth, no redirect (HealthProbeMiddleware serves it first)."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Readiness: the database and the task queue answer. 503 (with what failed) when either does not."""
    checks = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DB_ERRORS as exc:
        checks["database"] = shorten(f"{type(exc).__name__}: {exc}".strip(), 300)
    finally:
        if checks["database"] != "ok":
            close_connections()
    reachable, why = queue_reachable(timeout=1.0)
    if not reachable:
        checks["broker"] = shorten(why, 300)
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "unavailable", **checks}, status=200 if ready else 503)


def server_error(request):
    """handler500: a database error anywhere (a middleware's, too) is an outage: 503 "back in a moment"."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DB_ERRORS):
        return database_unavailable(request)
    return defaults.server_error(request)

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.catalog import selectors as catalog_selectors
from portal.core.system import system_status
from portal.deployments.templates import template_catalog


@require_GET
@require_perm("catalog.view_environment")
def home(request):
    environments = catalog_selectors.environment_list()
    return render(request, "core/home.html", {"environments": environments})


@require_GET
@require_perm("catalog.view_environment")
def system(request):
    return render(request, "core/system.html", {"status": system_status(), "templates": template_catalog()})


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links to: send them to the icon (issue #9: not a 404)."""
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers and the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})

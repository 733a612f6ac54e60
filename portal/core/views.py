from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.catalog import selectors as catalog_selectors


@require_GET
@require_perm("catalog.view_environment")
def home(request):
    environments = catalog_selectors.environment_list()
    return render(request, "core/home.html", {"environments": environments})


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers and the database does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})

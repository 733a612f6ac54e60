from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from portal.accounts.decorators import require_perm
from portal.catalog import selectors as catalog_selectors
from portal.catalog.models import Environment
from portal.core.http import htmx_vary
from portal.health import readiness as readiness_selectors
from portal.health import selectors


@require_GET
@require_perm("health.view_healthcheck")
def overview(request):
    return render(request, "health/overview.html", {"environments": catalog_selectors.environment_health_list()})


@require_GET
@require_perm("health.view_healthcheck")
def board(request, name):
    if (environment := selectors.environment_named(name=name)) is None:
        raise Http404("No environment of that name.")
    context = {"environment": environment,
               "board": selectors.health_board(environment=environment, page=request.GET.get("page"))}
    template = "health/board.html#board" if request.htmx else "health/board.html"
    return htmx_vary(render(request, template, context))


@require_GET
@require_perm("health.view_healthcheck")
def readiness(request, name):
    environment = get_object_or_404(Environment, name=name)
    context = {"environment": environment, "items": readiness_selectors.environment_readiness(environment=environment)}
    template = "health/readiness.html#checklist" if request.htmx else "health/readiness.html"
    return htmx_vary(render(request, template, context))

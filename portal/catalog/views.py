from functools import lru_cache

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.decorators import require_perm
from portal.catalog import onboarding, selectors, services
from portal.catalog.forms import AgentFilterForm, EnvironmentForm
from portal.catalog.models import Agent, Environment, EnvironmentSync
from portal.core.errors import DomainError, StaleEdit
from portal.core.http import htmx_vary, stop_polling_if
from portal.core.pagination import page_of


def _environment_or_404(name):
    try:
        return selectors.environment_for_page(name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")


def environment_urls(name: str) -> dict[str, str]:
    """The links of an environment's page (and of its sync partial), each what {% url %} gives for it: reversed
    once a process for each environment, script prefix and URL conf, not five times a view (#11)."""
    return _environment_urls(name, get_script_prefix(), get_urlconf())


@lru_cache(maxsize=64)
def _environment_urls(name: str, prefix: str, urlconf) -> dict[str, str]:
    return {"home": reverse("home"), "edit": reverse("catalog:environment_edit", args=[name]),
            "sync": reverse("catalog:environment_sync", args=[name]),
            "readiness": reverse("health:readiness", args=[name])}


@require_GET
@require_perm("catalog.view_environment")
def environment_detail(request, name):
    try:
        environment, sync, pools = selectors.environment_page(name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")
    placements = page_of(request, selectors.placement_list(environment=environment),
                         rows=lambda page: selectors.placement_rows(placements=page))
    context = {
        "environment": environment,
        "sync": sync,
        "pools": pools,
        "placements": placements,
        "urls": environment_urls(environment.name),
    }
    return render(request, "catalog/environment_detail.html", context)


@require_http_methods(["GET", "POST"])
@require_perm("catalog.change_environment")
def environment_edit(request, name):
    environment = _environment_or_404(name)
    form = EnvironmentForm(request.POST or None, instance=Environment.objects.get(pk=environment.pk))
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.environment_update(environment=environment, data=form.cleaned_data,
                                        version=form.cleaned_data["version"], user=request.user, request=request)
        except StaleEdit as exc:
            conflict = exc
            form.stale(exc)
        except DomainError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(request, f"{environment.name} saved.")
            return redirect(environment)
    status = 409 if conflict else 400 if form.errors else 200
    return render(request, "catalog/environment_edit.html",
                  {"environment": conflict.current if conflict else environment, "form": form, "conflict": conflict},
                  status=status)


@require_POST
@require_perm("catalog.add_environmentsync")
def environment_sync(request, name):
    environment = _environment_or_404(name)
    sync = services.environment_sync_request(environment=environment, user=request.user, request=request)
    if request.htmx:
        return render(request, "catalog/environment_detail.html#sync",
                      {"environment": environment, "sync": sync, "urls": environment_urls(environment.name)})
    messages.info(request, "Summary sync queued.")
    return redirect(environment)


@require_GET
@require_perm("catalog.view_environmentsync")
def environment_sync_status(request, name, pk):
    try:
        sync = selectors.environment_sync_get(pk=pk)
    except EnvironmentSync.DoesNotExist:
        raise Http404("No such sync.")
    if sync.environment.name != name:
        raise Http404("No such sync.")
    if not request.htmx:
        return redirect(sync.environment)
    response = render(request, "catalog/environment_detail.html#sync",
                      {"environment": sync.environment, "sync": sync, "urls": environment_urls(sync.environment.name)})
    return stop_polling_if(response, not sync.is_active)


@require_GET
@require_perm("catalog.view_agent")
def agent_list(request):
    choices = selectors.agent_filter_choices()
    form = AgentFilterForm(request.GET or None, choices=choices)
    filters = form.filters() if request.GET else {}
    # one cell per environment column, worked out by the selector rather than by nested template loops
    table = selectors.agent_table(choices=choices, **filters)  # its page's slice reads the placements too
    page = page_of(request, table,
                   rows=lambda agents: selectors.agent_rows(agents=agents,
                                                            environments=[pk for pk, _ in choices["environments"]],
                                                            teams={pk: name for pk, _, name in choices["teams"]},
                                                            placed=table.placed))
    context = {"form": form, "agents": page, "page": page, "filters": filters,
               "environments": [name for _, name in choices["environments"]]}
    template = "catalog/agent_list.html#results" if request.htmx and not request.htmx.boosted else \
        "catalog/agent_list.html"
    return htmx_vary(render(request, template, context))


@require_GET
@require_perm("catalog.view_agent")
def agent_detail(request, slug):
    try:
        agent = selectors.agent_get(slug=slug)
    except Agent.DoesNotExist:
        raise Http404(f"No agent {slug!r}.")
    return render(request, "catalog/agent_detail.html", {"agent": agent, **onboarding.agent_onboarding_context(agent=agent)})

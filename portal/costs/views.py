from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.decorators import require_perm
from portal.catalog.models import Environment
from portal.core.errors import StaleEdit
from portal.core.http import htmx_vary
from portal.costs import charts, exports, selectors, services
from portal.costs.forms import BudgetPolicyForm, CostFilterForm
from portal.costs.showback import SHARED_SERVICES, cost_showback

VIEW = "costs.view_costentry"


def _filters(request, environments=()) -> CostFilterForm:
    form = CostFilterForm(request.GET or None, environments=list(environments))
    form.is_valid()
    return form


def _csv(request, tables, *, prefix, period=None, version=()):
    """One of the page's tables as CSV (?format=csv&table=...): only that table's queries, streamed, and compressed
    (gzip) for a client that accepts it, as browsers do (#11: every agent's row at 10,000 agents is ~300 KB, ~20 KB
    compressed). A CSV holds no secret, so compressing it does not expose one (BREACH; the HTML pages, which hold the
    CSRF token, are not compressed). With `period` (the dashboard, an environment, a service), the agents table's
    is kept under the version of what it holds (exports.kept_export, sent compressed as kept: the middleware leaves
    an encoded response alone; `version`: the request's filter)."""
    table = request.GET.get("table") or next(iter(tables))
    if period is not None and table == "agents" and settings.PORTAL_COST_PAGE_SECONDS > 0:
        response = exports.kept_export(request, tables, table, prefix=prefix, period=period, version=version)
    else:
        response = exports.export(tables, table, prefix=prefix)
    return GZipMiddleware(lambda _: response)(request)


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def _page(request, template, context):
    """The page, or its results fragment for htmx. Its tables are kept rendered for `kept` seconds under the page's
    version (selectors.Versions), their data and charts read only when they are not (a SimpleLazyObject)."""
    context["kept"] = settings.PORTAL_COST_PAGE_SECONDS
    if request.htmx and not request.htmx.boosted:
        template = f"{template}#results"
    return htmx_vary(render(request, template, context))


@require_GET
@require_perm(VIEW)
def dashboard(request):
    form = _filters(request)
    period = selectors.period_for(form.value("month"), today=timezone.localdate())
    if _wants_csv(request):
        return _csv(request, exports.dashboard_tables(period), prefix=f"costs-{period.param}", period=period,
                    version=("dashboard",))
    data = selectors.cost_dashboard(period=period)
    context = {
        "form": form, "period": period, "dashboard": data,
        "charts": SimpleLazyObject(lambda: {
            "services": charts.bars(data.services, data.columns, title="This month by service"),
            "month": charts.month_line(data.days, data.total_budget, title="The month against the budget"),
            "trend": charts.trend(data.trend, data.columns, data.total_budget, title="The last six months"),
        }),
    }
    return _page(request, "costs/dashboard.html", context)


@require_GET
@require_perm(VIEW)
def environment(request, name):
    form = _filters(request)
    period = selectors.period_for(form.value("month"), today=timezone.localdate())
    if _wants_csv(request):
        return _csv(request, exports.environment_tables(period, name), prefix=f"costs-{name}-{period.param}",
                    period=period, version=("environment", name))
    try:
        data = selectors.environment_cost_detail(name=name, period=period)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")
    budget = data.environment.monthly_budget
    context = {
        "form": form, "period": period, "detail": data,
        "charts": SimpleLazyObject(lambda: {
            "services": charts.bars(data.services, [name], title=f"{name} by service"),
            "month": charts.month_line(data.days, budget, title=f"{name}: the month against the budget"),
            "trend": charts.trend(data.trend, [name], budget, title=f"{name}: the last six months"),
        }),
    }
    return _page(request, "costs/environment.html", context)


@require_GET
@require_perm(VIEW)
def service(request, name, service):
    form = _filters(request)
    period = selectors.period_for(form.value("month"), today=timezone.localdate())
    slug = "".join(c if c.isalnum() else "-" for c in service.lower())
    if _wants_csv(request):
        group = form.value("resource_group") or ""
        return _csv(request, exports.service_tables(period, name, service, group),
                    prefix=f"costs-{name}-{slug}-{period.param}", period=period,
                    version=("service", name, service, group.lower()))
    try:
        data = selectors.service_cost_detail(name=name, service=service, period=period,
                                             resource_group=form.value("resource_group"))
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")
    context = {
        "form": form, "period": period, "detail": data,
        "keep": f"&{urlencode({'resource_group': data.resource_group})}" if data.resource_group else "",
        "charts": SimpleLazyObject(lambda: {
            "month": charts.month_line(data.days, None, title=f"{service} in {name}, day by day")}),
    }
    return _page(request, "costs/service.html", context)


@require_GET
@require_perm(VIEW)
def showback(request):
    from portal.costs.showback import ShowbackTables, showback_filters

    environments = selectors.cost_environments()
    form = _filters(request, environments=[e.name for e in environments])
    period = selectors.period_for(form.value("month"), today=timezone.localdate())
    chosen = form.value("environment")
    shown = [e for e in environments if not chosen or e.name == chosen]
    if _wants_csv(request):
        return _csv(request, exports.showback_tables(period, shown), prefix=f"showback-{period.param}")
    data = cost_showback(period=period, environments=shown, page=request.GET.get("page"))
    keep = f"&{urlencode({'environment': chosen})}" if chosen else ""
    context = {"form": showback_filters(form), "period": period, "showback": data, "shared_services": SHARED_SERVICES,
               "charts": {"teams": charts.team_bars(data.teams, data.columns, title="Cost per team")}, "keep": keep,
               "tables": ShowbackTables(data, label=period.label, month=period.param,
                                        csv=f"{request.path}?month={period.param}{keep}")}
    return _page(request, "costs/showback.html", context)


@require_POST
@require_perm("costs.add_costingestrun")
def ingest(request):
    ids = services.cost_ingest_request_all(user=request.user, request=request)
    messages.info(request, f"Cost ingest queued for {len(ids)} environment{'s' if len(ids) != 1 else ''}. "
                           "The pages show the new data when it is stored.")
    return redirect("costs:dashboard")


@require_http_methods(["GET", "POST"])
@require_perm("costs.change_budgetpolicy")
def budget(request, name):
    try:
        env, policy = selectors.environment_for_budget(name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")
    initial = {}
    if policy is not None:
        initial = {"actual_thresholds": ", ".join(map(str, policy.actual_thresholds)),
                   "forecast_thresholds": ", ".join(map(str, policy.forecast_thresholds))}
    form = BudgetPolicyForm(request.POST or None, initial=initial, version=policy.version if policy else 0)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.budget_policy_update(environment=env, actual_thresholds=form.cleaned_data["actual_thresholds"],
                                          forecast_thresholds=form.cleaned_data["forecast_thresholds"],
                                          version=form.cleaned_data["version"], user=request.user, request=request)
        except StaleEdit as exc:
            conflict = exc
            form.stale(exc)
        else:
            messages.success(request, f"Budget alerts of {env.name} saved.")
            return redirect("costs:environment", name=env.name)
    status = 409 if conflict else 400 if form.errors else 200
    return render(request, "costs/budget.html", {"environment": env, "form": form, "conflict": conflict},
                  status=status)

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.decorators import require_perm
from portal.catalog.models import Agent, Environment, Placement
from portal.core.errors import DomainError, NotAllowed
from portal.core.http import htmx_vary, stop_polling_if
from portal.core.pagination import page_of
from portal.deployments import approvals as approval_services
from portal.deployments import parameter_rules, retirement, scope, selectors, services, templates
from portal.deployments.choices import DeploymentStatus
from portal.deployments.forms import DecisionForm, NewDeploymentForm, RequestDetailsForm, RetireForm, ScaleForm
from portal.deployments.models import ApprovalRequest, Deployment
from portal.deployments.parameter_forms import build_parameter_form, public_parameters, secure_parameters


def _deployment_or_404(pk):
    try:
        return selectors.deployment_for_page(pk=pk)
    except Deployment.DoesNotExist:
        raise Http404("No such deployment.")


@require_GET
@require_perm("deployments.view_deployment")
def deployment_list(request):
    # Exact matches: a value longer than any name matches nothing, never a shortened other one.
    filters = {key: request.GET.get(key, "").strip() for key in ("environment", "status", "template")}
    context = {"deployments": page_of(request, selectors.deployment_list_rows(**filters))}
    if request.htmx:  # the results only: no running-now table, no filter form
        return htmx_vary(render(request, "deployments/deployment_list.html#results", context))
    context.update(running=selectors.running_now_rows(), filters=filters,
                   environments=[(name, name) for name in selectors.environment_names()],
                   statuses=DeploymentStatus.choices)
    return htmx_vary(render(request, "deployments/deployment_list.html", context))


@require_http_methods(["GET", "POST"])
@require_perm("deployments.add_deployment")
def deployment_new(request):
    catalog = templates.template_catalog()
    chooser = NewDeploymentForm(request.GET or None, templates=catalog)
    if not chooser.is_bound or not chooser.is_valid():
        return render(request, "deployments/deployment_new.html", {"chooser": chooser},
                      status=400 if chooser.is_bound else 200)
    environment = chooser.cleaned_data["environment"]
    info = templates.template_get(chooser.cleaned_data["template"])
    specs = templates.template_parameters(info)
    # What the environment decides is filled from it and shown read-only, never typed (issue #9).
    owned, derived = scope.environment_parameters(environment, specs)
    worked_out = templates.effective_parameters(info, owned)
    fixed = {**owned, **{name: worked_out.get(name) for name in derived}}
    initial = {k[2:]: v for k, v in request.GET.items() if k.startswith("p_")}  # prefill: ?p_agentName=…
    initial.update(fixed)
    ParameterForm = build_parameter_form(specs, initial=initial)
    form = ParameterForm(request.POST or None, prefix="p")
    for name in fixed:
        form.fields[name].disabled = True
        form.fields[name].help_text += f" Set by {environment.name}."
    details = RequestDetailsForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and details.is_valid():
        values = {**public_parameters(form), **owned}
        for name, problem in parameter_rules.parameter_problems(environment=environment, info=info,
                                                                values=values).items():
            form.add_error(name, problem)
    if request.method == "POST" and form.is_valid() and details.is_valid():
        try:
            deployment = services.deployment_request(
                environment=environment, template=info.name, parameters=public_parameters(form),
                secure_parameters=secure_parameters(form), user=request.user, request=request,
                reason=details.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(deployment)
    context = {"chooser": chooser, "form": form, "details": details, "info": info, "environment": environment}
    return render(request, "deployments/deployment_new.html", context,
                  status=400 if form.errors or details.errors else 200)


def _seq(request, name) -> int:
    try:
        return max(0, int(request.GET.get(name, "0")))
    except ValueError:
        return 0


# How many of its log's lines the run page shows at first (at most PORTAL_LOG_PAGE_LINES): the rest follow in order
# by its "Show the next lines" button or link (a page of PORTAL_LOG_PAGE_LINES each), or at once while the run is
# followed live. 500 lines at first were half of a long run's page (#11).
RUN_PAGE_LINES = 200


@require_GET
@require_perm("deployments.view_deployment")
def deployment_detail(request, pk):
    deployment = _deployment_or_404(pk)
    log_after = _seq(request, "log_after")  # a long log is paged: ?log_after=<seq> shows the lines after it
    lines = selectors.deployment_log_after(deployment=deployment, after=log_after,
                                           limit=min(RUN_PAGE_LINES, settings.PORTAL_LOG_PAGE_LINES))
    after = lines[-1].seq if lines else log_after
    # The run's approval request, or None: a run without one is not asked in the template, where the lookup's
    # exception costs a dir() of the run.
    context = {"deployment": deployment, "approval": getattr(deployment, "approval", None), "log_lines": lines,
               "log_after": log_after, "after": after, "more": after < deployment.log_seq,
               "version": selectors.deployment_version(deployment)}
    return render(request, "deployments/deployment_detail.html", context)


@require_GET
@require_perm("deployments.view_deployment")
def deployment_progress(request, pk):
    """The poll of a run page: the log lines after `after` (a page at most; the next poll goes on from the
    last one sent), the run card only when its version differs from `v`, and the log's tail. 286 (htmx
    stops) once the run is finished and every line is sent. The card's rows are read only when it changed.
    `follow=1` (the polls of a page that watched the run live) fetches a finished run's remaining lines at
    once instead of offering them a page at a time."""
    try:
        deployment, version = selectors.deployment_poll(pk=pk)
    except Deployment.DoesNotExist:
        raise Http404("No such deployment.")
    if not request.htmx:
        return redirect(deployment)
    after = _seq(request, "after")
    if deployment.is_terminal and after >= deployment.log_seq:
        lines = []  # finished, and every line is on the page: nothing to read
    else:
        lines = selectors.deployment_log_after(deployment=deployment, after=after)
    card_changed = request.GET.get("v") != version
    if card_changed:
        deployment = _deployment_or_404(pk)
        version = selectors.deployment_version(deployment)
    last = lines[-1].seq if lines else after
    more = last < deployment.log_seq or (not deployment.is_terminal and len(lines) == settings.PORTAL_LOG_PAGE_LINES)
    context = {"deployment": deployment, "new_lines": lines, "after": last, "more": more, "version": version,
               "card_changed": card_changed, "following": request.GET.get("follow") == "1"}
    response = render(request, "deployments/_progress.html", context)
    return stop_polling_if(response, deployment.is_terminal and not more)


def _act(request, pk, action, success, **kwargs):
    deployment = get_object_or_404(Deployment, pk=pk)
    try:
        result = action(deployment=deployment, user=request.user, request=request, **kwargs)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        if exc.field == "reason" and "reason" in kwargs:
            return _ask_reason(request, exc, title=f"Retry run #{deployment.pk}", back=deployment.get_absolute_url(),
                               action=request.path, button="Retry")
        messages.error(request, exc.message)
        return redirect(deployment)
    messages.success(request, success)
    return redirect(result)


def _ask_reason(request, exc, *, title, back, action, button, hidden=()):
    """A reason refused (missing, or over its limit): ask again on a page of its own, with what was typed kept,
    never cut (the input has no maxlength)."""
    context = {"title": title, "message": exc.message, "reason": request.POST.get("reason", ""), "action": action,
               "button": button, "back": back, "hidden": hidden, "reason_max": services.REASON_MAX}
    return render(request, "deployments/run_reason.html", context, status=400)


@require_POST
@require_perm("deployments.add_deployment")
def deployment_confirm(request, pk):
    return _act(request, pk, services.deployment_confirm, "Confirmed.")


@require_POST
@require_perm("deployments.change_deployment")
def deployment_cancel(request, pk):
    return _act(request, pk, services.deployment_cancel, "Cancellation requested.")


@require_POST
@require_perm("deployments.add_deployment")
def deployment_retry(request, pk):
    return _act(request, pk, services.deployment_retry, "Retry requested: a new run with the same parameters.",
                reason=request.POST.get("reason", ""))


@require_POST
@require_perm("deployments.add_deployment")
def deployment_redeploy(request):
    environment = get_object_or_404(Environment, name=request.POST.get("environment", ""))
    agent = get_object_or_404(Agent, slug=request.POST["agent"]) if request.POST.get("agent") else None
    try:
        deployment = services.deployment_redeploy(environment=environment, template=request.POST.get("template", ""),
                                                  user=request.user, request=request, agent=agent,
                                                  reason=request.POST.get("reason", ""))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        if exc.field == "reason":
            hidden = [("environment", environment.name), ("template", request.POST.get("template", ""))]
            if agent is not None:
                hidden.append(("agent", agent.slug))
            what = f"{agent.slug} ({request.POST.get('template', '')})" if agent else request.POST.get("template", "")
            return _ask_reason(request, exc, title=f"Redeploy the last good {what} to {environment.name}",
                               back=reverse("deployments:list"), action=request.path, button="Redeploy last good",
                               hidden=hidden)
        messages.error(request, exc.message)
        return redirect("deployments:list")
    return redirect(deployment)


@require_POST
@require_perm("deployments.add_deployment")
def cluster_operation(request, placement_id, action):
    placement = get_object_or_404(Placement.objects.select_related("agent", "environment"), pk=placement_id)
    replicas = None
    if action == "scale":
        form = ScaleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Replicas must be a whole number from 0 to 50.")
            return redirect(placement.agent)
        replicas = form.cleaned_data["replicas"]
    reason = request.POST.get("reason", "").strip()
    try:
        deployment = services.cluster_operation_request(placement=placement, action=action, user=request.user,
                                                        request=request, replicas=replicas, reason=reason)
    except DomainError as exc:
        if exc.field == "reason":
            # Approval or a scale to zero in prod: ask why on a page of its own, then send it again.
            context = {"placement": placement, "action": action, "replicas": replicas, "message": exc.message,
                       "reason": reason, "reason_max": services.REASON_MAX}  # kept as typed (a reason over its limit is refused, never cut)
            return render(request, "deployments/cluster_reason.html", context, status=400)
        messages.error(request, exc.message)
        return redirect(placement.agent)
    return redirect(deployment)


@require_GET
@require_perm("deployments.view_deployment")
def my_requests(request):
    """The signed-in person's runs and their approval requests still waiting (issue #9)."""
    context = {"runs": page_of(request, selectors.my_run_rows(user=request.user)),  # paged, not cut at 50
               "pending": selectors.my_requests_pending(user=request.user)}
    return render(request, "deployments/my_requests.html", context)


@require_GET
@require_perm("deployments.view_approvalrequest")
def approval_inbox(request):
    can_decide = request.user.has_perm("deployments.decide_approvalrequest")
    # Waiting for this user, and (issue #9) their own waiting for someone else: one query.
    pending, mine = selectors.approval_pending_rows(user=request.user, can_decide=can_decide)
    context = {"pending": pending, "mine": mine, "can_decide": can_decide,
               "recent": page_of(request, selectors.decided_approvals())}
    return render(request, "deployments/approval_inbox.html", context)


@require_GET
@require_perm("deployments.view_approvalrequest")
def approval_count(request):
    """The number in the navigation; htmx polls it so it updates without a reload."""
    count = 0
    if request.user.is_authenticated and request.user.has_perm("deployments.decide_approvalrequest"):
        count = selectors.approval_inbox(user=request.user).count()
    return htmx_vary(render(request, "deployments/_approval_count.html", {"approval_count": count}))


@require_http_methods(["GET", "POST"])
@require_perm("deployments.view_approvalrequest")
def approval_detail(request, pk):
    try:
        approval = selectors.approval_get(pk=pk)
    except ApprovalRequest.DoesNotExist:
        raise Http404("No such approval request.")
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if not request.user.has_perm("deployments.decide_approvalrequest"):
            raise PermissionDenied("Your role does not allow approving deployments.")
        if form.is_valid():
            try:
                approval_services.approval_decide(approval=approval, user=request.user,
                                                  decision=form.cleaned_data["decision"],
                                                  comment=form.cleaned_data["comment"], request=request)
            except DomainError as exc:
                form.add_error("comment" if exc.field == "comment" else None, exc.message)
            else:
                messages.success(request, "Decision recorded.")
                return redirect(approval)
    deployment = approval.deployment
    context = {"approval": approval, "deployment": deployment, "form": form,
               "refusal": approval_services.can_decide(request.user, approval) if approval.is_pending else None,
               "diff": selectors.parameter_diff(deployment=deployment)}
    return render(request, "deployments/approval_detail.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@require_perm("deployments.add_deployment")
def placement_retire(request, placement_id):
    placement = get_object_or_404(Placement.objects.select_related("agent", "environment"), pk=placement_id)
    form = RetireForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            deployment = retirement.placement_retire_request(
                placement=placement, confirm=form.cleaned_data["confirm"], reason=form.cleaned_data["reason"],
                user=request.user, request=request)
        except DomainError as exc:
            form.add_error("confirm" if exc.field == "confirm" else None, exc.message)
        else:
            return redirect(deployment)
    context = {"placement": placement, "plan": retirement.retirement_plan(placement=placement), "form": form}
    return render(request, "deployments/retire.html", context, status=400 if form.errors else 200)

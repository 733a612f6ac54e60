"""Onboarding pages: the guided form at /agents/new/ and its live field checks, the agent page's
onboarding section (checklist and promotion) and promoting an agent to the next environment."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.decorators import require_perm
from portal.catalog import onboarding, selectors
from portal.catalog.models import Agent
from portal.core.errors import DomainError
from portal.core.http import htmx_vary, stop_polling_if


def _agent_or_404(slug):
    try:
        return selectors.agent_get(slug=slug)
    except Agent.DoesNotExist:
        raise Http404(f"No agent {slug!r}.")


@require_http_methods(["GET", "POST"])
@require_perm("catalog.add_agent")
def agent_onboard(request):
    environment = onboarding.onboarding_environment()
    wizard = onboarding.OnboardingWizard(request.POST if request.method == "POST" else None, environment=environment)
    if wizard.register:
        try:
            agent, deployment = onboarding.agent_onboard(**wizard.cleaned_data, environment=environment,
                                                         user=request.user, request=request)
        except DomainError as exc:
            wizard.fail(exc)
        else:
            messages.success(request, f"{agent.slug} registered. Deployment #{deployment.pk} creates its resources "
                                      f"in {environment.name}, then starts its workload.")
            return redirect(agent)
    return render(request, "catalog/onboard.html", {"wizard": wizard, "environment": environment},
                  status=wizard.status)


@require_POST
@require_perm("catalog.add_agent")
def agent_onboard_check(request, field):
    """One field's feedback, for htmx as you type or leave it: the whole step is validated, one field shown."""
    form = onboarding.form_for_field(field, request.POST, environment=onboarding.onboarding_environment())
    if form is None:
        raise Http404(f"The onboarding form has no field {field!r}.")
    return htmx_vary(render(request, "catalog/onboard.html#feedback", {"field": form[field], "form": form}))


@require_GET
@require_perm("catalog.view_agent")
def agent_onboarding(request, slug):
    """The agent page's onboarding section; without htmx, the agent page with it filled in."""
    agent = _agent_or_404(slug)
    context = {"agent": agent, **onboarding.agent_onboarding_context(agent=agent)}
    template = "catalog/_agent_checklist.html" if request.htmx else "catalog/agent_detail.html"
    return htmx_vary(render(request, template, context))


@require_GET
@require_perm("catalog.view_agent")
def agent_checklist(request, slug):
    """The polled onboarding section (checklist and promotion, so a promote button enables itself when its
    step completes): 286 (stop polling) once nothing is in progress."""
    agent = _agent_or_404(slug)
    if not request.htmx:
        return redirect("catalog:agent_onboarding", slug=agent.slug)
    context = {"agent": agent, **onboarding.agent_onboarding_context(agent=agent)}
    response = render(request, "catalog/_agent_checklist.html", context)  # the checklist and promotion together
    return stop_polling_if(response, not context["checklist"].in_progress)


@require_POST
@require_perm("catalog.change_agent", "deployments.add_deployment")
def agent_promote(request, slug):
    agent = _agent_or_404(slug)
    form = onboarding.PromoteForm(request.POST)
    status = 400
    if form.is_valid():
        target = form.cleaned_data["environment"]
        try:
            deployment = onboarding.agent_promote(agent=agent, target=target, reason=form.cleaned_data["reason"],
                                                  user=request.user, request=request)
        except DomainError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
            status = exc.status
        else:
            messages.success(request, f"Promotion of {agent.slug} to {target.name} requested.")
            return redirect(deployment)
    context = {"agent": agent, **onboarding.agent_onboarding_context(agent=agent, promote_form=form)}
    return render(request, "catalog/agent_detail.html", context, status=status)

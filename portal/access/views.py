from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.decorators import require_perm
from portal.access import selectors, services
from portal.catalog.models import Environment
from portal.core.errors import DomainError


def _environment_or_404(name):
    try:
        return Environment.objects.get(name=name)
    except Environment.DoesNotExist:
        raise Http404(f"No environment named {name!r}.")


@require_GET
@require_perm("access.view_rbacaudit")
def overview(request):
    return render(request, "access/overview.html", {"environments": selectors.rbac_environment_list()})


@require_GET
@require_perm("access.view_rbacaudit")
def environment(request, name):
    page = selectors.rbac_page(environment=_environment_or_404(name))
    return render(request, "access/environment.html", {"page": page, "environment": page.environment})


@require_POST
@require_perm("access.add_rbacaudit")
def audit_now(request, name):
    environment = _environment_or_404(name)
    services.rbac_audit_request(environment=environment, user=request.user, request=request)
    messages.info(request, f"Audit of {environment.name} queued; reload in a moment to see it.")
    return redirect("access:environment", name=environment.name)


@require_POST
@require_perm("access.remediate_rbacfinding", "deployments.add_deployment")
def remediate(request, name, role):
    environment = _environment_or_404(name)
    try:
        deployment = services.rbac_remediate(environment=environment, role_guid=role, user=request.user,
                                             request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("access:environment", args=[environment.name]))
    messages.success(request, f"Remediation requested: run #{deployment.pk}.")
    return redirect(deployment)

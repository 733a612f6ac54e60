from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.decorators import require_perm
from portal.access import selectors, services
from portal.catalog.models import Environment
from portal.core.errors import DomainError


@require_GET
@require_perm("access.view_rbacaudit")
def overview(request):
    return render(request, "access/overview.html", {"environments": selectors.rbac_environment_rows()})


@require_GET
@require_perm("access.view_rbacaudit")
def environment(request, name):
    environment = selectors.environment_by_name(name=name)
    if environment is None:
        raise Http404("No Environment matches the given query.")  # as get_object_or_404 said
    page = selectors.rbac_page(environment=environment)
    return render(request, "access/environment.html", {"page": page, "environment": page.environment})


@require_POST
@require_perm("access.add_rbacaudit")
def audit_now(request, name):
    environment = get_object_or_404(Environment, name=name)
    services.rbac_audit_request(environment=environment, user=request.user, request=request)
    messages.info(request, f"Audit of {environment.name} queued; reload in a moment to see it.")
    return redirect("access:environment", name=environment.name)


@require_POST
@require_perm("access.remediate_rbacfinding", "deployments.add_deployment")
def remediate(request, name, role):
    environment = get_object_or_404(Environment, name=name)
    try:
        deployment = services.rbac_remediate(environment=environment, role_guid=role, user=request.user,
                                             request=request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("access:environment", args=[environment.name]))
    messages.success(request, f"Remediation requested: run #{deployment.pk}.")
    return redirect(deployment)

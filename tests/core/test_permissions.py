"""The permission matrix: every view, for anonymous, Viewer, Engineer, Approver and Platform admin.

Allowed: 200 (or a redirect for a successful POST). Refused: 403 when signed in, a redirect to the
sign-in page when anonymous. Never a 500.
"""

from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from portal.catalog.models import Environment, EnvironmentSync, Placement
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import ApprovalRequest, Deployment

ROLES = ["anonymous", "viewer", "engineer", "approver", "admin"]
EVERYONE = {"viewer", "engineer", "approver", "admin"}

# (name, url name, url kwargs, method, roles allowed)
MATRIX = [
    ("home", "home", {}, "get", EVERYONE),
    ("environment detail", "catalog:environment_detail", {"name": "dev"}, "get", EVERYONE),
    ("environment edit form", "catalog:environment_edit", {"name": "dev"}, "get", {"admin"}),
    ("environment edit save", "catalog:environment_edit", {"name": "dev"}, "post", {"admin"}),
    ("environment sync", "catalog:environment_sync", {"name": "dev"}, "post", {"engineer", "admin"}),
    ("environment sync status", "catalog:environment_sync_status", {"name": "dev", "pk": "SYNC"}, "get", EVERYONE),
    ("agent list", "catalog:agent_list", {}, "get", EVERYONE),
    ("agent detail", "catalog:agent_detail", {"slug": "ecommerce-catalog-search"}, "get", EVERYONE),
    ("audit log", "audit:list", {}, "get", EVERYONE),
    ("system status", "system", {}, "get", EVERYONE),
    ("deployment list", "deployments:list", {}, "get", EVERYONE),
    ("new deployment", "deployments:new", {}, "get", {"engineer", "admin"}),
    ("deployment detail", "deployments:detail", {"pk": "RUN"}, "get", EVERYONE),
    ("deployment progress", "deployments:progress", {"pk": "RUN"}, "get", EVERYONE),
    ("deployment confirm", "deployments:confirm", {"pk": "RUN"}, "post", {"engineer", "admin"}),
    ("deployment cancel", "deployments:cancel", {"pk": "RUN"}, "post", {"engineer", "admin"}),
    ("deployment retry", "deployments:retry", {"pk": "RUN"}, "post", {"engineer", "admin"}),
    ("redeploy", "deployments:redeploy", {}, "post", {"engineer", "admin"}),
    ("cluster operation", "deployments:cluster", {"placement_id": "PLACEMENT", "action": "restart"}, "post",
     {"engineer", "admin"}),
    ("health overview", "health:overview", {}, "get", EVERYONE),
    ("health board", "health:board", {"name": "dev"}, "get", EVERYONE),
    ("readiness", "health:readiness", {"name": "dev"}, "get", EVERYONE),
    ("rbac overview", "access:overview", {}, "get", EVERYONE),
    ("rbac environment", "access:environment", {"name": "dev"}, "get", EVERYONE),
    ("rbac audit now", "access:audit", {"name": "dev"}, "post", {"engineer", "admin"}),
    ("rbac remediate", "access:remediate", {"name": "dev", "role": "7f951dda-4ed3-4680-a7ca-43fe172d538d"}, "post",
     {"engineer", "admin"}),
    ("cost dashboard", "costs:dashboard", {}, "get", EVERYONE),
    ("cost environment", "costs:environment", {"name": "dev"}, "get", EVERYONE),
    ("cost service", "costs:service", {"name": "dev", "service": "Azure Kubernetes Service"}, "get", EVERYONE),
    ("cost showback", "costs:showback", {}, "get", EVERYONE),
    ("cost budget alerts form", "costs:budget", {"name": "dev"}, "get", {"admin"}),
    ("cost ingest now", "costs:ingest", {}, "post", {"engineer", "admin"}),
    ("onboard form", "catalog:agent_onboard", {}, "get", {"engineer", "admin"}),
    ("onboard check", "catalog:agent_onboard_check", {"field": "slug"}, "post", {"engineer", "admin"}),
    ("agent onboarding section", "catalog:agent_onboarding", {"slug": "ecommerce-catalog-search"}, "get", EVERYONE),
    ("agent checklist", "catalog:agent_checklist", {"slug": "ecommerce-catalog-search"}, "get", EVERYONE),
    ("agent promote", "catalog:agent_promote", {"slug": "ecommerce-catalog-search"}, "post", {"engineer", "admin"}),
    ("retire form", "deployments:retire", {"placement_id": "PLACEMENT"}, "get", {"engineer", "admin"}),
    ("approvals inbox", "deployments:approvals", {}, "get", EVERYONE),
    ("approval detail", "deployments:approval", {"pk": "APPROVAL"}, "get", EVERYONE),
    ("approval count", "deployments:approval_count", {}, "get", EVERYONE),
    ("my requests", "deployments:mine", {}, "get", EVERYONE),
    ("api tokens", "api_tokens:tokens", {}, "get", EVERYONE),
    ("template sources", "sources:list", {}, "get", EVERYONE),
    ("add a git source form", "sources:new", {}, "get", {"admin"}),
    ("edit a git source form", "sources:edit", {"pk": "GITSOURCE"}, "get", {"admin"}),
    ("template source sync now", "sources:sync", {"pk": "SOURCE"}, "post", {"admin"}),
]
# Routes that are not the portal's pages behind sign-in, each with where it is tested instead: sign-in and
# out (Django's and Entra ID's flow), the liveness probe and the icon (public), revoking one's own API token
# (anyone else's is a 404: tests/api/test_tokens.py).
# readyz is the load balancer's probe (tests/core/test_outbox.py); a source's webhook is authenticated by its
# shared secret, not a session (tests/sources/test_git_sources.py).
# metrics is Prometheus's, behind its own bearer token (tests/observability/).
NOT_IN_MATRIX = {"login", "logout", "healthz", "readyz", "metrics", "sources:webhook", "favicon", "entra_no_access", "oidc_authentication_init",
                 "oidc_authentication_callback", "oidc_logout", "api_tokens:revoke"}
# The token-authenticated API checks scopes and roles of its own: tests/api/.
NAMESPACES_ELSEWHERE = {"api-v1"}


def _portal_routes(patterns=None, namespace=""):
    """Every named route of the portal's own apps, read from the URL resolver."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace not in {"admin", *NAMESPACES_ELSEWHERE}:
                yield from _portal_routes(pattern.url_patterns,
                                          f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
        elif pattern.name:
            yield namespace + pattern.name


def test_every_route_of_the_portal_is_in_the_permission_matrix():
    """A new route without a row here fails the suite, so none is left out of the matrix."""
    routes = set(_portal_routes()) - NOT_IN_MATRIX
    covered = {row[1] for row in MATRIX}
    assert routes - covered == set(), "routes missing from MATRIX"
    assert covered - routes == set(), "MATRIX rows for routes that no longer exist"
    assert len(routes) > 30  # the resolver was read, not an empty list


def concrete_kwargs(kwargs: dict, *, platform, requester) -> dict:
    """The matrix's placeholders (RUN, APPROVAL, PLACEMENT, SYNC, SOURCE, GITSOURCE) made into real rows."""
    if kwargs.get("pk") == "RUN":
        # The matrix's engineer requested it: who else may act on a run is tests/deployments/test_ownership.py.
        kwargs = {**kwargs, "pk": Deployment.objects.create(environment=platform, template="agent",
                                                            requested_by=requester,
                                                            status=DeploymentStatus.PREVIEWED).pk}
    if kwargs.get("pk") == "APPROVAL":
        run = Deployment.objects.create(environment=platform, template="agent", requested_by=requester,
                                        status=DeploymentStatus.AWAITING_APPROVAL)
        kwargs = {**kwargs, "pk": ApprovalRequest.objects.create(
            deployment=run, template_hash="t", parameters_hash="p", requested_by=requester,
            expires_at=timezone.now() + timedelta(hours=1)).pk}
    if kwargs.get("placement_id") == "PLACEMENT":
        kwargs = {**kwargs, "placement_id": Placement.objects.get().pk}
    if kwargs.get("pk") == "SYNC":
        kwargs = {**kwargs, "pk": EnvironmentSync.objects.create(environment=Environment.objects.get(name="dev")).pk}
    if kwargs.get("pk") == "SOURCE":
        from portal.sources.services import builtin_source

        kwargs = {**kwargs, "pk": builtin_source().pk}
    if kwargs.get("pk") == "GITSOURCE":
        from portal.sources.models import TemplateSource

        kwargs = {**kwargs, "pk": TemplateSource.objects.create(name="team", url="https://git.example/infra.git").pk}
    return kwargs


@pytest.fixture
def users(viewer, engineer, approver, platform_admin):
    return {"anonymous": None, "viewer": viewer, "engineer": engineer, "approver": approver, "admin": platform_admin}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,url_name,kwargs,method,allowed", MATRIX, ids=[row[0] for row in MATRIX])
def test_permission_matrix(platform, users, client_for, role, name, url_name, kwargs, method, allowed,
                           django_capture_on_commit_callbacks):
    kwargs = concrete_kwargs(kwargs, platform=platform, requester=users["engineer"])
    url = reverse(url_name, kwargs=kwargs)
    client = client_for(users[role])
    data = {}
    if url_name == "catalog:environment_edit" and method == "post":
        data = {"region": "westeurope", "resource_group": "holidaypeakhub-dev-rg", "aks_cluster": "holidaypeakhub-dev-aks",
                "redis_sku": "P1", "monthly_budget": "650", "approvals_required": "0", "approval_timeout_hours": "24",
                "version": "1"}
    if url_name == "deployments:redeploy":
        data = {"environment": "dev", "template": "agent"}
    with django_capture_on_commit_callbacks(execute=False):
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)

    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif role in allowed:
        # A POST a domain rule refuses (400, e.g. promote with no next environment) passed the permission check.
        assert response.status_code in ((200, 302, 400) if method == "post" else (200, 302)), response.content[:500]
        if response.status_code == 302:
            assert not response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == 403


def test_views_refuse_wrong_methods(platform, client_for, platform_admin):
    client = client_for(platform_admin)
    assert client.post(reverse("home")).status_code == 405
    assert client.get(reverse("catalog:environment_sync", args=["dev"])).status_code == 405
    assert client.post(reverse("catalog:agent_list")).status_code == 405
    assert client.delete(reverse("catalog:environment_edit", args=["dev"])).status_code == 405


def test_viewer_sees_no_buttons_they_cannot_use(platform, client_for, viewer, platform_admin):
    response = client_for(viewer).get(reverse("catalog:environment_detail", args=["dev"]))
    html = response.content.decode()
    assert response.status_code == 200 and "<h1" in html and "dev" in html  # the page itself is there
    assert "Sync summary now" not in html
    assert "Edit settings" not in html
    admin_html = client_for(platform_admin).get(reverse("catalog:environment_detail", args=["dev"])).content.decode()
    assert "Sync summary now" in admin_html and "Edit settings" in admin_html


def test_engineer_sees_sync_but_not_edit(platform, client_for, engineer):
    html = client_for(engineer).get(reverse("catalog:environment_detail", args=["dev"])).content.decode()
    assert "Sync summary now" in html
    assert "Edit settings" not in html


def test_admin_sees_edit(platform, client_for, platform_admin):
    html = client_for(platform_admin).get(reverse("catalog:environment_detail", args=["dev"])).content.decode()
    assert "Edit settings" in html


def test_user_without_role_is_refused_everywhere(platform, client_for, make_user):
    nobody = make_user("norole")
    assert client_for(nobody).get(reverse("home")).status_code == 403
    assert client_for(nobody).get(reverse("catalog:agent_list")).status_code == 403


def test_unknown_objects_are_404_not_500(platform, client_for, viewer):
    client = client_for(viewer)
    assert client.get(reverse("catalog:environment_detail", args=["nope"])).status_code == 404
    assert client.get(reverse("catalog:agent_detail", args=["nope"])).status_code == 404
    assert client.get(reverse("catalog:environment_sync_status", args=["dev", 999999])).status_code == 404


def test_healthz_answers_anonymous(db, client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_sign_in_page_answers(db, client):
    assert client.get(reverse("login")).status_code == 200

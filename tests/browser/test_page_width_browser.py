"""Issue #9: no page of the portal is wider than a 1280 px window, for any role (measured in Chromium).

The pages are the permission matrix's GET rows (tests/core/test_permissions.py, itself checked against
the URL resolver), each opened by every role allowed to see it."""

import pytest

from portal.catalog.demo import DEMO_PASSWORD
from portal.catalog.models import Environment, EnvironmentSync, Placement
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import ApprovalRequest, Deployment
from tests.core.test_permissions import MATRIX

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_USERS = {"viewer": "viewer", "engineer": "engineer", "approver": "approver", "admin": "admin"}
WIDTH = 1280
FRAGMENTS = {"deployments:approval_count", "deployments:progress"}  # htmx fragments, not pages


def _urls():
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils import timezone

    engineer = get_user_model().objects.get(username="engineer")
    prod = Environment.objects.get(name="prod")
    agent_run = Deployment.objects.create(environment=prod, template="agent", status=DeploymentStatus.AWAITING_APPROVAL,
                                          requested_by=engineer, reason="width check",
                                          agent=Placement.objects.filter(environment=prod).first().agent,
                                          parameters={"agentName": "ecommerce-catalog-search", "redisDatabase": 1})
    approval = ApprovalRequest.objects.create(deployment=agent_run, template_hash="t", parameters_hash="p",
                                              requested_by=engineer, expires_at=timezone.now() + timedelta(hours=1))
    sync = EnvironmentSync.objects.create(environment=Environment.objects.get(name="dev"))
    placement = Placement.objects.filter(environment__name="dev").first()
    from portal.sources.models import TemplateSource
    from portal.sources.services import builtin_source

    git_source = TemplateSource.objects.create(name="team", url="https://git.example/infra.git")
    fill = {"RUN": agent_run.pk, "APPROVAL": approval.pk, "SYNC": sync.pk, "PLACEMENT": placement.pk,
            "SOURCE": builtin_source().pk, "GITSOURCE": git_source.pk}
    pages = []
    for name, url_name, kwargs, method, allowed in MATRIX:
        if method != "get" or url_name in FRAGMENTS:
            continue
        kwargs = {k: fill.get(v, v) for k, v in kwargs.items()}
        pages.append((name, reverse(url_name, kwargs=kwargs), allowed))
    pages.append(("new deployment form", reverse("deployments:new") + "?template=agent&environment=dev", {"engineer", "admin"}))
    pages.append(("agent with three placements", reverse("catalog:agent_detail", args=["ecommerce-catalog-search"]),
                  set(DEMO_USERS)))
    return pages


def test_no_page_is_wider_than_1280px_for_any_role(live_server, browser, login, demo):
    pages = _urls()
    too_wide = []
    for role, username in DEMO_USERS.items():
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        page = context.new_page()
        login(page, username, DEMO_PASSWORD)
        for name, url, allowed in pages:
            if role not in allowed:
                continue
            response = page.goto(live_server.url + url)
            assert response.status == 200, (role, name, response.status)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                too_wide.append(f"{name} as {role}: {width}px")
        context.close()
    assert len(pages) > 20
    assert not too_wide, "\n".join(too_wide)

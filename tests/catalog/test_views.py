import re

from django.urls import reverse

from portal.catalog.choices import SyncStatus
from portal.catalog.models import Environment, EnvironmentSync


def test_agent_list_filters_by_domain_and_the_url_carries_the_filter(demo, client_for, viewer):
    response = client_for(viewer).get(reverse("catalog:agent_list"), {"domain": "logistics"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 agents match" in html
    assert "logistics-eta-computation" in html and "crm-profile-aggregation" not in html
    assert "<html" in html  # a full page without htmx


def test_agent_list_htmx_request_gets_only_the_results_fragment(demo, client_for, viewer):
    response = client_for(viewer).get(reverse("catalog:agent_list"), {"team": "crm", "environment": "prod"},
                                      HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and 'id="agent-results"' in html
    assert "0 agents match" in html
    assert "HX-Request" in response["Vary"]


def test_agent_list_search_and_environment_filter_combine(demo, client_for, viewer):
    html = client_for(viewer).get(reverse("catalog:agent_list"), {"q": "checkout", "environment": "prod"}).content.decode()
    assert "1 agent matches" in html and "ecommerce-checkout-support" in html


def test_agent_list_ignores_an_unknown_filter_value_instead_of_failing(demo, client_for, viewer):
    response = client_for(viewer).get(reverse("catalog:agent_list"), {"domain": "no-such-domain"})
    assert response.status_code == 200
    assert "21 agents" in response.content.decode()


def test_agent_detail_shows_memory_resources(demo, client_for, viewer):
    html = client_for(viewer).get(reverse("catalog:agent_detail", args=["ecommerce-catalog-search"])).content.decode()
    assert "warm-ecommerce-catalog-search-chat-memory" in html
    assert "cold-ecommerce-catalog-search-chat-memory" in html


def test_environment_edit_shows_field_errors_and_keeps_the_input(platform, client_for, platform_admin):
    response = client_for(platform_admin).post(reverse("catalog:environment_edit", args=["dev"]), {
        "region": "westeurope", "resource_group": "rg", "aks_cluster": "aks", "redis_sku": "P9",
        "monthly_budget": "abc", "approvals_required": "0", "approval_timeout_hours": "24"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in html and "Enter a number" in html
    assert 'value="westeurope"' in html


def test_environment_edit_shows_a_domain_error_on_the_form(db, client_for, platform_admin):
    from tests.factories import EnvironmentFactory, PlacementFactory

    env = EnvironmentFactory(name="big", redis_sku="P2")
    PlacementFactory(environment=env, redis_db=20)
    response = client_for(platform_admin).post(reverse("catalog:environment_edit", args=["big"]), {
        "region": "eastus", "resource_group": "rg", "aks_cluster": "aks", "redis_sku": "P1",
        "monthly_budget": "100", "approvals_required": "0", "approval_timeout_hours": "24", "version": "1"})
    assert response.status_code == 400
    assert "Redis database 20" in response.content.decode()
    assert Environment.objects.get(name="big").redis_sku == "P2"


def test_environment_edit_saves_and_redirects(platform, client_for, platform_admin):
    response = client_for(platform_admin).post(reverse("catalog:environment_edit", args=["dev"]), {
        "region": "westeurope", "resource_group": "holidaypeakhub-dev-rg", "aks_cluster": "holidaypeakhub-dev-aks",
        "redis_sku": "P2", "monthly_budget": "650", "approvals_required": "1", "approval_timeout_hours": "12",
        "version": "1"})
    assert response.status_code == 302
    env = Environment.objects.get(name="dev")
    assert (env.region, env.redis_sku, env.approvals_required) == ("westeurope", "P2", 1)


def test_sync_via_htmx_returns_the_polling_fragment(platform, client_for, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(engineer).post(reverse("catalog:environment_sync", args=["dev"]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in html


def test_sync_status_stops_polling_with_286_when_finished(platform, client_for, viewer):
    sync = EnvironmentSync.objects.create(environment=platform, status=SyncStatus.SUCCEEDED,
                                          result={"placements": 1, "redis_databases_used": 2,
                                                  "redis_database_limit": 16, "node_pools": 1, "min_nodes": 2,
                                                  "max_nodes": 20})
    response = client_for(viewer).get(reverse("catalog:environment_sync_status", args=["dev", sync.pk]),
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert "every 1s" not in response.content.decode()


def test_sync_status_keeps_polling_while_active(platform, client_for, viewer):
    sync = EnvironmentSync.objects.create(environment=platform)
    response = client_for(viewer).get(reverse("catalog:environment_sync_status", args=["dev", sync.pk]),
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "every 1s" in response.content.decode()


def test_sync_without_javascript_redirects_back_to_the_environment(platform, client_for, engineer,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(engineer).post(reverse("catalog:environment_sync", args=["dev"]))
    assert response.status_code == 302 and response["Location"] == "/environments/dev/"


def test_the_edit_form_shows_the_environments_other_resource_groups_and_its_version(platform, client_for,
                                                                                     platform_admin):
    platform.resource_groups = ["peakportal-dev-rg", "shared-dev-rg"]
    platform.save(update_fields=["resource_groups"])
    html = client_for(platform_admin).get(reverse("catalog:environment_edit", args=["dev"])).content.decode()
    assert 'value="peakportal-dev-rg, shared-dev-rg"' in html     # saving the form keeps them
    assert f'name="version" value="{platform.version}"' in html



def _row_of(html: str, slug: str) -> str:
    """The agent's table row, with the whitespace between tags dropped."""
    row = html[html.index(f'<a href="/agents/{slug}/">'):]
    return re.sub(r">\s+<", "><", row[:row.index("</tr>")]).strip()


def test_agent_list_row_shows_team_memory_link_and_each_environment_s_placement_in_column_order(db, client_for,
                                                                                                 viewer):
    from portal.catalog.choices import PlacementStatus
    from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory, TeamFactory

    dev, staging, prod = (EnvironmentFactory(name=name, position=i) for i, name in enumerate(["dev", "staging", "prod"]))
    agent = AgentFactory(slug="crm-notes", display_name="CRM <notes>", domain="crm",
                         owner_team=TeamFactory(slug="crm", name="CRM & friends"), memory_tiers=["hot", "cold"])
    PlacementFactory(agent=agent, environment=prod, status=PlacementStatus.BLOCKED)  # prod first, shown last
    PlacementFactory(agent=agent, environment=dev, status=PlacementStatus.RUNNING)
    AgentFactory(slug="other", domain="logistics", memory_tiers=["warm"])              # placed nowhere

    html = client_for(viewer).get(reverse("catalog:agent_list")).content.decode()

    assert "<th scope=\"col\">dev</th><th scope=\"col\">staging</th><th scope=\"col\">prod</th>" in \
        re.sub(r">\s+<", "><", html)
    assert _row_of(html, "crm-notes") == (
        '<a href="/agents/crm-notes/">CRM &lt;notes&gt;</a><div class="detail"><code>crm-notes</code></div></th>'
        "<td>crm</td><td>CRM &amp; friends</td><td>hot, cold</td>"
        '<td><span class="status status-running">Running</span></td>'   # dev
        "<td></td>"                                                     # staging: not placed
        '<td><span class="status status-blocked">Blocked</span></td>')  # prod
    assert _row_of(html, "other").endswith("<td>warm</td><td></td><td></td><td></td>")

"""Policy changes are audited wherever they are made: /admin/ keeps the portal's own settings read-only and
audits every change it does allow."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from portal.accounts import roles
from portal.audit.models import AuditEvent
from portal.catalog.models import Environment, NodePool
from portal.costs.models import BudgetPolicy
from tests.factories import EnvironmentFactory, NodePoolFactory, TeamFactory


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def prod(db):
    env = EnvironmentFactory(name="prod", approvals_required=1, position=2)
    NodePoolFactory(environment=env, name="agents", min_nodes=2, max_nodes=20)
    return env


def environment_form(env, **overrides):
    pool = env.node_pools.get()
    data = {
        "name": env.name, "tier": env.tier, "position": env.position, "redis_reserved_databases": 1,
        "cosmos_containers": "[]", "event_hub_topics": "[]",
        "node_pools-TOTAL_FORMS": "1", "node_pools-INITIAL_FORMS": "1", "node_pools-MIN_NUM_FORMS": "0",
        "node_pools-MAX_NUM_FORMS": "1000",
        "node_pools-0-id": pool.pk, "node_pools-0-environment": env.pk, "node_pools-0-name": pool.name,
        "node_pools-0-mode": pool.mode, "node_pools-0-vm_size": pool.vm_size, "node_pools-0-min_nodes": pool.min_nodes,
        "node_pools-0-max_nodes": pool.max_nodes, "node_pools-0-taints": "[]",
    }
    data.update(overrides)
    return data


def test_the_approval_policy_cannot_be_changed_in_the_admin(prod, superuser, client_for):
    client = client_for(superuser)
    url = reverse("admin:catalog_environment_change", args=[prod.pk])
    page = client.get(url).content.decode()
    assert 'name="approvals_required"' not in page  # shown, not editable
    response = client.post(url, environment_form(prod, approvals_required="0", monthly_budget="1"))
    assert response.status_code == 302, response.content.decode()[:2000]
    prod.refresh_from_db()
    assert (prod.approvals_required, prod.monthly_budget) == (1, 0)


def test_an_admin_change_is_audited_like_the_portals_and_raises_the_version(prod, superuser, client_for):
    url = reverse("admin:catalog_environment_change", args=[prod.pk])
    response = client_for(superuser).post(url, environment_form(prod, position="7", event_hub_topics='["orders"]',
                                                                **{"node_pools-0-max_nodes": "30"}))
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="environment.updated")
    assert (event.actor_name, event.object_id) == ("root", str(prod.pk))
    assert event.details["via"] == "admin"
    assert event.details["changes"] == {"position": ["2", "7"], "event_hub_topics": ["", "orders"]}
    assert Environment.objects.get(pk=prod.pk).version == prod.version + 1 == event.details["version"]
    pool_event = AuditEvent.objects.get(action="nodepool.updated")
    assert pool_event.details["changes"] == {"max_nodes": ["20", "30"]}
    assert NodePool.objects.get().max_nodes == 30


def test_admin_deletes_and_role_changes_are_audited(prod, superuser, client_for, role_groups):
    client = client_for(superuser)
    team = TeamFactory(slug="ops")
    response = client.post(reverse("admin:catalog_team_delete", args=[team.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="team.deleted").object_repr == str(team)

    from tests.factories import UserFactory

    bob = UserFactory(username="bob")
    admins = Group.objects.get(name=roles.PLATFORM_ADMIN)
    response = client.post(reverse("admin:auth_user_change", args=[bob.pk]), {
        "username": "bob", "email": "bob@example.com", "is_active": "on", "groups": [admins.pk],
        "date_joined_0": "2026-11-01", "date_joined_1": "10:00:00", "initial-date_joined_0": "2026-11-01",
        "initial-date_joined_1": "10:00:00"})
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="user.updated")
    assert event.details["changes"]["groups"] == ["", roles.PLATFORM_ADMIN]


def test_budget_policies_are_read_only_in_the_admin(prod, superuser, client_for):
    policy = BudgetPolicy.objects.create(environment=prod, actual_thresholds=[50])
    client = client_for(superuser)
    url = reverse("admin:costs_budgetpolicy_change", args=[policy.pk])
    assert client.post(url, {"actual_thresholds": "[]", "forecast_thresholds": "[]"}).status_code == 403
    assert client.post(reverse("admin:costs_budgetpolicy_delete", args=[policy.pk]), {"post": "yes"}).status_code == 403
    assert BudgetPolicy.objects.get().actual_thresholds == [50]

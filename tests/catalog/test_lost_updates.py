"""No lost updates: two people editing the same environment settings or budget alerts; the second save is refused
with the first person's changes shown and the second person's typed values kept."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.catalog import services
from portal.catalog.models import Environment
from portal.core.errors import StaleEdit
from portal.costs.models import BudgetPolicy

EDIT = {"region": "eastus", "resource_group": "holidaypeakhub-dev-rg", "aks_cluster": "holidaypeakhub-dev-aks",
        "redis_sku": "P1", "monthly_budget": "600", "approvals_required": "0", "approval_timeout_hours": "24"}


def form_version(html: str) -> str:
    marker = 'name="version" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


@pytest.fixture
def two_admins(make_user):
    from portal.accounts import roles

    return make_user("alice", roles.PLATFORM_ADMIN), make_user("bob", roles.PLATFORM_ADMIN)


def test_the_second_of_two_concurrent_settings_edits_is_refused(platform, two_admins, client_for):
    alice, bob = (client_for(user) for user in two_admins)
    url = reverse("catalog:environment_edit", args=["dev"])
    alice_version = form_version(alice.get(url).content.decode())
    bob_version = form_version(bob.get(url).content.decode())
    assert alice_version == bob_version == "1"

    saved = alice.post(url, {**EDIT, "monthly_budget": "900", "version": alice_version})
    assert saved.status_code == 302
    refused = bob.post(url, {**EDIT, "region": "westeurope", "approvals_required": "2", "version": bob_version})

    assert refused.status_code == 409
    html = refused.content.decode()
    assert "Someone else saved dev while you were editing it" in html
    assert "<strong>alice</strong> saved" in html  # alice's change, shown
    assert "<code>monthly_budget</code>: 0.00 → <strong>900</strong>" in html
    assert 'value="westeurope"' in html  # what bob typed, kept
    assert form_version(html) == "2"  # saving again, having seen alice's change, goes through
    env = Environment.objects.get(name="dev")
    assert (env.monthly_budget, env.region, env.approvals_required, env.version) == (900, "eastus", 0, 2)
    assert AuditEvent.objects.filter(action="environment.updated").count() == 1

    again = bob.post(url, {**EDIT, "monthly_budget": "900", "region": "westeurope", "version": form_version(html)})
    assert again.status_code == 302
    env.refresh_from_db()
    assert (env.monthly_budget, env.region, env.version) == (900, "westeurope", 3)
    changes = AuditEvent.objects.filter(action="environment.updated").order_by("pk").last().details["changes"]
    assert changes == {"region": ["eastus", "westeurope"]}  # no "change" back to 600 that nobody made


def test_a_stale_budget_alert_edit_is_refused_and_keeps_the_input(platform, two_admins, client_for):
    alice, bob = (client_for(user) for user in two_admins)
    url = reverse("costs:budget", args=["dev"])
    version = form_version(alice.get(url).content.decode())
    assert version == form_version(bob.get(url).content.decode()) == "0"

    assert alice.post(url, {"actual_thresholds": "70", "forecast_thresholds": "", "version": version}).status_code == 302
    refused = bob.post(url, {"actual_thresholds": "33, 66", "forecast_thresholds": "95", "version": version})

    assert refused.status_code == 409
    html = refused.content.decode()
    assert "<strong>alice</strong> saved" in html
    assert "<code>actual_thresholds</code>: 50, 80, 100 → <strong>70</strong>" in html
    assert 'value="33, 66"' in html
    policy = BudgetPolicy.objects.get(environment=platform)
    assert (policy.actual_thresholds, policy.forecast_thresholds, policy.version) == ([70], [], 1)


def test_the_service_refuses_a_stale_version(platform, platform_admin):
    services.environment_update(environment=platform, data={"region": "northeurope"}, version=1, user=platform_admin)
    with pytest.raises(StaleEdit) as refused:
        services.environment_update(environment=platform, data={"region": "westus"}, version=1, user=platform_admin)
    assert refused.value.current.region == "northeurope"
    assert [e.details["changes"] for e in refused.value.changes] == [{"region": ["eastus", "northeurope"]}]


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_from_the_same_version_let_exactly_one_win(role_groups, make_user):
    """20 rounds of two saves racing from the same version (threads; on PostgreSQL a real row lock): one saved,
    one refused, never a silent revert."""
    from tests.factories import EnvironmentFactory

    admin = make_user("racer")
    env = EnvironmentFactory(name="race")
    for round_ in range(20):
        version = Environment.objects.get(pk=env.pk).version
        barrier = threading.Barrier(2)
        outcomes = []

        def save(value):
            barrier.wait()
            try:
                services.environment_update(environment=env, data={"aks_cluster": value}, version=version,
                                            user=admin)
                outcomes.append(("saved", value))
            except StaleEdit:
                outcomes.append(("refused", value))
            finally:
                connection.close()

        threads = [threading.Thread(target=save, args=(f"aks-{round_}-{side}",)) for side in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(kind for kind, _ in outcomes) == ["refused", "saved"], outcomes
        winner = next(value for kind, value in outcomes if kind == "saved")
        assert Environment.objects.get(pk=env.pk).aks_cluster == winner
    assert Environment.objects.get(pk=env.pk).version == 21

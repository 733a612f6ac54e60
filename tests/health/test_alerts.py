"""A check red past the threshold tells the owner team once, and again when it recovers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement, Team
from portal.deployments.backends import StoredSandboxCluster
from portal.deployments.notifications import notification_send
from portal.health import services
from portal.health.choices import AlertStatus, CheckKind, HealthState
from portal.health.models import HealthCheck
from provisioning.cluster.base import AgentWorkloadSpec

AGENT = "ecommerce-catalog-search"


@pytest.fixture
def dev(platform, settings):
    settings.PORTAL_HEALTH_ALERT_AFTER_MINUTES = 10
    Placement.objects.update(status=PlacementStatus.RUNNING)
    Team.objects.filter(slug="ecommerce").update(email="ecommerce@holidaypeakhub.example")
    return platform


def red_for(env, minutes):
    """Run the workload check (the agent is not deployed: red) and date its red back `minutes`."""
    services.health_checks_run(environment_id=env.pk, kind=CheckKind.WORKLOAD)
    HealthCheck.objects.filter(kind=CheckKind.WORKLOAD).update(state_since=timezone.now() - timedelta(minutes=minutes))
    return HealthCheck.objects.get(kind=CheckKind.WORKLOAD)


def sent(callbacks):
    """Send the notifications the captured on-commit callbacks would have queued; what went out."""
    payloads = [c.args[0] for c in callbacks if c.func.__self__.name == "portal.deployments.tasks.send_notification"]
    for payload in payloads:
        notification_send(**payload)
    return payloads


def test_red_shorter_than_the_threshold_tells_nobody(dev, django_capture_on_commit_callbacks, mailoutbox):
    red_for(dev, 9)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = services.health_alerts_evaluate()

    assert outcome == {"notified": [], "recovered": []}
    assert sent(callbacks) == []


def test_red_past_the_threshold_tells_the_owner_team_once_and_again_on_recovery(
        dev, django_capture_on_commit_callbacks, mailoutbox):
    check = red_for(dev, 11)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.health_alerts_evaluate()["notified"] == [check.pk]
        assert services.health_alerts_evaluate()["notified"] == []   # a second sweep: already told
        services.health_checks_run(environment_id=dev.pk, kind=CheckKind.WORKLOAD)   # still red
    assert len(sent(callbacks)) == 1
    assert mailoutbox[-1].to == ["ecommerce@holidaypeakhub.example"]
    assert mailoutbox[-1].subject == f"[Peak Portal] RED: Agent workload {AGENT} in dev"
    assert "has been red for 11 minutes" in mailoutbox[-1].body
    assert "not deployed" in mailoutbox[-1].body
    assert "/health/dev/" in mailoutbox[-1].body
    check.refresh_from_db()
    assert check.alert_status == AlertStatus.NOTIFIED

    StoredSandboxCluster(dev.name).apply_agent_workload(AgentWorkloadSpec(name=AGENT, image="acr.example.io/a",
                                                                          tag="1.0.0"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.health_checks_run(environment_id=dev.pk, kind=CheckKind.WORKLOAD)   # green: evaluates at once
        services.health_alerts_evaluate()
    assert len(sent(callbacks)) == 1
    assert mailoutbox[-1].subject == f"[Peak Portal] Recovered: Agent workload {AGENT} in dev"
    assert len(mailoutbox) == 2
    check.refresh_from_db()
    assert (check.state, check.alert_status) == (HealthState.GREEN, AlertStatus.QUIET)


def test_unknown_is_not_a_recovery(dev, django_capture_on_commit_callbacks, mailoutbox):
    check = red_for(dev, 30)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.health_alerts_evaluate()
    sent(callbacks)
    HealthCheck.objects.filter(pk=check.pk).update(state=HealthState.UNKNOWN)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.health_alerts_evaluate()["recovered"] == []

    assert sent(callbacks) == []
    assert HealthCheck.objects.get(pk=check.pk).alert_status == AlertStatus.NOTIFIED


def test_red_again_after_a_recovery_tells_them_again(dev, django_capture_on_commit_callbacks, mailoutbox):
    check = red_for(dev, 11)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.health_alerts_evaluate()
        HealthCheck.objects.filter(pk=check.pk).update(state=HealthState.GREEN)
        services.health_alerts_evaluate()
        HealthCheck.objects.filter(pk=check.pk).update(state=HealthState.RED,
                                                       state_since=timezone.now() - timedelta(minutes=12))
        services.health_alerts_evaluate()

    assert [p["subject"].split(":")[0] for p in sent(callbacks)] == [
        "[Peak Portal] RED", "[Peak Portal] Recovered", "[Peak Portal] RED"]


def test_two_evaluations_racing_claim_the_alert_once(dev):
    check = red_for(dev, 11)
    cutoff = timezone.now() - timedelta(minutes=10)

    first = services._alert_move(check, AlertStatus.QUIET, AlertStatus.NOTIFIED, timezone.now(),
                                 state=HealthState.RED, state_since__lte=cutoff)
    second = services._alert_move(check, AlertStatus.QUIET, AlertStatus.NOTIFIED, timezone.now(),
                                  state=HealthState.RED, state_since__lte=cutoff)

    assert (first, second) == (True, False)


def test_platform_checks_tell_the_platform_team(dev, django_capture_on_commit_callbacks, settings):
    Team.objects.create(slug="platform", name="Platform team", email="platform@holidaypeakhub.example")
    services.health_checks_run(environment_id=dev.pk, kind=CheckKind.NODE_POOL)
    HealthCheck.objects.filter(kind=CheckKind.NODE_POOL).update(
        state=HealthState.RED, state_since=timezone.now() - timedelta(minutes=15))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.health_alerts_evaluate()

    payloads = [c.args[0] for c in callbacks]
    assert [p["recipients"] for p in payloads] == [["platform@holidaypeakhub.example"]]
    assert payloads[0]["subject"] == "[Peak Portal] RED: Node pool agents in dev"

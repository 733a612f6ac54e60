from datetime import timedelta

from django.db import models

from provisioning.health import checks as health_checks


class CheckKind(models.TextChoices):
    """What a check looks at; the values are provisioning.health's CheckResult keys."""

    NODE_POOL = health_checks.NODE_POOL_KEY, "Node pool"
    WORKLOAD = health_checks.WORKLOAD_KEY, "Agent workload"
    HTTP = health_checks.HTTP_KEY, "HTTP health endpoint"
    RESOURCE_HEALTH = health_checks.RESOURCE_HEALTH_KEY, "Azure Resource Health"


# Checks whose target is one agent: their owner team hears about them, they count in its uptime.
AGENT_KINDS = {CheckKind.WORKLOAD, CheckKind.HTTP}


class HealthState(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"
    UNKNOWN = "unknown", "Unknown"


# What a state looks like with the portal's existing status colours.
STATE_CSS = {
    HealthState.GREEN: "running",
    HealthState.AMBER: "degraded",
    HealthState.RED: "failed",
    HealthState.UNKNOWN: "cancelled",
}
# Observed states: a check that could not run ("unknown") is not one of them.
OBSERVED = {HealthState.GREEN, HealthState.AMBER, HealthState.RED}
# No longer failing: what ends an alert. Unknown is not a recovery, only a gap in what we know.
RECOVERED = {HealthState.GREEN, HealthState.AMBER}


class AlertStatus(models.TextChoices):
    """Whether the owner team has been told that a check is red. One conditional UPDATE moves it
    (claim by update), so a check notifies once per episode however many workers evaluate it."""

    QUIET = "quiet", "Quiet"
    NOTIFIED = "notified", "Owner notified"


ALERT_TRANSITIONS = {
    AlertStatus.QUIET: {AlertStatus.NOTIFIED},
    AlertStatus.NOTIFIED: {AlertStatus.QUIET},
}

# A check not run for this long is shown as stale (the scheduler or the worker may be down).
STALE_AFTER = timedelta(minutes=15)
UPTIME_WINDOW = timedelta(days=7)

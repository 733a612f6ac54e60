from django.db import models
from django.utils import timezone

from portal.health.choices import AGENT_KINDS, STALE_AFTER, STATE_CSS, AlertStatus, CheckKind, HealthState

# The checks of one agent each that are on the board (selectors.health_board reads them by these conditions).
AGENT_CHECKS = models.Q(active=True, kind__in=sorted(kind.value for kind in AGENT_KINDS))


class HealthCheck(models.Model):
    """One check of one target in one environment, with its latest result. Written only by the
    scheduled checks (portal.health.services); pages read it and never call Azure or the cluster."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="health_checks")
    kind = models.CharField(max_length=20, choices=CheckKind.choices)
    target = models.CharField(max_length=500, help_text="A pool name, an agent, a resource id or a URL.")
    label = models.CharField(max_length=200, help_text="What the board calls it.")
    agent = models.ForeignKey("catalog.Agent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="health_checks")
    active = models.BooleanField(default=True, help_text="Off when the target left the environment.")
    state = models.CharField(max_length=10, choices=HealthState.choices, default=HealthState.UNKNOWN)
    summary = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    state_since = models.DateTimeField(null=True, blank=True, help_text="When the state last changed.")
    last_known_state = models.CharField(max_length=10, choices=HealthState.choices, blank=True,
                                        help_text="The last state observed (not unknown).")
    last_known_summary = models.TextField(blank=True)
    last_known_at = models.DateTimeField(null=True, blank=True)
    alert_status = models.CharField(max_length=10, choices=AlertStatus.choices, default=AlertStatus.QUIET)
    alert_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["environment__position", "kind", "label"]
        constraints = [models.UniqueConstraint(fields=["environment", "kind", "target"], name="healthcheck_unique")]
        indexes = [models.Index(fields=["state", "alert_status"]),
                   # #11: the home page's counts by state and last check time, from the index alone
                   models.Index(fields=["environment", "active", "state"], name="healthcheck_env_state"),
                   models.Index(fields=["environment", "active", "checked_at"], name="healthcheck_env_checked"),
                   # #11: the board's agents (active workload and HTTP checks), ranked worst state first, are read
                   # state by state in target order, and counted, from these two indexes alone
                   models.Index(fields=["environment", "state", "target"], name="healthcheck_agent_rank",
                                condition=AGENT_CHECKS),
                   models.Index(fields=["environment", "target"], name="healthcheck_agent_target",
                                condition=AGENT_CHECKS)]

    def __str__(self):
        return f"{self.environment.name} {self.kind} {self.label}"

    @property
    def css(self) -> str:
        return STATE_CSS[self.state]

    @property
    def last_known_css(self) -> str:
        return STATE_CSS.get(self.last_known_state, "cancelled")

    @property
    def is_stale(self) -> bool:
        return self.is_stale_at(timezone.now())

    def is_stale_at(self, now) -> bool:
        """is_stale at `now` (a page of checks reads the clock once)."""
        return self.checked_at is None or now - self.checked_at > STALE_AFTER

    @property
    def reason(self) -> str:
        """Why the check could not run, for an unknown one."""
        return str(self.details.get("reason") or "")


class HealthResult(models.Model):
    """The history of a check: one row per run, kept for PORTAL_HEALTH_HISTORY_DAYS (uptime needs 7)."""

    health_check = models.ForeignKey(HealthCheck, on_delete=models.CASCADE, related_name="results")
    state = models.CharField(max_length=10, choices=HealthState.choices)
    summary = models.CharField(max_length=500, blank=True)
    restarts = models.PositiveIntegerField(null=True, blank=True, help_text="Workloads: container restarts seen.")
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at", "-pk"]
        indexes = [models.Index(fields=["health_check", "checked_at"]), models.Index(fields=["checked_at"])]

    def __str__(self):
        return f"{self.health_check_id} {self.state} {self.checked_at:%Y-%m-%d %H:%M}"


class HealthDay(models.Model):
    """Issue #11: a check's results per day (in TIME_ZONE), written with each result by
    health_result_record and pruned with them, so uptime reads a few rows per check instead of the
    raw history. Always equal to counting the day's HealthResult rows."""

    health_check = models.ForeignKey(HealthCheck, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    total = models.PositiveIntegerField(default=0)
    green = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["health_check", "day"]
        constraints = [models.UniqueConstraint(fields=["health_check", "day"], name="healthday_unique")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self):
        return f"{self.health_check_id} {self.day} {self.green}/{self.total}"

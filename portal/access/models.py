from django.conf import settings
from django.db import models
from django.urls import reverse

from portal.access.choices import AuditOutcome, FindingKind


class RbacAudit(models.Model):
    """One audit of an environment's role assignments against the design (provisioning.rbac). The
    page shows the latest one that could read, with its age, even when a later one could not."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="rbac_audits")
    outcome = models.CharField(max_length=10, choices=AuditOutcome.choices)
    backend = models.CharField(max_length=10, help_text="sandbox or azure")
    ran_at = models.DateTimeField(db_index=True)
    error = models.TextField(blank=True, help_text="Why the audit could not read the assignments, or the part it "
                                                   "could not read.")
    kubelet_principal_id = models.CharField(max_length=36, blank=True,
                                            help_text="The AKS kubelet identity, as far as the audit knows it.")
    present_count = models.PositiveSmallIntegerField(default=0)
    missing_count = models.PositiveSmallIntegerField(default=0)
    unexpected_count = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", help_text="Empty: the schedule ran it.")

    class Meta:
        ordering = ["-ran_at", "-pk"]
        get_latest_by = "ran_at"
        verbose_name = "RBAC audit"

    def __str__(self):
        return f"RBAC audit of {self.environment.name} #{self.pk}"

    def get_absolute_url(self):
        return reverse("access:environment", args=[self.environment.name])

    @property
    def could_read(self) -> bool:
        return self.outcome == AuditOutcome.READ

    @property
    def clean(self) -> bool:
        return self.could_read and not self.missing_count and not self.unexpected_count and not self.error


class RbacFinding(models.Model):
    """One line of an audit: an expected assignment present or missing, or an unexpected broad one."""

    audit = models.ForeignKey(RbacAudit, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=10, choices=FindingKind.choices)
    role_name = models.CharField(max_length=100)
    role_guid = models.CharField(max_length=36)
    principal = models.CharField(max_length=50, blank=True, help_text='The design\'s label, e.g. "aks-kubelet".')
    principal_id = models.CharField(max_length=36, blank=True)
    principal_type = models.CharField(max_length=30, blank=True)
    scope_kind = models.CharField(max_length=30, blank=True, help_text="acr, eventhubs, ... (expected ones).")
    scope = models.CharField(max_length=500, help_text="Where the role is expected, or where it was found.")
    assignment_id = models.CharField(max_length=600, blank=True, help_text="The assignment found (not for missing).")
    inherited = models.BooleanField(default=False, help_text="Granted at a scope above the expected one.")

    class Meta:
        ordering = ["kind", "role_name", "scope", "pk"]
        verbose_name = "RBAC finding"
        permissions = [("remediate_rbacfinding", "Can remediate a missing role assignment")]

    def __str__(self):
        return f"{self.kind} {self.role_name} on {self.scope}"

    @property
    def scope_name(self) -> str:
        return self.scope.rstrip("/").rsplit("/", 1)[-1]

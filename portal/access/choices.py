from django.db import models


class AuditOutcome(models.TextChoices):
    """An audit row is written once, when the audit has finished: it read the assignments, or it could not."""

    READ = "read", "Read"
    FAILED = "failed", "Could not read"


class FindingKind(models.TextChoices):
    MISSING = "missing", "Missing"
    UNEXPECTED = "unexpected", "Unexpected"
    PRESENT = "present", "Present"
    NOT_CHECKED = "unread", "Not read"   # its part (Cosmos data plane, Azure RBAC, the resource) could not be read


# The templates whose sandbox deployments create role assignments (recorded into SandboxRbac).
RBAC_TEMPLATES = ("shared-infrastructure", "role-assignment")
REMEDIATION_TEMPLATE = "role-assignment"

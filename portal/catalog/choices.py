from django.db import models


class Tier(models.TextChoices):
    DEVELOPMENT = "development", "Development"
    STAGING = "staging", "Staging"
    PRODUCTION = "production", "Production"


class RedisSku(models.TextChoices):
    C0 = "C0", "Basic/Standard C0"
    C1 = "C1", "Basic/Standard C1"
    C2 = "C2", "Basic/Standard C2"
    C3 = "C3", "Basic/Standard C3"
    C4 = "C4", "Basic/Standard C4"
    C5 = "C5", "Basic/Standard C5"
    C6 = "C6", "Basic/Standard C6"
    P1 = "P1", "Premium P1 (6 GB)"
    P2 = "P2", "Premium P2 (13 GB)"
    P3 = "P3", "Premium P3 (26 GB)"
    P4 = "P4", "Premium P4 (53 GB)"
    P5 = "P5", "Premium P5 (120 GB)"


# Databases per cache, fixed at creation: Azure's rules live in one module (provisioning.azure_rules).
from provisioning.azure_rules import REDIS_DATABASES  # noqa: E402


class NodePoolMode(models.TextChoices):
    SYSTEM = "System", "System"
    USER = "User", "User"


class MemoryTier(models.TextChoices):
    HOT = "hot", "Hot (Redis)"
    WARM = "warm", "Warm (Cosmos DB)"
    COLD = "cold", "Cold (Blob)"


class PlacementStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    BLOCKED = "blocked", "Blocked"
    PROVISIONING = "provisioning", "Provisioning"
    RUNNING = "running", "Running"
    DEGRADED = "degraded", "Degraded"
    FAILED = "failed", "Failed"
    RETIRED = "retired", "Retired"


_P = PlacementStatus
PLACEMENT_ALLOWED_TRANSITIONS = {
    _P.PLANNED: {_P.BLOCKED, _P.PROVISIONING, _P.RUNNING, _P.FAILED, _P.RETIRED},
    _P.BLOCKED: {_P.PLANNED, _P.PROVISIONING, _P.RUNNING, _P.RETIRED},
    _P.PROVISIONING: {_P.RUNNING, _P.FAILED, _P.RETIRED},
    _P.RUNNING: {_P.DEGRADED, _P.FAILED, _P.PROVISIONING, _P.RETIRED},
    _P.DEGRADED: {_P.RUNNING, _P.FAILED, _P.RETIRED},
    _P.FAILED: {_P.PROVISIONING, _P.RUNNING, _P.RETIRED},
    _P.RETIRED: {_P.PROVISIONING},
}


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


SYNC_ALLOWED_TRANSITIONS = {
    SyncStatus.QUEUED: {SyncStatus.RUNNING, SyncStatus.FAILED},
    SyncStatus.RUNNING: {SyncStatus.SUCCEEDED, SyncStatus.FAILED},
    SyncStatus.SUCCEEDED: set(),
    SyncStatus.FAILED: set(),
}
SYNC_ACTIVE = {SyncStatus.QUEUED, SyncStatus.RUNNING}
SYNC_TERMINAL = {SyncStatus.SUCCEEDED, SyncStatus.FAILED}


# Kinds of operation an environment's approval policy can cover (issue #9).
APPROVAL_OPERATIONS = {
    "template": "Template deployments",
    "apply": "Workload deploys",
    "scale": "Scale",
    "restart": "Restart",
    "retire": "Retire",
}

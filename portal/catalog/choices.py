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


# Databases per cache, fixed at creation (Azure Cache for Redis, "Configure", section Databases).
REDIS_DATABASES = {
    "C0": 16, "C1": 16, "C2": 16, "C3": 16, "C4": 32, "C5": 48, "C6": 64,
    "P1": 16, "P2": 32, "P3": 48, "P4": 64, "P5": 64,
}


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

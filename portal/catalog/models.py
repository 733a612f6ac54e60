from collections.abc import Callable

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from portal.catalog.choices import (
    APPROVAL_OPERATIONS,
    REDIS_DATABASES,
    MemoryTier,
    NodePoolMode,
    PlacementStatus,
    RedisSku,
    SYNC_ACTIVE,
    SyncStatus,
    Tier,
)
from portal.core.links import url_maker

slug_validator = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
    "Use lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
)


def approval_operations_default():
    return list(APPROVAL_OPERATIONS)


class Environment(models.Model):
    name = models.SlugField(max_length=20, unique=True, validators=[slug_validator])
    tier = models.CharField(max_length=20, choices=Tier.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order on pages: dev, staging, prod.")
    subscription_id = models.CharField(max_length=36, blank=True)
    region = models.CharField(max_length=40, default="eastus")
    resource_group = models.CharField(max_length=90)
    aks_cluster = models.CharField("AKS cluster", max_length=63)
    # Issue #10: what Azure says the environment holds (portal.catalog.discovery), not built from names.
    discovered_resources = models.JSONField(
        default=dict, blank=True, editable=False,
        help_text="Read from Azure: resource ids by kind, kubelet principal, node resource group, errors, when.")
    redis_sku = models.CharField("Redis SKU", max_length=2, choices=RedisSku.choices, default=RedisSku.P1)
    redis_clustered = models.BooleanField("Redis clustering", default=False,
                                          help_text="A clustered cache has database 0 only.")
    redis_reserved_databases = models.PositiveSmallIntegerField(
        default=1, help_text="Databases kept for the platform before any agent (0: the CRUD service)."
    )
    cosmos_containers = models.JSONField(default=list, blank=True,
                                         help_text="The platform's operational Cosmos DB containers.")
    event_hub_topics = models.JSONField(default=list, blank=True, help_text="Event Hubs topics of the namespace.")
    monthly_budget = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    approvals_required = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(5)], help_text="0: deployments here need no approval."
    )
    approver_group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", help_text="Who may approve deployments here.")
    approval_timeout_hours = models.PositiveSmallIntegerField(default=24, validators=[MinValueValidator(1)])
    approval_webhook_url = models.URLField(blank=True, help_text="Optional: a chat channel's incoming webhook, "
                                                                   "told when an approval waits.")
    # Issue #9: what the environment owns (runs that reach beyond it are refused) and what needs approval.
    resource_groups = models.JSONField(default=list, blank=True, help_text="Other resource groups this environment "
                                       "owns, besides its main one.")
    resource_name_pattern = models.CharField(max_length=200, blank=True, help_text="A regular expression the "
                                             "names of this environment's own resources match, e.g. "
                                             "^holidaypeakhub-?prod. Another environment's run may not touch them.")
    approval_operations = models.JSONField(default=approval_operations_default, blank=True,
                                           help_text="Which operations need approval when approvals are required: "
                                                     "any of template, apply, scale, restart, retire.")
    version = models.PositiveIntegerField(default=1, editable=False,
                                          help_text="Raised by every saved edit; a stale edit form is refused.")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:environment_detail", args=[self.name])

    @property
    def redis_database_limit(self) -> int:
        return 1 if self.redis_clustered else REDIS_DATABASES[self.redis_sku]

    @property
    def needs_approval(self) -> bool:
        return self.approvals_required > 0

    def needs_approval_for(self, operation: str) -> bool:
        """Whether this kind of operation (template, apply, scale, restart, retire) needs approval here."""
        return self.needs_approval and operation in (self.approval_operations or [])

    @property
    def approval_operation_labels(self) -> list[str]:
        return [label for key, label in APPROVAL_OPERATIONS.items() if key in (self.approval_operations or [])]

    @property
    def scope_resource_groups(self) -> list[str]:
        return [self.resource_group, *[g for g in (self.resource_groups or []) if g != self.resource_group]]


class NodePool(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="node_pools")
    name = models.CharField(max_length=12, validators=[RegexValidator(r"^[a-z][a-z0-9]{0,11}$",
                            "AKS pool names are 1-12 lowercase letters and digits, starting with a letter.")])
    mode = models.CharField(max_length=10, choices=NodePoolMode.choices, default=NodePoolMode.USER)
    vm_size = models.CharField("VM size", max_length=40)
    min_nodes = models.PositiveSmallIntegerField()
    max_nodes = models.PositiveSmallIntegerField()
    taints = models.JSONField(default=list, blank=True, help_text='e.g. ["workload=agents:NoSchedule"]')

    class Meta:
        ordering = ["environment__position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="nodepool_unique_name"),
            models.CheckConstraint(condition=Q(min_nodes__lte=models.F("max_nodes")), name="nodepool_min_le_max"),
        ]

    def __str__(self):
        return f"{self.environment.name}/{self.name}"


class Team(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams",
                                     help_text="They may confirm, cancel and retry their team's runs.")
    # #11: the cost pages keep their agent tables (with team names) until a team or an agent changed after.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Agent(models.Model):
    slug = models.CharField(max_length=63, unique=True, validators=[slug_validator])
    display_name = models.CharField(max_length=100)
    domain = models.CharField(max_length=40)
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="agents")
    description = models.TextField(blank=True)
    image = models.CharField("container image", max_length=255)
    memory_tiers = models.JSONField(default=list, help_text="Any of: hot, warm, cold.")
    needs_ai_search = models.BooleanField("needs Azure AI Search", default=False)
    needs_openai = models.BooleanField("needs Azure OpenAI", default=False)
    health_path = models.CharField(max_length=100, default="/health", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        # #11: the agent list's domain filter and its count read agent ids from the index alone, and the list of
        # domains steps through it (one probe per domain); it replaces the index of domain alone.
        # #11: the stored showback is stale when an agent changed after it was built: its MAX(updated_at), from
        # the index.
        indexes = [models.Index(fields=["domain", "id"], name="agent_domain_id"),
                   models.Index(fields=["updated_at"], name="agent_updated_at")]

    def __str__(self):
        return self.slug

    def get_absolute_url(self):
        return reverse("catalog:agent_detail", args=[self.slug])

    @staticmethod
    def url_maker() -> Callable[[str], str]:
        """slug -> the agent's page, as get_absolute_url gives it, for a table of agents: one reverse() (#11)."""
        return url_maker("catalog:agent_detail", converter="slug")

    def uses(self, tier: str) -> bool:
        return tier in self.memory_tiers

    @property
    def memory_tier_labels(self) -> list[str]:
        return [label for value, label in MemoryTier.choices if value in self.memory_tiers]


class Placement(models.Model):
    """One agent in one environment, with the memory resources allocated to it there."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="placements")
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="placements")
    redis_db = models.PositiveSmallIntegerField("Redis database", null=True, blank=True)
    redis_key_prefix = models.CharField(max_length=80, blank=True, help_text="Set when the placement shares its "
                                        "Redis database with another agent: every key it writes starts with this.")
    cosmos_container = models.CharField(max_length=255, blank=True)
    blob_container = models.CharField(max_length=63, blank=True)
    image_tag = models.CharField(max_length=128, default="latest")
    replicas = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=PlacementStatus.choices, default=PlacementStatus.PLANNED)
    status_detail = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["environment__position", "agent__slug"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "environment"], name="placement_one_per_env"),
            # A database of its own is exclusive; a shared one carries a key prefix instead.
            models.UniqueConstraint(fields=["environment", "redis_db"],
                                    condition=Q(redis_db__isnull=False, redis_key_prefix=""),
                                    name="placement_unique_redis_db"),
            models.UniqueConstraint(fields=["environment", "cosmos_container"], condition=~Q(cosmos_container=""),
                                    name="placement_unique_cosmos_container"),
            models.UniqueConstraint(fields=["environment", "blob_container"], condition=~Q(blob_container=""),
                                    name="placement_unique_blob_container"),
        ]
        # #11: the home page counts an environment's placements by status and its Redis databases in use;
        # these let PostgreSQL count from the index alone (no visit to the rows).
        # #11: and the agent list's environment filter reads the environment's agents from the index alone.
        indexes = [
            models.Index(fields=["environment", "status"], name="placement_env_status"),
            models.Index(fields=["environment", "agent"], name="placement_env_agent"),
            models.Index(fields=["environment", "redis_db"], condition=Q(redis_db__isnull=False),
                         name="placement_env_redis_db"),
            # #11: the stored showback is stale when a placement changed after it was built (MAX, from the index).
            models.Index(fields=["updated_at"], name="placement_updated_at"),
        ]

    def __str__(self):
        return f"{self.agent.slug} in {self.environment.name}"


class EnvironmentSync(models.Model):
    """A run of the summary sync: a small Celery task that recounts an environment."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        get_latest_by = "requested_at"
        indexes = [models.Index(fields=["environment", "-requested_at", "-id"], name="envsync_env_requested"),
                   models.Index(fields=["environment", "-finished_at"], name="envsync_env_finished")]

    def __str__(self):
        return f"sync of {self.environment.name} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in SYNC_ACTIVE

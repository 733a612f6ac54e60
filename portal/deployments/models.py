from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import cached_property

from portal.deployments.choices import (
    ACTIVE,
    ApprovalStatus,
    Decision,
    CAN_CANCEL,
    TERMINAL,
    ClusterAction,
    DeploymentKind,
    DeploymentStatus,
    FaultKind,
    LogLevel,
)


def run_subject(*, agent_slug: str | None, parameters: dict) -> str:
    """The agent (or the instance) a run is for, or "": its agent's slug, else the agentName (or agent) it was
    given."""
    if agent_slug:
        return agent_slug
    return str(parameters.get("agentName") or parameters.get("agent") or "")


def run_what(*, kind: str, template: str, cluster_action: str, subject: str) -> str:
    """What a run does, from its columns (Deployment.what, and the tables that read runs as plain rows)."""
    if kind == DeploymentKind.CLUSTER:
        label = ClusterAction(cluster_action).label if cluster_action in ClusterAction.values else template
        return f"{label} {subject}".strip()
    if kind == DeploymentKind.RETIRE:
        return f"Retire {subject}"
    return f"{template} {subject}".strip()


class Deployment(models.Model):
    """One run: a template deployed to an environment, or a cluster operation. The row is the truth."""

    kind = models.CharField(max_length=10, choices=DeploymentKind.choices, default=DeploymentKind.TEMPLATE)
    environment = models.ForeignKey("catalog.Environment", on_delete=models.PROTECT, related_name="deployments")
    template = models.CharField(max_length=100, help_text="Template name (a folder of bicep/), or cluster:<action>.")
    template_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of the template and its modules.")
    # #12: where the template came from when the run was requested (its source, and the git commit read).
    template_source = models.CharField(max_length=40, blank=True)
    template_commit = models.CharField(max_length=64, blank=True)
    parameters = models.JSONField(default=dict, blank=True, help_text="Public parameters; secure ones never here.")
    secure_parameters = models.TextField(blank=True, help_text="Secure parameters, encrypted (never plain text).")
    secure_parameter_names = models.JSONField(default=list, blank=True)
    agent = models.ForeignKey("catalog.Agent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="deployments")
    cluster_action = models.CharField(max_length=10, choices=ClusterAction.choices, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=DeploymentStatus.choices, default=DeploymentStatus.VALIDATING)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    arm_deployment_name = models.CharField(max_length=64, blank=True)
    # Where the ARM deployment is: "" at subscription scope, else the resource group a template whose
    # targetScope is 'resourceGroup' deploys into (decided by its preview, kept for the run and its resumes).
    arm_resource_group = models.CharField(max_length=90, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    continuation_token = models.TextField(blank=True)
    what_if = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="ARM-shaped: code, message, details.")
    cancel_requested = models.BooleanField(default=False)
    auto_confirm = models.BooleanField(default=False, help_text="Go on after the preview without a person "
                                                                  "confirming (onboarding, promotion).")
    then_apply_workload = models.BooleanField(default=False, help_text="On success, deploy the agent's "
                                                                         "Kubernetes workload as the next run.")
    lease_expires_at = models.DateTimeField(null=True, blank=True, help_text="The worker running it renews this.")
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    log_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Exactly one active run per environment and template, enforced by the database.
            models.UniqueConstraint(fields=["environment", "template"], condition=Q(status__in=sorted(ACTIVE)),
                                    name="deployment_one_active_per_env_template"),
        ]
        indexes = [
            models.Index(fields=["status"]),
            # The list's order, and each environment's last deployment (home page).
            models.Index(fields=["-created_at", "-id"], name="deployment_created"),
            models.Index(fields=["environment", "-created_at", "-id"], name="deployment_env_created"),
            # The last succeeded run of a template in an environment (estimate baseline, readiness,
            # parameter diff) and a template's recent runs there (RBAC remediation).
            models.Index(fields=["environment", "template", "status", "-finished_at"], name="deployment_env_tpl_done"),
            models.Index(fields=["environment", "template", "-created_at"], name="deployment_env_tpl_created"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    # --- What it is for (issue #9): the agent or instance it deploys, in every list, page and email. ---

    @property
    def subject(self) -> str:
        """The agent (or the instance) this run is for, or ""."""
        return run_subject(agent_slug=self.agent.slug if self.agent_id else None, parameters=self.parameters)

    @property
    def what(self) -> str:
        """e.g. "agent crm-loyalty-insights", "Scale crm-loyalty-insights", "static-web-app"."""
        return run_what(kind=self.kind, template=self.template, cluster_action=self.cluster_action,
                        subject=self.subject)

    @property
    def title(self) -> str:
        """e.g. "agent crm-loyalty-insights to prod"."""
        where = "from" if self.is_retirement else ("in" if self.is_cluster else "to")
        return f"{self.what} {where} {self.environment.name}"

    def get_absolute_url(self):
        return reverse("deployments:detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def can_cancel(self) -> bool:
        return self.status in CAN_CANCEL and not self.cancel_requested

    # --- Who may act on it (issue #9): the requester, the owning team's members, platform admins. ---

    @property
    def owning_team(self):
        """The agent's team for an agent's run, else the platform team (settings.PORTAL_PLATFORM_TEAM)."""
        if self.agent_id:
            return self.agent.owner_team
        from portal.catalog.models import Team

        return Team.objects.filter(slug=settings.PORTAL_PLATFORM_TEAM).first()

    def may_act(self, user) -> bool:
        """Whether this person may confirm, cancel or retry the run (everyone with access sees it)."""
        if user is None or not user.is_authenticated:
            return False
        if user.pk == self.requested_by_id or user.has_perm("catalog.change_environment"):
            return True
        team = self.owning_team
        return team is not None and team.members.filter(pk=user.pk).exists()

    def can_confirm(self, user) -> bool:
        return self.status == DeploymentStatus.PREVIEWED and self.may_act(user)

    def can_cancel_by(self, user) -> bool:
        return self.can_cancel and self.may_act(user)

    def can_retry(self, user) -> bool:
        return self.status in (DeploymentStatus.FAILED, DeploymentStatus.CANCELLED) and self.may_act(user)

    @property
    def is_cluster(self) -> bool:
        return self.kind == DeploymentKind.CLUSTER

    @cached_property
    def waiting_for_queue(self) -> bool:
        """Validating or queued, and its task could not be handed to the task queue yet (issue #8)."""
        if self.status not in (DeploymentStatus.VALIDATING, DeploymentStatus.QUEUED):
            return False
        from portal.core.outbox import outbox_waiting

        return outbox_waiting(key=f"deployment:{self.pk}")

    @property
    def is_retirement(self) -> bool:
        return self.kind == DeploymentKind.RETIRE

    @property
    def what_if_groups(self) -> list[tuple[str, list[dict]]]:
        """What-if changes grouped by change type, in a stable order."""
        order = ["Create", "Modify", "Delete", "Deploy", "NoChange", "Ignore", "Unsupported"]
        groups: dict[str, list[dict]] = {}
        for change in (self.what_if or {}).get("changes", []):
            groups.setdefault(change["change_type"], []).append(change)
        return sorted(groups.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)


class DeploymentOperation(models.Model):
    """One resource of a run, as the backend reports it (Accepted, Running, Succeeded, Failed)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="operations")
    operation_id = models.CharField(max_length=500)  # ARM operation ids or resource ids, which run long
    position = models.PositiveIntegerField(default=0)
    resource_type = models.CharField(max_length=200)
    resource_name = models.CharField(max_length=300)
    state = models.CharField(max_length=20)
    status_code = models.CharField(max_length=50, blank=True)
    error = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["deployment", "operation_id"], name="operation_unique")]


class DeploymentLogLine(models.Model):
    """Append-only live output of a run."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    level = models.CharField(max_length=10, choices=LogLevel.choices, default=LogLevel.INFO)
    message = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["deployment", "seq"], name="logline_unique_seq")]


class SandboxRecord(models.Model):
    """The sandbox cloud's state (deployments, inventory, cluster), kept in the portal's database."""

    key = models.CharField(max_length=500, unique=True)
    data = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key


class SandboxFault(models.Model):
    """A fault the sandbox cloud injects, so failures can be shown and tested (edit in the admin). A failing
    one whose glob matches an agent's workload (its slug, or apps/v1/Deployment) refuses writes to it too."""

    match = models.CharField(max_length=200, help_text="Resource name or type glob, e.g. cold-*-chat-memory.")
    kind = models.CharField(max_length=10, choices=FaultKind.choices, default=FaultKind.FAIL)
    code = models.CharField(max_length=100, default="InternalServerError")
    message = models.CharField(max_length=500, default="The sandbox injected this failure.")
    factor = models.FloatField(default=10, help_text="For slow faults: how many times longer.")
    enabled = models.BooleanField(default=True)

    def __str__(self):
        return f"{self.kind} {self.match}"


class ApprovalRequest(models.Model):
    """A deployment waiting for a second person. It approves exactly that template content and those
    parameters: if either changes before the run starts, it no longer applies."""

    deployment = models.OneToOneField(Deployment, on_delete=models.CASCADE, related_name="approval")
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    approver_group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    template_hash = models.CharField(max_length=64)
    parameters_hash = models.CharField(max_length=64)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"]),
                   models.Index(fields=["-decided_at", "-id"], name="approval_decided"),
                   # The API's list of approval requests, newest first.
                   models.Index(fields=["-created_at", "-id"], name="approval_created")]
        permissions = [("decide_approvalrequest", "Can approve or reject deployments")]

    def __str__(self):
        return f"approval of #{self.deployment_id}"

    def get_absolute_url(self):
        return reverse("deployments:approval", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


class ApprovalDecision(models.Model):
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="one_decision_per_person")]

from django.db import models


class DeploymentStatus(models.TextChoices):
    VALIDATING = "validating", "Validating"
    PREVIEWED = "previewed", "Previewed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


S = DeploymentStatus
ALLOWED_TRANSITIONS = {
    S.VALIDATING: {S.PREVIEWED, S.FAILED, S.CANCELLED},
    S.PREVIEWED: {S.AWAITING_APPROVAL, S.QUEUED, S.CANCELLED},
    S.AWAITING_APPROVAL: {S.QUEUED, S.CANCELLED, S.FAILED},
    S.QUEUED: {S.RUNNING, S.CANCELLED, S.FAILED},
    S.RUNNING: {S.SUCCEEDED, S.FAILED, S.CANCELLED},
    S.SUCCEEDED: set(),
    S.FAILED: set(),
    S.CANCELLED: set(),
}
# Holding the environment+template slot: at most one of these per environment and template.
ACTIVE = {S.QUEUED, S.RUNNING}
IN_PROGRESS = {S.VALIDATING, S.PREVIEWED, S.AWAITING_APPROVAL, S.QUEUED, S.RUNNING}
TERMINAL = {S.SUCCEEDED, S.FAILED, S.CANCELLED}
CAN_CANCEL = {S.VALIDATING, S.PREVIEWED, S.AWAITING_APPROVAL, S.QUEUED, S.RUNNING}


class DeploymentKind(models.TextChoices):
    TEMPLATE = "template", "Template deployment"
    CLUSTER = "cluster", "Cluster operation"
    RETIRE = "retire", "Retirement"


class ClusterAction(models.TextChoices):
    APPLY = "apply", "Deploy workload"
    SCALE = "scale", "Scale"
    RESTART = "restart", "Restart"


class LogLevel(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class FaultKind(models.TextChoices):
    FAIL = "fail", "Fail with an ARM error"
    SLOW = "slow", "Slow"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    STALE = "stale", "No longer applies"
    WITHDRAWN = "withdrawn", "Withdrawn"


A = ApprovalStatus
APPROVAL_TRANSITIONS = {
    A.PENDING: {A.APPROVED, A.REJECTED, A.EXPIRED, A.STALE, A.WITHDRAWN},
    A.APPROVED: set(),
    A.REJECTED: set(),
    A.EXPIRED: set(),
    A.STALE: set(),
    A.WITHDRAWN: set(),
}


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"

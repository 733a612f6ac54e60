"""Four eyes on production: approval requests, decisions, expiry and staleness.

The requester never approves their own deployment, whatever their roles: enforced here, not only by
hiding a button. Two approvers deciding at once produce one outcome: the request row is locked
(SELECT ... FOR UPDATE) and every status change is a conditional UPDATE.
"""

import hashlib
import json
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import ConflictError, DomainError
from portal.core.transitions import transition
from portal.deployments import notifications, services, templates
from portal.deployments.choices import (
    APPROVAL_TRANSITIONS,
    ApprovalStatus,
    Decision,
    DeploymentKind,
    DeploymentStatus,
    LogLevel,
)
from portal.deployments.models import ApprovalDecision, ApprovalRequest, Deployment
from provisioning.text import shorten, too_long

COMMENT_MAX = 300  # DecisionForm's; with "Rejected by <name>: " it fits the outcome note (500)

A = ApprovalStatus


class NotAllowed(DomainError):
    status = 403


def parameters_hash(deployment: Deployment) -> str:
    """What is approved: the public parameters and the sealed secure ones (compared, never shown)."""
    material = json.dumps({"public": deployment.parameters, "secure": deployment.secure_parameters}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def approval_transition(approval: ApprovalRequest, new: str, **fields) -> ApprovalRequest:
    return transition(ApprovalRequest, approval.pk, old=approval.status, new=new, allowed=APPROVAL_TRANSITIONS,
                      **fields)


def approval_open(*, deployment: Deployment) -> ApprovalRequest:
    """Called when a previewed deployment stops in awaiting approval (inside its transaction)."""
    env = deployment.environment
    approval = ApprovalRequest.objects.create(
        deployment=deployment, required_approvals=max(1, env.approvals_required), approver_group=env.approver_group,
        template_hash=deployment.template_hash, parameters_hash=parameters_hash(deployment),
        requested_by=deployment.requested_by, expires_at=timezone.now() + timedelta(hours=env.approval_timeout_hours),
    )
    audit_record(action="approval.requested", obj=approval, actor=deployment.requested_by,
                 details={"deployment": deployment.pk, "environment": env.name, "reason": deployment.reason})
    who = deployment.requested_by.get_username() if deployment.requested_by else "system"
    notifications.notification_queue(
        subject=f"[Peak Portal] Approval needed: {deployment.title} (#{deployment.pk})",
        body=(f"{who} asks for {deployment.title}.\nReason: {deployment.reason}\n"
              f"Decide by {approval.expires_at:%Y-%m-%d %H:%M} UTC: "
              f"{notifications.absolute(reverse('deployments:approval', args=[approval.pk]))}"),
        recipients=notifications.approver_emails(approval), webhook_url=env.approval_webhook_url,
        about=f"approval {approval.pk}")
    return approval


def can_decide(user, approval: ApprovalRequest) -> str | None:
    """Why this user may not decide, or None when they may."""
    if not user.is_authenticated or not user.has_perm("deployments.decide_approvalrequest"):
        return "Your role does not allow approving deployments."
    if approval.requested_by_id == user.pk:
        return "You asked for this deployment; someone else must approve it (four eyes)."
    if approval.approver_group_id and not user.is_superuser and \
            not user.groups.filter(pk=approval.approver_group_id).exists():
        return f"Only members of {approval.approver_group.name} may decide on deployments to this environment."
    if approval.decisions.filter(user=user).exists():
        return "You have already decided on this request."
    return None


def approval_decide(*, approval: ApprovalRequest, user, decision: str, comment: str = "", request=None
                    ) -> ApprovalRequest:
    if decision not in Decision.values:
        raise DomainError("Choose approve or reject.")
    if decision == Decision.REJECT and not comment.strip():
        raise DomainError("A rejection needs a comment saying why.", field="comment")
    if len(comment) > COMMENT_MAX:  # refused, never cut: it goes whole into the outcome note
        raise DomainError(too_long(comment, COMMENT_MAX, what="The comment"), field="comment")
    with transaction.atomic():
        approval = (ApprovalRequest.objects.select_for_update(of=("self",))
                    .select_related("deployment__environment", "approver_group").get(pk=approval.pk))
        if not approval.is_pending:
            raise ConflictError(f"This request is already {approval.get_status_display().lower()}.")
        refusal = can_decide(user, approval)
        if refusal:
            raise NotAllowed(refusal)
        # Expiry and staleness close the request for good (committed), then refuse the decision.
        if approval.expires_at <= timezone.now():
            _expire(approval)
            problem = "This request expired before it was decided; it can no longer be approved."
        elif stale := _stale_reason(approval):
            _close(approval, A.STALE, note=stale)
            problem = f"This approval no longer applies: {stale}"
        else:
            return _record_decision(approval, user, decision, comment.strip(), request)
    raise ConflictError(problem)


def _record_decision(approval: ApprovalRequest, user, decision: str, comment: str, request) -> ApprovalRequest:
    deployment = approval.deployment
    ApprovalDecision.objects.create(request=approval, user=user, decision=decision, comment=comment)
    audit_record(action="approval.approved" if decision == Decision.APPROVE else "approval.rejected",
                 obj=approval, actor=user, request=request, details={"deployment": deployment.pk, "comment": comment})
    services.deployment_log(deployment.pk, [(LogLevel.INFO if decision == Decision.APPROVE else LogLevel.WARNING,
                                             f"{Decision(decision).label}d by {user.get_username()}"
                                             + (f": {comment}" if comment else "."))])
    if decision == Decision.REJECT:
        return _close(approval, A.REJECTED, note=f"Rejected by {user.get_username()}: {comment}")
    approvals = approval.decisions.filter(decision=Decision.APPROVE).count()
    if approvals < approval.required_approvals:
        return ApprovalRequest.objects.get(pk=approval.pk)
    return _close(approval, A.APPROVED, note=f"Approved by {user.get_username()}")


def _stale_reason(approval: ApprovalRequest) -> str | None:
    deployment = approval.deployment
    if deployment.template_hash != approval.template_hash or parameters_hash(deployment) != approval.parameters_hash:
        return "the deployment's template or parameters changed after it was requested."
    if deployment.kind != DeploymentKind.TEMPLATE:
        return None  # a retirement names its resources in its parameters; there is no template file
    try:
        current = templates.template_get(deployment.template)
    except DomainError:
        return "the template no longer exists."
    if current.content_hash != approval.template_hash:
        where = "bicep/" if current.source in ("", "builtin") else f"{current.source} (now at commit {current.commit[:12]})"
        return f"the template in {where} changed after the preview; request the deployment again."
    return None


def _close(approval: ApprovalRequest, outcome: str, *, note: str) -> ApprovalRequest:
    """Record the outcome and move the deployment on: queued when approved, cancelled otherwise."""
    closed = approval_transition(approval, outcome, decided_at=timezone.now(), outcome_note=shorten(note, 500))
    deployment = Deployment.objects.select_related("environment").get(pk=approval.deployment_id)
    if outcome != A.REJECTED:
        audit_record(action=f"approval.{outcome}", obj=closed, details={"deployment": deployment.pk, "note": note})
    if deployment.status == DeploymentStatus.AWAITING_APPROVAL:
        if outcome == A.APPROVED:
            services.deployment_enqueue(deployment=deployment)
        else:
            services.deployment_transition(deployment, DeploymentStatus.CANCELLED,
                                           error={"code": f"Approval{outcome.title()}", "message": note, "details": []})
            services.deployment_log(deployment.pk, [(LogLevel.WARNING, f"Not deployed: {note}")])
    if deployment.requested_by and deployment.requested_by.email:
        notifications.notification_queue(
            subject=f"[Peak Portal] {closed.get_status_display()}: {deployment.title} (#{deployment.pk})",
            body=f"{note}\n{notifications.absolute(deployment.get_absolute_url())}",
            recipients=[deployment.requested_by.email], about=f"approval {approval.pk}")
    return closed


def _expire(approval: ApprovalRequest) -> ApprovalRequest:
    return _close(approval, A.EXPIRED, note=f"Not decided within {approval.deployment.environment.approval_timeout_hours} "
                                            "hours; expired.")


def approval_expire_due() -> list[int]:
    """Scheduled: expire every pending request past its time limit."""
    expired = []
    for pk in ApprovalRequest.objects.filter(status=A.PENDING, expires_at__lte=timezone.now()) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            approval = (ApprovalRequest.objects.select_for_update(of=("self",))
                        .select_related("deployment__environment").get(pk=pk))
            if approval.is_pending and approval.expires_at <= timezone.now():
                _expire(approval)
                expired.append(pk)
    return expired


@transaction.atomic
def approval_withdraw(*, deployment: Deployment) -> None:
    """The deployment was cancelled while waiting: the request closes with it."""
    approval = (ApprovalRequest.objects.select_for_update(of=("self",))
                .filter(deployment=deployment, status=A.PENDING).first())
    if approval:
        approval_transition(approval, A.WITHDRAWN, decided_at=timezone.now(), outcome_note="Deployment cancelled.")

"""Deployment runs: request -> preview (what-if) -> confirm -> [approval] -> run -> terminal.

Every status change goes through deployment_transition (a conditional UPDATE). Slow work happens in
Celery tasks, enqueued on commit; the tasks call deployment_preview_run and deployment_execute here.
"""

import logging
import re
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.audit.services import audit_record
from portal.catalog.choices import PlacementStatus, Tier
from portal.catalog.models import Placement
from portal.catalog.services import placement_transition
from portal.core import backends as registry
from portal.core.errors import ConflictError, DomainError, InvalidTransition, NotAllowed
from portal.core.outbox import DB_ERRORS, enqueue, outbox_tracks
from portal.core.transitions import transition
from portal.deployments import approvals, backends, scope, templates
from portal.deployments.choices import (
    ALLOWED_TRANSITIONS,
    ClusterAction,
    DeploymentKind,
    DeploymentStatus,
    LogLevel,
)
from portal.deployments.models import Deployment, DeploymentLogLine, DeploymentOperation
from portal.deployments.secrets import seal, unseal
from provisioning.backends.base import CloudError, ErrorCode, ProvisioningState
from provisioning.bicep import BicepError
from provisioning.cluster.base import WORKLOAD_TYPE, AgentWorkloadSpec, ClusterError
from provisioning.text import shorten

log = logging.getLogger(__name__)
S = DeploymentStatus

STATE_TO_STATUS = {
    ProvisioningState.SUCCEEDED: S.SUCCEEDED,
    ProvisioningState.FAILED: S.FAILED,
    ProvisioningState.CANCELED: S.CANCELLED,
}


class SlotTaken(ConflictError):
    pass


class RunInterrupted(Exception):
    """The database went away while this worker held a run: its task retries and, holding the same
    attempt, takes the run back at once instead of waiting for the lease to lapse."""

    def __init__(self, deployment_id: int, attempt: int):
        super().__init__(f"deployment {deployment_id} attempt {attempt} interrupted by a database error")
        self.deployment_id, self.attempt = deployment_id, attempt


# --- Rows, logs, transitions --------------------------------------------------------------------

def deployment_transition(deployment: Deployment, new: str, **fields) -> Deployment:
    if new in (S.SUCCEEDED, S.FAILED, S.CANCELLED):
        fields.setdefault("finished_at", timezone.now())
        fields.setdefault("lease_expires_at", None)
    try:
        with transaction.atomic():
            moved = transition(Deployment, deployment.pk, old=deployment.status, new=new, allowed=ALLOWED_TRANSITIONS,
                               **fields)
            audit_record(action=f"deployment.{new}", obj=moved, details={"from": deployment.status})
            if new in (S.FAILED, S.CANCELLED) and moved.then_apply_workload and moved.agent_id:
                _placement_after_resources_failed(moved)
    except IntegrityError as exc:
        raise SlotTaken(_slot_message(deployment)) from exc
    return moved


def _slot_message(deployment: Deployment) -> str:
    other = (Deployment.objects.filter(environment_id=deployment.environment_id, template=deployment.template,
                                       status__in=[S.QUEUED, S.RUNNING]).exclude(pk=deployment.pk).first())
    which = f" (#{other.pk}, {other.get_status_display().lower()})" if other else ""
    return (f"Another deployment of {deployment.template} to {deployment.environment.name} is queued or running"
            f"{which}. Wait for it to finish, or cancel it, then try again.")


def deployment_log(deployment_id: int, lines: list[tuple[str, str]]) -> None:
    """Append log lines in one batch, numbered after the run's last one."""
    if not lines:
        return
    with transaction.atomic():
        start = Deployment.objects.select_for_update().values_list("log_seq", flat=True).get(pk=deployment_id)
        DeploymentLogLine.objects.bulk_create(
            DeploymentLogLine(deployment_id=deployment_id, seq=start + i, level=level, message=shorten(message, 4000))
            for i, (level, message) in enumerate(lines, start=1)
        )
        Deployment.objects.filter(pk=deployment_id).update(log_seq=start + len(lines))


def arm_deployment_name(deployment: Deployment) -> str:
    """Chosen once when the run is created and stored on it, so every attempt (a re-delivered task, a
    resumed run) uses the same ARM deployment instead of starting another. The random suffix keeps two
    portal databases that share a subscription from ever following each other's deployments."""
    base = re.sub(r"[^-\w.()]", "-", f"pp-{deployment.template}-{deployment.environment.name}")[:44]
    return f"{base}-{deployment.pk}-{uuid.uuid4().hex[:6]}"


def _error_dict(error: CloudError | None) -> dict | None:
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "details": [_error_dict(d) for d in error.details]}


# --- Requesting ---------------------------------------------------------------------------------

@transaction.atomic
def deployment_request(*, environment, template: str, parameters: dict, secure_parameters: dict | None = None,
                       user=None, request=None, reason: str = "", agent=None, retry_of=None,
                       sealed_secure: str = "", secure_names: list | None = None, auto_confirm: bool = False,
                       then_apply_workload: bool = False) -> Deployment:
    """Record a template deployment and queue its preview (compile + what-if). With auto_confirm the run
    goes on after the preview by itself (to approval where the environment needs one)."""
    info = templates.template_get(template)
    _check_reason(reason)  # over its limit: refused naming it, never cut
    if environment.needs_approval_for("template") and not reason.strip():
        raise DomainError(f"Deployments to {environment.name} need approval: say why in the reason.", field="reason")
    secure_parameters = secure_parameters or {}
    parameters = environment_fill(environment=environment, info=info, parameters=parameters)
    if agent is None and parameters.get("agentName"):
        # A run of the agent module is that agent's run: its owners act on it, its baselines are its own.
        from portal.catalog.models import Agent

        agent = Agent.objects.filter(slug=parameters["agentName"]).first()
    deployment = Deployment.objects.create(
        kind=DeploymentKind.TEMPLATE, environment=environment, template=info.name, template_hash=info.content_hash,
        template_source=info.source, template_commit=info.commit, parameters=parameters, secure_parameters=sealed_secure or seal(secure_parameters),
        secure_parameter_names=secure_names if secure_names is not None else sorted(secure_parameters),
        requested_by=user, reason=reason, agent=agent, retry_of=retry_of, auto_confirm=auto_confirm,
        then_apply_workload=then_apply_workload,
    )
    deployment.arm_deployment_name = arm_deployment_name(deployment)
    deployment.save(update_fields=["arm_deployment_name"])
    audit_record(action="deployment.requested", obj=deployment, actor=user, request=request,
                 details={"template": info.name, "environment": environment.name, "parameters": parameters,
                          "retry_of": retry_of.pk if retry_of else None})
    who = user.get_username() if user else "system"
    deployment_log(deployment.pk, [(LogLevel.INFO, f"Requested by {who}: {deployment.title}.")])
    enqueue("portal.deployments.tasks.preview_deployment", deployment.pk, key=f"deployment:{deployment.pk}")
    return deployment


def environment_fill(*, environment, info, parameters: dict) -> dict:
    """The parameters with what the environment decides put in: its name, resource group and region
    filled from it, and those the template derives from them (account names) left to the template."""
    owned, derived = scope.environment_parameters(environment, templates.template_parameters(info))
    return {**{k: v for k, v in parameters.items() if k not in derived}, **owned}


@transaction.atomic
def cluster_operation_request(*, placement, action: str, user=None, request=None, replicas: int | None = None,
                              reason: str = "") -> Deployment:
    """Scale, restart or (re)deploy an agent's workload: a run like any other, skipping the what-if."""
    if action not in ClusterAction.values:
        raise DomainError(f"Unknown cluster action {action!r}.")
    if action == ClusterAction.SCALE and (replicas is None or not 0 <= replicas <= 50):
        raise DomainError("Replicas must be a number from 0 to 50.", field="replicas")
    env = placement.environment
    reason = _check_reason(reason)
    if not reason:
        if action == ClusterAction.SCALE and replicas == 0 and env.tier == Tier.PRODUCTION:
            raise DomainError(f"Scaling {placement.agent.slug} to 0 in {env.name} stops it serving: say why in the "
                              "reason.", field="reason")
        if env.needs_approval_for(action):
            raise DomainError(f"{ClusterAction(action).label} in {env.name} needs approval: say why in the reason.",
                              field="reason")
    parameters = {"agent": placement.agent.slug, "replicas": replicas if replicas is not None else placement.replicas}
    deployment = Deployment.objects.create(
        kind=DeploymentKind.CLUSTER, environment=placement.environment, template=f"cluster-{action}",
        cluster_action=action, parameters=parameters, agent=placement.agent, requested_by=user, reason=reason,
        status=S.PREVIEWED,
    )
    audit_record(action="deployment.requested", obj=deployment, actor=user, request=request,
                 details={"cluster_action": action, "parameters": parameters})
    deployment_log(deployment.pk, [(LogLevel.INFO, f"{ClusterAction(action).label} of {placement.agent.slug} "
                                                   f"in {placement.environment.name} requested.")])
    return deployment_confirm(deployment=deployment, user=user, request=request)


def deployment_preview_run(*, deployment_id: int) -> Deployment | None:
    """Task body: read and compile the template, run what-if, store the preview."""
    deployment = Deployment.objects.select_related("environment").filter(pk=deployment_id).first()
    if deployment is None or deployment.status != S.VALIDATING:
        return deployment
    try:
        info = templates.template_get(deployment.template)
        if info.content_hash != deployment.template_hash:
            raise DomainError("The template changed after this deployment was requested; request it again.")
        compiler = None if registry.is_sandbox("cloud") else backends.bicep_compiler()
        deployment_log(deployment.pk, [(LogLevel.INFO, "Reading the template"
                                        + (f" and compiling it with {compiler}." if compiler else "."))])
        group = templates.target_resource_group(info, deployment.environment)  # refuses what the portal cannot
        spec = templates.template_spec(info, _all_parameters(deployment), compiler=compiler)
        where = f" in resource group {group} (the template's targetScope is 'resourceGroup')" if group else ""
        deployment_log(deployment.pk, [(LogLevel.INFO, f"The template declares {len(spec.resources)} resources. "
                                                       f"Running what-if{where}.")])
        with registry.opened("cloud", deployment.environment) as cloud:
            result = cloud.what_if(
                deployment_name=deployment.arm_deployment_name, location=deployment.environment.region,
                template=spec, parameters=_cloud_parameters(deployment, info), resource_group=group or None)
    except (DomainError, BicepError, CloudError) as exc:
        error = _error_dict(exc) if isinstance(exc, CloudError) else {"code": type(exc).__name__, "message": str(exc),
                                                                      "details": []}
        lines = [(LogLevel.ERROR, f"Validation failed: {error['message']}")]
        if error["code"] == ErrorCode.RESOURCE_GROUP_NOT_FOUND:
            lines.append((LogLevel.INFO, f"{deployment.template} deploys into {deployment.environment.name}'s resource "
                                         "group, which must exist first (shared-infrastructure creates it)."))
        deployment_log(deployment.pk, lines)
        return deployment_transition(deployment, S.FAILED, error=error)
    if result.status != "Succeeded":
        deployment_log(deployment.pk, [(LogLevel.ERROR, f"What-if failed: {result.error}")])
        return deployment_transition(deployment, S.FAILED, error=_error_dict(result.error))
    what_if = {"changes": [{"change_type": c.change_type, "resource_id": c.resource_id,
                            "resource_type": c.resource_type, "resource_name": c.resource_name,
                            "delta": list(c.delta), "unsupported_reason": c.unsupported_reason,
                            "properties": [{"path": p.path, "change_type": p.change_type, "before": p.before,
                                            "after": p.after} for p in c.properties]}
                           for c in result.changes]}
    breaches = scope.scope_breaches(environment=deployment.environment,
                                    resource_ids=scope.what_if_resource_ids(what_if))
    if breaches:
        error = scope.scope_error(deployment.environment, breaches)
        deployment_log(deployment.pk, [(LogLevel.ERROR, f"Refused: {error['message']}")])
        return deployment_transition(deployment, S.FAILED, error=error, what_if=what_if)
    counts = {}
    for change in what_if["changes"]:
        counts[change["change_type"]] = counts.get(change["change_type"], 0) + 1
    deployment_log(deployment.pk, [(LogLevel.INFO, "What-if: " + (", ".join(f"{n} {k}" for k, n in counts.items())
                                                                  or "no changes") + ".")])
    previewed = deployment_transition(deployment, S.PREVIEWED, what_if=what_if, arm_resource_group=group)
    if previewed.auto_confirm:
        with transaction.atomic():
            return deployment_confirm(deployment=previewed, user=previewed.requested_by)
    return previewed


def _all_parameters(deployment: Deployment) -> dict:
    return {**deployment.parameters, **unseal(deployment.secure_parameters)}


def _cloud_parameters(deployment: Deployment, info) -> dict:
    """What the cloud is given: the run's values, plus each default the template lets us work out here
    (e.g. resourceGroupName from environment), so the sandbox places resources where Azure would."""
    return {**templates.effective_parameters(info, deployment.parameters), **_all_parameters(deployment)}


# --- Confirming, cancelling, retrying -----------------------------------------------------------

def _require_may_act(deployment: Deployment, user, action: str) -> None:
    """Only the requester, members of the owning team and platform admins act on a run (None: the system)."""
    if user is None or deployment.may_act(user):
        return
    team = deployment.owning_team
    requester = deployment.requested_by.get_username() if deployment.requested_by else "the requester"
    raise NotAllowed(f"Only {requester}, members of {team.name if team else 'the owning team'} and platform admins "
                     f"may {action} run #{deployment.pk}.")


REASON_MAX = 500  # Deployment.reason's length: longer is refused, never cut


def _check_reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise DomainError(f"The reason is {len(reason)} characters; keep it to {REASON_MAX}.", field="reason")
    return reason


def _own_reason(deployment: Deployment, user, reason: str, action: str) -> str:
    """A retry or redeploy by someone else makes them the requester: they say why themselves."""
    reason = _check_reason(reason)
    if user is not None and user.pk != deployment.requested_by_id:
        if not reason:
            who = deployment.requested_by.get_username() if deployment.requested_by else "someone else"
            raise DomainError(f"Run #{deployment.pk} was requested by {who}: your {action} makes it your request, "
                              "so say why in the reason.", field="reason")
        return reason
    return reason or deployment.reason or f"{action.capitalize()} of #{deployment.pk}"

@transaction.atomic
def deployment_confirm(*, deployment: Deployment, user=None, request=None) -> Deployment:
    """After the preview: queue the run, or stop for approval where the environment's policy says so."""
    deployment = Deployment.objects.select_related("environment", "agent__owner_team").get(pk=deployment.pk)
    _require_may_act(deployment, user, "confirm")
    if deployment.status != S.PREVIEWED:
        raise ConflictError(f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}, "
                            "not waiting for confirmation.")
    breaches = scope.scope_breaches(environment=deployment.environment,
                                    resource_ids=scope.what_if_resource_ids(deployment.what_if))
    if breaches:
        raise DomainError(scope.scope_error(deployment.environment, breaches)["message"])
    if deployment.environment.needs_approval_for(approval_operation(deployment)):
        moved = deployment_transition(deployment, S.AWAITING_APPROVAL)
        approvals.approval_open(deployment=moved)
        deployment_log(deployment.pk, [(LogLevel.INFO, f"Waiting for approval in {deployment.environment.name}.")])
        return moved
    return deployment_enqueue(deployment=deployment, user=user)


def approval_operation(deployment: Deployment) -> str:
    """The kind of operation an environment's approval policy names: template, apply, scale, restart, retire."""
    if deployment.is_cluster:
        return deployment.cluster_action
    return "retire" if deployment.is_retirement else "template"


def deployment_enqueue(*, deployment: Deployment, user=None) -> Deployment:
    """Take the environment+template slot and hand the run to a worker (on commit)."""
    moved = deployment_transition(deployment, S.QUEUED)
    who = f" by {user.get_username()}" if user else ""
    deployment_log(deployment.pk, [(LogLevel.INFO, f"Queued{who}.")])
    enqueue("portal.deployments.tasks.run_deployment", deployment.pk, key=f"deployment:{deployment.pk}")
    return moved


@transaction.atomic
def deployment_cancel(*, deployment: Deployment, user=None, request=None) -> Deployment:
    deployment = Deployment.objects.get(pk=deployment.pk)
    _require_may_act(deployment, user, "cancel")
    who = user.get_username() if user else "system"
    if deployment.status == S.RUNNING:
        # The worker that runs it asks the cloud to cancel and records the outcome.
        if not Deployment.objects.filter(pk=deployment.pk, status=S.RUNNING, cancel_requested=False) \
                .update(cancel_requested=True):
            raise ConflictError("This deployment is already being cancelled or has finished.")
        audit_record(action="deployment.cancel_requested", obj=deployment, actor=user, request=request)
        deployment_log(deployment.pk, [(LogLevel.WARNING, f"Cancel requested by {who}.")])
        return Deployment.objects.get(pk=deployment.pk)
    if not deployment.can_cancel:
        raise ConflictError(f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}; "
                            "it cannot be cancelled.")
    moved = deployment_transition(deployment, S.CANCELLED)
    approvals.approval_withdraw(deployment=moved)
    audit_record(action="deployment.cancel_requested", obj=deployment, actor=user, request=request)
    deployment_log(deployment.pk, [(LogLevel.WARNING, f"Cancelled by {who} before it started.")])
    return moved


@transaction.atomic
def deployment_retry(*, deployment: Deployment, user=None, request=None, reason: str = "") -> Deployment:
    """A new run with the same parameters (secure ones carried over, still encrypted), linked to the first.
    Whoever retries is its requester; someone other than the first requester gives their own reason."""
    _require_may_act(deployment, user, "retry")
    if deployment.status not in (S.FAILED, S.CANCELLED):
        raise ConflictError("Only a failed or cancelled deployment can be retried.")
    reason = _own_reason(deployment, user, reason, "retry")
    if deployment.is_cluster:
        placement = deployment.agent.placements.get(environment=deployment.environment)
        return cluster_operation_request(placement=placement, action=deployment.cluster_action, user=user,
                                         request=request, replicas=deployment.parameters.get("replicas"),
                                         reason=reason)
    return deployment_request(environment=deployment.environment, template=deployment.template,
                              parameters=deployment.parameters, sealed_secure=deployment.secure_parameters,
                              secure_names=deployment.secure_parameter_names, user=user, request=request,
                              reason=reason, agent=deployment.agent, retry_of=deployment,
                              # an onboarding or promotion chain stays one: its workload follows the retry
                              then_apply_workload=deployment.then_apply_workload)


def deployment_redeploy(*, environment, template: str, user=None, request=None, reason: str = "",
                        agent=None) -> Deployment:
    """Deploy again the last deployment of this template (for this agent) that succeeded in the environment."""
    last = (Deployment.objects.filter(environment=environment, template=template, status=S.SUCCEEDED,
                                      kind=DeploymentKind.TEMPLATE, agent=agent).order_by("-finished_at", "-pk").first())
    if last is None:
        raise DomainError(f"{template} has never been deployed successfully to {environment.name}.")
    _require_may_act(last, user, "redeploy")
    return deployment_request(environment=environment, template=template, parameters=last.parameters,
                              sealed_secure=last.secure_parameters, secure_names=last.secure_parameter_names,
                              user=user, request=request, reason=_own_reason(last, user, reason, "redeploy"),
                              agent=last.agent)


# --- Running (the worker side) ------------------------------------------------------------------

def _lease_until():
    return timezone.now() + timedelta(seconds=settings.PORTAL_DEPLOYMENT_LEASE_SECONDS)


def deployment_claim(*, deployment_id: int, held_attempt: int | None = None) -> Deployment | None:
    """Take a queued run, or resume a running one whose worker stopped renewing its lease (or, with
    held_attempt, that this task held when the database went away, if nobody took it since).
    Returns None when somebody else holds it or it has nothing left to do."""
    now = timezone.now()
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None:
        return None
    if held_attempt is not None and deployment.status == S.RUNNING:
        if Deployment.objects.filter(pk=deployment_id, status=S.RUNNING, attempts=held_attempt) \
                .update(lease_expires_at=_lease_until(), attempts=held_attempt + 1):
            deployment_log(deployment_id, [(LogLevel.WARNING, "The database was unavailable; carrying on.")])
            return Deployment.objects.get(pk=deployment_id)
    if deployment.status == S.QUEUED:
        try:
            return deployment_transition(deployment, S.RUNNING, started_at=now, lease_expires_at=_lease_until(),
                                         attempts=deployment.attempts + 1)
        except ConflictError:
            return None
    if deployment.status == S.RUNNING:
        taken = (Deployment.objects.filter(pk=deployment_id, status=S.RUNNING)
                 .filter(Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
                 .update(lease_expires_at=_lease_until(), attempts=deployment.attempts + 1))
        if taken:
            deployment_log(deployment_id, [(LogLevel.WARNING, "The worker running this stopped; resuming where it "
                                                              "left off.")])
            return Deployment.objects.get(pk=deployment_id)
    return None


def deployment_release(*, deployment_id: int) -> None:
    """Give up the lease of a running deployment so another attempt can resume it at once."""
    Deployment.objects.filter(pk=deployment_id, status=S.RUNNING).update(lease_expires_at=None)


def _renew_lease(deployment_id: int) -> bool:
    return bool(Deployment.objects.filter(pk=deployment_id, status=S.RUNNING).update(lease_expires_at=_lease_until()))


def deployment_execute(*, deployment_id: int, sleep=time.sleep, held_attempt: int | None = None) -> Deployment | None:
    """Task body: run (or resume) the deployment to the end, recording operations and log lines."""
    deployment = deployment_claim(deployment_id=deployment_id, held_attempt=held_attempt)
    if deployment is None:
        return None
    try:
        deployment = Deployment.objects.select_related("environment", "agent").get(pk=deployment.pk)
        if deployment.is_cluster:
            return _execute_cluster(deployment)
        if deployment.is_retirement:
            from portal.deployments.retirement import retirement_execute  # retirement builds on this module

            return retirement_execute(deployment=deployment)
        return _execute_template(deployment, sleep=sleep)
    except DB_ERRORS as exc:
        raise RunInterrupted(deployment_id, deployment.attempts) from exc


def _execute_template(deployment: Deployment, *, sleep) -> Deployment:
    """Deploy to the environment's subscription (into its resource group, where the preview decided so), and
    close the SDK clients when done."""
    with registry.opened("cloud", deployment.environment) as cloud:
        return _execute_template_with(deployment, cloud, sleep=sleep)


def _execute_template_with(deployment: Deployment, cloud, *, sleep) -> Deployment:
    try:
        info = templates.template_get(deployment.template)
        if info.content_hash != deployment.template_hash:
            raise DomainError("The template changed after the preview; request the deployment again.")
        compiler = None if registry.is_sandbox("cloud") else backends.bicep_compiler()
        spec = templates.template_spec(info, _all_parameters(deployment), compiler=compiler)
        if _already_started(cloud, deployment):
            # An earlier attempt started it and its worker died: follow that deployment, never a second one.
            deployment_log(deployment.pk, [(LogLevel.INFO, f"Following ARM deployment "
                                                           f"{deployment.arm_deployment_name}, started earlier.")])
            return _poll(deployment, cloud, sleep=sleep)
        handle = cloud.begin_deploy(deployment_name=deployment.arm_deployment_name,
                                    location=deployment.environment.region, template=spec,
                                    parameters=_cloud_parameters(deployment, info),
                                    resource_group=deployment.arm_resource_group or None)
    except (DomainError, BicepError, CloudError) as exc:
        if isinstance(exc, CloudError) and exc.transient:
            raise  # the task retries with backoff
        error = _error_dict(exc) if isinstance(exc, CloudError) else {"code": type(exc).__name__, "message": str(exc),
                                                                      "details": []}
        deployment_log(deployment.pk, [(LogLevel.ERROR, f"The deployment could not start: {error['message']}")])
        return deployment_transition(deployment, S.FAILED, error=error)
    Deployment.objects.filter(pk=deployment.pk).update(correlation_id=handle.correlation_id or "",
                                                       continuation_token=handle.continuation_token or "")
    if handle.adopted:
        deployment_log(deployment.pk, [(LogLevel.INFO, f"ARM deployment {handle.deployment_name} was already "
                                                       f"running: adopted it and following it (correlation id "
                                                       f"{handle.correlation_id or 'n/a'}).")])
    else:
        deployment_log(deployment.pk, [(LogLevel.INFO, f"ARM deployment {handle.deployment_name} accepted "
                                                       f"(correlation id {handle.correlation_id or 'n/a'}).")])
    return _poll(deployment, cloud, sleep=sleep)


def _already_started(cloud, deployment: Deployment) -> bool:
    """Whether the ARM deployment of this run exists (names are unique per run, so it is ours)."""
    try:
        cloud.get_status(deployment_name=deployment.arm_deployment_name,
                         resource_group=deployment.arm_resource_group or None)
    except CloudError as exc:
        if exc.code == ErrorCode.DEPLOYMENT_NOT_FOUND:
            return False
        raise
    return True


def _poll(deployment: Deployment, cloud, *, sleep) -> Deployment:
    seen: dict[str, str] = dict(deployment.operations.values_list("operation_id", "state"))
    failures = 0
    deadline = time.monotonic() + settings.PORTAL_DEPLOYMENT_MAX_SECONDS
    while True:
        current = Deployment.objects.get(pk=deployment.pk)
        if current.status != S.RUNNING:
            return current
        if current.cancel_requested:
            try:
                cloud.cancel(deployment_name=deployment.arm_deployment_name,
                             resource_group=deployment.arm_resource_group or None)
                deployment_log(deployment.pk, [(LogLevel.WARNING, "Asked the cloud to cancel the deployment.")])
            except CloudError as exc:
                if exc.code != ErrorCode.DEPLOYMENT_CANNOT_BE_CANCELLED:
                    raise
            Deployment.objects.filter(pk=deployment.pk).update(cancel_requested=False)
        try:
            status = cloud.get_status(deployment_name=deployment.arm_deployment_name,
                                      resource_group=deployment.arm_resource_group or None)
            failures = 0
        except CloudError as exc:
            if not exc.transient or failures >= 5:
                deployment_log(deployment.pk, [(LogLevel.ERROR, f"Lost track of the deployment: {exc}")])
                return deployment_transition(current, S.FAILED, error=_error_dict(exc))
            failures += 1
            wait = exc.retry_after or min(60, 2 ** failures)
            deployment_log(deployment.pk, [(LogLevel.WARNING, f"{exc.code}; trying again in {wait:.0f} s.")])
            sleep(wait)
            continue
        _record_operations(deployment, status.operations, seen)
        if status.provisioning_state in ProvisioningState.TERMINAL:
            new = STATE_TO_STATUS[status.provisioning_state]
            error = _error_dict(status.error)
            level = LogLevel.INFO if new == S.SUCCEEDED else LogLevel.ERROR
            message = {S.SUCCEEDED: "Deployment succeeded.", S.CANCELLED: "Deployment cancelled.",
                       S.FAILED: f"Deployment failed: {status.error}"}[new]
            deployment_log(deployment.pk, [(level, message)])
            finished = deployment_transition(current, new, error=error, correlation_id=status.correlation_id
                                             or current.correlation_id)
            if new == S.SUCCEEDED:
                _after_success(finished, cloud=cloud)
            return finished
        if time.monotonic() > deadline:
            deployment_log(deployment.pk, [(LogLevel.ERROR, "Gave up waiting for the deployment.")])
            return deployment_transition(current, S.FAILED, error={"code": "Timeout", "message":
                                         "The deployment did not finish in time.", "details": []})
        _renew_lease(deployment.pk)
        sleep(settings.PORTAL_DEPLOYMENT_POLL_SECONDS)


def _after_success(deployment: Deployment, *, cloud=None) -> None:
    """What follows a successful run: the cloud's own bookkeeping (the sandbox records the role
    assignments it made, as Azure would; Azure needs none), and in a chain, after an agent's resources,
    its Kubernetes workload."""
    succeeded = getattr(type(cloud), "deployment_succeeded", None)
    if succeeded is not None:
        succeeded(cloud, deployment)
    if not (deployment.then_apply_workload and deployment.agent_id):
        return
    placement = deployment.agent.placements.filter(environment=deployment.environment).first()
    if placement is None:
        return
    with transaction.atomic():
        cluster_operation_request(placement=placement, action=ClusterAction.APPLY, user=deployment.requested_by,
                                  reason=f"Workload after #{deployment.pk}")


def _record_operations(deployment: Deployment, operations, seen: dict[str, str]) -> None:
    lines = []
    for position, op in enumerate(operations):
        if seen.get(op.operation_id) == op.provisioning_state:
            continue
        DeploymentOperation.objects.update_or_create(
            deployment=deployment, operation_id=op.operation_id,
            defaults={"position": position, "resource_type": op.resource_type, "resource_name": op.resource_name,
                      "state": op.provisioning_state, "status_code": op.status_code or "",
                      "error": _error_dict(op.error)},
        )
        seen[op.operation_id] = op.provisioning_state
        level = LogLevel.ERROR if op.provisioning_state == ProvisioningState.FAILED else LogLevel.INFO
        suffix = f": {op.error}" if op.error else ""
        lines.append((level, f"{op.resource_type} {op.resource_name}: {op.provisioning_state}{suffix}"))
    deployment_log(deployment.pk, lines)


def workload_spec(placement) -> AgentWorkloadSpec:
    """The Kubernetes workload of an agent in one environment, with its memory settings."""
    return AgentWorkloadSpec(
        name=placement.agent.slug, image=placement.agent.image, tag=placement.image_tag, replicas=placement.replicas,
        redis_db=placement.redis_db, cosmos_container=placement.cosmos_container,
        blob_container=placement.blob_container, health_path=placement.agent.health_path or "/health",
        env={"REDIS_KEY_PREFIX": placement.redis_key_prefix} if placement.redis_key_prefix else {})


def _execute_cluster(deployment: Deployment) -> Deployment:
    placement = deployment.agent.placements.select_related("environment").get(environment=deployment.environment)
    cluster = backends.cluster_backend(deployment.environment)
    name = placement.agent.slug
    try:
        if deployment.cluster_action == ClusterAction.APPLY:
            state = cluster.apply_agent_workload(workload_spec(placement))
        elif deployment.cluster_action == ClusterAction.SCALE:
            state = cluster.scale(name, int(deployment.parameters["replicas"]))
            type(placement).objects.filter(pk=placement.pk).update(  # update() skips auto_now; showback reads it
                replicas=int(deployment.parameters["replicas"]), updated_at=timezone.now())
        else:
            state = cluster.restart(name)
    except ClusterError as exc:
        if exc.transient:
            raise
        deployment_log(deployment.pk, [(LogLevel.ERROR, f"{exc.code}: {exc.message}")])
        with transaction.atomic():
            if deployment.cluster_action == ClusterAction.APPLY:
                _placement_after_workload(placement, deployment, ok=False, error=f"{exc.code}: {exc.message}")
            return deployment_transition(deployment, S.FAILED, error={"code": exc.code, "message": exc.message,
                                                                      "details": []})
    DeploymentOperation.objects.update_or_create(
        deployment=deployment, operation_id=f"deployment/{name}",
        defaults={"resource_type": WORKLOAD_TYPE, "resource_name": name, "state": ProvisioningState.SUCCEEDED,
                  "status_code": "OK"})
    deployment_log(deployment.pk, [(LogLevel.INFO, f"Deployment/{name}: {state.available_replicas}/"
                                                   f"{state.desired_replicas} replicas available, image {state.image}.")])
    with transaction.atomic():
        if deployment.cluster_action == ClusterAction.APPLY:
            _placement_after_workload(placement, deployment, ok=True)
        return deployment_transition(deployment, S.SUCCEEDED)


def _placement_after_resources_failed(deployment: Deployment) -> None:
    """The agent's resources failed, or their run was cancelled or its approval rejected or expired, before its
    workload was deployed (onboarding, a promotion): a placement still being provisioned is Failed, saying why,
    not Provisioning for ever; one that runs keeps running. A retry that succeeds deploys the workload, which
    brings it to Running."""
    placement = Placement.objects.filter(agent_id=deployment.agent_id, environment_id=deployment.environment_id,
                                         status=PlacementStatus.PROVISIONING).first()
    if placement is None:
        return
    error = deployment.error or {}
    details = error.get("details") or []
    if details and isinstance(details[0], dict):   # ARM's DeploymentFailed says little; its first detail says why
        error = details[0]
    why = ": ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
    if deployment.status == S.CANCELLED:  # by a person (no error), or its approval rejected or expired
        ended = f"was cancelled: {why}" if why else "was cancelled before it finished"
    else:
        ended = f"failed: {why or 'no reason given'}"
    placement_transition(placement, PlacementStatus.FAILED, detail=f"Deployment #{deployment.pk} of its resources "
                         f"{ended}", user=deployment.requested_by, details={"deployment": deployment.pk})


def _placement_after_workload(placement, deployment: Deployment, *, ok: bool, error: str = "") -> None:
    """A workload deploy decides its placement: Running when it worked; Failed, saying why, when it failed on a
    placement still being provisioned (one already running keeps running its previous workload). A placement
    the state machine does not let go there (a retired one) stays as it is, and the log says so."""
    new = PlacementStatus.RUNNING if ok else PlacementStatus.FAILED
    if placement.status == new or (not ok and placement.status != PlacementStatus.PROVISIONING):
        return
    detail = "" if ok else f"Workload deploy #{deployment.pk} failed: {error}"
    try:
        placement_transition(placement, new, detail=detail, user=deployment.requested_by,
                             details={"deployment": deployment.pk})
    except InvalidTransition:  # retired meanwhile, or a state it cannot leave for this one
        current = type(placement).objects.get(pk=placement.pk)
        deployment_log(deployment.pk, [(LogLevel.WARNING, f"Placement {placement} stays "
                                                          f"{current.get_status_display()}: it cannot become "
                                                          f"{new.label}.")])
        return
    deployment_log(deployment.pk, [(LogLevel.INFO if ok else LogLevel.ERROR,
                                    f"Placement {placement}: {new.label}.")])


def deployment_resume_orphans() -> list[int]:
    """Scheduled: re-enqueue runs whose worker died (lease expired) or whose message was lost, and previews
    of validating runs the outbox does not hold (requested before it existed, or their task failed on a bug
    is left alone: the outbox shows it)."""
    now = timezone.now()
    stale_queue = now - timedelta(seconds=settings.PORTAL_DEPLOYMENT_LEASE_SECONDS * 2)
    ids = list(Deployment.objects.filter(
        Q(status=S.RUNNING, lease_expires_at__lt=now) | Q(status=S.QUEUED, created_at__lt=stale_queue)
    ).values_list("pk", flat=True))
    for pk in ids:
        enqueue("portal.deployments.tasks.run_deployment", pk, key=f"deployment:{pk}")
    for pk in Deployment.objects.filter(status=S.VALIDATING, created_at__lt=stale_queue).values_list("pk", flat=True):
        if not outbox_tracks(key=f"deployment:{pk}"):
            enqueue("portal.deployments.tasks.preview_deployment", pk, key=f"deployment:{pk}")
            ids.append(pk)
    return ids

"""RBAC status: audits of each environment's role assignments against the design, remediation of a
missing one as a deployment of bicep/role-assignment, and the sandbox's side (recording what its
deployments grant, injecting drift).

The audit runs on a schedule (portal.access.tasks.audit_rbac_all) or on request; pages only
read RbacAudit rows, so they keep showing the last audit that could read when Azure cannot be asked.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from portal.access import backends, selectors
from portal.access.choices import RBAC_TEMPLATES, REMEDIATION_TEMPLATE, AuditOutcome, FindingKind
from portal.access.models import RbacAudit, RbacFinding
from portal.audit.services import audit_record
from portal.catalog.discovery import environment_resources
from portal.catalog.models import Environment
from portal.core import backends as registry
from portal.core.errors import ConflictError, DomainError
from portal.core.outbox import enqueue
from portal.deployments import services as deployment_services
from portal.deployments import templates
from portal.deployments.choices import IN_PROGRESS, DeploymentStatus
from portal.deployments.models import Deployment, SandboxRecord
from portal.health.backends import subscription_of
from provisioning.backends.base import CloudError
from provisioning.bicep import BicepError
from provisioning.rbac import (
    ACR_PULL,
    BROAD_ROLES,
    OWNER,
    ROLE_NAMES,
    AuditReport,
    audit_resources,
    expected_assignments,
    platform_resources,
    scope_covers,
)
from provisioning.rbac.expected import ENVIRONMENTS, discovered_platform
from provisioning.text import shorten

# The discovered resources an expected assignment is on (provisioning.discovery's keys).
RBAC_SCOPE_KINDS = ("acr", "eventhubs", "keyvault", "storage", "cosmos")

log = logging.getLogger(__name__)

# Who holds the unexpected Owner the demo's drift grants: "someone's leftover account".
DRIFT_PRINCIPAL_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
AUDIT_EXPIRES = 600  # seconds: a scheduled audit nobody picked up is replaced by the next one


# --- Auditing -----------------------------------------------------------------------------------

def rbac_audit_run(*, environment_id: int, user_id: int | None = None) -> RbacAudit | None:
    """Task body: read the environment's role assignments (Azure or the sandbox), compare them with
    the design and store the result. An audit that cannot read is stored as such, never as clean."""
    environment = Environment.objects.filter(pk=environment_id).first()
    if environment is None:
        return None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    backend_kind = registry.backend_kind("rbac")
    ran_at = timezone.now()
    report, error, principal = None, "", ""
    backend = backends.rbac_backend(environment)
    try:
        if registry.is_sandbox("rbac"):
            resources = platform_resources(backend.subscription_id, environment.name)
            principal, unfound = backend.kubelet_principal_id, {}
        else:
            if not subscription_of(environment):
                raise ValueError("no Azure subscription is set for this environment (or AZURE_SUBSCRIPTION_ID)")
            discovered = environment_resources(environment=environment)
            resources, principal = discovered_platform(discovered), discovered.get("kubelet_principal_id", "")
            errors = discovered.get("errors") or {}
            if not principal:
                raise ValueError("the AKS kubelet identity could not be read from the cluster ("
                                 + (errors.get("kubelet") or errors.get("aks") or errors.get("resources")
                                    or "no cluster found") + ")")
            unfound = {kind: f"{kind}: {errors[kind]}" for kind in RBAC_SCOPE_KINDS if kind in errors}
        report = audit_resources(backend, resources=resources, kubelet_principal_id=principal, unfound=unfound)
        error = "; ".join(report.unread.values())
    except CloudError as exc:
        error = f"Could not read the role assignments: {exc}"
    except ValueError as exc:
        error = f"Could not audit {environment.name}: {exc}"
    finally:
        registry.close_backend(backend)
    return _audit_store(environment=environment, report=report, error=error, principal=principal,
                        backend_kind=backend_kind, ran_at=ran_at, user=user)


@transaction.atomic
def _audit_store(*, environment, report: AuditReport | None, error: str, principal: str, backend_kind: str,
                 ran_at, user) -> RbacAudit:
    previous = RbacAudit.objects.filter(environment=environment).first()
    audit = RbacAudit.objects.create(
        environment=environment, outcome=AuditOutcome.READ if report is not None else AuditOutcome.FAILED,
        backend=backend_kind, ran_at=ran_at, error=shorten(error, 4000), kubelet_principal_id=principal[:36],
        present_count=len(report.present) if report else 0, missing_count=len(report.missing) if report else 0,
        unexpected_count=len(report.unexpected) if report else 0, requested_by=user,
    )
    if report is not None:
        RbacFinding.objects.bulk_create(_findings(audit, report))
    changed = previous is None or (previous.outcome, previous.missing_count, previous.unexpected_count) != \
        (audit.outcome, audit.missing_count, audit.unexpected_count)
    if user is not None or changed:   # the schedule's unchanged audits would only fill the log
        audit_record(action="rbac.audited" if report is not None else "rbac.audit_failed", obj=audit, actor=user,
                     details={"environment": environment.name, "present": audit.present_count,
                              "missing": audit.missing_count, "unexpected": audit.unexpected_count,
                              "error": shorten(error, 500)})
    _prune(environment)
    return audit


def _findings(audit: RbacAudit, report: AuditReport) -> list[RbacFinding]:
    rows = [RbacFinding(audit=audit, kind=FindingKind.MISSING, role_name=e.role_name, role_guid=e.role_guid.lower(),
                        principal=e.principal, principal_id=e.principal_id, scope_kind=e.scope_kind, scope=e.scope_id)
            for e in report.missing]
    rows += [RbacFinding(audit=audit, kind=FindingKind.UNEXPECTED, role_name=a.role_name, role_guid=a.role_guid,
                         principal_id=a.principal_id, principal_type=a.principal_type, scope=a.scope,
                         assignment_id=a.id) for a in report.unexpected]
    rows += [RbacFinding(audit=audit, kind=FindingKind.NOT_CHECKED, role_name=e.role_name,
                         role_guid=e.role_guid.lower(), principal=e.principal, principal_id=e.principal_id,
                         scope_kind=e.scope_kind, scope=e.scope_id or "(not found)") for e in report.not_checked]
    rows += [RbacFinding(audit=audit, kind=FindingKind.PRESENT, role_name=m.expected.role_name,
                         role_guid=m.expected.role_guid.lower(), principal=m.expected.principal,
                         principal_id=m.actual.principal_id, principal_type=m.actual.principal_type,
                         scope_kind=m.expected.scope_kind, scope=m.expected.scope_id, assignment_id=m.actual.id,
                         inherited=m.inherited) for m in report.present]
    return rows


def _prune(environment) -> None:
    """Audits older than PORTAL_RBAC_HISTORY_DAYS go, except the latest one that could read."""
    keep = RbacAudit.objects.filter(environment=environment, outcome=AuditOutcome.READ).values_list("pk", flat=True)[:1]
    cutoff = timezone.now() - timedelta(days=settings.PORTAL_RBAC_HISTORY_DAYS)
    RbacAudit.objects.filter(environment=environment, ran_at__lt=cutoff).exclude(pk__in=list(keep)).delete()


@transaction.atomic
def rbac_audit_request(*, environment, user=None, request=None) -> None:
    """Audit now (Engineer, Platform admin): a task, on commit."""
    audit_record(action="rbac.audit_requested", obj=environment, actor=user, request=request)
    enqueue("portal.access.tasks.audit_rbac", environment.pk, user.pk if user else None)


def rbac_audit_sweep() -> list[int]:
    """Scheduled: one audit task per environment."""
    ids = list(Environment.objects.order_by("position", "name").values_list("pk", flat=True))
    for pk in ids:
        enqueue("portal.access.tasks.audit_rbac", pk, key=f"rbac-audit:{pk}", expires=AUDIT_EXPIRES)
    return ids


# --- Remediation --------------------------------------------------------------------------------

def remediable_roles() -> set[str]:
    """The roles bicep/role-assignment can grant (its roleDefinitionId's @allowed list)."""
    specs = templates.template_parameters(templates.template_get(REMEDIATION_TEMPLATE))
    allowed = next((spec.allowed for spec in specs if spec.name == "roleDefinitionId"), [])
    return {str(guid).lower() for guid in allowed}


@transaction.atomic
def rbac_remediate(*, environment, role_guid: str, user=None, request=None) -> Deployment:
    """Put back a role assignment the latest audit found missing: a run of bicep/role-assignment,
    going on by itself after its preview (to approval where the environment needs one)."""
    role_guid = role_guid.lower()
    audit = selectors.rbac_latest_read(environment=environment)
    if audit is None:
        raise ConflictError(f"No audit of {environment.name} has read its role assignments yet; run one first.")
    finding = audit.findings.filter(kind=FindingKind.MISSING, role_guid=role_guid).first()
    role_name = ROLE_NAMES.get(role_guid, role_guid)
    if finding is None:
        raise ConflictError(f"{role_name} is not missing in the latest audit of {environment.name} "
                            f"({audit.ran_at:%Y-%m-%d %H:%M} UTC).")
    if role_guid not in remediable_roles():
        raise DomainError(f"bicep/{REMEDIATION_TEMPLATE} cannot grant {role_name}: deploy shared-infrastructure "
                          f"to {environment.name} again to restore it.")
    principal = audit.kubelet_principal_id or finding.principal_id
    if not principal:
        raise DomainError(f"The AKS kubelet identity of {environment.name} is not known (no expected role is held "
                          "by anyone): deploy shared-infrastructure again to restore its roles.")
    busy = Deployment.objects.filter(environment=environment, template=REMEDIATION_TEMPLATE,
                                     status__in=IN_PROGRESS).first()
    if busy is not None:
        raise ConflictError(f"A role assignment is already being deployed to {environment.name} (#{busy.pk}); "
                            "wait for it to finish, then remediate the next one.")
    parameters = {"principalId": principal, "roleDefinitionId": role_guid, "scopeResourceName": finding.scope_name,
                  "resourceGroupName": _resource_group_of(finding.scope), "principalType": "ServicePrincipal"}
    info = templates.template_get(REMEDIATION_TEMPLATE)
    for spec in templates.template_parameters(info):
        problem = spec.violation(parameters[spec.name]) if spec.name in parameters else None
        if problem:
            raise DomainError(f"Cannot remediate {role_name}: {spec.name}: {problem}")
    who = finding.principal or "the AKS kubelet identity"
    deployment = deployment_services.deployment_request(
        environment=environment, template=REMEDIATION_TEMPLATE, parameters=parameters, user=user, request=request,
        reason=f"Remediate missing {role_name} on {finding.scope_name} for {who} (RBAC audit #{audit.pk})",
        auto_confirm=True)
    audit_record(action="rbac.remediation_requested", obj=environment, actor=user, request=request,
                 details={"role": role_name, "scope": finding.scope, "deployment": deployment.pk, "audit": audit.pk})
    return deployment


def _resource_group_of(scope: str) -> str:
    parts = [p for p in scope.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "resourcegroups" not in lowered:
        raise DomainError(f"{scope} is not in a resource group.")
    return parts[lowered.index("resourcegroups") + 1]


# --- The sandbox --------------------------------------------------------------------------------

def rbac_record_deployment(*, deployment) -> list:
    """Called by the sandbox cloud (portal.deployments.backends.PortalSandboxCloud) after a deployment it ran
    succeeded: in the sandbox, a succeeded deployment of
    shared-infrastructure or role-assignment leaves the role assignments its template declares, as
    Azure would; then the environment is audited again. Does nothing elsewhere or for other templates."""
    if (not registry.is_sandbox("rbac") or deployment.status != DeploymentStatus.SUCCEEDED
            or deployment.template not in RBAC_TEMPLATES):
        return []
    try:
        recorded = _record_template(deployment.environment, deployment.template, deployment.parameters)
    except (BicepError, DomainError, ValueError) as exc:   # never undo or fail a deployment that succeeded
        log.warning("could not record the role assignments of deployment %s: %s", deployment.pk, exc)
        return []
    enqueue("portal.access.tasks.audit_rbac", deployment.environment_id)
    return recorded


def _record_template(environment, template: str, parameters: dict) -> list:
    info = templates.template_get(template)
    values = {**templates.effective_parameters(info, parameters), **parameters}
    spec = templates.template_spec(info, values, compiler=None)
    return backends.StoredSandboxRbac(environment.name).record_from_resources(spec.resources, parameters=values)


def rbac_sandbox_seed(*, environment, reset: bool = False) -> bool:
    """Record what deploying shared-infrastructure to the environment grants, unless its sandbox
    already has role assignments (reset: start again). Returns whether it recorded."""
    _sandbox_only()
    stored = backends.StoredSandboxRbac(environment.name)
    if stored.exists() and not reset:
        return False
    SandboxRecord.objects.filter(key=stored.key).delete()
    _record_template(environment, "shared-infrastructure", {"environment": environment.name})
    return True


@transaction.atomic
def rbac_sandbox_drift_inject(*, environment, missing: str | None = ACR_PULL, unexpected: str | None = OWNER,
                              principal_id: str = DRIFT_PRINCIPAL_ID, user=None) -> dict:
    """Drift in the sandbox: revoke the expected `missing` role, grant the broad `unexpected` role on
    the environment's resource group to `principal_id`. Either may be None."""
    _sandbox_only()
    stored = backends.StoredSandboxRbac(environment.name)
    subscription = stored.subscription_id
    try:
        resources = platform_resources(subscription, environment.name)
    except ValueError as exc:
        raise DomainError(str(exc)) from exc
    revoked, granted = [], None
    if missing:
        missing = missing.lower()
        if missing not in {e.role_guid for e in expected_assignments(subscription, environment.name)}:
            raise DomainError(f"{ROLE_NAMES.get(missing, missing)} is not one of the design's roles.")
        for assignment in stored.assignments():
            if assignment.role_guid == missing and scope_covers(resources.resource_group, assignment.scope):
                stored.revoke(assignment.id)
                revoked.append(assignment.id)
    if unexpected:
        unexpected = unexpected.lower()
        if unexpected not in BROAD_ROLES:
            raise DomainError(f"{unexpected} is not a broad role ({', '.join(BROAD_ROLES.values())}).")
        granted = stored.grant(principal_id, unexpected, resources.resource_group).id
    audit_record(action="rbac.drift_injected", obj=environment, actor=user,
                 details={"revoked": revoked, "granted": granted})
    return {"revoked": revoked, "granted": granted}


def sandbox_environments():
    """The environments the sandbox can hold role assignments for (the design names dev, staging, prod)."""
    return Environment.objects.filter(name__in=ENVIRONMENTS).order_by("position", "name")


def _sandbox_only() -> None:
    if not registry.is_sandbox("rbac"):
        raise DomainError("Role assignments can only be seeded or drifted in the sandbox cloud.")

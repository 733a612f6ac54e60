"""Compare the role assignments found with those the design calls for.

    present     each expected assignment and the one that satisfies it: the same role, the same
                principal (when the expectation names one), at the expected scope or above it
                within what was listed (`inherited`: e.g. AcrPull on the resource group covers the
                registry). Azure RBAC expectations are met only by RBAC assignments, the Cosmos
                data-plane one only by the account's sqlRoleAssignments.
    missing     expectations nothing satisfies.
    unexpected  Azure RBAC assignments of a broad role (Owner, Contributor, User Access
                Administrator) at or below one of the platform's scopes, to anyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from provisioning.backends.base import CloudError

from .base import (
    BROAD_ROLES,
    ActualAssignment,
    ExpectedAssignment,
    RbacBackend,
    normalize_scope,
    scope_covers,
)
from .expected import PROJECT_NAME, PlatformResources, expected_assignments, expected_for, platform_resources


@dataclass(frozen=True)
class AuditMatch:
    expected: ExpectedAssignment
    actual: ActualAssignment
    inherited: bool = False            # granted at a scope above the expected one


@dataclass(frozen=True)
class AuditReport:
    present: list[AuditMatch] = field(default_factory=list)
    missing: list[ExpectedAssignment] = field(default_factory=list)
    unexpected: list[ActualAssignment] = field(default_factory=list)
    # What could not be read, part ("rbac", "cosmos", or an expectation's scope kind) -> why; the
    # expectations of that part are neither present nor missing.
    unread: dict[str, str] = field(default_factory=dict)
    not_checked: list[ExpectedAssignment] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.missing and not self.unexpected and not self.unread


def audit(expected: Iterable[ExpectedAssignment], actual_rbac: Iterable[ActualAssignment],
          actual_cosmos: Iterable[ActualAssignment], platform_scopes: Iterable[str]) -> AuditReport:
    rbac = [a for a in actual_rbac if a.kind == "rbac"]
    cosmos = [a for a in actual_cosmos if a.kind == "cosmos"]
    present: list[AuditMatch] = []
    missing: list[ExpectedAssignment] = []
    for wanted in expected:
        match = _best_match(wanted, cosmos if wanted.data_plane else rbac)
        if match is None:
            missing.append(wanted)
        else:
            inherited = normalize_scope(match.scope) != normalize_scope(wanted.scope_id)
            present.append(AuditMatch(wanted, match, inherited))
    scopes = list(platform_scopes)
    unexpected = [a for a in _unique(rbac)
                  if a.role_guid in BROAD_ROLES and any(scope_covers(s, a.scope) for s in scopes)]
    return AuditReport(present=present, missing=missing, unexpected=unexpected)


def audit_environment(rbac: RbacBackend, *, subscription_id: str, env_name: str,
                      kubelet_principal_id: str | None = None, project_name: str = PROJECT_NAME) -> AuditReport:
    """Read the environment's assignments through `rbac` (RBAC below the resource group, the Cosmos
    account's data-plane ones) and audit them against the design. CloudError propagates: an audit
    that could not read is not a clean one."""
    resources = platform_resources(subscription_id, env_name, project_name=project_name)
    expected = expected_assignments(subscription_id, env_name, kubelet_principal_id, project_name=project_name)
    return audit(expected, rbac.list_assignments(resources.resource_group),
                 rbac.list_cosmos_assignments(resources.cosmos), [resources.resource_group])


def audit_resources(rbac: RbacBackend, *, resources: PlatformResources, kubelet_principal_id: str,
                    unfound: dict[str, str] | None = None) -> AuditReport:
    """Audit the kubelet identity (`kubelet_principal_id`, read from the cluster: only that principal
    satisfies an expectation) on resources as discovered. Azure RBAC and the Cosmos data plane are
    read separately: when one read fails, the other's findings are kept and the failed part is
    reported in `unread`, its expectations in `not_checked`. Only when nothing could be read does the
    CloudError propagate. `unfound`: scope kind -> why that resource is not known."""
    unread: dict[str, str] = {}
    actual_rbac: list[ActualAssignment] = []
    actual_cosmos: list[ActualAssignment] = []
    errors: list[CloudError] = []
    try:
        actual_rbac = rbac.list_assignments(resources.resource_group)
    except CloudError as exc:
        unread["rbac"] = f"Azure RBAC: {exc}"
        errors.append(exc)
    if resources.cosmos:
        try:
            actual_cosmos = rbac.list_cosmos_assignments(resources.cosmos)
        except CloudError as exc:
            unread["cosmos"] = f"Cosmos DB data plane: {exc}"
            errors.append(exc)
    if errors and len(errors) == (2 if resources.cosmos else 1):
        raise errors[0]
    for kind, why in (unfound or {}).items():
        unread.setdefault(kind, why)
    checked, not_checked = [], []
    for wanted in expected_for(resources, kubelet_principal_id):
        part = "cosmos" if wanted.data_plane else "rbac"
        if part in unread or not wanted.scope_id or ("cosmos" if wanted.data_plane else wanted.scope_kind) in unread:
            not_checked.append(wanted)
        else:
            checked.append(wanted)
    report = audit(checked, actual_rbac, actual_cosmos, [resources.resource_group])
    return AuditReport(present=report.present, missing=report.missing, unexpected=report.unexpected,
                       unread=unread, not_checked=not_checked)


def _best_match(wanted: ExpectedAssignment, candidates: list[ActualAssignment]) -> ActualAssignment | None:
    principal = wanted.principal_id.lower()
    matching = [a for a in candidates
                if a.role_guid == wanted.role_guid.lower()
                and (not principal or a.principal_id.lower() == principal)
                and scope_covers(a.scope, wanted.scope_id)]
    # The exact scope first, then the nearest one above it.
    matching.sort(key=lambda a: -len(normalize_scope(a.scope)))
    return matching[0] if matching else None


def _unique(assignments: Iterable[ActualAssignment]) -> list[ActualAssignment]:
    seen: dict[str, ActualAssignment] = {}
    for assignment in assignments:
        seen.setdefault(assignment.id.lower(), assignment)
    return list(seen.values())

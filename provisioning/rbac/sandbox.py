"""Role assignments for the sandbox: what the sandbox's deployments granted, plus injected drift.

All state lives in one plain dict of JSON values (the `state` passed in, used in place), so a
caller can keep it between requests:

    {
      "subscription_id": "00000000-0000-0000-0000-000000000000",
      "kubelet_principal_id": "<the sandbox's AKS kubelet identity>",
      "assignments": {"<id, lowercased>": {"id": ..., "principal_id": ..., "role_guid": ...,
                                           "scope": ..., "kind": "rbac" | "cosmos",
                                           "principal_type": ..., "role_definition_id": ...}},
    }

`record_from_resources` records the Microsoft.Authorization/roleAssignments and
Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments a template declares (ResourceSpecs from
provisioning.bicep), resolving the `resourceId(...)` / `subscriptionResourceId(...)` expressions
the Bicep walker leaves in scopes and role definition ids. A principal id that is still an
expression (the kubelet identity is `aks.properties.identityProfile...`, known only once AKS
exists) becomes the sandbox's kubelet principal.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from provisioning.backends.base import ResourceSpec, resource_id
from provisioning.backends.sandbox import DEFAULT_SUBSCRIPTION_ID, resource_group_name

from .base import ActualAssignment, AssignmentKind, is_guid, role_guid_of, scope_covers

ROLE_ASSIGNMENT_TYPE: Final = "Microsoft.Authorization/roleAssignments"
SQL_ROLE_ASSIGNMENT_TYPE: Final = "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"
COSMOS_ACCOUNT_TYPE: Final = "Microsoft.DocumentDB/databaseAccounts"

_NAMESPACE: Final = uuid.UUID("3b0c3c54-6a39-4d0e-9a43-2f1c9d7a8e61")
SANDBOX_KUBELET_PRINCIPAL_ID: Final = str(uuid.uuid5(_NAMESPACE, "aks-kubelet"))

_ID_CALL = re.compile(r"(subscriptionResourceId|resourceId)\(([^()]*)\)")
_QUOTED = re.compile(r"'([^']*)'")
_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")


class SandboxRbac:
    kind = "sandbox"

    def __init__(self, state: dict[str, Any] | None = None, *, subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
                 kubelet_principal_id: str = SANDBOX_KUBELET_PRINCIPAL_ID) -> None:
        """A state that already has values keeps them; the keyword arguments only seed a new one."""
        self.state: dict[str, Any] = {} if state is None else state
        self.state.setdefault("subscription_id", subscription_id)
        self.state.setdefault("kubelet_principal_id", kubelet_principal_id)
        self.state.setdefault("assignments", {})

    @property
    def subscription_id(self) -> str:
        return str(self.state["subscription_id"])

    @property
    def kubelet_principal_id(self) -> str:
        return str(self.state["kubelet_principal_id"])

    # --- RbacBackend --------------------------------------------------------------------------

    def list_assignments(self, scope: str) -> list[ActualAssignment]:
        return [a for a in self.assignments() if a.kind == "rbac" and scope_covers(scope, a.scope)]

    def list_cosmos_assignments(self, account_id: str) -> list[ActualAssignment]:
        prefix = account_id.rstrip("/").lower() + "/sqlroleassignments/"
        return [a for a in self.assignments() if a.kind == "cosmos" and a.id.lower().startswith(prefix)]

    # --- What deployments create --------------------------------------------------------------

    def record_from_resources(self, resources: Iterable[ResourceSpec], *,
                              parameters: Mapping[str, Any] | None = None, resource_group: str | None = None,
                              principal_id: str | None = None) -> list[ActualAssignment]:
        """Record the role assignments among `resources` (a deployed template's). The resource
        group is `resource_group`, else chosen as SandboxCloud chooses it (the template's resource
        group, else a `resourceGroupName` parameter, else "sandbox-rg"). A principal id that is not
        a GUID yet becomes `principal_id`, else the sandbox's kubelet principal. Recording the same
        assignment again changes nothing."""
        specs = list(resources)
        group = resource_group or resource_group_name(specs, dict(parameters or {}))
        fallback_principal = principal_id or self.kubelet_principal_id
        recorded: list[ActualAssignment] = []
        for spec in specs:
            kind = spec.type.lower()
            if kind == ROLE_ASSIGNMENT_TYPE.lower():
                recorded.append(self._store(self._rbac_from(spec, group, fallback_principal)))
            elif kind == SQL_ROLE_ASSIGNMENT_TYPE.lower():
                recorded.append(self._store(self._cosmos_from(spec, group, fallback_principal)))
        return recorded

    # --- Drift --------------------------------------------------------------------------------

    def grant(self, principal_id: str, role_guid: str, scope: str, *, kind: AssignmentKind = "rbac",
              principal_type: str = "User") -> ActualAssignment:
        """An assignment made outside any deployment (someone in the portal, a script). For kind
        "cosmos", `scope` is the Cosmos account's id or a path below it ("{account}/dbs/{db}")."""
        guid = role_guid.lower()
        name = str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{principal_id.lower()}|{guid}"))
        if kind == "cosmos":
            account = re.split(r"/dbs/", scope, maxsplit=1, flags=re.IGNORECASE)[0].rstrip("/")
            assignment = ActualAssignment(
                id=f"{account}/sqlRoleAssignments/{name}", principal_id=principal_id, role_guid=guid,
                scope=scope, kind="cosmos", principal_type=principal_type,
                role_definition_id=f"{account}/sqlRoleDefinitions/{guid}")
        else:
            assignment = ActualAssignment(
                id=f"{scope.rstrip('/')}/providers/{ROLE_ASSIGNMENT_TYPE}/{name}", principal_id=principal_id,
                role_guid=guid, scope=scope, kind="rbac", principal_type=principal_type,
                role_definition_id=f"/subscriptions/{self.subscription_id}/providers/"
                                   f"Microsoft.Authorization/roleDefinitions/{guid}")
        return self._store(assignment)

    def revoke(self, assignment_id: str) -> bool:
        """Remove one assignment; False when there was none by that id."""
        return self.state["assignments"].pop(assignment_id.lower(), None) is not None

    def assignments(self) -> list[ActualAssignment]:
        """Every assignment, sorted by id."""
        return sorted((_from_json(item) for item in self.state["assignments"].values()), key=lambda a: a.id.lower())

    # --- Helpers ------------------------------------------------------------------------------

    def _store(self, assignment: ActualAssignment) -> ActualAssignment:
        """Keep an assignment; an existing one for the same principal, role and scope stays (Azure
        refuses a second one with RoleAssignmentExists)."""
        for existing in self.assignments():
            if (existing.kind == assignment.kind and existing.role_guid == assignment.role_guid
                    and existing.principal_id.lower() == assignment.principal_id.lower()
                    and existing.scope.lower() == assignment.scope.lower()):
                return existing
        self.state["assignments"][assignment.id.lower()] = _to_json(assignment)
        return assignment

    def _rbac_from(self, spec: ResourceSpec, group: str, fallback_principal: str) -> ActualAssignment:
        body = _properties(spec)
        group_id = f"/subscriptions/{self.subscription_id}/resourceGroups/{group}"
        scope = self._resolved(spec.properties.get("scope"), group) or group_id
        role_definition_id = self._resolved(body.get("roleDefinitionId"), group) or ""
        return ActualAssignment(
            id=f"{scope.rstrip('/')}/providers/{ROLE_ASSIGNMENT_TYPE}/{spec.name}",
            principal_id=_principal(body.get("principalId"), fallback_principal),
            role_guid=role_guid_of(role_definition_id),
            scope=scope,
            kind="rbac",
            principal_type=str(body.get("principalType") or ""),
            role_definition_id=role_definition_id,
        )

    def _cosmos_from(self, spec: ResourceSpec, group: str, fallback_principal: str) -> ActualAssignment:
        body = _properties(spec)
        account_name = spec.name.split("/")[0]
        account_id = resource_id(self.subscription_id, group, COSMOS_ACCOUNT_TYPE, account_name)
        role_definition_id = self._resolved(body.get("roleDefinitionId"), group) or ""
        return ActualAssignment(
            id=resource_id(self.subscription_id, group, SQL_ROLE_ASSIGNMENT_TYPE, spec.name),
            principal_id=_principal(body.get("principalId"), fallback_principal),
            role_guid=role_guid_of(role_definition_id),
            scope=self._resolved(body.get("scope"), group) or account_id,
            kind="cosmos",
            role_definition_id=role_definition_id,
        )

    def _resolved(self, value: Any, group: str) -> str | None:
        """An id written as an ARM/Bicep expression, made concrete; None when it is not a string or
        still holds an expression after resourceId()/subscriptionResourceId() are evaluated."""
        if not isinstance(value, str) or not value:
            return None

        def evaluate(call: re.Match[str]) -> str:
            args = _QUOTED.findall(call.group(2))
            at = next((i for i, arg in enumerate(args) if "/" in arg), None)
            if at is None:
                return call.group(0)
            given, resource_type, names = args[:at], args[at], args[at + 1:]
            subscription = self.subscription_id
            in_group: str | None = group
            if call.group(1) == "subscriptionResourceId":
                in_group = None
                subscription = given[0] if given else subscription
            elif len(given) == 2:
                subscription, in_group = given
            elif len(given) == 1:
                in_group = given[0]
            return resource_id(subscription, in_group, resource_type, "/".join(names))

        text = _INTERPOLATION.sub(lambda m: m.group(1), _ID_CALL.sub(evaluate, value.strip()))
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        if not text.startswith("/") or any(c in text for c in "()[]'$ "):
            return None
        return text


def _properties(spec: ResourceSpec) -> dict[str, Any]:
    body = spec.properties.get("properties")
    return body if isinstance(body, dict) else {}


def _principal(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and is_guid(value) else fallback


def _to_json(assignment: ActualAssignment) -> dict[str, Any]:
    return {"id": assignment.id, "principal_id": assignment.principal_id, "role_guid": assignment.role_guid,
            "scope": assignment.scope, "kind": assignment.kind, "principal_type": assignment.principal_type,
            "role_definition_id": assignment.role_definition_id}


def _from_json(item: Mapping[str, Any]) -> ActualAssignment:
    kind: AssignmentKind = "cosmos" if item["kind"] == "cosmos" else "rbac"
    return ActualAssignment(id=item["id"], principal_id=item["principal_id"], role_guid=item["role_guid"],
                            scope=item["scope"], kind=kind, principal_type=item.get("principal_type", ""),
                            role_definition_id=item.get("role_definition_id", ""))


__all__ = ["SANDBOX_KUBELET_PRINCIPAL_ID", "SandboxRbac"]

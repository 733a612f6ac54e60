"""The sandbox cloud: a CloudBackend that deploys nothing, deterministically and statefully.

It walks the resources a template declares, gives each a duration derived from a hash of its type and
name, and runs them one after another. Nothing runs in the background: a deployment is stored once,
with its start time and its plan (durations, injected failures), and every later answer is derived
from that record and the clock. So any process that reads the same store sees the same deployment,
and a test that owns the clock owns time.

State sits behind `SandboxStore` (get/put/keys of JSON-able dicts): the portal keeps it in the
database, tests use `MemoryStore`. Keys:

    deployment:{name}    the latest deployment under that name (a redeploy replaces it, as in ARM)
    deployment:resourcegroups/{group}/{name}
                         the same, for a deployment at the scope of a resource group (names are per scope)
    resource:{id}        the inventory: what finished deployments left behind, by ARM resource id

A deployment at resource-group scope (`resource_group=`) puts the template's resources in that group,
which must exist, as in ARM: the group's own inventory entry (a subscription deployment created it, or
`ensure_resource_group`), or anything ever deployed into it. Otherwise every call at that scope raises
ResourceGroupNotFound.

(names and ids lowercased in keys: ARM compares them without case). The store has no delete, so
delete_resources leaves a tombstone under the resource's key ({"id", "deleted": true, "deleted_at"})
that every read treats as absent, and that a later deployment of the resource overwrites.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from provisioning.azure_rules import name_violations

from .base import (
    RESOURCE_GROUP_TYPE,
    ChangeType,
    CloudError,
    DeleteOutcome,
    DeleteResult,
    DeploymentHandle,
    DeploymentStatus,
    ErrorCode,
    ProvisioningState,
    ResourceOperation,
    ResourceSpec,
    TemplateSpec,
    WhatIfChange,
    WhatIfResult,
    api_versions_for,
    resource_group_not_found,
    resource_id,
)

DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "sandbox-rg"
DEPLOYMENT_KEY = "deployment:"
RESOURCE_KEY = "resource:"

# A resource spends this share of its time Accepted before it is Running.
_ACCEPTED_SHARE = 0.1
_CORRELATION_NAMESPACE = uuid.UUID("6f1c1e3a-2b1d-4c57-9a55-5a4db0c1e1a7")
_DEPLOYMENT_FAILED_MESSAGE = (
    "At least one resource deployment operation failed. Please list deployment operations for "
    "details. Please see https://aka.ms/arm-deployment-operations for usage details."
)


class SandboxStore(Protocol):
    """Where the sandbox keeps its state. Values are JSON-able dicts; `keys` lists keys by prefix."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...


class MemoryStore:
    """A dict-backed SandboxStore. Values go through JSON both ways, as they would to a database, so
    nothing that could not be stored slips through and no caller shares a dict with the store."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self._data.get(key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = json.dumps(value, sort_keys=True)

    def keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self._data if key.startswith(prefix))


@dataclass(frozen=True)
class Fault:
    """A failure or a slowdown injected into the resources whose name or type matches `match` (a
    case-insensitive glob). The first matching fault applies. A failing resource runs its time, then
    ends Failed with an ARM-shaped error (`code`, `message`); `status_code` is what ARM would report
    as the operation's HTTP status (defaults to the code). A slow one takes `factor` times longer.
    A failing fault also fails delete_resources of a matching resource that exists, with that error."""

    match: str
    kind: Literal["fail", "slow"] = "fail"
    code: str = "InternalServerError"
    message: str = ""
    factor: float = 10.0
    status_code: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("fail", "slow"):
            raise ValueError(f"Fault kind must be 'fail' or 'slow', got {self.kind!r}")
        if self.factor <= 0:
            raise ValueError(f"Fault factor must be > 0, got {self.factor}")

    def matches(self, spec: ResourceSpec) -> bool:
        return self.matches_name(spec.name, spec.type)

    def matches_name(self, name: str, type_: str) -> bool:
        """Whether the glob matches this name or type (the sandbox cluster asks about its workloads so)."""
        pattern = self.match.lower()
        name = name.lower()
        # A child's full name is "account/db/container"; a pattern may name just the last segment.
        return any(fnmatch.fnmatchcase(candidate, pattern)
                   for candidate in (name, name.rsplit("/", 1)[-1], type_.lower()))


class SandboxCloud:
    """CloudBackend without a cloud. See the module docstring for the model.

    `seconds_per_resource` is the (min, max) range a resource's duration is drawn from (by hash, so
    the same resource always takes the same time) and `speed` scales it: 0 makes every deployment
    finish the moment it starts."""

    kind = "sandbox"

    def __init__(
        self,
        store: SandboxStore,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        clock: Callable[[], float] = time.time,
        seconds_per_resource: tuple[float, float] = (5.0, 40.0),
        speed: float = 1.0,
        faults: Iterable[Fault] = (),
    ) -> None:
        low, high = seconds_per_resource
        if not 0 <= low <= high:
            raise ValueError(f"seconds_per_resource must be 0 <= min <= max, got {seconds_per_resource}")
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.store = store
        self.subscription_id = subscription_id
        self.clock = clock
        self.seconds_per_resource = (float(low), float(high))
        self.speed = float(speed)
        self.faults = tuple(faults)

    # --- CloudBackend ---------------------------------------------------------------------------

    def what_if(self, *, deployment_name: str, location: str, template: TemplateSpec,
                parameters: dict[str, Any], mode: str = "Incremental",
                resource_group: str | None = None) -> WhatIfResult:
        self._settle_all()
        self._require_group(resource_group)
        refusal = _name_refusal(template, parameters, resource_group)
        if refusal is not None:
            return WhatIfResult(status="Failed", error=refusal)
        group = resource_group or resource_group_name(template.resources, parameters)
        changes: list[WhatIfChange] = []
        declared: set[str] = set()
        for spec in template.resources:
            rid = self._resource_id(spec, group)
            declared.add(rid.lower())
            existing = self._inventory_item(_resource_key(rid))
            delta: tuple[str, ...] = ()
            if existing is None:
                change_type = ChangeType.CREATE
            else:
                delta = _delta(existing["property_hashes"], _property_hashes(spec.properties))
                change_type = ChangeType.MODIFY if delta else ChangeType.NO_CHANGE
            changes.append(WhatIfChange(change_type, rid, spec.type, spec.name, delta))
        # Resources in the template's resource group that the template does not declare: ARM's
        # what-if lists them as Ignore (Incremental leaves them) or Delete (Complete removes them).
        leftover = ChangeType.DELETE if mode.lower() == "complete" else ChangeType.IGNORE
        for key in self.store.keys(RESOURCE_KEY):
            item = self._inventory_item(key)
            if item is None or item["id"].lower() in declared or item["resource_group"].lower() != group.lower():
                continue
            changes.append(WhatIfChange(leftover, item["id"], item["type"], item["name"]))
        return WhatIfResult(status="Succeeded", changes=tuple(changes))

    def begin_deploy(self, *, deployment_name: str, location: str, template: TemplateSpec,
                     parameters: dict[str, Any], resource_group: str | None = None) -> DeploymentHandle:
        self._require_group(resource_group)
        refusal = _name_refusal(template, parameters, resource_group)
        if refusal is not None:
            raise refusal
        now = self.clock()
        key = _deployment_key(deployment_name, resource_group)
        existing = self.store.get(key)
        generation = 1
        if existing is not None:
            if self._settle(existing, now).provisioning_state not in ProvisioningState.TERMINAL:
                return _handle(existing)          # the same deployment, never a second one
            generation = existing["generation"] + 1  # a redeploy under the same name, as in ARM
        record = self._plan(deployment_name, location, template, parameters, now, generation, resource_group)
        self.store.put(key, record)
        self._settle(record, now)
        return _handle(record)

    def get_status(self, *, deployment_name: str, resource_group: str | None = None) -> DeploymentStatus:
        return self._settle(self._load(deployment_name, resource_group), self.clock())

    def cancel(self, *, deployment_name: str, resource_group: str | None = None) -> None:
        record = self._load(deployment_name, resource_group)
        now = self.clock()
        state = self._settle(record, now).provisioning_state
        if state in ProvisioningState.TERMINAL:
            raise CloudError(
                code=ErrorCode.DEPLOYMENT_CANNOT_BE_CANCELLED,
                message=f"The deployment '{deployment_name}' cannot be cancelled: it is {state}.",
            )
        record["canceled_at"] = now
        self.store.put(_record_key(record), record)
        self._settle(record, now)

    def delete_resources(self, *, resource_ids: Sequence[str],
                         api_versions: Mapping[str, str] | None = None) -> list[DeleteResult]:
        """Remove each resource from the inventory: Deleted if it was there, NotFound if not, Failed
        with the fault's error if a failing Fault matches it (it then stays). API versions are
        resolved as Azure would, so a delete the sandbox accepts is one Azure could send."""
        plan = api_versions_for(resource_ids, api_versions)
        self._settle_all()      # a deployment that ended unsettled must not bring a deleted resource back
        return [self._delete(rid) for rid, _ in plan]

    # --- Sandbox only ---------------------------------------------------------------------------

    def inventory(self) -> dict[str, dict[str, Any]]:
        """What finished deployments left behind, by resource id (after settling any that ended)."""
        self._settle_all()
        items = (self._inventory_item(key) for key in self.store.keys(RESOURCE_KEY))
        return {item["id"]: item for item in items if item is not None}

    def ensure_resource_group(self, name: str, location: str) -> None:
        """The resource group exists (made outside any deployment, as `az group create` would); a no-op
        when it does. Refused with Azure's code when the name breaks its rules."""
        violations = name_violations([(RESOURCE_GROUP_TYPE, name)])
        if violations:
            raise CloudError(code=violations[0].code, message=violations[0].message)
        if self._group_exists(name):
            return
        rid = resource_id(self.subscription_id, None, RESOURCE_GROUP_TYPE, name)
        hashes = _property_hashes({"location": location})
        self.store.put(_resource_key(rid), {
            "id": rid, "type": RESOURCE_GROUP_TYPE, "name": name, "resource_group": "",
            "properties_hash": _hash(hashes), "property_hashes": hashes, "deployment": "", "correlation_id": "",
        })

    # --- Internals ------------------------------------------------------------------------------

    def _inventory_item(self, key: str) -> dict[str, Any] | None:
        item = self.store.get(key)
        return None if item is None or item.get("deleted") else item

    def _delete(self, rid: str) -> DeleteResult:
        key = _resource_key(rid)
        item = self._inventory_item(key)
        if item is None:
            return DeleteResult(rid, DeleteOutcome.NOT_FOUND)
        spec = ResourceSpec(type=item["type"], name=item["name"])
        fault = next((f for f in self.faults if f.matches(spec)), None)
        if fault is not None and fault.kind == "fail":
            message = fault.message or f"The sandbox failed to delete {spec.type} '{spec.name}' on purpose."
            return DeleteResult(rid, DeleteOutcome.FAILED, CloudError(code=fault.code, message=message))
        self.store.put(key, {"id": item["id"], "deleted": True, "deleted_at": self.clock()})
        return DeleteResult(rid, DeleteOutcome.DELETED)

    def _group_exists(self, group: str) -> bool:
        key = _resource_key(resource_id(self.subscription_id, None, RESOURCE_GROUP_TYPE, group))
        item = self.store.get(key)
        if item is not None:
            return not item.get("deleted")
        return bool(self.store.keys(key + "/"))   # something was deployed into it: it exists

    def _require_group(self, group: str | None) -> None:
        if group is not None and not self._group_exists(group):
            raise resource_group_not_found(group)

    def _load(self, deployment_name: str, resource_group: str | None = None) -> dict[str, Any]:
        self._require_group(resource_group)
        record = self.store.get(_deployment_key(deployment_name, resource_group))
        if record is None:
            raise CloudError(code=ErrorCode.DEPLOYMENT_NOT_FOUND,
                             message=f"Deployment '{deployment_name}' could not be found.")
        return record

    def _resource_id(self, spec: ResourceSpec, group: str) -> str:
        return resource_id(self.subscription_id, group, spec.type, spec.name)

    def _duration(self, spec: ResourceSpec, fault: Fault | None) -> float:
        low, high = self.seconds_per_resource
        digest = hashlib.sha256(f"{spec.type.lower()}/{spec.name}".encode()).digest()
        share = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF
        seconds = (low + (high - low) * share) * self.speed
        if fault is not None and fault.kind == "slow":
            seconds *= fault.factor
        return round(seconds, 3)

    def _plan(self, name: str, location: str, template: TemplateSpec, parameters: dict[str, Any],
              now: float, generation: int, resource_group: str | None = None) -> dict[str, Any]:
        """The whole deployment, decided up front and stored: later answers only need the clock."""
        group = resource_group or resource_group_name(template.resources, parameters)
        correlation_id = str(uuid.uuid5(_CORRELATION_NAMESPACE, f"{name}:{now!r}"))
        resources = []
        for index, spec in enumerate(template.resources):
            fault = next((f for f in self.faults if f.matches(spec)), None)
            error = None
            if fault is not None and fault.kind == "fail":
                error = {
                    "code": fault.code,
                    "message": fault.message or f"The sandbox failed {spec.type} '{spec.name}' on purpose.",
                    "details": [],
                    "status_code": fault.status_code or fault.code,
                }
            resources.append({
                "operation_id": hashlib.sha256(f"{correlation_id}:{index}".encode()).hexdigest()[:16].upper(),
                "id": self._resource_id(spec, group),
                "type": spec.type,
                "name": spec.name,
                "resource_group": "" if spec.type.lower() == RESOURCE_GROUP_TYPE.lower() else group,
                "duration": self._duration(spec, fault),
                "error": error,
                "property_hashes": _property_hashes(spec.properties),
            })
        return {
            "name": name,
            "scope_resource_group": resource_group or "",
            "generation": generation,
            "correlation_id": correlation_id,
            "location": location,
            "template": template.name,
            "content_hash": template.content_hash,
            "started_at": now,
            "canceled_at": None,
            "resources": resources,
            "settled": False,
        }

    def _settle(self, record: dict[str, Any], now: float) -> DeploymentStatus:
        """Derive the status at `now`; the first time it is terminal, record the inventory it left."""
        status = _derive(record, now)
        if status.provisioning_state in ProvisioningState.TERMINAL and not record["settled"]:
            finished = {op.operation_id for op in status.operations
                        if op.provisioning_state == ProvisioningState.SUCCEEDED}
            for resource in record["resources"]:
                if resource["operation_id"] in finished:
                    self.store.put(_resource_key(resource["id"]), {
                        "id": resource["id"],
                        "type": resource["type"],
                        "name": resource["name"],
                        "resource_group": resource["resource_group"],
                        "properties_hash": _hash(resource["property_hashes"]),
                        "property_hashes": resource["property_hashes"],
                        "deployment": record["name"],
                        "correlation_id": record["correlation_id"],
                    })
            record["settled"] = True
            self.store.put(_record_key(record), record)
        return status

    def _settle_all(self) -> None:
        now = self.clock()
        for key in self.store.keys(DEPLOYMENT_KEY):
            record = self.store.get(key)
            if record is not None and not record["settled"]:
                self._settle(record, now)


def resource_group_name(resources: Iterable[ResourceSpec], parameters: dict[str, Any]) -> str:
    """The one resource group the sandbox puts resources in: the template's resource group resource,
    else a `resourceGroupName` parameter, else 'sandbox-rg'."""
    for spec in resources:
        if spec.type.lower() == RESOURCE_GROUP_TYPE.lower():
            return spec.name
    return str(parameters.get("resourceGroupName") or DEFAULT_RESOURCE_GROUP)


def _name_refusal(template: TemplateSpec, parameters: dict[str, Any],
                  resource_group: str | None = None) -> CloudError | None:
    """What Azure answers a deployment whose resource names break its rules (provisioning.azure_rules):
    the first refusal's code and message, every refusal in the details. None when all names are fine.
    At resource-group scope the group exists already, so its name is not in question."""
    group = resource_group or resource_group_name(template.resources, parameters)
    pairs = [(RESOURCE_GROUP_TYPE, group)] if group != DEFAULT_RESOURCE_GROUP and not resource_group else []
    pairs += [(spec.type, spec.name) for spec in template.resources if spec.type.lower() != RESOURCE_GROUP_TYPE.lower()]
    violations = name_violations(pairs)
    if not violations:
        return None
    details = tuple(CloudError(code=v.code, message=v.message) for v in violations)
    return CloudError(code=violations[0].code, message=violations[0].message, details=details)


def _derive(record: dict[str, Any], now: float) -> DeploymentStatus:
    """The deployment as it stands at `now`: resources run in order, each starting when the one
    before it finished; a cancel freezes time for them at `canceled_at`."""
    canceled_at: float | None = record["canceled_at"]
    horizon = now if canceled_at is None else min(now, canceled_at)
    operations: list[ResourceOperation] = []
    state = ProvisioningState.SUCCEEDED
    error: CloudError | None = None
    start = record["started_at"]
    for resource in record["resources"]:
        finish = start + resource["duration"]
        if horizon < start:                        # not started yet (or never will be)
            if canceled_at is not None:
                state = ProvisioningState.CANCELED
            else:
                state = ProvisioningState.RUNNING if operations else ProvisioningState.ACCEPTED
            break
        if horizon >= finish:
            operations.append(_operation(resource, failed=resource["error"] is not None))
            if resource["error"] is not None:
                state = ProvisioningState.FAILED
                error = CloudError(code=ErrorCode.DEPLOYMENT_FAILED, message=_DEPLOYMENT_FAILED_MESSAGE,
                                   details=(_cloud_error(resource["error"]),))
                break
            start = finish
            continue
        if canceled_at is not None:                # in flight when the cancel came
            operations.append(_operation(resource, state=ProvisioningState.CANCELED))
            state = ProvisioningState.CANCELED
        else:
            accepted = horizon < start + resource["duration"] * _ACCEPTED_SHARE
            in_flight = ProvisioningState.ACCEPTED if accepted else ProvisioningState.RUNNING
            operations.append(_operation(resource, state=in_flight))
            first = len(operations) == 1
            state = ProvisioningState.ACCEPTED if first and accepted else ProvisioningState.RUNNING
        break
    return DeploymentStatus(
        deployment_name=record["name"],
        provisioning_state=state,
        correlation_id=record["correlation_id"],
        operations=tuple(operations),
        error=error,
    )


def _operation(resource: dict[str, Any], *, failed: bool = False, state: str = "") -> ResourceOperation:
    if failed:
        return ResourceOperation(
            operation_id=resource["operation_id"], resource_type=resource["type"],
            resource_name=resource["name"], provisioning_state=ProvisioningState.FAILED,
            status_code=resource["error"]["status_code"], error=_cloud_error(resource["error"]),
        )
    state = state or ProvisioningState.SUCCEEDED
    return ResourceOperation(
        operation_id=resource["operation_id"], resource_type=resource["type"], resource_name=resource["name"],
        provisioning_state=state, status_code="OK" if state == ProvisioningState.SUCCEEDED else "",
    )


def _deployment_key(name: str, resource_group: str | None = None) -> str:
    # ARM names and ids are case-insensitive; a name is unique per scope
    if resource_group:
        return f"{DEPLOYMENT_KEY}resourcegroups/{resource_group.lower()}/{name.lower()}"
    return DEPLOYMENT_KEY + name.lower()


def _record_key(record: dict[str, Any]) -> str:
    return _deployment_key(record["name"], record.get("scope_resource_group") or None)


def _resource_key(rid: str) -> str:
    return RESOURCE_KEY + rid.lower()


def _cloud_error(data: dict[str, Any]) -> CloudError:
    return CloudError(code=data["code"], message=data["message"],
                      details=tuple(_cloud_error(d) for d in data.get("details", ())))


def _handle(record: dict[str, Any]) -> DeploymentHandle:
    # Any process resumes a sandbox deployment by its name; the token only names the generation.
    return DeploymentHandle(
        deployment_name=record["name"],
        continuation_token=f"sandbox:{record['name']}:{record['generation']}",
        correlation_id=record["correlation_id"],
        resource_group=record.get("scope_resource_group") or "",
    )


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _property_hashes(properties: dict[str, Any]) -> dict[str, str]:
    # Hashes, not values: what-if needs only which keys changed, and templates may carry secrets.
    return {key: _hash(value) for key, value in properties.items()}


def _delta(before: dict[str, str], after: dict[str, str]) -> tuple[str, ...]:
    """ARM-style paths ("properties.<key>") of the top-level properties that differ."""
    return tuple(f"properties.{key}" for key in sorted(before.keys() | after.keys())
                 if before.get(key) != after.get(key))


__all__ = [
    "DEFAULT_SUBSCRIPTION_ID",
    "Fault",
    "MemoryStore",
    "SandboxCloud",
    "SandboxStore",
    "resource_group_name",
]

"""A fake Azure Resource Manager, in-process: an azure-core HttpTransport that answers the real SDK's
requests for deployments with no socket, in the shapes the ARM REST API documents. Deployments are at
subscription scope (`.../providers/Microsoft.Resources/deployments/...`) or at the scope of a resource
group (`/subscriptions/{s}/resourcegroups/{rg}/providers/Microsoft.Resources/deployments/...`, the same
calls; their operations at `/resourcegroups/{rg}/deployments/{name}/operations`). A name is unique per
scope. A resource group exists once a deployment created it or a test called `create_resource_group`;
every call at the scope of one that does not answers 404 ResourceGroupNotFound.

    PUT    .../providers/Microsoft.Resources/deployments/{name}      201 + Azure-AsyncOperation, Accepted
                                                                   409 DeploymentActive while one runs
    GET    .../deployments/{name}                                   200 DeploymentExtended / 404
    GET    .../deployments/{name}/operationStatuses/{id}            {"status": "Running" | "Succeeded" | ...}
    GET    .../deployments/{name}/operations                        paged (value + nextLink)
    GET    /subscriptions/{s}/resourcegroups/{rg}/deployments/{name}/operations   a module's operations
    POST   .../deployments/{name}/cancel                            204, or 409 when it has ended
    POST   .../deployments/{name}/whatIf                            202 + Location, then 202, then 200
    DELETE {resource id}                                            in the inventory: 202 + Location, then
                                                                   200 (and it leaves the inventory);
                                                                   not in it: 204

Time is in steps, not seconds. A deployment starts Accepted; each step finishes the resource in flight
and starts the next, in template order, so a template of n resources ends after n + 1 steps. A step
happens when a test calls `advance()`, or when a client polls the deployment's Azure-AsyncOperation
URL (time passes between polls). Reading the deployment or its operations moves nothing.

Templates are ARM JSON. At subscription scope: resource groups and other resources at the top level,
resource-group resources inside Microsoft.Resources/deployments with a `resourceGroup` (what Bicep
modules compile to). At resource-group scope the top-level resources go into the group. Only "[parameters('x')]" is evaluated; other expressions stay as written.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse
from azure.core.utils import case_insensitive_dict

from provisioning.backends.base import RESOURCE_GROUP_TYPE, resource_id

BASE_URL = "https://management.azure.com"
API_VERSION = "2026-06-01"
DEPLOYMENTS_TYPE = "Microsoft.Resources/deployments"
TERMINAL = frozenset({"Succeeded", "Failed", "Canceled"})
_EPOCH = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
_PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$")
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_DEPLOYMENT = _SUB + r"/providers/microsoft\.resources/deployments/(?P<name>[^/]+)"
_RG_DEPLOYMENT = _SUB + r"/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.resources/deployments/(?P<name>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern + "$"), handler)
    for method, pattern, handler in [
        ("PUT", _DEPLOYMENT, "_put_deployment"),
        ("GET", _DEPLOYMENT, "_get_deployment"),
        ("POST", _DEPLOYMENT + "/cancel", "_cancel"),
        ("POST", _DEPLOYMENT + "/whatif", "_what_if"),
        ("GET", _DEPLOYMENT + "/operations", "_list_operations"),
        ("GET", _DEPLOYMENT + "/operationstatuses/(?P<op>[^/]+)", "_operation_status"),
        ("PUT", _RG_DEPLOYMENT, "_put_deployment"),
        ("GET", _RG_DEPLOYMENT, "_get_deployment"),
        ("POST", _RG_DEPLOYMENT + "/cancel", "_cancel"),
        ("POST", _RG_DEPLOYMENT + "/whatif", "_what_if"),
        ("GET", _RG_DEPLOYMENT + "/operationstatuses/(?P<op>[^/]+)", "_operation_status"),
        ("GET", _SUB + r"/resourcegroups/(?P<rg>[^/]+)/deployments/(?P<name>[^/]+)/operations", "_list_nested"),
        ("GET", _SUB + r"/operationresults/(?P<op>[^/]+)", "_operation_result"),
        ("DELETE", _SUB + r"/(?!providers/microsoft\.resources/deployments/).+", "_delete_resource"),
    ]
]


# --- Credentials and responses ------------------------------------------------------------------

class FakeCredential:
    """A TokenCredential that hands out a fixed bearer token and counts how often it was asked."""

    token = "fake-arm-token"

    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)


class FakeResponse(HttpResponse):
    """A complete, already-read azure.core.rest.HttpResponse."""

    def __init__(self, request: HttpRequest, status_code: int, body: Any = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self._request = request
        self._status_code = status_code
        self._content = b"" if body is None else json.dumps(body).encode()
        self._headers = case_insensitive_dict(headers or {})
        if body is not None:
            self._headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self._encoding: str | None = None

    @property
    def request(self) -> HttpRequest:
        return self._request

    @property
    def status_code(self) -> int:
        return self._status_code

    @property
    def headers(self) -> Any:
        return self._headers

    @property
    def reason(self) -> str:
        return HTTPStatus(self._status_code).phrase

    @property
    def content_type(self) -> str | None:
        return self._headers.get("Content-Type")

    @property
    def is_closed(self) -> bool:
        return True

    @property
    def is_stream_consumed(self) -> bool:
        return False

    @property
    def encoding(self) -> str | None:
        return self._encoding

    @encoding.setter
    def encoding(self, value: str | None) -> None:
        self._encoding = value

    @property
    def url(self) -> str:
        return self._request.url

    @property
    def content(self) -> bytes:
        return self._content

    def text(self, encoding: str | None = None) -> str:
        return self._content.decode(encoding or self._encoding or "utf-8")

    def json(self) -> Any:
        return json.loads(self._content) if self._content else None

    def raise_for_status(self) -> None:
        if self._status_code >= 400:
            raise HttpResponseError(response=self)

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def close(self) -> None:
        return None

    def read(self) -> bytes:
        return self._content

    def iter_raw(self, **kwargs: Any) -> Iterator[bytes]:
        return iter([self._content] if self._content else [])

    def iter_bytes(self, **kwargs: Any) -> Iterator[bytes]:
        return self.iter_raw()


class InProcessTransport(HttpTransport[HttpRequest, HttpResponse]):
    """An azure-core transport with no socket: subclasses answer `send`. Opening and closing do nothing,
    and `sleep` (the SDK's retry and polling delays) returns at once; override it to record them."""

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> InProcessTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        return None

    def sleep(self, duration: float) -> None:
        return None


class FakeArmTransport(InProcessTransport):
    """Hands every request to a FakeArm. `sleep` records instead of sleeping, so the SDK's retry and
    polling delays (Retry-After included) cost nothing; `arm.sleeps` shows what they would have been."""

    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.arm.handle(request)

    def sleep(self, duration: float) -> None:
        self.arm.sleeps.append(duration)


# --- The fake ARM -------------------------------------------------------------------------------

@dataclass
class Scripted:
    """A canned answer for the next request that matches `method` and `path` (a glob on the path)."""

    method: str
    path: str
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Resource:
    id: str
    type: str
    name: str
    properties: dict[str, Any]
    module: str = ""                   # the id of the nested deployment it is deployed by, "" at top
    error: dict[str, Any] | None = None
    state: str = ""                    # "" until it starts
    at: int = 0                        # step of its last change
    operation_id: str = ""


@dataclass
class _Deployment:
    name: str
    location: str
    mode: str
    parameters: dict[str, Any]
    resources: list[_Resource]
    outputs: dict[str, Any]
    correlation_id: str
    operation_id: str
    state: str = "Accepted"
    error: dict[str, Any] | None = None
    created_at: int = 0
    at: int = 0
    resource_group: str = ""           # "" at subscription scope


def _key(name: str, rg: str | None = None) -> str:
    """Deployments by scope and name (ARM compares both without case)."""
    return f"{rg.lower()}/{name.lower()}" if rg else name.lower()


class FakeArm:
    """The state machine behind FakeArmTransport: deployments, an inventory, and counters to assert on."""

    def __init__(self, subscription_id: str, *, page_size: int = 2) -> None:
        self.subscription_id = subscription_id
        self.page_size = page_size
        self.deployments: dict[str, _Deployment] = {}   # by _key(name, resource group)
        self.operation_statuses: dict[str, _Deployment] = {}
        self.inventory: dict[str, _Resource] = {}      # by lowercased resource id
        self.created: Counter[str] = Counter()          # PUTs that created a new deployment, by _key
        self.requests: list[tuple[str, str]] = []       # (method, url) of every request that arrived
        self.bodies: list[Any] = []                     # JSON bodies of PUTs and POSTs, in order
        self.sleeps: list[float] = []
        self.failures: list[tuple[str, str, str]] = []  # (glob on name or type, code, message)
        self.delete_failures: list[tuple[str, int, str, str]] = []  # (glob on name or type, status, code, message)
        self.scripted: list[Scripted] = []
        # pending answers to an operation's Location polls, by operation id: None is one more 202,
        # a callable makes the final (status, body) when that poll arrives
        self._results: dict[str, list[Callable[[], tuple[int, Any]] | None]] = {}
        self._step = 0
        self._lock = threading.RLock()

    # --- Test controls ---

    def transport(self) -> FakeArmTransport:
        return FakeArmTransport(self)

    def create_resource_group(self, name: str, location: str = "eastus") -> str:
        """The resource group exists (as `az group create` would leave it); returns its id."""
        rid = resource_id(self.subscription_id, None, RESOURCE_GROUP_TYPE, name)
        self.inventory.setdefault(rid.lower(), _Resource(id=rid, type=RESOURCE_GROUP_TYPE, name=name,
                                                         properties={"location": location}, state="Succeeded"))
        return rid

    def fail_resource(self, match: str, code: str, message: str) -> None:
        """Resources deployed from now on whose name or type matches `match` end Failed."""
        self.failures.append((match, code, message))

    def fail_delete(self, match: str, code: str, message: str, status: int = 409) -> None:
        """DELETEs from now on of inventory resources whose name or type matches `match` are refused
        with this error (ARM answers a delete it will not do with 409 Conflict, or 400)."""
        self.delete_failures.append((match, status, code, message))

    def script(self, method: str, path: str, status: int, code: str, message: str = "",
               headers: dict[str, str] | None = None) -> None:
        """Answer the next `method` request whose path matches the glob `path` with this error."""
        self.scripted.append(Scripted(method, path, status, code, message or code, dict(headers or {})))

    def advance(self, steps: int = 1) -> None:
        """Let time pass for every deployment still running."""
        with self._lock:
            for _ in range(steps):
                for deployment in list(self.deployments.values()):
                    self._advance(deployment)

    # --- HTTP ---

    def handle(self, request: HttpRequest) -> HttpResponse:
        with self._lock:
            self.requests.append((request.method, request.url))
            if request.headers.get("Authorization") != f"Bearer {FakeCredential.token}":
                return self._error(request, 401, "AuthenticationFailed", "Authentication failed.")
            split = urlsplit(request.url)
            if f"{split.scheme}://{split.netloc}" != BASE_URL:
                return self._error(request, 404, "NotFound", f"No such host: {split.netloc}")
            path = split.path.rstrip("/")
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            if "api-version" not in query:
                return self._error(request, 400, "MissingApiVersionParameter",
                                   "The api-version query parameter (?api-version=) is required.")
            for scripted in self.scripted:
                if scripted.method == request.method and fnmatch.fnmatchcase(path.lower(), scripted.path.lower()):
                    self.scripted.remove(scripted)
                    return self._error(request, scripted.status, scripted.code, scripted.message,
                                       scripted.headers)
            body = _request_json(request)
            if request.method in ("PUT", "POST"):
                self.bodies.append(body)
            for method, pattern, handler in _ROUTES:
                match = pattern.match(path.lower())
                if match and method == request.method:
                    if match["sub"] != self.subscription_id.lower():
                        return self._error(request, 404, "SubscriptionNotFound",
                                           f"The subscription '{match['sub']}' could not be found.")
                    # names come from the original path, not the lowercased one
                    args = {k: path[match.start(k):match.end(k)] for k in match.groupdict()}
                    if "rg" in args and not self._group_exists(args["rg"]):
                        return self._error(request, 404, "ResourceGroupNotFound",
                                           f"Resource group '{args['rg']}' could not be found.")
                    answer: HttpResponse = getattr(self, handler)(request, body, query, **args)
                    return answer
            return self._error(request, 404, "InvalidResourceType", f"No route for {request.method} {path}")

    def _put_deployment(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                        sub: str, name: str, rg: str | None = None) -> HttpResponse:
        current = self.deployments.get(_key(name, rg))
        if current is not None and current.state not in TERMINAL:
            return self._error(request, 409, "DeploymentActive", (
                f"Unable to edit or replace deployment '{name}': previous deployment from "
                f"'{_stamp(current.created_at)}' is still active (expiration time is "
                f"'{_stamp(current.created_at + 7 * 24 * 3600)}'). Please see https://aka.ms/arm-deploy "
                "for usage details."))
        properties = (body or {}).get("properties") or {}
        template = properties.get("template")
        if not isinstance(template, dict):
            return self._error(request, 400, "InvalidRequestContent", "The request content has no template.")
        parameters = properties.get("parameters") or {}
        unwrapped = [key for key, value in parameters.items() if not isinstance(value, dict) or "value" not in value]
        if unwrapped:
            return self._error(request, 400, "InvalidRequestContent",
                               f"Parameters must be objects with a 'value': {', '.join(unwrapped)}.")
        values = {key: value["value"] for key, value in parameters.items()}
        generation = self.created[_key(name, rg)] + 1
        deployment = _Deployment(
            name=name,
            location=body.get("location") or "",
            mode=properties.get("mode") or "",
            parameters=parameters,
            resources=self._flatten(template, values, group=rg),
            outputs=template.get("outputs") or {},
            correlation_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-arm/{_key(name, rg)}/{generation}")),
            operation_id=_operation_id(f"fake-arm-op/{_key(name, rg)}/{generation}"),
            created_at=self._step,
            at=self._step,
            resource_group=rg or "",
        )
        for index, resource in enumerate(deployment.resources):
            resource.operation_id = _operation_id(f"{deployment.operation_id}/{index}")
            resource.error = next(({"code": code, "message": message} for match, code, message in self.failures
                                   if fnmatch.fnmatchcase(resource.name.lower(), match.lower())
                                   or fnmatch.fnmatchcase(resource.type.lower(), match.lower())), None)
        self.deployments[_key(name, rg)] = deployment
        self.operation_statuses[deployment.operation_id] = deployment
        self.created[_key(name, rg)] += 1
        status_url = (f"{BASE_URL}{self._deployment_id(name, rg)}/operationStatuses/{deployment.operation_id}"
                      f"?api-version={query['api-version']}")
        return self._respond(request, 201, self._deployment_json(deployment), {"Azure-AsyncOperation": status_url},
                             deployment)

    def _get_deployment(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                        sub: str, name: str, rg: str | None = None) -> HttpResponse:
        deployment = self.deployments.get(_key(name, rg))
        if deployment is None:
            return self._not_found(request, name)
        return self._respond(request, 200, self._deployment_json(deployment), deployment=deployment)

    def _operation_status(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                          sub: str, name: str, op: str, rg: str | None = None) -> HttpResponse:
        deployment = self.operation_statuses.get(op.upper())
        if deployment is None:
            return self._not_found(request, name)
        self._advance(deployment)                    # time passes between polls
        answer: dict[str, Any] = {"status": deployment.state}
        if deployment.error is not None:
            answer["error"] = deployment.error
        return self._respond(request, 200, answer, deployment=deployment)

    def _cancel(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                sub: str, name: str, rg: str | None = None) -> HttpResponse:
        deployment = self.deployments.get(_key(name, rg))
        if deployment is None:
            return self._not_found(request, name)
        if deployment.state in TERMINAL:
            return self._error(request, 409, "DeploymentCannotBeCancelled",
                               f"The deployment '{name}' cannot be cancelled: its state is {deployment.state}.")
        self._step += 1
        for resource in deployment.resources:
            if resource.state in ("Accepted", "Running"):
                resource.state, resource.at = "Canceled", self._step
        deployment.state, deployment.at = "Canceled", self._step
        return self._respond(request, 204, deployment=deployment)

    def _list_operations(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                         sub: str, name: str) -> HttpResponse:
        deployment = self.deployments.get(name.lower())
        if deployment is None:
            return self._not_found(request, name)
        return self._operations_of(request, query, deployment)

    def _operations_of(self, request: HttpRequest, query: dict[str, str], deployment: _Deployment) -> HttpResponse:
        top = [r for r in deployment.resources if not r.module and r.state]
        rows = [self._operation_json(deployment, r) for r in top]
        for module_id in dict.fromkeys(r.module for r in deployment.resources if r.module):
            children = [r for r in deployment.resources if r.module == module_id and r.state]
            if children:
                rows.append(self._module_operation_json(deployment, module_id, children))
        if deployment.state == "Succeeded":
            rows.append({
                "id": f"{self._deployment_id(deployment.name, deployment.resource_group)}/operations/"
                      f"{deployment.operation_id}",
                "operationId": deployment.operation_id,
                "properties": {"provisioningOperation": "EvaluateDeploymentOutput", "provisioningState": "Succeeded",
                               "timestamp": _stamp(deployment.at), "statusCode": "OK"},
            })
        return self._page(request, query, rows)

    def _list_nested(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                     sub: str, rg: str, name: str) -> HttpResponse:
        """The operations of a deployment at the scope of `rg`: one the portal started there, or a module."""
        started = self.deployments.get(_key(name, rg))
        if started is not None:
            return self._operations_of(request, query, started)
        module_id = f"/subscriptions/{self.subscription_id}/resourceGroups/{rg}/providers/{DEPLOYMENTS_TYPE}/{name}"
        for deployment in self.deployments.values():
            members = [r for r in deployment.resources if r.module.lower() == module_id.lower()]
            if members:
                return self._page(request, query, [self._operation_json(deployment, r) for r in members if r.state])
        return self._not_found(request, name)

    def _what_if(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                 sub: str, name: str, rg: str | None = None) -> HttpResponse:
        properties = (body or {}).get("properties") or {}
        template = properties.get("template")
        if not isinstance(template, dict):
            return self._error(request, 400, "InvalidRequestContent", "The request content has no template.")
        values = {key: value["value"] for key, value in (properties.get("parameters") or {}).items()}
        planned = self._flatten(template, values, group=rg)
        changes: list[dict[str, Any]] = []
        for resource in planned:
            before = self.inventory.get(resource.id.lower())
            if before is None:
                changes.append({"resourceId": resource.id, "changeType": "Create",
                                "after": {"properties": resource.properties}})
                continue
            delta = _property_delta(before.properties, resource.properties)
            changes.append({"resourceId": resource.id, "changeType": "Modify" if delta else "NoChange",
                            "before": {"properties": before.properties},
                            "after": {"properties": resource.properties}, "delta": delta})
        groups = {r.id.split("/providers/")[0].lower() for r in planned if r.module or rg}
        if rg:
            groups.add(resource_id(self.subscription_id, None, RESOURCE_GROUP_TYPE, rg).lower())
        declared = {r.id.lower() for r in planned}
        leftover = "Delete" if (properties.get("mode") or "").lower() == "complete" else "Ignore"
        for key, resource in self.inventory.items():
            in_group = resource.type.lower() != RESOURCE_GROUP_TYPE.lower() and key.split("/providers/")[0] in groups
            if in_group and key not in declared:
                changes.append({"resourceId": resource.id, "changeType": leftover,
                                "before": {"properties": resource.properties}})
        answer = {"status": "Succeeded", "properties": {"changes": changes}}
        return self._accepted(request, query, [None, lambda: (200, answer)])   # one more 202, then the answer

    def _delete_resource(self, request: HttpRequest, body: Any, query: dict[str, str], *, sub: str) -> HttpResponse:
        key = urlsplit(request.url).path.rstrip("/").lower()
        resource = self.inventory.get(key)
        if resource is None:
            return self._respond(request, 204)                # nothing there: ARM's answer to a repeat
        for match, status, code, message in self.delete_failures:
            if (fnmatch.fnmatchcase(resource.name.lower(), match.lower())
                    or fnmatch.fnmatchcase(resource.type.lower(), match.lower())):
                return self._error(request, status, code, message)

        def finish() -> tuple[int, Any]:
            self.inventory.pop(key, None)
            return 200, None

        return self._accepted(request, query, [finish])

    def _accepted(self, request: HttpRequest, query: dict[str, str],
                  answers: list[Callable[[], tuple[int, Any]] | None]) -> HttpResponse:
        """202 with a Location to poll for an operation whose polls get `answers`, in order."""
        operation = uuid.uuid4().hex
        self._results[operation] = answers
        location = (f"{BASE_URL}/subscriptions/{self.subscription_id}/operationresults/{operation}"
                    f"?api-version={query['api-version']}")
        return self._respond(request, 202, headers={"Location": location, "Retry-After": "15"})

    def _operation_result(self, request: HttpRequest, body: Any, query: dict[str, str], *,
                          sub: str, op: str) -> HttpResponse:
        pending = self._results.get(op)
        if not pending:
            return self._error(request, 404, "NotFound", f"No operation result {op}.")
        answer = pending.pop(0)
        if answer is None:
            return self._respond(request, 202, headers={"Location": request.url, "Retry-After": "15"})
        status, result = answer()
        return self._respond(request, status, result)

    # --- State ---

    def _advance(self, deployment: _Deployment) -> None:
        """One step: the resource in flight ends (Succeeded, or Failed and so does the deployment),
        and the next one starts."""
        if deployment.state in TERMINAL:
            return
        self._step += 1
        deployment.state, deployment.at = "Running", self._step
        for resource in deployment.resources:
            if resource.state == "Running":
                resource.at = self._step
                if resource.error is not None:
                    resource.state = "Failed"
                    deployment.state = "Failed"
                    deployment.error = {
                        "code": "DeploymentFailed",
                        "message": ("At least one resource deployment operation failed. Please list deployment "
                                    "operations for details. Please see https://aka.ms/arm-deployment-operations "
                                    "for usage details."),
                        "details": [{**resource.error, "target": resource.id}],
                    }
                    return
                resource.state = "Succeeded"
                self.inventory[resource.id.lower()] = resource
            elif not resource.state:
                self._step += 1                      # strictly later than the one that just ended
                resource.state, resource.at = "Running", self._step
                deployment.at = self._step
                return
        deployment.state = "Succeeded"

    def _flatten(self, template: dict[str, Any], values: dict[str, Any], *, group: str | None = None,
                 module: str = "") -> list[_Resource]:
        """The template's resources in order, nested deployments (modules) walked in place."""
        result: list[_Resource] = []
        for item in _resource_list(template):
            kind = str(item.get("type", ""))
            name = str(_evaluate(item.get("name", ""), values))
            if kind.lower() == DEPLOYMENTS_TYPE.lower():
                inner = (item.get("properties") or {}).get("template") or {}
                inner_group = _evaluate(item.get("resourceGroup"), values) or group
                module_id = resource_id(self.subscription_id, inner_group, DEPLOYMENTS_TYPE, name)
                result.extend(self._flatten(inner, values, group=inner_group, module=module_id))
                continue
            in_group = None if kind.lower() == RESOURCE_GROUP_TYPE.lower() else group
            result.append(_Resource(
                id=resource_id(self.subscription_id, in_group, kind, name), type=kind, name=name,
                properties=dict(item.get("properties") or {}), module=module))
        return result

    # --- JSON shapes ---

    def _group_exists(self, rg: str) -> bool:
        return resource_id(self.subscription_id, None, RESOURCE_GROUP_TYPE, rg).lower() in self.inventory

    def _deployment_id(self, name: str, rg: str | None = None) -> str:
        scope = f"/subscriptions/{self.subscription_id}" + (f"/resourceGroups/{rg}" if rg else "")
        return f"{scope}/providers/{DEPLOYMENTS_TYPE}/{name}"

    def _deployment_json(self, deployment: _Deployment) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "templateHash": str(uuid.uuid5(uuid.NAMESPACE_URL, deployment.operation_id).int % 10**19),
            "parameters": {k: {"type": "String", "value": v["value"]} for k, v in deployment.parameters.items()},
            "mode": deployment.mode,
            "provisioningState": deployment.state,
            "timestamp": _stamp(deployment.at),
            "duration": f"PT{deployment.at - deployment.created_at}S",
            "correlationId": deployment.correlation_id,
            "providers": [],
            "dependencies": [],
        }
        if deployment.state == "Succeeded":
            properties["outputs"] = {k: {"type": v.get("type", "String"), "value": v.get("value")}
                                     for k, v in deployment.outputs.items()}
            properties["outputResources"] = [{"id": r.id} for r in deployment.resources]
        if deployment.error is not None:
            properties["error"] = deployment.error
        return {"id": self._deployment_id(deployment.name, deployment.resource_group), "name": deployment.name,
                "type": DEPLOYMENTS_TYPE,
                "location": deployment.location, "properties": properties}

    def _operation_json(self, deployment: _Deployment, resource: _Resource) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "provisioningOperation": "Create",
            "provisioningState": resource.state,
            "timestamp": _stamp(resource.at),
            "duration": "PT1S",
            "trackingId": str(uuid.uuid5(uuid.NAMESPACE_URL, resource.operation_id)),
            "targetResource": {"id": resource.id, "resourceType": resource.type, "resourceName": resource.name},
        }
        if resource.state == "Succeeded":
            properties["statusCode"] = "OK"
        elif resource.state == "Failed" and resource.error is not None:
            properties["statusCode"] = resource.error["code"]
            properties["statusMessage"] = {"status": "Failed", "error": resource.error}
        return {"id": f"{self._deployment_id(deployment.name, deployment.resource_group)}/operations/"
                      f"{resource.operation_id}",
                "operationId": resource.operation_id, "properties": properties}

    def _module_operation_json(self, deployment: _Deployment, module_id: str,
                               children: list[_Resource]) -> dict[str, Any]:
        states = {r.state for r in children}
        all_children = [r for r in deployment.resources if r.module == module_id]
        if "Failed" in states or "Canceled" in states:
            state = "Failed" if "Failed" in states else "Canceled"
        elif len(children) == len(all_children) and states == {"Succeeded"}:
            state = "Succeeded"
        else:
            state = "Running"
        operation_id = _operation_id(f"{deployment.operation_id}/{module_id}")
        properties: dict[str, Any] = {
            "provisioningOperation": "Create",
            "provisioningState": state,
            "timestamp": _stamp(max(r.at for r in children)),
            "targetResource": {"id": module_id, "resourceType": DEPLOYMENTS_TYPE,
                               "resourceName": module_id.rsplit("/", 1)[-1]},
        }
        if state == "Succeeded":
            properties["statusCode"] = "OK"
        return {"id": f"{self._deployment_id(deployment.name, deployment.resource_group)}/operations/{operation_id}",
                "operationId": operation_id, "properties": properties}

    def _page(self, request: HttpRequest, query: dict[str, str], rows: list[dict[str, Any]]) -> HttpResponse:
        rows = sorted(rows, key=lambda row: row["properties"]["timestamp"], reverse=True)  # newest first, as ARM
        start = int(query.get("$skiptoken", "0"))
        answer: dict[str, Any] = {"value": rows[start:start + self.page_size]}
        if start + self.page_size < len(rows):
            path = urlsplit(request.url).path
            answer["nextLink"] = (f"{BASE_URL}{path}?api-version={query['api-version']}"
                                  f"&$skiptoken={start + self.page_size}")
        return self._respond(request, 200, answer)

    def _respond(self, request: HttpRequest, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 deployment: _Deployment | None = None) -> HttpResponse:
        headers = dict(headers or {})
        headers["x-ms-request-id"] = str(uuid.uuid4())
        if deployment is not None:
            headers["x-ms-correlation-request-id"] = deployment.correlation_id
        return FakeResponse(request, status, body, headers)

    def _error(self, request: HttpRequest, status: int, code: str, message: str,
               headers: dict[str, str] | None = None) -> HttpResponse:
        return self._respond(request, status, {"error": {"code": code, "message": message}}, headers)

    def _not_found(self, request: HttpRequest, name: str) -> HttpResponse:
        return self._error(request, 404, "DeploymentNotFound", f"Deployment '{name}' could not be found.")


def _request_json(request: HttpRequest) -> Any:
    content = request.content
    if not content:
        return None
    if isinstance(content, bytes):
        content = content.decode()
    return json.loads(content) if isinstance(content, str) else None


def _resource_list(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    resources = template.get("resources") or []
    # languageVersion 2.0 templates key resources by symbolic name
    return list(resources.values()) if isinstance(resources, dict) else list(resources)


def _evaluate(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and (match := _PARAMETER.match(value)):
        return values[match.group(1)]
    return value


def _property_delta(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    delta = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            delta.append({"path": f"properties.{key}", "propertyChangeType": "Create", "after": after[key]})
        elif key not in after:
            delta.append({"path": f"properties.{key}", "propertyChangeType": "Delete", "before": before[key]})
        elif before[key] != after[key]:
            delta.append({"path": f"properties.{key}", "propertyChangeType": "Modify",
                          "before": before[key], "after": after[key]})
    return delta


def _operation_id(seed: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, seed).hex.upper()[:16]


def _stamp(step: int) -> str:
    return (_EPOCH + timedelta(seconds=step)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

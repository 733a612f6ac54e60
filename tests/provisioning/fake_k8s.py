"""A small fake Kubernetes API server over real HTTP, for testing code that uses the official client.

It serves just the REST calls the cluster backend makes: nodes; Deployments (and their scale
subresource); Services; pods listed by label selector. It answers with JSON objects shaped like the
API server's (apiVersion, kind, metadata with uid, resourceVersion, generation,
creationTimestamp), Status objects for errors (404 NotFound, 409 AlreadyExists / Conflict, 422
Invalid), and plays the Deployment controller: after every write a Deployment gets one Running pod
per replica (new pods whenever the pod template changes) and a status to match.

Simplifications: PATCH accepts merge patch and strategic merge patch, both applied as a recursive
dict merge (lists are replaced, null deletes); no watches, no field selectors, no admission.

    server = FakeKubernetesServer().start()
    server.add_node("aks-agents-0", pool="agents", taints=["workload=agents:NoSchedule"])
    api_client = kubernetes.client.ApiClient(kubernetes.client.Configuration(host=server.base_url))
    ...
    server.stop()
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

Obj = dict[str, Any]

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True)
class _Kind:
    resource: str            # "deployments"
    group: str               # "apps", "" for the core group
    api_version: str         # "apps/v1"
    kind: str                # "Deployment"
    has_generation: bool = False

    @property
    def qualified(self) -> str:   # how the API server names the resource in messages
        return f"{self.resource}.{self.group}" if self.group else self.resource


DEPLOYMENTS = _Kind("deployments", "apps", "apps/v1", "Deployment", has_generation=True)
SERVICES = _Kind("services", "", "v1", "Service")
PODS = _Kind("pods", "", "v1", "Pod")
NODES = _Kind("nodes", "", "v1", "Node")
KINDS = {k.resource: k for k in (DEPLOYMENTS, SERVICES, PODS, NODES)}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class _Fault:
    status: int | None           # None: only delay, then answer normally
    method: str | None
    path_contains: str | None
    reason: str
    delay: float
    retry_after: int | None
    times: int

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path_contains is None or self.path_contains in path))


class ApiError(Exception):
    """Raised inside a handler; becomes a Status object."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status_object(self) -> Obj:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "details": self.details,
                "code": self.code}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge: dicts merge recursively, null deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)?\s*([A-Za-z0-9._-]*)\s*$")


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based label selectors: "a=b,c==d,e!=f,g" (set-based ones are a 400)."""
    for requirement in filter(None, (part.strip() for part in selector.split(","))):
        m = _REQUIREMENT.match(requirement)
        if not m:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {requirement!r}")
        key, op, value = m.groups()
        if op is None:
            if key not in labels:
                return False
        elif op == "!=":
            if labels.get(key) == value:
                return False
        elif labels.get(key) != value:
            return False
    return True


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ROUTES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/api/v1/nodes(?:/(?P<name>[^/]+))?$"), "nodes"),
    (re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments/(?P<name>[^/]+)/scale$"), "scale"),
    (re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/deployments(?:/(?P<name>[^/]+))?$"), "deployments"),
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services(?:/(?P<name>[^/]+))?$"), "services"),
    (re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+))?$"), "pods"),
]


class FakeKubernetesServer:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._rv = 0                      # the last resourceVersion handed out
        self._ids = itertools.count(1)
        # (resource, namespace, name) -> object; nodes use namespace "".
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._crash_looping: dict[tuple[str, str], int] = {}   # (namespace, deployment) -> restarts
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-k8s", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- Seeding, inspection and fault injection ----------------------------------------------

    def add_node(self, name: str, *, pool: str, ready: bool = True, taints: Iterable[str] = ()) -> Obj:
        """An AKS node: labelled with its pool (both labels AKS sets), tainted "key=value:Effect"."""
        parsed = []
        for taint in taints:
            key_value, _, effect = taint.rpartition(":")
            key, _, value = key_value.partition("=")
            parsed.append({"key": key, "effect": effect} | ({"value": value} if value else {}))
        node: Obj = {
            "metadata": {"name": name, "labels": {
                "agentpool": pool, "kubernetes.azure.com/agentpool": pool,
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": "Standard_D4s_v5",
            }},
            "spec": {"taints": parsed} if parsed else {},
            "status": {"conditions": []},
        }
        with self._lock:
            stored = self._store_new(NODES, "", node)
            self.set_node_ready(name, ready)
            return copy.deepcopy(stored)

    def set_node_ready(self, name: str, ready: bool) -> None:
        """Set the node's Ready condition, as the kubelet (or its absence) would."""
        with self._lock:
            node = self.objects[("nodes", "", name)]
            node["status"]["conditions"] = [{
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "KubeletReady" if ready else "KubeletNotReady",
                "message": "kubelet is posting ready status" if ready else "container runtime is down",
                "lastHeartbeatTime": _now(),
                "lastTransitionTime": _now(),
            }]
            node["metadata"]["resourceVersion"] = self._next_rv()

    def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """A copy of a stored object, or None."""
        with self._lock:
            obj = self.objects.get((resource, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str) -> list[Obj]:
        with self._lock:
            return [copy.deepcopy(obj) for (r, ns, _), obj in sorted(self.objects.items())
                    if r == resource and ns == namespace]

    def create(self, resource: str, namespace: str, obj: Obj) -> Obj:
        """Store an object as if someone else had created it (the controller runs as usual)."""
        with self._lock:
            return copy.deepcopy(self._create(KINDS[resource], namespace, obj))

    def crash_loop(self, namespace: str, deployment: str, restarts: int) -> None:
        """The deployment's containers keep crashing: not ready, `restarts` restarts each."""
        with self._lock:
            self._crash_looping[(namespace, deployment)] = restarts
            self._reconcile(namespace, deployment)

    def fail_next(self, status: int | None, *, method: str | None = None,
                  path_contains: str | None = None, reason: str = "", delay: float = 0.0,
                  retry_after: int | None = None, times: int = 1) -> None:
        """The next `times` matching requests wait `delay` seconds, then fail with `status` (or,
        when status is None, are answered normally)."""
        default_reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                           504: "Timeout", 403: "Forbidden"}
        with self._lock:
            self._faults.append(_Fault(status, method, path_contains,
                                       reason or default_reasons.get(status or 0, "InternalError"),
                                       delay, retry_after, times))

    # --- Storage ------------------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _store_new(self, kind: _Kind, namespace: str, obj: Obj) -> Obj:
        obj = copy.deepcopy(obj)
        obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
        meta = obj.setdefault("metadata", {})
        meta.pop("resourceVersion", None)
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = f"00000000-0000-4000-8000-{next(self._ids):012d}"
        meta["resourceVersion"] = self._next_rv()
        meta["creationTimestamp"] = _now()
        if kind.has_generation:
            meta["generation"] = 1
        self.objects[(kind.resource, namespace, meta["name"])] = obj
        return obj

    def _create(self, kind: _Kind, namespace: str, obj: Obj) -> Obj:
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{kind.kind} is invalid: metadata.name: Required value")
        if (kind.resource, namespace, name) in self.objects:
            raise ApiError(409, "AlreadyExists", f'{kind.qualified} "{name}" already exists',
                           {"name": name, "group": kind.group, "kind": kind.resource})
        if kind is DEPLOYMENTS:
            _validate_deployment(obj)
        if kind is SERVICES:
            obj = copy.deepcopy(obj)
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if not spec.get("clusterIP"):
                n = next(self._ids)
                spec["clusterIP"] = f"10.0.{n // 250}.{n % 250 + 2}"
            spec["clusterIPs"] = [spec["clusterIP"]]
            for port in spec.get("ports", []):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        stored = self._store_new(kind, namespace, obj)
        if kind is DEPLOYMENTS:
            stored.setdefault("status", {})
            self._reconcile(namespace, name)
        return stored

    def _get_or_404(self, kind: _Kind, namespace: str, name: str) -> Obj:
        obj = self.objects.get((kind.resource, namespace, name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{kind.qualified} "{name}" not found',
                           {"name": name, "group": kind.group, "kind": kind.resource})
        return obj

    def _update(self, kind: _Kind, namespace: str, name: str, new: Obj, *,
                check_version: bool) -> Obj:
        """Store `new` over the live object: what PUT and PATCH have in common."""
        live = self._get_or_404(kind, namespace, name)
        new = copy.deepcopy(new)
        meta = new.setdefault("metadata", {})
        if meta.get("name", name) != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        wanted_rv = meta.get("resourceVersion")
        if check_version and wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict",
                           f'Operation cannot be fulfilled on {kind.qualified} "{name}": the object '
                           "has been modified; please apply your changes to the latest version and try again",
                           {"name": name, "group": kind.group, "kind": kind.resource})
        if kind is DEPLOYMENTS:
            _validate_deployment(new)
            if new["spec"]["selector"] != live["spec"]["selector"]:
                raise ApiError(422, "Invalid", f'Deployment.apps "{name}" is invalid: spec.selector: '
                                               "field is immutable")
        if kind is SERVICES:
            spec, live_spec = new.setdefault("spec", {}), live["spec"]
            for ip_field in ("clusterIP", "clusterIPs"):   # kept when omitted, as since 1.20
                if not spec.get(ip_field):
                    spec[ip_field] = copy.deepcopy(live_spec[ip_field])
                elif spec[ip_field] != live_spec[ip_field]:
                    raise ApiError(422, "Invalid", f'Service "{name}" is invalid: spec.{ip_field}: '
                                                   "field is immutable")
        # What the server owns stays the server's; status only changes through the controller.
        for owned in ("uid", "creationTimestamp", "generation", "namespace"):
            if owned in live["metadata"]:
                meta[owned] = live["metadata"][owned]
        new["apiVersion"], new["kind"] = kind.api_version, kind.kind
        if "status" in live:
            new["status"] = live["status"]
        if kind.has_generation and new.get("spec") != live.get("spec"):
            meta["generation"] = live["metadata"]["generation"] + 1
        meta["resourceVersion"] = self._next_rv()
        self.objects[(kind.resource, namespace, name)] = new
        if kind is DEPLOYMENTS:
            self._reconcile(namespace, name)
        return new

    def _delete(self, kind: _Kind, namespace: str, name: str) -> Obj:
        obj = self._get_or_404(kind, namespace, name)
        del self.objects[(kind.resource, namespace, name)]
        if kind is DEPLOYMENTS:   # the garbage collector takes the ReplicaSets' pods with it
            for pod in self._pods_of(namespace, obj):
                del self.objects[("pods", namespace, pod["metadata"]["name"])]
            self._crash_looping.pop((namespace, name), None)
        return obj

    # --- The Deployment controller ------------------------------------------------------------

    def _pods_of(self, namespace: str, deployment: Obj) -> list[Obj]:
        match = deployment["spec"]["selector"].get("matchLabels", {})
        return [pod for (r, ns, _), pod in sorted(self.objects.items())
                if r == "pods" and ns == namespace
                and all(pod["metadata"].get("labels", {}).get(k) == v for k, v in match.items())]

    def _reconcile(self, namespace: str, name: str) -> None:
        deployment = self.objects[("deployments", namespace, name)]
        spec = deployment["spec"]
        replicas = spec.get("replicas", 1)
        template = spec["template"]
        template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        crash_restarts = self._crash_looping.get((namespace, name))

        current = [p for p in self._pods_of(namespace, deployment)
                   if p["metadata"]["labels"].get("pod-template-hash") == template_hash]
        for pod in self._pods_of(namespace, deployment):
            if pod not in current[:replicas]:
                del self.objects[("pods", namespace, pod["metadata"]["name"])]
        pods = current[:replicas]
        while len(pods) < replicas:
            pods.append(self._new_pod(namespace, name, template, template_hash))
        for pod in pods:
            self._set_pod_status(pod, crash_restarts)

        ready = 0 if crash_restarts is not None else replicas
        status: Obj = {"observedGeneration": deployment["metadata"]["generation"]}
        # The API server leaves zero counts out (omitempty); clients must cope.
        for key, value in (("replicas", replicas), ("updatedReplicas", replicas),
                           ("readyReplicas", ready), ("availableReplicas", ready),
                           ("unavailableReplicas", replicas - ready)):
            if value:
                status[key] = value
        available = ready >= replicas
        status["conditions"] = [
            {"type": "Available", "status": "True" if available else "False",
             "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
             "message": "Deployment has minimum availability." if available
             else "Deployment does not have minimum availability.",
             "lastUpdateTime": _now(), "lastTransitionTime": _now()},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": f'ReplicaSet "{name}-{template_hash}" has successfully progressed.',
             "lastUpdateTime": _now(), "lastTransitionTime": _now()},
        ]
        deployment["status"] = status

    def _new_pod(self, namespace: str, deployment: str, template: Obj, template_hash: str) -> Obj:
        suffix = f"{next(self._ids):05d}"[-5:]
        pod_spec = copy.deepcopy(template.get("spec", {}))
        selector = pod_spec.get("nodeSelector", {})
        nodes = [n for (r, _, _), n in sorted(self.objects.items()) if r == "nodes"
                 and all(n["metadata"]["labels"].get(k) == v for k, v in selector.items())]
        if nodes:
            pod_spec["nodeName"] = nodes[int(suffix) % len(nodes)]["metadata"]["name"]
        pod = {
            "metadata": {
                "name": f"{deployment}-{template_hash}-{suffix}",
                "labels": {**template.get("metadata", {}).get("labels", {}),
                           "pod-template-hash": template_hash},
                "annotations": dict(template.get("metadata", {}).get("annotations", {})),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": f"{deployment}-{template_hash}", "uid": "",
                                     "controller": True}],
            },
            "spec": pod_spec,
        }
        return self._store_new(PODS, namespace, pod)

    @staticmethod
    def _set_pod_status(pod: Obj, crash_restarts: int | None) -> None:
        crashing = crash_restarts is not None
        ready = "False" if crashing else "True"
        pod["status"] = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": ready}, {"type": "ContainersReady", "status": ready}],
            "containerStatuses": [{
                "name": c["name"], "image": c.get("image", ""), "imageID": "",
                "ready": not crashing, "started": not crashing,
                "restartCount": crash_restarts or 0,
                "state": ({"waiting": {"reason": "CrashLoopBackOff"}} if crashing
                          else {"running": {"startedAt": _now()}}),
            } for c in pod["spec"].get("containers", [])],
        }

    # --- Request handling ---------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, content_type: str,
               body: Any) -> tuple[int, Obj, dict[str, str]]:
        """Answer one request: (HTTP status, JSON object, extra headers)."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, content_type, copy.deepcopy(body)))
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if fault is not None:
            time.sleep(fault.delay)
            if fault.status is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                error = ApiError(fault.status, fault.reason, f"injected fault: {fault.reason}")
                return fault.status, error.status_object(), headers
        try:
            with self._lock:
                code, obj = self._route(method, path, query, content_type, body)
            return code, copy.deepcopy(obj), {}
        except ApiError as error:
            return error.code, error.status_object(), {}

    def _route(self, method: str, path: str, query: dict[str, list[str]], content_type: str,
               body: Any) -> tuple[int, Obj]:
        for pattern, resource in _ROUTES:
            m = pattern.match(path)
            if m:
                break
        else:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        namespace, name = m.groupdict().get("ns") or "", m.group("name")
        if resource == "scale":
            return self._scale(method, namespace, name, content_type, body)
        kind = KINDS[resource]

        if name is None:
            if method == "GET":
                return 200, self._list(kind, namespace, (query.get("labelSelector") or [""])[0])
            if method == "POST" and kind in (DEPLOYMENTS, SERVICES):
                return 201, self._create(kind, namespace, _object_body(body))
        elif method == "GET":
            return 200, self._get_or_404(kind, namespace, name)
        elif kind in (DEPLOYMENTS, SERVICES):
            if method == "PUT":
                return 200, self._update(kind, namespace, name, _object_body(body), check_version=True)
            if method == "PATCH":
                live = self._get_or_404(kind, namespace, name)
                patched = merge_patch(live, _patch_body(content_type, body))
                patched["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
                return 200, self._update(kind, namespace, name, patched, check_version=False)
            if method == "DELETE":
                deleted = self._delete(kind, namespace, name)
                if kind is SERVICES:
                    return 200, deleted
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "group": kind.group, "kind": kind.resource,
                                         "uid": deleted["metadata"]["uid"]}}
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the "
                                                f"requested resource ({method} {path})")

    def _list(self, kind: _Kind, namespace: str, label_selector: str) -> Obj:
        items = [obj for (r, ns, _), obj in sorted(self.objects.items())
                 if r == kind.resource and ns == namespace
                 and selector_matches(label_selector, obj["metadata"].get("labels", {}))]
        return {"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(self._rv)}, "items": items}

    def _scale(self, method: str, namespace: str, name: str, content_type: str,
               body: Any) -> tuple[int, Obj]:
        deployment = self._get_or_404(DEPLOYMENTS, namespace, name)
        if method in ("PATCH", "PUT"):
            current = _scale_object(deployment)
            wanted = (merge_patch(current, _patch_body(content_type, body)) if method == "PATCH"
                      else _object_body(body))
            replicas = (wanted.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                                               "must be greater than or equal to 0")
            updated = merge_patch(deployment, {"spec": {"replicas": replicas}})
            deployment = self._update(DEPLOYMENTS, namespace, name, updated, check_version=False)
        elif method != "GET":
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on scale")
        return 200, _scale_object(deployment)


def _validate_deployment(obj: Obj) -> None:
    name = obj["metadata"].get("name")
    spec = obj.get("spec") or {}
    match = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not match:
        raise ApiError(422, "Invalid", f'Deployment.apps "{name}" is invalid: spec.selector: Required value')
    if any(labels.get(k) != v for k, v in match.items()):
        raise ApiError(422, "Invalid", f'Deployment.apps "{name}" is invalid: spec.template.metadata.labels: '
                                       "`selector` does not match template `labels`")
    if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
        raise ApiError(422, "Invalid", f'Deployment.apps "{name}" is invalid: '
                                       "spec.template.spec.containers: Required value")


def _scale_object(deployment: Obj) -> Obj:
    meta = deployment["metadata"]
    match = deployment["spec"]["selector"].get("matchLabels", {})
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in
                     ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
        "spec": {"replicas": deployment["spec"].get("replicas", 1)},
        "status": {"replicas": deployment.get("status", {}).get("replicas", 0),
                   "selector": ",".join(f"{k}={v}" for k, v in match.items())},
    }


def _object_body(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    return body


def _patch_body(content_type: str, body: Any) -> Obj:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
        raise ApiError(415, "UnsupportedMediaType",
                       f"the fake API server does not support patch type {media_type!r}")
    return _object_body(body)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeKubernetesServer
    protocol_version = "HTTP/1.1"   # keep-alive, as urllib3 expects
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed ACK

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, ApiError(400, "BadRequest", "invalid JSON body").status_object(), {})
            return
        code, obj, headers = self.fake.handle(self.command, self.path,
                                              self.headers.get("Content-Type", ""), body)
        self._send(code, obj, headers)

    def _send(self, code: int, obj: Obj, headers: dict[str, str]) -> None:
        payload = json.dumps(obj).encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):   # the client gave up (a timeout test)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:   # noqa: A002 - the base class's name
        pass

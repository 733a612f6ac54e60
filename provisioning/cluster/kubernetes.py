"""ClusterBackend over the official Kubernetes client (CoreV1Api, AppsV1Api).

Create-or-update is "create, and on 409 AlreadyExists read and replace": the replace carries the
object's resourceVersion (so a concurrent writer makes it fail with 409 Conflict, retried here),
and keeps what the cluster owns on the live object: the Service's clusterIP and the pod template's
restartedAt annotation (dropping that would roll the pods on every apply).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .base import (
    AGENT_POOL,
    AGENT_TOLERATION,
    CONTAINER_PORT,
    DEFAULT_NAMESPACE,
    POOL_LABEL,
    RESTARTED_AT_ANNOTATION,
    SERVICE_PORT,
    AgentWorkloadSpec,
    ClusterError,
    NodePoolState,
    NodeState,
    WorkloadState,
    format_taint,
    parse_taint,
    selector_labels,
    workload_labels,
)
from provisioning.text import shorten

T = TypeVar("T")

# Object patches to built-in kinds are strategic merge patches. Say so: the generated client's
# default PATCH Content-Type is the first JSON type listed, JSON Patch (its REST layer swaps that for
# strategic merge when the body is not a list, but nothing here should depend on that).
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
CONTAINER_NAME = "agent"
_REPLACE_ATTEMPTS = 3


class KubernetesCluster:
    kind = "kubernetes"

    def __init__(
        self,
        api_client: client.ApiClient,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        request_timeout: float | tuple[float, float] = (5.0, 30.0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self._timeout = request_timeout
        self._clock = clock

    # --- Construction -------------------------------------------------------------------------

    @classmethod
    def from_kubeconfig(cls, config_file: str | None = None, context: str | None = None,
                        namespace: str = DEFAULT_NAMESPACE) -> KubernetesCluster:
        """From a kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."""
        try:
            api_client = config.new_client_from_config(config_file=config_file, context=context,
                                                       persist_config=False)
        except config.ConfigException as exc:
            raise ClusterError("ConfigError", str(exc)) from exc
        return cls(api_client, namespace)

    @classmethod
    def in_cluster(cls, namespace: str = DEFAULT_NAMESPACE) -> KubernetesCluster:
        """From the pod's service account, when the portal itself runs on the cluster."""
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as exc:
            raise ClusterError("ConfigError", str(exc)) from exc
        return cls(client.ApiClient(configuration), namespace)

    # --- Nodes --------------------------------------------------------------------------------

    def list_node_pools(self) -> list[NodePoolState]:
        with _translated():
            nodes = self.core.list_node(_request_timeout=self._timeout).items
        pools: dict[str, list[NodeState]] = {}
        for node in nodes:
            state = _node_state(node)
            pools.setdefault(state.pool, []).append(state)
        return [NodePoolState(name=pool, nodes=tuple(sorted(members, key=lambda n: n.name)))
                for pool, members in sorted(pools.items())]

    # --- Workloads ----------------------------------------------------------------------------

    def apply_agent_workload(self, spec: AgentWorkloadSpec) -> WorkloadState:
        self._apply_deployment(spec)
        self._apply_service(spec)
        state = self.get_workload(spec.name)
        if state is None:   # deleted between our write and our read
            raise ClusterError("NotFound", f"deployment {spec.name} vanished after apply", transient=True)
        return state

    def get_workload(self, name: str) -> WorkloadState | None:
        deployment = self._read(self.apps.read_namespaced_deployment, name)
        if deployment is None:
            return None
        service = self._read(self.core.read_namespaced_service, name)
        label_selector = ",".join(f"{k}={v}" for k, v in selector_labels(name).items())
        with _translated():
            pods = self.core.list_namespaced_pod(self.namespace, label_selector=label_selector,
                                                 _request_timeout=self._timeout).items
        return _workload_state(deployment, service, pods)

    def scale(self, name: str, replicas: int) -> WorkloadState:
        if replicas < 0:
            raise ValueError(f"replicas must be >= 0, got {replicas}")
        with _translated():
            self.apps.patch_namespaced_deployment_scale(
                name, self.namespace, {"spec": {"replicas": replicas}},
                _content_type=STRATEGIC_MERGE_PATCH, _request_timeout=self._timeout)
        return self._must_get(name)

    def restart(self, name: str) -> WorkloadState:
        """What `kubectl rollout restart` does: stamp the pod template, so the pods roll."""
        # kubectl writes RFC 3339 seconds; microseconds keep two restarts in one second distinct.
        stamp = self._clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: stamp}}}}}
        with _translated():
            self.apps.patch_namespaced_deployment(name, self.namespace, body,
                                                  _content_type=STRATEGIC_MERGE_PATCH,
                                                  _request_timeout=self._timeout)
        return self._must_get(name)

    def delete_workload(self, name: str) -> bool:
        deleted_deployment = self._delete(self.apps.delete_namespaced_deployment, name)
        deleted_service = self._delete(self.core.delete_namespaced_service, name)
        return deleted_deployment or deleted_service

    # --- Helpers ------------------------------------------------------------------------------

    def _must_get(self, name: str) -> WorkloadState:
        state = self.get_workload(name)
        if state is None:
            raise ClusterError("NotFound", f"deployment {name} not found in {self.namespace}", status=404)
        return state

    def _read(self, read: Callable[..., T], name: str) -> T | None:
        try:
            with _translated():
                return read(name, self.namespace, _request_timeout=self._timeout)
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def _delete(self, delete: Callable[..., Any], name: str) -> bool:
        try:
            with _translated():
                delete(name, self.namespace, propagation_policy="Background",
                       _request_timeout=self._timeout)
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _apply_deployment(self, spec: AgentWorkloadSpec) -> None:
        self._create_or_replace(_deployment_body(spec, self.api_client),
                                self.apps.create_namespaced_deployment,
                                self.apps.read_namespaced_deployment,
                                self.apps.replace_namespaced_deployment, _keep_restarted_at)

    def _apply_service(self, spec: AgentWorkloadSpec) -> None:
        self._create_or_replace(_service_body(spec, self.api_client),
                                self.core.create_namespaced_service,
                                self.core.read_namespaced_service,
                                self.core.replace_namespaced_service, _keep_cluster_ip)

    def _create_or_replace(self, desired: dict[str, Any], create: Callable[..., Any],
                           read: Callable[..., Any], replace: Callable[..., Any],
                           keep: Callable[[Any, dict[str, Any]], None]) -> None:
        """Create; on 409 AlreadyExists replace the live object, guarded by its resourceVersion,
        reading it again when another writer got in between (409 Conflict)."""
        try:
            with _translated():
                create(self.namespace, desired, _request_timeout=self._timeout)
            return
        except ClusterError as exc:
            if exc.status != 409:
                raise
        name = desired["metadata"]["name"]
        for attempt in range(1, _REPLACE_ATTEMPTS + 1):
            live = self._read(read, name)
            if live is None:
                raise ClusterError("Conflict", f"{name} was deleted while being updated",
                                   transient=True, status=409)
            body = copy.deepcopy(desired)
            keep(live, body)
            if live.metadata.annotations:   # others' (the controller's revision, say) stay
                body["metadata"]["annotations"] = {**live.metadata.annotations,
                                                   **body["metadata"].get("annotations", {})}
            body["metadata"]["resourceVersion"] = live.metadata.resource_version
            try:
                with _translated():
                    replace(name, self.namespace, body, _request_timeout=self._timeout)
                return
            except ClusterError as exc:
                if exc.status != 409 or attempt == _REPLACE_ATTEMPTS:
                    raise


def _keep_restarted_at(live: client.V1Deployment, body: dict[str, Any]) -> None:
    """A replace without the live restartedAt annotation would roll the pods on every apply."""
    template = live.spec.template if live.spec else None
    annotations = (template.metadata.annotations if template and template.metadata else None) or {}
    if RESTARTED_AT_ANNOTATION in annotations:
        body["spec"]["template"]["metadata"].setdefault("annotations", {})[RESTARTED_AT_ANNOTATION] = \
            annotations[RESTARTED_AT_ANNOTATION]


def _keep_cluster_ip(live: client.V1Service, body: dict[str, Any]) -> None:
    """clusterIP is assigned by the API server and immutable."""
    if live.spec is not None:
        if live.spec.cluster_ip:
            body["spec"]["clusterIP"] = live.spec.cluster_ip
        if live.spec.cluster_ips:
            body["spec"]["clusterIPs"] = list(live.spec.cluster_ips)


# --- Building the objects -----------------------------------------------------------------------

def _deployment_body(spec: AgentWorkloadSpec, api_client: client.ApiClient) -> dict[str, Any]:
    key, value, effect = parse_taint(AGENT_TOLERATION)
    labels = workload_labels(spec.name)
    container = client.V1Container(
        name=CONTAINER_NAME,
        image=spec.image_ref,
        ports=[client.V1ContainerPort(name="http", container_port=CONTAINER_PORT, protocol="TCP")],
        env=[client.V1EnvVar(name=k, value=v) for k, v in spec.container_env().items()],
        resources=client.V1ResourceRequirements(
            requests={"cpu": spec.cpu_request, "memory": spec.memory_request},
            limits={"cpu": spec.cpu_limit, "memory": spec.memory_limit},
        ),
        readiness_probe=client.V1Probe(
            http_get=client.V1HTTPGetAction(path=spec.health_path, port=CONTAINER_PORT),
            period_seconds=10,
        ),
    )
    deployment = client.V1Deployment(
        api_version="apps/v1",
        kind="Deployment",
        metadata=client.V1ObjectMeta(name=spec.name, labels=labels),
        spec=client.V1DeploymentSpec(
            replicas=spec.replicas,
            selector=client.V1LabelSelector(match_labels=selector_labels(spec.name)),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[container],
                    node_selector={POOL_LABEL: AGENT_POOL},
                    tolerations=[client.V1Toleration(key=key, operator="Equal", value=value,
                                                     effect=effect)],
                ),
            ),
        ),
    )
    body: dict[str, Any] = api_client.sanitize_for_serialization(deployment)
    return body


def _service_body(spec: AgentWorkloadSpec, api_client: client.ApiClient) -> dict[str, Any]:
    service = client.V1Service(
        api_version="v1",
        kind="Service",
        metadata=client.V1ObjectMeta(name=spec.name, labels=workload_labels(spec.name)),
        spec=client.V1ServiceSpec(
            type="ClusterIP",
            selector=selector_labels(spec.name),
            ports=[client.V1ServicePort(name="http", port=SERVICE_PORT, target_port=CONTAINER_PORT,
                                        protocol="TCP")],
        ),
    )
    body: dict[str, Any] = api_client.sanitize_for_serialization(service)
    return body


# --- Reading them back --------------------------------------------------------------------------

def _node_state(node: client.V1Node) -> NodeState:
    labels = (node.metadata.labels if node.metadata else None) or {}
    conditions = (node.status.conditions if node.status else None) or []
    ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
    taints = (node.spec.taints if node.spec else None) or []
    return NodeState(
        name=node.metadata.name if node.metadata and node.metadata.name else "",
        ready=ready,
        taints=tuple(format_taint(t.key, t.value, t.effect) for t in taints),
        pool=labels.get(POOL_LABEL, ""),
    )


def _workload_state(deployment: client.V1Deployment, service: client.V1Service | None,
                    pods: list[client.V1Pod]) -> WorkloadState:
    meta = deployment.metadata
    spec = deployment.spec
    status = deployment.status
    template = spec.template if spec else None
    pod_spec = template.spec if template else None
    containers = pod_spec.containers if pod_spec else []
    container = next((c for c in containers if c.name == CONTAINER_NAME),
                     containers[0] if containers else None)
    annotations = (template.metadata.annotations if template and template.metadata else None) or {}
    restarts = sum(cs.restart_count or 0
                   for pod in pods if pod.status
                   for cs in (pod.status.container_statuses or []))
    service_ports: tuple[tuple[int, int | str], ...] = ()
    if service is not None and service.spec is not None:
        # targetPort defaults to port; it may also name a container port.
        service_ports = tuple((p.port, p.target_port if p.target_port is not None else p.port)
                              for p in (service.spec.ports or []))
    return WorkloadState(
        name=meta.name if meta and meta.name else "",
        image=(container.image or "") if container else "",
        desired_replicas=spec.replicas if spec and spec.replicas is not None else 1,
        ready_replicas=(status.ready_replicas or 0) if status else 0,
        available_replicas=(status.available_replicas or 0) if status else 0,
        restarts=restarts,
        generation=(meta.generation or 0) if meta else 0,
        restarted_at=annotations.get(RESTARTED_AT_ANNOTATION),
        conditions=tuple(f"{c.type}={c.status}" for c in ((status.conditions or []) if status else [])),
        node_selector=dict((pod_spec.node_selector or {}) if pod_spec else {}),
        tolerations=tuple(format_taint(t.key or "", t.value, t.effect or "")
                          for t in ((pod_spec.tolerations or []) if pod_spec else [])),
        env={e.name: e.value or "" for e in ((container.env or []) if container else [])},
        service_ports=service_ports,
    )



# --- Errors -------------------------------------------------------------------------------------

_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@contextmanager
def _translated() -> Iterator[None]:
    """Turn the client's and urllib3's exceptions into ClusterError."""
    try:
        yield
    except ApiException as exc:
        raise _from_api_exception(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _from_transport_error(exc) from exc


def _from_transport_error(exc: Exception) -> ClusterError:
    """No usable answer: the connection failed, timed out, or urllib3 ran out of retries (it
    retries idempotent requests on connection errors, and on 413/429/503 with Retry-After)."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
    # NewConnectionError subclasses ConnectTimeoutError, so it is tested first.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        code = "ConnectionError"
    elif isinstance(reason, (urllib3.exceptions.TimeoutError, TimeoutError)):
        code = "Timeout"
    elif isinstance(reason, urllib3.exceptions.ResponseError):
        code = "TooManyRetries"
    else:
        code = "ConnectionError"
    return ClusterError(code, str(reason), transient=True)


def _from_api_exception(exc: ApiException) -> ClusterError:
    status = int(exc.status or 0)
    code, message = exc.reason or "Error", str(exc.reason or "")
    if exc.body:
        try:
            body = json.loads(exc.body)
        except (TypeError, ValueError):
            message = shorten(str(exc.body), 500)
        else:
            if isinstance(body, dict):
                code = body.get("reason") or code
                message = body.get("message") or message
    retry_after: float | None = None
    headers = exc.headers or {}
    if headers.get("Retry-After"):
        try:
            retry_after = float(headers["Retry-After"])
        except ValueError:
            retry_after = None
    if status == 0:   # no response: the client failed before or while sending (e.g. TLS)
        return ClusterError("ConnectionError", message, transient=True)
    transient = status in _TRANSIENT_STATUSES or (status == 409 and code == "Conflict")
    return ClusterError(code, message, transient=transient, status=status, retry_after=retry_after)

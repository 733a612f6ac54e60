"""Azure: the CloudBackend over azure-mgmt-resource-deployments, at subscription scope, or at the scope of
a resource group when the call names one (`resource_group=`, for templates whose targetScope is
'resourceGroup').

How the calls map (subscription scope; with a resource group, the same operation without
`_at_subscription_scope`, given the group, and no `location` in the body):

    what_if       deployments.begin_what_if_at_subscription_scope(...).result()
    begin_deploy  deployments.begin_create_or_update_at_subscription_scope: sends the PUT and returns
                  at once, with the poller's continuation token and ARM's correlation id
    get_status    deployments.get_at_subscription_scope + deployment_operations.list_at_subscription_scope,
                  nested deployments (Bicep modules) expanded into their own resources
    cancel        deployments.cancel_at_subscription_scope
    delete_resources
                  resources.begin_delete_by_id (azure-mgmt-resource's ResourceManagementClient), each
                  poller waited on: 200 or 202 (then polled to the end) is Deleted, 204 or 404 NotFound
    resume        rebuilds the SDK poller from a continuation token, in any process
    wait          resume() and block until the deployment ends, then get_status()

Errors: every azure-core error becomes a CloudError carrying ARM's code, message and details. 429, 408
and 5xx are `transient` with `retry_after` from the Retry-After header. The SDK's own retry policy
runs first (`retry_total`, 3 by default here, 10 in the SDK): it sleeps for Retry-After and tries again,
so a CloudError(transient=True) means the SDK already gave up and the caller's backoff takes over.
Pass retry_total=0 to leave every retry to the caller.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.polling import LROPoller
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.resource.deployments import DeploymentsMgmtClient
from azure.mgmt.resource.deployments.models import (
    Deployment,
    DeploymentExtended,
    DeploymentOperation,
    DeploymentParameter,
    DeploymentProperties,
    DeploymentWhatIf,
    DeploymentWhatIfProperties,
    ErrorResponse,
    WhatIfOperationResult,
    WhatIfPropertyChange,
)
from azure.mgmt.resource.resources import ResourceManagementClient

from provisioning.telemetry import ThrottlingMetricsPolicy

from .base import (
    NO_CREDENTIAL_MESSAGE,
    CloudError,
    DeleteOutcome,
    DeleteResult,
    DeploymentHandle,
    DeploymentStatus,
    ErrorCode,
    PropertyChange,
    ProvisioningState,
    ResourceOperation,
    TemplateSpec,
    WhatIfChange,
    WhatIfResult,
    api_versions_for,
    is_missing_credential,
    parse_resource_id,
)

ARM_BASE_URL = "https://management.azure.com"
DEPLOYMENTS_TYPE = "Microsoft.Resources/deployments"
_MAX_NESTING = 5
# 404s on a DELETE that say the address is wrong, not that the resource is gone.
_NOT_GONE = frozenset({"SubscriptionNotFound", "InvalidResourceType", "InvalidResourceNamespace",
                       "NoRegisteredProviderFound"})
_KNOWN_STATES = frozenset({
    ProvisioningState.ACCEPTED, ProvisioningState.RUNNING, ProvisioningState.SUCCEEDED,
    ProvisioningState.FAILED, ProvisioningState.CANCELED,
})


def client_options(transport: HttpTransport[Any, Any] | None, **options: Any) -> dict[str, Any]:
    """Keyword arguments for an azure-mgmt client: pipeline options, and the transport when one is
    given (tests answer the SDK's HTTP in-process through it). Every client counts its throttled
    answers for the metrics (provisioning/telemetry.py)."""
    options = {"per_retry_policies": [ThrottlingMetricsPolicy()], **options}
    return {**options, "transport": transport} if transport is not None else dict(options)


class AzureCloud:
    """CloudBackend for one subscription. `transport` replaces the HTTP layer (tests pass an in-process
    fake ARM); `polling_interval` is the seconds between LRO polls when ARM sends no Retry-After;
    other keyword arguments go to DeploymentsMgmtClient and ResourceManagementClient (azure-core
    pipeline options)."""

    kind = "azure"

    def __init__(
        self,
        subscription_id: str,
        credential: TokenCredential,
        *,
        transport: HttpTransport[Any, Any] | None = None,
        polling_interval: float | None = None,
        base_url: str = ARM_BASE_URL,
        retry_total: int = 3,
        **client_kwargs: Any,
    ) -> None:
        self.subscription_id = subscription_id
        self.base_url = base_url
        self.polling_interval: float = 30 if polling_interval is None else polling_interval
        options = client_options(transport, retry_total=retry_total, polling_interval=self.polling_interval,
                                 **client_kwargs)
        self.client = DeploymentsMgmtClient(credential, subscription_id, base_url, **options)
        self.resources = ResourceManagementClient(credential, subscription_id, base_url, **options)

    def close(self) -> None:
        self.client.close()
        self.resources.close()

    # --- CloudBackend ---------------------------------------------------------------------------

    def what_if(self, *, deployment_name: str, location: str, template: TemplateSpec,
                parameters: dict[str, Any], mode: str = "Incremental",
                resource_group: str | None = None) -> WhatIfResult:
        """ARM's what-if. HTTP failures raise CloudError; a what-if that ARM ran and reported Failed
        comes back as WhatIfResult(status="Failed", error=...)."""
        body = DeploymentWhatIf(location=None if resource_group else location, properties=DeploymentWhatIfProperties(
            mode=mode, template=_arm_template(template), parameters=_wrap_parameters(parameters)))
        with _cloud_errors():
            if resource_group:
                poller = self.client.deployments.begin_what_if(resource_group, deployment_name, body)
            else:
                poller = self.client.deployments.begin_what_if_at_subscription_scope(deployment_name, body)
            result = poller.result()
        return _what_if_result(result)

    def begin_deploy(self, *, deployment_name: str, location: str, template: TemplateSpec,
                     parameters: dict[str, Any], resource_group: str | None = None) -> DeploymentHandle:
        """PUT the deployment and return without polling. If a deployment by that name is still
        running, ARM answers 409 DeploymentActive: the handle then names that deployment, with its
        correlation id and no continuation token (this process did not start it; poll get_status)."""
        body = Deployment(location=None if resource_group else location, properties=DeploymentProperties(
            mode="Incremental", template=_arm_template(template), parameters=_wrap_parameters(parameters)))
        polling = _StartOnlyPolling(self.polling_interval, path_format_arguments={"endpoint": self.base_url})
        try:
            if resource_group:
                poller = self.client.deployments.begin_create_or_update(resource_group, deployment_name, body,
                                                                        polling=polling)
            else:
                poller = self.client.deployments.begin_create_or_update_at_subscription_scope(
                    deployment_name, body, polling=polling)
        except AzureError as exc:
            error = cloud_error_from(exc)
            if error.code != ErrorCode.DEPLOYMENT_ACTIVE:
                raise error from exc
            with _cloud_errors():
                running = self._get(deployment_name, resource_group)
            props = running.properties
            return DeploymentHandle(deployment_name=deployment_name, adopted=True, resource_group=resource_group or "",
                                    correlation_id=(props.correlation_id if props is not None else None) or "")
        return DeploymentHandle(deployment_name=deployment_name, continuation_token=poller.continuation_token(),
                                correlation_id=polling.correlation_id, resource_group=resource_group or "")

    def get_status(self, *, deployment_name: str, resource_group: str | None = None) -> DeploymentStatus:
        with _cloud_errors():
            deployment = self._get(deployment_name, resource_group)
            if resource_group:
                listed = self.client.deployment_operations.list(resource_group, deployment_name)
            else:
                listed = self.client.deployment_operations.list_at_subscription_scope(deployment_name)
            operations = self._expand(listed, depth=0)
        props = deployment.properties
        error = props.error if props is not None else None
        return DeploymentStatus(
            deployment_name=deployment_name,
            provisioning_state=_state(props.provisioning_state if props is not None else None),
            correlation_id=(props.correlation_id if props is not None else None) or "",
            operations=tuple(operations),
            error=_from_error_response(error),
            outputs=_outputs(props.outputs if props is not None else None),
        )

    def cancel(self, *, deployment_name: str, resource_group: str | None = None) -> None:
        """ARM answers 409 DeploymentCannotBeCancelled for a deployment that has already ended."""
        with _cloud_errors():
            if resource_group:
                self.client.deployments.cancel(resource_group, deployment_name)
            else:
                self.client.deployments.cancel_at_subscription_scope(deployment_name)

    def delete_resources(self, *, resource_ids: Sequence[str],
                         api_versions: Mapping[str, str] | None = None) -> list[DeleteResult]:
        """DELETE each id and wait for ARM to finish it (see CloudBackend.delete_resources). Per ARM's
        RPC, 204 on the DELETE means there was nothing to delete, as does a 404 (the resource, or its
        parent or group, is gone). A transient error raises, even after earlier ids were deleted: the
        retry finds those NotFound."""
        return [self._delete(rid, api_version) for rid, api_version in api_versions_for(resource_ids, api_versions)]

    # --- Resuming -------------------------------------------------------------------------------

    def resume(self, continuation_token: str) -> LROPoller[DeploymentExtended]:
        """The SDK poller for a deployment begun elsewhere, rebuilt from DeploymentHandle.continuation_token
        (another process, another client instance: the token carries the PUT's response, polling URL
        included). It polls on a background thread: .result() blocks until the deployment ends and
        returns it, or raises HttpResponseError when it ended Failed or Canceled; .done() does not
        block. The token is azure-core's (base64 JSON in 1.41; older releases pickled, and refuse
        each other's tokens): keep azure-core the same in every process that shares tokens."""
        # deployment_name and parameters are not used when a continuation token is given.
        return self.client.deployments.begin_create_or_update_at_subscription_scope(
            "", cast(Deployment, None), continuation_token=continuation_token)

    def wait(self, handle: DeploymentHandle, *, timeout: float | None = None) -> DeploymentStatus:
        """Block until the deployment ends (or `timeout` seconds pass), then return get_status().
        Polls through resume() when the handle has a continuation token, else by get_status()."""
        if handle.continuation_token:
            try:
                self.resume(handle.continuation_token).wait(timeout)
            except HttpResponseError as exc:
                # The poller raises when the LRO ends Failed or Canceled, on a 200 poll; get_status
                # reports that outcome. Anything else is a real HTTP failure.
                if exc.status_code is None or exc.status_code >= 400:
                    raise cloud_error_from(exc) from exc
            except AzureError as exc:
                raise cloud_error_from(exc) from exc
            return self.get_status(deployment_name=handle.deployment_name, resource_group=handle.resource_group or None)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.get_status(deployment_name=handle.deployment_name,
                                     resource_group=handle.resource_group or None)
            if status.provisioning_state in ProvisioningState.TERMINAL:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(self.polling_interval)

    # --- Internals ------------------------------------------------------------------------------

    def _get(self, deployment_name: str, resource_group: str | None) -> DeploymentExtended:
        if resource_group:
            return self.client.deployments.get(resource_group, deployment_name)
        return self.client.deployments.get_at_subscription_scope(deployment_name)

    def _expand(self, operations: Iterable[DeploymentOperation], *, depth: int) -> list[ResourceOperation]:
        """Resource operations, oldest first. A Bicep module is a nested deployment: its line is
        replaced by its own resources' lines (listed at its scope) once it has any."""
        result: list[ResourceOperation] = []
        for operation in sorted(operations, key=_timestamp):
            props = operation.properties
            target = props.target_resource if props is not None else None
            if props is None or target is None or props.provisioning_operation == "EvaluateDeploymentOutput":
                continue
            if depth < _MAX_NESTING and (target.resource_type or "").lower() == DEPLOYMENTS_TYPE.lower():
                nested = self._nested_operations(target.id or "")
                if nested:
                    result.extend(self._expand(nested, depth=depth + 1))
                    continue
            result.append(_resource_operation(operation))
        return result

    def _delete(self, rid: str, api_version: str) -> DeleteResult:
        polling = _DeletePolling(self.polling_interval, path_format_arguments={"endpoint": self.base_url})
        try:
            poller = self.resources.resources.begin_delete_by_id(rid, api_version=api_version, polling=polling)
            poller.result()
        except AzureError as exc:
            error = cloud_error_from(exc)
            if error.transient:
                raise error from exc
            # A 404 counts only on the DELETE itself: on a poll it would be the operation that is missing.
            if (polling.initial_status is None and isinstance(exc, HttpResponseError)
                    and exc.status_code == 404 and error.code not in _NOT_GONE):
                return DeleteResult(rid, DeleteOutcome.NOT_FOUND)
            return DeleteResult(rid, DeleteOutcome.FAILED, error)
        if polling.initial_status == 204:
            return DeleteResult(rid, DeleteOutcome.NOT_FOUND)
        return DeleteResult(rid, DeleteOutcome.DELETED)

    def _nested_operations(self, deployment_id: str) -> list[DeploymentOperation]:
        parts = [p for p in deployment_id.split("/") if p]
        lowered = [p.lower() for p in parts]
        try:
            if len(parts) == 8 and lowered[0] == "subscriptions" and lowered[2] == "resourcegroups":
                return list(self.client.deployment_operations.list(parts[3], parts[7]))
            if len(parts) == 6 and lowered[0] == "subscriptions" and parts[1] == self.subscription_id:
                return list(self.client.deployment_operations.list_at_subscription_scope(parts[5]))
        except ResourceNotFoundError:
            pass  # not created yet, or gone: keep the module's own line
        return []


def default_azure_cloud(subscription_id: str, **kwargs: Any) -> AzureCloud:
    """AzureCloud with azure-identity's DefaultAzureCredential (environment, workload identity,
    managed identity, Azure CLI login, ...)."""
    from azure.identity import DefaultAzureCredential

    return AzureCloud(subscription_id, DefaultAzureCredential(), **kwargs)


def cloud_error_from(exc: AzureError) -> CloudError:
    """An azure-core error as a CloudError: ARM's error body when there is one; 408, 429 and 5xx
    (and failures to reach ARM at all) are transient."""
    if is_missing_credential(exc):
        return CloudError(code=ErrorCode.NO_CREDENTIAL, message=NO_CREDENTIAL_MESSAGE)
    response = getattr(exc, "response", None)
    if isinstance(exc, HttpResponseError) and response is not None:
        status = exc.status_code or 0
        body = _json(response)
        error_body = body.get("error") if isinstance(body, dict) else None
        if isinstance(error_body, Mapping) and error_body.get("code"):
            error = _from_json(error_body)
        elif exc.error is not None and exc.error.code:
            error = _from_json({"code": exc.error.code, "message": exc.error.message,
                                "details": [{"code": d.code, "message": d.message} for d in exc.error.details]})
        else:
            error = CloudError(code=exc.reason or f"Http{status}", message=exc.message or str(exc))
        transient = status in (408, 429) or status >= 500
        retry_after = _retry_after(response.headers) if transient else None
        return dataclasses.replace(error, transient=transient, retry_after=retry_after)
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return CloudError(code="ServiceUnreachable", message=str(exc), transient=True)
    return CloudError(code=type(exc).__name__, message=str(exc))


@contextlib.contextmanager
def _cloud_errors() -> Iterator[None]:
    try:
        yield
    except AzureError as exc:
        raise cloud_error_from(exc) from exc


class _StartOnlyPolling(ARMPolling):
    """ARMPolling that stops at the initial response.

    LROPoller starts a daemon thread that polls until the operation ends, unless its polling method
    says finished() right after initialize(). begin_deploy wants only the PUT's answer and its
    continuation token (the portal polls with get_status from a task, and resume()/wait() poll where
    someone wants to block), so this one says finished. Never call .result() on its poller: it would
    return the initial response, not the end of the deployment. It also keeps the correlation id."""

    correlation_id: str = ""

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        super().initialize(client, initial_response, deserialization_callback)
        response = initial_response.http_response
        body = _json(response)
        props = body.get("properties") if isinstance(body, dict) else None
        self.correlation_id = (
            (props.get("correlationId") if isinstance(props, dict) else None)
            or response.headers.get("x-ms-correlation-request-id")
            or ""
        )

    def finished(self) -> bool:
        return True


class _DeletePolling(ARMPolling):
    """ARMPolling that remembers the DELETE's own status code (None until it answered): the final
    response alone cannot tell a resource that was deleted from one that was never there."""

    initial_status: int | None = None

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        self.initial_status = initial_response.http_response.status_code
        super().initialize(client, initial_response, deserialization_callback)


def _arm_template(template: TemplateSpec) -> dict[str, Any]:
    if template.arm_template is None:
        raise CloudError(
            code=ErrorCode.NO_COMPILED_TEMPLATE,
            message=(
                f"Template '{template.name}' has no compiled ARM JSON, and Azure deploys only ARM JSON: "
                "install the Bicep CLI (`az bicep install` or the bicep binary) and set PORTAL_BICEP "
                "(path to bicep or az) so the portal can compile it."
            ),
        )
    return template.arm_template


def _wrap_parameters(parameters: Mapping[str, Any]) -> dict[str, DeploymentParameter]:
    return {name: DeploymentParameter(value=value) for name, value in parameters.items()}


def _what_if_result(result: WhatIfOperationResult) -> WhatIfResult:
    changes = []
    for change in (result.properties.changes if result.properties is not None else None) or ():
        rid = change.resource_id or ""
        parsed_type, parsed_name = parse_resource_id(rid)
        changes.append(WhatIfChange(
            change_type=_text(change.change_type),
            resource_id=rid,
            resource_type=change.resource_type or parsed_type,
            resource_name=parsed_name,
            delta=tuple(d.path for d in change.delta or ()),
            properties=tuple(_property_changes(change.delta or ())),
            unsupported_reason=change.unsupported_reason or "",
        ))
    return WhatIfResult(status=_text(result.status) or "Succeeded", changes=tuple(changes),
                        error=_from_error_response(result.error))


def _property_changes(delta: Iterable[WhatIfPropertyChange], prefix: str = "") -> Iterator[PropertyChange]:
    """Each changed property with its before and after; an Array or object change's children under
    their own paths (`tags.team`, `properties.agentPoolProfiles.0.count`)."""
    for item in delta:
        path = f"{prefix}.{item.path}" if prefix and item.path else (item.path or prefix)
        if item.children:
            yield from _property_changes(item.children, path)
        else:
            yield PropertyChange(path=path, change_type=_text(item.property_change_type),
                                 before=item.before, after=item.after)


def _resource_operation(operation: DeploymentOperation) -> ResourceOperation:
    props = operation.properties
    assert props is not None and props.target_resource is not None
    target = props.target_resource
    parsed_type, parsed_name = parse_resource_id(target.id or "")
    message = props.status_message
    return ResourceOperation(
        operation_id=operation.operation_id or "",
        resource_type=target.resource_type or parsed_type,
        resource_name=target.resource_name or parsed_name,
        provisioning_state=_state(props.provisioning_state),
        status_code=props.status_code or "",
        error=_from_error_response(message.error if message is not None else None),
    )


def _state(value: Any) -> str:
    """ARM's provisioningState as one of ours; the transitional others (Creating, Updating...) are Running."""
    state = _text(value)
    if not state:
        return ProvisioningState.ACCEPTED
    return state if state in _KNOWN_STATES else ProvisioningState.RUNNING


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


def _timestamp(operation: DeploymentOperation) -> tuple[bool, datetime]:
    stamp = operation.properties.timestamp if operation.properties is not None else None
    return stamp is None, stamp or datetime.max.replace(tzinfo=UTC)


def _outputs(outputs: Any) -> dict[str, Any]:
    if not isinstance(outputs, Mapping):
        return {}
    return {name: out.get("value") if isinstance(out, Mapping) else out for name, out in outputs.items()}


def _from_error_response(error: ErrorResponse | None) -> CloudError | None:
    if error is None or not (error.code or error.message):
        return None
    return CloudError(code=error.code or "", message=error.message or "",
                      details=tuple(d for d in map(_from_error_response, error.details or ()) if d is not None))


def _from_json(error: Mapping[str, Any]) -> CloudError:
    return CloudError(code=str(error.get("code") or ""), message=str(error.get("message") or ""),
                      details=tuple(_from_json(d) for d in error.get("details") or () if isinstance(d, Mapping)))


def _json(response: Any) -> Any:
    try:
        text = response.text()
    except Exception:  # a body that was streamed away or never read: no ARM error to show
        return None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if not value:
            continue
        try:
            return float(value) / scale
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


__all__ = ["ARM_BASE_URL", "AzureCloud", "cloud_error_from", "default_azure_cloud"]

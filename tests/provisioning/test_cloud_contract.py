"""One contract for both cloud backends: SandboxCloud (MemoryStore, a clock the test owns) and
AzureCloud (the real azure-mgmt-resource-deployments SDK, answered in-process by
tests/provisioning/arm_transport.py). Each backend also has tests of what only it does.

Templates are built by hand here: a resource group and two resources deployed by Bicep modules (a
Cosmos DB container and a blob container), as ResourceSpecs for the sandbox and as the ARM JSON a
Bicep build would produce for Azure."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from unittest.mock import ANY
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from provisioning.backends.azure import AzureCloud, cloud_error_from, default_azure_cloud
from provisioning.backends.base import (
    RESOURCE_GROUP_TYPE,
    ChangeType,
    CloudBackend,
    CloudError,
    DeleteOutcome,
    DeleteResult,
    DeploymentHandle,
    DeploymentStatus,
    ErrorCode,
    ProvisioningState,
    ResourceSpec,
    TemplateSpec,
    api_version_for,
    api_versions_for,
    parse_resource_id,
    resource_id,
)
from provisioning.backends.sandbox import Fault, MemoryStore, SandboxCloud
from tests.provisioning.arm_transport import FakeArm, FakeCredential, FakeResponse

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
LOCATION = "eastus2"
RG = "holidaypeakhub-dev-rg"
COSMOS = ResourceSpec(
    type="Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
    name="holidaypeakhub-dev-cosmos/holidaypeakhub/orders",
    symbol="ordersContainer",
    module="modules/cosmos.bicep",
    properties={"resource": {"id": "orders", "partitionKey": {"paths": ["/customerId"], "kind": "Hash"}},
                "options": {}},
)
BLOB = ResourceSpec(
    type="Microsoft.Storage/storageAccounts/blobServices/containers",
    name="holidaypeakhubdevsa/default/cold-cart-intelligence-chat-memory",
    symbol="coldMemory",
    module="modules/storage.bicep",
    properties={"publicAccess": "None"},
)
GROUP = ResourceSpec(type=RESOURCE_GROUP_TYPE, name=RG, symbol="rg", properties={})
PARAMETERS: dict[str, Any] = {"resourceGroupName": RG, "environment": "dev"}


def template(*resources: ResourceSpec, name: str = "shared-infrastructure") -> TemplateSpec:
    return TemplateSpec(name=name, resources=resources, arm_template=arm_json(resources),
                        content_hash=f"sha256:{name}")


def arm_json(resources: Sequence[ResourceSpec]) -> dict[str, Any]:
    """The subscription-scope ARM JSON Bicep would emit: resource groups at the top, every other
    resource inside the Microsoft.Resources/deployments of its module, targeted at the group."""
    top: list[dict[str, Any]] = []
    modules: dict[str, list[dict[str, Any]]] = {}
    for spec in resources:
        item: dict[str, Any] = {"type": spec.type, "apiVersion": "2024-05-15", "name": spec.name,
                                "properties": spec.properties}
        if spec.type == RESOURCE_GROUP_TYPE:
            top.append({**item, "name": "[parameters('resourceGroupName')]", "location": "[deployment().location]"})
        else:
            modules.setdefault(spec.module or "main", []).append(item)
    for module, items in modules.items():
        top.append({
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": module.rsplit("/", 1)[-1].removesuffix(".bicep"),
            "resourceGroup": "[parameters('resourceGroupName')]",
            "properties": {"mode": "Incremental", "expressionEvaluationOptions": {"scope": "inner"},
                           "template": {"contentVersion": "1.0.0.0", "resources": items}},
        })
    return {
        "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"resourceGroupName": {"type": "string"}, "environment": {"type": "string"}},
        "resources": top,
    }


def rid(spec: ResourceSpec) -> str:
    group = None if spec.type == RESOURCE_GROUP_TYPE else RG
    return resource_id(SUBSCRIPTION, group, spec.type, spec.name)


FULL = template(GROUP, COSMOS, BLOB)

# A template whose targetScope is 'resourceGroup': its resources go into the group it is deployed to.
PLAN = ResourceSpec(type="Microsoft.Web/serverfarms", name="plan-shop", symbol="plan", properties={"reserved": True})
SITE = ResourceSpec(type="Microsoft.Web/sites", name="shop", symbol="site", properties={"httpsOnly": True})


def group_template(*resources: ResourceSpec, name: str = "team/web-app") -> TemplateSpec:
    """A resource-group-scope template, and the ARM JSON `bicep build` makes of it (the resource group schema,
    every resource at the top level)."""
    return TemplateSpec(name=name, resources=resources, content_hash=f"sha256:{name}", arm_template={
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "parameters": {},
        "resources": [{"type": r.type, "apiVersion": "2023-12-01", "name": r.name, "properties": r.properties}
                      for r in resources]})


WEB = group_template(PLAN, SITE)


# --- The two backends, behind one harness ------------------------------------------------------

class FakeClock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """A backend plus the few things a test needs that the interface does not give: letting a
    deployment get going, letting it finish, and counting how many deployments a name has had."""

    cloud: CloudBackend
    start: Callable[[], None]                       # the deployment just begun is now in flight
    finish: Callable[[DeploymentHandle], DeploymentStatus]  # ...and now it has ended
    created: Callable[[str], int]                   # deployments created under a name
    fail_deletes: Callable[[str, str, str], None]   # from now on, deletes of matching resources fail


Failure = tuple[str, str, str]   # (glob on the resource name or type, ARM error code, message)


def sandbox_harness(failures: Sequence[Failure] = ()) -> Harness:
    clock, store = FakeClock(), MemoryStore()
    cloud = SandboxCloud(store, subscription_id=SUBSCRIPTION, clock=clock, seconds_per_resource=(10, 20),
                         faults=[Fault(match, "fail", code, message) for match, code, message in failures])

    def finish(handle: DeploymentHandle) -> DeploymentStatus:
        clock.advance(3600)
        return cloud.get_status(deployment_name=handle.deployment_name, resource_group=handle.resource_group or None)

    def created(name: str) -> int:
        record = store.get(f"deployment:{name.lower()}")
        return 0 if record is None else int(record["generation"])

    def fail_deletes(match: str, code: str, message: str) -> None:
        cloud.faults = (*cloud.faults, Fault(match, "fail", code, message))

    return Harness(cloud, start=lambda: clock.advance(5), finish=finish, created=created,
                   fail_deletes=fail_deletes)


def azure_harness(failures: Sequence[Failure] = ()) -> Harness:
    arm = FakeArm(SUBSCRIPTION)
    for failure in failures:
        arm.fail_resource(*failure)
    cloud = AzureCloud(SUBSCRIPTION, FakeCredential(), transport=arm.transport(), polling_interval=0, retry_total=0)

    def finish(handle: DeploymentHandle) -> DeploymentStatus:
        if not handle.continuation_token:
            arm.advance(100)   # no poller to move time along (see arm_transport): move it here
        return cloud.wait(handle)

    return Harness(cloud, start=arm.advance, finish=finish, created=lambda name: arm.created[name.lower()],
                   fail_deletes=arm.fail_delete)


@pytest.fixture(params=["sandbox", "azure"])
def make(request: pytest.FixtureRequest) -> Callable[..., Harness]:
    return sandbox_harness if request.param == "sandbox" else azure_harness


@pytest.fixture
def backend(make: Callable[..., Harness]) -> Harness:
    return make()


def deploy(cloud: CloudBackend, spec: TemplateSpec = FULL, name: str = "run-42") -> DeploymentHandle:
    return cloud.begin_deploy(deployment_name=name, location=LOCATION, template=spec, parameters=PARAMETERS)


def what_if_changes(cloud: CloudBackend) -> dict[str, str]:
    """Change type by resource id of a what-if of the full template."""
    result = cloud.what_if(deployment_name="run-43", location=LOCATION, template=FULL, parameters=PARAMETERS)
    return {c.resource_id: c.change_type for c in result.changes}


def error_codes(error: CloudError | None) -> list[str]:
    """Every code in an error and its details, depth first."""
    if error is None:
        return []
    return [error.code, *(code for detail in error.details for code in error_codes(detail))]


# --- The contract -------------------------------------------------------------------------------

def test_deploy_runs_every_resource_to_succeeded(backend: Harness) -> None:
    handle = deploy(backend.cloud)
    status = backend.finish(handle)

    assert status.provisioning_state == ProvisioningState.SUCCEEDED
    assert status.error is None
    assert status.correlation_id and status.correlation_id == handle.correlation_id
    assert [(op.resource_type, op.resource_name) for op in status.operations] == [
        (s.type, s.name) for s in (GROUP, COSMOS, BLOB)]
    assert {op.provisioning_state for op in status.operations} == {ProvisioningState.SUCCEEDED}
    assert {op.status_code for op in status.operations} == {"OK"}
    assert len({op.operation_id for op in status.operations}) == 3


def test_status_while_running_shows_the_resource_in_flight(backend: Harness) -> None:
    deploy(backend.cloud)
    backend.start()

    status = backend.cloud.get_status(deployment_name="run-42")

    assert status.provisioning_state in (ProvisioningState.ACCEPTED, ProvisioningState.RUNNING)
    assert [op.resource_name for op in status.operations] == [RG]
    assert status.operations[0].provisioning_state in (ProvisioningState.ACCEPTED, ProvisioningState.RUNNING)


def test_what_if_on_an_empty_subscription_creates_everything(backend: Harness) -> None:
    result = backend.cloud.what_if(deployment_name="run-42", location=LOCATION, template=FULL, parameters=PARAMETERS)

    assert result.status == "Succeeded"
    assert [(c.change_type, c.resource_id) for c in result.changes] == [
        (ChangeType.CREATE, rid(spec)) for spec in (GROUP, COSMOS, BLOB)]
    assert [(c.resource_type, c.resource_name) for c in result.changes] == [
        (spec.type, spec.name) for spec in (GROUP, COSMOS, BLOB)]


def test_what_if_after_deploy_is_no_change(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))

    result = backend.cloud.what_if(deployment_name="run-43", location=LOCATION, template=FULL, parameters=PARAMETERS)

    assert {c.change_type for c in result.changes} == {ChangeType.NO_CHANGE}
    assert [c.resource_id for c in result.changes] == [rid(s) for s in (GROUP, COSMOS, BLOB)]


def test_what_if_names_the_properties_a_change_modifies(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    repartitioned = replace(COSMOS, properties={**COSMOS.properties, "resource": {
        "id": "orders", "partitionKey": {"paths": ["/orderId"], "kind": "Hash"}}})

    result = backend.cloud.what_if(deployment_name="run-43", location=LOCATION,
                                   template=template(GROUP, repartitioned, BLOB), parameters=PARAMETERS)

    changes = {c.resource_name: c for c in result.changes}
    assert changes[COSMOS.name].change_type == ChangeType.MODIFY
    assert changes[COSMOS.name].delta == ("properties.resource",)
    assert changes[BLOB.name].change_type == ChangeType.NO_CHANGE


@pytest.mark.parametrize(("mode", "expected"), [("Incremental", ChangeType.IGNORE), ("Complete", ChangeType.DELETE)])
def test_what_if_lists_what_the_template_dropped_by_mode(backend: Harness, mode: str, expected: str) -> None:
    backend.finish(deploy(backend.cloud))

    result = backend.cloud.what_if(deployment_name="run-43", location=LOCATION, template=template(GROUP, COSMOS),
                                   parameters=PARAMETERS, mode=mode)

    assert [(c.change_type, c.resource_id) for c in result.changes] == [
        (ChangeType.NO_CHANGE, rid(GROUP)), (ChangeType.NO_CHANGE, rid(COSMOS)), (expected, rid(BLOB))]


def test_failing_resource_fails_the_deployment_with_its_arm_error(make: Callable[..., Harness]) -> None:
    backend = make([("*/orders", "Conflict", "Container 'orders' already exists with another partition key.")])

    status = backend.finish(deploy(backend.cloud))

    assert status.provisioning_state == ProvisioningState.FAILED
    assert status.error is not None and status.error.code == ErrorCode.DEPLOYMENT_FAILED
    assert "Conflict" in error_codes(status.error)
    failed = {op.resource_name: op for op in status.operations}[COSMOS.name]
    assert failed.provisioning_state == ProvisioningState.FAILED
    assert failed.status_code == "Conflict"
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == (
        "Conflict", "Container 'orders' already exists with another partition key.")
    assert BLOB.name not in {op.resource_name for op in status.operations}   # never started


def test_begin_deploy_twice_while_running_is_one_deployment(backend: Harness) -> None:
    first = deploy(backend.cloud)
    backend.start()

    second = deploy(backend.cloud)

    assert second.deployment_name == first.deployment_name
    assert second.correlation_id == first.correlation_id
    assert backend.created("run-42") == 1
    assert backend.finish(second).provisioning_state == ProvisioningState.SUCCEEDED


def test_begin_deploy_after_the_end_redeploys_under_the_same_name(backend: Harness) -> None:
    first = deploy(backend.cloud)
    backend.finish(first)

    second = deploy(backend.cloud)

    assert backend.created("run-42") == 2
    assert second.correlation_id != first.correlation_id
    assert backend.finish(second).provisioning_state == ProvisioningState.SUCCEEDED


def test_cancel_a_running_deployment_ends_canceled(backend: Harness) -> None:
    deploy(backend.cloud)
    backend.start()

    backend.cloud.cancel(deployment_name="run-42")

    status = backend.cloud.get_status(deployment_name="run-42")
    assert status.provisioning_state == ProvisioningState.CANCELED
    assert [(op.resource_name, op.provisioning_state) for op in status.operations] == [
        (RG, ProvisioningState.CANCELED)]


def test_cancel_a_finished_deployment_is_refused(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))

    with pytest.raises(CloudError) as raised:
        backend.cloud.cancel(deployment_name="run-42")

    assert raised.value.code == ErrorCode.DEPLOYMENT_CANNOT_BE_CANCELLED
    assert not raised.value.transient


@pytest.mark.parametrize("call", ["get_status", "cancel"])
def test_unknown_deployment_is_not_found(backend: Harness, call: str) -> None:
    with pytest.raises(CloudError) as raised:
        getattr(backend.cloud, call)(deployment_name="never-deployed")

    assert raised.value.code == ErrorCode.DEPLOYMENT_NOT_FOUND
    assert not raised.value.transient


def test_delete_removes_the_resource_so_what_if_would_create_it_again(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))

    results = backend.cloud.delete_resources(resource_ids=[rid(COSMOS)])

    assert results == [DeleteResult(rid(COSMOS), DeleteOutcome.DELETED, None)]
    assert what_if_changes(backend.cloud) == {
        rid(GROUP): ChangeType.NO_CHANGE, rid(COSMOS): ChangeType.CREATE, rid(BLOB): ChangeType.NO_CHANGE}


def test_delete_again_is_not_found_not_an_error(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    backend.cloud.delete_resources(resource_ids=[rid(COSMOS), rid(BLOB)])

    again = backend.cloud.delete_resources(resource_ids=[rid(COSMOS), rid(BLOB)])

    assert again == [DeleteResult(rid(COSMOS), DeleteOutcome.NOT_FOUND, None),
                     DeleteResult(rid(BLOB), DeleteOutcome.NOT_FOUND, None)]


def test_delete_of_what_was_never_deployed_is_not_found(backend: Harness) -> None:
    results = backend.cloud.delete_resources(resource_ids=[rid(BLOB)])

    assert [r.outcome for r in results] == [DeleteOutcome.NOT_FOUND]


def test_delete_compares_ids_without_case_and_answers_with_the_id_given(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    shouted = rid(BLOB).upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")

    results = backend.cloud.delete_resources(resource_ids=[shouted])

    assert results == [DeleteResult(shouted, DeleteOutcome.DELETED, None)]
    assert what_if_changes(backend.cloud)[rid(BLOB)] == ChangeType.CREATE


def test_a_refused_delete_is_failed_with_its_arm_error_and_the_rest_still_run(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    backend.fail_deletes("*/orders", "Conflict", "Container 'orders' has a delete lock.")

    results = backend.cloud.delete_resources(resource_ids=[rid(COSMOS), rid(BLOB)])

    assert [(r.resource_id, r.outcome) for r in results] == [
        (rid(COSMOS), DeleteOutcome.FAILED), (rid(BLOB), DeleteOutcome.DELETED)]
    error = results[0].error
    assert error is not None
    assert (error.code, error.message, error.transient) == ("Conflict", "Container 'orders' has a delete lock.", False)
    assert what_if_changes(backend.cloud)[rid(COSMOS)] == ChangeType.NO_CHANGE   # still there


def test_delete_of_a_type_without_an_api_version_raises_before_deleting_anything(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))

    with pytest.raises(CloudError) as raised:
        backend.cloud.delete_resources(resource_ids=[rid(COSMOS), rid(GROUP)])

    assert raised.value.code == ErrorCode.NO_API_VERSION
    assert RESOURCE_GROUP_TYPE in raised.value.message
    assert not raised.value.transient
    assert set(what_if_changes(backend.cloud).values()) == {ChangeType.NO_CHANGE}


def test_delete_of_something_that_is_not_a_resource_id_raises(backend: Harness) -> None:
    with pytest.raises(CloudError) as raised:
        backend.cloud.delete_resources(resource_ids=["orders"])

    assert raised.value.code == ErrorCode.NO_API_VERSION


# --- Resource-group scope (a template whose targetScope is 'resourceGroup') ---------------------------

def deploy_web(cloud: CloudBackend, name: str = "web-1", group: str = RG) -> DeploymentHandle:
    return cloud.begin_deploy(deployment_name=name, location=LOCATION, template=WEB, parameters={},
                              resource_group=group)


def test_what_if_at_resource_group_scope_creates_into_the_group(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))        # the subscription deployment creates the group

    result = backend.cloud.what_if(deployment_name="web-1", location=LOCATION, template=WEB, parameters={},
                                   resource_group=RG)

    assert result.status == "Succeeded"
    assert {c.resource_id: c.change_type for c in result.changes} == {
        rid(PLAN): ChangeType.CREATE, rid(SITE): ChangeType.CREATE,
        # what else is in the group, left alone by an Incremental deployment
        rid(COSMOS): ChangeType.IGNORE, rid(BLOB): ChangeType.IGNORE}
    assert rid(PLAN) == f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Web/serverfarms/plan-shop"


def test_a_resource_group_deployment_puts_its_resources_in_the_group(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))

    handle = deploy_web(backend.cloud)
    status = backend.finish(handle)

    assert handle.resource_group == RG
    assert status.provisioning_state == ProvisioningState.SUCCEEDED
    assert [(op.resource_type, op.resource_name) for op in status.operations] == [(PLAN.type, PLAN.name),
                                                                                 (SITE.type, SITE.name)]
    again = backend.cloud.what_if(deployment_name="web-2", location=LOCATION, template=WEB, parameters={},
                                  resource_group=RG)
    assert {c.resource_id: c.change_type for c in again.changes if c.change_type != ChangeType.IGNORE} == {
        rid(PLAN): ChangeType.NO_CHANGE, rid(SITE): ChangeType.NO_CHANGE}


def test_a_deployment_name_is_unique_per_scope(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    backend.finish(deploy_web(backend.cloud))

    with pytest.raises(CloudError) as raised:
        backend.cloud.get_status(deployment_name="web-1")         # not at subscription scope

    assert raised.value.code == ErrorCode.DEPLOYMENT_NOT_FOUND
    assert backend.cloud.get_status(deployment_name="web-1", resource_group=RG).provisioning_state == \
        ProvisioningState.SUCCEEDED
    with pytest.raises(CloudError) as raised:
        backend.cloud.get_status(deployment_name="run-42", resource_group=RG)  # the subscription one is not in it
    assert raised.value.code == ErrorCode.DEPLOYMENT_NOT_FOUND


def test_cancel_at_resource_group_scope(backend: Harness) -> None:
    backend.finish(deploy(backend.cloud))
    deploy_web(backend.cloud)
    backend.start()

    backend.cloud.cancel(deployment_name="web-1", resource_group=RG)

    status = backend.cloud.get_status(deployment_name="web-1", resource_group=RG)
    assert status.provisioning_state == ProvisioningState.CANCELED


@pytest.mark.parametrize("call", ["what_if", "begin_deploy", "get_status", "cancel"])
def test_a_resource_group_that_does_not_exist_is_refused_as_azure_refuses_it(backend: Harness, call: str) -> None:
    backend.finish(deploy(backend.cloud))
    arguments: dict[str, Any] = {"deployment_name": "web-1", "resource_group": "rg-that-was-never-made"}
    if call in ("what_if", "begin_deploy"):
        arguments.update(location=LOCATION, template=WEB, parameters={})

    with pytest.raises(CloudError) as raised:
        getattr(backend.cloud, call)(**arguments)

    assert (raised.value.code, raised.value.message, raised.value.transient) == (
        ErrorCode.RESOURCE_GROUP_NOT_FOUND, "Resource group 'rg-that-was-never-made' could not be found.", False)
    # ...and nothing was deployed anywhere
    assert {c.change_type for c in backend.cloud.what_if(deployment_name="web-2", location=LOCATION, template=WEB,
                                                          parameters={}, resource_group=RG).changes
            if c.resource_id in (rid(PLAN), rid(SITE))} == {ChangeType.CREATE}


def test_api_version_overrides_win_and_types_compare_without_case() -> None:
    assert api_version_for(COSMOS.type) == "2024-11-15"
    assert api_version_for(BLOB.type.upper()) == "2023-05-01"
    assert api_version_for(COSMOS.type.lower(), {COSMOS.type: "2025-04-15"}) == "2025-04-15"
    assert api_version_for(RESOURCE_GROUP_TYPE, {RESOURCE_GROUP_TYPE.lower(): "2024-03-01"}) == "2024-03-01"
    assert api_versions_for([rid(BLOB), rid(COSMOS)]) == [(rid(BLOB), "2023-05-01"), (rid(COSMOS), "2024-11-15")]
    with pytest.raises(TypeError):
        api_versions_for(rid(BLOB))


# --- Azure only ---------------------------------------------------------------------------------

@pytest.fixture
def arm() -> FakeArm:
    return FakeArm(SUBSCRIPTION)


def azure(arm: FakeArm, **kwargs: Any) -> AzureCloud:
    kwargs.setdefault("retry_total", 0)
    return AzureCloud(SUBSCRIPTION, FakeCredential(), transport=arm.transport(), polling_interval=0, **kwargs)


def test_begin_deploy_sends_template_and_wrapped_parameters_at_subscription_scope(arm: FakeArm) -> None:
    handle = deploy(azure(arm))

    method, url = arm.requests[0]
    assert method == "PUT"
    assert url.startswith(f"https://management.azure.com/subscriptions/{SUBSCRIPTION}"
                          "/providers/Microsoft.Resources/deployments/run-42?api-version=")
    body = arm.bodies[0]
    assert body["location"] == LOCATION
    assert body["properties"]["mode"] == "Incremental"
    assert body["properties"]["template"] == FULL.arm_template
    assert body["properties"]["parameters"] == {"resourceGroupName": {"value": RG}, "environment": {"value": "dev"}}
    assert handle.continuation_token


def test_a_resource_group_deployment_is_sent_to_the_groups_scope_without_a_location(arm: FakeArm) -> None:
    arm.create_resource_group(RG, LOCATION)
    cloud = azure(arm)

    cloud.what_if(deployment_name="web-1", location=LOCATION, template=WEB, parameters={}, resource_group=RG)
    handle = deploy_web(cloud)
    cloud.wait(handle)
    cloud.get_status(deployment_name="web-1", resource_group=RG)

    scope = f"https://management.azure.com/subscriptions/{SUBSCRIPTION}/resourcegroups/{RG}"
    sent = [(method, url.split("?")[0]) for method, url in arm.requests if "/operationresults/" not in url]
    assert ("POST", f"{scope}/providers/Microsoft.Resources/deployments/web-1/whatIf") in sent
    assert ("PUT", f"{scope}/providers/Microsoft.Resources/deployments/web-1") in sent
    assert ("GET", f"{scope}/deployments/web-1/operations") in sent
    assert not any("/subscriptions/" + SUBSCRIPTION + "/providers/" in url for _, url in sent)
    assert all("location" not in body for body in arm.bodies)
    assert arm.bodies[-1]["properties"]["template"] == WEB.arm_template
    assert arm.deployments[f"{RG.lower()}/web-1"].state == "Succeeded"


def test_begin_deploy_returns_without_polling_in_the_background(arm: FakeArm) -> None:
    cloud = azure(arm)
    deploy(cloud)

    threading.Event().wait(0.05)   # a background poller with polling_interval=0 would be busy by now

    assert [method for method, _ in arm.requests] == ["PUT"]
    assert arm.deployments["run-42"].state == "Accepted"


def test_resume_from_a_continuation_token_in_a_new_client(arm: FakeArm) -> None:
    handle = deploy(azure(arm))

    other_process = azure(arm)
    deployment = other_process.resume(handle.continuation_token).result()

    assert deployment.properties is not None
    assert deployment.properties.provisioning_state == "Succeeded"
    assert deployment.properties.correlation_id == handle.correlation_id
    assert other_process.get_status(deployment_name="run-42").provisioning_state == ProvisioningState.SUCCEEDED
    polls = [url for method, url in arm.requests if "/operationStatuses/" in url]
    assert len(polls) == 4                         # Accepted -> three resources, one step a poll


def test_wait_without_a_token_polls_get_status(arm: FakeArm) -> None:
    cloud = azure(arm)
    deploy(cloud)
    ticker = threading.Timer(0.05, arm.advance, kwargs={"steps": 10})
    ticker.start()

    status = cloud.wait(DeploymentHandle(deployment_name="run-42"), timeout=5)

    ticker.join()
    assert status.provisioning_state == ProvisioningState.SUCCEEDED


def test_operations_are_read_across_pages_and_modules(arm: FakeArm) -> None:
    arm.page_size = 1
    cloud = azure(arm)
    cloud.wait(deploy(cloud))

    status = cloud.get_status(deployment_name="run-42")

    assert [op.resource_name for op in status.operations] == [RG, COSMOS.name, BLOB.name]
    urls = [url for _, url in arm.requests]
    assert any("$skiptoken=" in url for url in urls)
    assert any(f"/resourcegroups/{RG}/deployments/cosmos/operations" in url.lower() for url in urls)


def test_a_module_not_yet_expanded_shows_as_its_deployment(arm: FakeArm) -> None:
    cloud = azure(arm)
    deploy(cloud)
    arm.advance(2)   # the resource group done, the Cosmos module's first resource running
    arm.script("GET", f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{RG}/deployments/cosmos/operations",
               404, "DeploymentNotFound")

    status = cloud.get_status(deployment_name="run-42")

    assert [(op.resource_type, op.resource_name) for op in status.operations] == [
        (RESOURCE_GROUP_TYPE, RG), ("Microsoft.Resources/deployments", "cosmos")]


def test_deployment_outputs_are_unwrapped(arm: FakeArm) -> None:
    spec = replace(FULL, arm_template={**(FULL.arm_template or {}), "outputs": {
        "resourceGroupId": {"type": "String", "value": rid(GROUP)}}})
    cloud = azure(arm)

    status = cloud.wait(deploy(cloud, spec))

    assert status.outputs == {"resourceGroupId": rid(GROUP)}


@pytest.mark.parametrize("call", ["what_if", "begin_deploy"])
def test_a_template_without_arm_json_fails_before_any_request(arm: FakeArm, call: str) -> None:
    credential = FakeCredential()
    cloud = AzureCloud(SUBSCRIPTION, credential, transport=arm.transport(), polling_interval=0)
    bicep_only = replace(FULL, arm_template=None)

    with pytest.raises(CloudError) as raised:
        getattr(cloud, call)(deployment_name="run-42", location=LOCATION, template=bicep_only, parameters=PARAMETERS)

    assert raised.value.code == ErrorCode.NO_COMPILED_TEMPLATE
    assert "az bicep install" in raised.value.message and "PORTAL_BICEP" in raised.value.message
    assert arm.requests == []
    assert credential.calls == 0


def test_throttling_is_a_transient_error_with_retry_after(arm: FakeArm) -> None:
    arm.script("PUT", "*/deployments/run-42", 429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "7"})

    with pytest.raises(CloudError) as raised:
        deploy(azure(arm, retry_total=0))

    assert (raised.value.code, raised.value.message) == ("TooManyRequests", "Rate limit exceeded.")
    assert raised.value.transient
    assert raised.value.retry_after == 7
    assert arm.created["run-42"] == 0


def test_the_sdk_retries_throttling_itself_by_default(arm: FakeArm) -> None:
    """With retries left (AzureCloud's default is 3) the SDK sleeps for Retry-After and sends the PUT
    again; the caller never sees the 429."""
    arm.script("PUT", "*/deployments/run-42", 429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "7"})
    cloud = AzureCloud(SUBSCRIPTION, FakeCredential(), transport=arm.transport(), polling_interval=0)

    handle = deploy(cloud)

    assert handle.continuation_token
    assert [method for method, _ in arm.requests] == ["PUT", "PUT"]
    assert arm.sleeps == [7]
    assert arm.created["run-42"] == 1


def test_server_errors_are_transient(arm: FakeArm) -> None:
    arm.script("GET", "*/deployments/run-42", 503, "ServiceUnavailable", "Try again later.", {"Retry-After": "30"})

    with pytest.raises(CloudError) as raised:
        azure(arm).get_status(deployment_name="run-42")

    assert (raised.value.code, raised.value.transient, raised.value.retry_after) == ("ServiceUnavailable", True, 30)


def test_a_conflict_is_not_transient_and_keeps_arm_code(arm: FakeArm) -> None:
    arm.script("PUT", "*/deployments/run-42", 409, "Conflict", "Another operation is in progress on the group.")

    with pytest.raises(CloudError) as raised:
        deploy(azure(arm))

    assert (raised.value.code, raised.value.transient, raised.value.retry_after) == ("Conflict", False, None)


def test_cloud_error_keeps_nested_details() -> None:
    body = {"error": {"code": "InvalidTemplateDeployment", "message": "The template deployment failed.",
                      "details": [{"code": "PreflightValidationCheckFailed", "message": "Preflight failed.",
                                   "details": [{"code": "AccountNameInvalid", "message": "Too long."}]}]}}
    response = FakeResponse(HttpRequest("PUT", "https://management.azure.com/x"), 400, body)

    error = cloud_error_from(HttpResponseError(response=response))

    assert error_codes(error) == ["InvalidTemplateDeployment", "PreflightValidationCheckFailed", "AccountNameInvalid"]
    assert error.details[0].details[0].message == "Too long."
    assert not error.transient


def test_default_azure_cloud_builds_without_calling_azure(arm: FakeArm) -> None:
    cloud = default_azure_cloud(SUBSCRIPTION, transport=arm.transport())

    assert (cloud.kind, cloud.subscription_id) == ("azure", SUBSCRIPTION)
    assert arm.requests == []


def test_what_if_resource_ids_parse_back_to_type_and_name() -> None:
    for spec in (GROUP, COSMOS, BLOB):
        assert parse_resource_id(rid(spec)) == (spec.type, spec.name)
    assert rid(COSMOS) == (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.DocumentDB/"
                           "databaseAccounts/holidaypeakhub-dev-cosmos/sqlDatabases/holidaypeakhub/containers/orders")


def test_delete_is_delete_by_id_with_the_types_api_version_polled_to_the_end(arm: FakeArm) -> None:
    cloud = azure(arm)
    cloud.wait(deploy(cloud))
    arm.requests.clear()

    cloud.delete_resources(resource_ids=[rid(COSMOS), rid(BLOB)], api_versions={BLOB.type: "2024-01-01"})

    sent = [(method, urlsplit(url).path, parse_qs(urlsplit(url).query)["api-version"]) for method, url in arm.requests]
    assert sent == [
        ("DELETE", rid(COSMOS), ["2024-11-15"]),
        ("GET", ANY, ["2024-11-15"]),
        ("DELETE", rid(BLOB), ["2024-01-01"]),
        ("GET", ANY, ["2024-01-01"]),
    ]
    assert all(path.startswith(f"/subscriptions/{SUBSCRIPTION}/operationresults/") for method, path, _ in sent
               if method == "GET")
    assert rid(COSMOS).lower() not in arm.inventory and rid(BLOB).lower() not in arm.inventory


def test_throttled_delete_raises_a_transient_error_for_the_task_to_retry(arm: FakeArm) -> None:
    cloud = azure(arm)
    cloud.wait(deploy(cloud))
    arm.script("DELETE", "*/containers/orders", 429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "7"})

    with pytest.raises(CloudError) as raised:
        cloud.delete_resources(resource_ids=[rid(COSMOS)])

    assert (raised.value.code, raised.value.transient, raised.value.retry_after) == ("TooManyRequests", True, 7)
    assert rid(COSMOS).lower() in arm.inventory
    assert cloud.delete_resources(resource_ids=[rid(COSMOS)])[0].outcome == DeleteOutcome.DELETED   # the retry


def test_a_server_error_while_polling_a_delete_is_transient(arm: FakeArm) -> None:
    cloud = azure(arm)
    cloud.wait(deploy(cloud))
    arm.script("GET", "*/operationresults/*", 503, "ServiceUnavailable", "Try again later.", {"Retry-After": "30"})

    with pytest.raises(CloudError) as raised:
        cloud.delete_resources(resource_ids=[rid(COSMOS)])

    assert (raised.value.code, raised.value.transient, raised.value.retry_after) == ("ServiceUnavailable", True, 30)


def test_a_delete_that_fails_while_polling_is_failed_not_not_found(arm: FakeArm) -> None:
    cloud = azure(arm)
    cloud.wait(deploy(cloud))
    arm.script("GET", "*/operationresults/*", 404, "NotFound", "No such operation.")

    results = cloud.delete_resources(resource_ids=[rid(COSMOS)])

    assert results[0].outcome == DeleteOutcome.FAILED
    assert results[0].error is not None and results[0].error.code == "NotFound"


@pytest.mark.parametrize(("code", "outcome"), [
    ("ResourceGroupNotFound", DeleteOutcome.NOT_FOUND),
    ("ParentResourceNotFound", DeleteOutcome.NOT_FOUND),
    ("SubscriptionNotFound", DeleteOutcome.FAILED),
])
def test_a_404_on_delete_is_not_found_unless_the_address_is_wrong(arm: FakeArm, code: str, outcome: str) -> None:
    arm.script("DELETE", "*/containers/orders", 404, code, "Not there.")

    results = azure(arm).delete_resources(resource_ids=[rid(COSMOS)])

    assert results[0].outcome == outcome
    assert (results[0].error is None) == (outcome == DeleteOutcome.NOT_FOUND)


# --- Sandbox only -------------------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sandbox(store: MemoryStore, clock: FakeClock, **kwargs: Any) -> SandboxCloud:
    return SandboxCloud(store, subscription_id=SUBSCRIPTION, clock=clock, seconds_per_resource=(10, 20), **kwargs)


def test_a_slow_resource_takes_factor_times_longer(clock: FakeClock) -> None:
    plain = sandbox(MemoryStore(), clock)
    slow = sandbox(MemoryStore(), clock, faults=[Fault("*/orders", "slow", factor=10)])
    for cloud in (plain, slow):
        deploy(cloud)

    clock.advance(3 * 20)          # three resources of at most 20 s each
    plain_state = plain.get_status(deployment_name="run-42").provisioning_state
    slow_state = slow.get_status(deployment_name="run-42").provisioning_state
    clock.advance(9 * 20)          # the container's nine extra shares
    late_state = slow.get_status(deployment_name="run-42").provisioning_state

    assert (plain_state, slow_state, late_state) == (
        ProvisioningState.SUCCEEDED, ProvisioningState.RUNNING, ProvisioningState.SUCCEEDED)


def test_state_survives_a_new_sandbox_on_the_same_store(clock: FakeClock) -> None:
    store = MemoryStore()
    handle = deploy(sandbox(store, clock))
    clock.advance(5)

    another_process = sandbox(store, clock)
    running = another_process.get_status(deployment_name="run-42")
    clock.advance(3600)
    done = sandbox(store, clock).get_status(deployment_name="run-42")

    assert running.provisioning_state == ProvisioningState.RUNNING
    assert running.correlation_id == handle.correlation_id
    assert done.provisioning_state == ProvisioningState.SUCCEEDED
    assert set(sandbox(store, clock).inventory()) == {rid(GROUP), rid(COSMOS), rid(BLOB)}


def test_speed_zero_finishes_at_once(clock: FakeClock) -> None:
    cloud = sandbox(MemoryStore(), clock, speed=0)

    deploy(cloud)

    assert cloud.get_status(deployment_name="run-42").provisioning_state == ProvisioningState.SUCCEEDED


def test_durations_are_the_same_in_every_sandbox(clock: FakeClock) -> None:
    plans = []
    for _ in range(2):
        cloud = sandbox(MemoryStore(), clock)
        deploy(cloud)
        plans.append([r["duration"] for r in cloud.store.get("deployment:run-42")["resources"]])  # type: ignore[index]

    assert plans[0] == plans[1]
    assert all(10 <= d <= 20 for d in plans[0])


def test_resources_move_from_accepted_to_running_to_succeeded(clock: FakeClock) -> None:
    cloud = sandbox(MemoryStore(), clock)
    deploy(cloud, template(GROUP))
    states = []
    for _ in range(25):
        status = cloud.get_status(deployment_name="run-42")
        states.append((status.provisioning_state, status.operations[0].provisioning_state))
        clock.advance(1)

    assert list(dict.fromkeys(states)) == [
        (ProvisioningState.ACCEPTED, ProvisioningState.ACCEPTED),
        (ProvisioningState.RUNNING, ProvisioningState.RUNNING),
        (ProvisioningState.SUCCEEDED, ProvisioningState.SUCCEEDED),
    ]


def test_a_failed_deployment_keeps_what_it_created(clock: FakeClock) -> None:
    cloud = sandbox(MemoryStore(), clock, faults=[Fault("*cold-*", code="InternalServerError")])
    deploy(cloud)
    clock.advance(3600)

    status = cloud.get_status(deployment_name="run-42")

    assert status.provisioning_state == ProvisioningState.FAILED
    assert set(cloud.inventory()) == {rid(GROUP), rid(COSMOS)}


def test_a_deleted_resource_stays_deleted_for_another_sandbox_until_redeployed(clock: FakeClock) -> None:
    store = MemoryStore()
    deploy(sandbox(store, clock))
    clock.advance(3600)         # ended, and nobody has looked: the delete must settle it first

    results = sandbox(store, clock).delete_resources(resource_ids=[rid(COSMOS)])

    assert [r.outcome for r in results] == [DeleteOutcome.DELETED]
    assert set(sandbox(store, clock).inventory()) == {rid(GROUP), rid(BLOB)}
    deploy(sandbox(store, clock), name="run-43")
    clock.advance(3600)
    assert set(sandbox(store, clock).inventory()) == {rid(GROUP), rid(COSMOS), rid(BLOB)}


def test_a_fault_of_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="'fail' or 'slow'"):
        Fault("*", "flaky")  # type: ignore[arg-type]


def test_a_resource_group_parameter_places_resources_without_a_group_resource(clock: FakeClock) -> None:
    cloud = sandbox(MemoryStore(), clock)

    with_param = cloud.what_if(deployment_name="w", location=LOCATION, template=template(BLOB),
                               parameters={"resourceGroupName": "custom-rg"})
    without = cloud.what_if(deployment_name="w", location=LOCATION, template=template(BLOB), parameters={})

    assert "/resourceGroups/custom-rg/" in with_param.changes[0].resource_id
    assert "/resourceGroups/sandbox-rg/" in without.changes[0].resource_id


def test_a_sandbox_resource_group_made_outside_a_deployment_takes_resource_group_deployments(clock: FakeClock) -> None:
    cloud = sandbox(MemoryStore(), clock, speed=0)
    with pytest.raises(CloudError, match="could not be found"):
        deploy_web(cloud)

    cloud.ensure_resource_group(RG, LOCATION)
    cloud.ensure_resource_group(RG, LOCATION)    # again: nothing changes

    deploy_web(cloud)
    status = cloud.get_status(deployment_name="web-1", resource_group=RG)
    assert status.provisioning_state == ProvisioningState.SUCCEEDED
    assert set(cloud.inventory()) == {rid(GROUP), rid(PLAN), rid(SITE)}
    with pytest.raises(CloudError) as raised:
        cloud.ensure_resource_group("rg with spaces!", LOCATION)
    assert raised.value.code == "InvalidResourceGroup"


@pytest.fixture(autouse=True)
def _no_leaked_pollers() -> Iterator[None]:
    """Pollers run on daemon threads; a test must not leave one behind to poll the next test's fake."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("LROPoller"):
            thread.join(timeout=2)


# --- Issue #10: what-if in full, an adopted deployment, no credential ---------------------------

def test_azure_what_if_gives_before_and_after_of_each_changed_property(arm: FakeArm) -> None:
    cloud = azure(arm)
    handle = deploy(cloud)
    cloud.wait(handle)
    repartitioned = replace(COSMOS, properties={**COSMOS.properties, "resource": {
        "id": "orders", "partitionKey": {"paths": ["/orderId"], "kind": "Hash"}}})

    result = cloud.what_if(deployment_name="run-43", location=LOCATION,
                           template=template(GROUP, repartitioned, BLOB), parameters=PARAMETERS)

    [change] = [c for c in result.changes if c.resource_name == COSMOS.name]
    assert [(p.path, p.change_type) for p in change.properties] == [("properties.resource", "Modify")]
    assert change.properties[0].before["partitionKey"]["paths"] == ["/customerId"]
    assert change.properties[0].after["partitionKey"]["paths"] == ["/orderId"]


class _WhatIfAnswer(FakeArm):
    """Answers the what-if POST at once (200) with a Modify whose array delta has children and an
    Unsupported change, as ARM reports a resource whose state it cannot predict."""

    def handle(self, request: HttpRequest):  # type: ignore[override]
        if request.method == "POST" and urlsplit(request.url).path.lower().endswith("/whatif"):
            self.requests.append((request.method, request.url))
            return FakeResponse(request, 200, {"status": "Succeeded", "properties": {"changes": [
                {"resourceId": rid(COSMOS), "changeType": "Modify", "delta": [
                    {"path": "tags.team", "propertyChangeType": "Modify", "before": "crm", "after": "cart"},
                    {"path": "properties.locations", "propertyChangeType": "Array", "children": [
                        {"path": "0", "propertyChangeType": "Create", "after": {"locationName": "westus"}}]}]},
                {"resourceId": rid(BLOB), "changeType": "Unsupported",
                 "unsupportedReason": "Changes to the resource cannot be analyzed because its name is not "
                                      "known until the deployment runs."}]}})
        return super().handle(request)


def test_azure_what_if_flattens_nested_changes_and_keeps_the_unsupported_reason() -> None:
    arm = _WhatIfAnswer(SUBSCRIPTION)

    result = azure(arm).what_if(deployment_name="run-44", location=LOCATION, template=template(GROUP, COSMOS, BLOB),
                                parameters=PARAMETERS)

    cosmos, blob = result.changes
    assert [(p.path, p.change_type, p.before, p.after) for p in cosmos.properties] == [
        ("tags.team", "Modify", "crm", "cart"), ("properties.locations.0", "Create", None, {"locationName": "westus"})]
    assert blob.change_type == "Unsupported"
    assert blob.unsupported_reason.startswith("Changes to the resource cannot be analyzed")


def test_azure_begin_deploy_over_a_running_deployment_adopts_it(arm: FakeArm) -> None:
    cloud = azure(arm)
    first = deploy(cloud)

    again = deploy(cloud)

    assert (first.adopted, again.adopted) == (False, True)
    assert again.correlation_id == first.correlation_id and arm.created["run-42"] == 1


class _NoCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: unavailable.\n\tAzureCliCredential: not found")


def test_azure_without_a_credential_says_what_to_do_in_one_sentence(arm: FakeArm) -> None:
    cloud = AzureCloud(SUBSCRIPTION, _NoCredential(), transport=arm.transport(), polling_interval=0, retry_total=0)

    with pytest.raises(CloudError) as raised:
        cloud.get_status(deployment_name="run-42")

    assert raised.value.code == ErrorCode.NO_CREDENTIAL
    assert "az login" in raised.value.message and "AZURE_FEDERATED_TOKEN_FILE" in raised.value.message
    assert "Attempted credentials" not in raised.value.message and arm.requests == []

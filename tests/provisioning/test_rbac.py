"""The kubelet identity's role assignments: the design (from bicep/shared-infrastructure), the audit,
AzureRbac through the real azure-mgmt-authorization and azure-mgmt-cosmosdb clients answered
in-process, and the sandbox recording what the Bicep templates deploy, with drift injected."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from azure.core.rest import HttpRequest, HttpResponse

from provisioning.backends.base import CloudError
from provisioning.bicep.templates import template_resources
from provisioning.rbac import (
    ACR_PULL,
    CONTRIBUTOR,
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    OWNER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    USER_ACCESS_ADMINISTRATOR,
    ActualAssignment,
    ExpectedAssignment,
    SandboxRbac,
    audit,
    audit_environment,
    expected_assignments,
    platform_resources,
    platform_scopes,
    role_guid_of,
    scope_covers,
)
from provisioning.rbac.azure import AzureRbac
from tests.provisioning.arm_transport import FakeCredential, FakeResponse, InProcessTransport

ROOT = Path(__file__).resolve().parents[2]
SHARED_INFRASTRUCTURE = ROOT / "bicep" / "shared-infrastructure" / "main.bicep"
ROLE_ASSIGNMENT = ROOT / "bicep" / "role-assignment" / "main.bicep"

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
KUBELET_ID = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
INTRUDER_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
ADMIN_ID = "0a0b0c0d-1e1f-4a2b-8c3d-4e5f6a7b8c9d"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
COSMOS_DATA_READER = "00000000-0000-0000-0000-000000000001"

DEV = platform_resources(SUBSCRIPTION, "dev")
SUB_SCOPE = f"/subscriptions/{SUBSCRIPTION}"


def role_definition(guid: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


# --- The design ---------------------------------------------------------------------------------

def test_expected_assignments_are_the_kubelets_six_from_the_bicep() -> None:
    expected = expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID)

    rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/holidaypeakhub-dev-rg"
    assert [(e.role_name, e.role_guid, e.scope_kind, e.scope_id) for e in expected] == [
        ("AcrPull", ACR_PULL, "acr", f"{rg}/providers/Microsoft.ContainerRegistry/registries/holidaypeakhubdevacr"),
        ("Azure Event Hubs Data Sender", EVENT_HUBS_DATA_SENDER, "eventhubs",
         f"{rg}/providers/Microsoft.EventHub/namespaces/holidaypeakhub-dev-eventhubs"),
        ("Azure Event Hubs Data Receiver", EVENT_HUBS_DATA_RECEIVER, "eventhubs",
         f"{rg}/providers/Microsoft.EventHub/namespaces/holidaypeakhub-dev-eventhubs"),
        ("Key Vault Secrets User", KEY_VAULT_SECRETS_USER, "keyvault",
         f"{rg}/providers/Microsoft.KeyVault/vaults/holidaypeakhubdevkv"),
        ("Storage Blob Data Contributor", STORAGE_BLOB_DATA_CONTRIBUTOR, "storage",
         f"{rg}/providers/Microsoft.Storage/storageAccounts/holidaypeakhubdevst"),
        ("Cosmos DB Built-in Data Contributor", COSMOS_DATA_CONTRIBUTOR, "cosmos-data-plane",
         f"{rg}/providers/Microsoft.DocumentDB/databaseAccounts/holidaypeakhub-dev-cosmos"),
    ]
    assert {(e.principal, e.principal_id) for e in expected} == {("aks-kubelet", KUBELET_ID)}
    assert [e.data_plane for e in expected] == [False] * 5 + [True]
    assert platform_scopes(SUBSCRIPTION, "prod") == [f"{SUB_SCOPE}/resourceGroups/holidaypeakhub-prod-rg"]
    with pytest.raises(ValueError, match="unknown environment"):
        expected_assignments(SUBSCRIPTION, "qa", KUBELET_ID)


@pytest.mark.parametrize(("text", "guid"), [
    (role_definition(ACR_PULL), ACR_PULL),
    (role_definition(ACR_PULL.upper()), ACR_PULL),
    (f"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleDefinitions/{OWNER}/",
     OWNER),
    (f"{DEV.cosmos}/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}", COSMOS_DATA_CONTRIBUTOR),
    (CONTRIBUTOR, CONTRIBUTOR),
    ("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/custom-role", ""),
])
def test_role_guid_is_the_guid_at_the_end_of_the_role_definition_id(text: str, guid: str) -> None:
    assert role_guid_of(text) == guid


def test_scopes_cover_themselves_and_what_lies_below_by_segment() -> None:
    assert scope_covers(DEV.resource_group, DEV.acr)
    assert scope_covers(DEV.resource_group.upper() + "/", DEV.acr)
    assert scope_covers(DEV.acr, DEV.acr)
    assert not scope_covers(DEV.acr, DEV.resource_group)
    assert not scope_covers(DEV.resource_group, DEV.resource_group + "2")


# --- The audit itself ---------------------------------------------------------------------------

def rbac(guid: str, scope: str, principal: str = KUBELET_ID) -> ActualAssignment:
    return ActualAssignment(id=f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
                            principal_id=principal, role_guid=guid, scope=scope, kind="rbac")


def cosmos(guid: str, principal: str = KUBELET_ID, scope: str = DEV.cosmos) -> ActualAssignment:
    return ActualAssignment(id=f"{DEV.cosmos}/sqlRoleAssignments/{uuid.uuid4()}", principal_id=principal,
                            role_guid=guid, scope=scope, kind="cosmos")


def designed_rbac() -> list[ActualAssignment]:
    return [rbac(ACR_PULL, DEV.acr), rbac(EVENT_HUBS_DATA_SENDER, DEV.eventhubs),
            rbac(EVENT_HUBS_DATA_RECEIVER, DEV.eventhubs), rbac(KEY_VAULT_SECRETS_USER, DEV.keyvault),
            rbac(STORAGE_BLOB_DATA_CONTRIBUTOR, DEV.storage)]


def test_a_platform_as_designed_audits_clean() -> None:
    report = audit(expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID), designed_rbac(),
                   [cosmos(COSMOS_DATA_CONTRIBUTOR)], [DEV.resource_group])

    assert report.clean
    assert len(report.present) == 6
    assert not any(match.inherited for match in report.present)


def test_the_cosmos_role_is_met_only_by_a_data_plane_assignment() -> None:
    """An Azure RBAC assignment with the Cosmos role's GUID is not the data-plane assignment."""
    report = audit(expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID),
                   [*designed_rbac(), rbac(COSMOS_DATA_CONTRIBUTOR, DEV.cosmos)], [], [DEV.resource_group])

    assert [e.scope_kind for e in report.missing] == ["cosmos-data-plane"]


def test_a_role_granted_to_another_principal_does_not_count() -> None:
    others = [rbac(ACR_PULL, DEV.acr, principal=INTRUDER_ID), *designed_rbac()[1:]]

    report = audit(expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID), others,
                   [cosmos(COSMOS_DATA_CONTRIBUTOR)], [DEV.resource_group])

    assert [e.role_name for e in report.missing] == ["AcrPull"]
    # Before the cluster exists nobody knows the kubelet's id: any holder of the role counts.
    unnamed = audit(expected_assignments(SUBSCRIPTION, "dev"), others, [cosmos(COSMOS_DATA_CONTRIBUTOR)],
                    [DEV.resource_group])
    assert unnamed.clean


def test_a_role_granted_above_the_resource_counts_as_inherited() -> None:
    assignments = [rbac(ACR_PULL, DEV.resource_group), *designed_rbac()[1:]]

    report = audit(expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID), assignments,
                   [cosmos(COSMOS_DATA_CONTRIBUTOR, scope=f"{DEV.cosmos}/dbs/holidaypeakhub")],
                   [DEV.resource_group])

    acr = next(m for m in report.present if m.expected.scope_kind == "acr")
    assert acr.inherited
    assert acr.actual.scope == DEV.resource_group
    # Narrower than the account (one database) does not grant the whole account.
    assert [e.scope_kind for e in report.missing] == ["cosmos-data-plane"]


def test_broad_roles_on_the_platform_are_unexpected_and_others_are_not() -> None:
    owner = rbac(OWNER, DEV.resource_group, principal=INTRUDER_ID)
    kubelet_contributor = rbac(CONTRIBUTOR, DEV.storage)
    elsewhere = rbac(USER_ACCESS_ADMINISTRATOR, f"{SUB_SCOPE}/resourceGroups/other-rg", principal=INTRUDER_ID)
    reader = rbac(READER, DEV.resource_group, principal=INTRUDER_ID)

    report = audit(expected_assignments(SUBSCRIPTION, "dev", KUBELET_ID),
                   [*designed_rbac(), owner, kubelet_contributor, elsewhere, reader, owner],
                   [cosmos(COSMOS_DATA_CONTRIBUTOR)], platform_scopes(SUBSCRIPTION, "dev"))

    assert report.unexpected == [owner, kubelet_contributor]
    assert [a.role_name for a in report.unexpected] == ["Owner", "Contributor"]
    assert not report.missing
    assert not report.clean


# --- Azure: the real SDK clients, answered in-process -------------------------------------------

_ROLE_ASSIGNMENTS = re.compile(r"^(?P<scope>/.*?)/providers/Microsoft\.Authorization/roleAssignments$", re.I)
_SQL_ROLE_ASSIGNMENTS = re.compile(
    r"^(?P<account>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.DocumentDB/"
    r"databaseAccounts/[^/]+)/sqlRoleAssignments$", re.I)


class FakeRbacArm(InProcessTransport):
    """Answers, in ARM's shapes:

        GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=...]
            no filter: assignments at, above and below the scope; atScope(): at or above it;
            principalId eq '{id}': at, above and below, for that principal. Pages of `page_size`
            with a nextLink ($skipToken).
        GET .../databaseAccounts/{account}/sqlRoleAssignments    the account's data-plane assignments

    `unauthorized` answers 401 to everything."""

    def __init__(self, page_size: int = 3) -> None:
        self.role_assignments: list[dict[str, Any]] = []
        self.sql_role_assignments: dict[str, list[dict[str, Any]]] = {}
        self.page_size = page_size
        self.unauthorized = False
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []

    def assign(self, guid: str, scope: str, principal: str, principal_type: str = "ServicePrincipal") -> str:
        name = str(uuid.uuid4())
        self.role_assignments.append({
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", "name": name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {"roleDefinitionId": role_definition(guid), "principalId": principal,
                           "principalType": principal_type, "scope": scope,
                           "createdOn": "2026-11-28T12:00:00.0000000Z"},
        })
        return str(self.role_assignments[-1]["id"])

    def assign_cosmos(self, guid: str, account: str, principal: str, scope: str | None = None) -> str:
        name = str(uuid.uuid4())
        self.sql_role_assignments.setdefault(account.lower(), []).append({
            "id": f"{account}/sqlRoleAssignments/{name}", "name": name,
            "type": "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
            "properties": {"roleDefinitionId": f"{account}/sqlRoleDefinitions/{guid}", "scope": scope or account,
                           "principalId": principal},
        })
        return str(self.sql_role_assignments[account.lower()][-1]["id"])

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        url = urlsplit(request.url)
        query = parse_qs(url.query)
        self.requests.append((request.method, url.path, query))
        if self.unauthorized:
            return FakeResponse(request, 401, {"error": {
                "code": "InvalidAuthenticationToken", "message": "The access token is invalid."}})
        if request.method == "GET" and (match := _SQL_ROLE_ASSIGNMENTS.match(url.path)):
            return FakeResponse(request, 200, {"value": self.sql_role_assignments.get(match["account"].lower(), [])})
        if request.method == "GET" and (match := _ROLE_ASSIGNMENTS.match(url.path)):
            return self._list_for_scope(request, match["scope"], query)
        return FakeResponse(request, 400, {"error": {"code": "BadRequest", "message": url.path}})

    def _list_for_scope(self, request: HttpRequest, scope: str, query: dict[str, list[str]]) -> HttpResponse:
        where = (query.get("$filter") or [""])[0]
        principal = re.fullmatch(r"principalId eq '([^']+)'", where)
        if where == "atScope()":
            rows = [r for r in self.role_assignments if scope_covers(r["properties"]["scope"], scope)]
        elif where and principal is None:
            return FakeResponse(request, 400, {"error": {"code": "InvalidFilter", "message": where}})
        else:
            rows = [r for r in self.role_assignments
                    if scope_covers(r["properties"]["scope"], scope) or scope_covers(scope, r["properties"]["scope"])]
            if principal is not None:
                rows = [r for r in rows if r["properties"]["principalId"] == principal.group(1)]
        start = int((query.get("$skipToken") or ["0"])[0])
        body: dict[str, Any] = {"value": rows[start:start + self.page_size]}
        if start + self.page_size < len(rows):
            params = {"api-version": query["api-version"][0], "$skipToken": str(start + self.page_size)}
            if where:
                params["$filter"] = where
            body["nextLink"] = f"https://management.azure.com{urlsplit(request.url).path}?{urlencode(params)}"
        return FakeResponse(request, 200, body)



@pytest.fixture
def arm() -> FakeRbacArm:
    """The dev environment with drift: the kubelet's five RBAC assignments (one role definition id
    in upper case), but on the Cosmos account only a Data Reader for the kubelet and the Data
    Contributor for someone else; an Owner on the resource group for an intruder; a Reader on the
    group; the subscription's Owner above it all; a Contributor in another resource group."""
    fake = FakeRbacArm()
    fake.assign(ACR_PULL.upper(), DEV.acr, KUBELET_ID)
    fake.assign(EVENT_HUBS_DATA_SENDER, DEV.eventhubs, KUBELET_ID)
    fake.assign(EVENT_HUBS_DATA_RECEIVER, DEV.eventhubs, KUBELET_ID)
    fake.assign(KEY_VAULT_SECRETS_USER, DEV.keyvault, KUBELET_ID)
    fake.assign(STORAGE_BLOB_DATA_CONTRIBUTOR, DEV.storage, KUBELET_ID)
    fake.assign(OWNER, DEV.resource_group, INTRUDER_ID, principal_type="User")
    fake.assign(READER, DEV.resource_group, INTRUDER_ID, principal_type="User")
    fake.assign(OWNER, SUB_SCOPE, ADMIN_ID, principal_type="User")
    fake.assign(CONTRIBUTOR, f"{SUB_SCOPE}/resourceGroups/other-rg", INTRUDER_ID, principal_type="User")
    fake.assign_cosmos(COSMOS_DATA_READER, DEV.cosmos, KUBELET_ID)
    fake.assign_cosmos(COSMOS_DATA_CONTRIBUTOR, DEV.cosmos, INTRUDER_ID)
    return fake


def test_azure_audit_finds_the_missing_cosmos_assignment_and_the_unexpected_owner(arm: FakeRbacArm) -> None:
    backend = AzureRbac(FakeCredential(), SUBSCRIPTION, transport=arm)

    report = audit_environment(backend, subscription_id=SUBSCRIPTION, env_name="dev",
                               kubelet_principal_id=KUBELET_ID)

    assert [(e.role_name, e.scope_kind, e.scope_id) for e in report.missing] == [
        ("Cosmos DB Built-in Data Contributor", "cosmos-data-plane", DEV.cosmos)]
    assert [(a.role_name, a.principal_id, a.scope, a.principal_type) for a in report.unexpected] == [
        ("Owner", INTRUDER_ID, DEV.resource_group, "User")]
    assert sorted(m.expected.role_name for m in report.present) == [
        "AcrPull", "Azure Event Hubs Data Receiver", "Azure Event Hubs Data Sender", "Key Vault Secrets User",
        "Storage Blob Data Contributor"]
    # One listing at the resource group, unfiltered and paged; one read of the Cosmos account.
    role_requests = [(path, query) for _, path, query in arm.requests if path.endswith("/roleAssignments")]
    listing = f"{DEV.resource_group}/providers/Microsoft.Authorization/roleAssignments"
    assert [path for path, _ in role_requests] == [listing] * 3
    assert all("$filter" not in query for _, query in role_requests)
    assert ("GET", f"{DEV.cosmos}/sqlRoleAssignments", {"api-version": ["2026-03-15"]}) in arm.requests


def test_azure_lists_resource_level_assignments_and_drops_inherited_ones(arm: FakeRbacArm) -> None:
    backend = AzureRbac(FakeCredential(), SUBSCRIPTION, transport=arm)

    listed = backend.list_assignments(DEV.resource_group)

    assert len(listed) == 7   # the kubelet's five, the intruder's Owner and Reader
    assert all(a.kind == "rbac" and scope_covers(DEV.resource_group, a.scope) for a in listed)
    assert ADMIN_ID not in {a.principal_id for a in listed}
    acr = next(a for a in listed if a.scope == DEV.acr)
    assert (acr.role_guid, acr.principal_id, acr.principal_type) == (ACR_PULL, KUBELET_ID, "ServicePrincipal")
    assert acr.role_definition_id == role_definition(ACR_PULL.upper())


def test_at_scope_filter_would_miss_every_assignment_on_a_resource(arm: FakeRbacArm) -> None:
    """Why AzureRbac sends no $filter: atScope() is "at or above", not "at or below"."""
    backend = AzureRbac(FakeCredential(), SUBSCRIPTION, transport=arm)

    at_scope = list(backend.authorization.role_assignments.list_for_scope(DEV.resource_group, filter="atScope()"))

    assert {a.scope for a in at_scope} == {DEV.resource_group, SUB_SCOPE}


def test_azure_reads_the_cosmos_data_plane_assignments_from_the_account(arm: FakeRbacArm) -> None:
    backend = AzureRbac(FakeCredential(), SUBSCRIPTION, transport=arm)

    found = backend.list_cosmos_assignments(DEV.cosmos)

    assert sorted((a.role_guid, a.principal_id) for a in found) == sorted([
        (COSMOS_DATA_READER, KUBELET_ID), (COSMOS_DATA_CONTRIBUTOR, INTRUDER_ID)])
    assert {(a.kind, a.scope) for a in found} == {("cosmos", DEV.cosmos)}
    assert all(a.id.startswith(f"{DEV.cosmos}/sqlRoleAssignments/") for a in found)
    with pytest.raises(ValueError, match="not a Cosmos DB account id"):
        backend.list_cosmos_assignments(DEV.storage)
    with pytest.raises(ValueError, match="not in subscription"):
        backend.list_cosmos_assignments(DEV.cosmos.replace(SUBSCRIPTION, "99999999-2222-3333-4444-555555555555"))


def test_azure_answering_401_raises_a_cloud_error_rather_than_an_empty_listing(arm: FakeRbacArm) -> None:
    arm.unauthorized = True
    backend = AzureRbac(FakeCredential(), SUBSCRIPTION, transport=arm)

    with pytest.raises(CloudError) as raised:
        audit_environment(backend, subscription_id=SUBSCRIPTION, env_name="dev", kubelet_principal_id=KUBELET_ID)

    assert (raised.value.code, raised.value.transient) == ("InvalidAuthenticationToken", False)
    with pytest.raises(CloudError, match="InvalidAuthenticationToken"):
        backend.list_cosmos_assignments(DEV.cosmos)


# --- The sandbox --------------------------------------------------------------------------------

@pytest.fixture
def sandbox() -> SandboxRbac:
    """What deploying bicep/shared-infrastructure (dev) left behind."""
    rbac_backend = SandboxRbac()
    rbac_backend.record_from_resources(template_resources(SHARED_INFRASTRUCTURE, {"environment": "dev"}))
    return rbac_backend


def sandbox_report(backend: SandboxRbac) -> Any:
    return audit_environment(backend, subscription_id=backend.subscription_id, env_name="dev",
                             kubelet_principal_id=backend.kubelet_principal_id)


def test_the_sandbox_records_what_the_shared_infrastructure_grants(sandbox: SandboxRbac) -> None:
    resources = platform_resources(sandbox.subscription_id, "dev")

    found = sandbox.assignments()

    assert sorted((a.kind, a.role_guid, a.scope) for a in found) == sorted([
        ("rbac", ACR_PULL, resources.acr),
        ("rbac", EVENT_HUBS_DATA_SENDER, resources.eventhubs),
        ("rbac", EVENT_HUBS_DATA_RECEIVER, resources.eventhubs),
        ("rbac", KEY_VAULT_SECRETS_USER, resources.keyvault),
        ("rbac", STORAGE_BLOB_DATA_CONTRIBUTOR, resources.storage),
        ("cosmos", COSMOS_DATA_CONTRIBUTOR, resources.cosmos),
    ])
    assert {a.principal_id for a in found} == {sandbox.kubelet_principal_id}
    cosmos_assignment = sandbox.list_cosmos_assignments(resources.cosmos)[0]
    assert cosmos_assignment.role_definition_id == f"{resources.cosmos}/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}"
    assert sandbox.list_assignments(resources.acr)[0].id.startswith(
        f"{resources.acr}/providers/Microsoft.Authorization/roleAssignments/")
    assert sandbox_report(sandbox).clean


def test_recording_the_same_deployment_twice_changes_nothing(sandbox: SandboxRbac) -> None:
    before = sandbox.assignments()

    sandbox.record_from_resources(template_resources(SHARED_INFRASTRUCTURE, {"environment": "dev"}))

    assert sandbox.assignments() == before


def test_the_sandbox_audit_finds_injected_drift(sandbox: SandboxRbac) -> None:
    resources = platform_resources(sandbox.subscription_id, "dev")
    acr_pull = sandbox.list_assignments(resources.acr)[0]
    assert sandbox.revoke(acr_pull.id)
    assert not sandbox.revoke(acr_pull.id)
    owner = sandbox.grant(INTRUDER_ID, OWNER, resources.resource_group)
    admin = sandbox.grant(INTRUDER_ID, USER_ACCESS_ADMINISTRATOR, resources.keyvault)
    sandbox.grant(INTRUDER_ID, CONTRIBUTOR, f"/subscriptions/{sandbox.subscription_id}/resourceGroups/other-rg")
    sandbox.grant(INTRUDER_ID, COSMOS_DATA_CONTRIBUTOR, resources.cosmos, kind="cosmos")

    report = sandbox_report(sandbox)

    assert [e.role_name for e in report.missing] == ["AcrPull"]
    assert report.unexpected == [owner, admin]
    assert len(report.present) == 5


def test_the_sandbox_audit_finds_a_revoked_cosmos_data_plane_assignment(sandbox: SandboxRbac) -> None:
    resources = platform_resources(sandbox.subscription_id, "dev")
    sandbox.revoke(sandbox.list_cosmos_assignments(resources.cosmos)[0].id)
    sandbox.grant(sandbox.kubelet_principal_id, COSMOS_DATA_CONTRIBUTOR, resources.cosmos + "/dbs/holidaypeakhub",
                  kind="cosmos")

    report = sandbox_report(sandbox)

    assert [e.scope_kind for e in report.missing] == ["cosmos-data-plane"]


def test_deploying_the_role_assignment_template_puts_a_missing_role_back(sandbox: SandboxRbac) -> None:
    resources = platform_resources(sandbox.subscription_id, "dev")
    sandbox.revoke(sandbox.list_assignments(resources.storage)[0].id)
    parameters = {"principalId": sandbox.kubelet_principal_id, "roleDefinitionId": STORAGE_BLOB_DATA_CONTRIBUTOR,
                  "scopeResourceName": "holidaypeakhubdevst", "resourceGroupName": "holidaypeakhub-dev-rg"}

    recorded = sandbox.record_from_resources(template_resources(ROLE_ASSIGNMENT, parameters), parameters=parameters)

    assert [(a.role_guid, a.scope, a.principal_id) for a in recorded] == [
        (STORAGE_BLOB_DATA_CONTRIBUTOR, resources.storage, sandbox.kubelet_principal_id)]
    assert sandbox_report(sandbox).clean


def test_the_sandbox_state_is_json_and_survives_a_round_trip(sandbox: SandboxRbac) -> None:
    sandbox.grant(INTRUDER_ID, OWNER, platform_resources(sandbox.subscription_id, "dev").resource_group)

    restored = SandboxRbac(json.loads(json.dumps(sandbox.state)), subscription_id=SUBSCRIPTION)

    assert restored.subscription_id == sandbox.subscription_id
    assert restored.assignments() == sandbox.assignments()
    assert sandbox_report(restored) == sandbox_report(sandbox)


def test_expected_assignments_are_plain_values() -> None:
    first = expected_assignments(SUBSCRIPTION, "staging", KUBELET_ID)
    assert first == expected_assignments(SUBSCRIPTION, "staging", KUBELET_ID)
    assert isinstance(first[0], ExpectedAssignment)
    assert len(set(first)) == len(first)   # frozen, hashable: usable as keys

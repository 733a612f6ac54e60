"""Role assignments from Azure: azure-mgmt-authorization for Azure RBAC, azure-mgmt-cosmosdb for
the Cosmos DB data plane.

    list_assignments          role_assignments.list_for_scope(scope), no $filter, narrowed to the
                              scope and below
    list_cosmos_assignments   sql_resources.list_sql_role_assignments(resource_group, account)

Why no $filter: `atScope()` returns the assignments at the scope *and above* it, so at the resource
group it would miss every assignment made on a resource in the group (all five of the kubelet's).
Without a filter ARM returns those at, above and below the scope; the ones inherited from above
(subscription, management groups) are dropped here.

Every azure-core error becomes a CloudError (provisioning.backends.azure.cloud_error_from).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.transport import HttpTransport
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.cosmosdb import CosmosDBManagementClient

from provisioning.backends.azure import ARM_BASE_URL, client_options, cloud_error_from

from .base import ActualAssignment, role_guid_of, scope_covers


class AzureRbac:
    """RbacBackend for one subscription. `transport` replaces the HTTP layer (tests answer
    in-process); other keyword arguments go to both SDK clients (azure-core pipeline options)."""

    kind = "azure"

    def __init__(
        self,
        credential: TokenCredential,
        subscription_id: str,
        transport: HttpTransport[Any, Any] | None = None,
        *,
        base_url: str = ARM_BASE_URL,
        retry_total: int = 3,
        **client_kwargs: Any,
    ) -> None:
        options = client_options(transport, retry_total=retry_total, **client_kwargs)
        self.subscription_id = subscription_id
        # AuthorizationManagementClient's third positional parameter is api_version, not base_url.
        self.authorization = AuthorizationManagementClient(credential, subscription_id, base_url=base_url, **options)
        self.cosmos = CosmosDBManagementClient(credential, subscription_id, base_url=base_url, **options)

    def close(self) -> None:
        self.authorization.close()  # type: ignore[no-untyped-call]  # msrest-era client, untyped
        self.cosmos.close()

    def list_assignments(self, scope: str) -> list[ActualAssignment]:
        try:
            found = list(self.authorization.role_assignments.list_for_scope(scope))
        except AzureError as exc:
            raise cloud_error_from(exc) from exc
        result = []
        for item in found:   # msrest-style model: the properties are flattened onto it
            assignment = ActualAssignment(
                id=item.id or "",
                principal_id=item.principal_id or "",
                role_guid=role_guid_of(item.role_definition_id or ""),
                scope=item.scope or "",
                kind="rbac",
                principal_type=_text(item.principal_type),
                role_definition_id=item.role_definition_id or "",
            )
            if scope_covers(scope, assignment.scope):
                result.append(assignment)
        return result

    def list_cosmos_assignments(self, account_id: str) -> list[ActualAssignment]:
        subscription, group, account = _cosmos_account(account_id)
        if subscription.lower() != self.subscription_id.lower():
            raise ValueError(f"account {account_id} is not in subscription {self.subscription_id}")
        try:
            found = list(self.cosmos.sql_resources.list_sql_role_assignments(group, account))
        except AzureError as exc:
            raise cloud_error_from(exc) from exc
        result = []
        for item in found:   # typespec model: the properties stay nested under .properties
            props = item.properties
            role_definition_id = (props.role_definition_id if props else None) or ""
            result.append(ActualAssignment(
                id=item.id or "",
                principal_id=(props.principal_id if props else None) or "",
                role_guid=role_guid_of(role_definition_id),
                scope=(props.scope if props else None) or "",
                kind="cosmos",
                role_definition_id=role_definition_id,
            ))
        return result


def _cosmos_account(account_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, account name) of a Cosmos DB account id."""
    parts = [p for p in account_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if (len(parts) != 8 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups"
            or lowered[4] != "providers" or lowered[5] != "microsoft.documentdb" or lowered[6] != "databaseaccounts"):
        raise ValueError(f"not a Cosmos DB account id: {account_id!r}")
    return parts[1], parts[3], parts[7]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value.value) if isinstance(value, Enum) else str(value)


__all__ = ["AzureRbac"]

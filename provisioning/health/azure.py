"""Azure Resource Health through azure-mgmt-resourcehealth:

    availability   availability_statuses.get_by_resource(resource_uri)  ->  (availabilityState, summary)

The package's client is `ResourceHealthMgmtClient` (1.0, api-version 2025-05-01); the name
`MicrosoftResourceHealth` of its 1.0 betas is gone. Every azure-core error becomes a CloudError (as
in provisioning.backends.azure): ClientAuthenticationError (a 401, or a credential with nothing to
sign in with) included, so check_resource_health reports "unknown" rather than a colour.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.transport import HttpTransport
from azure.mgmt.resourcehealth import ResourceHealthMgmtClient

from provisioning.backends.azure import ARM_BASE_URL, client_options, cloud_error_from

from .base import AvailabilityState


class AzureResourceHealth:
    """ResourceHealthBackend for one subscription. `transport` replaces the HTTP layer (tests answer
    in-process); other keyword arguments go to the SDK client (azure-core pipeline options)."""

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
        self.client = ResourceHealthMgmtClient(credential, subscription_id, base_url, **options)

    def close(self) -> None:
        self.client.close()

    def availability(self, resource_id: str) -> tuple[str, str]:
        # The operation's URL template is "/{resourceUri}/providers/...": the id goes in with or
        # without its leading slash (the pipeline joins the two slashes).
        try:
            status = self.client.availability_statuses.get_by_resource(resource_id.lstrip("/"))
        except AzureError as exc:
            raise cloud_error_from(exc) from exc
        props = status.properties
        if props is None:
            return AvailabilityState.UNKNOWN, ""
        return _state(props.availability_state), props.summary or props.title or ""


def _state(value: Any) -> str:
    """The SDK hands back an AvailabilityStateValues (a str Enum whose str() is the member's name,
    "AvailabilityStateValues.DEGRADED") for known values and a plain str for others; null means
    an availability-impacting event with no state, reported as Unknown."""
    text = value.value if isinstance(value, Enum) else str(value or "")
    return next((known for known in AvailabilityState.ALL if known.lower() == text.lower()),
                AvailabilityState.UNKNOWN)


__all__ = ["AzureResourceHealth"]

"""Metrics of the Azure SDK calls (#14), for Prometheus: every throttled answer (HTTP 429) an Azure
client receives, retried or not. Imports nothing from Django or the portal."""

from typing import Any

from azure.core.pipeline.policies import SansIOHTTPPolicy
from prometheus_client import Counter

AZURE_THROTTLED = Counter(
    "portal_azure_throttled",
    "Azure answers with HTTP 429 (throttled), per service host; each retry counts.",
    ["host"],
)


class ThrottlingMetricsPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """A per-retry pipeline policy: sees every HTTP answer, including those the RetryPolicy retries."""

    def on_response(self, request: Any, response: Any) -> None:
        if response.http_response.status_code == 429:
            host = (request.http_request.url.split("/", 3) + [""] * 3)[2]
            AZURE_THROTTLED.labels(host=host).inc()

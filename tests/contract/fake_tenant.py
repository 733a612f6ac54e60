"""A tenant as it really is, answered in-process (issue #10): names that do not follow the portal's
convention, a kubelet identity only the cluster knows, and a Cosmos account whose data plane can refuse.

FakeTenantArm extends the RBAC fake (role assignments, sqlRoleAssignments) with what discovery reads:

    GET /subscriptions/{s}/resourceGroups/{rg}/resources          the group's resources (ARM types)
    GET {managed cluster id}                                      identityProfile.kubeletidentity, nodeResourceGroup
    GET /subscriptions/{s}/providers/Microsoft.Resources/deployments/{name}   outputs of shared-infrastructure

Requests for a subscription the tenant does not hold answer 404 SubscriptionNotFound."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from azure.core.rest import HttpRequest, HttpResponse

from provisioning.backends.base import resource_id
from provisioning.discovery import SHARED_TYPES
from tests.provisioning.arm_transport import FakeResponse
from tests.provisioning.test_rbac import FakeRbacArm

_GROUP_RESOURCES = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/resources$", re.I)
_DEPLOYMENT = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Resources/deployments/(?P<name>[^/]+)$",
                         re.I)
_SUB = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/", re.I)


class FakeTenantArm(FakeRbacArm):
    def __init__(self, subscriptions: set[str]) -> None:
        super().__init__()
        self.subscriptions = {s.lower() for s in subscriptions}
        self.groups: dict[str, list[dict[str, Any]]] = {}      # lowercased "sub/rg" -> resources
        self.clusters: dict[str, dict[str, Any]] = {}          # lowercased id -> properties
        self.deployment_outputs: dict[str, dict[str, Any]] = {}
        self.cosmos_refuses = False

    def add_environment(self, sub: str, rg: str, names: dict[str, str], *, kubelet: str, node_rg: str) -> dict[str, str]:
        """Resources named `names` (key -> name) in sub/rg; the cluster's kubelet identity. Returns key -> id."""
        ids = {}
        for key, name in names.items():
            rid = resource_id(sub, rg, SHARED_TYPES[key], name)
            ids[key] = rid
            self.groups.setdefault(f"{sub}/{rg}".lower(), []).append(
                {"id": rid, "name": name, "type": SHARED_TYPES[key], "location": "eastus"})
        self.clusters[ids["aks"].lower()] = {
            "identityProfile": {"kubeletidentity": {"objectId": kubelet, "clientId": "c-" + kubelet[:8],
                                                    "resourceId": f"/subscriptions/{sub}/resourceGroups/{node_rg}/"
                                                                  f"providers/Microsoft.ManagedIdentity/"
                                                                  f"userAssignedIdentities/{names['aks']}-agentpool"}},
            "nodeResourceGroup": node_rg, "provisioningState": "Succeeded"}
        return ids

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        path = urlsplit(request.url).path
        sub = _SUB.match(path)
        if sub and sub["sub"].lower() not in self.subscriptions:
            self.requests.append((request.method, path, {}))
            return FakeResponse(request, 404, {"error": {"code": "SubscriptionNotFound",
                                                         "message": f"The subscription '{sub['sub']}' could not be found."}})
        if request.method == "GET" and (match := _GROUP_RESOURCES.match(path)):
            self.requests.append((request.method, path, {}))
            return FakeResponse(request, 200, {"value": self.groups.get(f"{match['sub']}/{match['rg']}".lower(), [])})
        if request.method == "GET" and path.lower() in self.clusters:
            self.requests.append((request.method, path, {}))
            name = path.rstrip("/").rsplit("/", 1)[-1]
            return FakeResponse(request, 200, {"id": path, "name": name, "location": "eastus",
                                               "type": SHARED_TYPES["aks"], "properties": self.clusters[path.lower()]})
        if request.method == "GET" and (match := _DEPLOYMENT.match(path)):
            self.requests.append((request.method, path, {}))
            outputs = self.deployment_outputs.get(match["name"])
            if outputs is None:
                return FakeResponse(request, 404, {"error": {"code": "DeploymentNotFound", "message": match["name"]}})
            return FakeResponse(request, 200, {
                "id": path, "name": match["name"],
                "properties": {"provisioningState": "Succeeded", "correlationId": "c",
                               "outputs": {k: {"type": "String", "value": v} for k, v in outputs.items()}}})
        if self.cosmos_refuses and path.lower().endswith("/sqlroleassignments"):
            self.requests.append((request.method, path, {}))
            return FakeResponse(request, 403, {"error": {
                "code": "Forbidden", "message": "Request blocked by the Cosmos DB account's network rules."}})
        return super().send(request, **kwargs)

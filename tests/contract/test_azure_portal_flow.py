"""The Azure contract at portal level (issue #10): a deployment requested, previewed, run and audited
through the portal's services, with the real Azure SDK clients the backend registry builds, answered
in-process: deployments by tests/provisioning/arm_transport.FakeArm, the rest of the tenant (resource
listing, the cluster, role assignments) by tests/contract/fake_tenant.FakeTenantArm. A role assignment
the deployment creates shows up in the tenant's listings once the deployment has succeeded, as in Azure.

The Bicep CLI is an external program: a stand-in prints the ARM JSON `bicep build` would."""

import json
import re
import stat
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest

from portal.access import services as access_services
from portal.access.choices import FindingKind
from portal.audit.models import AuditEvent
from portal.core.backends import azure_access
from portal.deployments import services as deployment_services
from portal.deployments.choices import DeploymentStatus as S
from provisioning.rbac import ACR_PULL, role_guid_of
from tests.contract.fake_tenant import FakeTenantArm
from tests.contract.test_azure_tenant import DEV_NAMES, DEV_SUB, KUBELET, grant_design
from tests.factories import EnvironmentFactory
from tests.provisioning.arm_transport import FakeArm, FakeCredential, InProcessTransport

_PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$")
ROLE_ASSIGNMENT_ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {name: {"type": "string"} for name in
                   ("principalId", "roleDefinitionId", "scopeResourceName", "resourceGroupName", "principalType")},
    "resources": [{
        "type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "role-assignment",
        "resourceGroup": "[parameters('resourceGroupName')]",
        "properties": {"mode": "Incremental", "template": {"resources": [{
            "type": "Microsoft.Authorization/roleAssignments", "apiVersion": "2022-04-01",
            "name": "[parameters('principalId')]",
            "properties": {"principalId": "[parameters('principalId')]",
                           "roleDefinitionId": "[parameters('roleDefinitionId')]",
                           "principalType": "[parameters('principalType')]",
                           "scopeResourceName": "[parameters('scopeResourceName')]"}}]}}}],
}


class TenantWithDeployments(InProcessTransport):
    """Deployments (and their operations and what-if) to FakeArm, everything else to the tenant; role
    assignments of succeeded deployments are granted in the tenant before it lists any."""

    def __init__(self, tenant: FakeTenantArm, arm: FakeArm) -> None:
        self.tenant, self.arm, self.synced = tenant, arm, set()
        self.deployment_paths: list[str] = []

    def send(self, request, **kwargs: Any):
        path = urlsplit(request.url).path.lower()
        if ("/providers/microsoft.resources/deployments/" in path or "/operationresults/" in path
                or re.search(r"/resourcegroups/[^/]+/deployments/", path)):
            self.deployment_paths.append(path)
            return self.arm.handle(request)
        if path.endswith("/providers/microsoft.authorization/roleassignments"):
            self._grant_what_was_deployed()
        return self.tenant.send(request, **kwargs)

    def _grant_what_was_deployed(self) -> None:
        for deployment in self.arm.deployments.values():
            if deployment.state != "Succeeded" or deployment.name in self.synced:
                continue
            values = {k: v["value"] for k, v in deployment.parameters.items()}
            for resource in deployment.resources:
                if resource.type.lower() != "microsoft.authorization/roleassignments":
                    continue
                props = {k: values[m.group(1)] if isinstance(v, str) and (m := _PARAMETER.match(v)) else v
                         for k, v in resource.properties.items()}
                scope = next(r["id"] for rs in self.tenant.groups.values() for r in rs
                             if r["name"] == props["scopeResourceName"])
                self.tenant.assign(role_guid_of(props["roleDefinitionId"]), scope, props["principalId"],
                                   principal_type=props["principalType"])
            self.synced.add(deployment.name)


@pytest.fixture
def fake_bicep(tmp_path):
    script = tmp_path / "bicep"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({json.dumps(json.dumps(ROLE_ASSIGNMENT_ARM))})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.fixture
def azure(settings, fake_bicep):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.AZURE_SUBSCRIPTION_ID = ""
    settings.PORTAL_BICEP = fake_bicep


@pytest.fixture
def cloud(azure):
    tenant = FakeTenantArm({DEV_SUB})
    tenant.dev = tenant.add_environment(DEV_SUB, "rg-hph-dev", DEV_NAMES, kubelet=KUBELET,
                                        node_rg="MC_rg-hph-dev_hph-dev-aks01_eastus")
    transport = TenantWithDeployments(tenant, FakeArm(DEV_SUB))
    with azure_access(credential=FakeCredential(), transport=transport):
        yield transport


def test_a_missing_role_is_audited_remediated_by_a_deployment_previewed_and_run_then_audited_clean(
        cloud, engineer, django_capture_on_commit_callbacks):
    dev = EnvironmentFactory(name="dev", subscription_id=DEV_SUB, resource_group="rg-hph-dev",
                             aks_cluster="hph-dev-aks01")
    tenant = cloud.tenant
    grant_design(tenant, tenant.dev, KUBELET)
    tenant.role_assignments.remove(next(a for a in tenant.role_assignments
                                        if a["properties"]["scope"] == tenant.dev["acr"]))

    first = access_services.rbac_audit_run(environment_id=dev.pk)
    assert [(f.role_name, f.scope) for f in first.findings.filter(kind=FindingKind.MISSING)] == [
        ("AcrPull", tenant.dev["acr"])]

    with django_capture_on_commit_callbacks(execute=False):
        requested = access_services.rbac_remediate(environment=dev, role_guid=ACR_PULL, user=engineer)
    assert requested.parameters["scopeResourceName"] == "hphdevacr"
    assert requested.parameters["principalId"] == KUBELET

    with django_capture_on_commit_callbacks(execute=False) as queued:
        previewed = deployment_services.deployment_preview_run(deployment_id=requested.pk)
    assert previewed.status == S.QUEUED, previewed.error            # previewed, then confirmed by itself
    assert [c["change_type"] for c in previewed.what_if["changes"]] == ["Create"]
    assert len(queued) == 1

    done = deployment_services.deployment_execute(deployment_id=requested.pk, sleep=lambda s: cloud.arm.advance())
    assert done.status == S.SUCCEEDED, done.error
    assert cloud.deployment_paths and all(p.startswith(f"/subscriptions/{DEV_SUB}/") for p in cloud.deployment_paths)

    second = access_services.rbac_audit_run(environment_id=dev.pk)
    assert (second.clean, second.present_count) == (True, 6)
    acr = second.findings.get(kind=FindingKind.PRESENT, role_name="AcrPull")
    assert (acr.scope, acr.principal_id) == (tenant.dev["acr"], KUBELET)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"rbac.remediation_requested", "deployment.previewed", "deployment.succeeded", "rbac.audited"} <= actions


def test_a_deployment_to_prod_goes_to_prods_own_subscription(azure, settings, engineer,
                                                             django_capture_on_commit_callbacks):
    """Two subscriptions: the default (dev's) in AZURE_SUBSCRIPTION_ID, prod's set on the environment."""
    from tests.contract.test_azure_tenant import PROD_NAMES, PROD_SUB

    settings.AZURE_SUBSCRIPTION_ID = DEV_SUB
    tenant = FakeTenantArm({DEV_SUB, PROD_SUB})
    tenant.add_environment(PROD_SUB, "rg-hph-prd", PROD_NAMES, kubelet=KUBELET, node_rg="MC_prd")
    transport = TenantWithDeployments(tenant, FakeArm(PROD_SUB))
    prod = EnvironmentFactory(name="prod", subscription_id=PROD_SUB, resource_group="rg-hph-prd")
    parameters = {"principalId": KUBELET, "roleDefinitionId": ACR_PULL, "scopeResourceName": "hphprdacr",
                  "resourceGroupName": "rg-hph-prd", "principalType": "ServicePrincipal"}

    with azure_access(credential=FakeCredential(), transport=transport):
        with django_capture_on_commit_callbacks(execute=False):
            requested = deployment_services.deployment_request(environment=prod, template="role-assignment",
                                                               parameters=parameters, user=engineer)
        previewed = deployment_services.deployment_preview_run(deployment_id=requested.pk)

    assert previewed.status == S.PREVIEWED, previewed.error
    assert transport.deployment_paths
    assert all(p.startswith(f"/subscriptions/{PROD_SUB}/") for p in transport.deployment_paths)

"""Issue #9: a template deploys at the scope it declares. `targetScope = 'resourceGroup'` (a team's template from
git) deploys into the environment's resource group, in the sandbox as in Azure; a resource group that does not
exist is refused as ARM refuses it; management-group and tenant templates are refused at preview, saying why.

Azure is the real SDK answered in-process by tests/provisioning/arm_transport.FakeArm; the Bicep CLI is a stand-in
that prints the ARM JSON `bicep build` would."""

import json
import stat
import sys

import pytest
from django.urls import reverse

from portal.core.backends import azure_access
from portal.deployments import services, templates
from portal.deployments.backends import sandbox_cloud
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from portal.sources.demo import demo_git_repository
from portal.sources.models import TemplateSource
from portal.sources.services import source_sync
from provisioning.backends.base import CloudError
from tests.factories import EnvironmentFactory
from tests.provisioning.arm_transport import FakeArm, FakeCredential

SUB = "11111111-2222-3333-4444-555555555555"

WEB = """// A team's web app: its resources go into the resource group it is deployed to.
targetScope = 'resourceGroup'

@minLength(3)
param appName string

param location string = resourceGroup().location

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${appName}'
  location: location
  sku: { name: 'B1' }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  properties: { serverFarmId: plan.id, httpsOnly: true }
}
"""

POLICY = """targetScope = '{scope}'

param policyName string = 'require-tags'

resource definition 'Microsoft.Authorization/policyDefinitions@2023-04-01' = {{
  name: policyName
  properties: {{ policyType: 'Custom', mode: 'All' }}
}}
"""

# What `bicep build` makes of WEB: the resource group schema, the resources at the top level.
WEB_ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"appName": {"type": "string", "minLength": 3},
                   "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
    "resources": [
        {"type": "Microsoft.Web/serverfarms", "apiVersion": "2023-12-01", "name": "plan-shop",
         "properties": {"sku": {"name": "B1"}}},
        {"type": "Microsoft.Web/sites", "apiVersion": "2023-12-01", "name": "[parameters('appName')]",
         "properties": {"httpsOnly": True}},
    ],
}


@pytest.fixture
def team(db, settings, tmp_path):
    """A git source `team` with a resource-group template (web), a management-group one and a tenant one."""
    settings.PORTAL_SOURCES_DIR = tmp_path / "sources"
    files = tmp_path / "files"
    for folder, text in {"web": WEB, "mg-policy": POLICY.format(scope="managementGroup"),
                         "tenant-policy": POLICY.format(scope="tenant")}.items():
        (files / folder).mkdir(parents=True)
        (files / folder / "main.bicep").write_text(text)
    repository = tmp_path / "repo"
    demo_git_repository(files, repository)
    source = TemplateSource.objects.create(name="team", url=str(repository), ref="main")
    source = source_sync(source_id=source.pk)
    assert source.last_error == "", source.last_error
    return source


@pytest.fixture
def dev(db):
    """dev, in the subscription the cloud answers for (the sandbox's; AZURE_SUBSCRIPTION_ID in Azure)."""
    return EnvironmentFactory(name="dev", subscription_id="", resource_group="rg-hph-dev", region="eastus")


def request_run(environment, user, template="team/web", parameters=None, capture=None) -> Deployment:
    with capture(execute=False):
        return services.deployment_request(environment=environment, template=template, user=user,
                                           parameters=parameters if parameters is not None else {"appName": "shop"})


# --- What the portal reads of a template's scope ----------------------------------------------------

def test_the_scope_a_template_declares_decides_where_it_deploys(team, dev):
    assert {info.name: info.target_scope for info in templates.template_catalog()
            if info.source == "team"} == {"team/web": "resourceGroup", "team/mg-policy": "managementGroup",
                                          "team/tenant-policy": "tenant"}
    assert templates.target_resource_group(templates.template_get("team/web"), dev) == "rg-hph-dev"
    for builtin in ("agent", "shared-infrastructure", "static-web-app", "role-assignment", "portal"):
        info = templates.template_get(builtin)          # bicep/, read by provisioning.bicep
        assert info.target_scope == "subscription"
        assert templates.target_resource_group(info, dev) == ""


# --- Sandbox --------------------------------------------------------------------------------------

def test_a_resource_group_template_previews_and_deploys_into_the_environments_group(
        team, dev, engineer, django_capture_on_commit_callbacks):
    cloud = sandbox_cloud(dev)
    cloud.ensure_resource_group("rg-hph-dev", "eastus")
    run = request_run(dev, engineer, capture=django_capture_on_commit_callbacks)

    run = services.deployment_preview_run(deployment_id=run.pk)

    assert run.status == S.PREVIEWED, run.error
    assert run.arm_resource_group == "rg-hph-dev"
    scope = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-hph-dev/providers/Microsoft.Web"
    assert [(c["change_type"], c["resource_id"]) for c in run.what_if["changes"]] == [
        ("Create", f"{scope}/serverfarms/plan-shop"), ("Create", f"{scope}/sites/shop")]
    assert "Running what-if in resource group rg-hph-dev" in " ".join(run.log_lines.values_list("message", flat=True))

    with django_capture_on_commit_callbacks(execute=False):
        services.deployment_confirm(deployment=run, user=engineer)
    done = services.deployment_execute(deployment_id=run.pk)

    assert done.status == S.SUCCEEDED, done.error
    assert {f"{scope}/serverfarms/plan-shop", f"{scope}/sites/shop"} <= set(sandbox_cloud(dev).inventory())
    status = sandbox_cloud(dev).get_status(deployment_name=run.arm_deployment_name, resource_group="rg-hph-dev")
    assert status.provisioning_state == "Succeeded"
    with pytest.raises(CloudError, match="could not be found"):   # the run never deployed at subscription scope
        sandbox_cloud(dev).get_status(deployment_name=run.arm_deployment_name)


def test_a_resource_group_that_does_not_exist_is_refused_at_preview_as_azure_refuses_it(
        team, dev, engineer, django_capture_on_commit_callbacks):
    run = request_run(dev, engineer, capture=django_capture_on_commit_callbacks)

    run = services.deployment_preview_run(deployment_id=run.pk)

    assert run.status == S.FAILED
    assert run.error == {"code": "ResourceGroupNotFound", "message": "Resource group 'rg-hph-dev' could not be found.",
                         "details": []}
    assert sandbox_cloud(dev).inventory() == {}


def test_the_run_goes_where_it_was_previewed_even_if_the_environment_moves_on(
        team, dev, engineer, django_capture_on_commit_callbacks):
    sandbox_cloud(dev).ensure_resource_group("rg-hph-dev", "eastus")
    run = services.deployment_preview_run(deployment_id=request_run(dev, engineer,
                                                                    capture=django_capture_on_commit_callbacks).pk)
    with django_capture_on_commit_callbacks(execute=False):
        services.deployment_confirm(deployment=run, user=engineer)
    dev.resource_group = "rg-hph-dev-2"
    dev.save()

    done = services.deployment_execute(deployment_id=run.pk)

    assert done.status == S.SUCCEEDED, done.error
    assert all("/resourceGroups/rg-hph-dev/" in rid for rid in sandbox_cloud(dev).inventory()
               if "Microsoft.Web" in rid)


@pytest.mark.parametrize(("template", "label"), [("team/mg-policy", "management group"), ("team/tenant-policy", "tenant")])
def test_management_group_and_tenant_templates_are_refused_at_preview_saying_why(
        team, dev, engineer, client_for, django_capture_on_commit_callbacks, template, label):
    run = request_run(dev, engineer, template=template, parameters={}, capture=django_capture_on_commit_callbacks)

    run = services.deployment_preview_run(deployment_id=run.pk)

    assert run.status == S.FAILED
    assert run.error["code"] == "UnsupportedTargetScope"
    assert f"{template} deploys at {label} scope" in run.error["message"]
    assert "this portal deploys at subscription or resource-group scope" in run.error["message"]
    assert run.what_if in (None, {})
    page = client_for(engineer).get(reverse("deployments:detail", args=[run.pk]))
    assert page.status_code == 200
    assert "this portal deploys at subscription or resource-group scope" in page.content.decode()


# --- Azure ----------------------------------------------------------------------------------------

@pytest.fixture
def azure(settings, tmp_path):
    script = tmp_path / "bicep"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({json.dumps(json.dumps(WEB_ARM))})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.AZURE_SUBSCRIPTION_ID = SUB
    settings.PORTAL_BICEP = str(script)
    arm = FakeArm(SUB)
    with azure_access(credential=FakeCredential(), transport=arm.transport()):
        yield arm


def test_in_azure_a_resource_group_template_deploys_at_the_groups_scope(
        team, dev, engineer, azure, django_capture_on_commit_callbacks):
    azure.create_resource_group("rg-hph-dev", "eastus")
    run = request_run(dev, engineer, capture=django_capture_on_commit_callbacks)

    run = services.deployment_preview_run(deployment_id=run.pk)
    assert run.status == S.PREVIEWED, run.error
    group = f"/subscriptions/{SUB}/resourceGroups/rg-hph-dev/providers/Microsoft.Web"
    assert [c["resource_id"] for c in run.what_if["changes"]] == [f"{group}/serverfarms/plan-shop",
                                                                  f"{group}/sites/shop"]
    with django_capture_on_commit_callbacks(execute=False):
        services.deployment_confirm(deployment=run, user=engineer)
    done = services.deployment_execute(deployment_id=run.pk, sleep=lambda seconds: azure.advance())

    assert done.status == S.SUCCEEDED, done.error
    deployments = [url.split("?")[0] for _, url in azure.requests if "/deployments/" in url.lower()]
    assert deployments and all(
        url.lower().startswith(f"https://management.azure.com/subscriptions/{SUB}/resourcegroups/rg-hph-dev/")
        for url in deployments)
    assert f".../resourcegroups/rg-hph-dev/providers/Microsoft.Resources/deployments/{run.arm_deployment_name}" in [
        ".../" + url.split(f"/subscriptions/{SUB}/", 1)[1] for url in deployments]
    assert all("location" not in body for body in azure.bodies)
    assert azure.deployments[f"rg-hph-dev/{run.arm_deployment_name.lower()}"].state == "Succeeded"


def test_in_azure_a_missing_resource_group_fails_the_preview_with_arms_answer(
        team, dev, engineer, azure, django_capture_on_commit_callbacks):
    run = request_run(dev, engineer, capture=django_capture_on_commit_callbacks)

    run = services.deployment_preview_run(deployment_id=run.pk)

    assert run.status == S.FAILED
    assert (run.error["code"], run.error["message"]) == ("ResourceGroupNotFound",
                                                         "Resource group 'rg-hph-dev' could not be found.")
    assert azure.deployments == {}

"""Issue #9: environments own their scope, and Azure's rules hold on New deployment and in the sandbox."""

import pytest
from django.urls import reverse

from portal.core.errors import DomainError
from portal.deployments import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from portal.deployments.scope import SCOPE_ERROR, scope_breaches
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory

SUB = "00000000-0000-0000-0000-000000000000"


def rid(group, *rest):
    tail = "/providers/" + "/".join(rest) if rest else ""
    return f"/subscriptions/{SUB}/resourceGroups/{group}{tail}"


@pytest.fixture
def envs(db):
    made = {}
    for name, code in (("dev", "dev"), ("prod", "prd")):
        made[name] = EnvironmentFactory(name=name, resource_name_pattern=f"^holidaypeakhub-?{name}|-{code}-(search|openai)$",
                                        approvals_required=1 if name == "prod" else 0)
    return made


# --- The scope check, against what-if resource ids ------------------------------------------------

def test_resources_in_another_environments_resource_group_are_named(envs):
    site = rid("holidaypeakhub-prod-rg", "Microsoft.Web", "staticSites", "holidaypeakhub-prod-web")
    breaches = scope_breaches(environment=envs["dev"], resource_ids=[site])
    assert [(b.resource_id, b.owner) for b in breaches] == [(site, "prod")]
    assert "prod's resource group holidaypeakhub-prod-rg" in breaches[0].why


def test_another_environments_account_inside_our_resource_group_is_named(envs):
    container = rid("holidaypeakhub-dev-rg", "Microsoft.DocumentDB", "databaseAccounts", "holidaypeakhub-prod-cosmos",
                    "sqlDatabases", "holidaypeakhub", "containers", "warm-x-chat-memory")
    own = rid("holidaypeakhub-dev-rg", "Microsoft.DocumentDB", "databaseAccounts", "holidaypeakhub-dev-cosmos",
              "sqlDatabases", "holidaypeakhub", "containers", "warm-x-chat-memory")
    breaches = scope_breaches(environment=envs["dev"], resource_ids=[own, container])
    assert [(b.resource_id, b.owner) for b in breaches] == [(container, "prod")]


def test_a_resource_group_nobody_owns_is_not_ours_either(envs):
    stray = rid("someone-elses-rg")
    breaches = scope_breaches(environment=envs["dev"], resource_ids=[stray, rid("holidaypeakhub-dev-rg")])
    assert [(b.resource_id, b.owner) for b in breaches] == [(stray, "")]


def test_the_environments_own_resources_pass(envs):
    ids = [rid("holidaypeakhub-prod-rg"), rid("holidaypeakhub-prod-rg", "Microsoft.Storage", "storageAccounts",
                                             "holidaypeakhubprodst", "blobServices", "default", "containers", "c1")]
    assert scope_breaches(environment=envs["prod"], resource_ids=ids) == []


def test_a_second_resource_group_declared_by_the_environment_is_its_own(envs):
    envs["dev"].resource_groups = ["holidaypeakhub-dev-extra-rg"]
    envs["dev"].save()
    assert scope_breaches(environment=envs["dev"], resource_ids=[rid("holidaypeakhub-dev-extra-rg")]) == []


# --- Runs -------------------------------------------------------------------------------------------

def preview(env, user, captured, params, template="agent"):
    with captured(execute=False):
        d = services.deployment_request(environment=env, template=template, parameters=params, user=user,
                                        reason="test")
    return services.deployment_preview_run(deployment_id=d.pk)


def test_parameters_naming_another_environment_are_replaced_by_the_environments_own(
        envs, engineer, django_capture_on_commit_callbacks):
    d = preview(envs["dev"], engineer, django_capture_on_commit_callbacks, {
        "agentName": "crm-loyalty-insights", "environment": "prod", "redisDatabase": 3,
        "resourceGroupName": "holidaypeakhub-prod-rg", "cosmosAccountName": "holidaypeakhub-prod-cosmos",
        "storageAccountName": "holidaypeakhubprodst"})
    assert d.status == S.PREVIEWED, d.error
    assert d.parameters["environment"] == "dev"
    assert d.parameters["resourceGroupName"] == "holidaypeakhub-dev-rg"
    assert "cosmosAccountName" not in d.parameters and "storageAccountName" not in d.parameters
    ids = [c["resource_id"] for c in d.what_if["changes"]]
    assert ids and all("holidaypeakhub-dev-rg" in i for i in ids)
    assert any("holidaypeakhub-dev-cosmos" in i for i in ids)
    assert not any("prod" in i for i in ids)


def test_a_run_whose_what_if_touches_another_environment_is_refused_naming_the_resources(
        envs, engineer, django_capture_on_commit_callbacks):
    # The agent's name makes its AI Search service look like one of prod's.
    d = preview(envs["dev"], engineer, django_capture_on_commit_callbacks, {
        "agentName": "holidaypeakhub-prod", "redisDatabase": 3, "enableAiSearch": True})
    assert d.status == S.FAILED
    assert d.error["code"] == SCOPE_ERROR
    assert "holidaypeakhub-prod-dev-search" in d.error["message"]
    assert "prod" in d.error["details"][0]["message"]


def test_confirm_refuses_a_preview_that_touches_another_environment(envs, engineer):
    prod_site = rid("holidaypeakhub-prod-rg", "Microsoft.Web", "staticSites", "holidaypeakhub-prod-web")
    d = Deployment.objects.create(environment=envs["dev"], template="static-web-app", status=S.PREVIEWED,
                                  requested_by=engineer, what_if={"changes": [
                                      {"change_type": "Create", "resource_id": prod_site,
                                       "resource_type": "Microsoft.Web/staticSites",
                                       "resource_name": "holidaypeakhub-prod-web", "delta": []}]})
    with pytest.raises(DomainError, match="holidaypeakhub-prod-web"):
        services.deployment_confirm(deployment=d, user=engineer)
    assert Deployment.objects.get(pk=d.pk).status == S.PREVIEWED


def test_a_name_azure_refuses_fails_the_sandbox_preview_with_azures_code(envs, engineer,
                                                                         django_capture_on_commit_callbacks):
    d = preview(envs["dev"], engineer, django_capture_on_commit_callbacks, {
        "agentName": "crm-loyalty", "redisDatabase": 3, "coldContainerName": "Cold_Upper!!"})
    assert d.status == S.FAILED
    assert d.error["code"] == "ContainerNameInvalid"
    assert "Cold_Upper!!" in d.error["message"]


# --- New deployment ---------------------------------------------------------------------------------

def new_url(template="agent", environment="dev"):
    return f"{reverse('deployments:new')}?template={template}&environment={environment}"


def test_environment_parameters_are_read_only_and_typed_values_are_ignored(envs, client_for, engineer,
                                                                           django_capture_on_commit_callbacks):
    client = client_for(engineer)
    html = client.get(new_url("static-web-app")).content.decode()
    assert '<select name="p-environment"' in html and 'disabled' in html.split('name="p-environment"')[1][:200]
    assert 'value="holidaypeakhub-dev-rg"' in html
    # The Static Web App's region list lacks the environment's eastus: the template's default stays.
    assert '<option value="eastus2" selected>' in html
    with django_capture_on_commit_callbacks():
        response = client.post(new_url("static-web-app"), {
            "p-environment": "prod", "p-resourceGroupName": "holidaypeakhub-prod-rg", "p-location": "eastus2",
            "reason": "bypass"})
    assert response.status_code == 302, response.content.decode()[:2000]
    d = Deployment.objects.get()
    assert d.parameters["environment"] == "dev" and d.parameters["resourceGroupName"] == "holidaypeakhub-dev-rg"


@pytest.mark.parametrize("field, value, expected", [
    ("agentName", "CRM_Upper Case!", "must be lowercase letters, digits and hyphens"),
    ("coldContainerName", "Cold_Upper!!", "ContainerNameInvalid"),
    ("warmContainerName", "warm/bad#name", "must not contain"),
])
def test_new_deployment_refuses_names_azure_would_refuse(envs, client_for, engineer, field, value, expected):
    data = {"p-agentName": "crm-loyalty", "p-redisDatabase": "3", "reason": "x", f"p-{field}": value}
    response = client_for(engineer).post(new_url(), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Azure would refuse this" in html and expected in html
    assert not Deployment.objects.exists()


def test_new_deployment_refuses_a_custom_domain_azure_would_refuse(envs, client_for, engineer):
    response = client_for(engineer).post(new_url("static-web-app", "prod"), {
        "p-customDomain": "Shop_Holiday!!.com", "p-location": "eastus2", "reason": "domain"})
    assert response.status_code == 400
    assert "InvalidDomainName" in response.content.decode()


def test_new_deployment_refuses_a_redis_database_allocated_to_another_agent(envs, client_for, engineer):
    PlacementFactory(agent=AgentFactory(slug="crm-other"), environment=envs["dev"], redis_db=3)
    response = client_for(engineer).post(new_url(), {"p-agentName": "crm-loyalty", "p-redisDatabase": "3",
                                                      "reason": "x"})
    assert response.status_code == 400
    assert "Redis database 3 is already allocated to crm-other" in response.content.decode()
    ok = client_for(engineer).post(new_url(), {"p-agentName": "crm-loyalty", "p-redisDatabase": "4", "reason": "x"})
    assert ok.status_code == 302

"""Azure's rules in one module, and the sandbox refusing what Azure refuses with Azure's code."""

import pytest

from provisioning.azure_rules import (
    name_problems,
    name_violation,
    redis_database_problem,
    redis_database_limit,
)
from provisioning.backends.base import CloudError, ResourceSpec, TemplateSpec
from provisioning.backends.sandbox import MemoryStore, SandboxCloud

STORAGE = "Microsoft.Storage/storageAccounts"
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"


@pytest.mark.parametrize("resource_type, name, code", [
    (STORAGE, "Holiday_Peak!", "AccountNameInvalid"),
    (CONTAINER, "acct/default/Cold_Upper!!", "ContainerNameInvalid"),
    ("Microsoft.Resources/resourceGroups", "r" * 103, "InvalidResourceGroup"),
    ("Microsoft.Web/staticSites/customDomains", "holidaypeakhub-prod-web/Shop_Holiday!!.com", "InvalidDomainName"),
    ("Microsoft.KeyVault/vaults", "1vault", "VaultNameNotValid"),
    ("kubernetes/name", "CRM_Upper Case!", "Invalid"),
])
def test_a_name_azure_refuses_gets_azures_code_and_the_rule_it_breaks(resource_type, name, code):
    violation = name_violation(resource_type, name)
    assert violation is not None
    assert violation.code == code
    assert violation.name == name.rsplit("/", 1)[-1]
    assert violation.name in violation.message
    assert violation.problems


@pytest.mark.parametrize("resource_type, name", [
    (STORAGE, "holidaypeakhubprodst"),
    (CONTAINER, "acct/default/cold-crm-loyalty-insights-chat-memory"),
    ("Microsoft.Resources/resourceGroups", "holidaypeakhub-prod-rg"),
    ("Microsoft.Web/staticSites/customDomains", "site/shop.holidaypeakhub.com"),
    ("Microsoft.Unknown/things", "Anything goes!"),
])
def test_a_name_azure_accepts_passes(resource_type, name):
    assert name_violation(resource_type, name) is None


def test_the_length_problem_says_how_long_it_is_and_the_limit():
    assert name_problems(CONTAINER, "c" * 64) == ["is 64 characters; blob container names are 3 to 63"]


def test_redis_databases_per_sku_and_allocation():
    assert redis_database_limit("P1") == 16 and redis_database_limit("P2") == 32
    assert redis_database_limit("P4", clustered=True) == 1
    assert "does not exist" in redis_database_problem(16, sku="P1")
    assert "kept for the platform" in redis_database_problem(0, sku="P1", reserved=1)
    assert "already allocated to crm-a" in redis_database_problem(3, sku="P1", reserved=1, taken_by="crm-a")
    assert redis_database_problem(3, sku="P1", reserved=1) is None


def _template(*resources):
    return TemplateSpec(name="agent", resources=tuple(ResourceSpec(type=t, name=n) for t, n in resources))


def test_sandbox_what_if_fails_with_azures_code_for_a_bad_container_name():
    cloud = SandboxCloud(MemoryStore(), speed=0)
    result = cloud.what_if(deployment_name="d1", location="eastus",
                           template=_template((CONTAINER, "holidaypeakhubdevst/default/Cold_Upper!!")),
                           parameters={"resourceGroupName": "holidaypeakhub-dev-rg"})
    assert result.status == "Failed"
    assert result.error.code == "ContainerNameInvalid"
    assert "Cold_Upper!!" in result.error.message


def test_sandbox_refuses_to_deploy_into_a_resource_group_azure_would_refuse():
    cloud = SandboxCloud(MemoryStore(), speed=0)
    with pytest.raises(CloudError) as refused:
        cloud.begin_deploy(deployment_name="d2", location="eastus",
                           template=_template((CONTAINER, "acct/default/cold-ok-chat-memory")),
                           parameters={"resourceGroupName": "r" * 103})
    assert refused.value.code == "InvalidResourceGroup"
    assert cloud.inventory() == {}


def test_sandbox_still_deploys_good_names():
    cloud = SandboxCloud(MemoryStore(), speed=0)
    cloud.begin_deploy(deployment_name="d3", location="eastus",
                       template=_template((CONTAINER, "acct/default/cold-ok-chat-memory")),
                       parameters={"resourceGroupName": "holidaypeakhub-dev-rg"})
    assert cloud.get_status(deployment_name="d3").provisioning_state == "Succeeded"

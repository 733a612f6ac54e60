"""provisioning.bicep against the project's own templates in bicep/, and against small templates
written here for what those do not exercise (ARM JSON, parse errors, pycep's gaps)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from provisioning.backends.base import ResourceSpec
from provisioning.bicep import (
    BicepError,
    ParamSpec,
    discover_templates,
    effective_parameters,
    load_template,
    parse_parameters,
    template_resources,
)

BICEP_ROOT = Path(__file__).resolve().parents[2] / "bicep"
SHARED = BICEP_ROOT / "shared-infrastructure" / "main.bicep"
AGENT = BICEP_ROOT / "agent" / "main.bicep"
ROLE_ASSIGNMENT = BICEP_ROOT / "role-assignment" / "main.bicep"
STATIC_WEB_APP = BICEP_ROOT / "static-web-app" / "main.bicep"

ROLES = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Azure Event Hubs Data Sender": "2b629674-e913-4c01-ae53-ef4638d8f975",
    "Azure Event Hubs Data Receiver": "a638d3c7-ab3a-418d-83e6-5f17a39d4fde",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
OPERATIONAL_CONTAINERS = ["users", "products", "orders", "cart", "reviews", "addresses", "payment_methods",
                          "tickets", "shipments", "audit_logs"]
EVENT_HUBS = ["order-events", "inventory-events", "shipment-events", "payment-events", "user-events"]
AGENT_PARAMETERS = {"agentName": "ecommerce-catalog-search", "environment": "dev", "redisDatabase": 5,
                    "location": "eastus"}

ALL_BICEP_FILES = sorted(BICEP_ROOT.rglob("*.bicep"))


def of_type(resources: tuple[ResourceSpec, ...], type_: str) -> list[ResourceSpec]:
    return [r for r in resources if r.type == type_]


def one(resources: tuple[ResourceSpec, ...], type_: str) -> ResourceSpec:
    matches = of_type(resources, type_)
    assert len(matches) == 1, f"expected one {type_}, found {[r.name for r in matches]}"
    return matches[0]


@pytest.fixture(scope="module")
def shared_dev() -> tuple[ResourceSpec, ...]:
    return template_resources(SHARED, {"environment": "dev", "location": "eastus"})


# --- Every template reads -----------------------------------------------------------------------

def test_the_bicep_folder_has_templates():
    assert len(ALL_BICEP_FILES) >= 8


@pytest.mark.parametrize("path", ALL_BICEP_FILES, ids=lambda p: str(p.relative_to(BICEP_ROOT)))
def test_every_bicep_file_parses_and_describes_every_parameter(path):
    params = parse_parameters(path)

    assert params, f"{path} declares no parameters"
    undescribed = [p.name for p in params if not p.description]
    assert not undescribed, f"{path}: parameters without @description: {undescribed}"


def test_discovery_finds_the_five_templates_at_subscription_scope():
    infos = discover_templates(BICEP_ROOT)

    assert [i.name for i in infos] == ["agent", "portal", "role-assignment", "shared-infrastructure", "static-web-app"]
    assert {i.target_scope for i in infos} == {"subscription"}
    assert all(i.description for i in infos)
    assert all(len(i.content_hash) == 64 for i in infos)
    assert next(i for i in infos if i.name == "agent").path == AGENT


@pytest.mark.parametrize("path, parameters", [
    (SHARED, {}),
    (AGENT, {"agentName": "crm-profile-aggregation", "redisDatabase": 2}),
    (STATIC_WEB_APP, {}),
    (ROLE_ASSIGNMENT, {"principalId": "11111111-2222-3333-4444-555555555555", "roleDefinitionId": ROLES["AcrPull"],
                       "scopeResourceName": "holidaypeakhubdevacr", "resourceGroupName": "holidaypeakhub-dev-rg"}),
])
def test_every_template_walks_to_resources_with_json_properties(path, parameters):
    spec = load_template(path, parameters)

    assert spec.resources
    assert spec.arm_template is None
    assert spec.content_hash == next(i.content_hash for i in discover_templates(BICEP_ROOT) if i.path == path)
    for resource in spec.resources:
        assert resource.type.startswith("Microsoft.") and resource.name and resource.symbol
        json.dumps(resource.properties)


# --- The agent template's parameters ------------------------------------------------------------

def test_agent_parameters_carry_types_bounds_and_decorators():
    params = {p.name: p for p in parse_parameters(AGENT)}

    assert params["agentName"] == ParamSpec(
        name="agentName", type="string", description=params["agentName"].description, min_length=3, max_length=50)
    assert params["agentName"].required
    assert params["environment"].allowed == ["dev", "staging", "prod"]
    assert params["environment"].default == "dev"
    assert params["redisDatabase"].type == "int"
    assert (params["redisDatabase"].min_value, params["redisDatabase"].max_value) == (0, 63)
    assert params["redisDatabase"].required
    assert params["coldContainerName"].max_length == 63
    assert params["enableAiSearch"].type == "bool" and params["enableAiSearch"].default is False
    assert params["enableOpenAi"].type == "bool"
    assert params["aiSearchSku"].allowed == ["basic", "standard"]
    assert params["tags"].type == "object" and params["tags"].default == {}
    assert [p.name for p in params.values() if p.secure] == ["openAiApiKeyOverride"]
    assert params["openAiApiKeyOverride"].default == ""
    assert "Key Vault" in params["openAiApiKeyOverride"].description


def test_defaults_that_are_expressions_are_kept_as_written_not_evaluated():
    params = {p.name: p for p in parse_parameters(AGENT)}

    assert params["coldContainerName"].default is None
    assert params["coldContainerName"].default_expression == "'cold-${agentName}-chat-memory'"
    assert params["location"].default_expression == "deployment().location"
    assert not params["coldContainerName"].required


def test_effective_parameters_catch_the_64_character_cold_container_of_the_design():
    slug = "product-management-normalization-classification"
    values = effective_parameters(AGENT, {"agentName": slug, "redisDatabase": 21,
                                          "openAiApiKeyOverride": "sk-not-to-be-seen"})
    cold = next(p for p in parse_parameters(AGENT) if p.name == "coldContainerName")

    assert values["coldContainerName"] == f"cold-{slug}-chat-memory"
    assert cold.violation(values["coldContainerName"]) == "Must be at most 63 characters (it has 64)."
    assert values["resourceGroupName"] == "holidaypeakhub-dev-rg"
    assert "openAiApiKeyOverride" not in values
    assert "location" not in values            # deployment().location: only Azure knows it


# --- What the shared infrastructure creates -----------------------------------------------------

def test_shared_infrastructure_creates_the_resource_group_and_deploys_the_module(shared_dev):
    group = one(shared_dev, "Microsoft.Resources/resourceGroups")
    deployment = one(shared_dev, "Microsoft.Resources/deployments")

    assert group.name == "holidaypeakhub-dev-rg" and group.module == ""
    assert deployment.properties["template"] == "shared-infrastructure.bicep"
    assert deployment.properties["parameters"]["environment"] == "dev"
    assert {r.module for r in shared_dev if r not in (group, deployment)} == {"shared-infrastructure.bicep"}


def test_aks_has_the_three_node_pools_of_the_design(shared_dev):
    aks = one(shared_dev, "Microsoft.ContainerService/managedClusters")
    pools = {p["name"]: p for p in aks.properties["properties"]["agentPoolProfiles"]}

    assert aks.name == "holidaypeakhub-dev-aks"
    assert aks.properties["location"] == "eastus"
    assert set(pools) == {"system", "agents", "crud"}
    assert (pools["system"]["minCount"], pools["system"]["maxCount"], pools["system"]["mode"]) == (1, 5, "System")
    assert (pools["agents"]["minCount"], pools["agents"]["maxCount"]) == (2, 20)
    assert (pools["crud"]["minCount"], pools["crud"]["maxCount"]) == (1, 10)
    assert all(pool["enableAutoScaling"] for pool in pools.values())
    assert pools["agents"]["nodeTaints"] == ["workload=agents:NoSchedule"]
    assert pools["crud"]["nodeTaints"] == ["workload=crud:NoSchedule"]
    assert "nodeTaints" not in pools["system"]


def test_cosmos_has_one_account_one_database_and_the_ten_operational_containers(shared_dev):
    containers = of_type(shared_dev, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")

    assert one(shared_dev, "Microsoft.DocumentDB/databaseAccounts").name == "holidaypeakhub-dev-cosmos"
    assert one(shared_dev, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases").name == (
        "holidaypeakhub-dev-cosmos/holidaypeakhub")
    assert [c.name.rsplit("/", 1)[1] for c in containers] == OPERATIONAL_CONTAINERS
    assert {c.name.rsplit("/", 1)[0] for c in containers} == {"holidaypeakhub-dev-cosmos/holidaypeakhub"}
    assert {c.symbol for c in containers} == {"cosmosContainers"}


def test_event_hubs_has_one_namespace_and_the_five_topics(shared_dev):
    hubs = of_type(shared_dev, "Microsoft.EventHub/namespaces/eventhubs")

    assert [h.name for h in hubs] == [f"holidaypeakhub-dev-eventhubs/{topic}" for topic in EVENT_HUBS]


def test_the_aks_kubelet_identity_gets_the_five_roles_and_the_cosmos_data_role(shared_dev):
    assignments = of_type(shared_dev, "Microsoft.Authorization/roleAssignments")
    granted = {}
    for assignment in assignments:
        properties = assignment.properties["properties"]
        assert properties["principalId"] == "[aks.properties.identityProfile.kubeletidentity.objectId]"
        role = properties["roleDefinitionId"].split("'")[-2]
        granted[role] = assignment.properties["scope"]
    cosmos_role = one(shared_dev, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")

    assert granted == {
        ROLES["AcrPull"]: "[resourceId('Microsoft.ContainerRegistry/registries', 'holidaypeakhubdevacr')]",
        ROLES["Azure Event Hubs Data Sender"]:
            "[resourceId('Microsoft.EventHub/namespaces', 'holidaypeakhub-dev-eventhubs')]",
        ROLES["Azure Event Hubs Data Receiver"]:
            "[resourceId('Microsoft.EventHub/namespaces', 'holidaypeakhub-dev-eventhubs')]",
        ROLES["Key Vault Secrets User"]: "[resourceId('Microsoft.KeyVault/vaults', 'holidaypeakhubdevkv')]",
        ROLES["Storage Blob Data Contributor"]:
            "[resourceId('Microsoft.Storage/storageAccounts', 'holidaypeakhubdevst')]",
    }
    assert len({a.name for a in assignments}) == 5          # stable stand-in GUIDs, one per assignment
    assert cosmos_role.name.startswith("holidaypeakhub-dev-cosmos/")
    assert cosmos_role.properties["properties"]["roleDefinitionId"].endswith(
        f"/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}")


def test_shared_services_match_the_design(shared_dev):
    vnet = one(shared_dev, "Microsoft.Network/virtualNetworks")
    vault = one(shared_dev, "Microsoft.KeyVault/vaults").properties["properties"]
    redis = one(shared_dev, "Microsoft.Cache/redis").properties["properties"]

    assert vnet.properties["properties"]["addressSpace"]["addressPrefixes"] == ["10.0.0.0/16"]
    assert len(vnet.properties["properties"]["subnets"]) == 5
    assert all("networkSecurityGroup" in s["properties"] for s in vnet.properties["properties"]["subnets"])
    assert len(of_type(shared_dev, "Microsoft.Network/networkSecurityGroups")) == 5
    assert len(of_type(shared_dev, "Microsoft.Network/privateEndpoints")) == 6
    assert one(shared_dev, "Microsoft.ContainerRegistry/registries").properties["sku"] == {"name": "Premium"}
    assert vault["enableRbacAuthorization"] and vault["enableSoftDelete"]
    assert redis["sku"] == {"name": "Premium", "family": "P", "capacity": 1}
    assert one(shared_dev, "Microsoft.OperationalInsights/workspaces").properties["properties"][
        "retentionInDays"] == 90
    assert one(shared_dev, "Microsoft.Insights/components").name == "holidaypeakhub-dev-appinsights"


@pytest.mark.parametrize("environment, tier, replicas", [
    ("dev", "Consumption", 0), ("staging", "Consumption", 0), ("prod", "StandardV2", 1),
])
def test_api_management_tier_and_acr_replication_follow_the_environment(environment, tier, replicas):
    resources = template_resources(SHARED, {"environment": environment})
    apim = one(resources, "Microsoft.ApiManagement/service")

    assert apim.properties["sku"]["name"] == tier
    assert (apim.properties["properties"]["virtualNetworkType"] == "External") is (environment == "prod")
    assert len(of_type(resources, "Microsoft.ContainerRegistry/registries/replications")) == replicas


# --- The agent template -------------------------------------------------------------------------

def test_agent_creates_its_warm_and_cold_containers_in_the_shared_accounts():
    resources = template_resources(AGENT, AGENT_PARAMETERS)
    warm = one(resources, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
    cold = one(resources, "Microsoft.Storage/storageAccounts/blobServices/containers")

    assert warm.name == "holidaypeakhub-dev-cosmos/holidaypeakhub/warm-ecommerce-catalog-search-chat-memory"
    assert cold.name == "holidaypeakhubdevst/default/cold-ecommerce-catalog-search-chat-memory"
    assert warm.module == cold.module == "agent.bicep"
    assert not of_type(resources, "Microsoft.DocumentDB/databaseAccounts")   # existing: not deployed


@pytest.mark.parametrize("enable_ai_search", [True, False])
def test_agent_ai_search_exists_only_when_enabled(enable_ai_search):
    resources = template_resources(AGENT, {**AGENT_PARAMETERS, "enableAiSearch": enable_ai_search})
    searches = of_type(resources, "Microsoft.Search/searchServices")

    assert [s.name for s in searches] == (["ecommerce-catalog-search-dev-search"] if enable_ai_search else [])


@pytest.mark.parametrize("enable_open_ai", [True, False])
def test_agent_openai_account_and_its_nested_deployment_exist_only_when_enabled(enable_open_ai):
    resources = template_resources(AGENT, {**AGENT_PARAMETERS, "enableOpenAi": enable_open_ai})
    names = [r.name for r in resources if r.type.startswith("Microsoft.CognitiveServices/")]

    expected = ["ecommerce-catalog-search-dev-openai", "ecommerce-catalog-search-dev-openai/gpt-4o-mini"]
    assert names == (expected if enable_open_ai else [])


def test_a_secure_parameter_never_appears_in_the_resources():
    resources = template_resources(AGENT, {**AGENT_PARAMETERS, "openAiApiKeyOverride": "sk-very-secret"})
    secret = one(resources, "Microsoft.KeyVault/vaults/secrets")

    assert "sk-very-secret" not in json.dumps([r.properties for r in resources] + [r.name for r in resources])
    assert secret.properties["properties"]["value"] == "[openAiApiKeyOverride]"
    assert not of_type(template_resources(AGENT, AGENT_PARAMETERS), "Microsoft.KeyVault/vaults/secrets")


def test_a_name_keeps_the_interpolation_it_cannot_resolve():
    resources = template_resources(AGENT, {"redisDatabase": 1})

    cold = one(resources, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert cold.name == "holidaypeakhubdevst/default/cold-${agentName}-chat-memory"


# --- The other templates ------------------------------------------------------------------------

@pytest.mark.parametrize("environment, sku", [("dev", "Free"), ("staging", "Free"), ("prod", "Standard")])
def test_static_web_app_is_free_outside_prod(environment, sku):
    site = one(template_resources(STATIC_WEB_APP, {"environment": environment}), "Microsoft.Web/staticSites")

    assert site.properties["sku"] == {"name": sku, "tier": sku}
    assert site.name == f"holidaypeakhub-{environment}-web"


@pytest.mark.parametrize("role, resource_type", [
    ("AcrPull", "Microsoft.ContainerRegistry/registries"),
    ("Azure Event Hubs Data Sender", "Microsoft.EventHub/namespaces"),
    ("Azure Event Hubs Data Receiver", "Microsoft.EventHub/namespaces"),
    ("Storage Blob Data Contributor", "Microsoft.Storage/storageAccounts"),
    ("Key Vault Secrets User", "Microsoft.KeyVault/vaults"),
])
def test_role_assignment_template_grants_one_role_on_the_resource_the_role_is_for(role, resource_type):
    resources = template_resources(ROLE_ASSIGNMENT, {
        "principalId": "11111111-2222-3333-4444-555555555555", "roleDefinitionId": ROLES[role],
        "scopeResourceName": "shared-thing", "resourceGroupName": "holidaypeakhub-dev-rg"})
    assignment = one(resources, "Microsoft.Authorization/roleAssignments")

    assert assignment.properties["scope"] == f"[resourceId('{resource_type}', 'shared-thing')]"
    assert ROLES[role] in assignment.properties["properties"]["roleDefinitionId"]
    assert assignment.properties["properties"]["principalId"] == "11111111-2222-3333-4444-555555555555"


def test_role_assignment_template_allows_exactly_the_five_roles():
    role = next(p for p in parse_parameters(ROLE_ASSIGNMENT) if p.name == "roleDefinitionId")

    assert sorted(role.allowed) == sorted(ROLES.values())


# --- Content hashes -----------------------------------------------------------------------------

@pytest.fixture
def bicep_copy(tmp_path) -> Path:
    root = tmp_path / "bicep"
    shutil.copytree(BICEP_ROOT, root)
    return root


def test_the_content_hash_covers_the_modules_a_template_uses(bicep_copy):
    def hashes() -> dict[str, str]:
        return {i.name: i.content_hash for i in discover_templates(bicep_copy)}

    before = hashes()
    module = bicep_copy / "agent" / "agent.bicep"
    module.write_text(module.read_text().replace("'/sessionId'", "'/conversationId'"))
    after = hashes()

    assert before == {i.name: i.content_hash for i in discover_templates(BICEP_ROOT)}
    assert after["agent"] != before["agent"]
    assert {k: v for k, v in after.items() if k != "agent"} == {k: v for k, v in before.items() if k != "agent"}
    assert load_template(bicep_copy / "agent" / "main.bicep", AGENT_PARAMETERS).content_hash == after["agent"]


def test_the_content_hash_ignores_files_the_template_does_not_use(bicep_copy):
    before = load_template(bicep_copy / "agent" / "main.bicep").content_hash
    (bicep_copy / "agent" / "README.md").write_text("notes")

    assert load_template(bicep_copy / "agent" / "main.bicep").content_hash == before


# --- Errors -------------------------------------------------------------------------------------

def test_a_file_that_does_not_parse_raises_bicep_error_with_file_and_line(tmp_path):
    path = tmp_path / "broken" / "main.bicep"
    path.parent.mkdir()
    path.write_text("param name string\n\nresource a 'Microsoft.Foo/bars@2024-01-01' = {\n  name: [ 1 2\n}\n")

    with pytest.raises(BicepError) as caught:
        parse_parameters(path)
    with pytest.raises(BicepError):
        discover_templates(tmp_path)

    assert caught.value.file == path
    assert caught.value.line == 5
    assert "unexpected '}'" in caught.value.message
    assert str(caught.value).startswith(f"{path}:5:")


def test_a_missing_module_raises_bicep_error(tmp_path):
    path = tmp_path / "main.bicep"
    path.write_text("module m 'nowhere.bicep' = {\n  name: 'm'\n}\n")

    with pytest.raises(BicepError, match="nowhere.bicep"):
        load_template(path)


# --- What pycep alone gets wrong ------------------------------------------------------------------

def test_operators_follow_bicep_precedence_and_parentheses(tmp_path):
    path = tmp_path / "main.bicep"
    path.write_text(
        "param env string = 'prod'\n"
        "param flag bool = false\n"
        "resource a 'Microsoft.Foo/bars@2024-01-01' = {\n"
        "  name: env == 'prod' ? 'big' : 'small'\n"
        "  properties: {\n"
        "    notAnd: !empty(env) && flag\n"
        "    mixed: env == 'dev' || env == 'prod' && !flag\n"
        "    arithmetic: 1 + 2 * 3 - 4\n"
        "    grouped: (1 + 2) * 3\n"
        "    lookup: {\n"
        "      dev: 'd'\n"
        "      prod: 'p'\n"
        "    }[env]\n"
        "  }\n"
        "}\n"
    )

    (resource,) = template_resources(path)

    assert resource.name == "big"
    assert resource.properties["properties"] == {"notAnd": False, "mixed": True, "arithmetic": 3, "grouped": 9,
                                                 "lookup": "p"}


def test_every_nested_child_resource_is_kept(tmp_path):
    path = tmp_path / "main.bicep"
    path.write_text(
        "resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {\n"
        "  name: 'acct'\n"
        "  resource db 'sqlDatabases' = {\n"
        "    name: 'db'\n"
        "    resource first 'containers' = {\n"
        "      name: 'first'\n"
        "    }\n"
        "    resource second 'containers@2024-05-15' = {\n"
        "      name: 'second'\n"
        "    }\n"
        "  }\n"
        "}\n"
    )

    resources = template_resources(path)

    assert [(r.type, r.name, r.symbol) for r in resources] == [
        ("Microsoft.DocumentDB/databaseAccounts/sqlDatabases", "acct/db", "account::db"),
        ("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers", "acct/db/first", "account::db::first"),
        ("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers", "acct/db/second", "account::db::second"),
    ]


def test_a_loop_filter_written_with_a_space_parses_and_filters(tmp_path):
    path = tmp_path / "main.bicep"
    path.write_text(
        "param names array = [\n  'a'\n  'b'\n  'c'\n]\n"
        "resource hubs 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = [for (n, i) in names: if (i != 1) {\n"
        "  name: 'ns/${n}'\n"
        "}]\n"
    )

    assert [r.name for r in template_resources(path)] == ["ns/a", "ns/c"]


# --- ARM JSON -----------------------------------------------------------------------------------

ARM_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "metadata": {"description": "A resource group, as ARM JSON."},
    "parameters": {
        "environment": {"type": "string", "defaultValue": "dev", "allowedValues": ["dev", "prod"],
                        "metadata": {"description": "Environment."}},
        "count": {"type": "int", "minValue": 1, "maxValue": 3, "defaultValue": 2},
        "token": {"type": "securestring", "defaultValue": ""},
        "location": {"type": "string", "defaultValue": "[deployment().location]"},
        "withLock": {"type": "bool", "defaultValue": False},
    },
    "variables": {"prefix": "[format('hph-{0}', parameters('environment'))]"},
    "resources": [
        {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2024-03-01",
         "name": "[concat(variables('prefix'), '-rg')]", "location": "[parameters('location')]"},
        {"type": "Microsoft.Authorization/locks", "apiVersion": "2020-05-01", "name": "lock",
         "condition": "[parameters('withLock')]", "properties": {"level": "CanNotDelete"}},
    ],
}


def test_arm_json_templates_are_discovered_parsed_and_walked(tmp_path):
    folder = tmp_path / "group"
    folder.mkdir()
    path = folder / "main.json"
    path.write_text(json.dumps(ARM_TEMPLATE))
    (folder / "main.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"}))

    (info,) = discover_templates(tmp_path)
    params = {p.name: p for p in parse_parameters(path)}
    spec = load_template(path, {"environment": "prod"})

    assert (info.name, info.target_scope) == ("group", "subscription")
    assert info.description == "A resource group, as ARM JSON."
    assert params["environment"].allowed == ["dev", "prod"] and params["environment"].description == "Environment."
    assert (params["count"].type, params["count"].min_value, params["count"].max_value) == ("int", 1, 3)
    assert params["token"].secure and params["token"].type == "string"
    assert params["location"].default_expression == "[deployment().location]"
    assert spec.arm_template == ARM_TEMPLATE
    assert [(r.type, r.name) for r in spec.resources] == [("Microsoft.Resources/resourceGroups", "hph-prod-rg")]
    assert len(template_resources(path, {"withLock": True})) == 2


def test_a_compiled_main_json_next_to_main_bicep_is_not_a_second_template(tmp_path):
    shutil.copytree(BICEP_ROOT / "static-web-app", tmp_path / "static-web-app")
    (tmp_path / "static-web-app" / "main.json").write_text(json.dumps(ARM_TEMPLATE))

    assert [i.path.name for i in discover_templates(tmp_path)] == ["main.bicep"]

"""The portal's services against a tenant as it really is (issue #10), through the real Azure SDK
clients answered in-process (tests/contract/fake_tenant.py), chosen by the backend registry and given
the fake's credential and transport with azure_access(): names that do not follow the convention, the
kubelet identity read from the cluster, a Cosmos data plane that refuses, two subscriptions."""

import pytest
from django.urls import reverse

from portal.access import services as access_services
from portal.access.choices import AuditOutcome, FindingKind
from portal.catalog.discovery import environment_discover
from portal.core.backends import azure_access
from portal.health import services as health_services
from portal.health.choices import CheckKind
from portal.health.models import HealthResult
from provisioning.rbac import (
    ACR_PULL,
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    KEY_VAULT_SECRETS_USER,
    OWNER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
)
from tests.contract.fake_tenant import FakeTenantArm
from tests.factories import EnvironmentFactory
from tests.provisioning.arm_transport import FakeCredential

DEV_SUB = "11111111-2222-3333-4444-555555555555"
PROD_SUB = "99999999-8888-7777-6666-555555555555"
KUBELET = "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
PROD_KUBELET = "7b2e1d3f-4c5e-4f60-9bac-1d2e3f4a5b6c"
USER = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
# What a real team called things: nothing like {project}{env}acr.
DEV_NAMES = {"aks": "hph-dev-aks01", "acr": "hphdevacr", "eventhubs": "hph-dev-ehns", "keyvault": "kv-hph-dev-01",
             "storage": "sthphdev001", "cosmos": "cosmos-hph-dev", "redis": "redis-hph-dev", "apim": "apim-hph-dev"}
PROD_NAMES = {k: v.replace("dev", "prd") for k, v in DEV_NAMES.items()}


def grant_design(arm, ids, principal):
    for guid, key in ((ACR_PULL, "acr"), (EVENT_HUBS_DATA_SENDER, "eventhubs"), (EVENT_HUBS_DATA_RECEIVER, "eventhubs"),
                      (KEY_VAULT_SECRETS_USER, "keyvault"), (STORAGE_BLOB_DATA_CONTRIBUTOR, "storage")):
        arm.assign(guid, ids[key], principal)
    arm.assign_cosmos(COSMOS_DATA_CONTRIBUTOR, ids["cosmos"], principal)


@pytest.fixture
def azure(settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.AZURE_SUBSCRIPTION_ID = ""


@pytest.fixture
def tenant(azure):
    arm = FakeTenantArm({DEV_SUB, PROD_SUB})
    arm.dev = arm.add_environment(DEV_SUB, "rg-hph-dev", DEV_NAMES, kubelet=KUBELET,
                                  node_rg="MC_rg-hph-dev_hph-dev-aks01_eastus")
    arm.prod = arm.add_environment(PROD_SUB, "rg-hph-prd", PROD_NAMES, kubelet=PROD_KUBELET,
                                   node_rg="MC_rg-hph-prd_hph-prd-aks01_eastus")
    with azure_access(credential=FakeCredential(), transport=arm):
        yield arm


@pytest.fixture
def dev(db):
    return EnvironmentFactory(name="dev", subscription_id=DEV_SUB, resource_group="rg-hph-dev",
                              aks_cluster="hph-dev-aks01")


@pytest.fixture
def prod(db):
    return EnvironmentFactory(name="prod", subscription_id=PROD_SUB, resource_group="rg-hph-prd",
                              aks_cluster="hph-prd-aks01")


def audit(env):
    return access_services.rbac_audit_run(environment_id=env.pk)


def test_discovery_reads_names_kubelet_and_node_resource_group_from_azure(tenant, dev):
    stored = environment_discover(environment=dev)

    dev.refresh_from_db()
    assert dev.discovered_resources["resources"]["acr"] == tenant.dev["acr"]
    assert stored["resources"] == tenant.dev
    assert (stored["kubelet_principal_id"], stored["node_resource_group"], stored["errors"]) == (
        KUBELET, "MC_rg-hph-dev_hph-dev-aks01_eastus", {})


def test_what_was_read_is_used_until_it_is_older_than_the_limit_then_read_again(tenant, dev, settings):
    from portal.catalog.discovery import environment_resources

    environment_discover(environment=dev)
    before = len(tenant.requests)
    assert environment_resources(environment=dev)["resources"]["acr"] == tenant.dev["acr"]
    assert len(tenant.requests) == before                                    # fresh: not read again

    dev.discovered_resources["discovered_at"] = "2026-11-01T00:00:00+00:00"  # older than the limit
    renamed = tenant.groups["{}/rg-hph-dev".format(DEV_SUB).lower()]
    next(r for r in renamed if r["name"] == "hphdevacr")["name"] = "hphdevacr2"
    next(r for r in renamed if r["name"] == "hphdevacr2")["id"] = tenant.dev["acr"] + "2"

    assert environment_resources(environment=dev)["resources"]["acr"] == tenant.dev["acr"] + "2"


def test_roles_on_resources_not_named_by_the_convention_are_found_present(tenant, dev):
    grant_design(tenant, tenant.dev, KUBELET)

    row = audit(dev)

    assert (row.outcome, row.present_count, row.missing_count, row.unexpected_count, row.clean) == (
        AuditOutcome.READ, 6, 0, 0, True)
    assert row.kubelet_principal_id == KUBELET
    assert set(row.findings.values_list("scope", flat=True)) == {
        tenant.dev[k] for k in ("acr", "eventhubs", "keyvault", "storage", "cosmos")}


def test_a_user_holding_the_kubelets_role_does_not_satisfy_it(tenant, dev):
    """The kubelet's principal comes from the cluster: the same role held by a User is not the kubelet's."""
    grant_design(tenant, tenant.dev, KUBELET)
    storage_grant = [a for a in tenant.role_assignments
                     if a["properties"]["scope"] == tenant.dev["storage"]][0]
    tenant.role_assignments.remove(storage_grant)
    tenant.assign(STORAGE_BLOB_DATA_CONTRIBUTOR, tenant.dev["storage"], USER, principal_type="User")

    row = audit(dev)

    missing = row.findings.get(kind=FindingKind.MISSING)
    assert (missing.role_name, missing.scope, missing.principal_id) == (
        "Storage Blob Data Contributor", tenant.dev["storage"], KUBELET)
    assert (row.present_count, row.missing_count) == (5, 1)


def test_a_cosmos_read_that_fails_keeps_what_azure_rbac_said(tenant, dev, client_for, viewer):
    grant_design(tenant, tenant.dev, KUBELET)
    tenant.role_assignments.remove([a for a in tenant.role_assignments
                                    if a["properties"]["scope"] == tenant.dev["acr"]][0])
    tenant.assign(OWNER, f"/subscriptions/{DEV_SUB}/resourceGroups/rg-hph-dev", USER, principal_type="User")
    tenant.cosmos_refuses = True

    row = audit(dev)

    assert row.outcome == AuditOutcome.READ and not row.clean
    assert (row.present_count, row.missing_count, row.unexpected_count) == (4, 1, 1)
    assert row.findings.get(kind=FindingKind.MISSING).role_name == "AcrPull"
    assert row.findings.get(kind=FindingKind.UNEXPECTED).role_name == "Owner"
    unread = row.findings.get(kind=FindingKind.NOT_CHECKED)
    assert (unread.role_name, unread.scope) == ("Cosmos DB Built-in Data Contributor", tenant.dev["cosmos"])
    assert "Cosmos DB data plane: Forbidden: Request blocked by the Cosmos DB account's network rules." in row.error
    html = client_for(viewer).get(reverse("access:environment", args=["dev"])).content.decode()
    assert "Part of this audit could not read:" in html and 'data-testid="audit-partial"' in html
    assert '<li data-role="Cosmos DB Built-in Data Contributor">' in html
    assert 'data-testid="audit-state">drift<' in html


def test_each_environment_is_read_in_its_own_subscription(tenant, dev, prod):
    grant_design(tenant, tenant.dev, KUBELET)
    grant_design(tenant, tenant.prod, PROD_KUBELET)

    dev_row, prod_row = audit(dev), audit(prod)

    assert (dev_row.clean, prod_row.clean) == (True, True)
    assert prod_row.kubelet_principal_id == PROD_KUBELET
    prod_paths = [path for _, path, _ in tenant.requests if "rg-hph-prd" in path or PROD_NAMES["cosmos"] in path]
    assert prod_paths and all(path.startswith(f"/subscriptions/{PROD_SUB}/") for path in prod_paths)


def test_resource_health_checks_the_discovered_ids(tenant, dev, monkeypatch):
    asked = []

    class Health:
        def availability(self, rid):
            asked.append(rid)
            return "Available", ""

    monkeypatch.setattr("portal.health.backends.resource_health_backend", lambda env: Health())

    health_services.health_checks_run(environment_id=dev.pk, kind=CheckKind.RESOURCE_HEALTH)

    assert sorted(asked) == sorted(tenant.dev.values())
    assert HealthResult.objects.filter(health_check__environment=dev).count() == 8


# --- No credential: one sentence, with the fix -----------------------------------------------------

class NoCredential:
    """What DefaultAzureCredential does on a machine with nothing configured."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\nAttempted "
            "credentials:\n\tEnvironmentCredential: EnvironmentCredential authentication unavailable.\n"
            "\tAzureCliCredential: Azure CLI not found on path")


def test_without_a_credential_the_rbac_page_says_what_to_do_in_one_sentence(azure, dev, client_for, viewer):
    with azure_access(credential=NoCredential(), transport=FakeTenantArm({DEV_SUB})):
        row = audit(dev)

    assert row.outcome == AuditOutcome.FAILED
    assert "The portal has no Azure credential: run `az login`" in row.error
    assert "Attempted credentials" not in row.error
    html = client_for(viewer).get(reverse("access:environment", args=["dev"])).content.decode()
    assert "The portal has no Azure credential: run `az login`" in html
    assert "EnvironmentCredential" not in html


def test_the_system_status_page_says_there_is_no_credential_and_how_to_give_one(azure, client_for, viewer,
                                                                              monkeypatch):
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
                 "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")   # no az

    html = client_for(viewer).get(reverse("system")).content.decode()

    assert "The portal has no Azure credential" in html and "AZURE_FEDERATED_TOKEN_FILE" in html

    monkeypatch.setenv("AZURE_CLIENT_ID", "c")
    monkeypatch.setenv("AZURE_TENANT_ID", "t")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
    html = client_for(viewer).get(reverse("system")).content.decode()
    assert "From the workload identity" in html and "The portal has no Azure credential" not in html

"""#14: the portal's own infrastructure (bicep/portal) is a catalog template like the others: it parses,
its parameters make the form, and a preview shows its estimate with nothing left unpriced."""

from decimal import Decimal

from django.urls import reverse

from portal.costs.estimates import deployment_estimate
from portal.deployments import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from portal.deployments.templates import template_get, template_parameters, template_resources

ISSUER = "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-0000000000aa/11111111-2222/"
SECURE = {"postgresAdminPassword": "Pg-admin-password-1234", "secretKey": "k" * 60}


def test_the_portal_template_is_in_the_catalog_at_subscription_scope():
    info = template_get("portal")
    assert info.target_scope == "subscription" and "PostgreSQL" in info.description
    names = {p.name for p in template_parameters(info)}
    assert {"environment", "aksOidcIssuerUrl", "postgresSku", "postgresAdminPassword", "secretKey",
            "environmentSubscriptionIds"} <= names


def test_it_declares_the_portals_infrastructure_and_least_privilege_roles():
    resources = template_resources(template_get("portal"), {"environment": "prod", "aksOidcIssuerUrl": ISSUER,
                                                            "postgresSku": "Standard_D2ds_v5", **SECURE})
    types = [r.type for r in resources]
    for expected in ("Microsoft.DBforPostgreSQL/flexibleServers", "Microsoft.Cache/redis",
                     "Microsoft.ManagedIdentity/userAssignedIdentities", "Microsoft.KeyVault/vaults",
                     "Microsoft.Insights/components"):
        assert expected in types
    federation = next(r for r in resources if r.type.endswith("/federatedIdentityCredentials"))
    assert federation.properties["properties"]["issuer"] == ISSUER
    assert federation.properties["properties"]["subject"] == "system:serviceaccount:peak-portal-prod:peak-portal"
    secrets = sorted(r.name.rsplit("/", 1)[1] for r in resources if r.type == "Microsoft.KeyVault/vaults/secrets")
    assert secrets == ["portal-appinsights-connection-string", "portal-broker-url", "portal-database-url",
                       "portal-secret-key"]  # what deploy/k8s/base/secretproviderclass.yaml reads
    roles = {r.properties["properties"]["roleDefinitionId"].split("'")[-2]
             for r in resources if r.type == "Microsoft.Authorization/roleAssignments"}
    assert roles == {"4633458b-17de-408a-b874-0445c86b69e6",   # Key Vault Secrets User, on its own vault
                     "b24988ac-6180-42a0-ab88-20f7382dd24c",   # Contributor: deploys the templates
                     "f58310d9-a9f6-439a-9e8d-f62e7b41a168",   # RBAC Administrator, with a condition
                     "72fafb9e-0641-4937-9268-a91bfd8191a3",   # Cost Management Reader
                     "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"}   # AKS Cluster User
    owner, user_access_administrator = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "18d7d88d-4d8f-4c1b-9ea1-a4e9d4be2b29"
    assert not roles & {owner, user_access_administrator}
    granter = next(r for r in resources if "f58310d9" in str(r.properties))
    condition = granter.properties["properties"]["condition"]
    assert "roleAssignments:RoleDefinitionId" in condition and "7f951dda-4ed3-4680-a7ca-43fe172d538d" in condition


def new_url(**params):
    query = "&".join(f"{k}={v}" for k, v in {"template": "portal", "environment": "dev", **params}.items())
    return f"{reverse('deployments:new')}?{query}"


def test_the_form_is_built_from_its_parameters(platform, client_for, engineer):
    html = client_for(engineer).get(new_url()).content.decode()
    assert 'name="p-aksOidcIssuerUrl"' in html
    assert '<select name="p-postgresSku"' in html and "Standard_D2ds_v5" in html
    assert 'name="p-postgresAdminPassword"' in html and 'name="p-secretKey"' in html
    assert html.count('type="password"') >= 2


def test_a_preview_shows_its_estimate_with_everything_priced(platform, engineer, client_for,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        deployment = services.deployment_request(
            environment=platform, template="portal", user=engineer, reason="the portal's own infrastructure",
            parameters={"environment": "prod", "aksOidcIssuerUrl": ISSUER, "postgresSku": "Standard_D2ds_v5"},
            secure_parameters=SECURE)
    deployment = services.deployment_preview_run(deployment_id=deployment.pk)
    assert deployment.status == S.PREVIEWED
    assert set(Deployment.objects.get().secure_parameter_names) == {"postgresAdminPassword", "secretKey"}

    estimate = deployment_estimate(deployment=deployment)
    assert estimate.unpriced == []
    by_type = {line.resource.type: line.monthly for line in estimate.lines}
    # Zone-redundant prod: two D2ds_v5 servers and 32 GiB; a Standard C1 cache.
    assert by_type["Microsoft.DBforPostgreSQL/flexibleServers"] == Decimal("2") * Decimal("127.75") + Decimal("3.68")
    assert by_type["Microsoft.Cache/redis"] == Decimal("100.74")
    html = client_for(engineer).get(deployment.get_absolute_url()).content.decode()
    assert "Cost estimate" in html and "Not priced, so not counted" not in html

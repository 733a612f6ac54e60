"""The backend registry (issue #10): factories named in PORTAL_BACKENDS by dotted path, one credential
per process, a credential and transport given to everything inside azure_access(), SDK clients closed."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.core import backends as registry
from portal.deployments import services
from portal.deployments.backends import PortalSandboxCloud, sandbox_cloud
from portal.deployments.choices import DeploymentStatus as S
from provisioning.backends.azure import AzureCloud
from provisioning.backends.base import CloudError
from tests.factories import EnvironmentFactory
from tests.provisioning.arm_transport import FakeArm, FakeCredential

CLOSED = []


class ClosingSandboxCloud(PortalSandboxCloud):
    def close(self):
        CLOSED.append(self)


@registry.factory("sandbox")
def closing_cloud(environment=None):
    cloud = sandbox_cloud(environment)
    cloud.__class__ = ClosingSandboxCloud
    return cloud


def test_the_sandbox_set_is_chosen_by_default_and_every_kind_resolves():
    assert {kind: registry.backend_kind(kind) for kind in registry.KINDS} == {kind: "sandbox" for kind in registry.KINDS}


def test_one_entry_of_portal_backends_replaces_one_backend(settings):
    settings.PORTAL_BACKENDS = {**settings.PORTAL_BACKENDS, "cost": "portal.costs.backends.azure_cost"}

    assert (registry.backend_kind("cost"), registry.backend_kind("cloud")) == ("azure", "sandbox")
    assert registry.backend_factory("cost") is registry.backend_factory("cost")     # resolved once


def test_an_unknown_kind_says_which_there_are(settings):
    settings.PORTAL_BACKENDS = {}
    with pytest.raises(ImproperlyConfigured, match="PORTAL_BACKENDS has no 'cloud' backend"):
        registry.backend("cloud")


def test_azure_backends_share_the_process_credential_unless_one_is_given(db, settings, monkeypatch):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.AZURE_SUBSCRIPTION_ID = "11111111-2222-3333-4444-555555555555"
    built = []

    class OneCredential(FakeCredential):
        def __init__(self):
            super().__init__()
            built.append(self)

    monkeypatch.setattr("azure.identity.DefaultAzureCredential", OneCredential)
    monkeypatch.setattr(registry, "_credential", None)
    env = EnvironmentFactory(name="dev")

    first, second = registry.backend("cloud", env), registry.backend("rbac", env)
    given, arm = FakeCredential(), FakeArm(settings.AZURE_SUBSCRIPTION_ID)
    with registry.azure_access(credential=given, transport=arm.transport()):
        inside = registry.backend("cloud", env)
    with pytest.raises(CloudError, match="DeploymentNotFound"):
        inside.get_status(deployment_name="never-started")       # answered in-process, with the given token

    assert len(built) == 1 and registry.azure_credential() is built[0]
    assert isinstance(first, AzureCloud) and first.client._config.credential is built[0]
    assert second.authorization._config.credential is built[0]
    assert inside.client._config.credential is given
    assert given.calls == 1 and arm.requests and built[0].calls == 0
    for backend in (first, second, inside):
        registry.close_backend(backend)


def test_a_deployments_cloud_is_closed_after_its_preview_and_its_run(settings, engineer,
                                                                    django_capture_on_commit_callbacks):
    settings.PORTAL_BACKENDS = {**settings.PORTAL_BACKENDS, "cloud": f"{__name__}.closing_cloud"}
    CLOSED.clear()
    dev = EnvironmentFactory(name="dev")
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_request(environment=dev, template="agent", user=engineer, auto_confirm=True,
                                        parameters={"agentName": "ecommerce-catalog-search", "environment": "dev"})
        d = services.deployment_preview_run(deployment_id=d.pk)
    assert d.status == S.QUEUED and len(CLOSED) == 1

    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)

    assert d.status == S.SUCCEEDED and len(CLOSED) == 2

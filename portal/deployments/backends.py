"""The deployment and cluster backends' factories, named in settings.PORTAL_BACKENDS and resolved by
portal.core.backends (the one place the portal picks sandbox or Azure)."""

import shutil

from django.conf import settings
from django.db import transaction

from portal.core import backends as registry
from portal.deployments.models import SandboxFault, SandboxRecord
from provisioning.backends.base import CloudBackend
from provisioning.backends.sandbox import Fault, SandboxCloud
from provisioning.cluster.base import ClusterBackend
from provisioning.cluster.sandbox import SandboxCluster


class DatabaseSandboxStore:
    """SandboxStore on the portal's database, so the sandbox's state outlives any one process."""

    def get(self, key):
        record = SandboxRecord.objects.filter(key=key).only("data").first()
        return record.data if record else None

    def put(self, key, value):
        SandboxRecord.objects.update_or_create(key=key, defaults={"data": value})

    def keys(self, prefix):
        return list(SandboxRecord.objects.filter(key__startswith=prefix).order_by("key").values_list("key", flat=True))


def sandbox_faults() -> list[Fault]:
    from_settings = [Fault(**spec) for spec in settings.PORTAL_SANDBOX_FAULTS]
    from_admin = [Fault(match=f.match, kind=f.kind, code=f.code, message=f.message, factor=f.factor)
                  for f in SandboxFault.objects.filter(enabled=True)]
    return from_settings + from_admin


class PortalSandboxCloud(SandboxCloud):
    """The sandbox cloud with the bookkeeping Azure does by itself: a succeeded deployment leaves the role
    assignments its template declares (kept in SandboxRecord `rbac:{env}`), and the environment is audited
    again. The deployment services call `deployment_succeeded` on whatever cloud ran the deployment; Azure's
    has none, so they never ask which cloud it is."""

    def deployment_succeeded(self, deployment) -> None:
        from portal.access.services import rbac_record_deployment

        rbac_record_deployment(deployment=deployment)


@registry.factory("sandbox")
def sandbox_cloud(environment=None) -> CloudBackend:
    return PortalSandboxCloud(DatabaseSandboxStore(), speed=settings.PORTAL_SANDBOX_SPEED, faults=sandbox_faults(),
                        seconds_per_resource=settings.PORTAL_SANDBOX_SECONDS_PER_RESOURCE)


@registry.factory("azure")
def azure_cloud(environment=None) -> CloudBackend:
    """AzureCloud in the environment's subscription (AZURE_SUBSCRIPTION_ID without one)."""
    from provisioning.backends.azure import AzureCloud

    return AzureCloud(registry.subscription_of(environment), registry.azure_credential(),
                      transport=registry.azure_transport())


def cloud_backend(environment=None) -> CloudBackend:
    """The deployments backend for `environment` (its subscription); close it when done."""
    return registry.backend("cloud", environment)


class StoredSandboxCluster:
    """A SandboxCluster whose state is loaded from and saved to the database around each call; the sandbox
    faults (settings and admin) refuse writes to the workloads they match, as they fail cloud resources."""

    def __init__(self, environment_name: str):
        self.key = f"cluster:{environment_name}"

    def __getattr__(self, name):
        def call(*args, **kwargs):
            with transaction.atomic():
                record, _ = SandboxRecord.objects.select_for_update().get_or_create(key=self.key, defaults={"data": {}})
                cluster = SandboxCluster(record.data or None, faults=sandbox_faults())
                result = getattr(cluster, name)(*args, **kwargs)
                record.data = cluster.state
                record.save(update_fields=["data", "updated_at"])
            return result

        return call


@registry.factory("sandbox")
def sandbox_cluster(environment) -> ClusterBackend:
    return StoredSandboxCluster(environment.name)


@registry.factory("azure")
def kubernetes_cluster(environment) -> ClusterBackend:
    from provisioning.cluster.kubernetes import KubernetesCluster

    return KubernetesCluster.from_kubeconfig(context=environment.aks_cluster)


def cluster_backend(environment) -> ClusterBackend:
    return registry.backend("cluster", environment)


def bicep_compiler() -> str | None:
    """The Bicep compiler the portal found: PORTAL_BICEP, else `bicep` or `az` on PATH."""
    configured = settings.PORTAL_BICEP
    if configured:
        return shutil.which(configured) or None
    return shutil.which("bicep") or shutil.which("az")

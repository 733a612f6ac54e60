"""Builds the RBAC backend from settings (sandbox or Azure). The sandbox's role assignments live in
SandboxRecord `rbac:{env}`, as portal.deployments.backends keeps the sandbox cluster under `cluster:{env}`."""

import copy

from django.db import transaction

from portal.core import backends as registry
from portal.deployments.models import SandboxRecord
from portal.health.backends import subscription_of
from provisioning.rbac import RbacBackend, SandboxRbac


class StoredSandboxRbac:
    """A SandboxRbac whose state is loaded from the database around each call, and saved when the
    call changed it."""

    def __init__(self, environment_name: str):
        self.key = f"rbac:{environment_name}"

    def _call(self, use):
        with transaction.atomic():
            record, _ = SandboxRecord.objects.select_for_update().get_or_create(key=self.key, defaults={"data": {}})
            before = copy.deepcopy(record.data or {})
            rbac = SandboxRbac(record.data or None)
            result = use(rbac)
            if rbac.state != before:
                record.data = rbac.state
                record.save(update_fields=["data", "updated_at"])
        return result

    def exists(self) -> bool:
        return SandboxRecord.objects.filter(key=self.key).exists()

    @property
    def subscription_id(self) -> str:
        return self._call(lambda rbac: rbac.subscription_id)

    @property
    def kubelet_principal_id(self) -> str:
        return self._call(lambda rbac: rbac.kubelet_principal_id)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self._call(lambda rbac: getattr(rbac, name)(*args, **kwargs))

        return call


@registry.factory("sandbox")
def sandbox_rbac(environment) -> RbacBackend:
    return StoredSandboxRbac(environment.name)


@registry.factory("azure")
def azure_rbac(environment) -> RbacBackend:
    from provisioning.rbac.azure import AzureRbac

    return AzureRbac(registry.azure_credential(), subscription_of(environment), transport=registry.azure_transport())


def rbac_backend(environment) -> RbacBackend:
    return registry.backend("rbac", environment)

"""What the portal runs on, for the system status page."""

import os
import shutil

from django.conf import settings
from django.db import connection

from portal.core import backends as registry
from portal.deployments.backends import bicep_compiler
from provisioning.backends.base import NO_CREDENTIAL_MESSAGE


def azure_credential_source() -> str:
    """Where DefaultAzureCredential would find a credential on this machine, read from the environment
    only (no call to Azure): "" when it has nowhere to look."""
    env = os.environ
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID") and env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload identity (AZURE_FEDERATED_TOKEN_FILE)"
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID") and (env.get("AZURE_CLIENT_SECRET")
                                                                    or env.get("AZURE_CLIENT_CERTIFICATE_PATH")):
        return "service principal (AZURE_CLIENT_ID)"
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        return "managed identity"
    if shutil.which("az"):
        return "Azure CLI login (az)"
    return ""


def system_status() -> dict:
    broker = settings.CELERY_BROKER_URL
    return {
        "mode": settings.PORTAL_MODE,
        "cloud": settings.PORTAL_CLOUD,
        "backends": {kind: settings.PORTAL_BACKENDS.get(kind, "") for kind in registry.KINDS},
        "uses_azure": not all(registry.is_sandbox(kind) for kind in registry.KINDS if kind in settings.PORTAL_BACKENDS),
        "credential_source": azure_credential_source(),
        "no_credential": NO_CREDENTIAL_MESSAGE,
        "subscription": settings.AZURE_SUBSCRIPTION_ID,
        "database": f"{connection.vendor} ({connection.settings_dict['NAME']})",
        "broker": broker.split("://", 1)[0] + "://…" if "@" in broker else broker,
        "compiler": bicep_compiler(),
        "compiler_setting": settings.PORTAL_BICEP,
        "bicep_root": settings.PORTAL_BICEP_ROOT,
    }

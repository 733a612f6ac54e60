"""The one place the portal picks its backends (issue #10).

`settings.PORTAL_BACKENDS` names a factory per kind by dotted path, as `STORAGES` and `EMAIL_BACKEND`
do; each is resolved once with `import_string`. A factory takes the environment (or None) and returns
a backend; its `kind` attribute ("sandbox" or "azure") is what callers ask instead of PORTAL_CLOUD.

    cloud             deployments (what-if, deploy, status, delete)   portal.deployments.backends
    cluster           the environment's Kubernetes API                portal.deployments.backends
    rbac              role assignments                                portal.access.backends
    resource_health   Azure Resource Health                           portal.health.backends
    cost              Cost Management                                 portal.costs.backends
    discovery         the environment's resources, read from Azure    portal.catalog.discovery

Azure factories build their SDK clients with one credential per process (azure-identity's
DefaultAzureCredential, built on first use) and the default transport. `azure_access(credential=...,
transport=...)` replaces both for what runs inside it, so every portal-level service can be driven by
the real SDK over an in-process transport (tests/contract)."""

import contextlib
import contextvars
import functools
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from provisioning.backends.sandbox import DEFAULT_SUBSCRIPTION_ID

KINDS = ("cloud", "cluster", "rbac", "resource_health", "cost", "discovery")


@dataclass(frozen=True)
class AzureAccess:
    credential: Any = None
    transport: Any = None


_access: contextvars.ContextVar[AzureAccess] = contextvars.ContextVar("portal_azure_access", default=AzureAccess())
_credential: Any = None
_credential_lock = threading.Lock()


def process_credential():
    """The process's one Azure credential (DefaultAzureCredential: environment, workload identity,
    managed identity, Azure CLI login, ...), built on first use and kept: its token cache with it."""
    global _credential
    with _credential_lock:
        if _credential is None:
            from azure.identity import DefaultAzureCredential

            _credential = DefaultAzureCredential()
        return _credential


def azure_credential():
    return _access.get().credential or process_credential()


def azure_transport():
    """The azure-core transport the SDK clients use: None for the SDK's default (requests)."""
    return _access.get().transport


@contextlib.contextmanager
def azure_access(*, credential=None, transport=None):
    """Inside: every Azure backend the registry builds uses this credential and transport."""
    token = _access.set(AzureAccess(credential, transport))
    try:
        yield
    finally:
        _access.reset(token)


def factory(kind: str):
    """Marks a backend factory with the kind of cloud it talks to ("sandbox" or "azure")."""
    def mark(function):
        function.kind = kind
        return function

    return mark


@functools.cache
def backend_factory(name: str):
    try:
        path = settings.PORTAL_BACKENDS[name]
    except KeyError:
        raise ImproperlyConfigured(f"PORTAL_BACKENDS has no {name!r} backend (kinds: {', '.join(KINDS)}).") from None
    return import_string(path)


@receiver(setting_changed)
def _forget_factories(*, setting, **kwargs):
    if setting in ("PORTAL_BACKENDS", "PORTAL_CLOUD"):
        backend_factory.cache_clear()


def backend_kind(name: str = "cloud") -> str:
    return getattr(backend_factory(name), "kind", "")


def is_sandbox(name: str = "cloud") -> bool:
    """Whether the `name` backend is the local sandbox (its own subscription, bookkeeping, seeds)."""
    return backend_kind(name) == "sandbox"


def backend(name: str, environment=None):
    return backend_factory(name)(environment)


def close_backend(instance) -> None:
    """Close a backend's SDK clients. Looked up on the type: the sandbox's stored wrappers turn any
    attribute into a call."""
    close = getattr(type(instance), "close", None)
    if close is not None:
        close(instance)


@contextlib.contextmanager
def opened(name: str, environment=None):
    """A backend for the length of a `with` block, closed after it."""
    instance = backend(name, environment)
    try:
        yield instance
    finally:
        close_backend(instance)


def subscription_of(environment) -> str:
    """The subscription an environment lives in: the sandbox has one of its own; in Azure the
    environment's, else AZURE_SUBSCRIPTION_ID ("" when neither is set). Every backend, deployments
    included, uses this one."""
    if is_sandbox("cloud"):
        return DEFAULT_SUBSCRIPTION_ID
    own = getattr(environment, "subscription_id", "") if environment is not None else ""
    return own or settings.AZURE_SUBSCRIPTION_ID

"""The template catalog: what the template sources hold (as their last sync read it), its
parameters, and turning one into a TemplateSpec.

Pages read only the stored results (`portal.sources`): nothing here parses a template to render a
page. The built-in source (`bicep/`) is synced the first time the catalog is asked for and never
synced before; after that by schedule, by `Sync now` and by `manage.py sync_sources`.
"""

import json
import subprocess
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from portal.core.errors import DomainError
from provisioning.backends.base import ResourceSpec, TemplateSpec
from provisioning.bicep import (
    BicepError,
    ParamSpec,
    TemplateInfo,
    load_template,
)
from provisioning.bicep import effective_parameters as bicep_effective_parameters
from provisioning.text import shorten


class UnknownTemplate(DomainError):
    status = 404


class UnsupportedTargetScope(DomainError):
    pass


SUBSCRIPTION_SCOPE, RESOURCE_GROUP_SCOPE = "subscription", "resourceGroup"
SCOPE_LABELS = {"managementGroup": "management group", "tenant": "tenant"}


def target_resource_group(info: TemplateInfo, environment) -> str:
    """Where a run of this template deploys: "" at subscription scope, the environment's (main) resource group
    for a template whose targetScope is 'resourceGroup'. A management-group or tenant template is refused:
    the portal deploys at subscription or resource-group scope. (No scope recorded: subscription, as before.)"""
    scope = info.target_scope or SUBSCRIPTION_SCOPE
    if scope == SUBSCRIPTION_SCOPE:
        return ""
    if scope == RESOURCE_GROUP_SCOPE:
        return environment.resource_group
    label = SCOPE_LABELS.get(scope, scope)
    raise UnsupportedTargetScope(f"{info.name} deploys at {label} scope (targetScope = '{scope}'), and this portal "
                                 "deploys at subscription or resource-group scope. Deploy it another way, or "
                                 "change its targetScope.")


def bicep_root() -> Path:
    return Path(settings.PORTAL_BICEP_ROOT)


def _ensure_builtin_synced() -> None:
    from portal.sources import services
    from portal.sources.models import BUILTIN, TemplateSource

    if not TemplateSource.objects.filter(name=BUILTIN, synced_at__isnull=False).exists():
        services.source_sync(source_id=services.builtin_source().pk)


def _info(row) -> TemplateInfo:
    from portal.sources.services import source_root

    return TemplateInfo(
        name=row.name, path=source_root(row.source, row.commit) / row.path, target_scope=row.target_scope,
        description=row.description, content_hash=row.content_hash, source=row.source.name,
        source_path=row.path, commit=row.commit, commit_url=row.commit_url, warnings=tuple(row.warnings),
        registry_modules=tuple(row.registry_modules),
        parameter_sets=tuple((name, tuple(values.items())) for name, values in sorted(row.parameter_sets.items())),
    )


def template_catalog() -> list[TemplateInfo]:
    """Every template offered for deployment, from every source, as last synced."""
    from portal.sources import selectors

    _ensure_builtin_synced()
    return [_info(row) for row in selectors.template_files_offered()]


def template_get(name: str) -> TemplateInfo:
    from portal.sources import selectors

    _ensure_builtin_synced()
    row = selectors.template_file_offered(name=name)
    if row is None:
        raise UnknownTemplate(f"There is no template named {name!r} in the catalog.")
    return _info(row)


def template_parameters(info: TemplateInfo) -> list[ParamSpec]:
    """The form's parameters, as stored by the sync that read this content."""
    from portal.sources import selectors

    return [ParamSpec(**p) for p in selectors.template_parameters_stored(name=info.name,
                                                                           content_hash=info.content_hash)]


@lru_cache(maxsize=256)
def _resources(path: str, content_hash: str, parameters_json: str) -> tuple[ResourceSpec, ...]:
    return load_template(Path(path), json.loads(parameters_json)).resources


def template_resources(info: TemplateInfo, parameters: dict) -> tuple[ResourceSpec, ...]:
    """The resources a template declares with these parameters, read once per template content and
    parameters (pages that poll ask again every second)."""
    return _resources(str(info.path), info.content_hash, json.dumps(parameters, sort_keys=True, default=str))


def compile_to_arm(path: Path, compiler: str) -> dict:
    """Compile a .bicep file to ARM JSON with the Bicep CLI (`bicep` or `az`)."""
    if Path(compiler).name.startswith("az"):
        command = [compiler, "bicep", "build", "--file", str(path), "--stdout"]
    else:
        command = [compiler, "build", str(path), "--stdout"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise BicepError(path, f"the Bicep compiler failed: {shorten(result.stderr.strip(), 2000)}")
    return json.loads(result.stdout)


def template_spec(info: TemplateInfo, parameters: dict, *, compiler: str | None) -> TemplateSpec:
    """The TemplateSpec to deploy: resources read from the source (for the sandbox), and ARM JSON
    when the file is ARM JSON or a compiler is configured (for Azure)."""
    spec = load_template(info.path, parameters)
    if spec.arm_template is None and compiler:
        spec = replace(spec, arm_template=compile_to_arm(info.path, compiler))
    return spec


def effective_parameters(info: TemplateInfo, parameters: dict) -> dict:
    """Each parameter's value with the template's defaults worked out where they can be (no secrets).
    A file the evaluator cannot follow (only the tolerant reader gives its form) has none worked out."""
    try:
        return bicep_effective_parameters(info.path, parameters)
    except BicepError:
        return {}

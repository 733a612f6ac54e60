"""The template catalog: what bicep/ holds, its parameters, and turning one into a TemplateSpec."""

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
    discover_templates,
    load_template,
    parse_parameters,
)
from provisioning.bicep import effective_parameters as bicep_effective_parameters


class UnknownTemplate(DomainError):
    status = 404


def bicep_root() -> Path:
    return Path(settings.PORTAL_BICEP_ROOT)


def template_catalog() -> list[TemplateInfo]:
    return discover_templates(bicep_root())


def template_get(name: str) -> TemplateInfo:
    for info in template_catalog():
        if info.name == name:
            return info
    raise UnknownTemplate(f"There is no template named {name!r} in bicep/.")


@lru_cache(maxsize=64)
def _parameters(path: str, content_hash: str) -> tuple[ParamSpec, ...]:
    return tuple(parse_parameters(Path(path)))


def template_parameters(info: TemplateInfo) -> list[ParamSpec]:
    return list(_parameters(str(info.path), info.content_hash))


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
        raise BicepError(path, f"the Bicep compiler failed: {result.stderr.strip()[:2000]}")
    return json.loads(result.stdout)


def template_spec(info: TemplateInfo, parameters: dict, *, compiler: str | None) -> TemplateSpec:
    """The TemplateSpec to deploy: resources read from the source (for the sandbox), and ARM JSON
    when the file is ARM JSON or a compiler is configured (for Azure)."""
    spec = load_template(info.path, parameters)
    if spec.arm_template is None and compiler:
        spec = replace(spec, arm_template=compile_to_arm(info.path, compiler))
    return spec


def effective_parameters(info: TemplateInfo, parameters: dict) -> dict:
    """Each parameter's value with the template's defaults worked out where they can be (no secrets)."""
    return bicep_effective_parameters(info.path, parameters)

"""The public functions, and the files a template is made of."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioning.backends.base import ResourceSpec, TemplateSpec
from provisioning.bicep.arm import _arm_param_spec, _arm_scope, _ArmEvaluator, _read_arm
from provisioning.bicep.evaluator import _Evaluator
from provisioning.bicep.model import BicepError, ParamSpec, TemplateInfo
from provisioning.bicep.parameters import _param_spec
from provisioning.bicep.parser import _read_bicep
from provisioning.bicep.values import _is_known

# --- Public functions ---------------------------------------------------------------------------

def discover_templates(root: Path) -> list[TemplateInfo]:
    """Every `main.bicep`, and every ARM JSON template, directly inside a folder of `root`.

    A `main.json` next to a `main.bicep` is taken for its compiled output and left out. Raises
    BicepError for a template that does not parse.
    """
    found: list[TemplateInfo] = []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")):
        main = folder / "main.bicep"
        if main.is_file():
            doc = _read_bicep(main)
            found.append(TemplateInfo(_template_name(main), main, doc.target_scope, doc.description,
                                      _content_hash(main)))
        for path in sorted(folder.glob("*.json")):
            if path.stem == "main" and main.is_file():
                continue
            arm = _read_arm(path, strict=False)
            if arm is not None:
                found.append(TemplateInfo(_template_name(path), path, _arm_scope(arm),
                                          str(arm.get("metadata", {}).get("description", "")),
                                          _content_hash(path)))
    return found


def parse_parameters(path: Path) -> list[ParamSpec]:
    """The template's parameters in declaration order, with their decorators."""
    path = Path(path)
    if path.suffix == ".json":
        return [_arm_param_spec(name, spec) for name, spec in _read_arm(path).get("parameters", {}).items()]
    doc = _read_bicep(path)
    return [_param_spec(name, attrs, doc) for name, attrs in doc.parameters.items()]


def template_resources(path: Path, parameters: Mapping[str, Any] | None = None) -> tuple[ResourceSpec, ...]:
    """The resources (and module deployments) the template would create with these parameters.

    Local modules are walked too; their resources carry the module's path relative to the
    template's folder. `existing` resources and those whose condition is false are left out. A
    child resource gets its full type and its full ARM name (`account/database/container`).
    `properties` is the declared body (location, sku, properties, ...) without name and parent.
    """
    path = Path(path)
    given = dict(parameters or {})
    if path.suffix == ".json":
        return tuple(_ArmEvaluator(_read_arm(path), given).walk())
    return tuple(_Evaluator(_read_bicep(path), given).walk("", path.parent))


def load_template(path: Path, parameters: Mapping[str, Any] | None = None) -> TemplateSpec:
    """The template ready to deploy; its content hash is that of exactly what was read."""
    path = Path(path)
    content_hash = _content_hash(path)
    spec = TemplateSpec(
        name=_template_name(path),
        resources=template_resources(path, parameters),
        arm_template=_read_arm(path) if path.suffix == ".json" else None,
        content_hash=content_hash,
    )
    if _content_hash(path) != content_hash:
        raise BicepError(path, "the template changed while it was being read; try again")
    return spec


def effective_parameters(path: Path, parameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The value each parameter would take: the one given, else its default, evaluated where it can
    be (`'cold-${agentName}-chat-memory'` with agentName given). Secure parameters and defaults
    only Azure can work out (`deployment().location`) are left out."""
    path = Path(path)
    given = dict(parameters or {})
    evaluator: _Evaluator | _ArmEvaluator
    if path.suffix == ".json":
        template = _read_arm(path)
        evaluator, names = _ArmEvaluator(template, given), list(template.get("parameters", {}))
    else:
        doc = _read_bicep(path)
        evaluator, names = _Evaluator(doc, given), list(doc.parameters)
    values = {name: evaluator.parameter(name) for name in names}
    return {name: value for name, value in values.items() if _is_known(value, deep=True)}


# --- Files --------------------------------------------------------------------------------------

def _template_name(path: Path) -> str:
    return path.parent.name if path.stem == "main" else f"{path.parent.name}-{path.stem}"


def _content_hash(path: Path) -> str:
    """sha256 over the template and, recursively, the local modules, imports and loaded files."""
    from provisioning.bicep.catalog import content_hash

    return content_hash(path)

"""The Bicep CLI, when there is one: `bicep build` / `build-params` (or `az bicep ...`) to ARM JSON,
and the form's parameters read from the ARM JSON it emits (user-defined types resolved through
`definitions`). Nothing here imports Django."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

from provisioning.bicep.model import BicepError, ParamSpec
from provisioning.text import shorten

_DIAGNOSTIC = re.compile(r"\((?P<line>\d+),(?P<column>\d+)\)\s*:\s*Error\s+(?P<code>BCP\d+|\w+):\s*(?P<message>.*)")


class CompilerMissing(Exception):
    """The configured CLI cannot be run: fall back to the portal's own readers."""


def _command(compiler: str, verb: str, path: Path) -> list[str]:
    if Path(compiler).name.startswith("az"):
        return [compiler, "bicep", verb, "--file", str(path), "--stdout"]
    return [compiler, verb, str(path), "--stdout"]


def run_cli(compiler: str, verb: str, path: Path, *, timeout: float = 120) -> dict[str, Any]:
    """ARM JSON from `build` (a .bicep) or `build-params` (a .bicepparam). BicepError with the CLI's
    first error (line and column) when it refuses the file; CompilerMissing when it cannot run."""
    try:
        result = subprocess.run(_command(compiler, verb, path), capture_output=True, text=True, timeout=timeout)
    except (FileNotFoundError, PermissionError, OSError) as exc:
        raise CompilerMissing(str(exc)) from exc
    except subprocess.TimeoutExpired as exc:
        raise BicepError(path, f"the Bicep CLI took longer than {timeout:g} s") from exc
    if result.returncode != 0:
        for line in result.stderr.splitlines() + result.stdout.splitlines():
            match = _DIAGNOSTIC.search(line)
            if match:
                raise BicepError(path, f"{match['code']}: {match['message'].strip()}", line=int(match["line"]),
                                 column=int(match["column"]))
        raise BicepError(path, f"the Bicep CLI failed: {shorten(result.stderr.strip(), 500) or result.returncode}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise BicepError(path, f"the Bicep CLI printed something that is not JSON: {exc.msg}") from exc


def arm_form(template: dict[str, Any]) -> list[dict[str, Any]]:
    """ParamSpec fields per parameter of an ARM template the CLI built."""
    from provisioning.bicep.arm import _arm_param_spec

    definitions = template.get("definitions", {})
    specs = []
    for name, spec in template.get("parameters", {}).items():
        resolved = _resolve(spec, definitions)
        param = _arm_param_spec(name, resolved)
        if resolved.get("nullable"):
            param = ParamSpec(**{**asdict(param), "nullable": True})
        specs.append(asdict(param))
    return specs


def _resolve(spec: dict[str, Any], definitions: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    ref = spec.get("$ref", "")
    if not ref.startswith("#/definitions/") or depth > 10:
        return spec if "type" in spec else {**spec, "type": "object"}
    target = definitions.get(ref.removeprefix("#/definitions/"), {})
    merged = {**_resolve(target, definitions, depth + 1), **{k: v for k, v in spec.items() if k != "$ref"}}
    return merged


def arm_resource_types(template: dict[str, Any]) -> list[str]:
    resources = template.get("resources", [])
    items = resources.values() if isinstance(resources, dict) else resources
    return [f"{r.get('type')}@{r.get('apiVersion')}" for r in items if isinstance(r, dict) and not r.get("existing")]


def params_values(built: dict[str, Any]) -> dict[str, Any]:
    """The values of `build-params` output: `{"parametersJson": "<ARM parameters file>"}` or the file."""
    document = json.loads(built["parametersJson"]) if "parametersJson" in built else built
    return {name: p["value"] for name, p in document.get("parameters", {}).items() if isinstance(p, dict) and "value" in p}

"""ARM JSON: reading a template, its scope and parameters, and evaluating its `[expression]` strings,
`parameters()`, `variables()` and copy loops."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from provisioning.backends.base import ResourceSpec
from provisioning.bicep.evaluator import _Expressions
from provisioning.bicep.functions import _EVALUATION_ERRORS, _equal, _int_division, _int_modulo
from provisioning.bicep.model import BicepError, ParamSpec, _read_text
from provisioning.bicep.nodes import _Call, _Op, _Verbatim
from provisioning.bicep.values import _is_known, _name_text, _plain, _quote, _Secret, _Unresolved


def _read_arm(path: Path, *, strict: bool = True) -> Any:
    """The template; with strict=False, None for a JSON file that is not a deployment template."""
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if not strict and "deploymenttemplate" not in text.lower():
            return None
        raise BicepError(path, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    # deploymentTemplate.json, subscriptionDeploymentTemplate.json, ...
    if isinstance(data, dict) and "deploymenttemplate" in str(data.get("$schema", "")).lower():
        return data
    if strict:
        raise BicepError(path, "not an ARM deployment template: its $schema is not a deploymentTemplate")
    return None


def _arm_scope(template: dict[str, Any]) -> str:
    schema = str(template.get("$schema", ""))
    for prefix, scope in (("subscription", "subscription"), ("managementGroup", "managementGroup"),
                          ("tenant", "tenant")):
        if f"{prefix}DeploymentTemplate" in schema:
            return scope
    return "resourceGroup"


_ARM_TYPES = {"string": "string", "securestring": "string", "int": "int", "bool": "bool",
              "object": "object", "secureobject": "object", "array": "array"}


def _arm_param_spec(name: str, spec: dict[str, Any]) -> ParamSpec:
    raw_type = str(spec.get("type", "string")).lower()
    default = spec.get("defaultValue")
    expression = None
    if isinstance(default, str) and default.startswith("[") and not default.startswith("[["):
        default, expression = None, spec["defaultValue"]
    elif isinstance(default, str) and default.startswith("[["):
        default = default[1:]
    return ParamSpec(
        name=name,
        type=_ARM_TYPES.get(raw_type, "object"),
        default=default,
        default_expression=expression,
        description=str(spec.get("metadata", {}).get("description", "")),
        allowed=list(spec.get("allowedValues", [])),
        min_value=spec.get("minValue"),
        max_value=spec.get("maxValue"),
        min_length=spec.get("minLength"),
        max_length=spec.get("maxLength"),
        secure=raw_type.startswith("secure"),
        nullable=bool(spec.get("nullable", False)),
    )


_ARM_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_]\w*)|(?P<punct>[(),.\[\]]))")

_ARM_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "equals": _equal,
    "not": lambda a: not a,
    "and": lambda *a: all(a),
    "or": lambda *a: any(a),
    "if": lambda c, yes, no: yes if c else no,
    "greater": lambda a, b: a > b,
    "greaterOrEquals": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "lessOrEquals": lambda a, b: a <= b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": _int_division,
    "mod": _int_modulo,
    "true": lambda: True,
    "false": lambda: False,
    "null": lambda: None,
}


def _parse_arm_expression(text: str) -> Any:
    """An ARM `[...]` expression as the nodes the Bicep evaluator reads."""
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(text.rstrip()):
        match = _ARM_TOKEN.match(text, at)
        if not match:
            raise ValueError(f"cannot read {text!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        at = match.end()
    position = 0

    def take(expected: str | None = None) -> str:
        nonlocal position
        kind, value = tokens[position]
        if expected is not None and value != expected:
            raise ValueError(f"expected {expected!r} in {text!r}")
        position += 1
        return value

    def expression() -> Any:
        kind, value = tokens[position]
        take()
        if kind == "string":
            node: Any = _Verbatim(value[1:-1].replace("''", "'"))
        elif kind == "number":
            node = int(value)
        elif kind == "name":
            take("(")
            args = []
            while tokens[position][1] != ")":
                args.append(expression())
                if tokens[position][1] == ",":
                    take()
            take(")")
            node = _Call(value, tuple(args))
        else:
            raise ValueError(f"unexpected {value!r} in {text!r}")
        while position < len(tokens) and tokens[position][1] in (".", "["):
            if take() == ".":
                node = _Op("property_accessor", (node, take()))
            else:
                node = _Op("index_accessor", (node, expression()))
                take("]")
        return node

    result = expression()
    if position != len(tokens):
        raise ValueError(f"unexpected text after the expression in {text!r}")
    return result


class _ArmEvaluator(_Expressions):
    """ARM JSON: `[expression]` strings, parameters(), variables(), copy loops."""

    def __init__(self, template: dict[str, Any], arguments: Mapping[str, Any]):
        self.template = template
        self.arguments = arguments
        self._values: dict[str, Any] = {}
        self._copy_index: int | None = None

    def value(self, raw: Any) -> Any:
        if isinstance(raw, str) and raw.startswith("[") and raw.endswith("]") and not raw.startswith("[["):
            try:
                return self.eval(_parse_arm_expression(raw[1:-1]), {})
            except (ValueError, IndexError):
                return _Unresolved(raw[1:-1])
        if isinstance(raw, str):
            return _Verbatim(raw[1:] if raw.startswith("[[") else raw)
        if isinstance(raw, list):
            return [self.value(item) for item in raw]
        if isinstance(raw, dict):
            return {key: self.value(item) for key, item in raw.items()}
        return raw

    def eval(self, node: Any, local: Mapping[str, Any]) -> Any:
        return str(node) if isinstance(node, _Verbatim) else super().eval(node, local)

    def parameter(self, name: str) -> Any:
        spec = self.template.get("parameters", {}).get(name)
        if spec is None:
            return _Unresolved(f"parameters({_quote(name)})")
        if name in self.arguments:
            value = self.arguments[name]
        elif "defaultValue" in spec:
            value = self.value(spec["defaultValue"])
        else:
            return _Unresolved(f"parameters({_quote(name)})")
        secure = str(spec.get("type", "")).lower().startswith("secure")
        return _Secret(name, value) if secure and _is_known(value) else value

    def _call(self, name: str, args: list[Any]) -> Any:
        if name in ("parameters", "variables") and len(args) == 1 and isinstance(args[0], str):
            key = f"{name}:{args[0]}"
            if key not in self._values:
                if name == "parameters":
                    self._values[key] = self.parameter(args[0])
                elif args[0] in self.template.get("variables", {}):
                    self._values[key] = self.value(self.template["variables"][args[0]])
                else:
                    self._values[key] = _Unresolved(f"variables({_quote(args[0])})")
            return self._values[key]
        if name == "copyIndex" and self._copy_index is not None:
            return self._copy_index + (args[-1] if args and isinstance(args[-1], int) else 0)
        function = _ARM_FUNCTIONS.get(name)
        if function is not None and all(_is_known(a) for a in args):
            try:
                return function(*args)
            except _EVALUATION_ERRORS:
                pass
        return super()._call(name, args)

    def walk(self) -> Iterator[ResourceSpec]:
        resources = self.template.get("resources", [])
        items = resources.items() if isinstance(resources, dict) else (("", r) for r in resources)
        for symbol, resource in items:
            yield from self._walk_arm(symbol, resource, "", "")

    def _walk_arm(self, symbol: str, resource: dict[str, Any], parent_type: str,
                  parent_name: str) -> Iterator[ResourceSpec]:
        if resource.get("existing"):
            return
        copy = resource.get("copy")
        count = self.value(copy.get("count")) if isinstance(copy, dict) else None
        for index in range(count) if isinstance(count, int) else [None]:
            self._copy_index = index
            if self.value(resource.get("condition", True)) is False:
                continue
            type_ = resource.get("type", "")
            if parent_type and not type_.startswith(parent_type + "/") and "." not in type_.split("/")[0]:
                type_ = f"{parent_type}/{type_}"
            name = _name_text(self.value(resource.get("name", "")))
            if parent_name and not name.startswith(parent_name + "/"):
                name = f"{parent_name}/{name}"
            properties = {key: _plain(self.value(item)) for key, item in resource.items()
                          if key not in ("type", "name", "apiVersion", "condition", "dependsOn", "resources",
                                         "copy", "comments", "existing")}
            yield ResourceSpec(type=type_, name=name, symbol=symbol, module="", properties=properties)
            for child in resource.get("resources", []):
                yield from self._walk_arm("", child, type_, name)
        self._copy_index = None

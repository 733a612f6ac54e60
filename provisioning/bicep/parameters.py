"""Bicep parameters: a declaration, with its decorators, as a ParamSpec."""

from __future__ import annotations

from typing import Any

from provisioning.bicep.model import PARAM_TYPES, ParamSpec
from provisioning.bicep.nodes import _Loop, _Ref
from provisioning.bicep.parser import _Document
from provisioning.bicep.values import _Expression, _literal, _literal_text


def _param_spec(name: str, attrs: dict[str, Any], doc: _Document) -> ParamSpec:
    decorators = {d["type"]: d["argument"] for d in attrs["decorators"]}
    default: Any = None
    expression: str | None = None
    if attrs["default"] is not None:
        try:
            default = _literal(attrs["default"])
        except _Expression:
            expression = attrs["default_source"]
    try:
        allowed = _literal(decorators.get("allowed")) or []
    except _Expression:
        allowed = []
    return ParamSpec(
        name=name,
        type=_param_type(attrs["type"], doc),
        default=default,
        default_expression=expression,
        description=_literal_text(decorators.get("description")),
        allowed=list(allowed),
        min_value=_int_or_none(decorators.get("minValue")),
        max_value=_int_or_none(decorators.get("maxValue")),
        min_length=_int_or_none(decorators.get("minLength")),
        max_length=_int_or_none(decorators.get("maxLength")),
        secure="secure" in decorators,
        nullable=attrs["nullable"],
    )


def _int_or_none(node: Any) -> int | None:
    try:
        value = _literal(node)
    except _Expression:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _param_type(data_type: Any, doc: _Document) -> str:
    if isinstance(data_type, dict):
        return "array" if data_type.get("type") == "array" else "string"
    if data_type in PARAM_TYPES:
        return data_type
    custom = doc.tree.get("types", {}).get(data_type)   # a user-defined type: judge by its shape
    value = custom["value"] if custom else None
    if isinstance(value, (list, _Loop)) or isinstance(value, dict) and value.get("type") == "array":
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, _Ref) and value.name in PARAM_TYPES:
        return value.name
    return "object"

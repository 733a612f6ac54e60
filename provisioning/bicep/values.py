"""Values: what could not be evaluated, secure values and resource references; writing a value back
as Bicep or as plain data; Bicep string escapes, interpolation and comments; literals."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provisioning.backends.base import RESOURCE_GROUP_TYPE
from provisioning.bicep.nodes import _Op, _Paren, _Verbatim


@dataclass(frozen=True)
class _Unresolved:
    text: str                    # the expression as Bicep, with what is known substituted
    partial: str | None = None   # for a string: its value with the unknown `${...}` left in


@dataclass(frozen=True)
class _Secret:
    name: str
    value: Any = field(repr=False)


@dataclass(frozen=True)
class _ResourceRef:
    symbol: str                  # as written; `nsgs[2]` for a copy made by a loop
    type: str
    name: Any                    # str, or _Unresolved
    body: Mapping[str, Any] = field(default_factory=dict, repr=False)   # location, sku, kind, tags
    enabled: bool = True


def _is_known(value: Any, *, deep: bool = False) -> bool:
    if isinstance(value, (_Unresolved, _Secret)):
        return False
    if deep and isinstance(value, list):
        return all(_is_known(item, deep=True) for item in value)
    if deep and isinstance(value, dict):
        return all(_is_known(item, deep=True) for item in value.values())
    return True


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${").replace("\n", "\\n")
    return f"'{escaped}'"


def _source(value: Any) -> str:
    """A value written back as Bicep, for the text of what could not be evaluated."""
    if isinstance(value, _Unresolved):
        return value.text
    if isinstance(value, _Secret):
        return value.name
    if isinstance(value, _ResourceRef):
        return value.symbol
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_source(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_source(v)}" for k, v in value.items()) + "}"
    return str(value)


def _resource_id(ref: _ResourceRef) -> str:
    names = ref.name.split("/") if isinstance(ref.name, str) else [ref.name]
    function = "subscriptionResourceId" if ref.type == RESOURCE_GROUP_TYPE else "resourceId"
    return f"{function}({_quote(ref.type)}, {', '.join(_source(n) for n in names)})"


def _plain(value: Any) -> Any:
    """An evaluated value as plain data for a ResourceSpec: unknown parts as ARM `[expression]`."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, _Unresolved):
        return value.partial if value.partial is not None else f"[{value.text}]"
    if isinstance(value, _Secret):
        return f"[{value.name}]"
    if isinstance(value, _ResourceRef):
        return f"[{_resource_id(value)}]"
    return value


def _name_text(value: Any) -> str:
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain)


_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]+\}|.)", re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u{"):
            return chr(int(code[2:-1], 16))
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(replace, text)


def _split_interpolation(raw: str) -> list[tuple[str, bool]]:
    """A quoted string's source cut into (literal text, False) and (expression text, True) parts."""
    parts: list[tuple[str, bool]] = []
    start = at = 0
    while at < len(raw):
        if raw[at] == "\\":
            at += 2
        elif raw.startswith("${", at):
            if at > start:
                parts.append((raw[start:at], False))
            end = _closing_brace(raw, at + 2)
            parts.append((raw[at + 2:end], True))
            start = at = end + 1
        else:
            at += 1
    if start < len(raw):
        parts.append((raw[start:], False))
    return parts


def _closing_brace(raw: str, at: int) -> int:
    depth, quoted = 1, False
    while at < len(raw):
        char = raw[at]
        if quoted:
            if char == "\\":
                at += 1
            elif char == "'":
                quoted = False
        elif char == "'":
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return at
        at += 1
    return len(raw)


def _strip_comments(source: str) -> str:
    """Bicep source without its // and /* */ comments (strings are left alone)."""
    out: list[str] = []
    at, end = 0, len(source)
    while at < end:
        if source.startswith("'''", at):
            close = source.find("'''", at + 3)
            stop = end if close == -1 else close + 3
            out.append(source[at:stop])
        elif source[at] == "'":
            stop = at + 1
            while stop < end and source[stop] != "'":
                stop += 2 if source[stop] == "\\" else 1
            stop = min(stop + 1, end)
            out.append(source[at:stop])
        elif source.startswith("//", at):
            newline = source.find("\n", at)
            stop = end if newline == -1 else newline
        elif source.startswith("/*", at):
            close = source.find("*/", at + 2)
            stop = end if close == -1 else close + 2
        else:
            out.append(source[at])
            stop = at + 1
        at = stop
    return "".join(out)


class _Expression(Exception):
    """Raised by `_literal` for a value that is an expression rather than a literal."""


def _literal(node: Any) -> Any:
    if node is None or isinstance(node, (bool, int)):
        return node
    if isinstance(node, _Verbatim):
        return str(node)
    if isinstance(node, str):
        if any(is_expression for _, is_expression in _split_interpolation(node)):
            raise _Expression
        return _unescape(node)
    if isinstance(node, list):
        return [_literal(item) for item in node]
    if isinstance(node, dict):
        return {key: _literal(value) for key, value in node.items()}
    if isinstance(node, _Op) and node.kind == "minus" and isinstance(node.operands[0], int):
        return -node.operands[0]
    if isinstance(node, _Paren):
        return _literal(node.inner)
    raise _Expression


def _literal_text(node: Any) -> str:
    try:
        value = _literal(node)
    except _Expression:
        return str(node)
    return "" if value is None else str(value)

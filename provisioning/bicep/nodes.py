"""The expression nodes: what the parser makes of Bicep (and of ARM `[...]` expressions), and what
the evaluators read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Expression nodes the transformer produces (literals stay Python values; a quoted string keeps its
# escapes and `${...}` until it is evaluated).

@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class _Op:
    kind: str                   # pycep's operator names: "equals", "and", "property_accessor", ...
    operands: tuple[Any, ...]


@dataclass(frozen=True)
class _Paren:
    inner: Any


@dataclass(frozen=True)
class _Loop:
    item: str
    index: str | None
    source: Any
    condition: Any
    body: Any


@dataclass(frozen=True)
class _Guarded:
    condition: Any
    body: Any


class _Verbatim(str):
    """A string without escapes or interpolation: a multi-line string, or an ARM string literal."""


@dataclass(frozen=True)
class _Spread:
    """`...items` inside an array."""
    value: Any


class _SpreadKey(str):
    """The key under which `...base` sits inside an object (`...0`, `...1`): evaluating the object
    merges the value there, in order."""

"""Operator precedence, restored over pycep's reading of operator chains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provisioning.bicep.nodes import _Op, _Ref

# pycep nests every operator to the right: `a == b && c` arrives as `a == (b && c)`. An operator's
# operands are flattened back into the sequence written in the source (parentheses are kept as
# atoms) and re-read with Bicep's precedence, tightest first: accessors, `!` and unary `-`,
# `* / %`, `+ -`, comparisons, equality, `&&`, `||`, `??`, and `? :`.

_BINARY = {
    "multiply": 7, "divide": 7, "modulo": 7,
    "add": 6, "substract": 6,
    "greater_than": 5, "greater_than_or_equals": 5, "less_than": 5, "less_than_or_equals": 5,
    "equals": 4, "not_equals": 4, "equals_case_insensitive": 4, "not_equals_case_insensitive": 4,
    "and": 3,
    "or": 2,
    "coalesce": 1,
}
_SYMBOLS = {
    "multiply": "*", "divide": "/", "modulo": "%", "add": "+", "substract": "-",
    "greater_than": ">", "greater_than_or_equals": ">=", "less_than": "<", "less_than_or_equals": "<=",
    "equals": "==", "not_equals": "!=", "equals_case_insensitive": "=~", "not_equals_case_insensitive": "!~",
    "and": "&&", "or": "||", "coalesce": "??",
}


@dataclass(frozen=True)
class _Mark:
    kind: str        # a binary kind, "not", "minus", "?", ":", "property_accessor", ...
    payload: Any = None


def _flatten(node: Any) -> list[Any]:
    if not isinstance(node, _Op):
        return [node]
    kind, operands = node.kind, node.operands
    if kind in _BINARY:
        return [*_flatten(operands[0]), _Mark(kind), *_flatten(operands[1])]
    if kind in ("not", "minus"):
        return [_Mark(kind), *_flatten(operands[0])]
    if kind == "conditional":
        condition, yes, no = operands
        return [*_flatten(condition), _Mark("?"), *_flatten(yes), _Mark(":"), *_flatten(no)]
    if kind in ("property_accessor", "nested_resource_accessor"):
        return [*_flatten(operands[0]), _Mark(kind), *_flatten(operands[1])]
    if kind == "index_accessor":
        return [*_flatten(operands[0]), _Mark(kind, operands[1])]
    if kind == "function_accessor":
        return [*_flatten(operands[0]), _Mark(kind, operands[1:])]
    return [node]


class _Reader:
    """Precedence climbing over a flattened operator chain."""

    def __init__(self, items: list[Any]):
        self.items, self.at = items, 0

    def peek(self) -> Any:
        return self.items[self.at] if self.at < len(self.items) else None

    def take(self) -> Any:
        self.at += 1
        return self.items[self.at - 1]

    def conditional(self) -> Any:
        condition = self.binary(1)
        mark = self.peek()
        if isinstance(mark, _Mark) and mark.kind == "?":
            self.take()
            yes = self.conditional()
            self.take()  # ":"
            return _Op("conditional", (condition, yes, self.conditional()))
        return condition

    def binary(self, min_precedence: int) -> Any:
        left = self.unary()
        while isinstance(mark := self.peek(), _Mark) and _BINARY.get(mark.kind, 0) >= min_precedence:
            self.take()
            left = _Op(mark.kind, (left, self.binary(_BINARY[mark.kind] + 1)))
        return left

    def unary(self) -> Any:
        mark = self.peek()
        if isinstance(mark, _Mark) and mark.kind in ("not", "minus"):
            self.take()
            return _Op(mark.kind, (self.unary(),))
        node = self.take()
        while isinstance(mark := self.peek(), _Mark):
            if mark.kind in ("property_accessor", "nested_resource_accessor"):
                self.take()
                member = self.take()
                node = _Op(mark.kind, (node, member.name if isinstance(member, _Ref) else member))
            elif mark.kind == "index_accessor":
                node = _Op(mark.kind, (node, self.take().payload))
            elif mark.kind == "function_accessor":
                node = _Op(mark.kind, (node, *self.take().payload))
            else:
                break
        return node


def _normalize(node: _Op) -> Any:
    reader = _Reader(_flatten(node))
    try:
        result = reader.conditional()
    except IndexError:      # not a chain this reader understands: keep pycep's reading
        return node
    return result if reader.at == len(reader.items) else node

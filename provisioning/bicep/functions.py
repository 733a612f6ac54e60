"""The functions and operators evaluated: Bicep's, and the ones ARM JSON shares with it."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (str, int)):
        return str(value)
    raise TypeError("not a string")


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)(?::[^}]*)?\}", lambda m: _text(args[int(m.group(1))]), template)


def _concat(*args: Any) -> Any:
    if all(isinstance(a, list) for a in args):
        return [item for a in args for item in a]
    return "".join(_text(a) for a in args)


def _union(*args: Any) -> Any:
    if all(isinstance(a, dict) for a in args):
        merged: dict[str, Any] = {}
        for a in args:
            merged.update(a)
        return merged
    if all(isinstance(a, list) for a in args):
        result: list[Any] = []
        for item in (item for a in args for item in a):
            if item not in result:
                result.append(item)
        return result
    raise TypeError("union() needs objects or arrays")


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return _text(item) in container
    if isinstance(container, (list, dict)):
        return item in container
    raise TypeError("contains() needs a string, array or object")


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    raise TypeError("empty() needs a string, array or object")


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    return lambda *args: pick(args[0]) if len(args) == 1 and isinstance(args[0], list) else pick(args)


# ARM's guid(): a version 5 UUID of the arguments joined by '-', in this namespace.
_ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")


def _guid(*args: Any) -> str:
    if not args or not all(isinstance(a, str) for a in args):
        raise TypeError("guid() takes strings")
    return str(uuid.uuid5(_ARM_GUID_NAMESPACE, "-".join(args)))


def _string(value: Any) -> str:
    return value if isinstance(value, str) else _text(value) if isinstance(value, (int, bool)) else json.dumps(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "bool": lambda v: v if isinstance(v, bool) else str(v).lower() == "true",
    "concat": _concat,
    "contains": _contains,
    "empty": _empty,
    "endsWith": lambda s, x: s.lower().endswith(x.lower()),
    "first": lambda v: v[0] if v else None,
    "format": _format,
    "guid": _guid,
    "indexOf": lambda s, x: s.lower().find(x.lower()),
    "int": int,
    "items": lambda o: [{"key": k, "value": o[k]} for k in sorted(o, key=str.lower)],
    "join": lambda items, sep: sep.join(_text(i) for i in items),
    "last": lambda v: v[-1] if v else None,
    "length": len,
    "max": _extreme(max),
    "min": _extreme(min),
    "padLeft": lambda v, width, pad=" ": _text(v).rjust(width, pad),
    "range": lambda start, count: list(range(start, start + count)),
    "replace": lambda s, old, new: s.replace(old, new),
    "skip": lambda v, n: v[max(n, 0):],
    "split": lambda s, sep: re.split("|".join(map(re.escape, sep if isinstance(sep, list) else [sep])), s),
    "startsWith": lambda s, x: s.lower().startswith(x.lower()),
    "string": _string,
    "substring": lambda s, start, length=None: s[start:] if length is None else s[start:start + length],
    "take": lambda v, n: v[:max(n, 0)],
    "toLower": lambda s: s.lower(),
    "toUpper": lambda s: s.upper(),
    "trim": lambda s: s.strip(),
    "union": _union,
}


def _int_division(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def _int_modulo(a: int, b: int) -> int:
    return a - b * _int_division(a, b)


def _equal(a: Any, b: Any) -> bool:
    return isinstance(a, bool) is isinstance(b, bool) and a == b      # in Bicep, 1 is not true


_OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "equals": _equal,
    "not_equals": lambda a, b: not _equal(a, b),
    "equals_case_insensitive": lambda a, b: a.lower() == b.lower(),
    "not_equals_case_insensitive": lambda a, b: a.lower() != b.lower(),
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equals": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equals": lambda a, b: a <= b,
    "add": lambda a, b: a + b if isinstance(a, int) and isinstance(b, int) else _concat(a, b),
    "substract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": _int_division,
    "modulo": _int_modulo,
}

_EVALUATION_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError)

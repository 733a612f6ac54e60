"""Parsing Bicep: pycep's grammar and transformer, with the fixes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import v_args
from pycep.main import LARK_GRAMMAR
from pycep.transformer import BicepToJson

from provisioning.bicep.model import BicepError, _read_text
from provisioning.bicep.nodes import _Call, _Guarded, _Loop, _Op, _Paren, _Ref, _Spread, _SpreadKey, _Verbatim
from provisioning.bicep.precedence import _normalize
from provisioning.bicep.values import _literal_text, _strip_comments, _unescape

_GRAMMAR_PATCHES = (
    # Keep parentheses, so that operator precedence can be restored without breaking `(a || b) && c`.
    ('?value_brackets: (value | "(" value ")") "!"?',
     '?value_brackets: value "!"?\n               | "(" value ")" "!"? -> parenthesized'),
    # Accept `[for x in xs: if (cond) {...}]`: pycep only read `if(cond)`, as a function call.
    ('":" [value_brackets] value_brackets _CPP_COMMENT_NL? "]"',
     '":" [loop_filter] value_brackets _CPP_COMMENT_NL? "]"\n\n'
     '?loop_filter: value_brackets\n            | "if" "(" value_brackets ")" -> loop_if'),
    # The spread operator: `{ ...base, key: value }` and `[ ...items, item ]`.
    ('((pair ("," pair)* | child_resource) _CPP_COMMENT_NL*)* "}"',
     '((pair ("," pair)* | child_resource | spread_pair) _CPP_COMMENT_NL*)* "}"\n\n'
     'spread_pair: "..." value_brackets\n'
     'spread_item: "..." value_brackets'),
    ('(value_brackets ("," value_brackets)* _CPP_COMMENT_NL*)* "]"',
     '(_array_item ("," _array_item)* _CPP_COMMENT_NL*)* "]"\n\n'
     '_array_item: value_brackets | spread_item'),
    # A lambda of two parameters, `(cur, next) => union(cur, next)`: pycep asked for three or more.
    ('"(" value_brackets "," value_brackets ("," value_brackets)+ ")")',
     '"(" value_brackets "," value_brackets ("," value_brackets)* ")")'),
)


@cache
def _lark() -> Lark:
    grammar = LARK_GRAMMAR
    for old, new in _GRAMMAR_PATCHES:
        if old not in grammar:
            raise RuntimeError("pycep-parser's grammar changed; provisioning/bicep/parser.py needs updating")
        grammar = grammar.replace(old, new)
    return Lark(grammar=grammar, parser="lalr", propagate_positions=True, regex=True, cache=True)


_CHILD = "__child_resource__"
_SPREAD = object()
_CHILDREN = "__children__"


class _Transformer(BicepToJson):
    """pycep's transformer, producing the expression nodes (`nodes`): identifiers as `_Ref`, calls as
    `_Call` (with their Bicep names), operators as `_Op` in Bicep's precedence, loops and conditions
    as `_Loop` and `_Guarded`, and every nested child resource (`parent::child`, full type)."""

    def __init__(self, text: str) -> None:
        super().__init__(add_line_numbers=True)
        self._text = text

    def string(self, args: list[Token]) -> Any:
        token = args[0]
        return _Ref(str(token)) if token.type == "STRING" else str(token)[1:-1]

    def multi_line_string(self, args: list[Token]) -> _Verbatim:
        return _Verbatim(str(args[0])[3:-3].removeprefix("\n"))

    def key(self, args: list[Token]) -> str:
        text = str(args[0])
        return _unescape(text[1:-1]) if text.startswith("'") else text

    def spread_pair(self, args: list[Any]) -> tuple[str, Any]:
        return _SPREAD, args[0]

    def spread_item(self, args: list[Any]) -> _Spread:
        return _Spread(args[0])

    def object(self, args: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in args:
            if key is _SPREAD:
                result[_SpreadKey(f"...{len(result)}")] = value
            elif key == _CHILD:
                result.setdefault(_CHILDREN, []).append(value)
            else:
                result[key] = value
        return result

    def function(self, args: list[Any]) -> _Call:
        name, *params = args
        return _Call(str(name).removesuffix("(").removeprefix("sys.").removeprefix("az."), tuple(params))

    def operator(self, args: list[dict[str, Any]]) -> Any:
        node = args[0]
        return _normalize(_Op(node["type"], tuple(node["operands"].values())))

    def lambda_expression(self, args: list[Any]) -> _Op:
        return _Op("lambda", tuple(args))

    def parenthesized(self, args: list[Any]) -> _Paren:
        return _Paren(args[0])

    def loop_if(self, args: list[Any]) -> _Call:
        return _Call("if", (args[0],))

    def loop_object(self, args: list[Any]) -> dict[str, Any]:
        return {"type": "object", "detail": {"item_name": str(args[0]), "object_name": args[1]}}

    def loop(self, args: list[Any]) -> _Loop:
        head, condition, body = args
        detail = head["detail"]
        if isinstance(condition, _Call) and condition.name == "if":
            condition = condition.args[0]
        source = detail["object_name"] if head["type"] == "object" else detail["array_name"]
        if head["type"] == "object":
            source = _Call("items", (source,))
        return _Loop(detail["item_name"], detail.get("index_name"), source, condition, body)

    def deploy_condition(self, args: list[Any]) -> _Guarded:
        return _Guarded(args[0], args[1])

    def decorator(self, args: list[Any]) -> dict[str, Any]:
        name, *params = args
        return {"type": str(name).removeprefix("sys."), "argument": params[0] if params else None}

    @v_args(meta=True)
    def param(self, meta: Any, args: list[Any]) -> dict[str, Any]:
        decorators, name, data_type, default = args
        source = self._text[meta.start_pos:meta.end_pos]
        declaration = re.search(rf"^[ \t]*param[ \t]+{re.escape(str(name))}\b", source, re.MULTILINE)
        rest = source[declaration.end():] if declaration else ""
        type_text, has_default, default_text = rest.partition("=")
        return {"parameters": {"__name__": str(name), "__attrs__": {
            "decorators": decorators or [],
            "type": data_type,
            "default": default,
            "default_source": _strip_comments(default_text).strip() if has_default else None,
            "nullable": type_text.strip().endswith("?"),
            "__start_line__": meta.line,
        }}}

    def process_child_resource(self, parent_resource_name: str, parent_type_api_pair: dict[str, str],
                               config: Any) -> None:
        body = config.body if isinstance(config, (_Loop, _Guarded)) else config
        if not isinstance(body, dict):
            return
        for child in body.pop(_CHILDREN, []):
            attrs = child["__attrs__"]
            symbol = f"{parent_resource_name}::{child['__name__']}"
            child_type, _, version = attrs["type"].partition("@")
            if "." not in child_type.split("/")[0]:
                child_type = f"{parent_type_api_pair['type']}/{child_type}"
            type_api = {"type": child_type, "api_version": version or parent_type_api_pair["api_version"]}
            child["__name__"] = symbol
            attrs.update(type=type_api["type"], api_version=type_api["api_version"],
                         parent_symbol=parent_resource_name)
            self.child_resources.append({"resources": child})
            self.process_child_resource(symbol, type_api, attrs["config"])


@dataclass(frozen=True)
class _Document:
    path: Path
    text: str
    tree: dict[str, Any]

    def _section(self, name: str) -> dict[str, Any]:
        return self.tree.get(name, {})

    @property
    def parameters(self) -> dict[str, Any]:
        return self._section("parameters")

    @property
    def variables(self) -> dict[str, Any]:
        return self._section("variables")

    @property
    def resources(self) -> dict[str, Any]:
        return self._section("resources")

    @property
    def modules(self) -> dict[str, Any]:
        return self._section("modules")

    @property
    def target_scope(self) -> str:
        return self.tree["globals"]["scope"]["value"]

    @property
    def description(self) -> str:
        """`metadata description = '...'`, else the comment lines the file starts with."""
        metadata = self._section("metadata").get("description")
        if metadata is not None:
            return _literal_text(metadata["value"])
        lines = []
        for line in self.text.lstrip().splitlines():
            if not line.startswith("//"):
                break
            lines.append(line.removeprefix("//").strip())
        return " ".join(line for line in lines if line)


def _read_bicep(path: Path) -> _Document:
    text = _read_text(path)
    try:
        return _Document(path, text, _parse(text))
    except _SyntaxProblem as exc:
        problem = exc
    # Current Bicep that pycep's grammar does not know: try again without what only the compiler needs.
    from provisioning.bicep.simplify import simplified

    simpler = simplified(text)
    if simpler is not None and simpler != text:
        try:
            return _Document(path, text, _parse(simpler))
        except _SyntaxProblem:
            pass
    raise BicepError(path, problem.message, line=problem.line, column=problem.column) from problem


class _SyntaxProblem(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@lru_cache(maxsize=128)
def _parse(text: str) -> dict[str, Any]:
    """pycep's JSON-like tree of a Bicep source. Cached by content: callers must not modify it."""
    if text.count("'''") % 2:
        raise _SyntaxProblem("a multi-line string (''') is not closed")
    try:
        tree = _lark().parse(text if text.endswith("\n") else text + "\n")
    except UnexpectedInput as exc:
        raise _SyntaxProblem(_describe(exc, text), exc.line, exc.column) from exc
    except LarkError as exc:
        raise _SyntaxProblem(str(exc)) from exc
    try:
        return _Transformer(text).transform(tree)
    except VisitError as exc:
        meta = getattr(exc.obj, "meta", None)
        line = getattr(meta, "line", None) if meta is not None and not meta.empty else None
        raise _SyntaxProblem(f"cannot read this {exc.rule}: {exc.orig_exc}", line) from exc


def _describe(exc: UnexpectedInput, text: str) -> str:
    if isinstance(exc, UnexpectedToken):
        what = "end of file" if exc.token.type == "$END" else repr(str(exc.token))
    elif isinstance(exc, UnexpectedCharacters):
        what = repr(exc.char)
    elif isinstance(exc, UnexpectedEOF):
        return "unexpected end of file"
    else:
        what = "input"
    lines = text.splitlines()
    source = lines[exc.line - 1].strip() if 0 < exc.line <= len(lines) else ""
    return f"unexpected {what} in `{source}`"


@lru_cache(maxsize=512)
def _expression(text: str) -> Any:
    """The expression inside a `${...}`, parsed; None when it does not parse."""
    try:
        return _parse(f"var __value = {text}\n")["variables"]["__value"]["value"]
    except _SyntaxProblem:
        return None

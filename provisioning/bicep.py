"""Read the portal's templates without a Bicep compiler.

`discover_templates` lists the templates under `bicep/`, `parse_parameters` says what each one asks
for (the deployment form is built from it), `template_resources` walks what it would create (the
sandbox "deploys" that) and `load_template` bundles it all with a content hash that approvals bind
to. ARM JSON templates are read the same way.

Bicep is parsed with pycep-parser's grammar and transformer, with three fixes made here:

- Operator precedence. pycep's grammar has none and nests every operator to the right, so
  `env == 'prod' ? 'A' : 'B'` came out as `env == ('prod' ? 'A' : 'B')` and `!a && b` as
  `!(a && b)`. The grammar is patched to keep parentheses, and each operator chain is re-read with
  Bicep's precedence (`_normalize`).
- Several nested child resources in one body: pycep kept only the last one.
- A loop filter written `if (cond)`, the way the Bicep formatter writes it, did not parse.

Values are evaluated best effort: parameters, variables, string interpolation, loops, conditions and
the common string, array and object functions. What only Azure knows (a resource id, `.properties`
of a deployed resource, `uniqueString()`, `deployment()`) stays unresolved: a name keeps its
`${...}`, a property becomes an ARM-style `"[expression]"` string. A name that is a `guid(...)` of
such values (role assignments: `guid(acr.id, ...)`) gets a stable stand-in GUID instead, so it stays
a valid name; Azure computes a different one. Secure parameters are never written into what this
module returns.

Nothing here imports Django.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.visitors import v_args
from pycep.main import LARK_GRAMMAR
from pycep.transformer import BicepToJson

from provisioning.backends.base import RESOURCE_GROUP_TYPE, ResourceSpec, TemplateSpec

__all__ = [
    "PARAM_TYPES",
    "BicepError",
    "ParamSpec",
    "TemplateInfo",
    "discover_templates",
    "effective_parameters",
    "load_template",
    "parse_parameters",
    "template_resources",
]

PARAM_TYPES = ("string", "int", "bool", "object", "array")
DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"   # what a module is: a nested deployment


# --- What callers get -------------------------------------------------------------------------

class BicepError(Exception):
    """A template that cannot be read: which file, what is wrong and, when known, where."""

    def __init__(self, file: Path | str, message: str, *, line: int | None = None, column: int | None = None):
        self.file = Path(file)
        self.message = message
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line, self.column) if part)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class TemplateInfo:
    name: str            # the folder's name, e.g. "agent"
    path: Path
    target_scope: str    # "subscription", "resourceGroup", "managementGroup" or "tenant"
    description: str
    content_hash: str    # sha256 over the file and every local file it references


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str                                  # one of PARAM_TYPES
    default: Any = None                        # a literal default; None when there is none
    default_expression: str | None = None      # a default that is an expression, as written
    description: str = ""
    allowed: list[Any] = field(default_factory=list)
    min_value: int | None = None
    max_value: int | None = None
    min_length: int | None = None
    max_length: int | None = None
    secure: bool = False
    nullable: bool = False                     # `string?`: may be left out although it has no default

    @property
    def required(self) -> bool:
        return self.default is None and self.default_expression is None and not self.nullable

    def violation(self, value: Any) -> str | None:
        """What is wrong with `value` for this parameter, in the deployment form's words, or None."""
        if self.allowed and value not in self.allowed:
            return f"Must be one of {', '.join(map(str, self.allowed))} (got {value})."
        if self.type == "int" and isinstance(value, int):
            if self.min_value is not None and value < self.min_value:
                return f"Must be at least {self.min_value} (it is {value})."
            if self.max_value is not None and value > self.max_value:
                return f"Must be at most {self.max_value} (it is {value})."
        if isinstance(value, str):
            if self.min_length is not None and len(value) < self.min_length:
                return f"Must be at least {self.min_length} characters (it has {len(value)})."
            if self.max_length is not None and len(value) > self.max_length:
                return f"Must be at most {self.max_length} characters (it has {len(value)})."
        if isinstance(value, (list, dict)):
            if self.min_length is not None and len(value) < self.min_length:
                return f"Must have at least {_items(self.min_length)} (it has {len(value)})."
            if self.max_length is not None and len(value) > self.max_length:
                return f"Must have at most {_items(self.max_length)} (it has {len(value)})."
        return None


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


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

_LOAD_FUNCTION = re.compile(r"\bload(?:Text|Json|Yaml|FileAsBase64)Content\(\s*'([^']+)'")


def _template_name(path: Path) -> str:
    return path.parent.name if path.stem == "main" else f"{path.parent.name}-{path.stem}"


def _content_hash(path: Path) -> str:
    """sha256 over the template and, recursively, the local modules, imports and loaded files."""
    digest = hashlib.sha256()
    for file in _template_files(path):
        data = file.read_bytes()
        label = Path(os.path.relpath(file, path.parent)).as_posix()
        digest.update(f"{label}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def _template_files(path: Path) -> list[Path]:
    found = {path.resolve(): path}
    queue = [path]
    while queue:
        current = queue.pop(0)
        if current.suffix != ".bicep":
            continue
        doc = _read_bicep(current)
        references = [attrs["detail"]["path"] for attrs in doc.modules.values() if attrs["type"] == "local"]
        references += [attrs["file_path"] for attrs in doc.tree.get("imports", {}).values() if "file_path" in attrs]
        references += _LOAD_FUNCTION.findall(doc.text)
        for reference in references:
            file = current.parent / reference
            if not file.is_file():
                raise BicepError(current, f"referenced file not found: {reference}")
            if file.resolve() not in found:
                found[file.resolve()] = file
                queue.append(file)
    rest = sorted((f for f in found.values() if f is not path), key=lambda f: os.path.relpath(f, path.parent))
    return [path, *rest]


# --- Parsing Bicep: pycep's grammar and transformer, with the fixes ------------------------------

_GRAMMAR_PATCHES = (
    # Keep parentheses, so that operator precedence can be restored without breaking `(a || b) && c`.
    ('?value_brackets: (value | "(" value ")") "!"?',
     '?value_brackets: value "!"?\n               | "(" value ")" "!"? -> parenthesized'),
    # Accept `[for x in xs: if (cond) {...}]`: pycep only read `if(cond)`, as a function call.
    ('":" [value_brackets] value_brackets _CPP_COMMENT_NL? "]"',
     '":" [loop_filter] value_brackets _CPP_COMMENT_NL? "]"\n\n'
     '?loop_filter: value_brackets\n            | "if" "(" value_brackets ")" -> loop_if'),
)


@cache
def _lark() -> Lark:
    grammar = LARK_GRAMMAR
    for old, new in _GRAMMAR_PATCHES:
        if old not in grammar:
            raise RuntimeError("pycep-parser's grammar changed; provisioning/bicep.py needs updating")
        grammar = grammar.replace(old, new)
    return Lark(grammar=grammar, parser="lalr", propagate_positions=True, regex=True, cache=True)


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


_CHILD = "__child_resource__"
_CHILDREN = "__children__"


class _Transformer(BicepToJson):
    """pycep's transformer, producing the expression nodes above: identifiers as `_Ref`, calls as
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

    def object(self, args: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in args:
            if key == _CHILD:
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
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BicepError(path, f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        return _Document(path, text, _parse(text))
    except _SyntaxProblem as exc:
        raise BicepError(path, exc.message, line=exc.line, column=exc.column) from exc


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


# --- Operator precedence ------------------------------------------------------------------------

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


# --- Values -------------------------------------------------------------------------------------

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


# --- Functions ----------------------------------------------------------------------------------

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
    "modulo": lambda a, b: a - b * _int_division(a, b),
}

_EVALUATION_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError)


# --- Evaluating a Bicep file --------------------------------------------------------------------

@dataclass(frozen=True)
class _Instance:
    body: Any
    local: Mapping[str, Any]
    enabled: bool = True
    index: int | None = None


class _Expressions:
    """Evaluates expression nodes. Subclasses say what a name means (`lookup`)."""

    resource_group: _ResourceRef | None = None

    def lookup(self, name: str, local: Mapping[str, Any]) -> Any:
        return local[name] if name in local else _Unresolved(name)

    def eval(self, node: Any, local: Mapping[str, Any]) -> Any:
        if node is None or isinstance(node, (bool, int, _Verbatim)):
            return str(node) if isinstance(node, _Verbatim) else node
        if isinstance(node, str):
            return self._interpolate(node, local)
        if isinstance(node, _Ref):
            return self.lookup(node.name, local)
        if isinstance(node, _Paren):
            return self.eval(node.inner, local)
        if isinstance(node, list):
            return [self.eval(item, local) for item in node]
        if isinstance(node, dict):
            return {key: self.eval(value, local) for key, value in node.items()}
        if isinstance(node, _Loop):
            instances = self._instances(node, local)
            if instances and instances[0].index is None:
                return _Unresolved(f"[for {node.item} in {_source(self.eval(node.source, local))}: ...]")
            return [self.eval(i.body, i.local) for i in instances if i.enabled]
        if isinstance(node, _Call):
            return self._call(node.name, [self.eval(arg, local) for arg in node.args])
        if isinstance(node, _Op):
            return self._operate(node, local)
        return _Unresolved(str(node))

    def _interpolate(self, raw: str, local: Mapping[str, Any]) -> Any:
        value_parts: list[str] = []
        source_parts: list[str] = []
        known = True
        for text, is_expression in _split_interpolation(raw):
            if not is_expression:
                value_parts.append(_unescape(text))
                source_parts.append(text)
                continue
            parsed = _expression(text)
            value = _Unresolved(text) if parsed is None else self.eval(parsed, local)
            try:
                piece = _text(value)
            except TypeError:
                # Unknown: keep the `${...}`, with what is known substituted into it.
                known = False
                if isinstance(value, _Unresolved) and value.partial is not None:
                    value_parts.append(value.partial)
                    source_parts.append(value.text[1:-1])
                else:
                    unknown = "${" + (value.text if isinstance(value, _Unresolved) else text) + "}"
                    value_parts.append(unknown)
                    source_parts.append(unknown)
                continue
            value_parts.append(piece)
            source_parts.append(_quote(piece)[1:-1])
        value = "".join(value_parts)
        return value if known else _Unresolved("'" + "".join(source_parts) + "'", partial=value)

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "resourceGroup" and not args and self.resource_group is not None:
            return self.resource_group
        if name == "resourceGroup" and len(args) == 1 and isinstance(args[0], str):
            return _ResourceRef(f"resourceGroup({_quote(args[0])})", RESOURCE_GROUP_TYPE, args[0])
        if name in ("empty", "length") and len(args) == 1 and isinstance(args[0], _Secret):
            args = [args[0].value]
        function = _FUNCTIONS.get(name)
        if function is not None and all(_is_known(a) and not isinstance(a, _ResourceRef) for a in args):
            try:
                return function(*args)
            except _EVALUATION_ERRORS:
                pass
        return _Unresolved(f"{name}({', '.join(_source(a) for a in args)})")

    def _operate(self, op: _Op, local: Mapping[str, Any]) -> Any:
        kind, operands = op.kind, op.operands
        if kind == "conditional":
            condition = self.eval(operands[0], local)
            if isinstance(condition, bool):
                return self.eval(operands[1] if condition else operands[2], local)
            yes, no = (self.eval(o, local) for o in operands[1:])
            return _Unresolved(f"{_source(condition)} ? {_source(yes)} : {_source(no)}")
        if kind in ("property_accessor", "nested_resource_accessor"):
            base = self.eval(operands[0], local)
            member = operands[1].name if isinstance(operands[1], _Ref) else operands[1]
            if kind == "nested_resource_accessor" and isinstance(base, _ResourceRef):
                return self.lookup(f"{base.symbol.split('[')[0]}::{member}", {})
            return self._member(base, str(member))
        if kind == "index_accessor":
            base, index = self.eval(operands[0], local), self.eval(operands[1], local)
            if isinstance(base, (list, dict)) and _is_known(index):
                try:
                    return base[index]
                except (KeyError, IndexError, TypeError):
                    pass
            return _Unresolved(f"{_source(base)}[{_source(index)}]")
        if kind == "function_accessor":
            base = self.eval(operands[0], local)
            args = ", ".join(_source(self.eval(a, local)) for a in operands[2:])
            return _Unresolved(f"{_source(base)}.{operands[1]}({args})")
        if kind == "not":
            value = self.eval(operands[0], local)
            return (not value) if isinstance(value, bool) else _Unresolved(f"!{_source(value)}")
        if kind == "minus":
            value = self.eval(operands[0], local)
            return -value if isinstance(value, int) else _Unresolved(f"-{_source(value)}")
        if kind in _BINARY:
            return self._binary(kind, operands, local)
        return _Unresolved(f"<{kind}>")

    def _binary(self, kind: str, operands: tuple[Any, ...], local: Mapping[str, Any]) -> Any:
        left = self.eval(operands[0], local)
        # `&&`, `||` and `??` decide on one operand when they can.
        if kind == "and" and left is False or kind == "or" and left is True:
            return left
        if kind == "coalesce" and left is not None and _is_known(left):
            return left
        right = self.eval(operands[1], local)
        if kind == "and" and right is False or kind == "or" and right is True:
            return right
        if kind in ("and", "or") and isinstance(left, bool):
            return right
        if kind == "coalesce" and left is None:
            return right
        if kind in _OPERATIONS and _is_known(left) and _is_known(right):
            try:
                return _OPERATIONS[kind](left, right)
            except _EVALUATION_ERRORS:
                pass
        return _Unresolved(f"{_source(left)} {_SYMBOLS[kind]} {_source(right)}")

    def _member(self, base: Any, member: str) -> Any:
        if isinstance(base, dict) and member in base:
            return base[member]
        if isinstance(base, _ResourceRef):
            if member == "name":
                return base.name
            if member == "type":
                return base.type
            if member == "id":
                return _Unresolved(_resource_id(base))
            if member in base.body:
                return base.body[member]
        return _Unresolved(f"{_source(base)}.{member}")

    def _instances(self, config: Any, local: Mapping[str, Any]) -> list[_Instance]:
        if isinstance(config, _Guarded):
            return [_Instance(config.body, local, self.eval(config.condition, local) is not False)]
        if not isinstance(config, _Loop):
            return [_Instance(config, local)]
        source = self.eval(config.source, local)
        if not isinstance(source, list):
            unknown = {config.item: _Unresolved(config.item)}
            if config.index:
                unknown[config.index] = _Unresolved(config.index)
            return [_Instance(config.body, {**local, **unknown})]
        instances = []
        for index, item in enumerate(source):
            bound = {**local, config.item: item, **({config.index: index} if config.index else {})}
            enabled = config.condition is None or self.eval(config.condition, bound) is not False
            instances.append(_Instance(config.body, bound, enabled, index))
        return instances


class _Evaluator(_Expressions):
    """Evaluates one Bicep file's expressions for given parameter values, and walks its resources."""

    def __init__(self, doc: _Document, arguments: Mapping[str, Any], *,
                 resource_group: _ResourceRef | None = None, stack: tuple[Path, ...] = ()):
        self.doc = doc
        self.arguments = arguments
        self.resource_group = resource_group
        self.stack = (*stack, doc.path.resolve())
        self._values: dict[str, Any] = {}
        self._pending: set[str] = set()

    # names

    def lookup(self, name: str, local: Mapping[str, Any]) -> Any:
        if name in local:
            return local[name]
        if name in self._values:
            return self._values[name]
        compute = self._definition(name)
        if compute is None or name in self._pending:
            return _Unresolved(name)
        self._pending.add(name)
        try:
            value = compute()
        finally:
            self._pending.discard(name)
        self._values[name] = value
        return value

    def _definition(self, name: str) -> Callable[[], Any] | None:
        doc = self.doc
        if name in doc.parameters:
            return lambda: self.parameter(name)
        if name in doc.variables:
            return lambda: self.eval(doc.variables[name]["value"], {})
        if name in doc.resources:
            return lambda: self._resource_refs(name)
        if name in doc.modules:
            return lambda: self._module_refs(name)
        return None

    def parameter(self, name: str) -> Any:
        attrs = self.doc.parameters[name]
        if name in self.arguments:
            value = self.arguments[name]
        elif attrs["default"] is not None:
            value = self.eval(attrs["default"], {})
        else:
            return _Unresolved(name)
        secure = any(d["type"] == "secure" for d in attrs["decorators"])
        return _Secret(name, value) if secure and _is_known(value) else value

    # resources and modules

    def _resource_refs(self, symbol: str) -> Any:
        attrs = self.doc.resources[symbol]
        refs = [self._resource_ref(symbol, attrs, instance) for instance in self._instances(attrs["config"], {})]
        return refs if isinstance(attrs["config"], _Loop) else refs[0]

    def _resource_ref(self, symbol: str, attrs: dict[str, Any], instance: _Instance) -> _ResourceRef:
        body = instance.body if isinstance(instance.body, dict) else {}
        own = self.eval(body.get("name"), instance.local)
        if isinstance(own, _Unresolved) and own.text.startswith("guid("):
            # Typically guid(someResource.id, ...): only Azure knows the ids. A stable stand-in keeps
            # the name a valid GUID (the name Azure computes is a different one).
            own = str(uuid.uuid5(_ARM_GUID_NAMESPACE, own.text))
        parent: Any = None
        if "parent" in body:
            parent = self.eval(body["parent"], instance.local)
        elif attrs.get("parent_symbol"):
            parent = self.lookup(attrs["parent_symbol"], {})
        name, enabled = own, instance.enabled
        if parent is not None:
            parent_name = parent.name if isinstance(parent, _ResourceRef) else parent
            enabled = enabled and (not isinstance(parent, _ResourceRef) or parent.enabled)
            if isinstance(parent_name, str) and isinstance(own, str):
                name = f"{parent_name}/{own}"
            else:
                partial = f"{_name_text(parent_name)}/{_name_text(own)}"
                name = _Unresolved(_quote(partial), partial=partial)
        label = symbol if instance.index is None else f"{symbol}[{instance.index}]"
        known = {key: self.eval(body[key], instance.local)
                 for key in ("location", "sku", "kind", "tags") if key in body}
        return _ResourceRef(label, attrs["type"], name, known, enabled)

    def _module_refs(self, symbol: str) -> Any:
        attrs = self.doc.modules[symbol]
        refs = []
        for instance in self._instances(attrs["config"], {}):
            body = instance.body if isinstance(instance.body, dict) else {}
            name = self.eval(body["name"], instance.local) if "name" in body else symbol
            label = symbol if instance.index is None else f"{symbol}[{instance.index}]"
            refs.append(_ResourceRef(label, DEPLOYMENT_TYPE, name, {}, instance.enabled))
        return refs if isinstance(attrs["config"], _Loop) else refs[0]

    def walk(self, module: str, root: Path) -> Iterator[ResourceSpec]:
        """The file's resources and modules in source order, recursing into local modules."""
        elements = [(a["__start_line__"], s, a, False) for s, a in self.doc.resources.items()]
        elements += [(a["__start_line__"], s, a, True) for s, a in self.doc.modules.items()]
        for _, symbol, attrs, is_module in sorted(elements, key=lambda e: e[0]):
            if is_module:
                yield from self._walk_module(symbol, attrs, module, root)
            elif not attrs["existing"]:
                yield from self._walk_resource(symbol, attrs, module)

    def _walk_resource(self, symbol: str, attrs: dict[str, Any], module: str) -> Iterator[ResourceSpec]:
        refs = self.lookup(symbol, {})
        for instance, ref in zip(self._instances(attrs["config"], {}), refs if isinstance(refs, list) else [refs]):
            if not ref.enabled or not isinstance(instance.body, dict):
                continue
            properties = {key: _plain(self.eval(value, instance.local)) for key, value in instance.body.items()
                          if key not in ("name", "parent", "dependsOn")}
            yield ResourceSpec(type=attrs["type"], name=_name_text(ref.name), symbol=symbol, module=module,
                               properties=properties)

    def _walk_module(self, symbol: str, attrs: dict[str, Any], module: str, root: Path) -> Iterator[ResourceSpec]:
        refs = self.lookup(symbol, {})
        local_file = attrs["type"] == "local"
        target = self.doc.path.parent / attrs["detail"]["path"] if local_file else None
        label = Path(os.path.relpath(target, root)).as_posix() if target else attrs["detail"]["full"]
        for instance, ref in zip(self._instances(attrs["config"], {}), refs if isinstance(refs, list) else [refs]):
            if not ref.enabled or not isinstance(instance.body, dict):
                continue
            arguments = self.eval(instance.body.get("params", {}), instance.local)
            scope = self.eval(instance.body["scope"], instance.local) if "scope" in instance.body else None
            yield ResourceSpec(type=DEPLOYMENT_TYPE, name=_name_text(ref.name), symbol=symbol, module=module,
                               properties={"template": label, "scope": _plain(scope),
                                           "parameters": _plain(arguments)})
            if target is None:
                continue
            if not target.is_file():
                raise BicepError(self.doc.path, f"module file not found: {attrs['detail']['path']}")
            if target.resolve() in self.stack:
                raise BicepError(self.doc.path, f"module {attrs['detail']['path']} includes itself")
            group = self.resource_group if scope is None else scope
            if not (isinstance(group, _ResourceRef) and group.type == RESOURCE_GROUP_TYPE):
                group = None
            child = _Evaluator(_read_bicep(target), arguments if isinstance(arguments, dict) else {},
                               resource_group=group, stack=self.stack)
            yield from child.walk(label, root)


# --- Bicep parameters ---------------------------------------------------------------------------

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


# --- ARM JSON -----------------------------------------------------------------------------------

def _read_arm(path: Path, *, strict: bool = True) -> Any:
    """The template; with strict=False, None for a JSON file that is not a deployment template."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BicepError(path, f"cannot read the file: {exc.strerror or exc}") from exc
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
    "mod": lambda a, b: a - b * _int_division(a, b),
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

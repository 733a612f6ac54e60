"""A tolerant reader of Bicep: the declarations a form and a catalog need, from any current Bicep.

pycep-parser's grammar (`parser`) evaluates templates for the sandbox, but it stops at much of what
Bicep is written with today: `resourceInput<'...'>` types, lambdas, decorators inside types, the
spread operator, resource-typed parameters, unions of literals, a newline before a `)`. This module
does not evaluate anything. It tokenizes the file (strings with `${...}`, `'''` strings, comments,
brackets), splits it into top-level statements and reads each declaration's head: parameters with
their type, decorators and default, resources (`existing` or not), modules (local or from a
registry), outputs, types, functions, imports, `metadata` and `targetScope`. What it cannot follow
inside an expression it keeps as source text.

Errors say file, line and column: an unclosed string or bracket, a closing bracket that does not
match, a statement that is not Bicep, a declaration without its name, type or value.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.bicep.model import BicepError, ParamSpec

# --- Tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str        # "name", "number", "string", "mstring", "punct", "newline"
    text: str        # the source text (for strings: the whole literal, quotes included)
    start: int       # offset in the source
    end: int
    line: int
    column: int
    value: Any = None  # strings without interpolation: the unescaped text; numbers: the int


class OutlineError(Exception):
    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


_PUNCT = ("...", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "=~", "!~", "::", ".?",
          "{", "}", "[", "]", "(", ")", ",", ":", ".", "?", "!", "=", "<", ">", "+", "-", "*", "/", "%",
          "@", "|")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+")
_PUNCT_RE = re.compile("|".join(re.escape(p) for p in _PUNCT))
_BLANKS = re.compile(r"[ \t\r\ufeff]+")
_PLAIN = re.compile(r"[^'\\$\n]+")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", "$": "$"}
_OPEN = {"(": ")", "[": "]", "{": "}"}


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_starts_before(self, pos: int) -> int:
        return self.line_starts[bisect.bisect_right(self.line_starts, pos) - 1]

    def _where(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1

    def _error(self, message: str, pos: int) -> OutlineError:
        return OutlineError(message, *self._where(pos))

    def _add(self, kind: str, start: int, end: int, value: Any = None) -> None:
        line, column = self._where(start)
        self.tokens.append(Token(kind, self.text[start:end], start, end, line, column, value))

    def run(self) -> list[Token]:
        self._expression(until=None)
        return self.tokens

    def _expression(self, until: str | None) -> None:
        """Tokens up to the end of the text, or (inside `${...}`) up to its closing brace."""
        text = self.text
        stack: list[tuple[str, int]] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\n":
                self._add("newline", self.pos, self.pos + 1)
                self.pos += 1
            elif ch in " \t\r\ufeff":
                self.pos = _BLANKS.match(text, self.pos).end()
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif ch == "#" and text[self.line_starts_before(self.pos):self.pos].strip() == "":
                end = text.find("\n", self.pos)      # #disable-next-line, #disable-diagnostics
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self._error("a comment (/*) is not closed", self.pos)
                self.pos = end + 2
            elif text.startswith("'''", self.pos):
                end = text.find("'''", self.pos + 3)
                if end < 0:
                    raise self._error("a multi-line string (''') is not closed", self.pos)
                while text.startswith("'", end + 3):   # '''it's''''  : the closing quotes are the last three
                    end += 1
                body = text[self.pos + 3:end]
                self._add("mstring", self.pos, end + 3, body.removeprefix("\r").removeprefix("\n"))
                self.pos = end + 3
            elif ch == "'":
                self._string()
            elif ch.isdigit():
                match = _NUMBER.match(text, self.pos)
                self._add("number", self.pos, match.end(), int(match.group()))
                self.pos = match.end()
            elif ch.isalpha() or ch == "_":
                match = _NAME.match(text, self.pos)
                self._add("name", self.pos, match.end())
                self.pos = match.end()
            else:
                match = _PUNCT_RE.match(text, self.pos)
                if match is None:
                    raise self._error(f"unexpected character {ch!r}", self.pos)
                punct = match.group()
                if punct in _OPEN:
                    stack.append((punct, self.pos))
                elif punct in (")", "]", "}"):
                    if not stack:
                        if until == "}" and punct == "}":
                            self.pos += 1
                            return
                        raise self._error(f"{punct!r} closes nothing", self.pos)
                    opened, at = stack.pop()
                    if _OPEN[opened] != punct:
                        line, column = self._where(at)
                        raise self._error(f"{punct!r} does not close the {opened!r} opened at line {line}, "
                                          f"column {column}", self.pos)
                self._add("punct", self.pos, self.pos + len(punct))
                self.pos += len(punct)
        if until is not None:
            raise OutlineError("a `${` inside a string is not closed")
        if stack:
            opened, at = stack[-1]
            raise self._error(f"{opened!r} is never closed", at)

    def _string(self) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        parts: list[str] = []
        interpolated = False
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self._error("a string is not closed on its line", start)
            ch = text[self.pos]
            if ch == "\\":
                nxt = text[self.pos + 1:self.pos + 2]
                if nxt == "u" and text[self.pos + 2:self.pos + 3] == "{":
                    end = text.find("}", self.pos)
                    try:
                        parts.append(chr(int(text[self.pos + 3:end], 16)))
                    except (ValueError, OverflowError):
                        raise self._error("a \\u{...} escape is not valid", self.pos) from None
                    self.pos = end + 1
                    continue
                if nxt not in _ESCAPES:
                    raise self._error(f"unknown escape \\{nxt} in a string", self.pos)
                parts.append(_ESCAPES[nxt])
                self.pos += 2
            elif ch == "'":
                self.pos += 1
                break
            elif text.startswith("${", self.pos):
                interpolated = True
                outer = self.tokens
                self.tokens = []
                self.pos += 2
                self._expression(until="}")
                self.tokens = outer
            elif ch == "$":
                parts.append(ch)
                self.pos += 1
            else:
                match = _PLAIN.match(text, self.pos)
                parts.append(match.group())
                self.pos = match.end()
        self._add("string", start, self.pos, None if interpolated else "".join(parts))


def tokenize(text: str) -> list[Token]:
    return _Lexer(text).run()


# --- Statements ---------------------------------------------------------------------------------

_CONTINUES_LINE = {":", "&&", "||", "??", "==", "!=", "+", "-", "*", "/", "%", "<", "<=", ">=",
                   "=", "=>", ".", "|", ","}     # not ">": `resourceInput<'...'>` may end a line
_STARTS_CONTINUATION = {"?", ":", "&&", "||", "??", ".", "|", "==", "!="}
KEYWORDS = {"targetScope", "param", "var", "resource", "module", "output", "type", "func", "import",
            "metadata", "using", "extension", "provider", "assert", "extends"}


@dataclass
class Statement:
    tokens: list[Token]
    decorators: list[list[Token]] = field(default_factory=list)

    @property
    def keyword(self) -> str:
        return self.tokens[0].text


def _statements(tokens: list[Token]) -> list[Statement]:
    """Top-level statements: a statement ends at a newline outside brackets, unless the line ends in
    an operator or the next one starts with one (a ternary over several lines). A `?` at the end of a
    line is the nullable mark of a type (`param tags object?`), not an open ternary."""
    lines: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    openers: list[str] = []
    for i, token in enumerate(tokens):
        if (token.kind == "newline" or token.text == "}") and openers and openers[-1] == "{" and current \
                and current[-1].text == ":" and len(current) >= 2 and current[-2].kind in ("name", "string") \
                and (len(current) < 3 or current[-3].text in ("{", ",") or current[-3].kind == "newline"
                     or current[-3].line < current[-2].line) \
                and not _continues(tokens, i):
            key = current[-2]
            raise OutlineError(f"property {key.text} has no value", key.line, key.column)
        if token.kind == "newline":
            if depth > 0 or not current:
                continue
            if current[-1].kind == "punct" and current[-1].text in _CONTINUES_LINE:
                continue
            nxt = next((t for t in tokens[i + 1:] if t.kind != "newline"), None)
            if nxt is not None and nxt.kind == "punct" and nxt.text in _STARTS_CONTINUATION:
                continue
            lines.append(current)
            current = []
            continue
        if token.kind == "punct" and token.text in _OPEN:
            depth += 1
            openers.append(token.text)
        elif token.kind == "punct" and token.text in (")", "]", "}"):
            depth -= 1
            if openers:
                openers.pop()
        current.append(token)
    if current:
        lines.append(current)

    statements: list[Statement] = []
    pending: list[list[Token]] = []
    for line in lines:
        if line[0].text == "@":
            pending.extend(_split_decorators(line))
            continue
        statement = Statement(line, pending)
        pending = []
        statements.append(statement)
    if pending:
        first = pending[0][0]
        raise OutlineError("a decorator is not followed by a declaration", first.line, first.column)
    return statements


def _continues(tokens: list[Token], i: int) -> bool:
    """Whether the next token (past newlines) carries on the line before (`|` of a union, `?`, ...)."""
    nxt = next((t for t in tokens[i:] if t.kind != "newline"), None)
    return nxt is not None and nxt.kind == "punct" and nxt.text in _STARTS_CONTINUATION


def _split_decorators(line: list[Token]) -> list[list[Token]]:
    """`@a() @b('x')` on one line: one token list per decorator."""
    result: list[list[Token]] = []
    depth = 0
    for token in line:
        if token.text == "@" and depth == 0:
            result.append([])
        if not result:
            raise OutlineError("unexpected text before a decorator", token.line, token.column)
        result[-1].append(token)
        if token.kind == "punct" and token.text in _OPEN:
            depth += 1
        elif token.kind == "punct" and token.text in (")", "]", "}"):
            depth -= 1
    return result


# --- Declarations -------------------------------------------------------------------------------

@dataclass
class Decorator:
    name: str                       # without the `sys.` qualifier
    arguments: list[list[Token]]


@dataclass
class Param:
    name: str
    type_tokens: list[Token]
    default_tokens: list[Token] | None
    decorators: list[Decorator]
    line: int


@dataclass
class Resource:
    symbol: str
    type: str                       # e.g. Microsoft.Storage/storageAccounts@2023-05-01
    existing: bool
    line: int


@dataclass
class Module:
    symbol: str
    path: str
    registry: bool                  # br:, br/<alias>:, ts:, ts/<alias>: resolved by Azure at deploy time
    line: int


@dataclass
class Outline:
    text: str
    target_scope: str = "resourceGroup"
    metadata: dict[str, list[Token]] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    types: dict[str, tuple[list[Token], list[Decorator]]] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)
    imports: list[tuple[str, dict[str, str]]] = field(default_factory=list)   # (path, {local: exported})
    using: str | None = None                       # .bicepparam: the template it is for
    assignments: dict[str, list[Token]] = field(default_factory=dict)          # .bicepparam: param x = ...
    exported: list[str] = field(default_factory=list)

    def source(self, tokens: list[Token]) -> str:
        return self.text[tokens[0].start:tokens[-1].end] if tokens else ""

    @property
    def declares_nothing(self) -> bool:
        return not (self.params or self.resources or self.modules or self.outputs)


def _decorator(tokens: list[Token]) -> Decorator:
    names = []
    i = 1
    while i < len(tokens) and tokens[i].kind == "name":
        names.append(tokens[i].text)
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
        else:
            i += 1
            break
    if not names:
        raise OutlineError("a decorator without a name", tokens[0].line, tokens[0].column)
    arguments: list[list[Token]] = []
    if i < len(tokens) and tokens[i].text == "(":
        arguments = _split_top(tokens[i + 1:-1], ",")
        if tokens[-1].text != ")":
            raise OutlineError("a decorator's arguments are not closed", tokens[-1].line, tokens[-1].column)
    elif i < len(tokens):
        raise OutlineError(f"unexpected {tokens[i].text!r} after a decorator", tokens[i].line, tokens[i].column)
    name = names[-1]
    return Decorator(name, [a for a in arguments if a])


def _split_top(tokens: list[Token], separator: str) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.kind == "punct" and token.text in _OPEN:
            depth += 1
        elif token.kind == "punct" and token.text in (")", "]", "}"):
            depth -= 1
        if depth == 0 and token.kind == "punct" and token.text == separator:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


def _split_assignment(tokens: list[Token]) -> tuple[list[Token], list[Token] | None]:
    """`head = value`: the first `=` outside brackets."""
    depth = 0
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in _OPEN:
            depth += 1
        elif token.kind == "punct" and token.text in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and token.kind == "punct" and token.text == "=":
            return tokens[:i], tokens[i + 1:]
    return tokens, None


_BINARY_END = {"?", ":", "&&", "||", "??", "==", "!=", "+", "-", "*", "/", "%", "<", "<=", ">=", ".", "=",
               "=>", "|", ","}


def _check_value(value: list[Token] | None, statement: Statement, what: str, *,
                 nullable: bool = False) -> list[Token]:
    if not value:
        last = statement.tokens[-1]
        raise OutlineError(f"{what} has no value after `=`", last.line, last.column + len(last.text))
    last = value[-1]
    if last.kind == "punct" and last.text in _BINARY_END and not (nullable and last.text == "?"):
        raise OutlineError(f"{what} ends with {last.text!r}: something is missing after it", last.line,
                           last.column)
    first = value[0]
    if first.kind == "punct" and first.text in {"?", ":", "&&", "||", "??", "==", "*", "/", "%", ".", ",", "=",
                                                 "=>"}:
        raise OutlineError(f"{what} starts with {first.text!r}", first.line, first.column)
    return value


def _name_at(tokens: list[Token], index: int, what: str) -> str:
    if index >= len(tokens) or tokens[index].kind != "name":
        at = tokens[min(index, len(tokens) - 1)]
        raise OutlineError(f"{what} needs a name after `{tokens[0].text}`", at.line, at.column)
    return tokens[index].text


def read_outline(text: str, *, bicepparam: bool = False, tokens: list[Token] | None = None) -> Outline:
    """The declarations of a Bicep (or .bicepparam) source. Raises OutlineError."""
    outline = Outline(text)
    for statement in _statements(tokenize(text) if tokens is None else tokens):
        tokens = statement.tokens
        first = tokens[0]
        decorators = [_decorator(d) for d in statement.decorators]
        keyword = first.text
        if keyword == "export" and len(tokens) > 1:      # never valid Bicep, but say so clearly
            raise OutlineError("`export` is a decorator: write `@export()` on the line before", first.line,
                               first.column)
        if first.kind != "name" or keyword not in KEYWORDS:
            raise OutlineError(f"`{outline.source(tokens[:3])}` is not a Bicep declaration (expected param, var, "
                               f"resource, module, output, type, func, import, metadata or targetScope)",
                               first.line, first.column)
        head, value = _split_assignment(tokens)
        if any(d.name == "export" for d in decorators) and len(head) > 1:
            outline.exported.append(head[1].text)
        if keyword == "targetScope":
            value = _check_value(value, statement, "targetScope")
            if len(value) != 1 or value[0].value not in ("resourceGroup", "subscription", "managementGroup",
                                                        "tenant", "desiredStateConfiguration", "local"):
                raise OutlineError("targetScope must be 'resourceGroup', 'subscription', 'managementGroup' or "
                                   "'tenant'", value[0].line, value[0].column)
            outline.target_scope = value[0].value
        elif keyword == "metadata":
            name = _name_at(head, 1, "metadata")
            outline.metadata[name] = _check_value(value, statement, f"metadata {name}")
        elif keyword == "param":
            name = _name_at(head, 1, "A parameter")
            if bicepparam:
                outline.assignments[name] = _check_value(value, statement, f"parameter {name}")
                continue
            if len(head) < 3:
                raise OutlineError(f"parameter {name} has no type", head[-1].line, head[-1].column)
            if value is not None:
                _check_value(value, statement, f"the default of parameter {name}")
            outline.params.append(Param(name, head[2:], value, decorators, first.line))
        elif keyword == "type":
            name = _name_at(head, 1, "A type")
            value = _skip_newlines(_check_value(value, statement, f"type {name}", nullable=True))
            if value and value[0].text == "|":      # a union written one member a line
                value = value[1:]
            outline.types[name] = (value, decorators)
        elif keyword == "var":
            name = _name_at(head, 1, "A variable")
            _check_value(value, statement, f"variable {name}")
            outline.variables.append(name)
        elif keyword == "func":
            name = _name_at(head, 1, "A function")
            arrow = next((i for i, t in enumerate(tokens) if t.text == "=>"), None)
            if arrow is None or arrow == len(tokens) - 1:
                raise OutlineError(f"function {name} needs `(arguments) type => expression`", first.line,
                                   first.column)
            outline.functions.append(name)
        elif keyword == "output":
            name = _name_at(head, 1, "An output")
            if len(head) < 3:
                raise OutlineError(f"output {name} has no type", head[-1].line, head[-1].column)
            _check_value(value, statement, f"output {name}")
            outline.outputs.append(name)
        elif keyword == "resource":
            symbol = _name_at(head, 1, "A resource")
            if len(head) < 3 or head[2].kind != "string" or head[2].value is None:
                at = head[min(2, len(head) - 1)]
                raise OutlineError(f"resource {symbol} needs its type as a string ('Namespace/type@version')",
                                   at.line, at.column)
            existing = len(head) > 3 and head[3].text == "existing"
            _check_value(value, statement, f"resource {symbol}")
            outline.resources.append(Resource(symbol, head[2].value, existing, first.line))
        elif keyword == "module":
            symbol = _name_at(head, 1, "A module")
            if len(head) < 3 or head[2].kind != "string" or head[2].value is None:
                at = head[min(2, len(head) - 1)]
                raise OutlineError(f"module {symbol} needs its path as a string", at.line, at.column)
            path = head[2].value
            _check_value(value, statement, f"module {symbol}")
            outline.modules.append(Module(symbol, path, bool(re.match(r"^(br|ts)(/[^:]+)?:", path)), first.line))
        elif keyword == "import":
            outline.imports.append(_import(head, outline))
        elif keyword == "using":
            if len(head) < 2:
                raise OutlineError("`using` needs the template's path", first.line, first.column)
            outline.using = head[1].value if head[1].kind == "string" else head[1].text
    return outline


def _import(head: list[Token], outline: Outline) -> tuple[str, dict[str, str]]:
    """`import {a, b as c} from 'x.bicep'`, `import * as ns from 'x.bicep'`, `import 'az@1.0.0'`."""
    path_token = next((t for t in reversed(head) if t.kind == "string"), None)
    path = path_token.value if path_token is not None and path_token.value is not None else ""
    names: dict[str, str] = {}
    if len(head) > 1 and head[1].text == "{":
        close = next(i for i, t in enumerate(head) if t.text == "}")
        for part in _split_top(head[2:close], ","):
            part = [t for t in part]
            if not part:
                continue
            if len(part) == 3 and part[1].text == "as":
                names[part[2].text] = part[0].text
            else:
                names[part[0].text] = part[0].text
    elif len(head) > 3 and head[1].text == "*" and head[2].text == "as":
        names[head[3].text] = "*"
    return path, names


# --- Literal values -----------------------------------------------------------------------------

class NotLiteral(Exception):
    """A value that is an expression: only Azure (or an evaluator) can work it out."""


def literal(tokens: list[Token]) -> Any:
    """The Python value of a literal (string, number, bool, null, array, object); NotLiteral otherwise."""
    value, rest = _literal(_skip_newlines(tokens))
    if _skip_newlines(rest):
        raise NotLiteral
    return value


def _skip_newlines(tokens: list[Token]) -> list[Token]:
    i = 0
    while i < len(tokens) and tokens[i].kind == "newline":
        i += 1
    return tokens[i:]


def _literal(tokens: list[Token]) -> tuple[Any, list[Token]]:
    if not tokens:
        raise NotLiteral
    token = tokens[0]
    if token.kind in ("string", "mstring"):
        if token.value is None:
            raise NotLiteral
        return token.value, tokens[1:]
    if token.kind == "number":
        return token.value, tokens[1:]
    if token.text == "-" and len(tokens) > 1 and tokens[1].kind == "number":
        return -tokens[1].value, tokens[2:]
    if token.kind == "name" and token.text in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[token.text], tokens[1:]
    if token.text == "[":
        items = []
        rest = tokens[1:]
        while True:
            rest = [t for t in _skip_newlines(rest)]
            if rest and rest[0].text == ",":
                rest = rest[1:]
                continue
            if rest and rest[0].text == "]":
                return items, rest[1:]
            item, rest = _literal(rest)
            items.append(item)
    if token.text == "{":
        result = {}
        rest = tokens[1:]
        while True:
            rest = _skip_newlines(rest)
            if rest and rest[0].text == ",":
                rest = rest[1:]
                continue
            if rest and rest[0].text == "}":
                return result, rest[1:]
            if len(rest) < 2 or rest[0].kind not in ("name", "string") or rest[1].text != ":":
                raise NotLiteral
            key = rest[0].text if rest[0].kind == "name" else rest[0].value
            if key is None:
                raise NotLiteral
            value, rest = _literal(rest[2:])
            result[key] = value
    raise NotLiteral


def read_file_outline(path: Path) -> Outline:
    """`read_outline` of a file, with errors as BicepError (file, line, column)."""
    from provisioning.bicep.model import _read_text

    text = _read_text(path)
    try:
        return read_outline(text, bicepparam=path.suffix == ".bicepparam")
    except OutlineError as exc:
        raise BicepError(path, exc.message, line=exc.line, column=exc.column) from exc


# --- Parameters for a form ----------------------------------------------------------------------

def outline_parameters(outline: Outline, path: Path | None = None) -> list[ParamSpec]:
    """The parameters as the deployment form needs them. Types are judged by their shape: a union of
    string literals is a string with those values allowed, `T[]` an array, `{...}` and
    `resourceInput<...>` objects, a resource-typed parameter a string (the resource's id), a
    user-defined type what it is defined as (following local imports when `path` is given)."""
    return [_outline_param_spec(param, outline, path) for param in outline.params]


def _outline_param_spec(param: Param, outline: Outline, path: Path | None) -> ParamSpec:
    decorators = {d.name: d.arguments for d in param.decorators}
    shape = _TypeShape.of(param.type_tokens, outline, path)
    default: Any = None
    expression: str | None = None
    if param.default_tokens is not None:
        try:
            default = literal(param.default_tokens)
        except NotLiteral:
            expression = outline.source(param.default_tokens)
        else:
            if default is None:
                expression = "null"
    allowed = _argument(decorators, "allowed", list) or shape.allowed
    description = _argument(decorators, "description", str)
    if description is None:
        description = (_argument(decorators, "metadata", dict) or {}).get("description", "")
    return ParamSpec(
        name=param.name,
        type=shape.type,
        default=default,
        default_expression=expression,
        description=description if isinstance(description, str) else "",
        allowed=list(allowed or []),
        min_value=_argument(decorators, "minValue", int),
        max_value=_argument(decorators, "maxValue", int),
        min_length=_argument(decorators, "minLength", int),
        max_length=_argument(decorators, "maxLength", int),
        secure="secure" in decorators or shape.secure,
        nullable=shape.nullable,
    )


def _argument(decorators: dict[str, list[list[Token]]], name: str, kind: type) -> Any:
    arguments = decorators.get(name)
    if not arguments:
        return None
    try:
        value = literal(arguments[0])
    except NotLiteral:
        return None
    if kind is int and isinstance(value, bool):
        return None
    return value if isinstance(value, kind) else None


@dataclass
class _TypeShape:
    type: str = "object"
    allowed: list[Any] | None = None
    nullable: bool = False
    secure: bool = False

    @classmethod
    def of(cls, tokens: list[Token], outline: Outline, path: Path | None, depth: int = 0) -> _TypeShape:
        tokens = [t for t in tokens if t.kind != "newline"]
        nullable = bool(tokens) and tokens[-1].text == "?"
        if nullable:
            tokens = tokens[:-1]
        shape = cls._shape(tokens, outline, path, depth)
        shape.nullable = shape.nullable or nullable
        return shape

    @classmethod
    def _shape(cls, tokens: list[Token], outline: Outline, path: Path | None, depth: int) -> _TypeShape:
        if not tokens or depth > 10:
            return cls()
        alternatives = _split_top(tokens, "|")
        if len(alternatives) > 1:
            shapes = [cls.of(a, outline, path, depth + 1) for a in alternatives if a]
            kinds = {s.type for s in shapes}
            allowed = [v for s in shapes for v in (s.allowed or [])]
            nullable = any(s.nullable for s in shapes)
            if len(kinds) == 1 and all(s.allowed for s in shapes):
                return cls(kinds.pop(), allowed, nullable)
            return cls(kinds.pop() if len(kinds) == 1 else "object", None, nullable)
        first, last = tokens[0], tokens[-1]
        if last.text == "]" and len(tokens) >= 2 and tokens[-2].text == "[":
            return cls("array")
        if first.text == "[":
            return cls("array")
        if first.text == "{":
            return cls("object")
        if first.text == "(":
            return cls.of(tokens[1:-1], outline, path, depth + 1)
        if first.kind in ("string", "mstring"):
            return cls("string", [first.value] if first.value is not None else None)
        if first.kind == "number" or first.text == "-":
            try:
                return cls("int", [literal(tokens)])
            except NotLiteral:
                return cls("int")
        if first.text in ("true", "false"):
            return cls("bool", [first.text == "true"])
        if first.text == "resource":
            return cls("string")
        if len(tokens) == 1 and first.text in ("string", "int", "bool", "object", "array"):
            return cls(first.text)
        if len(tokens) == 1 and first.text in ("securestring", "secureString"):
            return cls("string", secure=True)
        if first.text in ("resourceInput", "resourceOutput"):
            return cls("object")
        if first.kind == "name":
            names = [t.text for t in tokens if t.kind == "name"]
            if len(tokens) == 1 and first.text in outline.types:
                type_tokens, decorators = outline.types[first.text]
                shape = cls.of(type_tokens, outline, path, depth + 1)
                if any(d.name == "secure" for d in decorators):
                    shape.secure = True
                return shape
            return cls._imported(names, outline, path, depth)
        return cls()

    @classmethod
    def _imported(cls, names: list[str], outline: Outline, path: Path | None, depth: int) -> _TypeShape:
        """A type imported from a local file: `import {t} from './types.bicep'` or `ns.t` after
        `import * as ns from ...`. Anything else (a registry, an unknown name) is read as an object."""
        if path is None:
            return cls()
        for import_path, names_map in outline.imports:
            if not import_path or re.match(r"^(br|ts)(/[^:]+)?:", import_path):
                continue
            if names[0] in names_map:
                exported = names_map[names[0]]
                wanted = names[1] if exported == "*" and len(names) > 1 else exported
                other = path.parent / import_path
                try:
                    imported = _cached_file_outline(other)
                except (BicepError, OutlineError, OSError):
                    return cls()
                if wanted in imported.types:
                    type_tokens, decorators = imported.types[wanted]
                    shape = cls.of(type_tokens, imported, other, depth + 1)
                    if any(d.name == "secure" for d in decorators):
                        shape.secure = True
                    return shape
        return cls()


def _cached_file_outline(path: Path) -> Outline:
    from provisioning.bicep.model import _read_text

    return _outline_by_text(_read_text(path), path.suffix == ".bicepparam")


@functools.lru_cache(maxsize=256)
def _outline_by_text(text: str, bicepparam: bool) -> Outline:
    return read_outline(text, bicepparam=bicepparam)

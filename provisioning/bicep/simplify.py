"""A simpler text of a Bicep file for pycep's grammar, so that the sandbox can evaluate templates
written in current Bicep: what only matters to the compiler goes, what the evaluator needs stays.

Used only when the file as written does not parse. Declarations the evaluator does not use (`type`,
`metadata`, `import`, `func`, `assert`, `extension`) are blanked; a parameter's or output's type
that pycep cannot read (`resourceInput<...>`, a union of literals, a user-defined or imported type,
`resource '...'`) becomes the plain type it stands for. Line numbers stay as they were: blanked text
keeps its newlines, and a type written over several lines gives its newlines back after the
declaration.
"""

from __future__ import annotations

from provisioning.bicep.outline import (
    OutlineError,
    Token,
    _split_assignment,
    _statements,
    _TypeShape,
    read_outline,
    tokenize,
)

_DROPPED = {"type", "metadata", "import", "func", "assert", "extension", "provider"}
_PLAIN_TYPES = {"string", "int", "bool", "object", "array"}


def simplified(text: str) -> str | None:
    """The simpler text, or None when the tolerant reader cannot follow the file either."""
    try:
        tokens = tokenize(text)
        statements = _statements(tokens)
        outline = read_outline(text, tokens=tokens)
    except OutlineError:
        return None
    edits: list[tuple[int, int, str]] = []
    for statement in statements:
        first = statement.tokens[0]
        spans = [(d[0].start, d[-1].end) for d in statement.decorators]
        if first.text in _DROPPED:
            edits += [_blank(text, start, end) for start, end in spans]
            edits.append(_blank(text, first.start, statement.tokens[-1].end))
            continue
        edits += [_blank(text, d[0].start, d[-1].end) for d in statement.decorators
                  if len(d) > 1 and d[1].text in ("export", "sealed", "discriminator")]
        if first.text in ("param", "output"):
            head, _ = _split_assignment(statement.tokens)
            type_tokens = [t for t in head[2:] if t.kind != "newline"]
            if type_tokens and not _plain(type_tokens):
                shape = _TypeShape.of(type_tokens, outline, None)
                plain = shape.type + ("?" if shape.nullable and first.text == "param" else "")
                start, end = type_tokens[0].start, type_tokens[-1].end
                edits.append((start, end, plain))
                newlines = text.count("\n", start, end)
                if newlines:
                    end_of_statement = statement.tokens[-1].end
                    edits.append((end_of_statement, end_of_statement, "\n" * newlines))
    taken = [(start, end) for start, end, _ in edits if end > start]
    for at, end in _joined_lines(tokens, statements):
        if not any(start <= at < stop for start, stop in taken):
            edits += [(at, at + 1, " "), (end, end, "\n")]
    if not edits:
        return text
    result = text
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        result = result[:start] + replacement + result[end:]
    return result


def _joined_lines(tokens: list[Token], statements) -> list[tuple[int, int]]:
    """Line breaks pycep does not take, joined: inside a parenthesized expression (not a call's
    arguments), and before the `?` or `:` of a ternary written over several lines. Each joined line
    break is given back after its statement, so the lines after it keep their numbers."""
    ends = sorted((st.tokens[0].start, st.tokens[-1].end) for st in statements)
    joins: list[tuple[int, int]] = []       # (the line break, the end of its statement)
    stack: list[bool] = []           # per open bracket: is it a parenthesized expression?
    previous: Token | None = None
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in ("(", "[", "{"):
            stack.append(token.text == "(" and not (previous is not None and previous.kind == "name"))
        elif token.kind == "punct" and token.text in (")", "]", "}"):
            if stack:
                stack.pop()
        elif token.kind == "newline" and previous is not None:
            nxt = next((t for t in tokens[i + 1:] if t.kind != "newline"), None)
            ternary = nxt is not None and nxt.kind == "punct" and nxt.text in ("?", ":")
            if (stack and stack[-1]) or ternary:
                end = next((e for s, e in ends if s <= token.start < e), None)
                if end is not None:
                    joins.append((token.start, end))
        if token.kind != "newline":
            previous = token
    return joins


def _plain(tokens: list[Token]) -> bool:
    names = [t.text for t in tokens]
    return names[:1] and names[0] in _PLAIN_TYPES and names[1:] in ([], ["?"])


def _blank(text: str, start: int, end: int) -> tuple[int, int, str]:
    return start, end, "".join(c if c == "\n" else " " for c in text[start:end])

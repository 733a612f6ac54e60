"""What callers get: BicepError, TemplateInfo and ParamSpec."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARAM_TYPES = ("string", "int", "bool", "object", "array")


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


def _read_text(path: Path) -> str:
    """A template's text (Bicep or ARM JSON); BicepError when the file cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BicepError(path, f"cannot read the file: {exc.strerror or exc}") from exc


@dataclass(frozen=True)
class TemplateInfo:
    name: str            # the folder's name, e.g. "agent"
    path: Path
    target_scope: str    # "subscription", "resourceGroup", "managementGroup" or "tenant"
    description: str
    content_hash: str    # sha256 over the file and every local file it references
    # Where it came from (#12): the source's name, the file's path in it, the commit read.
    source: str = ""
    source_path: str = ""
    commit: str = ""
    commit_url: str = ""
    warnings: tuple[str, ...] = ()
    registry_modules: tuple[str, ...] = ()
    parameter_sets: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()   # (set name, ((param, value), ...))


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

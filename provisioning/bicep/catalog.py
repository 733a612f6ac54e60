"""Reading a folder of templates for the catalog: one result per file, never an exception.

`scan_folder` finds the files a catalog is made of (every `main.bicep`, every `.bicepparam`, every
ARM JSON template or parameters file) and `read_template_file` reads one, within a time limit, into a
`FileResult`: a form's parameters, or a clear error with file, line and column. One file that fails
has no effect on another. The portal stores these results per file and content hash and its pages
read only those.

A Bicep file is read with the tolerant reader (`outline`), which gives the form. pycep's reader
(`parser`, which evaluates templates for the sandbox) is tried too: where it cannot follow the file,
the result carries a warning that the sandbox cannot evaluate it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provisioning.bicep.model import BicepError, ParamSpec, _read_text
from provisioning.bicep.outline import (
    NotLiteral,
    _outline_by_text,
    Outline,
    OutlineError,
    literal,
    outline_parameters,
    read_outline,
    tokenize,
)
from provisioning.text import shorten

PARSE_SECONDS = 5.0            # a file that takes longer is listed with an error
MAX_BYTES = 2_000_000           # larger files are not read at all

KIND_TEMPLATE = "template"
KIND_PARAMETERS = "parameters"


@dataclass
class FileResult:
    path: str                                   # relative to the folder scanned, posix
    name: str                                   # the template's name in the catalog
    kind: str = KIND_TEMPLATE                   # template or parameters
    ok: bool = False
    error: str = ""                             # the message, without the file name
    line: int | None = None
    column: int | None = None
    content_hash: str = ""
    target_scope: str = ""
    description: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)    # ParamSpec fields
    warnings: list[str] = field(default_factory=list)
    registry_modules: list[str] = field(default_factory=list)         # resolved by Azure at deploy time
    resource_types: list[str] = field(default_factory=list)
    using: str = ""                                                   # parameters: the template's path
    values: dict[str, Any] = field(default_factory=dict)              # parameters: literal values
    parameter_sets: dict[str, dict[str, Any]] = field(default_factory=dict)   # template: from its params files

    def param_specs(self) -> list[ParamSpec]:
        return [ParamSpec(**p) for p in self.parameters]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ParseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ParseTimeout in the block after `seconds` (a SIGALRM timer; in a thread other than the
    main one, where signals cannot be used, the block runs without a limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise ParseTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def scan_folder(root: Path) -> list[tuple[Path, str, str]]:
    """(path, name, kind) of every file of a catalog under `root`, in a stable order. Hidden folders
    are skipped. A template's name is its folder's path under `root` (`agent`, `apps/web`); an ARM
    JSON template other than `main.json` adds its stem (`agent-extra`)."""
    root = Path(root)
    found: list[tuple[Path, str, str]] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(folder)
        if here == root:
            continue
        base = here.relative_to(root).as_posix()
        names = sorted(files)
        if "main.bicep" in names:
            found.append((here / "main.bicep", base, KIND_TEMPLATE))
        for file in names:
            path = here / file
            if file.endswith(".bicepparam"):
                found.append((path, f"{base}:{file.removesuffix('.bicepparam')}", KIND_PARAMETERS))
            elif file.endswith(".json") and not (file == "main.json" and "main.bicep" in names):
                kind = _json_kind(path)
                if kind:
                    name = base if file == "main.json" else f"{base}-{path.stem}"
                    found.append((path, name, kind))
    return found


def _json_kind(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096).decode("utf-8", "replace").lower()
    except OSError:
        return None
    if "deploymentparameters" in head:
        return KIND_PARAMETERS
    if "deploymenttemplate" in head:
        return KIND_TEMPLATE
    return None


def read_template_file(path: Path, *, name: str, relative: str | None = None,
                       seconds: float = PARSE_SECONDS, compiler: str | None = None) -> FileResult:
    """One file of a catalog, read into a FileResult. Never raises for what the file holds.

    With `compiler` (the Bicep CLI), a Bicep file's form is taken from the ARM JSON the CLI builds;
    the portal's readers are the fallback when the CLI cannot run."""
    path = Path(path)
    result = FileResult(path=relative or path.name, name=name,
                        kind=KIND_PARAMETERS if path.suffix == ".bicepparam" else KIND_TEMPLATE)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BicepError(path, f"the file is {size // 1000} kB; templates over {MAX_BYTES // 1000} kB are "
                                   "not read")
        with time_limit(seconds):
            _read_into(result, path)
        if compiler and not result.error and path.suffix in (".bicep", ".bicepparam"):
            _read_with_cli(result, path, compiler)
        result.ok = not result.error
    except ParseTimeout:
        result.error = f"reading the file took longer than {seconds:g} s; it was stopped"
    except BicepError as exc:
        result.error, result.line, result.column = exc.message, exc.line, exc.column
        if exc.file.resolve() != path.resolve():
            result.error = f"in {os.path.relpath(exc.file, path.parent)}: {exc.message}"
    except RecursionError:
        result.error = "the file nests too deeply to be read"
    except Exception as exc:  # noqa: BLE001 - one file must never stop a sync; the error is shown on the file
        result.error = f"the portal's reader failed on this file ({type(exc).__name__}: {shorten(str(exc), 200)})"
    if result.ok is False and not result.error:
        result.error = "the file could not be read"
    return result


def _read_into(result: FileResult, path: Path) -> None:
    if path.suffix == ".json":
        _read_json(result, path)
        return
    text = _read_text(path)
    try:
        tokens = tokenize(text)
        meaningful = [t for t in tokens if t.kind != "newline"]
    except OutlineError as exc:
        raise BicepError(path, exc.message, line=exc.line, column=exc.column) from exc
    if not meaningful:
        raise BicepError(path, "the file is empty (nothing but blanks and comments): there is nothing to deploy")
    if path.suffix == ".bicepparam":
        _read_bicepparam(result, path, text)
        return
    if meaningful[0].text == "using":
        raise BicepError(path, "this is a parameters file (it starts with `using`), not a template: name it "
                               "*.bicepparam", line=meaningful[0].line, column=meaningful[0].column)
    outline = _outline(path, text, tokens=tokens)
    if outline.declares_nothing:
        if outline.types or outline.functions or outline.exported:
            raise BicepError(path, "not a template: the file only declares types or functions for other files "
                                   "to import; there is nothing to deploy")
        raise BicepError(path, "not a template: the file declares no parameters, resources, modules or "
                               "outputs; there is nothing to deploy")
    result.target_scope = outline.target_scope
    result.description = _description(outline)
    result.registry_modules = [m.path for m in outline.modules if m.registry]
    result.resource_types = [r.type for r in outline.resources if not r.existing]
    result.content_hash = content_hash(path)
    _sandbox_check(path, result)
    result.parameters = [asdict(s) for s in outline_parameters(outline, path)]


def _read_with_cli(result: FileResult, path: Path, compiler: str) -> None:
    """The form from `bicep build` (values from `bicep build-params`); the CLI's word on errors."""
    from provisioning.bicep.cli import CompilerMissing, arm_form, arm_resource_types, params_values, run_cli

    try:
        built = run_cli(compiler, "build-params" if path.suffix == ".bicepparam" else "build", path)
    except CompilerMissing as exc:
        result.warnings.append(f"The Bicep CLI could not run ({exc}); the form was read by the portal.")
        return
    if path.suffix == ".bicepparam":
        result.values = params_values(built)
        return
    result.parameters = arm_form(built)
    result.resource_types = arm_resource_types(built)
    result.warnings.append(f"Read with the Bicep CLI ({Path(compiler).name}).")


def _outline(path: Path, text: str, *, bicepparam: bool = False, tokens=None) -> Outline:
    try:
        if tokens is None:
            return _outline_by_text(text, bicepparam)      # modules shared by templates are read once
        return read_outline(text, bicepparam=bicepparam, tokens=tokens)
    except OutlineError as exc:
        raise BicepError(path, exc.message, line=exc.line, column=exc.column) from exc


def _sandbox_check(path: Path, result: FileResult) -> None:
    """Whether pycep's reader, which the sandbox evaluates templates with, follows the file; a
    warning when it does not (the form still comes from the outline)."""
    from provisioning.bicep.templates import parse_parameters

    try:
        parse_parameters(path)
    except BicepError as exc:
        where = f" (line {exc.line})" if exc.line else ""
        result.warnings.append(f"The sandbox cannot evaluate this template{where}: {exc.message}. Deploy it where "
                               "the Bicep CLI is configured (PORTAL_BICEP).")
    except (RecursionError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        result.warnings.append(f"The sandbox cannot evaluate this template ({type(exc).__name__}). Deploy it "
                               "where the Bicep CLI is configured (PORTAL_BICEP).")


def _description(outline: Outline) -> str:
    tokens = outline.metadata.get("description")
    if tokens:
        try:
            value = literal(tokens)
        except NotLiteral:
            value = None
        if isinstance(value, str):
            return value.strip()
    lines = []
    for line in outline.text.lstrip().splitlines():
        if not line.startswith("//"):
            break
        lines.append(line.removeprefix("//").strip())
    return " ".join(line for line in lines if line)


def _read_bicepparam(result: FileResult, path: Path, text: str) -> None:
    outline = _outline(path, text, bicepparam=True)
    if outline.using is None:
        raise BicepError(path, "a parameters file needs `using '<template>.bicep'` on its first line")
    if outline.using == "none":
        raise BicepError(path, "a parameters file with `using none` is not tied to a template; the catalog "
                               "cannot offer it")
    result.using = outline.using
    result.content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
    values: dict[str, Any] = {}
    for name, tokens in outline.assignments.items():
        try:
            values[name] = literal(tokens)
        except NotLiteral:
            result.warnings.append(f"{name} is an expression ({shorten(outline.source(tokens), 80)}); it is left out")
    result.values = values


def _read_json(result: FileResult, path: Path) -> None:
    from provisioning.bicep.arm import _arm_param_spec, _arm_scope, _read_arm

    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BicepError(path, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno) from exc
    schema = str(data.get("$schema", "") if isinstance(data, dict) else "").lower()
    result.content_hash = content_hash(path)
    if "deploymentparameters" in schema:
        result.kind = KIND_PARAMETERS
        result.values = {k: v.get("value") for k, v in data.get("parameters", {}).items()
                         if isinstance(v, dict) and "value" in v}
        result.using = path.name.replace(".parameters", "").replace(".params", "")
        return
    template = _read_arm(path)
    result.target_scope = _arm_scope(template)
    result.description = str(template.get("metadata", {}).get("description", ""))
    result.parameters = [asdict(_arm_param_spec(n, s)) for n, s in template.get("parameters", {}).items()]
    if not template.get("resources") and not template.get("outputs") and not template.get("parameters"):
        raise BicepError(path, "not a template: the ARM template declares no parameters, resources or outputs")


# --- Content hash -------------------------------------------------------------------------------

_LOAD_FUNCTION = re.compile(r"\bload(?:Text|Json|Yaml|FileAsBase64)Content\(\s*'([^']+)'")


def template_files(path: Path) -> list[Path]:
    """The template and, recursively, the local modules, imports and loaded files it uses."""
    path = Path(path)
    found = {path.resolve(): path}
    queue = [path]
    while queue:
        current = queue.pop(0)
        if current.suffix != ".bicep":
            continue
        outline = _outline(current, _read_text(current))
        references = [(m.path, m.line) for m in outline.modules if not m.registry]
        references += [(p, None) for p, _ in outline.imports if p.endswith(".bicep") or p.endswith(".json")]
        references += [(p, None) for p in _LOAD_FUNCTION.findall(outline.text)]
        for reference, line in references:
            file = current.parent / reference
            if not file.is_file():
                raise BicepError(current, f"referenced file not found: {reference}", line=line)
            if file.resolve() not in found:
                found[file.resolve()] = file
                queue.append(file)
    rest = sorted((f for f in found.values() if f is not path), key=lambda f: os.path.relpath(f, path.parent))
    return [path, *rest]


def content_hash(path: Path) -> str:
    """sha256 over the template and, recursively, the local modules, imports and loaded files."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in template_files(path):
        data = file.read_bytes()
        label = Path(os.path.relpath(file, path.parent)).as_posix()
        digest.update(f"{label}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


# --- Reading many files -------------------------------------------------------------------------

def _read_many(items: list[tuple[str, str, str]], seconds: float, compiler: str | None) -> list[FileResult]:
    return [read_template_file(Path(path), name=name, relative=relative, seconds=seconds, compiler=compiler)
            for path, name, relative in items]


def read_template_files(items: list[tuple[Path, str, str]], *, seconds: float = PARSE_SECONDS,
                        compiler: str | None = None) -> list[FileResult]:
    """`read_template_file` for each (path, name, relative path). The time limit needs the main thread
    (a SIGALRM timer): elsewhere (a Celery worker's thread pool) the files are read in a child process,
    whose main thread enforces it; a child that does not finish in time is stopped and every file gets
    the error."""
    plain = [(str(path), name, relative) for path, name, relative in items]
    if threading.current_thread() is threading.main_thread() or not plain:
        return _read_many(plain, seconds, compiler)
    import concurrent.futures
    import multiprocessing

    budget = seconds * len(plain) + 60
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return executor.submit(_read_many, plain, seconds, compiler).result(timeout=budget)
    except (concurrent.futures.TimeoutError, concurrent.futures.process.BrokenProcessPool) as exc:
        reason = "took too long" if isinstance(exc, concurrent.futures.TimeoutError) else "stopped"
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        return [FileResult(path=relative, name=name, error=f"the reader process {reason}; the file was not read")
                for _, name, relative in plain]
    finally:
        executor.shutdown(wait=False, cancel_futures=True)

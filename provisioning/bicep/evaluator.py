"""Evaluating a Bicep file: expressions (shared with ARM JSON), names, resources and modules."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioning.backends.base import RESOURCE_GROUP_TYPE, ResourceSpec
from provisioning.bicep.functions import _ARM_GUID_NAMESPACE, _EVALUATION_ERRORS, _FUNCTIONS, _OPERATIONS, _text
from provisioning.bicep.model import BicepError
from provisioning.bicep.nodes import _Call, _Guarded, _Loop, _Op, _Paren, _Ref, _Spread, _SpreadKey, _Verbatim
from provisioning.bicep.parser import _Document, _expression, _read_bicep
from provisioning.bicep.precedence import _BINARY, _SYMBOLS
from provisioning.bicep.values import (
    _is_known,
    _name_text,
    _plain,
    _quote,
    _resource_id,
    _ResourceRef,
    _Secret,
    _source,
    _split_interpolation,
    _unescape,
    _Unresolved,
)

DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"   # what a module is: a nested deployment


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
            items: list[Any] = []
            for item in node:
                if isinstance(item, _Spread):
                    value = self.eval(item.value, local)
                    items.extend(value) if isinstance(value, list) else items.append(value)
                else:
                    items.append(self.eval(item, local))
            return items
        if isinstance(node, dict):
            result: dict[str, Any] = {}
            for key, value in node.items():
                if isinstance(key, _SpreadKey):
                    spread = self.eval(value, local)
                    if isinstance(spread, dict):
                        result.update(spread)
                    else:
                        result[str(key)] = spread      # not known before Azure deploys it
                else:
                    result[key] = self.eval(value, local)
            return result
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

    def _deployed(self, attrs: dict[str, Any], refs: Any) -> Iterator[tuple[_Instance, _ResourceRef]]:
        """The declaration's instances that are deployed (enabled, with a body), each with its reference."""
        for instance, ref in zip(self._instances(attrs["config"], {}), refs if isinstance(refs, list) else [refs]):
            if not ref.enabled or not isinstance(instance.body, dict):
                continue
            yield instance, ref

    def _walk_resource(self, symbol: str, attrs: dict[str, Any], module: str) -> Iterator[ResourceSpec]:
        refs = self.lookup(symbol, {})
        for instance, ref in self._deployed(attrs, refs):
            body = self.eval(instance.body, instance.local)      # `...spread` merged in
            properties = {key: _plain(value) for key, value in body.items()
                          if key not in ("name", "parent", "dependsOn")}
            yield ResourceSpec(type=attrs["type"], name=_name_text(ref.name), symbol=symbol, module=module,
                               properties=properties)

    def _walk_module(self, symbol: str, attrs: dict[str, Any], module: str, root: Path) -> Iterator[ResourceSpec]:
        refs = self.lookup(symbol, {})
        local_file = attrs["type"] == "local"
        target = self.doc.path.parent / attrs["detail"]["path"] if local_file else None
        label = Path(os.path.relpath(target, root)).as_posix() if target else attrs["detail"]["full"]
        for instance, ref in self._deployed(attrs, refs):
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

"""Deployment forms built from a template's parameters (`provisioning.bicep.ParamSpec`).

One field per parameter, in declaration order: a select for `@allowed` values, a number with its
bounds for `int`, a text input with its length bounds for `string`, a checkbox for `bool`, a
password input that never renders its value for `@secure()`, and a JSON textarea for `object` and
`array`. The label comes from the name, the help text from `@description`, the initial value from a
literal default. A parameter that has a default may be left blank: it is then left out of the
parameters, and the template's own default applies (the only way for a default that is an
expression, such as `'cold-${agentName}-chat-memory'`).

`public_parameters(form)` is what may be stored and shown; `secure_parameters(form)` is only ever
handed to the deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import escape

from provisioning.bicep import ParamSpec

__all__ = ["ParameterForm", "build_parameter_form", "public_parameters", "secure_parameters"]

_ACRONYMS = frozenset({"acr", "ai", "aks", "api", "apim", "cidr", "dns", "id", "ip", "json", "kv", "rbac", "rg",
                       "sku", "tls", "ttl", "uri", "url", "vm"})
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})

_STRING_MESSAGES = {
    "min_length": "Must be at least %(limit_value)d characters (it has %(show_value)d).",
    "max_length": "Must be at most %(limit_value)d characters (it has %(show_value)d).",
}
_INT_MESSAGES = {
    "invalid": "Must be a whole number.",
    "min_value": "Must be at least %(limit_value)s (it is %(show_value)s).",
    "max_value": "Must be at most %(limit_value)s (it is %(show_value)s).",
}


class ParameterForm(forms.Form):
    """Base of the generated forms: `parameter_specs` maps each field to its parameter."""

    parameter_specs: dict[str, ParamSpec] = {}


def build_parameter_form(params: Sequence[ParamSpec], *,
                         initial: Mapping[str, Any] | None = None) -> type[ParameterForm]:
    """A form class for these parameters. `initial` (e.g. the values of a previous run) takes the
    place of the templates' defaults as initial values; it is never used for a secure parameter."""
    initial = initial or {}
    fields: dict[str, Any] = {
        spec.name: _field(spec, initial.get(spec.name, spec.default)) for spec in params
    }
    fields["parameter_specs"] = {spec.name: spec for spec in params}
    return type("ParameterForm", (ParameterForm,), fields)


def public_parameters(form: ParameterForm) -> dict[str, Any]:
    """The valid form's values that may be stored and shown: no secure values, no blank ones."""
    return _values(form, secure=False)


def secure_parameters(form: ParameterForm) -> dict[str, Any]:
    """The valid form's secure values (not blank ones): for the deployment only, never stored."""
    return _values(form, secure=True)


def _values(form: ParameterForm, *, secure: bool) -> dict[str, Any]:
    if not form.is_bound or not form.is_valid():
        raise ValueError("parameters are only read from a bound, valid form")
    return {
        name: value for name, value in form.cleaned_data.items()
        if value is not None and form.parameter_specs[name].secure is secure
    }


# --- Fields -------------------------------------------------------------------------------------

def _label(name: str) -> str:
    """`openAiApiKeyOverride` -> "Open AI API key override"."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name) or [name]
    words = [w.upper() if w.lower() in _ACRONYMS else w.lower() for w in words]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


def _field(spec: ParamSpec, initial: Any) -> forms.Field:
    field = _typed_field(spec, initial)
    if spec.default_expression is not None and not spec.secure:
        field.widget.attrs.setdefault("placeholder", f"Default: {spec.default_expression}")
    return field


def _typed_field(spec: ParamSpec, initial: Any) -> forms.Field:
    options: dict[str, Any] = {
        "label": _label(spec.name),
        "help_text": escape(spec.description),  # Django renders help text unescaped
        "required": spec.required,
    }
    if spec.secure:
        return _secure_field(spec, options)
    if initial is not None:
        options["initial"] = initial
    if spec.allowed:
        return _choice_field(spec, options)
    if spec.type == "int":
        return forms.IntegerField(min_value=spec.min_value, max_value=spec.max_value,
                                  error_messages=_INT_MESSAGES, **options)
    if spec.type == "bool":
        if spec.default_expression is not None:
            return forms.NullBooleanField(**{**options, "required": False})
        return _BooleanParameterField(**{**options, "required": False})
    if spec.type in ("object", "array"):
        return _JSONParameterField(kind=spec.type, min_items=spec.min_length, max_items=spec.max_length,
                                   widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}), **options)
    return forms.CharField(min_length=spec.min_length, max_length=spec.max_length, empty_value=None,
                           error_messages=_STRING_MESSAGES, **options)


def _secure_field(spec: ParamSpec, options: dict[str, Any]) -> forms.Field:
    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    if spec.type in ("object", "array"):
        return _JSONParameterField(kind=spec.type, min_items=spec.min_length, max_items=spec.max_length,
                                   widget=widget, **options)
    return forms.CharField(min_length=spec.min_length, max_length=spec.max_length, strip=False, empty_value=None,
                           widget=widget, error_messages=_STRING_MESSAGES, **options)


def _choice_field(spec: ParamSpec, options: dict[str, Any]) -> forms.Field:
    choices: list[tuple[Any, str]] = [(value, str(value)) for value in spec.allowed]
    if spec.required:
        choices.insert(0, ("", "Choose…"))
    elif spec.default is None:
        choices.insert(0, ("", "Template default"))
    allowed = ", ".join(str(value) for value in spec.allowed)
    return forms.TypedChoiceField(
        choices=choices,
        coerce=int if spec.type == "int" else str,
        empty_value=None,
        error_messages={"invalid_choice": f"Must be one of {allowed} (got %(value)s)."},
        **options,
    )


def _checked(value: Any) -> bool:
    return value is True or isinstance(value, str) and value.strip().lower() in _TRUE


class _BooleanInput(forms.CheckboxInput):
    """A checkbox that hands on what it cannot read (Django's turns any string into True), and that
    shows an initial "false" unchecked."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, check_test=_checked)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if name not in data:
            return False
        value = data.get(name)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return value


class _BooleanParameterField(forms.BooleanField):
    """True or false; unchecked is false, a value, not a missing one."""

    widget = _BooleanInput

    def to_python(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if value in (None, ""):
            return False
        raise ValidationError("Must be true or false (got %(value)s).", code="invalid", params={"value": value})

    def validate(self, value: Any) -> None:
        return None


class _JSONParameterField(forms.JSONField):
    """JSON of one kind (object or array), with the decoder's own words when it is not JSON."""

    def __init__(self, *, kind: str, min_items: int | None = None, max_items: int | None = None,
                 **kwargs: Any):
        self.kind, self.min_items, self.max_items = kind, min_items, max_items
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, (dict, list)):
            converted = value
        else:
            try:
                converted = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    "Must be valid JSON (%(error)s at line %(line)s, column %(column)s).", code="invalid",
                    params={"error": exc.msg, "line": exc.lineno, "column": exc.colno},
                ) from exc
            except RecursionError:  # nested past the parser's own limit
                converted = TOO_DEEP
            if converted is TOO_DEEP or _json_depth(converted) > MAX_JSON_DEPTH:
                raise ValidationError("Nested too deeply (at most %(limit)s levels).", code="too_deep",
                                      params={"limit": MAX_JSON_DEPTH})
        expected = dict if self.kind == "object" else list
        if not isinstance(converted, expected):
            raise ValidationError("Must be a JSON %(kind)s, written %(example)s (it is %(actual)s).",
                                  code="invalid_type", params={
                                      "kind": self.kind, "example": "{...}" if expected is dict else "[...]",
                                      "actual": _json_kind(converted)})
        if self.min_items is not None and len(converted) < self.min_items:
            raise ValidationError("Must have at least %(limit)s (it has %(count)s).", code="min_length",
                                  params={"limit": _items(self.min_items), "count": len(converted)})
        if self.max_items is not None and len(converted) > self.max_items:
            raise ValidationError("Must have at most %(limit)s (it has %(count)s).", code="max_length",
                                  params={"limit": _items(self.max_items), "count": len(converted)})
        return converted

    def prepare_value(self, value: Any) -> Any:
        # An initial value may arrive as JSON text already (e.g. from a query string).
        return value if isinstance(value, str) else super().prepare_value(value)

    def validate(self, value: Any) -> None:
        # `[]` and `{}` are values; only a blank field is missing.
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")


def _items(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


MAX_JSON_DEPTH = 32
TOO_DEEP = object()


def _json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (without recursing, so any depth is safe to measure)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "an array" if isinstance(value, list) else "an object"

"""Deployment forms built from template parameters: one field per parameter, server-side checks
that say what is wrong, and secure values kept apart. Plain Django forms: no database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django import forms

from portal.deployments.parameter_forms import (
    ParameterForm,
    build_parameter_form,
    public_parameters,
    secure_parameters,
)
from provisioning.bicep import ParamSpec, discover_templates, parse_parameters

BICEP_ROOT = Path(__file__).resolve().parents[2] / "bicep"
AGENT = BICEP_ROOT / "agent" / "main.bicep"
TEMPLATES = discover_templates(BICEP_ROOT)

VALID_AGENT = {"agentName": "ecommerce-catalog-search", "environment": "dev", "redisDatabase": "3"}


@pytest.fixture(scope="module")
def agent_form() -> type[ParameterForm]:
    return build_parameter_form(parse_parameters(AGENT))


def errors_of(form_class: type[ParameterForm], data: dict) -> dict[str, list[str]]:
    form = form_class(data=data)
    assert not form.is_valid()
    return {name: list(messages) for name, messages in form.errors.items()}


# --- Building forms -----------------------------------------------------------------------------

@pytest.mark.parametrize("info", TEMPLATES, ids=lambda i: i.name)
def test_every_template_gets_a_form_with_one_field_per_parameter(info):
    params = parse_parameters(info.path)
    form = build_parameter_form(params)()

    html = form.as_div()

    assert list(form.fields) == [p.name for p in params]
    for spec in params:
        field = form.fields[spec.name]
        assert field.help_text and field.label
        assert field.required is (spec.required and spec.type != "bool")
        assert f'name="{spec.name}"' in html


def test_field_kinds_follow_the_parameter_kinds(agent_form):
    fields = agent_form().fields

    assert isinstance(fields["environment"], forms.TypedChoiceField)
    assert [value for value, _ in fields["environment"].choices] == ["dev", "staging", "prod"]
    assert isinstance(fields["redisDatabase"], forms.IntegerField)
    assert (fields["redisDatabase"].min_value, fields["redisDatabase"].max_value) == (0, 63)
    assert isinstance(fields["coldContainerName"], forms.CharField)
    assert fields["coldContainerName"].max_length == 63
    assert isinstance(fields["enableAiSearch"], forms.BooleanField)
    assert isinstance(fields["tags"], forms.JSONField)
    assert isinstance(fields["tags"].widget, forms.Textarea)
    assert isinstance(fields["openAiApiKeyOverride"].widget, forms.PasswordInput)
    assert fields["openAiApiKeyOverride"].widget.render_value is False


def test_labels_come_from_the_name_and_help_from_the_description(agent_form):
    fields = agent_form().fields

    assert fields["openAiApiKeyOverride"].label == "Open AI API key override"
    assert fields["cosmosAccountName"].label == "Cosmos account name"
    assert fields["redisDatabase"].help_text.startswith("Database number on the shared Redis cache")


def test_literal_defaults_are_initial_values_and_expression_defaults_are_placeholders(agent_form):
    form = agent_form()

    assert form.fields["environment"].initial == "dev"
    assert form.fields["warmMemoryTtlSeconds"].initial == 2592000
    assert form.fields["tags"].initial == {}
    assert form.fields["coldContainerName"].initial is None
    assert form.fields["coldContainerName"].widget.attrs["placeholder"] == "Default: 'cold-${agentName}-chat-memory'"


def test_initial_values_replace_defaults_but_never_fill_a_secure_field():
    form_class = build_parameter_form(parse_parameters(AGENT), initial={
        "environment": "prod", "redisDatabase": 7, "openAiApiKeyOverride": "sk-from-last-run"})
    form = form_class()

    assert form.fields["environment"].initial == "prod"
    assert form.fields["redisDatabase"].initial == 7
    assert "sk-from-last-run" not in form.as_div()


def test_initial_values_from_a_query_string_render_as_meant():
    form_class = build_parameter_form(parse_parameters(AGENT), initial={
        "enableAiSearch": "false", "enableOpenAi": "true", "tags": '{"team": "crm"}'})
    form = form_class()

    assert "checked" not in str(form["enableAiSearch"])
    assert "checked" in str(form["enableOpenAi"])
    assert "{&quot;team&quot;: &quot;crm&quot;}</textarea>" in str(form["tags"])


def test_descriptions_are_escaped_in_the_page():
    form_class = build_parameter_form([ParamSpec("name", "string", description="<script>alert(1)</script>")])

    assert "<script>" not in form_class().as_div()


# --- Valid input --------------------------------------------------------------------------------

def test_valid_input_is_typed_and_blank_optional_fields_are_left_to_the_template(agent_form):
    form = agent_form(data={**VALID_AGENT, "enableAiSearch": "on", "tags": '{"team": "ecommerce"}',
                            "coldContainerName": ""})

    assert form.is_valid(), form.errors
    parameters = public_parameters(form)
    assert parameters["redisDatabase"] == 3
    assert parameters["enableAiSearch"] is True
    assert parameters["enableOpenAi"] is False
    assert parameters["tags"] == {"team": "ecommerce"}
    assert "coldContainerName" not in parameters          # its default, an expression, applies
    assert "location" not in parameters


def test_secure_values_are_never_public(agent_form):
    form = agent_form(data={**VALID_AGENT, "openAiApiKeyOverride": "sk-very-secret"})

    assert form.is_valid(), form.errors
    assert "openAiApiKeyOverride" not in public_parameters(form)
    assert "sk-very-secret" not in repr(public_parameters(form))
    assert secure_parameters(form) == {"openAiApiKeyOverride": "sk-very-secret"}


def test_a_secure_value_is_not_rendered_back_after_an_error(agent_form):
    form = agent_form(data={**VALID_AGENT, "redisDatabase": "99", "openAiApiKeyOverride": "sk-very-secret"})

    assert not form.is_valid()
    assert "sk-very-secret" not in form.as_div()


def test_a_blank_secure_field_is_left_out(agent_form):
    form = agent_form(data=VALID_AGENT)

    assert form.is_valid(), form.errors
    assert secure_parameters(form) == {}


def test_parameters_are_not_read_from_an_invalid_form(agent_form):
    form = agent_form(data={**VALID_AGENT, "redisDatabase": "-1"})

    with pytest.raises(ValueError):
        public_parameters(form)
    with pytest.raises(ValueError):
        secure_parameters(agent_form())


# --- Bad input on each kind of field ------------------------------------------------------------

def test_a_value_outside_allowed_is_refused(agent_form):
    assert errors_of(agent_form, {**VALID_AGENT, "environment": "qa"}) == {
        "environment": ["Must be one of dev, staging, prod (got qa)."]}


def test_an_int_outside_allowed_is_refused():
    form_class = build_parameter_form([ParamSpec("capacity", "int", allowed=[1, 2, 3], description="Units.")])

    assert errors_of(form_class, {"capacity": "4"}) == {"capacity": ["Must be one of 1, 2, 3 (got 4)."]}
    form = form_class(data={"capacity": "2"})
    assert form.is_valid() and public_parameters(form) == {"capacity": 2}


@pytest.mark.parametrize("value, message", [
    ("64", "Must be at most 63 (it is 64)."),
    ("-1", "Must be at least 0 (it is -1)."),
    ("three", "Must be a whole number."),
])
def test_an_int_outside_its_bounds_is_refused(agent_form, value, message):
    assert errors_of(agent_form, {**VALID_AGENT, "redisDatabase": value}) == {"redisDatabase": [message]}


@pytest.mark.parametrize("field, value, message", [
    ("coldContainerName", "cold-product-management-normalization-classification-chat-memory",
     "Must be at most 63 characters (it has 64)."),
    ("coldContainerName", "ab", "Must be at least 3 characters (it has 2)."),
    ("agentName", "x" * 51, "Must be at most 50 characters (it has 51)."),
])
def test_a_string_outside_its_length_bounds_is_refused(agent_form, field, value, message):
    assert errors_of(agent_form, {**VALID_AGENT, field: value}) == {field: [message]}


def test_a_missing_required_value_is_refused(agent_form):
    assert errors_of(agent_form, {"environment": "dev", "redisDatabase": "1"}) == {
        "agentName": ["This field is required."]}


@pytest.mark.parametrize("value, expected", [("on", True), ("true", True), ("false", False), ("", False)])
def test_a_bool_takes_checkbox_values(agent_form, value, expected):
    form = agent_form(data={**VALID_AGENT, "enableOpenAi": value})

    assert form.is_valid(), form.errors
    assert public_parameters(form)["enableOpenAi"] is expected


def test_a_bool_refuses_anything_else(agent_form):
    assert errors_of(agent_form, {**VALID_AGENT, "enableOpenAi": "maybe"}) == {
        "enableOpenAi": ["Must be true or false (got maybe)."]}


def test_a_secure_value_outside_its_length_bounds_is_refused_without_echoing_it():
    form_class = build_parameter_form([ParamSpec("adminPassword", "string", secure=True, min_length=12,
                                                 description="Administrator password.")])

    assert errors_of(form_class, {"adminPassword": "short"}) == {
        "adminPassword": ["Must be at least 12 characters (it has 5)."]}
    assert "short" not in form_class(data={"adminPassword": "short"}).as_div()


@pytest.mark.parametrize("value, message", [
    ('{"team": ', "Must be valid JSON (Expecting value at line 1, column 10)."),
    ("[1, 2]", "Must be a JSON object, written {...} (it is an array)."),
    ('"text"', "Must be a JSON object, written {...} (it is a string)."),
])
def test_an_object_must_be_a_json_object(agent_form, value, message):
    assert errors_of(agent_form, {**VALID_AGENT, "tags": value}) == {"tags": [message]}


def test_an_array_must_be_a_json_array_within_its_bounds():
    form_class = build_parameter_form([ParamSpec("zones", "array", min_length=1, max_length=3,
                                                 description="Availability zones.")])

    assert errors_of(form_class, {"zones": '{"a": 1}'}) == {
        "zones": ["Must be a JSON array, written [...] (it is an object)."]}
    assert errors_of(form_class, {"zones": "[1, 2, 3, 4]"}) == {"zones": ["Must have at most 3 items (it has 4)."]}
    assert errors_of(form_class, {"zones": "[]"}) == {"zones": ["Must have at least 1 item (it has 0)."]}
    form = form_class(data={"zones": '["1", "2"]'})
    assert form.is_valid() and public_parameters(form) == {"zones": ["1", "2"]}


def test_an_empty_json_value_is_a_value_for_a_required_parameter():
    form_class = build_parameter_form([ParamSpec("rules", "array", description="Rules.")])

    assert errors_of(form_class, {"rules": ""}) == {"rules": ["This field is required."]}
    form = form_class(data={"rules": "[]"})
    assert form.is_valid() and public_parameters(form) == {"rules": []}

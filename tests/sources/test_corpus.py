"""The Bicep corpus (tests/sources/corpus): every file with the form it gives or the error it gets.

Each folder is written for one feature of current Bicep (or one way a file can be wrong). The forms
are read with `provisioning.bicep.catalog.read_template_file`, exactly as a sync reads them.
"""

from pathlib import Path

import pytest

from provisioning.bicep.catalog import read_template_file, scan_folder

CORPUS = Path(__file__).parent / "corpus"

# name -> the parameters as (name, type), plus what else must hold: {param: {field: value}}
FORMS = {
    "basic-params": ([("appName", "string"), ("environment", "string"), ("replicas", "int"), ("enabled", "bool"),
                      ("tags", "object"), ("zones", "array")],
                     {"appName": {"min_length": 3, "max_length": 24, "description": "Name of the app.",
                                  "required": True},
                      "environment": {"allowed": ["dev", "prod"], "default": "dev"},
                      "replicas": {"min_value": 1, "max_value": 10, "default": 2},
                      "tags": {"default": {"team": "platform"}}, "zones": {"default": ["1", "2"]}}),
    "udt-decorators": ([("scale", "object")], {"scale": {"description": "How the pool scales.", "required": True}}),
    "nullable-types": ([("name", "string"), ("count", "int"), ("labels", "object"), ("items", "array")],
                       {"name": {"nullable": True, "required": False}, "items": {"nullable": True}}),
    "union-literals": ([("environment", "string"), ("tier", "string"), ("size", "int")],
                       {"environment": {"allowed": ["dev", "staging", "prod"]},
                        "tier": {"allowed": ["Basic", "Standard", "Premium"], "default": "Standard"},
                        "size": {"allowed": [1, 2, 4], "default": 2}}),
    "union-multiline": ([("identity", "string")], {"identity": {"allowed": ["SystemAssigned", "UserAssigned", "None"]}}),
    "spread": ([("extraTags", "object")], {"extraTags": {"default": {}}}),
    "resource-typed-param": ([("kv", "string")], {"kv": {"description": "The Key Vault to read from."}}),
    "resource-output": ([("vaultName", "string")], {}),
    "import-types": ([("environment", "string"), ("sku", "object")],
                     {"environment": {"allowed": ["dev", "staging", "prod"]}, "sku": {"default": {"name": "P1"}}}),
    "import-star": ([("size", "string"), ("name", "string")], {"size": {"allowed": ["small", "medium", "large"]}}),
    "user-functions": ([("env", "string")], {"env": {"default": "dev"}}),
    "metadata-decorators": ([("fromMetadata", "string"), ("qualified", "string")],
                            {"fromMetadata": {"description": "Read from metadata."},
                             "qualified": {"description": "Read from a qualified decorator.", "min_length": 2}}),
    "multiline-strings": ([("name", "string")], {"name": {"description": "A parameter described\nover two lines."}}),
    "existing-resources": ([("workspaceName", "string")], {}),
    "loop-filters": ([("containers", "array")], {}),
    "registry-modules": ([("name", "string")], {}),
    "resource-input": ([("tags", "object"), ("subnets", "object"), ("addressSpace", "object")],
                       {"tags": {"nullable": True, "description": "Tags of the virtual network."},
                        "subnets": {"default": []}}),
    "lambdas": ([("items", "array")], {}),
    "newline-before-paren": ([("prefix", "string")], {"prefix": {"default": "hp"}}),
    "secure-params": ([("adminPassword", "string"), ("connection", "object"), ("adminUser", "string")],
                      {"adminPassword": {"secure": True}, "connection": {"secure": True}, "adminUser": {"secure": False}}),
    "subscription-scope": ([("location", "string"), ("rgName", "string")], {}),
    "child-resources": ([("accountName", "string")], {}),
    "conditional-resources": ([("deploySearch", "bool"), ("name", "string")], {"deploySearch": {"default": False}}),
    "discriminated-union": ([("pet", "object"), ("owner", "object")], {}),
    "pragmas": ([("unused", "string"), ("location", "string")], {}),
    "param-sets": ([("environment", "string"), ("replicas", "int"), ("tags", "object")], {}),
    "param-set-orphan": ([("name", "string")], {}),
    "param-set-using-none": ([("name", "string")], {}),
    "local-module": ([("name", "string")], {"name": {"description": "The app's name."}}),
    "safe-access": ([("settings", "object")], {}),
    "sandbox-cannot-follow": ([("names", "array")], {"names": {"default": []}}),
    "resource-input-body": ([("body", "object"), ("name", "string")],
                            {"body": {"description": "The whole body of a resource, as its type says."}}),
    "extension-and-assert": ([("appName", "string"), ("minLength", "int")], {}),
    "arm-template-azuredeploy": ([("name", "string"), ("sku", "string"), ("secret", "string")],
                                {"secret": {"secure": True}, "sku": {"allowed": ["Standard_LRS", "Standard_GRS"]}}),
    "arm-with-parameters": ([("rgName", "string"), ("location", "string")], {}),
}

# name -> (words the message must contain, line or None)
ERRORS = {
    "empty": ("the file is empty", None),
    "comments-only": ("the file is empty", None),
    "params-as-main": ("this is a parameters file", 1),
    "types-only": ("only declares types or functions", None),
    "syntax-unclosed-brace": ("'{' is never closed", 3),
    "syntax-unclosed-string": ("a string is not closed", 1),
    "syntax-dangling-operator": ("ends with '+'", 2),
    "syntax-property-without-value": ("property location has no value", 5),
    "syntax-bad-escape": ("escape is not valid", 1),
    "not-a-declaration": ("`parm location string` is not a Bicep declaration", 2),
    "missing-module": ("referenced file not found: ./modules/app.bicep", 3),
    "arm-invalid-json-azuredeploy": ("invalid JSON", 4),
    "param-set-using-none:shared": ("`using none`", None),
}

SCOPES = {"subscription-scope": "subscription", "arm-with-parameters": "subscription"}
REGISTRY = {"registry-modules": ["br/public:avm/res/network/virtual-network:0.5.1",
                                 "ts:00000000-0000-0000-0000-000000000000/rg-specs/storageSpec:2.0",
                                 "br:contoso.azurecr.io/bicep/modules/redis:1.0"]}
# Templates the sandbox's evaluator (pycep's grammar, simplified where needed) still cannot follow:
# offered, with a warning.
SANDBOX_CANNOT = {"sandbox-cannot-follow"}


def _read_all():
    return {name: read_template_file(path, name=name, relative=path.relative_to(CORPUS).as_posix())
            for path, name, _ in scan_folder(CORPUS)}


RESULTS = _read_all()


def test_the_corpus_has_at_least_thirty_files_and_each_has_an_expectation():
    templates = [n for n, r in RESULTS.items() if r.kind == "template"]
    assert len(templates) >= 30
    assert set(templates) == set(FORMS) | {n for n in ERRORS if RESULTS[n].kind == "template"}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_corpus_file_gives_its_form(name):
    result = RESULTS[name]
    assert result.ok, result.error
    expected_params, details = FORMS[name]
    specs = {s.name: s for s in result.param_specs()}
    assert [(s.name, s.type) for s in result.param_specs()] == expected_params
    for param, fields in details.items():
        for field, value in fields.items():
            assert getattr(specs[param], field) == value, (param, field)
    assert result.target_scope == SCOPES.get(name, "resourceGroup")
    assert result.registry_modules == REGISTRY.get(name, [])
    assert len(result.content_hash) == 64


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_corpus_file_gets_its_clear_error(name):
    result = RESULTS[name]
    words, line = ERRORS[name]
    assert not result.ok
    assert words in result.error
    assert result.line == line


@pytest.mark.parametrize("name", sorted(SANDBOX_CANNOT))
def test_a_template_the_sandbox_cannot_evaluate_is_offered_with_a_warning(name):
    result = RESULTS[name]
    assert result.ok and result.parameters
    assert any("The sandbox cannot evaluate this template" in w for w in result.warnings)


@pytest.mark.parametrize("name", sorted(set(FORMS) - SANDBOX_CANNOT))
def test_the_sandbox_evaluates_every_other_template_of_the_corpus(name):
    from provisioning.bicep import load_template

    result = RESULTS[name]
    assert not any("sandbox" in w for w in result.warnings)
    given = {p.name: p.allowed[0] if p.allowed else {"string": "abc", "int": 1, "bool": True, "object": {},
                                                      "array": []}[p.type]
             for p in result.param_specs() if p.required}
    spec = load_template(CORPUS / result.path, given)
    assert len(spec.content_hash) == 64


def test_current_bicep_is_evaluated_in_the_sandbox_after_simplifying():
    from provisioning.bicep import template_resources

    resources = template_resources(CORPUS / "resource-input" / "main.bicep", {"subnets": []})
    assert [(r.type, r.name) for r in resources] == [("Microsoft.Network/virtualNetworks", "vnet")]
    resources = template_resources(CORPUS / "multiline-strings" / "main.bicep", {"name": "x"})
    assert resources == ()
    (spread,) = template_resources(CORPUS / "spread" / "main.bicep", {"extraTags": {"cost": "42"}})
    assert spread.properties["tags"] == {"owner": "platform", "cost": "42", "managedBy": "portal"}
    (body,) = template_resources(CORPUS / "resource-input-body" / "main.bicep",
                                 {"body": {"kind": "StorageV2", "location": "westeurope"}, "name": "sa1"})
    assert (body.name, body.properties) == ("sa1", {"kind": "StorageV2", "location": "westeurope"})


def test_simplifying_keeps_every_line_where_it_was():
    from provisioning.bicep.simplify import simplified

    for path in sorted(CORPUS.rglob("*.bicep")):
        text = path.read_text()
        simpler = simplified(text)
        if simpler is not None:
            assert simpler.count("\n") == text.count("\n"), path


def test_bicepparam_files_read_their_literal_values_and_leave_expressions_out():
    dev, prod = RESULTS["param-sets:main.dev"], RESULTS["param-sets:prod"]
    assert dev.ok and dev.kind == "parameters" and dev.using == "./main.bicep"
    assert dev.values == {"environment": "dev", "replicas": 1, "tags": {"costCenter": "dev-42"}}
    assert prod.values == {"environment": "prod", "replicas": 3}
    assert any("tags is an expression" in w for w in prod.warnings)


def test_a_file_that_takes_too_long_is_stopped_with_a_message(tmp_path):
    path = tmp_path / "main.bicep"
    path.write_text("".join(f"param p{i} string = 'v{i}'\n" for i in range(20000)))
    result = read_template_file(path, name="slow", seconds=0.000001)
    assert not result.ok
    assert "took longer than" in result.error


def test_a_file_over_the_size_limit_is_not_read(tmp_path, monkeypatch):
    import provisioning.bicep.catalog as catalog

    path = tmp_path / "main.bicep"
    path.write_text("param a string\n" * 10)
    monkeypatch.setattr(catalog, "MAX_BYTES", 50)
    result = read_template_file(path, name="big")
    assert not result.ok and "not read" in result.error


def test_files_read_from_a_thread_are_read_in_a_child_process_with_the_same_results():
    import threading

    items = [(path, name, path.relative_to(CORPUS).as_posix()) for path, name, _ in scan_folder(CORPUS)][:6]
    from provisioning.bicep.catalog import read_template_files

    found = {}
    thread = threading.Thread(target=lambda: found.update(results=read_template_files(items)))
    thread.start()
    thread.join()
    assert [r.as_dict() for r in found["results"]] == [RESULTS[name].as_dict() for _, name, _ in items]

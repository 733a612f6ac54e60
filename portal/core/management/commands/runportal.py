"""Run the whole portal in the foreground: web server, Celery workers (one per PORTAL_WORKERS entry) and beat.

Prepares what is missing first (migrations, roles, demo data), prints the URL and the demo users,
and stops all three cleanly on Ctrl-C (SIGINT) or SIGTERM.
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.catalog.demo import DEMO_PASSWORD, DEMO_USERS

STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = "Run web, worker and scheduler together (the embedded default needs nothing else)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo data and users.")

    def handle(self, *args, host, port, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        if no_demo:
            call_command("sync_roles")
        else:
            call_command("load_demo", stdout=self.stdout)
            call_command("seed_sandbox", stdout=self.stdout)

        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload", "--skip-checks"],
            # One worker per PORTAL_WORKERS entry (the default queue; deployments): every queue is served,
            # and a long deployment never holds a thread that a health check is waiting for.
            **{name: [python, "-m", "celery", "-A", "portal", "worker", "--pool", "threads",
                      "--concurrency", str(spec["concurrency"]), "--queues", ",".join(spec["queues"]),
                      "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
               for name, spec in settings.PORTAL_WORKERS.items()},
            "beat": [python, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO"],
        }
        procs = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}

        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nPeak Portal is starting at {url}"))
        self.stdout.write(f"Cloud: {settings.PORTAL_CLOUD}   database: {settings.DATABASES['default']['ENGINE']}"
                          f"   broker: {settings.CELERY_BROKER_URL.split(':')[0]}")
        if not no_demo:
            self.stdout.write(f"Demo users (password '{DEMO_PASSWORD}' unless you chose another):")
            for username, role, full_name, _ in DEMO_USERS:
                self.stdout.write(f"  {username:<10} {role:<15} {full_name}")
        self.stdout.write("Press Ctrl-C to stop web, worker and scheduler.\n")
        self.stdout.flush()

        stopping = False

        def request_stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        exit_code = 0
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with code {proc.returncode}; stopping the others.")
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.2)
        self._stop(procs)
        if exit_code:
            sys.exit(exit_code)
        self.stdout.write("Stopped.")

    def _stop(self, procs):
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it.")
                proc.kill()
                proc.wait()

"""gunicorn for the portal's web process (#14). Every value can be overridden by the environment.

The root filesystem is read-only in the image: the heartbeat files go to /dev/shm (memory) and the
control socket is off (its default lives under $HOME)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Processes x threads = concurrent requests per pod. Requests mostly wait on PostgreSQL, so threads
# are cheap; processes use the cores. See README "Scaling in production".
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # within terminationGracePeriodSeconds
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))  # recycle workers, bounding slow leaks
max_requests_jitter = max_requests // 10
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else None)
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")  # only the ingress reaches the pod (NetworkPolicy)
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Django's logging (JSON lines with the request id) says what each request did; gunicorn's access log
# adds status and duration in the same shape.
access_log_format = ('{"logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
                     '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}')



def child_exit(server, worker):
    # Prometheus multiprocess mode: drop the live gauges of a worker that has gone.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

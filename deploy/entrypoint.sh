#!/bin/sh
# One image, every process (#14):  web | worker | beat | migrate | manage ARGS... | any command.
# Works with a read-only root filesystem: all state goes to $PORTAL_VAR_DIR (a volume) and /tmp.
set -eu
cd "$(dirname "$0")/.."

role="${1:-web}"
[ "$#" -gt 0 ] && shift

if [ -n "${PORTAL_VAR_DIR:-}" ] && ! mkdir -p "$PORTAL_VAR_DIR" 2>/dev/null; then
  echo "entrypoint: PORTAL_VAR_DIR=$PORTAL_VAR_DIR cannot be created; mount a writable volume there" >&2
  exit 78
fi
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  # Fresh per start: stale files of dead processes would be summed into the metrics.
  rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

case "$role" in
  web)
    exec gunicorn --config "${GUNICORN_CONFIG:-deploy/gunicorn.conf.py}" portal.wsgi "$@" ;;
  worker)
    # Every queue unless CELERY_QUEUES says (the manifests run one Deployment per queue: settings.PORTAL_WORKERS).
    exec celery -A portal worker --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${CELERY_CONCURRENCY:-4}" --queues "${CELERY_QUEUES:-celery,deployments}" \
      --without-gossip --without-mingle "$@" ;;
  beat)
    # One beat in the whole deployment (the manifests run one replica with a Recreate strategy).
    exec celery -A portal beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${PORTAL_VAR_DIR:-/tmp}/celerybeat-schedule" "$@" ;;
  migrate)
    python manage.py migrate --noinput
    exec python manage.py sync_roles ;;
  manage)
    exec python manage.py "$@" ;;
  *)
    exec "$role" "$@" ;;
esac

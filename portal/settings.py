"""Peak Portal settings: everything from environment variables (12-factor).

Two modes:
- embedded (default): SQLite and a broker under var/, the sandbox cloud, DEBUG on. Needs nothing.
- production (PORTAL_MODE=production): DEBUG off; SECRET_KEY and ALLOWED_HOSTS are required;
  secure cookies and HSTS. Point DATABASE_URL at PostgreSQL and CELERY_BROKER_URL at Redis.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Writable state of the embedded default (SQLite files, generated key, beat schedule). Settings create
# it only when the embedded default actually keeps something there, never in production (#14: the
# image runs with a read-only root filesystem and PORTAL_VAR_DIR on a volume).
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def embedded_var_dir():
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PORTAL_MODE = os.environ.get("PORTAL_MODE", "embedded").strip().lower()
if PORTAL_MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"PORTAL_MODE must be 'embedded' or 'production', not {PORTAL_MODE!r}")
PRODUCTION = PORTAL_MODE == "production"

# Which cloud the backends talk to: the deterministic local sandbox, or real Azure.
PORTAL_CLOUD = os.environ.get("PORTAL_CLOUD", "sandbox").strip().lower()
if PORTAL_CLOUD not in {"sandbox", "azure"}:
    raise ImproperlyConfigured(f"PORTAL_CLOUD must be 'sandbox' or 'azure', not {PORTAL_CLOUD!r}")
AZURE_SUBSCRIPTION_ID = os.environ.get("AZURE_SUBSCRIPTION_ID", "")
AZURE_TENANT_ID = os.environ.get("AZURE_TENANT_ID", "")
AZURE_LOCATION = os.environ.get("AZURE_LOCATION", "eastus")

# Issue #10: one backend registry (portal/core/backends.py). A factory per kind, by dotted path, resolved
# once with import_string; PORTAL_CLOUD picks the set, PORTAL_BACKENDS (JSON) replaces single entries.
PORTAL_BACKEND_SETS = {
    "sandbox": {
        "cloud": "portal.deployments.backends.sandbox_cloud",
        "cluster": "portal.deployments.backends.sandbox_cluster",
        "rbac": "portal.access.backends.sandbox_rbac",
        "resource_health": "portal.health.backends.sandbox_resource_health",
        "cost": "portal.costs.backends.sandbox_cost",
        "discovery": "portal.catalog.discovery.sandbox_discovery",
    },
    "azure": {
        "cloud": "portal.deployments.backends.azure_cloud",
        "cluster": "portal.deployments.backends.kubernetes_cluster",
        "rbac": "portal.access.backends.azure_rbac",
        "resource_health": "portal.health.backends.azure_resource_health",
        "cost": "portal.costs.backends.azure_cost",
        "discovery": "portal.catalog.discovery.azure_discovery",
    },
}
PORTAL_BACKENDS = {**PORTAL_BACKEND_SETS[PORTAL_CLOUD], **json.loads(os.environ.get("PORTAL_BACKENDS", "{}"))}
# How long an environment's resources read from Azure are used before they are read again.
PORTAL_DISCOVERY_MAX_AGE_MINUTES = int(os.environ.get("PORTAL_DISCOVERY_MAX_AGE_MINUTES", "15"))

DEBUG = env_bool("DEBUG", default=not PRODUCTION)

# Templates and deployments.
PORTAL_BICEP_ROOT = Path(os.environ.get("PORTAL_BICEP_ROOT", BASE_DIR / "bicep"))
# #12: where git template sources are fetched to (a bare repository and one folder per commit read).
PORTAL_SOURCES_DIR = Path(os.environ.get("PORTAL_SOURCES_DIR", VAR_DIR / "sources"))
PORTAL_BICEP = os.environ.get("PORTAL_BICEP", "")  # the Bicep CLI: a path to `bicep` or `az`; else looked up on PATH
PORTAL_DEPLOYMENT_POLL_SECONDS = float(os.environ.get("PORTAL_DEPLOYMENT_POLL_SECONDS",
                                                      "10" if PORTAL_CLOUD == "azure" else "1"))
PORTAL_DEPLOYMENT_LEASE_SECONDS = int(os.environ.get("PORTAL_DEPLOYMENT_LEASE_SECONDS", "60"))
PORTAL_DEPLOYMENT_MAX_SECONDS = int(os.environ.get("PORTAL_DEPLOYMENT_MAX_SECONDS", str(6 * 3600)))
# The sandbox cloud: how long a resource takes (seconds, scaled by speed; 0 = instant) and faults to
# inject, as JSON: [{"match": "cold-*", "kind": "fail", "code": "Conflict", "message": "..."}].
PORTAL_SANDBOX_SPEED = float(os.environ.get("PORTAL_SANDBOX_SPEED", "1"))
PORTAL_SANDBOX_SECONDS_PER_RESOURCE = (1.0, 4.0)
PORTAL_SANDBOX_FAULTS = json.loads(os.environ.get("PORTAL_SANDBOX_FAULTS", "[]"))
# Health checks: a check red this long tells its owner team (once, and again when it recovers); agent
# health endpoints are probed at PORTAL_HEALTH_URL_TEMPLATE ({agent}, {environment}, {path}), when set.
PORTAL_HEALTH_ALERT_AFTER_MINUTES = int(os.environ.get("PORTAL_HEALTH_ALERT_AFTER_MINUTES", "10"))
PORTAL_HEALTH_URL_TEMPLATE = os.environ.get("PORTAL_HEALTH_URL_TEMPLATE", "")
PORTAL_HEALTH_HTTP_TIMEOUT = float(os.environ.get("PORTAL_HEALTH_HTTP_TIMEOUT", "5"))
PORTAL_HEALTH_RESTART_THRESHOLD = int(os.environ.get("PORTAL_HEALTH_RESTART_THRESHOLD", "3"))  # per hour
PORTAL_HEALTH_HISTORY_DAYS = int(os.environ.get("PORTAL_HEALTH_HISTORY_DAYS", "8"))
PORTAL_PLATFORM_TEAM = os.environ.get("PORTAL_PLATFORM_TEAM", "platform")  # told about pools and shared resources
PORTAL_RBAC_HISTORY_DAYS = int(os.environ.get("PORTAL_RBAC_HISTORY_DAYS", "30"))

# Costs: months the first ingest of an environment backfills, the longest Cost Management throttling
# wait a worker sleeps through (longer ones become a task retry), the Retail Prices API's region.
PORTAL_COST_BACKFILL_MONTHS = int(os.environ.get("PORTAL_COST_BACKFILL_MONTHS", "5"))
PORTAL_COST_MAX_THROTTLE_WAIT = float(os.environ.get("PORTAL_COST_MAX_THROTTLE_WAIT", "60"))
PORTAL_PRICES_REGION = os.environ.get("PORTAL_PRICES_REGION", AZURE_LOCATION)
# Finished cost ingest runs kept this many days (#11: the hourly sweep adds 24 per environment a day); each
# environment's last succeeded and last failed run stay, whatever their age (the pages show both).
PORTAL_COST_RUN_HISTORY_DAYS = int(os.environ.get("PORTAL_COST_RUN_HISTORY_DAYS", "30"))
# Issue #11: the stored showback is rebuilt when it is older than this, whatever else says it is fresh (a backstop
# for writes no updated_at records and for one committed while a build was reading; portal.costs.showback); a web
# process keeps a page's read of it at most this long.
PORTAL_SHOWBACK_MAX_AGE = int(os.environ.get("PORTAL_SHOWBACK_MAX_AGE", "600"))
# Issue #11: the tables of the cost dashboard, an environment's and a service's cost page are kept rendered per web
# process while the version of what they show holds (portal.costs.selectors.Versions: an ingest, a budget, a forecast,
# an agent or team edited moves it) and at most this many seconds (what no version records: a deletion); 0 keeps none.
PORTAL_COST_PAGE_SECONDS = int(os.environ.get("PORTAL_COST_PAGE_SECONDS", "600"))


def _secret_key():
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode refuses to start without one: "
            "set SECRET_KEY to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    # Embedded mode: one random key per installation, kept under var/.
    key_file = embedded_var_dir() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set. Production mode needs the portal's host names.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "portal.accounts",
    "portal.audit",
    "portal.catalog",
    "portal.deployments",
    "portal.health",
    "portal.access",
    "portal.costs",
    "portal.sources",  # #12: template sources (bicep/ and git repositories)
    "portal.core",
    "portal.api",  # issue 13
    "ninja",  # issue 13: the API docs page served from the package's static files, not a CDN
]

MIDDLEWARE = [
    "portal.core.middleware.HealthProbeMiddleware",  # issue #8: probes before redirects and host checks
    "portal.core.observability.RequestIdMiddleware",  # #14: first, so every log line of a request has its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.core.middleware.DomainErrorMiddleware",
    "portal.core.middleware.DatabaseUnavailableMiddleware",  # issue #8: 503 in a database outage
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.core.context_processors.portal",
            ],
        },
    },
]

# Forms render without maxlength: the server refuses text over a limit, the browser never cuts it (issue #9).
FORM_RENDERER = "portal.core.forms.PortalFormRenderer"

# Database: DATABASE_URL, or a SQLite file under var/ in WAL mode with a busy timeout, so the web
# server, the worker and the scheduler can share it.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections per thread for CONN_MAX_AGE seconds (#14: README, "Scaling in production").
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
                                                  conn_health_checks=True)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": embedded_var_dir() / "portal.sqlite3"}}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: the portal's statements are short; past a cost estimate of 100,000 PostgreSQL compiles them first,
    # which took one showback statement from 68 ms to 680 ms at 10,000 agents (#11). Options in the URL come after.
    pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    pg_options["options"] = " ".join(filter(None, ["-c jit=off", pg_options.get("options", "")]))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # A file, not memory, so a Celery worker thread and the live server see the same test database.
    # Per process, so two test runs on one machine never share (and break) one file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-portal-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
if not PRODUCTION and "STATIC_ROOT" not in os.environ:
    # WhiteNoise warns about a missing STATIC_ROOT; in embedded mode it is empty (files come from finders).
    (embedded_var_dir() / "staticfiles").mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "portal.core.storage.PortalStaticFilesStorage"  # #14: tolerates unshipped source maps
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Email (Django 6.1 MAILERS): SMTP in production or when EMAIL_HOST is set, else the console.
if PRODUCTION or os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:8000")  # for links in notifications
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "peak-portal@localhost")

# Celery. Default broker: kombu's SQLAlchemy transport on a SQLite file (no server needed).
# The database rows are the truth, so no result backend.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{embedded_var_dir() / 'broker.sqlite3'}"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Issue #10: long work does not block short work. A deployment's preview and run (a run polls ARM for up
# to PORTAL_DEPLOYMENT_MAX_SECONDS) go to a queue of their own; health, cost, RBAC and notifications stay on
# the default queue. `make run` starts one worker per entry of PORTAL_WORKERS, so between them every queue
# is served and neither waits for the other's threads.
CELERY_TASK_DEFAULT_QUEUE = "celery"
DEPLOYMENTS_QUEUE = "deployments"
CELERY_TASK_ROUTES = {
    "portal.deployments.tasks.preview_deployment": {"queue": DEPLOYMENTS_QUEUE},
    "portal.deployments.tasks.run_deployment": {"queue": DEPLOYMENTS_QUEUE},
}
PORTAL_WORKERS = {
    "worker": {"queues": [CELERY_TASK_DEFAULT_QUEUE], "concurrency": 4},
    "deployments": {"queues": [DEPLOYMENTS_QUEUE], "concurrency": int(os.environ.get("PORTAL_DEPLOYMENT_WORKERS", "4"))},
}
# The beat schedule lives in code (see README: why not django-celery-beat).
CELERY_BEAT_SCHEDULE = {
    "sync-environment-summaries": {
        "task": "portal.catalog.tasks.sync_all_environments",
        "schedule": crontab(minute="*/15"),
    },
    "expire-approvals": {
        "task": "portal.deployments.tasks.expire_approvals",
        "schedule": 60.0,
    },
    "resume-orphaned-deployments": {
        "task": "portal.deployments.tasks.resume_orphaned_deployments",
        "schedule": 30.0,
    },
    # Health checks, each kind on its own schedule (one task per environment), and the RBAC audit.
    "health-node-pools": {
        "task": "portal.health.tasks.health_sweep",
        "schedule": 120.0,
        "args": ("node-pool",),
        "options": {"expires": 110},
    },
    "health-workloads": {
        "task": "portal.health.tasks.health_sweep",
        "schedule": 60.0,
        "args": ("workload",),
        "options": {"expires": 55},
    },
    "health-http": {
        "task": "portal.health.tasks.health_sweep",
        "schedule": 120.0,
        "args": ("http",),
        "options": {"expires": 110},
    },
    "health-resource-health": {
        "task": "portal.health.tasks.health_sweep",
        "schedule": 300.0,
        "args": ("resource-health",),
        "options": {"expires": 290},
    },
    "health-alerts": {
        "task": "portal.health.tasks.evaluate_health_alerts",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "health-prune-history": {
        "task": "portal.health.tasks.prune_health_history",
        "schedule": crontab(minute=37),
    },
    "rbac-audit": {
        "task": "portal.access.tasks.audit_rbac_all",
        "schedule": crontab(minute="*/15"),
        "options": {"expires": 600},
    },
    "ingest-costs": {
        "task": "portal.costs.tasks.ingest_all_costs",
        "schedule": crontab(minute=7),
    },
    # #12: template sources are synced when due (each has its own interval in minutes).
    "sync-template-sources": {
        "task": "portal.sources.tasks.sync_due_sources",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# --- Issue 13: sign in with Entra ID (OpenID Connect), and the API for pipelines ----------------------
# Entra ID: configured by tenant id, client id and secret from the environment; "Sign in with Microsoft"
# shows when PORTAL_ENTRA_CLIENT_ID is set. PORTAL_ENTRA_AUTHORITY defaults to Entra's v2.0 endpoints for
# the tenant (tests point it at a local OpenID Connect provider).
PORTAL_ENTRA_TENANT_ID = os.environ.get("PORTAL_ENTRA_TENANT_ID", AZURE_TENANT_ID)
PORTAL_ENTRA_CLIENT_ID = os.environ.get("PORTAL_ENTRA_CLIENT_ID", "")
PORTAL_ENTRA_CLIENT_SECRET = os.environ.get("PORTAL_ENTRA_CLIENT_SECRET", "")
# Or a certificate instead of the secret: a PEM file holding the private key and the certificate.
PORTAL_ENTRA_CLIENT_CERTIFICATE = os.environ.get("PORTAL_ENTRA_CLIENT_CERTIFICATE", "")
PORTAL_ENTRA_AUTHORITY = os.environ.get(
    "PORTAL_ENTRA_AUTHORITY",
    f"https://login.microsoftonline.com/{PORTAL_ENTRA_TENANT_ID}/v2.0" if PORTAL_ENTRA_TENANT_ID else "")
_entra_base = PORTAL_ENTRA_AUTHORITY.rstrip("/").removesuffix("/v2.0")
_entra_is_microsoft = PORTAL_ENTRA_AUTHORITY.startswith("https://login.microsoftonline.com/")
PORTAL_ENTRA_ISSUER = os.environ.get("PORTAL_ENTRA_ISSUER", PORTAL_ENTRA_AUTHORITY.rstrip("/"))
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get(
    "PORTAL_ENTRA_AUTHORIZATION_ENDPOINT",
    f"{_entra_base}/oauth2/v2.0/authorize" if _entra_is_microsoft else f"{PORTAL_ENTRA_AUTHORITY}/auth")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get(
    "PORTAL_ENTRA_TOKEN_ENDPOINT",
    f"{_entra_base}/oauth2/v2.0/token" if _entra_is_microsoft else f"{PORTAL_ENTRA_AUTHORITY}/token")
PORTAL_ENTRA_JWKS_URL = os.environ.get(
    "PORTAL_ENTRA_JWKS_URL",
    f"{_entra_base}/discovery/v2.0/keys" if _entra_is_microsoft else f"{PORTAL_ENTRA_AUTHORITY}/jwks")
OIDC_OP_JWKS_ENDPOINT = PORTAL_ENTRA_JWKS_URL
OIDC_OP_USER_ENDPOINT = ""  # the ID token carries oid, tid, groups; userinfo does not
OIDC_RP_CLIENT_ID = PORTAL_ENTRA_CLIENT_ID
OIDC_RP_CLIENT_SECRET = PORTAL_ENTRA_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = "openid profile email"
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_STORE_ACCESS_TOKEN = False
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
OIDC_CALLBACK_CLASS = "portal.accounts.views.EntraCallbackView"
# Group object id -> role, as JSON: {"<guid>": "Engineer", "<guid>": "Approver", ...}.
PORTAL_ENTRA_GROUP_ROLES = json.loads(os.environ.get("PORTAL_ENTRA_GROUP_ROLES", "{}"))
PORTAL_ENTRA_GRAPH_URL = os.environ.get("PORTAL_ENTRA_GRAPH_URL", "https://graph.microsoft.com")
# Entra access tokens for the API: accepted audiences, and the scopes (scp) / app roles that give API scopes.
PORTAL_ENTRA_API_AUDIENCES = env_list("PORTAL_ENTRA_API_AUDIENCES") or (
    [PORTAL_ENTRA_CLIENT_ID, f"api://{PORTAL_ENTRA_CLIENT_ID}"] if PORTAL_ENTRA_CLIENT_ID else [])
PORTAL_ENTRA_API_SCOPES = json.loads(os.environ.get("PORTAL_ENTRA_API_SCOPES", json.dumps({
    "Portal.Read": ["read"], "Portal.Deploy": ["read", "deploy"], "Portal.Approve": ["read", "approve"]})))
# Password sign-in (the embedded demo, a break-glass admin): PORTAL_PASSWORD_LOGIN=0 turns it off.
PORTAL_PASSWORD_LOGIN = env_bool("PORTAL_PASSWORD_LOGIN", True)
PORTAL_BREAK_GLASS_USERS = env_list("PORTAL_BREAK_GLASS_USERS")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/entra/no-access/"
# Sessions end this many seconds after sign-in (default 8 hours), whatever the activity.
SESSION_COOKIE_AGE = int(os.environ.get("PORTAL_SESSION_MAX_AGE", str(8 * 3600)))
AUTHENTICATION_BACKENDS = ["portal.accounts.backends.PasswordBackend", "portal.accounts.backends.EntraBackend"]
# The API: requests per token per window (seconds); Django's cache counts them (use a shared cache,
# e.g. Redis, when several web processes serve the API).
PORTAL_API_RATE_LIMIT = int(os.environ.get("PORTAL_API_RATE_LIMIT", "300"))
PORTAL_API_RATE_WINDOW = int(os.environ.get("PORTAL_API_RATE_WINDOW", "60"))
NINJA_PAGINATION_CLASS = "portal.api.pagination.PagePagination"
# --- end of issue 13 ------------------------------------------------------------------------------
# Issue #8: the outbox (portal/core/outbox.py) and database outages. Every task is first a row; the
# sweep publishes rows not started, a started row whose worker stops renewing its lease is queued
# again, tasks meeting a database error retry with backoff capped at PORTAL_TASK_DB_RETRY_MAX_SECONDS.
PORTAL_OUTBOX_SWEEP_SECONDS = float(os.environ.get("PORTAL_OUTBOX_SWEEP_SECONDS", "15"))
PORTAL_OUTBOX_LEASE_SECONDS = float(os.environ.get("PORTAL_OUTBOX_LEASE_SECONDS", "60"))
PORTAL_OUTBOX_REDISPATCH_SECONDS = float(os.environ.get("PORTAL_OUTBOX_REDISPATCH_SECONDS", "120"))
PORTAL_OUTBOX_KEEP_DAYS = int(os.environ.get("PORTAL_OUTBOX_KEEP_DAYS", "7"))
PORTAL_TASK_DB_RETRY_MAX_SECONDS = float(os.environ.get("PORTAL_TASK_DB_RETRY_MAX_SECONDS", "3"))
PORTAL_RETRY_AFTER_SECONDS = int(os.environ.get("PORTAL_RETRY_AFTER_SECONDS", "5"))  # the 503 page's Retry-After
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
CELERY_BEAT_SCHEDULE["outbox-sweep"] = {
    "task": "portal.core.tasks.outbox_sweep",
    "schedule": PORTAL_OUTBOX_SWEEP_SECONDS,
    "options": {"expires": PORTAL_OUTBOX_SWEEP_SECONDS},
}

# Observability (#14): JSON log lines (one object per line, with request_id, run_id, task_id and the
# trace ids) in production or with PORTAL_LOG_FORMAT=json; plain lines, with the ids, otherwise.
# Traces go to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set; /metrics
# serves Prometheus, behind a bearer token when PORTAL_METRICS_TOKEN is set.
PORTAL_LOG_FORMAT = os.environ.get("PORTAL_LOG_FORMAT", "json" if PRODUCTION else "plain").strip().lower()
PORTAL_SERVICE_NAME = os.environ.get("OTEL_SERVICE_NAME", "peak-portal")
PORTAL_METRICS_TOKEN = os.environ.get("PORTAL_METRICS_TOKEN", "")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "portal.core.observability.ContextFilter"},
        "forbidden_without_traceback": {"()": "portal.core.logging.ForbiddenWithoutTraceback"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s run=%(run_id)s]: %(message)s"},
        "json": {"()": "portal.core.observability.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if PORTAL_LOG_FORMAT == "json" else "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Issue #10: a missing Azure credential is reported once, in a sentence (NO_CREDENTIAL_MESSAGE), not as
    # DefaultAzureCredential's warning listing every credential it tried, on every call.
    "loggers": {"django.db.backends": {"level": "INFO"}, "azure.identity": {"level": "ERROR"},
                # Issue #9: one line per 403, once (not propagated twice), without a traceback.
                "django.request": {"handlers": ["console"], "level": "WARNING", "propagate": False,
                                   "filters": ["context", "forbidden_without_traceback"]}},
}

# Production hardening; `python manage.py check --deploy` passes with these.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Issue #11 (scale): summary syncs kept this many days (beat adds 96 per environment a day); rows per
# page of the long lists; log lines a poll of a run sends at most.
PORTAL_SYNC_HISTORY_DAYS = int(os.environ.get("PORTAL_SYNC_HISTORY_DAYS", "7"))
PORTAL_PAGE_SIZE = int(os.environ.get("PORTAL_PAGE_SIZE", "50"))
# The home page's and the health overview's counts of placements and checks per environment, and each page of an
# environment's health board, are read at most once in this many seconds per web process (#11); 0 reads every view.
PORTAL_SUMMARY_SECONDS = int(os.environ.get("PORTAL_SUMMARY_SECONDS", "10"))
PORTAL_LOG_PAGE_LINES = int(os.environ.get("PORTAL_LOG_PAGE_LINES", "500"))
# Issue 8 (production mode that holds, branch i8b): trusted proxies, login throttling, CSP.
# The client IP comes from X-Forwarded-For only through these proxies: '' (none: REMOTE_ADDR), a count
# ("1": one gateway in front), or comma-separated networks ("10.0.0.0/8,fd00::/8").
from portal.core.client_ip import parse_trusted_proxies  # noqa: E402

PORTAL_TRUSTED_PROXIES = parse_trusted_proxies(os.environ.get("PORTAL_TRUSTED_PROXIES", ""))

# Login throttling (django-axes): after PORTAL_LOGIN_FAILURE_LIMIT failed sign-ins for one username, or from one
# client IP (through the trusted proxies above: behind a gateway set PORTAL_TRUSTED_PROXIES, or every client shares
# the gateway's address), sign-in is refused for PORTAL_LOGIN_COOLOFF_MINUTES. Failures and lockouts are audited.
from datetime import timedelta  # noqa: E402

INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *AUTHENTICATION_BACKENDS]  # axes first
AXES_FAILURE_LIMIT = int(os.environ.get("PORTAL_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("PORTAL_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "portal.core.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the cool-off is what the page says, not more
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # lockouts are warnings; every successful sign-in is not news

# Content-Security-Policy (Django's own middleware): scripts and styles from the portal only, each tag with the
# request's nonce; no inline handlers, styles or javascript: URLs anywhere (tests/core/test_csp.py).
from django.utils.csp import CSP  # noqa: E402

MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "django.middleware.csp.ContentSecurityPolicyMiddleware")
TEMPLATES[0]["OPTIONS"]["context_processors"].append("django.template.context_processors.csp")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}


# Bad input is a 4xx, never a 500 (tests/core/test_fuzz.py): NUL characters and ids past any row's are refused early.
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "portal.core.middleware.BadInputMiddleware")

"""Settings for `make bench`: the portal's own, served as in production (DEBUG off), plus a baseline
page and a middleware that reports each response's SQL in headers. Not used by the portal or CI."""

import os

os.environ.setdefault("DEBUG", "0")
# The API's lists are loaded by 20 clients at once: measure them, not the per-token rate limit (still counted).
os.environ.setdefault("PORTAL_API_RATE_LIMIT", "1000000")

from portal.settings import *  # noqa: E402,F401,F403
from portal.settings import MIDDLEWARE  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "bench.urls"
MIDDLEWARE = ["bench.middleware.QueryCountMiddleware", *MIDDLEWARE]
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "WARNING"}}

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Traces (#14): instrument Django before the handler loads its middleware. Under gunicorn this runs in
# each worker process, after the fork, as the exporter's threads need.
import django  # noqa: E402

django.setup(set_prefix=False)
from portal.core.observability import configure_tracing  # noqa: E402

configure_tracing(service_role="web")
application = get_wsgi_application()

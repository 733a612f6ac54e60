"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from kombu.transport import sqlalchemy as kombu_sqla

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# The embedded broker (kombu's SQLAlchemy transport on SQLite): its transport options go straight
# to create_engine(), so the polling interval is set on the class instead.
kombu_sqla.Transport.polling_interval = 0.1

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # portal/<app>/tasks.py of every installed app

"""The Celery application.

With no broker configured, tasks run eagerly in the calling process (the embedded default); set
``CELERY_BROKER_URL`` to a Redis URL to run them on workers.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("scrutiny")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

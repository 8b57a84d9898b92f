"""The Celery application.

With no broker configured, tasks run eagerly in the calling process (the embedded default); set
``CELERY_BROKER_URL`` to a Redis URL to run them on workers.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django's task class gives every task delay_on_commit: queued only once the transaction that
# asked for it commits, so a rolled-back request sends nothing.
app = Celery("scrutiny", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

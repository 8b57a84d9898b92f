"""Celery entry points for casework: they load ids and call services, nothing more."""

from typing import Any

from celery import shared_task

from audit.actors import system_actor
from casework import services
from casework.services.notices import EmailNotSent

# A failed e-mail is tried again this many times by its task, 30 s, 1 and 2 minutes apart, then
# left to the sweep, which tries further apart.
EMAIL_TASK_RETRIES = 3
EMAIL_TASK_FIRST_DELAY = 30


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=EMAIL_TASK_RETRIES)
def email_notification(self: Any, notification_id: int) -> str:
    """E-mail a sent notice to its subject, once (see casework.services.notices)."""
    try:
        return services.email_notice(notification_id, actor=system_actor()).value
    except EmailNotSent as exc:
        if self.request.is_eager:
            # In-process, a retry would only hammer the mail server at once: the sweep does it.
            raise
        countdown = EMAIL_TASK_FIRST_DELAY * 2**self.request.retries
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_notifications() -> int:
    return services.send_due_notifications(actor=system_actor())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def email_unsent_notices() -> int:
    return services.email_unsent_notices(actor=system_actor())

"""Celery entry points for casework: they load ids and call services, nothing more."""

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.actors import system_actor
from casework import services
from casework.models import Notification


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=5)
def email_notification(notification_id: int) -> bool:
    """E-mail a sent notice to its subject, where their account has an address. Idempotent:
    a notice is e-mailed at most once. True when an e-mail went."""
    with transaction.atomic():
        notice = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("subject__user", "case")
            .filter(pk=notification_id, sent_at__isnull=False, emailed_at=None)
            .first()
        )
        user = notice.subject.user if notice is not None else None
        if notice is None or user is None or not user.email:
            return False
        body = render_to_string("casework/email/notification.txt", {"notice": notice})
        send_mail(notice.get_kind_display(), body, None, [user.email])
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
    return True


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_due_notifications() -> int:
    return services.send_due_notifications(actor=system_actor())

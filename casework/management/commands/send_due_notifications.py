from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import system_actor
from casework.services import email_unsent_notices, send_due_notifications


class Command(BaseCommand):
    help = (
        "Send every notice to a subject that has fallen due, and try again to e-mail those whose "
        "e-mail failed (run on a schedule where Celery beat does not)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_due_notifications(actor=system_actor())
        emailed = email_unsent_notices(actor=system_actor())
        self.stderr.write(f"Sent {sent} notice(s); e-mailed {emailed} owed from earlier.")

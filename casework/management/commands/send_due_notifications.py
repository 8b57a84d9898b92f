from typing import Any

from django.core.management.base import BaseCommand

from audit.actors import system_actor
from casework.services import send_due_notifications


class Command(BaseCommand):
    help = "Send every notice to a subject that has fallen due (run on a schedule without beat)."

    def handle(self, *args: Any, **options: Any) -> None:
        sent = send_due_notifications(actor=system_actor())
        self.stderr.write(f"Sent {sent} notice(s).")

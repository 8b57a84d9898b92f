from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.log import verify_stored_chain


class Command(BaseCommand):
    help = "Recompute the audit hash chain; exit 0 when intact, 1 naming the first bad event."

    def handle(self, *args: Any, **options: Any) -> None:
        check = verify_stored_chain()
        if not check.intact:
            self.stdout.write(
                f"Audit chain BROKEN at sequence number {check.first_bad_seq}: {check.problem}.\n"
                f"Intact events before it: {check.count}; last good hash: {check.head_hash}"
            )
            raise CommandError(f"audit chain broken at seq {check.first_bad_seq}", returncode=1)
        self.stdout.write(
            f"Audit chain intact: {check.count} events; head seq {check.head_seq}, "
            f"hash {check.head_hash}"
        )

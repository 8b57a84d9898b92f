from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.chain import ChainCheck
from audit.insert_only import RowCheck, verify_rows
from audit.log import verify_stored_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain, and the row hashes of the insert-only tables its events "
        "recorded; exit 0 when both hold, 1 naming each bad event by its sequence number."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        chain = verify_stored_chain()
        rows = verify_rows()
        self.report_chain(chain)
        self.report_rows(rows)
        failures = []
        if not chain.intact:
            failures.append(f"audit chain broken at seq {chain.first_bad_seq}")
        if not rows.intact:
            failures.append(rows_summary(rows))
        if failures:
            raise CommandError("; ".join(failures), returncode=1)

    def report_chain(self, check: ChainCheck) -> None:
        if check.intact:
            self.stdout.write(
                f"Audit chain intact: {check.count} events; head seq {check.head_seq}, "
                f"hash {check.head_hash}"
            )
        else:
            self.stdout.write(
                f"Audit chain BROKEN at sequence number {check.first_bad_seq}: {check.problem}.\n"
                f"Intact events before it: {check.count}; last good hash: {check.head_hash}"
            )

    def report_rows(self, check: RowCheck) -> None:
        counts = ", ".join(f"{label} {count}" for label, count in check.rows.items())
        if check.intact:
            self.stdout.write(f"Insert-only rows match the audit log: {counts}")
            return
        self.stdout.write(f"Insert-only rows DIFFER from the audit log ({counts}):")
        for problem in check.problems:
            self.stdout.write(f"- {problem.description}")


def rows_summary(check: RowCheck) -> str:
    seqs = [str(p.seq) for p in check.problems if p.seq is not None]
    unrecorded = sum(1 for p in check.problems if p.seq is None)
    parts = []
    if seqs:
        parts.append(f"insert-only rows differ from audit events at seq {', '.join(seqs)}")
    if unrecorded:
        parts.append(f"{unrecorded} insert-only rows recorded by no audit event")
    return "; ".join(parts)

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import UnknownActor, command_actor
from flags.workforce import (
    WorkforceFileError,
    WorkforceImportError,
    import_workforce,
    read_workforce_file,
)


class Command(BaseCommand):
    help = "Load or update the workforce register from an HR extract (CSV with a header row)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--actor", help="Username of the administrator running the import.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            actor = command_actor(options["actor"])
            rows, sha256 = read_workforce_file(path)
            summary = import_workforce(rows, actor=actor, source=path.name, source_sha256=sha256)
        except (WorkforceFileError, WorkforceImportError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Applied {path.name}: {summary.rows} rows; {summary.created} created, "
            f"{summary.updated} updated, {summary.unchanged} unchanged."
        )

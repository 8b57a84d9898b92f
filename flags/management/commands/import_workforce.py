import io
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import UnknownActor, command_actor
from flags.workforce import WorkforceImportError, file_sha256, import_workforce, parse_workforce_csv


class Command(BaseCommand):
    help = "Load or update the workforce register from an HR extract (CSV with a header row)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--actor", help="Username of the administrator running the import.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text: {exc}") from exc
        try:
            actor = command_actor(options["actor"])
            rows = parse_workforce_csv(io.StringIO(text, newline=""))
            summary = import_workforce(
                rows, actor=actor, source=path.name, source_sha256=file_sha256(data)
            )
        except (WorkforceImportError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Applied {path.name}: {summary.rows} rows; {summary.created} created, "
            f"{summary.updated} updated, {summary.unchanged} unchanged."
        )

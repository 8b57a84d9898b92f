from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from audit.actors import UnknownActor, command_actor
from flags.services import DetectorError, register_detector


class Command(BaseCommand):
    help = (
        "Register a detector and print its API token (shown once; only its hash is kept) "
        "and when the token expires."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--detector-version", default="", help="Its current version.")
        parser.add_argument(
            "--token-days",
            type=int,
            metavar="N",
            help="Its token lasts N days (default and at most API_TOKEN_MAX_DAYS).",
        )
        parser.add_argument("--actor", help="Username of the administrator registering it.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            validate_slug(options["slug"])
        except ValidationError as exc:
            raise CommandError(f"Slug {options['slug']!r}: {' '.join(exc.messages)}") from exc
        try:
            detector, issued = register_detector(
                options["slug"],
                name=options["name"],
                owner=options["owner"],
                description=options["description"],
                version=options["detector_version"],
                token_days=options["token_days"],
                actor=command_actor(options["actor"]),
            )
        except (DetectorError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"Registered detector {detector.slug}. Its API token (shown once), valid until "
            f"{issued.record.expiry_text()}:"
        )
        self.stdout.write(issued.token)

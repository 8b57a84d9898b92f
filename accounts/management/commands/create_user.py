from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.password_files import read_password_file
from accounts.roles import GROUP_ROLES
from accounts.services import AccountError, create_user, issue_personal_token
from audit.actors import Role, UnknownActor, command_actor
from flags.models import Subject


class Command(BaseCommand):
    help = (
        "Create a user with a role, linked to a person in the workforce register where given. "
        "With --token, print a personal API token (shown once; only its hash is kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[r.value for r in GROUP_ROLES])
        parser.add_argument("--subject", metavar="STAFF_NUMBER", help="Link to this person.")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="A file holding the password (first line). Without it the account cannot "
            "sign in to the pages; it may still use an API token.",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--token", action="store_true", help="Also issue an API token.")
        parser.add_argument(
            "--token-days",
            type=int,
            metavar="N",
            help="The token lasts N days (default API_TOKEN_DEFAULT_DAYS, at most "
            "API_TOKEN_MAX_DAYS).",
        )
        parser.add_argument("--actor", help="Username of the administrator creating it.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["token_days"] is not None and not options["token"]:
            raise CommandError("--token-days applies to a token: give --token too.")
        subject = None
        if options["subject"]:
            subject = Subject.objects.filter(staff_number=options["subject"]).first()
            if subject is None:
                raise CommandError(f"No subject has staff number {options['subject']!r}.")
        password = None
        if options["password_file"]:
            password = read_password_file(options["password_file"])
        try:
            actor = command_actor(options["actor"])
            with transaction.atomic():
                user = create_user(
                    options["username"],
                    role=Role(options["role"]),
                    subject=subject,
                    password=password,
                    email=options["email"],
                    actor=actor,
                )
                issued = (
                    issue_personal_token(user, actor=actor, days=options["token_days"])
                    if options["token"]
                    else None
                )
        except (AccountError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Created {user.get_username()} ({options['role']}).")
        if issued is not None:
            self.stderr.write(
                f"Their personal API token (shown once), valid until {issued.record.expiry_text()}:"
            )
            self.stdout.write(issued.token)

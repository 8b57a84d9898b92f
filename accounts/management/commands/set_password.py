from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.password_files import read_password_file
from accounts.services import AccountError, set_password
from audit.actors import UnknownActor, command_actor


class Command(BaseCommand):
    help = (
        "Set a user's password from a file (first line), audited. The admin changes no "
        "password: this is where an administrator resets one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password-file", type=Path, required=True)
        parser.add_argument("--actor", help="Username of the administrator setting it.")
        parser.add_argument("--reason", default="password reset by an administrator")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user {options['username']!r}.")
        password = read_password_file(options["password_file"])
        try:
            set_password(
                user, password, actor=command_actor(options["actor"]), reason=options["reason"]
            )
        except (AccountError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Set the password of {user.get_username()}.")

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import AccountError, revoke_personal_token
from audit.actors import UnknownActor, command_actor


class Command(BaseCommand):
    help = "Revoke a personal API token, named by its first characters (at least 8)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")
        parser.add_argument("--actor", help="Username of the administrator revoking it.")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"][:12]
        if len(prefix) < 8:
            raise CommandError("Give at least the token's first 8 characters.")
        try:
            token = revoke_personal_token(prefix, actor=command_actor(options["actor"]))
        except (AccountError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Revoked {token.prefix}… of user {token.user_id}.")

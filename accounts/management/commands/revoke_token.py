from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import UnknownActor, command_actor
from tokens.services import PREFIX_LENGTH, TokenError, live_token_with_prefix, revoke_token


class Command(BaseCommand):
    help = (
        "Revoke an API token, a person's or a detector's, named by its first characters "
        "(at least 8)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")
        parser.add_argument("--actor", help="Username of the administrator revoking it.")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"][:PREFIX_LENGTH]
        if len(prefix) < 8:
            raise CommandError("Give at least the token's first 8 characters.")
        try:
            actor = command_actor(options["actor"])
            token = revoke_token(live_token_with_prefix(prefix), actor=actor)
        except (TokenError, UnknownActor) as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Revoked {token.prefix}… of user {token.user.get_username()}.")

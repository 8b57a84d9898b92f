"""``manage.py seed_demo_users``: a sign-in for each role, for the demonstration site.

Reviewers are linked to people in the synthetic force's Professional Standards unit, so the
conflict check treats them as staff: they never see cases about their own unit or chain of
command. Running it again keeps the users and writes fresh passwords.
"""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import AccountError, create_user, set_password
from audit.actors import Actor, Role, UnknownActor, command_actor
from flags.management.commands.seed_demo import write_private
from flags.models import Subject

DEMO_USERS: tuple[tuple[str, Role, bool], ...] = (
    # username, role, linked to a person in Professional Standards
    ("reviewer1", Role.REVIEWER, True),
    ("reviewer2", Role.REVIEWER, True),
    ("senior1", Role.SENIOR_REVIEWER, True),
    ("senior2", Role.SENIOR_REVIEWER, True),
    ("steward1", Role.DATA_STEWARD, False),
    ("oversight1", Role.OVERSIGHT, False),
)
STANDARDS_UNIT = "Professional Standards"


class Command(BaseCommand):
    help = "Create a demonstration user for each role and write their passwords to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--users-file",
            type=Path,
            default=Path(settings.BASE_DIR) / ".demo-users",
            help="where the sign-ins are written, one 'role username password' a line",
        )
        parser.add_argument("--actor", help="username of the administrator doing the set-up")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo_users runs only with DEBUG=true: it sets passwords.")
        try:
            actor = command_actor(options["actor"])
        except UnknownActor as exc:
            raise CommandError(str(exc)) from exc
        unlinked = Subject.objects.filter(active=True, user__isnull=True).order_by("staff_number")
        # Professional Standards staff first; in a small force there may be too few, and every
        # reviewer must be someone in the register.
        staff = [
            *unlinked.filter(unit__icontains=STANDARDS_UNIT),
            *unlinked.exclude(unit__icontains=STANDARDS_UNIT)[:10],
        ]
        lines = [
            "# Scrutiny demo sign-ins, written by manage.py seed_demo_users: role username password"
        ]
        for username, role, linked in DEMO_USERS:
            password = secrets.token_urlsafe(12)
            subject = staff.pop(0) if linked and staff else None
            try:
                self._ensure(username, role, subject, password, actor=actor)
            except AccountError as exc:
                raise CommandError(f"{username}: {exc}") from exc
            lines.append(f"{role.value} {username} {password}")
        write_private(options["users_file"], "\n".join(lines) + "\n")
        self.stdout.write(f"Demo sign-ins for each role are in {options['users_file']}.")

    def _ensure(
        self, username: str, role: Role, subject: Subject | None, password: str, *, actor: Actor
    ) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            create_user(username, role=role, subject=subject, password=password, actor=actor)
        else:
            set_password(user, password, actor=actor, reason="demo set-up")

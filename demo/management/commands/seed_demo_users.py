"""``manage.py seed_demo_users``: a sign-in and a personal API token for each role.

Reviewers are linked to people in the synthetic force's Professional Standards unit, so the
conflict check treats them as staff: they never see cases about their own unit or chain of
command. The subject is linked to a person with a case whose opening notice has been sent, so
they have a notice to read. Running it again keeps every password and token in the users file
that still works, and replaces only those that do not.
"""

import enum
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from accounts.services import AccountError, create_user, issue_personal_token, set_password
from audit.actors import Actor, Role, UnknownActor, command_actor, system_actor
from casework.models import NotificationKind
from casework.services import send_due_notifications
from demo.private_files import write_private
from flags.models import Subject
from tokens.services import TokenRefused, find_token

STANDARDS_UNIT = "Professional Standards"


class Link(enum.Enum):
    """Whom in the workforce register a demo user is."""

    NOBODY = "nobody"
    STAFF = "a member of Professional Standards with no case of their own"
    PERSON_WITH_A_CASE = "a person with a case whose opening notice has been sent"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    link: Link


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("reviewer1", Role.REVIEWER, Link.STAFF),
    DemoUser("reviewer2", Role.REVIEWER, Link.STAFF),
    DemoUser("senior1", Role.SENIOR_REVIEWER, Link.STAFF),
    DemoUser("senior2", Role.SENIOR_REVIEWER, Link.STAFF),
    DemoUser("steward1", Role.DATA_STEWARD, Link.NOBODY),
    DemoUser("oversight1", Role.OVERSIGHT, Link.NOBODY),
    DemoUser("subject1", Role.SUBJECT, Link.PERSON_WITH_A_CASE),
    DemoUser("representative1", Role.REPRESENTATIVE, Link.NOBODY),
    DemoUser("administrator1", Role.ADMINISTRATOR, Link.NOBODY),
)
HEADER = (
    "# Scrutiny demo sign-ins, written by manage.py seed_demo_users: role username password "
    "token (send the token as 'Authorization: Bearer <token>')"
)


@dataclass(frozen=True)
class SignIn:
    role: str
    username: str
    password: str
    token: str

    def line(self) -> str:
        return f"{self.role} {self.username} {self.password} {self.token}"


def read_sign_ins(path: Path) -> dict[str, SignIn]:
    """The sign-ins a previous run wrote, by username; lines that do not parse are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    held = {}
    for line in text.splitlines():
        fields = line.split()
        if line.lstrip().startswith("#") or len(fields) != 4:
            continue
        sign_in = SignIn(*fields)
        held[sign_in.username] = sign_in
    return held


def unlinked_people() -> QuerySet[Subject]:
    return Subject.objects.filter(active=True, user__isnull=True).order_by("staff_number")


def person_for(link: Link) -> Subject | None:
    """The next person in the register, not yet anyone's account, that ``link`` asks for."""
    people = unlinked_people()
    if link == Link.STAFF:
        # A reviewer with a live case of their own may see no cases at all; Professional
        # Standards first, but a small force may have too few.
        free = people.filter(cases__isnull=True)
        return (
            free.filter(unit__icontains=STANDARDS_UNIT).first()
            or free.exclude(unit__icontains=STANDARDS_UNIT).first()
        )
    if link == Link.PERSON_WITH_A_CASE:
        told = people.filter(
            notifications__kind=NotificationKind.CASE_OPENED,
            notifications__sent_at__isnull=False,
        )
        return told.first() or people.filter(cases__isnull=False).first()
    return None


def token_works(user: User, token: str) -> bool:
    try:
        return find_token(token).user_id == user.pk
    except TokenRefused:
        return False


class Command(BaseCommand):
    help = (
        "Create a demonstration user for each role, with a personal API token, and write their "
        "passwords and tokens to a file; keep those a previous run wrote that still work."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--users-file",
            type=Path,
            default=Path(settings.BASE_DIR) / ".demo-users",
            help="where the sign-ins are written, one 'role username password token' a line",
        )
        parser.add_argument("--actor", help="username of the administrator doing the set-up")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo_users runs only with DEBUG=true: it sets passwords.")
        try:
            actor = command_actor(options["actor"])
        except UnknownActor as exc:
            raise CommandError(str(exc)) from exc
        # What Celery beat would have done by now: the subject's opening notice may be due.
        sent = send_due_notifications(actor=system_actor())
        if sent:
            self.stdout.write(f"Sent {sent:,} notice(s) that had fallen due, as the system.")
        users_file: Path = options["users_file"]
        held = read_sign_ins(users_file)
        sign_ins = []
        for demo_user in DEMO_USERS:
            try:
                sign_ins.append(self._ensure(demo_user, held.get(demo_user.username), actor=actor))
            except AccountError as exc:
                raise CommandError(f"{demo_user.username}: {exc}") from exc
        write_private(users_file, "\n".join([HEADER, *(s.line() for s in sign_ins)]) + "\n")
        self.stdout.write(f"Demo sign-ins and API tokens for each role are in {users_file}.")

    def _ensure(self, demo_user: DemoUser, held: SignIn | None, *, actor: Actor) -> SignIn:
        user = get_user_model().objects.filter(username=demo_user.username).first()
        if user is None:
            password = held.password if held else secrets.token_urlsafe(12)
            user = self._create(demo_user, password, actor=actor)
        elif held and user.check_password(held.password):
            password = held.password
        else:
            password = secrets.token_urlsafe(12)
            set_password(user, password, actor=actor, reason="demo set-up")
        if held and token_works(user, held.token):
            token = held.token
        else:
            token = issue_personal_token(user, actor=actor).token
        return SignIn(demo_user.role.value, demo_user.username, password, token)

    def _create(self, demo_user: DemoUser, password: str, *, actor: Actor) -> User:
        person = person_for(demo_user.link)
        if demo_user.link != Link.NOBODY and person is None:
            self.stderr.write(
                f"{demo_user.username}: the register holds nobody who is {demo_user.link.value}; "
                "created without a record of their own."
            )
        return create_user(
            demo_user.username, role=demo_user.role, subject=person, password=password, actor=actor
        )

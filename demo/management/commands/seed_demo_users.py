"""``manage.py seed_demo_users``: a sign-in and a personal API token for each role.

Reviewers are linked to people in the synthetic force's Professional Standards unit, so the
conflict check treats them as staff: they never see cases about their own unit or chain of
command. The subject is linked to a person outside Professional Standards with no case and no flag
of their own, and given a case resting on single records: a clearly labelled demo detector
(``demo-payroll-check``, registered here) posts, through the same ingest service the API uses,
two overtime flags about them, each resting on one payroll claim of its own. The threshold
evaluation opens the case (the demo policy takes two such flags), and its opening notice is sent
when it falls due (at once with ``SUBJECT_NOTICE_DELAY_HOURS=0``, as ``make demo`` runs it), so
they have a notice to read and data to challenge; a data steward upholding a correction to either
record withdraws the case, as its data then no longer meets the threshold. The flags' ids, record
ids and dates are fixed by the person's staff number and the day the demo detector was
registered, so a second run posts them again only to be told they are duplicates.

The data steward is linked to a person with no case, outside the subject's unit and chain of
command, so that they pass the conflict check for the subject's challenges; nobody in the demo
has acted on the subject's case, so either senior reviewer may decide an escalation. No grant or
challenge is made here: the subject appoints the representative, and files a challenge, in the
demo. Running it again keeps every password and token in the users file that still works, and
replaces only those that do not; subject1 stays linked to the person they already are.

Last, it leaves two reports to download from ``/reports/``, each asked for through
``reports.services.request_report`` as the person would: an oversight report of the last 365 days
(to today) for ``oversight1``, and ``subject1``'s disclosure pack of their own record. With no
broker each renders in-process as soon as its request commits, so they are finished when the
command ends; with ``CELERY_BROKER_URL`` set they are queued for the worker. A user who already has
a report of that kind, finished or on its way (anything but failed), is asked for nothing new, so a
second run adds none.
"""

import enum
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone

from accounts.services import AccountError, create_user, issue_personal_token, set_password
from audit.actors import Actor, Role, UnknownActor, command_actor, system_actor
from casework.services import send_due_notifications
from demo.conclusions import conclude_demo_cases
from demo.private_files import write_private
from detectors.extracts import OVERTIME_SYSTEM
from flags.models import Category, Detector, RecordType, Subject
from flags.services import ItemOutcome, ingest_flags, register_detector
from reports.errors import ReportError
from reports.models import Report, ReportKind, ReportStatus
from reports.services import request_report
from tokens.services import TokenRefused, find_token, revoke_token

STANDARDS_UNIT = "Professional Standards"
# Where the data steward is looked for first: the owners of the records detectors read.
STEWARD_UNITS = ("Human Resources", "Business Support", "ICT")


class Link(enum.Enum):
    """Whom in the workforce register a demo user is."""

    NOBODY = "nobody"
    STAFF = "a member of Professional Standards with no case of their own"
    PERSON_WITH_A_CASE = (
        "a person outside Professional Standards with no case and no flag of their own, to be "
        "given a case resting on single evidence records"
    )
    STEWARD = (
        "a person with no case of their own, outside the unit and the chain of command of the "
        "demo subject's record"
    )


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
    DemoUser("steward1", Role.DATA_STEWARD, Link.STEWARD),
    DemoUser("oversight1", Role.OVERSIGHT, Link.NOBODY),
    DemoUser("subject1", Role.SUBJECT, Link.PERSON_WITH_A_CASE),
    DemoUser("representative1", Role.REPRESENTATIVE, Link.NOBODY),
    DemoUser("administrator1", Role.ADMINISTRATOR, Link.NOBODY),
)
DEMO_SUBJECT = "subject1"
DEMO_NAMES = [demo_user.username for demo_user in DEMO_USERS]
# The demo detector that gives the demo subject their case: set-up data, not analytics.
DEMO_DETECTOR_SLUG = "demo-payroll-check"
DEMO_DETECTOR_NAME = "Overtime claimed on a day of leave (demo set-up data)"
DEMO_DETECTOR_OWNER = "Scrutiny demo set-up"
DEMO_DETECTOR_DESCRIPTION = (
    "Demo set-up data, not a real detector: raised by manage.py seed_demo_users so that the demo "
    "subject has a case resting on single records, which one upheld correction withdraws. Each "
    "flag is an overtime claim for a day the duty roster shows as annual leave, and rests on that "
    "one claim alone."
)
DEMO_DETECTOR_VERSION = "1.0.0"
DEMO_RULE = "payroll.overtime_on_leave"
# The reports the demo leaves to download: who asks for which kind.
DEMO_REPORTS = (("oversight1", ReportKind.OVERSIGHT), (DEMO_SUBJECT, ReportKind.DISCLOSURE))
# The oversight report's period, as the oversight dashboard's default: the last 365 days to today.
DEMO_PERIOD_DAYS = 365
# Under the demo policy two overtime flags scoring 0.6 or more within 180 days open a case, and
# one alone (below its single-flag score of 0.9) does not.
DEMO_SCORE = 0.7


@dataclass(frozen=True)
class DemoClaim:
    """An overtime claim the demo detector flags: its number, and how many days before the
    detector was registered it was worked."""

    number: int
    days_before: int
    hours: float
    reason: str


DEMO_CLAIMS = (
    DemoClaim(1, 45, 10.0, "Public order cover at a football match"),
    DemoClaim(2, 17, 8.5, "Cover for a vacant response shift"),
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


def person_for(link: Link, *, apart_from: Subject | None = None) -> Subject | None:
    """The next person in the register, not yet anyone's account, that ``link`` asks for;
    ``apart_from`` is the demo subject's record, which nobody else may be and the data steward
    must stand apart from."""
    people = unlinked_people()
    if apart_from is not None:
        people = people.exclude(pk=apart_from.pk)
    if link == Link.STAFF:
        # A reviewer with a live case of their own may see no cases at all; Professional
        # Standards first, but a small force may have too few.
        free = people.filter(cases__isnull=True)
        return (
            free.filter(unit__icontains=STANDARDS_UNIT).first()
            or free.exclude(unit__icontains=STANDARDS_UNIT).first()
        )
    if link == Link.PERSON_WITH_A_CASE:
        return demo_subject_person(people)
    if link == Link.STEWARD:
        return steward_person(people, apart_from)
    return None


def demo_subject_person(people: QuerySet[Subject]) -> Subject | None:
    """Someone the reviewers may review (not in Professional Standards) with no case and no flag:
    the case the demo detector gives them then rests on its two records alone."""
    return (
        people.exclude(unit__icontains=STANDARDS_UNIT)
        .filter(cases__isnull=True, flags__isnull=True)
        .first()
    )


def demo_detector(*, actor: Actor) -> Detector:
    """The demo detector, registered on the first run and reused after. It posts in-process as
    its service user, so the API token registration issues is revoked at once: no token of it is
    left working that nobody holds."""
    detector = Detector.objects.filter(slug=DEMO_DETECTOR_SLUG).first()
    if detector is None:
        detector, issued = register_detector(
            DEMO_DETECTOR_SLUG,
            name=DEMO_DETECTOR_NAME,
            owner=DEMO_DETECTOR_OWNER,
            description=DEMO_DETECTOR_DESCRIPTION,
            version=DEMO_DETECTOR_VERSION,
            actor=actor,
        )
        revoke_token(issued.record, actor=actor)
    return detector


def demo_flags(person: Subject, registered_on: date) -> list[dict[str, Any]]:
    """The demo detector's flags about ``person``, as ingest items: one per claim in
    DEMO_CLAIMS, each resting on that claim alone. Everything in them follows from the staff
    number and the day the detector was registered, so they are the same on every run."""
    return [demo_flag(person.staff_number, claim, registered_on) for claim in DEMO_CLAIMS]


def demo_flag(staff_number: str, claim: DemoClaim, registered_on: date) -> dict[str, Any]:
    worked_on = registered_on - timedelta(days=claim.days_before)
    day = f"{worked_on.day} {worked_on:%B %Y}"
    return {
        "external_id": f"{DEMO_DETECTOR_SLUG}-{staff_number}-{claim.number}",
        "subject": staff_number,
        "category": Category.OVERTIME_FRAUD.value,
        "rule": DEMO_RULE,
        "detector_version": DEMO_DETECTOR_VERSION,
        "score": DEMO_SCORE,
        "explanation": (
            f"Claimed {claim.hours:g} hours of rest-day overtime on {day}, a day the duty roster "
            "shows as annual leave. The roster may not have been updated when the leave was "
            "cancelled; the claim is attached."
        ),
        "factors": [
            {"name": "roster_entry", "value": "annual leave", "weight": 1.0},
            {"name": "hours_claimed", "value": claim.hours, "weight": 0.0},
        ],
        "window": {"start": worked_on.isoformat(), "end": worked_on.isoformat()},
        "evidence": [
            {
                "source_system": OVERTIME_SYSTEM,
                "record_type": RecordType.OVERTIME.value,
                "record_id": f"DEMO-OT-{staff_number}-{claim.number}",
                "occurred_at": datetime.combine(worked_on, time(7), tzinfo=UTC).isoformat(),
                "summary": (
                    f"Overtime claim: {claim.hours:g} hours (rest day) on "
                    f"{worked_on.isoformat()}, {claim.reason.lower()}"
                ),
                "payload": {
                    "worked_on": worked_on.isoformat(),
                    "hours": claim.hours,
                    "claim_type": "rest_day",
                    "reason": claim.reason,
                    "authorised_by": "Duty inspector",
                },
            }
        ],
    }


def steward_person(people: QuerySet[Subject], subject: Subject | None) -> Subject | None:
    """Someone with no case, in a unit that owns records where the force has one, who would pass
    the conflict check for ``subject``: another unit, and neither above nor below them in the
    chain of command."""
    free = people.filter(cases__isnull=True).exclude(unit__icontains=STANDARDS_UNIT)
    if subject is not None:
        free = free.exclude(unit=subject.unit).exclude(pk__in=chain_above(subject))
    preferred = [free.filter(unit__icontains=unit) for unit in STEWARD_UNITS]
    for candidates in [*preferred, free]:
        for person in candidates[:50]:
            if subject is None or subject.pk not in chain_above(person):
                return person
    return None


def chain_above(person: Subject) -> set[int]:
    """The ids of everyone above ``person`` in the chain of command, to the top."""
    above: set[int] = set()
    manager_id = person.line_manager_id
    while manager_id is not None and manager_id not in above:
        above.add(manager_id)
        manager_id = (
            Subject.objects.filter(pk=manager_id).values_list("line_manager_id", flat=True).get()
        )
    return above


def opened_case(outcomes: list[ItemOutcome]) -> str:
    cases = sorted({outcome.case for outcome in outcomes if outcome.case is not None})
    return f", resting in case {', '.join(map(str, cases))}" if cases else ", opening no case"


def token_works(user: User, token: str) -> bool:
    try:
        return find_token(token).user_id == user.pk
    except TokenRefused:
        return False


class Command(BaseCommand):
    # The record subject1 is linked to (or will be, once created): set by handle().
    demo_subject: Subject | None = None
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
        users_file: Path = options["users_file"]
        held = read_sign_ins(users_file)
        # Whom subject1 is (or will be): the steward is chosen to stand apart from them.
        self.demo_subject = self._demo_subject()
        if self.demo_subject is not None:
            self._give_a_case(self.demo_subject, actor=actor)
        # What Celery beat would have done by now: the subject's opening notice may be due.
        sent = send_due_notifications(actor=system_actor())
        if sent:
            self.stdout.write(f"Sent {sent:,} notice(s) that had fallen due, as the system.")
        sign_ins = []
        for demo_user in DEMO_USERS:
            try:
                sign_ins.append(self._ensure(demo_user, held.get(demo_user.username), actor=actor))
            except AccountError as exc:
                raise CommandError(f"{demo_user.username}: {exc}") from exc
        write_private(users_file, "\n".join([HEADER, *(s.line() for s in sign_ins)]) + "\n")
        self.stdout.write(f"Demo sign-ins and API tokens for each role are in {users_file}.")
        users = {u.username: u for u in get_user_model().objects.filter(username__in=DEMO_NAMES)}
        for line in conclude_demo_cases(users, apart_from=getattr(self.demo_subject, "pk", None)):
            self.stdout.write(line)
        for username, kind in DEMO_REPORTS:
            self._ask_for_report(username, kind)

    def _demo_subject(self) -> Subject | None:
        subject_user = get_user_model().objects.filter(username=DEMO_SUBJECT).first()
        if subject_user is not None:
            return Subject.objects.filter(user=subject_user).first()
        return person_for(Link.PERSON_WITH_A_CASE)

    def _give_a_case(self, person: Subject, *, actor: Actor) -> None:
        """Post the demo detector's flags about ``person`` as the detector's service user, as
        the ingest API does; on a second run they are duplicates and change nothing."""
        detector = demo_detector(actor=actor)
        outcomes = ingest_flags(
            detector=detector,
            raw_items=demo_flags(person, timezone.localdate(detector.created_at)),
            actor=Actor(user=detector.user, role=Role.DETECTOR),
        )
        created = [outcome for outcome in outcomes if outcome.status == "created"]
        if created:
            self.stdout.write(
                f"{detector.slug} posted {len(created)} flag(s) about {DEMO_SUBJECT}'s record"
                f"{opened_case(created)}."
            )
        for outcome in outcomes:
            if outcome.status == "rejected":
                self.stderr.write(
                    f"{detector.slug}'s flag {outcome.external_id} about {DEMO_SUBJECT}'s record "
                    f"was refused: {outcome.errors}"
                )

    def _ensure(self, demo_user: DemoUser, held: SignIn | None, *, actor: Actor) -> SignIn:
        user = get_user_model().objects.filter(username=demo_user.username).first()
        if user is None:
            password = held.password if held else secrets.token_urlsafe(12)
            user = self._create(demo_user, password, actor=actor)
        else:
            password = self._password(user, held, actor=actor)
            self._check_linked(demo_user, user)
        if held and token_works(user, held.token):
            token = held.token
        else:
            token = issue_personal_token(user, actor=actor).token
        return SignIn(demo_user.role.value, demo_user.username, password, token)

    def _password(self, user: User, held: SignIn | None, *, actor: Actor) -> str:
        if held and user.check_password(held.password):
            return held.password
        password = secrets.token_urlsafe(12)
        set_password(user, password, actor=actor, reason="demo set-up")
        return password

    def _check_linked(self, demo_user: DemoUser, user: User) -> None:
        # An account is linked to its record only when it is created: one made before the
        # register held such a person keeps none.
        if demo_user.link != Link.NOBODY and not Subject.objects.filter(user=user).exists():
            self.stderr.write(
                f"{demo_user.username} has no record of their own in the register, and should be "
                f"{demo_user.link.value}; start from an empty database to have one."
            )

    def _create(self, demo_user: DemoUser, password: str, *, actor: Actor) -> User:
        person = (
            self.demo_subject
            if demo_user.link == Link.PERSON_WITH_A_CASE
            else person_for(demo_user.link, apart_from=self.demo_subject)
        )
        if demo_user.link != Link.NOBODY and person is None:
            self.stderr.write(
                f"{demo_user.username}: the register holds nobody who is {demo_user.link.value}; "
                "created without a record of their own."
            )
        return create_user(
            demo_user.username, role=demo_user.role, subject=person, password=password, actor=actor
        )

    def _ask_for_report(self, username: str, kind: ReportKind) -> None:
        """Ask for a report of ``kind`` as ``username``, unless they have one already that is
        finished or on its way. Rendered in-process with no broker, once the request commits."""
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            return
        has_one = (
            Report.objects.filter(requested_by=user, kind=kind)
            .exclude(status=ReportStatus.FAILED)
            .exists()
        )
        if has_one:
            return
        params = demo_report_params(kind, user)
        if params is None:
            self.stderr.write(
                f"{username} has no record of their own in the register: no "
                f"{kind.label.lower()} was asked for."
            )
            return
        try:
            report = request_report(kind, params, user=user)
        except ReportError as exc:
            self.stderr.write(f"{username} could not ask for the {kind.label.lower()}: {exc}")
            return
        report.refresh_from_db()
        self.stdout.write(
            f"{username} asked for report {report.pk} ({kind.label.lower()}): "
            f"{report.get_status_display().lower()}."
        )


def demo_report_params(kind: ReportKind, user: User) -> dict[str, Any] | None:
    """What ``user``'s demo report of ``kind`` is of: the last DEMO_PERIOD_DAYS days to today, or
    their own record (None if they have none)."""
    if kind == ReportKind.OVERSIGHT:
        today = timezone.localdate()
        first = today - timedelta(days=DEMO_PERIOD_DAYS - 1)
        return {"from": first.isoformat(), "to": today.isoformat()}
    own = Subject.objects.filter(user=user).first()
    return None if own is None else {"subject": own.pk}

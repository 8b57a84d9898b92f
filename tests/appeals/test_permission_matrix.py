"""Every role, and every relation a person can have to Fay's record, through every appeals page,
API endpoint and action: the exact status each gets, and that a refused request writes nothing.

Beside one user per role (tests/conftest.py's ``people``, with rhea.rep a representative Fay never
appointed, and otto.outsider holding no role) stand Fay herself, a representative she appointed
whose grant is live (lena.live), one whose grant expired (ed.expired), one who has not accepted
yet (pat.pending), and another flagged officer (gus.grey); and someone signed out. What they ask
about is Fay's: her record, her grants, and one challenge she filed with a PDF attached, still
waiting to be taken.

A role that may never use a page is refused (403); a thing the viewer may not see is answered
as a missing one (404); a step the viewer may take but not now is refused (409 on a page or
from the API). The world is built once per test, so each test walks its whole table and
reports every cell that differs, rather than one case per cell.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import create_user, issue_personal_token
from appeals import services
from appeals.models import AppealNotice, Challenge, ChallengeAttachment, Representation
from audit.actors import Actor, Role, system_actor
from audit.models import AccessEvent
from casework.models import Decision
from flags.models import EvidenceContext, EvidenceRecord
from tests.appeals.conftest import PASSWORD, World
from tests.appeals.test_attachments import PDF
from tests.db_writes import head_seq
from tests.factories import NOW, TODAY, SubjectFactory

pytestmark = pytest.mark.django_db

# The columns of every table below, in order: None is someone signed out.
VIEWERS: tuple[str | None, ...] = (
    "rita.reviewer",
    "sam.senior",
    "dan.steward",
    "olive.oversight",
    "alan.admin",
    "sid.subject",
    "rhea.rep",
    "otto.outsider",
    "fay.flagged",
    "lena.live",
    "ed.expired",
    "pat.pending",
    "gus.grey",
    None,
)

# fmt: off
# What each GET is sent to: {subject} is Fay's, {record} her unchallenged evidence record,
# {challenge} hers.
GETS: dict[str, str] = {
    "me": "/me/",
    "my representatives": "/me/representatives/",
    "representing": "/representing/",
    "represented record": "/representing/{subject}/",
    "challenge form": "/challenges/new/?evidence={record}&subject={subject}",
    "challenge": "/challenges/{challenge}/",
    "attachment": "/challenges/{challenge}/attachments/1/",
    "adjudication queue": "/adjudication/",
    "escalation queue": "/escalations/",
    "adjudication page": "/adjudication/{challenge}/",
    "api me": "/api/v1/me/",
    "api record": "/api/v1/records/{subject}/",
    "api grants": "/api/v1/representations/",
    "api challenges": "/api/v1/challenges/",
    "api challenge": "/api/v1/challenges/{challenge}/",
    "api attachment": "/api/v1/challenges/{challenge}/attachments/1",
}

# What each viewer gets from each GET.
GOT: dict[str, tuple[int, ...]] = {
    #                         rita sam  dan  oliv alan sid  rhea otto fay  lena ed   pat  gus  out
    "me":                    (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 302),
    "my representatives":    (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 302),
    "representing":          (403, 403, 403, 403, 403, 403, 200, 403, 403, 200, 200, 200, 403, 302),
    "represented record":    (403, 403, 403, 403, 403, 403, 404, 403, 403, 200, 404, 404, 403, 302),
    "challenge form":        (404, 404, 404, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 302),
    "challenge":             (404, 404, 404, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 302),
    "attachment":            (200, 200, 200, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 302),
    "adjudication queue":    (403, 403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "escalation queue":      (403, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "adjudication page":     (403, 404, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "api me":                (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 401),
    "api record":            (404, 404, 404, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 401),
    "api grants":            (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 401),
    "api challenges":        (200, 200, 200, 200, 200, 200, 200, 403, 200, 200, 200, 200, 200, 401),
    "api challenge":         (200, 200, 200, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 401),
    "api attachment":        (200, 200, 200, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 401),
}

# What each viewer gets from each action (ACTIONS says what it sends).
POSTS: dict[str, tuple[int, ...]] = {
    #                         rita sam  dan  oliv alan sid  rhea otto fay  lena ed   pat  gus  out
    "appoint":               (302, 302, 302, 302, 302, 302, 422, 403, 302, 302, 302, 302, 302, 302),
    "accept pending":        (404, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 302, 404, 302),
    "decline pending":       (404, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 302, 404, 302),
    "revoke live":           (404, 404, 404, 404, 404, 404, 404, 403, 302, 302, 404, 404, 404, 302),
    "revoke expired":        (404, 404, 404, 404, 404, 404, 404, 403, 409, 404, 409, 404, 404, 302),
    "file":                  (404, 404, 404, 404, 404, 404, 404, 403, 302, 302, 404, 404, 404, 302),
    "escalate":              (404, 404, 404, 404, 404, 404, 404, 403, 409, 409, 404, 404, 404, 302),
    "take":                  (403, 404, 302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302),
    "api appoint":           (201, 201, 201, 201, 201, 201, 422, 403, 201, 201, 201, 201, 201, 401),
    "api accept pending":    (404, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 200, 404, 401),
    "api decline pending":   (404, 404, 404, 404, 404, 404, 404, 403, 404, 404, 404, 200, 404, 401),
    "api revoke live":       (404, 404, 404, 404, 404, 404, 404, 403, 200, 200, 404, 404, 404, 401),
    "api revoke expired":    (404, 404, 404, 404, 404, 404, 404, 403, 409, 404, 409, 404, 404, 401),
    "api file":              (404, 404, 404, 404, 404, 404, 404, 403, 201, 201, 404, 404, 404, 401),
    "api take":              (403, 403, 200, 404, 404, 404, 404, 403, 403, 403, 404, 404, 404, 401),
    "api escalate":          (403, 403, 403, 404, 404, 404, 404, 403, 409, 409, 404, 404, 404, 401),
    "api decide escalation": (403, 409, 403, 404, 404, 404, 404, 403, 403, 403, 404, 404, 404, 401),
}
# fmt: on

GROUNDS = "I was on annual leave that week; the claim was never made by me."
REASONS = "The payroll extract shows the claim belongs to another officer with the same initials."
# Where a representative sits in the workforce register: apart from Fay and from the reviewers.
FEDERATION = "Police Federation"


@dataclass
class Arranged:
    ids: dict[str, int]
    users: dict[str, User]


@pytest.fixture
def arranged(world: World, gus: User, settings: Any, tmp_path: Path, time_machine: Any) -> Arranged:
    """Fay's grants to lena.live (accepted, for 30 days), ed.expired (accepted, until the end of
    tomorrow) and pat.pending (not yet accepted); her challenge to her first record, with a PDF;
    then the clock three days on, past ed's grant and no one else's."""
    settings.PRIVATE_FILES_ROOT = tmp_path
    users: dict[str, User] = {**world.people, "fay.flagged": world.fay, "gus.grey": gus}
    for username in ("lena.live", "ed.expired", "pat.pending"):
        users[username] = create_user(
            username,
            role=Role.REPRESENTATIVE,
            subject=SubjectFactory.create(unit=FEDERATION),
            password=PASSWORD,
            actor=system_actor(),
        )
    grants = {}
    for name, username, days, accept in (
        ("live", "lena.live", 30, True),
        ("expired", "ed.expired", 1, True),
        ("pending", "pat.pending", 30, False),
    ):
        made = services.grant_representation(
            actor=world.as_fay,
            representative=username,
            case_id=None,
            expires_on=TODAY + timedelta(days=days),
        )
        if accept:
            rep = Actor(user=users[username], role=Role.REPRESENTATIVE)
            services.accept_representation(made.pk, actor=rep)
        grants[name] = made.pk
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=world.records[0].pk,
            grounds=GROUNDS,
            proposed_correction="No overtime claimed in that week.",
        ),
        actor=world.as_fay,
        files=[SimpleUploadedFile("statement.pdf", PDF, "application/pdf")],
    )
    time_machine.move_to(NOW + timedelta(days=3), tick=False)
    return Arranged(
        ids={
            "subject": world.subject.pk,
            "record": world.records[1].pk,
            "challenge": challenge.pk,
            **grants,
        },
        users=users,
    )


def browsers(arranged: Arranged) -> dict[str | None, Client]:
    made: dict[str | None, Client] = {}
    for username in VIEWERS:
        made[username] = Client()
        if username is not None:
            made[username].force_login(arranged.users[username])
    return made


def api_clients(arranged: Arranged) -> dict[str | None, APIClient]:
    issuer = actor_for(arranged.users["alan.admin"])
    made: dict[str | None, APIClient] = {}
    for username in VIEWERS:
        made[username] = APIClient()
        if username is not None:
            token = issue_personal_token(arranged.users[username], actor=issuer).token
            made[username].credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return made


def written() -> tuple[Any, ...]:
    """Everything a request could write: the audit log's head, the access log, and the rows of
    every appeals table and of what a challenge changes, with each grant's and record's state."""
    return (
        head_seq(),
        AccessEvent.objects.count(),
        Challenge.objects.count(),
        ChallengeAttachment.objects.count(),
        AppealNotice.objects.count(),
        EvidenceContext.objects.count(),
        Decision.objects.count(),
        sorted(Representation.objects.values_list("pk", "status")),
        sorted(Challenge.objects.values_list("pk", "status")),
        sorted(EvidenceRecord.objects.values_list("pk", "status")),
    )


def refused(status: int, viewer: str | None) -> bool:
    return status >= 400 or (status == 302 and viewer is None)


def check(
    viewer: str | None, what: str, status: int, expected: int, response: Any, wrote: bool
) -> list[str]:
    """Each way the answer to ``viewer`` differs from the table, in words."""
    who = viewer or "signed out"
    problems = []
    if status != expected:
        problems.append(f"{who}, {what}: {status}, expected {expected}")
    elif (
        status == 302 and viewer is None and not response["Location"].startswith("/sign-in/?next=")
    ):
        problems.append(f"{who}, {what}: sent to {response['Location']}, not to sign in")
    if refused(status, viewer) and wrote:
        problems.append(f"{who}, {what}: refused with {status}, yet wrote something")
    return problems


# Ids that name nothing: what a viewer may not see must be answered as these are.
MISSING = {"subject": 900000001, "record": 900000002, "challenge": 900000003}


def comparable(response: Any, ids: dict[str, int]) -> str:
    """The body, with the ids asked about taken out, and the sign-out form's CSRF token, which
    differs on every page anyway."""
    body = response.content.decode()
    for noun in ("record", "challenge"):
        body = body.replace(f"{noun} {ids[noun]}", f"{noun} N")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body)


def test_every_page_and_endpoint_answers_each_viewer_as_the_table_says(
    arranged: Arranged,
) -> None:
    pages, api = browsers(arranged), api_clients(arranged)
    assert GETS.keys() == GOT.keys()
    problems: list[str] = []

    for name, template in GETS.items():
        url = template.format(**arranged.ids)
        clients: dict[str | None, Any] = api if url.startswith("/api/") else pages
        for viewer, wanted in zip(VIEWERS, GOT[name], strict=True):
            before = written()
            response = clients[viewer].get(url)
            wrote = written() != before
            problems += check(viewer, f"GET {url}", response.status_code, wanted, response, wrote)
            if response.status_code == 404:
                missing = clients[viewer].get(template.format(**MISSING))
                if comparable(response, arranged.ids) != comparable(missing, MISSING):
                    problems.append(f"{viewer}, GET {url}: not answered as a missing one")

    assert not problems, "\n".join(problems)


def challenge_form() -> dict[str, str]:
    return {
        "kind": "not_mine",
        "grounds": GROUNDS,
        "proposed_correction": "",
    }


def adjudication(**fields: Any) -> dict[str, Any]:
    return {
        "finding": "rejected",
        "reasons": REASONS,
        "remedy": "",
        "no_conflict_declared": True,
        **fields,
    }


Send = Callable[[Client, APIClient, dict[str, int]], Any]


def actions() -> dict[str, Send]:
    """How each action in POSTS is sent, from the page's browser or the API's client."""
    day = TODAY + timedelta(days=20)
    appoint_form = {
        "representative": "rhea.rep",
        "case": "all",
        "expires_on_day": str(day.day),
        "expires_on_month": str(day.month),
        "expires_on_year": str(day.year),
    }
    appoint_body = {"representative": "rhea.rep", "case": None, "expires_on": day.isoformat()}

    def page(path: str, data: dict[str, Any] | None = None) -> Send:
        return lambda browser, api, ids: browser.post(path.format(**ids), data or {})

    def call(path: str, body: dict[str, Any]) -> Send:
        def send(browser: Client, api: APIClient, ids: dict[str, int]) -> Any:
            return api.post(path.format(**ids), body, format="json")

        return send

    grant = "/api/v1/representations/{%s}/transitions/"
    step = "/api/v1/challenges/{challenge}/transitions/"
    return {
        "appoint": page("/me/representatives/", appoint_form),
        "accept pending": page("/representations/{pending}/accept/"),
        "decline pending": page("/representations/{pending}/decline/"),
        "revoke live": page("/representations/{live}/revoke/"),
        "revoke expired": page("/representations/{expired}/revoke/"),
        "file": page("/challenges/new/?evidence={record}&subject={subject}", challenge_form()),
        "escalate": page("/challenges/{challenge}/escalate/", {"grounds": GROUNDS}),
        "take": page(
            "/adjudication/{challenge}/act/",
            {"action": "acknowledge", "no_conflict_declared": "on"},
        ),
        "api appoint": call("/api/v1/representations/", appoint_body),
        "api accept pending": call(grant % "pending", {"action": "accept"}),
        "api decline pending": call(grant % "pending", {"action": "decline"}),
        "api revoke live": call(grant % "live", {"action": "revoke"}),
        "api revoke expired": call(grant % "expired", {"action": "revoke"}),
        "api file": lambda browser, api, ids: api.post(
            "/api/v1/challenges/",
            {**challenge_form(), "evidence": ids["record"], "subject": ids["subject"]},
            format="json",
        ),
        "api take": call(step, {"action": "acknowledge", "no_conflict_declared": True}),
        "api escalate": call(step, {"action": "escalate", "grounds": GROUNDS}),
        "api decide escalation": call(step, adjudication(action="decide_escalation")),
    }


def test_every_action_is_taken_or_refused_as_the_table_says_and_a_refusal_writes_nothing(
    arranged: Arranged,
) -> None:
    pages, api = browsers(arranged), api_clients(arranged)
    sends = actions()
    assert sends.keys() == POSTS.keys()
    problems: list[str] = []

    for name, expected in POSTS.items():
        for viewer, wanted in zip(VIEWERS, expected, strict=True):
            # Each action is taken on the world as arranged: one that succeeds is undone before
            # the next viewer tries.
            with transaction.atomic():
                before = written()
                response = sends[name](pages[viewer], api[viewer], arranged.ids)
                wrote = written() != before
                transaction.set_rollback(True)
            problems += check(viewer, name, response.status_code, wanted, response, wrote)
            if not refused(response.status_code, viewer) and not wrote:
                problems.append(f"{viewer}, {name}: {response.status_code} but wrote nothing")

    assert not problems, "\n".join(problems)

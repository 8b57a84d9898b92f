"""What the appeals tests share: a flagged officer with an account, whose case opened through
the real ingest and threshold evaluation and who has been told of it, and the people around it."""

from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import create_user, issue_personal_token
from appeals import services
from audit.actors import Actor, Role, system_actor
from casework.models import Case, CaseStatus
from casework.services import send_due_notifications
from flags.models import EvidenceRecord, Flag, Subject
from tests.factories import EvidenceItemFactory, FlagItemFactory, SubjectFactory
from tests.ingest_client import client_for, post_flags

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """Fay, a constable in Response North, and her case: two overtime flags, each on its own
    record, which the default policy's count of 2 turns into a case."""

    fay: User
    subject: Subject
    case: Case
    flags: list[Flag]
    records: list[EvidenceRecord]
    people: dict[str, Any]

    def actor(self, username: str, on_behalf_of: User | None = None) -> Actor:
        user = self.fay if username == "fay.flagged" else self.people[username]
        from accounts.roles import role_of

        role = role_of(user)
        assert role is not None
        return Actor(user=user, role=role, on_behalf_of=on_behalf_of)

    @property
    def as_fay(self) -> Actor:
        return Actor(user=self.fay, role=Role.SUBJECT)

    def refresh(self) -> None:
        self.case.refresh_from_db()
        for record in self.records:
            record.refresh_from_db()
        for flag in self.flags:
            flag.refresh_from_db()


def flagged_subject(username: str, unit: str = "Response North", name: str | None = None) -> User:
    subject = SubjectFactory.create(unit=unit, **({"name": name} if name else {}))
    return create_user(
        username,
        role=Role.SUBJECT,
        subject=subject,
        password=PASSWORD,
        email=f"{username}@police.example",
        actor=system_actor(),
    )


def overtime_flags(
    client: APIClient, subject: Subject, evidence: list[list[dict[str, Any]]]
) -> list[Flag]:
    """One overtime flag (score 0.7) about ``subject`` per list of evidence items."""
    items = [
        FlagItemFactory.create(subject=subject.staff_number, evidence=records)
        for records in evidence
    ]
    response = post_flags(client, items)
    assert response.status_code == 200, response.content
    return list(
        Flag.objects.filter(external_id__in=[item["external_id"] for item in items]).order_by("pk")
    )


@pytest.fixture
def world(
    people: dict[str, Any], detector_client: APIClient, settings: Any, frozen_today: Any
) -> World:
    settings.SUBJECT_NOTICE_DELAY_HOURS = 0
    # A name that HTML escapes, so every page check of it also checks the escaping.
    fay = flagged_subject("fay.flagged", name="Fay O'Neill")
    subject = fay.subject
    records = [EvidenceItemFactory.create(), EvidenceItemFactory.create()]
    flags = overtime_flags(detector_client, subject, [[record] for record in records])
    send_due_notifications(actor=system_actor())
    case = Case.objects.get(subject=subject)
    assert case.status == CaseStatus.OPEN
    return World(
        fay=fay,
        subject=subject,
        case=case,
        flags=flags,
        records=[EvidenceRecord.objects.get(record_id=r["record_id"]) for r in records],
        people=people,
    )


def verify_audit() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def file_inaccurate(world: World, record: EvidenceRecord, actor: Actor | None = None) -> Any:
    return services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=record.pk,
            grounds="I was on annual leave that week; the claim was never made by me.",
            proposed_correction="No overtime claimed in that week.",
            subject=world.subject.pk,
        ),
        actor=actor or world.as_fay,
    )


# --- the API -------------------------------------------------------------------------------------

Clients = Callable[[str], APIClient]


@pytest.fixture
def api(world: World) -> Clients:
    """An API client per username, each with its own personal token."""
    made: dict[str, APIClient] = {}

    def client(username: str) -> APIClient:
        if username not in made:
            user = User.objects.get(username=username)
            issuer = actor_for(world.people["alan.admin"])
            made[username] = client_for(issue_personal_token(user, actor=issuer).token)
        return made[username]

    return client


@pytest.fixture
def gus(world: World, detector_client: Any) -> User:
    """Another flagged officer, told of his case, in another unit."""
    gus = flagged_subject("gus.grey", unit="Response South")
    overtime_flags(
        detector_client,
        gus.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    send_due_notifications(actor=system_actor())
    return gus

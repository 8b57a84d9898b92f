"""One case's page and API answer read a fixed number of queries however much the case holds:
the same case, grown with more flags, more evidence per flag, more decisions, notices and
history, and with challenges, their files, the subject's accounts of the evidence's context and
re-evaluations, costs the same. (Adding other cases would not show an N+1 over one case's own
rows.)"""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import issue_personal_token
from casework.models import AttachedVia, Case, CaseFlag, Notification, NotificationKind
from casework.services import DecisionRequest, act_on_case
from flags.models import FlagEvidence
from tests.factories import NOW, CaseFactory, EvidenceRecordFactory, FlagFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "Reassigned so that the review is shared out fairly."


def grow(case: Case, people: dict[str, Any], *, flags: int, evidence: int, decisions: int) -> None:
    """Give ``case`` more flags, each with its own evidence, and more decisions (each with its
    history row and audit event), through the service where the service writes them."""
    for n in range(flags):
        flag = FlagFactory.create(subject=case.subject)
        for position in range(evidence):
            record = EvidenceRecordFactory.create(
                content_hash=f"{case.pk:032d}{n:016d}{position:016d}"
            )
            FlagEvidence.objects.create(flag=flag, evidence=record, position=position)
        CaseFlag.objects.create(
            case=case, flag=flag, attached_at=NOW, via=AttachedVia.JOINING, category=flag.category
        )
    senior = actor_for(people["sam.senior"])
    for _ in range(decisions):
        assigned = Case.objects.get(pk=case.pk).assignee_id
        to = "rita.reviewer" if assigned == people["ravi.reviewer"].pk else "ravi.reviewer"
        request = DecisionRequest("assign", REASONS, no_conflict_declared=True, assign_to=to)
        act_on_case(case.pk, request, actor=senior)


def grow_challenges(case: Case, people: dict[str, Any], *, count: int) -> None:
    """Give ``case`` challenges to its evidence, each with two files and the subject's account
    of the record's context, and a re-evaluation each: rows written directly, as set-up."""
    from appeals.models import Challenge, ChallengeAttachment, ChallengeStatus
    from casework.models import CaseReevaluation, Consequence
    from flags.models import EvidenceContext

    filer = people["sid.subject"]
    records = [link.evidence for link in FlagEvidence.objects.filter(flag__case_links__case=case)]
    for n, record in enumerate(records[:count]):
        challenge = Challenge.objects.create(
            subject=case.subject,
            kind="lacks_context",
            evidence=record,
            case=case,
            grounds="Authorised overtime.",
            status=ChallengeStatus.REJECTED,
            filed_at=NOW,
            filed_by=filer,
            filed_role="subject",
            on_behalf_of=people["rhea.rep"],
            acknowledge_due=NOW.date(),
            decide_due=NOW.date(),
            acknowledged_at=NOW,
            adjudicator=people["dan.steward"],
            decided_at=NOW,
            finding="rejected",
            reasons="Not borne out by the roster.",
            escalated_at=NOW,
            escalated_by=filer,
            escalation_taken_by=people["sam.senior"],
        )
        for position in (1, 2):
            ChallengeAttachment.objects.create(
                challenge=challenge,
                position=position,
                name=f"file-{position}.pdf",
                content_type="application/pdf",
                size=10,
                sha256="0" * 64,
                stored_name=f"challenges/{challenge.pk}/{position}",
                uploaded_at=NOW,
            )
        EvidenceContext.objects.create(
            evidence=record,
            subject=case.subject,
            account="Authorised overtime.",
            given_at=NOW,
            given_by=filer,
            on_behalf_of=people["rhea.rep"],
            given_with=f"challenge {challenge.pk}",
        )
        CaseReevaluation.objects.create(
            case=case,
            evaluated_at=NOW,
            cause=f"challenge {n} upheld",
            policy_version=case.policy.version,
            trace=case.trace,
            met=True,
            consequence=Consequence.UNCHANGED,
        )


def queries_for(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def page_and_api_queries(case: Case, people: dict[str, Any]) -> tuple[int, int]:
    page = Client()
    page.force_login(people["sam.senior"])
    api = APIClient()
    token = issue_personal_token(people["sam.senior"], actor=actor_for(people["alan.admin"])).token
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return (
        queries_for(page, f"/cases/{case.pk}/"),
        queries_for(api, f"/api/v1/cases/{case.pk}/"),
    )


def test_one_case_costs_the_same_queries_however_much_it_holds(
    people: dict[str, Any], frozen_today: Any
) -> None:
    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))
    grow(case, people, flags=0, evidence=0, decisions=1)
    before = page_and_api_queries(case, people)

    grow(case, people, flags=12, evidence=3, decisions=8)
    grow_challenges(case, people, count=5)
    for kind in (NotificationKind.ADVERSE_OUTCOME_PENDING, NotificationKind.CASE_CONCLUDED):
        Notification.objects.create(
            case=case, subject=case.subject, kind=kind, created_at=NOW, due_at=NOW, sent_at=NOW
        )
    assert (case.case_flags.count(), case.decisions.count()) == (13, 9)
    assert case.notifications.count() == 3
    assert (case.challenges.count(), case.reevaluations.count()) == (5, 5)

    assert page_and_api_queries(case, people) == before

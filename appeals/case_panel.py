"""The challenges panel of the reviewer's case page: every challenge the person filed about the
case, its data or its decisions, with its grounds, attachments, deadlines and findings, so that
no reviewer decides without having seen them. Registered with casework at start-up
(``casework.panels``), since casework may not import appeals.

Three queries whatever the case holds: the challenges, their attachments, and (through the
role, read once per request) whether the viewer may open the adjudication page.
"""

from collections import defaultdict
from typing import Any

import rules
from django.contrib.auth.models import User
from django.db.models import Q

from appeals.milestones import deadlines_of
from appeals.models import Challenge, ChallengeAttachment
from audit.access import Shown
from casework.models import Case
from casework.panels import CasePanel, register_case_panel
from flags.models import FlagEvidence

TEMPLATE = "appeals/steward/case_panel.html"


def challenges_panel(case: Case, user: User) -> CasePanel:
    """The person's challenges filed from the case, or to a record one of its flags rests on
    (filed from another of their cases), oldest first. Another person's challenge to a shared
    record is never shown: the record's status says it is disputed."""
    challenges = Challenge.objects.filter(subject_id=case.subject_id).filter(
        Q(case=case)
        | Q(
            evidence_id__in=FlagEvidence.objects.filter(flag__case_links__case=case).values(
                "evidence_id"
            )
        )
    )
    attachments: dict[int, list[ChallengeAttachment]] = defaultdict(list)
    for attachment in ChallengeAttachment.objects.filter(challenge__in=challenges).order_by(
        "challenge_id", "position"
    ):
        attachments[attachment.challenge_id].append(attachment)
    rows = list(
        challenges.select_related(
            "evidence",
            "decision",
            "filed_by",
            "on_behalf_of",
            "adjudicator",
            "escalated_by",
            "escalation_taken_by",
        ).order_by("filed_at", "pk")
    )
    decides_escalations = rules.has_perm("appeals.decide_escalations", user)
    return CasePanel(
        template_name=TEMPLATE,
        context={
            "challenges": [
                _item(row, attachments[row.pk], decides_escalations=decides_escalations)
                for row in rows
            ],
        },
        shown=[Shown(row.subject_id, "appeals.challenge", row.pk) for row in rows],
    )


def _item(
    challenge: Challenge, attachments: list[ChallengeAttachment], *, decides_escalations: bool
) -> dict[str, Any]:
    return {
        "challenge": challenge,
        "attachments": attachments,
        "deadlines": deadlines_of(challenge),
        # Only the page's own deciders open it: a senior reviewer, once the challenge was
        # escalated to one. A data steward never sees the case page.
        "may_open": decides_escalations and challenge.escalated_at is not None,
    }


def register() -> None:
    register_case_panel(challenges_panel)

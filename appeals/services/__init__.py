"""Every governed write of the appeals app, one module per concern.

- ``representation``: grants of representation, their acceptance, revocation and expiry;
- ``challenges``: filing, acknowledging, deciding and escalating challenges, and what a decision
  does to the data and the cases resting on it;
- ``notices``: the notices each step sends to the person and their representatives.

Each function takes a keyword-only ``actor`` and runs in one transaction with its audit events.
"""

from appeals.services.challenges import (
    Adjudication,
    ChallengeRequest,
    CorrectedContent,
    acknowledge_challenge,
    allowed_remedies,
    decide_challenge,
    decide_escalation,
    escalate_challenge,
    file_challenge,
    took_part,
)
from appeals.services.representation import (
    accept_representation,
    decline_representation,
    expire_grants,
    grant_representation,
    revoke_representation,
)

__all__ = [
    "Adjudication",
    "ChallengeRequest",
    "CorrectedContent",
    "accept_representation",
    "acknowledge_challenge",
    "allowed_remedies",
    "decide_challenge",
    "decide_escalation",
    "decline_representation",
    "escalate_challenge",
    "expire_grants",
    "file_challenge",
    "grant_representation",
    "revoke_representation",
    "took_part",
]

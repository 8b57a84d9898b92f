"""Audit action codes written by the appeals app."""

from audit.registry import register

REPRESENTATION_GRANTED = register(
    "representation.granted", "A subject asked a representative to act for them."
)
REPRESENTATION_ACCEPTED = register(
    "representation.accepted", "A representative accepted a grant: it is live until it expires."
)
REPRESENTATION_DECLINED = register("representation.declined", "A representative declined a grant.")
REPRESENTATION_REVOKED = register(
    "representation.revoked", "A grant of representation was revoked, with immediate effect."
)
REPRESENTATION_EXPIRED = register(
    "representation.expired", "A grant of representation reached its expiry."
)
CHALLENGE_FILED = register(
    "challenge.filed", "A challenge to an evidence record or a decision was filed."
)
CHALLENGE_ACKNOWLEDGED = register(
    "challenge.acknowledged", "A data steward took a challenge to decide it."
)
CHALLENGE_DECIDED = register(
    "challenge.decided", "A data steward upheld, partly upheld or rejected a challenge."
)
CHALLENGE_ESCALATED = register(
    "challenge.escalated", "A rejected challenge was escalated to a senior reviewer."
)
CHALLENGE_ESCALATION_DECIDED = register(
    "challenge.escalation_decided",
    "A senior reviewer decided an escalated challenge; the decision is final.",
)
APPEAL_NOTICE_EMAILED = register(
    "appeal_notice.emailed", "A notice about a grant or a challenge was e-mailed."
)

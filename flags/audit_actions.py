"""Audit action codes written by the flags app."""

from audit.registry import register

DETECTOR_REGISTERED = register("detector.registered", "A detector was registered.")
FLAG_RECEIVED = register(
    "flag.received", "A detector's flag was stored, with the evidence records it rests on."
)
SUBJECT_CREATED = register("subject.created", "A subject was added to the workforce register.")
SUBJECT_UPDATED = register("subject.updated", "A subject's register entry changed.")
EQUALITY_PROFILE_RECORDED = register(
    "equality_profile.recorded", "A subject's equality profile was created or changed."
)
WORKFORCE_IMPORTED = register("workforce.imported", "An HR extract was applied to the register.")
EVIDENCE_DISPUTED = register(
    "evidence.disputed", "A challenge to an evidence record was filed: the record is disputed."
)
EVIDENCE_DISPUTE_SETTLED = register(
    "evidence.dispute_settled", "A challenge to an evidence record ended without changing it."
)
EVIDENCE_CORRECTED = register(
    "evidence.corrected", "An upheld challenge corrected an evidence record's content."
)
EVIDENCE_WITHDRAWN = register(
    "evidence.withdrawn", "An upheld challenge withdrew an evidence record."
)
FLAG_WITHDRAWN = register(
    "flag.withdrawn", "A flag was withdrawn: none of the evidence it rested on still stands."
)
EVIDENCE_CONTEXT_GIVEN = register(
    "evidence.context_given",
    "A person gave their account of an evidence record's context, shown to their reviewers.",
)

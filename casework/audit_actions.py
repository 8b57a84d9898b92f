"""Audit action codes written by the casework app."""

from audit.registry import register

POLICY_SEEDED = register("threshold_policy.seeded", "The default threshold policy was installed.")
CASE_OPENED = register(
    "case.opened", "A case opened because a subject's flags met the active threshold policy."
)
CASE_FLAGS_ATTACHED = register(
    "case.flags_attached", "New counting flags were attached to a subject's live case."
)
CONFLICT_DECLARED = register(
    "conflict.declared", "A user declared a conflict of interest with a subject."
)

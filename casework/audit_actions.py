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

CASE_REVIEW_STARTED = register("case.review_started", "A reviewer took a case and started review.")
CASE_RECOMMENDED = register("case.recommended", "A reviewer recommended an outcome for a case.")
CASE_SIGNED_OFF = register("case.signed_off", "A second reviewer signed a non-adverse outcome.")
CASE_REFERRAL_SIGNED = register(
    "case.referral_signed", "A senior reviewer signed a referral for misconduct investigation."
)
CASE_REFERRED = register(
    "case.referred", "A second senior signature referred a case for misconduct investigation."
)
CASE_RETURNED = register("case.returned", "A signer returned a recommendation for correction.")
CASE_HELD = register("case.held", "A case was put on hold: no outcome can be signed.")
CASE_RELEASED = register("case.released", "A case on hold returned to its previous state.")
CASE_WITHDRAWN = register("case.withdrawn", "A case was withdrawn.")
CASE_NOTIFICATION_DEFERRED = register(
    "case.notification_deferred", "A senior reviewer deferred notifying the subject of a case."
)
NOTIFICATION_SENT = register("notification.sent", "The subject of a case was sent a notice.")
NOTIFICATION_EMAILED = register("notification.emailed", "A notice was e-mailed to its subject.")
NOTIFICATION_EMAIL_FAILED = register(
    "notification.email_failed", "E-mailing a notice failed; it will be tried again."
)
NOTIFICATION_EMAIL_ABANDONED = register(
    "notification.email_abandoned",
    "E-mailing a notice failed too often and was given up; the subject sees it in the app only.",
)
CASE_ASSIGNED = register("case.assigned", "A senior reviewer assigned a case to a reviewer.")
CASE_DECISION_SET_ASIDE = register(
    "case.decision_set_aside",
    "An upheld challenge set aside a decision on a case; the case returned to review.",
)
CASE_REEVALUATED = register(
    "case.reevaluated",
    "A case was evaluated again, under the policy it opened under, after data it rested on was "
    "corrected or withdrawn.",
)
CASE_REFERRAL_RESULT_RECORDED = register(
    "case.referral_result_recorded",
    "A senior reviewer recorded what the investigating body concluded about a referred case.",
)

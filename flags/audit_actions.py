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

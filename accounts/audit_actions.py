"""Audit action codes written by the accounts app."""

from audit.registry import register

USER_ROLE_SET = register("user.role_set", "A user's role was set.")
USER_LINKED_TO_SUBJECT = register(
    "user.linked_to_subject", "A user account was linked to a person in the workforce register."
)

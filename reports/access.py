"""Who may have which report, and as whom they act in asking for it.

- A **disclosure pack** of one person's record: the person themselves; their representative
  under a live grant (acting on their behalf, and seeing what the grant covers); or a reviewer
  who may see one of the person's cases (the conflict check), who gets the record as the person
  sees it. Anyone else is told there is no such record, in the words a missing one gets.
- A **case file**: a reviewer who may see the case.
- An **oversight report**: the oversight role alone.

The same check runs when a report is asked for and again at every download, so a grant that has
expired or a conflict declared since stops the download as it would stop the page.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.http import Http404

from accounts.roles import require_role
from appeals.errors import AppealNotFound
from appeals.selectors import RecordScope, scope_for, subject_view
from audit.actors import Actor, Role
from casework.models import REVIEWERS, Case
from casework.selectors import case_for_review, cases_visible_to
from flags.models import Subject
from reports.errors import ReportForbidden, ReportNotFound
from reports.models import ReportKind


@dataclass(frozen=True)
class Allowed:
    """What a person may have: the actor they ask as, what the report is about, and why they
    see it (the access log's purpose)."""

    actor: Actor
    purpose: str
    subject: Subject | None = None
    case: Case | None = None
    # A disclosure pack: what of the record it shows.
    scope: RecordScope | None = None


def no_such_record(subject_id: int) -> str:
    return f"There is no record {subject_id} that you may have a disclosure pack of."


def no_such_case(case_id: int) -> str:
    return f"There is no case {case_id} that you may have a case file of."


def may_ask_for(kind: str, user: User) -> None:
    """ReportForbidden where ``user``'s role may not have this kind of report at all: checked
    before the parameters are read, so that the answer says nothing about them."""
    if kind == ReportKind.OVERSIGHT and require_role(user) != Role.OVERSIGHT:
        raise ReportForbidden("Only an oversight user may have an oversight report.")


def allowed(kind: str, params: dict[str, Any], user: User) -> Allowed:
    """What ``user`` may have of a report of ``kind`` with these (already parsed) parameters;
    ReportNotFound or ReportForbidden where they may not."""
    may_ask_for(kind, user)
    role = require_role(user)
    if kind == ReportKind.DISCLOSURE:
        return _disclosure(int(params["subject"]), user, role)
    if kind == ReportKind.CASE_FILE:
        return _case_file(int(params["case"]), user, role)
    return Allowed(actor=Actor(user=user, role=role), purpose="oversight")


def _disclosure(subject_id: int, user: User, role: Role) -> Allowed:
    if role in REVIEWERS:
        if not cases_visible_to(user).filter(subject_id=subject_id).exists():
            raise ReportNotFound(no_such_record(subject_id))
        subject = Subject.objects.get(pk=subject_id)
        actor = Actor(user=user, role=role)
        return Allowed(
            actor=actor, purpose="case review", subject=subject, scope=subject_view(subject, actor)
        )
    try:
        scope = scope_for(user, subject_id)
    except AppealNotFound as exc:
        raise ReportNotFound(no_such_record(subject_id)) from exc
    purpose = "own record" if scope.is_own else "representation"
    return Allowed(actor=scope.actor, purpose=purpose, subject=scope.subject, scope=scope)


def _case_file(case_id: int, user: User, role: Role) -> Allowed:
    if role not in REVIEWERS:
        raise ReportNotFound(no_such_case(case_id))
    try:
        case = case_for_review(case_id, user)
    except Http404 as exc:
        raise ReportNotFound(no_such_case(case_id)) from exc
    return Allowed(
        actor=Actor(user=user, role=role), purpose="case review", subject=case.subject, case=case
    )


def period(params: dict[str, Any]) -> tuple[date, date]:
    return date.fromisoformat(params["from"]), date.fromisoformat(params["to"])

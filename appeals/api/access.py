"""As whom an API caller sees a person's data, and the access log entries each answer writes.

Every appeals endpoint is open to anyone holding a person's role (HoldsAPersonsRole); what each
may see is then decided record by record. The person sees their own record as themselves. A
representative sees it on the person's behalf (``Actor.on_behalf_of``), so that the access log
the person reads shows their representative's use as done for them; once a grant has ended, what
is left for the representative to see (the grant itself) is theirs alone. Data stewards, senior
reviewers and reviewers see a challenge in their own role, for their own purpose.
"""

from collections.abc import Iterable
from typing import Any, cast

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.roles import actor_for, require_role
from appeals.models import Challenge, Representation, RepresentationStatus
from appeals.selectors import RecordScope, own_subject, scope_for
from audit.access import Shown, record_access
from audit.actors import Actor, Role

OWN_RECORD = "their own record"
REPRESENTATION = "representation"
# Why each role reads a challenge on a record not their own.
PURPOSES = {
    Role.DATA_STEWARD: "challenge adjudication",
    Role.SENIOR_REVIEWER: "escalated challenge",
    Role.REVIEWER: "case review",
}


class HoldsAPersonsRole(BasePermission):
    """Anyone with one person's role: what they may see is then decided record by record, and
    answered 404 where they may not. A detector's token is for ingest only."""

    message = "A detector's token is for the ingest API only."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.user is None:
            return False  # not authenticated: REST framework answers 401
        return require_role(request.user) not in (Role.DETECTOR, Role.SYSTEM)


def caller(request: Request) -> User:
    """The person behind a request HoldsAPersonsRole let through: authenticated, with a role."""
    return cast(User, request.user)


# One thing shown: as whom, why, and what.
View = tuple[Actor, str, Shown]


def scope_viewer(scope: RecordScope) -> tuple[Actor, str]:
    return scope.actor, OWN_RECORD if scope.is_own else REPRESENTATION


def challenge_viewer(user: User, challenge: Challenge) -> tuple[Actor, str]:
    """As whom ``user``, who may see ``challenge`` (appeals.selectors.challenge_for), sees it."""
    own = own_subject(user)
    if own is not None and own.pk == challenge.subject_id:
        return actor_for(user), OWN_RECORD
    role = require_role(user)
    if role == Role.REPRESENTATIVE:
        return scope_viewer(scope_for(user, challenge.subject_id))
    return actor_for(user), PURPOSES.get(role, "challenge")


def grant_viewer(user: User, grant: Representation) -> tuple[Actor, str]:
    """As whom ``user``, who made or received ``grant``, sees it: the representative acts for
    the person while the grant is live."""
    if grant.subject.user_id == user.pk:
        return actor_for(user), OWN_RECORD
    live = grant.status == RepresentationStatus.ACTIVE and grant.expires_at > timezone.now()
    return actor_for(user, on_behalf_of=grant.subject.user if live else None), REPRESENTATION


def grants_shown(user: User, grants: Iterable[Representation]) -> list[View]:
    """The people ``grants`` name, each as ``user`` sees them (grant_viewer)."""
    shown: list[View] = []
    for grant in grants:
        actor, purpose = grant_viewer(user, grant)
        shown.append((actor, purpose, Shown(grant.subject_id, "appeals.representation", grant.pk)))
    return shown


def record_views(views: Iterable[View], *, view: str) -> None:
    """Write each thing shown to the access log, channel ``api``: one entry per item, and one
    audit event per actor and purpose."""
    groups: dict[tuple[int, str, int | None, str], tuple[Actor, str, list[Shown]]] = {}
    for actor, purpose, shown in views:
        behalf = actor.on_behalf_of.pk if actor.on_behalf_of is not None else None
        key = (actor.user_id, str(actor.role), behalf, purpose)
        groups.setdefault(key, (actor, purpose, []))[2].append(shown)
    for actor, purpose, items in groups.values():
        record_access(items, actor=actor, channel="api", view=view, purpose=purpose)

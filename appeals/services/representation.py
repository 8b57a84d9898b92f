"""Grants of representation: a person appoints a representative, who accepts; either may end it;
it expires when its date passes. Every step is audited and told to the other party.

A grant is live only while accepted and unexpired: ``appeals.selectors.live_grants`` checks the
expiry at the moment of every read, so an expiry or a revocation takes effect at once, for a page
already open and a token already issued alike. ``expire_grants`` records the expiries after the
fact, on a schedule.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.roles import role_of
from appeals import audit_actions
from appeals.errors import AppealInvalid, AppealNotFound, AppealRefused
from appeals.models import (
    OPEN_GRANT_STATUSES,
    AppealNotice,
    AppealNoticeKind,
    Representation,
    RepresentationStatus,
)
from appeals.selectors import scope_for
from appeals.services.notices import notify
from audit import log
from audit.actors import Actor, Role
from audit.history import save_with_history


def grant_representation(
    *, actor: Actor, representative: str, case_id: int | None, expires_on: date | None
) -> Representation:
    """The person (acting for themselves, never through a representative) asks the
    representative named ``representative`` to act for them, on every case (``case_id`` None) or
    one, until the end of ``expires_on``: at most REPRESENTATION_MAX_DAYS away. Pending until the
    representative accepts."""
    if actor.on_behalf_of is not None:
        raise AppealRefused("Only the person themselves can appoint a representative.")
    with transaction.atomic():
        scope = scope_for(actor.user)
        if not scope.is_own:  # pragma: no cover - scope_for(user) without an id is always own
            raise AppealNotFound("There is no record that you may see.")
        problems: dict[str, str] = {}
        chosen = _representative(representative, actor)
        if chosen is None:
            problems["representative"] = (
                f"There is no registered representative called {representative!r}: choose "
                "one from the list."
                if representative
                else "Choose a representative."
            )
        if case_id is not None and case_id not in scope.case_ids:
            problems["case"] = f"There is no case {case_id} of yours to grant access to."
        expires_at = _expiry(expires_on, problems)
        if problems:
            raise AppealInvalid(problems)
        assert chosen is not None and expires_at is not None  # noqa: S101 - problems said so
        same = Representation.objects.select_for_update().filter(
            subject=scope.subject,
            representative=chosen,
            status__in=OPEN_GRANT_STATUSES,
            expires_at__gt=timezone.now(),
        )
        same = same.filter(case__isnull=True) if case_id is None else same.filter(case_id=case_id)
        existing = same.first()
        if existing is not None:
            raise AppealRefused(
                f"You have already asked {chosen.get_username()} to act for you on this "
                f"(grant {existing.pk}, {existing.get_status_display().lower()}). Revoke it "
                "first to change it."
            )
        now = timezone.now()
        grant = Representation(
            subject=scope.subject,
            representative=chosen,
            case_id=case_id,
            status=RepresentationStatus.PENDING,
            expires_at=expires_at,
            granted_at=now,
            granted_by=actor.user,
        )
        save_with_history(grant, actor=actor, reason="representative appointed")
        notices = notify(
            AppealNoticeKind.GRANT_MADE, subject=scope.subject, to=[chosen], representation=grant
        )
        log.record(
            audit_actions.REPRESENTATION_GRANTED,
            grant,
            actor=actor,
            data={
                "subject": scope.subject.pk,
                "representative": chosen.pk,
                "case": case_id,
                "expires_at": expires_at.isoformat(),
                "notices": [notice.pk for notice in notices],
            },
            reason="representative appointed",
        )
    return grant


def accept_representation(grant_id: int, *, actor: Actor) -> Representation:
    """The representative accepts a pending grant made to them: it is live until it expires."""
    with transaction.atomic():
        grant = _locked_for_representative(grant_id, actor)
        _still_open(grant, RepresentationStatus.PENDING, "accepted")
        grant.status = RepresentationStatus.ACTIVE
        grant.accepted_at = timezone.now()
        return _record_step(
            grant,
            actor,
            audit_actions.REPRESENTATION_ACCEPTED,
            AppealNoticeKind.GRANT_ACCEPTED,
            ["status", "accepted_at"],
        )


def decline_representation(grant_id: int, *, actor: Actor) -> Representation:
    """The representative declines a pending grant made to them."""
    with transaction.atomic():
        grant = _locked_for_representative(grant_id, actor)
        _still_open(grant, RepresentationStatus.PENDING, "declined")
        grant.status = RepresentationStatus.DECLINED
        grant.ended_at = timezone.now()
        grant.ended_by = actor.user
        return _record_step(
            grant,
            actor,
            audit_actions.REPRESENTATION_DECLINED,
            AppealNoticeKind.GRANT_DECLINED,
            ["status", "ended_at", "ended_by"],
        )


def revoke_representation(grant_id: int, *, actor: Actor) -> Representation:
    """The person who made the grant, or the representative it was made to, ends it now, pending
    or accepted. It takes effect at once: the representative's next request is refused."""
    with transaction.atomic():
        grant = Representation.objects.select_for_update().filter(pk=grant_id).first()
        own = (
            grant is not None
            and actor.on_behalf_of is None
            and (grant.subject.user_id == actor.user_id or grant.representative_id == actor.user_id)
        )
        if grant is None or not own:
            raise AppealNotFound(no_such_grant(grant_id))
        if grant.status not in OPEN_GRANT_STATUSES or grant.expires_at <= timezone.now():
            raise AppealRefused(
                f"Grant {grant.pk} has already ended ({_ended_how(grant)}): there is nothing to "
                "revoke."
            )
        grant.status = RepresentationStatus.REVOKED
        grant.ended_at = timezone.now()
        grant.ended_by = actor.user
        return _record_step(
            grant,
            actor,
            audit_actions.REPRESENTATION_REVOKED,
            AppealNoticeKind.GRANT_REVOKED,
            ["status", "ended_at", "ended_by"],
        )


def expire_grants(*, actor: Actor, limit: int = 1000) -> int:
    """Record every open grant whose expiry has passed as expired, and tell both parties. Run by
    the system on a schedule; the expiry itself took effect when it fell."""
    with transaction.atomic():
        due = list(
            # The grants' rows only: PostgreSQL refuses FOR UPDATE on the nullable side of the
            # outer join to the person's account.
            Representation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status__in=OPEN_GRANT_STATUSES, expires_at__lte=timezone.now())
            .select_related("subject", "subject__user", "representative")
            .order_by("expires_at", "pk")[:limit]
        )
        entries = []
        for grant in due:
            grant.status = RepresentationStatus.EXPIRED
            grant.ended_at = grant.expires_at
            save_with_history(
                grant, actor=actor, reason="expired", update_fields=["status", "ended_at"]
            )
            notices = notify(
                AppealNoticeKind.GRANT_EXPIRED,
                subject=grant.subject,
                to=_parties(grant),
                representation=grant,
            )
            entries.append(_entry(grant, audit_actions.REPRESENTATION_EXPIRED, notices))
        log.record_many(entries, actor=actor)
    return len(due)


def no_such_grant(grant_id: int) -> str:
    return f"There is no grant {grant_id} that you may change."


def _representative(username: str, actor: Actor) -> User | None:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None or user.pk == actor.user_id or role_of(user) != Role.REPRESENTATIVE:
        return None
    return user


def _expiry(expires_on: date | None, problems: dict[str, str]) -> datetime | None:
    today = timezone.localdate()
    latest = today + timedelta(days=settings.REPRESENTATION_MAX_DAYS)
    if expires_on is None:
        problems["expires_on"] = "Give the date the grant ends."
        return None
    if not today < expires_on <= latest:
        problems["expires_on"] = (
            f"A grant must end after today and at the latest {latest:%-d %B %Y} "
            f"({settings.REPRESENTATION_MAX_DAYS} days from today)."
        )
        return None
    # The end of the chosen day, where the force is.
    return timezone.make_aware(datetime.combine(expires_on + timedelta(days=1), time.min))


def _locked_for_representative(grant_id: int, actor: Actor) -> Representation:
    grant = (
        # The grant's row only (see expire_grants).
        Representation.objects.select_for_update(of=("self",))
        .select_related("subject", "subject__user")
        .filter(pk=grant_id, representative_id=actor.user_id)
        .first()
    )
    if grant is None or actor.role != Role.REPRESENTATIVE:
        raise AppealNotFound(no_such_grant(grant_id))
    return grant


def _still_open(grant: Representation, wanted: str, step: str) -> None:
    if grant.status != wanted or grant.expires_at <= timezone.now():
        raise AppealRefused(f"Grant {grant.pk} cannot be {step}: it is {_ended_how(grant)}.")


def _ended_how(grant: Representation) -> str:
    if grant.status in OPEN_GRANT_STATUSES and grant.expires_at <= timezone.now():
        return "expired"
    return grant.get_status_display().lower()


def _parties(grant: Representation) -> list[User]:
    users: list[User] = [grant.representative]
    if grant.subject.user is not None:
        users.insert(0, grant.subject.user)
    return users


def _record_step(
    grant: Representation,
    actor: Actor,
    action: str,
    notice_kind: AppealNoticeKind,
    fields: list[str],
) -> Representation:
    label = RepresentationStatus(grant.status).label.lower()
    save_with_history(grant, actor=actor, reason=label, update_fields=fields)
    others = [user for user in _parties(grant) if user.pk != actor.user_id]
    notices = notify(notice_kind, subject=grant.subject, to=others, representation=grant)
    log.record_many([_entry(grant, action, notices)], actor=actor)
    return grant


def _entry(grant: Representation, action: str, notices: list[AppealNotice]) -> log.Entry:
    return log.Entry(
        action,
        grant,
        data={
            "subject": grant.subject_id,
            "representative": grant.representative_id,
            "case": grant.case_id,
            "status": grant.status,
            "notices": [notice.pk for notice in notices],
        },
        reason=RepresentationStatus(grant.status).label.lower(),
    )

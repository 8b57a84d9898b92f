"""Notices to the person a case is about: sent in the app, then e-mailed where they have an
address, and never silently lost.

A notice is *sent* when it appears in the person's notices page (``sent_at``); that is the
governed act, audited in the transaction that causes it. E-mail follows after commit: each
attempt is claimed in a short transaction, the message goes with no lock held, and the result
(``emailed_at``, or the failure) is recorded and audited in another. The Celery task retries a
failure a few times with backoff; ``email_unsent_notices``, run on a schedule, tries again what
is still unsent, further apart each time, and gives up loudly (an error in the log and an audit
event) after NOTICE_EMAIL_MAX_ATTEMPTS. A claimed attempt stops a second sender, so a notice is
e-mailed once; only a worker dying between the mail server accepting the message and the result
being recorded could send it twice, which is preferred to losing it.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from audit import log
from audit.actors import Actor
from audit.bulk_writes import insert_objects
from casework import audit_actions
from casework.models import Case, Notification, NotificationKind

logger = logging.getLogger(__name__)

# An attempt claimed this long ago with no result is taken to have died with its worker.
CLAIM_TIMEOUT = timedelta(minutes=15)
# The sweep leaves a notice that has just been sent to the task queued for it.
FRESH = timedelta(minutes=2)


class EmailNotSent(Exception):
    """The mail backend refused or failed; the attempt is recorded and will be retried."""


class EmailResult(StrEnum):
    SENT = "sent"
    NOTHING_TO_SEND = "nothing_to_send"  # not sent in the app yet, already e-mailed, or given up
    NO_ADDRESS = "no_address"  # the person has no account with an e-mail address
    IN_PROGRESS = "in_progress"  # another worker is sending it now


def notify_now(case: Case, kind: NotificationKind) -> list[log.Entry]:
    """Send the subject a notice of ``kind`` now (and the case-opened notice, if still pending).

    Runs inside the caller's transaction; returns the audit entries for it to append. E-mail
    goes after commit.
    """
    now = timezone.now()
    entries = []
    for each in dict.fromkeys([NotificationKind.CASE_OPENED, kind]):
        notice, _ = Notification.objects.select_for_update().get_or_create(
            case=case,
            kind=each,
            defaults={"subject_id": case.subject_id, "created_at": now, "due_at": now},
        )
        if notice.sent_at is None:
            entries.append(_mark_sent(notice, now))
    return entries


def notify_if_told(case: Case, kind: NotificationKind) -> list[log.Entry]:
    """Send the subject a notice of ``kind`` now, but only if they have been told the case
    opened: a case whose opening notice is still deferred does not exist for its subject, and no
    later notice may give it away. Returns the audit entries, as ``notify_now`` does."""
    told = Notification.objects.filter(
        case=case, kind=NotificationKind.CASE_OPENED, sent_at__isnull=False
    ).exists()
    if not told:
        return []
    now = timezone.now()
    notice, _ = Notification.objects.select_for_update().get_or_create(
        case=case,
        kind=kind,
        defaults={"subject_id": case.subject_id, "created_at": now, "due_at": now},
    )
    return [] if notice.sent_at is not None else [_mark_sent(notice, now)]


def notify_many_now(cases: Sequence[Case], kind: NotificationKind) -> list[log.Entry]:
    """``notify_now`` for many cases at once (the system withdrawing cases after a correction),
    in the same few queries whatever their number."""
    now = timezone.now()
    kinds = list(dict.fromkeys([NotificationKind.CASE_OPENED, kind]))
    existing = {
        (notice.case_id, notice.kind): notice
        for notice in Notification.objects.select_for_update().filter(
            case_id__any=[case.pk for case in cases], kind__in=kinds
        )
    }
    missing = [
        Notification(subject_id=case.subject_id, case=case, kind=each, created_at=now, due_at=now)
        for case in cases
        for each in kinds
        if (case.pk, each) not in existing
    ]
    created = insert_objects(missing)
    unsent = [n for n in [*existing.values(), *created] if n.sent_at is None]
    if unsent:
        Notification.objects.filter(pk__any=[n.pk for n in unsent]).update(sent_at=now)
    entries = []
    for notice in unsent:
        notice.sent_at = now
        transaction.on_commit(partial(_email_later, notice.pk))
        entries.append(_sent_entry(notice))
    return entries


def send_due_notifications(*, actor: Actor, limit: int = 1000) -> int:
    """Send every pending notice that has fallen due (its deferral, if any, has ended).

    Run by the system on a schedule. Returns how many were sent.
    """
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(sent_at=None, due_at__lte=timezone.now())
            .order_by("due_at", "pk")[:limit]
        )
        now = timezone.now()
        log.record_many([_mark_sent(notice, now) for notice in due], actor=actor)
    return len(due)


def _mark_sent(notice: Notification, now: datetime) -> log.Entry:
    notice.sent_at = now
    notice.save(update_fields=["sent_at"])
    transaction.on_commit(partial(_email_later, notice.pk))
    return _sent_entry(notice)


def _sent_entry(notice: Notification) -> log.Entry:
    return log.Entry(
        audit_actions.NOTIFICATION_SENT,
        notice,
        data={"case": notice.case_id, "subject": notice.subject_id, "kind": notice.kind},
        reason="the subject is told",
    )


def _email_later(notification_id: int) -> None:
    from casework.tasks import email_notification

    try:
        email_notification.delay(notification_id)
    except EmailNotSent:
        # Only where tasks run in-process. The failure is already recorded and logged, and the
        # sweep tries again: the request that sent the notice is not failed for it.
        return
    except Exception:
        # The broker is unreachable. The notice is sent (in the app) and committed; its e-mail
        # is owed, and the sweep finds it. A decision already saved must not answer with an error.
        logger.exception("Notice %s: its e-mail could not be queued.", notification_id)


def email_notice(notification_id: int, *, actor: Actor) -> EmailResult:
    """E-mail a sent notice to its subject, once. Called by the task queued when it was sent
    and by the sweep. Raises EmailNotSent when the backend fails (the attempt is recorded)."""
    claimed = _claim(notification_id)
    if not isinstance(claimed, Notification):
        return claimed
    address = claimed.subject.user.email  # type: ignore[union-attr]  # _claim checked it
    body = render_to_string("casework/email/notification.txt", {"notice": claimed})
    try:
        send_mail(claimed.get_kind_display(), body, None, [address])
    except Exception as exc:  # any failure of any backend: SMTP, network, the backend's own
        _record_failure(claimed.pk, exc, actor=actor)
        raise EmailNotSent(f"Notice {claimed.pk} was not e-mailed: {type(exc).__name__}") from exc
    _record_success(claimed.pk, actor=actor)
    return EmailResult.SENT


def _claim(notification_id: int) -> Notification | EmailResult:
    """Take the next attempt at e-mailing a notice, or say why there is none to take."""
    with transaction.atomic():
        notice = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("subject__user", "case")
            .filter(pk=notification_id, sent_at__isnull=False)
            .first()
        )
        if notice is None or notice.emailed_at or notice.email_abandoned_at:
            return EmailResult.NOTHING_TO_SEND
        user = getattr(notice.subject, "user", None)
        if user is None or not user.email:
            return EmailResult.NO_ADDRESS
        now = timezone.now()
        attempted = notice.email_attempted_at
        if notice.email_sending and attempted is not None and attempted > now - CLAIM_TIMEOUT:
            return EmailResult.IN_PROGRESS
        notice.email_sending = True
        notice.email_attempts += 1
        notice.email_attempted_at = now
        notice.save(update_fields=["email_sending", "email_attempts", "email_attempted_at"])
        return notice


def _record_success(notification_id: int, *, actor: Actor) -> None:
    with transaction.atomic():
        notice = Notification.objects.select_for_update().get(pk=notification_id)
        notice.email_sending = False
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["email_sending", "emailed_at"])
        log.record(
            audit_actions.NOTIFICATION_EMAILED,
            notice,
            actor=actor,
            data={"case": notice.case_id, "kind": notice.kind, "attempts": notice.email_attempts},
            reason="the notice was e-mailed to the subject",
        )


def _record_failure(notification_id: int, exc: Exception, *, actor: Actor) -> None:
    with transaction.atomic():
        notice = Notification.objects.select_for_update().get(pk=notification_id)
        notice.email_sending = False
        # The exception's type only: its message may carry the person's address.
        data = {
            "case": notice.case_id,
            "attempts": notice.email_attempts,
            "error": type(exc).__name__,
        }
        gave_up = notice.email_attempts >= settings.NOTICE_EMAIL_MAX_ATTEMPTS
        if gave_up:
            notice.email_abandoned_at = timezone.now()
        notice.save(update_fields=["email_sending", "email_abandoned_at"])
        log.record(
            audit_actions.NOTIFICATION_EMAIL_ABANDONED
            if gave_up
            else audit_actions.NOTIFICATION_EMAIL_FAILED,
            notice,
            actor=actor,
            data=data,
            reason="the e-mail could not be sent",
        )
    if gave_up:
        logger.error(
            "Notice %s could not be e-mailed after %s attempts (%s); the subject sees it in the "
            "app only. Check the mail settings and tell them another way.",
            notification_id,
            notice.email_attempts,
            type(exc).__name__,
        )
    else:
        logger.warning(
            "Notice %s was not e-mailed (attempt %s, %s).",
            notification_id,
            notice.email_attempts,
            type(exc).__name__,
        )


def retry_delay(attempts: int) -> timedelta:
    """How long after a notice's latest failed attempt the next one is due: 5 minutes, doubling
    with each attempt, at most 6 hours."""
    return min(timedelta(minutes=5) * 2 ** max(attempts - 1, 0), timedelta(hours=6))


def notices_to_email(now: datetime, limit: int) -> list[int]:
    """The sent notices whose e-mail is still owed and due for an attempt now."""
    owed = (
        Notification.objects.filter(
            sent_at__lte=now - FRESH,
            emailed_at=None,
            email_abandoned_at=None,
            subject__user__isnull=False,
        )
        .exclude(subject__user__email="")
        .exclude(Q(email_sending=True) & Q(email_attempted_at__gt=now - CLAIM_TIMEOUT))
        .order_by("sent_at", "pk")
        .values_list("pk", "email_attempts", "email_attempted_at")
    )
    due = []
    for pk, attempts, attempted_at in owed.iterator():
        if attempted_at is None or attempted_at + retry_delay(attempts) <= now:
            due.append(pk)
            if len(due) == limit:
                break
    return due


def email_unsent_notices(*, actor: Actor, limit: int = 500) -> int:
    """Try again to e-mail every sent notice whose e-mail is owed and due. Run by the system on
    a schedule; returns how many were e-mailed now."""
    sent = 0
    for notification_id in notices_to_email(timezone.now(), limit):
        try:
            if email_notice(notification_id, actor=actor) == EmailResult.SENT:
                sent += 1
        except EmailNotSent:
            continue  # recorded; due again later
    return sent

"""Notices about grants and challenges, to the person concerned and their representatives: shown
in the app at once (the governed act, in the transaction that causes it), and e-mailed after
commit where the recipient has an address. The e-mail says only that there is something to read,
never what: the detail is behind the sign-in."""

import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from appeals import audit_actions
from appeals.models import (
    AppealNotice,
    AppealNoticeKind,
    Challenge,
    Representation,
    RepresentationStatus,
)
from audit import log
from audit.actors import Actor
from flags.models import Subject

logger = logging.getLogger(__name__)


def recipients(subject: Subject, *, case_id: int | None, also: Iterable[User] = ()) -> list[User]:
    """The person (when their account is linked) and every representative whose live grant
    covers the matter: all their cases, or the case ``case_id``. ``also`` adds a party that must
    hear even though no live grant covers them now (the representative whose grant just ended)."""
    grants = Representation.objects.filter(
        subject=subject, status=RepresentationStatus.ACTIVE, expires_at__gt=timezone.now()
    ).filter(Q(case__isnull=True) | Q(case_id=case_id))
    found: dict[int, User] = {}
    if subject.user is not None and subject.user.is_active:
        found[subject.user.pk] = subject.user
    for grant in grants.select_related("representative"):
        found.setdefault(grant.representative_id, grant.representative)
    for user in also:
        found.setdefault(user.pk, user)
    return [found[pk] for pk in sorted(found)]


def notify(
    kind: AppealNoticeKind,
    *,
    subject: Subject,
    to: Iterable[User],
    challenge: Challenge | None = None,
    representation: Representation | None = None,
) -> list[AppealNotice]:
    """Send a notice of ``kind`` to each of ``to`` now, inside the caller's transaction; their
    e-mails go after it commits. The caller names the notices' ids in its audit event."""
    now = timezone.now()
    notices = AppealNotice.objects.bulk_create(
        [
            AppealNotice(
                recipient=user,
                subject=subject,
                kind=kind,
                challenge=challenge,
                representation=representation,
                created_at=now,
            )
            for user in to
        ]
    )
    for notice in notices:
        if notice.recipient.email:
            transaction.on_commit(partial(_email_later, notice.pk))
    return notices


def _email_later(notice_id: int) -> None:
    from appeals.tasks import email_appeal_notice

    try:
        email_appeal_notice.delay(notice_id)
    except Exception:
        # The notice is in the app, and committed; only its e-mail is owed. A decision already
        # saved must not answer with an error for it.
        logger.exception("Appeal notice %s: its e-mail could not be sent or queued.", notice_id)


def email_appeal_notice(notice_id: int, *, actor: Actor) -> bool:
    """E-mail a notice to its recipient once; True when it was sent now. The mail goes with no
    lock held; the result is recorded, and audited, in its own transaction."""
    notice = (
        AppealNotice.objects.select_related("recipient")
        .filter(pk=notice_id, emailed_at__isnull=True)
        .first()
    )
    if notice is None or not notice.recipient.email:
        return False
    AppealNotice.objects.filter(pk=notice_id).update(email_attempts=F("email_attempts") + 1)
    body = render_to_string("appeals/email/notice.txt", {"notice": notice})
    send_mail(
        f"Scrutiny: {AppealNoticeKind(notice.kind).label}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [notice.recipient.email],
    )
    with transaction.atomic():
        claimed = AppealNotice.objects.filter(pk=notice_id, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if claimed:
            log.record(
                audit_actions.APPEAL_NOTICE_EMAILED,
                notice,
                actor=actor,
                data={"recipient": notice.recipient_id, "kind": notice.kind},
                reason="notice e-mailed",
            )
    return bool(claimed)

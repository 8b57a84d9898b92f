"""Celery entry points for appeals: they load ids and call services, nothing more."""

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task

from appeals.attachments import remove_orphans
from appeals.models import ChallengeAttachment
from appeals.services import expire_grants
from appeals.services.notices import email_appeal_notice as email_notice
from audit.actors import system_actor

EMAIL_TASK_RETRIES = 5
EMAIL_TASK_FIRST_DELAY = 30


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=EMAIL_TASK_RETRIES)
def email_appeal_notice(self: Any, notice_id: int) -> bool:
    """E-mail a notice about a grant or a challenge to its recipient, once."""
    try:
        return email_notice(notice_id, actor=system_actor())
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(
            exc=exc, countdown=EMAIL_TASK_FIRST_DELAY * 2**self.request.retries
        ) from exc


@shared_task(acks_late=True, reject_on_worker_lost=True)
def expire_representations() -> int:
    """Record the grants whose expiry has passed (each took effect when it fell)."""
    return expire_grants(actor=system_actor())


# A file no row names, older than this, was left by a transaction that rolled back after storing
# it (or a crash in between): it is removed.
ORPHAN_AGE = timedelta(days=1)
logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def remove_orphan_attachments() -> int:
    """Remove stored files that no attachment row names (see appeals.attachments)."""
    known = set(ChallengeAttachment.objects.values_list("stored_name", flat=True))
    removed = remove_orphans(known, older_than=ORPHAN_AGE)
    if removed:
        logger.warning("Removed %d orphaned attachment file(s).", len(removed))
    return len(removed)

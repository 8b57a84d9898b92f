"""Celery entry points for reports: they load ids and call services, nothing more."""

from typing import Any

from celery import shared_task
from django.conf import settings

from reports import services
from reports.documents import build_document, document_to_pdf

# Seconds before the first retry of a failed attempt; doubled for each one after.
RETRY_FIRST_DELAY = 10


# A render past its soft time limit is interrupted inside (SoftTimeLimitExceeded: a failed
# attempt, as any other error is); past the hard one its pool process is killed and, rather than
# being acknowledged as a failure, the message is put back (acks_on_timeout=False), as it is when
# the process dies of anything else (reject_on_worker_lost).
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    acks_on_timeout=False,
    soft_time_limit=settings.REPORT_RENDER_SOFT_TIME_LIMIT,
    time_limit=settings.REPORT_RENDER_TIME_LIMIT,
    max_retries=None,
)
def render_report(self: Any, report_id: int) -> str:
    """Render a report. Safe to run again for the same report: a finished one is left alone, and
    the services bound the attempts (REPORT_MAX_ATTEMPTS), so the retries here need no bound of
    their own; a message redelivered after a worker died counts as an attempt too.

    Run eagerly (no broker: in the process that asked for it, once the request's transaction
    commits) there is no queue to retry through: the attempts are made one after another, here,
    and the last one's failure marks the report failed, with its error. The request answers as
    usual, and the person's page says what went wrong."""
    while True:
        try:
            return services.render(report_id, build_document, document_to_pdf)
        except services.RenderFailed as exc:
            if not self.request.is_eager:
                raise self.retry(
                    exc=exc, countdown=RETRY_FIRST_DELAY * 2**self.request.retries
                ) from exc


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def mark_superseded_report(self: Any, report_id: int) -> str:
    """Render a superseded report's marked edition (its banner on the first page)."""
    try:
        return services.mark_superseded(report_id, document_to_pdf)
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=RETRY_FIRST_DELAY * 2**self.request.retries) from exc

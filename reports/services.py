"""Asking for a report, rendering it, and handing it over.

A report is asked for by a person (``request_report``), in one transaction with its audit event;
its rendering is queued only once that transaction commits. ``render`` is what the Celery task
runs, and may run more than once for one report (a redelivered message, a worker that died): it
does nothing to a report already finished or given up, keeps one file per report, and records
the completion once; a render that read the data before a correction made while it was queued or
rendering finishes superseded (``reports.receivers``). ``open_report`` hands a finished file to a
person still allowed to have it, logging the download in the audit log and, for a person's data,
in the access log.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import dateformat, timezone

from appeals.models import Challenge
from appeals.selectors import DISCLOSURE_PACK_OBJECT_TYPE
from audit import log
from audit.access import Shown, record_access
from audit.actors import system_actor
from audit.history import save_with_history
from audit.log import Entry
from audit.models import AuditEvent
from reports import audit_actions, params
from reports.access import Allowed, allowed, may_ask_for
from reports.errors import ReportError, ReportNotFound
from reports.models import FINISHED_STATUSES, Report, ReportKind, ReportStatus
from reports.rendering import Snapshot, current_snapshot, snapshot_at
from reports.storage import report_storage

logger = logging.getLogger(__name__)

UNFINISHED = (ReportStatus.QUEUED, ReportStatus.RENDERING)


@dataclass(frozen=True)
class Document:
    """A report's finished HTML, for WeasyPrint, and its title."""

    html: str
    title: str


# Builds a report's document from what its requester may have, at a snapshot; set by
# reports.documents (the kinds' templates and their data).
Builder = Callable[[Report, Allowed, Snapshot], Document]


def no_such_report(report_id: int) -> str:
    return f"There is no report {report_id} that you may have."


# --- asking -------------------------------------------------------------------------------------


def request_report(kind: Any, raw_params: Any, *, user: User) -> Report:
    """Ask for a report of ``kind`` with ``raw_params``, as ``user``. ReportInvalid,
    ReportForbidden or ReportNotFound (answered as a missing record) where it may not be had;
    ReportError where the person already has as many reports rendering as they may."""
    kind = params.parse_kind(kind)
    may_ask_for(kind, user)
    kind, clean = params.parse(kind, raw_params)
    grant = allowed(kind, clean, user)
    limit = settings.REPORT_MAX_UNFINISHED_PER_PERSON
    now = timezone.now()
    with transaction.atomic():
        # The requester's row locked until commit: their requests are counted one at a time, so
        # two at once cannot both find room for one more.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).first()
        waiting = Report.objects.filter(requested_by=user, status__in=UNFINISHED).count()
        if waiting >= limit:
            raise ReportError(
                f"You have {waiting} reports waiting to be rendered, as many as you may have at "
                "once: ask for another when one of them is ready."
            )
        report = Report(
            kind=kind,
            params=params.canonical(clean),
            requested_by=user,
            requested_as=str(grant.actor.role),
            on_behalf_of=grant.actor.on_behalf_of,
            subject=grant.subject,
            case=grant.case,
            period_start=clean.get("from"),
            period_end=clean.get("to"),
            status=ReportStatus.QUEUED,
            step="Waiting for a worker",
            requested_at=now,
        )
        save_with_history(report, actor=grant.actor, reason="report requested")
        log.record(
            audit_actions.REPORT_REQUESTED,
            report,
            actor=grant.actor,
            data={"kind": kind, "params": clean},
        )
        from reports.tasks import render_report

        render_report.delay_on_commit(report.pk)
    return report


# --- rendering ----------------------------------------------------------------------------------


class RenderFailed(Exception):
    """This attempt failed and another may succeed: the task tries again later."""


def render(
    report_id: int, build: Builder, to_pdf: Callable[[Document, Snapshot, str], bytes]
) -> str:
    """Render one report: ``build`` its document at a snapshot, ``to_pdf`` it, store the file and
    record its completion. Returns what happened: "done", "superseded" (a correction was made
    after the snapshot it read), "finished already" or "failed". Raises RenderFailed where this
    attempt failed and the report has attempts left."""
    report = _start(report_id)
    if report is None:
        return "finished already"
    try:
        grant = allowed(report.kind, params_of(report), report.requested_by)
        _progress(report_id, 10, "Reading the data")
        document, snapshot = _read(report, grant, build)
        _progress(report_id, 40, "Laying out the pages")
        content = to_pdf(document, snapshot, identifier_of(report))
        _progress(report_id, 90, "Storing the file")
        return _finish(report_id, content, document.html, snapshot)
    except ReportNotFound:
        # The requester may no longer have it (a grant ended, a conflict declared): no attempt
        # would succeed.
        return _give_up(
            report_id, "The person who asked for it may no longer have it.", attempts_left=False
        )
    except Exception as exc:
        logger.exception("Rendering report %s failed (attempt %s)", report_id, report.attempts)
        left = report.attempts < settings.REPORT_MAX_ATTEMPTS
        outcome = _give_up(report_id, f"{type(exc).__name__}: {exc}", attempts_left=left)
        if left:
            raise RenderFailed(str(exc)) from exc
        return outcome


def identifier_of(report: Report) -> str:
    """What the report is of (its kind and canonical parameters): the PDF's identifier, so that
    two requests for the same thing at the same snapshot are the same file."""
    return f"scrutiny:{report.kind}:{report.params}"


def snapshot_of(report: Report) -> Snapshot:
    """The snapshot a finished report was rendered from."""
    if report.snapshot_seq is None:
        raise ReportError(f"Report {report.pk} has not been rendered.")
    return snapshot_at(report.snapshot_seq, report.snapshot_hash)


def params_of(report: Report) -> dict[str, Any]:
    value = json.loads(report.params)
    if not isinstance(value, dict):
        raise ValueError(f"Report {report.pk} has parameters that are not an object.")
    return value


def _start(report_id: int) -> Report | None:
    """Mark the report rendering and count the attempt; None if it needs nothing more."""
    with transaction.atomic():
        report = (
            Report.objects.select_for_update(of=("self",))
            .select_related("requested_by")
            .get(pk=report_id)
        )
        if report.status not in UNFINISHED:
            return None
        if report.attempts >= settings.REPORT_MAX_ATTEMPTS:
            # Every attempt so far ended with its worker (killed, out of memory, over the hard
            # time limit) before it could count as failed: give up as after any other failure.
            _fail(report, f"Rendering stopped its worker {report.attempts} times.")
            return None
        report.status = ReportStatus.RENDERING
        report.attempts += 1
        report.started_at = timezone.now()
        report.progress, report.step = 5, "Starting"
        save_with_history(
            report, actor=system_actor(), reason=f"rendering, attempt {report.attempts}"
        )
    return report


def _progress(report_id: int, progress: int, step: str) -> None:
    # Progress is not governed (the model leaves it out of its history): a plain update, so that
    # a page asking how far it has got sees it at once.
    Report.objects.filter(pk=report_id, status=ReportStatus.RENDERING).update(
        progress=progress, step=step
    )


def _read(report: Report, grant: Allowed, build: Builder) -> tuple[Document, Snapshot]:
    """The document, read with the chain's head in one consistent view of the data."""
    # Its own transaction, where rendering has one (the worker): inside a caller's, that
    # transaction's view is the one read.
    own = not connection.in_atomic_block
    with transaction.atomic():
        if own and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                # The statistics group a year of rows: room to hash them in memory.
                cursor.execute(
                    "SELECT set_config('work_mem', %s, true)", [f"{settings.REPORT_WORK_MEM_MB}MB"]
                )
        snapshot = current_snapshot()
        return build(report, grant, snapshot), snapshot


def _finish(report_id: int, content: bytes, html: str, snapshot: Snapshot) -> str:
    digest = hashlib.sha256(content).hexdigest()
    name = f"{report_id}/{digest}.pdf"
    # The same bytes have the same name: a second delivery that rendered them again finds the
    # files there and stores nothing more. The HTML is kept beside the PDF: a superseded
    # report's marked edition is rendered from it.
    _store(name, content)
    _store(html_name(name), html.encode("utf-8"))
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status != ReportStatus.RENDERING:
            # Another delivery finished it (or it was given up) meanwhile.
            _remove_other_files(report)
            return "finished already"
        report.status = ReportStatus.DONE
        report.progress, report.step = 100, "Ready"
        report.snapshot_seq, report.snapshot_hash = snapshot.seq, snapshot.hash
        report.stored_name, report.sha256, report.size = name, digest, len(content)
        report.finished_at = timezone.now()
        report.error = ""
        actor = system_actor()
        save_with_history(report, actor=actor, reason="rendered")
        completed = Entry(
            audit_actions.REPORT_COMPLETED,
            report,
            {
                "sha256": digest,
                "size": len(content),
                "snapshot_seq": snapshot.seq,
                "snapshot_hash": snapshot.hash,
            },
        )
        correction = _correction_since(report_id, snapshot)
        superseded = _supersede_on_finishing(report, correction) if correction is not None else []
        log.record_many([completed, *superseded], actor=actor)
    _remove_other_files(report)
    return "superseded" if superseded else "done"


def _correction_since(report_id: int, snapshot: Snapshot) -> AuditEvent | None:
    """The latest correction of data the report reads made after its snapshot: one committed
    while it was queued or rendering (its ``report.data_corrected`` event), that the render read
    the data from before. The report's row is locked: a correction still being made waits for
    this to finish, and then finds the report finished and supersedes it itself."""
    return (
        AuditEvent.objects.filter(
            action=audit_actions.REPORT_DATA_CORRECTED,
            target_type=Report._meta.label_lower,
            target_id=str(report_id),
            seq__gt=snapshot.seq,
        )
        .order_by("-seq")
        .first()
    )


def _supersede_on_finishing(report: Report, correction: AuditEvent) -> list[Entry]:
    """Finish ``report`` superseded by ``correction``, as a correction made after it finished
    would have: the same history, notices, marked edition and event naming the challenge."""
    from reports.receivers import supersede

    data = dict(correction.data)
    named = data.get("challenge")
    challenge = Challenge.objects.filter(pk=named).first() if named is not None else None
    return supersede([report], challenge=challenge, cause=correction.reason, cause_data=data)


def html_name(pdf_name: str) -> str:
    return pdf_name.removesuffix(".pdf") + ".html"


def _store(name: str, content: bytes) -> None:
    storage = report_storage()
    if storage.exists(name):
        return
    stored = storage.save(name, ContentFile(content))
    if stored != name:
        raise RuntimeError(f"The report's file was stored as {stored}, not {name}.")


def _remove_other_files(report: Report) -> None:
    """Exactly one file per report (with its HTML, and once superseded its marked edition): any
    other a dead or overtaken attempt left goes."""
    keep = {report.stored_name, report.marked_name}
    if report.stored_name:
        keep.add(html_name(report.stored_name))
    storage = report_storage()
    try:
        _directories, files = storage.listdir(str(report.pk))
    except FileNotFoundError:
        return
    for file in files:
        name = f"{report.pk}/{file}"
        if name not in keep:
            storage.delete(name)


# The place in a report's HTML where the superseded banner goes (reports/pdf/base.html).
SUPERSEDED_MARKER = "<!-- scrutiny: superseded banner -->"


def mark_superseded(report_id: int, to_pdf: Callable[[Document, Snapshot, str], bytes]) -> str:
    """Render a superseded report's marked edition: its own HTML, with the superseded banner on
    its first page, at its own snapshot. Safe to run again: an edition already made is kept."""
    report = Report.objects.get(pk=report_id)
    if report.status != ReportStatus.SUPERSEDED or report.marked_name:
        return "nothing to do"
    storage = report_storage()
    with storage.open(html_name(report.stored_name), "rb") as file:
        html = file.read().decode("utf-8")
    when = timezone.localtime(report.superseded_at) if report.superseded_at else None
    banner = render_to_string(
        "reports/pdf/superseded.html",
        {
            "superseded_at": dateformat.format(when, "j F Y, H:i") if when else "",
            "fresh_report_url": settings.REPORTS_URL,
        },
    )
    if SUPERSEDED_MARKER not in html:
        raise ValueError(f"Report {report.pk}'s HTML has no place for the superseded banner.")
    content = to_pdf(
        Document(
            html=html.replace(SUPERSEDED_MARKER, banner, 1),
            title=_title_of(html, report.of_words()),
        ),
        snapshot_of(report),
        identifier_of(report) + ":superseded",
    )
    digest = hashlib.sha256(content).hexdigest()
    name = f"{report.pk}/superseded-{digest}.pdf"
    _store(name, content)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.marked_name:
            return "nothing to do"
        report.marked_name, report.marked_sha256, report.marked_size = name, digest, len(content)
        actor = system_actor()
        save_with_history(report, actor=actor, reason="marked superseded")
        log.record(
            audit_actions.REPORT_MARKED,
            report,
            actor=actor,
            data={"sha256": digest, "size": len(content), "original_sha256": report.sha256},
        )
    return "marked"


def _title_of(html: str, fallback: str) -> str:
    """The document's own title, as its <title> gives it, for the PDF's metadata."""
    start, end = html.find("<title>"), html.find("</title>")
    if start < 0 or end < start:
        return fallback
    return unescape(html[start + len("<title>") : end])


def _give_up(report_id: int, error: str, *, attempts_left: bool) -> str:
    """Record a failed attempt: back in the queue while attempts are left, failed after."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status != ReportStatus.RENDERING:
            return "finished already"
        actor = system_actor()
        report.error = error[:2000]
        if attempts_left:
            report.status, report.step = ReportStatus.QUEUED, "Waiting to try again"
            save_with_history(report, actor=actor, reason="attempt failed")
            return "retry"
        _fail(report, report.error)
    return "failed"


def _fail(report: Report, error: str) -> None:
    """Mark ``report`` failed for good, with its event: inside the caller's transaction, the row
    locked."""
    actor = system_actor()
    report.status, report.step = ReportStatus.FAILED, "Failed"
    report.error = error[:2000]
    report.finished_at = timezone.now()
    save_with_history(report, actor=actor, reason="given up")
    log.record(
        audit_actions.REPORT_FAILED,
        report,
        actor=actor,
        data={"attempts": report.attempts, "error": report.error},
    )


# --- handing over -------------------------------------------------------------------------------


def reports_visible_to(user: User) -> QuerySet[Report]:
    """The reports ``user`` asked for, and those asked for on their behalf, newest first."""
    return Report.objects.filter(Q(requested_by=user) | Q(on_behalf_of=user)).select_related(
        "requested_by", "subject", "case"
    )


def report_for(report_id: int, user: User) -> Report:
    """A report ``user`` asked for (or one asked for on their behalf), in any state.
    ReportNotFound, in the words a missing one gets, for anyone else's."""
    report = (
        Report.objects.filter(pk=report_id)
        .select_related("requested_by", "on_behalf_of", "subject", "case")
        .first()
    )
    if report is None or user.pk not in (report.requested_by_id, report.on_behalf_of_id):
        raise ReportNotFound(no_such_report(report_id))
    return report


@dataclass(frozen=True)
class Edition:
    """The file a download sends, and its SHA-256."""

    file: IO[bytes]
    sha256: str


def open_report(report_id: int, user: User, *, channel: str) -> tuple[Report, Edition]:
    """A finished report's file, for a person allowed to have it now, the download audited and,
    for a person's data, written to the access log. A superseded report is sent in its marked
    edition once that is rendered (its banner on the first page), and as it was until then."""
    report = report_for(report_id, user)
    if report.status not in FINISHED_STATUSES:
        raise ReportError(
            f"Report {report.pk} is not ready: it is {report.get_status_display().lower()}."
        )
    grant = allowed(report.kind, params_of(report), user)
    if report.marked_name:
        name, digest = report.marked_name, report.marked_sha256
    else:
        name, digest = report.stored_name, report.sha256
    with transaction.atomic():
        log.record(
            audit_actions.REPORT_DOWNLOADED,
            report,
            actor=grant.actor,
            data={"sha256": digest, "channel": channel},
        )
        shown = _shown_by(report)
        if shown is not None:
            record_access(
                [shown],
                actor=grant.actor,
                channel=channel,
                view=f"{report.kind}_download",
                purpose=grant.purpose,
            )
    return report, Edition(file=report_storage().open(name, "rb"), sha256=digest)


def _shown_by(report: Report) -> Shown | None:
    """What a download shows of a person, for their access log. A case file is logged against
    its case, as the case's own views are, so that the person sees the download exactly when they
    see the case (never while its notice is deferred); a disclosure pack against the report (the
    person's access log keeps someone else's download of it from them while any of their cases
    is); an oversight report names no one."""
    if report.subject_id is None or report.kind == ReportKind.OVERSIGHT:
        return None
    if report.kind == ReportKind.CASE_FILE and report.case_id is not None:
        return Shown(report.subject_id, "casework.case", report.case_id)
    return Shown(report.subject_id, DISCLOSURE_PACK_OBJECT_TYPE, report.pk)


def download_name(report: Report) -> str:
    return f"scrutiny-{report.kind.replace('_', '-')}-{report.pk}.pdf"

"""What reports do when a challenge changes the data they were rendered from
(``appeals.signals.data_corrected``): every finished report that used it is marked superseded,
in the challenge's transaction, each with its own audit event naming the challenge, and the
person whose record it is, with the representative who asked for it, is told.

A report still queued or rendering when the correction is made gets a ``report.data_corrected``
event instead, in the same transaction: its render finishes superseded if the snapshot it read
is older than that event (``reports.services``), and as usual if it read the corrected data.

Which reports used the data: a disclosure pack of any person with a flag on a changed record or
a case among those changed; a case file of a changed case; an oversight report whose period takes
in the day a changed case opened or a flag on a changed record was received. Set-based: the same
statements for one report as for thousands.
"""

from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone

from appeals.models import AppealNoticeKind, Challenge
from appeals.selectors import told_case_ids
from appeals.services.notices import notify
from audit.actors import system_actor
from audit.bulk_writes import update_with_history
from audit.log import Entry
from casework.models import Case
from flags.models import Flag
from reports import audit_actions
from reports.models import Report, ReportKind, ReportStatus

# The states in which a correction reaches a report: finished, or on its way to being.
_TOUCHABLE = (ReportStatus.DONE, ReportStatus.QUEUED, ReportStatus.RENDERING)


def supersede_reports(
    sender: Any,
    *,
    challenge: Any,
    evidence_ids: list[int],
    case_ids: list[int],
    cause: str,
    cause_data: dict[str, Any],
    **kwargs: Any,
) -> list[Entry]:
    flags = Flag.objects.filter(evidence__in=evidence_ids)
    cases = Case.objects.filter(pk__in=case_ids)
    subject_ids = set(flags.values_list("subject_id", flat=True)) | set(
        cases.values_list("subject_id", flat=True)
    )
    days = _days(flags, cases)
    touched = Q(kind=ReportKind.DISCLOSURE, subject_id__in=subject_ids) | Q(
        kind=ReportKind.CASE_FILE, case_id__in=case_ids
    )
    if days:
        first, last = min(days), max(days)
        # A period that takes in any of the days: checked exactly below, in Python, on the few
        # reports whose period overlaps the span of them.
        touched |= Q(kind=ReportKind.OVERSIGHT, period_start__lte=last, period_end__gte=first)
    found = [
        report
        for report in Report.objects.select_for_update(of=("self",))
        .filter(touched, status__in=_TOUCHABLE)
        .select_related("subject__user", "requested_by")
        .order_by("pk")
        if report.kind != ReportKind.OVERSIGHT or _covers(report, days)
    ]
    finished = [report for report in found if report.status == ReportStatus.DONE]
    # Not finished: its render may have read the data before this correction, or may read it
    # after; which, only its snapshot tells, when it finishes.
    overtaken = [
        Entry(audit_actions.REPORT_DATA_CORRECTED, report, dict(cause_data), reason=cause)
        for report in found
        if report.status != ReportStatus.DONE
    ]
    return supersede(finished, challenge=challenge, cause=cause, cause_data=cause_data) + overtaken


def supersede(
    reports: list[Report], *, challenge: Challenge | None, cause: str, cause_data: dict[str, Any]
) -> list[Entry]:
    """Mark finished ``reports`` superseded by a correction, tell whoever they were for, and
    queue their marked editions for after the transaction commits; the rows locked by the
    caller. Returns the audit entries to append, as the system."""
    if not reports:
        return []
    now = timezone.now()
    for report in reports:
        report.status = ReportStatus.SUPERSEDED
        report.superseded_at = now
    system = system_actor()
    update_with_history(
        Report,
        reports,
        ["status", "superseded_at"],
        user=system.user,
        reason=cause,
        when=now,
    )
    notices = _tell(reports, challenge)
    from reports.tasks import mark_superseded_report

    for report in reports:
        # Once the challenge's transaction commits: each report's marked edition, its banner on
        # the first page.
        mark_superseded_report.delay_on_commit(report.pk)
    return [
        Entry(
            audit_actions.REPORT_SUPERSEDED,
            report,
            {
                **cause_data,
                "sha256": report.sha256,
                "notices": notices.get(report.subject_id, [])
                if report.kind == ReportKind.DISCLOSURE
                else [],
            },
            reason=cause,
        )
        for report in reports
    ]


def _days(flags: Any, cases: Any) -> set[date]:
    zone = timezone.get_current_timezone()
    received = {
        moment.astimezone(zone).date() for moment in flags.values_list("received_at", flat=True)
    }
    opened = {
        moment.astimezone(zone).date() for moment in cases.values_list("opened_at", flat=True)
    }
    return received | opened


def _covers(report: Report, days: set[date]) -> bool:
    start, end = report.period_start, report.period_end
    return start is not None and end is not None and any(start <= day <= end for day in days)


def _tell(reports: list[Report], challenge: Challenge | None) -> dict[int | None, list[int]]:
    """A notice, once per person, to whoever a superseded disclosure pack of a record was for:
    the person, and the representative who asked for it on their behalf. Returns the notices'
    ids by person, for the audit events. The challenge is named only to the person it is about:
    on a shared record, another person's challenge is not theirs to know of. Nor is a pack the
    person cannot know of (``_known_to_the_person``): they are not told of it."""
    recipients: dict[int, dict[int, Any]] = {}
    subjects = {}
    for report in reports:
        if report.kind != ReportKind.DISCLOSURE or report.subject is None:
            continue
        if not _known_to_the_person(report):
            continue
        subjects[report.subject.pk] = report.subject
        people = recipients.setdefault(report.subject.pk, {})
        if report.subject.user is not None:
            people[report.subject.user.pk] = report.subject.user
        if report.on_behalf_of_id is not None:
            people[report.requested_by_id] = report.requested_by
    sent: dict[int | None, list[int]] = {}
    for subject_id, people in sorted(recipients.items()):
        if not people:
            continue
        notices = notify(
            AppealNoticeKind.REPORT_SUPERSEDED,
            subject=subjects[subject_id],
            to=[people[pk] for pk in sorted(people)],
            challenge=challenge
            if challenge is not None and challenge.subject_id == subject_id
            else None,
        )
        sent[subject_id] = [notice.pk for notice in notices]
    return sent


def _known_to_the_person(report: Report) -> bool:
    """Whether the person whose pack it is may know of it: one they asked for, or their
    representative did, always; one someone else asked for (a reviewer) only while none of their
    cases is hidden from them, as their access log shows its downloads only then
    (``appeals.selectors.access_log``): being told of it would say that someone is reading their
    record while a case they have not been told of is open."""
    subject = report.subject
    if subject is None:
        return False
    if report.on_behalf_of_id is not None or report.requested_by_id == subject.user_id:
        return True
    cases = set(Case.objects.filter(subject=subject).values_list("pk", flat=True))
    return cases <= told_case_ids(subject.pk)

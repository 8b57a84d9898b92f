"""What reports do when a challenge changes the data they were rendered from
(``appeals.signals.data_corrected``): every finished report that used it is marked superseded,
in the challenge's transaction, each with its own audit event naming the challenge, and the
person whose record it is, with the representative who asked for it, is told.

Which reports used the data: a disclosure pack of any person with a flag on a changed record or
a case among those changed; a case file of a changed case; an oversight report whose period takes
in the day a changed case opened or a flag on a changed record was received. Set-based: the same
statements for one report as for thousands.
"""

from datetime import date
from typing import Any

from django.db.models import Q
from django.utils import timezone

from appeals.models import AppealNoticeKind
from appeals.services.notices import notify
from audit.actors import system_actor
from audit.bulk_writes import update_with_history
from audit.log import Entry
from casework.models import Case
from flags.models import Flag
from reports import audit_actions
from reports.models import Report, ReportKind, ReportStatus


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
    reports = [
        report
        for report in Report.objects.select_for_update(of=("self",))
        .filter(touched, status=ReportStatus.DONE)
        .select_related("subject__user", "requested_by")
        .order_by("pk")
        if report.kind != ReportKind.OVERSIGHT or _covers(report, days)
    ]
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


def _tell(reports: list[Report], challenge: Any) -> dict[int | None, list[int]]:
    """A notice, once per person, to whoever a superseded disclosure pack of a record was for:
    the person, and the representative who asked for it on their behalf. Returns the notices'
    ids by person, for the audit events. The challenge is named only to the person it is about:
    on a shared record, another person's challenge is not theirs to know of."""
    recipients: dict[int, dict[int, Any]] = {}
    subjects = {}
    for report in reports:
        if report.kind != ReportKind.DISCLOSURE or report.subject is None:
            continue
        subjects[report.subject.pk] = report.subject
        people = recipients.setdefault(report.subject.pk, {})
        if report.subject.user is not None:
            people[report.subject.user.pk] = report.subject.user
        if report.on_behalf_of_id is not None:
            people[report.requested_by_id] = report.requested_by
    sent: dict[int | None, list[int]] = {}
    for subject_id, people in sorted(recipients.items()):
        notices = notify(
            AppealNoticeKind.REPORT_SUPERSEDED,
            subject=subjects[subject_id],
            to=[people[pk] for pk in sorted(people)],
            challenge=challenge if challenge.subject_id == subject_id else None,
        )
        sent[subject_id] = [notice.pk for notice in notices]
    return sent

"""Each kind of report as a document: the data it shows, read at a snapshot, in its template.

Every builder reads only through the selectors the pages use, so a report shows what the page
would, no more: the disclosure pack is the person's record page (appeals.person_views), the case
file the reviewer's case page (casework). Times that depend on "now" (a deadline's state) are
taken at the snapshot's moment, so that the same snapshot gives the same document.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from appeals.person_views import FlagView, record_context
from appeals.selectors import SubjectRecord, subject_record
from audit.models import AccessEvent
from casework import selectors as casework_selectors
from casework.views import trace_categories
from flags.models import Flag
from reports.access import Allowed, period
from reports.models import Report, ReportKind
from reports.oversight import oversight_context
from reports.redaction import LOG_INTRODUCTION, Redactor
from reports.rendering import Snapshot, render_pdf
from reports.services import SUPERSEDED_MARKER, Document, params_of

TEMPLATES = {
    ReportKind.DISCLOSURE: "reports/pdf/disclosure.html",
    ReportKind.CASE_FILE: "reports/pdf/case_file.html",
    ReportKind.OVERSIGHT: "reports/pdf/oversight.html",
}


def build_document(report: Report, grant: Allowed, snapshot: Snapshot) -> Document:
    title, parameters, context = BUILDERS[report.kind](report, grant, snapshot)
    html = render_to_string(
        TEMPLATES[ReportKind(report.kind)],
        {
            **context,
            "title": title,
            "kind_label": ReportKind(report.kind).label,
            "parameters": parameters,
            "requested_by": report.requested_by.get_username(),
            "requested_as": report.requested_as.replace("_", " "),
            "on_behalf_of": report.on_behalf_of.get_username() if report.on_behalf_of else "",
            "snapshot": snapshot,
            "superseded": False,
            "superseded_marker": mark_safe(SUPERSEDED_MARKER),  # noqa: S308 - a constant comment
        },
    )
    return Document(html=html, title=title)


def document_to_pdf(document: Document, snapshot: Snapshot, identifier: str) -> bytes:
    return render_pdf(
        document.html, snapshot=snapshot, title=document.title, identifier=identifier
    ).content


Built = tuple[str, list[tuple[str, str]], dict[str, Any]]


def _disclosure(report: Report, grant: Allowed, snapshot: Snapshot) -> Built:
    scope = grant.scope
    if scope is None:
        raise ValueError(f"Report {report.pk}: a disclosure pack needs the record's scope.")
    record = subject_record(scope)
    views = list(record.access_log)
    redactor = Redactor.for_subject(scope.subject, officials=officials(record, views))
    factors = redact_record(record, redactor)
    context = record_context(scope, record, views, now=snapshot.at)
    context["flags"] = [
        DisclosedFlag(
            **{field.name: getattr(item, field.name) for field in fields(item)},
            factors=factors[item.flag.pk],
        )
        for item in context["flags"]
    ]
    context["redactions"] = redactor.log
    context["redaction_introduction"] = LOG_INTRODUCTION
    subject = scope.subject
    title = f"Disclosure pack: {subject.name}"
    parameters = [("Whose record", f"{subject.name}, staff number {subject.staff_number}")]
    if not scope.whole_record:
        covered = ", ".join(f"case {case_id}" for case_id in sorted(scope.case_ids))
        parameters.append(("Covers", f"What the grant covers: {covered or 'no case yet'}"))
    return title, parameters, context


def officials(record: SubjectRecord, views: list[AccessEvent]) -> set[int]:
    """Whoever acted on the record in an official capacity: those who made its decisions,
    decided its challenges, or viewed it. Their names are not withheld from the person."""
    people: set[int | None] = {view.user_id for view in views}
    for case in record.cases:
        people.update(decision.made_by_id for decision in case.decisions.all())
    for challenge in record.challenges:
        people.update((challenge.adjudicator_id, challenge.escalation_taken_by_id))
    return {pk for pk in people if pk is not None}


@dataclass(frozen=True)
class DisclosedFlag(FlagView):
    """A flag as the pack shows it: as the record page does, with its factors redacted."""

    factors: list[Any]

    @property
    def status(self) -> str:
        """Its status, and the cases it is part of."""
        status = str(self.flag.get_status_display())
        if not self.case_ids:
            return status
        return f"{status}; part of " + ", ".join(f"case {pk}" for pk in self.case_ids)


def redact_record(record: SubjectRecord, redactor: Redactor) -> dict[int, list[Any]]:
    """Pass everything in the record that may name someone else through ``redactor``, in place,
    and return each flag's factors redacted, by flag id, for the pack to show instead of the
    flag's own.

    The objects are the ones just read for this document, and are never saved: the rendering
    reads in a read-only transaction on PostgreSQL, and nothing here or after calls save()."""
    factors: dict[int, list[Any]] = {}
    for flag in record.flags:
        flag.explanation = redactor.redact_text(
            flag.explanation, where=f"Flag {flag.pk}, explanation"
        )
        factors[flag.pk] = redact_factors(flag, redactor)
        for link in flag.flagevidence_set.all():
            evidence = link.evidence
            place = f"Flag {flag.pk}, evidence record {evidence.source_system} {evidence.record_id}"
            evidence.summary = redactor.redact_text(evidence.summary, where=f"{place}, summary")
            evidence.payload = redactor.redact_payload(evidence.payload, where=place)
    for case in record.cases:
        for decision in case.decisions.all():
            decision.rationale = redactor.redact_text(
                decision.rationale, where=f"Case {case.pk}, decision {decision.pk}, reasons"
            )
        for result in case.referral_results.all():
            result.reasons = redactor.redact_text(
                result.reasons, where=f"Case {case.pk}, referral result {result.pk}, reasons"
            )
    return factors


def redact_factors(flag: Flag, redactor: Redactor) -> list[Any]:
    """``flag``'s factors with other people's data withheld, each as {name, value, weight}.

    A detector names a factor and gives its value, which may be a string (``authorised_by``:
    "773812"): the value is redacted as a payload's value under a key of that name, so that a
    number is withheld where the name says it is a person's, and the name as a key. The weight
    is the detector's, a number about no one. A factor not in that shape (stored before the
    ingest schema required it) is redacted as a payload."""
    held = flag.factors if isinstance(flag.factors, list) else [flag.factors]
    redacted: list[Any] = []
    for position, factor in enumerate(held, start=1):
        where = f"Flag {flag.pk}, factor {position}"
        if isinstance(factor, dict) and factor.get("name"):
            as_field = redactor.redact_payload(
                {str(factor["name"]): factor.get("value")}, where=where
            )
            ((name, value),) = as_field.items()
            redacted.append({"name": name, "value": value, "weight": factor.get("weight")})
        else:
            redacted.append(redactor.redact_payload(factor, where=where))
    return redacted


def _case_file(report: Report, grant: Allowed, snapshot: Snapshot) -> Built:
    case = grant.case
    if case is None:
        raise ValueError(f"Report {report.pk}: a case file needs its case.")
    decisions = casework_selectors.decisions_of_case(case)
    context = {
        "case": case,
        "flags": [
            {
                "flag": link.flag,
                "status": f"{link.flag.get_status_display()}; {link.get_via_display().lower()}",
                "evidence": [{"record": record} for record in link.flag.evidence.all()],
            }
            for link in casework_selectors.flags_of_case(case)
        ],
        "decisions": decisions,
        "referral_results": casework_selectors.referral_results_of(case, decisions),
        "notices": casework_selectors.notifications_of_case(case),
        "context_accounts": casework_selectors.context_accounts_of_case(case),
        "trace_categories": trace_categories(case.trace),
        "reevaluations": [
            {"row": row, "categories": trace_categories(row.trace)}
            for row in casework_selectors.reevaluations_of_case(case)
        ],
    }
    title = f"Case file: case {case.pk}"
    parameters = [
        ("Case", f"Case {case.pk}, opened {case.opened_at:%d %B %Y}"),
        ("About", f"{case.subject.name}, staff number {case.subject.staff_number}"),
    ]
    return title, parameters, context


def _oversight(report: Report, grant: Allowed, snapshot: Snapshot) -> Built:
    first, last = period(params_of(report))
    title = f"Oversight report: {report.of_words()}"
    context = oversight_context(
        first, last, verify_up_to=snapshot.seq, today=timezone.localdate(snapshot.at)
    )
    return title, [("Period", f"{first.isoformat()} to {last.isoformat()}, inclusive")], context


BUILDERS: dict[str, Callable[[Report, Allowed, Snapshot], Built]] = {
    ReportKind.DISCLOSURE: _disclosure,
    ReportKind.CASE_FILE: _case_file,
    ReportKind.OVERSIGHT: _oversight,
}

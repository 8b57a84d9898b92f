"""Audit action codes written by the reports app."""

from audit.registry import register

REPORT_REQUESTED = register("report.requested", "A report was asked for.")
REPORT_COMPLETED = register(
    "report.completed", "A report was rendered; the event names the file's SHA-256 and snapshot."
)
REPORT_FAILED = register("report.failed", "A report could not be rendered and was given up.")
REPORT_DOWNLOADED = register("report.downloaded", "A finished report was downloaded.")
REPORT_SUPERSEDED = register(
    "report.superseded", "A correction touched data a finished report was rendered from."
)
REPORT_MARKED = register(
    "report.marked_superseded",
    "A superseded report's marked edition (its banner on the first page) was rendered.",
)
REPORT_DATA_CORRECTED = register(
    "report.data_corrected",
    "A correction touched data a queued or rendering report reads: a render from a snapshot "
    "older than this event finishes superseded.",
)

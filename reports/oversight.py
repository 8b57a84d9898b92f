"""The oversight report's content, for its PDF and for the oversight dashboard alike: the
figures of a period (reports.figures), the fairness tables suppressed (reports.fairness), the
charts (reports.charts), and, for a report, the audit chain's head at its snapshot and the
result of verifying the chain up to it."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from audit.chain import ChainCheck
from audit.log import verify_stored_chain
from reports.fairness import FairnessTable, fairness_tables
from reports.figures import OversightFigures, oversight_figures

# The rate the disparity charts draw: the one a detector acts on first.
CHARTED_RATE = "flagged_per_head"


@dataclass(frozen=True)
class FairnessView:
    table: FairnessTable
    chart: SafeString
    # The same table for each detector's flags alone, by detector name.
    by_detector: list[tuple[str, FairnessTable]]

    @property
    def reference_label(self) -> str:
        return next(
            (row.label for row in self.table.groups if row.key == self.table.reference_key),
            self.table.reference_key,
        )


def oversight_context(
    first: date, last: date, *, verify_up_to: int | None = None, today: date | None = None
) -> dict[str, Any]:
    """Everything the oversight report and the dashboard show for the period; ``verify_up_to``
    (a report's snapshot) adds the verification of the audit chain up to that event. ``today``
    is the day deadlines are judged missed on: a report's is its snapshot's, so that rendering it
    again from the same snapshot on a later day gives the same figures; the dashboard's today."""
    # Imported here: matplotlib takes a good part of a second to load, and only this draws.
    from reports.charts import disparity_bars, disparity_chart, precision_chart

    figures: OversightFigures = oversight_figures(first, last, today=today)
    fairness = []
    for dimension in figures.dimensions:
        overall = dimension.overall
        # Suppressed together: a count hidden in one table would otherwise be worked out from
        # the same group's counts in the others.
        table, by_detector = fairness_tables(overall, dimension.by_detector)
        chart = disparity_chart(
            disparity_bars(table, CHARTED_RATE),
            chart_id=f"disparity-{overall.key.replace('_', '-')}",
            title=f"{overall.label}: subjects flagged per head, against the reference group",
        )
        fairness.append(
            FairnessView(
                table=table,
                chart=mark_safe(chart),  # noqa: S308 - every label is escaped by the chart
                by_detector=list(by_detector.items()),
            )
        )
    detectors = [row for row in figures.detectors if row.leads or row.flags]
    precision = (
        mark_safe(  # noqa: S308 - every label is escaped by the chart
            precision_chart([row.precision for row in detectors], chart_id="precision")
        )
        if detectors
        else ""
    )
    chain: ChainCheck | None = (
        verify_stored_chain(up_to=verify_up_to) if verify_up_to is not None else None
    )
    return {
        "figures": figures,
        "detectors": detectors,
        "precision_chart": precision,
        "fairness": fairness,
        "chain": chain,
    }

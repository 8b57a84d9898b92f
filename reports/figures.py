"""The oversight report's figures for a period, each one computed by the database (GROUP BY and
conditional counts), never by loading rows into Python: the same number of queries whatever the
size of the force."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from casework.models import Case, CaseStatus
from flags.models import Flag


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The period as moments: from the start of ``first`` to the start of the day after
    ``last``, in the force's time zone."""
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(first, time(), tzinfo=zone),
        datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
    )


def oversight_figures(first: date, last: date) -> dict[str, Any]:
    start, end = bounds(first, last)
    flags = list(
        Flag.objects.filter(received_at__gte=start, received_at__lt=end)
        .values("detector__slug", "detector__name", "detector_version")
        .annotate(flags=Count("pk"), subjects=Count("subject", distinct=True))
        .order_by("detector__slug", "detector_version")
    )
    labels = dict(CaseStatus.choices)
    cases = [
        {
            "status": row["status"],
            "label": labels.get(row["status"], row["status"]),
            "cases": row["cases"],
        }
        for row in Case.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .values("status")
        .annotate(cases=Count("pk"))
        .order_by("status")
    ]
    return {
        "flags_by_detector": flags,
        "flags_total": sum(row["flags"] for row in flags),
        "cases_by_status": cases,
        "cases_total": sum(row["cases"] for row in cases),
    }

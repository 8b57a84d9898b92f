"""Calendar periods the detectors examine and the generator fills.

Detectors evaluate whole calendar months and quarter ends, not periods counted back from the day
they run: a period's content is then the same on every run, so its flag's external_id and evidence
are too, and a re-run is a no-op instead of a near-copy of yesterday's flag.
"""

from calendar import monthrange
from datetime import date, timedelta


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return month_end(day) + timedelta(days=1)


def months_overlapping(start: date, end: date) -> list[date]:
    """First days of every calendar month that has at least one day in [start, end]."""
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def complete_months(start: date, end: date) -> list[tuple[date, date]]:
    """(first day, last day) of every calendar month lying wholly inside [start, end]."""
    return [
        (first, month_end(first))
        for first in months_overlapping(start, end)
        if first >= start and month_end(first) <= end
    ]


def quarter_ends(start: date, end: date) -> list[date]:
    """Every 31 March, 30 June, 30 September and 31 December in [start, end]."""
    return [
        month_end(first)
        for first in months_overlapping(start, end)
        if first.month in (3, 6, 9, 12) and start <= month_end(first) <= end
    ]


def month_label(first: date) -> str:
    return first.strftime("%B %Y")


def long_date(day: date) -> str:
    """A date as people write it in the UK: 30 September 2026."""
    return f"{day.day} {day.strftime('%B %Y')}"

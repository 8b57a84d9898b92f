"""Working days in England and Wales, for the deadlines a challenge runs to.

A data steward must acknowledge a challenge within CHALLENGE_ACKNOWLEDGE_WORKING_DAYS and decide
it within CHALLENGE_DECIDE_WORKING_DAYS; a rejected challenge may be escalated within
CHALLENGE_ESCALATION_WINDOW_WORKING_DAYS. A working day, as police conduct procedures count
them, is Monday to Friday less the bank holidays of England and Wales, substitute days included.
Counting calendar days instead would let a deadline fall on Boxing Day or eat a steward's Easter.

Dates here are calendar dates in the force's time zone (settings.TIME_ZONE): a challenge filed at
00:30 on a Saturday in summer is filed on the Saturday, although it is still Friday in UTC.
"""

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays
from django.utils import timezone

# England and Wales share one set of bank holidays (the Banking and Financial Dealings Act 1971
# has one schedule for the two). The `holidays` package names its subdivisions by nation, ENG and
# WLS, with identical rules for the two, and has no joint one. Scotland and Northern Ireland
# differ and are not used.
SUBDIVISION = "ENG"


@lru_cache(maxsize=128)
def bank_holidays(year: int) -> frozenset[date]:
    """The bank holidays of England and Wales in ``year``, substitute days included.

    Built once per year and kept: the package computes a year's holidays when first asked, and a
    shared calendar object that grows as it is asked about new years is not safe to read from
    several threads at once, while a frozenset is.
    """
    calendar = holidays.country_holidays("GB", subdiv=SUBDIVISION, years=year)
    return frozenset(calendar.keys())


def is_working_day(day: date) -> bool:
    """Whether ``day`` is Monday to Friday and not a bank holiday in England and Wales.

    A substitute day ("Boxing Day (observed)" on a Monday when the 26th is a Saturday) is a
    holiday like the day it replaces: offices are closed on it.
    """
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date that is ``days`` working days after ``start``.

    ``start`` is day 0 and never counts, whatever day it is, as "within five working days of
    receipt" is read: a challenge received on Saturday is due five working days after it, the
    first being Monday. ``days`` of 0 is ``start`` itself.
    """
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}.")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days fall after ``start``, up to and including ``end``; 0 when ``end``
    is not after ``start``.

    The inverse of ``add_working_days``: for every ``n``,
    ``working_days_between(d, add_working_days(d, n)) == n``. Used to say how far through its
    time a challenge is ("day 3 of 5").
    """
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return count


def due_after(moment: datetime, days: int) -> date:
    """The date something received at ``moment`` (an aware datetime) is due, ``days`` working
    days later: counted from the local date of ``moment``, so a receipt late on a Friday night in
    UTC that is already Saturday in London counts from the Saturday."""
    return add_working_days(timezone.localdate(moment), days)


def deadline_met(due: date, done_at: datetime | None, now: datetime) -> bool | None:
    """Whether something due on ``due`` was done in time.

    True when it was done on or before the due date (in local time); False when it was done late,
    or is not done and the due date has passed; None while it is not done and still may be. The
    whole due date counts: something due on Friday is in time at 23:59 on Friday.
    """
    if done_at is not None:
        return timezone.localdate(done_at) <= due
    if timezone.localdate(now) > due:
        return False
    return None

"""appeals.deadlines: working days in England and Wales, counted by hand across Christmas,
Easter, substitute bank holidays and weekends, and checked as a property on any date."""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from appeals.deadlines import (
    add_working_days,
    bank_holidays,
    deadline_met,
    due_after,
    is_working_day,
    working_days_between,
)


def test_the_bank_holidays_of_2026_substitute_day_included() -> None:
    assert bank_holidays(2026) == {
        date(2026, 1, 1),  # New Year's Day, Thursday
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 4),  # early May
        date(2026, 5, 25),  # spring
        date(2026, 8, 31),  # late summer
        date(2026, 12, 25),  # Christmas Day, Friday
        date(2026, 12, 26),  # Boxing Day, Saturday...
        date(2026, 12, 28),  # ...and its substitute, Monday
    }


def test_a_year_is_built_once() -> None:
    assert bank_holidays(2031) is bank_holidays(2031)


def test_england_and_wales_have_the_same_bank_holidays() -> None:
    for year in range(2000, 2051):
        england = holidays.country_holidays("GB", subdiv="ENG", years=year)
        wales = holidays.country_holidays("GB", subdiv="WLS", years=year)
        assert set(england) == set(wales), year


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),  # Thursday
        (date(2026, 12, 25), False),  # Christmas Day, Friday
        (date(2026, 12, 26), False),  # Boxing Day, Saturday
        (date(2026, 12, 27), False),  # Sunday
        (date(2026, 12, 28), False),  # Boxing Day's substitute, Monday
        (date(2026, 12, 29), True),  # Tuesday
        (date(2027, 3, 26), False),  # Good Friday
        (date(2027, 3, 29), False),  # Easter Monday
        (date(2027, 5, 3), False),  # early May bank holiday
        (date(2027, 5, 31), False),  # spring bank holiday
        (date(2027, 8, 30), False),  # late summer bank holiday
        (date(2027, 12, 24), True),  # Friday
        (date(2027, 12, 27), False),  # Christmas Day's substitute (25th a Saturday)
        (date(2027, 12, 28), False),  # Boxing Day's substitute (26th a Sunday)
        (date(2028, 1, 3), False),  # New Year's Day's substitute (1st a Saturday)
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 3, 9), True),  # Monday
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Christmas 2026: Fri 25 and Mon 28 (Boxing Day's substitute) are holidays.
        # Thu 24 Dec + 1: Tue 29 (1).
        (date(2026, 12, 24), 1, date(2026, 12, 29)),
        # Thu 24 Dec + 5: Tue 29 (1), Wed 30 (2), Thu 31 (3), Fri 1 Jan holiday, Mon 4 (4),
        # Tue 5 (5).
        (date(2026, 12, 24), 5, date(2027, 1, 5)),
        # Wed 23 Dec + 5: Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4), Mon 4 Jan (5).
        (date(2026, 12, 23), 5, date(2027, 1, 4)),
        # Easter 2027: Good Friday 26 March, Easter Monday 29 March.
        # Thu 25 Mar + 1: Tue 30 (1).
        (date(2027, 3, 25), 1, date(2027, 3, 30)),
        # Mon 22 Mar + 5: Tue 23 (1), Wed 24 (2), Thu 25 (3), Tue 30 (4), Wed 31 (5).
        (date(2027, 3, 22), 5, date(2027, 3, 31)),
        # Mon 22 Mar + 20: 23-25 (3), 30 Mar-2 Apr (7), 5-9 Apr (12), 12-16 Apr (17),
        # Mon 19 (18), Tue 20 (19), Wed 21 (20).
        (date(2027, 3, 22), 20, date(2027, 4, 21)),
        # Christmas 2027: Sat 25 and Sun 26, so Mon 27 and Tue 28 are their substitutes; New
        # Year's Day 2028 is a Saturday, so Mon 3 Jan is its substitute.
        # Fri 24 Dec + 5: Wed 29 (1), Thu 30 (2), Fri 31 (3), Tue 4 Jan (4), Wed 5 Jan (5).
        (date(2027, 12, 24), 5, date(2028, 1, 5)),
        # Early May 2027: Mon 3 May. Fri 30 Apr + 1: Tue 4 May (1).
        (date(2027, 4, 30), 1, date(2027, 5, 4)),
        # Spring 2027: Mon 31 May. Fri 28 May + 1: Tue 1 Jun (1).
        (date(2027, 5, 28), 1, date(2027, 6, 1)),
        # Fri 1 May 2026 + 5, early May Mon 4 May: Tue 5 (1) ... Mon 11 (5).
        (date(2026, 5, 1), 5, date(2026, 5, 11)),
        # A plain weekend. Fri 6 Mar 2026 + 1: Mon 9 (1).
        (date(2026, 3, 6), 1, date(2026, 3, 9)),
        # Fri 6 Mar 2026 + 5: Mon 9 (1) ... Fri 13 (5).
        (date(2026, 3, 6), 5, date(2026, 3, 13)),
        # Starting on a Saturday: Sat 7 Mar 2026 + 1: Mon 9 (1); + 5: Fri 13 (5).
        (date(2026, 3, 7), 1, date(2026, 3, 9)),
        (date(2026, 3, 7), 5, date(2026, 3, 13)),
        # Starting on a holiday: Christmas Day 2026 + 1: Tue 29 (1).
        (date(2026, 12, 25), 1, date(2026, 12, 29)),
        # 0 days is the start itself, whatever day it is.
        (date(2026, 3, 7), 0, date(2026, 3, 7)),
        (date(2026, 12, 25), 0, date(2026, 12, 25)),
    ],
)
def test_add_working_days(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due
    assert working_days_between(start, due) == days


def test_a_negative_number_of_days_is_refused() -> None:
    with pytest.raises(ValueError, match="days must be 0 or more, not -1"):
        add_working_days(date(2026, 3, 9), -1)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (date(2026, 3, 9), date(2026, 3, 9), 0),  # the same day
        (date(2026, 3, 13), date(2026, 3, 9), 0),  # end before start
        (date(2026, 3, 6), date(2026, 3, 8), 0),  # Friday to Sunday: only the weekend
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Friday to Monday
        (date(2026, 12, 24), date(2026, 12, 28), 0),  # Christmas, weekend, substitute
        (date(2026, 12, 24), date(2027, 1, 5), 5),  # 29, 30, 31 Dec, 4, 5 Jan
        (date(2026, 3, 8), date(2026, 3, 20), 10),  # Sunday to the Friday week after
    ],
)
def test_working_days_between(start: date, end: date, count: int) -> None:
    assert working_days_between(start, end) == count


DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(start=DATES, days=st.integers(min_value=1, max_value=60))
def test_the_due_date_is_a_working_day_that_many_working_days_on(start: date, days: int) -> None:
    due = add_working_days(start, days)

    assert is_working_day(due)
    assert due > start
    assert working_days_between(start, due) == days
    # Nothing later would do: the day before the due date is one working day short.
    assert working_days_between(start, due - timedelta(days=1)) == days - 1


@given(start=DATES, days=st.integers(min_value=0, max_value=60))
def test_adding_in_two_steps_is_adding_at_once(start: date, days: int) -> None:
    first = days // 2
    halfway = add_working_days(start, first)
    assert add_working_days(halfway, days - first) == add_working_days(start, days)


def test_a_receipt_counts_from_its_date_in_london() -> None:
    # 23:30 UTC on Thursday 4 June 2026 is 00:30 on Friday in London (BST): counted from the
    # Friday, one working day on is Monday 8 June. An hour earlier it is still Thursday there.
    assert due_after(datetime(2026, 6, 4, 23, 30, tzinfo=UTC), 1) == date(2026, 6, 8)
    assert due_after(datetime(2026, 6, 4, 22, 30, tzinfo=UTC), 1) == date(2026, 6, 5)


DUE = date(2026, 6, 12)  # a Friday


@pytest.mark.parametrize(
    ("done_at", "now", "met"),
    [
        # Done at 23:59 in London on the due date (22:59 UTC): in time.
        (datetime(2026, 6, 12, 22, 59, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC), True),
        # Done before the due date.
        (datetime(2026, 6, 8, 9, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC), True),
        # Done at 00:30 on the Saturday in London (23:30 UTC on Friday): late.
        (datetime(2026, 6, 12, 23, 30, tzinfo=UTC), datetime(2026, 6, 20, tzinfo=UTC), False),
        # Not done, and the due date is today: still may be.
        (None, datetime(2026, 6, 12, 20, tzinfo=UTC), None),
        # Not done, and the due date is days away.
        (None, datetime(2026, 6, 1, 9, tzinfo=UTC), None),
        # Not done, and the due date passed at midnight in London.
        (None, datetime(2026, 6, 12, 23, 30, tzinfo=UTC), False),
    ],
)
def test_deadline_met(done_at: datetime | None, now: datetime, met: bool | None) -> None:
    assert deadline_met(DUE, done_at, now) is met

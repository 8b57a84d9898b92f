"""The statistics of an oversight report: detector precision and the fairness tables.

Pure functions over plain numbers, with no Django and no database, so that the same code serves
the oversight report's PDF and the oversight dashboard whatever query produced the counts. The
input shapes are the dataclasses `GroupCounts`, `DimensionCounts` and `DetectorPrecision`; the
output of a fairness table is a `FairnessTable`, which holds no suppressed value at all, so that
no renderer can print one by mistake.

Precision
    confirmed / (confirmed + wrong), with a Wilson score interval (`wilson_interval`), which
    stays inside 0 to 1 and behaves at 0 and at n successes, where the textbook Wald interval
    collapses to a point.

Disparity
    a group's rate divided by the reference group's rate (`disparity`), the reference being the
    largest group of the dimension by headcount, ties going to the first group key in sort
    order. It is outside the band when below 0.8 or above 1.25 (`outside_band`); 0.8 and 1.25
    themselves are inside. Rates and disparities are exact fractions, so that 8/100 against
    10/100 is 0.8 on the band's edge, not 0.7999999999999999 outside it. A disparity is
    undefined (None) where either rate is undefined (a zero denominator) or the reference rate
    is 0.

Suppression (statistical disclosure control)
    A fairness table counts people in groups, some of them small: a count of 3 disabled
    part-time officers flagged comes close to naming them. The reader guarded against knows
    these rules, every column's total (the same number may be printed elsewhere in the report:
    leads, confirmed and wrong are), the tables of each detector beside the overall one, and,
    at worst, why each cell is suppressed (`readable_values`). So:

    - **Small groups**: the groups of fewer than 10 people (`SMALL_COUNT_THRESHOLD`) by
      headcount are merged into one, "Other groups (fewer than 10 people each)", named but not
      counted one by one (`merge_small_groups`): a 0 against a suppressed count would otherwise
      tell whether the one chief constable was flagged. Where the merged group still has fewer
      than 10 people, none of its counts is shown, zeros included.
    - **Primary**: every count from 1 to 9 is suppressed, whether a group's or a total's. **Zero
      is published** elsewhere: in a group of 10 or more a zero names nobody, and suppressing
      zeros would hide most of a sparse column (confirmed, wrong) for no protection.
    - **Published relations**: in each column the groups add up to the total (a dimension's
      groups must cover everyone: a "Not recorded" group where needed). No column is a sum of
      others (pending, advice, welfare and decided cases are not columns); a count that cannot
      exceed another (people flagged their headcount, confirmed and wrong the cases opened) is
      an inequality. Across tables, a group's headcount is the same in each, and a detector's
      count is no more than the overall one, which is no more than the detectors' together.
    - **Secondary**, column by column: a reader knows a primary cell holds 1 to 9, so the
      suppressed cells of a column must leave at least two values from 1 to 9 possible for each
      primary cell (none told exactly), and both 0 and more for a small group's, however the
      column's total is divided between them (`column_protected` and `still_open`, computed
      exactly). Column [100, 9, 9] with a
      total of 118 would otherwise show that the two 9s, adding up to 18, are both 9. Where
      they do not, published counts (each of 10 or more) are suppressed too: the smallest one
      that is enough alone, or failing that the largest and then again; the reference group's
      only when no other will do. Where no published count is left, or the column's total is
      itself from 1 to 9 (so that the few could only be placed), every group's cell of the
      column is suppressed, zeros included. A column whose total is 0 shows its zeros. Totals
      are suppressed by the primary rule alone, so they read the same in every table.
    - **Linked**: a dimension's table and its detector-by-detector tables are suppressed as
      linked tables (`suppress_together`): from the same group's cells in the other tables a
      reader bounds a hidden one (`linked_bounds`); where that would leave a primary cell less
      than wholly open, the group's overall count is hidden as cover, each column's own
      protection then knows the bounds, and a detector's column too small to show takes the
      overall column with it; until nothing changes.
    - **Derived**: a rate or a disparity computed from any suppressed count is suppressed.

    What this does not cover: reasoning from the rule itself (that a secondary cell was the
    smallest of those published); the inequalities within a row, which can narrow a hidden count
    where a column's cover is a count of its row's other column (confirmed and wrong together
    are no more than the cases opened); and linking with data outside the report (a
    cross-tabulation of two dimensions, or a person's knowledge of who is in a small group).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

SMALL_COUNT_THRESHOLD = 10
BAND_LOW = Fraction(4, 5)
BAND_HIGH = Fraction(5, 4)


# -- Precision ------------------------------------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion ``successes / trials``, or None with no trials.

    With ``z`` of 1.96, the 95% interval. 0 successes give a lower bound of exactly 0, and
    ``trials`` successes an upper bound of exactly 1.
    """
    if isinstance(successes, bool) or isinstance(trials, bool):
        raise TypeError("successes and trials are counts, not booleans.")
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"Need 0 <= successes <= trials, not {successes} of {trials}.")
    if z <= 0:
        raise ValueError(f"z must be positive, not {z}.")
    if trials == 0:
        return None
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


@dataclass(frozen=True)
class DetectorPrecision:
    """One detector version's decided cases: input to a scorecard and the precision chart.

    ``label`` names the detector and version ("attendance 1.2.0"). A case to which several
    detectors contributed counts for each of their versions.
    """

    label: str
    confirmed: int
    wrong: int

    def __post_init__(self) -> None:
        _check_count("confirmed", self.confirmed)
        _check_count("wrong", self.wrong)

    @property
    def decided(self) -> int:
        return self.confirmed + self.wrong

    @property
    def precision(self) -> float | None:
        """confirmed / (confirmed + wrong); None with no decided case."""
        return self.confirmed / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The Wilson 95% interval of the precision; None with no decided case."""
        return wilson_interval(self.confirmed, self.decided)


# -- Disparity ------------------------------------------------------------------------------------


def disparity(rate: Fraction | None, reference_rate: Fraction | None) -> Fraction | None:
    """A group's rate over the reference group's: None if either is undefined or the reference 0."""
    if rate is None or reference_rate is None or reference_rate == 0:
        return None
    return rate / reference_rate


def outside_band(value: Fraction) -> bool:
    """Whether a disparity is below 0.8 or above 1.25 (the band's edges are inside it)."""
    return not (BAND_LOW <= value <= BAND_HIGH)


def format_disparity(value: Fraction) -> str:
    """A disparity to two decimal places, or more where two would put it on the wrong side of
    the band: 0.7951 is "0.795", not "0.80", which would read as inside."""
    for places in range(2, 7):
        text = f"{float(value):.{places}f}"
        if outside_band(Fraction(text)) == outside_band(value):
            return text
    return text


def reference_group(groups: Sequence[GroupCounts]) -> GroupCounts:
    """The largest group by headcount; of equal ones, the first by key."""
    if not groups:
        raise ValueError("A dimension needs at least one group.")
    return min(groups, key=lambda group: (-group.headcount, group.key))


# -- Input ----------------------------------------------------------------------------------------


class Measure(StrEnum):
    """The columns of a fairness table, in the order they are printed."""

    HEADCOUNT = "headcount"
    FLAGGED = "flagged"
    CASES_OPENED = "cases_opened"
    ADVERSE = "adverse"
    CONFIRMED = "confirmed"
    WRONG = "wrong"

    @property
    def label(self) -> str:
        return _MEASURE_LABELS[self]


_MEASURE_LABELS = {
    Measure.HEADCOUNT: "Headcount",
    Measure.FLAGGED: "Subjects flagged",
    Measure.CASES_OPENED: "Cases opened",
    Measure.ADVERSE: "Adverse outcomes",
    Measure.CONFIRMED: "Confirmed",
    Measure.WRONG: "Wrong",
}

MEASURES = tuple(Measure)


@dataclass(frozen=True)
class GroupCounts:
    """One group of a dimension ("Part time" of working pattern) and its counts for the period.

    ``key`` is stable (it orders ties); ``label`` is what is printed.
    """

    key: str
    label: str
    headcount: int
    flagged: int
    cases_opened: int
    adverse: int
    confirmed: int
    wrong: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("A group needs a key.")
        for measure in MEASURES:
            _check_count(measure.value, getattr(self, measure.value))

    def count(self, measure: Measure) -> int:
        value: int = getattr(self, measure.value)
        return value


@dataclass(frozen=True)
class DimensionCounts:
    """A dimension (``key`` "disability", ``label`` "Disability") and its groups, in print order.

    The groups must cover everyone counted: the total row is their sum.
    """

    key: str
    label: str
    groups: tuple[GroupCounts, ...]

    def __post_init__(self) -> None:
        if not self.groups:
            raise ValueError(f"Dimension {self.key!r} has no groups.")
        keys = [group.key for group in self.groups]
        if len(set(keys)) != len(keys):
            raise ValueError(f"Dimension {self.key!r} has a group key twice: {keys}.")


@dataclass(frozen=True)
class RateSpec:
    """A rate of a fairness table: ``numerator`` over the sum of the ``denominator`` measures."""

    key: str
    label: str
    numerator: Measure
    denominator: tuple[Measure, ...]


# Per head, and per decided case: a decided case being one confirmed or wrong, as in precision.
DEFAULT_RATES = (
    RateSpec(
        "flagged_per_head", "Subjects flagged per head", Measure.FLAGGED, (Measure.HEADCOUNT,)
    ),
    RateSpec("cases_per_head", "Cases opened per head", Measure.CASES_OPENED, (Measure.HEADCOUNT,)),
    RateSpec(
        "adverse_per_head", "Adverse outcomes per head", Measure.ADVERSE, (Measure.HEADCOUNT,)
    ),
    RateSpec(
        "confirmed_per_decided",
        "Confirmed per decided case",
        Measure.CONFIRMED,
        (Measure.CONFIRMED, Measure.WRONG),
    ),
    RateSpec(
        "wrong_per_decided",
        "Wrong per decided case",
        Measure.WRONG,
        (Measure.CONFIRMED, Measure.WRONG),
    ),
)


# -- Output ---------------------------------------------------------------------------------------


class Suppressed(StrEnum):
    """Why a figure is not printed."""

    PRIMARY = "primary"
    SMALL_GROUP = "small_group"
    WHOLE_COLUMN = "whole_column"
    SECONDARY = "secondary"
    DERIVED = "derived"

    @property
    def note(self) -> str:
        return SUPPRESSION_NOTES[self]


SUPPRESSION_NOTES = {
    Suppressed.PRIMARY: "A count from 1 to 9, not shown so that no small group can be identified.",
    Suppressed.SMALL_GROUP: (
        "A count of a group of fewer than 10 people, not shown even where it is 0, so that "
        "nothing can be told about any one of them."
    ),
    Suppressed.WHOLE_COLUMN: (
        "Not shown, like every count of its column, because the column counts too few for any "
        "group's share of it to be shown without giving a small count away."
    ),
    Suppressed.SECONDARY: (
        "Not shown so that a suppressed count cannot be worked out from the totals and the "
        "counts that are shown, in this table or another."
    ),
    Suppressed.DERIVED: "Not shown because it is computed from a count that is not shown.",
}


@dataclass(frozen=True)
class CountCell:
    """A count as printed: its value, or None and why it is suppressed."""

    value: int | None
    suppressed: Suppressed | None = None


@dataclass(frozen=True)
class RatioCell:
    """A rate or a disparity as printed.

    ``exact`` is the value, or None: suppressed when ``suppressed`` says why, otherwise
    undefined (a zero denominator, or for a disparity a reference rate of 0).
    """

    exact: Fraction | None
    suppressed: Suppressed | None = None

    @property
    def value(self) -> float | None:
        return None if self.exact is None else float(self.exact)

    @property
    def undefined(self) -> bool:
        return self.exact is None and self.suppressed is None


@dataclass(frozen=True)
class DisparityCell(RatioCell):
    """A group's disparity for one rate; the reference group's own is 1."""

    reference: bool = False

    @property
    def outside_band(self) -> bool:
        return self.exact is not None and outside_band(self.exact)


@dataclass(frozen=True)
class TableRow:
    """A group's row, or the total row (``key`` "total", no disparities).

    ``counts`` are in the order of the table's ``measures``, ``rates`` and ``disparities`` in the
    order of its ``rates``.
    """

    key: str
    label: str
    counts: tuple[CountCell, ...]
    rates: tuple[RatioCell, ...]
    disparities: tuple[DisparityCell, ...] = ()
    reference: bool = False


@dataclass(frozen=True)
class FairnessTable:
    """A dimension's fairness table, suppressed, ready to print."""

    key: str
    label: str
    measures: tuple[Measure, ...]
    rates: tuple[RateSpec, ...]
    groups: tuple[TableRow, ...]
    total: TableRow
    reference_key: str
    threshold: int = SMALL_COUNT_THRESHOLD
    notes: tuple[Suppressed, ...] = field(default=())

    def group(self, key: str) -> TableRow:
        for row in self.groups:
            if row.key == key:
                return row
        raise KeyError(key)

    def count(self, group_key: str, measure: Measure) -> CountCell:
        row = self.total if group_key == "total" else self.group(group_key)
        return row.counts[self.measures.index(measure)]

    def rate(self, group_key: str, rate_key: str) -> RatioCell:
        row = self.total if group_key == "total" else self.group(group_key)
        return row.rates[self._rate_index(rate_key)]

    def disparity(self, group_key: str, rate_key: str) -> DisparityCell:
        return self.group(group_key).disparities[self._rate_index(rate_key)]

    def _rate_index(self, rate_key: str) -> int:
        for index, spec in enumerate(self.rates):
            if spec.key == rate_key:
                return index
        raise KeyError(rate_key)


# -- Suppression ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSuppression:
    """Which cells of one column are suppressed, and why: the groups' in order, and the total's."""

    groups: tuple[Suppressed | None, ...]
    total: Suppressed | None


def is_small(value: int, threshold: int = SMALL_COUNT_THRESHOLD) -> bool:
    """Whether a count is suppressed by the primary rule: from 1 to ``threshold`` - 1."""
    return 0 < value < threshold


# What a reader can tell a suppressed cell holds: a union of spans of whole numbers, inclusive.
Span = tuple[int, int]


def _spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """The spans sorted, the empty dropped, the overlapping or adjacent joined."""
    joined: list[Span] = []
    for low, high in sorted(span for span in spans if span[0] <= span[1]):
        if joined and low <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], high))
        else:
            joined.append((low, high))
    return tuple(joined)


def _plus(left: Sequence[Span], right: Sequence[Span]) -> tuple[Span, ...]:
    """Every sum of a number of ``left`` and one of ``right``."""
    return _spans((a + c, b + d) for a, b in left for c, d in right)


def readable_values(
    reason: Suppressed, measure: Measure, total: int, threshold: int = SMALL_COUNT_THRESHOLD
) -> tuple[Span, ...]:
    """What a reader who knows these rules, and why each cell is suppressed, can tell a
    suppressed cell of a column adding up to ``total`` holds, before any subtraction.

    The worst case is assumed: the printed table says only "suppressed", with the reasons in its
    notes, but a reader may tell which cell is which. A primary cell holds 1 to 9; a secondary
    one 0 (hidden to match another table) or 10 or more (a published count taken as cover); a
    small group's headcount fewer than 10 (not its people flagged: people who have left are
    flagged but not counted); anything else up to the column's total."""
    small = threshold - 1
    if reason is Suppressed.PRIMARY:
        return ((1, small),)
    if reason is Suppressed.SECONDARY:
        return _spans(((0, 0), (threshold, total)))
    if reason is Suppressed.SMALL_GROUP and measure is Measure.HEADCOUNT:
        return ((0, small),)
    return ((0, total),)


def _must_stay_open(reason: Suppressed | None, threshold: int) -> Span | None:
    """The values among which a cell suppressed for ``reason`` must stay open (`still_open`):
    the small counts for a primary cell, and 0 and more for a small group's; None for a cell
    that protects nothing of its own."""
    if reason is Suppressed.PRIMARY:
        return (1, threshold - 1)
    if reason is Suppressed.SMALL_GROUP:
        return (0, threshold - 1)
    return None


def column_protected(
    values: Sequence[int],
    why: Sequence[Suppressed | None],
    measure: Measure = Measure.FLAGGED,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> bool:
    """Whether a reader who knows the column's total, the published cells and what each
    suppressed cell can hold (`readable_values`) is left unable to tell any primary cell's count
    exactly, or whether a small group's is 0 (`still_open`)."""
    possible = column_possible(values, why, measure, threshold)
    for reason, spans in zip(why, possible, strict=True):
        needed = _must_stay_open(reason, threshold)
        if needed is not None and spans is not None and not still_open(needed, spans):
            return False
    return True


def column_possible(
    values: Sequence[int],
    why: Sequence[Suppressed | None],
    measure: Measure = Measure.FLAGGED,
    threshold: int = SMALL_COUNT_THRESHOLD,
    known: Sequence[Span | None] | None = None,
) -> list[tuple[Span, ...] | None]:
    """What a reader can tell each suppressed cell of a column holds (None for a published one).

    The column's one relation is that its cells add up to its total, so the suppressed cells
    together hold the total less the published ones: a cell can hold exactly the values that
    sum less some sum of what the others can hold. Computed exactly, over spans."""
    total = sum(values)
    hidden = [index for index, reason in enumerate(why) if reason is not None]

    def readable(index: int) -> tuple[Span, ...]:
        reason = why[index]
        assert reason is not None  # noqa: S101 - hidden
        spans = readable_values(reason, measure, total, threshold)
        bound = known[index] if known is not None else None
        if bound is None:
            return spans
        return _spans((max(a, bound[0]), min(b, bound[1])) for a, b in spans)

    together = sum(values[index] for index in hidden)
    found: list[tuple[Span, ...] | None] = [None] * len(values)
    for index in hidden:
        others: tuple[Span, ...] = ((0, 0),)
        for other in hidden:
            if other != index:
                others = _plus(others, readable(other))
        by_subtraction = [(together - high, together - low) for low, high in others]
        found[index] = _spans(
            (max(a, c), min(b, d)) for a, b in readable(index) for c, d in by_subtraction
        )
    return found


def propagated_bounds(
    values: Sequence[Sequence[int]],
    why: Sequence[Sequence[Suppressed | None]],
    measure: Measure,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> list[list[Span | None]]:
    """What a reader can tell each suppressed cell of linked tables' columns of one measure
    holds (the overall table first), from each column's total and the relation between the
    tables together: each narrows what the other starts from, until neither narrows more."""
    known: list[list[Span | None]] = [[None] * len(column) for column in values]
    for _ in range(4 * len(values[0]) + 4):
        narrowed: list[list[Span | None]] = []
        for column, reasons, bounds in zip(values, why, known, strict=True):
            spans = column_possible(column, reasons, measure, threshold, bounds)
            narrowed.append([(found[0][0], found[-1][1]) if found else None for found in spans])
        linked = linked_bounds(values, why, measure, narrowed)
        joined = [
            [
                None if a is None else a if b is None else (max(a[0], b[0]), min(a[1], b[1]))
                for a, b in zip(col_a, col_b, strict=True)
            ]
            for col_a, col_b in zip(narrowed, linked, strict=True)
        ]
        if joined == known:
            break
        known = joined
    return known


def still_open(needed: Span, possible: Sequence[Span]) -> bool:
    """Whether what a reader can tell a cell holds (``possible``) leaves it open: a primary
    cell (``needed`` from 1) at least two of its small counts, so that none is told exactly; a
    small group's (``needed`` from 0) both 0 and more, so that whether anyone in it was counted
    is not told."""
    inside = [(max(low, needed[0]), min(high, needed[1])) for low, high in possible]
    values = sum(high - low + 1 for low, high in inside if low <= high)
    if needed[0] == 0:
        return any(low == 0 for low, _ in possible) and any(high >= 1 for _, high in possible)
    return values >= 2


def _protect_column(
    values: Sequence[int],
    why: Sequence[Suppressed | None],
    keys: Sequence[str],
    measure: Measure,
    keep: str | None,
    threshold: int,
) -> list[Suppressed | None]:
    """The column's reasons once secondary suppression has protected its primary and small
    group's cells, or the whole column suppressed where nothing else will."""
    why = list(why)
    total = sum(values)
    if total == 0:
        # Every cell is 0, and the total says so: there is nothing to protect.
        return why
    if is_small(total, threshold) or all(reason is Suppressed.WHOLE_COLUMN for reason in why):
        return [Suppressed.WHOLE_COLUMN] * len(values)
    while not column_protected(values, why, measure, threshold):
        candidates = sorted(
            (index for index, reason in enumerate(why) if reason is None and values[index] > 0),
            key=lambda index: (keys[index] == keep, values[index], keys[index]),
        )
        if not candidates:
            return [Suppressed.WHOLE_COLUMN] * len(values)
        chosen = next(
            (
                index
                for index in candidates
                if column_protected(
                    values,
                    [Suppressed.SECONDARY if i == index else r for i, r in enumerate(why)],
                    measure,
                    threshold,
                )
            ),
            None,
        )
        if chosen is None:
            # No one cell is enough: the largest one takes the column nearest, and the next
            # round looks again.
            others = [index for index in candidates if keys[index] != keep]
            chosen = (others or candidates)[-1]
        why[chosen] = Suppressed.SECONDARY
    return why


def suppress_column(
    values: Sequence[int],
    keys: Sequence[str],
    threshold: int = SMALL_COUNT_THRESHOLD,
    keep: str | None = None,
    measure: Measure = Measure.FLAGGED,
) -> ColumnSuppression:
    """Suppress one column of a table whose groups (``values``, named by ``keys``) sum to a total,
    by the module's rules for a column alone: primary, then secondary until `column_protected`,
    or the whole column. The group ``keep`` (the reference group, whose suppression would hide
    every disparity) is taken for secondary suppression only when no other cell would do."""
    if len(values) != len(keys):
        raise ValueError("One key per value.")
    if threshold < 2:
        raise ValueError(f"A threshold below 2 suppresses nothing: {threshold}.")
    why: list[Suppressed | None] = [
        Suppressed.PRIMARY if is_small(value, threshold) else None for value in values
    ]
    why = _protect_column(values, why, keys, measure, keep, threshold)
    total = Suppressed.PRIMARY if is_small(sum(values), threshold) else None
    return ColumnSuppression(groups=tuple(why), total=total)


# What the detector-by-detector tables print beside the headcount, and so the measures linked
# between them and the overall table: their other counts are never printed (the oversight
# templates show each detector's people flagged per head only), so they carry no relation.
LINKED_MEASURES = (Measure.FLAGGED,)


def suppress_together(
    dimensions: Sequence[DimensionCounts], threshold: int = SMALL_COUNT_THRESHOLD
) -> list[dict[Measure, ColumnSuppression]]:
    """Suppress linked tables of the same groups: a dimension's counts over every detector
    (the first) and each detector's alone (the rest), so that no table gives away what another
    hides.

    A group whose headcount is under ``threshold`` shows no count at all, not even a zero. Each
    column is protected by itself (`_protect_column`); then what a reader can tell from the
    columns' totals and the relation between the tables together (`propagated_bounds`, with
    `linked_bounds`: a detector's count is no more than everyone's, and everyone's no more than
    the detectors' together) is checked to leave every primary and small group's cell open as
    the column rule does, and where it does not, the overall table's count of that group is
    hidden as cover (else the largest of the other detectors' counts there). Both are repeated
    until nothing changes. Cover goes where
    a relation would give a cell away, not to every table alike: a detector that flags few people
    need not hide what the others' tables show.
    """
    if not dimensions:
        return []
    groups = dimensions[0].groups
    keys = [group.key for group in groups]
    for dimension in dimensions:
        if [group.key for group in dimension.groups] != keys or [
            group.headcount for group in dimension.groups
        ] != [group.headcount for group in groups]:
            raise ValueError("Tables suppressed together need the same groups and headcounts.")
    keep = reference_group(groups).key
    small_group = [group.headcount < threshold for group in groups]
    why: list[dict[Measure, list[Suppressed | None]]] = [
        {
            measure: [
                Suppressed.SMALL_GROUP
                if small_group[index]
                else Suppressed.PRIMARY
                if is_small(group.count(measure), threshold)
                else None
                for index, group in enumerate(dimension.groups)
            ]
            for measure in MEASURES
        }
        for dimension in dimensions
    ]
    values = [
        {measure: [group.count(measure) for group in dimension.groups] for measure in MEASURES}
        for dimension in dimensions
    ]
    linked = len(dimensions) > 1
    changed = True
    while changed:
        changed = False
        for measure in MEASURES:
            for table, counts in zip(why, values, strict=True):
                protected = _protect_column(
                    counts[measure], table[measure], keys, measure, keep, threshold
                )
                changed |= protected != table[measure]
                table[measure] = protected
            # What each column leaves open, the relation between the tables must leave open too.
            if linked and measure in LINKED_MEASURES:
                changed |= _cover_linked(
                    [v[measure] for v in values], [w[measure] for w in why], measure, threshold
                )
    return [
        {
            measure: ColumnSuppression(
                groups=tuple(table[measure]),
                total=Suppressed.PRIMARY
                if is_small(sum(group.count(measure) for group in dimension.groups), threshold)
                else None,
            )
            for measure in MEASURES
        }
        for table, dimension in zip(why, dimensions, strict=True)
    ]


def _hull(value: int, reason: Suppressed | None, measure: Measure, total: int) -> Span:
    """The least and most a reader can tell a cell holds, by itself."""
    if reason is None:
        return (value, value)
    spans = readable_values(reason, measure, total)
    return (spans[0][0], spans[-1][1])


def linked_bounds(
    values: Sequence[Sequence[int]],
    why: Sequence[Sequence[Suppressed | None]],
    measure: Measure,
    narrowed: Sequence[Sequence[Span | None]] | None = None,
) -> list[list[Span | None]]:
    """For each table's cells of one measure (the overall table first, then each detector's),
    the least and most a reader can tell each holds from the same group's cells in the other
    tables: a detector's count is at most everyone's, and everyone's at least the largest and
    at most the sum of the detectors' (a person, or a case, may count for several detectors).
    Published cells are None: they hold what they show."""
    totals = [sum(column) for column in values]
    found: list[list[Span | None]] = [[None] * len(values[0]) for _ in values]
    for index in range(len(values[0])):
        hulls = [
            (narrowed[table][index] if narrowed and narrowed[table][index] else None)
            or _hull(column[index], reasons[index], measure, total)
            for table, (column, reasons, total) in enumerate(zip(values, why, totals, strict=True))
        ]
        overall, detectors = hulls[0], hulls[1:]
        if why[0][index] is not None:
            found[0][index] = (
                max(low for low, _ in detectors),
                sum(high for _, high in detectors),
            )
        for position, _ in enumerate(detectors, start=1):
            if why[position][index] is None:
                continue
            rest = sum(
                high for other, (_, high) in enumerate(detectors, start=1) if other != position
            )
            found[position][index] = (max(0, overall[0] - rest), overall[1])
    return found


def _cover_linked(
    values: Sequence[Sequence[int]],
    why: Sequence[list[Suppressed | None]],
    measure: Measure,
    threshold: int,
) -> bool:
    """Hide cover where the relation between the tables tells a primary cell's count exactly, or
    whether a small group's count is 0, or tells a wholly suppressed column's small count
    exactly (in place); whether anything was hidden.

    The relation is an inequality, so it can narrow a primary cell (a detector's 7 to "6 to 9",
    where everyone's 142 and another detector's 127 are shown): a range, like the "1 to 9" the
    cell says of itself; never one value. Requiring every count from 1 to 9 to stay open here,
    as within a column, would hide the count of the detector that flags most wherever a
    detector that flags few has a small count beside it."""
    bounds = propagated_bounds(values, why, measure, threshold)
    for index in range(len(values[0])):
        exposed = False
        for table, reasons in enumerate(why):
            needed = _must_stay_open(reasons[index], threshold)
            bound = bounds[table][index]
            if needed is not None and bound is not None:
                exposed |= not still_open(needed, [bound])
        if exposed and _hide_cover(values, why, index, measure):
            return True
    for table in range(1, len(values)):
        # A detector's column too small to show, placed by the groups everyone's count shows
        # empty or by its bounds: the measure's column goes in every table.
        if _pinned_in_whole_column(
            values[table], why[table], bounds[table], threshold
        ) and _withhold_whole(why):
            return True
    return False


def _withhold_whole(columns: Sequence[list[Suppressed | None]]) -> bool:
    """Withhold every cell of ``columns`` (in place); whether any was shown until now."""
    changed = False
    for reasons in columns:
        if any(reason is not Suppressed.WHOLE_COLUMN for reason in reasons):
            reasons[:] = [Suppressed.WHOLE_COLUMN] * len(reasons)
            changed = True
    return changed


def _pinned_in_whole_column(
    values: Sequence[int],
    why: Sequence[Suppressed | None],
    bounds: Sequence[Span | None],
    threshold: int,
) -> bool:
    """Whether, in a wholly suppressed column, a cell holding 1 to ``threshold`` - 1 can be told
    exactly from the column's total and what the other tables tell of each cell."""
    if not all(reason is Suppressed.WHOLE_COLUMN for reason in why):
        return False
    total = sum(values)
    spans = [bound if bound is not None else (0, total) for bound in bounds]
    for index, value in enumerate(values):
        low = max(spans[index][0], total - sum(h for i, (_, h) in enumerate(spans) if i != index))
        high = min(
            spans[index][1], total - sum(lo for i, (lo, _) in enumerate(spans) if i != index)
        )
        if low == high and is_small(value, threshold):
            return True
    return False


def _hide_cover(
    values: Sequence[Sequence[int]],
    why: Sequence[list[Suppressed | None]],
    index: int,
    measure: Measure,
) -> bool:
    """Hide the group's overall count as cover, else the largest published detector's count
    there; where nothing is left to hide, every table's column goes, zeros included. Whether
    anything more is hidden."""
    order = [0, *sorted(range(1, len(values)), key=lambda t: -values[t][index])]
    cover = next((t for t in order if why[t][index] is None and values[t][index] > 0), None)
    if cover is None:
        cover = next((t for t in order if why[t][index] is None), None)
    if cover is not None:
        why[cover][index] = Suppressed.SECONDARY
        return True
    return _withhold_whole(why)


# -- The fairness table ---------------------------------------------------------------------------

SMALL_GROUPS_KEY = "small_groups"


def merge_small_groups(
    dimension: DimensionCounts, threshold: int = SMALL_COUNT_THRESHOLD
) -> DimensionCounts:
    """The dimension with every group of fewer than ``threshold`` people (by headcount) merged
    into one, last, "Other groups (fewer than 10 people each)", its label naming the groups in
    it (names only: their counts are not shown). Counts add up: a person is in one group only.

    A group of one person (a chief constable) would otherwise tell, by a 0 against a suppressed
    count, whether that person was flagged. Where the merged group still has fewer than
    ``threshold`` people, suppression shows none of its counts (`suppress_together`)."""
    small = [group for group in dimension.groups if group.headcount < threshold]
    if not small:
        return dimension
    merged = GroupCounts(
        key=SMALL_GROUPS_KEY,
        label=f"Other groups (fewer than {threshold} people each): "
        + ", ".join(group.label for group in small),
        **{m.value: sum(group.count(m) for group in small) for m in MEASURES},
    )
    kept = [group for group in dimension.groups if group not in small]
    if any(group.key == SMALL_GROUPS_KEY for group in kept):
        raise ValueError(f"Dimension {dimension.key!r} has a group keyed {SMALL_GROUPS_KEY!r}.")
    return DimensionCounts(key=dimension.key, label=dimension.label, groups=(*kept, merged))


def group_rates(
    group: GroupCounts, rates: Sequence[RateSpec] = DEFAULT_RATES
) -> tuple[Fraction | None, ...]:
    """A group's rates, unsuppressed: None where the denominator is 0."""
    found: list[Fraction | None] = []
    for spec in rates:
        denominator = sum(group.count(measure) for measure in spec.denominator)
        found.append(Fraction(group.count(spec.numerator), denominator) if denominator else None)
    return tuple(found)


def group_disparities(
    dimension: DimensionCounts, rates: Sequence[RateSpec] = DEFAULT_RATES
) -> dict[str, tuple[Fraction | None, ...]]:
    """Every group's disparities, unsuppressed, against the reference group: what a fairness
    table prints where nothing it is computed from is suppressed."""
    reference = group_rates(reference_group(dimension.groups), rates)
    return {
        group.key: tuple(
            disparity(rate, base)
            for rate, base in zip(group_rates(group, rates), reference, strict=True)
        )
        for group in dimension.groups
    }


def fairness_tables(
    overall: DimensionCounts,
    by_detector: Mapping[str, DimensionCounts],
    rates: Sequence[RateSpec] = DEFAULT_RATES,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> tuple[FairnessTable, dict[str, FairnessTable]]:
    """A dimension's fairness table over every detector, and each detector's, suppressed
    together (`suppress_together`) once their small groups are merged (`merge_small_groups`)."""
    merged = merge_small_groups(overall, threshold)
    detectors = {
        name: merge_small_groups(counts, threshold) for name, counts in by_detector.items()
    }
    plans = suppress_together([merged, *detectors.values()], threshold)
    tables = [
        _fairness_table(dimension, plan, rates, threshold)
        for dimension, plan in zip([merged, *detectors.values()], plans, strict=True)
    ]
    return tables[0], dict(zip(detectors, tables[1:], strict=True))


def fairness_table(
    dimension: DimensionCounts,
    rates: Sequence[RateSpec] = DEFAULT_RATES,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> FairnessTable:
    """A dimension's counts, its small groups merged, suppressed, with each group's rates and
    disparities (`fairness_tables`, with no detector's table beside it)."""
    return fairness_tables(dimension, {}, rates, threshold)[0]


def _fairness_table(
    dimension: DimensionCounts,
    columns: Mapping[Measure, ColumnSuppression],
    rates: Sequence[RateSpec],
    threshold: int,
) -> FairnessTable:
    """The table of a dimension suppressed as ``columns`` say.

    Rates of the total row are printed too; disparities are against the reference group
    (`reference_group`). No suppressed value is kept in the result.
    """
    groups = dimension.groups
    keys = [group.key for group in groups]
    totals = {measure: sum(group.count(measure) for group in groups) for measure in MEASURES}
    total_counts = GroupCounts("total", "Total", **{m.value: totals[m] for m in MEASURES})

    def count_cell(value: int, reason: Suppressed | None) -> CountCell:
        return CountCell(None, reason) if reason is not None else CountCell(value)

    def rate_cells(
        counts: GroupCounts, why: Mapping[Measure, Suppressed | None]
    ) -> tuple[RatioCell, ...]:
        cells = []
        for spec, exact in zip(rates, group_rates(counts, rates), strict=True):
            used = (spec.numerator, *spec.denominator)
            hidden = any(why[measure] is not None for measure in used)
            cells.append(RatioCell(None, Suppressed.DERIVED) if hidden else RatioCell(exact))
        return tuple(cells)

    group_rate_cells: list[tuple[RatioCell, ...]] = []
    group_counts: list[tuple[CountCell, ...]] = []
    for index, group in enumerate(groups):
        why = {measure: columns[measure].groups[index] for measure in MEASURES}
        group_counts.append(tuple(count_cell(group.count(m), why[m]) for m in MEASURES))
        group_rate_cells.append(rate_cells(group, why))

    reference = reference_group(groups)
    reference_index = keys.index(reference.key)
    reference_rates = group_rate_cells[reference_index]

    rows = []
    for index, group in enumerate(groups):
        disparities = tuple(
            _disparity_cell(rate, reference_rate, index == reference_index)
            for rate, reference_rate in zip(group_rate_cells[index], reference_rates, strict=True)
        )
        rows.append(
            TableRow(
                key=group.key,
                label=group.label,
                counts=group_counts[index],
                rates=group_rate_cells[index],
                disparities=disparities,
                reference=index == reference_index,
            )
        )

    total_why = {measure: columns[measure].total for measure in MEASURES}
    total = TableRow(
        key="total",
        label="Total",
        counts=tuple(count_cell(totals[m], total_why[m]) for m in MEASURES),
        rates=rate_cells(total_counts, total_why),
    )

    reasons: set[Suppressed | None] = set()
    for row in (*rows, total):
        reasons |= {cell.suppressed for cell in row.counts}
        reasons |= {cell.suppressed for cell in (*row.rates, *row.disparities)}
    return FairnessTable(
        key=dimension.key,
        label=dimension.label,
        measures=MEASURES,
        rates=tuple(rates),
        groups=tuple(rows),
        total=total,
        reference_key=reference.key,
        threshold=threshold,
        notes=tuple(reason for reason in Suppressed if reason in reasons),
    )


def _disparity_cell(
    rate: RatioCell, reference_rate: RatioCell, is_reference: bool
) -> DisparityCell:
    if rate.suppressed is not None or reference_rate.suppressed is not None:
        return DisparityCell(None, Suppressed.DERIVED, reference=is_reference)
    return DisparityCell(disparity(rate.exact, reference_rate.exact), reference=is_reference)


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}.")
    if value < 0:
        raise ValueError(f"{name} cannot be negative: {value}.")

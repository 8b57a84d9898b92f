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
    part-time officers flagged comes close to naming them. So:

    - **Primary**: every count from 1 to 9 (`SMALL_COUNT_THRESHOLD` is 10) is suppressed,
      whether a group's or a total's. **Zero is published**: as in common statistical
      disclosure practice, a zero names nobody, and suppressing zeros would hide most of a
      sparse column (confirmed, wrong) for no protection of any person.
    - **Published relations**: the only linear relations a table publishes are its columns'
      totals: in each column, the groups' counts add up to the total row (a dimension's groups
      must cover everyone: a "Not recorded" group where needed). No relation across columns is
      published: the six columns are headcount, subjects flagged, cases opened, adverse
      outcomes, confirmed and wrong, and neither pending, advice, welfare nor decided cases is a
      column, so "confirmed + wrong + pending = cases opened" cannot be used; that a count
      cannot exceed its headcount is an inequality, which bounds a cell but never gives it. A
      column whose value were a sum of others would add a relation, and this module would have
      to take it into account. Every dimension's total row counts the same people, and is
      suppressed by the primary rule alone, so it reads the same in every dimension's table.
    - **Secondary**, column by column, taking the column's total as known even where it is
      itself suppressed (the same number may be printed elsewhere in the report): what the
      suppressed cells of a column hold together is known by subtraction, and each of them is
      at least 1 (zeros are published), so the most any one of them can hold is the column's
      *headroom*: that sum less one for each of the others. While the headroom is under 10, a
      reader can tell by subtraction that a suppressed cell holds fewer than 10, or exactly
      what it holds; so the smallest published non-zero group cell of the column (ties to the
      first group key) is suppressed too. A cell taken that way holds 10 or more, so one is
      always enough. This covers one small group alone in a column (it would be the total less
      the rest), two small groups (their sum would be a small count), and many groups of 1.
      Where every non-zero cell of the column is suppressed already (the column's total is
      itself small, so that the groups together are known to be few) and still only one cell
      is suppressed, or each holds exactly 1, one zero cell of the column (the first group key)
      is suppressed as well, so that which groups hold the few cannot be told. A total is never
      suppressed by the secondary rule.
    - **Derived**: a rate or a disparity computed from any suppressed count is suppressed.

    What this does not cover: reasoning from the rule itself (that a secondary cell was the
    smallest of those published), and linking with data outside the report (a cross-tabulation
    of two dimensions, or a person's knowledge of who is in a small group).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    SECONDARY = "secondary"
    DERIVED = "derived"

    @property
    def note(self) -> str:
        return SUPPRESSION_NOTES[self]


SUPPRESSION_NOTES = {
    Suppressed.PRIMARY: "A count from 1 to 9, not shown so that no small group can be identified.",
    Suppressed.SECONDARY: (
        "Not shown so that a suppressed count cannot be worked out from the total and the "
        "counts that are shown."
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


def headroom(values: Sequence[int], hidden: Sequence[int]) -> int | None:
    """The most any one hidden cell of a column can hold, knowing the column's total and that
    each hidden cell holds at least 1; None when nothing is hidden."""
    if not hidden:
        return None
    return sum(values[index] for index in hidden) - (len(hidden) - 1)


def suppress_column(
    values: Sequence[int],
    keys: Sequence[str],
    threshold: int = SMALL_COUNT_THRESHOLD,
    keep: str | None = None,
) -> ColumnSuppression:
    """Suppress one column of a table whose groups (``values``, named by ``keys``) sum to a total.

    The rules are the module's: primary, then secondary until the headroom is ``threshold`` or
    more, then the zero cell where only the column's small cells are left to hide among. The
    group ``keep`` (the reference group, whose suppression would hide every disparity) is taken
    for secondary suppression only when no other cell would do.
    """
    if len(values) != len(keys):
        raise ValueError("One key per value.")
    if threshold < 2:
        raise ValueError(f"A threshold below 2 suppresses nothing: {threshold}.")
    why: list[Suppressed | None] = [
        Suppressed.PRIMARY if is_small(value, threshold) else None for value in values
    ]

    def hidden() -> list[int]:
        return [index for index, reason in enumerate(why) if reason is not None]

    def published(nonzero: bool) -> list[int]:
        return [
            index
            for index, reason in enumerate(why)
            if reason is None and (values[index] > 0) == nonzero
        ]

    room = headroom(values, hidden())
    while room is not None and room < threshold:
        candidates = published(nonzero=True)
        if not candidates:
            break
        chosen = min(
            candidates, key=lambda index: (keys[index] == keep, values[index], keys[index])
        )
        why[chosen] = Suppressed.SECONDARY
        room = headroom(values, hidden())

    # Only the column's small cells are hidden, and one alone or all ones would be known.
    cells = hidden()
    exposed = len(cells) == 1 or sum(values[index] for index in cells) == len(cells)
    zeros = published(nonzero=False)
    if cells and exposed and zeros and not published(nonzero=True):
        why[min(zeros, key=lambda index: keys[index])] = Suppressed.SECONDARY

    total = Suppressed.PRIMARY if is_small(sum(values), threshold) else None
    return ColumnSuppression(groups=tuple(why), total=total)


# -- The fairness table ---------------------------------------------------------------------------


def merge_small_groups(
    dimension: DimensionCounts,
    measure: Measure = Measure.FLAGGED,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> DimensionCounts:
    """The dimension with the groups whose ``measure`` is small (1 to ``threshold`` - 1) merged
    into one, where there are two or more of them, the reference group is not among them, and
    together they are no longer small: a
    table of one detector's flags, where most groups are small, then shows the merged group's
    figure (and spares the others the secondary suppression that would otherwise hide one of the
    groups that matter). Counts add up: a person is in one group only. Otherwise nothing
    changes."""
    reference = reference_group(dimension.groups)
    small = [
        group
        for group in dimension.groups
        if group.key != reference.key and is_small(group.count(measure), threshold)
    ]
    if len(small) < 2 or is_small(sum(group.count(measure) for group in small), threshold):
        return dimension
    merged = GroupCounts(
        key="merged:" + "+".join(group.key for group in small),
        label=" and ".join(group.label for group in small),
        **{m.value: sum(group.count(m) for group in small) for m in MEASURES},
    )
    kept = [group for group in dimension.groups if group not in small]
    return DimensionCounts(key=dimension.key, label=dimension.label, groups=(*kept, merged))


def fairness_table(
    dimension: DimensionCounts,
    rates: Sequence[RateSpec] = DEFAULT_RATES,
    threshold: int = SMALL_COUNT_THRESHOLD,
) -> FairnessTable:
    """A dimension's counts, suppressed, with each group's rates and disparities.

    Rates of the total row are printed too; disparities are against the reference group
    (`reference_group`). No suppressed value is kept in the result.
    """
    groups = dimension.groups
    keys = [group.key for group in groups]
    columns = {
        measure: suppress_column(
            [group.count(measure) for group in groups],
            keys,
            threshold,
            keep=reference_group(groups).key,
        )
        for measure in MEASURES
    }
    totals = {measure: sum(group.count(measure) for group in groups) for measure in MEASURES}

    def count_cell(value: int, reason: Suppressed | None) -> CountCell:
        return CountCell(None, reason) if reason is not None else CountCell(value)

    def rate_cell(
        spec: RateSpec, counts: dict[Measure, int], why: dict[Measure, Suppressed | None]
    ) -> RatioCell:
        used = (spec.numerator, *spec.denominator)
        if any(why[measure] is not None for measure in used):
            return RatioCell(None, Suppressed.DERIVED)
        denominator = sum(counts[measure] for measure in spec.denominator)
        if denominator == 0:
            return RatioCell(None)
        return RatioCell(Fraction(counts[spec.numerator], denominator))

    group_rates: list[tuple[RatioCell, ...]] = []
    group_counts: list[tuple[CountCell, ...]] = []
    for index, group in enumerate(groups):
        counts = {measure: group.count(measure) for measure in MEASURES}
        why = {measure: columns[measure].groups[index] for measure in MEASURES}
        group_counts.append(tuple(count_cell(counts[m], why[m]) for m in MEASURES))
        group_rates.append(tuple(rate_cell(spec, counts, why) for spec in rates))

    reference = reference_group(groups)
    reference_index = keys.index(reference.key)
    reference_rates = group_rates[reference_index]

    rows = []
    for index, group in enumerate(groups):
        disparities = tuple(
            _disparity_cell(rate, reference_rate, index == reference_index)
            for rate, reference_rate in zip(group_rates[index], reference_rates, strict=True)
        )
        rows.append(
            TableRow(
                key=group.key,
                label=group.label,
                counts=group_counts[index],
                rates=group_rates[index],
                disparities=disparities,
                reference=index == reference_index,
            )
        )

    total_why = {measure: columns[measure].total for measure in MEASURES}
    total = TableRow(
        key="total",
        label="Total",
        counts=tuple(count_cell(totals[m], total_why[m]) for m in MEASURES),
        rates=tuple(rate_cell(spec, totals, total_why) for spec in rates),
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

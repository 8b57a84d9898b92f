"""reports.fairness: Wilson intervals, disparities and their band, and the suppression of small
counts, checked by hand, against adversarial tables, and by property against an independent
solver of what the published cells give away."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.fairness import (
    DEFAULT_RATES,
    LINKED_MEASURES,
    MEASURES,
    SMALL_GROUPS_KEY,
    SUPPRESSION_NOTES,
    CountCell,
    DetectorPrecision,
    DimensionCounts,
    GroupCounts,
    Measure,
    Suppressed,
    disparity,
    fairness_table,
    fairness_tables,
    format_disparity,
    group_disparities,
    merge_small_groups,
    outside_band,
    reference_group,
    suppress_column,
    suppress_together,
    wilson_interval,
)

# -- Wilson ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Statistics in Medicine 17:857-872, table I, method 3 (score, no continuity
        # correction); 81 of 263 is also the worked example of Altman et al., Statistics with
        # Confidence (2nd ed., 2000).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # By hand: 0 of n has upper bound z^2 / (n + z^2); 5 of 10 is 0.5 either side.
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_interval_matches_published_values(successes, trials, low, high):
    interval = wilson_interval(successes, trials)
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-5)
    assert interval[1] == pytest.approx(high, abs=5e-5)


def test_wilson_interval_is_exactly_0_and_1_at_the_extremes():
    assert wilson_interval(0, 7) == (0.0, pytest.approx(0.3543, abs=5e-5))
    assert wilson_interval(7, 7) == (pytest.approx(0.6457, abs=5e-5), 1.0)
    assert wilson_interval(0, 1)[0] == 0.0  # type: ignore[index]


def test_wilson_interval_of_no_trials_is_none():
    assert wilson_interval(0, 0) is None


def test_wilson_interval_narrows_with_z():
    wide = wilson_interval(30, 100, z=2.576)
    narrow = wilson_interval(30, 100, z=1.645)
    assert wide is not None and narrow is not None
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


@pytest.mark.parametrize(("successes", "trials"), [(-1, 5), (6, 5), (0, -1)])
def test_wilson_interval_refuses_impossible_counts(successes, trials):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials)


@given(st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
@settings(max_examples=200, deadline=None)
def test_wilson_interval_holds_the_proportion_inside_0_and_1(pair):
    successes, trials = pair
    interval = wilson_interval(successes, trials)
    if trials == 0:
        assert interval is None
        return
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= successes / trials <= high <= 1.0
    assert low < high


def test_detector_precision():
    row = DetectorPrecision("attendance 1.2.0", confirmed=81, wrong=182)
    assert row.decided == 263
    assert row.precision == pytest.approx(81 / 263)
    assert row.interval == wilson_interval(81, 263)
    empty = DetectorPrecision("overtime 1.0.0", confirmed=0, wrong=0)
    assert empty.precision is None and empty.interval is None
    with pytest.raises(ValueError):
        DetectorPrecision("x", confirmed=-1, wrong=0)


# -- Disparity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "outside"),
    [
        (Fraction(4, 5), False),
        (Fraction(5, 4), False),
        (Fraction(1), False),
        (Fraction(79, 100), True),
        (Fraction(799, 1000), True),
        (Fraction(1251, 1000), True),
        (Fraction(0), True),
        (Fraction(3), True),
    ],
)
def test_band_edges_are_inside(value, outside):
    assert outside_band(value) is outside


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(2111, 1000), "2.11"),
        (Fraction(4, 5), "0.80"),
        (Fraction(7951, 10000), "0.795"),
        (Fraction(79999, 100000), "0.79999"),
        (Fraction(12501, 10000), "1.2501"),
        (Fraction(12549, 10000), "1.255"),
        (Fraction(1249, 1000), "1.25"),
        (Fraction(1), "1.00"),
    ],
)
def test_a_disparity_is_printed_on_its_side_of_the_band(value, text):
    assert format_disparity(value) == text


def test_disparity_is_undefined_against_a_rate_of_zero_or_none():
    assert disparity(Fraction(1, 10), Fraction(0)) is None
    assert disparity(None, Fraction(1, 10)) is None
    assert disparity(Fraction(1, 10), None) is None
    assert disparity(Fraction(0), Fraction(1, 10)) == 0
    assert disparity(Fraction(8, 100), Fraction(10, 100)) == Fraction(4, 5)


def group(key, headcount=1000, flagged=100, cases=50, adverse=20, confirmed=10, wrong=30, label=""):
    return GroupCounts(
        key=key,
        label=label or key.replace("_", " ").capitalize(),
        headcount=headcount,
        flagged=flagged,
        cases_opened=cases,
        adverse=adverse,
        confirmed=confirmed,
        wrong=wrong,
    )


def dimension(*groups):
    return DimensionCounts("dimension", "Dimension", tuple(groups))


def test_a_disparity_on_the_band_edge_is_exact_not_floating_point():
    # 0.08 / 0.1 is 0.7999999999999999 in floating point: outside, wrongly.
    assert 0.08 / 0.1 < 0.8
    table = fairness_table(
        dimension(
            group("largest", headcount=1000, flagged=100),
            group("low_edge", headcount=500, flagged=40),
            group("high_edge", headcount=400, flagged=50),
            group("below", headcount=500, flagged=39),
            group("above", headcount=400, flagged=51),
        )
    )
    cells = {row.key: table.disparity(row.key, "flagged_per_head") for row in table.groups}
    assert cells["low_edge"].exact == Fraction(4, 5) and not cells["low_edge"].outside_band
    assert cells["high_edge"].exact == Fraction(5, 4) and not cells["high_edge"].outside_band
    assert cells["below"].outside_band and cells["above"].outside_band
    assert cells["largest"].exact == 1 and cells["largest"].reference
    assert not cells["largest"].outside_band


def test_the_reference_is_the_largest_group_ties_to_the_first_key():
    groups = (group("b", headcount=500), group("a", headcount=500), group("c", headcount=100))
    assert reference_group(groups).key == "a"
    table = fairness_table(dimension(*groups))
    assert table.reference_key == "a"
    assert [row.reference for row in table.groups] == [False, True, False]


def test_a_reference_rate_of_zero_leaves_every_disparity_undefined():
    table = fairness_table(
        dimension(
            group("big", headcount=1000, adverse=0), group("small", headcount=200, adverse=15)
        )
    )
    cell = table.disparity("small", "adverse_per_head")
    assert cell.exact is None and cell.suppressed is None and cell.undefined
    assert not cell.outside_band


def test_a_rate_with_no_denominator_is_undefined_not_suppressed():
    table = fairness_table(
        dimension(group("big", confirmed=20, wrong=20), group("none", confirmed=0, wrong=0))
    )
    rate = table.rate("none", "confirmed_per_decided")
    assert rate.undefined and rate.value is None
    assert table.disparity("none", "confirmed_per_decided").undefined


def test_rates_per_head_and_per_decided_case():
    table = fairness_table(dimension(group("a", headcount=400, flagged=40, confirmed=30, wrong=10)))
    assert table.rate("a", "flagged_per_head").exact == Fraction(1, 10)
    assert table.rate("a", "confirmed_per_decided").exact == Fraction(3, 4)
    assert table.rate("a", "wrong_per_decided").value == 0.25
    assert table.rate("total", "flagged_per_head").exact == Fraction(1, 10)


# -- Suppression: by hand -------------------------------------------------------------------------

P, S = Suppressed.PRIMARY, Suppressed.SECONDARY
W, G = Suppressed.WHOLE_COLUMN, Suppressed.SMALL_GROUP


def column(*values):
    return suppress_column(list(values), [f"g{index}" for index in range(len(values))])


def test_primary_suppresses_1_to_9_and_publishes_0_and_10():
    assert column(0, 10, 500).groups == (None, None, None)
    result = column(0, 9, 10, 500)
    assert result.groups == (None, P, S, None)
    assert result.total is None


def test_two_primary_nines_recovered_exactly():
    # 9 and 9 hidden beside a published 100 and a total of 118 would add up to 18, and two
    # counts of at most 9 adding up to 18 are both 9.
    assert column(100, 9, 9).groups == (S, P, P)
    table = fairness_table(
        dimension(
            group("a", headcount=500, flagged=100), group("b", flagged=9), group("c", flagged=9)
        )
    )
    assert [table.count(key, Measure.FLAGGED).value for key in "abc"] == [None, None, None]
    assert table.count("total", Measure.FLAGGED) == CountCell(118)
    assert (
        attacker_finds(
            dimension(
                group("a", headcount=500, flagged=100), group("b", flagged=9), group("c", flagged=9)
            ),
            {},
        )
        == set()
    )


def test_a_cover_of_10_beside_a_1_would_show_the_1():
    # 1 and 10 hidden together hold 11; a cover holds 10 or more, so the 1 would be read off.
    # 30 leaves the hidden count anything from 1 to 9.
    assert column(500, 1, 10, 30).groups == (None, P, None, S)


def test_a_single_small_group_takes_a_large_enough_count_with_it():
    assert column(100, 3, 50, 0).groups == (None, P, S, None)


def test_two_small_groups_whose_sum_leaves_each_two_values_need_no_third():
    # 2 and 3 together are 5: each could be 1 to 4, and neither is told exactly.
    assert column(100, 2, 3).groups == (None, P, P)


def test_two_small_groups_whose_sum_is_2_take_a_third():
    # 1 and 1 together would be 2, and each could only be 1.
    assert column(100, 1, 1).groups == (S, P, P)


def test_small_groups_whose_sum_leaves_room_need_no_secondary():
    # Together 12, and each of the three could be anything from 1 to 9.
    assert column(200, 3, 4, 5).groups == (None, P, P, P)


def test_a_group_of_10_and_a_group_of_9():
    assert column(500, 10, 9).groups == (None, S, P)
    # Ties go to the first key.
    assert suppress_column([500, 10, 9, 10], ["d", "b", "c", "a"]).groups == (None, None, P, S)


def test_many_groups_of_one():
    # Ten groups of 1: together 10, and each hidden cell, being at least 1, could only be 1.
    result = column(100, *([1] * 10))
    assert result.groups == (S, *([P] * 10))


def test_a_dimension_where_all_but_one_group_are_small():
    assert column(1, 2, 3, 250, 1).groups == (P, P, P, None, P)


def test_a_total_that_equals_one_visible_cell_hides_nothing_it_need_not():
    assert column(25, 0, 0).groups == (None, None, None)


def test_a_column_with_a_small_total_is_suppressed_whole_zeros_included():
    # 4 is the whole column: with the total known elsewhere, 4 alone would be read off it, and
    # a zero hidden beside it would be known to be the zero.
    for values in ((0, 4, 0), (1, 0, 1, 0), (3, 4)):
        result = column(*values)
        assert result.groups == (W,) * len(values)
        assert result.total is P


def test_a_column_with_nothing_large_enough_left_to_hide_among_is_suppressed_whole():
    assert column(9, 9).groups == (W, W)
    assert column(1, 10).groups == (W, W)
    assert column(9, 9).total is None


def test_a_dimension_of_one_group():
    assert column(5).groups == (W,) and column(5).total is P
    assert column(50).groups == (None,) and column(50).total is None


def test_totals_are_suppressed_alike_in_every_dimension():
    gender = dimension(group("f", confirmed=3), group("m", confirmed=4))
    rank = dimension(
        group("pc", confirmed=7), group("sgt", confirmed=0), group("insp", confirmed=0)
    )
    for table in (fairness_table(gender), fairness_table(rank)):
        assert table.count("total", Measure.CONFIRMED) == CountCell(None, P)
        assert {row.counts[MEASURES.index(Measure.CONFIRMED)] for row in table.groups} == {
            CountCell(None, W)
        }


def test_the_table_holds_no_suppressed_value_and_derives_its_rates_from_published_counts():
    table = fairness_table(
        dimension(
            group("full_time", headcount=4000, flagged=200),
            group("part_time", headcount=900, flagged=95),
            group("compressed", headcount=300, flagged=5),
            group("annualised", headcount=400, flagged=30),
        )
    )
    assert table.count("compressed", Measure.FLAGGED) == CountCell(None, P)
    # 30 is the smallest count that leaves the 5 anything from 1 to 9.
    assert table.count("annualised", Measure.FLAGGED) == CountCell(None, S)
    assert table.count("part_time", Measure.FLAGGED) == CountCell(95)
    assert table.count("total", Measure.HEADCOUNT) == CountCell(5600)
    for key in ("compressed", "annualised"):
        assert table.rate(key, "flagged_per_head").suppressed is Suppressed.DERIVED
        assert table.disparity(key, "flagged_per_head").suppressed is Suppressed.DERIVED
    assert table.rate("compressed", "cases_per_head").exact == Fraction(50, 300)
    assert table.disparity("part_time", "flagged_per_head").exact == Fraction(95 * 4000, 900 * 200)
    for row in (*table.groups, table.total):
        for count in row.counts:
            assert count.suppressed is None or count.value is None
        for ratio in (*row.rates, *row.disparities):
            assert ratio.suppressed is None or ratio.exact is None
    assert table.notes == (Suppressed.PRIMARY, Suppressed.SECONDARY, Suppressed.DERIVED)
    assert all(SUPPRESSION_NOTES[note] for note in table.notes)


def rank(chief_flagged):
    return dimension(
        group("constable", headcount=1000, flagged=60, cases=20, confirmed=3, adverse=4, wrong=12),
        group("sergeant", headcount=200, flagged=15, cases=12, adverse=0, confirmed=0, wrong=0),
        group("inspector", headcount=50, flagged=12, cases=11, adverse=0, confirmed=0, wrong=0),
        group(
            "chief_constable",
            headcount=1,
            flagged=chief_flagged,
            cases=chief_flagged,
            adverse=0,
            confirmed=chief_flagged,
            wrong=0,
            label="Chief constable",
        ),
        group(
            "deputy_chief_constable",
            headcount=1,
            flagged=0,
            cases=0,
            adverse=0,
            confirmed=0,
            wrong=0,
            label="Deputy chief constable",
        ),
    )


def test_group_of_one_zero_versus_suppressed_tells_whether_flagged():
    # A 0 beside a suppressed count would tell whether the one chief constable was flagged:
    # the groups of fewer than 10 are merged, and a merged group still under 10 shows nothing.
    tables = [fairness_table(rank(flagged)) for flagged in (0, 1)]
    for table in tables:
        assert [row.key for row in table.groups][-1] == SMALL_GROUPS_KEY
        other = table.group(SMALL_GROUPS_KEY)
        assert other.label == (
            "Other groups (fewer than 10 people each): Chief constable, Deputy chief constable"
        )
        assert all(cell.value is None for cell in other.counts)
        assert other.counts[MEASURES.index(Measure.FLAGGED)] == CountCell(None, G)
        assert Suppressed.SMALL_GROUP in table.notes
    assert [row.counts for row in tables[0].groups] == [row.counts for row in tables[1].groups]
    for flagged in (0, 1):
        assert attacker_finds(rank(flagged), {}) == set()


def test_small_groups_together_of_10_or_more_are_one_ordinary_group():
    merged = merge_small_groups(
        dimension(
            group("big", headcount=500),
            group("a", headcount=6, flagged=2, label="A"),
            group("b", headcount=4, flagged=9, label="B"),
        )
    )
    assert [g.key for g in merged.groups] == ["big", SMALL_GROUPS_KEY]
    other = merged.groups[-1]
    assert (other.headcount, other.flagged, other.cases_opened) == (10, 11, 100)
    table = fairness_table(merged)
    assert table.count(SMALL_GROUPS_KEY, Measure.FLAGGED) == CountCell(11)
    assert merge_small_groups(dimension(group("big"))) == dimension(group("big"))


def test_cross_table_recovery_via_per_detector_tables():
    # Detector A alone flagged the 3 in g2; B alone the 20 of g3. Suppressed apart, B's table
    # would show g3's 20 and A's a 0 for g3, so that everyone's g3 is 20, and g2 the total less
    # g1 and g3: 3.
    def dim(g1, g2, g3):
        return dimension(
            group("g1", headcount=500, flagged=g1),
            group("g2", headcount=40, flagged=g2),
            group("g3", headcount=300, flagged=g3),
        )

    overall, by_detector = fairness_tables(dim(50, 3, 20), {"A": dim(50, 3, 0), "B": dim(0, 0, 20)})
    hidden = {
        name: {key for key in ("g1", "g2", "g3") if t.count(key, Measure.FLAGGED).value is None}
        for name, t in (("overall", overall), *by_detector.items())
    }
    assert "g2" in hidden["overall"] and "g2" in hidden["A"]
    # Everyone's g3 would be B's 20 (A has none there): one of the two is hidden.
    assert "g3" in hidden["overall"] or "g3" in hidden["B"]
    assert attacker_finds(dim(50, 3, 20), {"A": dim(50, 3, 0), "B": dim(0, 0, 20)}) == set()


def test_tables_suppressed_together_need_the_same_groups():
    with pytest.raises(ValueError):
        suppress_together([dimension(group("a")), dimension(group("b"))])
    with pytest.raises(ValueError):
        suppress_together([dimension(group("a")), dimension(group("a", headcount=7))])


def test_a_suppressed_reference_count_suppresses_every_disparity_of_its_rate():
    table = fairness_table(
        dimension(group("big", headcount=1000, confirmed=4, wrong=30), group("b", headcount=300))
    )
    for row in table.groups:
        assert table.disparity(row.key, "confirmed_per_decided").suppressed is Suppressed.DERIVED
    assert table.disparity("b", "flagged_per_head").exact == Fraction(10, 3)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        dimension()
    with pytest.raises(ValueError):
        dimension(group("a"), group("a"))
    with pytest.raises(ValueError):
        group("a", flagged=-1)
    with pytest.raises(TypeError):
        group("a", flagged=True)
    with pytest.raises(ValueError):
        merge_small_groups(dimension(group(SMALL_GROUPS_KEY), group("tiny", headcount=3)))


# -- Suppression: by property, against an independent solver --------------------------------------
#
# The reader: knows every column's total, every published cell, each table's groups adding up to
# its totals, and why each cell is suppressed (at worst: the printed table says only
# "suppressed"); so that a primary cell holds 1 to 9, a secondary one 0 or 10 or more, a small
# group's headcount 0 to 9. Across tables: a headcount is the same in each, and a detector's
# count is no more than the overall one, which is no more than the detectors' together. (Not the
# inequalities within a row, such as confirmed and wrong together being no more than the cases
# opened: reports/fairness.py says what that leaves open.)
# The solver finds, by propagating bounds and searching, whether a hidden cell could hold any
# other value than its own.

Var = tuple[str, str, Measure]


class Domain:
    """Whole numbers from ``low`` to ``high``, without 1 to 9 where ``gap``."""

    def __init__(self, low, high, gap=False):
        if gap:
            low = 10 if 1 <= low <= 9 else low
            high = 0 if 1 <= high <= 9 else high
        self.low, self.high, self.gap = low, high, gap

    @property
    def empty(self):
        return self.low > self.high

    def split(self):
        if self.gap and self.low == 0 and self.high >= 10:
            return [Domain(0, 0), Domain(10, self.high, True)]
        middle = (self.low + self.high) // 2
        return [Domain(self.low, middle, self.gap), Domain(middle + 1, self.high, self.gap)]


def propagate(domains, constraints):
    """Tighten the domains by each constraint (``sum(coefficient * variable) + constant`` is 0,
    or at most 0) until nothing changes; None when a constraint cannot hold."""
    domains = dict(domains)
    changed = True
    while changed:
        changed = False
        for coefficients, constant, equal in constraints:

            def least(var, c):
                return c * (domains[var].low if c > 0 else domains[var].high)

            def most(var, c):
                return c * (domains[var].high if c > 0 else domains[var].low)

            low = sum(least(v, c) for v, c in coefficients.items()) + constant
            high = sum(most(v, c) for v, c in coefficients.items()) + constant
            if low > 0 or (equal and high < 0):
                return None
            for var, c in coefficients.items():
                old = domains[var]
                # c * var <= -(the rest at its least); and, if equal, >= -(the rest at its most).
                upper = -(low - least(var, c))
                lower = -(high - most(var, c)) if equal else None
                new_low, new_high = old.low, old.high
                if c > 0:
                    new_high = min(new_high, upper)
                    if lower is not None:
                        new_low = max(new_low, lower)
                else:
                    new_low = max(new_low, -upper)
                    if lower is not None:
                        new_high = min(new_high, -lower)
                new = Domain(new_low, new_high, old.gap)
                if new.empty:
                    return None
                if (new.low, new.high) != (old.low, old.high):
                    domains[var] = new
                    changed = True
                    low = sum(least(v, k) for v, k in coefficients.items()) + constant
                    high = sum(most(v, k) for v, k in coefficients.items()) + constant
    return domains


def feasible(domains, constraints):
    found = propagate(domains, constraints)
    if found is None:
        return False
    open_vars = [var for var, d in found.items() if d.low < d.high]
    if not open_vars:
        return True
    var = min(open_vars, key=lambda v: found[v].high - found[v].low)
    return any(feasible({**found, var: part}, constraints) for part in found[var].split())


def attacker_finds(overall, by_detector):
    """The cells of the tables printed for ``overall`` and ``by_detector`` (true counts) that
    hold 1 to 9 and that the reader can work out exactly; or that are a small group's, and can
    be told to be 0, or not. (A hidden 0, or a hidden count of 10 or more, worked out gives
    nothing away that its being published would not.) Columns whose total is 0 and dimensions
    of one group give nothing beyond their totals, and are left out."""
    table, tables = fairness_tables(overall, by_detector)
    printed = {"overall": table, **tables}
    truth = {
        "overall": merge_small_groups(overall),
        **{name: merge_small_groups(counts) for name, counts in by_detector.items()},
    }
    keys = [g.key for g in truth["overall"].groups]
    domains, values, constraints = {}, {}, []

    def linear(terms, equal, constant=0):
        coefficients: dict[Var, int] = {}
        for c, var in terms:
            cell = printed[var[0]].count(var[1], var[2])
            if cell.value is None:
                coefficients[var] = coefficients.get(var, 0) + c
            else:
                constant += c * cell.value
        if coefficients:
            constraints.append((coefficients, constant, equal))

    for name, counts in truth.items():
        printed_measures = MEASURES if name == "overall" else (Measure.HEADCOUNT, *LINKED_MEASURES)
        for measure in printed_measures:
            total = sum(g.count(measure) for g in counts.groups)
            for g in counts.groups:
                var = (name, g.key, measure)
                why = printed[name].count(g.key, measure).suppressed
                if why is None:
                    continue
                values[var] = g.count(measure)
                domains[var] = {
                    Suppressed.PRIMARY: Domain(1, 9),
                    Suppressed.SECONDARY: Domain(0, total, gap=True),
                    Suppressed.SMALL_GROUP: Domain(0, 9 if measure is Measure.HEADCOUNT else total),
                    Suppressed.WHOLE_COLUMN: Domain(0, total),
                }[why]
            linear([(1, (name, key, measure)) for key in keys], True, -total)
    for key in keys:
        # The detectors' tables print their headcount and people flagged only.
        for measure in (Measure.HEADCOUNT, *LINKED_MEASURES):
            everyone = ("overall", key, measure)
            for name in by_detector:
                one = (name, key, measure)
                linear([(1, one), (-1, everyone)], measure is Measure.HEADCOUNT)
            if by_detector and measure is not Measure.HEADCOUNT:
                linear(
                    [(1, everyone), *((-1, (name, key, measure)) for name in by_detector)], False
                )
    assert feasible(domains, constraints), "the true counts must satisfy the reader's relations"

    found: set[Var] = set()
    if len(keys) < 2:
        return found
    for var, value in values.items():
        if sum(g.count(var[2]) for g in truth[var[0]].groups) == 0:
            continue
        d = domains[var]
        other = [Domain(d.low, value - 1, d.gap), Domain(value + 1, d.high, d.gap)]
        if 1 <= value <= 9 and not any(
            not o.empty and feasible({**domains, var: o}, constraints) for o in other
        ):
            found.add(var)
        if printed[var[0]].count(var[1], var[2]).suppressed is Suppressed.SMALL_GROUP:
            zero, some = Domain(0, 0), Domain(1, d.high)
            if not (
                feasible({**domains, var: zero}, constraints)
                and feasible({**domains, var: some}, constraints)
            ):
                found.add(var)
    return found


def test_the_solver_finds_what_subtraction_and_bounds_give():
    x, y = ("t", "x", Measure.FLAGGED), ("t", "y", Measure.FLAGGED)
    # x + y = 18 with each 1 to 9: both 9.
    both = {x: Domain(1, 9), y: Domain(1, 9)}
    assert not feasible({**both, x: Domain(1, 8)}, [({x: 1, y: 1}, -18, True)])
    assert feasible({**both, x: Domain(1, 8)}, [({x: 1, y: 1}, -17, True)])
    # x + y = 11 with y 0 or 10 or more: x is 1 (or 11, out of its bounds).
    gap = {x: Domain(1, 9), y: Domain(0, 21, gap=True)}
    assert not feasible({**gap, x: Domain(2, 9)}, [({x: 1, y: 1}, -11, True)])
    assert feasible({**gap, x: Domain(2, 9)}, [({x: 1, y: 1}, -21, True)])
    # y <= x <= y + z, with x + z = 20, z 10 or more, y 5: x 5 to 10.
    z = ("t", "z", Measure.FLAGGED)
    three = {x: Domain(0, 20), y: Domain(5, 5), z: Domain(0, 20, gap=True)}
    rules = [({y: 1, x: -1}, 0, False), ({x: 1, y: -1, z: -1}, 0, False), ({x: 1, z: 1}, -20, True)]
    assert feasible({**three, x: Domain(10, 10)}, rules)
    assert not feasible({**three, x: Domain(11, 20)}, rules)
    assert not feasible({**three, x: Domain(0, 4)}, rules)


def test_the_solver_finds_what_suppression_apart_would_give_away():
    # Suppressed apart, A's 0 for g3 and B's 20 make everyone's g3 20, and g2 the total less
    # g1 and g3; suppressed together, not.
    def dim(g1, g2, g3):
        return dimension(
            group("g1", headcount=500, flagged=g1),
            group("g2", headcount=40, flagged=g2),
            group("g3", headcount=300, flagged=g3),
        )

    alone = {
        name: fairness_table(counts)
        for name, counts in (("A", dim(50, 3, 0)), ("B", dim(0, 0, 20)))
    }
    assert alone["A"].count("g3", Measure.FLAGGED) == CountCell(0)
    assert alone["B"].count("g3", Measure.FLAGGED) == CountCell(20)
    assert fairness_table(dim(50, 3, 20)).count("g1", Measure.FLAGGED) == CountCell(50)
    assert attacker_finds(dim(50, 3, 20), {"A": dim(50, 3, 0), "B": dim(0, 0, 20)}) == set()


small_or_large = st.one_of(st.integers(0, 12), st.integers(0, 12), st.integers(0, 60))


@st.composite
def dimensions(draw, min_groups=1):
    count = draw(st.integers(min_groups, 6))
    groups = []
    for index in range(count):
        headcount, *counts = (draw(small_or_large) for _ in MEASURES)
        flagged, cases, adverse, confirmed, wrong = counts
        adverse = min(adverse, cases)
        confirmed = min(confirmed, cases)
        wrong = min(wrong, cases - confirmed)
        groups.append(group(f"g{index}", headcount, flagged, cases, adverse, confirmed, wrong))
    return dimension(*groups)


@given(dimensions())
@settings(max_examples=150, deadline=None)
def test_no_suppressed_cell_can_be_worked_out_from_one_table(dim):
    assert attacker_finds(dim, {}) == set()


# A case's detectors (A, B or both) and outcome: (adverse, confirmed, wrong).
OUTCOMES = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (1, 0, 1), (0, 0, 1)]
CASES = [(detectors, outcome) for detectors in ("A", "B", "AB") for outcome in OUTCOMES]


@st.composite
def forces(draw):
    """A dimension over every detector and each of two detectors' tables, from the people and
    cases themselves, so that every relation between them holds."""
    groups: dict[str, list[GroupCounts]] = {"overall": [], "A": [], "B": []}
    for index in range(draw(st.integers(2, 3))):
        headcount = draw(st.one_of(st.integers(0, 12), st.integers(10, 40)))
        flagged = {pattern: draw(st.integers(0, 12)) for pattern in ("A", "B", "AB")}
        cases = draw(st.lists(st.sampled_from(CASES), max_size=24))
        for name in groups:

            def counted(pattern, name=name):
                return name == "overall" or name in pattern

            chosen = [outcome for pattern, outcome in cases if counted(pattern)]
            groups[name].append(
                GroupCounts(
                    key=f"g{index}",
                    label=f"G{index}",
                    headcount=headcount,
                    flagged=sum(n for pattern, n in flagged.items() if counted(pattern)),
                    cases_opened=len(chosen),
                    adverse=sum(outcome[0] for outcome in chosen),
                    confirmed=sum(outcome[1] for outcome in chosen),
                    wrong=sum(outcome[2] for outcome in chosen),
                )
            )
    return {name: dimension(*found) for name, found in groups.items()}


@given(forces())
@settings(max_examples=60, deadline=None)
def test_no_suppressed_cell_can_be_worked_out_across_the_detectors_tables(force):
    overall = force.pop("overall")
    assert attacker_finds(overall, force) == set()


def test_a_sparse_detector_does_not_hide_what_the_others_show():
    # The demonstration force's shape: a detector flagging disabled staff far more often (A),
    # beside two that flag few (B and C), whose small counts of the group are suppressed. A's
    # count of the group stays published, and so does its disparity, and everyone's: with A's
    # they narrow B's 8 to "2 to 9", never to one value.
    def dim(no, not_recorded, prefer_not, yes):
        return dimension(
            group("no", headcount=4928, flagged=no),
            group("not_recorded", headcount=597, flagged=not_recorded),
            group("prefer_not", headcount=125, flagged=prefer_not),
            group("yes", headcount=350, flagged=yes),
        )

    overall = dim(232, 35, 6, 56)
    by_detector = {"A": dim(137, 20, 5, 45), "B": dim(57, 9, 0, 8), "C": dim(41, 6, 1, 3)}
    table, tables = fairness_tables(overall, by_detector)

    assert tables["A"].count("yes", Measure.FLAGGED) == CountCell(45)
    assert tables["A"].disparity("yes", "flagged_per_head").value is not None
    assert table.count("yes", Measure.FLAGGED) == CountCell(56)
    assert tables["B"].count("yes", Measure.FLAGGED).value is None
    assert attacker_finds(overall, by_detector) == set()


@given(dimensions())
@settings(max_examples=300, deadline=None)
def test_no_primary_cell_is_told_exactly(dim):
    """Column by column, by brute force over the hidden cells: each primary cell could hold at
    least two of 1 to 9 for all that the column's total and the other cells say."""
    table = fairness_table(dim)
    merged = merge_small_groups(dim)
    for measure in MEASURES:
        cells = [(g, table.count(g.key, measure)) for g in merged.groups]
        if any(cell.suppressed is Suppressed.WHOLE_COLUMN for _, cell in cells):
            continue
        hidden = [(g.count(measure), cell.suppressed) for g, cell in cells if cell.value is None]
        together = sum(value for value, _ in hidden)
        total = sum(g.count(measure) for g in merged.groups)

        def can_hold(why, total=total):
            if why is Suppressed.PRIMARY:
                return set(range(1, 10))
            if why is Suppressed.SECONDARY:
                return {0, *range(10, total + 1)}
            return set(range(total + 1))

        for index, (_value, why) in enumerate(hidden):
            if why is not Suppressed.PRIMARY:
                continue
            sums = {0}
            for n, (_, other) in enumerate(hidden):
                if n != index:
                    sums = {a + b for a in sums for b in can_hold(other) if a + b <= together}
            assert sum(together - v in sums for v in range(1, 10)) >= 2, (measure, hidden)


@given(dimensions())
@settings(max_examples=300, deadline=None)
def test_suppression_reasons(dim):
    table = fairness_table(dim)
    merged = merge_small_groups(dim)
    assert all(g.headcount >= 10 for g in merged.groups if g.key != SMALL_GROUPS_KEY)
    for measure in MEASURES:
        whole = any(
            table.count(g.key, measure).suppressed is Suppressed.WHOLE_COLUMN for g in merged.groups
        )
        for g in merged.groups:
            cell = table.count(g.key, measure)
            value = g.count(measure)
            if whole:
                assert cell == CountCell(None, W)
            elif g.headcount < 10:
                assert cell == CountCell(None, G)
            else:
                assert (cell.suppressed is Suppressed.PRIMARY) == (1 <= value <= 9)
            if cell.suppressed is None:
                assert cell.value == value
        total = sum(g.count(measure) for g in merged.groups)
        assert table.count("total", measure).suppressed is (P if 1 <= total <= 9 else None)


@given(dimensions())
@settings(max_examples=200, deadline=None)
def test_every_rate_and_disparity_from_a_hidden_count_is_hidden_and_the_rest_as_computed(dim):
    table = fairness_table(dim)
    unsuppressed = group_disparities(merge_small_groups(dim))
    for row in table.groups:
        for index, spec in enumerate(DEFAULT_RATES):
            used = (spec.numerator, *spec.denominator)
            hidden = any(table.count(row.key, m).value is None for m in used)
            assert (row.rates[index].suppressed is Suppressed.DERIVED) == hidden
            reference_hidden = table.rate(table.reference_key, spec.key).suppressed is not None
            if hidden or reference_hidden:
                assert row.disparities[index].suppressed is Suppressed.DERIVED
                assert row.disparities[index].exact is None
            else:
                assert row.disparities[index].exact == unsuppressed[row.key][index]

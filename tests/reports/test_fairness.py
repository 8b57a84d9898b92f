"""reports.fairness: Wilson intervals, disparities and their band, and the suppression of small
counts, checked by hand, against adversarial tables, and by property against an independent
solver of what the published cells give away."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.fairness import (
    DEFAULT_RATES,
    MEASURES,
    SUPPRESSION_NOTES,
    CountCell,
    DetectorPrecision,
    DimensionCounts,
    FairnessTable,
    GroupCounts,
    Measure,
    Suppressed,
    disparity,
    fairness_table,
    format_disparity,
    outside_band,
    reference_group,
    suppress_column,
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


def column(*values):
    return suppress_column(list(values), [f"g{index}" for index in range(len(values))])


def test_primary_suppresses_1_to_9_and_publishes_0_and_10():
    result = column(0, 5, 9, 10, 500)
    assert result.groups == (None, P, P, None, None)
    assert result.total is None


def test_a_single_small_group_takes_the_next_smallest_with_it():
    # 3 alone would be the total less the rest.
    result = column(100, 3, 50, 0)
    assert result.groups == (None, P, S, None)


def test_two_small_groups_would_give_their_small_sum_so_a_third_goes():
    # 2 and 3 are hidden from each other, but together they would be 5: a count under 10.
    result = column(100, 2, 3)
    assert result.groups == (S, P, P)


def test_small_groups_whose_sum_leaves_room_need_no_secondary():
    # Together 12, and each of the three could be anything up to 10.
    assert column(200, 3, 4, 5).groups == (None, P, P, P)


def test_a_group_of_10_and_a_group_of_9():
    assert column(10, 9).groups == (S, P)
    assert column(500, 10, 9).groups == (None, S, P)
    # Ties go to the first key.
    assert suppress_column([10, 9, 10], ["b", "c", "a"]).groups == (None, P, S)


def test_many_groups_of_one():
    # Ten groups of 1: together 10, but each hidden cell, being at least 1, could only be 1.
    result = column(100, *([1] * 10))
    assert result.groups == (S, *([P] * 10))


def test_a_dimension_where_all_but_one_group_are_small():
    result = column(1, 2, 3, 250, 1)
    assert result.groups == (P, P, P, S, P)
    assert result.total is None


def test_a_total_that_equals_one_visible_cell_hides_nothing_it_need_not():
    # The other groups are 0, published: nothing small to hide.
    assert column(25, 0, 0).groups == (None, None, None)


def test_a_small_total_is_suppressed_and_its_one_group_hidden_among_the_zeros():
    # 4 is the whole column: with the total known elsewhere, 4 alone would be read off it.
    result = column(0, 4, 0)
    assert result.groups == (S, P, None)
    assert result.total is P


def test_groups_of_one_summing_to_a_small_total_hide_among_the_zeros():
    result = column(1, 0, 1, 0)
    assert result.groups == (P, S, P, None)
    assert result.total is P


def test_a_column_of_small_counts_and_no_zero_keeps_them_all_hidden():
    result = column(3, 4)
    assert result.groups == (P, P)
    assert result.total is P


def test_a_dimension_of_one_group():
    assert column(5).groups == (P,) and column(5).total is P
    assert column(50).groups == (None,) and column(50).total is None


def test_totals_are_suppressed_alike_in_every_dimension():
    # The same 7 confirmed cases, by gender and by rank: the secondary rule takes a zero group
    # in one and nothing in the other, but a total is never its to take.
    gender = dimension(group("f", confirmed=3), group("m", confirmed=4))
    rank = dimension(
        group("pc", confirmed=7), group("sgt", confirmed=0), group("insp", confirmed=0)
    )
    for table in (fairness_table(gender), fairness_table(rank)):
        assert table.count("total", Measure.CONFIRMED) == CountCell(None, P)
    assert fairness_table(rank).count("insp", Measure.CONFIRMED) == CountCell(None, S)


def test_the_table_holds_no_suppressed_value_and_derives_its_rates_from_published_counts():
    table = fairness_table(
        dimension(
            group("full_time", headcount=4000, flagged=200),
            group("part_time", headcount=900, flagged=95),
            group("job_share", headcount=8, flagged=1),
            group("compressed", headcount=300, flagged=12),
        )
    )
    assert table.count("job_share", Measure.HEADCOUNT) == CountCell(None, P)
    assert table.count("job_share", Measure.FLAGGED) == CountCell(None, P)
    # The next smallest of each column goes with job share.
    assert table.count("compressed", Measure.HEADCOUNT) == CountCell(None, S)
    assert table.count("compressed", Measure.FLAGGED) == CountCell(None, S)
    assert table.count("part_time", Measure.FLAGGED) == CountCell(95)
    assert table.count("total", Measure.HEADCOUNT) == CountCell(5208)
    for key in ("job_share", "compressed"):
        assert table.rate(key, "flagged_per_head").suppressed is Suppressed.DERIVED
        assert table.disparity(key, "flagged_per_head").suppressed is Suppressed.DERIVED
    assert table.disparity("part_time", "flagged_per_head").exact == Fraction(95 * 4000, 900 * 200)
    for row in (*table.groups, table.total):
        for count in row.counts:
            assert count.suppressed is None or count.value is None
        for ratio in (*row.rates, *row.disparities):
            assert ratio.suppressed is None or ratio.exact is None
    assert table.notes == (Suppressed.PRIMARY, Suppressed.SECONDARY, Suppressed.DERIVED)
    assert all(SUPPRESSION_NOTES[note] for note in table.notes)


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


# -- Suppression: by property, against an independent solver --------------------------------------


def determined(relations, unknowns):
    """The unknowns that the linear ``relations`` fix, by Gaussian elimination over fractions.

    Each relation is a dict of unknown -> coefficient (the published cells already moved to the
    other side, where they do not matter to which unknowns are determined). An unknown is
    determined exactly when its unit vector lies in the relations' row space: in reduced row
    echelon form, when some row is that unit vector.
    """
    order = sorted(unknowns)
    rows = [[Fraction(relation.get(name, 0)) for name in order] for relation in relations]
    pivot_row = 0
    for col in range(len(order)):
        found = next((r for r in range(pivot_row, len(rows)) if rows[r][col] != 0), None)
        if found is None:
            continue
        rows[pivot_row], rows[found] = rows[found], rows[pivot_row]
        lead = rows[pivot_row][col]
        rows[pivot_row] = [value / lead for value in rows[pivot_row]]
        for r in range(len(rows)):
            if r != pivot_row and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[pivot_row], strict=True)]
        pivot_row += 1
    fixed = set()
    for row in rows:
        nonzero = [index for index, value in enumerate(row) if value != 0]
        if len(nonzero) == 1:
            fixed.add(order[nonzero[0]])
    return fixed


def test_the_solver_finds_what_subtraction_and_combination_give():
    # a + b = k1 fixes neither; with b + c = k2 and a + c = k3 all three are fixed.
    assert determined([{"a": 1, "b": 1}], {"a", "b"}) == set()
    assert determined([{"a": 1, "b": 1, "t": -1}, {"t": 1}], {"a", "b", "t"}) == {"t"}
    assert determined([{"a": 1, "b": 1}, {"b": 1, "c": 1}, {"a": 1, "c": 1}], {"a", "b", "c"}) == {
        "a",
        "b",
        "c",
    }
    assert determined([{"a": 1, "b": 1, "c": 1}, {"b": 1, "c": 1}], {"a", "b", "c"}) == {"a"}


def published_relations(table: FairnessTable, totals_known: bool):
    """What a reader can write down from the table: in each column, the groups sum to the total.

    Returns the relations over the suppressed cells, and those cells. With ``totals_known``, a
    suppressed total is taken as known all the same (printed elsewhere in the report).
    """
    relations, unknowns = [], set()
    for measure in table.measures:
        relation = {}
        for row in table.groups:
            if table.count(row.key, measure).value is None:
                relation[(row.key, measure)] = 1
        if table.count("total", measure).value is None and not totals_known:
            relation[("total", measure)] = -1
        unknowns |= set(relation)
        if relation:
            relations.append(relation)
    return relations, unknowns


small_or_large = st.one_of(st.integers(0, 12), st.integers(0, 12), st.integers(0, 300))


@st.composite
def dimensions(draw, min_groups=1):
    count = draw(st.integers(min_groups, 7))
    groups = []
    for index in range(count):
        values = [draw(small_or_large) for _ in MEASURES]
        groups.append(group(f"g{index}", *values))
    return dimension(*groups)


@given(dimensions())
@settings(max_examples=400, deadline=None)
def test_no_suppressed_cell_can_be_worked_out_from_the_published_cells_and_totals(dim):
    table = fairness_table(dim)
    relations, unknowns = published_relations(table, totals_known=False)
    assert determined(relations, unknowns) == set()


@given(dimensions(min_groups=2))
@settings(max_examples=400, deadline=None)
def test_nor_with_every_total_known_from_elsewhere(dim):
    table = fairness_table(dim)
    relations, unknowns = published_relations(table, totals_known=True)
    assert determined(relations, unknowns) == set()


@given(dimensions(min_groups=2))
@settings(max_examples=400, deadline=None)
def test_nor_by_subtraction_can_a_hidden_cell_be_shown_small_while_a_large_one_could_hide_it(dim):
    """Knowing each hidden cell holds at least 1 (zeros are published), the most one can hold is
    the column's total less what is published less 1 for each other hidden cell. That must
    leave it room for 10 or more, unless the column has no published non-zero cell left."""
    table = fairness_table(dim)
    for measure in table.measures:
        true = {g.key: g.count(measure) for g in dim.groups}
        hidden = [row.key for row in table.groups if table.count(row.key, measure).value is None]
        if not hidden:
            continue
        published = sum(true[key] for key in true if key not in hidden)
        most = sum(true.values()) - published - (len(hidden) - 1)
        any_published_nonzero = any(true[key] > 0 for key in true if key not in hidden)
        assert most >= 10 or not any_published_nonzero
        # Where each hidden cell would read as exactly 1 (or one alone as the total), a zero
        # is hidden among them, if the column has one.
        if most <= 1 or len(hidden) == 1:
            zero_hidden = any(true[key] == 0 for key in hidden)
            zero_published = any(true[key] == 0 for key in true if key not in hidden)
            assert zero_hidden or not zero_published


@given(dimensions())
@settings(max_examples=300, deadline=None)
def test_suppression_is_primary_for_exactly_1_to_9_and_secondary_at_most_once_a_column(dim):
    table = fairness_table(dim)
    for measure in table.measures:
        secondary = 0
        for g in dim.groups:
            cell = table.count(g.key, measure)
            value = g.count(measure)
            assert (cell.suppressed is Suppressed.PRIMARY) == (1 <= value <= 9)
            if cell.suppressed is None:
                assert cell.value == value
            secondary += cell.suppressed is Suppressed.SECONDARY
        assert secondary <= 1
        total = sum(g.count(measure) for g in dim.groups)
        assert table.count("total", measure).suppressed is (P if 1 <= total <= 9 else None)


@given(dimensions())
@settings(max_examples=200, deadline=None)
def test_every_rate_and_disparity_from_a_hidden_count_is_hidden(dim):
    table = fairness_table(dim)
    for row in table.groups:
        for index, spec in enumerate(DEFAULT_RATES):
            used = (spec.numerator, *spec.denominator)
            hidden = any(table.count(row.key, m).value is None for m in used)
            assert (row.rates[index].suppressed is Suppressed.DERIVED) == hidden
            reference_hidden = table.rate(table.reference_key, spec.key).suppressed is not None
            if hidden or reference_hidden:
                assert row.disparities[index].suppressed is Suppressed.DERIVED
                assert row.disparities[index].exact is None

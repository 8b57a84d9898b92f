"""casework.thresholds: rules and the pure evaluate function, checked by hand and by property."""

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.policies import DEFAULT_RULES
from casework.thresholds import (
    CandidateFlag,
    CategoryRule,
    Evaluation,
    counts,
    evaluate,
    parse_rules,
    window_floor,
)
from tests.factories import TODAY, CandidateFlagFactory

EVALUATED_AT = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)


def run(rules: dict[str, CategoryRule], flags: list[CandidateFlag], **kwargs: Any) -> Evaluation:
    return evaluate(
        rules,
        flags,
        policy_version=kwargs.get("policy_version", 1),
        as_of=kwargs.get("as_of", TODAY),
        evaluated_at=EVALUATED_AT,
    )


def flag(**kwargs: Any) -> CandidateFlag:
    return CandidateFlagFactory.build(**kwargs)


# --- which flags count ---------------------------------------------------------------------------


RULE = CategoryRule(min_score=0.6, window_days=30, count=2)


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(-5, True), (0, True), (29, True), (30, True), (31, False), (400, False)],
)
def test_a_flag_counts_while_its_window_ended_within_the_rolling_window(
    days_ago: int, expected: bool
) -> None:
    """``counts`` keeps ``window_end >= as_of - window_days``: a window that ended exactly
    window_days ago still counts, one day earlier does not."""
    f = flag(ended_days_ago=days_ago)
    assert counts(RULE, f.score, f.window_end, TODAY) is expected


@pytest.mark.parametrize(("score", "expected"), [(0.59, False), (0.6, True), (1.0, True)])
def test_a_flag_counts_from_the_minimum_score_up(score: float, expected: bool) -> None:
    f = flag(score=score)
    assert counts(RULE, f.score, f.window_end, TODAY) is expected


def test_window_floor_is_the_widest_rules_earliest_day() -> None:
    rules = parse_rules(DEFAULT_RULES)

    assert window_floor(rules, TODAY) == TODAY - timedelta(days=365)


# --- the three triggers --------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "met"), [(1, False), (2, True), (3, True)])
def test_the_count_rule_is_met_at_the_count(flags: int, met: bool) -> None:
    evaluation = run(
        {"attendance": CategoryRule(min_score=0.7, window_days=365, count=2)},
        [flag(category="attendance", score=0.7) for _ in range(flags)],
    )

    assert evaluation.met is met
    assert evaluation.categories[0]["tests"] == [
        {"test": "count", "value": flags, "threshold": 2, "met": met}
    ]


@pytest.mark.parametrize(
    ("scores", "met"),
    [((0.7, 0.7), False), ((0.7, 0.7, 0.6), True), ((0.1, 0.2, 0.7, 1.0), True)],
)
def test_the_score_sum_rule_is_met_at_the_sum(scores: tuple[float, ...], met: bool) -> None:
    """0.7 + 0.7 + 0.6 is 1.9999999999999998 in floating point: the sum is rounded first."""
    rule = CategoryRule(min_score=0.0, window_days=90, score_sum=2.0)

    evaluation = run(
        {"system_misuse": rule}, [flag(category="system_misuse", score=s) for s in scores]
    )

    test = evaluation.categories[0]["tests"][0]
    assert (test["test"], test["threshold"], test["met"]) == ("score_sum", 2.0, met)
    assert test["value"] == round(sum(scores), 6)
    assert evaluation.met is met


@pytest.mark.parametrize(("score", "met"), [(0.89, False), (0.9, True), (0.99, True)])
def test_the_single_flag_rule_is_met_by_one_flag_at_the_score(score: float, met: bool) -> None:
    rule = CategoryRule(min_score=0.6, window_days=180, single_flag_score=0.9)

    evaluation = run({"overtime_fraud": rule}, [flag(score=0.7), flag(score=score)])

    assert evaluation.categories[0]["tests"] == [
        {"test": "single_flag_score", "value": max(0.7, score), "threshold": 0.9, "met": met}
    ]


def test_flags_below_the_minimum_score_count_for_nothing() -> None:
    rule = CategoryRule(
        min_score=0.5, window_days=90, count=3, score_sum=1.0, single_flag_score=0.95
    )
    weak = [flag(category="system_misuse", score=0.49) for _ in range(10)]

    evaluation = run({"system_misuse": rule}, weak)

    assert evaluation.categories == []
    assert not evaluation.met
    assert evaluation.as_trace()["summary"] == "No category reached its threshold."


def test_flags_of_a_category_without_a_rule_are_ignored() -> None:
    evaluation = run(
        {"attendance": CategoryRule(min_score=0.1, window_days=30, count=1)},
        [flag(category="overtime_fraud", score=1.0)],
    )

    assert evaluation.categories == []


def test_any_met_category_is_enough_and_each_is_reported() -> None:
    rules = {
        "overtime_fraud": CategoryRule(min_score=0.6, window_days=180, count=2),
        "attendance": CategoryRule(min_score=0.7, window_days=365, count=2),
    }

    evaluation = run(
        rules, [flag(score=0.8), flag(score=0.8), flag(category="attendance", score=0.9)]
    )

    assert [(c["category"], c["met"]) for c in evaluation.categories] == [
        ("attendance", False),
        ("overtime_fraud", True),
    ]
    assert evaluation.met


# --- the trace -----------------------------------------------------------------------------------


def test_the_trace_says_which_flags_counted_what_was_computed_and_why() -> None:
    rules = parse_rules(DEFAULT_RULES)
    older = flag(id=11, external_id="ot-11", score=0.65, ended_days_ago=100)
    newer = flag(id=12, external_id="ot-12", score=0.75, ended_days_ago=10)
    ignored = flag(id=13, external_id="ot-13", score=0.5, ended_days_ago=5)
    stale = flag(id=14, external_id="ot-14", score=0.99, ended_days_ago=181)

    trace = run(rules, [newer, ignored, stale, older], policy_version=3).as_trace()

    explanation = (
        "Overtime fraud: flags scoring at least 0.6 in the last 180 days; "
        "2 counting flag(s) on separate evidence against a threshold of 2: met."
    )
    assert trace == {
        "policy_version": 3,
        "as_of": "2026-06-15",
        "evaluated_at": "2026-06-15T11:00:00+00:00",
        "met": True,
        "summary": explanation,
        "categories": [
            {
                "category": "overtime_fraud",
                "rule": {
                    "min_score": 0.6,
                    "window_days": 180,
                    "count": 2,
                    "single_flag_score": 0.9,
                },
                "window_from": "2025-12-17",
                "counted": [
                    {
                        "id": 11,
                        "detector": "overtime",
                        "external_id": "ot-11",
                        "score": 0.65,
                        "window_end": "2026-03-07",
                        "episode": 1,
                    },
                    {
                        "id": 12,
                        "detector": "overtime",
                        "external_id": "ot-12",
                        "score": 0.75,
                        "window_end": "2026-06-05",
                        "episode": 2,
                    },
                ],
                "tests": [
                    {"test": "count", "value": 2, "threshold": 2, "met": True},
                    {"test": "single_flag_score", "value": 0.75, "threshold": 0.9, "met": False},
                ],
                "met": True,
                "explanation": explanation,
            }
        ],
    }


def test_an_unmet_category_explains_every_test_it_failed() -> None:
    rules = {
        "system_misuse": CategoryRule(
            min_score=0.5, window_days=90, count=3, score_sum=2.0, single_flag_score=0.95
        )
    }

    category = run(rules, [flag(category="system_misuse", score=0.6)]).categories[0]

    assert category["explanation"] == (
        "System misuse: flags scoring at least 0.5 in the last 90 days; "
        "1 counting flag(s) on separate evidence against a threshold of 3; "
        "summed score 0.6 (each episode once) against a threshold of 2.0; "
        "highest single score 0.6 against a threshold of 0.95: not met."
    )


def test_counted_flag_ids_cover_met_and_unmet_categories_in_trace_order() -> None:
    rules = {
        "overtime_fraud": CategoryRule(min_score=0.6, window_days=180, count=1),
        "attendance": CategoryRule(min_score=0.7, window_days=365, count=2),
    }
    evaluation = run(rules, [flag(id=1), flag(id=2, category="attendance", score=0.8)])

    assert evaluation.counted_flag_ids() == [2, 1]
    assert [item["met"] for item in evaluation.categories] == [False, True]


# --- rules ---------------------------------------------------------------------------------------


def test_the_default_rules_parse_for_every_category() -> None:
    rules = parse_rules(DEFAULT_RULES)

    assert set(rules) == {
        "overtime_fraud",
        "attendance",
        "system_misuse",
        "abuse_of_position",
        "undeclared_conflict",
        "complaints_pattern",
        "other",
    }
    assert rules["attendance"].single_flag_score is None  # sickness alone never opens a case


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "a policy needs a rule for at least one category"),
        ({"bribery": {"min_score": 0.5, "window_days": 30, "count": 1}}, "bribery"),
        ({"other": {"min_score": 0.5, "window_days": 30}}, "a rule needs at least one of"),
        (
            {"other": {"min_score": 0.8, "window_days": 30, "single_flag_score": 0.7}},
            "single_flag_score cannot be below min_score",
        ),
        ({"other": {"min_score": 1.5, "window_days": 30, "count": 1}}, "min_score"),
        ({"other": {"min_score": 0.5, "window_days": 0, "count": 1}}, "window_days"),
        ({"other": {"min_score": 0.5, "window_days": 30, "count": 0}}, "count"),
        ({"other": {"min_score": 0.5, "window_days": 30, "score_sum": 0}}, "score_sum"),
        ({"other": {"min_score": 0.5, "window_days": 30, "count": 1, "extra": 1}}, "extra"),
    ],
)
def test_a_malformed_rule_is_refused(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_rules(raw)

    assert message in str(refused.value)


# --- properties ----------------------------------------------------------------------------------

CATEGORIES = ["overtime_fraud", "attendance", "system_misuse"]
SCORES = st.floats(min_value=0, max_value=1, allow_nan=False).map(lambda s: round(s, 3))


@st.composite
def rules_strategy(draw: st.DrawFn) -> dict[str, CategoryRule]:
    rules = {}
    for category in draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, unique=True)):
        min_score = draw(SCORES)
        triggers = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "count": st.integers(min_value=1, max_value=5),
                    "score_sum": st.floats(min_value=0.1, max_value=5).map(lambda s: round(s, 2)),
                    "single_flag_score": st.floats(min_value=min_score, max_value=1),
                },
            ).filter(bool)
        )
        rules[category] = CategoryRule.model_validate(
            {"min_score": min_score, "window_days": draw(st.integers(1, 400)), **triggers}
        )
    return rules


def flags_strategy() -> st.SearchStrategy[list[CandidateFlag]]:
    return st.lists(
        st.builds(
            CandidateFlag,
            id=st.integers(1, 10_000),
            detector=st.just("d"),
            external_id=st.just("x"),
            category=st.sampled_from(CATEGORIES),
            score=SCORES,
            window_end=st.integers(-10, 500).map(lambda days: TODAY - timedelta(days=days)),
        ),
        max_size=12,
        unique_by=lambda f: f.id,
    )


def oracle_met(rules: dict[str, CategoryRule], flags: list[CandidateFlag], as_of: date) -> bool:
    """The rules in words: a category is met by its counting flags' count, sum or best."""
    for category, rule in rules.items():
        counting = [
            f.score
            for f in flags
            if f.category == category
            and f.score >= rule.min_score
            and (as_of - f.window_end).days <= rule.window_days
        ]
        if rule.count is not None and len(counting) >= rule.count:
            return True
        if rule.score_sum is not None and round(sum(counting), 6) >= rule.score_sum:
            return True
        single = rule.single_flag_score
        if single is not None and any(score >= single for score in counting):
            return True
    return False


@settings(max_examples=200, deadline=None)
@given(rules=rules_strategy(), flags=flags_strategy())
def test_evaluation_matches_the_rules_in_words(
    rules: dict[str, CategoryRule], flags: list[CandidateFlag]
) -> None:
    evaluation = run(rules, flags)

    assert evaluation.met is oracle_met(rules, flags, TODAY)
    counted = set(evaluation.counted_flag_ids())
    assert counted == {
        f.id
        for f in flags
        if f.category in rules and counts(rules[f.category], f.score, f.window_end, TODAY)
    }


@settings(max_examples=100, deadline=None)
@given(rules=rules_strategy(), flags=flags_strategy(), seed=st.integers())
def test_the_order_flags_arrive_in_does_not_matter(
    rules: dict[str, CategoryRule], flags: list[CandidateFlag], seed: int
) -> None:
    shuffled = list(flags)
    random.Random(seed).shuffle(shuffled)

    assert run(rules, shuffled).as_trace() == run(rules, flags).as_trace()


@settings(max_examples=100, deadline=None)
@given(rules=rules_strategy(), flags=flags_strategy(), extra=flags_strategy())
def test_more_flags_never_close_a_met_threshold(
    rules: dict[str, CategoryRule], flags: list[CandidateFlag], extra: list[CandidateFlag]
) -> None:
    ids = {f.id for f in flags}
    more = flags + [f for f in extra if f.id not in ids]

    if run(rules, flags).met:
        assert run(rules, more).met


@settings(max_examples=100, deadline=None)
@given(rules=rules_strategy(), flags=flags_strategy(), noise=flags_strategy())
def test_flags_that_do_not_count_change_nothing(
    rules: dict[str, CategoryRule], flags: list[CandidateFlag], noise: list[CandidateFlag]
) -> None:
    ids = {f.id for f in flags}
    non_counting = [
        f
        for f in noise
        if f.id not in ids
        and not (f.category in rules and counts(rules[f.category], f.score, f.window_end, TODAY))
    ]

    assert run(rules, flags + non_counting).as_trace() == run(rules, flags).as_trace()


def test_flags_resting_on_shared_evidence_count_once_at_their_highest_score() -> None:
    rule = CategoryRule(min_score=0.5, window_days=365, count=2, score_sum=1.5)
    same_spells = [
        CandidateFlagFactory.build(id=1, score=0.7, evidence=frozenset({10, 11})),
        CandidateFlagFactory.build(id=2, score=0.9, evidence=frozenset({11, 12})),
        CandidateFlagFactory.build(id=3, score=0.8, evidence=frozenset({12})),
    ]

    [category] = run({"overtime_fraud": rule}, same_spells).categories

    assert [flag["episode"] for flag in category["counted"]] == [1, 1, 1]
    assert category["tests"] == [
        {"test": "count", "value": 1, "threshold": 2, "met": False},
        {"test": "score_sum", "value": 0.9, "threshold": 1.5, "met": False},
    ]
    assert category["met"] is False


def test_flags_on_separate_evidence_are_separate_episodes() -> None:
    rule = CategoryRule(min_score=0.5, window_days=365, count=2)
    flags = [
        CandidateFlagFactory.build(id=1, score=0.7, evidence=frozenset({10})),
        CandidateFlagFactory.build(id=2, score=0.9, evidence=frozenset({20})),
        CandidateFlagFactory.build(id=3, score=0.8, evidence=frozenset({10, 30})),
    ]

    [category] = run({"overtime_fraud": rule}, flags).categories

    assert sorted(flag["episode"] for flag in category["counted"]) == [1, 1, 2]
    assert category["tests"] == [{"test": "count", "value": 2, "threshold": 2, "met": True}]

"""Threshold rules and their evaluation, as plain functions a person can check by hand.

A policy holds one rule per category. A flag *counts* when its score reaches the category's
``min_score`` and its observation window ended within the rule's rolling window. A category is
*met* when its counting flags reach ``count``, or their scores sum to ``score_sum``, or one of
them alone reaches ``single_flag_score``. A case opens when any category is met.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from flags.models import Category


class CategoryRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: float = Field(ge=0, le=1, description="A flag counts from this score up.")
    window_days: int = Field(ge=1, le=3650, description="Rolling window, in days, ending today.")
    count: int | None = Field(default=None, ge=1, description="Counting flags that open a case.")
    score_sum: float | None = Field(default=None, gt=0, description="Summed score that opens one.")
    single_flag_score: float | None = Field(
        default=None, ge=0, le=1, description="One flag at or above this score opens a case."
    )

    @model_validator(mode="after")
    def needs_a_trigger(self) -> Self:
        if self.count is None and self.score_sum is None and self.single_flag_score is None:
            raise ValueError("a rule needs at least one of count, score_sum or single_flag_score")
        if self.single_flag_score is not None and self.single_flag_score < self.min_score:
            raise ValueError("single_flag_score cannot be below min_score")
        return self


class PolicyRules(RootModel[dict[Category, CategoryRule]]):
    @model_validator(mode="after")
    def not_empty(self) -> Self:
        if not self.root:
            raise ValueError("a policy needs a rule for at least one category")
        return self


def parse_rules(raw: Mapping[str, Any]) -> dict[str, CategoryRule]:
    return {str(category): rule for category, rule in PolicyRules.model_validate(raw).root.items()}


@dataclass(frozen=True)
class CandidateFlag:
    """The facts about a flag that evaluation needs, and that the trace shows."""

    id: int
    detector: str
    external_id: str
    category: str
    score: float
    window_end: date
    evidence: frozenset[int] = frozenset()

    def as_trace(self, episode: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "detector": self.detector,
            "external_id": self.external_id,
            "score": self.score,
            "window_end": self.window_end.isoformat(),
            "episode": episode,
        }


def episodes(flags: list[CandidateFlag]) -> list[int]:
    """Number the flags so that flags resting on a shared evidence record get the same number.

    A detector that re-examines a rolling window (a 52-week Bradford factor at every quarter end,
    say) raises several flags about one set of records. They are one episode, not repeated
    conduct, and count once: otherwise "two flags, never one alone" means nothing.
    """
    parent = list(range(len(flags)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    holder: dict[int, int] = {}
    for i, flag in enumerate(flags):
        for record in flag.evidence:
            if record in holder:
                parent[root(i)] = root(holder[record])
            else:
                holder[record] = i
    numbers: dict[int, int] = {}
    return [numbers.setdefault(root(i), len(numbers) + 1) for i in range(len(flags))]


def window_floor(rules: Mapping[str, CategoryRule], as_of: date) -> date:
    """The earliest window end any rule can count, so callers can narrow their query."""
    return as_of - timedelta(days=max(rule.window_days for rule in rules.values()))


def counts(rule: CategoryRule, score: float, window_end: date, as_of: date) -> bool:
    """Whether a flag with this score, whose window ended then, counts under ``rule``."""
    return score >= rule.min_score and window_end >= as_of - timedelta(days=rule.window_days)


def _tests(
    rule: CategoryRule, counted: list[CandidateFlag], episode_of: list[int]
) -> list[dict[str, Any]]:
    """The rule's tests, each episode counting once, at its highest score."""
    best: dict[int, float] = {}
    for flag, episode in zip(counted, episode_of, strict=True):
        best[episode] = max(best.get(episode, 0.0), flag.score)
    tests = []
    if rule.count is not None:
        value = len(best)
        tests.append(
            {"test": "count", "value": value, "threshold": rule.count, "met": value >= rule.count}
        )
    if rule.score_sum is not None:
        total = round(sum(best.values()), 6)
        tests.append(
            {
                "test": "score_sum",
                "value": total,
                "threshold": rule.score_sum,
                "met": total >= rule.score_sum,
            }
        )
    if rule.single_flag_score is not None:
        highest = max((flag.score for flag in counted), default=0.0)
        tests.append(
            {
                "test": "single_flag_score",
                "value": highest,
                "threshold": rule.single_flag_score,
                "met": highest >= rule.single_flag_score,
            }
        )
    return tests


_TEST_WORDS = {
    "count": "{value} counting flag(s) on separate evidence against a threshold of {threshold}",
    "score_sum": "summed score {value} (each episode once) against a threshold of {threshold}",
    "single_flag_score": "highest single score {value} against a threshold of {threshold}",
}


def _explain(category: str, rule: CategoryRule, tests: list[dict[str, Any]]) -> str:
    met = [test for test in tests if test["met"]]
    shown = met or tests
    parts = "; ".join(_TEST_WORDS[test["test"]].format(**test) for test in shown)
    verdict = "met" if met else "not met"
    return (
        f"{Category(category).label}: flags scoring at least {rule.min_score} in the last "
        f"{rule.window_days} days; {parts}: {verdict}."
    )


@dataclass(frozen=True)
class Evaluation:
    policy_version: int
    as_of: date
    evaluated_at: datetime
    categories: list[dict[str, Any]]

    @property
    def met(self) -> bool:
        return any(item["met"] for item in self.categories)

    def counted_flag_ids(self) -> list[int]:
        return [flag["id"] for item in self.categories for flag in item["counted"]]

    def as_trace(self) -> dict[str, Any]:
        met = [item for item in self.categories if item["met"]]
        summary = (
            " ".join(item["explanation"] for item in met)
            if met
            else "No category reached its threshold."
        )
        return {
            "policy_version": self.policy_version,
            "as_of": self.as_of.isoformat(),
            "evaluated_at": self.evaluated_at.isoformat(),
            "met": self.met,
            "summary": summary,
            "categories": self.categories,
        }


def evaluate(
    rules: Mapping[str, CategoryRule],
    flags: Iterable[CandidateFlag],
    *,
    policy_version: int,
    as_of: date,
    evaluated_at: datetime,
) -> Evaluation:
    """Evaluate one subject's active flags against a policy's rules."""
    by_category: dict[str, list[CandidateFlag]] = {}
    for flag in flags:
        rule = rules.get(flag.category)
        if rule is not None and counts(rule, flag.score, flag.window_end, as_of):
            by_category.setdefault(flag.category, []).append(flag)
    categories = []
    for category in sorted(by_category):
        rule = rules[category]
        counted = sorted(by_category[category], key=lambda flag: (flag.window_end, flag.id))
        episode_of = episodes(counted)
        tests = _tests(rule, counted, episode_of)
        categories.append(
            {
                "category": category,
                "rule": rule.model_dump(exclude_none=True),
                "window_from": (as_of - timedelta(days=rule.window_days)).isoformat(),
                "counted": [
                    flag.as_trace(episode)
                    for flag, episode in zip(counted, episode_of, strict=True)
                ],
                "tests": tests,
                "met": any(test["met"] for test in tests),
                "explanation": _explain(category, rule, tests),
            }
        )
    return Evaluation(policy_version, as_of, evaluated_at, categories)

"""casework.selectors: the reads threshold evaluation rests on."""

from typing import Any

import pytest

from casework.models import PolicyStatus, ThresholdPolicy
from casework.selectors import NoActivePolicy, active_policy, candidate_flags
from casework.thresholds import parse_rules
from tests.factories import (
    TODAY,
    ExpiredFlagFactory,
    FlagFactory,
    SubjectFactory,
    WithdrawnFlagFactory,
)

pytestmark = pytest.mark.django_db


def test_the_active_policy_is_the_one_in_force(db: Any) -> None:
    assert active_policy() == ThresholdPolicy.objects.get(status=PolicyStatus.ACTIVE)


def test_with_no_active_policy_no_case_can_open(db: Any) -> None:
    ThresholdPolicy.objects.update(status=PolicyStatus.RETIRED)

    with pytest.raises(NoActivePolicy, match="No threshold policy is active"):
        active_policy()


def test_candidate_flags_are_the_subjects_active_flags_that_could_count(db: Any) -> None:
    rules = parse_rules(
        {
            "overtime_fraud": {"min_score": 0.6, "window_days": 180, "count": 2},
            "attendance": {"min_score": 0.7, "window_days": 365, "count": 2},
        }
    )
    subject, other = SubjectFactory.create_batch(2)
    kept = [
        FlagFactory.create(subject=subject, score=0.6, ended_days_ago=180),
        FlagFactory.create(subject=subject, category="attendance", score=0.7, ended_days_ago=365),
        # Below its own category's minimum but above the lowest: evaluate() drops it.
        FlagFactory.create(subject=subject, score=0.65, ended_days_ago=200),
    ]
    FlagFactory.create(subject=subject, score=0.59)  # under every rule's minimum
    FlagFactory.create(subject=subject, category="attendance", ended_days_ago=366)
    FlagFactory.create(subject=subject, category="other", score=1.0)  # no rule for it
    WithdrawnFlagFactory.create(subject=subject, score=0.9)
    ExpiredFlagFactory.create(subject=subject, score=0.9)
    FlagFactory.create(subject=other, score=0.9)

    found = candidate_flags([subject.pk], rules, TODAY)

    assert set(found) == {subject.pk}
    assert sorted(f.id for f in found[subject.pk]) == sorted(f.pk for f in kept)
    first = next(f for f in found[subject.pk] if f.id == kept[0].pk)
    assert (first.detector, first.external_id, first.category, first.score) == (
        kept[0].detector.slug,
        kept[0].external_id,
        "overtime_fraud",
        0.6,
    )

"""Reads of casework data used by more than one caller."""

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date

from casework.models import LIVE_STATUSES, Case, PolicyStatus, ThresholdPolicy
from casework.thresholds import CandidateFlag, CategoryRule, window_floor
from flags.models import Flag, FlagEvidence, FlagStatus
from flags.signals import EvaluationUnavailable


class NoActivePolicy(EvaluationUnavailable):
    pass


def active_policy() -> ThresholdPolicy:
    policy = ThresholdPolicy.objects.filter(status=PolicyStatus.ACTIVE).first()
    if policy is None:
        raise NoActivePolicy("No threshold policy is active, so no case can be opened.")
    return policy


def candidate_flags(
    subject_ids: Iterable[int], rules: dict[str, CategoryRule], as_of: date
) -> dict[int, list[CandidateFlag]]:
    """Each subject's active flags that could count under ``rules`` on ``as_of``."""
    rows = (
        Flag.objects.filter(
            subject_id__any=list(subject_ids),
            status=FlagStatus.ACTIVE,
            category__in=list(rules),
            window_end__gte=window_floor(rules, as_of),
            score__gte=min(rule.min_score for rule in rules.values()),
        )
        .values_list(
            "subject_id", "pk", "detector__slug", "external_id", "category", "score", "window_end"
        )
        .order_by()
    )
    found = list(rows)
    # Episodes matter only where a subject has several flags in one category: only those flags'
    # evidence is read.
    per_group = Counter((row[0], row[4]) for row in found)
    shared = [row[1] for row in found if per_group[(row[0], row[4])] > 1]
    evidence: dict[int, set[int]] = defaultdict(set)
    if shared:
        pairs = FlagEvidence.objects.filter(flag_id__any=shared)
        for flag_id, evidence_id in pairs.values_list("flag_id", "evidence_id").order_by():
            evidence[flag_id].add(evidence_id)
    by_subject: dict[int, list[CandidateFlag]] = defaultdict(list)
    for subject_id, pk, detector, external_id, category, score, window_end in found:
        by_subject[subject_id].append(
            CandidateFlag(
                pk, detector, external_id, category, score, window_end, frozenset(evidence[pk])
            )
        )
    return by_subject


def live_cases_by_subject(subject_ids: Iterable[int]) -> dict[int, Case]:
    return {
        case.subject_id: case
        for case in Case.objects.filter(subject_id__any=list(subject_ids), status__in=LIVE_STATUSES)
    }

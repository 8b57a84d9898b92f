"""casework.outcomes: what a case counts as in the figures, defined once, as a database
expression and as plain Python that agree on every combination of state, outcome, referral result
and kind of withdrawal."""

import itertools
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.actors import system_actor
from casework.models import (
    AttachedVia,
    Case,
    CaseFlag,
    CaseReevaluation,
    CaseStatus,
    Consequence,
    Decision,
    DecisionKind,
    Outcome,
    PolicyStatus,
    ReferralResult,
    ReferralResultKind,
    ThresholdPolicy,
)
from casework.outcomes import (
    LEADS,
    OutcomeClass,
    outcome_class,
    outcome_class_expression,
    outcome_class_of,
    outcome_counts,
)
from casework.workflow import TRANSITIONS, no_longer_meets_threshold
from tests.factories import NOW, TODAY, DetectorFactory, FlagFactory, SubjectFactory

pytestmark = pytest.mark.django_db

S, OUT, RES = CaseStatus, Outcome, ReferralResultKind


@pytest.mark.parametrize(
    ("status", "outcome", "result", "expected"),
    [
        # Live cases, whatever they may become.
        *((s, "", None, "pending") for s in ("open", "in_review", "awaiting_sign_off", "on_hold")),
        ("in_review", "", RES.MISCONDUCT_FOUND, "pending"),
        # Closed: no further action was a wrong lead; advice and welfare are their own.
        (S.CLOSED, OUT.NO_FURTHER_ACTION, None, "wrong"),
        (S.CLOSED, OUT.MANAGEMENT_ADVICE, None, "advice"),
        (S.CLOSED, OUT.WELFARE_SUPPORT, None, "welfare"),
        # Withdrawn: only once the corrected data no longer meets the threshold.
        (S.WITHDRAWN, "", None, "wrong"),
        # Referred: pending until the investigating body's result is recorded.
        (S.REFERRED, OUT.REFERRAL, None, "pending"),
        (S.REFERRED, OUT.REFERRAL, RES.MISCONDUCT_FOUND, "confirmed"),
        (S.REFERRED, OUT.REFERRAL, RES.GROSS_MISCONDUCT_FOUND, "confirmed"),
        (S.REFERRED, OUT.REFERRAL, RES.NO_CASE_TO_ANSWER, "wrong"),
        (S.REFERRED, OUT.REFERRAL, RES.WITHDRAWN_BY_INVESTIGATOR, "investigation_withdrawn"),
        # A referral set aside by an upheld challenge is live again: its old result counts not.
        (S.OPEN, "", RES.MISCONDUCT_FOUND, "pending"),
    ],
)
def test_each_class_is_as_the_definition_says(
    status: str, outcome: str, result: str | None, expected: str
) -> None:
    assert outcome_class(status, outcome, result) == expected


def test_every_withdrawal_is_one_whose_data_no_longer_meets_the_threshold() -> None:
    """Why *wrong* takes in every withdrawn case: the workflow withdraws a case on no other
    ground. The system withdraws only by re-evaluating the case after a correction; a reviewer's
    withdrawal is refused while the data still meets the threshold. A new way to withdraw a case
    must revisit casework.outcomes before this test is changed."""
    into_withdrawn = [t for t in TRANSITIONS if t.target == CaseStatus.WITHDRAWN]

    assert [t.guard for t in into_withdrawn] == [no_longer_meets_threshold]


# --- the expression and the function agree ------------------------------------------------------

# What happened beside the case's state: how it was withdrawn, or what became of the referral the
# result was recorded for (set aside by an upheld challenge; set aside, and the case referred
# again, the new referral with no result yet).
HISTORIES = ("none", "by_reevaluation", "by_reviewer", "referral_set_aside", "referred_again")
# Histories in which the recorded result is of a referral that no longer stands.
RESULT_NO_LONGER_STANDS = ("referral_set_aside", "referred_again")
COMBINATIONS = list(
    itertools.product(
        CaseStatus.values,
        ["", *Outcome.values],
        [None, *ReferralResultKind.values],
        HISTORIES,
    )
)


def current(result: str | None, history: str) -> str | None:
    """The case's current result: the recorded one, unless its referral no longer stands."""
    return None if history in RESULT_NO_LONGER_STANDS else result


def arrange(combinations: list[tuple[str, str, str | None, str]]) -> dict[int, tuple[Any, ...]]:
    """One case per combination, each with its own subject, its referral decision, its result
    and its history as the combination says: rows arranged directly, in a few inserts, in the
    order the workflow would make them (decisions are insert-only, so their ids order them)."""
    policy = ThresholdPolicy.objects.get(status=PolicyStatus.ACTIVE)
    opener = system_actor().user
    subjects = [
        SubjectFactory.build(staff_number=f"{900000 + n}") for n in range(len(combinations))
    ]
    for subject in subjects:
        subject.save()
    cases = Case.objects.bulk_create(
        Case(
            subject=subject,
            status=status,
            outcome=outcome,
            policy=policy,
            trace={"categories": []},
            opened_at=NOW,
            opened_by=opener,
            status_changed_at=NOW,
            due_on=TODAY,
        )
        for subject, (status, outcome, _, _) in zip(subjects, combinations, strict=True)
    )
    made: dict[int, tuple[Any, ...]] = dict(zip([c.pk for c in cases], combinations, strict=True))

    def decisions(kind: str, which: list[Case], **fields: Any) -> dict[int, Decision]:
        rows = Decision.objects.bulk_create(
            Decision(
                case=case,
                kind=kind,
                rationale="Arranged for the test of the outcome classes.",
                made_at=NOW,
                made_by=opener,
                role="system" if made[case.pk][3] == "by_reevaluation" else "senior_reviewer",
                no_conflict_declared=True,
                status_before=CaseStatus.OPEN,
                status_after=case.status,
                policy_version=policy.version,
                sets_aside=fields.get("sets_aside", {}).get(case.pk),
            )
            for case in which
        )
        return {row.case_id: row for row in rows}

    referred = [c for c in cases if made[c.pk][2] is not None or made[c.pk][3] != "none"]
    referrals = decisions(DecisionKind.SECOND_SIGNATURE, referred)
    set_aside = [c for c in cases if made[c.pk][3] in RESULT_NO_LONGER_STANDS]
    decisions(DecisionKind.SET_ASIDE, set_aside, sets_aside=referrals)
    decisions(
        DecisionKind.SECOND_SIGNATURE, [c for c in cases if made[c.pk][3] == "referred_again"]
    )
    decisions(
        DecisionKind.WITHDRAWAL,
        [c for c in cases if made[c.pk][3] in ("by_reevaluation", "by_reviewer")],
    )
    ReferralResult.objects.bulk_create(
        ReferralResult(
            case=case,
            referral=referrals[case.pk],
            result=made[case.pk][2],
            concluded_on=TODAY,
            reasons="Arranged for the test of the outcome classes.",
            recorded_at=NOW,
            recorded_by=opener,
            role="senior_reviewer",
            no_conflict_declared=True,
        )
        for case in cases
        if made[case.pk][2] is not None
    )
    CaseReevaluation.objects.bulk_create(
        CaseReevaluation(
            case=case,
            evaluated_at=NOW,
            cause="challenge 1 upheld",
            policy_version=policy.version,
            trace={"categories": []},
            met=False,
            consequence=Consequence.WITHDRAWN,
        )
        for case in cases
        if made[case.pk][3] == "by_reevaluation"
    )
    return made


def test_the_expression_and_the_function_agree_on_every_combination(frozen_today: Any) -> None:
    made = arrange(COMBINATIONS)

    annotated = dict(
        Case.objects.annotate(outcome_class=outcome_class_expression()).values_list(
            "pk", "outcome_class"
        )
    )

    assert len(annotated) == len(COMBINATIONS) == 7 * 5 * 5 * 5
    for case_id, (status, outcome, result, history) in made.items():
        assert annotated[case_id] == outcome_class(status, outcome, current(result, history)), (
            status,
            outcome,
            result,
            history,
        )
    for case in Case.objects.all():
        assert outcome_class_of(case) == annotated[case.pk], made[case.pk]
    # Every class is reached, so that the agreement is not vacuous for any.
    assert set(annotated.values()) == set(OutcomeClass.values)


@pytest.mark.parametrize("history", RESULT_NO_LONGER_STANDS)
@pytest.mark.parametrize("result", ReferralResultKind.values)
def test_a_result_of_a_referral_that_no_longer_stands_counts_not(
    frozen_today: Any, history: str, result: str
) -> None:
    """A referred case whose result was recorded for a referral since set aside (the case then
    referred again) is pending, in SQL and in Python, until the new referral's result is
    recorded; with the referral standing, the same result counts."""
    made = arrange(
        [
            (S.REFERRED, OUT.REFERRAL, result, history),
            (S.REFERRED, OUT.REFERRAL, result, "none"),
        ]
    )
    gone, standing = sorted(made)

    annotated = dict(
        Case.objects.annotate(outcome_class=outcome_class_expression()).values_list(
            "pk", "outcome_class"
        )
    )
    classes = {pk: outcome_class_of(Case.objects.get(pk=pk)) for pk in made}

    assert annotated[gone] == classes[gone] == "pending"
    assert annotated[standing] == classes[standing] == outcome_class(S.REFERRED, "referral", result)
    assert annotated[standing] != "pending"
    counts = Case.objects.aggregate(**outcome_counts())
    assert counts["pending"] == 1


def test_the_counts_are_one_query_and_match_the_function(frozen_today: Any) -> None:
    made = arrange(COMBINATIONS)
    expected = Counter(str(outcome_class(s, o, current(r, h))) for s, o, r, h in made.values())

    with CaptureQueriesContext(connection) as captured:
        counts = Case.objects.aggregate(**outcome_counts())

    assert len(captured.captured_queries) == 1
    assert counts[LEADS] == len(made)
    assert {found: counts[found] for found in OutcomeClass.values} == {
        found: expected[found] for found in OutcomeClass.values
    }
    assert sum(counts[found] for found in OutcomeClass.values) == counts[LEADS]


def test_a_case_counts_once_for_each_detector_version_that_contributed_to_it(
    frozen_today: Any,
) -> None:
    """Through the case's flags, grouped by detector and version: a case two versions flagged
    counts for each, and once however many flags of one version it holds."""
    made = arrange(
        [
            (S.REFERRED, OUT.REFERRAL, RES.MISCONDUCT_FOUND, "none"),
            (S.CLOSED, OUT.NO_FURTHER_ACTION, None, "none"),
            (S.CLOSED, OUT.WELFARE_SUPPORT, None, "none"),
        ]
    )
    confirmed, wrong, welfare = (Case.objects.get(pk=pk) for pk in sorted(made))
    detector = DetectorFactory.create(slug="attendance")

    def flag(case: Case, version: str) -> None:
        found = FlagFactory.create(
            subject=case.subject, detector=detector, detector_version=version
        )
        CaseFlag.objects.create(
            case=case, flag=found, attached_at=NOW, via=AttachedVia.OPENING, category=found.category
        )

    flag(confirmed, "1.0.0")
    flag(confirmed, "1.0.0")
    flag(confirmed, "2.0.0")
    flag(wrong, "1.0.0")
    flag(welfare, "2.0.0")

    rows: Any = (
        CaseFlag.objects.values("flag__detector__slug", "flag__detector_version")
        .annotate(**outcome_counts("case", prefix="case__", distinct=True))
        .order_by("flag__detector_version")
    )
    with CaptureQueriesContext(connection) as captured:
        found = {row["flag__detector_version"]: row for row in rows}

    assert len(captured.captured_queries) == 1
    assert {
        version: (row[LEADS], row["confirmed"], row["wrong"], row["welfare"])
        for version, row in found.items()
    } == {
        "1.0.0": (2, 1, 1, 0),
        "2.0.0": (2, 1, 0, 1),
    }
    # Three links of version 1.0.0, two of them to one case: the case counted once.
    assert CaseFlag.objects.filter(flag__detector_version="1.0.0").count() == 3

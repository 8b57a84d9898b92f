"""What a case counts as in the figures: the outcome classes, defined once.

Every case is a *lead*: a case opened, whatever became of it. Each lead is in exactly one class:

- *confirmed*: referred for misconduct investigation, and the investigating body found
  misconduct or gross misconduct;
- *wrong*: closed with no further action; withdrawn, which the workflow allows only once the
  data that still stands, after a correction, no longer meets the threshold the case opened
  under (by the system's re-evaluation, or by a reviewer whose withdrawal the workflow refuses
  while the data still meets it); or referred, and the investigating body found no case to answer;
- *advice*: closed with management advice;
- *welfare*: closed with welfare support;
- *investigation withdrawn*: referred, and the investigating body withdrew its investigation. It
  concluded, so it is not pending, and nothing was found either way, so it is neither confirmed
  nor wrong;
- *pending*: the rest: a live case (open, in review, awaiting sign-off, on hold) and a referral
  whose result is not recorded yet.

Advice and welfare are outcomes of their own, neither confirmed nor wrong: a case closed with
management advice or welfare support was neither shown to be misconduct nor shown to be a false
lead. Only a case's present state counts: a referral whose decision an upheld challenge set aside
is a live case again (pending), whatever result was recorded for it before; a concluded case
marked for reconsideration after a correction keeps its class until it is decided again.

A referral's result is the result of that referral only. The result that counts is the case's
*current* one, the result of the referral that stands: the case's latest second senior signature,
with no setting-aside after it (``selectors.standing_referral_id``). A case referred again after
its referral was set aside is pending until the new referral's result is recorded; the result
of the referral set aside is history, shown as such, and counted nowhere.

Two forms of the one definition, held to each other by a test over every combination of state,
outcome, referral result and kind of withdrawal (tests/casework/test_outcomes.py):

- ``outcome_class_expression``: a database expression, for ``.annotate(outcome_class=...)`` and,
  through ``outcome_counts``, for conditional counts in one aggregate query (``GROUP BY`` a
  detector version, a period, a group of people);
- ``outcome_class``: plain Python over a case's fields, for tests and for reading one case.

See docs/decisions/0027-what-counts-as-confirmed-and-wrong.md.
"""

from typing import Any

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

from casework import selectors
from casework.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Outcome,
    ReferralResult,
    ReferralResultKind,
)


class OutcomeClass(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    WRONG = "wrong", "Wrong"
    ADVICE = "advice", "Management advice"
    WELFARE = "welfare", "Welfare support"
    INVESTIGATION_WITHDRAWN = "investigation_withdrawn", "Investigation withdrawn"
    PENDING = "pending", "Pending"


# The key, beside the classes, under which ``outcome_counts`` counts every lead.
LEADS = "leads"

CONFIRMING_RESULTS = (
    ReferralResultKind.MISCONDUCT_FOUND,
    ReferralResultKind.GROSS_MISCONDUCT_FOUND,
)


def outcome_class(status: str, outcome: str, result: str | None) -> OutcomeClass:
    """The class of a case in ``status`` with ``outcome``, whose current referral result is
    ``result`` (None where none is recorded for the referral that stands)."""
    if status == CaseStatus.CLOSED:
        if outcome == Outcome.NO_FURTHER_ACTION:
            return OutcomeClass.WRONG
        if outcome == Outcome.MANAGEMENT_ADVICE:
            return OutcomeClass.ADVICE
        if outcome == Outcome.WELFARE_SUPPORT:
            return OutcomeClass.WELFARE
        return OutcomeClass.PENDING  # no closed case has another outcome
    if status == CaseStatus.WITHDRAWN:
        return OutcomeClass.WRONG
    if status == CaseStatus.REFERRED:
        if result in CONFIRMING_RESULTS:
            return OutcomeClass.CONFIRMED
        if result == ReferralResultKind.NO_CASE_TO_ANSWER:
            return OutcomeClass.WRONG
        if result == ReferralResultKind.WITHDRAWN_BY_INVESTIGATOR:
            return OutcomeClass.INVESTIGATION_WITHDRAWN
    return OutcomeClass.PENDING


def outcome_class_of(case: Case) -> OutcomeClass:
    """``outcome_class`` for one case, reading its current referral result (two queries, and only
    for a referred case: no other state's class depends on a result)."""
    current = None
    if case.status == CaseStatus.REFERRED:
        current = selectors.referral_results_of(case).current
    return outcome_class(case.status, case.outcome, current.result if current else None)


def current_result_class(prefix: str) -> Subquery:
    """The outcome class the current referral result of the case at ``prefix`` gives it, or
    NULL where it has none: the result whose referral no later second signature and no later
    setting-aside on the case came after, which is ``selectors.standing_referral_id`` in SQL.
    Decisions are insert-only, so ids order them. One correlated subquery, read once a row."""
    superseded = Decision.objects.filter(
        case_id=OuterRef("case_id"),
        kind__in=[DecisionKind.SECOND_SIGNATURE, DecisionKind.SET_ASIDE],
        pk__gt=OuterRef("referral_id"),
    )
    current = (
        ReferralResult.objects.filter(case_id=OuterRef(f"{prefix}pk"))
        .filter(~Exists(superseded))
        .annotate(
            found=models.Case(
                When(result__in=CONFIRMING_RESULTS, then=Value(OutcomeClass.CONFIRMED.value)),
                When(
                    result=ReferralResultKind.NO_CASE_TO_ANSWER,
                    then=Value(OutcomeClass.WRONG.value),
                ),
                When(
                    result=ReferralResultKind.WITHDRAWN_BY_INVESTIGATOR,
                    then=Value(OutcomeClass.INVESTIGATION_WITHDRAWN.value),
                ),
                output_field=models.CharField(max_length=30),
            )
        )
        .values("found")[:1]
    )
    return Subquery(current, output_field=models.CharField(max_length=30))


def outcome_class_expression(prefix: str = "") -> models.Case:
    """``outcome_class`` as a database expression over the case at ``prefix`` (``""`` on a query
    of cases; ``"case__"`` on a query of rows that point at a case, such as its flags' links).

    The current referral result is read by one correlated subquery (`current_result_class`),
    reached only for a referred case, so rows are never multiplied, and the expression can be
    annotated, grouped by, or counted conditionally."""

    def on_case(**lookups: Any) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    def becomes(condition: Q, found: OutcomeClass) -> When:
        return When(condition, then=Value(found.value))

    return models.Case(
        becomes(
            on_case(status=CaseStatus.CLOSED, outcome=Outcome.NO_FURTHER_ACTION),
            OutcomeClass.WRONG,
        ),
        becomes(
            on_case(status=CaseStatus.CLOSED, outcome=Outcome.MANAGEMENT_ADVICE),
            OutcomeClass.ADVICE,
        ),
        becomes(
            on_case(status=CaseStatus.CLOSED, outcome=Outcome.WELFARE_SUPPORT),
            OutcomeClass.WELFARE,
        ),
        becomes(on_case(status=CaseStatus.WITHDRAWN), OutcomeClass.WRONG),
        When(
            on_case(status=CaseStatus.REFERRED),
            then=Coalesce(current_result_class(prefix), Value(OutcomeClass.PENDING.value)),
        ),
        default=Value(OutcomeClass.PENDING.value),
        output_field=models.CharField(max_length=30),
    )


def outcome_counts(of: str = "pk", *, prefix: str = "", distinct: bool = False) -> dict[str, Count]:
    """Aggregates counting ``of`` for every lead (``LEADS``) and in each class, for
    ``.aggregate(**outcome_counts())`` on cases or ``.values(...).annotate(**...)`` on rows that
    point at a case (``prefix="case__"``; ``distinct=True`` where a case can appear on several of
    them, so that it counts once in each group). One query, whatever the number of rows."""
    expression = outcome_class_expression(prefix)
    counts = {LEADS: Count(of, distinct=distinct)}
    for found in OutcomeClass:
        counts[found.value] = Count(
            of, distinct=distinct, filter=Exact(expression, Value(found.value))
        )
    return counts

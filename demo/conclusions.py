"""Cases the demo concludes, so that the oversight dashboard and report have outcomes to count.

Demo set-up, through the same services as the reviewer's pages: ``reviewer1`` takes a case and
recommends an outcome; ``reviewer2`` signs a non-adverse one off, or ``senior1`` and ``senior2``
sign a referral; ``senior1`` then records what the investigating body concluded, where the demo
has it concluded. Every step is a decision with its reasons, audited as any other, and the
reasons say they are demonstration data. A case is taken only where every demo user it needs
passes the conflict check, and it is never the demo subject's own.

The demo needs at least one of each outcome class (casework.outcomes): confirmed (misconduct
found), wrong (no further action, or no case to answer), advice, welfare, and pending (a
referral the body has not concluded). A second run concludes nothing more: it finds
``reviewer1``'s decisions already made. A small force, with fewer than MIN_OPEN open cases,
has none concluded: its few cases are left to review.
"""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from audit.actors import Actor, Role
from casework.conflicts import check_conflict
from casework.models import Case, CaseStatus, Decision, Outcome, ReferralResultKind
from casework.selectors import cases_with_open_challenges
from casework.services.referrals import ReferralResultRequest, record_referral_result
from casework.services.review import recommend, sign_off, sign_referral, start_review

REVIEWER, SIGNER, SENIORS, RECORDER = "reviewer1", "reviewer2", ("senior1", "senior2"), "senior1"
DEMO_NOTE = "Demonstration data set up by manage.py seed_demo_users"


@dataclass(frozen=True)
class DemoConclusion:
    outcome: Outcome
    # What the investigating body concluded about a referral; None while it has not.
    result: ReferralResultKind | None = None


DEMO_CONCLUSIONS = (
    DemoConclusion(Outcome.NO_FURTHER_ACTION),
    DemoConclusion(Outcome.NO_FURTHER_ACTION),
    DemoConclusion(Outcome.MANAGEMENT_ADVICE),
    DemoConclusion(Outcome.WELFARE_SUPPORT),
    DemoConclusion(Outcome.REFERRAL, ReferralResultKind.MISCONDUCT_FOUND),
    DemoConclusion(Outcome.REFERRAL, ReferralResultKind.NO_CASE_TO_ANSWER),
    DemoConclusion(Outcome.REFERRAL),
)


# The demo concludes cases only where that leaves most of the open ones for a reviewer to try.
MIN_OPEN = 3 * len(DEMO_CONCLUSIONS)


def conclude_demo_cases(users: dict[str, User], *, apart_from: int | None) -> list[str]:
    """Conclude a case for each of DEMO_CONCLUSIONS, the oldest open ones first, leaving the
    record ``apart_from`` (the demo subject's) alone; what was done, a line a case."""
    if Decision.objects.filter(made_by=users[REVIEWER]).exists():
        return []
    still_open = Case.objects.filter(status=CaseStatus.OPEN).count()
    if still_open < MIN_OPEN:
        return [
            f"{still_open} case(s) are open, fewer than {MIN_OPEN}: the demo concludes none, "
            "leaving them all to review."
        ]
    done: list[str] = []
    for conclusion in DEMO_CONCLUSIONS:
        needed = _people_for(conclusion)
        case = next(
            (
                case
                for case in _candidates(apart_from)
                if all(check_conflict(users[name], case.subject).passes for name in needed)
            ),
            None,
        )
        if case is None:
            done.append(f"No open case could be concluded as {conclusion.outcome.label}.")
            continue
        done.append(_conclude(case, conclusion, users))
    return done


def _people_for(conclusion: DemoConclusion) -> tuple[str, ...]:
    if conclusion.outcome != Outcome.REFERRAL:
        return (REVIEWER, SIGNER)
    return (REVIEWER, *SENIORS) + ((RECORDER,) if conclusion.result else ())


def _candidates(apart_from: int | None) -> list[Case]:
    """Open cases with no challenge open on them, oldest first: few enough to check one by
    one."""
    open_cases = Case.objects.filter(status=CaseStatus.OPEN)
    if apart_from is not None:
        open_cases = open_cases.exclude(subject_id=apart_from)
    cases = list(open_cases.select_related("subject").order_by("opened_at", "pk")[:200])
    challenged = cases_with_open_challenges(case.pk for case in cases)
    return [case for case in cases if case.pk not in challenged]


def _conclude(case: Case, conclusion: DemoConclusion, users: dict[str, User]) -> str:
    def actor(name: str) -> Actor:
        role = Role.SENIOR_REVIEWER if name.startswith("senior") else Role.REVIEWER
        return Actor(user=users[name], role=role)

    words = conclusion.outcome.label.lower()
    start_review(
        case.pk,
        actor=actor(REVIEWER),
        rationale=f"{DEMO_NOTE}: taken for review.",
        no_conflict_declared=True,
    )
    recommend(
        case.pk,
        actor=actor(REVIEWER),
        outcome=conclusion.outcome,
        rationale=f"{DEMO_NOTE}: {words} recommended.",
        no_conflict_declared=True,
    )
    if conclusion.outcome != Outcome.REFERRAL:
        sign_off(
            case.pk,
            actor=actor(SIGNER),
            outcome=conclusion.outcome,
            rationale=f"{DEMO_NOTE}: {words} signed off.",
            no_conflict_declared=True,
        )
        return f"Case {case.pk} concluded: {words}."
    for senior in SENIORS:
        sign_referral(
            case.pk,
            actor=actor(senior),
            outcome=conclusion.outcome,
            rationale=f"{DEMO_NOTE}: the referral signed.",
            no_conflict_declared=True,
        )
    if conclusion.result is None:
        return f"Case {case.pk} referred; the investigation has not concluded."
    record_referral_result(
        case.pk,
        ReferralResultRequest(
            result=conclusion.result,
            concluded_on=timezone.localdate(),
            reasons=f"{DEMO_NOTE}: the investigating body's conclusion.",
            no_conflict_declared=True,
        ),
        actor=actor(RECORDER),
    )
    return f"Case {case.pk} referred: {conclusion.result.label.lower()}."

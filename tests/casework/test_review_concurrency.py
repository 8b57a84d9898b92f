"""act_on_case under real concurrency: two people acting on one case at the same moment.

Each test parks both actors on the case's row lock, held by a third connection, then lets them
go together: the second to get the lock must see the first's result.
"""

from functools import partial
from typing import Any

import pytest

from accounts.roles import actor_for
from audit.log import verify_stored_chain
from casework.models import Case, CaseStatus, Decision, DecisionKind
from casework.services import DecisionRequest, act_on_case
from casework.workflow import TransitionRefused
from tests.casework.steps import signed_as_recommended
from tests.concurrency import WAIT_SECONDS, RowLock, in_thread, wait_for_lock_waiters
from tests.factories import CaseFactory, SubjectFactory

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

REASONS = "Reasons long enough to be accepted by the service."


def act(case_id: int, user: Any, action: str, **fields: Any) -> Any:
    fields = signed_as_recommended(case_id, action, fields)
    request = DecisionRequest(action, REASONS, no_conflict_declared=True, **fields)
    return act_on_case(case_id, request, actor=actor_for(user))


def together(case: Case, calls: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with RowLock(case):
        threads = [in_thread(call, results, name) for name, call in calls.items()]
        wait_for_lock_waiters(len(threads))
    for thread in threads:
        thread.join(WAIT_SECONDS)
    return results


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))


def test_two_reviewers_starting_review_at_once_one_wins_and_the_other_is_told(
    people: dict[str, Any], case: Case
) -> None:
    results = together(
        case,
        {
            name: partial(act, case.pk, people[name], "start_review", expected_status="open")
            for name in ("rita.reviewer", "ravi.reviewer")
        },
    )

    won = [name for name, result in results.items() if isinstance(result, Decision)]
    lost = [result for result in results.values() if isinstance(result, TransitionRefused)]
    assert len(won) == 1
    assert len(lost) == 1
    assert "Someone else acted on this case" in str(lost[0])
    case.refresh_from_db()
    assert case.assignee is not None
    assert case.assignee.username == won[0]
    assert Decision.objects.filter(case=case).count() == 1
    assert case.history.count() == 2  # created, then the one review start
    assert verify_stored_chain().intact


def test_two_signers_at_once_close_the_case_once(people: dict[str, Any], case: Case) -> None:
    act(case.pk, people["rita.reviewer"], "start_review")
    act(case.pk, people["rita.reviewer"], "recommend", outcome="no_further_action")

    results = together(
        case,
        {
            "ravi": partial(act, case.pk, people["ravi.reviewer"], "sign_off"),
            "sam": partial(act, case.pk, people["sam.senior"], "sign_off"),
        },
    )

    outcomes = sorted(type(result).__name__ for result in results.values())
    assert outcomes == ["Decision", "TransitionRefused"], results
    refused = next(r for r in results.values() if isinstance(r, TransitionRefused))
    assert "case that is closed" in str(refused)
    assert Decision.objects.filter(case=case, kind=DecisionKind.SIGN_OFF).count() == 1
    assert verify_stored_chain().intact


def test_two_seniors_signing_a_referral_at_once_make_first_and_second_signatures(
    people: dict[str, Any], case: Case
) -> None:
    act(case.pk, people["rita.reviewer"], "start_review")
    act(case.pk, people["rita.reviewer"], "recommend", outcome="referral")

    results = together(
        case,
        {
            name: partial(act, case.pk, people[name], "sign_referral")
            for name in ("sam.senior", "sue.senior")
        },
    )

    assert all(isinstance(result, Decision) for result in results.values()), results
    kinds = sorted(result.kind for result in results.values())
    assert kinds == [DecisionKind.SECOND_SIGNATURE, DecisionKind.SIGN_OFF]
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED
    assert verify_stored_chain().intact

"""casework.workflow: the transition table, checked for every state, action and role."""

import itertools

import pytest

from audit.actors import Role
from casework.models import LIVE_STATUSES, CaseStatus
from casework.workflow import (
    TRANSITIONS,
    Action,
    TransitionRefused,
    transition_for,
    transitions_from,
)

# The table in docs/architecture.md (section 6), written out independently:
# (from, action) -> (to, roles).
EXPECTED = {
    ("open", "start_review"): ("in_review", {"reviewer", "senior_reviewer"}),
    ("in_review", "recommend"): ("awaiting_sign_off", {"reviewer", "senior_reviewer"}),
    ("awaiting_sign_off", "sign_off"): ("closed", {"reviewer", "senior_reviewer"}),
    ("awaiting_sign_off", "sign_referral"): ("referred", {"senior_reviewer"}),
    ("awaiting_sign_off", "return_for_correction"): (
        "in_review",
        {"reviewer", "senior_reviewer"},
    ),
    **{
        (status, "hold"): ("on_hold", {"reviewer", "senior_reviewer", "system"})
        for status in ("open", "in_review", "awaiting_sign_off")
    },
    ("on_hold", "release"): ("previous", {"system"}),
    **{(status, "assign"): ("unchanged", {"senior_reviewer"}) for status in ("open", "in_review")},
    **{
        (status, "defer_notification"): ("unchanged", {"senior_reviewer"})
        for status in ("open", "in_review", "awaiting_sign_off", "on_hold")
    },
    **{
        (status, "withdraw"): ("withdrawn", {"reviewer", "senior_reviewer", "system"})
        for status in ("open", "in_review", "awaiting_sign_off", "on_hold")
    },
    # Only as the consequence of an upheld challenge to one of the case's decisions.
    **{
        (status, "set_aside"): ("open", {"data_steward", "senior_reviewer"})
        for status in ("in_review", "awaiting_sign_off", "on_hold", "closed", "referred")
    },
    # What the investigating body concluded, once it has: the case stays referred.
    ("referred", "record_referral_result"): ("unchanged", {"senior_reviewer"}),
}


@pytest.mark.parametrize(
    ("status", "action", "role"),
    list(itertools.product(CaseStatus.values, Action.values, Role.values)),
)
def test_every_state_action_and_role_is_allowed_exactly_as_the_table_says(
    status: str, action: str, role: str
) -> None:
    expected = EXPECTED.get((status, action))

    if expected is not None and role in expected[1]:
        transition = transition_for(status, action, Role(role))
        assert transition.target == expected[0]
    else:
        with pytest.raises(TransitionRefused):
            transition_for(status, action, Role(role))


def test_finished_cases_have_no_next_step_but_a_decision_set_aside() -> None:
    """A closed or referred case moves again only when an upheld challenge sets aside the
    decision it rests on; a withdrawn case never moves again. A referred case also awaits its
    result, which leaves it referred."""
    for status in ("closed", "referred", "withdrawn"):
        assert [t.action for t in transitions_from(status)] == {
            "closed": [Action.SET_ASIDE],
            "referred": [Action.SET_ASIDE, Action.RECORD_REFERRAL_RESULT],
            "withdrawn": [],
        }[status]
        for transition in transitions_from(status):
            assert transition.through_a_challenge or transition.target == "unchanged"
        assert status not in LIVE_STATUSES


def test_the_case_page_and_api_offer_no_step_only_a_challenge_takes() -> None:
    from casework.workflow import CASE_ACTIONS

    assert Action.SET_ASIDE not in dict(CASE_ACTIONS)
    assert {t.action for t in TRANSITIONS if t.through_a_challenge} == {Action.SET_ASIDE}


def test_a_referrals_result_has_its_own_form_not_the_action_forms() -> None:
    from casework.workflow import CASE_ACTIONS

    assert Action.RECORD_REFERRAL_RESULT not in dict(CASE_ACTIONS)
    assert {t.action for t in TRANSITIONS if t.own_form} == {Action.RECORD_REFERRAL_RESULT}


def test_the_system_only_ever_moves_a_case_toward_the_subjects_benefit() -> None:
    by_system = {t.action for t in TRANSITIONS if Role.SYSTEM in t.roles}

    assert by_system == {Action.HOLD, Action.RELEASE, Action.WITHDRAW}


def test_no_detector_subject_or_outsider_role_can_move_a_case() -> None:
    movers = set().union(*(t.roles for t in TRANSITIONS))
    # A data steward moves a case only by upholding a challenge to one of its decisions.
    by_steward = {t.action for t in TRANSITIONS if Role.DATA_STEWARD in t.roles}

    assert movers == {Role.REVIEWER, Role.SENIOR_REVIEWER, Role.DATA_STEWARD, Role.SYSTEM}
    assert by_steward == {Action.SET_ASIDE}


def test_a_refusal_says_what_can_happen_next() -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition_for("open", "sign_off", Role.REVIEWER)

    assert str(refused.value) == (
        "Sign off a non-adverse outcome is not possible on a case that is open; "
        "what can happen next: start review, put on hold, withdraw, "
        "defer notifying the subject, assign to a reviewer."
    )


def test_a_refusal_names_the_role_needed() -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition_for("awaiting_sign_off", "sign_referral", Role.REVIEWER)

    assert str(refused.value) == (
        "Sign a referral for misconduct investigation needs a senior reviewer, not a reviewer."
    )


def test_an_unknown_action_is_refused_in_words() -> None:
    with pytest.raises(TransitionRefused, match=r"'close_quietly' is not an action on a case\."):
        transition_for("open", "close_quietly", Role.REVIEWER)

"""casework.conflicts.check_conflict and casework.services.declare_conflict."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from audit.actors import Actor, Role
from audit.models import AuditEvent
from casework.conflicts import check_conflict, managers_above
from casework.models import DeclaredConflict
from casework.services import declare_conflict
from flags.models import Subject
from tests.factories import InReviewCaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def force() -> dict[str, Subject]:
    """chief -> superintendent -> sergeant -> constable, the reviewer elsewhere."""
    chief = SubjectFactory.create(unit="Command")
    superintendent = SubjectFactory.create(unit="North", line_manager=chief)
    sergeant = SubjectFactory.create(unit="North Response", line_manager=superintendent)
    constable = SubjectFactory.create(unit="North Response", line_manager=sergeant)
    standards = SubjectFactory.create(unit="Professional Standards", line_manager=chief)
    return {
        "chief": chief,
        "superintendent": superintendent,
        "sergeant": sergeant,
        "constable": constable,
        "standards": standards,
    }


def account_for(subject: Subject | None, username: str) -> User:
    user = get_user_model().objects.create_user(username)
    if subject is not None:
        subject.user = user
        subject.save(update_fields=["user"])  # test setup
    return user


def test_the_chain_of_command_is_walked_to_the_top(force: dict[str, Subject]) -> None:
    ids = managers_above(force["constable"].pk)

    assert ids == [force["sergeant"].pk, force["superintendent"].pk, force["chief"].pk]
    assert managers_above(force["chief"].pk) == []


@pytest.mark.parametrize(
    ("reviewer", "about", "reasons"),
    [
        ("standards", "constable", ()),
        ("constable", "constable", ("the case is about you",)),
        ("superintendent", "constable", ("you are in their chain of command",)),
        ("chief", "sergeant", ("you are in their chain of command",)),
        ("constable", "superintendent", ("they are in your chain of command",)),
        (
            "sergeant",
            "constable",
            ("you are in their chain of command", "you work in the same unit (North Response)"),
        ),
    ],
)
def test_relationships_that_bar_acting_on_a_case(
    force: dict[str, Subject], reviewer: str, about: str, reasons: tuple[str, ...]
) -> None:
    user = account_for(force[reviewer], reviewer)

    check = check_conflict(user, force[about])

    assert check.reasons == reasons
    assert check.passes is (not reasons)


def test_a_colleague_in_the_same_unit_is_barred(force: dict[str, Subject]) -> None:
    colleague = SubjectFactory.create(unit="North Response", line_manager=force["superintendent"])
    user = account_for(colleague, "colleague")

    assert check_conflict(user, force["constable"]).reasons == (
        "you work in the same unit (North Response)",
    )


def test_a_reviewer_with_a_live_case_of_their_own_is_barred(
    force: dict[str, Subject], system: Actor
) -> None:
    user = account_for(force["standards"], "standards")
    InReviewCaseFactory.create(subject=force["standards"])

    # Worded so as not to tell them a case about them exists (its notice may be deferred).
    assert check_conflict(user, force["constable"]).reasons == (
        "you may not review cases at present; ask your professional standards lead",
    )


def test_an_account_without_its_own_record_fails_the_check(force: dict[str, Subject]) -> None:
    user = account_for(None, "external")

    assert check_conflict(user, force["constable"]).reasons == (
        "your account is not linked to your own record in the workforce register, so the "
        "conflict check cannot be made",
    )


def test_a_declaration_bars_its_subject_only(force: dict[str, Subject]) -> None:
    user = account_for(force["standards"], "standards")
    declare_conflict(force["constable"], actor=Actor(user=user, role=Role.REVIEWER))

    assert check_conflict(user, force["constable"]).reasons == (
        "you declared a conflict of interest with this person",
    )
    assert check_conflict(user, force["sergeant"]).passes


def test_a_declaration_is_recorded_once_with_its_audit_event_and_history(
    force: dict[str, Subject],
) -> None:
    user = account_for(None, "external")
    actor = Actor(user=user, role=Role.REVIEWER)

    first = declare_conflict(force["constable"], actor=actor)
    again = declare_conflict(force["constable"], actor=actor)

    assert again == first
    assert DeclaredConflict.objects.count() == 1
    [event] = AuditEvent.objects.filter(action="conflict.declared")
    assert (event.target_type, event.target_id) == ("casework.declaredconflict", str(first.pk))
    assert event.data == {"user": user.pk, "subject": force["constable"].pk}
    assert event.actor_username == "external"
    [row] = first.history.all()
    assert (row.history_user, row.history_change_reason) == (user, "conflict declared")


def test_the_check_costs_a_few_queries_for_a_shallow_chain(
    force: dict[str, Subject], django_assert_max_num_queries: Any
) -> None:
    user = account_for(force["standards"], "standards")

    with django_assert_max_num_queries(9):
        check_conflict(user, force["constable"])

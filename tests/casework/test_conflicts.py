"""casework.conflicts: the conflict check on one case, the conflict scope that filters the work
queue, and casework.services.declare_conflict.

Each relationship is asked of both: ``check_conflict`` (the case page, the API, the services)
and the work queue (``work_queue``, filtered by ``conflict_scope``).
"""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from accounts.services import create_user
from audit.actors import Actor, Role, system_actor
from audit.insert_only import row_hash
from audit.models import AuditEvent
from casework.conflicts import (
    ABOUT_YOU,
    DECLARED,
    NOT_AT_PRESENT,
    THEY_MANAGE_YOU,
    UNLINKED,
    YOU_MANAGE_THEM,
    check_conflict,
    conflict_scope,
)
from casework.models import Case, CaseStatus, DeclaredConflict
from casework.selectors import ALL_STATUSES, QueueFilters, work_queue
from casework.services import declare_conflict
from flags.models import Subject
from tests.factories import CaseFactory, InReviewCaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

# Who manages whom, and in which unit. Every unit differs along the chain, so a reason found for a
# pair up or down it comes from the chain alone (the sergeant and constable excepted).
#
#   chief (Command)
#   ├── superintendent (North)
#   │   ├── sergeant (North Response)
#   │   │   └── constable (North Response)
#   │   └── detective (North CID)
#   │       └── analyst (North Intelligence)
#   ├── south (South)
#   │   └── south_constable (South Response)
#   └── standards (Professional Standards)
CHART = {
    "chief": ("Command", None),
    "superintendent": ("North", "chief"),
    "sergeant": ("North Response", "superintendent"),
    "constable": ("North Response", "sergeant"),
    "detective": ("North CID", "superintendent"),
    "analyst": ("North Intelligence", "detective"),
    "south": ("South", "chief"),
    "south_constable": ("South Response", "south"),
    "standards": ("Professional Standards", "chief"),
}


@pytest.fixture
def force() -> dict[str, Subject]:
    people: dict[str, Subject] = {}
    for name, (unit, manager) in CHART.items():
        people[name] = SubjectFactory.create(
            unit=unit, line_manager=people[manager] if manager else None
        )
    return people


def reviewer_for(subject: Subject | None, username: str) -> User:
    """A reviewer's account, linked to ``subject``, or to no record at all when it is None."""
    installer = Actor(user=system_actor().user, role=Role.SYSTEM)
    if subject is not None:
        return create_user(username, role=Role.REVIEWER, subject=subject, actor=installer)
    # The service refuses an unlinked reviewer; the rows can still arise (an unlinked record).
    user = get_user_model().objects.create_user(username)
    user.groups.add(Group.objects.get(name=Role.REVIEWER))
    return user


def queue_shows(user: User, case: Case) -> bool:
    return work_queue(user, QueueFilters(status=ALL_STATUSES)).filter(pk=case.pk).exists()


@pytest.mark.parametrize(
    ("reviewer", "about", "reasons"),
    [
        # Up the chain: a line manager, their manager, and the top.
        ("sergeant", "superintendent", (THEY_MANAGE_YOU,)),
        ("constable", "superintendent", (THEY_MANAGE_YOU,)),
        ("constable", "chief", (THEY_MANAGE_YOU,)),
        ("analyst", "chief", (THEY_MANAGE_YOU,)),
        ("standards", "chief", (THEY_MANAGE_YOU,)),
        # Down the chain: a report, a report's report, and the bottom from the top.
        ("superintendent", "sergeant", (YOU_MANAGE_THEM,)),
        ("superintendent", "constable", (YOU_MANAGE_THEM,)),
        ("superintendent", "analyst", (YOU_MANAGE_THEM,)),
        ("chief", "constable", (YOU_MANAGE_THEM,)),
        ("chief", "south_constable", (YOU_MANAGE_THEM,)),
        # A line manager in the same unit: both reasons.
        ("sergeant", "constable", (YOU_MANAGE_THEM, "you work in the same unit (North Response)")),
        ("constable", "sergeant", (THEY_MANAGE_YOU, "you work in the same unit (North Response)")),
        # Sideways, in another unit: a peer, a peer's report, a manager's peer, a cousin.
        ("sergeant", "detective", ()),
        ("detective", "constable", ()),
        ("constable", "detective", ()),
        ("constable", "analyst", ()),
        ("analyst", "sergeant", ()),
        ("superintendent", "south", ()),
        ("superintendent", "south_constable", ()),
        ("south_constable", "superintendent", ()),
        ("standards", "constable", ()),
        ("standards", "south", ()),
        # Themselves: that reason alone, though they share their own unit too.
        ("constable", "constable", (ABOUT_YOU,)),
        ("chief", "chief", (ABOUT_YOU,)),
    ],
)
def test_the_chain_of_command_bars_both_ways_and_nothing_sideways(
    force: dict[str, Subject], reviewer: str, about: str, reasons: tuple[str, ...]
) -> None:
    user = reviewer_for(force[reviewer], reviewer)
    # Concluded, so that a case about the reviewer themselves does not bar them from everything.
    case = CaseFactory.create(subject=force[about], status=CaseStatus.CLOSED)

    check = check_conflict(user, force[about])

    assert check.reasons == reasons
    assert check.passes is (not reasons)
    assert queue_shows(user, case) is (not reasons)


def test_a_colleague_in_the_same_unit_is_barred_outside_the_chain(
    force: dict[str, Subject],
) -> None:
    colleague = SubjectFactory.create(unit="North Response", line_manager=force["superintendent"])
    elsewhere = SubjectFactory.create(unit="South Response", line_manager=force["south"])
    user = reviewer_for(colleague, "colleague")
    barred = CaseFactory.create(subject=force["constable"])
    sideways = CaseFactory.create(subject=elsewhere)

    assert check_conflict(user, force["constable"]).reasons == (
        "you work in the same unit (North Response)",
    )
    assert not queue_shows(user, barred)
    assert check_conflict(user, elsewhere).passes
    assert queue_shows(user, sideways)


def test_the_scope_is_the_person_their_chain_both_ways_their_unit_and_declarations(
    force: dict[str, Subject], django_assert_num_queries: Any
) -> None:
    user = reviewer_for(force["superintendent"], "superintendent")
    declare_conflict(force["south"], actor=Actor(user=user, role=Role.REVIEWER))

    with django_assert_num_queries(1):
        scope = conflict_scope(user)

    expected = ["superintendent", "chief", "sergeant", "constable", "detective", "analyst", "south"]
    assert scope == sorted(force[name].pk for name in expected)


def test_a_chain_deeper_than_any_bound_is_walked_to_its_ends(db: Any) -> None:
    top = SubjectFactory.create(unit="Unit 0")
    chain = [top]
    for depth in range(1, 61):
        chain.append(SubjectFactory.create(unit=f"Unit {depth}", line_manager=chain[-1]))
    bottom = reviewer_for(chain[-1], "bottom")
    top_reviewer = reviewer_for(top, "top")
    about_top = CaseFactory.create(subject=top, status=CaseStatus.CLOSED)
    about_bottom = CaseFactory.create(subject=chain[-1], status=CaseStatus.CLOSED)

    assert check_conflict(bottom, top).reasons == (THEY_MANAGE_YOU,)
    assert check_conflict(top_reviewer, chain[-1]).reasons == (YOU_MANAGE_THEM,)
    assert not queue_shows(bottom, about_top)
    assert not queue_shows(top_reviewer, about_bottom)


def test_a_loop_in_the_register_ends_the_walk_and_bars_everyone_in_it(db: Any) -> None:
    first = SubjectFactory.create(unit="Loop A")
    second = SubjectFactory.create(unit="Loop B", line_manager=first)
    first.line_manager = second
    first.save(update_fields=["line_manager"])  # test setup: the register refuses loops
    report = SubjectFactory.create(unit="Loop C", line_manager=first)
    outside = SubjectFactory.create(unit="Elsewhere")
    user = reviewer_for(report, "report")
    manager = reviewer_for(second, "second")

    assert check_conflict(user, first).reasons == (THEY_MANAGE_YOU,)
    assert check_conflict(user, second).reasons == (THEY_MANAGE_YOU,)
    assert check_conflict(manager, first).reasons == (YOU_MANAGE_THEM, THEY_MANAGE_YOU)
    assert check_conflict(manager, report).reasons == (YOU_MANAGE_THEM,)
    assert check_conflict(user, outside).passes
    assert conflict_scope(user) == sorted([first.pk, second.pk, report.pk])


def test_a_reviewer_with_a_live_case_of_their_own_is_barred_from_everything(
    force: dict[str, Subject],
) -> None:
    user = reviewer_for(force["standards"], "standards")
    other = CaseFactory.create(subject=force["constable"])
    InReviewCaseFactory.create(subject=force["standards"])

    # Worded so as not to tell them a case about them exists (its notice may be deferred).
    assert check_conflict(user, force["constable"]).reasons == (NOT_AT_PRESENT,)
    assert conflict_scope(user) is None
    assert not queue_shows(user, other)


def test_a_concluded_case_of_their_own_bars_nothing_more(force: dict[str, Subject]) -> None:
    user = reviewer_for(force["standards"], "standards")
    other = CaseFactory.create(subject=force["constable"])
    CaseFactory.create(subject=force["standards"], status=CaseStatus.CLOSED)

    assert check_conflict(user, force["constable"]).passes
    assert queue_shows(user, other)


def test_an_account_without_its_own_record_fails_closed(force: dict[str, Subject]) -> None:
    user = reviewer_for(None, "external")
    case = CaseFactory.create(subject=force["constable"])

    assert check_conflict(user, force["constable"]).reasons == (UNLINKED,)
    assert conflict_scope(user) is None
    assert not queue_shows(user, case)


def test_an_unlinked_account_is_still_told_of_its_declarations(force: dict[str, Subject]) -> None:
    user = reviewer_for(None, "external")
    declare_conflict(force["constable"], actor=Actor(user=user, role=Role.REVIEWER))

    assert check_conflict(user, force["constable"]).reasons == (UNLINKED, DECLARED)


def test_a_declaration_bars_its_subject_only(force: dict[str, Subject]) -> None:
    user = reviewer_for(force["standards"], "standards")
    declared = CaseFactory.create(subject=force["constable"])
    undeclared = CaseFactory.create(subject=force["sergeant"])
    declare_conflict(force["constable"], actor=Actor(user=user, role=Role.REVIEWER))

    assert check_conflict(user, force["constable"]).reasons == (DECLARED,)
    assert check_conflict(user, force["sergeant"]).passes
    assert not queue_shows(user, declared)
    assert queue_shows(user, undeclared)


def test_a_declaration_is_recorded_once_with_its_audit_event_and_history(
    force: dict[str, Subject],
) -> None:
    user = get_user_model().objects.create_user("external")
    actor = Actor(user=user, role=Role.REVIEWER)

    first = declare_conflict(force["constable"], actor=actor)
    again = declare_conflict(force["constable"], actor=actor)

    assert again == first
    assert DeclaredConflict.objects.count() == 1
    [event] = AuditEvent.objects.filter(action="conflict.declared")
    assert (event.target_type, event.target_id) == ("casework.declaredconflict", str(first.pk))
    assert event.data == {
        "user": user.pk,
        "subject": force["constable"].pk,
        "declared_conflict": first.pk,
        "row_hash": row_hash(first),
    }
    assert event.actor_username == "external"
    [row] = first.history.all()
    assert (row.history_user, row.history_change_reason) == (user, "conflict declared")


def test_the_check_is_one_query_however_deep_the_chain(
    force: dict[str, Subject], django_assert_num_queries: Any
) -> None:
    user = reviewer_for(force["analyst"], "analyst")
    declare_conflict(force["constable"], actor=Actor(user=user, role=Role.REVIEWER))

    # The scope query, asked about one person: their record, the walks, the unit, the
    # declarations and the live case all in one.
    with django_assert_num_queries(1):
        check_conflict(user, force["constable"])


def test_the_list_of_who_may_review_agrees_with_the_scope_of_each_person(
    people: dict[str, Any], frozen_today: Any
) -> None:
    """may_review_some_cases filters a list by the bars of conflict_scope that exclude every
    case: the two must say the same of everyone."""
    from django.contrib.auth.models import User

    from casework.conflicts import conflict_scope, may_review_some_cases
    from tests.factories import CaseFactory

    CaseFactory.create(subject=people["ravi.reviewer"].subject)  # under review themselves
    everyone = list(User.objects.all())
    listed = set(may_review_some_cases(User.objects.all()).values_list("pk", flat=True))
    barred = {user.pk for user in everyone if conflict_scope(user) is None}

    assert listed == {user.pk for user in everyone} - barred
    assert {people["ravi.reviewer"].pk, people["otto.outsider"].pk} <= barred

"""What a person sees of their own record (appeals.selectors.subject_record): everything about
them, nothing of a case whose notice is deferred until it is sent, nothing of anyone else."""

from datetime import timedelta
from typing import Any

from appeals.selectors import scope_for, subject_record
from audit.access import Shown, record_access
from audit.actors import Actor, system_actor
from casework.models import Case, NotificationKind
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from tests.appeals.conftest import World, flagged_subject, overtime_flags
from tests.factories import TODAY, EvidenceItemFactory


def test_fay_sees_her_flags_case_and_who_viewed_it(world: World) -> None:
    rita = world.actor("rita.reviewer")
    record_access(
        [Shown(world.subject.pk, "casework.case", world.case.pk)],
        actor=rita,
        channel="page",
        view="case-page",
        purpose="case review",
    )
    record = subject_record(scope_for(world.fay))
    assert {flag.pk for flag in record.flags} == {flag.pk for flag in world.flags}
    assert [case.pk for case in record.cases] == [world.case.pk]
    assert [n.kind for n in record.notices] == [NotificationKind.CASE_OPENED]
    [view] = list(record.access_log)
    assert (view.username, view.role, view.view) == ("rita.reviewer", "reviewer", "case-page")


def test_a_deferred_case_does_not_exist_for_its_subject_until_the_notice_is_sent(
    people: dict[str, Any],
    detector_client: Any,
    settings: Any,
    frozen_today: Any,
    time_machine: Any,
) -> None:
    settings.SUBJECT_NOTICE_DELAY_HOURS = 24
    hal = flagged_subject("hal.hidden")
    flags = overtime_flags(
        detector_client,
        hal.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    case = Case.objects.get(subject=hal.subject)
    senior = Actor(user=people["sam.senior"], role="senior_reviewer")  # type: ignore[arg-type]
    act_on_case(
        case.pk,
        DecisionRequest(
            "defer_notification",
            rationale="Telling him now would alert others under investigation.",
            deferred_until=TODAY + timedelta(days=10),
            no_conflict_declared=True,
        ),
        actor=senior,
    )
    record_access(
        [Shown(case.subject_id, "casework.case", case.pk)],
        actor=senior,
        channel="page",
        view="case-page",
        purpose="case review",
    )
    hidden = subject_record(scope_for(hal))
    assert hidden.cases == [] and hidden.flags == [] and hidden.notices == []
    assert not hidden.access_log.exists()
    assert hidden.scope.case_ids == set()

    time_machine.move_to(TODAY + timedelta(days=11), tick=False)
    send_due_notifications(actor=system_actor())
    told = subject_record(scope_for(hal))
    assert [c.pk for c in told.cases] == [case.pk]
    assert {f.pk for f in told.flags} == {f.pk for f in flags}
    assert told.access_log.count() == 1


def test_nothing_of_another_person_appears(world: World, detector_client: Any) -> None:
    gus = flagged_subject("gus.grey")
    overtime_flags(
        detector_client,
        gus.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    send_due_notifications(actor=system_actor())
    gus_case = Case.objects.get(subject=gus.subject)
    record_access(
        [Shown(gus_case.subject_id, "casework.case", gus_case.pk)],
        actor=world.actor("rita.reviewer"),
        channel="page",
        view="case-page",
        purpose="case review",
    )
    record = subject_record(scope_for(world.fay))
    assert all(flag.subject_id == world.subject.pk for flag in record.flags)
    assert [case.pk for case in record.cases] == [world.case.pk]
    assert not record.access_log.exists()

"""Filing, adjudicating and escalating challenges, and what each step does to the record, the
flags and the cases resting on it (appeals.services.challenges)."""

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Max

from appeals import services
from appeals.errors import AppealInvalid, AppealNotFound, AppealRefused
from appeals.models import AppealNotice, Challenge, ChallengeStatus, Remedy
from audit.actors import Actor, system_actor
from audit.models import AuditEvent
from casework.models import Case, CaseReevaluation, CaseStatus, Consequence, Decision, DecisionKind
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from casework.workflow import TransitionRefused
from flags.models import EvidenceContext, EvidenceStatus, Flag, FlagStatus
from tests.appeals.conftest import (
    World,
    file_inaccurate,
    flagged_subject,
    overtime_flags,
    verify_audit,
)
from tests.factories import EvidenceItemFactory

REASONS = "The payroll extract shows the claim belongs to another officer with the same initials."


def events_since(seq: int) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq)
        .order_by("seq")
        .values_list("action", "actor_role", "target_type")
    )


def head() -> int:
    return AuditEvent.objects.aggregate(m=Max("seq"))["m"] or 0


def take(world: World, challenge: Challenge) -> Actor:
    steward = world.actor("dan.steward")
    services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    return steward


def decide(
    world: World, challenge: Challenge, finding: str, remedy: str = Remedy.NONE, **extra: Any
) -> Challenge:
    steward = take(world, challenge)
    return services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding=finding, reasons=REASONS, remedy=remedy, no_conflict_declared=True, **extra
        ),
        actor=steward,
    )


# --- filing --------------------------------------------------------------------------------------


def test_filing_disputes_the_record_holds_the_case_and_tells_fay(world: World) -> None:
    before = head()
    challenge = file_inaccurate(world, world.records[0])
    world.refresh()
    assert challenge.status == ChallengeStatus.SUBMITTED
    assert world.records[0].status == EvidenceStatus.DISPUTED
    assert challenge.evidence_status_before == EvidenceStatus.AS_RECEIVED
    assert world.case.status == CaseStatus.ON_HOLD
    assert world.case.held_from == CaseStatus.OPEN
    hold = Decision.objects.get(case=world.case, kind=DecisionKind.HOLD)
    assert hold.made_by == system_actor().user
    assert events_since(before) == [
        ("evidence.disputed", "subject", "flags.evidencerecord"),
        ("challenge.filed", "subject", "appeals.challenge"),
        ("case.held", "system", "casework.case"),
    ]
    held = AuditEvent.objects.get(seq__gt=before, action="case.held")
    assert held.data["challenge"] == challenge.pk
    assert list(AppealNotice.objects.values_list("recipient__username", "kind")) == [
        ("fay.flagged", "challenge_filed")
    ]
    # Grounds are free text about a person: the log holds their hash, never the words.
    filed = AuditEvent.objects.get(action="challenge.filed")
    assert "annual leave" not in str(filed.data)
    assert "Insert-only rows match" in verify_audit()


def test_deadlines_are_in_working_days_from_the_filing(world: World) -> None:
    from appeals.deadlines import add_working_days

    challenge = file_inaccurate(world, world.records[0])

    filed_on = challenge.filed_at.date()
    assert challenge.acknowledge_due == add_working_days(filed_on, 5)
    assert challenge.decide_due == add_working_days(filed_on, 20)
    assert challenge.acknowledge_due > filed_on


def test_a_second_open_challenge_on_the_record_is_refused_pointing_to_the_first(
    world: World,
) -> None:
    first = file_inaccurate(world, world.records[0])
    before = (head(), Challenge.objects.count())
    with pytest.raises(AppealRefused, match=f"Challenge {first.pk} to this is already open"):
        file_inaccurate(world, world.records[0])
    assert (head(), Challenge.objects.count()) == before


def test_another_persons_challenge_on_a_shared_record_is_not_named(
    world: World, detector_client: Any
) -> None:
    shared = EvidenceItemFactory.create(source_system="roster", record_type="roster")
    gus = flagged_subject("gus.grey")
    overtime_flags(detector_client, world.subject, [[shared]])
    overtime_flags(detector_client, gus.subject, [[shared]])
    from flags.models import EvidenceRecord

    record = EvidenceRecord.objects.get(record_id=shared["record_id"])
    first = file_inaccurate(world, record)
    with pytest.raises(AppealRefused) as refused:
        services.file_challenge(
            services.ChallengeRequest(kind="not_mine", evidence=record.pk, grounds="Not me."),
            actor=Actor(user=gus, role=world.as_fay.role),
        )
    assert str(first.pk) not in str(refused.value)
    assert "already disputed" in str(refused.value)


@pytest.mark.parametrize(
    ("grounds", "field", "message"),
    [
        ("", "grounds", "Say why"),
        ("   ", "grounds", "Say why"),
        ("wrong\x00", "grounds", "NUL"),
        ("x" * 5001, "grounds", "at most 5000"),
    ],
)
def test_bad_grounds_are_refused_and_nothing_is_written(
    world: World, grounds: str, field: str, message: str
) -> None:
    before = (head(), Challenge.objects.count())
    with pytest.raises(AppealInvalid) as refused:
        services.file_challenge(
            services.ChallengeRequest(
                kind="lacks_context", evidence=world.records[0].pk, grounds=grounds
            ),
            actor=world.as_fay,
        )
    assert message in refused.value.problems[field]
    assert (head(), Challenge.objects.count()) == before
    world.refresh()
    assert world.records[0].status == EvidenceStatus.AS_RECEIVED


def test_an_inaccurate_challenge_needs_the_correction_fay_says_is_right(world: World) -> None:
    with pytest.raises(AppealInvalid) as refused:
        services.file_challenge(
            services.ChallengeRequest(
                kind="inaccurate", evidence=world.records[0].pk, grounds="It is wrong."
            ),
            actor=world.as_fay,
        )
    assert refused.value.problems == {"proposed_correction": "Say what the record should say."}


def test_a_record_fay_may_not_see_is_answered_as_one_that_does_not_exist(
    world: World, detector_client: Any
) -> None:
    gus = flagged_subject("gus.grey")
    [gus_flag] = overtime_flags(
        detector_client,
        gus.subject,
        [[EvidenceItemFactory.create()]],
    )
    theirs = gus_flag.evidence.get()
    missing = theirs.pk + 1000
    for record_id in (theirs.pk, missing):
        with pytest.raises(AppealNotFound) as refused:
            services.file_challenge(
                services.ChallengeRequest(kind="not_mine", evidence=record_id, grounds="Not me."),
                actor=world.as_fay,
            )
        assert str(refused.value) == (
            f"There is no evidence record {record_id} that you may challenge."
        )


def test_lacks_context_keeps_fays_account_beside_the_record(world: World) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="lacks_context",
            evidence=world.records[0].pk,
            grounds="The overtime was authorised by my inspector during the flood response.",
        ),
        actor=world.as_fay,
    )
    decide(world, challenge, "rejected")
    [context] = EvidenceContext.objects.filter(evidence=world.records[0])
    assert context.account.startswith("The overtime was authorised")
    assert context.subject == world.subject
    assert context.given_with == f"challenge {challenge.pk}"


# --- adjudication --------------------------------------------------------------------------------


def test_upholding_withdraws_the_record_the_flag_and_the_case_below_its_threshold(
    world: World,
) -> None:
    challenge = file_inaccurate(world, world.records[0])
    before = head()
    decide(world, challenge, "upheld", Remedy.WITHDRAWN)
    world.refresh()
    assert world.records[0].status == EvidenceStatus.WITHDRAWN
    assert world.flags[0].status == FlagStatus.WITHDRAWN
    assert world.flags[1].status == FlagStatus.ACTIVE
    assert world.case.status == CaseStatus.WITHDRAWN
    [again] = CaseReevaluation.objects.filter(case=world.case)
    assert (again.met, again.consequence) == (False, Consequence.WITHDRAWN)
    assert again.policy_version == world.case.policy.version
    assert again.trace["as_of"] == world.case.trace["as_of"]
    actions = [action for action, _, _ in events_since(before)]
    assert actions == [
        "challenge.acknowledged",
        "evidence.withdrawn",
        "flag.withdrawn",
        "notification.sent",
        "case.withdrawn",
        "case.reevaluated",
        "challenge.decided",
    ]
    for event in AuditEvent.objects.filter(
        seq__gt=before,
        action__in=["evidence.withdrawn", "flag.withdrawn", "case.withdrawn", "case.reevaluated"],
    ):
        assert event.data["challenge"] == challenge.pk
    assert "Insert-only rows match" in verify_audit()


def test_a_correction_leaves_a_case_that_still_meets_its_threshold_released(
    world: World, detector_client: Any
) -> None:
    overtime_flags(detector_client, world.subject, [[EvidenceItemFactory.create()]])
    assert world.case.case_flags.count() == 3
    challenge = file_inaccurate(world, world.records[0])
    decide(
        world,
        challenge,
        "upheld",
        Remedy.CORRECTED,
        correction=services.CorrectedContent(
            summary="No overtime claimed",
            payload={"hours": 0},
            occurred_at=world.records[0].occurred_at,
        ),
    )
    world.refresh()
    record = world.records[0]
    assert record.status == EvidenceStatus.CORRECTED
    assert record.payload == {"hours": 0}
    # Received, disputed, corrected: each version kept, the first content included.
    assert list(record.history.order_by("history_id").values_list("status", flat=True)) == [
        EvidenceStatus.AS_RECEIVED,
        EvidenceStatus.DISPUTED,
        EvidenceStatus.CORRECTED,
    ]
    assert record.history.earliest("history_id").payload == {"hours": 9.5}
    assert world.flags[0].status == FlagStatus.WITHDRAWN
    assert world.case.status == CaseStatus.OPEN
    [again] = CaseReevaluation.objects.filter(case=world.case)
    assert (again.met, again.consequence) == (True, Consequence.RELEASED)


def test_rejecting_releases_the_hold_and_returns_the_record_as_it_was(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    decided = decide(world, challenge, "rejected")
    world.refresh()
    assert decided.status == ChallengeStatus.REJECTED
    assert decided.escalation_due is not None
    assert world.records[0].status == EvidenceStatus.AS_RECEIVED
    assert world.case.status == CaseStatus.OPEN
    assert not CaseReevaluation.objects.exists()


def test_the_hold_stays_while_another_challenge_is_open(world: World) -> None:
    first = file_inaccurate(world, world.records[0])
    file_inaccurate(world, world.records[1])
    decide(world, first, "rejected")
    world.refresh()
    assert world.case.status == CaseStatus.ON_HOLD


@pytest.mark.parametrize(
    ("finding", "remedy", "problem"),
    [
        ("upheld", Remedy.NONE, "remedy"),
        ("rejected", Remedy.WITHDRAWN, "remedy"),
        ("upheld", Remedy.SET_ASIDE, "remedy"),
        ("upheld", Remedy.CORRECTED, "correction"),
        ("maybe", Remedy.NONE, "finding"),
    ],
)
def test_an_adjudication_that_does_not_fit_is_refused(
    world: World, finding: str, remedy: str, problem: str
) -> None:
    challenge = file_inaccurate(world, world.records[0])
    steward = take(world, challenge)
    before = head()
    with pytest.raises(AppealInvalid) as refused:
        services.decide_challenge(
            challenge.pk,
            services.Adjudication(
                finding=finding, reasons=REASONS, remedy=remedy, no_conflict_declared=True
            ),
            actor=steward,
        )
    assert problem in refused.value.problems
    assert head() == before


def test_a_decision_needs_reasons_and_the_declaration(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    steward = take(world, challenge)
    with pytest.raises(AppealInvalid) as refused:
        services.decide_challenge(
            challenge.pk, services.Adjudication(finding="rejected", reasons="No."), actor=steward
        )
    assert set(refused.value.problems) == {"reasons", "no_conflict_declared"}


def test_only_a_steward_who_passes_the_conflict_check_sees_the_challenge(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    # Fay's colleague in Response North, made a steward: same unit, so conflicted.
    colleague = flagged_subject("carl.colleague")
    from django.contrib.auth.models import Group

    colleague.groups.set([Group.objects.get(name="data_steward")])
    from audit.actors import Role

    for actor in (
        Actor(user=colleague, role=Role.DATA_STEWARD),
        world.actor("rita.reviewer"),
        world.as_fay,
    ):
        with pytest.raises(AppealNotFound, match=f"no challenge {challenge.pk} that you may see"):
            services.acknowledge_challenge(challenge.pk, actor=actor, no_conflict_declared=True)


# --- escalation ----------------------------------------------------------------------------------


def test_a_rejected_challenge_is_escalated_once_and_decided_finally(
    world: World, time_machine: Any
) -> None:
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    escalated = services.escalate_challenge(
        challenge.pk, actor=world.as_fay, grounds="The steward did not read my leave record."
    )
    world.refresh()
    assert escalated.status == ChallengeStatus.ESCALATED
    assert world.records[0].status == EvidenceStatus.DISPUTED
    assert world.case.status == CaseStatus.ON_HOLD
    with pytest.raises(AppealRefused, match="only once"):
        services.escalate_challenge(challenge.pk, actor=world.as_fay, grounds="Again.")
    final = services.decide_escalation(
        challenge.pk,
        services.Adjudication(
            finding="upheld", reasons=REASONS, remedy=Remedy.WITHDRAWN, no_conflict_declared=True
        ),
        actor=world.actor("sue.senior"),
    )
    world.refresh()
    assert final.is_final
    assert final.status == ChallengeStatus.UPHELD
    assert world.case.status == CaseStatus.WITHDRAWN
    with pytest.raises(AppealRefused):
        services.escalate_challenge(challenge.pk, actor=world.as_fay, grounds="Once more.")


def test_escalation_after_the_window_is_refused(world: World, time_machine: Any) -> None:
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    assert challenge.escalation_due is not None
    time_machine.move_to(challenge.escalation_due + timedelta(days=1), tick=False)
    with pytest.raises(AppealRefused, match="ended on"):
        services.escalate_challenge(challenge.pk, actor=world.as_fay, grounds="Too late?")


def test_a_senior_who_took_part_in_the_case_may_not_decide_the_escalation(world: World) -> None:
    sam = world.actor("sam.senior")
    act_on_case(
        world.case.pk,
        DecisionRequest(
            "start_review", rationale="Taking this case to review.", no_conflict_declared=True
        ),
        actor=sam,
    )
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    services.escalate_challenge(challenge.pk, actor=world.as_fay, grounds="Please look again.")
    with pytest.raises(AppealRefused, match="took part"):
        services.decide_escalation(
            challenge.pk,
            services.Adjudication(finding="rejected", reasons=REASONS, no_conflict_declared=True),
            actor=sam,
        )


# --- challenges to decisions ---------------------------------------------------------------------


def recommended(world: World) -> Decision:
    rita = world.actor("rita.reviewer")
    for action, outcome in (("start_review", ""), ("recommend", "management_advice")):
        act_on_case(
            world.case.pk,
            DecisionRequest(
                action,
                rationale="Reasons given at length.",
                outcome=outcome,
                no_conflict_declared=True,
            ),
            actor=rita,
        )
    return Decision.objects.get(case=world.case, kind=DecisionKind.RECOMMENDATION)


def test_upholding_a_challenge_to_a_recommendation_sets_it_aside_for_another_reviewer(
    world: World,
) -> None:
    recommendation = recommended(world)
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="decision", decision=recommendation.pk, grounds="Advice is not warranted."
        ),
        actor=world.as_fay,
    )
    world.refresh()
    assert world.case.status == CaseStatus.ON_HOLD  # no outcome is signed while it is open
    decide(world, challenge, "upheld", Remedy.SET_ASIDE)
    world.refresh()
    assert world.case.status == CaseStatus.OPEN
    assert world.case.assignee is None and world.case.recommended_outcome == ""
    set_aside = Decision.objects.get(case=world.case, kind=DecisionKind.SET_ASIDE)
    assert set_aside.sets_aside == recommendation
    assert Decision.objects.filter(pk=recommendation.pk).exists()  # the original stays
    with pytest.raises(TransitionRefused, match="different reviewer"):
        act_on_case(
            world.case.pk,
            DecisionRequest(
                "start_review", rationale="Taking it back again.", no_conflict_declared=True
            ),
            actor=world.actor("rita.reviewer"),
        )
    act_on_case(
        world.case.pk,
        DecisionRequest(
            "start_review", rationale="A fresh pair of eyes.", no_conflict_declared=True
        ),
        actor=world.actor("ravi.reviewer"),
    )
    assert "Insert-only rows match" in verify_audit()


def test_no_outcome_can_be_signed_while_a_challenge_to_the_recommendation_is_open(
    world: World,
) -> None:
    recommendation = recommended(world)
    services.file_challenge(
        services.ChallengeRequest(kind="decision", decision=recommendation.pk, grounds="Wrong."),
        actor=world.as_fay,
    )
    with pytest.raises(TransitionRefused):
        act_on_case(
            world.case.pk,
            DecisionRequest(
                "sign_off",
                rationale="Signing the advice.",
                outcome="management_advice",
                no_conflict_declared=True,
            ),
            actor=world.actor("ravi.reviewer"),
        )


# --- propagation across people -------------------------------------------------------------------


def test_a_correction_flows_to_every_case_resting_on_the_record(
    world: World, detector_client: Any
) -> None:
    """One record under flags of two people: the one case falls below its threshold and is
    withdrawn, the other still meets it and is released."""
    shared = EvidenceItemFactory.create(source_system="roster", record_type="roster")
    gus = flagged_subject("gus.grey")
    amy = flagged_subject("amy.amber")
    gus_flags = overtime_flags(
        detector_client,
        gus.subject,
        [[shared], [EvidenceItemFactory.create()]],
    )
    amy_flags = overtime_flags(
        detector_client,
        amy.subject,
        [[shared], [EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    send_due_notifications(actor=system_actor())
    gus_case = Case.objects.get(subject=gus.subject)
    amy_case = Case.objects.get(subject=amy.subject)
    from flags.models import EvidenceRecord

    record = EvidenceRecord.objects.get(record_id=shared["record_id"])
    challenge = services.file_challenge(
        services.ChallengeRequest(kind="not_mine", evidence=record.pk, grounds="Not my roster."),
        actor=Actor(user=gus, role=world.as_fay.role),
    )
    gus_case.refresh_from_db()
    amy_case.refresh_from_db()
    assert (gus_case.status, amy_case.status) == (CaseStatus.ON_HOLD, CaseStatus.ON_HOLD)
    decide(world, challenge, "upheld", Remedy.WITHDRAWN)
    gus_case.refresh_from_db()
    amy_case.refresh_from_db()
    assert gus_case.status == CaseStatus.WITHDRAWN
    assert amy_case.status == CaseStatus.OPEN
    assert Flag.objects.get(pk=gus_flags[0].pk).status == FlagStatus.WITHDRAWN
    assert Flag.objects.get(pk=amy_flags[0].pk).status == FlagStatus.WITHDRAWN
    assert dict(CaseReevaluation.objects.values_list("case_id", "consequence")) == {
        gus_case.pk: Consequence.WITHDRAWN,
        amy_case.pk: Consequence.RELEASED,
    }
    assert "Insert-only rows match" in verify_audit()


def test_a_closed_case_on_corrected_data_is_marked_for_reconsideration(world: World) -> None:
    recommended(world)
    act_on_case(
        world.case.pk,
        DecisionRequest(
            "sign_off",
            rationale="Advice is proportionate.",
            outcome="management_advice",
            no_conflict_declared=True,
        ),
        actor=world.actor("ravi.reviewer"),
    )
    challenge = file_inaccurate(world, world.records[0])
    decide(world, challenge, "upheld", Remedy.WITHDRAWN)
    world.refresh()
    assert world.case.status == CaseStatus.CLOSED
    assert world.case.reconsider_since is not None
    assert CaseReevaluation.objects.get(case=world.case).consequence == Consequence.RECONSIDER


# --- ingest after a correction -------------------------------------------------------------------


def test_a_detector_cannot_send_a_withdrawn_or_corrected_record_again(
    world: World, detector_client: Any
) -> None:
    from tests.factories import FlagItemFactory
    from tests.ingest_client import post_flags

    record = world.records[0]
    original = {
        "source_system": record.source_system,
        "record_type": record.record_type,
        "record_id": record.record_id,
        "occurred_at": "2026-05-14T18:00:00Z",
        "summary": record.summary,
        "payload": record.payload,
    }
    decide(world, file_inaccurate(world, record), "upheld", Remedy.WITHDRAWN)
    item = FlagItemFactory.create(subject=world.subject.staff_number, evidence=[original])
    [outcome] = post_flags(detector_client, [item]).json()["items"]
    assert outcome["status"] == "rejected"
    assert "was withdrawn when a challenge to it was upheld" in outcome["errors"]["evidence.0"][0]


# --- attachments and notices ---------------------------------------------------------------------


@pytest.fixture
def private_files(settings: Any, tmp_path: Any) -> Any:
    settings.PRIVATE_FILES_ROOT = tmp_path
    return tmp_path


def stored_files(root: Any) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_attachments_are_stored_privately_and_named_by_the_filing_event(
    world: World, private_files: Any
) -> None:
    from appeals.models import ChallengeAttachment
    from tests.appeals.test_attachments import PDF, PNG, upload

    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="not_mine", evidence=world.records[0].pk, grounds="Another officer's claim."
        ),
        actor=world.as_fay,
        files=[upload("payslip.pdf", PDF), upload("rota.png", PNG, "image/png")],
    )
    attachments = list(ChallengeAttachment.objects.filter(challenge=challenge))
    assert [(a.position, a.name, a.content_type) for a in attachments] == [
        (1, "payslip.pdf", "application/pdf"),
        (2, "rota.png", "image/png"),
    ]
    assert len(stored_files(private_files)) == 2
    assert all("payslip" not in name for name in stored_files(private_files))
    filed = AuditEvent.objects.get(action="challenge.filed")
    assert filed.data["attachments"] == [a.pk for a in attachments]
    assert "Insert-only rows match" in verify_audit()


def test_a_refused_attachment_writes_nothing(world: World, private_files: Any) -> None:
    from tests.appeals.test_attachments import PDF, PNG, upload

    before = (head(), Challenge.objects.count())
    with pytest.raises(AppealInvalid) as refused:
        services.file_challenge(
            services.ChallengeRequest(
                kind="not_mine", evidence=world.records[0].pk, grounds="Not mine."
            ),
            actor=world.as_fay,
            files=[upload("good.pdf", PDF), upload("renamed.pdf", PNG)],
        )
    assert "renamed.pdf" in refused.value.problems["attachments"]
    assert (head(), Challenge.objects.count()) == before
    assert stored_files(private_files) == []


def test_a_filing_refused_after_its_checks_leaves_no_file(world: World, private_files: Any) -> None:
    from tests.appeals.test_attachments import PDF, upload

    file_inaccurate(world, world.records[0])
    with pytest.raises(AppealRefused):
        services.file_challenge(
            services.ChallengeRequest(
                kind="not_mine", evidence=world.records[0].pk, grounds="Not mine."
            ),
            actor=world.as_fay,
            files=[upload("good.pdf", PDF)],
        )
    assert stored_files(private_files) == []


def test_every_step_is_emailed_to_fay_after_commit_saying_only_to_sign_in(
    world: World, mailoutbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        challenge = file_inaccurate(world, world.records[0])
    with django_capture_on_commit_callbacks(execute=True):
        decide(world, challenge, "rejected")
    subjects = [message.subject for message in mailoutbox]
    assert "Scrutiny: A challenge was filed" in subjects
    assert "Scrutiny: The challenge was decided" in subjects
    assert all(message.to == ["fay.flagged@police.example"] for message in mailoutbox)
    assert all("annual leave" not in message.body for message in mailoutbox)
    assert AppealNotice.objects.filter(emailed_at__isnull=False).count() == len(mailoutbox)
    assert AuditEvent.objects.filter(action="appeal_notice.emailed").count() == len(mailoutbox)


def test_files_no_row_names_are_swept_once_old(
    db: Any, private_files: Any, time_machine: Any
) -> None:
    from django.utils import timezone

    from appeals.attachments import CheckedUpload, store
    from appeals.tasks import remove_orphan_attachments
    from tests.appeals.test_attachments import PDF

    time_machine.move_to(timezone.now(), tick=False)
    upload = CheckedUpload("x.pdf", "application/pdf", len(PDF), "0" * 64, PDF)
    store(upload, prefix="challenges/999")
    assert remove_orphan_attachments() == 0  # too new: its transaction may still commit
    time_machine.shift(timedelta(days=2))
    assert remove_orphan_attachments() == 1
    assert stored_files(private_files) == []


def test_a_corrected_record_takes_its_corrected_content_only(
    world: World, detector_client: Any
) -> None:
    from tests.factories import FlagItemFactory
    from tests.ingest_client import post_flags

    record = world.records[0]
    as_received = {
        "source_system": record.source_system,
        "record_type": record.record_type,
        "record_id": record.record_id,
        "occurred_at": "2026-05-14T18:00:00Z",
        "summary": record.summary,
        "payload": record.payload,
    }
    decide(
        world,
        file_inaccurate(world, record),
        "upheld",
        Remedy.CORRECTED,
        correction=services.CorrectedContent(
            summary="Overtime claim, 2 hours", payload={"hours": 2}, occurred_at=record.occurred_at
        ),
    )
    old = FlagItemFactory.create(subject=world.subject.staff_number, evidence=[as_received])
    [refused] = post_flags(detector_client, [old]).json()["items"]
    assert refused["status"] == "rejected"
    assert "its earlier content cannot be sent again" in refused["errors"]["evidence.0"][0]
    corrected = {**as_received, "summary": "Overtime claim, 2 hours", "payload": {"hours": 2}}
    new = FlagItemFactory.create(subject=world.subject.staff_number, evidence=[corrected])
    [accepted] = post_flags(detector_client, [new]).json()["items"]
    assert accepted["status"] == "created"

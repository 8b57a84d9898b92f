"""casework.services.act_on_case: every action of the workflow, its refusals, and what it writes."""

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import DatabaseError, transaction

from accounts.roles import actor_for
from audit.actors import Actor, system_actor
from audit.log import verify_stored_chain
from casework.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Notification,
    NotificationKind,
    Outcome,
)
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from casework.workflow import ConflictOfInterest, InvalidDecision, TransitionRefused
from flags.models import EvidenceRecord, EvidenceStatus
from tests.casework.steps import signed_as_recommended
from tests.db_writes import AuditTail, row_counts
from tests.factories import NOW, CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "The overtime claims match the duty roster; nothing is wrong."


@pytest.fixture(autouse=True)
def _frozen(frozen_today: Any) -> None:
    return None


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))


def act(case: Case, user: Any, action: str, **fields: Any) -> Decision:
    """``action`` by ``user``; a signer names the recommended outcome unless told otherwise."""
    fields = signed_as_recommended(case.pk, action, fields)
    fields.setdefault("rationale", REASONS)
    fields.setdefault("no_conflict_declared", True)
    return act_on_case(case.pk, DecisionRequest(action=action, **fields), actor=actor_for(user))


def dispute(case: Case) -> None:
    """Test set-up standing in for the appeals app: a challenge to the case's evidence opens."""
    EvidenceRecord.objects.filter(flags__case_links__case=case).update(
        status=EvidenceStatus.DISPUTED
    )


def to_awaiting(
    case: Case, people: dict[str, Any], outcome: str, by: str = "rita.reviewer"
) -> None:
    act(case, people[by], "start_review")
    act(case, people[by], "recommend", outcome=outcome)


def test_a_non_adverse_outcome_is_reviewed_recommended_and_signed_by_two_people(
    case: Case, people: dict[str, Any]
) -> None:
    tail = AuditTail()
    act(case, people["rita.reviewer"], "start_review")
    act(case, people["rita.reviewer"], "recommend", outcome="management_advice")
    act(case, people["ravi.reviewer"], "sign_off")

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.outcome == Outcome.MANAGEMENT_ADVICE
    assert case.assignee == people["rita.reviewer"]
    assert case.concluded_by == people["ravi.reviewer"]
    decisions = list(case.decisions.values_list("kind", "made_by__username", "role", "outcome"))
    assert decisions == [
        ("triage", "rita.reviewer", "reviewer", ""),
        ("recommendation", "rita.reviewer", "reviewer", "management_advice"),
        ("sign_off", "ravi.reviewer", "reviewer", "management_advice"),
    ]
    evidence_hash = EvidenceRecord.objects.get(flags__case_links__case=case).content_hash
    for decision in case.decisions.all():
        assert decision.policy_version == case.policy.version
        assert decision.evidence_hashes == [evidence_hash]
        assert decision.no_conflict_declared is True
        assert decision.rationale == REASONS
    assert [(a, t) for a, t, _ in tail.actions()] == [
        ("case.review_started", "casework.case"),
        ("case.recommended", "casework.case"),
        ("notification.sent", "casework.notification"),
        ("notification.sent", "casework.notification"),
        ("case.signed_off", "casework.case"),
    ]
    statuses = list(case.history.order_by("history_id").values_list("status", "history_user"))
    assert statuses[-3:] == [
        ("in_review", people["rita.reviewer"].pk),
        ("awaiting_sign_off", people["rita.reviewer"].pk),
        ("closed", people["ravi.reviewer"].pk),
    ]
    assert verify_stored_chain().intact


def test_the_audit_event_carries_the_decision_but_not_its_free_text(
    case: Case, people: dict[str, Any]
) -> None:
    tail = AuditTail()
    decision = act(case, people["rita.reviewer"], "start_review")

    [event] = tail.events()
    assert event.actor_username == "rita.reviewer"
    assert event.actor_role == "reviewer"
    assert event.data["decision"] == decision.pk
    assert event.data["from"] == "open"
    assert event.data["to"] == "in_review"
    assert REASONS not in str(event.data)
    assert event.reason == "review started"


def test_nobody_signs_their_own_recommendation(case: Case, people: dict[str, Any]) -> None:
    to_awaiting(case, people, "no_further_action")
    before = row_counts()

    with pytest.raises(TransitionRefused, match="nobody signs their own recommendation"):
        act(case, people["rita.reviewer"], "sign_off")

    assert row_counts() == before


def test_a_signer_signs_the_recommended_outcome_or_returns_it(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "no_further_action")

    with pytest.raises(InvalidDecision, match="return the case for correction"):
        act(case, people["ravi.reviewer"], "sign_off", outcome="welfare_support")

    act(case, people["ravi.reviewer"], "return_for_correction")
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.recommended_outcome == ""
    act(case, people["rita.reviewer"], "recommend", outcome="welfare_support")
    act(case, people["ravi.reviewer"], "sign_off", outcome="welfare_support")
    case.refresh_from_db()
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, Outcome.WELFARE_SUPPORT)


def test_the_recommender_cannot_return_their_own_recommendation(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "no_further_action")

    with pytest.raises(TransitionRefused, match="nobody signs their own recommendation"):
        act(case, people["rita.reviewer"], "return_for_correction")


def test_only_the_assigned_reviewer_recommends(case: Case, people: dict[str, Any]) -> None:
    act(case, people["rita.reviewer"], "start_review")

    with pytest.raises(TransitionRefused, match="assigned to may recommend"):
        act(case, people["ravi.reviewer"], "recommend", outcome="no_further_action")


def test_a_referral_needs_two_senior_signatures_neither_the_recommenders(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "referral")

    with pytest.raises(TransitionRefused, match="needs a senior reviewer, not a reviewer"):
        act(case, people["ravi.reviewer"], "sign_referral")
    with pytest.raises(TransitionRefused, match="two senior signatures"):
        act(case, people["ravi.reviewer"], "sign_off")

    first = act(case, people["sam.senior"], "sign_referral")
    case.refresh_from_db()
    assert (first.kind, case.status) == (DecisionKind.SIGN_OFF, CaseStatus.AWAITING_SIGN_OFF)

    with pytest.raises(TransitionRefused, match="already signed this referral"):
        act(case, people["sam.senior"], "sign_referral")

    second = act(case, people["sue.senior"], "sign_referral")
    case.refresh_from_db()
    assert second.kind == DecisionKind.SECOND_SIGNATURE
    assert (case.status, case.outcome) == (CaseStatus.REFERRED, Outcome.REFERRAL)
    assert case.concluded_by == people["sue.senior"]


def test_a_senior_who_recommended_a_referral_cannot_sign_it(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "referral", by="sam.senior")

    with pytest.raises(TransitionRefused, match="nobody signs their own recommendation"):
        act(case, people["sam.senior"], "sign_referral")


def test_a_returned_referral_needs_both_signatures_again(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "referral")
    act(case, people["sam.senior"], "sign_referral")
    act(case, people["ravi.reviewer"], "return_for_correction")
    act(case, people["rita.reviewer"], "recommend", outcome="referral")

    act(case, people["sue.senior"], "sign_referral")
    case.refresh_from_db()

    assert case.status == CaseStatus.AWAITING_SIGN_OFF


def test_a_referral_cannot_be_signed_while_its_evidence_is_challenged(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "referral")
    dispute(case)

    with pytest.raises(TransitionRefused, match="A challenge on this case is open"):
        act(case, people["sam.senior"], "sign_referral")


def test_the_subject_is_told_before_a_referral_is_signed_even_when_notice_was_deferred(
    case: Case, people: dict[str, Any]
) -> None:
    act(case, people["sam.senior"], "defer_notification", deferred_until=NOW.date() + timedelta(30))
    to_awaiting(case, people, "referral")

    sent = dict(Notification.objects.filter(case=case).values_list("kind", "sent_at"))
    assert sent[NotificationKind.CASE_OPENED] is not None
    assert sent[NotificationKind.ADVERSE_OUTCOME_PENDING] is not None
    recommended = case.decisions.get(kind=DecisionKind.RECOMMENDATION)
    assert sent[NotificationKind.ADVERSE_OUTCOME_PENDING] == recommended.made_at


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rationale": "Too short."}, "at least 20 characters"),
        ({"rationale": " " * 40}, "at least 20 characters"),
        ({"no_conflict_declared": False}, "Declare that you have no conflict"),
    ],
)
def test_every_decision_gives_reasons_and_a_fresh_declaration(
    case: Case, people: dict[str, Any], fields: dict[str, Any], message: str
) -> None:
    before = row_counts()

    with pytest.raises(InvalidDecision, match=message):
        act(case, people["rita.reviewer"], "start_review", **fields)

    assert row_counts() == before


@pytest.mark.parametrize("outcome", ["", "dismissal"])
def test_a_recommendation_needs_a_known_outcome(
    case: Case, people: dict[str, Any], outcome: str
) -> None:
    act(case, people["rita.reviewer"], "start_review")

    with pytest.raises(InvalidDecision, match="outcome"):
        act(case, people["rita.reviewer"], "recommend", outcome=outcome)


def test_a_conflicted_reviewer_is_refused_and_nothing_is_written(people: dict[str, Any]) -> None:
    colleague = SubjectFactory.create(unit="Professional Standards")
    colleague_case = CaseFactory.create(subject=colleague)
    before = row_counts()

    with pytest.raises(ConflictOfInterest, match="same unit"):
        act(colleague_case, people["rita.reviewer"], "start_review")

    assert row_counts() == before


@pytest.mark.parametrize("username", ["dan.steward", "olive.oversight", "alan.admin"])
def test_roles_outside_review_cannot_act(case: Case, people: dict[str, Any], username: str) -> None:
    with pytest.raises(TransitionRefused, match="needs a reviewer or senior reviewer"):
        act(case, people[username], "start_review")


def test_a_stale_form_is_refused_when_someone_else_acted_first(
    case: Case, people: dict[str, Any]
) -> None:
    act(case, people["rita.reviewer"], "start_review", expected_status="open")

    with pytest.raises(TransitionRefused, match="Someone else acted on this case"):
        act(case, people["ravi.reviewer"], "start_review", expected_status="open")


def test_a_hold_is_released_by_the_system_to_the_state_it_came_from(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "no_further_action")
    with pytest.raises(TransitionRefused, match="none is: there is nothing to wait for"):
        act(case, people["ravi.reviewer"], "hold")
    dispute(case)
    act(case, people["ravi.reviewer"], "hold")

    with pytest.raises(TransitionRefused, match="needs a system"):
        act(case, people["ravi.reviewer"], "release")
    with pytest.raises(TransitionRefused, match="not possible on a case that is on hold"):
        act(case, people["ravi.reviewer"], "sign_off")

    release = act_on_case(
        case.pk,
        DecisionRequest(action="release", rationale="The challenge was rejected by the steward."),
        actor=system_actor(),
    )
    case.refresh_from_db()
    assert (release.status_before, release.status_after) == ("on_hold", "awaiting_sign_off")
    assert (case.status, case.held_from) == (CaseStatus.AWAITING_SIGN_OFF, "")
    assert release.made_by.username == "scrutiny.system"


def test_a_withdrawn_case_is_finished(case: Case, people: dict[str, Any]) -> None:
    act(case, people["rita.reviewer"], "withdraw")
    case.refresh_from_db()

    assert case.status == CaseStatus.WITHDRAWN
    with pytest.raises(TransitionRefused, match="what can happen next: nothing"):
        act(case, people["rita.reviewer"], "start_review")


def test_a_deferral_needs_a_senior_reviewer_and_a_date_within_bounds(
    case: Case, people: dict[str, Any]
) -> None:
    with pytest.raises(TransitionRefused, match="needs a senior reviewer"):
        act(case, people["rita.reviewer"], "defer_notification", deferred_until=NOW.date())
    for until in (None, NOW.date(), NOW.date() + timedelta(days=91)):
        with pytest.raises(InvalidDecision):
            act(case, people["sam.senior"], "defer_notification", deferred_until=until)


def test_a_deferred_notice_is_sent_when_the_deferral_ends(
    case: Case, people: dict[str, Any], time_machine: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case.subject.user = people["otto.outsider"]
    case.subject.save(update_fields=["user"])  # test setup: the subject has an account
    people["otto.outsider"].email = "otto@example.police.uk"
    people["otto.outsider"].save(update_fields=["email"])
    until = NOW.date() + timedelta(days=10)
    act(case, people["sam.senior"], "defer_notification", deferred_until=until)

    time_machine.move_to(NOW + timedelta(days=2), tick=False)
    assert send_due_notifications(actor=system_actor()) == 0

    time_machine.move_to(NOW + timedelta(days=11, hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_due_notifications(actor=system_actor()) == 1

    with pytest.raises(TransitionRefused, match="already been told"):
        act(case, people["sue.senior"], "defer_notification", deferred_until=until + timedelta(5))
    assert [m.to for m in mail.outbox] == [["otto@example.police.uk"]]
    assert "has opened case" in mail.outbox[0].body


def test_a_notice_falls_due_a_day_after_opening(case: Case, time_machine: Any) -> None:
    tail = AuditTail()
    assert send_due_notifications(actor=system_actor()) == 0

    time_machine.move_to(NOW + timedelta(hours=25), tick=False)
    assert send_due_notifications(actor=system_actor()) == 1

    assert tail.actions() == [
        (
            "notification.sent",
            "casework.notification",
            str(Notification.objects.get(case=case).pk),
        )
    ]
    assert mail.outbox == []  # the subject has no account, so no address: in-app only


def test_decisions_cannot_be_rewritten(case: Case, people: dict[str, Any]) -> None:
    decision = act(case, people["rita.reviewer"], "start_review")

    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(rationale="Something else entirely.")
    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).delete()


def test_an_unknown_case_is_refused(people: dict[str, Any]) -> None:
    with pytest.raises(TransitionRefused, match="There is no case 999999"):
        act_on_case(
            999999,
            DecisionRequest("start_review", REASONS, no_conflict_declared=True),
            actor=actor_for(people["rita.reviewer"]),
        )


def test_actor_for_names_the_role_held(people: dict[str, Any]) -> None:
    assert isinstance(actor_for(people["sam.senior"]), Actor)
    assert actor_for(people["sam.senior"]).role == "senior_reviewer"


def test_a_reviewer_cannot_withdraw_a_case_whose_data_still_meets_the_threshold(
    people: dict[str, Any], detector_client: Any
) -> None:
    from flags.models import Subject
    from tests.factories import StrongFlagItemFactory
    from tests.ingest_client import post_flags

    subject = SubjectFactory.create(unit="East Response")
    post_flags(detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)])
    opened = Case.objects.get(subject=Subject.objects.get(pk=subject.pk))

    with pytest.raises(TransitionRefused, match="still meets threshold policy v1"):
        act(opened, people["rita.reviewer"], "withdraw")

    EvidenceRecord.objects.filter(flags__case_links__case=opened).update(
        status=EvidenceStatus.WITHDRAWN  # test set-up: a challenge upheld withdraws the record
    )
    act(opened, people["rita.reviewer"], "withdraw")
    opened.refresh_from_db()
    assert opened.status == CaseStatus.WITHDRAWN


def test_a_signer_must_name_the_outcome_and_sign_the_recommendation_they_read(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "welfare_support")
    read = case.decisions.get(kind=DecisionKind.RECOMMENDATION)
    act(case, people["sam.senior"], "return_for_correction")
    act(case, people["rita.reviewer"], "recommend", outcome="welfare_support")

    with pytest.raises(InvalidDecision, match="Name the outcome you are signing"):
        act(case, people["ravi.reviewer"], "sign_off", outcome="")
    with pytest.raises(TransitionRefused, match="The recommendation changed after you read it"):
        act(case, people["ravi.reviewer"], "sign_off", recommendation_id=read.pk)

    latest = case.decisions.filter(kind=DecisionKind.RECOMMENDATION).latest("pk")
    act(case, people["ravi.reviewer"], "sign_off", recommendation_id=latest.pk)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.CLOSED


def test_a_first_referral_signature_lapses_when_the_evidence_changes(
    case: Case, people: dict[str, Any]
) -> None:
    to_awaiting(case, people, "referral")
    act(case, people["sam.senior"], "sign_referral")
    EvidenceRecord.objects.filter(flags__case_links__case=case).update(
        content_hash="f" * 64  # test set-up: a correction changed the record
    )

    second = act(case, people["sue.senior"], "sign_referral")

    assert second.kind == DecisionKind.SIGN_OFF  # a first signature again, not the second
    assert Case.objects.get(pk=case.pk).status == CaseStatus.AWAITING_SIGN_OFF


def test_a_deferral_cannot_be_stretched_by_renewing_it(
    case: Case, people: dict[str, Any], time_machine: Any
) -> None:
    act(case, people["sam.senior"], "defer_notification", deferred_until=NOW.date() + timedelta(60))
    time_machine.move_to(NOW + timedelta(days=59), tick=False)

    with pytest.raises(InvalidDecision, match="within 90 days of the case opening"):
        act(
            case,
            people["sue.senior"],
            "defer_notification",
            deferred_until=NOW.date() + timedelta(days=120),
        )


def test_a_senior_reviewer_assigns_a_case_and_only_the_assignee_starts_it(
    case: Case, people: dict[str, Any]
) -> None:
    tail = AuditTail()
    decision = act(case, people["sam.senior"], "assign", assign_to="ravi.reviewer")

    case.refresh_from_db()
    assert case.assignee == people["ravi.reviewer"]
    assert (decision.kind, decision.assigned_to) == (
        DecisionKind.ASSIGNMENT,
        people["ravi.reviewer"],
    )
    assert (decision.status_before, decision.status_after) == ("open", "open")
    [event] = tail.events()
    assert (event.action, event.data["assigned_to"]) == (
        "case.assigned",
        people["ravi.reviewer"].pk,
    )
    assert case.history.first().history_user == people["sam.senior"]
    with pytest.raises(TransitionRefused, match="assigned this case to someone else"):
        act(case, people["rita.reviewer"], "start_review")
    act(case, people["ravi.reviewer"], "start_review")


@pytest.mark.parametrize(
    ("assign_to", "message"),
    [
        ("", "Choose a reviewer"),
        ("dan.steward", "Choose a reviewer"),
        ("nobody.at.all", "Choose a reviewer"),
        ("cora", "may not review this case: the conflict check does not pass for them"),
    ],
)
def test_an_assignment_goes_only_to_a_reviewer_who_passes_the_conflict_check(
    case: Case, people: dict[str, Any], assign_to: str, message: str
) -> None:
    from accounts.services import create_user
    from audit.actors import Role

    create_user(
        "cora",
        role=Role.REVIEWER,
        subject=SubjectFactory.create(unit=case.subject.unit),
        actor=actor_for(people["alan.admin"]),
    )
    before = row_counts()

    with pytest.raises(InvalidDecision, match=message):
        act(case, people["sam.senior"], "assign", assign_to=assign_to)

    assert row_counts() == before


def test_a_reviewer_under_review_themselves_is_answered_as_one_who_does_not_exist(
    case: Case, people: dict[str, Any]
) -> None:
    """Their own live case bars them from every case; the assigner must not learn of it, from
    the refusal or from the list of reviewers offered."""
    from casework.selectors import reviewer_usernames

    own = people["ravi.reviewer"].subject
    CaseFactory.create(subject=own)
    before = row_counts()

    with pytest.raises(InvalidDecision) as refused:
        act(case, people["sam.senior"], "assign", assign_to="ravi.reviewer")
    with pytest.raises(InvalidDecision) as unknown:
        act(case, people["sam.senior"], "assign", assign_to="nobody.at.all")

    assert str(refused.value) == str(unknown.value) == "Choose a reviewer to assign the case to."
    assert row_counts() == before
    offered = reviewer_usernames()
    assert "ravi.reviewer" not in offered
    assert {"rita.reviewer", "sam.senior", "sue.senior"} <= set(offered)


def test_only_a_senior_reviewer_assigns(case: Case, people: dict[str, Any]) -> None:
    with pytest.raises(TransitionRefused, match="needs a senior reviewer"):
        act(case, people["rita.reviewer"], "assign", assign_to="ravi.reviewer")


def test_the_command_sends_due_notices(case: Case, time_machine: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    time_machine.move_to(NOW + timedelta(hours=25), tick=False)
    err = StringIO()
    call_command("send_due_notifications", stderr=err)

    assert err.getvalue().strip() == "Sent 1 notice(s); e-mailed 0 owed from earlier."
    assert Notification.objects.get(case=case).sent_at is not None

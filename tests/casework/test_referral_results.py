"""A referral's result (casework.services.referrals): recorded once by a senior reviewer who passes
the conflict check, on a referred case, with the day the investigating body concluded and its
reasons; insert-only and audited; told to the subject who knows of the case; on the case page
and in the case API."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import issue_personal_token
from audit import insert_only
from audit.chain import sha256_hex
from audit.log import verify_stored_chain
from audit.models import AuditEvent
from casework.models import (
    Case,
    CaseStatus,
    Decision,
    DecisionKind,
    Notification,
    NotificationKind,
    ReferralResult,
)
from casework.outcomes import outcome_class_expression, outcome_class_of
from casework.selectors import referral_results_of
from casework.services import (
    DecisionRequest,
    ReferralResultRequest,
    act_on_case,
    declare_conflict,
    record_referral_result,
)
from casework.services.review import set_aside
from casework.workflow import ConflictOfInterest, InvalidDecision, TransitionRefused
from tests.audit.test_insert_only import tamper, verify, verify_broken
from tests.casework.steps import signed_as_recommended
from tests.casework.test_permissions import _comparable
from tests.db_writes import AuditTail, row_counts
from tests.factories import NOW, TODAY, CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "The misconduct panel found the overtime claims were knowingly false."
RATIONALE = "The overtime claims cannot be matched to any rostered duty."
# The referral is signed on TODAY; the investigating body concludes weeks later.
LATER = NOW + timedelta(days=40)
CONCLUDED = TODAY + timedelta(days=30)


def refer(case: Case, people: dict[str, Any], *, reviewer: str) -> None:
    """Take ``case`` through review to a referral signed by both senior reviewers."""
    for username, action, outcome in (
        (reviewer, "start_review", ""),
        (reviewer, "recommend", "referral"),
        ("sam.senior", "sign_referral", ""),
        ("sue.senior", "sign_referral", ""),
    ):
        fields = signed_as_recommended(case.pk, action, {"outcome": outcome} if outcome else {})
        act_on_case(
            case.pk,
            DecisionRequest(action, RATIONALE, no_conflict_declared=True, **fields),
            actor=actor_for(people[username]),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED


@pytest.fixture
def case(people: dict[str, Any], time_machine: Any) -> Case:
    """A case referred on TODAY through the workflow (its subject told when the referral was
    recommended); the clock then stands 40 days later."""
    time_machine.move_to(NOW, tick=False)
    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response", name="Pat Jones"))
    refer(case, people, reviewer="rita.reviewer")
    time_machine.move_to(LATER, tick=False)
    return case


def record(case: Case, user: Any, **fields: Any) -> ReferralResult:
    asked = {
        "result": "misconduct_found",
        "concluded_on": CONCLUDED,
        "reasons": REASONS,
        "no_conflict_declared": True,
        **fields,
    }
    return record_referral_result(case.pk, ReferralResultRequest(**asked), actor=actor_for(user))


def referral_of(case: Case) -> Decision:
    return Decision.objects.get(case=case, kind=DecisionKind.SECOND_SIGNATURE)


# --- the service ---------------------------------------------------------------------------------


def test_a_senior_reviewer_records_the_result_with_its_audit_event_and_notice(
    case: Case, people: dict[str, Any]
) -> None:
    tail = AuditTail()

    row = record(case, people["sam.senior"], reasons=f"  {REASONS}\n")

    stored = ReferralResult.objects.get(case=case)
    assert stored.pk == row.pk
    assert (stored.result, stored.concluded_on, stored.reasons) == (
        "misconduct_found",
        CONCLUDED,
        REASONS,
    )
    assert (stored.recorded_by, stored.role, stored.on_behalf_of) == (
        people["sam.senior"],
        "senior_reviewer",
        None,
    )
    assert stored.recorded_at == LATER
    assert stored.referral == referral_of(case)
    assert stored.no_conflict_declared is True
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED  # the result leaves the case where it is
    notice = Notification.objects.get(case=case, kind=NotificationKind.REFERRAL_CONCLUDED)
    assert notice.sent_at == LATER
    assert [(a, t) for a, t, _ in tail.actions()] == [
        ("notification.sent", "casework.notification"),
        ("case.referral_result_recorded", "casework.case"),
    ]
    event = tail.events()[-1]
    assert (event.actor_username, event.actor_role, event.target_id) == (
        "sam.senior",
        "senior_reviewer",
        str(case.pk),
    )
    assert event.data == {
        "referral_result": row.pk,
        "referral": referral_of(case).pk,
        "result": "misconduct_found",
        "concluded_on": CONCLUDED.isoformat(),
        "reasons_hash": sha256_hex(REASONS.encode()),
        "no_conflict_declared": True,
        "row_hash": insert_only.row_hash(stored),
    }
    assert REASONS not in str(event.data)
    assert verify_stored_chain().intact
    assert "casework.referralresult 1" in verify().splitlines()[1]


def test_a_second_result_is_refused_and_names_the_first(case: Case, people: dict[str, Any]) -> None:
    first = record(case, people["sam.senior"])
    before = row_counts()

    with pytest.raises(TransitionRefused) as refused:
        record(case, people["sue.senior"], result="no_case_to_answer")

    assert refused.value.status_code == 409
    assert str(refused.value) == (
        f"The result of this referral is already recorded (result {first.pk}: misconduct found, "
        f"the investigating body concluded on {CONCLUDED:%-d %B %Y}, recorded by sam.senior on "
        f"{LATER:%-d %B %Y}). A referral has one result, and it is never rewritten."
    )
    assert row_counts() == before
    assert ReferralResult.objects.count() == 1


@pytest.mark.parametrize(
    "username",
    ["rita.reviewer", "ravi.reviewer", "dan.steward", "olive.oversight", "sid.subject", "rhea.rep"],
)
def test_only_a_senior_reviewer_records_a_result(
    case: Case, people: dict[str, Any], username: str
) -> None:
    before = row_counts()

    with pytest.raises(TransitionRefused, match="needs a senior reviewer"):
        record(case, people[username])

    assert row_counts() == before
    assert not ReferralResult.objects.exists()


@pytest.mark.parametrize("status", ["open", "in_review", "awaiting_sign_off", "on_hold", "closed"])
def test_a_case_that_is_not_referred_has_no_result_to_record(
    people: dict[str, Any], frozen_today: Any, status: str
) -> None:
    other = CaseFactory.create(status=status, subject=SubjectFactory.create(unit="East Response"))

    with pytest.raises(TransitionRefused, match="is not possible on a case that is"):
        record(other, people["sam.senior"], concluded_on=TODAY)

    assert not ReferralResult.objects.exists()


def test_a_referred_case_with_no_referral_signature_on_record_is_refused(
    people: dict[str, Any], frozen_today: Any
) -> None:
    arranged = CaseFactory.create(status=CaseStatus.REFERRED, outcome="referral")

    with pytest.raises(TransitionRefused, match="No referral signature is on record"):
        record(arranged, people["sam.senior"], concluded_on=TODAY)


def test_a_senior_with_a_conflict_of_interest_may_not_record_it(
    case: Case, people: dict[str, Any]
) -> None:
    declare_conflict(case.subject, actor=actor_for(people["sue.senior"]))
    before = row_counts()

    with pytest.raises(ConflictOfInterest, match="declared a conflict of interest"):
        record(case, people["sue.senior"])

    assert row_counts() == before


def test_a_senior_in_the_subjects_unit_may_not_record_it(
    case: Case, people: dict[str, Any]
) -> None:
    senior = people["sue.senior"]
    senior.subject.unit = case.subject.unit
    senior.subject.save(update_fields=["unit"])

    with pytest.raises(ConflictOfInterest, match="same unit"):
        record(case, senior)


@pytest.mark.parametrize(
    ("concluded_on", "message"),
    [
        (None, "Give the day the investigating body concluded."),
        (TODAY + timedelta(days=41), "cannot be in the future"),
        (
            TODAY - timedelta(days=1),
            f"cannot have concluded before the referral was signed, on {TODAY:%-d %B %Y}",
        ),
    ],
)
def test_the_day_is_neither_in_the_future_nor_before_the_referral(
    case: Case, people: dict[str, Any], concluded_on: Any, message: str
) -> None:
    with pytest.raises(InvalidDecision) as refused:
        record(case, people["sam.senior"], concluded_on=concluded_on)

    assert refused.value.status_code == 422
    assert list(refused.value.problems) == ["concluded_on"]
    assert message in refused.value.problems["concluded_on"]
    assert not ReferralResult.objects.exists()


@pytest.mark.parametrize("concluded_on", [TODAY, TODAY + timedelta(days=40)])
def test_the_day_of_the_referral_and_today_are_both_accepted(
    case: Case, people: dict[str, Any], concluded_on: Any
) -> None:
    assert record(case, people["sam.senior"], concluded_on=concluded_on).concluded_on == (
        concluded_on
    )


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"reasons": "Too short."}, {"reasons": "Give the reasons in at least 20 characters."}),
        ({"reasons": " " * 40}, {"reasons": "Give the reasons in at least 20 characters."}),
        (
            {"reasons": REASONS + "\x00"},
            {"reasons": "The reasons contain a NUL character: remove it."},
        ),
        ({"result": ""}, {"result": "Choose the result the investigating body reached."}),
        ({"result": "acquitted"}, {"result": "'acquitted' is not a result of a referral."}),
        (
            {"no_conflict_declared": False},
            {
                "no_conflict_declared": "Declare that you have no conflict of interest with the "
                "person this case is about."
            },
        ),
    ],
)
def test_what_was_written_is_checked_and_nothing_saved(
    case: Case, people: dict[str, Any], fields: dict[str, Any], problems: dict[str, str]
) -> None:
    before = row_counts()

    with pytest.raises(InvalidDecision) as refused:
        record(case, people["sam.senior"], **fields)

    assert refused.value.problems == problems
    assert row_counts() == before


def test_every_problem_is_named_at_once(case: Case, people: dict[str, Any]) -> None:
    with pytest.raises(InvalidDecision) as refused:
        record(
            case,
            people["sam.senior"],
            result="",
            concluded_on=None,
            reasons="",
            no_conflict_declared=False,
        )

    assert set(refused.value.problems) == {
        "result",
        "concluded_on",
        "reasons",
        "no_conflict_declared",
    }


def test_act_on_case_sends_a_result_to_its_own_door(case: Case, people: dict[str, Any]) -> None:
    with pytest.raises(TransitionRefused, match="not a decision: record it with its own form"):
        act_on_case(
            case.pk,
            DecisionRequest("record_referral_result", REASONS, no_conflict_declared=True),
            actor=actor_for(people["sam.senior"]),
        )
    assert not ReferralResult.objects.exists()


def test_the_subject_is_not_told_of_a_result_on_a_case_they_have_not_been_told_of(
    case: Case, people: dict[str, Any]
) -> None:
    # Arranged: the opening notice as if still deferred (the workflow tells the subject before a
    # referral is signed, so only an arranged case is referred and untold).
    Notification.objects.filter(case=case).update(sent_at=None)
    tail = AuditTail()

    record(case, people["sam.senior"])

    assert not Notification.objects.filter(
        case=case, kind=NotificationKind.REFERRAL_CONCLUDED
    ).exists()
    assert [a for a, _, _ in tail.actions()] == ["case.referral_result_recorded"]


# --- a referral set aside, and the case referred again -------------------------------------------


def set_aside_and_refer_again(case: Case, people: dict[str, Any]) -> Decision:
    """An upheld challenge sets the referral aside; the case, back in review, is referred again
    by others. Returns the new referral's second signature."""
    set_aside(
        case.pk,
        actor=actor_for(people["dan.steward"]),
        decision_id=latest_referral(case).pk,
        rationale=f"{RATIONALE} The challenge to the referral is upheld.",
        no_conflict_declared=True,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    refer(case, people, reviewer="ravi.reviewer")
    return latest_referral(case)


def latest_referral(case: Case) -> Decision:
    return Decision.objects.filter(case=case, kind=DecisionKind.SECOND_SIGNATURE).latest("pk")


def class_of(case: Case) -> tuple[str, str]:
    """The case's outcome class by the SQL expression and by the Python function."""
    annotated = Case.objects.annotate(found=outcome_class_expression()).get(pk=case.pk).found
    return annotated, outcome_class_of(Case.objects.get(pk=case.pk))


def test_a_referral_set_aside_and_signed_again_has_its_own_result(
    case: Case, people: dict[str, Any]
) -> None:
    old = record(case, people["sam.senior"], result="no_case_to_answer")
    assert class_of(case) == ("wrong", "wrong")

    again = set_aside_and_refer_again(case, people)

    # The old referral's result is history: the new referral has none yet, so the case is pending.
    assert class_of(case) == ("pending", "pending")
    found = referral_results_of(case)
    assert (found.current, found.earlier) == (None, [old])
    new = record(case, people["sue.senior"], concluded_on=timezone.localdate())
    assert (new.referral, new.result) == (again, "misconduct_found")
    assert class_of(case) == ("confirmed", "confirmed")
    found = referral_results_of(case)
    assert (found.current, found.earlier) == (new, [old])
    old.refresh_from_db()  # insert-only: the old result is as it was recorded
    assert (old.referral_id, old.result) != (again.pk, "misconduct_found")
    # One result per referral: the new one's is recorded now, and is never rewritten.
    with pytest.raises(TransitionRefused, match=f"already recorded \\(result {new.pk}:"):
        record(case, people["sam.senior"], concluded_on=timezone.localdate())
    assert ReferralResult.objects.filter(case=case).count() == 2
    assert verify_stored_chain().intact


def test_a_result_stands_only_while_its_referral_does(case: Case, people: dict[str, Any]) -> None:
    old = record(case, people["sam.senior"])
    set_aside(
        case.pk,
        actor=actor_for(people["dan.steward"]),
        decision_id=latest_referral(case).pk,
        rationale=f"{RATIONALE} The challenge to the referral is upheld.",
        no_conflict_declared=True,
    )

    found = referral_results_of(Case.objects.get(pk=case.pk))

    assert (found.current, found.earlier) == (None, [old])
    assert class_of(case) == ("pending", "pending")


def test_a_referral_has_one_result_in_the_database_too(case: Case, people: dict[str, Any]) -> None:
    first = record(case, people["sam.senior"])

    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralResult.objects.create(
            case=case,
            referral=first.referral,
            result="no_case_to_answer",
            concluded_on=CONCLUDED,
            reasons=REASONS,
            recorded_at=LATER,
            recorded_by=people["sue.senior"],
            role="senior_reviewer",
            no_conflict_declared=True,
        )


def test_the_page_shows_the_set_aside_referrals_result_as_history(
    case: Case, people: dict[str, Any]
) -> None:
    old = record(case, people["sam.senior"], result="no_case_to_answer")
    again = set_aside_and_refer_again(case, people)
    client = signed_in(people["sam.senior"])

    page = client.get(f"/cases/{case.pk}/").content.decode()

    current = page[page.index('id="referral-result"') : page.index('id="earlier-referral-results"')]
    # The new referral's result is awaited, and may be recorded.
    assert 'id="act-record_referral_result"' in current
    said = current[: current.index('id="act-record_referral_result"')]
    assert "is not recorded yet" in said and "No case to answer" not in said
    history = page[page.index('id="earlier-referral-results"') : page.index('id="timeline"')]
    assert (
        f"No case to answer, for the referral signed in decision {old.referral_id}, which no "
        "longer stands" in history
    )

    post_result(client, case, concluded_on=timezone.localdate().isoformat())

    page = client.get(f"/cases/{case.pk}/").content.decode()
    current = page[page.index('id="referral-result"') : page.index('id="earlier-referral-results"')]
    assert "Gross misconduct found" in current and "No case to answer" not in current
    assert f"Decision {again.pk}, the referral's second signature" in current
    history = page[page.index('id="earlier-referral-results"') : page.index('id="timeline"')]
    assert "No case to answer" in history and "Gross misconduct found" not in history


def test_the_case_api_gives_the_current_result_and_the_earlier_ones(
    case: Case, people: dict[str, Any]
) -> None:
    old = record(case, people["sam.senior"], result="no_case_to_answer")
    client = api_for(people, "sam.senior")
    assert client.get(f"/api/v1/cases/{case.pk}/").json()["earlier_referral_results"] == []
    again = set_aside_and_refer_again(case, people)

    before = client.get(f"/api/v1/cases/{case.pk}/").json()

    assert before["referral_result"] is None
    assert before["outcome_class"] == "pending"
    assert [(r["id"], r["referral"], r["result"]) for r in before["earlier_referral_results"]] == [
        (old.pk, old.referral_id, "no_case_to_answer")
    ]
    [step] = [s for s in before["next_steps"] if s["action"] == "record_referral_result"]
    assert step["available"] is True
    response = api_result(
        client, case.pk, result="misconduct_found", concluded_on=timezone.localdate().isoformat()
    )
    assert response.status_code == 201, response.json()
    after = response.json()["case"]
    assert (after["referral_result"]["referral"], after["referral_result"]["result"]) == (
        again.pk,
        "misconduct_found",
    )
    assert after["earlier_referral_results"] == before["earlier_referral_results"]
    assert after["outcome_class"] == "confirmed"


# --- insert-only, and verify_audit ---------------------------------------------------------------

TABLE = ReferralResult._meta.db_table


def recorded_seq() -> int:
    return AuditEvent.objects.get(action="case.referral_result_recorded").seq


def test_a_result_cannot_be_updated_or_deleted(case: Case, people: dict[str, Any]) -> None:
    row = record(case, people["sam.senior"])

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ReferralResult.objects.filter(pk=row.pk).update(result="no_case_to_answer")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ReferralResult.objects.filter(pk=row.pk).delete()


def test_a_rewritten_result_is_named_by_the_seq_of_the_event_that_recorded_it(
    case: Case, people: dict[str, Any]
) -> None:
    row = record(case, people["sam.senior"])
    seq = recorded_seq()
    # Turning a finding of misconduct into no case to answer would turn a confirmed lead wrong.
    tamper(TABLE, f"UPDATE {TABLE} SET result = %s WHERE id = %s", "no_case_to_answer", row.pk)  # noqa: S608

    out, error = verify_broken()

    assert f"- audit event seq {seq}: casework.referralresult {row.pk} differ" in out
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_a_deleted_result_is_named_by_the_seq_of_the_event_that_recorded_it(
    case: Case, people: dict[str, Any]
) -> None:
    row = record(case, people["sam.senior"])
    seq = recorded_seq()
    tamper(TABLE, f"DELETE FROM {TABLE} WHERE id = %s", row.pk)  # noqa: S608

    out, error = verify_broken()

    assert f"- audit event seq {seq} recorded casework.referralresult {row.pk}: not in" in out
    assert error == f"insert-only rows differ from audit events at seq {seq}"


def test_a_result_no_event_recorded_is_reported(case: Case, people: dict[str, Any]) -> None:
    other = CaseFactory.create(status=CaseStatus.REFERRED, outcome="referral")
    forged = ReferralResult.objects.create(
        case=other,
        referral=referral_of(case),
        result="misconduct_found",
        concluded_on=TODAY,
        reasons=REASONS,
        recorded_at=LATER,
        recorded_by=people["sam.senior"],
        role="senior_reviewer",
        no_conflict_declared=True,
    )

    out, error = verify_broken()

    assert f"- casework.referralresult {forged.pk}: no audit event records it" in out
    assert error == "1 insert-only rows recorded by no audit event"


# --- the case page -------------------------------------------------------------------------------


def signed_in(user: Any, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def post_result(client: Client, case: Case, **fields: str) -> Any:
    data = {
        "result": "gross_misconduct_found",
        "concluded_on": CONCLUDED.isoformat(),
        "reasons": REASONS,
        "no_conflict_declared": "on",
        **fields,
    }
    return client.post(f"/cases/{case.pk}/referral-result/", data)


def test_a_senior_is_offered_the_form_on_a_referred_case(
    case: Case, people: dict[str, Any]
) -> None:
    page = signed_in(people["sam.senior"]).get(f"/cases/{case.pk}/").content.decode()

    assert 'id="act-record_referral_result"' in page
    assert f'action="/cases/{case.pk}/referral-result/"' in page
    assert 'href="#act-record_referral_result">You can do this' in page
    assert "Not recorded yet" in page
    assert 'name="csrfmiddlewaretoken"' in page
    for value in (
        "misconduct_found",
        "gross_misconduct_found",
        "no_case_to_answer",
        "withdrawn_by_investigator",
    ):
        assert f'value="{value}"' in page


def test_a_reviewer_sees_who_may_record_it_but_no_form(case: Case, people: dict[str, Any]) -> None:
    page = signed_in(people["rita.reviewer"]).get(f"/cases/{case.pk}/").content.decode()

    assert 'id="act-record_referral_result"' not in page
    assert "Record the referral&#x27;s result needs a senior reviewer, not a reviewer." in page


def test_the_form_records_the_result_and_the_page_shows_it(
    case: Case, people: dict[str, Any]
) -> None:
    client = signed_in(people["sam.senior"])

    response = post_result(client, case)

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert (
        "You recorded the referral&#x27;s result: gross misconduct found, concluded on "
        f"{CONCLUDED:%-d %B %Y}." in page
    )
    section = page[page.index('id="referral-result"') :]
    assert "Gross misconduct found" in section
    assert REASONS in section
    assert "by sam.senior (senior reviewer)" in section
    assert 'id="act-record_referral_result"' not in page
    assert "Referral result recorded: Gross misconduct found" in page  # the timeline
    assert ReferralResult.objects.get(case=case).result == "gross_misconduct_found"


def test_a_refused_form_shows_each_problem_against_its_field_and_keeps_what_was_typed(
    case: Case, people: dict[str, Any]
) -> None:
    response = post_result(
        signed_in(people["sam.senior"]),
        case,
        reasons="Too short.",
        concluded_on=(TODAY - timedelta(days=3)).isoformat(),
        no_conflict_declared="",
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "<title>Error: " in page
    assert '<h2 class="govuk-error-summary__title">Nothing was saved</h2>' in page
    for field in ("concluded_on", "reasons", "no_conflict_declared"):
        assert f'href="#referral_result-{field}"' in page
        assert f'id="referral_result-{field}-error"' in page
    assert ">Too short.</textarea>" in page
    assert 'value="gross_misconduct_found" checked' in page
    assert not ReferralResult.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"reasons": REASONS + "\x00"},
        {"result": "acquitted"},
        {"concluded_on": "2026-02-30"},
    ],
)
def test_what_the_form_cannot_read_is_a_400(
    case: Case, people: dict[str, Any], fields: dict[str, str]
) -> None:
    response = post_result(signed_in(people["sam.senior"]), case, **fields)

    assert response.status_code == 400
    assert "govuk-error-summary" in response.content.decode()
    assert not ReferralResult.objects.exists()


def test_a_second_result_from_the_page_is_a_409_naming_the_first(
    case: Case, people: dict[str, Any]
) -> None:
    first = record(case, people["sue.senior"])

    response = post_result(signed_in(people["sam.senior"]), case)

    assert response.status_code == 409
    assert f"already recorded (result {first.pk}: misconduct found" in response.content.decode()
    assert ReferralResult.objects.count() == 1


def test_a_reviewer_posting_the_form_is_refused(case: Case, people: dict[str, Any]) -> None:
    response = post_result(signed_in(people["rita.reviewer"]), case)

    assert response.status_code == 409
    assert "needs a senior reviewer" in response.content.decode()
    assert not ReferralResult.objects.exists()


def test_the_form_needs_its_csrf_token(case: Case, people: dict[str, Any]) -> None:
    client = signed_in(people["sam.senior"], csrf=True)

    assert post_result(client, case).status_code == 403
    page = client.get(f"/cases/{case.pk}/").content.decode()
    token = re.search(
        r'id="act-record_referral_result".*?name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
        re.DOTALL,
    )
    assert token is not None
    assert post_result(client, case, csrfmiddlewaretoken=token.group(1)).status_code == 302


def test_a_case_the_senior_may_not_see_answers_as_one_that_does_not_exist(
    case: Case, people: dict[str, Any]
) -> None:
    declare_conflict(case.subject, actor=actor_for(people["sue.senior"]))
    client = signed_in(people["sue.senior"])

    hidden, missing = post_result(client, case), post_result(client, Case(pk=case.pk + 1000))

    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert _comparable(hidden, case.pk) == _comparable(missing, case.pk + 1000)
    assert client.get(f"/cases/{case.pk}/referral-result/").status_code == 405


# --- the case API --------------------------------------------------------------------------------


def api_for(people: dict[str, Any], username: str) -> APIClient:
    client = APIClient()
    token = issue_personal_token(people[username], actor=actor_for(people["alan.admin"])).token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def api_result(client: APIClient, case_id: int, **fields: Any) -> Any:
    body = {
        "result": "no_case_to_answer",
        "concluded_on": CONCLUDED.isoformat(),
        "reasons": REASONS,
        "no_conflict_declared": True,
        **fields,
    }
    return client.post(f"/api/v1/cases/{case_id}/referral-result/", body, format="json")


def test_the_case_api_shows_the_result_once_recorded(case: Case, people: dict[str, Any]) -> None:
    client = api_for(people, "sam.senior")
    before = client.get(f"/api/v1/cases/{case.pk}/").json()
    assert before["referral_result"] is None
    assert before["outcome_class"] == "pending"
    [step] = [s for s in before["next_steps"] if s["action"] == "record_referral_result"]
    assert step["available"] is True

    response = api_result(client, case.pk)

    assert response.status_code == 201, response.json()
    body = response.json()
    row = ReferralResult.objects.get(case=case)
    expected = {
        "id": row.pk,
        "result": "no_case_to_answer",
        "concluded_on": CONCLUDED.isoformat(),
        "reasons": REASONS,
        "referral": referral_of(case).pk,
        "recorded_at": body["referral_result"]["recorded_at"],
        "recorded_by": "sam.senior",
        "role": "senior_reviewer",
        "on_behalf_of": None,
        "no_conflict_declared": True,
    }
    assert body["referral_result"] == expected
    assert body["case"]["referral_result"] == expected
    assert body["case"]["outcome_class"] == "wrong"
    after = client.get(f"/api/v1/cases/{case.pk}/").json()
    assert after["referral_result"] == expected
    [step] = [s for s in after["next_steps"] if s["action"] == "record_referral_result"]
    assert step["available"] is False
    assert f"already recorded (result {row.pk}" in step["refusal"]


def test_the_api_refuses_a_second_result_with_a_409_naming_the_first(
    case: Case, people: dict[str, Any]
) -> None:
    first = record(case, people["sue.senior"])

    response = api_result(api_for(people, "sam.senior"), case.pk)

    assert response.status_code == 409
    assert response.json()["error"] == "refused"
    assert f"already recorded (result {first.pk}" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("[", 400, "parse_error"),
        ("[]", 400, "invalid_body"),
        ("{}", 422, "invalid"),
    ],
)
def test_the_api_parses_with_the_strict_parser(
    case: Case, people: dict[str, Any], body: str, status: int, error: str
) -> None:
    response = api_for(people, "sam.senior").post(
        f"/api/v1/cases/{case.pk}/referral-result/", body, content_type="application/json"
    )

    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"concluded_on": (TODAY + timedelta(days=41)).isoformat()}, "concluded_on"),
        ({"concluded_on": (TODAY - timedelta(days=1)).isoformat()}, "concluded_on"),
        ({"concluded_on": "2026-02-30"}, "concluded_on"),
        ({"reasons": "Too short."}, "reasons"),
        ({"reasons": REASONS + "\x00"}, "reasons"),
        ({"result": "acquitted"}, "result"),
        ({"no_conflict_declared": False}, "no_conflict_declared"),
    ],
)
def test_the_api_answers_what_is_not_acceptable_with_a_422_naming_the_field(
    case: Case, people: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    response = api_result(api_for(people, "sam.senior"), case.pk, **fields)

    assert response.status_code == 422, response.json()
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert not ReferralResult.objects.exists()


def test_the_api_takes_only_json(case: Case, people: dict[str, Any]) -> None:
    response = api_for(people, "sam.senior").post(
        f"/api/v1/cases/{case.pk}/referral-result/", "result=x", content_type="text/plain"
    )

    assert response.status_code == 415


def test_the_api_refuses_a_reviewer_and_a_case_not_referred(
    case: Case, people: dict[str, Any]
) -> None:
    other = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))

    as_reviewer = api_result(api_for(people, "rita.reviewer"), case.pk)
    not_referred = api_result(
        api_for(people, "sam.senior"), other.pk, concluded_on=TODAY.isoformat()
    )

    assert (as_reviewer.status_code, not_referred.status_code) == (409, 409)
    assert "needs a senior reviewer" in as_reviewer.json()["detail"]
    assert "not possible on a case that is open" in not_referred.json()["detail"]
    assert not ReferralResult.objects.exists()

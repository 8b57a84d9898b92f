"""A referral's result as the person it is about sees it: on their record page and in
``GET /api/v1/me/``, with a notice and an e-mail; and nothing of it for a case they have not been
told of."""

from datetime import timedelta
from typing import Any

from django.core import mail
from django.test import Client

from casework.models import Decision, DecisionKind, Notification, NotificationKind, ReferralResult
from casework.services import (
    DecisionRequest,
    ReferralResultRequest,
    act_on_case,
    record_referral_result,
)
from casework.services.review import set_aside
from tests.appeals.conftest import Clients, World
from tests.factories import TODAY

RATIONALE = "The overtime claims cannot be matched to any rostered duty."
REASONS = "The misconduct hearing found that the claims were knowingly false."


def refer(world: World, reviewer: str = "rita.reviewer") -> None:
    """Fay's case taken by ``reviewer`` to a referral both senior reviewers sign."""
    for username, action, outcome in (
        (reviewer, "start_review", ""),
        (reviewer, "recommend", "referral"),
        ("sam.senior", "sign_referral", "referral"),
        ("sue.senior", "sign_referral", "referral"),
    ):
        act_on_case(
            world.case.pk,
            DecisionRequest(action, RATIONALE, outcome=outcome, no_conflict_declared=True),
            actor=world.actor(username),
        )


def record(world: World) -> ReferralResult:
    return record_referral_result(
        world.case.pk,
        ReferralResultRequest(
            result="misconduct_found",
            concluded_on=TODAY,
            reasons=REASONS,
            no_conflict_declared=True,
        ),
        actor=world.actor("sam.senior"),
    )


def my_record_page(world: World) -> str:
    client = Client()
    client.force_login(world.fay)
    response = client.get("/me/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_fay_sees_that_the_result_is_awaited_then_what_it_was(world: World) -> None:
    refer(world)
    awaited = my_record_page(world)
    assert f'id="referral-result-{world.case.pk}"' in awaited
    assert "Not recorded yet. When the investigating body concludes" in awaited

    record(world)

    page = my_record_page(world)
    section = page[page.index(f'id="referral-result-{world.case.pk}"') :]
    assert "Misconduct found" in section
    assert REASONS in section
    assert f"{TODAY:%-d %b %Y}" in section
    assert "by sam.senior (senior reviewer)" in section
    assert "The investigation a case about you was referred to has concluded" in page


def test_fay_reads_the_result_in_her_api_record(world: World, api: Clients) -> None:
    refer(world)
    client = api("fay.flagged")
    [before] = client.get("/api/v1/me/").json()["record"]["cases"]
    assert before["referral_result"] is None

    row = record(world)

    [case] = client.get("/api/v1/me/").json()["record"]["cases"]
    assert case["referral_result"] == {
        "id": row.pk,
        "result": "misconduct_found",
        "concluded_on": TODAY.isoformat(),
        "reasons": REASONS,
        "referral": row.referral_id,
        "recorded_at": case["referral_result"]["recorded_at"],
        "recorded_by": "sam.senior",
        "role": "senior_reviewer",
        "on_behalf_of": None,
        "no_conflict_declared": True,
    }
    assert "referral_concluded" in [notice["kind"] for notice in case["notices"]]


def test_fay_is_told_in_the_app_and_by_e_mail(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    refer(world)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        record(world)

    notice = Notification.objects.get(case=world.case, kind=NotificationKind.REFERRAL_CONCLUDED)
    assert notice.sent_at is not None and notice.emailed_at is not None
    [message] = mail.outbox
    assert message.to == ["fay.flagged@police.example"]
    assert message.subject == "The investigation a case about you was referred to has concluded"
    assert f"The investigation that case {world.case.pk} about you was referred to" in message.body
    assert REASONS not in message.body  # the e-mail says only that there is something to read


def test_nothing_of_the_result_shows_on_a_case_fay_has_not_been_told_of(
    world: World, api: Clients
) -> None:
    refer(world)
    # Arranged: the opening notice as if deferred (the workflow tells the person before a
    # referral is signed, so only an arranged case is referred and untold).
    Notification.objects.filter(case=world.case).update(
        sent_at=None, due_at=world.case.opened_at + timedelta(days=30)
    )

    record(world)

    assert api("fay.flagged").get("/api/v1/me/").json()["record"]["cases"] == []
    page = my_record_page(world)
    assert "Result of the referral" not in page
    assert REASONS not in page
    assert not Notification.objects.filter(kind=NotificationKind.REFERRAL_CONCLUDED).exists()


def test_the_record_page_reads_the_result_with_the_case(world: World, api: Any) -> None:
    """The result comes in the cases' query: the page costs the same with one as without."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    refer(world)
    client = Client()
    client.force_login(world.fay)
    client.get("/me/")
    with CaptureQueriesContext(connection) as without:
        client.get("/me/")
    record(world)
    with CaptureQueriesContext(connection) as with_result:
        assert "Misconduct found" in client.get("/me/").content.decode()

    assert len(with_result.captured_queries) == len(without.captured_queries)


def set_aside_and_refer_again(world: World) -> None:
    """An upheld challenge sets the referral aside, and the case, back in review, is referred
    again."""
    referral = (
        Decision.objects.filter(case=world.case, kind=DecisionKind.SECOND_SIGNATURE)
        .order_by("pk")
        .last()
    )
    assert referral is not None
    set_aside(
        world.case.pk,
        actor=world.actor("dan.steward"),
        decision_id=referral.pk,
        rationale=f"{RATIONALE} The challenge to the referral is upheld.",
        no_conflict_declared=True,
    )
    refer(world, reviewer="ravi.reviewer")


def test_fay_sees_the_result_of_a_referral_set_aside_as_history(world: World) -> None:
    refer(world)
    old = record(world)
    set_aside_and_refer_again(world)

    page = my_record_page(world)

    current = page[
        page.index(f'id="referral-result-{world.case.pk}"') : page.index(
            f'id="earlier-referral-results-{world.case.pk}"'
        )
    ]
    assert "Not recorded yet" in current and "Misconduct found" not in current
    history = page[page.index(f'id="earlier-referral-results-{world.case.pk}"') :]
    assert (
        f"Misconduct found, for the referral signed in decision {old.referral_id}, which no "
        "longer stands" in history
    )
    assert REASONS in history


def test_fay_reads_the_current_result_and_the_earlier_ones_in_her_api_record(
    world: World, api: Clients
) -> None:
    refer(world)
    old = record(world)
    set_aside_and_refer_again(world)
    client = api("fay.flagged")

    [before] = client.get("/api/v1/me/").json()["record"]["cases"]
    new = record(world)
    [after] = client.get("/api/v1/me/").json()["record"]["cases"]

    assert before["referral_result"] is None
    assert [(r["id"], r["referral"]) for r in before["earlier_referral_results"]] == [
        (old.pk, old.referral_id)
    ]
    assert (after["referral_result"]["id"], after["referral_result"]["referral"]) == (
        new.pk,
        new.referral_id,
    )
    assert after["earlier_referral_results"] == before["earlier_referral_results"]
    assert new.referral_id != old.referral_id

"""The data steward's and the senior reviewer's pages for deciding challenges
(appeals/steward_views.py), and what challenges did as the reviewer's case page and case API show
it (casework/views.py, casework/api.py, appeals/case_panel.py)."""

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import create_user, issue_personal_token
from appeals import services
from appeals.models import Challenge, ChallengeStatus, Remedy
from appeals.services.challenges import allowed_remedies
from appeals.steward_forms import remedy_choices
from appeals.steward_views import took_part_in
from audit.actors import Role, system_actor
from audit.models import AccessEvent, AuditEvent
from casework.models import Case, CaseStatus, Decision, DecisionKind
from casework.services import DecisionRequest, act_on_case
from flags.models import EvidenceRecord, EvidenceStatus, FlagStatus
from tests.appeals.conftest import World, file_inaccurate, flagged_subject, overtime_flags
from tests.factories import EvidenceItemFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "The payroll extract shows the claim belongs to another officer with the same initials."
GROUNDS = "I was on annual leave that week; the claim was never made by me."


def signed_in(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def head() -> int:
    """The last audit event of a governed write (a page shown again records its view)."""
    writes = AuditEvent.objects.exclude(action="access.recorded").order_by("-seq")
    return writes.values_list("seq", flat=True).first() or 0


def main_of(response: Any) -> str:
    page = response.content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)


def another_steward(username: str = "dee.steward") -> User:
    """A second data steward, in a unit of their own."""
    own = SubjectFactory.create(unit="Data Office")
    return create_user(username, role=Role.DATA_STEWARD, subject=own, actor=system_actor())


def act(client: Client, challenge: Challenge, action: str, **fields: str) -> Any:
    data = {"action": action, "no_conflict_declared": "on", **fields}
    return client.post(f"/adjudication/{challenge.pk}/act/", data)


def decide_form(finding: str, remedy: str, **fields: str) -> dict[str, str]:
    return {"finding": finding, "remedy": remedy, "reasons": REASONS, **fields}


def take(world: World, challenge: Challenge, steward: str = "dan.steward") -> None:
    services.acknowledge_challenge(
        challenge.pk, actor=world.actor(steward), no_conflict_declared=True
    )


def rejected_and_escalated(world: World) -> Challenge:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    services.decide_challenge(
        challenge.pk,
        services.Adjudication(finding="rejected", reasons=REASONS, no_conflict_declared=True),
        actor=world.actor("dan.steward"),
    )
    return services.escalate_challenge(
        challenge.pk, actor=world.as_fay, grounds="The steward did not read my leave record."
    )


# --- who may use the pages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "url", "words"),
    [
        ("rita.reviewer", "/adjudication/", "Only data stewards take and decide challenges"),
        ("sam.senior", "/adjudication/", "Only data stewards take and decide challenges"),
        ("dan.steward", "/escalations/", "Only senior reviewers decide escalated challenges"),
        ("rhea.rep", "/escalations/", "Only senior reviewers decide escalated challenges"),
        ("rita.reviewer", "/adjudication/1/", "Only data stewards, and senior reviewers"),
        ("olive.oversight", "/adjudication/1/", "Only data stewards, and senior reviewers"),
    ],
)
def test_other_roles_are_refused_with_a_clear_message(
    world: World, username: str, url: str, words: str
) -> None:
    response = signed_in(world.people[username]).get(url)

    assert response.status_code == 403
    assert words in response.content.decode()


def test_signing_in_is_needed(world: World) -> None:
    for url in ("/adjudication/", "/escalations/", "/adjudication/1/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/")


# --- the data steward's queue --------------------------------------------------------------------


def test_the_queue_lists_open_challenges_by_the_date_next_due_and_marks_overdue_ones(
    world: World, time_machine: Any
) -> None:
    first = file_inaccurate(world, world.records[0])
    time_machine.move_to(first.filed_at + timedelta(days=1), tick=False)
    second = file_inaccurate(world, world.records[1])
    dan = signed_in(world.people["dan.steward"])

    rows = dan.get("/adjudication/").context["rows"]
    assert [row.challenge.pk for row in rows] == [first.pk, second.pk]
    assert [row.due[0] for row in rows] == ["Take it by", "Take it by"]

    take(world, first)  # now due to be decided, 20 working days after filing
    page = dan.get("/adjudication/")
    assert [row.challenge.pk for row in page.context["rows"]] == [second.pk, first.pk]
    assert "Taken by you" in page.content.decode()
    assert "Overdue" not in main_of(page)

    time_machine.move_to(second.acknowledge_due + timedelta(days=1), tick=False)
    page = signed_in(world.people["dan.steward"]).get("/adjudication/")  # a new session
    [late, in_time] = page.context["rows"]
    assert (late.challenge.pk, late.overdue, in_time.overdue) == (second.pk, True, False)
    assert main_of(page).count('<strong class="govuk-tag govuk-tag--red">Overdue</strong>') == 1
    taken_by_dan = signed_in(another_steward()).get("/adjudication/").content.decode()
    assert "Taken by dan.steward" in taken_by_dan


def test_the_queue_filters_decided_and_only_mine_and_shows_recent_decisions(
    world: World,
) -> None:
    first = file_inaccurate(world, world.records[0])
    second = file_inaccurate(world, world.records[1])
    take(world, first)
    services.decide_challenge(
        first.pk,
        services.Adjudication(finding="rejected", reasons=REASONS, no_conflict_declared=True),
        actor=world.actor("dan.steward"),
    )
    dee = another_steward()
    services.acknowledge_challenge(second.pk, actor=actor_for(dee), no_conflict_declared=True)
    dan = signed_in(world.people["dan.steward"])

    open_page = dan.get("/adjudication/")
    assert [row.challenge.pk for row in open_page.context["rows"]] == [second.pk]
    assert [row.challenge.pk for row in open_page.context["recent"]] == [first.pk]
    recent = open_page.content.decode().split("Recently decided")[1]
    assert "Rejected" in recent and "In time" in recent
    decided = dan.get("/adjudication/?show=decided").context["rows"]
    assert [row.challenge.pk for row in decided] == [first.pk]
    every = dan.get("/adjudication/?show=all").context["rows"]
    assert [row.challenge.pk for row in every] == [second.pk, first.pk]
    assert dan.get("/adjudication/?mine=on").context["rows"] == []
    assert [r.challenge.pk for r in dan.get("/adjudication/?show=all&mine=on").context["rows"]] == [
        first.pk
    ]
    # A value not on offer falls back to the open challenges rather than failing.
    assert dan.get("/adjudication/?show=nonsense&page=x").status_code == 200


def test_the_queue_records_a_view_of_each_person_shown(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])

    signed_in(world.people["dan.steward"]).get("/adjudication/")

    [event] = AccessEvent.objects.filter(view="challenge-queue")
    assert (event.subject_id, event.object_type, event.object_id) == (
        world.subject.pk,
        "appeals.challenge",
        str(challenge.pk),
    )
    assert (event.purpose, event.role, event.username) == (
        "challenge adjudication",
        "data_steward",
        "dan.steward",
    )


def test_the_queue_costs_the_same_queries_for_one_challenge_or_many(
    world: World, detector_client: Any
) -> None:
    file_inaccurate(world, world.records[0])
    dan = signed_in(world.people["dan.steward"])
    dan.get("/adjudication/")  # the session and its first reads

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert dan.get("/adjudication/").status_code == 200
        return len(queries)

    one = cost()
    for n in range(4):
        person = flagged_subject(f"pat.{n}")
        [flag] = overtime_flags(detector_client, person.subject, [[EvidenceItemFactory.create()]])
        record = flag.evidence.get()
        services.file_challenge(
            services.ChallengeRequest(kind="not_mine", evidence=record.pk, grounds="Not mine."),
            actor=actor_for(person),
        )
        if n % 2:
            take(world, Challenge.objects.get(evidence=record))
    assert len(dan.get("/adjudication/").context["rows"]) == 5
    assert cost() == one


def test_a_steward_not_linked_to_their_record_is_told_so_and_sees_nothing(world: World) -> None:
    from flags.models import Subject

    file_inaccurate(world, world.records[0])
    Subject.objects.filter(user=world.people["dan.steward"]).update(user=None)  # set-up

    page = signed_in(world.people["dan.steward"]).get("/adjudication/")

    assert page.context["rows"] == []
    assert "Your account is not linked to your own record" in page.content.decode()


def test_a_challenge_the_steward_may_not_see_is_answered_as_a_missing_one(
    world: World, detector_client: Any
) -> None:
    # Pat works in Professional Standards, Dan's own unit: Dan fails the conflict check.
    pat = flagged_subject("pat.colleague", unit="Professional Standards")
    [flag] = overtime_flags(detector_client, pat.subject, [[EvidenceItemFactory.create()]])
    hidden = services.file_challenge(
        services.ChallengeRequest(
            kind="not_mine", evidence=flag.evidence.get().pk, grounds="Not mine."
        ),
        actor=actor_for(pat),
    )
    missing_id = hidden.pk + 1000
    dan = signed_in(world.people["dan.steward"])

    seen = dan.get(f"/adjudication/{hidden.pk}/")
    missing = dan.get(f"/adjudication/{missing_id}/")

    assert (seen.status_code, missing.status_code) == (404, 404)
    assert main_of(seen) == main_of(missing)
    posted = act(dan, hidden, "acknowledge")
    assert posted.status_code == 404
    assert main_of(posted) == main_of(missing)
    assert dan.get("/adjudication/?show=all").context["rows"] == []
    assert Challenge.objects.get(pk=hidden.pk).status == ChallengeStatus.SUBMITTED
    assert not AccessEvent.objects.filter(subject_id=pat.subject.pk).exists()


def test_a_steward_never_adjudicates_their_own_challenge(world: World) -> None:
    """Dan's own record is flagged and he challenges it: as the person he sees it on his own
    pages, never on the steward's."""
    dan = world.people["dan.steward"]
    challenge = Challenge.objects.create(  # set-up: a challenge about Dan himself
        subject=dan.subject,
        kind="not_mine",
        evidence=world.records[0],
        grounds="Not mine.",
        status=ChallengeStatus.SUBMITTED,
        filed_at=world.case.opened_at,
        filed_by=dan,
        filed_role=Role.SUBJECT,
        acknowledge_due=world.case.due_on,
        decide_due=world.case.due_on,
    )

    assert signed_in(dan).get(f"/adjudication/{challenge.pk}/").status_code == 404


# --- one challenge: what the steward reads -------------------------------------------------------


def test_the_challenge_page_shows_everything_needed_to_decide(world: World) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="lacks_context",
            evidence=world.records[0].pk,
            grounds="The overtime was authorised by my inspector during the flood response.",
            subject=world.subject.pk,
        ),
        actor=world.as_fay,
    )
    response = signed_in(world.people["dan.steward"]).get(f"/adjudication/{challenge.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert escape(world.subject.name) in page
    assert "flood response" in page
    assert world.records[0].record_id in page
    assert "Disputed" in page
    assert world.flags[0].explanation in page
    assert "accounts of its context" in page
    assert "Given " in page and "with challenge" in page
    # Every version of the record: as received, then disputed by the challenge.
    versions = response.context["record_versions"]
    assert [version.kind for version in versions] == ["Created", "Changed"]
    assert versions[1].changes == [("status", "as_received", "disputed")]
    assert [d.step for d in response.context["deadlines"]] == ["Take (acknowledge) it", "Decide it"]
    assert [f["flag"].pk for f in response.context["flags"]] == [world.flags[0].pk]
    assert 'name="action" value="acknowledge"' in page
    [event] = AccessEvent.objects.filter(view="adjudication-page")
    assert (event.object_type, event.object_id, event.purpose) == (
        "appeals.challenge",
        str(challenge.pk),
        "challenge adjudication",
    )


def test_another_persons_flags_on_a_shared_record_are_counted_never_shown(
    world: World, detector_client: Any
) -> None:
    shared = EvidenceItemFactory.create(source_system="roster", record_type="roster")
    gus = flagged_subject("gus.grey")
    overtime_flags(detector_client, world.subject, [[shared]])
    [gus_flag] = overtime_flags(detector_client, gus.subject, [[shared]])
    record = EvidenceRecord.objects.get(record_id=shared["record_id"])
    challenge = file_inaccurate(world, record)

    response = signed_in(world.people["dan.steward"]).get(f"/adjudication/{challenge.pk}/")

    assert [f["flag"].subject_id for f in response.context["flags"]] == [world.subject.pk]
    assert response.context["other_flags"] == 1
    assert escape(gus.subject.name) not in response.content.decode()
    assert gus_flag.external_id not in response.content.decode()


def test_grounds_and_names_are_escaped(world: World) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="not_mine",
            evidence=world.records[0].pk,
            grounds="<script>alert(1)</script>",
            subject=world.subject.pk,
        ),
        actor=world.as_fay,
    )
    for client, url in (
        (signed_in(world.people["dan.steward"]), f"/adjudication/{challenge.pk}/"),
        (signed_in(world.people["rita.reviewer"]), f"/cases/{world.case.pk}/"),
    ):
        page = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- taking and deciding -------------------------------------------------------------------------


def test_a_steward_takes_and_upholds_a_challenge_and_the_case_is_withdrawn(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    dan = signed_in(world.people["dan.steward"])

    taken = act(dan, challenge, "acknowledge")
    assert taken.status_code == 302
    assert taken["Location"] == f"/adjudication/{challenge.pk}/"
    page = dan.get(taken["Location"])
    assert f"You took challenge {challenge.pk}. Decide it by" in page.content.decode()
    assert 'name="action" value="decide"' in page.content.decode()

    decided = act(dan, challenge, "decide", **decide_form("upheld", Remedy.WITHDRAWN))

    assert decided.status_code == 302
    world.refresh()
    assert world.records[0].status == EvidenceStatus.WITHDRAWN
    assert world.flags[0].status == FlagStatus.WITHDRAWN
    assert world.case.status == CaseStatus.WITHDRAWN
    message = dan.get(decided["Location"]).content.decode()
    assert (
        f"You decided challenge {challenge.pk}: upheld. The record was withdrawn; 1 flag "
        f"withdrawn; case {world.case.pk} withdrawn because its data no longer meets the "
        "threshold." in message
    )


def test_a_correction_through_the_page_rewrites_the_record_from_the_json_given(
    world: World, detector_client: Any
) -> None:
    overtime_flags(detector_client, world.subject, [[EvidenceItemFactory.create()]])
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    dan = signed_in(world.people["dan.steward"])
    form = dan.get(f"/adjudication/{challenge.pk}/").context["step_form"]
    # The form starts from the record as it reads now, its details pretty-printed.
    assert json.loads(form["corrected_payload"].value()) == world.records[0].payload
    assert "\n" in form["corrected_payload"].value()

    response = act(
        dan,
        challenge,
        "decide",
        **decide_form(
            "upheld",
            Remedy.CORRECTED,
            corrected_summary="No overtime claimed",
            corrected_payload='{"hours": 0, "note": "leave"}',
            corrected_occurred_at="2026-06-01T09:30",
        ),
    )

    assert response.status_code == 302, response.content.decode()
    record = EvidenceRecord.objects.get(pk=world.records[0].pk)
    assert record.status == EvidenceStatus.CORRECTED
    assert record.payload == {"hours": 0, "note": "leave"}
    assert record.summary == "No overtime claimed"
    assert record.occurred_at.isoformat() == "2026-06-01T08:30:00+00:00"  # 09:30 in London
    world.refresh()
    assert world.case.status == CaseStatus.OPEN
    message = dan.get(response["Location"]).content.decode()
    assert "The record was corrected; 1 flag withdrawn; case" in message
    assert "released from hold: its data still meets the threshold" in message


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ('{"hours": ', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ('{"hours": NaN}', "not valid JSON: NaN is not a JSON value"),
        ('{"hours": Infinity}', "not valid JSON"),
        ('{"hours": 1e999}', "too large"),
        ("{" + '"a": {' * 40 + "}" * 41, "nested more than 32 levels deep"),
        ("[" * 100000 + "]" * 100000, "nested more than 32 levels deep"),
        ('{"note": "\\u0000"}', "NUL character"),
        ('{"note": "\\ud800"}', "unpaired surrogate"),
        ("", "Enter the corrected details"),
    ],
)
def test_corrected_details_that_are_not_a_json_object_are_refused_and_nothing_is_written(
    world: World, payload: str, words: str
) -> None:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    before = head()

    response = act(
        signed_in(world.people["dan.steward"]),
        challenge,
        "decide",
        **decide_form(
            "upheld",
            Remedy.CORRECTED,
            corrected_summary="No overtime claimed",
            corrected_payload=payload,
            corrected_occurred_at="2026-06-01T09:30",
        ),
    )

    assert response.status_code == 422
    assert words in str(response.context["form"].errors["corrected_payload"])
    page = response.content.decode()
    assert "There is a problem" in page
    assert 'href="#id_corrected_payload"' in page
    assert 'id="id_corrected_payload-error"' in page
    assert head() == before
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.ACKNOWLEDGED


def test_every_problem_is_shown_at_once(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)

    response = signed_in(world.people["dan.steward"]).post(
        f"/adjudication/{challenge.pk}/act/",
        {
            "action": "decide",
            "finding": "upheld",
            "remedy": "corrected",
            "reasons": "Short.",
            "corrected_summary": "",
            "corrected_payload": "[1]",
            "corrected_occurred_at": "2026-06-01T09:30",
        },
    )

    assert response.status_code == 422
    assert set(response.context["form"].errors) == {
        "corrected_payload",
        "corrected_summary",
        "reasons",
        "no_conflict_declared",
    }
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.ACKNOWLEDGED


def test_a_correction_needs_its_date_and_time(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)

    response = act(
        signed_in(world.people["dan.steward"]),
        challenge,
        "decide",
        **decide_form(
            "upheld", Remedy.CORRECTED, corrected_payload="{}", corrected_occurred_at="soon"
        ),
    )

    assert response.status_code == 422
    assert "Enter the date and time it happened" in str(
        response.context["form"].errors["corrected_occurred_at"]
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"reasons": "Too short."}, "reasons", "at least 40 characters"),
        ({"no_conflict_declared": ""}, "no_conflict_declared", "no conflict of interest"),
        ({"remedy": Remedy.WITHDRAWN, "finding": "rejected"}, "remedy", "allows: nothing changed"),
        ({"remedy": ""}, "remedy", "Choose what follows"),
        ({"finding": "maybe"}, "finding", "Select a valid choice"),
        ({"remedy": "set_aside"}, "remedy", "Select a valid choice"),
        ({"reasons": "x" * 30 + "\x00" + "y" * 30}, "reasons", "Null characters"),
    ],
)
def test_a_decision_the_rules_refuse_shows_each_problem_by_its_field(
    world: World, fields: dict[str, str], field: str, words: str
) -> None:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    before = head()
    data = {"no_conflict_declared": "on", **decide_form("upheld", Remedy.WITHDRAWN), **fields}

    response = signed_in(world.people["dan.steward"]).post(
        f"/adjudication/{challenge.pk}/act/", {"action": "decide", **data}
    )

    assert response.status_code == 422
    assert words in str(response.context["form"].errors[field])
    assert f'id="id_{field}-error"' in response.content.decode()
    assert head() == before
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.ACKNOWLEDGED


def test_taking_a_challenge_needs_the_declaration(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])

    response = act(
        signed_in(world.people["dan.steward"]), challenge, "acknowledge", no_conflict_declared=""
    )

    assert response.status_code == 422
    assert "Declare that you have no conflict" in response.content.decode()
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.SUBMITTED


def test_an_unknown_action_is_a_bad_request(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])

    response = act(signed_in(world.people["dan.steward"]), challenge, "approve")

    assert response.status_code == 400
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.SUBMITTED


def test_a_challenge_taken_by_another_steward_is_theirs_to_decide(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    dee = signed_in(another_steward())
    page = dee.get(f"/adjudication/{challenge.pk}/").content.decode()
    assert "dan.steward took this challenge: only they decide it." in page
    assert 'name="action" value="decide"' not in page
    before = head()

    response = act(dee, challenge, "decide", **decide_form("upheld", Remedy.WITHDRAWN))

    assert response.status_code == 409
    assert "was taken by another data steward: only they decide it" in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert head() == before
    again = act(dee, challenge, "acknowledge")
    assert again.status_code == 409
    assert "cannot be taken: it is acknowledged" in again.content.decode()


def test_the_forms_need_the_csrf_token(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])

    response = act(signed_in(world.people["dan.steward"], csrf=True), challenge, "acknowledge")

    assert response.status_code == 403
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.SUBMITTED


def test_the_remedies_offered_are_those_the_kind_allows() -> None:
    assert [value for value, _ in remedy_choices("inaccurate")] == [
        "none",
        "corrected",
        "withdrawn",
    ]
    assert [value for value, _ in remedy_choices("lacks_context")] == ["none", "corrected"]
    assert [value for value, _ in remedy_choices("decision")] == ["none", "set_aside"]
    assert allowed_remedies("decision", "upheld") == {"set_aside"}
    assert allowed_remedies("inaccurate", "rejected") == {""}


def test_upholding_a_challenge_to_a_decision_sets_it_aside_and_the_case_shows_it(
    world: World,
) -> None:
    rita = world.actor("rita.reviewer")
    for action, outcome in (("start_review", ""), ("recommend", "management_advice")):
        act_on_case(
            world.case.pk,
            DecisionRequest(action, REASONS, outcome=outcome, no_conflict_declared=True),
            actor=rita,
        )
    recommendation = Decision.objects.get(case=world.case, kind=DecisionKind.RECOMMENDATION)
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="decision", decision=recommendation.pk, grounds="Advice is not warranted."
        ),
        actor=world.as_fay,
    )
    take(world, challenge)
    dan = signed_in(world.people["dan.steward"])
    page = dan.get(f"/adjudication/{challenge.pk}/")
    assert page.context["decision"] == recommendation
    assert [d.kind for d in page.context["case_decisions"]][:2] == ["triage", "recommendation"]
    assert "Every decision on case" in page.content.decode()

    response = act(dan, challenge, "decide", **decide_form("upheld", Remedy.SET_ASIDE))

    assert response.status_code == 302
    message = dan.get(response["Location"]).content.decode()
    assert f"Decision {recommendation.pk} was set aside and case {world.case.pk} returned" in (
        message
    )
    case_page = signed_in(world.people["ravi.reviewer"]).get(f"/cases/{world.case.pk}/")
    [set_aside] = [e for e in case_page.context["timeline"] if e.title == "Decision set aside"]
    assert set_aside.outcome.startswith(
        f"decision {recommendation.pk} (recommendation, management advice, by rita.reviewer on"
    )
    body = api_case(world, "ravi.reviewer")
    assert [d["sets_aside"] for d in body["decisions"] if d["kind"] == "set_aside"] == [
        recommendation.pk
    ]


# --- the senior reviewer ------------------------------------------------------------------------


def test_a_senior_reviewer_decides_an_escalation_finally(world: World) -> None:
    challenge = rejected_and_escalated(world)
    sam = signed_in(world.people["sam.senior"])
    queue = sam.get("/escalations/")
    [row] = queue.context["rows"]
    assert (row.challenge.pk, row.took_part) == (challenge.pk, False)
    assert "You may decide it" in queue.content.decode()
    page = sam.get(f"/adjudication/{challenge.pk}/").content.decode()
    assert "The steward did not read my leave record." in page
    assert 'name="action" value="decide_escalation"' in page

    response = act(sam, challenge, "decide_escalation", **decide_form("upheld", "withdrawn"))

    assert response.status_code == 302
    message = sam.get(response["Location"]).content.decode()
    assert f"You decided the escalation of challenge {challenge.pk}: upheld. It is final." in (
        message
    )
    assert f"case {world.case.pk} withdrawn because its data no longer meets" in message
    world.refresh()
    assert world.case.status == CaseStatus.WITHDRAWN
    decided = sam.get("/escalations/")
    assert [row.challenge.pk for row in decided.context["decided"]] == [challenge.pk]
    assert decided.context["rows"] == []


def test_a_senior_who_took_part_is_told_another_must_decide(world: World) -> None:
    act_on_case(
        world.case.pk,
        DecisionRequest("start_review", REASONS, no_conflict_declared=True),
        actor=world.actor("sue.senior"),
    )
    challenge = rejected_and_escalated(world)
    sue = signed_in(world.people["sue.senior"])

    queue = sue.get("/escalations/")
    assert [row.took_part for row in queue.context["rows"]] == [True]
    assert "You took part" in queue.content.decode()
    assert "Another senior reviewer decides" in queue.content.decode()
    page = sue.get(f"/adjudication/{challenge.pk}/").content.decode()
    assert "You took part in this case or this challenge" in page
    assert 'name="action" value="decide_escalation"' not in page
    response = act(sue, challenge, "decide_escalation", **decide_form("upheld", "withdrawn"))
    assert response.status_code == 409
    assert "a senior reviewer who did not must decide the escalation" in (response.content.decode())
    assert Challenge.objects.get(pk=challenge.pk).status == ChallengeStatus.ESCALATED


def test_took_part_in_agrees_with_the_service_rule(world: World) -> None:
    act_on_case(
        world.case.pk,
        DecisionRequest("start_review", REASONS, no_conflict_declared=True),
        actor=world.actor("sue.senior"),
    )
    challenge = rejected_and_escalated(world)
    for username in ("sue.senior", "sam.senior", "dan.steward"):
        user = world.people[username]
        expected = {challenge.pk} if services.took_part(user, challenge) else set()
        assert took_part_in(user, [challenge]) == expected
    assert took_part_in(world.fay, [challenge]) == {challenge.pk}


def test_a_senior_reviewer_sees_only_escalated_challenges(world: World) -> None:
    challenge = file_inaccurate(world, world.records[0])
    sam = signed_in(world.people["sam.senior"])

    assert sam.get(f"/adjudication/{challenge.pk}/").status_code == 404
    assert sam.get("/escalations/").context["rows"] == []


# --- the reviewer's case page and the case API ---------------------------------------------------


def api_case(world: World, username: str) -> dict[str, Any]:
    client = APIClient()
    issued = issue_personal_token(world.people[username], actor=world.actor("alan.admin"))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    response = client.get(f"/api/v1/cases/{world.case.pk}/")
    assert response.status_code == 200
    return dict(response.json())


def test_the_case_page_shows_the_context_given_and_the_open_challenge(world: World) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="lacks_context",
            evidence=world.records[0].pk,
            grounds="The overtime was authorised by my inspector during the flood response.",
            subject=world.subject.pk,
        ),
        actor=world.as_fay,
    )
    response = signed_in(world.people["rita.reviewer"]).get(f"/cases/{world.case.pk}/")
    page = response.content.decode()

    assert '<strong class="govuk-tag govuk-tag--yellow">Disputed</strong>' in page
    assert "The subject's account of its context" in page
    assert page.count("flood response") == 3  # beside the record, in the panel, in the timeline
    [given] = [e for e in response.context["timeline"] if e.title == "Context given by the subject"]
    assert (given.who, given.role) == ("fay.flagged", "subject")
    assert f"Challenge {challenge.pk}: This is true but misleading" in page
    assert "Take (acknowledge) it" in page
    assert f"/adjudication/{challenge.pk}/" not in page  # a reviewer does not adjudicate
    shown = AccessEvent.objects.filter(view="case-page").values_list("object_type", "object_id")
    assert set(shown) == {
        ("casework.case", str(world.case.pk)),
        ("appeals.challenge", str(challenge.pk)),
    }

    body = api_case(world, "rita.reviewer")
    evidence = {e["record_id"]: e for f in body["flags"] for e in f["evidence"]}
    [account] = evidence[world.records[0].record_id]["context_accounts"]
    assert account["account"].endswith("flood response.")
    assert (account["given_by"], account["on_behalf_of"]) == ("fay.flagged", None)
    assert evidence[world.records[0].record_id]["status"] == "disputed"
    assert evidence[world.records[1].record_id]["context_accounts"] == []


def test_the_case_page_shows_the_reevaluation_and_the_reconsider_banner(world: World) -> None:
    for action, outcome, who in (
        ("start_review", "", "rita.reviewer"),
        ("recommend", "management_advice", "rita.reviewer"),
        ("sign_off", "management_advice", "ravi.reviewer"),
    ):
        act_on_case(
            world.case.pk,
            DecisionRequest(action, REASONS, outcome=outcome, no_conflict_declared=True),
            actor=world.actor(who),
        )
    challenge = file_inaccurate(world, world.records[0])
    take(world, challenge)
    services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding="upheld", reasons=REASONS, remedy=Remedy.WITHDRAWN, no_conflict_declared=True
        ),
        actor=world.actor("dan.steward"),
    )
    sam = signed_in(world.people["sam.senior"])

    response = sam.get(f"/cases/{world.case.pk}/")
    page = response.content.decode()

    assert "This case concluded on data that was since corrected: reconsider it." in page
    assert "Evaluated again since it opened" in page
    assert f"Challenge {challenge.pk} upheld" in page
    assert "threshold no longer met" in page
    assert "Concluded on data since corrected: for the reviewers to reconsider" in page
    assert '<strong class="govuk-tag govuk-tag--grey">Withdrawn</strong>' in page
    assert any(e.title == "Evaluated again" for e in response.context["timeline"])
    body = api_case(world, "sam.senior")
    assert body["reconsider_since"] is not None
    [again] = body["reevaluations"]
    assert (again["met"], again["consequence"], again["cause"]) == (
        False,
        "reconsider",
        f"challenge {challenge.pk} upheld",
    )
    assert again["policy_version"] == world.case.policy.version
    assert "categories" in again["trace"]


def test_a_referred_case_on_corrected_data_says_to_tell_the_body(world: World) -> None:
    Case.objects.filter(pk=world.case.pk).update(  # set-up: as a referral would leave it
        status=CaseStatus.REFERRED, reconsider_since=world.case.opened_at
    )

    page = signed_in(world.people["sam.senior"]).get(f"/cases/{world.case.pk}/").content.decode()

    assert "tell the body it was referred to" in page


def test_a_senior_reviewer_opens_an_escalation_from_the_case_page(world: World) -> None:
    challenge = rejected_and_escalated(world)
    path = f"/adjudication/{challenge.pk}/"

    sam_page = signed_in(world.people["sam.senior"]).get(f"/cases/{world.case.pk}/")
    rita_page = signed_in(world.people["rita.reviewer"]).get(f"/cases/{world.case.pk}/")

    assert f'href="{path}"' in sam_page.content.decode()
    assert f'href="{path}"' not in rita_page.content.decode()
    assert "The steward did not read my leave record." in rita_page.content.decode()


def test_the_case_page_links_each_attachment_for_download(world: World) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = SimpleUploadedFile("leave.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="inaccurate",
            evidence=world.records[0].pk,
            grounds=GROUNDS,
            proposed_correction="No overtime.",
            subject=world.subject.pk,
        ),
        actor=world.as_fay,
        files=[pdf],
    )
    link = f'href="/challenges/{challenge.pk}/attachments/1/"'

    for user, url in (
        ("rita.reviewer", f"/cases/{world.case.pk}/"),
        ("dan.steward", f"/adjudication/{challenge.pk}/"),
    ):
        page = signed_in(world.people[user]).get(url).content.decode()
        assert link in page
        assert "leave.pdf" in page

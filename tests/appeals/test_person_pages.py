"""The pages of the person a record is about and of their representative (appeals.person_views):
what each shows, to whom, what each records in the access log, and how each refuses."""

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from accounts.services import create_user
from appeals import services
from appeals.models import (
    AppealNotice,
    Challenge,
    ChallengeAttachment,
    ChallengeStatus,
    Representation,
    RepresentationStatus,
)
from appeals.selectors import NO_SUCH_RECORD
from audit.access import Shown, record_access
from audit.actors import Actor, Role, system_actor
from audit.models import AccessEvent
from casework.models import Case, Decision, DecisionKind
from casework.services import DecisionRequest, act_on_case, send_due_notifications
from flags.models import EvidenceRecord, EvidenceStatus
from tests.appeals.conftest import (
    PASSWORD,
    World,
    file_inaccurate,
    flagged_subject,
    overtime_flags,
)
from tests.appeals.test_attachments import PDF, PNG
from tests.db_writes import AuditTail, row_counts
from tests.factories import NOW, TODAY, EvidenceItemFactory

REASONS = "The payroll extract shows the claim belongs to another officer with the same initials."
LONDON = ZoneInfo("Europe/London")
NOT_FOUND = re.compile(r'<p class="govuk-body" id="not-found-message">(.*?)</p>', re.DOTALL)


# --- helpers -------------------------------------------------------------------------------------


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def not_found_words(response: Any) -> str:
    assert response.status_code == 404, response.status_code
    match = NOT_FOUND.search(text(response))
    assert match is not None, text(response)
    return match.group(1)


def grant(
    world: World,
    *,
    to: str = "rhea.rep",
    case_id: int | None = None,
    days: int = 30,
    accept: bool = True,
) -> Representation:
    made = services.grant_representation(
        actor=world.as_fay,
        representative=to,
        case_id=case_id,
        expires_on=TODAY + timedelta(days=days),
    )
    if not accept:
        return made
    return services.accept_representation(made.pk, actor=world.actor(to))


def rhea(world: World) -> User:
    user: User = world.people["rhea.rep"]
    return user


def decide(world: World, challenge: Challenge, finding: str, remedy: str = "") -> Challenge:
    steward = world.actor("dan.steward")
    services.acknowledge_challenge(challenge.pk, actor=steward, no_conflict_declared=True)
    return services.decide_challenge(
        challenge.pk,
        services.Adjudication(
            finding=finding, reasons=REASONS, remedy=remedy, no_conflict_declared=True
        ),
        actor=steward,
    )


def recommended(world: World) -> Decision:
    rita = world.actor("rita.reviewer")
    for action, outcome in (("start_review", ""), ("recommend", "management_advice")):
        act_on_case(
            world.case.pk,
            DecisionRequest(
                action,
                rationale="The overtime pattern needs a conversation, not a sanction.",
                outcome=outcome,
                no_conflict_declared=True,
            ),
            actor=rita,
        )
    return Decision.objects.get(case=world.case, kind=DecisionKind.RECOMMENDATION)


@pytest.fixture
def private_files(settings: Any, tmp_path: Path) -> Path:
    settings.PRIVATE_FILES_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def challenge_form(world: World, record: EvidenceRecord, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "inaccurate",
        "grounds": "I was on annual leave that week; the claim was never made by me.",
        "proposed_correction": "No overtime claimed in that week.",
        **fields,
    }


# --- the person's own record ---------------------------------------------------------------------


def test_fay_sees_everything_of_her_record_and_the_view_is_logged(world: World) -> None:
    record_access(
        [Shown(world.subject.pk, "casework.case", world.case.pk)],
        actor=world.actor("rita.reviewer"),
        channel="page",
        view="case-page",
        purpose="case review",
    )

    response = browser(world.fay).get("/me/")

    assert response.status_code == 200
    page = text(response)
    assert '<h1 class="govuk-heading-l">Your record</h1>' in page
    for record in world.records:
        assert record.record_id in page
        assert f'/challenges/new/?evidence={record.pk}"' in page
    flag = world.flags[0]
    assert flag.explanation in page and flag.detector_version in page
    assert f"Case {world.case.pk}: Open" in page
    assert escape(world.case.trace["summary"]) in page
    assert "A case about you has been opened" in page
    assert "No retention rule applies to this record in Scrutiny" in page
    assert "rita.reviewer" in page and "reviewer&#x27;s page of your case" in page
    assert "Case review" in page
    [event] = AccessEvent.objects.filter(view="my-record")
    assert (event.username, event.role, event.purpose) == ("fay.flagged", "subject", "own record")
    assert event.on_behalf_of_user_id is None
    assert (event.object_type, event.object_id) == ("flags.subject", str(world.subject.pk))


def test_an_account_linked_to_no_record_is_told_so(people: dict[str, Any]) -> None:
    lone = create_user("lou.lone", role=Role.SUBJECT, password=PASSWORD, actor=system_actor())

    response = browser(lone).get("/me/")

    assert "not linked to your own record" in not_found_words(response)
    assert browser(lone).get("/me/representatives/").status_code == 404
    assert not AccessEvent.objects.exists()


@pytest.mark.parametrize("username", ["rita.reviewer", "dan.steward", "olive.oversight"])
def test_staff_in_other_roles_see_only_their_own_record(world: World, username: str) -> None:
    client = browser(world.people[username])

    page = text(client.get("/me/"))

    assert escape(world.subject.name) not in page
    assert "There are no flags to show." in page
    assert "There are no cases to show." in page


def test_a_person_with_no_role_is_told_so(world: World) -> None:
    for path in ("/me/", "/representing/", f"/representing/{world.subject.pk}/", "/challenges/1/"):
        response = browser(world.people["otto.outsider"]).get(path)
        assert response.status_code == 403, path
        assert "Your account holds no role in Scrutiny" in text(response)


def test_pages_need_a_sign_in(world: World) -> None:
    for path in ("/me/", "/me/representatives/", "/representing/", "/challenges/new/"):
        assert Client().get(path).headers["Location"].startswith("/sign-in/"), path


def test_the_access_log_is_paged_25_to_a_page(world: World) -> None:
    rita = world.actor("rita.reviewer")
    for _ in range(26):
        record_access(
            [Shown(world.subject.pk, "casework.case", world.case.pk)],
            actor=rita,
            channel="page",
            view="case-page",
            purpose="case review",
        )
    client = browser(world.fay)

    # The log is read before this visit is recorded: 26 views, so page 2 holds the 26th.
    second = text(client.get("/me/?page=2"))
    first = text(client.get("/me/"))

    views = re.compile(r'<td class="govuk-table__cell">(rita\.reviewer|fay\.flagged)</td>')
    assert len(views.findall(second)) == 1
    assert len(views.findall(first)) == 25
    assert 'aria-label="Page 2"' in first and 'aria-current="page">2<' in second
    # Out of range and nonsense pages are answered, not refused.
    assert client.get("/me/?page=99").status_code == 200
    assert client.get("/me/?page=x").status_code == 200


def test_a_representatives_view_shows_in_the_log_on_fays_behalf(world: World) -> None:
    grant(world)
    browser(rhea(world)).get(f"/representing/{world.subject.pk}/")

    page = text(browser(world.fay).get("/me/")).split('id="views"')[1]

    row = re.search(r"<td class=\"govuk-table__cell\">rhea\.rep</td>(.*?)</tr>", page, re.DOTALL)
    assert row is not None
    assert "fay.flagged" in row.group(1)
    assert "opened by your representative" in row.group(1)


def test_the_query_count_of_the_record_page_does_not_grow_with_the_record(
    people: dict[str, Any], detector_client: Any, settings: Any, frozen_today: Any
) -> None:
    settings.SUBJECT_NOTICE_DELAY_HOURS = 0

    def person(username: str, size: int) -> User:
        user = flagged_subject(username)
        overtime_flags(
            detector_client,
            user.subject,
            [[EvidenceItemFactory.create(), EvidenceItemFactory.create()] for _ in range(size + 1)],
        )
        send_due_notifications(actor=system_actor())
        actor = Actor(user=user, role=Role.SUBJECT)
        records = EvidenceRecord.objects.filter(flags__subject=user.subject).order_by("pk")
        for record in records[:size]:
            services.file_challenge(
                services.ChallengeRequest(
                    kind="lacks_context", evidence=record.pk, grounds="I was covering a colleague."
                ),
                actor=actor,
            )
        made = services.grant_representation(
            actor=actor, representative="rhea.rep", case_id=None, expires_on=TODAY + timedelta(9)
        )
        rep = Actor(user=people["rhea.rep"], role=Role.REPRESENTATIVE, on_behalf_of=user)
        services.accept_representation(made.pk, actor=Actor(rep.user, Role.REPRESENTATIVE))
        for _ in range(size):
            record_access(
                [Shown(user.subject.pk, "flags.subject", user.subject.pk)],
                actor=rep,
                channel="page",
                view="represented-record",
                purpose="representation",
            )
        return user

    def queries(user: User) -> int:
        client = browser(user)
        client.get("/me/")  # the session and the user, read once per session
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/me/")
        assert response.status_code == 200
        return len(captured.captured_queries)

    small, large = person("sal.small", 1), person("lars.large", 4)
    assert Challenge.objects.filter(subject=large.subject).count() == 4

    assert queries(small) == queries(large)


# --- what a deferral hides -----------------------------------------------------------------------


def test_a_deferred_case_shows_nothing_on_the_page_until_the_notice_is_sent(
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
    sam = Actor(user=people["sam.senior"], role=Role.SENIOR_REVIEWER)
    act_on_case(
        case.pk,
        DecisionRequest(
            "defer_notification",
            rationale="Telling him now would alert others under investigation.",
            deferred_until=TODAY + timedelta(days=10),
            no_conflict_declared=True,
        ),
        actor=sam,
    )
    record_access(
        [Shown(case.subject_id, "casework.case", case.pk)],
        actor=sam,
        channel="page",
        view="case-page",
        purpose="case review",
    )
    records = EvidenceRecord.objects.filter(flags__in=flags)

    hidden = text(browser(hal).get("/me/"))

    assert f"Case {case.pk}" not in hidden and f"case {case.pk}" not in hidden
    assert not any(record.record_id in hidden for record in records)
    assert not any(flag.explanation in hidden for flag in flags)
    assert "sam.senior" not in hidden and "Telling him now" not in hidden
    assert "There are no flags to show." in hidden and "There are no cases to show." in hidden
    for record in records:
        response = browser(hal).get(f"/challenges/new/?evidence={record.pk}")
        assert not_found_words(response) == (
            f"There is no evidence record {record.pk} that you may challenge."
        )

    time_machine.move_to(NOW + timedelta(days=11), tick=False)
    send_due_notifications(actor=system_actor())
    told = text(browser(hal).get("/me/"))

    assert f"Case {case.pk}" in told
    assert all(record.record_id in told for record in records)
    assert "sam.senior" in told and "Telling him now" in told


# --- representatives -----------------------------------------------------------------------------


def test_a_representative_with_a_live_grant_sees_fays_record_with_the_banner(
    world: World,
) -> None:
    made = grant(world)
    client = browser(rhea(world))

    listing = text(client.get("/representing/"))
    response = client.get(f"/representing/{world.subject.pk}/")

    assert f'href="/representing/{world.subject.pk}/"' in listing
    assert world.subject.staff_number in listing
    assert response.status_code == 200
    page = text(response)
    last = TODAY + timedelta(days=30)
    name = escape(world.subject.name)
    assert (
        f"You are acting for {name} ({world.subject.staff_number}) under grant "
        f"{made.pk} (all cases), until {last.day} {last:%B %Y}; everything you do here is "
        "recorded as on their behalf."
    ) in page
    assert world.records[0].record_id in page
    assert f"?evidence={world.records[0].pk}&amp;subject={world.subject.pk}" in page
    event = AccessEvent.objects.get(view="represented-record")
    assert (event.username, event.role, event.purpose) == (
        "rhea.rep",
        "representative",
        "representation",
    )
    assert event.on_behalf_of_user_id == world.fay.pk
    assert event.subject_id == world.subject.pk


def test_a_pending_grant_shows_nothing_until_accepted(world: World) -> None:
    made = grant(world, accept=False)
    client = browser(rhea(world))

    listing = text(client.get("/representing/"))
    before = not_found_words(client.get(f"/representing/{world.subject.pk}/"))

    assert f'action="/representations/{made.pk}/accept/"' in listing
    assert f'action="/representations/{made.pk}/decline/"' in listing
    assert escape(world.subject.name) in listing
    assert before == not_found_words(client.get("/representing/999999/")) == NO_SUCH_RECORD

    accepted = client.post(f"/representations/{made.pk}/accept/")

    assert accepted.headers["Location"] == "/representing/"
    assert "You accepted grant" in text(client.get("/representing/"))
    assert client.get(f"/representing/{world.subject.pk}/").status_code == 200


def test_a_representative_may_decline(world: World) -> None:
    made = grant(world, accept=False)
    client = browser(rhea(world))

    response = client.post(f"/representations/{made.pk}/decline/", follow=True)

    made.refresh_from_db()
    assert made.status == RepresentationStatus.DECLINED
    assert f"You declined grant {made.pk}" in text(response)
    again = client.post(f"/representations/{made.pk}/accept/")
    assert again.status_code == 409
    assert f"Grant {made.pk} cannot be accepted: it is declined" in text(again)


def test_an_expiry_takes_effect_in_the_middle_of_a_session(world: World, time_machine: Any) -> None:
    grant(world, days=1)  # until the end of tomorrow
    tomorrow_late = datetime.combine(TODAY + timedelta(days=1), time(23, 50), tzinfo=LONDON)
    time_machine.move_to(tomorrow_late, tick=False)
    client = browser(rhea(world))
    assert client.get(f"/representing/{world.subject.pk}/").status_code == 200

    # Twenty minutes later, in the same session, the page already open is refused.
    time_machine.move_to(tomorrow_late + timedelta(minutes=20), tick=False)
    expired = client.get(f"/representing/{world.subject.pk}/")

    assert not_found_words(expired) == not_found_words(client.get("/representing/999999/"))
    assert world.records[0].record_id not in text(expired)
    listing = text(client.get("/representing/"))
    assert "You are not acting for anyone now." in listing
    assert "Expired" in listing
    assert Representation.objects.get().status == RepresentationStatus.ACTIVE  # not yet swept


def test_a_revocation_takes_effect_at_once(world: World) -> None:
    made = grant(world)
    rep = browser(rhea(world))
    assert rep.get(f"/representing/{world.subject.pk}/").status_code == 200

    revoked = browser(world.fay).post(f"/representations/{made.pk}/revoke/", follow=True)

    assert f"You revoked grant {made.pk}" in text(revoked)
    assert not_found_words(rep.get(f"/representing/{world.subject.pk}/")) == NO_SUCH_RECORD
    page = text(browser(world.fay).get("/me/representatives/"))
    assert "Revoked" in page and "by you" in page
    assert f'action="/representations/{made.pk}/revoke/"' not in page


def test_revoking_an_ended_grant_is_refused_with_a_message(world: World) -> None:
    made = grant(world)
    services.revoke_representation(made.pk, actor=world.as_fay)

    response = browser(world.fay).post(f"/representations/{made.pk}/revoke/")

    assert response.status_code == 409
    assert f"Grant {made.pk} has already ended (revoked)" in text(response)


def test_another_persons_grant_is_answered_as_a_missing_one(world: World) -> None:
    made = grant(world)
    gus = flagged_subject("gus.grey")

    mine = browser(gus).post(f"/representations/{made.pk}/revoke/")
    missing = browser(gus).post("/representations/999999/revoke/")

    assert not_found_words(mine).replace(str(made.pk), "N") == not_found_words(missing).replace(
        "999999", "N"
    )
    made.refresh_from_db()
    assert made.status == RepresentationStatus.ACTIVE


def test_a_representative_of_two_people_sees_each_apart(world: World, detector_client: Any) -> None:
    grant(world)
    gus = flagged_subject("gus.grey")
    overtime_flags(
        detector_client,
        gus.subject,
        [[EvidenceItemFactory.create()], [EvidenceItemFactory.create()]],
    )
    send_due_notifications(actor=system_actor())
    made = services.grant_representation(
        actor=Actor(user=gus, role=Role.SUBJECT),
        representative="rhea.rep",
        case_id=None,
        expires_on=TODAY + timedelta(days=10),
    )
    services.accept_representation(made.pk, actor=world.actor("rhea.rep"))
    client = browser(rhea(world))

    fay_page = text(client.get(f"/representing/{world.subject.pk}/"))
    gus_page = text(client.get(f"/representing/{gus.subject.pk}/"))

    assert world.subject.staff_number in fay_page and gus.subject.staff_number not in fay_page
    assert gus.subject.staff_number in gus_page and world.subject.staff_number not in gus_page
    gus_records = EvidenceRecord.objects.filter(flags__subject=gus.subject)
    assert not any(record.record_id in fay_page for record in gus_records)
    assert not any(record.record_id in gus_page for record in world.records)


@pytest.mark.parametrize("username", ["fay.flagged", "rita.reviewer", "dan.steward", "sid.subject"])
def test_representing_pages_are_for_representatives(world: World, username: str) -> None:
    user = world.fay if username == "fay.flagged" else world.people[username]
    client = browser(user)

    for path in ("/representing/", f"/representing/{world.subject.pk}/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Only representatives can see the people they act for" in text(response)


def test_the_representatives_notices_name_the_person_and_stay_off_her_own_record(
    world: World,
) -> None:
    grant(world)
    client = browser(rhea(world))

    listing = text(client.get("/representing/"))
    own = text(client.get("/me/"))

    assert "You were asked to act as a representative, for " + escape(world.subject.name) in listing
    assert escape(world.subject.name) not in own
    assert AppealNotice.objects.filter(recipient=rhea(world)).exists()


# --- appointing a representative -----------------------------------------------------------------


def appoint(client: Client, **fields: Any) -> Any:
    day = TODAY + timedelta(days=20)
    data = {
        "representative": "rhea.rep",
        "case": "all",
        "expires_on_day": str(day.day),
        "expires_on_month": str(day.month),
        "expires_on_year": str(day.year),
        **fields,
    }
    return client.post("/me/representatives/", data)


def test_fay_appoints_a_representative_from_the_list(world: World) -> None:
    client = browser(world.fay)
    form = text(client.get("/me/representatives/"))
    assert '<option value="rhea.rep">rhea.rep</option>' in form
    assert f'value="{world.case.pk}"' in form

    response = appoint(client, case=str(world.case.pk))

    assert response.headers["Location"] == "/me/representatives/"
    made = Representation.objects.get()
    assert (made.status, made.case_id) == (RepresentationStatus.PENDING, world.case.pk)
    page = text(client.get("/me/representatives/"))
    assert "You asked rhea.rep to act for you on case" in page
    assert "Waiting for the representative to accept" in page


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"expires_on_day": "31", "expires_on_month": "2"}, 400, "Give a real date"),
        ({"expires_on_day": "x"}, 400, "Write the day, the month and the year as numbers."),
        ({"expires_on_year": ""}, 400, "Give the day, the month and the year."),
        ({"expires_on_year": "2030"}, 422, "A grant must end after today and at the latest"),
        ({"representative": "rita.reviewer"}, 422, "There is no registered representative"),
        ({"representative": ""}, 422, "Choose a representative."),
        ({"case": "999999"}, 422, "There is no case 999999 of yours"),
        ({"case": "one"}, 400, "Choose all your cases or one of them."),
    ],
)
def test_a_refused_appointment_says_why_and_writes_nothing(
    people: dict[str, Any], frozen_today: Any, fields: dict[str, str], status: int, says: str
) -> None:
    client = browser(flagged_subject("fay.flagged"))
    before = row_counts()

    response = appoint(client, **fields)

    assert response.status_code == status
    page = text(response)
    assert says in page
    assert "govuk-error-summary" in page and "Error: Your representatives" in page
    assert row_counts() == before


def test_a_second_grant_to_the_same_representative_is_refused(world: World) -> None:
    grant(world)
    response = appoint(browser(world.fay))
    assert response.status_code == 409
    assert "You have already asked rhea.rep to act for you on this" in text(response)


# --- filing a challenge --------------------------------------------------------------------------


def test_fay_files_a_challenge_and_is_told_what_happens_next(
    world: World, private_files: Path
) -> None:
    client = browser(world.fay)
    record = world.records[0]
    form = text(client.get(f"/challenges/new/?evidence={record.pk}"))
    assert 'enctype="multipart/form-data"' in form
    assert 'accept=".pdf,.png,.jpg,.jpeg"' in form
    assert "at most 5 files, each at most 10 MiB" in form and "at most 5000 characters" in form
    assert record.summary in form

    response = client.post(
        f"/challenges/new/?evidence={record.pk}",
        {
            **challenge_form(world, record),
            "attachments": [SimpleUploadedFile("leave.pdf", PDF, "application/pdf")],
        },
        follow=True,
    )

    challenge = Challenge.objects.get()
    assert response.redirect_chain == [(f"/challenges/{challenge.pk}/", 302)]
    page = text(response)
    assert f"Your challenge {challenge.pk} was filed" in page
    assert f"{challenge.acknowledge_due:%-d %B %Y}" in page
    assert "This is wrong" in page and "leave.pdf" in page
    assert f'href="/challenges/{challenge.pk}/attachments/1/"' in page
    assert (challenge.filed_by, challenge.on_behalf_of) == (world.fay, None)
    record.refresh_from_db()
    assert record.status == EvidenceStatus.DISPUTED
    own = text(client.get("/me/"))
    assert f'href="/challenges/{challenge.pk}/"' in own
    assert f'?evidence={record.pk}"' not in own  # no second challenge offered
    assert AccessEvent.objects.filter(
        view="file-challenge", object_type="flags.evidencerecord", object_id=str(record.pk)
    ).exists()
    assert AccessEvent.objects.filter(
        view="my-challenge", object_type="appeals.challenge", object_id=str(challenge.pk)
    ).exists()


def test_a_representative_files_on_fays_behalf(world: World) -> None:
    grant(world)
    client = browser(rhea(world))
    record = world.records[1]
    url = f"/challenges/new/?evidence={record.pk}&subject={world.subject.pk}"
    assert "You are acting for" in text(client.get(url))

    response = client.post(url, challenge_form(world, record, kind="not_mine"))

    challenge = Challenge.objects.get()
    assert response.headers["Location"] == f"/challenges/{challenge.pk}/"
    assert (challenge.filed_by, challenge.on_behalf_of) == (rhea(world), world.fay)
    page = text(client.get(f"/challenges/{challenge.pk}/"))
    assert "You are acting for" in page and "on behalf of fay.flagged" in page
    event = AccessEvent.objects.get(view="my-challenge")
    assert event.on_behalf_of_user_id == world.fay.pk


def test_a_decision_is_challenged_with_its_kind_fixed(world: World) -> None:
    recommendation = recommended(world)
    client = browser(world.fay)
    page = text(client.get("/me/"))
    assert f'href="/challenges/new/?decision={recommendation.pk}"' in page
    start = Decision.objects.get(case=world.case, kind=DecisionKind.TRIAGE)
    assert f'?decision={start.pk}"' not in page  # starting a review is not a decision on her

    form = text(client.get(f"/challenges/new/?decision={recommendation.pk}"))
    assert "Challenge this decision" in form and 'name="kind" value="decision"' in form
    assert "The overtime pattern needs a conversation" in form

    response = client.post(
        f"/challenges/new/?decision={recommendation.pk}",
        {"kind": "inaccurate", "grounds": "Management advice is not warranted."},
    )

    challenge = Challenge.objects.get()
    assert response.status_code == 302
    assert (challenge.kind, challenge.decision_id) == ("decision", recommendation.pk)
    decide(world, challenge, "upheld", remedy="set_aside")
    after = text(client.get("/me/"))
    set_aside = Decision.objects.get(kind=DecisionKind.SET_ASIDE)
    assert f"Set aside by decision {set_aside.pk}" in after
    assert f"decision {recommendation.pk} no longer stands" in after
    assert f'?decision={recommendation.pk}"' not in after


def test_a_refused_challenge_keeps_what_was_typed_and_shows_each_problem(world: World) -> None:
    before = row_counts()
    record = world.records[0]

    response = browser(world.fay).post(
        f"/challenges/new/?evidence={record.pk}",
        {"kind": "inaccurate", "grounds": "  ", "proposed_correction": ""},
    )

    assert response.status_code == 422
    page = text(response)
    assert "Error: Challenge a record" in page
    assert '<a href="#id_grounds">Say why, in your own words.</a>' in page
    assert '<a href="#id_proposed_correction">Say what the record should say.</a>' in page
    assert 'id="id_grounds-error"' in page
    assert row_counts() == before


def test_a_kind_that_is_not_a_data_challenge_is_no_choice(world: World) -> None:
    response = browser(world.fay).post(
        f"/challenges/new/?evidence={world.records[0].pk}",
        challenge_form(world, world.records[0], kind="decision"),
    )
    assert response.status_code == 422
    assert "Choose what kind of challenge this is." in text(response)


def test_a_second_challenge_to_the_same_record_points_to_the_first(world: World) -> None:
    first = file_inaccurate(world, world.records[0])

    response = browser(world.fay).post(
        f"/challenges/new/?evidence={world.records[0].pk}",
        challenge_form(world, world.records[0]),
    )

    assert response.status_code == 409
    assert f"Challenge {first.pk} to this is already open" in text(response)
    assert Challenge.objects.count() == 1


def test_grounds_are_shown_escaped(world: World) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="lacks_context",
            evidence=world.records[0].pk,
            grounds='<script>alert("x")</script> I was covering a colleague.',
        ),
        actor=world.as_fay,
    )

    page = text(browser(world.fay).get(f"/challenges/{challenge.pk}/"))

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?evidence=abc",
        "?evidence=99999999999999999999999",
        "?evidence=1&decision=1",
        "?decision=-1",
    ],
)
def test_a_malformed_target_is_answered_with_a_404_not_an_error(world: World, query: str) -> None:
    response = browser(world.fay).get(f"/challenges/new/{query}")
    assert response.status_code == 404
    assert NOT_FOUND.search(text(response))


def test_another_person_asking_about_fay_gets_what_a_missing_id_gets(
    world: World, private_files: Path
) -> None:
    challenge = services.file_challenge(
        services.ChallengeRequest(
            kind="not_mine", evidence=world.records[0].pk, grounds="Not my claim at all."
        ),
        actor=world.as_fay,
        files=[SimpleUploadedFile("a.pdf", PDF, "application/pdf")],
    )
    gus = browser(flagged_subject("gus.grey"))
    missing = 999999

    # (what Gus asks about Fay's, the same of nothing, the words naming the id in each answer)
    pairs = [
        (f"/challenges/{challenge.pk}/", f"/challenges/{missing}/", "challenge {}"),
        (
            f"/challenges/{challenge.pk}/attachments/1/",
            f"/challenges/{missing}/attachments/1/",
            "challenge {}",
        ),
        (
            f"/challenges/new/?evidence={world.records[1].pk}",
            f"/challenges/new/?evidence={missing}",
            "record {}",
        ),
    ]
    ids = {f"/challenges/new/?evidence={world.records[1].pk}": world.records[1].pk}
    for theirs, nothing, words in pairs:
        pk = ids.get(theirs, challenge.pk)
        seen = not_found_words(gus.get(theirs)).replace(words.format(pk), words.format("N"))
        absent = not_found_words(gus.get(nothing)).replace(words.format(missing), words.format("N"))
        assert seen == absent, theirs
    # Naming Fay as the person acted for is answered as naming no one.
    as_fay = f"/challenges/new/?evidence={world.records[1].pk}&subject={world.subject.pk}"
    as_nobody = f"/challenges/new/?evidence={world.records[1].pk}&subject={missing}"
    assert not_found_words(gus.get(as_fay)) == not_found_words(gus.get(as_nobody))
    escalated = gus.post(f"/challenges/{challenge.pk}/escalate/", {"grounds": "Let me in."})
    assert not_found_words(escalated) == f"There is no challenge {challenge.pk} that you may see."


@pytest.mark.parametrize("username", ["rita.reviewer", "dan.steward", "olive.oversight"])
def test_staff_are_served_by_other_pages_for_fays_challenge(world: World, username: str) -> None:
    challenge = file_inaccurate(world, world.records[0])
    client = browser(world.people[username])

    response = client.get(f"/challenges/{challenge.pk}/")

    assert not_found_words(response) == f"There is no challenge {challenge.pk} that you may see."


# --- attachments ---------------------------------------------------------------------------------


def file_with(world: World, client: Client, files: list[Any], record: int = 0) -> Any:
    evidence = world.records[record]
    return client.post(
        f"/challenges/new/?evidence={evidence.pk}",
        {**challenge_form(world, evidence), "attachments": files},
    )


@pytest.mark.parametrize(
    ("files", "says"),
    [
        (
            lambda: [SimpleUploadedFile("rota.pdf", PNG, "application/pdf")],
            "rota.pdf is a PNG image, not a PDF.",
        ),
        (lambda: [SimpleUploadedFile("blank.pdf", b"", "application/pdf")], "blank.pdf is empty."),
        (
            lambda: [SimpleUploadedFile(f"p{n}.pdf", PDF, "application/pdf") for n in range(6)],
            "Attach at most 5 files to a challenge: 6 were given.",
        ),
        (
            lambda: [SimpleUploadedFile("big.pdf", PDF + b"%" * 2048, "application/pdf")],
            "big.pdf is larger than 2 KiB, the most a file may be.",
        ),
    ],
)
def test_a_refused_upload_says_why_and_writes_nothing(
    world: World, private_files: Path, settings: Any, files: Any, says: str
) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_BYTES = 2048
    before, tail = row_counts(), AuditTail()

    response = file_with(world, browser(world.fay), files())

    assert response.status_code == 422
    page = text(response)
    assert f'<a href="#id_attachments">{says}' in page
    assert 'id="id_attachments-error"' in page
    assert not Challenge.objects.exists()
    assert tail.events() == []
    assert row_counts() == before
    assert stored_files(private_files) == []


def test_a_five_megabyte_pdf_is_accepted_and_downloaded_as_an_attachment(
    world: World, private_files: Path
) -> None:
    large = PDF + b"%" + b"x" * (5 * 1024 * 1024)
    client = browser(world.fay)

    response = file_with(world, client, [SimpleUploadedFile("Statement.pdf", large)])

    challenge = Challenge.objects.get()
    assert response.headers["Location"] == f"/challenges/{challenge.pk}/"
    attachment = ChallengeAttachment.objects.get()
    assert attachment.size == len(large)
    download = client.get(f"/challenges/{challenge.pk}/attachments/1/")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="Statement.pdf"'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == large  # type: ignore[attr-defined]
    event = AccessEvent.objects.get(view="challenge-attachment")
    assert (event.object_type, event.object_id) == (
        "appeals.challengeattachment",
        str(attachment.pk),
    )
    assert (event.username, event.purpose, event.channel) == (
        "fay.flagged",
        "own record",
        "download",
    )


def test_downloads_are_logged_for_whoever_may_see_the_challenge(
    world: World, private_files: Path
) -> None:
    grant(world)
    challenge = services.file_challenge(
        services.ChallengeRequest(kind="not_mine", evidence=world.records[0].pk, grounds="No."),
        actor=world.as_fay,
        files=[SimpleUploadedFile("a.pdf", PDF, "application/pdf")],
    )
    url = f"/challenges/{challenge.pk}/attachments/1/"

    assert browser(rhea(world)).get(url).status_code == 200
    assert browser(world.people["dan.steward"]).get(url).status_code == 200
    assert not_found_words(browser(world.people["olive.oversight"]).get(url))
    assert not_found_words(browser(world.fay).get(f"/challenges/{challenge.pk}/attachments/2/"))
    assert browser(world.fay).post(url).status_code == 405

    events = AccessEvent.objects.filter(view="challenge-attachment").order_by("pk")
    assert [(e.username, e.on_behalf_of_user_id, e.purpose) for e in events] == [
        ("rhea.rep", world.fay.pk, "representation"),
        ("dan.steward", None, "challenge adjudication"),
    ]


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def upload_environ(length: int) -> dict[str, Any]:
    return {
        "CONTENT_TYPE": "multipart/form-data; boundary=BoUnDaRy",
        "CONTENT_LENGTH": str(length),
        "wsgi.input": Unreadable(),
    }


def test_a_body_over_the_challenge_forms_own_limit_is_refused_before_it_is_read(
    world: World, settings: Any, private_files: Path
) -> None:
    settings.CHALLENGE_ATTACHMENT_MAX_COUNT = 2
    limit = 2 * settings.CHALLENGE_ATTACHMENT_MAX_BYTES + 256 * 1024
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.fay)
    url = f"/challenges/new/?evidence={world.records[0].pk}"
    assert client.get(url).status_code == 200
    before = row_counts()

    response = client.generic("POST", url, **upload_environ(limit + 1))

    assert response.status_code == 413
    assert "What you sent is too large" in text(response)
    assert f"at most {-(-limit // 1024)} KiB" in text(response)
    assert row_counts() == before
    assert stored_files(private_files) == []
    # Elsewhere the common limit still holds.
    elsewhere = client.generic(
        "POST", "/me/representatives/", **upload_environ(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    )
    assert elsewhere.status_code == 400


# --- a challenge's page, and escalation ----------------------------------------------------------


def test_the_challenge_page_shows_the_deadlines_and_the_decision(world: World) -> None:
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")

    page = text(browser(world.fay).get(f"/challenges/{challenge.pk}/"))

    assert f"Acknowledge by {challenge.acknowledge_due.day}" in page
    assert "Met</strong> done on" in page
    assert REASONS in page and "Rejected" in page
    assert f"Escalate by {challenge.escalation_due.day}" in page  # type: ignore[union-attr]
    assert f'action="/challenges/{challenge.pk}/escalate/"' in page


def test_fay_escalates_a_rejection_once_and_the_final_decision_says_so(world: World) -> None:
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    client = browser(world.fay)

    empty = client.post(f"/challenges/{challenge.pk}/escalate/", {"grounds": ""})
    assert empty.status_code == 422
    assert "Say why, in your own words." in text(empty)

    response = client.post(
        f"/challenges/{challenge.pk}/escalate/",
        {"grounds": "The steward did not read the leave record I attached."},
        follow=True,
    )

    challenge.refresh_from_db()
    assert challenge.status == ChallengeStatus.ESCALATED
    page = text(response)
    assert f"You escalated challenge {challenge.pk}" in page
    assert "Their decision is final in Scrutiny." in page
    assert "escalate/" not in page.split("<main")[1]  # no second escalation offered
    again = client.post(f"/challenges/{challenge.pk}/escalate/", {"grounds": "Again."})
    assert again.status_code == 409
    assert "may be escalated only once" in text(again)

    services.decide_escalation(
        challenge.pk,
        services.Adjudication(
            finding="upheld", reasons=REASONS, remedy="withdrawn", no_conflict_declared=True
        ),
        actor=world.actor("sue.senior"),
    )
    final = text(client.get(f"/challenges/{challenge.pk}/"))
    assert "This decision is final in Scrutiny." in final
    assert "The record was withdrawn" in final
    record = text(client.get("/me/"))
    assert "Evaluated again after a correction" in record
    assert f"challenge {challenge.pk} upheld" in record


def test_an_escalation_after_the_window_is_refused(world: World, time_machine: Any) -> None:
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    time_machine.move_to(NOW + timedelta(days=30), tick=False)
    client = browser(world.fay)

    page = text(client.get(f"/challenges/{challenge.pk}/"))
    response = client.post(f"/challenges/{challenge.pk}/escalate/", {"grounds": "Too late?"})

    assert "the time to escalate has passed" in page and "/escalate/" not in page
    assert response.status_code == 409
    assert f"The time to escalate challenge {challenge.pk} ended on" in text(response)


# --- every form carries a CSRF token -------------------------------------------------------------


FORM = re.compile(r'<form method="post"[^>]*>(.*?)</form>', re.DOTALL)


def test_every_form_carries_a_csrf_token(world: World) -> None:
    pending = grant(world, accept=False)
    challenge = decide(world, file_inaccurate(world, world.records[0]), "rejected")
    fay, rep = browser(world.fay), browser(rhea(world))
    pages = [
        fay.get("/me/representatives/"),
        fay.get(f"/challenges/new/?evidence={world.records[1].pk}"),
        fay.get(f"/challenges/{challenge.pk}/"),
        rep.get("/representing/"),
    ]
    services.accept_representation(pending.pk, actor=world.actor("rhea.rep"))
    pages.append(rep.get("/representing/"))

    forms = [form for page in pages for form in FORM.findall(text(page))]

    # Each page's own forms, beside the navigation's sign-out form.
    assert len(forms) >= 2 * len(pages) + 2
    assert all('name="csrfmiddlewaretoken"' in form for form in forms)


def test_a_post_without_the_token_is_refused(world: World) -> None:
    made = grant(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.fay)

    response = client.post(f"/representations/{made.pk}/revoke/")

    assert response.status_code == 403
    made.refresh_from_db()
    assert made.status == RepresentationStatus.ACTIVE


# --- the front door ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "start"), [("sid.subject", "/me/"), ("rhea.rep", "/representing/")]
)
def test_the_person_and_the_representative_start_on_their_own_pages(
    people: dict[str, Any], username: str, start: str
) -> None:
    assert browser(people[username]).get("/").headers["Location"] == start


def test_no_notice_is_marked_read_by_looking(world: World) -> None:
    grant(world)
    before = list(AppealNotice.objects.values_list("pk", "emailed_at", "email_attempts"))

    browser(world.fay).get("/me/")
    browser(rhea(world)).get("/representing/")

    after = list(AppealNotice.objects.values_list("pk", "emailed_at", "email_attempts"))
    assert before == after

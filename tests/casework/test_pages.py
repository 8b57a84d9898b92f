"""The reviewer pages: sign-in, the work queue, a case, and its action forms."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AccessEvent
from casework.models import Case, CaseStatus
from tests.casework.steps import signed_as_recommended
from tests.conftest import PASSWORD
from tests.factories import CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "Every claim matches a rostered shift and a manager's approval."


@pytest.fixture(autouse=True)
def _frozen(frozen_today: Any) -> None:
    return None


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response", name="Pat Jones"))


def signed_in(people: dict[str, Any], username: str) -> Client:
    client = Client()
    client.force_login(people[username])
    return client


def act(client: Client, case: Case, action: str, **fields: str) -> Any:
    fields = signed_as_recommended(case.pk, action, fields)
    data = {
        "action": action,
        "expected_status": Case.objects.get(pk=case.pk).status,
        "rationale": REASONS,
        "no_conflict_declared": "on",
        **fields,
    }
    return client.post(f"/cases/{case.pk}/act/", data)


def test_signing_in_leads_to_the_queue(people: dict[str, Any], case: Case) -> None:
    client = Client()
    response = client.post("/sign-in/", {"username": "rita.reviewer", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get(response["Location"]).headers["Location"] == "/cases/"


@pytest.mark.parametrize(
    ("username", "start"),
    [
        ("sam.senior", "/cases/"),
        ("alan.admin", "/admin/"),
        ("dan.steward", "/adjudication/"),
        ("olive.oversight", "/your-role/"),
        ("rhea.rep", "/representing/"),
        ("sid.subject", "/me/"),
    ],
)
def test_each_role_starts_on_its_own_page(
    people: dict[str, Any], username: str, start: str
) -> None:
    assert signed_in(people, username).get("/").headers["Location"] == start


def test_a_subject_reads_the_notices_sent_to_them(
    people: dict[str, Any], time_machine: Any
) -> None:
    from datetime import timedelta

    from audit.actors import system_actor
    from casework.services import send_due_notifications
    from tests.factories import NOW

    case = CaseFactory.create(subject=people["sid.subject"].subject)
    client = signed_in(people, "sid.subject")
    assert "You have no notices." in client.get("/notices/").content.decode()

    time_machine.move_to(NOW + timedelta(days=2), tick=False)
    send_due_notifications(actor=system_actor())
    page = signed_in(people, "sid.subject").get("/notices/").content.decode()  # a new session

    assert f"Case {case.pk}," in page
    assert "A case about you has been opened" in page
    assert AccessEvent.objects.filter(view="my-notices", purpose="own record").count() == 1


def test_a_wrong_password_is_refused_with_a_message(people: dict[str, Any]) -> None:
    response = Client().post("/sign-in/", {"username": "rita.reviewer", "password": "wrong"})

    assert response.status_code == 200
    assert "Enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_signing_in(people: dict[str, Any], settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "rita.reviewer", "password": "wrong"})

    response = client.post("/sign-in/", {"username": "rita.reviewer", "password": PASSWORD})

    assert response.status_code == 429
    assert "Signing in is locked" in response.content.decode()


def test_signing_out_is_a_post(people: dict[str, Any]) -> None:
    client = signed_in(people, "rita.reviewer")

    assert client.get("/sign-out/").status_code == 405
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/cases/").status_code == 302


def test_the_queue_lists_cases_with_counts_and_logs_each_person_shown(
    people: dict[str, Any], case: Case
) -> None:
    CaseFactory.create(status=CaseStatus.CLOSED)

    response = signed_in(people, "rita.reviewer").get("/cases/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Pat Jones" in page
    assert "Overtime fraud" in page
    assert response.context["counts"][0] == {"status": "open", "label": "Open", "count": 1}
    assert [e.subject_id for e in AccessEvent.objects.all()] == [case.subject_id]


def test_the_queue_filters_and_sorts(people: dict[str, Any], case: Case) -> None:
    client = signed_in(people, "rita.reviewer")

    assert "Pat Jones" not in client.get("/cases/?status=closed").content.decode()
    assert "Pat Jones" in client.get("/cases/?status=all&sort=due").content.decode()
    assert "Pat Jones" not in client.get("/cases/?unit=West").content.decode()
    response = client.get("/cases/?due_before=not-a-date")
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()


def test_a_case_page_explains_the_case_and_offers_what_the_viewer_may_do(
    people: dict[str, Any], case: Case
) -> None:
    met = {"category": "overtime_fraud", "met": True, "explanation": "Two flags.", "counted": []}
    trace = {"summary": "Overtime fraud: met.", "categories": [{**met, "rule": {"min_score": 0.6}}]}
    Case.objects.filter(pk=case.pk).update(trace=trace)  # test set-up: a trace with a category

    response = signed_in(people, "rita.reviewer").get(f"/cases/{case.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Why this case opened" in page
    assert "Claims far above peers." in page
    assert 'data-action="start_review"' in page
    assert 'data-action="defer_notification"' not in page
    assert "needs a senior reviewer, not a reviewer" in page
    assert "Passed: this case is not about you" in page
    assert "Overtime fraud: threshold met" in page
    assert AccessEvent.objects.filter(view="case-page", subject_id=case.subject_id).count() == 1


def test_a_case_walks_to_closed_through_the_pages(people: dict[str, Any], case: Case) -> None:
    rita = signed_in(people, "rita.reviewer")
    ravi = signed_in(people, "ravi.reviewer")

    assert act(rita, case, "start_review").status_code == 302
    assert act(rita, case, "recommend", outcome="welfare_support").status_code == 302
    response = act(ravi, case, "sign_off")

    assert response.status_code == 302
    follow = ravi.get(response["Location"])
    assert "You signed off this outcome: welfare support. The case is now closed." in (
        follow.content.decode()
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    history = follow.context["case_history"]
    assert ("status", "awaiting_sign_off", "closed") in history[-1].changes


def test_a_refused_action_shows_the_reason_and_saves_nothing(
    people: dict[str, Any], case: Case
) -> None:
    response = act(signed_in(people, "rita.reviewer"), case, "sign_off")

    assert response.status_code == 409
    assert "Nothing was saved" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_missing_reasons_are_shown_against_the_field(people: dict[str, Any], case: Case) -> None:
    response = act(signed_in(people, "rita.reviewer"), case, "start_review", rationale="short")

    page = response.content.decode()
    assert response.status_code == 422
    assert 'href="#start_review-rationale"' in page
    assert "Give your reasons in at least 20 characters." in page


def test_a_stale_form_is_refused(people: dict[str, Any], case: Case) -> None:
    act(signed_in(people, "rita.reviewer"), case, "start_review")

    response = act(signed_in(people, "ravi.reviewer"), case, "start_review", expected_status="open")

    assert response.status_code == 409
    assert "Someone else acted on this case" in response.content.decode()


def test_forms_need_a_csrf_token(people: dict[str, Any], case: Case) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["rita.reviewer"])

    assert act(client, case, "start_review").status_code == 403
    assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_nobody_sees_a_case_about_themselves(people: dict[str, Any]) -> None:
    own = CaseFactory.create(subject=people["rita.reviewer"].subject)
    client = signed_in(people, "rita.reviewer")

    refused = client.get(f"/cases/{own.pk}/")
    missing = client.get(f"/cases/{own.pk + 1}/")

    assert (refused.status_code, missing.status_code) == (404, 404)
    assert refused.templates[0].name == missing.templates[0].name == "404.html"


def test_a_reviewer_barred_by_a_case_of_their_own_sees_an_ordinary_empty_queue(
    people: dict[str, Any],
) -> None:
    def queue_text(username: str) -> str:
        page = signed_in(people, username).get("/cases/").content.decode()
        main = page[page.index("<main") : page.index("</main>")]
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", main)

    nothing_to_review = queue_text("rita.reviewer")
    CaseFactory.create(subject=people["rita.reviewer"].subject)

    assert queue_text("rita.reviewer") == nothing_to_review
    assert "at present" not in nothing_to_review


def test_a_reviewer_not_linked_to_the_register_is_told_so(people: dict[str, Any]) -> None:
    from flags.models import Subject

    Subject.objects.filter(user=people["rita.reviewer"]).update(user=None)  # set-up

    page = signed_in(people, "rita.reviewer").get("/cases/").content.decode()

    assert "Your account is not linked to your own record in the workforce register" in page


def test_personal_data_is_escaped(people: dict[str, Any]) -> None:
    case = CaseFactory.create(subject=SubjectFactory.create(name="<script>alert(1)</script>"))

    page = signed_in(people, "rita.reviewer").get(f"/cases/{case.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("extra_cases", [0, 30])
def test_page_query_counts_do_not_grow_with_the_data(
    people: dict[str, Any], case: Case, extra_cases: int
) -> None:
    for _ in range(extra_cases):
        CaseFactory.create()
    client = signed_in(people, "rita.reviewer")
    counts = []
    for url in ("/cases/", f"/cases/{case.pk}/"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))

    assert counts == EXPECTED_QUERIES


# Every page: session, user, role, and whether the person has a record of their own (the
# navigation's "Your record"). The queue: the people they may not see (their conflict scope, one
# query with their own record and their live-case check), the count, the page of rows,
# categories, the access log with the audit event that records it (5), the counts per state. The
# case page: scope, the case, its flags, their evidence, decisions, notices, the
# subject's accounts of the evidence's context, the case's re-evaluations, the conflict check
# (1), the rules of the steps on offer (who made a decision set aside; whether evidence is
# disputed; whether a challenge to a decision is open; whether the data still meets the
# threshold: flags and their evidence), the challenges panel (the challenges and their
# attachments), the access log with its audit event (5), and the case's and its flags' history.
# Fixed numbers: a change here should be deliberate.
EXPECTED_QUERIES = [14, 27]


def test_a_senior_reviewer_assigns_a_case_from_its_page(people: dict[str, Any], case: Case) -> None:
    sam = signed_in(people, "sam.senior")
    page = sam.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="assign"' in page
    assert '<option value="ravi.reviewer">' in page

    response = act(sam, case, "assign", assign_to="ravi.reviewer")

    assert response.status_code == 302
    timeline = sam.get(f"/cases/{case.pk}/").context["timeline"]
    assert (timeline[-1].title, timeline[-1].outcome) == ("Assignment", "to ravi.reviewer")


def test_an_evidence_payload_reads_as_fields_and_values_not_python(
    people: dict[str, Any],
) -> None:
    from casework.models import AttachedVia, CaseFlag
    from flags.models import FlagEvidence
    from tests.factories import NOW, EvidenceRecordFactory, FlagFactory

    case = CaseFactory.create(subject=SubjectFactory.create(unit="East Response"), with_flag=False)
    flag = FlagFactory.create(subject=case.subject)
    payload = {
        "authorised_by": "915906",
        "shift": {"start": "18:00", "approved": True},
        "hours": [9.5, 2],
        "note": "<b>late</b>",
        "manager": None,
    }
    evidence = EvidenceRecordFactory.create(payload=payload, content_hash="1" * 64)
    FlagEvidence.objects.create(flag=flag, evidence=evidence, position=0)
    CaseFlag.objects.create(
        case=case, flag=flag, attached_at=NOW, via=AttachedVia.OPENING, category=flag.category
    )

    page = signed_in(people, "rita.reviewer").get(f"/cases/{case.pk}/").content.decode()

    rows = re.findall(
        r'<dt class="govuk-summary-list__key">([^<]*)</dt><dd class="govuk-summary-list__value">'
        r"([^<]*)</dd>",
        page,
    )
    shown = [
        row for row in rows if row[0].startswith(("Authorised", "Shift", "Hours", "Note", "Man"))
    ]
    assert sorted(shown) == sorted(
        [
            ("Authorised by", "915906"),
            ("Shift / Start", "18:00"),
            ("Shift / Approved", "Yes"),
            ("Hours / item 1", "9.5"),
            ("Hours / item 2", "2"),
            ("Note", "&lt;b&gt;late&lt;/b&gt;"),
            ("Manager", "Not given"),
        ]
    )
    assert shown.index(("Hours / item 1", "9.5")) + 1 == shown.index(("Hours / item 2", "2"))
    assert "{&#x27;" not in page and "{'" not in page


@pytest.mark.parametrize(
    ("username", "action", "fields", "message"),
    [
        ("rita.reviewer", "start_review", {}, "You started the review. The case is now in review."),
        (
            "sam.senior",
            "assign",
            {"assign_to": "ravi.reviewer"},
            "You assigned the case to ravi.reviewer.",
        ),
        (
            "sam.senior",
            "defer_notification",
            {"deferred_until": "2026-07-01"},
            "You deferred telling the person this case is about: they will be told no later "
            "than 1 July 2026.",
        ),
        ("rita.reviewer", "withdraw", {}, "You withdrew the case. The case is now withdrawn."),
    ],
)
def test_each_action_is_confirmed_in_plain_words(
    people: dict[str, Any],
    case: Case,
    username: str,
    action: str,
    fields: dict[str, str],
    message: str,
) -> None:
    client = signed_in(people, username)

    response = act(client, case, action, **fields)

    assert response.status_code == 302, response.content.decode()[:300]
    assert message in client.get(response["Location"]).content.decode()


def test_every_decision_has_its_own_plain_confirmation() -> None:
    from casework.models import DecisionKind
    from casework.views import _DONE

    assert set(_DONE) == set(DecisionKind)
    assert all(text.startswith("You ") and text.endswith(".") for text in _DONE.values())

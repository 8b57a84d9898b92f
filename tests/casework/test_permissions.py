"""Every role, an outsider with none, a person with two, and superusers, through every reviewer
page and action.

Reviewers and senior reviewers see the queue and cases and act as the workflow table allows;
every other role is refused (403); a person with no role or two is told so (403, ``no_role``);
superuser status adds nothing: a superuser with no role is refused as having no role, and one
holding the reviewer role has exactly a reviewer's rights. Nobody signed out gets past the
sign-in page. A case the viewer may not see answers exactly as one that does not exist.
"""

import re
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from accounts.per_request import forget
from accounts.roles import actor_for
from accounts.services import issue_personal_token
from audit.actors import Role
from casework.models import Case, CaseStatus, Decision
from casework.workflow import Action
from tests.factories import CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "Reasons long enough to be accepted by the service."
RESULT = {
    "result": "misconduct_found",
    "concluded_on": "2026-06-15",
    "reasons": REASONS,
    "no_conflict_declared": True,
}
REVIEWERS = ("rita.reviewer", "sam.senior", "root.reviewer")
OTHERS = ("dan.steward", "olive.oversight", "alan.admin", "sid.subject", "rhea.rep")
# Signed in, but with no role or two: refused everywhere as such, whatever else they are.
ROLELESS = ("otto.outsider", "root", "tess.two")
EVERYONE = REVIEWERS + OTHERS + ROLELESS

# On an open case with no challenge open, whose data no longer meets the threshold: which actions
# each reviewing role may take now (the rest are refused, 409).
ALLOWED_ON_OPEN = {
    "rita.reviewer": {"start_review", "withdraw"},
    "root.reviewer": {"start_review", "withdraw"},
    "sam.senior": {"start_review", "withdraw", "defer_notification", "assign"},
}


@pytest.fixture(autouse=True)
def _frozen(frozen_today: Any) -> None:
    return None


@pytest.fixture
def people(people: dict[str, Any]) -> dict[str, Any]:
    """Everyone in conftest's ``people``, plus a superuser with no role, a superuser who is
    also a reviewer (linked to their own record), and a person holding two roles."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    root = users.create_superuser("root", password="x" * 20)
    root_reviewer = users.create_superuser("root.reviewer", password="x" * 20)
    root_reviewer.groups.add(Group.objects.get(name=Role.REVIEWER))
    SubjectFactory.create(unit="Professional Standards", user=root_reviewer)
    tess = users.create_user("tess.two", password="x" * 20)
    tess.groups.add(*Group.objects.filter(name__in=[Role.REVIEWER, Role.DATA_STEWARD]))
    for user in (root, root_reviewer, tess):
        forget(user)
    return {**people, "root": root, "root.reviewer": root_reviewer, "tess.two": tess}


@pytest.fixture
def case() -> Case:
    return CaseFactory.create(subject=SubjectFactory.create(unit="East Response"))


def browser_for(people: dict[str, Any], username: str | None) -> Client:
    client = Client()
    if username:
        client.force_login(people[username])
    return client


def api_for(people: dict[str, Any], username: str | None) -> APIClient:
    client = APIClient()
    if username:
        token = issue_personal_token(people[username], actor=actor_for(people["alan.admin"])).token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize("username", EVERYONE)
@pytest.mark.parametrize("page", ["/cases/", "/cases/{id}/"])
def test_pages_are_for_reviewers_only(
    people: dict[str, Any], case: Case, username: str, page: str
) -> None:
    response = browser_for(people, username).get(page.format(id=case.pk))

    assert response.status_code == (200 if username in REVIEWERS else 403)
    if username in ROLELESS:
        assert "Ask an administrator" in response.content.decode()


@pytest.mark.parametrize("username", ROLELESS)
@pytest.mark.parametrize("page", ["/", "/cases/", "/cases/{id}/", "/notices/"])
def test_a_person_with_no_role_or_two_is_told_so_on_every_page(
    people: dict[str, Any], case: Case, username: str, page: str
) -> None:
    response = browser_for(people, username).get(page.format(id=case.pk))

    assert response.status_code == 403
    text = response.content.decode()
    assert "govuk-heading-l" in text  # the service's own error page, not a bare 403
    if username == "tess.two":
        assert "holds more than one role in Scrutiny (data steward and reviewer)" in text
    else:
        assert "Your account holds no role in Scrutiny" in text
    assert "Ask an administrator" in text


@pytest.mark.parametrize("username", ROLELESS)
def test_a_person_with_no_role_or_two_gets_a_no_role_error_from_the_api(
    people: dict[str, Any], case: Case, username: str
) -> None:
    client = api_for(people, username)

    answers = [
        client.get("/api/v1/cases/"),
        client.get(f"/api/v1/cases/{case.pk}/"),
        client.post(f"/api/v1/cases/{case.pk}/transitions/", {}, format="json"),
        client.post(f"/api/v1/cases/{case.pk}/referral-result/", {}, format="json"),
    ]

    assert [a.status_code for a in answers] == [403, 403, 403, 403]
    assert {a.json()["error"] for a in answers} == {"no_role"}
    assert all("Ask an administrator" in a.json()["detail"] for a in answers)


def test_a_superuser_is_not_offered_the_work_queue_without_a_reviewer_role(
    people: dict[str, Any],
) -> None:
    page = browser_for(people, "alan.admin").get("/notices/").content.decode()
    assert 'href="/cases/"' not in page
    reviewer_page = browser_for(people, "root.reviewer").get("/cases/").content.decode()
    assert 'href="/cases/"' in reviewer_page


@pytest.mark.parametrize("page", ["/cases/", "/cases/{id}/"])
def test_signed_out_visitors_are_sent_to_sign_in(case: Case, page: str) -> None:
    response = Client().get(page.format(id=case.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


@pytest.mark.parametrize("username", EVERYONE)
@pytest.mark.parametrize("action", Action.values)
def test_every_action_on_an_open_case_is_allowed_or_refused_by_role(
    people: dict[str, Any], case: Case, username: str, action: str
) -> None:
    data = {
        "action": action,
        "expected_status": "open",
        "rationale": REASONS,
        "no_conflict_declared": "on",
        "outcome": "no_further_action",
        "deferred_until": "2026-07-01",
        "assign_to": "ravi.reviewer",
    }

    response = browser_for(people, username).post(f"/cases/{case.pk}/act/", data)

    if username not in REVIEWERS:
        expected = 403
    elif action == Action.SET_ASIDE:
        expected = 400  # not offered on the case page: only an upheld challenge takes it
    elif action == Action.RECORD_REFERRAL_RESULT:
        expected = 400  # not an action form's: it has a form of its own (tested below)
    elif action in ALLOWED_ON_OPEN[username]:
        expected = 302
    else:
        expected = 409
    assert response.status_code == expected, response.content.decode()[:500]
    assert Decision.objects.filter(case=case).exists() is (expected == 302)
    if expected != 302:
        assert Case.objects.get(pk=case.pk).status == CaseStatus.OPEN


def test_signed_out_actions_are_sent_to_sign_in(case: Case) -> None:
    response = Client().post(f"/cases/{case.pk}/act/", {"action": "start_review"})

    assert response.status_code == 302
    assert not Decision.objects.exists()


@pytest.mark.parametrize("username", [*EVERYONE, None])
def test_the_api_is_for_reviewers_only(
    people: dict[str, Any], case: Case, username: str | None
) -> None:
    client = api_for(people, username)
    body = {"action": "start_review", "rationale": REASONS, "no_conflict_declared": True}

    statuses = [
        client.get("/api/v1/cases/").status_code,
        client.get(f"/api/v1/cases/{case.pk}/").status_code,
        client.post(f"/api/v1/cases/{case.pk}/transitions/", body, format="json").status_code,
        # The case is not referred: a reviewer is told so (409), anyone else is refused first.
        client.post(f"/api/v1/cases/{case.pk}/referral-result/", RESULT, format="json").status_code,
    ]

    if username in REVIEWERS:
        assert statuses == [200, 200, 201, 409]
    elif username is None:
        assert statuses == [401, 401, 401, 401]
    else:
        assert statuses == [403, 403, 403, 403]


def _comparable(response: Any, case_id: int) -> str:
    """The body with what differs on every request anyway (the sign-out form's CSRF token) and
    the case number asked for taken out."""
    body = response.content.decode()
    for mention in (f"case {case_id} ", f"cases/{case_id}/"):
        body = body.replace(mention, mention.replace(str(case_id), "N"))
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body)


@pytest.mark.parametrize("username", REVIEWERS)
def test_a_case_the_reviewer_may_not_see_answers_as_one_that_does_not_exist(
    people: dict[str, Any], username: str
) -> None:
    colleague = SubjectFactory.create(unit="Professional Standards")
    hidden = CaseFactory.create(subject=colleague).pk
    missing = hidden + 1000
    browser = browser_for(people, username)
    api = api_for(people, username)
    act = {"action": "start_review", "rationale": REASONS, "no_conflict_declared": "on"}
    body = {"action": "start_review", "rationale": REASONS, "no_conflict_declared": True}

    def answers(case_id: int) -> list[tuple[int, str, str]]:
        responses = [
            browser.get(f"/cases/{case_id}/"),
            browser.post(f"/cases/{case_id}/act/", act),
            browser.get(f"/cases/{case_id}/act/"),
            api.get(f"/api/v1/cases/{case_id}/"),
            api.post(f"/api/v1/cases/{case_id}/transitions/", body, format="json"),
            api.post(f"/api/v1/cases/{case_id}/transitions/", "[", content_type="text/plain"),
            api.get(f"/api/v1/cases/{case_id}/transitions/"),
            browser.post(f"/cases/{case_id}/referral-result/", RESULT),
            api.post(f"/api/v1/cases/{case_id}/referral-result/", RESULT, format="json"),
        ]
        return [(r.status_code, r.get("Allow", ""), _comparable(r, case_id)) for r in responses]

    seen = answers(hidden)

    assert seen == answers(missing)
    assert [status for status, _, _ in seen] == [404, 404, 405, 404, 404, 404, 405, 404, 404]
    assert f"/cases/{hidden}/" not in browser.get("/cases/?status=all").content.decode()
    assert not Decision.objects.exists()


@pytest.fixture
def referred(people: dict[str, Any], case: Case) -> Case:
    """``case``, referred today by two senior signatures on rita.reviewer's recommendation."""
    from casework.services import DecisionRequest, act_on_case

    for username, action, outcome in (
        ("rita.reviewer", "start_review", ""),
        ("rita.reviewer", "recommend", "referral"),
        ("sam.senior", "sign_referral", "referral"),
        ("sue.senior", "sign_referral", "referral"),
    ):
        act_on_case(
            case.pk,
            DecisionRequest(action, REASONS, outcome=outcome, no_conflict_declared=True),
            actor=actor_for(people[username]),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED
    return case


@pytest.mark.parametrize("username", [*EVERYONE, None])
def test_only_a_senior_reviewer_records_a_referrals_result_on_the_page_or_through_the_api(
    people: dict[str, Any], referred: Case, username: str | None
) -> None:
    from casework.models import ReferralResult

    page = browser_for(people, username).post(
        f"/cases/{referred.pk}/referral-result/", {**RESULT, "no_conflict_declared": "on"}
    )
    api = api_for(people, username).post(
        f"/api/v1/cases/{referred.pk}/referral-result/", RESULT, format="json"
    )

    if username == "sam.senior":
        # The page records it; the API then finds it recorded, and says so.
        expected = (302, 409)
    elif username in REVIEWERS:
        expected = (409, 409)  # a reviewer, not a senior reviewer
    elif username is None:
        expected = (302, 401)  # to the sign-in page; no token
    else:
        expected = (403, 403)
    assert (page.status_code, api.status_code) == expected
    assert ReferralResult.objects.filter(case=referred).exists() is (username == "sam.senior")

"""Every role, and an outsider with none, through every reviewer page and action.

Reviewers and senior reviewers see the queue and cases and act as the workflow table allows;
every other role is refused (403), and nobody signed out gets past the sign-in page.
"""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import actor_for
from accounts.services import issue_personal_token
from casework.models import Case, CaseStatus, Decision
from casework.workflow import Action
from tests.factories import CaseFactory, SubjectFactory

pytestmark = pytest.mark.django_db

REASONS = "Reasons long enough to be accepted by the service."
REVIEWERS = ("rita.reviewer", "sam.senior")
OTHERS = (
    "dan.steward",
    "olive.oversight",
    "alan.admin",
    "sid.subject",
    "rhea.rep",
    "otto.outsider",
)
EVERYONE = REVIEWERS + OTHERS

# On an open case with no challenge open, whose data no longer meets the threshold: which actions
# each reviewing role may take now (the rest are refused, 409).
ALLOWED_ON_OPEN = {
    "rita.reviewer": {"start_review", "withdraw"},
    "sam.senior": {"start_review", "withdraw", "defer_notification", "assign"},
}


@pytest.fixture(autouse=True)
def _frozen(frozen_today: Any) -> None:
    return None


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
    if username and username != "otto.outsider":
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
    ]

    if username in REVIEWERS:
        assert statuses == [200, 200, 201]
    elif username is None or username == "otto.outsider":
        assert statuses == [401, 401, 401]
    else:
        assert statuses == [403, 403, 403]


@pytest.mark.parametrize("username", REVIEWERS)
def test_a_conflicted_reviewer_is_refused_everywhere(people: dict[str, Any], username: str) -> None:
    colleague = SubjectFactory.create(unit="Professional Standards")
    case = CaseFactory.create(subject=colleague)
    browser = browser_for(people, username)
    api = api_for(people, username)

    assert browser.get(f"/cases/{case.pk}/").status_code == 403
    assert browser.post(f"/cases/{case.pk}/act/", {"action": "start_review"}).status_code == 403
    assert api.get(f"/api/v1/cases/{case.pk}/").status_code == 403
    assert f"/cases/{case.pk}/" not in browser.get("/cases/?status=all").content.decode()

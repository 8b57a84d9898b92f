"""casework.services.open_or_update_cases_for_new_flags, driven the way it runs: through ingest."""

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import SYSTEM_USERNAME, Actor, Role
from audit.chain import canonical_json, sha256_hex
from audit.insert_only import row_hash
from audit.models import AuditEvent
from casework.apps import install_default_policy_after_migrate
from casework.models import Case, CaseFlag, CaseStatus, PolicyStatus, ThresholdPolicy
from casework.policies import DEFAULT_RULES
from casework.services import install_default_policy
from flags.models import Detector, Flag, Subject
from tests.db_writes import AuditTail, row_counts
from tests.factories import (
    NOW,
    TODAY,
    ExpiredFlagFactory,
    FlagItemFactory,
    StrongFlagItemFactory,
    SubjectFactory,
    WeakFlagItemFactory,
    WithdrawnFlagFactory,
)
from tests.ingest_client import post_flags

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


@pytest.fixture
def subject() -> Subject:
    return SubjectFactory.create()


@pytest.fixture
def activate_policy(system: Actor) -> Any:
    """Retire the policy in force and activate ``rules`` as the next version (test set-up only:
    proposing and activating policies has no service yet)."""

    def activate(rules: dict[str, Any]) -> ThresholdPolicy:
        current = ThresholdPolicy.objects.get(status=PolicyStatus.ACTIVE)
        current.status = PolicyStatus.RETIRED
        current.save()
        now = timezone.now()
        return ThresholdPolicy.objects.create(
            version=current.version + 1,
            status=PolicyStatus.ACTIVE,
            rules=rules,
            proposed_at=now,
            proposed_by=system.user,
            activated_at=now,
            activated_by=system.user,
        )

    return activate


def overtime(subject: Subject, score: float = 0.7, **kwargs: Any) -> dict[str, Any]:
    return FlagItemFactory.build(subject=subject.staff_number, score=score, **kwargs)


def answers(response: Any) -> list[tuple[str, int | None]]:
    assert response.status_code == 200, response.content
    return [(item["status"], item["case"]) for item in response.json()["items"]]


# --- the default policy --------------------------------------------------------------------------


def test_the_default_policy_is_installed_as_active_version_1_after_migrate() -> None:
    policy = ThresholdPolicy.objects.get()

    assert (policy.version, policy.status, policy.rules) == (1, PolicyStatus.ACTIVE, DEFAULT_RULES)
    assert policy.proposed_by.username == SYSTEM_USERNAME
    assert policy.activated_by == policy.proposed_by
    seeded = AuditEvent.objects.get(action="threshold_policy.seeded")
    assert (seeded.target_type, seeded.target_id) == ("casework.thresholdpolicy", str(policy.pk))
    assert seeded.data == {"version": 1, "rules_hash": sha256_hex(canonical_json(DEFAULT_RULES))}
    assert (seeded.actor_username, seeded.actor_role) == (SYSTEM_USERNAME, Role.SYSTEM)
    history = policy.history.get()
    assert (history.history_user, history.history_change_reason) == (
        policy.proposed_by,
        "default policy installed",
    )


def test_installing_the_default_again_changes_nothing(system: Actor) -> None:
    before = row_counts()

    assert install_default_policy(actor=system) is None
    install_default_policy_after_migrate(sender=apps.get_app_config("casework"))

    assert row_counts() == before


# --- below the threshold -------------------------------------------------------------------------


def test_a_flag_below_the_threshold_is_kept_and_opens_no_case(
    detector_client: APIClient, subject: Subject
) -> None:
    tail = AuditTail()

    response = post_flags(detector_client, [overtime(subject, 0.89)])

    assert answers(response) == [("created", None)]
    assert Flag.objects.filter(subject=subject).exists()
    assert not Case.objects.exists()
    assert [a[0] for a in tail.actions()] == ["flag.received"]


def test_flags_under_the_minimum_score_never_add_up(
    detector_client: APIClient, subject: Subject
) -> None:
    response = post_flags(detector_client, [overtime(subject, 0.59) for _ in range(5)])

    assert answers(response) == [("created", None)] * 5
    assert not Case.objects.exists()


# --- opening a case ------------------------------------------------------------------------------


def test_two_counting_flags_open_a_case_with_the_policy_version_and_a_readable_trace(
    detector_client: APIClient, detector: Detector, subject: Subject
) -> None:
    items = [overtime(subject, 0.7, ended_days_ago=30), overtime(subject, 0.65, ended_days_ago=3)]
    tail = AuditTail()

    response = post_flags(detector_client, items)

    case = Case.objects.get()
    flags = {f.external_id: f for f in Flag.objects.all()}
    first, second = (flags[item["external_id"]] for item in items)
    assert answers(response) == [("created", case.pk), ("created", case.pk)]
    assert (case.subject, case.status, case.policy.version) == (subject, CaseStatus.OPEN, 1)
    assert (case.opened_at, case.opened_by.username) == (NOW, SYSTEM_USERNAME)
    assert case.trace["policy_version"] == case.policy.version == 1
    summary = (
        "Overtime fraud: flags scoring at least 0.6 in the last 180 days; "
        "2 counting flag(s) on separate evidence against a threshold of 2: met."
    )
    assert case.trace["summary"] == summary
    assert case.trace["met"] is True
    assert (case.trace["as_of"], case.trace["policy_version"]) == (TODAY.isoformat(), 1)
    [category] = case.trace["categories"]
    assert category["tests"] == [
        {"test": "count", "value": 2, "threshold": 2, "met": True},
        {"test": "single_flag_score", "value": 0.7, "threshold": 0.9, "met": False},
    ]
    assert category["counted"] == [
        {
            "id": flag.pk,
            "detector": "overtime",
            "external_id": flag.external_id,
            "score": flag.score,
            "window_end": flag.window_end.isoformat(),
            "episode": episode,
        }
        for episode, flag in enumerate((first, second), start=1)
    ]
    assert case.trace_flag_ids() == [first.pk, second.pk]
    assert set(CaseFlag.objects.values_list("flag_id", "via", "attached_at")) == {
        (first.pk, "opening", NOW),
        (second.pk, "opening", NOW),
    }
    assert tail.actions() == [
        ("flag.received", "flags.flag", str(first.pk)),
        ("flag.received", "flags.flag", str(second.pk)),
        ("case.opened", "casework.case", str(case.pk)),
    ]
    opened = tail.events()[-1]
    links = list(CaseFlag.objects.filter(case=case).order_by("pk"))
    assert (opened.actor_username, opened.actor_role) == (SYSTEM_USERNAME, Role.SYSTEM)
    assert opened.data == {
        "subject": subject.pk,
        "policy_version": 1,
        "flags": [first.pk, second.pk],
        "trace_hash": sha256_hex(canonical_json(case.trace)),
        "case_flags": [link.pk for link in links],
        "row_hash": row_hash(links),
    }
    assert opened.reason == "threshold met under policy v1"


def test_a_flag_from_an_earlier_batch_counts_toward_a_later_case(
    detector_client: APIClient, subject: Subject
) -> None:
    earlier = overtime(subject, 0.7)
    assert answers(post_flags(detector_client, [earlier])) == [("created", None)]

    response = post_flags(detector_client, [overtime(subject, 0.7)])

    case = Case.objects.get()
    assert answers(response) == [("created", case.pk)]
    assert set(case.trace_flag_ids()) == set(Flag.objects.values_list("pk", flat=True))
    # Replaying the earlier flag now names the case it was attached to.
    assert answers(post_flags(detector_client, [earlier])) == [("duplicate", case.pk)]


@pytest.mark.parametrize(("score", "opens"), [(0.89, False), (0.9, True)])
def test_one_flag_at_the_single_flag_score_opens_a_case(
    detector_client: APIClient, subject: Subject, score: float, opens: bool
) -> None:
    post_flags(detector_client, [overtime(subject, score)])

    assert Case.objects.filter(subject=subject).exists() is opens


@pytest.mark.parametrize(("days_ago", "opens"), [(180, True), (181, False)])
def test_the_rolling_window_ends_window_days_before_today(
    detector_client: APIClient, subject: Subject, days_ago: int, opens: bool
) -> None:
    """Overtime counts flags whose window ended in the last 180 days, the 180th day included."""
    post_flags(detector_client, [overtime(subject, ended_days_ago=days_ago), overtime(subject)])

    assert Case.objects.exists() is opens


def test_the_window_rolls_forward_with_today(
    detector_client: APIClient, subject: Subject, time_machine: Any
) -> None:
    post_flags(detector_client, [overtime(subject)])  # window ended 14 days ago
    time_machine.move_to(NOW + timedelta(days=167), tick=False)  # it ended 181 days ago

    post_flags(detector_client, [overtime(subject, today=TODAY + timedelta(days=167))])

    assert not Case.objects.exists()


def test_today_is_londons_today(
    detector_client: APIClient, subject: Subject, time_machine: Any
) -> None:
    """At 23:30 UTC on 14 June it is already 15 June in London: the window ends on the 15th, so
    a flag whose window ended 181 days before the 15th no longer counts."""
    time_machine.move_to(NOW.replace(day=14, hour=23, minute=30), tick=False)

    post_flags(detector_client, [overtime(subject, ended_days_ago=181), overtime(subject)])

    assert not Case.objects.exists()


def test_the_score_sum_rule_opens_a_case_under_a_new_policy_version(
    detector_client: APIClient, subject: Subject, activate_policy: Any
) -> None:
    policy = activate_policy({"other": {"min_score": 0.5, "window_days": 30, "score_sum": 1.5}})
    items = [
        FlagItemFactory.build(subject=subject.staff_number, category="other", score=score)
        for score in (0.7, 0.8)
    ]

    response = post_flags(detector_client, items)

    case = Case.objects.get()
    assert answers(response) == [("created", case.pk)] * 2
    assert (case.policy, case.trace["policy_version"]) == (policy, 2)
    assert case.trace["categories"][0]["tests"] == [
        {"test": "score_sum", "value": 1.5, "threshold": 1.5, "met": True}
    ]
    assert AuditEvent.objects.get(action="case.opened").data["policy_version"] == 2


def test_counting_flags_of_unmet_categories_join_at_opening_and_the_trace_says_which_met(
    detector_client: APIClient, subject: Subject
) -> None:
    strong = overtime(subject, 0.95)
    attendance = FlagItemFactory.build(
        subject=subject.staff_number, category="attendance", score=0.8
    )

    response = post_flags(detector_client, [strong, attendance])

    case = Case.objects.get()
    assert answers(response) == [("created", case.pk), ("created", case.pk)]
    via = dict(CaseFlag.objects.values_list("flag__external_id", "via"))
    assert via == {strong["external_id"]: "opening", attendance["external_id"]: "opening"}
    # Each link carries its flag's category, for the work queue's category filter.
    assert all(link.category == link.flag.category for link in CaseFlag.objects.all())
    assert {link.category for link in CaseFlag.objects.all()} == {"overtime_fraud", "attendance"}
    met = {item["category"]: item["met"] for item in case.trace["categories"]}
    assert met == {"overtime_fraud": True, "attendance": False}
    assert case.trace["summary"].startswith("Overtime fraud:")


def test_each_subject_in_a_batch_is_evaluated_on_their_own_flags(
    detector_client: APIClient,
) -> None:
    one, two, three = SubjectFactory.create_batch(3)
    tail = AuditTail()

    response = post_flags(
        detector_client,
        [overtime(one, 0.95), overtime(two, 0.7), overtime(three, 0.95), overtime(two, 0.3)],
    )

    cases = {case.subject_id: case.pk for case in Case.objects.all()}
    assert set(cases) == {one.pk, three.pk}
    assert answers(response) == [
        ("created", cases[one.pk]),
        ("created", None),
        ("created", cases[three.pk]),
        ("created", None),
    ]
    assert sorted(a for a in tail.actions() if a[0] == "case.opened") == sorted(
        ("case.opened", "casework.case", str(pk)) for pk in cases.values()
    )


# --- flags that do not count ---------------------------------------------------------------------


@pytest.mark.parametrize("factory", [WithdrawnFlagFactory, ExpiredFlagFactory])
def test_withdrawn_and_expired_flags_do_not_count(
    detector_client: APIClient, detector: Detector, subject: Subject, factory: Any
) -> None:
    factory.create(subject=subject, detector=detector, score=0.99)

    post_flags(detector_client, [overtime(subject, 0.7)])

    assert not Case.objects.exists()


# --- a live case ---------------------------------------------------------------------------------


@pytest.fixture
def live_case(detector_client: APIClient, subject: Subject) -> Case:
    post_flags(detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)])
    return Case.objects.get(subject=subject)


def test_a_new_counting_flag_joins_the_subjects_live_case(
    detector_client: APIClient, subject: Subject, live_case: Case
) -> None:
    tail = AuditTail()

    response = post_flags(detector_client, [overtime(subject, 0.7, external_id="joins")])

    joined = Flag.objects.get(external_id="joins")
    assert answers(response) == [("created", live_case.pk)]
    assert Case.objects.count() == 1
    assert CaseFlag.objects.get(flag=joined).via == "joining"
    assert CaseFlag.objects.get(flag=joined).category == "overtime_fraud"
    assert tail.actions() == [
        ("flag.received", "flags.flag", str(joined.pk)),
        ("case.flags_attached", "casework.case", str(live_case.pk)),
    ]
    attached = tail.events()[-1]
    link = CaseFlag.objects.get(flag=joined)
    assert attached.data == {
        "flags": [joined.pk],
        "policy_version": 1,
        "case_flags": [link.pk],
        "row_hash": row_hash([link]),
    }
    assert (attached.actor_username, attached.actor_role) == (SYSTEM_USERNAME, Role.SYSTEM)


def test_a_new_flag_that_does_not_count_stays_off_the_live_case(
    detector_client: APIClient, subject: Subject, live_case: Case
) -> None:
    before = set(live_case.flags.values_list("external_id", flat=True))
    tail = AuditTail()

    response = post_flags(
        detector_client,
        [
            WeakFlagItemFactory.build(subject=subject.staff_number, external_id="weak"),
            overtime(subject, 0.7, external_id="old", ended_days_ago=200),
            overtime(subject, 0.7, external_id="counts"),
        ],
    )

    counting = Flag.objects.get(external_id="counts")
    assert answers(response) == [("created", None), ("created", None), ("created", live_case.pk)]
    assert set(live_case.flags.values_list("external_id", flat=True)) == before | {"counts"}
    assert not CaseFlag.objects.filter(flag__external_id__in=["weak", "old"]).exists()
    attached = [e for e in tail.events() if e.action == "case.flags_attached"]
    assert [e.data["flags"] for e in attached] == [[counting.pk]]


def test_a_subject_has_at_most_one_live_case(
    detector_client: APIClient, subject: Subject, live_case: Case
) -> None:
    post_flags(detector_client, [StrongFlagItemFactory.build(subject=subject.staff_number)])

    assert list(Case.objects.filter(subject=subject)) == [live_case]
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.create(
            subject=subject,
            status=CaseStatus.OPEN,
            policy=live_case.policy,
            trace={},
            opened_at=NOW,
            opened_by=live_case.opened_by,
        )


def test_flags_resting_on_the_same_records_are_one_episode_and_open_no_case(
    detector_client: APIClient, subject: Subject
) -> None:
    first = overtime(subject, 0.7)
    repeat = overtime(subject, 0.7, evidence=first["evidence"])

    response = post_flags(detector_client, [first, repeat])

    assert answers(response) == [("created", None), ("created", None)]
    assert not Case.objects.exists()

    separate = overtime(subject, 0.7)
    response = post_flags(detector_client, [separate])

    case = Case.objects.get()
    assert answers(response) == [("created", case.pk)]
    [category] = case.trace["categories"]
    assert [flag["episode"] for flag in category["counted"]] == [1, 1, 2]

"""Every history row names who acted: the detector for what it sent, the system for what the
threshold did, the administrator for what they imported, bulk writes included."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from audit.actors import SYSTEM_USERNAME, Actor
from casework.models import Case, ThresholdPolicy
from flags.models import (
    Detector,
    EqualityProfile,
    EvidenceRecord,
    Flag,
    Subject,
)
from flags.workforce import COLUMNS
from tests.factories import FlagItemFactory, StrongFlagItemFactory
from tests.ingest_client import post_flags
from tokens.models import ApiToken
from tokens.services import revoke_token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


def import_csv(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    path = tmp_path / "hr.csv"
    lines = [",".join(COLUMNS)] + [",".join(row.get(c, "") for c in COLUMNS) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    call_command("import_workforce", str(path), "--actor", "admin.one", stdout=io.StringIO())


def person(number: str, **fields: str) -> dict[str, str]:
    return {
        "staff_number": number,
        "name": f"Person {number}",
        "rank": "constable",
        "role": "Response officer",
        "unit": "North",
        "working_pattern": "full_time",
        "employment_type": "officer",
        **fields,
    }


@pytest.fixture
def scenario(
    tmp_path: Path,
    admin_actor: Actor,
    detector_with_token: tuple[Detector, str],
    detector_client: APIClient,
) -> Detector:
    """A day's work: an import, a case opened and joined by ingest, a revocation, a re-import."""
    import_csv(tmp_path, [person("1001"), person("1002", line_manager="1001")])
    post_flags(detector_client, [StrongFlagItemFactory.build(subject="1002")])
    post_flags(detector_client, [FlagItemFactory.build(subject="1002") for _ in range(3)])
    post_flags(detector_client, [FlagItemFactory.build(subject="1001")])
    revoke_token(detector_with_token[0].user.api_tokens.get(), actor=admin_actor)
    import_csv(tmp_path, [person("1001", rank="sergeant", sex="male"), person("1002")])
    return detector_with_token[0]


def users_of(model: Any) -> set[str]:
    return set(model.history.values_list("history_user__username", flat=True))


def test_flag_and_evidence_history_name_the_detectors_service_user(scenario: Detector) -> None:
    assert Flag.history.count() == 5
    assert users_of(Flag) == {"detector.overtime"} == {scenario.user.username}
    assert set(Flag.history.values_list("history_type", "history_change_reason")) == {
        ("+", "received from detector overtime")
    }
    assert EvidenceRecord.history.count() == 5
    assert users_of(EvidenceRecord) == {"detector.overtime"}
    assert set(EvidenceRecord.history.values_list("history_change_reason", flat=True)) == {
        "received as evidence for a flag"
    }


def test_bulk_written_history_rows_copy_every_tracked_field(scenario: Detector) -> None:
    for model in (Flag, EvidenceRecord):
        for obj in model.objects.all():
            row = model.history.get(id=obj.pk)
            assert model_to_dict(row.instance) == model_to_dict(obj)
            assert row.history_date is not None


def test_case_history_names_the_system(scenario: Detector) -> None:
    case = Case.objects.get()

    assert users_of(Case) == {SYSTEM_USERNAME}
    assert list(case.history.values_list("history_type", "history_change_reason")) == [
        ("+", "threshold met under policy v1")
    ]


def test_subject_and_equality_history_name_the_importing_administrator(
    scenario: Detector,
) -> None:
    assert users_of(Subject) == {"admin.one"}
    assert users_of(EqualityProfile) == {"admin.one"}
    promoted = Subject.objects.get(staff_number="1001")
    assert list(promoted.history.order_by("history_id").values_list("history_type", "rank")) == [
        ("+", "constable"),
        ("~", "sergeant"),
    ]
    assert EqualityProfile.objects.get(subject=promoted).history.count() == 2


def test_detector_and_token_history_name_the_administrator(scenario: Detector) -> None:
    assert users_of(Detector) == {"admin.one"}
    assert users_of(ApiToken) == {"admin.one"}
    assert list(ApiToken.history.order_by("history_id").values_list("history_type", flat=True)) == [
        "+",
        "~",
    ]


def test_the_default_policys_history_names_the_system(db: Any) -> None:
    assert users_of(ThresholdPolicy) == {SYSTEM_USERNAME}


def test_no_history_row_of_any_model_lacks_a_user(scenario: Detector) -> None:
    historical = [m for m in apps.get_models() if m.__name__.startswith("Historical")]

    assert {m.__name__ for m in historical} >= {
        "HistoricalSubject",
        "HistoricalEqualityProfile",
        "HistoricalDetector",
        "HistoricalApiToken",
        "HistoricalEvidenceRecord",
        "HistoricalFlag",
        "HistoricalThresholdPolicy",
        "HistoricalCase",
    }
    for model in historical:
        rows = model._default_manager.all()
        assert rows.exists() or model.__name__ not in {"HistoricalFlag", "HistoricalCase"}
        assert not rows.filter(history_user__isnull=True).exists(), model.__name__

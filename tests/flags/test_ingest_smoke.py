from typing import Any

from audit.log import verify_stored_chain
from casework.models import Case
from flags.models import Flag


def flag_item(
    subject: str, external_id: str = "f-1", score: float = 0.95, **extra: Any
) -> dict[str, Any]:
    item = {
        "external_id": external_id,
        "subject": subject,
        "category": "overtime_fraud",
        "rule": "overtime.peer_zscore",
        "detector_version": "1.0.0",
        "score": score,
        "explanation": "Claims far above peers.",
        "factors": [{"name": "peer_z", "value": 4.2, "weight": 0.8}],
        "window": {"start": "2026-10-01", "end": "2026-10-31"},
        "evidence": [
            {
                "source_system": "payroll",
                "record_type": "overtime",
                "record_id": f"OT-{external_id}",
                "occurred_at": "2026-10-14T18:00:00Z",
                "summary": "Overtime claim, 9.5 hours",
                "payload": {"hours": 9.5},
            }
        ],
    }
    item.update(extra)
    return item


def test_a_strong_flag_opens_a_case(detector_client, make_subject) -> None:
    subject = make_subject()
    response = detector_client.post(
        "/api/v1/flags/", {"flags": [flag_item(subject.staff_number)]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] == 1
    case = Case.objects.get(subject=subject)
    assert body["items"][0]["case"] == case.pk
    assert body["items"][0]["flag"] == Flag.objects.get().pk
    assert case.trace["met"] is True
    assert verify_stored_chain().intact

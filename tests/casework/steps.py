"""What the review tests share about taking a step on a case."""

from typing import Any

from casework.models import Case


def signed_as_recommended(case_id: int, action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields``, with a signer naming the recommended outcome unless the test names one."""
    if action in ("sign_off", "sign_referral") and "outcome" not in fields:
        return {**fields, "outcome": Case.objects.get(pk=case_id).recommended_outcome}
    return fields

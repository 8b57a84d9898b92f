"""Overtime claimed far above peers in the same unit and role, month by month.

A person's overtime hours in a calendar month are compared with everyone sharing their unit and
role, by a robust z-score: the distance from the group's median in units of its median absolute
deviation (Iglewicz and Hoaglin's modified z-score). The median and MAD are used rather than the
mean and standard deviation because one heavy claimant inflates the standard deviation enough to
hide themselves. Groups smaller than eight say more about the group than the person, and are
skipped. Heavy overtime has innocent causes (a major operation, vacancies, court), so a flag is a
prompt to look at the claims, which it carries as evidence.

    python -m detectors.overtime --data-dir var/demo-force --url http://127.0.0.1:8000 --token T
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import fmean, median
from typing import Any

from detectors.extracts import (
    OVERTIME_FILE,
    OVERTIME_SYSTEM,
    OvertimeClaim,
    read_manifest,
    read_overtime,
    read_workforce,
)
from detectors.periods import complete_months, month_label
from detectors.runner import ReferenceDetector, main_for

SLUG = "overtime"
VERSION = "1.0.0"
RULE = "overtime.peer_robust_z"
CATEGORY = "overtime_fraud"
MIN_PEERS = 8
Z_TRIGGER = 3.5  # Iglewicz and Hoaglin's recommended cut-off for the modified z-score
# A large z in a group that barely claims can be a handful of hours: not worth anyone's time.
# Some three rest days' worth above the median is the least this detector calls far above.
MIN_EXCESS_HOURS = 30.0
MIN_SPREAD_HOURS = 4.0
MIN_CLAIMS = 2  # a reviewer needs more than one claim to see a pattern
MAX_EVIDENCE = 50
# The normal distribution's 75th percentile: with it, a MAD-based z-score matches the classical
# one on normal data. sqrt(pi/2) does the same for the mean absolute deviation.
MAD_SCALE = 0.6745
MEAN_AD_SCALE = math.sqrt(math.pi / 2)


@dataclass(frozen=True)
class RobustZ:
    z: float
    median: float
    spread: float
    measure: str


def robust_z(value: float, group: Sequence[float], *, min_spread: float = 0.0) -> RobustZ | None:
    """The modified z-score of ``value`` within ``group`` (which includes it), or None when the
    group has no spread at all.

    When more than half the group claim the same hours (often none) the MAD is zero; the mean
    absolute deviation then stands in, as Iglewicz and Hoaglin suggest. A spread below
    ``min_spread`` is raised to it, so that a quiet group does not make a routine month extreme.
    """
    centre = median(group)
    deviations = [abs(x - centre) for x in group]
    mad = median(deviations)
    mean_ad = fmean(deviations)
    if mad > 0 and mad >= min_spread:
        return RobustZ(MAD_SCALE * (value - centre) / mad, centre, mad, "median absolute deviation")
    if mad == 0 and mean_ad > 0 and mean_ad >= min_spread:
        return RobustZ(
            (value - centre) / (MEAN_AD_SCALE * mean_ad), centre, mean_ad, "mean absolute deviation"
        )
    if min_spread > 0:
        return RobustZ(
            MAD_SCALE * (value - centre) / min_spread, centre, min_spread, "minimum spread"
        )
    return None


def score_for(z: float) -> float:
    """0.5 at the trigger, rising towards 1: 0.66 at z=5, 0.84 at z=8, 0.90 at z=10."""
    return round(1 - 0.5 * math.exp(-(z - Z_TRIGGER) / 4), 3)


def _evidence(claim: OvertimeClaim) -> dict[str, Any]:
    kind = "rest day" if claim.claim_type == "rest_day" else "shift extension"
    return {
        "source_system": OVERTIME_SYSTEM,
        "record_type": "overtime",
        "record_id": claim.claim_id,
        "occurred_at": claim.started_at,
        "summary": (
            f"Overtime claim: {claim.hours:g} hours ({kind}) on {claim.worked_on.isoformat()}, "
            f"{claim.reason.lower()}"
        ),
        "payload": {
            "worked_on": claim.worked_on.isoformat(),
            "hours": claim.hours,
            "claim_type": claim.claim_type,
            "reason": claim.reason,
            "authorised_by": claim.authorised_by,
        },
    }


def _flag(
    staff_number: str,
    group: tuple[str, str],
    size: int,
    month: tuple[date, date],
    claims: list[OvertimeClaim],
    hours: float,
    rz: RobustZ,
) -> dict[str, Any]:
    unit, role = group
    first, last = month
    largest = sorted(claims, key=lambda claim: (-claim.hours, claim.claim_id))[:MAX_EVIDENCE]
    return {
        "external_id": f"{SLUG}-{staff_number}-{first:%Y-%m}",
        "subject": staff_number,
        "category": CATEGORY,
        "rule": RULE,
        "detector_version": VERSION,
        "score": score_for(rz.z),
        "explanation": (
            f"Claimed {hours:g} hours of overtime in {month_label(first)} over {len(claims)} "
            f"claims. The {size} people in the role {role} in {unit} claimed a median of "
            f"{rz.median:g} hours ({rz.measure} {rz.spread:g} hours), a robust z-score of "
            f"{rz.z:.1f} against a trigger of {Z_TRIGGER}. Overtime well above peers may be "
            f"authorised and legitimate; the {len(largest)} largest claims are attached."
        ),
        "factors": [
            {"name": "robust_z", "value": round(rz.z, 2), "weight": 1.0},
            {"name": "monthly_overtime_hours", "value": hours, "weight": 0.0},
            {"name": "peer_median_hours", "value": rz.median, "weight": 0.0},
            {"name": "peer_spread_hours", "value": round(rz.spread, 3), "weight": 0.0},
            {"name": "peer_group_size", "value": size, "weight": 0.0},
            {"name": "claims_in_month", "value": len(claims), "weight": 0.0},
        ],
        "window": {"start": first.isoformat(), "end": last.isoformat()},
        "evidence": [_evidence(claim) for claim in largest],
    }


def find_flags(data_dir: Path) -> list[dict[str, Any]]:
    manifest = read_manifest(data_dir)
    covered_from = date.fromisoformat(manifest.files[OVERTIME_FILE]["from"])
    months = complete_months(covered_from, manifest.as_of)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for person in read_workforce(data_dir):
        groups[(person.unit, person.role)].append(person.staff_number)
    claims: dict[tuple[str, date], list[OvertimeClaim]] = defaultdict(list)
    for claim in read_overtime(data_dir):
        claims[(claim.staff_number, claim.worked_on.replace(day=1))].append(claim)

    flags = []
    for month in months:
        for group, members in sorted(groups.items()):
            if len(members) < MIN_PEERS:
                continue
            mine = {number: claims.get((number, month[0]), []) for number in members}
            hours = {number: sum(claim.hours for claim in held) for number, held in mine.items()}
            everyone = list(hours.values())
            for number in sorted(members):
                if len(mine[number]) < MIN_CLAIMS:
                    continue
                rz = robust_z(hours[number], everyone, min_spread=MIN_SPREAD_HOURS)
                if (
                    rz is not None
                    and rz.z >= Z_TRIGGER
                    and hours[number] - rz.median >= MIN_EXCESS_HOURS
                ):
                    flags.append(
                        _flag(number, group, len(members), month, mine[number], hours[number], rz)
                    )
    return flags


DETECTOR = ReferenceDetector(
    slug=SLUG,
    name="Overtime above unit and role peers",
    description=(
        "Monthly overtime hours against the median and median absolute deviation of everyone "
        f"in the same unit and role: a robust z-score of {Z_TRIGGER} or more, at least "
        f"{MIN_EXCESS_HOURS:g} hours above the median, in groups of {MIN_PEERS} or more."
    ),
    version=VERSION,
    find_flags=find_flags,
)

if __name__ == "__main__":
    raise SystemExit(main_for(DETECTOR))

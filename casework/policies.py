"""The default threshold policy, installed as version 1 when the database is first migrated."""

from typing import Any

DEFAULT_RULES: dict[str, dict[str, Any]] = {
    # Overtime anomalies: two strong flags in six months, or one very strong one.
    "overtime_fraud": {"min_score": 0.6, "window_days": 180, "count": 2, "single_flag_score": 0.9},
    # Attendance flags are weak evidence of misconduct (sickness is not misconduct): it takes
    # repeated, strong flags over a year, and no single flag opens a case.
    "attendance": {"min_score": 0.7, "window_days": 365, "count": 2},
    "system_misuse": {
        "min_score": 0.5,
        "window_days": 90,
        "count": 3,
        "score_sum": 2.0,
        "single_flag_score": 0.95,
    },
    "abuse_of_position": {
        "min_score": 0.5,
        "window_days": 365,
        "count": 2,
        "single_flag_score": 0.8,
    },
    "undeclared_conflict": {
        "min_score": 0.5,
        "window_days": 365,
        "count": 2,
        "single_flag_score": 0.85,
    },
    "complaints_pattern": {"min_score": 0.5, "window_days": 365, "count": 3},
    "other": {"min_score": 0.7, "window_days": 180, "count": 3},
}

DEFAULT_DESCRIPTION = (
    "The default policy installed with Scrutiny. A flag counts when it reaches the category's "
    "minimum score within the rolling window; a case opens when the counting flags reach the "
    "count or summed score, or one flag reaches the single-flag score."
)

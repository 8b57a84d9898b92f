"""On the synthetic force ``make demo`` builds (6,000 people, seed 1), the oversight figures show
what the force was built to hold: the attendance detector (the Bradford factor) flags disabled and
part-time staff far more often per head than the reference groups, outside 0.8 to 1.25, in the
tables the oversight report prints, unsuppressed. The force is the same for the same seed and
date, so the date is fixed."""

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from reports.fairness import FairnessTable
from reports.oversight import oversight_context
from tests.factories import NOW, TODAY

pytestmark = pytest.mark.django_db

ATTENDANCE = "Attendance by Bradford factor"


def row(table: FairnessTable, label: str) -> Any:
    return next(group for group in table.groups if group.label == label)


@pytest.fixture
def demo_force(tmp_path: Path, settings: Any) -> dict[str, Any]:
    settings.DEBUG = True
    with time_machine.travel(NOW, tick=False):
        call_command(
            "seed_demo",
            "--subjects=6000",
            "--seed=1",
            "--run-detectors",
            f"--data-dir={tmp_path / 'force'}",
            f"--credentials-file={tmp_path / 'credentials'}",
            stdout=StringIO(),
        )
        return oversight_context(TODAY - timedelta(days=364), TODAY)


def test_the_attendance_detectors_disparities_show_outside_the_band(
    demo_force: dict[str, Any],
) -> None:
    views = {view.table.key: view for view in demo_force["fairness"]}
    for dimension, group, reference in (
        ("disability", "Yes", "no"),
        ("working_pattern", "Part time", "full_time"),
    ):
        view = views[dimension]
        attendance = dict(view.by_detector)[ATTENDANCE]
        assert attendance.reference_key == reference
        flagged = row(attendance, group)
        disparity = flagged.disparities[0]  # subjects flagged per head
        assert disparity.suppressed is None, (dimension, group)
        assert disparity.outside_band, (dimension, group, disparity.value)
        assert disparity.value is not None and disparity.value > 2
        # Over every detector too.
        overall = row(view.table, group).disparities[0]
        assert overall.outside_band, (dimension, group)

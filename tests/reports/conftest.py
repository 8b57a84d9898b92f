"""What the reports tests share: the appeals tests' world (Fay, her case, the people around it),
and private storage in a temporary directory."""

from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from tests.appeals.conftest import World, api, gus, world  # noqa: F401 - fixtures, re-exported
from tests.appeals.test_permission_matrix import arranged  # noqa: F401 - a fixture, re-exported


@pytest.fixture(autouse=True)
def private_root(settings: Any, tmp_path: Path) -> Path:
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    return settings.PRIVATE_FILES_ROOT


def committing() -> Any:
    """Run what the block queues for after its commit (the report's rendering), as a committed
    request would: a test's own transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


__all__ = ["World", "committing"]

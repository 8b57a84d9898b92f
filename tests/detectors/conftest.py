from datetime import date
from pathlib import Path

import pytest

from tests.detectors.extract_files import WriteExtracts, write_extracts_into


@pytest.fixture
def write_extracts(tmp_path: Path) -> WriteExtracts:
    def write(as_of: date, extracts: dict) -> Path:
        return write_extracts_into(tmp_path, as_of, extracts)

    return write

"""Detectors are outside systems: they may use the API, never Scrutiny's code or database."""

import ast
from pathlib import Path

import pytest

import detectors

SCRUTINY_PACKAGES = {"django", "rest_framework", "flags", "casework", "appeals", "audit", "config"}
MODULES = sorted(Path(detectors.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_detector_module_imports_nothing_of_scrutiny(path: Path) -> None:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & SCRUTINY_PACKAGES

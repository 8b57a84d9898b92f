"""Files that hold demonstration secrets: passwords and API tokens, for the owner's eyes only."""

import os
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write a secret readable by its owner only, including when the file already existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)

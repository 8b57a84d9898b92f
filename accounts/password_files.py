"""Passwords handed to management commands in a file (a mounted secret), never on the command
line, where the shell history and the process list would keep them."""

from pathlib import Path

from django.core.management.base import CommandError


def read_password_file(path: Path) -> str:
    """The password on the file's first line; a CommandError when it cannot be read or is empty."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the password file: {exc}") from exc
    if not lines or not lines[0]:
        raise CommandError("The password file is empty.")
    return lines[0]

"""``python -m demo.local_env [PATH]``: the development settings file that ``make demo`` writes.

It holds ``DEBUG=true`` and a generated ``SECRET_KEY``, so that ``manage.py`` commands work in
the project directory after ``make demo`` without exporting anything. ``config.settings`` reads
it beneath the environment (a variable set in the environment wins). An existing file is kept:
a new key would sign everyone out.
"""

import secrets
import sys
from pathlib import Path

from demo.private_files import write_private

DEFAULT_PATH = Path(__file__).resolve().parent.parent / ".env"


def ensure_env_file(path: Path) -> bool:
    """Write the development settings file unless it exists; True when it was written."""
    if path.exists():
        return False
    write_private(
        path,
        "# Development settings written by make demo; never use them in production.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n",
    )
    return True


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    if ensure_env_file(path):
        print(f"Wrote {path} (DEBUG=true and a new SECRET_KEY; mode 0600).")


if __name__ == "__main__":
    main(sys.argv[1:])

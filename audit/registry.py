"""The one registry of audit action codes.

Each domain module declares the codes it writes, once, at import time::

    FLAG_RECEIVED = register("flag.received", "A detector's flag was stored.")

Declaring a code twice, or recording an event with a code nobody declared, is an error: an audit
log whose action names drift is one nobody can query with confidence.
"""

import re

_CODE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
_ACTIONS: dict[str, str] = {}


class UnknownAuditAction(LookupError):
    pass


def register(code: str, description: str) -> str:
    if not _CODE.match(code):
        raise ValueError(f"Audit action code {code!r} must look like 'noun.verb'.")
    if code in _ACTIONS:
        raise ValueError(f"Audit action code {code!r} is declared twice.")
    if not description.strip():
        raise ValueError(f"Audit action code {code!r} needs a description.")
    _ACTIONS[code] = description
    return code


def require(code: str) -> str:
    if code not in _ACTIONS:
        raise UnknownAuditAction(f"Audit action code {code!r} is not declared in the registry.")
    return code


def describe(code: str) -> str:
    return _ACTIONS[require(code)]


def all_actions() -> dict[str, str]:
    return dict(_ACTIONS)

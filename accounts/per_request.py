"""Answers about the signed-in person worked out once per request and kept on the user object.

Django loads the user afresh for every request, so what is kept here lives exactly as long as
the request: their role, their conflict scope, their conflict checks. Services that decide
something under a lock work it out again instead.
"""

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# getattr/setattr, not __dict__: request.user is a lazy proxy for the user object.
_STORE = "_scrutiny_per_request"


def remembered(user: Any, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, the first time it is asked of ``user`` in this request; then the same."""
    store: dict[Hashable, Any] | None = getattr(user, _STORE, None)
    if store is None:
        store = {}
        setattr(user, _STORE, store)
    if key not in store:
        store[key] = compute()
    value: T = store[key]
    return value


def forget(user: Any) -> None:
    """Drop what was kept, after a change to the user (a new role, say)."""
    if hasattr(user, _STORE):
        delattr(user, _STORE)

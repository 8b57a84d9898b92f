"""flags.services._worth_retrying: which database errors mean "lost a race, run it again"."""

import pytest
from django.db import DatabaseError, IntegrityError, OperationalError

from flags.services import _worth_retrying


class _DriverError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(error: Exception, sqlstate: str | None) -> Exception:
    # Django wraps the driver's exception and keeps it as __cause__, as wrap_database_errors does.
    error.__cause__ = _DriverError(sqlstate)
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_wrapped(IntegrityError("duplicate key"), "23505"), True),
        (_wrapped(OperationalError("deadlock detected"), "40P01"), True),
        (_wrapped(OperationalError("could not serialize access"), "40001"), True),
        (_wrapped(OperationalError("connection refused"), "08006"), False),
        (_wrapped(OperationalError("no driver cause"), None), False),
    ],
    ids=["unique violation", "deadlock", "serialisation", "connection lost", "unknown"],
)
def test_only_lost_races_are_retried(error: DatabaseError, expected: bool) -> None:
    assert _worth_retrying(error) is expected

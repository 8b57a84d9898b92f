"""``field__any=[...]``: membership in a long list as one array parameter on PostgreSQL.

``field__in`` with a thousand values sends a thousand placeholders, and psycopg parses that long
statement in Python on every call (too long for its statement cache). ``= ANY(%s)`` sends one
array instead. Other databases get the ordinary ``IN (...)``.
"""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject, Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def as_sql(  # type: ignore[override]  # params hold an array, not only scalars
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        values = [self.lhs.output_field.get_prep_value(value) for value in self.rhs]
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


# Relations keep their own lookup registry, so the lookup is registered on them too.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)

"""Hand-written SQL for the busiest reads of the cost, runs and approvals pages (issue #11). The ORM spends
several milliseconds building and compiling a query with correlated subqueries, more than the database takes to
answer it; these few statements are written out instead. Table and column names come from the models, and every
value is converted as the ORM converts that model field, so PostgreSQL and SQLite give the same types."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Field, Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def placeholders(values: Sequence) -> str:
    return ", ".join("%s" for _ in values)


def _plan(fields: Sequence[Field | None]) -> list[tuple]:
    plan = []
    for at, field in enumerate(fields):
        if field is None:
            continue
        col = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if converters:
            plan.append((at, col, converters))
    return plan


def _converted(rows: Iterable[Sequence], plan: list[tuple]) -> Iterator[list]:
    for row in rows:
        row = list(row)
        for at, col, converters in plan:
            value = row[at]
            for converter in converters:
                value = converter(value, col, connection)
            row[at] = value
        yield row


def fetch(sql: str, params: Sequence, fields: Sequence[Field | None]) -> list[list]:
    """The rows of `sql`, each column converted as the ORM converts the model field given for it (None: as the
    database driver gives it)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return list(_converted(rows, _plan(fields)))


def stream(sql: str, params: Sequence, fields: Sequence[Field | None], chunk: int = 2000) -> Iterator[list]:
    """As fetch, read in chunks (a server-side cursor on PostgreSQL), so the memory does not grow with the rows."""
    plan = _plan(fields)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk):
            yield from _converted(batch, plan)


def copy_csv(sql: str, params: Sequence, chunk: int) -> Iterator[bytes]:
    """The rows of `sql` written as CSV by PostgreSQL (COPY ... TO STDOUT, no header), `chunk` lines a chunk of
    bytes, each line ended by \\r\\n as Python's csv module ends it (COPY ends it by \\n, and sends each row in a
    message of its own: the protocol says so). Nothing in Python touches a value, so a large table costs little
    more than its query. PostgreSQL only.

    The COPY holds the connection until its last row is read: nothing else may use the connection meanwhile. Closed
    early (the client went away), the rest is read and dropped rather than cancelled, since a cancel would abort the
    transaction around it; the connection is ready for the next query. Logged as a query where queries are logged
    (DEBUG, tests), as Django logs an execute()."""
    statement = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
    connection.validate_no_broken_transaction()
    with connection.cursor() as cursor:
        logged = cursor.debug_sql(statement, params) if isinstance(cursor, CursorDebugWrapper) else nullcontext()
        with logged, connection.wrap_database_errors, cursor.cursor.copy(statement, params) as copy:
            lines, count = bytearray(), 0
            try:
                for row in copy:
                    lines += row[:-1]
                    lines += b"\r\n"
                    count += 1
                    if count == chunk:
                        yield bytes(lines)
                        lines.clear()
                        count = 0
            except GeneratorExit:
                for _ in copy:
                    pass
                raise
            yield bytes(lines)

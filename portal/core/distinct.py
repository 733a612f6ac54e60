"""Every distinct value of an indexed column, read one index probe per value (issue #11)."""

from django.db import connection


def distinct_values_cte(table: str, column: str) -> str:
    """A recursive common table expression, `<column>_values(value)`, of the distinct values of `column` in
    `table` (both as the models name them), NULL last: a loose index scan, each step asking the index led by the
    column for the least value above the last one. SELECT DISTINCT reads every row's entry; this reads one a
    value. Use it after WITH RECURSIVE, and select `value` from it WHERE value IS NOT NULL."""
    qn = connection.ops.quote_name
    table, values = qn(table), f"{column}_values"
    return (f"{values}(value) AS (SELECT MIN({qn(column)}) FROM {table} UNION ALL "
            f"SELECT (SELECT MIN({qn(column)}) FROM {table} WHERE {qn(column)} > value) FROM {values} "
            f"WHERE value IS NOT NULL)")

"""A fixed queryset compiled once (issue #11): the home page's environments are one queryset of a dozen
correlated subqueries that depends on nothing but the month, and the ORM compiled it anew on every view (a
millisecond, more than the database takes to answer it). Compiled here once per process and connection, it is
executed as written and its rows made into instances as the ORM makes them (ModelIterable: from_db, then each
annotation set as an attribute)."""

from collections.abc import Callable
from functools import lru_cache

from django.db import connections
from django.db.models import Model, QuerySet


class Compiled:
    """What ModelIterable works out of a compiled queryset (no select_related, no deferred loading of related
    objects): its statement and parameters, the columns that make the instance, its annotations' columns and the
    converters of each column."""

    def __init__(self, queryset: QuerySet):
        assert not queryset.query.select_related, "select_related is not supported"
        self.alias = queryset.db
        compiler = queryset.query.get_compiler(using=self.alias)
        self.statement, self.params = compiler.as_sql()
        self.model: type[Model] = compiler.klass_info["model"]
        select = compiler.select
        fields = compiler.klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.annotations = list(compiler.annotation_col_map.items())
        self.converters = list(compiler.get_converters([column[0] for column in select[:compiler.col_count]]).items())
        self.connection = compiler.connection

    def instances(self) -> list[Model]:
        with self.connection.cursor() as cursor:
            cursor.execute(self.statement, self.params)
            rows = cursor.fetchall()
        result = []
        for row in rows:
            row = list(row)
            for at, (converters, expression) in self.converters:
                value = row[at]
                for converter in converters:
                    value = converter(value, expression, self.connection)
                row[at] = value
            instance = self.model.from_db(self.alias, self.init_list, row[self.start:self.end])
            for name, at in self.annotations:
                setattr(instance, name, row[at])
            result.append(instance)
        return result


def compiled_once(build: Callable[..., QuerySet]) -> Callable[..., Compiled]:
    """`build(*args)`'s queryset compiled once for each `args` and each database connection (a thread has its
    own: the converters and the cursor are the connection's)."""
    @lru_cache(maxsize=8)
    def compiled(connection, *args) -> Compiled:
        return Compiled(build(*args).all())

    def get(*args) -> Compiled:
        queryset = build(*args)
        return compiled(connections[queryset.db], *args)

    return get

from functools import cache, lru_cache

from django.db import connection

from portal.audit.models import AuditEvent
from portal.core.distinct import distinct_values_cte
from portal.core.errors import StaleEdit
from portal.core.pagination import sql_count
from portal.core.sql import column, fetch, table

# What the audit log shows of an event (not who it was in the database, nor the browser it came from).
LIST_FIELDS = ("at", "actor_name", "action", "object_type", "object_repr", "ip_address", "details")
FILTER_COLUMNS = {"actors": "actor_name", "actions": "action", "object_types": "object_type"}


# --- The log's rows (issue #11) --------------------------------------------------------------------------------
# The log's rows, hand-written: the ORM spent longer compiling the page's two statements than PostgreSQL
# took to answer them, and made fifty model instances the template then read attribute by attribute. A row is a
# tuple of LIST_FIELDS, converted as the ORM converts each field. The count follows page_of's rule (list_count):
# counted on every request up to EXACT_COUNT events, above that counted once and kept LONG_COUNT_SECONDS (COUNT(*)
# over the whole log read every one of its 37,000 index entries at 10,000 agents); the rows are always read live.

FILTER_FIELDS = ("actor_name", "action", "object_type")


@lru_cache(maxsize=32)
def _where(filters: tuple[str, ...], search: bool) -> str:
    """The WHERE clause (or "") of the filters given (FILTER_FIELDS' names) and the search, as the ORM writes
    `= %s` and `__icontains` (upper-cased LIKE on PostgreSQL, LIKE ... ESCAPE on SQLite)."""
    terms = [f"{column(AuditEvent, name)} = %s" for name in filters]
    if search:
        lhs = connection.ops.lookup_cast("icontains", "CharField") % column(AuditEvent, "object_repr")
        terms.append(f"{lhs} {connection.operators['icontains'] % '%s'}")
    return f" WHERE {' AND '.join(terms)}" if terms else ""


@lru_cache(maxsize=32)
def _rows_sql(where: str) -> str:
    return (f"SELECT {', '.join(column(AuditEvent, name) for name in LIST_FIELDS)} FROM {table(AuditEvent)}{where}"
            f" ORDER BY {column(AuditEvent, 'at')} DESC, {column(AuditEvent, 'id')} DESC LIMIT %s OFFSET %s")


@lru_cache(maxsize=32)
def _count_sql(where: str) -> str:
    return f"SELECT COUNT(*) FROM {table(AuditEvent)}{where}"


class AuditRows:
    """The events matching the filters, newest first, for a Paginator: count() as page_of counts (one COUNT, or
    none when a long list's total is kept), a page's slice as LIST_FIELDS tuples in one statement."""

    ordered = True

    def __init__(self, *, actor: str = "", action: str = "", object_type: str = "", q: str = "", none=False):
        given = {"actor_name": actor, "action": action, "object_type": object_type}
        names = tuple(name for name in FILTER_FIELDS if given[name])
        self._where = _where(names, bool(q))
        self._params = [given[name] for name in names]
        if q:
            self._params.append(f"%{connection.ops.prep_for_like_query(q)}%")
        self._none = none
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = 0 if self._none else self._counted()
        return self._count

    def _counted(self) -> int:
        return sql_count(_count_sql(self._where), self._params)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[list]:
        start = key.start or 0
        if self._none or key.stop <= start:
            return []
        return fetch(_rows_sql(self._where), [*self._params, key.stop - start, start], _list_fields())


@cache
def _list_fields() -> list:
    return [AuditEvent._meta.get_field(name) for name in LIST_FIELDS]


def audit_event_rows(*, actor: str = "", action: str = "", object_type: str = "", q: str = "") -> AuditRows:
    """The events of these filters (`=` on each, `icontains` for the search), newest first, as rows (AuditRows) for a Paginator."""
    return AuditRows(actor=actor, action=action, object_type=object_type, q=q)


def audit_filter_choices() -> dict[str, list[str]]:
    """The filters' options: every actor name, action and object type in the log, sorted. One query, as long
    as there are options, whatever the number of events (each column has an index led by it)."""
    table = AuditEvent._meta.db_table
    ctes = ", ".join(distinct_values_cte(table, column) for column in FILTER_COLUMNS.values())
    select = " UNION ALL ".join(f"SELECT '{key}', value FROM {column}_values WHERE value IS NOT NULL"
                                for key, column in FILTER_COLUMNS.items())
    choices: dict[str, list[str]] = {key: [] for key in FILTER_COLUMNS}
    with connection.cursor() as cursor:
        cursor.execute(f"WITH RECURSIVE {ctes} {select}")
        for key, value in cursor.fetchall():
            choices[key].append(value)
    return {key: sorted(values) for key, values in choices.items()}


def audit_changes_since(*, obj, actions, version: int) -> list[AuditEvent]:
    """The audited edits of `obj` that raised its version past `version`, oldest first (for a stale edit form)."""
    return list(AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk), action__in=actions,
                                          details__version__gt=version).order_by("at", "pk"))


def refuse_stale(*, version: int | None, current, current_version: int, obj, actions, message: str) -> None:
    """Raise StaleEdit when an edit form's `version` is not the saved one (`current_version`): someone saved
    since. The error carries the saved object and the audited edits of `obj` since the form's version."""
    if version is not None and version != current_version:
        raise StaleEdit(message, current=current,
                        changes=audit_changes_since(obj=obj, actions=actions, version=version))

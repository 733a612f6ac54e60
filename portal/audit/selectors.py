from django.db import connection
from django.db.models import QuerySet

from portal.audit.models import AuditEvent
from portal.core.distinct import distinct_values_cte
from portal.core.errors import StaleEdit

# What the audit log shows of an event (not who it was in the database, nor the browser it came from).
LIST_FIELDS = ("at", "actor_name", "action", "object_type", "object_repr", "ip_address", "details")
FILTER_COLUMNS = {"actors": "actor_name", "actions": "action", "object_types": "object_type"}


def audit_event_list(*, actor: str = "", action: str = "", object_type: str = "", q: str = "") -> QuerySet:
    qs = AuditEvent.objects.only(*LIST_FIELDS)
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if q:
        qs = qs.filter(object_repr__icontains=q)
    return qs


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

from django.db.models import QuerySet

from portal.audit.models import AuditEvent
from portal.core.errors import StaleEdit


def audit_event_list(*, actor: str = "", action: str = "", object_type: str = "", q: str = "") -> QuerySet:
    qs = AuditEvent.objects.all()
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
    events = AuditEvent.objects.order_by()
    return {
        "actors": sorted(events.values_list("actor_name", flat=True).distinct()),
        "actions": sorted(events.values_list("action", flat=True).distinct()),
        "object_types": sorted(events.values_list("object_type", flat=True).distinct()),
    }


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

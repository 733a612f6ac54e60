"""Changes made in /admin/ reach the audit log like the portal's own: a ModelAdmin mixin.

Each save, delete and inline change writes an audit event in the admin's own transaction (Django wraps every
change form in one), with the changed fields before and after and `"via": "admin"`. Models with a `version`
(edit forms that refuse stale saves) get it raised, so a portal form opened before an admin change is refused.
"""

from django.db import models

from portal.audit.services import audit_record


def _show(value):
    if value is None:
        return None
    if isinstance(value, models.QuerySet):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _initial(field, value):
    """A choice field's initial value is a primary key (or a list of them): show the objects."""
    if hasattr(field, "queryset") and value not in (None, "", []):
        values = value if isinstance(value, list | tuple) else [value]
        pks = [v.pk if isinstance(v, models.Model) else v for v in values]
        return field.queryset.model._default_manager.filter(pk__in=pks)
    return value


def form_changes(form) -> dict:
    """{field: [before, after]} for every field the admin form changed (secrets hidden)."""
    changes = {}
    for name in form.changed_data:
        if "password" in name or "secret" in name:
            changes[name] = ["(hidden)", "(changed)"]
            continue
        before = _show(_initial(form.fields[name], form.initial.get(name)))
        after = _show(form.cleaned_data.get(name))
        if before != after:
            changes[name] = [before, after]
    return changes


class AuditedAdminMixin:
    """`audit_name` is the action prefix the portal's own services use for the model (e.g. "environment")."""

    audit_name = ""

    def _audit_name(self, obj) -> str:
        return self.audit_name or obj._meta.model_name

    def save_model(self, request, obj, form, change):
        changes = form_changes(form)
        if change and changes and hasattr(obj, "version"):
            obj.version += 1
        super().save_model(request, obj, form, change)
        if changes or not change:
            details = {"changes": changes, "via": "admin"}
            if hasattr(obj, "version"):
                details["version"] = obj.version
            audit_record(action=f"{self._audit_name(obj)}.{'updated' if change else 'created'}", obj=obj,
                         request=request, details=details)

    def delete_model(self, request, obj):
        audit_record(action=f"{self._audit_name(obj)}.deleted", obj=obj, request=request, details={"via": "admin"})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(action=f"{self._audit_name(obj)}.deleted", obj=obj, request=request,
                         details={"via": "admin"})
        super().delete_queryset(request, queryset)

    def save_formset(self, request, form, formset, change):
        """Inline rows (e.g. an environment's node pools): each added, changed or deleted row is audited."""
        doomed = [(f.instance._meta.model_name, f.instance._meta.label_lower, str(f.instance.pk), str(f.instance))
                  for f in formset.deleted_forms if f.instance.pk is not None]
        super().save_formset(request, form, formset, change)
        parent = str(form.instance)
        for obj in formset.new_objects:
            audit_record(action=f"{obj._meta.model_name}.created", obj=obj, request=request,
                         details={"via": "admin", "parent": parent})
        for obj, _changed in formset.changed_objects:
            inline_form = next(f for f in formset.forms if f.instance.pk == obj.pk)
            audit_record(action=f"{obj._meta.model_name}.updated", obj=obj, request=request,
                         details={"via": "admin", "parent": parent, "changes": form_changes(inline_form)})
        for model_name, label, pk, text in doomed:
            audit_record(action=f"{model_name}.deleted", object_type=label, object_id=pk, object_repr=text,
                         request=request, details={"via": "admin", "parent": parent})

from portal.audit.models import AuditEvent
from portal.core.client_ip import client_ip
from provisioning.text import shorten

SECRET_HINTS = ("password", "secret", "token", "key")


def audit_record(*, action: str, obj=None, actor=None, request=None, object_type: str = "",
                 object_id: str = "", object_repr: str = "", details: dict | None = None,
                 actor_name: str = "") -> AuditEvent:
    """Append one audit event. Call it inside the service's transaction, so it commits with the change."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    clean = {k: v for k, v in (details or {}).items() if not any(h in k.lower() for h in SECRET_HINTS)}
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else (actor_name or "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=shorten(object_repr, 200),  # the portal's own label: said when shortened, never cut
        ip_address=client_ip(request) if request is not None else None,
        user_agent=(shorten(request.META.get("HTTP_USER_AGENT", ""), 255) if request is not None else ""),
        details=clean,
    )

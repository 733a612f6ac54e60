"""Lockouts (django-axes) in the audit log. Axes announces them only as a signal, so this receiver is the one
place they are recorded (connected in AccountsConfig.ready); failed sign-ins are audit_signals.sign_in_failed."""

from django.conf import settings
from django.contrib.auth import get_user_model

from portal.audit.services import audit_record


def _record(action: str, *, username: str, request, **details) -> None:
    username = (username or "")[:150]
    user = get_user_model().objects.filter(username=username).only("pk").first() if username else None
    audit_record(action=action, request=request, object_type="auth.user", object_id=str(user.pk) if user else "",
                 object_repr=username, actor_name="anonymous", details={"username": username, **details})


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    if request is None:
        return
    _record("auth.locked_out", username=username or "", request=request,
            cooloff_minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60 if settings.AXES_COOLOFF_TIME else None,
            failure_limit=settings.AXES_FAILURE_LIMIT)
